//! Owns the update journal: where an update stands (analyzed, staged,
//! tested, fixing, paused on conflicts, parked for approval, aborting,
//! promoting, promoted,
//! rolled back), saved atomically at
//! `<state>/update/journal.json` after every step so a crash at any point
//! can be resumed or rolled back, and moved to
//! `<state>/update/history/<id>.json` when the update is over. Also owns the
//! paths of an update's files under `<state>/update/`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::backup::Backup;
use super::error::{UpdateError, io_err};
use super::member::MemberMove;
use crate::state::{Loaded, StateDir, read_json, read_json_or_aside, write_json};

/// Where an update stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JournalState {
    /// Analyzed and backed up; nothing staged yet.
    Analyzed,
    /// The staged tree holds the target.
    Staged,
    /// The baseline ran on the staged tree.
    Tested,
    /// The fix loop is changing the staged tree.
    Fixing,
    /// Staging left conflicts nobody resolved: the staged tree holds the
    /// markers and waits for `tether update --continue` or `--abort`. A
    /// resting state, not a crash: recovery leaves it alone.
    Paused,
    /// Tested and held by the approval gate (`update.promote`): the staged
    /// tree and the backup wait for `tether approve` or `tether reject`.
    /// The journal itself lives in the parked file
    /// (`<state>/update/parked/<id>.json`), not in `journal.json`.
    Parked,
    /// `tether update --abort` is rolling the paused update back; recovery
    /// finishes the rollback.
    Aborting,
    /// The live wrapper is being moved to the staged head.
    Promoting,
    /// The live wrapper is at the staged head.
    Promoted,
    /// The update was abandoned; the live wrapper is as it was.
    RolledBack,
}

impl JournalState {
    /// Whether the update is over (nothing to resume or roll back).
    pub fn is_final(self) -> bool {
        matches!(self, JournalState::Promoted | JournalState::RolledBack)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JournalState::Analyzed => "analyzed",
            JournalState::Staged => "staged",
            JournalState::Tested => "tested",
            JournalState::Fixing => "fixing",
            JournalState::Paused => "paused",
            JournalState::Parked => "parked",
            JournalState::Aborting => "aborting",
            JournalState::Promoting => "promoting",
            JournalState::Promoted => "promoted",
            JournalState::RolledBack => "rolled-back",
        }
    }
}

impl std::fmt::Display for JournalState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step of the journal's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub state: JournalState,
    pub at: jiff::Timestamp,
    pub note: Option<String>,
}

/// One update, as saved after every step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub id: String,
    pub upstream: String,
    pub state: JournalState,
    /// The upstream commit the wrapper had.
    pub from: String,
    /// The target upstream commit.
    pub to: String,
    /// A group update: the group's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// A group update: the moves of the members after the first (whose move
    /// is `upstream`, `from`, `to`), in the group's order. A journal
    /// without them (every single-upstream update) is a group of one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<MemberMove>,
    /// The live wrapper's root.
    pub live_root: PathBuf,
    /// The live wrapper's HEAD when the update started.
    pub live_head: String,
    /// Its branch (`refs/heads/...`), `None` when HEAD was detached.
    pub live_branch: Option<String>,
    pub staged_dir: PathBuf,
    pub staged_branch: String,
    /// The staged branch's head once something was committed there.
    pub staged_head: Option<String>,
    pub backup_dir: PathBuf,
    /// The files staging left in conflict (relative to the wrapper root),
    /// kept while the update is paused and after `--continue`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<String>,
    /// The update was paused on conflicts and resumed by `--continue`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub continued: bool,
    pub started: jiff::Timestamp,
    pub updated: jiff::Timestamp,
    pub transitions: Vec<Transition>,
}

/// Paths of the update files in a state dir.
#[derive(Debug, Clone)]
pub struct UpdatePaths {
    root: PathBuf,
}

impl UpdatePaths {
    pub fn new(state: &StateDir) -> Self {
        Self {
            root: state.root().join("update"),
        }
    }
    /// `<state>/update`.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The journal of the unfinished update.
    pub fn journal(&self) -> PathBuf {
        self.root.join("journal.json")
    }
    /// The journal of a finished update.
    pub fn history(&self, id: &str) -> PathBuf {
        self.root.join("history").join(format!("{id}.json"))
    }
    /// Everything one update writes: `<state>/update/<id>`.
    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }
    pub fn backup_dir(&self, id: &str) -> PathBuf {
        self.run_dir(id).join("backup")
    }
    pub fn staged_dir(&self, id: &str) -> PathBuf {
        self.run_dir(id).join("staged")
    }
}

