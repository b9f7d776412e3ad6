//! Owns `tether health`: the diagnostic report a user (or their pager) reads
//! first. It gathers the system, the GPUs (NVML), the torch stack (the GPU
//! preflight, in the worker), the wrapper's Python, the upstreams, the
//! service, the live wrapper's last baseline results with their trend, and
//! each upstream's last update (apart: a rolled-back candidate leaves the
//! live wrapper as it was), the Slurm cluster when cases run there, what
//! waits for a person (escalations, parked updates), and judges them:
//! healthy, degraded or failing,
//! each with its reasons. Read-only: it fetches nothing and changes nothing
//! but its own scratch folder.

mod baseline;
mod cluster;
mod installation;
mod json_shape;
mod python;
mod system;
mod updates;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use baseline::{CaseTrend, RunPoint};
pub use cluster::{ClusterHealth, PartitionHealth};
pub use installation::{Installation, WorkerLocation};
pub use python::{ProtectedPackageChange, PythonInfo, TorchView};
pub use system::{DiskUse, SystemInfo};
pub use updates::{LastUpdate, UpdateStatus};

use crate::config::Config;
use crate::daemon::ServiceState;
use crate::gpu::{GpuDetails, Hardware, PreflightResult};
use crate::state::LockHolder;
use crate::upstream::{self, CheckOptions};

/// Free disk below this share of a file system degrades health.
const LOW_DISK: f64 = 0.05;
/// A GPU hotter than this degrades health.
const HOT_GPU_C: u32 = 87;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthVerdict {
    Healthy,
    Degraded,
    Failing,
}

impl HealthVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthVerdict::Healthy => "healthy",
            HealthVerdict::Degraded => "degraded",
            HealthVerdict::Failing => "failing",
        }
    }
}

/// One reason the verdict is not healthy: `{"verdict", "message"}` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthReason {
    pub verdict: HealthVerdict,
    pub message: String,
}

impl HealthReason {
    pub fn new(verdict: HealthVerdict, message: String) -> HealthReason {
        HealthReason { verdict, message }
    }
}

/// Everything `tether health` reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    pub verdict: HealthVerdict,
    /// Why the verdict is not healthy, worst first.
    pub reasons: Vec<HealthReason>,
    pub generated: jiff::Timestamp,
    /// The config file read; `None`: none was found, so the sections that
    /// need one (the wrapper's Python, upstreams, service, baseline) are
    /// empty and only the system diagnostic ran.
    #[serde(default)]
    pub config: Option<PathBuf>,
    pub system: SystemInfo,
    /// tether's own installation: its binary and the `tether-gpu` worker.
    pub installation: Installation,
    /// The driver and each GPU, or why NVML gives none: in JSON
    /// `{"status": "ok", "hardware", "gpus"}` or `{"status": "error", "error"}`.
    #[serde(with = "json_shape::gpu")]
    pub gpu: Result<(Hardware, Vec<GpuDetails>), String>,
    /// The preflight; `None` when turned off (`--no-probe`).
    pub torch: Option<PreflightResult>,
    /// The wrapper's Python; `None` without a config.
    pub python: Option<PythonInfo>,
    pub upstreams: Vec<UpstreamHealth>,
    /// The service; `None` without a config.
    pub service: Option<ServiceHealth>,
    /// The live wrapper's baseline trend per case (runs of staged update or
    /// bisect candidates are not in it).
    pub baseline: Vec<CaseTrend>,
    /// Baseline runs found that were not of the live wrapper (update and
    /// bisect candidates, `--staged` trees), left out of the trend.
    #[serde(default)]
    pub baseline_not_live: usize,
    /// The Slurm cluster, when any case runs on the slurm executor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterHealth>,
    /// What waits for a person: raised escalations and parked updates.
    #[serde(default)]
    pub attention: Attention,
}

/// What waits for a person: escalations the service raised (acked ones
/// included, marked) and updates parked for approval.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Attention {
    pub escalations: Vec<crate::daemon::escalation::Escalation>,
    pub parked: Vec<crate::daemon::state::ParkedBrief>,
}

