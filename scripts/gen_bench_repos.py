#!/usr/bin/env python3
"""Generate a Wan2GP-sized benchmark fixture for tether.

Usage: scripts/gen_bench_repos.py OUTDIR [--seed N] [--jump N]

Builds, deterministically (fixed seed, author and dates):
  OUTDIR/upstream      a Wan2GP-shaped repo (~2,500 files, ~1,700 commits on
                       `main`, a ~10,000-line wgp.py, 150 defaults/*.json),
                       whose last 50 commits contain real API drift;
  OUTDIR/wrapper       a wrapper repo with ~300 integration points and the
                       upstream cloned into wrapper/Wan2GP at tip~50;
  OUTDIR/tether.toml   the config tying them together.

Plain Python 3 standard library; history is written with `git fast-import`.
"""

import argparse
import ast
import json
import os
import random
import shutil
import subprocess
import sys
import time

SEED = 20240101
EPOCH = 1_704_067_200  # 2024-01-01T00:00:00Z
TOTAL_COMMITS = 1700
DRIFT_COMMITS = 50  # the wrapper sits at tip~DRIFT_COMMITS
AUTHOR = "Bench Upstream <upstream@example.com>"
WRAPPER_AUTHOR = ("Bench Wrapper", "wrapper@example.com")

GIT_ENV = dict(
    os.environ,
    GIT_CONFIG_GLOBAL="/dev/null",
    GIT_CONFIG_NOSYSTEM="1",
    GIT_TERMINAL_PROMPT="0",
    LC_ALL="C",
)
for _k in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
    GIT_ENV.pop(_k, None)


