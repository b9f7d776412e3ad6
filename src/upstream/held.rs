//! An upstream held back at its newest good commit: after an update that
//! could not be fixed, `adopt-last-good` promotes the commit before the first
//! bad one and records it here (`<state>/upstreams/<name>/held_back.json`)
//! until a newer target passes. The record remembers how the culprit failed
//! (normalised failure signatures) and the files it changed, so that a newer
//! target is re-tested once instead of bisected again (`pipeline`'s
//! `held_retest`). `check`, `health`, `update` and the service read it.

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
    /// How the failed target failed: one signature per failing case (empty
    /// in records written before signatures were kept: such a hold is
    /// bisected again as before).
    #[serde(default)]
    pub failures: Vec<FailureSignature>,
    /// The files the first bad commit changed.
    #[serde(default)]
    pub culprit_files: Vec<String>,
    /// The last re-test of a newer target while held, if any.
    #[serde(default)]
    pub last_retest: Option<Retest>,
    /// Re-tests that found the same failure (each one a bisect saved).
    #[serde(default)]
    pub retests: u32,
}

impl HeldBack {
    /// The newest target known to fail the same way: the last re-tested
    /// one, else the target that failed.
    pub fn tested_target(&self) -> &CommitInfo {
        self.last_retest
            .as_ref()
            .map_or(&self.target, |r| &r.target)
    }

    /// The hunted cases: those whose failure is remembered.
    pub fn hunted_cases(&self) -> Vec<String> {
        let mut cases: Vec<String> = self.failures.iter().map(|f| f.case.clone()).collect();
        cases.dedup();
        cases
    }
}

/// One failing case, normalised so that two runs of the same failure compare
/// equal: the case, its failure class and its message with numbers, paths,
/// addresses, times and hex ids replaced by placeholders (built by
/// `fix::FailureSignature::of`). Equal signatures mean "the same failure
/// again".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FailureSignature {
    pub case: String,
    /// The failure class's kebab-case name (`api-drift`).
    pub class: String,
    /// The normalised message.
    pub message: String,
}

impl std::fmt::Display for FailureSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.case, self.class, self.message)
    }
}

/// A newer target tested once while held back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retest {
    pub target: CommitInfo,
    pub at: jiff::Timestamp,
    /// Baseline wall time the re-test spent (sum of case durations).
    pub baseline_s: f64,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_written_before_signatures_were_kept_still_loads() {
        let commit = serde_json::json!({
            "id": "0123456789abcdef0123456789abcdef01234567",
            "short": "0123456",
            "author": "a",
            "time": "2026-01-02T03:04:05Z",
            "subject": "s"
        });
        let old = serde_json::json!({
            "at": commit, "first_bad": commit, "target": commit,
            "since": "2026-01-02T03:04:05Z", "bisect_report": "out/bisect-1"
        });
        let held: HeldBack = match serde_json::from_value(old) {
            Ok(h) => h,
            Err(e) => panic!("an old record must load: {e}"),
        };
        assert!(held.failures.is_empty());
        assert!(held.last_retest.is_none());
        assert_eq!(held.tested_target().short, "0123456");
    }
}
