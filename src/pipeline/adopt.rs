//! `adopt-last-good`: after an update that the fix loop could not repair
//! (or with `tether update --to last-good`), bisect the upstream between the
//! current commit and the failed target, then run the update again to the
//! commit just before the first bad one, when that is newer than the current
//! commit. The wrapper gets every safe upstream change and is recorded as
//! held back (`upstream::held`) until a newer target passes.

use super::bisect::{self, BisectOptions};
use crate::config::{Config, UpstreamConfig};
use crate::state::StateDir;
use crate::upstream::{self, HeldBack, Mirror};

use super::transaction::update_locked;
use super::{TransactionError, UpdateOptions, UpdateOutcome, UpdateReport};

/// Bisects and adopts the last good commit; `failed` is the update of the
/// newer target that could not be made to pass (when there was one).
pub fn adopt_last_good(
    cfg: &Config,
    up: &UpstreamConfig,
    opts: &UpdateOptions,
    failed: Option<UpdateReport>,
) -> Result<UpdateReport, TransactionError> {
    let state = StateDir::new(&cfg.project.state_dir);
    let mirror = Mirror::open(&state, up, failed.is_none())?;
    let current = upstream::current_commit(&cfg.project, up, &mirror)?.id;
    let bad = match failed.as_ref().and_then(|f| f.to.as_ref()) {
        Some(t) => t.id.clone(),
        None => upstream::resolve_target(&mirror, &up.track)?.to_string(),
    };
    if bad == current {
        let mut r = failed.unwrap_or_else(|| UpdateReport::new(&up.name));
        r.notes
            .push("nothing to bisect: the target is the current commit".into());
        return Ok(r);
    }
    let cases = failed
        .as_ref()
        .and_then(|f| f.final_run.as_ref())
        .map(|run| {
            run.failing()
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
        })
        .filter(|c| !c.is_empty());
    tracing::info!(upstream = %up.name, %current, %bad, "bisecting for the first bad upstream commit");
    let b = bisect::bisect_locked(
        cfg,
        up,
        &BisectOptions {
            good: Some(current.clone()),
            bad: Some(bad),
            cases,
            fetch: false,
            restart: true,
        },
    )?;
    let last_good = b.last_good().cloned();
    let first_bad = b.first_bad().cloned();
    match (last_good, first_bad) {
        (Some(lg), Some(fb)) if lg.id != current => {
            let mut to = opts.clone();
            to.to = Some(lg.id.clone());
            let mut r = update_locked(cfg, up, &to)?;
            r.spent.add_bisect(&b);
            if let Some(f) = &failed {
                r.spent.add(f.spent);
            }
            if matches!(r.outcome, UpdateOutcome::Promoted) {
                let held = held_record(&lg, &fb, &b, failed.as_ref());
                if let Err(e) = upstream::held::save(&state, &up.name, &held) {
                    tracing::warn!(error = %e, "cannot record the held-back state");
                }
                r.notes.push(format!(
                    "held back: `{}` is at {} (the newest good commit), not at the target {}: the first bad commit is {} {} by {} ({})",
                    up.name,
                    lg.short,
                    b.bad.short,
                    fb.short,
                    fb.time.strftime("%Y-%m-%d"),
                    fb.author,
                    fb.subject
                ));
                r.held_back = Some(held);
            }
            r.bisect = Some(b);
            r.failed_target = failed.map(Box::new);
            rewrite(&r)?;
            Ok(r)
        }
        _ => {
            let mut r = failed.unwrap_or_else(|| UpdateReport::new(&up.name));
            let why = match (b.first_bad(), &b.result) {
                (Some(fb), _) => format!(
                    "the first bad commit {} ({}) comes right after the current commit: there is no newer good commit to adopt",
                    fb.short, fb.subject
                ),
                (None, bisect::BisectResult::Undecidable { candidates, .. }) => format!(
                    "the bisect is undecidable ({} candidates skipped): nothing newer was adopted",
                    candidates.len()
                ),
                (None, bisect::BisectResult::GoodEndFails { why }) => {
                    format!("the current commit fails too ({why}): nothing was adopted")
                }
                (None, _) => "the target passes when bisected: nothing was adopted".into(),
            };
            r.notes.push(why.clone());
            r.spent.add_bisect(&b);
            // the culprit comes right after the current commit: the upstream
            // is held where it is, and the culprit remembered
            if let (Some(lg), Some(fb)) = (b.last_good(), b.first_bad()) {
                let held = held_record(lg, fb, &b, Some(&r));
                if let Err(e) = upstream::held::save(&state, &up.name, &held) {
                    tracing::warn!(error = %e, "cannot record the held-back state");
                }
                r.held_back = Some(held);
            }
            if matches!(r.outcome, UpdateOutcome::UpToDate { .. }) {
                r.outcome = UpdateOutcome::RolledBack { reason: why };
            }
            r.bisect = Some(b);
            rewrite(&r)?;
            Ok(r)
        }
    }
}

/// The held-back record of a bisect that found `fb` (after `lg`): with the
/// failed target's failure signatures and the files `fb` changed, so that
/// a newer target is re-tested once instead of bisected again.
pub(super) fn held_record(
    lg: &upstream::CommitInfo,
    fb: &upstream::CommitInfo,
    b: &bisect::BisectReport,
    failed: Option<&UpdateReport>,
) -> HeldBack {
    HeldBack {
        at: lg.clone(),
        first_bad: fb.clone(),
        target: b.bad.clone(),
        since: crate::env::now(),
        bisect_report: b.report_dir.display().to_string(),
        failures: failed
            .and_then(|f| f.final_run.as_ref())
            .map(|run| crate::fix::signature::of_cases(&run.cases))
            .unwrap_or_default(),
        culprit_files: match &b.result {
            bisect::BisectResult::FirstBad { files, .. } => {
                files.iter().map(|f| f.path.clone()).collect()
            }
            _ => Vec::new(),
        },
        last_retest: None,
        retests: 0,
    }
}

/// Writes the report again with what the bisect added.
fn rewrite(r: &UpdateReport) -> Result<(), TransactionError> {
    match &r.report_dir {
        Some(dir) => super::transaction::write_report(dir, r),
        None => Ok(()),
    }
}

/// After a normal update: a promotion past the first bad commit ends the
/// held-back state (a newer target passed).
pub fn after_update(state: &StateDir, up: &UpstreamConfig, report: &UpdateReport) {
    if matches!(report.outcome, UpdateOutcome::Promoted)
        && let Some(h) = upstream::held::load(state, &up.name)
        && report.to.as_ref().is_some_and(|t| t.id != h.at.id)
    {
        tracing::info!(upstream = %up.name, "a newer target passed: no longer held back");
        upstream::held::clear(state, &up.name);
    }
}
