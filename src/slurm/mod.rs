//! Owns talking to a Slurm cluster: `sbatch`, `squeue`, `scontrol`,
//! `scancel` and `sinfo` run as child processes, their output parsed into
//! typed data ([`JobId`], [`JobState`]), and the registry of submitted jobs
//! in the state dir (`registry`) that lets the next tether command cancel
//! jobs a killed tether left queued or running. It knows nothing of cases or
//! config: the baseline's slurm executor builds on it.
//!
//! Each client command is short (the scheduler answers or gives up after its
//! own `MessageTimeout`), so they run to their end with captured output
//! rather than through `process::run`, which is for long children with log
//! files. Following jobs is a synchronous poll (one `squeue` for all of a
//! run's jobs per tick, backing off): the waiting is on the cluster, not on
//! sockets, so an async runtime would add nothing but a dependency here.

mod registry;

use std::path::Path;
use std::process::Command;

pub use registry::{JobRegistration, cancel_orphans, jobs_dir, register};

/// A Slurm job id (`12345`, or `12345_3` for an array task).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct JobId(pub String);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A job's state as `squeue`/`scontrol` spell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    Pending,
    Running,
    /// Running down (`COMPLETING`, `CONFIGURING`, `SUSPENDED`, ...).
    Other(String),
    Completed,
    Failed,
    Cancelled,
    Timeout,
    OutOfMemory,
    NodeFail,
    Preempted,
    BootFail,
    Deadline,
}

impl JobState {
    /// The state named by its Slurm word (`CANCELLED by 0` included).
    pub fn parse(word: &str) -> JobState {
        let word = word.split_whitespace().next().unwrap_or("");
        match word.trim_end_matches('+') {
            "PENDING" | "PD" => JobState::Pending,
            "RUNNING" | "R" => JobState::Running,
            "COMPLETED" | "CD" => JobState::Completed,
            "FAILED" | "F" => JobState::Failed,
            "CANCELLED" | "CA" => JobState::Cancelled,
            "TIMEOUT" | "TO" => JobState::Timeout,
            "OUT_OF_MEMORY" | "OOM" => JobState::OutOfMemory,
            "NODE_FAIL" | "NF" => JobState::NodeFail,
            "PREEMPTED" | "PR" => JobState::Preempted,
            "BOOT_FAIL" | "BF" => JobState::BootFail,
            "DEADLINE" | "DL" => JobState::Deadline,
            other => JobState::Other(other.to_owned()),
        }
    }

    /// Whether the job has ended.
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            JobState::Pending | JobState::Running | JobState::Other(_)
        )
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let word = match self {
            JobState::Pending => "PENDING",
            JobState::Running => "RUNNING",
            JobState::Other(w) => w,
            JobState::Completed => "COMPLETED",
            JobState::Failed => "FAILED",
            JobState::Cancelled => "CANCELLED",
            JobState::Timeout => "TIMEOUT",
            JobState::OutOfMemory => "OUT_OF_MEMORY",
            JobState::NodeFail => "NODE_FAIL",
            JobState::Preempted => "PREEMPTED",
            JobState::BootFail => "BOOT_FAIL",
            JobState::Deadline => "DEADLINE",
        };
        f.write_str(word)
    }
}

/// One line of `squeue`: a job, its state and why it waits or ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobInfo {
    pub id: JobId,
    pub state: JobState,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    #[error("`{program}` not found: is Slurm installed and on PATH?")]
    NotFound { program: &'static str },
    #[error("cannot run `{program}`")]
    Spawn {
        program: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The scheduler's own message (the controller down, a bad option).
    #[error("`{program}` failed: {message}")]
    Failed {
        program: &'static str,
        message: String,
    },
    #[error("`sbatch` answered `{answer}`, not a job id")]
    BadJobId { answer: String },
}

/// Runs one client command to its end; its stdout, or the scheduler's
/// message when it fails.
fn client(program: &'static str, args: &[&str]) -> Result<String, SlurmError> {
    let out = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => SlurmError::NotFound { program },
            _ => SlurmError::Spawn { program, source },
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let message = stderr.trim();
        Err(SlurmError::Failed {
            program,
            message: if message.is_empty() {
                format!("exit status {}", out.status)
            } else {
                crate::redact::redact(message).into_owned()
            },
        })
    }
}

