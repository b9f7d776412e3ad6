//! The ComfyUI-shaped demo stack: a small ComfyUI-like core, two
//! custom-node packs and a studio app that keeps the core as a submodule and
//! pins the packs by SHA in `studio/nodes_pinned.py`, with API-format
//! workflows as its baseline cases. The core's later commits add a required
//! input, one pack's renames an input a workflow sets.
//!
//! Built by `scripts/demo_comfy.py` (embedded here, standard library only).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{DemoCommit, DemoError, run_generator};

/// The generator script, as shipped in `scripts/demo_comfy.py`.
pub const COMFY_SCRIPT: &str = include_str!("../../scripts/demo_comfy.py");

/// A demo stack on disk.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DemoStack {
    /// The folder holding `tether.toml` and every repository (absolute).
    pub root: PathBuf,
    /// `root/tether.toml`.
    #[serde(rename = "config")]
    pub config_path: PathBuf,
    /// The studio app (`root/studio`), the config's project root.
    pub app: PathBuf,
    /// `comfyui`, `vhs-mini`, `ltx-mini`: the config's upstream names.
    pub members: Vec<DemoMember>,
    /// The app's API-format workflows its cases run (relative to `app`).
    pub workflows: Vec<String>,
    /// The baseline case names, one per workflow.
    pub cases: Vec<String>,
}

/// One upstream of the stack.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DemoMember {
    /// The upstream name in `tether.toml` (and the pin dict's key).
    pub name: String,
    /// Its git repository, the config's upstream URL.
    pub path: PathBuf,
    /// The commit the app pins (or its submodule is checked out at).
    pub base: String,
    /// Every commit, oldest first (the first is `base`).
    pub commits: Vec<DemoCommit>,
}

impl DemoStack {
    /// The member called `name`.
    pub fn member(&self, name: &str) -> Option<&DemoMember> {
        self.members.iter().find(|m| m.name == name)
    }
}

/// Builds the demo stack in `dir` (created if missing; must be empty) by
/// running the embedded generator with `python`.
pub fn create_stack(dir: &Path, python: &str) -> Result<DemoStack, DemoError> {
    run_generator(dir, python, COMFY_SCRIPT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_is_embedded() {
        assert!(COMFY_SCRIPT.contains("def build_core"));
        assert!(COMFY_SCRIPT.contains("CUSTOM_NODES_PINNED"));
    }
}
