//! Owns escalation: when the service asks a person to act (`[escalation]`:
//! N consecutive failed update cycles, the same failure signature across M
//! days, a GPU preflight or NVML error, an upstream held back for D days, a
//! protected package change). Each update cycle's outcome is folded into the
//! upstream's counters ([`observe`]); a trigger that holds raises an
//! [`Escalation`] (kept in the service state, so `/status` and `tether
//! health` show it) and an `escalation` webhook event, sent once, again when
//! its evidence changes (its fingerprint) or after `remind_every`, never
//! while `tether ack <id>` silences that fingerprint. Acks are files of
//! their own (`<state>/service/acks/<id>.json`), so `tether ack` never
//! writes the state the running service owns.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::notify::{Event, EventKind};
use super::state::ServiceState;
use crate::config::Config;
use crate::pipeline::{TransactionError, UpdateOutcome, UpdateReport};

/// What raised an escalation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    ConsecutiveFailures,
    SameFailure,
    GpuError,
    HeldBack,
    ProtectedChange,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::ConsecutiveFailures => "consecutive-failures",
            Trigger::SameFailure => "same-failure",
            Trigger::GpuError => "gpu-error",
            Trigger::HeldBack => "held-back",
            Trigger::ProtectedChange => "protected-change",
        }
    }
}

/// How bad: a warning degrades `tether health`, a critical one fails it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Critical,
}

/// What a person needs to act on an escalation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Evidence {
    /// The first bad upstream commit, when a bisect found one.
    pub culprit: Option<String>,
    /// The failure, in words (failing cases and their classes, or the error).
    pub failure: Option<String>,
    /// The analysis' findings that matter (verdict, protected packages).
    pub findings: Vec<String>,
    /// The end of the failing case's log.
    pub log_tail: Vec<String>,
    /// The command that reproduces it.
    pub reproduce: String,
}

/// One raised escalation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    /// `<trigger>-<upstream>`: stable while the trigger holds.
    pub id: String,
    pub trigger: Trigger,
    pub severity: Severity,
    pub upstream: String,
    /// One sentence.
    pub summary: String,
    pub evidence: Evidence,
    /// What must change for the escalation to be news again (the failure
    /// signature, the culprit, ...): counts and times are left out.
    pub fingerprint: String,
    pub raised: jiff::Timestamp,
    pub last_sent: Option<jiff::Timestamp>,
    pub sent_fingerprint: Option<String>,
    /// `tether ack` silenced this fingerprint (`user@host`).
    pub acked_by: Option<String>,
}

/// The webhook payload of an escalation (beside the common fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EscalationPayload {
    pub id: String,
    pub trigger: Trigger,
    pub severity: Severity,
    pub evidence: Evidence,
    /// The command that silences it.
    pub ack: String,
}

/// The failure signature of an update's final run: each failing case with
/// its failure class, sorted. The one place it is computed (an upstream
/// held back at a culprit keeps its own normalised signature; this can be
/// swapped for that type).
pub fn failure_signature(report: &UpdateReport) -> Option<String> {
    let run = report.final_run.as_ref()?;
    let mut parts: Vec<String> = run
        .failing()
        .iter()
        .map(|c| format!("{}:{}", c.name, crate::fix::classify(c).class.name()))
        .collect();
    if parts.is_empty() {
        return None;
    }
    parts.sort();
    Some(parts.join(", "))
}

/// What one update cycle of an upstream said.
#[derive(Debug, Default)]
pub struct Observed {
    /// The cycle failed (rolled back, or an error).
    pub failed: bool,
    /// The cycle got somewhere (promoted, parked): the failure count resets.
    pub passed: bool,
    /// Something was staged (not "up to date").
    pub staged: bool,
    pub signature: Option<String>,
    pub evidence: Evidence,
    pub gpu_error: Option<String>,
    pub held_at: Option<String>,
    pub protected: Vec<String>,
}

