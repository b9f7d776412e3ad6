//! The last update of each upstream, read from the update journals
//! (`<state>/update/history/<id>.json` for finished updates,
//! `<state>/update/journal.json` for an unfinished one): promoted or rolled
//! back, when and why. Health reports it apart from the baseline trend, so
//! a rejected candidate is news, not a failing wrapper. Read-only: an
//! unreadable journal is skipped, never moved aside.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::update::{JournalState, Transition, UpdatePaths};

/// Where an update stands, as health tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateStatus {
    /// The live wrapper was moved to the candidate.
    Promoted,
    /// The candidate was discarded; the live wrapper is as it was.
    RolledBack,
    /// Unfinished, and a tether command holds the state lock: running now.
    Running,
    /// Unfinished, and nobody holds the lock: the process died mid-way; the
    /// next tether command finishes or rolls it back.
    Interrupted,
    /// Paused on conflicts: waits for `tether update --continue` or
    /// `--abort`.
    Paused,
}

impl UpdateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateStatus::Promoted => "promoted",
            UpdateStatus::RolledBack => "rolled back",
            UpdateStatus::Running => "running",
            UpdateStatus::Interrupted => "interrupted",
            UpdateStatus::Paused => "paused",
        }
    }
}

/// An upstream's last update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastUpdate {
    pub id: String,
    pub status: UpdateStatus,
    /// The journal's state (for an unfinished update, where it stopped).
    pub state: JournalState,
    /// Upstream commits: the one the wrapper had, and the target.
    pub from: String,
    pub to: String,
    /// When it reached `state`.
    pub at: jiff::Timestamp,
    /// Why, as journaled (a rollback's reason).
    pub reason: Option<String>,
    /// `<outputs>/update-<id>`, when it exists.
    pub report_dir: Option<PathBuf>,
}

impl LastUpdate {
    /// What happened, for people: "rolled back at ... (why); the live
    /// wrapper is unchanged".
    pub fn sentence(&self) -> String {
        let at = self.at.strftime("%Y-%m-%d %H:%M UTC");
        let why = self
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        match self.status {
            UpdateStatus::Promoted => format!("promoted at {at}{why}; the live wrapper runs it"),
            UpdateStatus::RolledBack => {
                format!("rolled back at {at}{why}; the live wrapper is unchanged")
            }
            UpdateStatus::Running => format!("running (at `{}` since {at})", self.state),
            UpdateStatus::Interrupted => format!(
                "interrupted at `{}` ({at}); the next tether command finishes or rolls it back",
                self.state
            ),
            UpdateStatus::Paused => format!(
                "paused on conflicts since {at} (update {}); resolve them in the staged tree and run `tether update --continue`, or `tether update --abort`",
                self.id
            ),
        }
    }

    /// The target commit, shortened.
    pub fn to_short(&self) -> String {
        self.to.chars().take(7).collect()
    }
}

/// The versioned envelope of a state file (see `crate::state`).
#[derive(Deserialize)]
struct Envelope {
    format_version: u32,
    data: JournalView,
}

/// The journal fields health reads.
#[derive(Deserialize)]
struct JournalView {
    id: String,
    upstream: String,
    state: JournalState,
    from: String,
    to: String,
    updated: jiff::Timestamp,
    #[serde(default)]
    transitions: Vec<Transition>,
}

fn read(path: &Path) -> Option<JournalView> {
    let bytes = fs_err::read(path).ok()?;
    match serde_json::from_slice::<Envelope>(&bytes) {
        Ok(e) if e.format_version == crate::state::FORMAT_VERSION => Some(e.data),
        Ok(_) | Err(_) => {
            tracing::debug!(path = %path.display(), "update journal unreadable; not reported");
            None
        }
    }
}

/// The last update of `upstream`: the unfinished one, else the newest in the
/// history. `lock_held` says whether a tether command holds the state lock.
pub fn last_update(cfg: &Config, upstream: &str, lock_held: bool) -> Option<LastUpdate> {
    let paths = UpdatePaths::new(&crate::state::StateDir::new(&cfg.project.state_dir));
    if let Some(j) = read(&paths.journal()).filter(|j| j.upstream == upstream)
        && !j.state.is_final()
    {
        let status = if j.state == JournalState::Paused {
            UpdateStatus::Paused
        } else if lock_held {
            UpdateStatus::Running
        } else {
            UpdateStatus::Interrupted
        };
        return Some(view(cfg, j, status));
    }
    let history = paths.root().join("history");
    let newest = fs_err::read_dir(&history)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| read(&p))
        .filter(|j| j.upstream == upstream && j.state.is_final())
        .max_by_key(|j| j.updated)?;
    let status = if newest.state == JournalState::Promoted {
        UpdateStatus::Promoted
    } else {
        UpdateStatus::RolledBack
    };
    Some(view(cfg, newest, status))
}

