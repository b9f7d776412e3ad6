//! Held back means remembered: while an upstream is held back at the commit
//! before a culprit, a newer target is first tested once (the hunted cases
//! only, in a staged tree). When it fails with the same normalised failure
//! signatures, the hold stays and no bisect or fix loop runs: the update
//! ends `StillHeld` ("still broken by C (same failure); held at P"). A
//! different failure, a pass, or new commits touching the files the culprit
//! changed (a likely fix upstream) hand over to the full update. Switched
//! off by `update.remember_held = false`.

use git2::Oid;

use super::staged_run::{CaseRun, StagedRun};
use super::update_report::BaselineSpent;
use super::{TransactionError, UpdateOptions, UpdateOutcome, UpdateReport};
use crate::config::{Config, UpstreamConfig};
use crate::state::StateDir;
use crate::update::{Backup, StageOutcome, UpdatePaths, new_id};
use crate::upstream::{self, CheckOptions, HeldBack, Mirror, held};

/// What the re-test decided.
pub(super) enum Retest {
    /// The same failure: the update ends here with this report.
    Same(Box<UpdateReport>),
    /// Run the full update; `note` says why (none when no re-test applied),
    /// `spent` what the re-test ran.
    Full {
        note: Option<String>,
        spent: BaselineSpent,
    },
}

fn full(note: Option<String>) -> Result<Retest, TransactionError> {
    Ok(Retest::Full {
        note,
        spent: BaselineSpent::default(),
    })
}

/// Re-tests a new target of a held-back upstream; the caller holds the lock.
pub(super) fn retest(
    cfg: &Config,
    up: &UpstreamConfig,
    opts: &UpdateOptions,
) -> Result<Retest, TransactionError> {
    // a dry run leaves the hold's record as it is
    if !cfg.update.remember_held || opts.to.is_some() || opts.dry_run {
        return full(None);
    }
    let state = StateDir::new(&cfg.project.state_dir);
    let Some(mut h) = held::load(&state, &up.name) else {
        return full(None);
    };
    // an update left half-way is the full update's business (recovery)
    if h.failures.is_empty() || UpdatePaths::new(&state).journal().exists() {
        return full(None);
    }
    let check = upstream::check(cfg, up, &CheckOptions { fetch: true })?;
    let Some(adoptable) = check.adoptable.as_ref() else {
        return full(None);
    };
    if check.history.is_rewritten()
        || adoptable.id == h.tested_target().id
        || adoptable.id == check.current.id
    {
        return full(None);
    }
    let mirror = Mirror::open_existing(&state, up)?;
    let target = mirror.resolve_rev(&adoptable.id)?;
    let info = mirror.commit_info(target)?;
    let touched = touched_files(&mirror, &h.tested_target().id, target);
    let overlap: Vec<&String> = h
        .culprit_files
        .iter()
        .filter(|f| touched.contains(f))
        .collect();
    if !overlap.is_empty() {
        let note = format!(
            "the new commits touch {} that {} changed: a likely fix upstream; testing fully",
            crate::text::cut_list(&overlap, crate::text::MESSAGE_ITEMS),
            h.first_bad.short
        );
        tracing::info!(upstream = %up.name, "{note}");
        return full(Some(note));
    }

    tracing::info!(upstream = %up.name, target = %info.short, culprit = %h.first_bad.short, "held back: re-testing the new target on the hunted cases");
    let id = new_id(&state, &up.name);
    let report_dir = cfg.project.outputs_dir.join(format!("update-{id}"));
    crate::state::create_private_dir(&report_dir).map_err(|source| {
        crate::document::DocumentError::Write {
            path: report_dir.clone(),
            source,
        }
    })?;
    let run = run_hunted(cfg, up, &mirror, &h, (target, &id), &report_dir)?;
    let Some(run) = run else {
        return full(Some(format!(
            "the new target {} cannot be staged cleanly for a re-test: testing fully",
            info.short
        )));
    };
    let mut spent = BaselineSpent::default();
    spent.add_run(&run);
    let now = crate::fix::signature::of_cases(&run.cases);
    let mut remembered = h.failures.clone();
    remembered.sort();
    if run.passed() || now != remembered {
        let what = if run.passed() {
            "the hunted cases pass".to_owned()
        } else {
            format!(
                "a different failure ({})",
                crate::text::cut_list(&now, crate::text::MESSAGE_ITEMS)
            )
        };
        return Ok(Retest::Full {
            note: Some(format!(
                "held back by {}: re-tested {} on the hunted cases: {what}; testing fully",
                h.first_bad.short, info.short
            )),
            spent,
        });
    }

    h.last_retest = Some(held::Retest {
        target: info.clone(),
        at: crate::env::now(),
        baseline_s: spent.seconds,
    });
    h.retests += 1;
    if let Err(e) = held::save(&state, &up.name, &h) {
        tracing::warn!(error = %e, "cannot record the re-test of the held-back upstream");
    }
    let mut r = UpdateReport::new(&up.name);
    r.id = Some(id);
    r.report_dir = Some(report_dir.clone());
    r.from = check.current.commit.clone();
    r.to = Some(info.clone());
    r.commits = check.behind;
    r.spent = spent;
    r.initial_run = Some(run.clone());
    r.final_run = Some(run);
    r.notes.push(format!(
        "re-tested the new target {} once on the hunted cases ({}) instead of bisecting again: the same failure as the first bad commit {} ({})",
        info.short,
        crate::text::cut_list(&h.hunted_cases(), crate::text::MESSAGE_ITEMS),
        h.first_bad.short,
        h.first_bad.subject
    ));
    r.outcome = UpdateOutcome::StillHeld {
        reason: still_broken(&h),
        failures: now,
    };
    r.held_back = Some(h);
    r.finished = crate::env::now();
    super::transaction::write_report(&report_dir, &r)?;
    Ok(Retest::Same(Box::new(r)))
}