/// Whether `program` can be found on PATH.
pub fn installed(program: &'static str) -> Result<(), SlurmError> {
    match Command::new(program)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SlurmError::NotFound { program }),
        Err(source) => Err(SlurmError::Spawn { program, source }),
    }
}

/// Submits `script` with `args` (`--parsable` is added); the new job's id.
pub fn sbatch(args: &[String], script: &Path) -> Result<JobId, SlurmError> {
    let script = script.display().to_string();
    let mut all: Vec<&str> = vec!["--parsable"];
    all.extend(args.iter().map(String::as_str));
    all.push(&script);
    let out = client("sbatch", &all)?;
    // `12345` or `12345;cluster`
    let id = out.trim().split(';').next().unwrap_or("").to_owned();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit() || c == '_') {
        return Err(SlurmError::BadJobId {
            answer: out.trim().to_owned(),
        });
    }
    Ok(JobId(id))
}

/// The state of each of `jobs` the controller still knows (finished ones
/// too, for `MinJobAge`), in one `squeue` call. A job it has forgotten is
/// missing from the answer.
pub fn squeue(jobs: &[JobId]) -> Result<Vec<JobInfo>, SlurmError> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let list = jobs
        .iter()
        .map(|j| j.0.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let out = match client(
        "squeue",
        &[
            "--noheader",
            "--states=all",
            "--format=%i|%T|%r",
            &format!("--jobs={list}"),
        ],
    ) {
        Ok(out) => out,
        // every id forgotten: squeue refuses the list
        Err(SlurmError::Failed { message, .. }) if message.contains("Invalid job id") => {
            String::new()
        }
        Err(e) => return Err(e),
    };
    Ok(parse_squeue(&out))
}

fn parse_squeue(out: &str) -> Vec<JobInfo> {
    out.lines()
        .filter_map(|line| {
            let mut parts = line.trim().splitn(3, '|');
            let id = parts.next()?.trim();
            let state = parts.next()?.trim();
            let reason = parts.next().unwrap_or("").trim();
            (!id.is_empty()).then(|| JobInfo {
                id: JobId(id.to_owned()),
                state: JobState::parse(state),
                reason: reason.to_owned(),
            })
        })
        .collect()
}