/// A new update id: the time (UTC, to the second) and the upstream's name,
/// with a counter when that id was used already.
pub fn new_id(state: &StateDir, upstream: &str) -> String {
    let paths = UpdatePaths::new(state);
    let stamp = crate::env::now().strftime("%Y%m%dT%H%M%SZ").to_string();
    let base = format!("{stamp}-{upstream}");
    let mut id = base.clone();
    let mut n = 2;
    while paths.run_dir(&id).exists() || paths.history(&id).exists() {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

/// The staged clone's branch for update `id`.
pub fn staged_branch(id: &str) -> String {
    format!("tether/update-{id}")
}

impl Journal {
    /// A journal at [`JournalState::Analyzed`] for the update `backup` was
    /// taken for, going to upstream commit `to`. Not saved yet.
    pub fn new(state: &StateDir, backup: &Backup, to: &str) -> Journal {
        let paths = UpdatePaths::new(state);
        let now = crate::env::now();
        Journal {
            id: backup.id.clone(),
            upstream: backup.upstream.clone(),
            state: JournalState::Analyzed,
            from: backup.upstream_commit.clone(),
            to: to.to_owned(),
            group: None,
            peers: Vec::new(),
            live_root: backup.wrapper_root.clone(),
            live_head: backup.head.clone(),
            live_branch: backup.branch.clone(),
            staged_dir: paths.staged_dir(&backup.id),
            staged_branch: staged_branch(&backup.id),
            staged_head: None,
            backup_dir: backup.dir.clone(),
            conflicts: Vec::new(),
            continued: false,
            started: now,
            updated: now,
            transitions: vec![Transition {
                state: JournalState::Analyzed,
                at: now,
                note: None,
            }],
        }
    }

    /// A journal for a group update: `backup` was taken for every moving
    /// member, `targets` holds each member's target in the backup's order.
    pub fn new_group(
        state: &StateDir,
        backup: &Backup,
        group: &str,
        targets: &[String],
    ) -> Journal {
        let members = backup.members();
        let mut j = Journal::new(state, backup, targets.first().map_or("", String::as_str));
        j.group = Some(group.to_owned());
        j.peers = members
            .iter()
            .zip(targets)
            .skip(1)
            .map(|(m, to)| MemberMove {
                upstream: m.upstream.clone(),
                from: m.upstream_commit.clone(),
                to: to.clone(),
            })
            .collect();
        j
    }

    /// Every member's move, the first one first.
    pub fn members(&self) -> Vec<MemberMove> {
        let mut out = vec![MemberMove {
            upstream: self.upstream.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
        }];
        out.extend(self.peers.iter().cloned());
        out
    }

    /// What the update is of, in words: "`name`" or "group `name`".
    pub fn subject(&self) -> String {
        match &self.group {
            Some(g) => format!("group `{g}`"),
            None => format!("`{}`", self.upstream),
        }
    }

    /// The unfinished update's journal, if any. A journal that is corrupt
    /// or from a newer tether is moved aside and refused: recovery does not
    /// guess what such an update did.
    pub fn load(state: &StateDir) -> Result<Option<Journal>, UpdateError> {
        let path = UpdatePaths::new(state).journal();
        match read_json_or_aside(&path)? {
            Loaded::Missing => Ok(None),
            Loaded::Found(j) => Ok(Some(j)),
            Loaded::MovedAside { aside, why } => Err(UpdateError::JournalUnreadable {
                path,
                aside,
                why,
                updates: UpdatePaths::new(state).root().to_path_buf(),
            }),
        }
    }

    /// The paused update's journal, read without changing anything (the
    /// service and health ask; a journal that cannot be read reads as none).
    pub fn paused(state: &StateDir) -> Option<Journal> {
        #[derive(Deserialize)]
        struct Envelope {
            format_version: u32,
            data: Journal,
        }
        let bytes = fs_err::read(UpdatePaths::new(state).journal()).ok()?;
        let e: Envelope = serde_json::from_slice(&bytes).ok()?;
        (e.format_version == crate::state::FORMAT_VERSION && e.data.state == JournalState::Paused)
            .then_some(e.data)
    }

    /// Saves the journal atomically.
    pub fn save(&self, state: &StateDir) -> Result<(), UpdateError> {
        write_json(&UpdatePaths::new(state).journal(), self)?;
        Ok(())
    }

    /// Moves to `next`, with an optional note, and saves.
    pub fn advance(
        &mut self,
        state: &StateDir,
        next: JournalState,
        note: Option<String>,
    ) -> Result<(), UpdateError> {
        let now = crate::env::now();
        tracing::info!(update = %self.id, from = %self.state, to = %next, "update state");
        self.state = next;
        self.updated = now;
        self.transitions.push(Transition {
            state: next,
            at: now,
            note,
        });
        self.save(state)
    }

    /// Files a finished journal under `history/<id>.json` and removes the
    /// current journal.
    pub fn archive(&self, state: &StateDir) -> Result<(), UpdateError> {
        let paths = UpdatePaths::new(state);
        write_json(&paths.history(&self.id), self)?;
        let current = paths.journal();
        match fs_err::remove_file(&current) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("remove the finished journal", &current)(e)),
        }
    }

    /// A finished update's journal from the history.
    pub fn load_history(state: &StateDir, id: &str) -> Result<Option<Journal>, UpdateError> {
        Ok(read_json(&UpdatePaths::new(state).history(id))?)
    }
}
