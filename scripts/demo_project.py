#!/usr/bin/env python3
"""Builds tether's demo project: a Wan2GP-like upstream that really writes videos
and a headless wrapper whose baseline generation tests the upstream's later
commits break, one way per commit.

Usage: demo_project.py OUTDIR

Writes OUTDIR/upstream (git), OUTDIR/wrapper (git, the upstream as submodule
`Wan2GP` at the base commit) and OUTDIR/tether.toml, then prints a JSON summary
(paths and the upstream's commits) on stdout.

The upstream's generate_video() runs on the CPU in pure Python: it checks a
pretend GPU memory budget (env DEMO_VRAM_GB, default 12 GiB) and fails the way
torch does when the estimate is over it, then writes a real YUV4MPEG2 (.y4m)
video of a moving gradient derived from the prompt and seed. After the base
commit the upstream history is:
  docs       harmless
  break (a)  generate_video(video_length=) renamed to frame_num=
  break (b)  defaults/vace_14B.json renamed to defaults/vace_14B_2.json
  break (c)  an attention cache raises memory use: 81 frames of vace_14B no
             longer fit in 12 GiB, 77 and fewer still do
  docs       harmless
Plain Python 3, standard library only. Commit times and authors are fixed, so
the upstream's commit hashes are the same on every machine.
"""

import argparse
import json
import os
import subprocess
import sys

EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}


