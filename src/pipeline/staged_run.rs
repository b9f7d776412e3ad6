//! The one context for "stage a tree and run cases in it", shared by the
//! update transaction and each bisect step: the config, the upstream and
//! its mirror, the backup of the live wrapper the staged trees start from,
//! and the state dir. The live wrapper is never touched here.

use std::path::{Path, PathBuf};

use git2::Oid;

use crate::baseline::{self, BaselineError, BaselineRun, RanOn, RunOptions};
use crate::config::{Config, UpstreamConfig};
use crate::state::StateDir;
use crate::update::{self, Backup, Member, StageMember, Staged, UpdateError, UpdatePaths};
use crate::upstream::Mirror;

/// What staging and running need, borrowed for one pipeline run.
#[derive(Clone, Copy)]
pub struct StagedRun<'a> {
    pub cfg: &'a Config,
    pub up: &'a UpstreamConfig,
    pub mirror: &'a Mirror,
    /// The backup of the live wrapper: its id names the staged tree.
    pub backup: &'a Backup,
    /// A group update: the members after `up` that move with it (empty for
    /// a single upstream).
    pub peers: &'a [Member<'a>],
    /// Other upstreams checked out in every staged tree at a fixed commit,
    /// nothing committed for them (a group bisect: the other members at
    /// their current commits, or a culprit's partners at their targets).
    pub fixed: &'a [StageMember<'a>],
}

/// One baseline run in a staged tree.
pub struct CaseRun<'a> {
    pub tree: &'a Path,
    pub run_id: String,
    /// Where the run's folders and `results.json` go.
    pub run_dir: PathBuf,
    /// Only these cases; `None`: all.
    pub cases: Option<Vec<String>>,
    /// Run the GPU preflight first (the first run of a pipeline).
    pub preflight: bool,
    pub ran_on: RanOn,
}

impl<'a> StagedRun<'a> {
    pub fn state(&self) -> StateDir {
        StateDir::new(&self.cfg.project.state_dir)
    }

    /// Every upstream the update moves, `up` first.
    pub fn members(&self) -> Vec<Member<'a>> {
        let mut out = vec![Member {
            up: self.up,
            mirror: self.mirror,
        }];
        out.extend(self.peers.iter().copied());
        out
    }

    /// Stages the wrapper with the upstream at `target` in a clone under
    /// the state dir, named after `backup` (the pipeline's own, or a
    /// variant of it for one bisect run).
    pub fn stage(&self, backup: &Backup, target: Oid) -> Result<Staged, UpdateError> {
        if self.fixed.is_empty() {
            return update::stage(self.cfg, self.up, self.mirror, backup, target);
        }
        let mut members = vec![StageMember {
            member: Member {
                up: self.up,
                mirror: self.mirror,
            },
            target,
            moves: true,
        }];
        members.extend(
            self.fixed
                .iter()
                .map(|f| StageMember { moves: false, ..*f }),
        );
        update::stage_group(self.cfg, &members, backup)
    }

    /// The work folder of a staged tree named after `backup`.
    pub fn work_dir(&self, backup: &Backup) -> PathBuf {
        UpdatePaths::new(&self.state()).run_dir(&backup.id)
    }

    /// Runs the baseline cases in a staged tree.
    pub fn run_cases(&self, run: CaseRun<'_>) -> Result<BaselineRun, BaselineError> {
        baseline::run_suite(
            self.cfg,
            run.tree,
            &RunOptions {
                run_dir: run.run_dir,
                run_id: run.run_id,
                cases: run.cases,
                cancel: None,
                preflight: run.preflight,
                ran_on: run.ran_on,
            },
        )
    }
}
