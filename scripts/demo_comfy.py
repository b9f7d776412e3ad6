#!/usr/bin/env python3
"""Builds tether's ComfyUI-shaped demo stack: a small ComfyUI-like core that
really runs API-format workflows, two custom-node packs, and a studio app that
keeps the core as a submodule and pins the packs by SHA in a Python dict.

Usage: demo_comfy.py OUTDIR

Writes, as git repositories:
  OUTDIR/comfyui    the core: nodes.py (V1-style node classes and
                    NODE_CLASS_MAPPINGS), execution.py (loads custom_nodes/*,
                    validates, runs a workflow, writes PNG / y4m), main.py
  OUTDIR/vhs-mini   VideoHelperSuite-like pack: VHS_VideoCombine writes y4m
  OUTDIR/ltx-mini   LTX-like pack: LTXVImgToVideo turns an image into frames
  OUTDIR/studio     the app: the core as submodule `comfyui` at its base,
                    studio/nodes_pinned.py (CUSTOM_NODES_PINNED), install_nodes.py,
                    workflows/*.json, studio/workflow.py, cases/<workflow>.py
and OUTDIR/tether.toml, then prints a JSON summary on stdout.

History after each pinned base:
  comfyui   harmless; break: KSamplerMini gains the required input `denoise`
            (FLOAT, default 1.0); harmless
  vhs-mini  harmless; break: VHS_VideoCombine's `frame_rate` becomes `fps`
  ltx-mini  risk: pins numpy<1.25 against the core's numpy>=1.25.0 (reported
            across members, not run); harmless
At the tips the cases fail validation until the workflow JSON is repaired
(the key renamed, the new input added with its default).

Validation errors are printed one per line, ComfyUI style, and stay stable:
  Prompt outputs failed validation: <Class> <node id>: Required input is missing: <name>
  Prompt outputs failed validation: <Class> <node id>: unexpected input '<name>'
Plain Python 3, standard library only; fixed authors and commit times, so the
hashes are the same on every machine.
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


# ---------------------------------------------------------------- core

CORE_NODES = r'''"""Core node classes (ComfyUI V1 style): INPUT_TYPES, RETURN_TYPES, FUNCTION.

