//! Owns the promotion record: the plan of a promotion ([`TreeMove`]s),
//! saved at `<state>/update/<id>/promotion.json` before the journal says
//! `Promoting`, and how an interrupted promotion is finished or undone from
//! it: the commit point (the last HEAD the plan moves, the wrapper's when it
//! moves) says which way, and [`super::moves::settle`] brings every tree
//! there.

use std::path::PathBuf;

use git2::Oid;
use serde::{Deserialize, Serialize};

use super::backup::Backup;
use super::error::{UpdateError, git_err};
use super::journal::{Journal, UpdatePaths};
use super::member::Member;
use super::moves::{Direction, HeadState, Settler, TreeMove, head_side, settle};
use super::promote::{fetch_objects, plan_trees};
use crate::config::Config;
use crate::state::{StateDir, read_json, write_json};
use crate::upstream::Mirror;

const FILE: &str = "promotion.json";

/// A promotion's plan, as journaled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionRecord {
    pub id: String,
    /// In the order promotion moves them; the last tree's HEAD is the
    /// commit point.
    pub trees: Vec<TreeMove>,
}

impl PromotionRecord {
    pub fn path(state: &StateDir, id: &str) -> PathBuf {
        UpdatePaths::new(state).run_dir(id).join(FILE)
    }

    /// Saves the record atomically.
    pub fn save(&self, state: &StateDir) -> Result<(), UpdateError> {
        write_json(&Self::path(state, &self.id), self)?;
        Ok(())
    }

    pub fn load(state: &StateDir, id: &str) -> Result<Option<PromotionRecord>, UpdateError> {
        Ok(read_json(&Self::path(state, id))?)
    }

    /// Brings every tree to `direction`'s side: forward in plan order (the
    /// commit point last), backward in reverse order (the commit point
    /// first, so that a crash during the undo is still read as "not moved").
    pub fn apply(&self, direction: Direction, who: Settler) -> Result<(), UpdateError> {
        let mut trees: Vec<&TreeMove> = self.trees.iter().collect();
        if direction == Direction::Backward {
            trees.reverse();
        }
        for t in trees {
            settle(t, direction, who)?;
        }
        Ok(())
    }

    /// Which way an interrupted promotion goes: forward when the commit
    /// point's HEAD reached its target, backward when it is where it was.
    /// Elsewhere (the user moved it), an error that says so.
    pub fn direction(&self) -> Result<Direction, UpdateError> {
        let Some(commit_point) = self.trees.iter().rev().find(|t| t.moves_head()) else {
            return Ok(Direction::Backward);
        };
        head_side(commit_point)?.ok_or_else(|| UpdateError::Unrecoverable {
            id: self.id.clone(),
            detail: format!(
                "HEAD of `{}` is neither at {} (before the update) nor at {} (promoted); \
                 somebody moved it meanwhile",
                commit_point.root.display(),
                commit_point.before.commit,
                commit_point.after.commit
            ),
        })
    }
}

/// The record of the journal's interrupted promotion: the saved one, or,
/// for a journal written before records existed, one planned again from
/// the journal and the backup (and, when it rolls forward, the objects
/// fetched).
pub(crate) fn interrupted_record(
    state: &StateDir,
    cfg: &Config,
    journal: &Journal,
) -> Result<PromotionRecord, UpdateError> {
    if let Some(r) = PromotionRecord::load(state, &journal.id)? {
        return Ok(r);
    }
    let backup = Backup::load(&journal.backup_dir)?;
    let moves = journal.members();
    let mut ups = Vec::new();
    for m in &moves {
        let up = cfg
            .upstreams
            .iter()
            .find(|u| u.name == m.upstream)
            .ok_or_else(|| UpdateError::UnknownUpstream {
                upstream: m.upstream.clone(),
            })?;
        ups.push((up, Mirror::open_existing(state, up)?));
    }
    let members: Vec<Member<'_>> = ups
        .iter()
        .map(|(up, mirror)| Member { up, mirror })
        .collect();
    let root = &journal.live_root;
    let wrapper_before = HeadState {
        branch: backup.branch.clone(),
        commit: Oid::from_str(&backup.head).map_err(git_err("reading the backup", root))?,
    };
    let mut notes = Vec::new();
    let trees = plan_trees(&members, journal, wrapper_before, Some(&backup), &mut notes)?;
    let record = PromotionRecord {
        id: journal.id.clone(),
        trees,
    };
    // rolling back needs only what the live repositories have; rolling
    // forward needs the staged commits and the target
    if record.direction()? == Direction::Forward {
        fetch_objects(&members, journal, &record.trees)?;
    }
    Ok(record)
}