/// "still broken by C (same failure); held at P".
pub fn still_broken(h: &HeldBack) -> String {
    format!(
        "still broken by {} ({}) (same failure); held at {}",
        h.first_bad.short, h.first_bad.subject, h.at.short
    )
}

/// Stages `target` (named `id`) and runs the hunted cases; `None` when the
/// tree cannot be staged without conflicts. The staged tree and its backup
/// are removed afterwards.
fn run_hunted(
    cfg: &Config,
    up: &UpstreamConfig,
    mirror: &Mirror,
    h: &HeldBack,
    (target, id): (Oid, &str),
    report_dir: &std::path::Path,
) -> Result<Option<crate::baseline::BaselineRun>, TransactionError> {
    let state = StateDir::new(&cfg.project.state_dir);
    let bid = format!("{id}-retest");
    let work = UpdatePaths::new(&state).run_dir(&bid);
    let backup = Backup::take(cfg, up, mirror, &bid)?;
    let ctx = StagedRun {
        cfg,
        up,
        mirror,
        backup: &backup,
        peers: &[],
        fixed: &[],
    };
    let staged = match ctx.stage(&backup, target) {
        Ok(s) => s,
        Err(e) => {
            let _ = fs_err::remove_dir_all(&work);
            return Err(e.into());
        }
    };
    if matches!(staged.outcome, StageOutcome::Conflicts { .. }) {
        let _ = fs_err::remove_dir_all(&work);
        return Ok(None);
    }
    let run = ctx.run_cases(CaseRun {
        tree: &staged.dir,
        run_id: "baseline-retest".into(),
        run_dir: report_dir.join("baseline-retest"),
        cases: Some(h.hunted_cases()),
        preflight: true,
        ran_on: crate::baseline::RanOn::UpdateCandidate { update: bid },
    });
    let _ = fs_err::remove_dir_all(&work);
    Ok(Some(run?))
}

/// The files that differ between `from` and `to` (empty when either cannot
/// be read).
fn touched_files(mirror: &Mirror, from: &str, to: Oid) -> Vec<String> {
    let repo = mirror.repo();
    let tree = |oid: Oid| repo.find_commit(oid).and_then(|c| c.tree());
    let Ok(from) = Oid::from_str(from) else {
        return Vec::new();
    };
    let (Ok(a), Ok(b)) = (tree(from), tree(to)) else {
        return Vec::new();
    };
    let Ok(diff) = repo.diff_tree_to_tree(Some(&a), Some(&b), None) else {
        return Vec::new();
    };
    let mut out: Vec<String> = diff
        .deltas()
        .flat_map(|d| [d.old_file().path(), d.new_file().path()])
        .flatten()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    out.sort();
    out.dedup();
    out
}
