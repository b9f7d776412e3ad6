//! `/metrics`: the service state in the Prometheus text format (0.0.4):
//! per job the last run's time, duration and outcome and the run and failure
//! counts; per upstream the commits behind; per baseline case the duration,
//! peak VRAM and mean SSIM; fix attempts, promotions, rollbacks, regressions;
//! the Slurm jobs tether follows, pending and running;
//! baseline runs and GPU minutes spent per job; holds per upstream;
//! consecutive failed update cycles, raised escalations, parked updates.
//! The metrics are a rendering of the persisted state on each request, so a
//! registry would add nothing.

use std::fmt::Write;

use super::state::{JobOutcome, ServiceState};

pub fn render(state: &ServiceState) -> String {
    let mut o = String::new();
    let jobs = || {
        state
            .jobs
            .iter()
            .map(|(job, j)| (format!("job=\"{job}\""), j))
    };
    family(
        &mut o,
        "tether_job_last_run_timestamp_seconds",
        "gauge",
        "Start of the last run of each job.",
        jobs().filter_map(|(l, j)| j.last_run.map(|t| (l, t.as_second().to_string()))),
    );
    family(
        &mut o,
        "tether_job_last_duration_seconds",
        "gauge",
        "Duration of the last run of each job.",
        jobs()
            .filter(|(_, j)| j.last_run.is_some())
            .map(|(l, j)| (l, j.last_duration_s.to_string())),
    );
    family(
        &mut o,
        "tether_job_last_success",
        "gauge",
        "1 if the last run of the job succeeded, 0 if it failed or was skipped.",
        jobs().filter_map(|(l, j)| {
            j.last_outcome
                .map(|x| (l, u8::from(x == JobOutcome::Ok).to_string()))
        }),
    );
    family(
        &mut o,
        "tether_job_runs_total",
        "counter",
        "Runs of each job.",
        jobs().map(|(l, j)| (l, j.runs.to_string())),
    );
    family(
        &mut o,
        "tether_job_failures_total",
        "counter",
        "Failed runs of each job.",
        jobs().map(|(l, j)| (l, j.failures.to_string())),
    );
    let slurm = &state.slurm_jobs;
    family(
        &mut o,
        "tether_slurm_jobs",
        "gauge",
        "Slurm jobs tether follows now, by state.",
        [
            ("state=\"pending\"".to_owned(), slurm.pending.to_string()),
            ("state=\"running\"".to_owned(), slurm.running.to_string()),
        ],
    );
    family(
        &mut o,
        "tether_job_baseline_runs_total",
        "counter",
        "Baseline runs spent by each job (staged updates, fix attempts, bisect steps, held-back re-tests, live baselines).",
        jobs().map(|(l, j)| (l, j.baseline_runs.to_string())),
    );
    family(
        &mut o,
        "tether_job_gpu_minutes_total",
        "counter",
        "Wall time of those baseline runs in minutes (the sum of case durations: GPU time).",
        jobs().map(|(l, j)| (l, j.gpu_minutes.to_string())),
    );
    let ups = || {
        state
            .upstreams
            .iter()
            .map(|(u, s)| (format!("upstream=\"{}\"", label(u)), s))
    };
    family(
        &mut o,
        "tether_upstream_commits_behind",
        "gauge",
        "Commits of the upstream's target that the wrapper's commit lacks.",
        ups().map(|(l, s)| (l, s.behind.to_string())),
    );
    family(
        &mut o,
        "tether_upstream_commits_soaking",
        "gauge",
        "New upstream commits not yet old enough to adopt.",
        ups().map(|(l, s)| (l, s.pending_soak.to_string())),
    );
    family(
        &mut o,
        "tether_upstream_held_back",
        "gauge",
        "1 while the upstream is held back at its newest good commit.",
        ups().map(|(l, s)| (l, u8::from(s.held.is_some()).to_string())),
    );
    family(
        &mut o,
        "tether_upstream_held_since_timestamp_seconds",
        "gauge",
        "When the upstream was held back.",
        ups().filter_map(|(l, s)| {
            s.held
                .as_ref()
                .map(|h| (l, h.since.as_second().to_string()))
        }),
    );
    family(
        &mut o,
        "tether_upstream_consecutive_failures",
        "gauge",
        "Update cycles of the upstream that failed in a row.",
        ups().map(|(l, s)| (l, s.consecutive_failures.to_string())),
    );
    family(
        &mut o,
        "tether_escalation_active",
        "gauge",
        "1 for each raised escalation (acked: silenced by `tether ack`).",
        state.escalations.values().map(|x| {
            (
                format!(
                    "id=\"{}\",trigger=\"{}\",severity=\"{}\",acked=\"{}\"",
                    label(&x.id),
                    x.trigger.as_str(),
                    match x.severity {
                        super::escalation::Severity::Warning => "warning",
                        super::escalation::Severity::Critical => "critical",
                    },
                    x.acked_by.is_some()
                ),
                "1".to_owned(),
            )
        }),
    );
    family(
        &mut o,
        "tether_upstream_held_retests_total",
        "counter",
        "New targets of a held-back upstream tested once and found failing the same way (bisects saved).",
        ups().filter_map(|(l, s)| s.held.as_ref().map(|h| (l, h.retests.to_string()))),
    );
    family(
        &mut o,
        "tether_parked_updates",
        "gauge",
        "Updates parked for approval (`tether pending`).",
        [(String::new(), state.parked.len().to_string())],
    );
    let cases = || {
        state
            .last_baseline
            .iter()
            .map(|c| (format!("case=\"{}\"", label(&c.case)), c))
    };
    family(
        &mut o,
        "tether_baseline_case_duration_seconds",
        "gauge",
        "Duration of each case in the last baseline run.",
        cases().map(|(l, c)| {
            (
                format!("{l},status=\"{}\"", label(c.status.as_str())),
                c.duration_s.to_string(),
            )
        }),
    );
    family(
        &mut o,
        "tether_baseline_case_peak_vram_bytes",
        "gauge",
        "Peak GPU memory of each case in the last baseline run.",
        cases().filter_map(|(l, c)| c.peak_vram_bytes.map(|b| (l, b.to_string()))),
    );
    family(
        &mut o,
        "tether_baseline_case_mean_ssim",
        "gauge",
        "Mean SSIM against the reference of each case in the last baseline run.",
        cases().filter_map(|(l, c)| c.mean_ssim.map(|s| (l, s.to_string()))),
    );
    for (name, help, value) in [
        (
            "tether_fix_attempts_total",
            "Fix attempts made by updates.",
            state.fix_attempts_total,
        ),
        (
            "tether_promotions_total",
            "Updates promoted.",
            state.promotions_total,
        ),
        (
            "tether_rollbacks_total",
            "Updates rolled back.",
            state.rollbacks_total,
        ),
        (
            "tether_regressions_total",
            "Runs that regressed against their references.",
            state.regressions_total,
        ),
        (
            "tether_cycles_total",
            "Job runs recorded in the service state.",
            state.cycles,
        ),
    ] {
        family(
            &mut o,
            name,
            "counter",
            help,
            [(String::new(), value.to_string())],
        );
    }
    o
}