impl Observed {
    /// From an update's report.
    pub fn from_report(name: &str, report: &UpdateReport) -> Observed {
        let failed = matches!(report.outcome, UpdateOutcome::RolledBack { .. });
        let signature = if failed {
            failure_signature(report)
        } else {
            None
        };
        let first = report
            .final_run
            .as_ref()
            .and_then(|r| r.failing().first().map(|c| crate::fix::classify(c)));
        let mut findings = Vec::new();
        if let Some(v) = report.analysis_verdict {
            findings.push(format!(
                "analysis: {v:?}, {} breaking finding(s)",
                report.breaking_points
            ));
        }
        findings.extend(
            report
                .protected_changes
                .iter()
                .map(|p| format!("protected package: {p}")),
        );
        let culprit = report
            .bisect
            .as_ref()
            .and_then(|b| b.first_bad())
            .map(|c| format!("{} {} ({})", c.short, c.subject, c.author))
            .or_else(|| {
                report
                    .held_back
                    .as_ref()
                    .map(|h| format!("{} {}", h.first_bad.short, h.first_bad.subject))
            });
        Observed {
            failed,
            passed: matches!(
                report.outcome,
                UpdateOutcome::Promoted | UpdateOutcome::Parked { .. }
            ),
            staged: !matches!(report.outcome, UpdateOutcome::UpToDate { .. }),
            evidence: Evidence {
                culprit,
                failure: signature.clone().or_else(|| match &report.outcome {
                    UpdateOutcome::RolledBack { reason } => Some(reason.clone()),
                    _ => None,
                }),
                findings,
                log_tail: first.map(|f| tail(&f.detail, 20)).unwrap_or_default(),
                reproduce: reproduce(name, report.to.as_ref().map(|c| c.id.as_str())),
            },
            signature,
            gpu_error: None,
            held_at: report
                .held_back
                .as_ref()
                .map(|h| format!("{} (first bad {})", h.at.short, h.first_bad.short)),
            protected: report.protected_changes.clone(),
        }
    }

    /// From an update that failed with an error.
    pub fn from_error(name: &str, e: &TransactionError) -> Observed {
        let message = crate::redact::error_chain(e);
        let gpu = is_gpu_error(e) || message.contains("NVML");
        let signature = format!("error: {}", normalise(&message));
        Observed {
            failed: true,
            staged: true,
            evidence: Evidence {
                failure: Some(message.clone()),
                reproduce: reproduce(name, None),
                ..Evidence::default()
            },
            gpu_error: gpu.then(|| normalise(&message)),
            signature: Some(signature),
            ..Observed::default()
        }
    }
}

fn is_gpu_error(e: &TransactionError) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if matches!(
            err.downcast_ref::<crate::baseline::BaselineError>(),
            Some(crate::baseline::BaselineError::Preflight { .. })
        ) {
            return true;
        }
        cur = err.source();
    }
    false
}