IMAGE values are dicts {"width", "height", "frames": [RGB bytes, ...]}.
"""
import hashlib


def _digest(*parts):
    return hashlib.sha256("\0".join(str(p) for p in parts).encode("utf-8")).digest()


class CheckpointLoaderMini:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"ckpt_name": (["mini_v1.safetensors", "mini_v2.safetensors"],)}}

    RETURN_TYPES = ("MODEL",)
    FUNCTION = "load_checkpoint"
    CATEGORY = "loaders"

    def load_checkpoint(self, ckpt_name):
        return ({"name": ckpt_name},)


class CLIPTextEncodeMini:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"text": ("STRING", {"multiline": True}), "model": ("MODEL",)}}

    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "encode"
    CATEGORY = "conditioning"

    def encode(self, text, model):
        return ({"text": text, "model": model["name"]},)


class EmptyLatentImageMini:
    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "width": ("INT", {"default": 64, "min": 16, "max": 512, "step": 8}),
                "height": ("INT", {"default": 64, "min": 16, "max": 512, "step": 8}),
            },
            "optional": {"batch_size": ("INT", {"default": 1, "min": 1, "max": 4})},
        }

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "generate"
    CATEGORY = "latent"

    def generate(self, width, height, batch_size=1):
        return ({"width": width, "height": height, "batch": batch_size},)


class KSamplerMini:
    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model": ("MODEL",),
                "positive": ("CONDITIONING",),
                "latent_image": ("LATENT",),
                "seed": ("INT", {"default": 0, "min": 0}),
                "steps": ("INT", {"default": 4, "min": 1, "max": 50}),
            },
        }

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "sample"
    CATEGORY = "sampling"

    def sample(self, model, positive, latent_image, seed, steps, denoise=1.0):
        out = dict(latent_image)
        out["pattern"] = _digest(model["name"], positive["text"], seed, steps, round(denoise, 3))
        return (out,)


class VAEDecodeMini:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"samples": ("LATENT",)}}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "decode"
    CATEGORY = "latent"

    def decode(self, samples):
        w, h, p = samples["width"], samples["height"], samples.get("pattern", b"\x10" * 32)
        sx, sy, r0, g0, b0 = 1 + p[0] % 4, 1 + p[1] % 4, p[2], p[3], p[4]
        frames = []
        for i in range(samples.get("batch", 1)):
            px = bytearray()
            for y in range(h):
                for x in range(w):
                    px += bytes(((r0 + x * sx + i * 9) & 255, (g0 + y * sy) & 255, (b0 + x + y) & 255))
            frames.append(bytes(px))
        return ({"width": w, "height": h, "frames": frames},)


class SaveImageMini:
    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": ("IMAGE",),
                "filename_prefix": ("STRING", {"default": "ComfyUI"}),
            },
        }

    RETURN_TYPES = ()
    FUNCTION = "save_images"
    OUTPUT_NODE = True
    CATEGORY = "image"

    def save_images(self, images, filename_prefix, output_dir="output"):
        import media

        paths = []
        for i, frame in enumerate(images["frames"]):
            paths.append(media.write_png(output_dir, f"{filename_prefix}_{i:05}.png",
                                         images["width"], images["height"], frame))
        return {"ui": {"images": paths}}


NODE_CLASS_MAPPINGS = {
    "CheckpointLoaderMini": CheckpointLoaderMini,
    "CLIPTextEncodeMini": CLIPTextEncodeMini,
    "EmptyLatentImageMini": EmptyLatentImageMini,
    "KSamplerMini": KSamplerMini,
    "VAEDecodeMini": VAEDecodeMini,
    "SaveImageMini": SaveImageMini,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    "CheckpointLoaderMini": "Load Checkpoint (mini)",
    "CLIPTextEncodeMini": "CLIP Text Encode (mini)",
    "EmptyLatentImageMini": "Empty Latent Image (mini)",
    "KSamplerMini": "KSampler (mini)",
    "VAEDecodeMini": "VAE Decode (mini)",
    "SaveImageMini": "Save Image (mini)",
}
NODE_CLASS_DISPLAY_NAME_MAPPINGS = NODE_DISPLAY_NAME_MAPPINGS
'''

CORE_MEDIA = r'''"""Writing outputs: PNG (zlib, struct) and YUV4MPEG2 video."""
import os
import struct
import zlib


def _chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def write_png(folder, name, width, height, rgb):
    os.makedirs(folder, exist_ok=True)
    rows = b"".join(b"\x00" + rgb[y * width * 3:(y + 1) * width * 3] for y in range(height))
    data = (b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(rows, 9))
            + _chunk(b"IEND", b""))
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def _yuv420(width, height, rgb):
    ys, us, vs = bytearray(), bytearray(), bytearray()
    for i in range(0, len(rgb), 3):
        r, g, b = rgb[i], rgb[i + 1], rgb[i + 2]
        ys.append(min(255, (77 * r + 150 * g + 29 * b) >> 8))
    for y in range(0, height, 2):
        for x in range(0, width, 2):
            i = (y * width + x) * 3
            r, g, b = rgb[i], rgb[i + 1], rgb[i + 2]
            us.append(max(0, min(255, ((-43 * r - 85 * g + 128 * b) >> 8) + 128)))
            vs.append(max(0, min(255, ((128 * r - 107 * g - 21 * b) >> 8) + 128)))
    return bytes(ys + us + vs)


def write_y4m(folder, name, width, height, frames, fps):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{int(round(fps))}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for rgb in frames:
            f.write(b"FRAME\n")
            f.write(_yuv420(width, height, rgb))
    return path
'''

CORE_EXECUTION = r'''"""Runs an API-format workflow: {"<id>": {"class_type": ..., "inputs": {...}}}.

