//! Owns the approval gate (`update.promote`): which tested updates are
//! parked instead of promoted ([`holds`]), `tether pending` ([`pending`]),
//! `tether approve <id>` ([`approve`]: promotes exactly the staged commits
//! that were tested, refused when the live wrapper moved since) and `tether
//! reject <id>` ([`reject`]: discards it and holds the upstream at its
//! current commit until the upstream moves), and the expiry of parked
//! updates. The parked files themselves are `update::parked`'s.

use std::path::Path;

use serde::Serialize;

use super::error::{RolledBackError, TransactionError};
use super::update_report::{Approval, UpdateOutcome, UpdateReport};
use crate::analysis::{Analysis, AnalysisVerdict};
use crate::config::{Config, PromotePolicy};
use crate::state::{StateDir, StateLock};
use crate::update::{
    Backup, Journal, Member, ParkedSummary, ParkedUpdate, Rejection, list_parked, load_parked,
    promote, recover, remove_parked, rollback, save_rejection, verify_live_unchanged,
};
use crate::upstream::Mirror;

/// What stops an approval or a rejection.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error(
        "no parked update `{id}`{}; `tether pending` lists them",
        known_list(known)
    )]
    Unknown { id: String, known: Vec<String> },
    #[error(
        "the parked update `{id}` expired at {at} (update.parked_expiry) and was discarded; the next update stages its upstream again"
    )]
    Expired { id: String, at: jiff::Timestamp },
    #[error(
        "refusing to approve `{id}`: the live wrapper moved since it was tested ({}); nothing was promoted; `tether reject {id}` drops it, and the next update tests the wrapper as it is now",
        crate::text::cut_list(differences, crate::text::MESSAGE_ITEMS)
    )]
    Moved {
        id: String,
        differences: Vec<String>,
    },
    #[error(
        "the parked update `{id}` moves upstream `{upstream}`, which the config no longer has; `tether reject {id}` drops it"
    )]
    UpstreamGone { id: String, upstream: String },
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        " (none is parked)".into()
    } else {
        format!(
            " (parked: {})",
            crate::text::cut_list(known, crate::text::MESSAGE_ITEMS)
        )
    }
}

impl GateError {
    /// A wrong id (unknown, expired): a usage error.
    pub fn is_usage(&self) -> bool {
        matches!(self, GateError::Unknown { .. } | GateError::Expired { .. })
    }
}

/// Why `update.promote` holds a tested update (empty: promote it).
pub(super) fn holds(cfg: &Config, report: &UpdateReport) -> Vec<String> {
    let mut why = Vec::new();
    match cfg.update.promote {
        PromotePolicy::Auto => {}
        PromotePolicy::ApproveAll => why.push("update.promote = \"approve-all\"".to_owned()),
        PromotePolicy::ApproveBreaking => {
            if report.analysis_verdict == Some(AnalysisVerdict::Breaking) {
                why.push(format!(
                    "the analysis says breaking ({} breaking finding(s))",
                    report.breaking_points
                ));
            }
            if !report.protected_changes.is_empty() {
                why.push(format!(
                    "protected packages change: {}",
                    crate::text::cut_list(&report.protected_changes, crate::text::MESSAGE_ITEMS)
                ));
            }
            let fixes = report.fixes.iter().filter(|f| !f.files.is_empty()).count();
            if fixes > 0 {
                why.push(format!("the fix loop committed {fixes} fix(es)"));
            }
        }
    }
    why
}

/// `name: old -> new` for each protected package the analysis sees change.
pub(super) fn protected_changes(a: &Analysis) -> Vec<String> {
    let mut out = Vec::new();
    for r in &a.requirements {
        for p in r.added.iter().chain(&r.removed).chain(&r.changed) {
            if p.protected {
                out.push(format!(
                    "{}: {} -> {}",
                    p.name,
                    p.old.as_deref().unwrap_or("(none)"),
                    p.new.as_deref().unwrap_or("(removed)")
                ));
            }
        }
    }
    out
}

