//! Remembers every job tether submitted and still follows, in the state dir
//! (`<state>/slurm-jobs/<job id>.json`, beside `process`'s registry of child
//! process groups), so that jobs left behind when tether is killed
//! (`kill -9`, a crash) are cancelled by the next tether command instead of
//! holding a GPU of the cluster. A record names tether by pid and kernel
//! start time, so a reused pid is never mistaken for it, and jobs of a
//! tether that is still running are left alone.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::JobId;

static DIR: OnceLock<PathBuf> = OnceLock::new();

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    job: JobId,
    name: String,
    tether_pid: i32,
    tether_start: u64,
}

/// A registered job; the record goes when this is dropped (the job has
/// ended or been cancelled by then).
#[derive(Debug)]
pub struct JobRegistration(Option<PathBuf>);

impl Drop for JobRegistration {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = fs_err::remove_file(p);
        }
    }
}

/// Records `job` (named `name` in messages) as this tether's, in `dir`
/// (the first call's `dir` is used from then on).
pub fn register(dir: &Path, job: &JobId, name: &str) -> JobRegistration {
    let dir = DIR.get_or_init(|| dir.to_path_buf());
    if let Err(e) = crate::state::create_private_dir(dir) {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot register a Slurm job");
        return JobRegistration(None);
    }
    let (tether_pid, tether_start) = crate::process::own_identity();
    let record = Record {
        job: job.clone(),
        name: name.to_owned(),
        tether_pid,
        tether_start,
    };
    let path = dir.join(format!("{job}.json"));
    let written = serde_json::to_vec(&record)
        .map_err(std::io::Error::other)
        .and_then(|bytes| crate::state::write_atomic(&path, &bytes));
    match written {
        Ok(()) => JobRegistration(Some(path)),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot register a Slurm job");
            JobRegistration(None)
        }
    }
}

/// The registry's folder under the state dir.
pub fn jobs_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("slurm-jobs")
}

/// The jobs registered in `dir` (by any tether, running or gone).
pub fn registered(dir: &Path) -> Vec<JobId> {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| fs_err::read(e.path()).ok())
        .filter_map(|b| serde_json::from_slice::<Record>(&b).ok())
        .map(|r| r.job)
        .collect()
}

/// Cancels the jobs in `dir` whose tether is gone, and removes their
/// records. Returns what was cancelled, in words.
pub fn cancel_orphans(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return Vec::new();
    };
    let mut cancelled = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(record) = fs_err::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Record>(&b).ok())
        else {
            let _ = fs_err::remove_file(&path);
            continue;
        };
        if crate::process::is_running(record.tether_pid, record.tether_start) {
            continue;
        }
        match super::scancel(std::slice::from_ref(&record.job)) {
            Ok(()) => {
                cancelled.push(format!(
                    "cancelled Slurm job {} (`{}`) left by a tether that is gone",
                    record.job, record.name
                ));
                let _ = fs_err::remove_file(&path);
            }
            // kept for the next command to try again
            Err(e) => cancelled.push(format!(
                "cannot cancel Slurm job {} (`{}`) left by a tether that is gone: {e}",
                record.job, record.name
            )),
        }
    }
    cancelled
}
