//! The slurm executor: each case of a run one `sbatch` job running
//! `tether case-exec` on a node (the local runner's own code, see
//! `runner::exec_case`), at most `baseline.max_parallel` at once, followed
//! with one `squeue` per tick (backing off from `slurm.poll_min` to
//! `poll_max`), its logs streamed into the run folder, its folder copied
//! back at its end. Every job is registered in the state dir while it is
//! followed and cancelled on the case's timeout, on Ctrl-C/SIGTERM, on the
//! run's cancel flag and when this returns early, so no job outlives the run
//! (a rollback only ever follows a finished run). Slurm's verdicts become
//! typed [`JobFailure`]s: host out of memory; infrastructure (retried once).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::BaselineError;
use super::hardware::HardwareKey;
use super::model::{CaseResult, CaseStatus, JobFailure, JobFailureKind};
use super::runner::{NODE_RESULT, NodeResult, not_run};
use super::slurm_files::{LogFollower, copy_tree, tail, write_script};
use super::suite::EffectiveCase;
use crate::config::{Config, SlurmPlacement};
use crate::process::Exit;
use crate::slurm::{self, JobId, JobInfo, JobRegistration, JobState};

/// The slurm executor's view of one run.
pub(super) struct SlurmRun<'a> {
    pub cfg: &'a Config,
    /// The tree under test on the controller.
    pub tree: &'a Path,
    pub run_dir: &'a Path,
    pub run_id: &'a str,
    pub cancel: Option<Arc<AtomicBool>>,
}

/// Where the run's files live on the shared folder.
struct Shared {
    /// `<shared_dir>/tether-runs/<run id>`.
    root: PathBuf,
    /// The tree the nodes run in.
    tree: PathBuf,
    /// The case folders' parent (the run dir of `case-exec`).
    cases: PathBuf,
}

/// One case's job while it is followed.
struct Job<'c> {
    case: &'c EffectiveCase,
    index: usize,
    id: JobId,
    attempt: u32,
    submitted: Instant,
    running_since: Option<Instant>,
    logs: [LogFollower; 2],
    _registered: JobRegistration,
}

/// Slurm's verdict on a job, before its case result is read.
enum End {
    /// The job ended; read its case's result.
    Done(JobState),
    /// Stopped by tether at the case's timeout.
    TimedOut,
    /// Pending past `slurm.max_pending`.
    PendingTooLong,
    /// The run was cancelled.
    Cancelled,
}

/// Cancels every job still listed when dropped (an early return, a panic).
struct CancelOnDrop(Vec<JobId>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let _ = slurm::scancel(&self.0);
        }
    }
}