/// The job's final state from `scontrol show job` (when `squeue` no longer
/// lists it); `None` when the controller has forgotten it.
pub fn scontrol_state(job: &JobId) -> Result<Option<JobInfo>, SlurmError> {
    let out = match client("scontrol", &["show", "job", "-o", &job.0]) {
        Ok(out) => out,
        Err(SlurmError::Failed { message, .. }) if message.contains("Invalid job id") => {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let field = |name: &str| {
        out.split_whitespace()
            .find_map(|w| w.strip_prefix(name).map(str::to_owned))
    };
    Ok(field("JobState=").map(|state| JobInfo {
        id: job.clone(),
        state: JobState::parse(&state),
        reason: field("Reason=").unwrap_or_default(),
    }))
}

/// Cancels `jobs` (those already ended are ignored by Slurm).
pub fn scancel(jobs: &[JobId]) -> Result<(), SlurmError> {
    if jobs.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = jobs.iter().map(|j| j.0.as_str()).collect();
    match client("scancel", &ids) {
        Ok(_) => Ok(()),
        Err(SlurmError::Failed { message, .. })
            if message.contains("Invalid job id") || message.contains("already completing") =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The partitions the controller knows.
pub fn partitions() -> Result<Vec<String>, SlurmError> {
    let out = client("sinfo", &["--noheader", "--format=%R"])?;
    let mut names: Vec<String> = out
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    names.dedup();
    Ok(names)
}

/// The partition jobs go to when none is asked for (`sinfo` marks it `*`).
pub fn default_partition() -> Result<Option<String>, SlurmError> {
    let out = client("sinfo", &["--noheader", "--format=%R|%P"])?;
    Ok(out.lines().find_map(|l| {
        let (name, p) = l.trim().split_once('|')?;
        p.ends_with('*').then(|| name.trim().to_owned())
    }))
}

/// Each partition and whether it is up (`sinfo`'s availability).
pub fn partition_states() -> Result<Vec<(String, bool)>, SlurmError> {
    let out = client("sinfo", &["--noheader", "--format=%R|%a"])?;
    Ok(parse_partition_states(&out))
}

fn parse_partition_states(out: &str) -> Vec<(String, bool)> {
    let mut seen: Vec<(String, bool)> = Vec::new();
    for line in out.lines() {
        let Some((name, avail)) = line.trim().split_once('|') else {
            continue;
        };
        let name = name.trim().trim_end_matches('*').to_owned();
        if !name.is_empty() && !seen.iter().any(|(n, _)| *n == name) {
            seen.push((name, avail.trim() == "up"));
        }
    }
    seen
}

/// Jobs waiting and running in a partition, every user's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QueueDepth {
    pub pending: u32,
    pub running: u32,
}

/// The jobs tether follows now (registered in `dir`, the state dir's
/// `slurm-jobs`), pending and running: one `squeue` when there are any.
pub fn followed_jobs(dir: &Path) -> Result<QueueDepth, SlurmError> {
    let ids = registry::registered(dir);
    let mut d = QueueDepth::default();
    for job in squeue(&ids)? {
        match job.state {
            JobState::Pending => d.pending += 1,
            JobState::Running => d.running += 1,
            _ => {}
        }
    }
    Ok(d)
}

/// The queue of `partition` (one `squeue` for all users' jobs).
pub fn queue_depth(partition: &str) -> Result<QueueDepth, SlurmError> {
    let out = client(
        "squeue",
        &[
            "--noheader",
            "--states=PENDING,RUNNING",
            "--format=%T",
            &format!("--partition={partition}"),
        ],
    )?;
    Ok(parse_queue(&out))
}

fn parse_queue(out: &str) -> QueueDepth {
    let mut d = QueueDepth::default();
    for line in out.lines() {
        match JobState::parse(line.trim()) {
            JobState::Pending => d.pending += 1,
            JobState::Running => d.running += 1,
            _ => {}
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeue_lines_become_typed_jobs() {
        let jobs = parse_squeue(
            "3|COMPLETED|None\n4|FAILED|JobLaunchFailure\n5|PENDING|Priority\n6|CANCELLED by 0|None\n",
        );
        assert_eq!(jobs.len(), 4);
        assert_eq!(jobs[0].state, JobState::Completed);
        assert_eq!(jobs[1].state, JobState::Failed);
        assert_eq!(jobs[1].reason, "JobLaunchFailure");
        assert!(!jobs[2].state.is_final());
        assert_eq!(jobs[3].state, JobState::Cancelled);
        assert_eq!(JobState::parse("OUT_OF_MEMORY"), JobState::OutOfMemory);
        assert_eq!(JobState::parse("NODE_FAIL"), JobState::NodeFail);
    }

    #[test]
    fn sinfo_and_squeue_answers_become_partition_states_and_depths() {
        let p = parse_partition_states("h100*|up\nh100*|up\nl40s|down\n");
        assert_eq!(p, [("h100".to_owned(), true), ("l40s".to_owned(), false)]);
        let d = parse_queue("PENDING\nRUNNING\nPENDING\nCOMPLETING\n");
        assert_eq!(
            d,
            QueueDepth {
                pending: 2,
                running: 1
            }
        );
    }
}
