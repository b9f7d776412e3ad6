//! Owns change analysis: what changed upstream between two commits and which
//! of the wrapper's integration points that touches.
//!
//! - `diff`: file-level changes and key-file diffs between two commits;
//! - `requirements`: requirements files read as package changes;
//! - `json_config`: JSON model configs compared key by key;
//! - `python`: the wrapper's integration points and their resolution against
//!   the upstream's definitions, parsed with tree-sitter;
//! - `run`: the orchestration and report writing; `model` the report model;
//! - `caps`: what the reports list and how large they grow;
//! - `comfy`: ComfyUI node classes and the wrapper's workflow JSON files;
//! - `local_copy`: a vendored copy's local patch, indexed, with each file's
//!   predicted carry-forward.

pub mod caps;
pub mod checklist;
pub mod comfy;
pub mod diff;
pub mod index_cache;
pub mod json_config;
pub mod local_copy;
pub mod model;
pub mod python;
pub mod requirements;
pub mod run;
pub mod stack_deps;
pub mod upstream_python;
pub mod wrapper_files;

pub use model::{Analysis, AnalysisVerdict};
pub use run::{AnalysisError, AnalyzeOptions, Analyzed, analyze};
