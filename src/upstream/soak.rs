//! Owns soak: how long a pending upstream commit has been around (the later
//! of its commit time and when tether first saw it) and whether that is at
//! least the upstream's `soak`. First-seen times persist in
//! `<state_dir>/upstreams/<name>/seen.json`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::error::UpstreamError;
use crate::state::{self, StateDir};

/// Whether a commit has soaked long enough to be adopted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SoakState {
    Soaked,
    Soaking {
        /// Seconds until it has soaked.
        remaining_seconds: u64,
    },
}

impl SoakState {
    pub fn is_soaked(&self) -> bool {
        matches!(self, SoakState::Soaked)
    }

    /// The soak state of a commit committed at `commit_time`, first seen at
    /// `first_seen`, at `now`.
    pub fn at(
        commit_time: Timestamp,
        first_seen: Timestamp,
        now: Timestamp,
        soak: Duration,
    ) -> Self {
        let since = commit_time.max(first_seen).as_second();
        let age = now.as_second().saturating_sub(since).max(0) as u64;
        let need = soak.as_secs();
        if age >= need {
            SoakState::Soaked
        } else {
            SoakState::Soaking {
                remaining_seconds: need - age,
            }
        }
    }
}

/// First-seen times of commits, by full hash.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct SeenTimes {
    pub commits: BTreeMap<String, Timestamp>,
}

/// Reads and writes one upstream's first-seen times.
pub struct SeenStore {
    upstream: String,
    path: PathBuf,
    seen: SeenTimes,
}

impl SeenStore {
    /// Loads the store; a missing or unreadable file starts empty.
    pub fn load(state: &StateDir, upstream: &str) -> Result<Self, UpstreamError> {
        let path = state.upstream_dir(upstream).join("seen.json");
        let seen = state::read_json::<SeenTimes>(&path)
            .map_err(|source| UpstreamError::State {
                upstream: upstream.to_owned(),
                source,
            })?
            .unwrap_or_default();
        Ok(Self {
            upstream: upstream.to_owned(),
            path,
            seen,
        })
    }

    /// When `id` was first seen; records `now` if it is new.
    pub fn first_seen(&mut self, id: &str, now: Timestamp) -> Timestamp {
        *self.seen.commits.entry(id.to_owned()).or_insert(now)
    }

    /// Keeps only `keep` (pending commits and the current one) and saves.
    pub fn retain_and_save<'a>(
        mut self,
        keep: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), UpstreamError> {
        let keep: std::collections::BTreeSet<&str> = keep.into_iter().collect();
        self.seen.commits.retain(|id, _| keep.contains(id.as_str()));
        state::write_json(&self.path, &self.seen).map_err(|source| UpstreamError::State {
            upstream: self.upstream.clone(),
            source,
        })
    }
}

/// `1d 4h`, `3h 20m`, `12m`, `40s`: a short remaining time.
pub fn format_remaining(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    if d > 0 {
        if h > 0 {
            format!("{d}d {h}h")
        } else {
            format!("{d}d")
        }
    } else if h > 0 {
        if m > 0 {
            format!("{h}h {m}m")
        } else {
            format!("{h}h")
        }
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn age_counts_from_the_later_of_commit_and_first_seen() {
        let day = Duration::from_secs(86_400);
        // old commit, first seen an hour ago: soaking for 23h more
        assert_eq!(
            SoakState::at(ts(0), ts(1_000_000), ts(1_003_600), day),
            SoakState::Soaking {
                remaining_seconds: 82_800
            }
        );
        // commit time in the future of first seen
        assert_eq!(
            SoakState::at(ts(200_000), ts(0), ts(200_000 + 86_400), day),
            SoakState::Soaked
        );
        // zero soak: always soaked, even for a commit from the future
        assert_eq!(
            SoakState::at(ts(10), ts(10), ts(5), Duration::ZERO),
            SoakState::Soaked
        );
    }

    #[test]
    fn remaining_is_short() {
        assert_eq!(format_remaining(86_400 + 4 * 3600 + 59), "1d 4h");
        assert_eq!(format_remaining(2 * 86_400), "2d");
        assert_eq!(format_remaining(3 * 3600 + 20 * 60), "3h 20m");
        assert_eq!(format_remaining(12 * 60), "12m");
        assert_eq!(format_remaining(40), "40s");
    }
}
