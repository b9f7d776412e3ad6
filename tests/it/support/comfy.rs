//! A ComfyUI-shaped world for the workflow analysis: a core upstream
//! (`comfyui`, a `nodes.py` with `NODE_CLASS_MAPPINGS`) and a node pack
//! (`videonodes`, its mapping re-exported by `__init__.py`), each with a
//! history that breaks the wrapper's workflows, and a wrapper holding both
//! as clones, API-format, editor-format and broken workflows, and an
//! `app.py` that patches a workflow input by node id.
//!
//! The changes from the first to the last commit: core `KSampler` gains a
//! required `cfg` (default 8.0) and a required `sampler_name` (no default),
//! `CheckpointLoader` drops its third output (VAE); the pack renames
//! `VideoResize`'s `width` to `target_width`, renames class `OldCombine`
//! to `VideoCombine` (same Python class) and drops `VideoResize`'s
//! optional `crop`; both define `SharedNode`.

use std::path::{Path, PathBuf};

use super::git::GitRepo;
use super::tether::Tether;

pub const CORE_NODES_V1: &str = r#"class CheckpointLoader:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"ckpt_name": (["a.safetensors", "b.safetensors"],)}}
    RETURN_TYPES = ("MODEL", "CLIP", "VAE")

class EmptyLatent:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"width": ("INT", {"default": 512}), "height": ("INT", {"default": 512})}}
    RETURN_TYPES = ("LATENT",)

class KSampler:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"model": ("MODEL",), "latent": ("LATENT",), "seed": ("INT", {"default": 0})}}
    RETURN_TYPES = ("LATENT",)

class VAEDecode:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"samples": ("LATENT",), "vae": ("VAE",)}}
    RETURN_TYPES = ("IMAGE",)

class SharedNode:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {}}
    RETURN_TYPES = ()

NODE_CLASS_MAPPINGS = {
    "CheckpointLoader": CheckpointLoader,
    "EmptyLatent": EmptyLatent,
    "KSampler": KSampler,
    "VAEDecode": VAEDecode,
    "SharedNode": SharedNode,
}
"#;

/// The core's `nodes.py` at its last commit.
pub fn core_nodes_v2() -> String {
    CORE_NODES_V1
        .replace(
            r#"RETURN_TYPES = ("MODEL", "CLIP", "VAE")"#,
            r#"RETURN_TYPES = ("MODEL", "CLIP")"#,
        )
        .replace(
            r#""seed": ("INT", {"default": 0})}}"#,
            r#""seed": ("INT", {"default": 0}), "cfg": ("FLOAT", {"default": 8.0}), "sampler_name": (["euler", "ddim"],)}}"#,
        )
}

pub const PACK_INIT: &str =
    "from .nodes import NODE_CLASS_MAPPINGS as M\n\nNODE_CLASS_MAPPINGS = {**M}\n";

pub const PACK_NODES_V1: &str = r#"class VideoResize:
    @classmethod
    def INPUT_TYPES(s):
        return {
            "required": {"images": ("IMAGE",), "width": ("INT", {"default": 512}), "height": ("INT", {"default": 512})},
            "optional": {"crop": ("BOOLEAN", {"default": False})},
        }
    RETURN_TYPES = ("IMAGE",)

class Combine:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"images": ("IMAGE",), "fps": ("INT", {"default": 8})}}
    RETURN_TYPES = ("VIDEO",)

class SharedNode:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {}}
    RETURN_TYPES = ()

NODE_CLASS_MAPPINGS = {"VideoResize": VideoResize, "OldCombine": Combine}
NODE_CLASS_MAPPINGS.update({"SharedNode": SharedNode})
"#;