fn family(
    o: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    samples: impl IntoIterator<Item = (String, String)>,
) {
    let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(o, "{name} {value}");
        } else {
            let _ = writeln!(o, "{name}{{{labels}}} {value}");
        }
    }
}

/// A label value escaped as the text format requires.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::super::state::{HoldStatus, JobState, UpstreamStatus};
    use super::*;
    use crate::config::JobKind;

    #[test]
    fn the_followed_slurm_jobs_are_a_gauge_by_state() {
        let state = ServiceState {
            slurm_jobs: crate::slurm::QueueDepth {
                pending: 2,
                running: 1,
            },
            ..ServiceState::default()
        };
        let text = render(&state);
        assert!(text.contains("# TYPE tether_slurm_jobs gauge"), "{text}");
        assert!(
            text.contains("tether_slurm_jobs{state=\"pending\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("tether_slurm_jobs{state=\"running\"} 1\n"),
            "{text}"
        );
        // live only: a state file never brings old counts back
        let json = serde_json::to_string(&state).unwrap();
        let back: ServiceState = serde_json::from_str(&json).unwrap();
        assert_eq!(back.slurm_jobs, crate::slurm::QueueDepth::default());
    }

    #[test]
    fn gpu_minutes_per_job_and_holds_per_upstream_are_exported() {
        let mut state = ServiceState::default();
        state.jobs.insert(
            JobKind::Update,
            JobState {
                baseline_runs: 7,
                gpu_minutes: 12.5,
                ..JobState::default()
            },
        );
        state.upstreams.insert(
            "wan".into(),
            UpstreamStatus {
                held: Some(HoldStatus {
                    at: "abc1234".into(),
                    culprit: "def5678 refactor".into(),
                    since: jiff::Timestamp::from_second(1_700_000_000).unwrap(),
                    last_retest: None,
                    last_retest_target: None,
                    retests: 4,
                }),
                ..UpstreamStatus::default()
            },
        );
        let text = render(&state);
        for line in [
            "tether_job_baseline_runs_total{job=\"update\"} 7",
            "tether_job_gpu_minutes_total{job=\"update\"} 12.5",
            "tether_upstream_held_back{upstream=\"wan\"} 1",
            "tether_upstream_held_since_timestamp_seconds{upstream=\"wan\"} 1700000000",
            "tether_upstream_held_retests_total{upstream=\"wan\"} 4",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
    }
}