impl SlurmRun<'_> {
    fn err(&self, message: String) -> BaselineError {
        BaselineError::Slurm { message }
    }

    fn cancelled(&self) -> bool {
        crate::process::interrupted()
            || self
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::SeqCst))
    }

    /// Runs `cases` as jobs; each result with the hardware its node reported.
    pub(super) fn run_cases(
        &self,
        cases: &[&EffectiveCase],
        finished: &dyn Fn(&CaseResult),
    ) -> Result<Vec<(CaseResult, Option<HardwareKey>)>, BaselineError> {
        // a first Ctrl-C or SIGTERM cancels the jobs instead of exiting
        let _signals = crate::process::RunningGuard::new();
        let shared = self.stage()?;
        // each target's nodes must see the shared folder
        let mut targets: Vec<Option<&str>> = Vec::new();
        for c in cases {
            if !targets.contains(&c.target.as_deref()) {
                targets.push(c.target.as_deref());
            }
        }
        for t in targets {
            self.probe(&shared, t)?;
        }
        let mut results: Vec<Option<(CaseResult, Option<HardwareKey>)>> =
            (0..cases.len()).map(|_| None).collect();
        let mut queue: Vec<(usize, u32)> = (0..cases.len()).rev().map(|i| (i, 1)).collect();
        let mut running: Vec<Job> = Vec::new();
        let mut guard = CancelOnDrop(Vec::new());
        let mut interval = self.cfg.slurm.poll_min;
        let max_parallel = self.cfg.baseline.max_parallel.max(1) as usize;
        while !queue.is_empty() || !running.is_empty() {
            if self.cancelled() {
                let ids: Vec<JobId> = running.iter().map(|j| j.id.clone()).collect();
                slurm::scancel(&ids).map_err(|e| self.err(e.to_string()))?;
                for job in running.drain(..) {
                    let r = self.result(&shared, &job, End::Cancelled);
                    finished(&r.0);
                    results[job.index] = Some(r);
                }
                for (i, _) in queue.drain(..) {
                    let r = not_run(
                        cases[i],
                        self.run_dir,
                        "not run: the run was cancelled".into(),
                    );
                    finished(&r);
                    results[i] = Some((r, None));
                }
                break;
            }
            while running.len() < max_parallel
                && let Some((i, attempt)) = queue.pop()
            {
                let job = self.submit(&shared, cases[i], i, attempt)?;
                guard.0.push(job.id.clone());
                running.push(job);
            }
            sleep_unless_cancelled(interval, || self.cancelled());
            let ids: Vec<JobId> = running.iter().map(|j| j.id.clone()).collect();
            let infos = slurm::squeue(&ids).map_err(|e| self.err(e.to_string()))?;
            let mut changed = false;
            let mut still = Vec::new();
            for mut job in running.drain(..) {
                job.logs.iter_mut().for_each(LogFollower::follow);
                let info = match infos.iter().find(|i| i.id == job.id) {
                    Some(i) => Some(i.clone()),
                    None => slurm::scontrol_state(&job.id).map_err(|e| self.err(e.to_string()))?,
                };
                let end = self.judge(&mut job, info.as_ref());
                let Some(end) = end else {
                    still.push(job);
                    continue;
                };
                changed = true;
                if matches!(end, End::TimedOut | End::PendingTooLong) {
                    slurm::scancel(std::slice::from_ref(&job.id))
                        .map_err(|e| self.err(e.to_string()))?;
                }
                guard.0.retain(|id| *id != job.id);
                let (result, hardware) = self.result(&shared, &job, end);
                let retry = result
                    .job_failure
                    .as_ref()
                    .is_some_and(|f| f.is_infrastructure() && f.state != "PENDING")
                    && job.attempt == 1;
                if retry {
                    tracing::warn!(case = %job.case.name, job = %job.id, "the cluster failed the job; submitting it once more");
                    queue.push((job.index, 2));
                } else {
                    finished(&result);
                    results[job.index] = Some((result, hardware));
                }
            }
            running = still;
            interval = if changed {
                self.cfg.slurm.poll_min
            } else {
                (interval * 3 / 2).min(self.cfg.slurm.poll_max)
            };
        }
        Ok(results.into_iter().flatten().collect())
    }

    /// The tree on the shared folder (copied there unless it is there).
    fn stage(&self) -> Result<Shared, BaselineError> {
        let Some(dir) = &self.cfg.slurm.shared_dir else {
            return Err(self.err("`slurm.shared_dir` is not set".into()));
        };
        // unique per run of this tether: runs at once (a parallel bisect's
        // steps) may share a run id
        static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let nth = RUNS.fetch_add(1, Ordering::SeqCst);
        let root =
            dir.join("tether-runs")
                .join(format!("{}-{}-{nth}", self.run_id, std::process::id()));
        crate::state::create_private_dir(&root).map_err(|source| BaselineError::Write {
            path: root.clone(),
            source,
        })?;
        let tree = if self.tree.starts_with(dir) {
            self.tree.to_path_buf()
        } else {
            let to = root.join("tree");
            copy_tree(self.tree, &to)?;
            to
        };
        Ok(Shared {
            cases: root.join("cases"),
            tree,
            root,
        })
    }

    /// A job that proves the nodes (of `target`) see the shared folder.
    fn probe(&self, shared: &Shared, target: Option<&str>) -> Result<(), BaselineError> {
        let (placement, extra_args) = self.cfg.slurm.placement_for(target);
        let suffix = target.map(|t| format!("-{t}")).unwrap_or_default();
        let token = format!("{}-{}{suffix}", self.run_id, std::process::id());
        let token_file = shared.root.join(format!("probe{suffix}.token"));
        let seen = shared.root.join(format!("probe{suffix}.seen"));
        crate::state::write_atomic(&token_file, token.as_bytes()).map_err(|source| {
            BaselineError::Write {
                path: token_file.clone(),
                source,
            }
        })?;
        let script = shared.root.join(format!("probe{suffix}.sh"));
        write_script(
            &script,
            &[
                "cp".into(),
                token_file.display().to_string(),
                seen.display().to_string(),
            ],
        )?;
        let probe_out = shared.root.join(format!("probe{suffix}.out"));
        let mut args = placement_args(placement);
        args.push(format!("--job-name=tether-probe-{}{suffix}", self.run_id));
        args.push(format!("--output={}", probe_out.display()));
        args.push("--time=1".into());
        if let Some(mem) = &self.cfg.slurm.memory {
            args.push(format!("--mem={mem}"));
        }
        args.extend(extra_args.iter().cloned());
        let id = slurm::sbatch(&args, &script).map_err(|e| self.err(e.to_string()))?;
        let _registered = slurm::register(&self.jobs_dir(), &id, "probe");
        let mut guard = CancelOnDrop(vec![id.clone()]);
        let deadline = Instant::now() + self.cfg.slurm.max_pending + Duration::from_secs(60);
        let mut interval = self.cfg.slurm.poll_min;
        loop {
            if self.cancelled() {
                return Err(self.err("the run was cancelled during the shared-folder probe".into()));
            }
            let info = slurm::squeue(std::slice::from_ref(&id))
                .map_err(|e| self.err(e.to_string()))?
                .pop();
            if info.as_ref().is_none_or(|i| i.state.is_final()) {
                break;
            }
            if Instant::now() > deadline {
                return Err(self.err(format!(
                    "the probe job {id} did not run within {}; is partition `{}` up?",
                    crate::duration::format(self.cfg.slurm.max_pending),
                    placement.partition.as_deref().unwrap_or("(default)")
                )));
            }
            sleep_unless_cancelled(interval, || self.cancelled());
            interval = (interval * 3 / 2).min(self.cfg.slurm.poll_max);
        }
        guard.0.clear();
        let read = fs_err::read_to_string(&seen).unwrap_or_default();
        if read != token {
            return Err(self.err(format!(
                "the nodes cannot see `slurm.shared_dir` `{}`: probe job {id} could not copy `{}` there ({})",
                self.cfg.slurm.shared_dir.as_deref().unwrap_or(Path::new("")).display(),
                token_file.display(),
                tail(&probe_out, 500).trim()
            )));
        }
        Ok(())
    }

    fn jobs_dir(&self) -> PathBuf {
        slurm::jobs_dir(&self.cfg.project.state_dir)
    }

    fn submit<'c>(
        &self,
        shared: &Shared,
        case: &'c EffectiveCase,
        index: usize,
        attempt: u32,
    ) -> Result<Job<'c>, BaselineError> {
        let (placement, extra_args) = self.cfg.slurm.placement_for(case.target.as_deref());
        let dir_name = case.dir_name();
        let node_dir = shared.cases.join(&dir_name);
        if node_dir.exists() {
            let _ = fs_err::remove_dir_all(&node_dir);
        }
        crate::state::create_private_dir(&node_dir).map_err(|source| BaselineError::Write {
            path: node_dir.clone(),
            source,
        })?;
        let Some(config) = &self.cfg.source else {
            return Err(
                self.err("the slurm executor needs a config file the nodes can read".into())
            );
        };
        let tether = match &self.cfg.slurm.tether_bin {
            Some(b) => b.clone(),
            None => std::env::current_exe().map_err(|e| {
                self.err(format!(
                    "cannot find the running tether binary for the nodes: {e}"
                ))
            })?,
        };
        let script = shared.root.join(format!("{dir_name}.sh"));
        let mut argv: Vec<String> = vec![
            tether.display().to_string(),
            "--config".into(),
            config.display().to_string(),
            "case-exec".into(),
            "--tree".into(),
            shared.tree.display().to_string(),
            "--run-dir".into(),
            shared.cases.display().to_string(),
            "--run-id".into(),
            self.run_id.to_owned(),
            "--case".into(),
            case.name.clone(),
        ];
        if let Some(t) = &case.target {
            argv.extend(["--target".into(), t.clone()]);
        }
        write_script(&script, &argv)?;
        let mut args = placement_args(placement);
        args.push(format!("--job-name=tether-{}-{dir_name}", self.run_id));
        args.push(format!("--output={}", node_dir.join("slurm.out").display()));
        args.push(format!("--chdir={}", shared.tree.display()));
        args.push(format!("--time={}", self.time_limit_minutes(case)));
        if let Some(cpus) = self.cfg.slurm.cpus {
            args.push(format!("--cpus-per-task={cpus}"));
        }
        if let Some(mem) = &self.cfg.slurm.memory {
            args.push(format!("--mem={mem}"));
        }
        args.extend(extra_args.iter().cloned());
        let id = slurm::sbatch(&args, &script).map_err(|e| self.err(e.to_string()))?;
        tracing::info!(case = %dir_name, job = %id, attempt, "baseline case submitted");
        let registered = slurm::register(&self.jobs_dir(), &id, &dir_name);
        let local = self.run_dir.join(&dir_name);
        Ok(Job {
            case,
            index,
            id,
            attempt,
            submitted: Instant::now(),
            running_since: None,
            logs: [
                LogFollower::new(node_dir.join("stdout.log"), local.join("stdout.log")),
                LogFollower::new(node_dir.join("stderr.log"), local.join("stderr.log")),
            ],
            _registered: registered,
        })
    }

    /// `--time` in whole minutes: `slurm.time_limit`, else the case's
    /// timeout plus its grace period plus a minute.
    fn time_limit_minutes(&self, case: &EffectiveCase) -> u64 {
        let limit = self
            .cfg
            .slurm
            .time_limit
            .unwrap_or(case.timeout + self.cfg.baseline.grace_period + Duration::from_secs(60));
        limit.as_secs().div_ceil(60).max(1)
    }

    /// Whether (and how) a followed job has ended.
    fn judge(&self, job: &mut Job, info: Option<&JobInfo>) -> Option<End> {
        let Some(info) = info else {
            // forgotten by the controller: read what the job left
            return Some(End::Done(JobState::Other("UNKNOWN".into())));
        };
        match &info.state {
            JobState::Pending => (job.submitted.elapsed() > self.cfg.slurm.max_pending)
                .then_some(End::PendingTooLong),
            s if s.is_final() => Some(End::Done(s.clone())),
            _ => {
                let since = *job.running_since.get_or_insert_with(Instant::now);
                // the node stops the case at its timeout; this is the backstop
                let limit =
                    job.case.timeout + self.cfg.baseline.grace_period + Duration::from_secs(30);
                (since.elapsed() > limit).then_some(End::TimedOut)
            }
        }
    }

    /// The case's result from what the job left, its folder copied back.
    fn result(&self, shared: &Shared, job: &Job, end: End) -> (CaseResult, Option<HardwareKey>) {
        let node_dir = shared.cases.join(job.case.dir_name());
        let local = self.run_dir.join(job.case.dir_name());
        if let Err(e) = copy_tree(&node_dir, &local) {
            tracing::warn!(case = %job.case.name, error = %e, "cannot copy the job's folder back");
        }
        let slurm_out = tail(&local.join("slurm.out"), 4096);
        let node: Option<NodeResult> = fs_err::read(local.join(NODE_RESULT))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let failure = |state: &str, kind: JobFailureKind, error: String| {
            let mut r = not_run(job.case, self.run_dir, error);
            if let Some(n) = &node {
                r.duration_s = n.case.duration_s;
                r.stdout_tail = n.case.stdout_tail.clone();
                r.stderr_tail = n.case.stderr_tail.clone();
            } else {
                r.stderr_tail = slurm_out.clone();
            }
            r.job_failure = Some(JobFailure {
                job: job.id.0.clone(),
                state: state.to_owned(),
                kind,
            });
            (r, None)
        };
        let state = match end {
            End::Cancelled => {
                let mut r = not_run(job.case, self.run_dir, "the run was cancelled".into());
                r.job_failure = Some(JobFailure {
                    job: job.id.0.clone(),
                    state: "CANCELLED".into(),
                    kind: JobFailureKind::Cancelled,
                });
                return (r, None);
            }
            End::PendingTooLong => {
                return failure(
                    "PENDING",
                    JobFailureKind::Infrastructure,
                    format!(
                        "job {} was still pending after {}, so it was cancelled",
                        job.id,
                        crate::duration::format(self.cfg.slurm.max_pending)
                    ),
                );
            }
            End::TimedOut => {
                let mut r = not_run(
                    job.case,
                    self.run_dir,
                    format!(
                        "timed out after {}",
                        crate::duration::format(job.case.timeout)
                    ),
                );
                r.status = CaseStatus::TimedOut;
                r.exit = Some(Exit::TimedOut);
                return (r, None);
            }
            End::Done(state) => state,
        };
        if state == JobState::OutOfMemory || slurm_out.contains("Exceeded job memory limit") {
            return failure(
                &state.to_string(),
                JobFailureKind::HostOutOfMemory,
                format!(
                    "host out of memory: job {} exceeded its Slurm memory limit{}",
                    job.id,
                    self.cfg
                        .slurm
                        .memory
                        .as_deref()
                        .map(|m| format!(" (--mem={m})"))
                        .unwrap_or_default()
                ),
            );
        }
        match state {
            JobState::Timeout
            | JobState::NodeFail
            | JobState::Preempted
            | JobState::BootFail
            | JobState::Deadline => {
                return failure(
                    &state.to_string(),
                    JobFailureKind::Infrastructure,
                    format!("the cluster ended job {} {state}", job.id),
                );
            }
            JobState::Cancelled if node.is_none() => {
                return failure(
                    "CANCELLED",
                    JobFailureKind::Cancelled,
                    format!("job {} was cancelled outside tether", job.id),
                );
            }
            _ => {}
        }
        match node {
            Some(n) => {
                let mut case = n.case;
                relocate(&mut case, &node_dir, &local);
                (case, Some(n.hardware))
            }
            None => {
                let mut r = not_run(
                    job.case,
                    self.run_dir,
                    format!(
                        "job {} ended {state} without a result: {}",
                        job.id,
                        slurm_out.trim()
                    ),
                );
                r.stderr_tail = slurm_out.clone();
                (r, None)
            }
        }
    }
}