fn attention(cfg: &Config, state: &ServiceState) -> Attention {
    let now = crate::env::now();
    Attention {
        escalations: state
            .escalations
            .values()
            .map(|x| {
                let mut x = x.clone();
                if !crate::daemon::escalation::is_acked(cfg, &x) {
                    x.acked_by = None;
                } else if x.acked_by.is_none() {
                    x.acked_by = Some("tether ack".into());
                }
                x
            })
            .collect(),
        parked: crate::update::list_parked(&crate::state::StateDir::new(&cfg.project.state_dir))
            .into_iter()
            .filter(|p| !p.is_expired(now))
            .map(|p| crate::daemon::state::ParkedBrief {
                id: p.id().to_owned(),
                upstream: p.journal.upstream.clone(),
                to: p.journal.to.clone(),
                parked_since: p.parked_at,
                expires: p.expires,
            })
            .collect(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpstreamHealth {
    pub name: String,
    pub current: Option<String>,
    pub target: Option<String>,
    pub behind: usize,
    /// Behind commits not yet soaked.
    pub soaking: usize,
    /// Newest commit the baseline passed on, from the service state.
    pub last_good: Option<String>,
    /// Vendored layout: files of the copy that differ from its upstream commit.
    pub local_modifications: Option<usize>,
    /// Held back at its newest good commit after an unfixable update.
    pub held_back: Option<crate::upstream::HeldBack>,
    /// Its last update (promoted, rolled back, running or interrupted).
    #[serde(default)]
    pub last_update: Option<LastUpdate>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceHealth {
    pub state: ServiceState,
    /// Who runs `tether watch` now, if anyone.
    pub running: Option<LockHolder>,
    /// Who holds the state lock now, if anyone.
    pub lock_holder: Option<LockHolder>,
    pub outputs_bytes: u64,
    pub logs_bytes: u64,
}

#[derive(Debug, Clone, Default)]
pub struct HealthOptions {
    /// Skip the GPU preflight (it starts the worker and takes a few seconds).
    pub no_probe: bool,
}

pub fn health(cfg: &Config, opts: &HealthOptions) -> HealthReport {
    let scratch = cfg.project.state_dir.join("health");
    let system = system::read(&[
        ("state", cfg.project.state_dir.as_path()),
        ("outputs", cfg.project.outputs_dir.as_path()),
        ("wrapper", cfg.project.root.as_path()),
    ]);
    let gpu = crate::gpu::details();
    let installation = installation::read(&cfg.gpu);
    let torch = (!opts.no_probe).then(|| crate::gpu::preflight(&cfg.gpu, &scratch.join("probe")));
    let python = python::read(cfg, &scratch.join("python"));
    let state = ServiceState::load(&ServiceState::path(cfg));
    let lock_holder = holder(&cfg.project.state_dir.join("tether.lock"));
    let upstreams = cfg
        .upstreams
        .iter()
        .map(|up| {
            let last_good = state
                .upstreams
                .get(&up.name)
                .and_then(|s| s.last_good.clone());
            let last_update = updates::last_update(cfg, &up.name, lock_holder.is_some());
            match upstream::check(cfg, up, &CheckOptions { fetch: false }) {
                Ok(r) => UpstreamHealth {
                    name: up.name.clone(),
                    current: Some(r.current.id.clone()),
                    target: Some(r.target.id.clone()),
                    behind: r.behind,
                    soaking: r.commits.iter().filter(|c| !c.soak.is_soaked()).count(),
                    last_good,
                    local_modifications: r.local_modifications.as_ref().map(|m| m.files.len()),
                    held_back: r.held_back.clone(),
                    last_update,
                    error: None,
                },
                Err(e) => UpstreamHealth {
                    name: up.name.clone(),
                    current: None,
                    target: None,
                    behind: 0,
                    soaking: 0,
                    last_good,
                    local_modifications: None,
                    held_back: None,
                    last_update,
                    error: Some(crate::redact::error_chain(&e)),
                },
            }
        })
        .collect();
    let attention = attention(cfg, &state);
    let service = ServiceHealth {
        running: holder(&crate::daemon::service_lock_path(cfg)),
        lock_holder,
        outputs_bytes: du(&cfg.project.outputs_dir),
        logs_bytes: du(&crate::daemon::housekeeping::logs_dir(cfg)),
        state,
    };
    let (baseline, baseline_not_live) = baseline::trends(cfg);
    let mut report = HealthReport {
        verdict: HealthVerdict::Healthy,
        reasons: Vec::new(),
        generated: crate::env::now(),
        config: cfg.source.clone(),
        system,
        installation,
        gpu,
        torch,
        python: Some(python),
        upstreams,
        service: Some(service),
        baseline,
        baseline_not_live,
        cluster: cluster::read(cfg),
        attention,
    };
    judge(&mut report);
    report
}

/// The diagnostic that runs anywhere, without a config: the system (the
/// disk of `dir`), the GPUs, the torch stack (the preflight with the
/// default GPU settings, its scratch files under `dir`) and tether's own
/// installation. The wrapper, upstream, service and baseline sections need
/// a config and stay empty.
pub fn health_without_config(dir: &std::path::Path, opts: &HealthOptions) -> HealthReport {
    let gpu_cfg = crate::config::GpuConfig::default();
    let system = system::read(&[("current directory", dir)]);
    let gpu = crate::gpu::details();
    let installation = installation::read(&gpu_cfg);
    let torch = (!opts.no_probe).then(|| {
        let scratch = std::env::temp_dir().join(format!("tether-health-{}", std::process::id()));
        let result = crate::gpu::preflight(&gpu_cfg, &scratch);
        let _ = fs_err::remove_dir_all(&scratch);
        result
    });
    let mut report = HealthReport {
        verdict: HealthVerdict::Healthy,
        reasons: Vec::new(),
        generated: crate::env::now(),
        config: None,
        system,
        installation,
        gpu,
        torch,
        python: None,
        upstreams: Vec::new(),
        service: None,
        baseline: Vec::new(),
        baseline_not_live: 0,
        cluster: None,
        attention: Attention::default(),
    };
    judge(&mut report);
    report
}

/// The verdict and its reasons.
fn judge(r: &mut HealthReport) {
    let mut reasons: Vec<HealthReason> = Vec::new();
    if let Some(c) = &r.cluster {
        cluster::reasons(c, &mut reasons);
    }
    if let Some(t) = &r.torch
        && !t.passed
    {
        reasons.push(HealthReason::new(
            HealthVerdict::Failing,
            format!("GPU preflight failed: {}", t.problems.join("; ")),
        ));
    }
    for c in &r.baseline {
        if let Some(last) = c.runs.last()
            && last.status != crate::baseline::CaseStatus::Passed
        {
            reasons.push(HealthReason::new(
                HealthVerdict::Failing,
                format!(
                    "baseline case `{}` {} in the live wrapper's last run `{}`",
                    c.case, last.status, last.run_id
                ),
            ));
        }
    }
    if r.torch.is_none()
        && let WorkerLocation::NotFound { looked } = &r.installation.worker
    {
        reasons.push(HealthReason::new(
            HealthVerdict::Degraded,
            format!("the `tether-gpu` worker was not found (looked in {looked}): GPU metrics and the preflight cannot run"),
        ));
    }
    if let Some(python) = &r.python {
        judge_python(python, &mut reasons);
    }
    for u in &r.upstreams {
        if let Some(h) = &u.held_back {
            reasons.push(HealthReason::new(
                HealthVerdict::Degraded,
                format!(
                    "upstream `{}` is held back at {}: the first bad commit is {} ({})",
                    u.name, h.at.short, h.first_bad.short, h.first_bad.subject
                ),
            ));
        }
        if let Some(e) = &u.error {
            reasons.push(HealthReason::new(
                HealthVerdict::Degraded,
                format!("upstream `{}`: {e}", u.name),
            ));
        }
        if let Some(l) = &u.last_update
            && matches!(l.status, UpdateStatus::Interrupted | UpdateStatus::Paused)
        {
            reasons.push(HealthReason::new(
                HealthVerdict::Degraded,
                format!(
                    "the update of `{}` to {} was {}",
                    u.name,
                    l.to_short(),
                    l.sentence()
                ),
            ));
        }
    }
    for (job, j) in r.service.iter().flat_map(|s| &s.state.jobs) {
        if j.last_outcome == Some(crate::daemon::state::JobOutcome::Failed) {
            reasons.push(HealthReason::new(
                HealthVerdict::Degraded,
                format!(
                    "service job `{job}` failed last time: {}",
                    j.last_error.as_deref().unwrap_or("")
                ),
            ));
        }
    }
    for d in &r.system.disks {
        if let Some(f) = d.free_fraction()
            && f < LOW_DISK
        {
            reasons.push(HealthReason::new(
                HealthVerdict::Degraded,
                format!(
                    "little free disk for {} ({:.1}% free on {})",
                    d.role,
                    f * 100.0,
                    d.mount.as_deref().unwrap_or(d.path.as_path()).display()
                ),
            ));
        }
    }
    if let Ok((_, gpus)) = &r.gpu {
        for g in gpus {
            if g.temperature_c.is_some_and(|t| t > HOT_GPU_C) {
                reasons.push(HealthReason::new(
                    HealthVerdict::Degraded,
                    format!(
                        "GPU {} runs at {} °C",
                        g.index,
                        g.temperature_c.unwrap_or(0)
                    ),
                ));
            }
            if g.ecc_uncorrected.is_some_and(|e| e > 0) {
                reasons.push(HealthReason::new(
                    HealthVerdict::Failing,
                    format!(
                        "GPU {} has {} uncorrected ECC error(s)",
                        g.index,
                        g.ecc_uncorrected.unwrap_or(0)
                    ),
                ));
            }
        }
    }
    for x in r
        .attention
        .escalations
        .iter()
        .filter(|x| x.acked_by.is_none())
    {
        let verdict = match x.severity {
            crate::daemon::escalation::Severity::Warning => HealthVerdict::Degraded,
            crate::daemon::escalation::Severity::Critical => HealthVerdict::Failing,
        };
        reasons.push(HealthReason::new(
            verdict,
            format!(
                "escalation {}: {}; `tether ack {}` silences it",
                x.id, x.summary, x.id
            ),
        ));
    }
    for p in &r.attention.parked {
        reasons.push(HealthReason::new(
            HealthVerdict::Degraded,
            format!(
                "update {} of `{}` is parked for approval until {}; `tether pending` shows it",
                p.id, p.upstream, p.expires
            ),
        ));
    }
    reasons.sort_by_key(|r| std::cmp::Reverse(r.verdict));
    r.verdict = reasons
        .first()
        .map_or(HealthVerdict::Healthy, |r| r.verdict);
    r.reasons = reasons;
}

/// The reasons the wrapper's Python gives.
fn judge_python(p: &PythonInfo, reasons: &mut Vec<HealthReason>) {
    if let Err(problems) = &p.pip_check {
        reasons.push(HealthReason::new(
            HealthVerdict::Degraded,
            format!(
                "`pip check` reports: {}",
                crate::text::cut_list(problems, crate::text::MESSAGE_ITEMS)
            ),
        ));
    }
    if let Err(e) = &p.torch {
        reasons.push(HealthReason::new(
            HealthVerdict::Degraded,
            format!("the wrapper's interpreter cannot import torch: {e}"),
        ));
    }
    if let Some(changed) = &p.changed_since_good
        && !changed.is_empty()
    {
        let names: Vec<&str> = changed.iter().map(|c| c.name.as_str()).collect();
        reasons.push(HealthReason::new(
            HealthVerdict::Degraded,
            format!(
                "protected packages changed since the last good run: {}",
                crate::text::cut_list(&names, crate::text::MESSAGE_ITEMS)
            ),
        ));
    }
}

/// Who holds the lock file `path` now (only when it is really held).
fn holder(path: &std::path::Path) -> Option<LockHolder> {
    crate::state::StateLock::holder_of(path)
}

/// Bytes under `dir` (symlinks not followed).
fn du(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs_err::read_dir(&d) else {
            continue;
        };
        for e in rd.filter_map(Result::ok) {
            let Ok(m) = fs_err::symlink_metadata(e.path()) else {
                continue;
            };
            if m.is_dir() {
                stack.push(e.path());
            } else if m.is_file() {
                total += m.len();
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_and_a_trend_point_are_objects_with_named_fields() {
        let reason = HealthReason::new(HealthVerdict::Failing, "GPU 0 has 1 error".into());
        let json = serde_json::to_value(&reason).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"verdict": "failing", "message": "GPU 0 has 1 error"})
        );
        assert_eq!(
            serde_json::from_value::<HealthReason>(json).unwrap(),
            reason
        );

        let point = RunPoint {
            run_id: "baseline-1".into(),
            at: jiff::Timestamp::UNIX_EPOCH,
            status: crate::baseline::CaseStatus::TimedOut,
            duration_s: 1.0,
            peak_vram_bytes: None,
            mean_ssim: None,
        };
        let json = serde_json::to_value(&point).unwrap();
        assert_eq!(json["status"], "timed_out");
        assert_eq!(serde_json::from_value::<RunPoint>(json).unwrap(), point);
    }
}