/// What `tether pending` shows of a tested update.
pub(super) fn summary(report: &UpdateReport) -> ParkedSummary {
    let baseline = report
        .final_run
        .iter()
        .flat_map(|run| &run.cases)
        .map(|c| {
            let verdict = report
                .comparisons
                .iter()
                .find(|x| x.case == c.name)
                .map(|x| format!(", {:?} against the reference", x.verdict).to_lowercase())
                .unwrap_or_default();
            format!("{}: {}{verdict}", c.name, c.status)
        })
        .collect();
    ParkedSummary {
        analysis_verdict: report
            .analysis_verdict
            .map(|v| format!("{v:?}").to_lowercase()),
        protected_changes: report.protected_changes.clone(),
        baseline,
        fix_commits: report
            .fixes
            .iter()
            .filter(|f| !f.files.is_empty())
            .map(|f| {
                f.commit_message
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect(),
        report_dir: report.report_dir.clone(),
    }
}

/// For an update about to stage `upstream` (the caller holds the lock):
/// discards parked updates that expired, then says why `upstream` must not
/// be staged now (a parked update of it), if it must not.
pub(super) fn blocks(cfg: &Config, upstream: &str) -> Result<Option<String>, TransactionError> {
    discard_expired(cfg)?;
    let state = StateDir::new(&cfg.project.state_dir);
    Ok(list_parked(&state)
        .into_iter()
        .find(|p| p.moves(upstream))
        .map(|p| {
            format!(
                "update {id} of `{upstream}` is parked for approval since {} (expires {}); run `tether approve {id}` or `tether reject {id}`",
                p.parked_at,
                p.expires,
                id = p.id()
            )
        }))
}

/// Discards every expired parked update (the staged tree goes, the live
/// wrapper is checked against the backup). The caller holds the lock.
fn discard_expired(cfg: &Config) -> Result<(), TransactionError> {
    let state = StateDir::new(&cfg.project.state_dir);
    let now = crate::env::now();
    for p in list_parked(&state) {
        if p.is_expired(now) {
            tracing::info!(update = %p.id(), "a parked update expired; discarding it");
            discard(
                cfg,
                &p,
                &format!("expired at {} without approval", p.expires),
            )?;
        }
    }
    Ok(())
}

/// Rolls a parked update back and removes it; the journal is filed.
fn discard(
    cfg: &Config,
    p: &ParkedUpdate,
    reason: &str,
) -> Result<crate::update::RollbackReport, TransactionError> {
    let state = StateDir::new(&cfg.project.state_dir);
    let mut journal = p.journal.clone();
    // the journal goes back first: a crash mid-way is finished by recovery
    journal.save(&state)?;
    let rb = rollback(cfg, &mut journal, &state, reason)?;
    journal.archive(&state)?;
    remove_parked(&state, p.id())?;
    Ok(rb)
}

/// `tether pending`: the parked updates.
#[derive(Debug, Clone, Serialize)]
pub struct PendingReport {
    pub updates: Vec<PendingUpdate>,
}

/// One parked update as `tether pending` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PendingUpdate {
    pub id: String,
    pub upstream: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub from: String,
    pub to: String,
    pub reasons: Vec<String>,
    pub analysis_verdict: Option<String>,
    pub protected_changes: Vec<String>,
    pub baseline: Vec<String>,
    pub fix_commits: Vec<String>,
    pub parked_since: jiff::Timestamp,
    pub expires: jiff::Timestamp,
    /// Past its expiry: the next command that takes the lock discards it.
    pub expired: bool,
    pub report_dir: Option<std::path::PathBuf>,
}

/// `tether pending`: reads only (no lock).
pub fn pending(cfg: &Config) -> PendingReport {
    let state = StateDir::new(&cfg.project.state_dir);
    let now = crate::env::now();
    PendingReport {
        updates: list_parked(&state)
            .into_iter()
            .map(|p| PendingUpdate {
                id: p.id().to_owned(),
                upstream: p.journal.upstream.clone(),
                group: p.journal.group.clone(),
                from: p.journal.from.clone(),
                to: p.journal.to.clone(),
                expired: p.is_expired(now),
                reasons: p.reasons,
                analysis_verdict: p.summary.analysis_verdict,
                protected_changes: p.summary.protected_changes,
                baseline: p.summary.baseline,
                fix_commits: p.summary.fix_commits,
                parked_since: p.parked_at,
                expires: p.expires,
                report_dir: p.summary.report_dir,
            })
            .collect(),
    }
}

/// Who runs this command: the login name and this host.
fn who() -> (String, String) {
    let user = crate::env::var(crate::env::USER)
        .or_else(|| crate::env::var(crate::env::LOGNAME))
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".into());
    (user, crate::state::hostname())
}

/// Takes the lock, recovers, and loads the parked update `id` (an expired
/// one is discarded and refused).
fn take(
    cfg: &Config,
    id: &str,
    action: &str,
) -> Result<(StateLock, ParkedUpdate), TransactionError> {
    let state = StateDir::new(&cfg.project.state_dir);
    let lock = StateLock::acquire(&state, action)?;
    recover(cfg)?;
    let Some(p) = load_parked(&state, id)? else {
        return Err(GateError::Unknown {
            id: id.to_owned(),
            known: list_parked(&state)
                .iter()
                .map(|p| p.id().to_owned())
                .collect(),
        }
        .into());
    };
    Ok((lock, p))
}

/// `tether approve <id>`: promotes the parked update's staged commits,
/// exactly those the baseline passed on, and records who approved.
pub fn approve(cfg: &Config, id: &str) -> Result<UpdateReport, TransactionError> {
    let state = StateDir::new(&cfg.project.state_dir);
    let (_lock, p) = take(cfg, id, "approve")?;
    if p.is_expired(crate::env::now()) {
        discard(
            cfg,
            &p,
            &format!("expired at {} without approval", p.expires),
        )?;
        return Err(GateError::Expired {
            id: id.to_owned(),
            at: p.expires,
        }
        .into());
    }
    let backup = Backup::load(&p.journal.backup_dir)?;
    let differences = verify_live_unchanged(&backup)?;
    if !differences.is_empty() {
        return Err(GateError::Moved {
            id: id.to_owned(),
            differences,
        }
        .into());
    }
    let mut ups = Vec::new();
    for m in p.journal.members() {
        let Some(up) = cfg.upstreams.iter().find(|u| u.name == m.upstream) else {
            return Err(GateError::UpstreamGone {
                id: id.to_owned(),
                upstream: m.upstream,
            }
            .into());
        };
        ups.push((up, Mirror::open_existing(&state, up)?));
    }
    let members: Vec<Member<'_>> = ups
        .iter()
        .map(|(up, mirror)| Member { up, mirror })
        .collect();
    let (user, host) = who();
    let mut journal: Journal = p.journal.clone();
    journal.transitions.push(crate::update::Transition {
        state: journal.state,
        at: crate::env::now(),
        note: Some(format!("approved by {user}@{host}")),
    });
    // the journal is back before anything moves; until it says promoting,
    // recovery leaves the update parked
    journal.save(&state)?;
    crate::failpoint::hit("gate.approve.journaled");

    let mut report = report_of(cfg, &p, &ups[0].1);
    report.approval = Some(Approval {
        user: user.clone(),
        host: host.clone(),
        at: crate::env::now(),
        parked_at: p.parked_at,
    });
    report.notes.push(format!(
        "approved by {user}@{host}; promoted the staged commits tested in update {id} (parked since {})",
        p.parked_at
    ));
    match promote(&members, &mut journal, &state) {
        Ok(promotion) => {
            journal.archive(&state)?;
            remove_parked(&state, id)?;
            report.notes.extend(promotion.notes);
            report.promotion = Some(promotion.plan);
            report.outcome = UpdateOutcome::Promoted;
            finish(&p, report)
        }
        Err(e) => {
            let error = TransactionError::from(e);
            let rb = rollback(cfg, &mut journal, &state, &error.to_string())?;
            journal.archive(&state)?;
            remove_parked(&state, id)?;
            report.rollback = Some(rb.clone());
            report.outcome = UpdateOutcome::RolledBack {
                reason: error.to_string(),
            };
            let _ = finish(&p, report);
            Err(RolledBackError {
                error: Box::new(error),
                rollback: Box::new(rb),
            }
            .into())
        }
    }
}

/// `tether reject <id>`: discards the parked update and holds its
/// upstream(s) at the current commit until the upstream moves on from the
/// rejected target.
pub fn reject(cfg: &Config, id: &str) -> Result<UpdateReport, TransactionError> {
    let state = StateDir::new(&cfg.project.state_dir);
    let (_lock, p) = take(cfg, id, "reject")?;
    let (user, host) = who();
    let reason = format!("rejected by {user}@{host}");
    let mirror = cfg
        .upstreams
        .iter()
        .find(|u| u.name == p.journal.upstream)
        .and_then(|up| Mirror::open_existing(&state, up).ok());
    let mut report = match &mirror {
        Some(m) => report_of(cfg, &p, m),
        None => UpdateReport::new(&p.journal.upstream),
    };
    report.rollback = Some(discard(cfg, &p, &reason)?);
    let now = crate::env::now();
    for m in p.journal.members() {
        save_rejection(
            &state,
            &Rejection {
                upstream: m.upstream.clone(),
                id: id.to_owned(),
                target: m.to.clone(),
                held_at: m.from.clone(),
                by: format!("{user}@{host}"),
                at: now,
            },
        )?;
    }
    report.outcome = UpdateOutcome::RolledBack {
        reason: format!(
            "{reason}; `{}` is held at {:.7} until the upstream moves past {:.7}",
            p.journal.upstream, p.journal.from, p.journal.to
        ),
    };
    finish(&p, report)
}

/// A report of the parked update, from what was kept of it.
fn report_of(cfg: &Config, p: &ParkedUpdate, mirror: &Mirror) -> UpdateReport {
    let _ = cfg;
    let j = &p.journal;
    let mut report = UpdateReport::new(&j.upstream);
    report.id = Some(j.id.clone());
    report.group = j.group.clone();
    let oid = |s: &str| git2::Oid::from_str(s).ok();
    report.from = oid(&j.from).and_then(|o| mirror.commit_info(o).ok());
    report.to = oid(&j.to).and_then(|o| mirror.commit_info(o).ok());
    report.staged_commit = j.staged_head.clone();
    report.protected_changes = p.summary.protected_changes.clone();
    report.report_dir = p.summary.report_dir.clone();
    if let Some(v) = &p.summary.analysis_verdict {
        report
            .notes
            .push(format!("analysis verdict when tested: {v}"));
    }
    for b in &p.summary.baseline {
        report.notes.push(format!("baseline when tested: {b}"));
    }
    for f in &p.summary.fix_commits {
        report.notes.push(format!("fix commit: {f}"));
    }
    report
}

/// Writes the decision's report into the update's report folder (the
/// report written when it was parked is kept as `parked-update.json` and
/// `parked-update_report.md`).
fn finish(p: &ParkedUpdate, mut report: UpdateReport) -> Result<UpdateReport, TransactionError> {
    report.started = p.parked_at;
    report.finished = crate::env::now();
    if let Some(dir) = &p.summary.report_dir {
        keep_parked_report(dir);
        super::transaction::write_report(dir, &report)?;
    }
    Ok(report)
}

fn keep_parked_report(dir: &Path) {
    for name in ["update.json", "update_report.md"] {
        let from = dir.join(name);
        let to = dir.join(format!("parked-{name}"));
        if from.exists() && !to.exists() {
            let _ = fs_err::rename(&from, &to);
        }
    }
}