Node packs are loaded from custom_nodes/*/__init__.py; their
NODE_CLASS_MAPPINGS are merged into the core's. The prompt is validated
(every required input set, no unknown input, every class known), then run
in dependency order, links ["<id>", <output index>] resolved to the
producing node's outputs.
"""
import importlib.util
import json
import os
import sys

import nodes

ROOT = os.path.dirname(os.path.abspath(__file__))


class PromptValidationError(Exception):
    def __init__(self, errors):
        super().__init__("\n".join(errors))
        self.errors = errors


def load_custom_nodes(folder=None):
    """Merges every pack's NODE_CLASS_MAPPINGS into nodes.NODE_CLASS_MAPPINGS."""
    folder = folder or os.path.join(ROOT, "custom_nodes")
    if not os.path.isdir(folder):
        return []
    loaded = []
    for name in sorted(os.listdir(folder)):
        init = os.path.join(folder, name, "__init__.py")
        if not os.path.isfile(init):
            continue
        module_name = name.replace("-", "_")
        spec = importlib.util.spec_from_file_location(
            module_name, init, submodule_search_locations=[os.path.dirname(init)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        nodes.NODE_CLASS_MAPPINGS.update(getattr(module, "NODE_CLASS_MAPPINGS", {}))
        loaded.append(name)
    return loaded


def _is_link(value):
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)


def _order(prompt):
    return sorted(prompt, key=lambda k: (len(k), k))


def validate(prompt):
    errors = []
    for node_id in _order(prompt):
        node = prompt[node_id]
        class_type = node.get("class_type")
        cls = nodes.NODE_CLASS_MAPPINGS.get(class_type)
        if cls is None:
            errors.append(f"Prompt outputs failed validation: {class_type} {node_id}: "
                          f"node class not found")
            continue
        spec = cls.INPUT_TYPES()
        required = spec.get("required", {})
        optional = spec.get("optional", {})
        inputs = node.get("inputs", {})
        for name in required:
            if name not in inputs:
                errors.append(f"Prompt outputs failed validation: {class_type} {node_id}: "
                              f"Required input is missing: {name}")
        for name in inputs:
            if name not in required and name not in optional:
                errors.append(f"Prompt outputs failed validation: {class_type} {node_id}: "
                              f"unexpected input '{name}'")
        for name, value in inputs.items():
            if _is_link(value) and value[0] not in prompt:
                errors.append(f"Prompt outputs failed validation: {class_type} {node_id}: "
                              f"input '{name}' links to missing node {value[0]}")
    if errors:
        raise PromptValidationError(errors)


def execute(prompt, output_dir):
    validate(prompt)
    outputs = {}
    visiting = set()

    def run(node_id):
        if node_id in outputs:
            return outputs[node_id]
        if node_id in visiting:
            raise RuntimeError(f"workflow has a cycle at node {node_id}")
        visiting.add(node_id)
        node = prompt[node_id]
        cls = nodes.NODE_CLASS_MAPPINGS[node["class_type"]]
        kwargs = {}
        for name, value in node["inputs"].items():
            if _is_link(value):
                source = run(value[0])
                if value[1] >= len(source):
                    raise RuntimeError(f"node {node_id} reads output {value[1]} of node "
                                       f"{value[0]}, which has {len(source)}")
                kwargs[name] = source[value[1]]
            else:
                kwargs[name] = value
        instance = cls()
        if getattr(cls, "OUTPUT_NODE", False):
            kwargs["output_dir"] = output_dir
        result = getattr(instance, cls.FUNCTION)(**kwargs)
        outputs[node_id] = result if isinstance(result, tuple) else ()
        visiting.discard(node_id)
        return outputs[node_id]

    for node_id in _order(prompt):
        run(node_id)
    return outputs


def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(description="Runs an API-format workflow.")
    ap.add_argument("workflow")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    with open(args.workflow, encoding="utf-8") as f:
        prompt = json.load(f)
    load_custom_nodes()
    try:
        execute(prompt, args.out)
    except PromptValidationError as e:
        for line in e.errors:
            print(line, file=sys.stderr)
        return 1
    print(f"workflow {os.path.basename(args.workflow)}: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

CORE_MAIN = r'''"""Entry point: python main.py WORKFLOW.json --out DIR"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import execution  # noqa: E402

if __name__ == "__main__":
    sys.exit(execution.main())
'''

CORE_REQUIREMENTS = """# ComfyUI-mini core: the demo runs on the standard library.
torch>=2.4
numpy>=1.25.0
pillow
"""

CORE_README = "# ComfyUI (mini)\n\nA tiny ComfyUI-shaped core for tether's demo stack.\n"


def build_core(path):
    r = Repo(path, "Comfy Core", "core@example.com", EPOCH)
    r.write("nodes.py", CORE_NODES)
    r.write("media.py", CORE_MEDIA)
    r.write("execution.py", CORE_EXECUTION)
    r.write("main.py", CORE_MAIN)
    r.write("requirements.txt", CORE_REQUIREMENTS)
    r.write("custom_nodes/example_node.py.example", "# Put node packs in custom_nodes/<name>/.\n")
    r.write(".gitignore", "__pycache__/\n*.pyc\n/custom_nodes/*/\noutput/\n")
    r.write("README.md", CORE_README)
    commits = [(r.commit("feat: ComfyUI-mini core with V1 nodes and an executor"), "base")]

    r.write("README.md", CORE_README + "\n    python main.py workflow_api.json --out output/\n")
    commits.append((r.commit("docs: how to run a workflow"), "harmless"))

    r.edit("nodes.py", '''                "steps": ("INT", {"default": 4, "min": 1, "max": 50}),
            },''', '''                "steps": ("INT", {"default": 4, "min": 1, "max": 50}),
                "denoise": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.01}),
            },''')
    r.edit("nodes.py", "def sample(self, model, positive, latent_image, seed, steps, denoise=1.0):",
           "def sample(self, model, positive, latent_image, seed, steps, denoise):")
    commits.append((r.commit("feat(sampling)!: KSamplerMini takes a required denoise input"),
                    "break: required input KSamplerMini.denoise"))

    r.write("CHANGELOG.md", "# Changelog\n\n- KSamplerMini: `denoise` (required, default 1.0).\n")
    commits.append((r.commit("docs: changelog"), "harmless"))
    return r, commits


