//! Owns recovery from an update a crash (or kill -9) interrupted: run at the
//! start of every command that takes the state lock. An unfinished journal
//! before `Promoting` is rolled back; at `Promoting` the promotion is
//! finished when the live wrapper already moved to the staged head (or its
//! files did), and rolled back otherwise. Says what it did, in words.

use git2::Oid;
use serde::Serialize;

use super::error::{UpdateError, git_err};
use super::git_ops::{head_of, open_here, short};
use super::journal::{Journal, JournalState};
use super::promote::{complete, plan_promotion};
use super::rollback::{RollbackReport, restore_files, rollback};
use crate::config::Config;
use crate::state::StateDir;
use crate::upstream::Mirror;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecoveryAction {
    /// The update was rolled back.
    RolledBack,
    /// The interrupted promotion was finished.
    Promoted,
    /// The update had finished; its journal was filed.
    Archived,
}

/// What recovery did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recovery {
    pub id: String,
    pub upstream: String,
    /// The state the journal was left in.
    pub found: JournalState,
    pub action: RecoveryAction,
    /// One sentence saying what happened.
    pub message: String,
    /// Rollback: how the live wrapper differs from the backup (empty:
    /// identical); promotion: what was moved.
    pub details: Vec<String>,
    pub rollback: Option<RollbackReport>,
}

/// Recovers an interrupted update, if the state dir has one. The caller
/// holds the state lock.
pub fn recover(cfg: &Config) -> Result<Option<Recovery>, UpdateError> {
    let state = StateDir::new(&cfg.project.state_dir);
    let Some(mut journal) = Journal::load(&state)? else {
        return Ok(None);
    };
    let found = journal.state;
    let id = journal.id.clone();
    let upstream = journal.upstream.clone();
    let what = format!("update {id} of `{upstream}`");
    if found.is_final() {
        journal.archive(&state)?;
        return Ok(Some(Recovery {
            message: format!("{what} had finished ({found}); filed its journal"),
            id,
            upstream,
            found,
            action: RecoveryAction::Archived,
            details: Vec::new(),
            rollback: None,
        }));
    }
    let reason = format!("interrupted while {found}; rolled back by recovery");
    if found != JournalState::Promoting {
        return rolled_back(
            cfg,
            &state,
            journal,
            &reason,
            format!("{what} was interrupted while {found}; rolled it back (staged tree discarded)"),
        );
    }
    let up = cfg.upstreams.iter().find(|u| u.name == upstream);
    let staged_head = journal
        .staged_head
        .as_deref()
        .and_then(|s| Oid::from_str(s).ok());
    let (Some(up), Some(staged_head)) = (up, staged_head) else {
        return rolled_back(
            cfg,
            &state,
            journal,
            &reason,
            format!(
                "{what} was interrupted while promoting and cannot be finished (its upstream or \
             staged head is unknown); rolled it back"
            ),
        );
    };
    let root = journal.live_root.clone();
    let live = open_here(&root).map_err(git_err("opening the live wrapper", &root))?;
    let (head, _) = head_of(&live, &root)?;
    let moved = head == staged_head || index_matches(&live, staged_head);
    if moved {
        let mirror = Mirror::open_existing(&state, up).ok();
        let details = complete(up, mirror.as_ref(), &journal, staged_head)?;
        journal.advance(
            &state,
            JournalState::Promoted,
            Some("finished by recovery".into()),
        )?;
        journal.archive(&state)?;
        return Ok(Some(Recovery {
            message: format!(
                "{what} was interrupted while promoting; the wrapper had already moved to {}, so \
                 the promotion was finished (marked promoted)",
                short(staged_head)
            ),
            id,
            upstream,
            found,
            action: RecoveryAction::Promoted,
            details,
            rollback: None,
        }));
    }
    // Undo a checkout the crash cut short: only files the update changes,
    // which had no uncommitted changes (the checkout was safe).
    if head.to_string() == journal.live_head
        && let Ok(plan) = plan_promotion(up, &journal)
    {
        restore_files(&root, &journal.live_head, &plan.files)?;
    }
    rolled_back(
        cfg,
        &state,
        journal,
        &reason,
        format!("{what} was interrupted while promoting before the wrapper moved; rolled it back"),
    )
}

fn rolled_back(
    cfg: &Config,
    state: &StateDir,
    mut journal: Journal,
    reason: &str,
    message: String,
) -> Result<Option<Recovery>, UpdateError> {
    let found = journal.state;
    let report = rollback(cfg, &mut journal, state, reason)?;
    journal.archive(state)?;
    let message = if report.differences.is_empty() {
        format!("{message}; the live wrapper is as it was")
    } else {
        format!(
            "{message}; the live wrapper differs from the backup in {} way(s)",
            report.differences.len()
        )
    };
    Ok(Some(Recovery {
        id: journal.id.clone(),
        upstream: journal.upstream.clone(),
        found,
        action: RecoveryAction::RolledBack,
        message,
        details: report.differences.clone(),
        rollback: Some(report),
    }))
}

/// Whether the live index holds exactly the staged head's tree (the
/// promotion's checkout completed but the branch did not move yet).
fn index_matches(live: &git2::Repository, staged_head: Oid) -> bool {
    let Ok(tree) = live.find_commit(staged_head).and_then(|c| c.tree()) else {
        return false;
    };
    let Ok(index) = live.index() else {
        return false;
    };
    live.diff_tree_to_index(Some(&tree), Some(&index), None)
        .map(|d| d.deltas().len() == 0)
        .unwrap_or(false)
}