def git(cwd, *args, env=None):
    cmd = ["git", "-c", "init.defaultBranch=main", "-c", "core.autocrlf=false", *args]
    res = subprocess.run(
        cmd, cwd=cwd, env=env or GIT_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    if res.returncode != 0:
        sys.exit(f"git {' '.join(args)} failed in {cwd}: {res.stderr.decode(errors='replace')}")
    return res.stdout.decode().strip()


# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------

VERBS = [
    "get", "set", "load", "save", "build", "compute", "resolve", "update", "apply",
    "parse", "format", "prepare", "check", "init", "refresh", "create", "select",
    "generate", "convert", "validate", "extract", "merge", "filter", "normalize",
    "export", "handle", "process", "release", "reset", "fit", "encode", "decode",
    "preview", "queue", "register", "estimate", "compile", "split", "restore", "sync",
]
NOUNS = [
    "model", "lora", "video", "image", "prompt", "mask", "frame", "settings",
    "config", "queue", "task", "preset", "audio", "resolution", "attention",
    "profile", "cache", "state", "gallery", "output", "thumbnail", "embedding",
    "guide", "control", "transformer", "vae", "text_encoder", "scheduler", "sampler",
    "latent", "seed", "batch", "tile", "pose", "depth", "outpaint", "inpaint",
    "keyframe", "slider", "tab", "plugin", "download", "checkpoint", "quantization",
]
QUALS = ["", "", "", "_info", "_list", "_path", "_choices", "_ui", "_dict", "_files",
         "_params", "_type", "_status", "_label", "_values", "_html", "_async"]
PARAMS = [
    "model_type", "prompt", "negative_prompt", "video_length", "seed", "steps",
    "resolution", "width", "height", "fps", "state", "task", "image", "video",
    "mask", "settings", "lora_dir", "filename", "path", "quantization", "dtype",
    "profile", "attention_mode", "verbose", "refresh_id", "batch_size", "frames",
    "guide", "audio", "strength", "scale", "device", "output_dir", "config",
    "preset", "callback", "progress", "index", "choices", "label", "value",
]
CONSTS = ['None', 'True', 'False', '0', '1', '-1', '16', '81', '0.5', '5.0', '""',
          '"auto"', '"int8"', '"bf16"', '"832x480"', '[]', '{}', '"mp4"']
CFG_KEYS = ["attention_mode", "transformer_quantization", "text_encoder_quantization",
            "save_path", "image_save_path", "compile", "profile", "vae_config",
            "boost", "metadata_type", "preload_model_policy", "transformer_dtype_policy",
            "mixed_precision", "clear_file_list", "UI_theme", "queue_color_scheme",
            "last_model_type", "last_resolution_choice", "video_output_codec", "fit_canvas"]

FAMILIES = {
    # family: (subpackages, python files per subpackage)
    "wan": (["modules", "distributed", "utils", "configs", "multitalk", "fantasytalking",
             "lynx", "camera_extrinsics", "animate", "scail"], 14),
    "hyvideo": (["modules", "diffusion", "text_encoder", "vae", "utils", "data_kits",
                 "avatar", "prompt_rewrite"], 13),
    "ltx_video": (["models", "pipelines", "schedulers", "utils", "autoencoders",
                   "transformers", "conditioning"], 14),
    "flux": (["modules", "pipelines", "utils", "kontext", "redux"], 12),
    "qwen": (["transformer", "pipeline", "vae", "text_encoder", "edit"], 12),
    "chatterbox": (["models", "tokenizers", "s3gen", "t3", "voice_encoder"], 11),
    "hunyuan_foley": (["models", "utils", "dac", "synchformer"], 11),
    "longcat": (["modules", "pipelines", "utils"], 12),
    "kandinsky": (["models", "pipelines", "utils", "magcache"], 11),
    "z_image": (["transformer", "pipeline", "utils"], 11),
    "ovi": (["modules", "fusion", "audio", "utils"], 12),
    "chrono_edit": (["pipeline", "modules", "utils"], 10),
    "mmaudio": (["model", "ext", "data", "utils", "runner"], 11),
    "tts": (["index_tts", "kugel", "utils"], 10),
}
PREPROC = ["dwpose", "depth_anything_v2", "matanyone", "midas", "canny", "scribble",
           "flow", "gray", "sam2", "face_preprocessor", "arc", "speakers_separator",
           "extract_vocals", "raft", "pose_keypoints", "lineart", "mask_utils", "vace_utils",
           "outpainting", "frames_interpolation", "upsampling", "birefnet"]

MODEL_BASES = [
    "t2v", "i2v", "t2v_1.3B", "i2v_720p", "vace_14B", "vace_1.3B", "flf2v_720p",
    "fun_inp", "fun_inp_1.3B", "recam_1.3B", "sky_df_14B", "sky_df_1.3B", "phantom_14B",
    "phantom_1.3B", "fantasy", "multitalk", "infinitetalk", "moviigen", "standin",
    "lynx", "animate", "alpha", "ti2v_2_2", "t2v_2_2", "i2v_2_2", "vace_14B_2_2",
    "hunyuan", "hunyuan_i2v", "hunyuan_custom", "hunyuan_avatar", "hunyuan_1_5_t2v",
    "ltxv_13B", "ltxv_distilled", "ltx2_19B", "flux", "flux_dev_kontext", "flux_schnell",
    "flux_krea", "flux_srpo", "qwen_image_20B", "qwen_image_edit_20B", "chatterbox",
    "hunyuan_foley", "longcat_video", "kandinsky5", "z_image", "ovi", "chrono_edit",
    "mmaudio", "index_tts2",
]
MODEL_VARIANTS = ["lightning", "fusionix", "causvid", "lightx2v", "distilled", "quanto",
                  "nvfp4", "cocktail", "vid2vid", "lora_accel", "hd", "turbo"]


class Names:
    """Unique identifier generator."""

    def __init__(self, rng, taken=()):
        self.rng = rng
        self.taken = set(taken)

    def func(self):
        while True:
            n = f"{self.rng.choice(VERBS)}_{self.rng.choice(NOUNS)}{self.rng.choice(QUALS)}"
            if n not in self.taken:
                self.taken.add(n)
                return n

    def cls(self):
        while True:
            a, b = self.rng.choice(NOUNS), self.rng.choice(["Manager", "Block", "Helper",
                                                             "Loader", "Pipeline", "State",
                                                             "Encoder", "Runner", "Cache"])
            n = "".join(p.capitalize() for p in a.split("_")) + b
            if n not in self.taken:
                self.taken.add(n)
                return n


# --------------------------------------------------------------------------
# Python source model: functions and classes that can be rendered and mutated
# --------------------------------------------------------------------------

class Param:
    __slots__ = ("kind", "name", "default")

    def __init__(self, kind, name, default=None):
        self.kind = kind  # "pos", "var", "kwonly", "varkw"
        self.name = name
        self.default = default

    def render(self):
        if self.kind == "var":
            return f"*{self.name}"
        if self.kind == "varkw":
            return f"**{self.name}"
        return self.name if self.default is None else f"{self.name}={self.default}"


class Func:
    def __init__(self, name, params, body, decorators=(), is_method=False):
        self.name = name
        self.params = params
        self.body = body  # lines, already indented relative to the def (4 spaces)
        self.decorators = list(decorators)
        self.is_method = is_method

    def signature(self):
        parts = ["self"] if self.is_method else []
        star_seen = False
        for p in self.params:
            if p.kind == "var":
                star_seen = True
            if p.kind == "kwonly" and not star_seen:
                parts.append("*")
                star_seen = True
            parts.append(p.render())
        return f"def {self.name}({', '.join(parts)}):"

    def lines(self, indent=""):
        out = [f"{indent}{d}" for d in self.decorators]
        out.append(indent + self.signature())
        out.extend(indent + b if b else "" for b in self.body)
        return out


class Cls:
    def __init__(self, name, bases, attrs, methods):
        self.name = name
        self.bases = bases
        self.attrs = attrs
        self.methods = methods

    def lines(self, indent=""):
        head = f"class {self.name}({', '.join(self.bases)}):" if self.bases else f"class {self.name}:"
        out = [indent + head, f'{indent}    """{self.name} used by the generation pipeline."""']
        out.extend(f"{indent}    {a}" for a in self.attrs)
        for m in self.methods:
            out.append("")
            out.extend(m.lines(indent + "    "))
        return out


class Raw:
    """A verbatim top-level block (module variable, import, main guard)."""

    def __init__(self, text_lines, name=None):
        self.text_lines = text_lines
        self.name = name

    def lines(self, indent=""):
        return list(self.text_lines)


def gen_params(rng):
    names = rng.sample(PARAMS, rng.randint(0, 6))
    params = []
    n_req = rng.randint(0, len(names))
    for i, n in enumerate(names):
        if i < n_req:
            params.append(Param("pos", n))
        else:
            params.append(Param("pos", n, rng.choice(CONSTS)))
    r = rng.random()
    if r < 0.12:
        params.append(Param("var", "args"))
    if r < 0.25 or r > 0.85:
        extra = [n for n in rng.sample(PARAMS, 3) if n not in names]
        for n in extra[: rng.randint(0, 2)]:
            params.append(Param("kwonly", n, rng.choice(CONSTS)))
            names.append(n)
    if rng.random() < 0.18:
        params.append(Param("varkw", "kwargs"))
    return params


def stmt(rng, vars_, callees):
    v = rng.choice(vars_) if vars_ else rng.choice(CONSTS)
    kind = rng.random()
    if kind < 0.25:
        return f"{rng.choice(['result', 'value', 'info', 'out'])} = {v}"
    if kind < 0.45 and callees:
        return f"{rng.choice(['result', 'tmp', 'data'])} = {rng.choice(callees)}({v})"
    if kind < 0.6:
        return f'{rng.choice(["opt", "flag", "mode"])} = server_config.get("{rng.choice(CFG_KEYS)}", {rng.choice(CONSTS)})'
    if kind < 0.7:
        return f'path = os.path.join(str({v}), "{rng.choice(NOUNS)}")'
    if kind < 0.8:
        return f'logger.debug("{rng.choice(VERBS)} %s", {v})'
    if kind < 0.9:
        return f"items = [x for x in range({rng.randint(1, 64)}) if x != {rng.randint(0, 9)}]"
    return f"count = len(str({v})) + {rng.randint(0, 100)}"


def gen_body(rng, params, n, callees, doc=True):
    vars_ = [p.name for p in params] or ["value"]
    body = []
    if doc and rng.random() < 0.6:
        body.append(f'    """{rng.choice(VERBS).capitalize()} the {rng.choice(NOUNS).replace("_", " ")}."""')
    if not params:
        body.append("    value = None")
    while len(body) < n - 1:
        r = rng.random()
        if r < 0.15:
            p = rng.choice(vars_)
            body.append(f"    if {p} is None:")
            body.append(f"        {p} = {rng.choice(CONSTS)}")
        elif r < 0.25:
            body.append(f"    for idx, item in enumerate({rng.choice(vars_)} or []):")
            body.append(f"        {stmt(rng, ['item', 'idx'], callees)}")
        elif r < 0.3:
            body.append("    try:")
            body.append(f"        {stmt(rng, vars_, callees)}")
            body.append("    except Exception as exc:")
            body.append('        logger.warning("failed: %s", exc)')
        else:
            body.append("    " + stmt(rng, vars_, callees))
    body.append(f"    return {rng.choice(vars_ + ['result', 'None'])}" if any(
        l.strip().startswith("result =") for l in body) else f"    return {rng.choice(vars_)}")
    return body


def gen_func(rng, name, callees, n_lines=None, is_method=False):
    params = gen_params(rng)
    n = n_lines or rng.randint(6, 40)
    return Func(name, params, gen_body(rng, params, n, callees), is_method=is_method)


def gen_class(rng, names, callees, n_methods=None):
    name = names.cls()
    methods = [Func("__init__", [Param("pos", "config", "None")],
                    ["    self.config = config or {}", f"    self.{rng.choice(NOUNS)} = None"],
                    is_method=True)]
    for _ in range(n_methods or rng.randint(2, 9)):
        m = gen_func(rng, names.func(), callees, rng.randint(5, 25), is_method=True)
        methods.append(m)
    attrs = [f"{rng.choice(NOUNS)}_count = {rng.randint(0, 9)}"]
    return Cls(name, [], attrs, methods)


def mutate_func(rng, f, callees):
    """Edit a function body: insert, replace or delete a top-level statement."""
    tops = [i for i, l in enumerate(f.body) if l.startswith("    ") and not l.startswith("     ")]
    simple = [i for i in tops[:-1]
              if not f.body[i].rstrip().endswith(":") and not f.body[i].lstrip().startswith('"""')
              and (i + 1 >= len(f.body) or not f.body[i + 1].startswith("     "))]
    vars_ = [p.name for p in f.params] or ["value"]
    r = rng.random()
    if r < 0.35 and simple:
        f.body[rng.choice(simple)] = "    " + stmt(rng, vars_, callees)
    elif r < 0.5 and len(simple) > 2:
        del f.body[rng.choice(simple)]
    else:
        spots = [i for i in tops[1:] if not f.body[i].lstrip().startswith(("except", "else", "elif", "finally"))]
        pos = rng.choice(spots or tops[-1:])
        f.body.insert(pos, "    " + stmt(rng, vars_, callees))


def all_funcs(blocks):
    out = []
    for b in blocks:
        if isinstance(b, Func):
            out.append(b)
        elif isinstance(b, Cls):
            out.extend(b.methods[1:])
    return out


class PyModule:
    def __init__(self, header, blocks):
        self.header = header
        self.blocks = blocks

    def render(self):
        lines = list(self.header)
        for b in self.blocks:
            lines.append("")
            if not isinstance(b, Raw):
                lines.append("")
            lines.extend(b.lines())
        return "\n".join(lines) + "\n"

    def mutate(self, rng, names, callees):
        funcs = all_funcs(self.blocks)
        if names is None:
            names = Names(rng, [getattr(b, "name", None) for b in self.blocks] + [f.name for f in funcs])
        r = rng.random()
        if r < 0.12 or not funcs:
            self.blocks.insert(rng.randint(0, len(self.blocks)), gen_func(rng, names.func(), callees))
        else:
            for _ in range(rng.randint(1, 3)):
                mutate_func(rng, rng.choice(funcs), callees)


def gen_generic_module(rng, path, size, extra=()):
    names = Names(rng, [f.name for f in extra])
    header = [f'"""{path} (generated benchmark module)."""', "import os", "import math",
              "import logging", "", "import torch", "", "logger = logging.getLogger(__name__)",
              "server_config = {}"]
    blocks, local = list(extra), []
    total = 10
    while total < size:
        if rng.random() < 0.25:
            c = gen_class(rng, names, local[-5:], rng.randint(2, 6))
            blocks.append(c)
            total += sum(len(m.body) + 2 for m in c.methods) + 3
        else:
            f = gen_func(rng, names.func(), local[-5:], rng.randint(5, 30))
            local.append(f.name)
            blocks.append(f)
            total += len(f.body) + 3
    return PyModule(header, blocks)


# --------------------------------------------------------------------------
# wgp.py: core functions with fixed, known signatures (drift targets) + bulk
# --------------------------------------------------------------------------

P = Param
CORE = [
    ("generate_video", [P("pos", "task"), P("pos", "send_cmd"), P("pos", "image_mode", "0"),
                        P("pos", "prompt", '""'), P("pos", "negative_prompt", '""'),
                        P("pos", "resolution", '"832x480"'), P("pos", "video_length", "81"),
                        P("pos", "seed", "-1"), P("pos", "num_inference_steps", "30"),
                        P("pos", "guidance_scale", "5.0"), P("pos", "flow_shift", "5.0"),
                        P("pos", "activated_loras", "None"), P("pos", "loras_multipliers", '""'),
                        P("pos", "image_start", "None"), P("pos", "image_end", "None"),
                        P("pos", "video_guide", "None"), P("pos", "video_mask", "None"),
                        P("pos", "model_type", "None"), P("pos", "mode", '""'),
                        P("pos", "state", "None")]),
    ("get_model_def", [P("pos", "model_type")]),
    ("get_default_settings", [P("pos", "model_type")]),
    ("get_model_filename", [P("pos", "model_type"), P("pos", "quantization", '"int8"'),
                            P("kwonly", "dtype_policy", '""'), P("kwonly", "submodel_no", "1"),
                            P("kwonly", "is_module", "False")]),
    ("load_models", [P("pos", "model_type"), P("pos", "override_profile", "-1")]),
    ("get_lora_dir", [P("pos", "model_type")]),
    ("save_quantized_model", [P("pos", "model"), P("pos", "model_type"), P("pos", "model_filename"),
                              P("pos", "dtype"), P("pos", "config_file"), P("kwonly", "submodel_no", "1")]),
    ("get_transformer_dtype", [P("pos", "model_family"), P("pos", "transformer_dtype_policy")]),
    ("get_model_name", [P("pos", "model_type"), P("pos", "description_container", "[\"\"]")]),
    ("process_prompt_and_add_tasks", [P("pos", "state"), P("pos", "model_choice")]),
    ("convert_image", [P("pos", "image")]),
    ("get_base_model_type", [P("pos", "model_type")]),
    ("get_model_family", [P("pos", "model_type"), P("kwonly", "for_ui", "False")]),
    ("get_model_type", [P("pos", "model_filename")]),
    ("get_model_min_frames_and_step", [P("pos", "model_type")]),
    ("get_model_fps", [P("pos", "model_type")]),
    ("get_model_recursive_prop", [P("pos", "model_type"), P("pos", "prop", '"URLs"'),
                                  P("pos", "sub_prop_name", "None"), P("kwonly", "return_list", "True")]),
    ("get_settings_file_name", [P("pos", "model_type")]),
    ("set_model_settings", [P("pos", "state"), P("pos", "model_type"), P("pos", "settings")]),
    ("get_gen_info", [P("pos", "state")]),
    ("release_model", []),
    ("apply_changes", [P("pos", "state"), P("var", "args"), P("varkw", "kwargs")]),
    ("save_video", [P("pos", "tensor"), P("pos", "save_file"), P("pos", "fps", "16"),
                    P("pos", "codec_type", '"libx264_8"'), P("kwonly", "nrow", "8"),
                    P("kwonly", "normalize", "True"), P("kwonly", "value_range", "(-1, 1)")]),
    ("get_available_filename", [P("pos", "target_path"), P("pos", "video_source"),
                                P("pos", "suffix", '""'), P("pos", "force_extension", "None")]),
    ("fit_image_into_canvas", [P("pos", "image"), P("pos", "width"), P("pos", "height"),
                               P("pos", "fit_crop", "False")]),
    ("sanitize_file_name", [P("pos", "file_name"), P("pos", "rep", '""')]),
    ("get_resampled_video", [P("pos", "video_in"), P("pos", "start_frame"), P("pos", "max_frames"),
                             P("pos", "target_fps"), P("pos", "bridge", '"torch"')]),
    ("preprocess_video_with_mask", [P("pos", "input_video"), P("pos", "input_mask"),
                                    P("pos", "height"), P("pos", "width"), P("pos", "max_frames"),
                                    P("pos", "start_frame", "0"), P("pos", "fit_canvas", "False"),
                                    P("kwonly", "block_size", "16"), P("varkw", "kwargs")]),
    ("extract_preprocessed_frames", [P("pos", "video"), P("var", "frames")]),
    ("init_pipe", [P("pos", "pipe"), P("pos", "kwargs"), P("pos", "override_profile", "-1")]),
    ("get_loras_preprocessor", [P("pos", "transformer"), P("pos", "model_type")]),
    ("setup_loras", [P("pos", "model_type"), P("pos", "transformer"), P("pos", "lora_dir"),
                     P("pos", "lora_preselected_preset", '""'), P("pos", "split_linear_modules_map", "None")]),
    ("parse_loras_multipliers", [P("pos", "loras_multipliers"), P("pos", "nb_loras"),
                                 P("pos", "num_inference_steps"), P("kwonly", "merge_slist", "None")]),
    ("get_lora_presets", [P("pos", "model_type")]),
    ("compute_video_length", [P("pos", "model_type"), P("pos", "frames"), P("pos", "fps", "16")]),
]
CORE_NAMES = [c[0] for c in CORE]
# Core functions a wrapper typically reaches for, in import statements.
# Functions that must exist in fixed upstream modules (imported by wgp.py or
# the wrapper).
FIXED_FUNCS = {
    "shared/utils/utils.py": [("expand_slist", [P("pos", "slist"), P("pos", "num_steps")]),
                              ("get_video_info", [P("pos", "video_path")])],
    "shared/utils/files_locator.py": [("locate_file", [P("pos", "file_name"),
                                                       P("kwonly", "create_path_if_none", "False")])],
    "shared/utils/audio_video.py": [("save_image", [P("pos", "tensor"), P("pos", "path")]),
                                    ("extract_audio_tracks", [P("pos", "video_path")])],
    "shared/attention.py": [("get_attention_modes", []), ("get_supported_attention_modes", [])],
    "shared/utils/model_types.py": [],
    "shared/sage2_core.py": [],
    "models/wan/wan_handler.py": [("query_model_def", [P("pos", "base_model_type"), P("pos", "model_def")])],
}
FROM_IMPORTS = ["generate_video", "get_model_def", "get_default_settings", "get_model_filename",
                "get_transformer_dtype", "get_base_model_type", "get_model_family",
                "save_video", "get_model_fps", "convert_image"]

WGP_VARS = [
    ("server_config_filename", ['server_config_filename = "wgp_config.json"']),
    ("server_config", ["server_config = {"] + [f'    "{k}": {v},' for k, v in [
        ("attention_mode", '"auto"'), ("transformer_types", "[]"),
        ("transformer_quantization", '"int8"'), ("text_encoder_quantization", '"int8"'),
        ("save_path", '"outputs"'), ("image_save_path", '"outputs"'), ("compile", '""'),
        ("metadata_type", '"metadata"'), ("boost", "1"), ("clear_file_list", "5"),
        ("vae_config", "0"), ("profile", "4"), ("preload_model_policy", "[]"),
        ("UI_theme", '"default"'), ("video_output_codec", '"libx264_8"'),
        ("fit_canvas", "0"), ("mixed_precision", '"0"'), ("last_model_type", '"t2v"'),
        ("checkpoints_paths", '["ckpts", "."]'), ("queue_color_scheme", '"pastel"')]] + ["}"]),
    ("transformer_types", ['transformer_types = server_config.get("transformer_types", [])']),
    ("transformer_quantization", ['transformer_quantization = server_config.get("transformer_quantization", "int8")']),
    ("text_encoder_quantization", ['text_encoder_quantization = server_config.get("text_encoder_quantization", "int8")']),
    ("attention_mode", ['attention_mode = server_config["attention_mode"]']),
    ("profile", ['profile = force_profile_no if force_profile_no >= 0 else server_config["profile"]']),
    ("compile", ['compile = server_config.get("compile", "")']),
    ("boost", ['boost = server_config.get("boost", 1)']),
    ("vae_config", ['vae_config = server_config.get("vae_config", 0)']),
    ("save_path", ['save_path = server_config.get("save_path", os.path.join(os.getcwd(), "outputs"))']),
    ("image_save_path", ['image_save_path = server_config.get("image_save_path", save_path)']),
    ("preload_model_policy", ['preload_model_policy = server_config.get("preload_model_policy", [])']),
    ("lock_ui_attention", ["lock_ui_attention = False"]),
    ("lock_ui_transformer", ["lock_ui_transformer = False"]),
    ("lock_ui_compile", ["lock_ui_compile = False"]),
    ("force_profile_no", ["force_profile_no = -1"]),
    ("verbose_level", ["verbose_level = 1"]),
    ("quantizeTransformer", ['quantizeTransformer = args.quantize_transformer']),
    ("wan_model", ["wan_model = None"]),
    ("offloadobj", ["offloadobj = None"]),
    ("reload_needed", ["reload_needed = False"]),
    ("transformer_type", ['transformer_type = server_config.get("last_model_type", "t2v")']),
    ("transformer_filename", ['transformer_filename = ""']),
    ("lora_dir", ['lora_dir = "loras"']),
    ("lora_preselected_preset", ['lora_preselected_preset = ""']),
    ("loras", ["loras = []"]),
    ("loras_names", ["loras_names = []"]),
    ("default_lora_preset", ['default_lora_preset = ""']),
    ("models_def", ["models_def = {}"]),
    ("family_handlers", ['family_handlers = ["models.wan.wan_handler", "models.wan.df_handler", "models.hyvideo.hunyuan_handler", "models.ltx_video.ltxv_handler", "models.flux.flux_handler", "models.qwen.qwen_handler"]']),
    ("displayed_model_types", ["displayed_model_types = []"]),
    ("attention_modes_installed", ['attention_modes_installed = get_attention_modes()']),
    ("attention_modes_supported", ['attention_modes_supported = get_supported_attention_modes()']),
    ("target_mmgp_version", ['target_mmgp_version = "3.6.0"']),
    ("WanGP_version", ['WanGP_version = "8.0"']),
    ("settings_version", ["settings_version = 2.35"]),
    ("max_source_video_frames", ["max_source_video_frames = 3000"]),
    ("prompt_enhancer_image_caption_model", ["prompt_enhancer_image_caption_model = None"]),
    ("gen_lock", ["gen_lock = threading.Lock()"]),
    ("global_queue_ref", ["global_queue_ref = []"]),
    ("AUTOSAVE_FILENAME", ['AUTOSAVE_FILENAME = "queue.zip"']),
    ("PROMPT_VARS_MAX", ["PROMPT_VARS_MAX = 10"]),
]
WGP_VAR_NAMES = [v[0] for v in WGP_VARS]

WGP_HEADER = [
    "import os",
    "import sys",
    "import time",
    "import json",
    "import math",
    "import threading",
    "import argparse",
    "import logging",
    "import traceback",
    "from datetime import datetime",
    "",
    "import torch",
    "import numpy as np",
    "from PIL import Image",
    "",
    "from shared.utils import files_locator as fl",
    "from shared.utils.utils import expand_slist, get_video_info",
    "from shared.utils.audio_video import save_image, extract_audio_tracks",
    "from shared.attention import get_attention_modes, get_supported_attention_modes",
    "",
    'logger = logging.getLogger("wgp")',
    "args = argparse.Namespace(quantize_transformer=True)",
]


def build_wgp(rng, names, target_lines):
    """The wgp.py module: header, module variables, classes, functions."""
    bulk_names = []
    blocks = []
    for vname, vlines in WGP_VARS:
        blocks.append(Raw(vlines, vname))
    core = {}
    for name, params in CORE:
        n = 60 if name == "generate_video" else rng.randint(8, 30)
        f = Func(name, [Param(p.kind, p.name, p.default) for p in params],
                 gen_body(rng, params, n, CORE_NAMES[:8]))
        core[name] = f
    funcs = list(core.values())
    lines = sum(len(b.lines()) + 2 for b in blocks + funcs) + len(WGP_HEADER)
    # Bulk: functions and classes until the size target.
    while lines < target_lines:
        if rng.random() < 0.06:
            funcs.append(gen_class(rng, names, bulk_names[-6:] + CORE_NAMES[:5]))
        else:
            f = gen_func(rng, names.func(), bulk_names[-6:] + rng.sample(CORE_NAMES, 3),
                         rng.randint(6, 45))
            bulk_names.append(f.name)
            funcs.append(f)
        lines += len(funcs[-1].lines()) + 2
    rng.shuffle(funcs)
    blocks.extend(funcs)
    blocks.append(Raw(["def main():", "    logger.info(\"WanGP %s\", WanGP_version)",
                       "    return 0", "", "",
                       'if __name__ == "__main__":', "    main()"], "main"))
    return PyModule(WGP_HEADER, blocks), core, bulk_names


# --------------------------------------------------------------------------
# defaults/*.json and requirements.txt
# --------------------------------------------------------------------------

def model_names(rng):
    out = list(MODEL_BASES)
    while len(out) < 150:
        n = f"{rng.choice(MODEL_BASES)}_{rng.choice(MODEL_VARIANTS)}"
        if n not in out:
            out.append(n)
    return out


def gen_default_json(rng, name):
    family = name.split("_")[0]
    return {
        "model": {
            "name": f"{name.replace('_', ' ').title()}",
            "architecture": name.split("_")[0] if rng.random() < 0.5 else family,
            "description": f"The {name} model ({rng.choice(NOUNS)} {rng.choice(NOUNS)}).",
            "URLs": [f"https://huggingface.co/bench/Wan2GP/resolve/main/{name}_{q}.safetensors"
                     for q in ("bf16", "quanto_int8")],
            "modules": rng.sample(["vace_14B", "multitalk", "fantasy", "standin", "lynx"], rng.randint(0, 2)),
            "loras": [f"https://huggingface.co/bench/loras/{name}_{i}.safetensors"
                      for i in range(rng.randint(0, 3))],
            "loras_multipliers": [round(rng.uniform(0.3, 1.5), 2) for _ in range(rng.randint(0, 3))],
            "group": rng.choice(["wan2_1", "wan2_2", "hunyuan", "ltxv", "flux", "qwen"]),
            "profiles_dir": [name],
        },
        "prompt": f"A {rng.choice(NOUNS)} walking through a {rng.choice(NOUNS)} at sunset.",
        "resolution": rng.choice(["832x480", "1280x720", "480x832", "1024x1024"]),
        "video_length": rng.choice([81, 97, 121, 129, 1]),
        "num_inference_steps": rng.choice([4, 8, 20, 30, 50]),
        "guidance_scale": rng.choice([1, 3.5, 5.0, 6.0]),
        "flow_shift": rng.choice([3, 5, 7, 12]),
        "sample_solver": rng.choice(["unipc", "euler", "dpm++", "causvid"]),
        "seed": -1,
        "activated_loras": [],
        "multi_prompts_gen_type": rng.randint(0, 2),
    }


def dumps_json(obj):
    return json.dumps(obj, indent=4) + "\n"


REQS = [
    ("torch", "2.6.0"), ("torchvision", "0.21.0"), ("torchaudio", "2.6.0"),
    ("diffusers", "0.31.0"), ("transformers", "4.51.3"), ("tokenizers", "0.21.1"),
    ("accelerate", "1.1.1"), ("einops", "0.8.0"), ("numpy", "2.1.2"), ("opencv-python", "4.10.0.84"),
    ("imageio", "2.35.1"), ("imageio-ffmpeg", "0.5.1"), ("gradio", "5.23.0"), ("mmgp", "3.5.6"),
    ("safetensors", "0.4.5"), ("sentencepiece", "0.2.0"), ("ftfy", "6.3.1"), ("peft", "0.15.0"),
    ("decord", "0.6.0"), ("librosa", "0.11.0"), ("soundfile", "0.13.1"), ("timm", "1.0.15"),
    ("onnxruntime-gpu", "1.20.1"), ("pydantic", "2.10.6"), ("huggingface-hub", "0.30.2"),
    ("matplotlib", "3.9.2"), ("av", "14.3.0"), ("loguru", "0.7.3"), ("rembg", "2.0.65"),
]


def render_reqs(reqs):
    lines = ["# WanGP requirements (benchmark fixture)"]
    lines.extend(f"{n}=={v}" for n, v in reqs)
    lines.append("# optional: sageattention, flash-attn")
    return "\n".join(lines) + "\n"


def bump(version):
    parts = version.split(".")
    parts[-1] = str(int(parts[-1]) + 1) if parts[-1].isdigit() else parts[-1]
    return ".".join(parts)


# --------------------------------------------------------------------------
# Upstream repository: file tree and history
# --------------------------------------------------------------------------

ASSET_EXT = ["svg", "txt", "css", "js", "md", "csv", "yaml"]


def asset_text(rng, path):
    ext = path.rsplit(".", 1)[-1]
    if ext == "svg":
        return ('<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24">'
                f'<circle cx="12" cy="12" r="{rng.randint(2, 11)}"/></svg>\n')
    if ext == "css":
        return "".join(f".{rng.choice(NOUNS)}-{i} {{ margin: {rng.randint(0, 20)}px; }}\n"
                       for i in range(rng.randint(5, 40)))
    if ext == "js":
        return "".join(f"function {rng.choice(VERBS)}{i}(x) {{ return x + {i}; }}\n"
                       for i in range(rng.randint(3, 30)))
    if ext == "csv":
        return "name,value\n" + "".join(f"{rng.choice(NOUNS)},{rng.randint(0, 999)}\n"
                                        for _ in range(rng.randint(5, 50)))
    return "".join(f"{rng.choice(NOUNS)} {rng.choice(VERBS)} {rng.choice(NOUNS)}\n"
                   for _ in range(rng.randint(3, 60)))


class Upstream:
    def __init__(self, rng):
        self.rng = rng
        self.names = Names(rng, CORE_NAMES + WGP_VAR_NAMES + ["main"])
        self.files = {}  # path -> str content or PyModule/dict (rendered lazily)
        self.pending = []  # paths added later in history

    def plan(self):
        rng = self.rng
        paths = []
        for fam, (subs, per) in FAMILIES.items():
            paths.append((f"models/{fam}/__init__.py", "init"))
            for i in range(per // 2):
                paths.append((f"models/{fam}/{rng.choice(NOUNS)}_{i}.py", "py"))
            paths.append((f"models/{fam}/{fam}_handler.py", "py"))
            for s in subs:
                paths.append((f"models/{fam}/{s}/__init__.py", "init"))
                for i in range(per + 2 + rng.randint(0, 4)):
                    paths.append((f"models/{fam}/{s}/{rng.choice(NOUNS)}_{rng.choice(VERBS)}_{i}.py", "py"))
            for i in range(rng.randint(2, 6)):
                paths.append((f"models/{fam}/configs/{fam}_{i}.json", "cfg"))
        paths.append(("shared/__init__.py", "init"))
        for sub, n in (("utils", 44), ("gradio", 16), ("kernels", 18), ("convert", 8), ("inpainting", 10)):
            paths.append((f"shared/{sub}/__init__.py", "init"))
            for i in range(n):
                paths.append((f"shared/{sub}/{rng.choice(NOUNS)}_{i}.py", "py"))
        paths.append(("preprocessing/__init__.py", "init"))
        for p in PREPROC:
            paths.append((f"preprocessing/{p}/__init__.py", "init"))
            for i in range(rng.randint(10, 20)):
                paths.append((f"preprocessing/{p}/{rng.choice(NOUNS)}_{i}.py", "py"))
            paths.append((f"preprocessing/{p}/README.md", "asset"))
        for i in range(40):
            paths.append((f"plugins/{rng.choice(NOUNS)}_plugin_{i}.py", "py"))
        for i in range(360):
            sub = rng.choice(["icons", "prompts", "themes", "ui", "docs_img", "presets"])
            paths.append((f"assets/{sub}/{rng.choice(NOUNS)}_{i}.{rng.choice(ASSET_EXT)}", "asset"))
        for i in range(40):
            paths.append((f"loras/{rng.choice(MODEL_BASES)}/{rng.choice(NOUNS)}_{i}.lset", "asset"))
        for i in range(14):
            paths.append((f"docs/{rng.choice(NOUNS).upper()}_{i}.md", "asset"))
        for i in range(30):
            paths.append((f"finetunes/examples/{rng.choice(MODEL_BASES)}_{i}.json", "cfg"))
        paths = list(dict.fromkeys(paths))  # dedupe, keep order
        return paths

    def make(self, path, kind):
        rng = self.rng
        if kind == "init":
            return f'"""{path.rsplit("/", 2)[-2]} package."""\n'
        if kind == "py":
            extra = [Func(n, params, gen_body(rng, params, rng.randint(5, 20), []))
                     for n, params in FIXED_FUNCS.get(path, [])]
            return gen_generic_module(rng, path, rng.randint(30, 260), extra)
        if kind == "cfg":
            return {"dim": rng.choice([1536, 3072, 5120]), "num_layers": rng.randint(20, 48),
                    "num_heads": rng.choice([12, 24, 40]), "patch_size": [1, 2, 2],
                    "text_len": 512, "eps": 1e-06, "nested": {"vae": {"z_dim": 16, "scale": 0.5}}}
        return asset_text(rng, path)

    def build_initial(self):
        rng = self.rng
        self.wgp, self.core, self.bulk = build_wgp(rng, self.names, 8300)
        self.files["wgp.py"] = self.wgp
        self.files["requirements.txt"] = None
        self.reqs = list(REQS)
        self.models = model_names(rng)
        for m in self.models:
            self.files[f"defaults/{m}.json"] = gen_default_json(rng, m)
        self.files["README.md"] = "# WanGP (benchmark fixture)\n\n" + asset_text(rng, "x.txt")
        self.files["LICENSE.txt"] = "Apache License 2.0 (benchmark fixture)\n"
        self.files[".gitignore"] = "__pycache__/\nckpts/\noutputs/\n*.safetensors\nwgp_config.json\n"
        self.files["Dockerfile"] = "FROM python:3.11\nCOPY . /app\nRUN pip install -r /app/requirements.txt\n"
        plan = [pk for pk in self.plan() if pk[0] not in FIXED_FUNCS]
        rng.shuffle(plan)
        for path in FIXED_FUNCS:
            self.files[path] = self.make(path, "py")
        cut = int(len(plan) * 0.8)
        for path, kind in plan[:cut]:
            self.files[path] = self.make(path, kind)
        self.pending = plan[cut:]

    def render(self, path):
        v = self.files[path]
        if path == "requirements.txt":
            return render_reqs(self.reqs)
        if isinstance(v, PyModule):
            return v.render()
        if isinstance(v, dict):
            return dumps_json(v)
        return v

    # --- ordinary edits -------------------------------------------------
    def edit(self, path):
        rng = self.rng
        v = self.files[path]
        if path == "requirements.txt":
            i = rng.randrange(3, len(self.reqs))  # never torch* in ordinary edits
            self.reqs[i] = (self.reqs[i][0], bump(self.reqs[i][1]))
        elif isinstance(v, PyModule):
            if v is self.wgp:
                v.mutate(rng, self.names, self.bulk[-8:])
            else:
                v.mutate(rng, None, [])
        elif isinstance(v, dict):
            if "model" in v and rng.random() < 0.5:
                v["model"]["description"] = f"The {path} model ({rng.choice(NOUNS)} {rng.randint(0, 999)})."
            else:
                key = rng.choice([k for k in v if k != "model"] or ["extra"])
                v[key] = rng.choice([1, 2, 4, 8, 16, 3.5, "auto", [1, 2], {"x": rng.randint(0, 9)}])
        elif path.endswith(".py"):
            self.files[path] = v + f"# {rng.choice(NOUNS)} {rng.choice(VERBS)} {rng.randint(0, 99)}\n"
        else:
            self.files[path] = v + f"{rng.choice(NOUNS)} {rng.choice(VERBS)} {rng.randint(0, 99)}\n"


MSGS = ["fixed {n} {v}", "added {n} support", "improved {n} handling", "Update {p}",
        "{v} {n} faster", "new {n} option", "refactored {n}", "bug fix for {n}",
        "Merge {n} improvements", "reduced VRAM for {n}"]


def commit_msg(rng, paths):
    return rng.choice(MSGS).format(n=rng.choice(NOUNS).replace("_", " "), v=rng.choice(VERBS),
                                   p=paths[0] if paths else "README.md")


class Stream:
    """Writes a git fast-import stream. Versions of wgp.py are written up
    front as consecutive blobs (good deltas); commits follow."""

    def __init__(self, out):
        self.errors = open(os.path.join(out, ".git", "bench-fast-import.log"), "w+b")
        self.proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=out,
                                     env=GIT_ENV, stdin=subprocess.PIPE, stderr=self.errors)
        self.body = []  # bytes chunks: commits, written after all wgp.py blobs
        self.mark = 0
        self.commits = 0

    def blob(self, data):
        self.mark += 1
        b = data.encode()
        self.proc.stdin.write(b"blob\nmark :%d\ndata %d\n" % (self.mark, len(b)) + b + b"\n")
        return self.mark

    def commit(self, when, msg, changes):
        """changes: list of ("M", path, str|int mark) or ("D", path)."""
        self.mark += 1
        self.commits += 1
        m = msg.encode()
        out = [b"commit refs/heads/main\nmark :%d\n" % self.mark]
        ident = AUTHOR.encode() + b" %d +0000\n" % when
        out.append(b"author " + ident + b"committer " + ident)
        out.append(b"data %d\n" % len(m) + m + b"\n")
        for ch in changes:
            if ch[0] == "D":
                out.append(b"D " + ch[1].encode() + b"\n")
            elif isinstance(ch[2], int):
                out.append(b"M 100644 :%d %s\n" % (ch[2], ch[1].encode()))
            else:
                b = ch[2].encode()
                out.append(b"M 100644 inline " + ch[1].encode() + b"\ndata %d\n" % len(b) + b + b"\n")
        out.append(b"\n")
        self.body.append(b"".join(out))

    def finish(self):
        for chunk in self.body:
            self.proc.stdin.write(chunk)
        self.proc.stdin.write(b"done\n")
        self.proc.stdin.close()
        if self.proc.wait() != 0:
            self.errors.seek(0)
            sys.exit(f"git fast-import failed: {self.errors.read().decode(errors='replace')}")
        self.errors.close()
        os.remove(self.errors.name)


def remove_block(mod, name):
    for i, b in enumerate(mod.blocks):
        if getattr(b, "name", None) == name:
            return mod.blocks.pop(i)
    raise KeyError(name)


def build_upstream(rng, out):
    up = Upstream(rng)
    up.build_initial()
    os.makedirs(out)
    git(out, "init", "-q", "-b", "main")
    st = Stream(out)
    when = EPOCH
    drift = {}

    def change(path):
        if path == "wgp.py":
            return ("M", path, st.blob(up.render(path)))
        return ("M", path, up.render(path))

    # Commit 1: the initial import.
    st.commit(when, "Initial commit", [change(p) for p in sorted(up.files)])

    # Drift operations, spread over the last DRIFT_COMMITS commits.
    wgp = up.wgp
    util = "shared/utils/utils.py"

    def d_remove(name):
        def op():
            remove_block(wgp, name)
            return ["wgp.py"], f"removed obsolete {name}"
        return op

    def d_rename(old, new):
        def op():
            up.core[old].name = new
            return ["wgp.py"], f"renamed {old} to {new}"
        return op

    def d_kwrename(fn, old, new):
        def op():
            f = up.core[fn]
            for p in f.params:
                if p.name == old:
                    p.name = new
            f.body = [l.replace(old, new) for l in f.body]
            return ["wgp.py"], f"{fn}: {old} is now {new}"
        return op

    def d_required(fn, after, new):
        def op():
            f = up.core[fn]
            i = next(i for i, p in enumerate(f.params) if p.name == after)
            f.params.insert(i + 1, Param("pos", new))
            f.body.insert(1, f"    logger.debug(\"loading %s\", {new})")
            return ["wgp.py"], f"{fn} takes an explicit {new}"
        return op

    def d_move(fn):
        def op():
            f = remove_block(wgp, fn)
            up.files[util].blocks.append(f)
            return ["wgp.py", util], f"moved {fn} to shared.utils.utils"
        return op

    def d_rename_json(old, new):
        def op():
            up.files[f"defaults/{new}.json"] = up.files.pop(f"defaults/{old}.json")
            up.models[up.models.index(old)] = new
            drift["json_deleted"] = f"defaults/{old}.json"
            return [f"defaults/{new}.json"], f"renamed {old} defaults to {new}"
        return op

    def d_drop_key(model, key):
        def op():
            del up.files[f"defaults/{model}.json"][key]
            return [f"defaults/{model}.json"], f"{model}: dropped {key}"
        return op

    def d_torch():
        def op():
            up.reqs[0] = ("torch", "2.7.1")
            up.reqs[1] = ("torchvision", "0.22.1")
            up.reqs[2] = ("torchaudio", "2.7.1")
            return ["requirements.txt"], "upgraded to torch 2.7.1"
        return op

    def d_remove_var(name):
        def op():
            remove_block(wgp, name)
            return ["wgp.py"], f"removed module variable {name}"
        return op

    def d_add_optional(fn, new):
        def op():
            up.core[fn].params.append(Param("kwonly", new, "None"))
            return ["wgp.py"], f"{fn}: new {new} option"
        return op

    drift_ops = [
        d_remove("get_lora_dir"), d_remove("save_quantized_model"), d_remove("get_transformer_dtype"),
        d_rename("get_model_name", "get_model_display_name"),
        d_rename("process_prompt_and_add_tasks", "process_prompt_and_queue_tasks"),
        d_kwrename("generate_video", "num_inference_steps", "sampling_steps"),
        d_kwrename("get_model_filename", "submodel_no", "submodel_index"),
        d_required("load_models", "model_type", "model_filename"),
        d_move("convert_image"),
        d_rename_json("t2v_1.3B", "t2v_1_3B"),
        d_drop_key("vace_14B", "flow_shift"), d_drop_key("i2v", "guidance_scale"),
        d_torch(), d_remove_var("lock_ui_attention"),
        d_add_optional("get_default_settings", "with_defaults"),
    ]
    drift_at = sorted(rng.sample(range(TOTAL_COMMITS - DRIFT_COMMITS + 2, TOTAL_COMMITS + 1),
                                 len(drift_ops)))
    drift_plan = dict(zip(drift_at, drift_ops))

    for n in range(2, TOTAL_COMMITS + 1):
        when += rng.randint(1800, 6 * 3600) * (2 if rng.random() < 0.1 else 1)
        if n in drift_plan:
            paths, msg = drift_plan[n]()
            changes = [change(p) for p in paths]
            if "json_deleted" in drift:
                changes.insert(0, ("D", drift.pop("json_deleted")))
            st.commit(when, msg, changes)
            continue
        touched, added = [], set()
        k = rng.choices([1, 2, 3, 4, 5, 8], [35, 25, 18, 11, 8, 3])[0]
        if rng.random() < 0.3:
            touched.append("wgp.py")
        if up.pending and rng.random() < 0.2:
            for _ in range(min(rng.randint(1, 6), len(up.pending))):
                path, kind = up.pending.pop()
                up.files[path] = up.make(path, kind)
                touched.append(path)
                added.add(path)
        existing = None
        while len(touched) < k:
            r = rng.random()
            if r < 0.12:
                p = f"defaults/{rng.choice(up.models)}.json"
            elif r < 0.15:
                p = "requirements.txt"
            else:
                if existing is None:
                    existing = sorted(up.files)
                p = rng.choice(existing)
            if p not in touched and p in up.files:
                touched.append(p)
        for p in touched:
            if p not in added:
                up.edit(p)
        st.commit(when, commit_msg(rng, touched), [change(p) for p in dict.fromkeys(touched)])

    st.finish()
    git(out, "checkout", "-q", "-f", "main")
    return up, st.commits


# --------------------------------------------------------------------------
# Wrapper repository
# --------------------------------------------------------------------------

def call_args(rng, f, names_in_scope):
    """A call expression's argument list that is valid for f's signature."""
    args = []
    for p in f.params:
        if p.kind == "pos" and p.default is None:
            args.append(p.name if p.name in names_in_scope else rng.choice(CONSTS))
    opt = [p for p in f.params if p.kind in ("pos", "kwonly") and p.default is not None]
    for p in rng.sample(opt, min(len(opt), rng.randint(1, 3))):
        args.append(f"{p.name}={rng.choice(CONSTS)}")
    if any(p.kind == "varkw" for p in f.params) and rng.random() < 0.5:
        args.append("trace=True")
    return ", ".join(args)


class WrapperFile:
    def __init__(self, path, header):
        self.path = path
        self.lines = list(header)
        self.points = 0

    def add(self, lines, points=0):
        self.lines.extend(lines)
        self.points += points

    def text(self):
        return "\n".join(self.lines) + "\n"


def build_wrapper(rng, up, base_funcs, out):
    """Wrapper files with integration points against wgp at the base commit."""
    models = [m for m in up.base_models if "." in m or "_" not in m or rng.random() < 0.2][:24]
    for must in ("t2v_1.3B", "vace_14B", "i2v"):
        if must not in models:
            models.append(must)
    core = {f.name: f for f in base_funcs if f.name in CORE_NAMES}
    bulk = [f for f in base_funcs if f.name not in CORE_NAMES and f.name != "main"]
    used_bulk = rng.sample(bulk, min(len(bulk), 95))
    scope = {"model_type", "prompt", "state", "task", "image", "video"}
    files = []

    # headless_wgp.py: the orchestrator.
    h = WrapperFile("headless_wgp.py", [
        '"""Headless orchestrator around Wan2GP\'s wgp module (benchmark fixture)."""',
        "import os", "import sys", "import json", "import logging", "",
        'WAN_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "Wan2GP")',
        'sys.path.insert(0, "Wan2GP")', "sys.path.insert(0, WAN_ROOT)", "",
        "import wgp",
        f"from wgp import {', '.join(FROM_IMPORTS)}",
        "from shared.utils.utils import expand_slist",
        "from models.wan import wan_handler",
        "", 'logger = logging.getLogger("headless")', "",
        "DEFAULT_MODELS = ["] + [f'    "{m}",' for m in models] + ["]", ""])
    h.points += 2 + 1 + len(FROM_IMPORTS) + 2 + len(models)
    h.add([
        "class WanOrchestrator:",
        '    """Drives wgp without its UI."""', "",
        "    def __init__(self, wan_root=WAN_ROOT, output_dir=\"outputs\"):",
        "        self.wan_root = wan_root",
        "        os.chdir(wan_root)",
        '        wgp.server_config["save_path"] = output_dir',
        '        wgp.server_config["image_save_path"] = output_dir',
        '        self.attention = wgp.server_config.get("attention_mode", "auto")',
        '        self.profile = wgp.server_config["profile"]',
        "        self.quant = wgp.transformer_quantization",
        "        self.lock = wgp.lock_ui_attention",
        "        self.state = {\"gen\": {\"queue\": []}, \"loras\": []}",
        "        self.current_model = None", "",
        "    def load_model(self, model_type):",
        "        settings = wgp.get_default_settings(model_type)",
        "        model_def = get_model_def(model_type)",
        "        filename = wgp.get_model_filename(model_type, quantization=self.quant, submodel_no=1)",
        "        wgp.wan_model, wgp.offloadobj = wgp.load_models(model_type)",
        "        wgp.reload_needed = False",
        "        self.current_model = model_type",
        "        return settings, model_def, filename", "",
        "    def lora_dir(self, model_type):",
        "        return wgp.get_lora_dir(model_type)", "",
        "    def display_name(self, model_type):",
        "        return wgp.get_model_name(model_type)", "",
        "    def enqueue(self, model_choice):",
        "        return wgp.process_prompt_and_add_tasks(self.state, model_choice)", "",
        "    def to_rgb(self, image):",
        "        return wgp.convert_image(image)", "",
        "    def quantize(self, model, model_type, model_filename, dtype, config_file):",
        "        wgp.save_quantized_model(model, model_type, model_filename, dtype, config_file, submodel_no=1)",
        "        return get_transformer_dtype(wgp.get_model_family(model_type), wgp.server_config.get(\"transformer_dtype_policy\", \"\"))",
        "",
        "    def generate(self, task, send_cmd, prompt, model_type, steps=30, seed=-1):",
        "        return generate_video(",
        "            task, send_cmd, prompt=prompt, resolution=\"832x480\", video_length=81,",
        "            seed=seed, num_inference_steps=steps, guidance_scale=5.0, model_type=model_type,",
        "            state=self.state,", "        )", "",
        "    def generate_vace(self, task, send_cmd, prompt, video_guide, video_mask):",
        "        return wgp.generate_video(task, send_cmd, prompt=prompt, video_guide=video_guide,",
        "                                  video_mask=video_mask, num_inference_steps=20,",
        "                                  model_type=\"vace_14B\")", "",
    ], points=27)
    # Generated helper methods calling core and bulk wgp functions.
    targets = [core[n] for n in CORE_NAMES if n in core and n not in (
        "get_lora_dir", "save_quantized_model", "get_transformer_dtype", "get_model_name",
        "process_prompt_and_add_tasks", "convert_image", "load_models", "generate_video")]
    targets += used_bulk[:45]
    for i in range(0, len(targets), 4):
        chunk = targets[i:i + 4]
        h.add([f"    def step_{i // 4}(self, model_type, prompt, state=None, task=None, image=None, video=None):"])
        for f in chunk:
            h.add([f"        r_{f.name} = wgp.{f.name}({call_args(rng, f, scope)})"], points=1)
        h.add(["        return locals()", ""])
    h.add(["", "def main():", "    orch = WanOrchestrator()", "    for model in DEFAULT_MODELS:",
           "        orch.load_model(model)", "    return 0", "", "",
           'if __name__ == "__main__":', "    sys.exit(main())"])
    files.append(h)

    # worker.py: task processing.
    w = WrapperFile("worker.py", [
        '"""Queue worker: turns DB tasks into wgp generations (benchmark fixture)."""',
        "import os", "import sys", "import json", "import time", "",
        'sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Wan2GP"))', "",
        "import wgp", "from headless_wgp import WanOrchestrator", "",
        "MODEL_CONFIGS = {"] + [
        f'    "{m}": os.path.join("Wan2GP", "defaults", "{m}.json"),' for m in models[:12]] + [
        '    "t2v_small": "Wan2GP/defaults/t2v_1.3B.json",',
        '    "vace": "defaults/vace_14B.json",',
        "}", ""])
    w.points += 2 + 12 + 2
    w.add(["def load_defaults(model_type):",
           '    path = os.path.join(wgp.__file__.rsplit("/", 1)[0], "defaults", model_type + ".json")',
           "    with open(path) as fh:", "        data = json.load(fh)",
           '    steps = data["num_inference_steps"]', '    shift = data.get("flow_shift", 5)',
           '    guidance = data["guidance_scale"]', '    name = data["model"]["name"]',
           "    return data, steps, shift, guidance, name", "",
           "def process_task(task, orch):",
           '    model_type = task.get("model", "t2v")',
           "    fps = wgp.get_model_fps(model_type)",
           "    base = wgp.get_base_model_type(model_type)",
           "    frames = wgp.get_model_min_frames_and_step(model_type)",
           '    save_dir = wgp.server_config.get("save_path", "outputs")',
           "    if wgp.reload_needed or wgp.transformer_type != model_type:",
           "        orch.load_model(model_type)",
           '    return orch.generate(task, None, task["prompt"], model_type)', ""], points=9)
    for f in used_bulk[45:75]:
        w.add([f"def run_{f.name}(task, state=None, model_type=None, prompt=None, image=None, video=None):",
               f"    return wgp.{f.name}({call_args(rng, f, scope)})", ""], points=1)
    w.add(["def main():", "    orch = WanOrchestrator()", "    while True:",
           "        time.sleep(1)", "", "", 'if __name__ == "__main__":', "    main()"])
    files.append(w)

    # test_model_comparison.py: loops over models and configs.
    t = WrapperFile("test_model_comparison.py", [
        '"""Compare outputs across models (benchmark fixture)."""', "import os", "import sys", "",
        'sys.path.insert(0, "Wan2GP")', "import wgp", "from wgp import get_model_def, get_default_settings", "",
        "MODELS = ["] + [f'    "{m}",' for m in models] + ["]", ""])
    t.points += 1 + 1 + 2 + len(models)
    t.add(["def test_all_models_have_defaults():", "    for m in MODELS:",
           '        assert os.path.exists(os.path.join("Wan2GP", "defaults", m + ".json"))',
           "        assert get_model_def(m) is not None",
           "        settings = get_default_settings(m)",
           '        assert "num_inference_steps" in settings', "",
           "def test_small_model():",
           '    assert os.path.exists("Wan2GP/defaults/t2v_1.3B.json")',
           '    assert wgp.get_model_name("t2v_1.3B")',
           '    assert wgp.get_model_filename("t2v_1.3B", submodel_no=2)', ""], points=7)
    for f in used_bulk[75:95]:
        t.add([f"def test_{f.name}(state=None, model_type=\"t2v\", prompt=\"x\", image=None, video=None):",
               f"    assert wgp.{f.name}({call_args(rng, f, scope)}) is not None or True", ""], points=1)
    files.append(t)

    # source/wgp_patches.py: monkeypatches.
    p = WrapperFile("source/wgp_patches.py", [
        '"""Monkeypatches applied to wgp before use (benchmark fixture)."""', "import wgp", "",
        "_orig_get_lora_dir = wgp.get_lora_dir", "",
        "def _patched_get_lora_dir(model_type):",
        '    return os.path.join("loras", model_type)', "",
        "def _quiet_save(*args, **kwargs):", "    return None", "",
        "def apply():",
        "    wgp.get_lora_dir = _patched_get_lora_dir",
        "    wgp.save_video = _quiet_save",
        '    setattr(wgp, "verbose_level", 0)',
        "    wgp.server_config = dict(wgp.server_config, compile=\"\")",
        "    wgp.lock_ui_transformer = True",
        "    wgp.force_profile_no = 4",
        '    wgp.server_config["attention_mode"] = "sdpa"',
        ""], )
    p.points += 1 + 1 + 7
    for f in used_bulk[:8]:
        p.add([f"_orig_{f.name} = wgp.{f.name}", f"wgp.{f.name} = lambda *a, **k: _orig_{f.name}(*a, **k)"],
              points=2)
    p.lines.insert(1, "import os")
    files.append(p)

    # source/model_config.py: settings reads and model name strings.
    c = WrapperFile("source/model_config.py", [
        '"""Model configuration helpers (benchmark fixture)."""', "import json", "import os", "",
        "import wgp", "from shared.utils.files_locator import locate_file", ""])
    c.points += 2
    keys = ["attention_mode", "transformer_quantization", "text_encoder_quantization", "save_path",
            "compile", "profile", "vae_config", "boost", "metadata_type", "preload_model_policy",
            "UI_theme", "video_output_codec", "fit_canvas", "mixed_precision", "checkpoints_paths"]
    c.add(["def server_settings():", "    return {"] +
          [f'        "{k}": wgp.server_config.get("{k}"),' for k in keys] + ["    }", ""], points=len(keys))
    mods = [m for m in up.base_models if m not in models][:20]
    c.add(["MODEL_FILES = {"] + [f'    "{m}": "defaults/{m}.json",' for m in mods] + ["}", ""],
          points=len(mods))
    c.add(["def module_vars():", "    return ("] +
          [f"        wgp.{v}," for v in ("attention_modes_installed", "attention_modes_supported",
                                           "transformer_types", "text_encoder_quantization",
                                           "boost", "vae_config", "preload_model_policy",
                                           "lora_preselected_preset", "models_def", "WanGP_version",
                                           "settings_version", "displayed_model_types")] +
          ["    )", ""], points=12)
    c.add(["def lora_settings(model_type, state=None):",
           "    presets = wgp.get_lora_presets(model_type)",
           '    mult = wgp.parse_loras_multipliers("1.0 0.8", 2, 30, merge_slist=None)',
           "    return presets, mult", ""], points=2)
    files.append(c)

    # source/video_utils.py: a few more direct calls with keywords.
    v = WrapperFile("source/video_utils.py", [
        '"""Video helpers built on wgp (benchmark fixture)."""', "import wgp",
        "from wgp import save_video, get_available_filename", ""])
    v.points += 3
    v.add(["def save(tensor, path, fps=16):",
           '    save_video(tensor, path, fps=fps, codec_type="libx264_8", nrow=1, normalize=True)',
           '    return get_available_filename(path, None, suffix=".mp4")', "",
           "def fit(image, width, height):",
           "    return wgp.fit_image_into_canvas(image, width, height, fit_crop=True)", "",
           "def resample(video_in, start_frame, max_frames, target_fps):",
           '    return wgp.get_resampled_video(video_in, start_frame, max_frames, target_fps, bridge="torch")',
           "",
           "def masked(input_video, input_mask, height, width, max_frames):",
           "    return wgp.preprocess_video_with_mask(input_video, input_mask, height, width, max_frames,",
           "                                          start_frame=0, fit_canvas=True, block_size=16)",
           "",
           "def safe_name(name):", "    return wgp.sanitize_file_name(name, rep=\"_\")", "",
           "def length(model_type, frames):",
           "    return wgp.compute_video_length(model_type, frames, fps=24)", ""], points=7)
    files.append(v)

    # A wrapper file with no integration points at all.
    u = WrapperFile("source/common_utils.py", [
        '"""Plain helpers with no upstream use (benchmark fixture)."""', "import os", "",
        "def ensure_dir(path):", "    os.makedirs(path, exist_ok=True)", "    return path", ""])
    files.append(u)

    os.makedirs(out)
    for f in files:
        dst = os.path.join(out, f.path)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(dst, "w") as fh:
            fh.write(f.text())
    for name in ("source/__init__.py",):
        open(os.path.join(out, name), "w").close()
    with open(os.path.join(out, ".gitignore"), "w") as fh:
        fh.write("Wan2GP/\n__pycache__/\noutputs/\n.venv/\n")
    with open(os.path.join(out, "requirements.txt"), "w") as fh:
        fh.write("-r Wan2GP/requirements.txt\nsupabase==2.15.0\npython-dotenv==1.0.1\n")
    with open(os.path.join(out, "README.md"), "w") as fh:
        fh.write("# Headless wrapper (benchmark fixture)\n")
    return files


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--jump", type=int, default=DRIFT_COMMITS,
                    help="the wrapper sits at tip~JUMP (default %(default)s; the drift stays "
                         "in the last %(default)s commits)")
    args = ap.parse_args()
    out = os.path.abspath(args.outdir)
    t0 = time.perf_counter()
    if os.path.exists(out) and os.listdir(out):
        for sub in ("upstream", "wrapper", "state", "analysis", "tether.toml"):
            p = os.path.join(out, sub)
            if os.path.isdir(p):
                shutil.rmtree(p)
            elif os.path.exists(p):
                os.remove(p)
    os.makedirs(out, exist_ok=True)
    rng = random.Random(args.seed)

    upstream = os.path.join(out, "upstream")
    up, n_commits = build_upstream(rng, upstream)

    # The wrapper is written against the base commit (tip~JUMP): its
    # calls are generated from the signatures parsed out of that wgp.py.
    base = git(upstream, "rev-parse", f"main~{args.jump}")
    tip = git(upstream, "rev-parse", "main")
    base_models = sorted(
        p[len("defaults/"):-len(".json")]
        for p in git(upstream, "ls-tree", "-r", "--name-only", base, "defaults/").splitlines())
    up.base_models = base_models
    base_funcs = base_signatures(git(upstream, "show", f"{base}:wgp.py"))

    wrapper = os.path.join(out, "wrapper")
    files = build_wrapper(random.Random(args.seed + 1), up, base_funcs, wrapper)
    wenv = dict(GIT_ENV, GIT_AUTHOR_NAME=WRAPPER_AUTHOR[0], GIT_AUTHOR_EMAIL=WRAPPER_AUTHOR[1],
                GIT_COMMITTER_NAME=WRAPPER_AUTHOR[0], GIT_COMMITTER_EMAIL=WRAPPER_AUTHOR[1],
                GIT_AUTHOR_DATE="2025-06-01T12:00:00+0000",
                GIT_COMMITTER_DATE="2025-06-01T12:00:00+0000")
    git(wrapper, "init", "-q", "-b", "main", env=wenv)
    git(wrapper, "add", "-A", env=wenv)
    git(wrapper, "commit", "-q", "-m", "Headless wrapper (benchmark fixture)", env=wenv)
    clone = os.path.join(wrapper, "Wan2GP")
    git(out, "clone", "-q", "--no-hardlinks", upstream, clone)
    git(clone, "reset", "-q", "--hard", base)

    with open(os.path.join(out, "tether.toml"), "w") as fh:
        fh.write(TOML.format(upstream=json.dumps(upstream)))

    # Counts.
    n_files = len(git(upstream, "ls-tree", "-r", "--name-only", "main").splitlines())
    wgp_lines = git(upstream, "show", "main:wgp.py").count("\n")
    base_wgp_lines = git(upstream, "show", f"{base}:wgp.py").count("\n")
    n_json = len(git(upstream, "ls-tree", "--name-only", "main", "defaults/").splitlines())
    points = sum(f.points for f in files)
    print(f"outdir             {out}")
    print(f"upstream files     {n_files}")
    print(f"upstream commits   {n_commits} (tip {tip[:12]}, wrapper at {base[:12]} = main~{args.jump})")
    print(f"wgp.py lines       {wgp_lines} at tip, {base_wgp_lines} at base")
    print(f"defaults/*.json    {n_json}")
    print(f"wrapper files      {len(files)} python, ~{points} integration points")
    print(f"config             {os.path.join(out, 'tether.toml')}")
    print(f"generated in       {time.perf_counter() - t0:.1f}s")


