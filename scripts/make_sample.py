#!/usr/bin/env python3
"""Builds tether's sample project: a small upstream shaped like a video-generation
repo (wgp.py, defaults/*.json, requirements.txt, packages) with a real git history
whose later commits break the wrapper in every way tether's analysis knows, and a
wrapper (headless worker + model-comparison script) that embeds it.

Usage: make_sample.py OUTDIR [--layout submodule|clone|vendored]

Writes OUTDIR/upstream (git), OUTDIR/wrapper (git) and OUTDIR/tether.toml.
Plain Python 3, standard library only. Commit times and authors are fixed, so
commit hashes are the same on every machine.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import io

EPOCH = 1_704_067_200  # 2024-01-01T00:00:00Z

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Sample Upstream",
    "GIT_AUTHOR_EMAIL": "upstream@example.com",
    "GIT_COMMITTER_NAME": "Sample Upstream",
    "GIT_COMMITTER_EMAIL": "upstream@example.com",
    "GIT_TERMINAL_PROMPT": "0",
}


class Repo:
    def __init__(self, path, author):
        self.path = path
        self.clock = EPOCH
        self.author = author
        os.makedirs(path, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args, env=None):
        e = dict(os.environ)
        e.update(GIT_ENV)
        e["GIT_AUTHOR_NAME"] = e["GIT_COMMITTER_NAME"] = self.author
        if env:
            e.update(env)
        out = subprocess.run(
            ["git", "-c", "protocol.file.allow=always", "-c", "core.autocrlf=false", *args],
            cwd=self.path, env=e, capture_output=True, text=True,
        )
        if out.returncode != 0:
            sys.exit(f"git {' '.join(args)} failed in {self.path}:\n{out.stderr}")
        return out.stdout.strip()

    def write(self, rel, text):
        p = os.path.join(self.path, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)

    def edit(self, rel, old, new):
        p = os.path.join(self.path, rel)
        with open(p, encoding="utf-8") as f:
            text = f.read()
        if old not in text:
            sys.exit(f"sample: `{old}` not found in {rel}")
        self.write(rel, text.replace(old, new, 1))

    def commit(self, message):
        self.git("add", "-A")
        date = f"@{self.clock} +0000"
        self.clock += 6 * 3600
        self.git("commit", "-q", "--allow-empty", "-m", message,
                 env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
        return self.git("rev-parse", "HEAD")


WGP = '''"""wgp: the sample upstream's main module (shaped like Wan2GP's wgp.py)."""
import json
import os

server_config = {"attention_mode": "sdpa", "profile": 4, "save_path": "outputs"}
MODEL_DIR = "defaults"


def get_model_def(model_type):
    """Reads a model definition from defaults/<model_type>.json."""
    path = os.path.join(os.path.dirname(__file__), MODEL_DIR, model_type + ".json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def get_default_settings(model_type):
    model = get_model_def(model_type)
    return {"steps": model.get("num_inference_steps", 30), "guidance_scale": 5.0}


def load_models(model_type, profile=4):
    model = get_model_def(model_type)
    return {"model_type": model_type, "profile": profile, "def": model}


def generate_video(prompt, video_length=81, num_inference_steps=30, seed=None, resolution="832x480", model_type="t2v_1.3B"):
    """Generates a video; returns the output path."""
    width, height = (int(x) for x in resolution.split("x"))
    return {"prompt": prompt, "frames": video_length, "steps": num_inference_steps, "seed": seed, "size": (width, height), "model": model_type}
'''

FILES = '''"""File helpers."""


def save_video(frames, path, fps=16):
    """Writes frames to path."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{len(frames)} frames at {fps} fps\\n")
    return path


def sanitize_name(name):
    return "".join(c for c in name if c.isalnum() or c in "-_")
'''

ANY2VIDEO = '''"""Wan any-to-video pipeline."""


class WanAny2V:
    def __init__(self, config, checkpoint_dir, device="cuda"):
        self.config = config
        self.checkpoint_dir = checkpoint_dir
        self.device = device

    def generate(self, input_prompt, frame_num=81, sampling_steps=50, seed=-1):
        return {"prompt": input_prompt, "frames": frame_num, "steps": sampling_steps}
