#!/usr/bin/env python3
"""Builds a realistic vendored wrapper for tether's tests: an upstream shaped
like Wan2GP with a real history, and a headless worker that vendors it as
plain files with local patches, the way real wrappers do.

Usage: make_vendored.py OUTDIR

Writes OUTDIR/upstream (git), OUTDIR/wrapper (git), OUTDIR/tether.toml and
OUTDIR/manifest.json (the commits and files the tests check against).

What the wrapper has, as real ones do:
- the upstream vendored under `Wan2GP/` from commit BASE, while its record
  file (`STRUCTURE.md`) still names a commit months older (RECORD);
- 12 locally modified upstream files, the main module `wgp.py` among them:
  some patches merge cleanly only at definition or JSON-key level, one
  conflicts truly with the upstream change (`shared/utils/utils.py`), one
  file the wrapper deleted is changed upstream;
- 13 local-only files: a subpackage `models/local_pkg` the wrapper imports,
  eight local model-config JSONs, a finetune;
- a function that exists only in the local patch of `wgp.py`, which the
  wrapper calls; monkeypatches of upstream functions, one of which exists
  nowhere (dead); calls that pass a filtered `**kwargs` dict;
- about 250 integration points over 60+ wrapper files.

Plain Python 3, standard library only. Commit times and authors are fixed, so
commit hashes are the same on every machine.
"""

import io
import json
import os
import subprocess
import sys
import tarfile

EPOCH = 1_704_067_200  # 2024-01-01T00:00:00Z
RECORD_AT = 4  # the commit the stale record names
BASE_AT = 40  # the commit the copy really comes from
TOTAL = 64  # commits on main before the drift commits

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_EMAIL": "dev@example.com",
    "GIT_COMMITTER_EMAIL": "dev@example.com",
    "GIT_TERMINAL_PROMPT": "0",
}