# ---------------------------------------------------------------- packs

VHS_NODES = r'''"""VideoHelperSuite-like nodes: combine IMAGE frames into a video."""


class VideoCombine:
    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": ("IMAGE",),
                "frame_rate": ("FLOAT", {"default": 8.0, "min": 1.0, "step": 1.0}),
                "filename_prefix": ("STRING", {"default": "AnimateDiff"}),
            },
        }

    RETURN_TYPES = ("VHS_FILENAMES",)
    FUNCTION = "combine_video"
    OUTPUT_NODE = True
    CATEGORY = "Video Helper Suite"

    def combine_video(self, images, frame_rate, filename_prefix, output_dir="output"):
        from .media import write_y4m

        path = write_y4m(output_dir, f"{filename_prefix}_00001.y4m", images["width"],
                         images["height"], images["frames"], frame_rate)
        return ([path],)
'''

PACK_MEDIA = CORE_MEDIA.replace('"""Writing outputs', '"""(Copied from the core) writing outputs')

VHS_INIT = '''from .videohelpersuite.nodes import VideoCombine

NODE_CLASS_MAPPINGS = {
    "VHS_VideoCombine": VideoCombine,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "VHS_VideoCombine": "Video Combine (mini)",
}
'''

LTX_NODES = r'''"""LTX-Video-like nodes: an image becomes a short moving clip."""


class LTXVImgToVideo:
    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE",),
                "length": ("INT", {"default": 9, "min": 1, "max": 257, "step": 8}),
            },
            "optional": {"motion": ("INT", {"default": 2, "min": 0, "max": 16})},
        }

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "generate"
    CATEGORY = "lightricks/LTXV"

    def generate(self, image, length, motion=2):
        w, h, first = image["width"], image["height"], image["frames"][0]
        row = w * 3
        frames = []
        for t in range(length):
            shift = (t * motion) % w * 3
            frames.append(b"".join(
                first[y * row + shift:(y + 1) * row] + first[y * row:y * row + shift]
                for y in range(h)))
        return ({"width": w, "height": h, "frames": frames},)


NODE_CLASS_MAPPINGS = {"LTXVImgToVideo": LTXVImgToVideo}
NODE_DISPLAY_NAME_MAPPINGS = {"LTXVImgToVideo": "LTXV Image To Video (mini)"}
'''

LTX_INIT = '''from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
'''


