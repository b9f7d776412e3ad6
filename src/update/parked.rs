//! Owns the files of the approval gate: a parked update
//! (`<state>/update/parked/<id>.json`: its journal at
//! [`JournalState::Parked`], what `tether pending` shows, when it expires)
//! and an upstream held by `tether reject`
//! (`<state>/update/rejected/<upstream>.json`: the target it rejected).
//!
//! Parking is crash-safe by order: the parked file is written (atomically)
//! before the journal is removed, and approval writes the journal back
//! before anything moves and removes the parked file only once the update
//! is over. So whenever both exist, the parked file wins: recovery drops a
//! journal that has not started promoting ([`parked_journal`]) and the
//! staged tree and backup stay for `tether approve`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::error::{UpdateError, io_err};
use super::journal::{Journal, JournalState, UpdatePaths};
use crate::state::{StateDir, read_json, write_json};

/// A tested update waiting for `tether approve` or `tether reject`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkedUpdate {
    /// Its journal, at [`JournalState::Parked`]: the staged tree, the
    /// backup and the live HEAD it was tested against.
    pub journal: Journal,
    pub parked_at: jiff::Timestamp,
    pub expires: jiff::Timestamp,
    /// Why the policy (`update.promote`) held it, in words.
    pub reasons: Vec<String>,
    pub summary: ParkedSummary,
}

/// What a person needs to decide, as the update's report said it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkedSummary {
    /// `clear`, `at-risk` or `breaking`; `None` without an analysis.
    pub analysis_verdict: Option<String>,
    /// `name: old -> new` of each protected package that changes.
    pub protected_changes: Vec<String>,
    /// Each case of the final baseline run: `case: status` (and its
    /// verdict against the reference, when compared).
    pub baseline: Vec<String>,
    /// The commits the fix loop made in the staged tree (`short subject`).
    pub fix_commits: Vec<String>,
    /// The update's report folder.
    pub report_dir: Option<PathBuf>,
}

impl ParkedUpdate {
    pub fn id(&self) -> &str {
        &self.journal.id
    }

    pub fn is_expired(&self, now: jiff::Timestamp) -> bool {
        now >= self.expires
    }

    /// Whether the update moves `upstream` (its own or a group member's).
    pub fn moves(&self, upstream: &str) -> bool {
        self.journal
            .members()
            .iter()
            .any(|m| m.upstream == upstream)
    }
}

fn parked_dir(state: &StateDir) -> PathBuf {
    UpdatePaths::new(state).root().join("parked")
}

fn parked_path(state: &StateDir, id: &str) -> PathBuf {
    parked_dir(state).join(format!("{id}.json"))
}

/// Parks the journal's update: the parked file first, then the journal
/// goes (a crash between the two leaves both; the parked file wins).
pub fn park(
    state: &StateDir,
    journal: &mut Journal,
    reasons: Vec<String>,
    summary: ParkedSummary,
    expiry: std::time::Duration,
) -> Result<ParkedUpdate, UpdateError> {
    let now = crate::env::now();
    let note = format!("parked for approval: {}", reasons.join("; "));
    let mut parked_journal = journal.clone();
    parked_journal.state = JournalState::Parked;
    parked_journal.updated = now;
    parked_journal.transitions.push(super::journal::Transition {
        state: JournalState::Parked,
        at: now,
        note: Some(note),
    });
    let expires = now
        .checked_add(jiff::SignedDuration::try_from(expiry).unwrap_or(jiff::SignedDuration::MAX))
        .unwrap_or(jiff::Timestamp::MAX);
    let parked = ParkedUpdate {
        journal: parked_journal.clone(),
        parked_at: now,
        expires,
        reasons,
        summary,
    };
    write_json(&parked_path(state, &journal.id), &parked)?;
    crate::failpoint::hit("gate.parked.saved");
    remove_journal(state)?;
    *journal = parked_journal;
    Ok(parked)
}

fn remove_journal(state: &StateDir) -> Result<(), UpdateError> {
    let current = UpdatePaths::new(state).journal();
    match fs_err::remove_file(&current) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("remove the parked update's journal", &current)(e)),
    }
}

/// The parked update `id`, if there is one.
pub fn load_parked(state: &StateDir, id: &str) -> Result<Option<ParkedUpdate>, UpdateError> {
    // an id is a file name: nothing that could leave the folder
    if id.is_empty() || id.contains(['/', '\\']) || id.starts_with('.') {
        return Ok(None);
    }
    Ok(read_json(&parked_path(state, id))?)
}

/// Every parked update, oldest first. Unreadable files are skipped (and
/// logged): listing never fails on one bad file.
pub fn list_parked(state: &StateDir) -> Vec<ParkedUpdate> {
    let Ok(entries) = fs_err::read_dir(parked_dir(state)) else {
        return Vec::new();
    };
    let mut out: Vec<ParkedUpdate> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| match read_json::<ParkedUpdate>(&p) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(path = %p.display(), error = %e, "unreadable parked update");
                None
            }
        })
        .collect();
    out.sort_by(|a, b| a.parked_at.cmp(&b.parked_at).then(a.id().cmp(b.id())));
    out
}

/// Removes the parked file of `id` (the update is over: promoted,
/// rejected or expired).
pub fn remove_parked(state: &StateDir, id: &str) -> Result<(), UpdateError> {
    let path = parked_path(state, id);
    match fs_err::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("remove the parked update", &path)(e)),
    }
}

/// For recovery: whether `journal` belongs to a parked update and has not
/// started promoting (a crash while parking, or before an approval moved
/// anything): then it is dropped and the update stays parked.
pub(crate) fn parked_journal(state: &StateDir, journal: &Journal) -> Result<bool, UpdateError> {
    let resting = matches!(
        journal.state,
        JournalState::Parked
            | JournalState::Analyzed
            | JournalState::Staged
            | JournalState::Tested
            | JournalState::Fixing
    );
    if !resting || !parked_path(state, &journal.id).exists() {
        return Ok(false);
    }
    remove_journal(state)?;
    Ok(true)
}

/// An upstream held by `tether reject`: its updates to `target` are not
/// staged again; a newer target ends the hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub upstream: String,
    /// The rejected update.
    pub id: String,
    /// The upstream commit it would have adopted.
    pub target: String,
    /// The commit the upstream is held at.
    pub held_at: String,
    /// `user@host`.
    pub by: String,
    pub at: jiff::Timestamp,
}

fn rejected_path(state: &StateDir, upstream: &str) -> PathBuf {
    UpdatePaths::new(state)
        .root()
        .join("rejected")
        .join(format!("{upstream}.json"))
}

pub fn save_rejection(state: &StateDir, r: &Rejection) -> Result<(), UpdateError> {
    Ok(write_json(&rejected_path(state, &r.upstream), r)?)
}

/// The hold `tether reject` put on `upstream`, if any (unreadable: none).
pub fn rejection(state: &StateDir, upstream: &str) -> Option<Rejection> {
    read_json(&rejected_path(state, upstream)).ok().flatten()
}

/// Ends the hold on `upstream` (the upstream moved).
pub fn clear_rejection(state: &StateDir, upstream: &str) -> Result<(), UpdateError> {
    let path = rejected_path(state, upstream);
    match fs_err::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("remove the rejection", &path)(e)),
    }
}