/// The pack's `nodes.py` at its last commit.
pub fn pack_nodes_v2() -> String {
    PACK_NODES_V1
        .replace(r#""width": ("INT""#, r#""target_width": ("INT""#)
        .replace(
            r#",
            "optional": {"crop": ("BOOLEAN", {"default": False})},"#,
            ",",
        )
        .replace(r#""OldCombine": Combine"#, r#""VideoCombine": Combine"#)
}

/// The wrapper's API-format workflow.
pub const T2V_JSON: &str = r#"{
  "3": {"class_type": "CheckpointLoader", "inputs": {"ckpt_name": "a.safetensors"}},
  "5": {"class_type": "EmptyLatent", "inputs": {"width": 768, "height": 512}},
  "7": {"class_type": "KSampler", "inputs": {"model": ["3", 0], "latent": ["5", 0], "seed": 42}},
  "8": {"class_type": "VAEDecode", "inputs": {"samples": ["7", 0], "vae": ["3", 2]}},
  "12": {"class_type": "VideoResize", "inputs": {"images": ["8", 0], "width": 768, "height": 512, "crop": true}},
  "13": {"class_type": "OldCombine", "inputs": {"images": ["12", 0], "fps": 8}},
  "14": {"class_type": "SharedNode", "inputs": {}}
}
"#;

/// The wrapper's Python: loads the workflow by a literal path and patches
/// node 12's `width`.
pub const APP_PY: &str = r#"import json

wf = json.load(open("workflows/t2v.json"))
wf["12"]["inputs"]["width"] = 1024
"#;

pub struct ComfyWorld {
    pub _tmp: tempfile::TempDir,
    /// The project folder (holds `tether.toml`).
    pub root: PathBuf,
    pub core: GitRepo,
    pub pack: GitRepo,
    pub wrapper: GitRepo,
    /// Each upstream's commits, oldest first.
    pub core_commits: Vec<String>,
    pub pack_commits: Vec<String>,
}

impl ComfyWorld {
    /// The world with the wrapper at both upstreams' first commits.
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("project");
        let core = GitRepo::init(tmp.path().join("ComfyUI"));
        core.write("nodes.py", CORE_NODES_V1)
            .write("execution.py", "def run(prompt):\n    pass\n");
        let c0 = core.commit("core: first nodes");
        core.write("nodes.py", core_nodes_v2());
        let c1 = core.commit("core: KSampler needs cfg and sampler_name; checkpoint has no VAE");
        let pack = GitRepo::init(tmp.path().join("VideoNodes"));
        pack.write("__init__.py", PACK_INIT)
            .write("nodes.py", PACK_NODES_V1);
        let p0 = pack.commit("pack: first nodes");
        pack.write("nodes.py", pack_nodes_v2());
        let p1 = pack.commit("pack: rename width and OldCombine");
        let wrapper = GitRepo::init(root.join("wrapper"));
        wrapper
            .write("workflows/t2v.json", T2V_JSON)
            .write(
                "workflows/editor.json",
                r#"{"nodes": [], "links": [], "version": 0.4}"#,
            )
            .write(
                "workflows/broken.json",
                "{\n  \"1\": {\"class_type\": \"X\",,\n}\n",
            )
            .write("app.py", APP_PY);
        wrapper.add_clone(&core, "ComfyUI", &c0);
        wrapper.add_clone(&pack, "custom_nodes/VideoNodes", &p0);
        wrapper.commit("app with workflows");
        fs_err::write(
            root.join("tether.toml"),
            format!(
                r#"[project]
root = "wrapper"

[integration]
workflows = ["workflows/*.json"]

[[upstream]]
name = "comfyui"
url = "{}"
path = "ComfyUI"
layout = "clone"

[[upstream]]
name = "videonodes"
url = "{}"
path = "custom_nodes/VideoNodes"
layout = "clone"
"#,
                core.url(),
                pack.url()
            ),
        )
        .unwrap();
        ComfyWorld {
            _tmp: tmp,
            root,
            core,
            pack,
            wrapper,
            core_commits: vec![c0, c1],
            pack_commits: vec![p0, p1],
        }
    }

    pub fn tether(&self) -> Tether {
        Tether::new(&self.root)
    }

    /// The analysis folder of `upstream`'s only analysed range.
    pub fn analysis_dir(&self, upstream: &str) -> PathBuf {
        let base = self.root.join("maintenance_analysis").join(upstream);
        let mut dirs: Vec<_> = fs_err::read_dir(&base)
            .unwrap_or_else(|e| panic!("{}: {e}", base.display()))
            .map(|e| e.unwrap().path())
            .collect();
        dirs.sort();
        dirs.pop().unwrap()
    }

    pub fn analysis_json(&self, upstream: &str) -> serde_json::Value {
        let text =
            fs_err::read_to_string(self.analysis_dir(upstream).join("analysis.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    pub fn path(&self) -> &Path {
        &self.root
    }
}

/// The workflow findings of an analysis as (workflow, node, input, change).
pub fn workflow_findings(a: &serde_json::Value) -> Vec<(String, String, Option<String>, String)> {
    a["workflows"]["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no workflow findings in {a:#}"))
        .iter()
        .map(|f| {
            (
                f["workflow"].as_str().unwrap().to_owned(),
                f["node"].as_str().unwrap().to_owned(),
                f["input"].as_str().map(str::to_owned),
                f["kind"]["change"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The one workflow finding at (node, input, change).
#[track_caller]
pub fn workflow_finding<'a>(
    a: &'a serde_json::Value,
    node: &str,
    input: Option<&str>,
    change: &str,
) -> &'a serde_json::Value {
    a["workflows"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["node"] == node && f["input"].as_str() == input && f["kind"]["change"] == change
        })
        .unwrap_or_else(|| {
            panic!(
                "no `{change}` finding for node {node} input {input:?}: {:#?}",
                workflow_findings(a)
            )
        })
}
