//! One run of one job of the service: check, update, baseline or
//! housekeeping, each under the state lock (an update takes it itself), its
//! result folded into the [`ServiceState`] and turned into the events to
//! notify. A job that fails returns the error; the caller records it and the
//! next tick tries again.

use crate::baseline::{self, ReferenceVerdict, RunOptions};
use crate::config::{Config, JobKind};
use crate::pipeline::{
    self as update, BaselineSpent, TransactionError, UpdateOptions, UpdateOutcome,
};
use crate::state::StateDir;
use crate::state::{LockError, StateLock};
use crate::upstream::{self, CheckOptions};

use super::notify::{Event, EventKind};
use super::state::{CaseSummary, HoldStatus, ServiceState};

/// What a job did.
#[derive(Debug, Default)]
pub struct JobResult {
    /// Not run, because another tether command held the lock (who, in words).
    pub skipped: Option<String>,
    /// Events for the webhook.
    pub events: Vec<Event>,
}

/// Runs `job` once; `run_id` names its outputs.
pub fn run(
    cfg: &Config,
    job: JobKind,
    run_id: &str,
    state: &mut ServiceState,
) -> Result<JobResult, String> {
    let j = state.jobs.entry(job).or_default();
    j.last_baseline_runs = 0;
    j.last_gpu_minutes = 0.0;
    match job {
        JobKind::Check => locked(cfg, job, |r| check(cfg, state, r)),
        JobKind::Update => update(cfg, run_id, state),
        JobKind::Baseline => locked(cfg, job, |r| run_baseline(cfg, run_id, state, r)),
        JobKind::Housekeeping => locked(cfg, job, |_| super::housekeeping::run(cfg).map(|_| ())),
    }
}

/// Adds baseline runs spent by `job` to its totals and its last run's.
fn spend(state: &mut ServiceState, job: JobKind, spent: BaselineSpent) {
    let j = state.jobs.entry(job).or_default();
    j.baseline_runs += u64::from(spent.runs);
    j.gpu_minutes += spent.minutes();
    j.last_baseline_runs += u64::from(spent.runs);
    j.last_gpu_minutes += spent.minutes();
}

/// Runs `f` holding the state lock; a lock held by someone else skips.
fn locked(
    cfg: &Config,
    job: JobKind,
    f: impl FnOnce(&mut JobResult) -> Result<(), String>,
) -> Result<JobResult, String> {
    let dir = StateDir::new(&cfg.project.state_dir);
    let mut result = JobResult::default();
    let _lock = match StateLock::acquire(&dir, &format!("watch ({job})")) {
        Ok(l) => l,
        Err(LockError::Held { holder, .. }) => {
            result.skipped = Some(holder.to_string());
            return Ok(result);
        }
        Err(e) => return Err(e.to_string()),
    };
    f(&mut result)?;
    Ok(result)
}