class Repo:
    def __init__(self, path, author, clock):
        self.path = path
        self.clock = clock
        self.author = author
        os.makedirs(path, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args, env=None, raw=False):
        e = dict(os.environ)
        e.update(GIT_ENV)
        e["GIT_AUTHOR_NAME"] = e["GIT_COMMITTER_NAME"] = self.author
        if env:
            e.update(env)
        out = subprocess.run(["git", "-c", "core.autocrlf=false", *args], cwd=self.path, env=e,
                             capture_output=True)
        if out.returncode != 0:
            sys.exit(f"git {' '.join(args)} failed in {self.path}:\n{out.stderr.decode()}")
        return out.stdout if raw else out.stdout.decode().strip()

    def write(self, rel, text):
        p = os.path.join(self.path, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)

    def read(self, rel):
        with open(os.path.join(self.path, rel), encoding="utf-8") as f:
            return f.read()

    def edit(self, rel, old, new):
        text = self.read(rel)
        if old not in text:
            sys.exit(f"make_vendored: `{old}` not found in {rel}")
        self.write(rel, text.replace(old, new, 1))

    def remove(self, rel):
        os.remove(os.path.join(self.path, rel))

    def commit(self, message):
        self.git("add", "-A")
        date = f"@{self.clock} +0000"
        self.clock += 14 * 3600
        self.git("commit", "-q", "--allow-empty", "-m", message,
                 env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
        return self.git("rev-parse", "HEAD")


# ---------------------------------------------------------------- upstream

WGP_HEAD = '''"""wgp: the main module (shaped like Wan2GP's wgp.py)."""
import json
import os

REVISION = 0
server_config = {"attention_mode": "sdpa", "profile": 4, "save_path": "outputs"}
MODEL_DIR = "defaults"


def get_model_def(model_type):
    """Reads a model definition from defaults/<model_type>.json."""
    path = os.path.join(os.path.dirname(__file__), MODEL_DIR, model_type + ".json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def get_default_settings(model_type):
    model = get_model_def(model_type)
    return {
        "prompt": model.get("prompt", ""),
        "num_inference_steps": model.get("num_inference_steps", 30),
        "guidance_scale": 5.0,
    }


def load_models(model_type, profile=4):
    return {"model_type": model_type, "profile": profile}


def generate_video(prompt, video_length=81, num_inference_steps=30, seed=None, resolution="832x480", model_type="t2v"):
    settings = get_default_settings(model_type)
    return {"prompt": prompt, "frames": video_length, "steps": num_inference_steps, "seed": seed,
            "resolution": resolution, "guidance": settings["guidance_scale"]}


def render(prompt, frames=16):
    return [prompt] * frames


def save_video(frames, path, fps=16):
    return {"path": path, "frames": len(frames), "fps": fps}


def sanitize_name(name):
    return "".join(c for c in name if c.isalnum() or c in "-_")


def get_lora_dir(model_type):
    return os.path.join("loras", model_type)


def set_attention_mode(mode):
    server_config["attention_mode"] = mode
    return mode
'''

WGP_TAIL = '''

def release_model():
    """Frees the loaded model."""
    global _loaded
    _loaded = None
    return True
'''

ANY2VIDEO = '''"""The Wan any-to-video pipeline."""
import math

REVISION = 0


class WanAny2V:
    def __init__(self, config, checkpoint_dir, device="cuda"):
        self.config = config
        self.checkpoint_dir = checkpoint_dir
        self.device = device

    def generate(self, input_prompt, frame_num=81, sampling_steps=50, seed=-1):
        latents = self._prepare_latents(frame_num, seed)
        for _ in range(sampling_steps):
            latents = [x * 0.5 for x in latents]
        return self._decode(latents)

    def _prepare_latents(self, frame_num, seed):
        return [float(seed % 7 + i) for i in range(frame_num)]

    def _decode(self, latents):
        scale = 1.0
        return [x * scale for x in latents]

    def encode_prompt(self, prompt):
        return [ord(c) % 17 for c in prompt]
'''

UTILS = '''"""Shared helpers."""
import os
import random

REVISION = 0


def seed_everything(seed):
    random.seed(seed)
    return seed


def get_outputs_dir():
    return os.environ.get("WGP_OUTPUTS", "outputs")


def truncate_prompt(prompt, limit=512):
    return prompt[:limit]
'''

LORAS = '''import os
import json

REVISION = 0


def list_loras(lora_dir):
    if not os.path.isdir(lora_dir):
        return []
    return sorted(os.listdir(lora_dir))


def load_lora_preset(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)
'''

MATANYONE_APP = '''"""A Gradio app for MatAnyone masks (not used by headless workers)."""

REVISION = 0


def launch(port=7860):
    return {"port": port}
'''

# modules filled with generated helper functions: (path, prefix, count)
GENERATED = [
    ("models/wan/modules/attention.py", "attn", 8),
    ("models/wan/modules/model.py", "block", 8),
    ("models/wan/modules/t5.py", "t5", 6),
    ("models/wan/modules/vae.py", "vae", 6),
    ("models/wan/modules/clip.py", "clip", 5),
    ("models/wan/modules/posemb.py", "rope", 5),
    ("models/hyvideo/hunyuan.py", "hunyuan", 8),
    ("models/hyvideo/text_encoder.py", "hy_text", 5),
    ("models/hyvideo/vae.py", "hy_vae", 5),
    ("models/ltx_video/ltxv.py", "ltxv", 8),
    ("models/ltx_video/pipeline.py", "ltx_pipe", 6),
    ("models/ltx_video/schedulers.py", "ltx_sched", 5),
    ("models/flux/flux_main.py", "flux", 6),
    ("models/flux/sampling.py", "flux_sample", 5),
    ("models/qwen/qwen_main.py", "qwen", 6),
    ("models/qwen/pipeline_qwenimage.py", "qwen_pipe", 5),
    ("shared/utils/audio_video.py", "av", 8),
    ("shared/utils/notification.py", "notify", 4),
    ("shared/utils/files_locator.py", "locate", 4),
    ("shared/utils/prompt_parser.py", "prompt", 6),
    ("shared/utils/qwen_vl_utils.py", "vl", 4),
    ("shared/attention.py", "sdpa", 6),
    ("preprocessing/dwpose/pose.py", "pose", 5),
    ("preprocessing/depth_anything_v2/dpt.py", "depth", 5),
]

PACKAGES = ["models", "models/wan", "models/wan/modules", "models/hyvideo", "models/ltx_video",
            "models/flux", "models/qwen", "shared", "shared/utils", "preprocessing",
            "preprocessing/matanyone", "preprocessing/dwpose", "preprocessing/depth_anything_v2"]

MODEL_TYPES = ["t2v", "t2v_1.3B", "i2v", "i2v_720p", "vace_14B", "vace_1.3B", "flf2v_720p",
               "fantasy", "phantom_14B", "recam_1.3B", "sky_df_14B", "sky_df_720p",
               "ltxv_13B", "ltxv_distilled", "hunyuan", "hunyuan_i2v", "hunyuan_avatar",
               "hunyuan_custom", "flux", "flux_dev_kontext", "qwen_image_20B", "multitalk",
               "infinitetalk", "lucy_edit", "standin", "animate", "chrono_edit", "alpha",
               "lynx", "ovi"]


def generated_module(prefix, count, revision=0, bumps=()):
    lines = [f'"""Helpers {prefix}_*."""', "import math", "", f"REVISION = {revision}", ""]
    for i in range(count):
        bump = sum(1 for b in bumps if b == i)
        lines += ["", f"def {prefix}_{i:02d}(x, scale=1.0, *, eps=1e-6):",
                  f'    """Step {i} of the {prefix} stack."""',
                  f"    y = x * scale + {i + bump}",
                  "    return y if abs(y) > eps else 0.0", ""]
    return "\n".join(lines) + "\n"


def model_json(name, i, extra=None):
    d = {
        "model": {"name": f"Wan2.1 {name}", "architecture": name.split("_")[0],
                  "URLs": [f"https://huggingface.co/example/{name}/resolve/main/{name}.safetensors"]},
        "prompt": f"a {name} test scene",
        "resolution": "832x480",
        "num_inference_steps": 30 + i % 5,
        "guidance_scale": 5.0,
        "video_length": 81,
        "flow_shift": 5,
    }
    if extra:
        d.update(extra)
    return json.dumps(d, indent=4) + "\n"


def bump_revision(up, rel, n):
    text = up.read(rel)
    start = text.index("REVISION = ")
    end = text.index("\n", start)
    up.write(rel, text[:start] + f"REVISION = {n}" + text[end:])


def build_upstream(path):
    up = Repo(path, "Upstream Dev", EPOCH)
    up.write("wgp.py", WGP_HEAD + WGP_TAIL)
    up.write("models/wan/any2video.py", ANY2VIDEO)
    up.write("shared/utils/utils.py", UTILS)
    up.write("shared/utils/loras.py", LORAS)
    up.write("preprocessing/matanyone/app.py", MATANYONE_APP)
    for pkg in PACKAGES:
        up.write(f"{pkg}/__init__.py", "")
    gen = {}
    for rel, prefix, count in GENERATED:
        gen[rel] = (prefix, count, [])
        up.write(rel, generated_module(prefix, count))
    for i, name in enumerate(MODEL_TYPES):
        up.write(f"defaults/{name}.json", model_json(name, i))
    up.write("requirements.txt", "torch>=2.4.0\ndiffusers==0.31.0\ntransformers==4.51.3\n"
             "accelerate>=1.1.1\nopencv-python>=4.9.0.80\nnumpy>=1.23.5,<2\n")
    up.write("README.md", "# Wan2GP (sample)\n\nVideo generation for the GPU poor.\n")
    up.write("docs/CHANGELOG.md", "# Changelog\n")
    up.write("docs/LORAS.md", "# Loras\n")
    up.write("LICENSE.txt", "Apache License 2.0 (sample)\n")
    commits = [up.commit("initial import")]
    # ordinary history: each commit bumps a few modules and edits a helper
    for n in range(1, TOTAL):
        for j in range(3):
            rel, prefix, count = GENERATED[(n * 3 + j) % len(GENERATED)]
            _, _, bumps = gen[rel]
            bumps.append((n + j) % count)
            up.write(rel, generated_module(prefix, count, n, bumps))
        if n % 4 == 0:
            if n < BASE_AT:
                bump_revision(up, "models/wan/any2video.py", n)
            name = MODEL_TYPES[n % len(MODEL_TYPES)]
            up.write(f"defaults/{name}.json", model_json(name, n))
        if n % 5 == 0:
            text = up.read("docs/CHANGELOG.md")
            up.write("docs/CHANGELOG.md", text + f"- change {n}\n")
        if n < BASE_AT and n % 6 == 0:
            bump_revision(up, "wgp.py", n)
            bump_revision(up, "shared/utils/utils.py", n)
        if n == 20:
            up.edit("wgp.py", "def set_attention_mode(mode):",
                    "def get_attention_mode():\n    return server_config[\"attention_mode\"]\n\n\n"
                    "def set_attention_mode(mode):")
        commits.append(up.commit(f"update {n}: model helpers"))
    drift = drift_commits(up)
    return up, commits, drift


def drift_commits(up):
    """The upstream's changes after the wrapper's base that meet its patches."""
    out = {}
    # the last function of wgp.py changes (the wrapper appended one after it)
    up.edit("wgp.py", "    _loaded = None\n    return True\n",
            "    _loaded = None\n    return server_config.pop(\"loaded\", True)\n")
    # a signature change: a renamed optional, a new required positional
    up.edit("wgp.py", "def render(prompt, frames=16):\n    return [prompt] * frames",
            "def render(prompt, fps, num_frames=16):\n    return [prompt] * num_frames")
    # a new required parameter of a function the wrapper calls with **kwargs
    up.edit("wgp.py", "def load_models(model_type, profile=4):\n    return {\"model_type\": model_type, \"profile\": profile}",
            "def load_models(model_type, lora_dir, profile=4):\n    return {\"model_type\": model_type, \"profile\": profile, \"lora_dir\": lora_dir}")
    out["wgp"] = up.commit("wgp: release flag, render fps, lora_dir for load_models")
    # a method added where the wrapper added another
    up.edit("models/wan/any2video.py", "    def _decode(self, latents):\n",
            "    def _init_noise(self, shape):\n        return [0.0] * shape\n\n    def _decode(self, latents):\n")
    out["any2video"] = up.commit("wan: noise init helper")
    # an import at the top of loras.py next to the wrapper's
    up.edit("shared/utils/loras.py", "import os\nimport json\n", "import os\nimport json\nimport glob\n")
    out["loras"] = up.commit("loras: glob presets")
    # the same line the wrapper changed: a true conflict
    up.edit("shared/utils/utils.py", "    random.seed(seed)\n", "    random.seed(seed & 0xFFFFFFFF)\n")
    out["utils"] = up.commit("utils: clamp seeds to 32 bits")
    # the key next to the wrapper's added one
    text = up.read("defaults/t2v.json")
    up.write("defaults/t2v.json", text.replace('"flow_shift": 5', '"flow_shift": 3'))
    # a key some configs drop
    for name in ("vace_14B", "vace_1.3B"):
        d = json.loads(up.read(f"defaults/{name}.json"))
        d.pop("video_length")
        up.write(f"defaults/{name}.json", json.dumps(d, indent=4) + "\n")
    out["defaults"] = up.commit("defaults: t2v flow shift 3; vace decides its own length")
    # the app the wrapper deleted changes
    up.edit("preprocessing/matanyone/app.py", "def launch(port=7860):", "def launch(port=7861, share=False):")
    out["matanyone"] = up.commit("matanyone: new default port")
    return out


# ---------------------------------------------------------------- wrapper

LOCAL_WGP_FUNCTION = '''

def headless_generate(prompt, model_type="t2v", steps=2):
    """Local patch: one call for the headless worker."""
    settings = get_default_settings(model_type)
    return generate_video(prompt, video_length=5, num_inference_steps=steps, model_type=model_type,
                          seed=settings["num_inference_steps"])
'''

LOCAL_WGP_APPENDED = '''

def headless_release(keep_cache=False):
    """Local patch: release without dropping the compile cache."""
    return release_model() and not keep_cache
'''

LOCAL_PKG = {
    "models/local_pkg/__init__.py": '"""Local models of the headless worker."""\n',
    "models/local_pkg/lora_utils.py": '''"""Local lora helpers."""


def merge_local_loras(names, weights=None):
    weights = weights or [1.0] * len(names)
    return dict(zip(names, weights))


def lora_dir_for(model_type):
    return "loras_local/" + model_type
''',
    "models/local_pkg/scheduler.py": '''"""A local sampler schedule."""


def karras_sigmas(n, sigma_min=0.002, sigma_max=80.0):
    return [sigma_max - (sigma_max - sigma_min) * i / max(n - 1, 1) for i in range(n)]
''',
    "models/local_pkg/vae_tiling.py": '''"""Tiled VAE decode for small cards."""


def tiled_decode(latents, tile=64):
    return [latents[i:i + tile] for i in range(0, len(latents), tile)]
''',
}


def local_patches(copy_dir):
    """Applies the wrapper's local patches to the vendored copy at `copy_dir`."""
    def read(rel):
        with open(os.path.join(copy_dir, rel), encoding="utf-8") as f:
            return f.read()

    def write(rel, text):
        p = os.path.join(copy_dir, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)

    def edit(rel, old, new):
        text = read(rel)
        if old not in text:
            sys.exit(f"make_vendored: local patch: `{old}` not found in {rel}")
        write(rel, text.replace(old, new, 1))

    modified = []
    # wgp.py: a local-only function in the middle, one appended at the end
    edit("wgp.py", "\n\ndef render(prompt, frames=16):", LOCAL_WGP_FUNCTION + "\n\ndef render(prompt, frames=16):")
    write("wgp.py", read("wgp.py") + LOCAL_WGP_APPENDED)
    modified.append("wgp.py")
    # any2video.py: a method added where upstream adds another
    edit("models/wan/any2video.py", "    def _decode(self, latents):\n",
         "    def _tile_latents(self, latents, tile=16):\n        return [latents[i:i + tile] for i in range(0, len(latents), tile)]\n\n    def _decode(self, latents):\n")
    modified.append("models/wan/any2video.py")
    # loras.py: an import where upstream adds one
    edit("shared/utils/loras.py", "import os\nimport json\n", "import os\nimport json\nimport shutil\n")
    modified.append("shared/utils/loras.py")
    # utils.py: the same line upstream changes (a true conflict)
    edit("shared/utils/utils.py", "    random.seed(seed)\n", "    random.seed(seed % 1000003)\n")
    modified.append("shared/utils/utils.py")
    # t2v.json: a local key next to the one upstream changes
    d = json.loads(read("defaults/t2v.json"))
    d["local_lora_dir"] = "loras_local/t2v"
    write("defaults/t2v.json", json.dumps(d, indent=4) + "\n")
    modified.append("defaults/t2v.json")
    # patches a line merge carries (upstream changes other lines, or nothing)
    for rel, old, new in [
        ("models/wan/modules/attention.py", '"""Helpers attn_*."""', '"""Helpers attn_* (local: sage attention off)."""'),
        ("models/hyvideo/hunyuan.py", "import math\n", "import math\nimport gc\n"),
        ("models/ltx_video/ltxv.py", "import math\n", "import math  # local: tiled decode\n"),
        ("shared/utils/notification.py", "import math\n", "import math\nimport logging\n"),
        ("shared/attention.py", "import math\n", "import math\n\nFORCE_SDPA = True\n"),
        ("requirements.txt", "numpy>=1.23.5,<2\n", "numpy>=1.23.5,<2\nsupabase==2.3.0\n"),
        ("README.md", "Video generation for the GPU poor.\n", "Video generation for the GPU poor.\n\nVendored by the headless worker.\n"),
    ]:
        edit(rel, old, new)
        modified.append(rel)
    # the Gradio app the worker does not need
    os.remove(os.path.join(copy_dir, "preprocessing/matanyone/app.py"))
    deleted = ["preprocessing/matanyone/app.py"]
    added = []
    for rel, text in LOCAL_PKG.items():
        write(rel, text)
        added.append(rel)
    for i, name in enumerate(["wan_local_fast", "wan_local_hq", "vace_local", "ltxv_local",
                              "hunyuan_local", "flux_local", "qwen_local", "i2v_local"]):
        write(f"defaults/{name}.json", model_json(name, i, {"local": True}))
        added.append(f"defaults/{name}.json")
    write("finetunes/t2v_custom.json", model_json("t2v_custom", 3, {"finetune_of": "t2v"}))
    added.append("finetunes/t2v_custom.json")
    return sorted(modified), sorted(added), deleted


WORKER = '''"""The headless worker: polls a queue and runs generation tasks."""
import sys

sys.path.insert(0, "Wan2GP")

import wgp
from wgp import generate_video, get_default_settings, save_video
from models.local_pkg.lora_utils import merge_local_loras
from shared.utils.utils import seed_everything

ALLOWED = ("prompt", "video_length", "num_inference_steps", "seed", "resolution", "model_type")


def original_save_video(frames, path, fps=16):
    return save_video(frames, path, fps=fps)


def patched_save_video(frames, path, fps=16):
    return original_save_video(frames, path, fps=fps)


wgp.save_video = patched_save_video
# kept from an older upstream: the hook was removed long ago
wgp.offload_legacy_hook = lambda *a, **k: None


def run(task):
    params = {k: v for k, v in task.items() if k in ALLOWED}
    seed_everything(task.get("seed", 0))
    merge_local_loras(task.get("loras", []))
    models = wgp.load_models(**{k: v for k, v in task.items() if k in ("model_type", "profile")})
    return models, generate_video(**params)


def headless(task):
    return wgp.headless_generate(task["prompt"], model_type=task.get("model_type", "t2v"))


def frames(task):
    return wgp.render(task["prompt"], frames=task.get("frames", 16))


def settings_for(model_type):
    settings = get_default_settings(model_type)
    return settings["guidance_scale"], settings.get("prompt")


def legacy_flush():
    return wgp.flush_legacy_cache()


if __name__ == "__main__":
    print(run({"prompt": "a cat", "model_type": "t2v"}))
'''

SMOKE = '''"""The baseline's smoke case: the worker's paths that must keep working."""
import sys

sys.path.insert(0, "Wan2GP")

import wgp
from models.local_pkg.lora_utils import merge_local_loras
from shared.utils.utils import seed_everything

out = wgp.headless_generate("a cat on a skateboard", steps=2)
assert out["frames"] == 5, out
assert merge_local_loras(["a"]) == {"a": 1.0}
seed_everything(7)
print("ok", out["prompt"])
'''

HANDLER_KINDS = ["t2v", "i2v", "vace", "ltxv", "hunyuan", "flux", "qwen", "travel", "upscale",
                 "inpaint", "extend", "interpolate"]


def handler(i):
    """One of the worker's task handlers: about four integration points each."""
    kind = HANDLER_KINDS[i % len(HANDLER_KINDS)]
    model = MODEL_TYPES[i % len(MODEL_TYPES)]
    gen_rel, prefix, count = GENERATED[i % len(GENERATED)]
    mod = gen_rel[:-3].replace("/", ".")
    fn = f"{prefix}_{i % count:02d}"
    return f'''"""Task handler {i}: {kind} tasks on {model}."""
import json
import sys

sys.path.insert(0, "Wan2GP")

import wgp
from {mod} import {fn}
from models.wan.any2video import WanAny2V


def handle_{kind}_{i}(task):
    settings = wgp.get_default_settings("{model}")
    steps = settings["num_inference_steps"]
    scale = {fn}(task.get("strength", 1.0), scale=2.0)
    pipe = WanAny2V(config={{"name": "{model}"}}, checkpoint_dir="ckpts")
    video = wgp.generate_video(task["prompt"], video_length=task.get("video_length", 33),
                               num_inference_steps=steps, model_type="{model}")
    return wgp.save_video(pipe.generate(task["prompt"], frame_num=5, sampling_steps=1), "out.mp4"), video, scale


def defaults_{i}():
    with open("Wan2GP/defaults/{model}.json", encoding="utf-8") as f:
        cfg = json.load(f)
    return cfg["resolution"], cfg.get("guidance_scale")


def options_{i}(task):
    return task.get("resolution"), task.get("video_length"), task["prompt"]
'''


def build_wrapper(path, upstream, record, base):
    w = Repo(path, "Headless Worker Dev", EPOCH + 90 * 24 * 3600)
    data = subprocess.run(["git", "archive", "--format=tar", base], cwd=upstream.path, check=True,
                          capture_output=True, env={**os.environ, **GIT_ENV}).stdout
    copy = os.path.join(path, "Wan2GP")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(copy)
    modified, added, deleted = local_patches(copy)
    w.write("STRUCTURE.md", "# Structure\n\n- `Wan2GP/`: vendored upstream (with local patches)\n"
            f"- Updated to upstream commit: `{record[:10]}` (2024-01-03)\n")
    w.write("worker.py", WORKER)
    w.write("smoke.py", SMOKE)
    w.write("README.md", "# headless worker\n\nRuns Wan2GP tasks from a queue.\n")
    for i in range(62):
        w.write(f"source/handlers/handler_{i:02d}.py", handler(i))
    w.write("source/__init__.py", "")
    w.write("source/handlers/__init__.py", "")
    w.write(".gitignore", "__pycache__/\n/outputs/\n")
    w.commit("feat: headless worker on a vendored Wan2GP with local patches")
    return w, modified, added, deleted


def main():
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    out = os.path.abspath(sys.argv[1])
    if os.path.exists(out) and os.listdir(out):
        sys.exit(f"make_vendored: {out} exists and is not empty")
    up, commits, drift = build_upstream(os.path.join(out, "upstream"))
    record, base, target = commits[RECORD_AT], commits[BASE_AT], up.git("rev-parse", "HEAD")
    w, modified, added, deleted = build_wrapper(os.path.join(out, "wrapper"), up, record, base)
    with open(os.path.join(out, "tether.toml"), "w", encoding="utf-8") as f:
        f.write(f'''# tether config for the vendored sample (scripts/make_vendored.py)
[project]
name = "headless-worker"
root = "wrapper"
state_dir = ".tether"
analysis_dir = "maintenance_analysis"
outputs_dir = "outputs"

[[upstream]]
name = "wan2gp"
url = "{up.path}"
path = "Wan2GP"
layout = "vendored"
track = "branch:main"
record_file = "STRUCTURE.md"
key_files = ["wgp.py", "defaults/*.json", "requirements.txt"]

[integration]
config_dirs = ["defaults", "finetunes"]

[baseline]
command = "{{python}} smoke.py"
timeout = "60s"

[[baseline.case]]
name = "smoke"
model = "t2v"
''')
    manifest = {
        "record": record, "base": base, "target": target, "drift": drift,
        "modified": modified, "added": added, "deleted": deleted,
        "clean_by_definitions": ["wgp.py", "models/wan/any2video.py", "shared/utils/loras.py", "shared/attention.py"],
        "clean_by_json_keys": ["defaults/t2v.json"],
        "true_conflicts": ["shared/utils/utils.py"],
        "kept_deletions": ["preprocessing/matanyone/app.py"],
        "local_only_function": {"file": "Wan2GP/wgp.py", "name": "headless_generate",
                                "called_from": "worker.py"},
        "dead_monkeypatch": {"file": "worker.py", "name": "offload_legacy_hook"},
        "dead_call": {"file": "worker.py", "name": "flush_legacy_cache"},
        "kwargs_call": {"file": "worker.py", "name": "load_models", "missing": "lora_dir"},
        "local_package": "models.local_pkg",
    }
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(out)


if __name__ == "__main__":
    main()