fn view(cfg: &Config, j: JournalView, status: UpdateStatus) -> LastUpdate {
    let last = j.transitions.iter().rev().find(|t| t.state == j.state);
    let report_dir = cfg.project.outputs_dir.join(format!("update-{}", j.id));
    LastUpdate {
        status,
        state: j.state,
        at: last.map_or(j.updated, |t| t.at),
        reason: last
            .and_then(|t| t.note.as_deref())
            .map(|n| crate::redact::redact(n).into_owned()),
        report_dir: report_dir.is_dir().then_some(report_dir),
        id: j.id,
        from: j.from,
        to: j.to,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(id: &str, upstream: &str, state: &str, at: &str, note: Option<&str>) -> String {
        serde_json::json!({
            "format_version": crate::state::FORMAT_VERSION,
            "data": {
                "id": id,
                "upstream": upstream,
                "state": state,
                "from": "1111111aaaa",
                "to": "2222222bbbb",
                "updated": at,
                "transitions": [
                    {"state": "analyzed", "at": "2025-01-01T00:00:00Z", "note": null},
                    {"state": state, "at": at, "note": note},
                ],
            }
        })
        .to_string()
    }

    #[test]
    fn the_newest_finished_update_of_each_upstream_and_an_unfinished_one() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Config::parse(
            "[project]\nstate_dir = \"state\"\noutputs_dir = \"out\"\n\n[[upstream]]\nname = \"up\"\nurl = \"u\"\npath = \"p\"\nlayout = \"clone\"\n",
            dir.path(),
        )
        .unwrap();
        let history = dir.path().join("state/update/history");
        fs_err::create_dir_all(&history).unwrap();
        assert_eq!(last_update(&cfg, "up", false), None);
        let write = |name: &str, text: String| fs_err::write(history.join(name), text).unwrap();
        write(
            "a.json",
            journal("a", "up", "promoted", "2025-01-02T00:00:00Z", None),
        );
        write(
            "b.json",
            journal(
                "b",
                "up",
                "rolled-back",
                "2025-01-03T00:00:00Z",
                Some("the baseline still fails (token=abc123 here)"),
            ),
        );
        write(
            "c.json",
            journal("c", "other", "promoted", "2025-01-04T00:00:00Z", None),
        );
        write("d.json", "{not json".into());
        fs_err::create_dir_all(dir.path().join("out/update-b")).unwrap();

        let l = last_update(&cfg, "up", false).unwrap();
        assert_eq!(l.id, "b");
        assert_eq!(l.status, UpdateStatus::RolledBack);
        assert_eq!(l.to_short(), "2222222");
        assert_eq!(l.report_dir, Some(dir.path().join("out/update-b")));
        let sentence = l.sentence();
        assert!(
            sentence.starts_with(
                "rolled back at 2025-01-03 00:00 UTC (the baseline still fails (token="
            ) && sentence.ends_with(" here)); the live wrapper is unchanged")
                && !sentence.contains("abc123"),
            "{sentence}"
        );
        // read-only: the unreadable file is skipped, not moved aside
        assert!(history.join("d.json").is_file());

        // an unfinished update comes first: running while the lock is held,
        // interrupted when nobody holds it
        fs_err::write(
            dir.path().join("state/update/journal.json"),
            journal("e", "up", "fixing", "2025-01-05T00:00:00Z", None),
        )
        .unwrap();
        assert_eq!(
            last_update(&cfg, "up", true).unwrap().status,
            UpdateStatus::Running
        );
        let l = last_update(&cfg, "up", false).unwrap();
        assert_eq!(l.status, UpdateStatus::Interrupted);
        assert!(
            l.sentence().starts_with("interrupted at `fixing`"),
            "{}",
            l.sentence()
        );
        assert_eq!(last_update(&cfg, "other", false).unwrap().id, "c");
    }
}