def build_vhs(path):
    r = Repo(path, "VHS Mini", "vhs@example.com", EPOCH + 3600)
    r.write("__init__.py", VHS_INIT)
    r.write("videohelpersuite/__init__.py", "")
    r.write("videohelpersuite/nodes.py", VHS_NODES)
    r.write("videohelpersuite/media.py", PACK_MEDIA)
    r.write("requirements.txt", "opencv-python\nimageio-ffmpeg\n")
    r.write(".gitignore", "__pycache__/\n")
    r.write("README.md", "# vhs-mini\n\nVideo Helper Suite (mini).\n")
    commits = [(r.commit("feat: VHS_VideoCombine writes y4m"), "base")]

    r.write("README.md", "# vhs-mini\n\nVideo Helper Suite (mini): `VHS_VideoCombine`.\n")
    commits.append((r.commit("docs: list the nodes"), "harmless"))

    r.edit("videohelpersuite/nodes.py", '"frame_rate": ("FLOAT"', '"fps": ("FLOAT"')
    r.edit("videohelpersuite/nodes.py", "def combine_video(self, images, frame_rate, filename_prefix,",
           "def combine_video(self, images, fps, filename_prefix,")
    r.edit("videohelpersuite/nodes.py", "images[\"frames\"], frame_rate)", "images[\"frames\"], fps)")
    commits.append((r.commit("feat!: VHS_VideoCombine's frame_rate input is now fps"),
                    "break: input renamed VHS_VideoCombine.frame_rate -> fps"))
    return r, commits


def build_ltx(path):
    r = Repo(path, "LTX Mini", "ltx@example.com", EPOCH + 2 * 3600)
    r.write("__init__.py", LTX_INIT)
    r.write("nodes.py", LTX_NODES)
    r.write("pyproject.toml", '[project]\nname = "ltx-mini"\nversion = "0.1.0"\n'
            'dependencies = ["torch>=2.4", "einops"]\n')
    r.write(".gitignore", "__pycache__/\n")
    r.write("README.md", "# ltx-mini\n")
    commits = [(r.commit("feat: LTXVImgToVideo"), "base")]
    r.write("README.md", "# ltx-mini\n\nLTX-Video nodes (mini).\n")
    r.write("pyproject.toml", '[project]\nname = "ltx-mini"\nversion = "0.1.1"\n'
            'dependencies = ["torch>=2.4", "einops", "numpy<1.25"]\n')
    commits.append((r.commit("docs: describe the pack; pin numpy below 1.25"),
                    "risk: numpy<1.25 cannot hold with the core's numpy>=1.25.0"))
    r.edit("nodes.py", '"""LTX-Video-like nodes', '"""LTX-Video-like nodes (tidied)')
    commits.append((r.commit("style: module docstring"), "harmless"))
    return r, commits


# ---------------------------------------------------------------- app

PINNED = '''"""Custom node packs the studio runs, pinned to exact commits.

install_nodes.py clones each into comfyui/custom_nodes/<name> at its SHA.
"""

CUSTOM_NODES_PINNED = {
%s}
'''

INSTALL = r'''"""Clones every pinned node pack into comfyui/custom_nodes/<name> at its SHA.

Usage: python install_nodes.py
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, ROOT)

from studio.nodes_pinned import CUSTOM_NODES_PINNED  # noqa: E402


def git(*args, cwd=None):
    subprocess.run(["git", "-c", "advice.detachedHead=false", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL)


def main():
    base = os.path.join(ROOT, "comfyui", "custom_nodes")
    os.makedirs(base, exist_ok=True)
    for name, (url, sha) in CUSTOM_NODES_PINNED.items():
        dest = os.path.join(base, name)
        if not os.path.isdir(os.path.join(dest, ".git")):
            git("clone", "-q", url, dest)
        else:
            git("fetch", "-q", url, cwd=dest)
        git("checkout", "-q", sha, cwd=dest)
        print(f"{name}: {sha[:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

WORKFLOW_PY = r'''"""Loading the studio's API-format workflows and patching their inputs."""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return json.load(f)


def t2i(prompt, size=64):
    wf = load("workflows/t2i.json")
    wf["2"]["inputs"]["text"] = prompt
    wf["4"]["inputs"]["width"] = size
    wf["4"]["inputs"]["height"] = size
    return wf