fn check(cfg: &Config, state: &mut ServiceState, _r: &mut JobResult) -> Result<(), String> {
    let mut errors = Vec::new();
    for up in &cfg.upstreams {
        match upstream::check(cfg, up, &CheckOptions { fetch: true }) {
            Ok(report) => {
                let s = state.upstreams.entry(up.name.clone()).or_default();
                s.current = Some(report.current.id.clone());
                s.target = Some(report.target.id.clone());
                s.behind = report.behind;
                s.pending_soak = report
                    .commits
                    .iter()
                    .filter(|c| !c.soak.is_soaked())
                    .count();
                s.checked_at = Some(report.checked_at);
                if report.history.is_rewritten() {
                    errors.push(format!(
                        "`{}`: upstream history was rewritten (force-push)",
                        up.name
                    ));
                }
            }
            Err(e) => errors.push(format!("`{}`: {}", up.name, crate::redact::error_chain(&e))),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

fn update(cfg: &Config, run_id: &str, state: &mut ServiceState) -> Result<JobResult, String> {
    let mut result = JobResult::default();
    let mut errors = Vec::new();
    for (name, group, up) in update_runs(cfg) {
        // a paused update holds the journal until a person finishes it
        if let Some(p) = crate::update::Journal::paused(&StateDir::new(&cfg.project.state_dir)) {
            let note = format!(
                "update skipped: update {} of `{}` is paused on conflicts; run `tether update --continue` or `tether update --abort`",
                p.id, p.upstream
            );
            tracing::warn!(upstream = %name, "{note}");
            state
                .upstreams
                .entry(name.clone())
                .or_default()
                .last_verdict = Some(note);
            continue;
        }
        let outcome = match group {
            Some(g) => update::update_group(cfg, g, &UpdateOptions::default()),
            None => update::update(cfg, up, &UpdateOptions::default()),
        };
        let report = match outcome {
            Ok(r) => r,
            Err(TransactionError::Lock(LockError::Held { holder, .. })) => {
                result.skipped = Some(holder.to_string());
                continue;
            }
            Err(e) => {
                result.events.extend(super::escalation::observe(
                    cfg,
                    state,
                    &name,
                    super::escalation::Observed::from_error(&name, &e),
                ));
                let message = crate::redact::error_chain(&e);
                let s = state.upstreams.entry(name.clone()).or_default();
                s.last_verdict = Some(format!("failed: {message}"));
                if matches!(e, TransactionError::RolledBack(_)) {
                    state.rollbacks_total += 1;
                    result.events.push(Event::new(
                        EventKind::RolledBack,
                        run_id,
                        Some(&name),
                        &message,
                    ));
                }
                errors.push(format!("`{name}`: {message}"));
                continue;
            }
        };
        result.events.extend(super::escalation::observe(
            cfg,
            state,
            &name,
            super::escalation::Observed::from_report(&name, &report),
        ));
        state.fix_attempts_total += report.attempts.len() as u64;
        spend(state, JobKind::Update, report.spent);
        record_holds(cfg, state, &name, &report);
        // a candidate that was not promoted says nothing about the live wrapper
        if let (Some(run), UpdateOutcome::Promoted) = (&report.final_run, &report.outcome) {
            state.last_baseline = summarise(run, &report.comparisons);
        }
        let s = state.upstreams.entry(name.clone()).or_default();
        let to = report
            .to
            .as_ref()
            .map(|c| c.short.clone())
            .unwrap_or_default();
        if let Some(b) = &report.bisect {
            let culprit = b.first_bad().map_or_else(
                || "no single culprit".to_owned(),
                |c| {
                    format!(
                        "first bad commit {} by {} ({})",
                        c.short, c.author, c.subject
                    )
                },
            );
            result.events.push(Event::new(
                EventKind::HeldBack,
                run_id,
                Some(&name),
                &format!(
                    "bisected after an unfixable update: {culprit}; {}",
                    match &report.held_back {
                        Some(h) => format!("held back at {}", h.at.short),
                        None => "nothing newer adopted".into(),
                    }
                ),
            ));
        }
        match &report.outcome {
            UpdateOutcome::Promoted => {
                record_good_packages(cfg, run_id);
                state.promotions_total += 1;
                s.last_good = report.to.as_ref().map(|c| c.id.clone());
                s.current = s.last_good.clone();
                let state_dir = StateDir::new(&cfg.project.state_dir);
                if let Some(good) = &s.last_good {
                    crate::upstream::last_good::record(&state_dir, &up.name, good);
                }
                // a group: every member it moved
                for m in report.members.iter().filter(|m| m.moves) {
                    if let Some(t) = &m.to {
                        crate::upstream::last_good::record(&state_dir, &m.upstream, &t.id);
                    }
                }
                s.last_verdict = Some(format!("promoted {to}"));
                result.events.push(Event::new(
                    EventKind::Promoted,
                    run_id,
                    Some(&name),
                    &format!(
                        "promoted {to} after {} fix attempt(s); report {}",
                        report.attempts.len(),
                        report
                            .report_dir
                            .as_ref()
                            .map(|d| d.display().to_string())
                            .unwrap_or_default()
                    ),
                ));
            }
            UpdateOutcome::RolledBack { reason } => {
                state.rollbacks_total += 1;
                s.last_verdict = Some(format!("rolled back {to}: {reason}"));
                let regressed = report.comparisons.iter().any(|c| c.is_regression());
                if regressed {
                    state.regressions_total += 1;
                }
                result.events.push(Event::new(
                    if regressed {
                        EventKind::Regression
                    } else {
                        EventKind::RolledBack
                    },
                    run_id,
                    Some(&name),
                    &format!("{to}: {reason}"),
                ));
            }
            UpdateOutcome::UpToDate { reason } => {
                s.last_verdict = Some(format!("up to date: {reason}"));
            }
            UpdateOutcome::StillHeld { reason, .. } => {
                // one event per new target: the next cycle waits on this one
                s.last_verdict = Some(format!("held back: {reason}"));
                result.events.push(Event::new(
                    EventKind::StillHeld,
                    run_id,
                    Some(&name),
                    &format!(
                        "{to}: {reason}; re-tested once on the hunted cases, no bisect ({:.1} GPU minutes)",
                        report.spent.minutes()
                    ),
                ));
            }
            UpdateOutcome::DryRun => {}
            UpdateOutcome::Parked { reasons, .. } => {
                let id = report.id.as_deref().unwrap_or("?");
                s.last_verdict = Some(format!("parked {to} for approval: {}", reasons.join("; ")));
                result.events.push(Event::new(
                    EventKind::Parked,
                    run_id,
                    Some(&name),
                    &format!(
                        "{to} passed the baseline and waits for approval ({}); run `tether approve {id}` or `tether reject {id}`",
                        reasons.join("; ")
                    ),
                ));
            }
            UpdateOutcome::Paused { reason, .. } => {
                s.last_verdict = Some(format!("paused {to}: {reason}"));
                result.events.push(Event::new(
                    EventKind::Paused,
                    run_id,
                    Some(&name),
                    &format!(
                        "{to}: {reason}; resolve the conflicts and run `tether update --continue`, or `tether update --abort`"
                    ),
                ));
            }
        }
    }
    state.parked = crate::update::list_parked(&StateDir::new(&cfg.project.state_dir))
        .into_iter()
        .map(|p| super::state::ParkedBrief {
            id: p.id().to_owned(),
            upstream: p.journal.upstream.clone(),
            to: p.journal.to.clone(),
            parked_since: p.parked_at,
            expires: p.expires,
        })
        .collect();
    if errors.is_empty() {
        Ok(result)
    } else {
        Err(errors.join("; "))
    }
}

/// Copies the held-back records of the upstreams an update touched into the
/// service state (`/status`, `/metrics`, `health`).
fn record_holds(
    cfg: &Config,
    state: &mut ServiceState,
    name: &str,
    report: &crate::pipeline::UpdateReport,
) {
    let dir = StateDir::new(&cfg.project.state_dir);
    let mut names: Vec<String> = report.members.iter().map(|m| m.upstream.clone()).collect();
    if names.is_empty() {
        names.push(name.to_owned());
    }
    for n in names {
        let held = upstream::held::load(&dir, &n).map(|h| HoldStatus::of(&h));
        state.upstreams.entry(n).or_default().held = held;
    }
}

/// What the update job runs, in order: each `[[group]]` as one (named by
/// the group, with its first member), then each upstream in no group.
fn update_runs(
    cfg: &Config,
) -> Vec<(
    String,
    Option<&crate::config::GroupConfig>,
    &crate::config::UpstreamConfig,
)> {
    let mut out = Vec::new();
    for g in &cfg.groups {
        if let Some(first) = cfg.members_of(g).first() {
            out.push((g.name.clone(), Some(g), *first));
        }
    }
    for up in &cfg.upstreams {
        if cfg.group_of(&up.name).is_none() {
            out.push((up.name.clone(), None, up));
        }
    }
    out
}

fn run_baseline(
    cfg: &Config,
    run_id: &str,
    state: &mut ServiceState,
    result: &mut JobResult,
) -> Result<(), String> {
    if cfg.baseline.cases.is_empty() {
        return Err("no [[baseline.case]] is configured".into());
    }
    let run_dir = cfg.project.outputs_dir.join(run_id);
    let run = baseline::run_suite(
        cfg,
        &cfg.project.root,
        &RunOptions {
            run_id: run_id.to_owned(),
            run_dir,
            cases: None,
            cancel: None,
            preflight: true,
            ran_on: baseline::RanOn::Live,
        },
    )
    .map_err(|e| crate::redact::error_chain(&e))?;
    let mut spent = BaselineSpent::default();
    spent.add_run(&run);
    spend(state, JobKind::Baseline, spent);
    let comparisons = baseline::compare(cfg, &run).map_err(|e| crate::redact::error_chain(&e))?;
    state.last_baseline = summarise(&run, &comparisons);
    let regressed: Vec<&str> = comparisons
        .iter()
        .filter(|c| c.verdict == ReferenceVerdict::Regressed)
        .map(|c| c.case.as_str())
        .collect();
    if !regressed.is_empty() {
        state.regressions_total += 1;
        result.events.push(Event::new(
            EventKind::Regression,
            run_id,
            None,
            &format!(
                "regressed against the references: {}",
                crate::text::cut_list(&regressed, crate::text::MESSAGE_ITEMS)
            ),
        ));
    }
    let failing: Vec<String> = run.failing().iter().map(|c| c.name.clone()).collect();
    if failing.is_empty() {
        record_good_packages(cfg, run_id);
        for (name, s) in state.upstreams.iter_mut() {
            if let Some(c) = &s.current {
                tracing::debug!(upstream = %name, "baseline passes on the live wrapper");
                s.last_good = Some(c.clone());
                crate::upstream::last_good::record(&StateDir::new(&cfg.project.state_dir), name, c);
            }
        }
        Ok(())
    } else {
        result.events.push(Event::new(
            EventKind::HealthDegraded,
            run_id,
            None,
            &format!(
                "the live baseline fails: {}",
                crate::text::cut_list(&failing, crate::text::MESSAGE_ITEMS)
            ),
        ));
        Err(format!(
            "baseline cases fail: {}",
            crate::text::cut_list(&failing, crate::text::MESSAGE_ITEMS)
        ))
    }
}

fn summarise(
    run: &baseline::BaselineRun,
    comparisons: &[baseline::CaseComparison],
) -> Vec<CaseSummary> {
    run.cases
        .iter()
        .map(|c| {
            let cmp = comparisons.iter().find(|x| x.case == c.name);
            let mean_ssim = cmp.and_then(|x| match &x.comparison {
                baseline::Comparison::Compared { quality, .. } => {
                    quality.iter().filter_map(|q| q.mean_ssim).reduce(f64::min)
                }
                baseline::Comparison::New { .. } => None,
            });
            CaseSummary {
                case: c.name.clone(),
                status: c.status,
                duration_s: c.duration_s,
                peak_vram_bytes: c.peak_vram.bytes(),
                mean_ssim,
                verdict: cmp.map(|x| x.verdict),
                at: run.finished,
            }
        })
        .collect()
}

/// Records the protected packages installed now as those of a good run
/// (for `tether health`).
fn record_good_packages(cfg: &Config, run_id: &str) {
    let dir = cfg.project.outputs_dir.join(run_id).join("pip");
    let freeze = crate::python_env::freeze(&cfg.project.python, &cfg.project.root, &dir);
    crate::python_env::record_good_packages(cfg, &freeze);
}