class Repo:
    def __init__(self, path, author, email, clock):
        self.path = path
        self.clock = clock
        self.author = author
        self.email = email
        os.makedirs(path, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def env(self, extra=None):
        e = dict(os.environ)
        for k in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
            e.pop(k, None)
        e.update(GIT_ENV)
        e["GIT_AUTHOR_NAME"] = e["GIT_COMMITTER_NAME"] = self.author
        e["GIT_AUTHOR_EMAIL"] = e["GIT_COMMITTER_EMAIL"] = self.email
        if extra:
            e.update(extra)
        return e

    def git(self, *args, env=None, cwd=None):
        out = subprocess.run(
            ["git", "-c", "protocol.file.allow=always", "-c", "core.autocrlf=false",
             "-c", "init.defaultBranch=main", *args],
            cwd=cwd or self.path, env=self.env(env), capture_output=True, text=True,
        )
        if out.returncode != 0:
            sys.exit(f"demo: git {' '.join(args)} failed in {cwd or self.path}:\n{out.stderr}")
        return out.stdout.strip()

    def write(self, rel, text):
        p = os.path.join(self.path, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)

    def edit(self, rel, old, new):
        p = os.path.join(self.path, rel)
        with open(p, encoding="utf-8") as f:
            text = f.read()
        if text.count(old) != 1:
            sys.exit(f"demo: `{old}` is not in {rel} exactly once")
        self.write(rel, text.replace(old, new, 1))

    def commit(self, message):
        self.git("add", "-A")
        date = f"@{self.clock} +0000"
        self.clock += 6 * 3600
        self.git("commit", "-q", "--allow-empty", "-m", message,
                 env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
        return self.git("rev-parse", "HEAD")


# ---------------------------------------------------------------- upstream

WGP = '''"""wgp: Wan2GP-style video generation entry point (demo upstream).

Everything runs on the CPU in pure Python. The "model" paints a moving gradient
and writes it as a YUV4MPEG2 video; the memory check pretends to be a GPU with
DEMO_VRAM_GB GiB (default 12) and fails the way torch does.
"""
import json
import os

from shared.utils import memory, video

WAN_DIR = os.path.dirname(os.path.abspath(__file__))
MODEL_DIR = "defaults"
server_config = {"attention_mode": "sdpa", "profile": 4, "save_path": "outputs"}


def get_model_def(model_type):
    """Reads the model definition defaults/<model_type>.json."""
    path = os.path.join(WAN_DIR, MODEL_DIR, model_type + ".json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def get_default_settings(model_type):
    model_def = get_model_def(model_type)
    return dict(model_def.get("settings", {}))


def parse_resolution(resolution):
    """Parses "832x480" into (832, 480); both sides must be even (4:2:0 video)."""
    width, height = (int(v) for v in resolution.lower().split("x"))
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError(f"resolution {resolution!r}: width and height must be positive and even")
    return width, height


def generate_video(prompt, video_length=81, resolution="832x480", num_inference_steps=8, seed=42, model_type="t2v_1.3B", output_path=None):
    """Generates `video_length` frames and writes them to `output_path` (.y4m); returns the path."""
    model_def = get_model_def(model_type)
    width, height = parse_resolution(resolution)
    if video_length < 1:
        raise ValueError(f"video_length must be at least 1, got {video_length}")
    memory.reserve(model_def, video_length, width, height)
    if output_path is None:
        output_path = os.path.join(server_config["save_path"], f"{model_type}_{seed}.y4m")
    fps = model_def.get("settings", {}).get("fps", 16)
    frames = video.render(prompt, seed, num_inference_steps, video_length, width, height)
    video.write_y4m(output_path, width, height, frames, fps=fps)
    return output_path
'''

TORCH_COMPAT = '''"""Stand-ins for the torch pieces the demo needs (real Wan2GP imports torch)."""


class OutOfMemoryError(RuntimeError):
    """Raised where torch raises torch.OutOfMemoryError (also a RuntimeError)."""


# Tracebacks name it the way they name torch's own: torch.OutOfMemoryError.
OutOfMemoryError.__module__ = "torch"
'''

MEMORY = '''"""GPU memory accounting: a budget (env DEMO_VRAM_GB, default 12 GiB) instead of a GPU."""
import os

from torch_compat import OutOfMemoryError


def budget_gib():
    return float(os.environ.get("DEMO_VRAM_GB", "12"))


def estimate_gib(model_def, frames, width, height):
    """(weights, activations) in GiB for `frames` frames of width x height."""
    vram = model_def["vram"]
    weights = float(vram["weights_gib"])
    megapixel_frames = frames * width * height / 1e6
    activations = float(vram["activation_gib_per_mpx_frame"]) * megapixel_frames
    return weights, activations


def reserve(model_def, frames, width, height):
    """Raises torch's out-of-memory error when the generation would not fit."""
    total = budget_gib()
    weights, activations = estimate_gib(model_def, frames, width, height)
    if weights + activations > total:
        free = max(total - weights, 0.0)
        raise OutOfMemoryError(
            f"CUDA out of memory. Tried to allocate {activations:.2f} GiB. "
            f"GPU 0 has a total capacity of {total:.2f} GiB of which {free:.2f} GiB is free."
        )
    return weights + activations
'''

VIDEO = '''"""Video helpers: a deterministic moving gradient written as YUV4MPEG2."""
import hashlib
import os


def _pattern(prompt, seed, steps):
    return hashlib.sha256(f"{prompt}\\0{seed}\\0{steps}".encode("utf-8")).digest()


def render(prompt, seed, steps, frames, width, height):
    """Yields `frames` frames (4:2:0 planes, bytes) of a gradient moving with time."""
    h = _pattern(prompt, seed, steps)
    x_step, y_step, t_step = 1 + h[0] % 3, 1 + h[1] % 4, 2 + h[2] % 6
    phase, u_phase, v_phase = h[3], h[4], h[5]
    cw, ch = width // 2, height // 2
    luma = bytes((i * x_step) & 255 for i in range(256 + width))
    chroma = bytes(64 + (i & 127) for i in range(256 + cw))
    for t in range(frames):
        y_plane = b"".join(luma[o:o + width] for o in ((y * y_step + t * t_step + phase) & 255 for y in range(height)))
        u_plane = b"".join(chroma[o:o + cw] for o in ((2 * y + t + u_phase) & 255 for y in range(ch)))
        v_plane = b"".join(bytes([64 + ((3 * y - t + v_phase) & 127)]) * cw for y in range(ch))
        yield y_plane + u_plane + v_plane


def write_y4m(path, width, height, frames, fps=16):
    """Writes frames to `path` as YUV4MPEG2 (C420jpeg); returns the frame count."""
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    count = 0
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\\n".encode("ascii"))
        for frame in frames:
            f.write(b"FRAME\\n")
            f.write(frame)
            count += 1
    return count
'''

FILES = '''"""File helpers."""
import os


def sanitize_name(name):
    return "".join(c for c in name if c.isalnum() or c in "-_.")


def output_name(save_path, model_type, seed, ext=".y4m"):
    return os.path.join(save_path, sanitize_name(f"{model_type}_{seed}") + ext)
'''

MODEL_DEFS = {
    "t2v_1.3B": {
        "model": {"name": "Wan2.1 text2video 1.3B", "architecture": "t2v_1.3B",
                  "URLs": ["ckpts/wan2.1_text2video_1.3B_bf16.safetensors"]},
        "settings": {"num_inference_steps": 8, "guidance_scale": 5.0, "flow_shift": 3.0, "fps": 16},
        "vram": {"weights_gib": 2.5, "activation_gib_per_mpx_frame": 1.5},
    },
    "vace_14B": {
        "model": {"name": "Vace 14B", "architecture": "vace_14B",
                  "URLs": ["ckpts/wan2.1_vace_14B_quanto_int8.safetensors"],
                  "modules": ["vace_14B"]},
        "settings": {"num_inference_steps": 8, "guidance_scale": 5.0, "flow_shift": 5.0, "fps": 16},
        "vram": {"weights_gib": 6.5, "activation_gib_per_mpx_frame": 4.2},
    },
    "i2v_480p": {
        "model": {"name": "Wan2.1 image2video 480p 14B", "architecture": "i2v",
                  "URLs": ["ckpts/wan2.1_image2video_480p_14B_quanto_int8.safetensors"]},
        "settings": {"num_inference_steps": 8, "guidance_scale": 5.0, "flow_shift": 3.0, "fps": 16},
        "vram": {"weights_gib": 7.0, "activation_gib_per_mpx_frame": 5.0},
    },
}

REQUIREMENTS = """# Wan2GP demo upstream: everything it needs ships with Python.
# torch==2.7.1  (provided by the environment; the demo runs without it)
"""

GITIGNORE = "__pycache__/\n*.pyc\noutputs/\n"


def dumps(obj):
    return json.dumps(obj, indent=2) + "\n"


def build_upstream(path):
    up = Repo(path, "Demo Upstream", "upstream@example.com", EPOCH)
    up.write("wgp.py", WGP)
    up.write("torch_compat.py", TORCH_COMPAT)
    up.write("shared/__init__.py", "")
    up.write("shared/utils/__init__.py", "")
    up.write("shared/utils/memory.py", MEMORY)
    up.write("shared/utils/video.py", VIDEO)
    up.write("shared/utils/files.py", FILES)
    for name, d in MODEL_DEFS.items():
        up.write(f"defaults/{name}.json", dumps(d))
    up.write("requirements.txt", REQUIREMENTS)
    up.write(".gitignore", GITIGNORE)
    up.write("README.md", "# Wan2GP (demo)\n\nA pretend video generator for tether's demo.\n")
    commits = [(up.commit("feat: initial Wan2GP-like video generator"), "base")]

    up.write("README.md", "# Wan2GP (demo)\n\nA pretend video generator for tether's demo.\n\n"
             "    from wgp import generate_video\n"
             "    generate_video(\"a fox\", video_length=33, resolution=\"832x480\", model_type=\"t2v_1.3B\")\n")
    commits.append((up.commit("docs: usage example in the README"), "harmless"))

    # (a) keyword rename: callers passing video_length= now get a TypeError.
    up.edit("wgp.py", "video_length=81,", "frame_num=81,")
    up.edit("wgp.py", "Generates `video_length` frames", "Generates `frame_num` frames")
    up.edit("wgp.py", "    if video_length < 1:\n        raise ValueError(f\"video_length must be at least 1, got {video_length}\")\n    memory.reserve(model_def, video_length,",
            "    if frame_num < 1:\n        raise ValueError(f\"frame_num must be at least 1, got {frame_num}\")\n    memory.reserve(model_def, frame_num,")
    up.edit("wgp.py", "num_inference_steps, video_length, width", "num_inference_steps, frame_num, width")
    up.edit("README.md", "video_length=33", "frame_num=33")
    commits.append((up.commit("feat(api)!: rename generate_video's video_length to frame_num"), "break: keyword"))

    # (b) model config rename: defaults/vace_14B.json is gone.
    vace2 = json.loads(dumps(MODEL_DEFS["vace_14B"]))
    vace2["model"]["name"] = "Vace 14B 2.1"
    vace2["model"]["architecture"] = "vace_14B_2"
    vace2["model"]["URLs"] = ["ckpts/wan2.1_vace_14B_2_quanto_int8.safetensors"]
    up.git("rm", "-q", "defaults/vace_14B.json")
    up.write("defaults/vace_14B_2.json", dumps(vace2))
    commits.append((up.commit("feat(models)!: replace vace_14B with vace_14B_2"), "break: model config"))

    # (c) more memory: 81 frames of vace_14B at 128x96 no longer fit in 12 GiB.
    up.edit("shared/utils/memory.py", "from torch_compat import OutOfMemoryError\n",
            "from torch_compat import OutOfMemoryError\n\n"
            "# Keys and values of every denoising step stay resident: faster sampling,\n"
            "# more memory per frame.\n"
            "ATTENTION_CACHE = 1.35\n")
    up.edit("shared/utils/memory.py", "* megapixel_frames\n",
            "* megapixel_frames * ATTENTION_CACHE\n")
    up.edit("wgp.py", '"attention_mode": "sdpa"', '"attention_mode": "sdpa", "attention_cache": True')
    commits.append((up.commit("perf(attention): cache keys and values across denoising steps"), "break: memory"))

    up.write("CHANGELOG.md", "# Changelog\n\n## 2.0\n\n- `generate_video(frame_num=)` replaces `video_length=`.\n"
             "- `vace_14B_2` replaces `vace_14B`.\n- Attention cache: faster sampling.\n")
    commits.append((up.commit("docs: changelog for 2.0"), "harmless"))
    return up, commits


# ---------------------------------------------------------------- wrapper

HEADLESS = '''"""Headless worker: runs Wan2GP generations without its web UI."""
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(ROOT, "Wan2GP"))

import wgp  # noqa: E402
from wgp import generate_video  # noqa: E402

DEFAULT_PROMPT = "a red fox running through fresh snow, cinematic"

wgp.server_config["save_path"] = os.path.join(ROOT, "outputs")


def run_task(settings, output_path):
    """Runs one generation described by tether's settings.json; returns the video path."""
    params = settings["params"]
    return generate_video(
        params.get("prompt", DEFAULT_PROMPT),
        video_length=settings["params"]["video_length"],
        resolution=params.get("resolution", "832x480"),
        num_inference_steps=params.get("num_inference_steps", 8),
        seed=params.get("seed", 42),
        model_type=settings["model"],
        output_path=output_path,
    )
'''

COMPARISON = '''"""Model comparison test: runs one baseline case through the headless worker.

Usage: test_model_comparison.py --settings SETTINGS_JSON --output-dir DIR

SETTINGS_JSON is {"case": name, "model": model, "params": {...}}. Writes
DIR/<case>.y4m and DIR/results.json; exits 0 when the case passed and 1 (with
the Python traceback on stderr) when it failed.
"""
import argparse
import json
import os
import sys
import time
import traceback

sys.dont_write_bytecode = True


def run_case(settings, output_dir):
    case = settings.get("case") or settings.get("name") or settings["model"]
    output = os.path.join(output_dir, case + ".y4m")
    entry = {"name": case, "model": settings["model"], "status": "passed", "output": output}
    start = time.monotonic()
    try:
        import headless_wgp

        headless_wgp.run_task(settings, output)
        if not os.path.isfile(output):
            raise RuntimeError(f"the worker wrote no video at {output}")
    except Exception as exc:
        traceback.print_exc()
        entry["status"] = "failed"
        entry["error"] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    entry["duration"] = round(time.monotonic() - start, 3)
    return entry


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--settings", required=True)
    ap.add_argument("--output-dir", required=True)
    args = ap.parse_args()
    with open(args.settings, encoding="utf-8") as f:
        settings = json.load(f)
    os.makedirs(args.output_dir, exist_ok=True)
    entry = run_case(settings, args.output_dir)
    with open(os.path.join(args.output_dir, "results.json"), "w", encoding="utf-8") as f:
        json.dump([entry], f, indent=2)
        f.write("\\n")
    print(f"{entry['name']}: {entry['status']} in {entry['duration']:.3f}s")
    return 0 if entry["status"] == "passed" else 1


if __name__ == "__main__":
    sys.exit(main())
'''

WRAPPER_README = """# Headless Wan2GP (demo)

A headless worker (`headless_wgp.py`) on the Wan2GP upstream in `Wan2GP/` (a
git submodule), and its baseline test:

    python3 test_model_comparison.py --settings settings.json --output-dir out/
"""


# The canary: a small VAE-style decoder with a short denoising loop, exported
# to TorchScript at the tree under test with its fixed inputs. Written only
# when the interpreter has torch (scripts/install-torch.sh provides one).
EXPORT_CANARY = '''"""Exports the VAE-decoder canary for tether (runner = "torchscript")."""
import argparse
import json
import struct
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402
from torch import nn  # noqa: E402


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(4, 16, 4, stride=2, padding=1)
        self.mid = nn.Conv2d(16, 16, 3, padding=1)
        self.out = nn.Conv2d(16, 3, 3, padding=1)

    def forward(self, latent):
        for _ in range(4):
            latent = latent - 0.1 * torch.tanh(latent)
        x = torch.relu(self.mid(torch.relu(self.up(latent))))
        return torch.sigmoid(self.out(x))


def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        values = t.contiguous().flatten().tolist()
        data = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header).encode()
    head += b" " * ((8 - len(head) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for data in blobs:
            f.write(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--inputs")
    args = ap.parse_args()
    torch.manual_seed(42)
    torch.jit.script(Decoder().eval()).save(args.out)
    if args.inputs:
        g = torch.Generator().manual_seed(7)
        save_safetensors(args.inputs, {"latent": torch.randn(1, 4, 24, 32, generator=g)})


if __name__ == "__main__":
    main()
'''


def has_torch():
    import warnings
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


def build_wrapper(path, upstream, base):
    w = Repo(path, "Demo Wrapper", "wrapper@example.com", EPOCH + 2 * 3600)
    w.write("headless_wgp.py", HEADLESS)
    if has_torch():
        w.write("export_canary.py", EXPORT_CANARY)
    w.write("test_model_comparison.py", COMPARISON)
    w.write("README.md", WRAPPER_README)
    w.write(".gitignore", GITIGNORE)
    w.git("submodule", "add", "-q", upstream.path, "Wan2GP")
    w.git("checkout", "-q", base, cwd=os.path.join(path, "Wan2GP"))
    w.commit("feat: headless worker on Wan2GP")
    return w


# ---------------------------------------------------------------- config

CASES = [
    ("t2v_short", "t2v_1.3B", 17),
    ("vace_short", "vace_14B", 33),
    ("vace_long", "vace_14B", 81),
]


def toml_str(s):
    return json.dumps(s)  # a TOML basic string for any path or text here


def tether_toml(upstream_path):
    cases = "".join(f'''
[[baseline.case]]
name = "{name}"
model = "{model}"
outputs = ["*.y4m"]
params = {{ prompt = "a red fox running through fresh snow", resolution = "128x96", video_length = {frames}, num_inference_steps = 8, seed = 42 }}
''' for name, model, frames in CASES)
    canary = CANARY_CASE if has_torch() else ""
    return f'''# tether config for the demo project (see tether.example.toml for every key)
[project]
name = "demo-wrapper"
root = "wrapper"
python = {toml_str(sys.executable)}
state_dir = ".tether"
analysis_dir = "maintenance_analysis"
outputs_dir = "outputs"

[[upstream]]
name = "demo"
url = {toml_str(upstream_path)}
path = "Wan2GP"
layout = "submodule"
track = "branch:main"
key_files = ["wgp.py", "defaults/*.json", "requirements.txt", "shared/utils/*.py"]

[baseline]
command = "{{python}} test_model_comparison.py --settings {{settings_json}} --output-dir {{output_dir}}"
results_file = "results.json"
timeout = "60s"
{cases}
{canary}
[update]
max_attempts = 10
'''


CANARY_CASE = '''
# A generation canary: the decoder exported at the tree under test and run by
# tether itself through libtorch; it runs first, in seconds.
[[baseline.case]]
name = "vae_canary"
model = "vae"
runner = "torchscript"
export = "{python} export_canary.py --out {module_path} --inputs {inputs_path}"
device = "auto"
warmup = 1
iterations = 5
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    args = ap.parse_args()
    out = os.path.abspath(args.outdir)
    if os.path.exists(out) and (not os.path.isdir(out) or os.listdir(out)):
        sys.exit(f"demo: {out} exists and is not an empty folder")
    upstream, commits = build_upstream(os.path.join(out, "upstream"))
    base = commits[0][0]
    wrapper = build_wrapper(os.path.join(out, "wrapper"), upstream, base)
    config = os.path.join(out, "tether.toml")
    with open(config, "w", encoding="utf-8", newline="\n") as f:
        f.write(tether_toml(upstream.path))
    summary = {
        "root": out,
        "config": config,
        "upstream": upstream.path,
        "wrapper": wrapper.path,
        "base": base,
        "commits": [{"hash": h, "kind": kind, "subject": upstream.git("log", "-1", "--format=%s", h)}
                    for h, kind in commits],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
