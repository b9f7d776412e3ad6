//! The service's persisted state (`<state>/service/state.json`, versioned,
//! written atomically after every job): last and next run of each job, the
//! last view of each upstream, recent failures, counters and the last
//! baseline figures, raised escalations and the parked updates. `/status`,
//! `/metrics` and `tether health` read it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::baseline::{CaseStatus, ReferenceVerdict};
use crate::config::{Config, JobKind};

/// Failures kept in [`ServiceState::recent_failures`].
const RECENT: usize = 20;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceState {
    pub jobs: BTreeMap<JobKind, JobState>,
    pub upstreams: BTreeMap<String, UpstreamStatus>,
    pub recent_failures: Vec<FailureRecord>,
    /// The last baseline run's cases (from a baseline job, or the final run
    /// of a promoted update: never a rejected candidate's).
    pub last_baseline: Vec<CaseSummary>,
    pub cycles: u64,
    pub fix_attempts_total: u64,
    pub promotions_total: u64,
    pub rollbacks_total: u64,
    pub regressions_total: u64,
    /// Raised escalations by id (`daemon::escalation`).
    pub escalations: BTreeMap<String, super::escalation::Escalation>,
    /// The updates parked for approval, as of the last update job.
    pub parked: Vec<ParkedBrief>,
    /// When the running service started, and its pid.
    pub started: Option<jiff::Timestamp>,
    pub pid: Option<u32>,
    /// The Slurm jobs tether follows now, pending and running: read live
    /// from the job registry for `/status` and `/metrics` (never stored).
    #[serde(skip_deserializing)]
    pub slurm_jobs: crate::slurm::QueueDepth,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobState {
    /// The cron expression it runs on.
    pub schedule: String,
    pub last_run: Option<jiff::Timestamp>,
    pub last_outcome: Option<JobOutcome>,
    pub last_duration_s: f64,
    pub last_error: Option<String>,
    pub last_run_id: Option<String>,
    pub next_run: Option<jiff::Timestamp>,
    pub runs: u64,
    pub failures: u64,
    /// Baseline runs the job has spent (staged updates, fix attempts,
    /// bisect steps, held-back re-tests, live baselines).
    pub baseline_runs: u64,
    /// Their wall time in minutes (the sum of case durations: GPU time).
    pub gpu_minutes: f64,
    /// The same for the job's last run.
    pub last_baseline_runs: u64,
    pub last_gpu_minutes: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    Ok,
    Failed,
    /// Not run: another tether command held the lock.
    Skipped,
    /// Stopped part-way because the service was asked to stop.
    Cancelled,
}

impl JobOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            JobOutcome::Ok => "ok",
            JobOutcome::Failed => "failed",
            JobOutcome::Skipped => "skipped",
            JobOutcome::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpstreamStatus {
    pub current: Option<String>,
    pub target: Option<String>,
    pub behind: usize,
    /// New commits not yet old enough to adopt.
    pub pending_soak: usize,
    /// The newest commit the baseline passed on (promoted, or current after
    /// a passing baseline).
    pub last_good: Option<String>,
    /// The last update's outcome, in words.
    pub last_verdict: Option<String>,
    pub checked_at: Option<jiff::Timestamp>,
    /// Held back at its newest good commit (after an unfixable update).
    pub held: Option<HoldStatus>,
    /// Update cycles that failed in a row (escalation).
    pub consecutive_failures: u32,
    /// The last failed cycle's failure signature, and since when it repeats.
    pub failure_signature: Option<String>,
    pub signature_since: Option<jiff::Timestamp>,
    /// Since when the upstream is held back at a last good commit.
    pub held_since: Option<jiff::Timestamp>,
}

/// A held-back upstream as the service shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldStatus {
    /// The commit the wrapper is held at.
    pub at: String,
    /// The first bad commit: `short subject`.
    pub culprit: String,
    pub since: jiff::Timestamp,
    /// The last re-test of a newer target: when and at which commit.
    pub last_retest: Option<jiff::Timestamp>,
    pub last_retest_target: Option<String>,
    /// Re-tests that found the same failure (bisects saved).
    pub retests: u32,
}

impl HoldStatus {
    pub fn of(h: &crate::upstream::HeldBack) -> HoldStatus {
        HoldStatus {
            at: h.at.short.clone(),
            culprit: format!("{} {}", h.first_bad.short, h.first_bad.subject),
            since: h.since,
            last_retest: h.last_retest.as_ref().map(|r| r.at),
            last_retest_target: h.last_retest.as_ref().map(|r| r.target.short.clone()),
            retests: h.retests,
        }
    }
}

/// A parked update as `/status` shows it (`tether pending` has the rest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParkedBrief {
    pub id: String,
    pub upstream: String,
    pub to: String,
    pub parked_since: jiff::Timestamp,
    pub expires: jiff::Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureRecord {
    pub at: jiff::Timestamp,
    pub job: JobKind,
    pub run_id: String,
    pub error: String,
}

/// One case of the last baseline, for trends and metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseSummary {
    pub case: String,
    /// Written in words (`timed out`), as state files always have been.
    #[serde(with = "crate::baseline::status_words")]
    pub status: CaseStatus,
    pub duration_s: f64,
    pub peak_vram_bytes: Option<u64>,
    pub mean_ssim: Option<f64>,
    /// Against the reference; `None` when the case was not compared.
    pub verdict: Option<ReferenceVerdict>,
    pub at: jiff::Timestamp,
}

impl ServiceState {
    pub fn path(cfg: &Config) -> PathBuf {
        cfg.project.state_dir.join("service").join("state.json")
    }

    /// The saved state; missing or corrupt (moved aside) is a fresh one.
    pub fn load(path: &Path) -> ServiceState {
        match crate::state::read_json::<ServiceState>(path) {
            Ok(Some(s)) => s,
            Ok(None) => ServiceState::default(),
            Err(e) => {
                tracing::warn!(error = %e, "service state unreadable; starting afresh");
                ServiceState::default()
            }
        }
    }

    /// Saves atomically; a deleted state dir is recreated (and logged).
    pub fn save(&self, path: &Path) -> Result<(), crate::state::StateError> {
        if let Some(dir) = path.parent()
            && !dir.exists()
        {
            tracing::warn!(dir = %dir.display(), "the state dir is gone; recreating it");
        }
        crate::state::write_json(path, self)
    }

    pub fn record_failure(&mut self, job: JobKind, run_id: &str, error: &str) {
        self.recent_failures.push(FailureRecord {
            at: crate::env::now(),
            job,
            run_id: run_id.to_owned(),
            error: crate::redact::redact(error).into_owned(),
        });
        let extra = self.recent_failures.len().saturating_sub(RECENT);
        self.recent_failures.drain(..extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_last_baseline_written_with_string_statuses_loads_and_is_written_the_same() {
        // as a service state file has held it since the first version
        let old = serde_json::json!({
            "case": "t2v",
            "status": "timed out",
            "duration_s": 12.5,
            "peak_vram_bytes": null,
            "mean_ssim": 0.98,
            "verdict": "regressed",
            "at": "2025-01-02T03:04:05Z"
        });
        let summary: CaseSummary = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(summary.status, CaseStatus::TimedOut);
        assert_eq!(summary.verdict, Some(ReferenceVerdict::Regressed));
        assert_eq!(serde_json::to_value(&summary).unwrap(), old);
        let mut unknown = old;
        unknown["status"] = "exploded".into();
        let err = serde_json::from_value::<CaseSummary>(unknown).unwrap_err();
        assert!(
            err.to_string().contains("unknown case status `exploded`"),
            "{err}"
        );
    }
}