TOML = """\
# tether config for the generated benchmark fixture (scripts/gen_bench_repos.py).
[project]
name = "bench-wrapper"
root = "wrapper"
state_dir = "state"
analysis_dir = "analysis"

[[upstream]]
name = "wan2gp"
url = {upstream}
path = "Wan2GP"
layout = "clone"
track = "branch:main"
key_files = ["wgp.py", "defaults/*.json", "requirements.txt"]
"""


def base_signatures(source):
    """Top-level functions of wgp.py at the base commit, as Func objects with
    params (bodies dropped), parsed with ast so the wrapper matches reality."""
    tree = ast.parse(source)
    out = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        a = node.args
        params = []
        pos = a.posonlyargs + a.args
        defaults = [None] * (len(pos) - len(a.defaults)) + list(a.defaults)
        for arg, d in zip(pos, defaults):
            params.append(Param("pos", arg.arg, None if d is None else ast.unparse(d)))
        if a.vararg:
            params.append(Param("var", a.vararg.arg))
        for arg, d in zip(a.kwonlyargs, a.kw_defaults):
            params.append(Param("kwonly", arg.arg, None if d is None else ast.unparse(d)))
        if a.kwarg:
            params.append(Param("varkw", a.kwarg.arg))
        out.append(Func(node.name, params, []))
    return out


if __name__ == "__main__":
    main()