/// The `--partition`/`--account`/`--qos`/`--gres` options of a placement.
fn placement_args(p: &SlurmPlacement) -> Vec<String> {
    let mut args = Vec::new();
    let pairs = [
        ("partition", &p.partition),
        ("account", &p.account),
        ("qos", &p.qos),
        ("gres", &p.gres),
    ];
    for (key, value) in pairs {
        if let Some(v) = value {
            args.push(format!("--{key}={v}"));
        }
    }
    args
}

/// Paths in a node's result moved from its shared folder to the run folder.
fn relocate(case: &mut CaseResult, from: &Path, to: &Path) {
    let moved = |p: &Path| match p.strip_prefix(from) {
        Ok(rest) if rest.as_os_str().is_empty() => to.to_path_buf(),
        Ok(rest) => to.join(rest),
        Err(_) => p.to_path_buf(),
    };
    case.log_dir = moved(&case.log_dir);
    for q in &mut case.quality {
        if let Some(f) = &q.frames_file {
            q.frames_file = Some(moved(f));
        }
    }
    if let Some(c) = &mut case.canary {
        c.module = moved(&c.module);
        if let Some(f) = &c.outputs_file {
            c.outputs_file = Some(moved(f));
        }
    }
}

/// Sleeps `d` in short slices, waking early when `cancelled` turns true.
fn sleep_unless_cancelled(d: Duration, cancelled: impl Fn() -> bool) {
    let end = Instant::now() + d;
    while Instant::now() < end && !cancelled() {
        std::thread::sleep(Duration::from_millis(50).min(end - Instant::now()));
    }
}

