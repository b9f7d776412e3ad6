//! Remembers the process group of every running child in the state dir
//! (`<state>/children/<pid>.json`), so that children left behind when tether
//! itself is killed (`kill -9`, a crash) are stopped by the next tether
//! command instead of running on, holding the GPU. A record names the child
//! and tether by pid and kernel start time, so a reused pid is never
//! mistaken for them, and children of a tether that is still running are
//! left alone.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

static DIR: OnceLock<PathBuf> = OnceLock::new();

/// Where children are registered from now on (the first call wins).
pub fn set_registry(dir: PathBuf) {
    let _ = DIR.set(dir);
}

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    pid: i32,
    start: u64,
    tether_pid: i32,
    tether_start: u64,
    argv: Vec<String>,
}

/// A registered child; the record goes when this is dropped.
pub(crate) struct Registration(Option<PathBuf>);

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = fs_err::remove_file(p);
        }
    }
}

/// The kernel start time (clock ticks since boot) of a live process.
fn start_time(pid: i32) -> Option<u64> {
    let stat = fs_err::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // fields after the command name, which may hold spaces and parentheses
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // field 3 is the state (index 0 here); starttime is field 22 (index 19)
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// This tether's pid and kernel start time, which name it across a reused
/// pid (0 when unknown).
pub fn own_identity() -> (i32, u64) {
    let me = std::process::id() as i32;
    (me, start_time(me).unwrap_or(0))
}

/// Whether the process named by `pid` and its start time still runs.
pub fn is_running(pid: i32, start: u64) -> bool {
    start != 0 && start_time(pid) == Some(start)
}

pub(crate) fn register(pid: u32, argv: &[String]) -> Registration {
    let Some(dir) = DIR.get() else {
        return Registration(None);
    };
    let pid = pid as i32;
    let me = std::process::id() as i32;
    let record = Record {
        pid,
        start: start_time(pid).unwrap_or(0),
        tether_pid: me,
        tether_start: start_time(me).unwrap_or(0),
        // shown, never run: kept redacted like everything at rest
        argv: argv
            .iter()
            .map(|a| crate::redact::redact(a).into_owned())
            .collect(),
    };
    let path = dir.join(format!("{pid}.json"));
    let written = serde_json::to_vec(&record)
        .map_err(std::io::Error::other)
        .and_then(|bytes| crate::state::write_atomic(&path, &bytes));
    match written {
        Ok(()) => Registration(Some(path)),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot register a child process");
            Registration(None)
        }
    }
}

/// Stops the process groups of children whose tether is gone, and removes
/// stale records. Returns what was stopped, in words.
pub fn reap_orphans(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return Vec::new();
    };
    let mut stopped = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(record) = fs_err::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Record>(&b).ok())
        else {
            let _ = fs_err::remove_file(&path);
            continue;
        };
        let tether_alive =
            start_time(record.tether_pid) == Some(record.tether_start) && record.tether_start != 0;
        if tether_alive {
            continue;
        }
        if record.start != 0 && start_time(record.pid) == Some(record.start) {
            let pgid = Pid::from_raw(record.pid);
            let _ = killpg(pgid, Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(2);
            while start_time(record.pid).is_some() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = killpg(pgid, Signal::SIGKILL);
            stopped.push(format!(
                "stopped process group {} (`{}`) left running by a tether that is gone",
                record.pid,
                crate::redact::redact(&record.argv.join(" "))
            ));
        }
        let _ = fs_err::remove_file(&path);
    }
    stopped
}