'''

DEFAULTS = {
    "vace_14B": {"model": {"name": "Vace 14B", "architecture": "vace_14B", "URLs": ["ckpts/vace_14B.safetensors"]}, "num_inference_steps": 30, "guidance_scale": 5.0, "video_length": 81},
    "t2v_1.3B": {"model": {"name": "Wan2.1 text2video 1.3B", "architecture": "t2v_1.3B"}, "num_inference_steps": 30, "guidance_scale": 5.0, "flow_shift": 3.0},
    "i2v_720p": {"model": {"name": "Wan2.1 image2video 720p 14B", "architecture": "i2v"}, "num_inference_steps": 40, "guidance_scale": 5.0},
}

REQUIREMENTS = """# sample upstream requirements
torch==2.6.0
torchvision==0.21.0
numpy>=1.26,<2
einops
imageio-ffmpeg==0.5.1
"""

HEADLESS = '''"""Headless worker: drives the upstream's wgp module without its UI."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Wan2GP"))

import wgp
from wgp import generate_video, get_default_settings
from shared.utils.files import save_video
from models.wan.any2video import WanAny2V

wgp.server_config["save_path"] = "outputs"


def _quiet_offload(*args, **kwargs):
    return None


wgp.offload = _quiet_offload


def run_task(task):
    settings = get_default_settings(task["model"])
    models = wgp.load_models(task["model"], profile=task.get("profile", 4))
    result = generate_video(task["prompt"], video_length=task.get("frames", 81), seed=task.get("seed", 42), model_type=task["model"])
    save_video([result], task["output"], fps=16)
    return {"settings": settings, "models": models, "result": result}


def model_info(model_type):
    return wgp.get_model_def(model_type)


def pipeline(model_type):
    return WanAny2V(wgp.get_model_def(model_type), "ckpts", device="cpu")
'''

COMPARISON = '''"""Model comparison test: runs each model once and writes results.json."""
import json
import sys

import headless_wgp

CASES = [
    {"name": "vace", "model": "vace_14B", "config": "defaults/vace_14B.json", "frames": 81},
    {"name": "t2v", "model": "t2v_1.3B", "frames": 33},
]


def guidance_for(model_type):
    cfg = headless_wgp.model_info(model_type)
    return cfg["guidance_scale"]


def main():
    results = []
    for case in CASES:
        out = headless_wgp.run_task({"model": case["model"], "prompt": "a cat", "frames": case["frames"], "output": case["name"] + ".txt"})
        results.append({"name": case["name"], "status": "ok", "guidance": guidance_for(case["model"]), "frames": out["result"]["frames"]})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
'''


def build_upstream(path):
    up = Repo(path, "Sample Upstream")
    up.write("wgp.py", WGP)
    up.write("shared/__init__.py", "")
    up.write("shared/utils/__init__.py", "")
    up.write("shared/utils/files.py", FILES)
    up.write("models/__init__.py", "")
    up.write("models/wan/__init__.py", "")
    up.write("models/wan/any2video.py", ANY2VIDEO)
    for name, d in DEFAULTS.items():
        up.write(f"defaults/{name}.json", json.dumps(d, indent=2) + "\n")
    up.write("requirements.txt", REQUIREMENTS)
    up.write("README.md", "# sample upstream\n")
    base = up.commit("feat: initial sample upstream")

    up.write("README.md", "# sample upstream\n\nA video generator.\n")
    up.commit("docs: describe the project")
    up.edit("wgp.py", '\n\ndef get_default_settings(model_type):\n    model = get_model_def(model_type)\n    return {"steps": model.get("num_inference_steps", 30), "guidance_scale": 5.0}\n', "")
    up.commit("refactor: drop get_default_settings")
    up.edit("wgp.py", "video_length=81", "frame_num=81")
    up.edit("wgp.py", '"frames": video_length', '"frames": frame_num')
    up.commit("feat!: rename video_length to frame_num")
    up.edit("wgp.py", "def load_models(model_type, profile=4):", "def load_models(model_type, lora_dir, profile=4):")
    up.commit("feat: load_models takes a lora_dir")
    files = open(os.path.join(path, "shared/utils/files.py"), encoding="utf-8").read()
    save_def = files[files.index("def save_video"):files.index("def sanitize_name")]
    up.write("shared/utils/files.py", files.replace(save_def, ""))
    up.write("shared/utils/video.py", '"""Video helpers."""\n\n\n' + save_def.rstrip() + "\n")
    up.commit("refactor: move save_video to shared.utils.video")
    up.git("mv", "defaults/vace_14B.json", "defaults/vace_14B_v2.json")
    up.commit("feat: vace 14B v2 config")
    t2v = dict(DEFAULTS["t2v_1.3B"])
    del t2v["guidance_scale"]
    up.write("defaults/t2v_1.3B.json", json.dumps(t2v, indent=2) + "\n")
    up.commit("fix: t2v guidance comes from the scheduler")
    up.edit("requirements.txt", "torch==2.6.0\ntorchvision==0.21.0", "torch==2.7.1\ntorchvision==0.22.1")
    up.edit("requirements.txt", "imageio-ffmpeg==0.5.1\n", "safetensors>=0.4\n")
    up.commit("build: torch 2.7.1")
    up.edit("wgp.py", "def get_model_def(model_type):", "def get_model_definition(model_type):")
    up.edit("wgp.py", "model = get_model_def(model_type)\n    return {\"model_type\"", "model = get_model_definition(model_type)\n    return {\"model_type\"")
    up.commit("refactor: rename get_model_def to get_model_definition")
    return up, base


def build_wrapper(path, upstream, base, layout):
    w = Repo(path, "Sample Wrapper")
    w.clock = EPOCH - 3600
    w.write("headless_wgp.py", HEADLESS)
    w.write("test_model_comparison.py", COMPARISON)
    w.write("README.md", "# sample wrapper\n")
    if layout == "submodule":
        w.git("submodule", "add", "-q", upstream.path, "Wan2GP")
        subprocess.run(["git", "checkout", "-q", base], cwd=os.path.join(path, "Wan2GP"), check=True,
                       env={**os.environ, **GIT_ENV})
    elif layout == "clone":
        subprocess.run(["git", "clone", "-q", upstream.path, os.path.join(path, "Wan2GP")], check=True,
                       env={**os.environ, **GIT_ENV}, capture_output=True)
        subprocess.run(["git", "checkout", "-q", base], cwd=os.path.join(path, "Wan2GP"), check=True,
                       env={**os.environ, **GIT_ENV}, capture_output=True)
        w.write(".gitignore", "/Wan2GP/\n")
    else:
        data = subprocess.run(["git", "archive", "--format=tar", base], cwd=upstream.path, check=True,
                              capture_output=True, env={**os.environ, **GIT_ENV}).stdout
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(os.path.join(path, "Wan2GP"))
        w.write("STRUCTURE.md", f"# Structure\n\n- `Wan2GP/`: vendored upstream\n- Upstream commit: `{base}`\n")
    w.commit("feat: headless worker on the sample upstream")
    return w


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--layout", choices=["submodule", "clone", "vendored"], default="submodule")
    args = ap.parse_args()
    out = os.path.abspath(args.outdir)
    if os.path.exists(out) and os.listdir(out):
        sys.exit(f"sample: {out} exists and is not empty")
    upstream, base = build_upstream(os.path.join(out, "upstream"))
    build_wrapper(os.path.join(out, "wrapper"), upstream, base, args.layout)
    with open(os.path.join(out, "tether.toml"), "w", encoding="utf-8") as f:
        f.write(f'''# tether config for the sample project (see tether.example.toml for every key)
[project]
name = "sample-wrapper"
root = "wrapper"
state_dir = ".tether"
analysis_dir = "maintenance_analysis"
outputs_dir = "outputs"

[[upstream]]
name = "sample"
url = "{upstream.path}"
path = "Wan2GP"
layout = "{args.layout}"
track = "branch:main"
key_files = ["wgp.py", "defaults/*.json", "requirements.txt"]
''')
    print(out)


if __name__ == "__main__":
    main()
