//! An upstream held back at its newest good commit: after an update that
//! could not be fixed, `adopt-last-good` promotes the commit before the first
//! bad one and records it here (`<state>/upstreams/<name>/held_back.json`)
//! until a newer target passes. `check`, `health` and `update` read it.

use serde::{Deserialize, Serialize};

use super::CommitInfo;
use crate::state::StateDir;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldBack {
    /// The commit the wrapper is held at (the last good one).
    pub at: CommitInfo,
    /// The first bad commit the bisect found.
    pub first_bad: CommitInfo,
    /// The target that failed.
    pub target: CommitInfo,
    pub since: jiff::Timestamp,
    /// The bisect's report folder.
    pub bisect_report: String,
}

fn path(state: &StateDir, upstream: &str) -> std::path::PathBuf {
    state.upstream_dir(upstream).join("held_back.json")
}

pub fn load(state: &StateDir, upstream: &str) -> Option<HeldBack> {
    crate::state::read_json(&path(state, upstream))
        .ok()
        .flatten()
}

pub fn save(
    state: &StateDir,
    upstream: &str,
    held: &HeldBack,
) -> Result<(), crate::state::StateError> {
    crate::state::write_json(&path(state, upstream), held)
}

pub fn clear(state: &StateDir, upstream: &str) {
    let _ = fs_err::remove_file(path(state, upstream));
}
