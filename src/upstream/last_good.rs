//! The newest upstream commit the baseline passed on, per upstream
//! (`<state>/upstreams/<name>/last_good.json`): recorded when an update is
//! promoted or the baseline passes on the live wrapper, read by `bisect` as
//! its default good end. It lives with the upstream's state, not the
//! service's, so every command sees the same value.

use serde::{Deserialize, Serialize};

use crate::state::StateDir;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastGood {
    /// The commit id.
    pub commit: String,
    pub at: jiff::Timestamp,
}

fn path(state: &StateDir, upstream: &str) -> std::path::PathBuf {
    state.upstream_dir(upstream).join("last_good.json")
}

/// The recorded last good commit. A state dir from before this file existed
/// kept it in the service's state (`service/state.json`,
/// `upstreams.<name>.last_good`), which is read as a fallback.
pub fn load(state: &StateDir, upstream: &str) -> Option<String> {
    if let Ok(Some(g)) = crate::state::read_json::<LastGood>(&path(state, upstream)) {
        return Some(g.commit);
    }
    let legacy = state.root().join("service").join("state.json");
    let text = fs_err::read_to_string(legacy).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value
        .pointer(&format!(
            "/upstreams/{}/last_good",
            upstream.replace('~', "~0").replace('/', "~1")
        ))
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

/// Records `commit` as the last good one; a failure to write is logged (the
/// record only sets a default).
pub fn record(state: &StateDir, upstream: &str, commit: &str) {
    let good = LastGood {
        commit: commit.to_owned(),
        at: crate::env::now(),
    };
    if let Err(e) = crate::state::write_json(&path(state, upstream), &good) {
        tracing::warn!(error = %e, upstream, "cannot record the last good commit");
    }
}