/// The message with numbers and paths left out: what stays the same when
/// the same thing fails again.
fn normalise(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default();
    first
        .split_whitespace()
        .map(|w| {
            if w.contains('/') {
                "<path>"
            } else if w.chars().any(|c| c.is_ascii_digit()) {
                "<n>"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn tail(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| (*l).to_owned())
        .collect()
}

fn reproduce(name: &str, to: Option<&str>) -> String {
    match to {
        Some(to) => format!("tether update --upstream {name} --to {to} --no-fix --dry-run"),
        None => format!("tether update --upstream {name} --no-fix --dry-run"),
    }
}

/// Folds one update cycle of `name` into the state and returns the
/// escalation events to send now.
pub fn observe(cfg: &Config, state: &mut ServiceState, name: &str, o: Observed) -> Vec<Event> {
    let e = &cfg.escalation;
    let now = crate::env::now();
    let s = state.upstreams.entry(name.to_owned()).or_default();
    if o.failed {
        s.consecutive_failures += 1;
    } else if o.passed {
        s.consecutive_failures = 0;
    }
    match &o.signature {
        Some(sig) if s.failure_signature.as_deref() == Some(sig.as_str()) => {}
        Some(sig) => {
            s.failure_signature = Some(sig.clone());
            s.signature_since = Some(now);
        }
        None if o.passed => {
            s.failure_signature = None;
            s.signature_since = None;
        }
        None => {}
    }
    match (&o.held_at, s.held_since) {
        (Some(_), None) => s.held_since = Some(now),
        (None, Some(_)) if o.passed => s.held_since = None,
        _ => {}
    }
    let (failures, signature, since, held_since) = (
        s.consecutive_failures,
        s.failure_signature.clone(),
        s.signature_since,
        s.held_since,
    );
    let days = |t: Option<jiff::Timestamp>| {
        t.map_or(0, |t| (now.as_second() - t.as_second()).max(0) / 86_400)
    };
    let mut raise = |trigger: Trigger, holds: bool, severity, summary: String, fp: String| {
        let id = format!("{}-{name}", trigger.as_str());
        if !holds {
            state.escalations.remove(&id);
            return;
        }
        let x = state.escalations.entry(id.clone()).or_insert(Escalation {
            id,
            trigger,
            severity,
            upstream: name.to_owned(),
            summary: String::new(),
            evidence: Evidence::default(),
            fingerprint: String::new(),
            raised: now,
            last_sent: None,
            sent_fingerprint: None,
            acked_by: None,
        });
        x.summary = summary;
        x.evidence = o.evidence.clone();
        x.fingerprint = fp;
    };
    raise(
        Trigger::ConsecutiveFailures,
        e.consecutive_failures > 0 && failures >= e.consecutive_failures,
        Severity::Warning,
        format!("`{name}`: {failures} consecutive update cycles failed"),
        signature.clone().unwrap_or_default(),
    );
    raise(
        Trigger::SameFailure,
        e.same_failure_days > 0
            && signature.is_some()
            && days(since) >= i64::from(e.same_failure_days),
        Severity::Warning,
        format!(
            "`{name}`: the same failure for {} day(s): {}",
            days(since),
            signature.clone().unwrap_or_default()
        ),
        signature.clone().unwrap_or_default(),
    );
    if o.gpu_error.is_some() || o.passed {
        raise(
            Trigger::GpuError,
            e.gpu_errors && o.gpu_error.is_some(),
            Severity::Critical,
            format!(
                "`{name}`: the GPU stack failed: {}",
                o.gpu_error.clone().unwrap_or_default()
            ),
            o.gpu_error.clone().unwrap_or_default(),
        );
    }
    raise(
        Trigger::HeldBack,
        e.held_back_days > 0
            && o.held_at.is_some()
            && days(held_since) >= i64::from(e.held_back_days),
        Severity::Warning,
        format!(
            "`{name}`: held back for {} day(s) at {}",
            days(held_since),
            o.held_at.clone().unwrap_or_default()
        ),
        o.held_at.clone().unwrap_or_default(),
    );
    if o.staged {
        raise(
            Trigger::ProtectedChange,
            e.protected_changes && !o.protected.is_empty(),
            Severity::Warning,
            format!(
                "`{name}`: an update changes protected packages: {}",
                o.protected.join(", ")
            ),
            o.protected.join(", "),
        );
    }
    due(cfg, state, now)
}

/// Marks the acked escalations and returns the events of those due: never
/// sent for this fingerprint, or not acked and unsent for `remind_every`.
fn due(cfg: &Config, state: &mut ServiceState, now: jiff::Timestamp) -> Vec<Event> {
    let remind = cfg.escalation.remind_every.as_secs() as i64;
    let mut out = Vec::new();
    for x in state.escalations.values_mut() {
        x.acked_by = load_ack(cfg, &x.id)
            .filter(|a| a.fingerprint == x.fingerprint)
            .map(|a| a.by);
        if x.acked_by.is_some() {
            continue;
        }
        let changed = x.sent_fingerprint.as_deref() != Some(x.fingerprint.as_str());
        let stale = x
            .last_sent
            .is_some_and(|t| now.as_second() - t.as_second() >= remind);
        if !(changed || stale) {
            continue;
        }
        x.last_sent = Some(now);
        x.sent_fingerprint = Some(x.fingerprint.clone());
        let mut ev = Event::new(
            EventKind::Escalation,
            "escalation",
            Some(&x.upstream),
            &x.summary,
        );
        ev.escalation = Some(EscalationPayload {
            id: x.id.clone(),
            trigger: x.trigger,
            severity: x.severity,
            evidence: x.evidence.clone(),
            ack: format!("tether ack {}", x.id),
        });
        out.push(ev);
    }
    out
}

/// `tether ack`'s record: the fingerprint it silences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub id: String,
    pub fingerprint: String,
    pub by: String,
    pub at: jiff::Timestamp,
}

fn ack_path(cfg: &Config, id: &str) -> PathBuf {
    cfg.project
        .state_dir
        .join("service")
        .join("acks")
        .join(format!("{id}.json"))
}

fn load_ack(cfg: &Config, id: &str) -> Option<Ack> {
    crate::state::read_json(&ack_path(cfg, id)).ok().flatten()
}

/// Whether `x` is silenced now (an ack of its current fingerprint).
pub fn is_acked(cfg: &Config, x: &Escalation) -> bool {
    load_ack(cfg, &x.id).is_some_and(|a| a.fingerprint == x.fingerprint)
}

/// Why `tether ack` did nothing.
#[derive(Debug, thiserror::Error)]
pub enum AckError {
    #[error("no escalation `{id}`{}; `tether health` lists them", if known.is_empty() { " (none is raised)".to_owned() } else { format!(" (raised: {})", known.join(", ")) })]
    Unknown { id: String, known: Vec<String> },
    #[error(transparent)]
    State(#[from] crate::state::StateError),
}

/// `tether ack <id>`: silences the escalation until its evidence changes.
pub fn ack(cfg: &Config, id: &str, by: &str) -> Result<Ack, AckError> {
    let state = ServiceState::load(&ServiceState::path(cfg));
    let Some(x) = state.escalations.get(id) else {
        return Err(AckError::Unknown {
            id: id.to_owned(),
            known: state.escalations.keys().cloned().collect(),
        });
    };
    let ack = Ack {
        id: id.to_owned(),
        fingerprint: x.fingerprint.clone(),
        by: by.to_owned(),
        at: crate::env::now(),
    };
    crate::state::write_json(&ack_path(cfg, id), &ack)?;
    Ok(ack)
}