def i2v(prompt, size=64, length=9):
    wf = load("workflows/i2v.json")
    wf["2"]["inputs"]["text"] = prompt
    wf["4"]["inputs"]["width"] = size
    wf["7"]["inputs"]["length"] = length
    return wf
'''

RUNNER_PY = r'''"""Runs a workflow through the ComfyUI core (comfyui/main.py) in a child process."""
import json
import os
import subprocess
import sys

from studio.workflow import ROOT


def run(wf, output_dir):
    """Writes the workflow next to the outputs and runs it; returns the exit code."""
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, "workflow_api.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(wf, f, indent=2)
    main = os.path.join(ROOT, "comfyui", "main.py")
    return subprocess.run([sys.executable, main, path, "--out", output_dir]).returncode
'''

CASE = r'''"""Baseline case: runs workflows/{name}.json; outputs land in --output-dir."""
import argparse
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from studio import runner, workflow  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--output-dir", required=True)
    ap.add_argument("--settings")
    args = ap.parse_args()
    wf = workflow.{name}("a lighthouse at dusk")
    return runner.run(wf, args.output_dir)


if __name__ == "__main__":
    sys.exit(main())
'''

T2I = {
    "1": {"class_type": "CheckpointLoaderMini", "inputs": {"ckpt_name": "mini_v1.safetensors"}},
    "2": {"class_type": "CLIPTextEncodeMini", "inputs": {"text": "a lighthouse", "model": ["1", 0]}},
    "4": {"class_type": "EmptyLatentImageMini", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
    "5": {"class_type": "KSamplerMini",
          "inputs": {"model": ["1", 0], "positive": ["2", 0], "latent_image": ["4", 0],
                     "seed": 42, "steps": 4}},
    "6": {"class_type": "VAEDecodeMini", "inputs": {"samples": ["5", 0]}},
    "9": {"class_type": "SaveImageMini", "inputs": {"images": ["6", 0], "filename_prefix": "t2i"}},
}

I2V = {
    "1": {"class_type": "CheckpointLoaderMini", "inputs": {"ckpt_name": "mini_v2.safetensors"}},
    "2": {"class_type": "CLIPTextEncodeMini", "inputs": {"text": "waves", "model": ["1", 0]}},
    "4": {"class_type": "EmptyLatentImageMini", "inputs": {"width": 64, "height": 64}},
    "5": {"class_type": "KSamplerMini",
          "inputs": {"model": ["1", 0], "positive": ["2", 0], "latent_image": ["4", 0],
                     "seed": 7, "steps": 6}},
    "6": {"class_type": "VAEDecodeMini", "inputs": {"samples": ["5", 0]}},
    "7": {"class_type": "LTXVImgToVideo", "inputs": {"image": ["6", 0], "length": 9, "motion": 3}},
    "8": {"class_type": "VHS_VideoCombine",
          "inputs": {"images": ["7", 0], "frame_rate": 8, "filename_prefix": "i2v"}},
}

EDITOR = {
    "last_node_id": 2, "last_link_id": 1,
    "nodes": [
        {"id": 1, "type": "CheckpointLoaderMini", "pos": [0, 0], "size": [300, 100],
         "outputs": [{"name": "MODEL", "type": "MODEL", "links": [1]}],
         "widgets_values": ["mini_v1.safetensors"]},
        {"id": 2, "type": "CLIPTextEncodeMini", "pos": [350, 0], "size": [300, 150],
         "inputs": [{"name": "model", "type": "MODEL", "link": 1}], "widgets_values": ["a lighthouse"]},
    ],
    "links": [[1, 1, 0, 2, 0, "MODEL"]],
    "groups": [], "config": {}, "extra": {}, "version": 0.4,
}

CASES = [("t2i", "workflows/t2i.json", "*.png"), ("i2v", "workflows/i2v.json", "*.y4m")]


def dumps(obj):
    return json.dumps(obj, indent=2) + "\n"


def pinned_text(packs):
    entries = "".join(f'    "{name}": ({json.dumps(url)}, "{sha}"),\n' for name, url, sha in packs)
    return PINNED % entries


def build_app(path, core, core_base, packs):
    r = Repo(path, "Studio", "studio@example.com", EPOCH + 4 * 3600)
    r.write("studio/__init__.py", "")
    r.write("studio/nodes_pinned.py", pinned_text(packs))
    r.write("studio/workflow.py", WORKFLOW_PY)
    r.write("studio/runner.py", RUNNER_PY)
    r.write("install_nodes.py", INSTALL)
    r.write("workflows/t2i.json", dumps(T2I))
    r.write("workflows/i2v.json", dumps(I2V))
    r.write("workflows/t2i_editor.json", dumps(EDITOR))
    for name, _, _ in CASES:
        r.write(f"cases/{name}.py", CASE.replace("{name}", name))
    r.write("requirements.txt", "gradio==4.44.1\ntorch==2.5.1\n")
    r.write(".gitignore", "__pycache__/\n*.pyc\noutputs/\n")
    r.write("README.md", "# Studio (demo)\n\nComfyUI in library mode with pinned node packs.\n\n"
            "    python install_nodes.py\n    python cases/t2i.py --output-dir out/\n")
    r.git("submodule", "add", "-q", core.path, "comfyui")
    r.git("checkout", "-q", core_base, cwd=os.path.join(path, "comfyui"))
    r.commit("feat: studio app on ComfyUI with pinned node packs")
    return r


def toml_str(s):
    return json.dumps(s)


def tether_toml(core, vhs, ltx):
    cases = "".join(f'''