/// `tether config check`'s view of the cluster: `sbatch` installed, the
/// configured partition known to `sinfo`. Empty when there is no slurm case.
pub fn check_cluster(cfg: &Config) -> Vec<String> {
    use crate::config::Executor;
    let uses_slurm = cfg.baseline.executor == Executor::Slurm
        || cfg
            .baseline
            .cases
            .iter()
            .any(|c| c.executor == Some(Executor::Slurm));
    if !uses_slurm {
        return Vec::new();
    }
    if let Err(e) = slurm::installed("sbatch") {
        return vec![format!("executor \"slurm\": {e}")];
    }
    let wanted: Vec<(String, &str)> = if cfg.slurm.targets.is_empty() {
        cfg.slurm
            .placement
            .partition
            .iter()
            .map(|p| ("slurm.partition".to_owned(), p.as_str()))
            .collect()
    } else {
        cfg.slurm
            .targets
            .iter()
            .enumerate()
            .filter_map(|(i, t)| {
                let p = t.placement.partition.as_deref()?;
                Some((format!("slurm.target[{i}].partition"), p))
            })
            .collect()
    };
    if wanted.is_empty() {
        return Vec::new();
    }
    let known = match slurm::partitions() {
        Ok(k) => k,
        Err(e) => {
            return vec![format!(
                "slurm: cannot ask the cluster for its partitions: {e}"
            )];
        }
    };
    let known: Vec<&str> = known.iter().map(|k| k.trim_end_matches('*')).collect();
    wanted
        .into_iter()
        .filter(|(_, p)| !known.contains(p))
        .map(|(key, p)| {
            format!(
                "{key}: the cluster has no partition `{p}` (sinfo knows {})",
                known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect()
}