[[baseline.case]]
name = "{name}"
model = "{name}"
command = "{{python}} cases/{name}.py --output-dir {{output_dir}}"
outputs = ["{glob}"]
params = {{ workflow = "{wf}" }}
''' for name, wf, glob in CASES)
    pinned = "".join(f'''
[[upstream]]
name = "{name}"
url = {toml_str(repo.path)}
path = "comfyui/custom_nodes/{name}"
layout = "pinned"
record_file = "studio/nodes_pinned.py"
install = "python3 install_nodes.py"
track = "branch:main"
''' for name, repo in (("vhs-mini", vhs), ("ltx-mini", ltx)))
    return f'''# tether config for the ComfyUI demo stack (see tether.example.toml for every key)
[project]
name = "studio"
root = "studio"
python = {toml_str(sys.executable)}
state_dir = ".tether"
analysis_dir = "maintenance_analysis"
outputs_dir = "outputs"

[[upstream]]
name = "comfyui"
url = {toml_str(core.path)}
path = "comfyui"
layout = "submodule"
track = "branch:main"
key_files = ["nodes.py", "execution.py", "requirements.txt"]
{pinned}
[[group]]
name = "stack"
members = ["comfyui", "vhs-mini", "ltx-mini"]

[integration]
workflows = ["workflows/*.json"]

[baseline]
timeout = "120s"
{cases}
[update]
max_attempts = 6
strategies = ["workflow-inputs", "missing-inputs", "python-deps", "api-drift"]
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    args = ap.parse_args()
    out = os.path.abspath(args.outdir)
    if os.path.exists(out) and (not os.path.isdir(out) or os.listdir(out)):
        sys.exit(f"demo: {out} exists and is not an empty folder")
    core, core_commits = build_core(os.path.join(out, "comfyui"))
    vhs, vhs_commits = build_vhs(os.path.join(out, "vhs-mini"))
    ltx, ltx_commits = build_ltx(os.path.join(out, "ltx-mini"))
    members = [("comfyui", core, core_commits), ("vhs-mini", vhs, vhs_commits),
               ("ltx-mini", ltx, ltx_commits)]
    packs = [(name, repo.path, commits[0][0]) for name, repo, commits in members[1:]]
    app = build_app(os.path.join(out, "studio"), core, core_commits[0][0], packs)
    config = os.path.join(out, "tether.toml")
    with open(config, "w", encoding="utf-8", newline="\n") as f:
        f.write(tether_toml(core, vhs, ltx))
    summary = {
        "root": out,
        "config": config,
        "app": app.path,
        "members": [{
            "name": name,
            "path": repo.path,
            "base": commits[0][0],
            "commits": [{"hash": h, "kind": kind,
                         "subject": repo.git("log", "-1", "--format=%s", h)}
                        for h, kind in commits],
        } for name, repo, commits in members],
        "workflows": [wf for _, wf, _ in CASES],
        "cases": [name for name, _, _ in CASES],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
