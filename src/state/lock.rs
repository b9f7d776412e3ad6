//! Owns the state dir's lock (`<state>/tether.lock`): an OS file lock held
//! for as long as a command that may change the wrapper runs, with who holds
//! it (pid, command, start time, host) written into the file so a second
//! command can say who is in the way. The OS drops the lock when the holder
//! exits, however it exits.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use fs_err::os::unix::fs::OpenOptionsExt;
use serde::{Deserialize, Serialize};

use crate::state::StateDir;

/// Who holds the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    /// The command line, e.g. `tether update`.
    pub command: String,
    pub started: jiff::Timestamp,
    pub host: String,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} (`{}`) on host {}, running since {}",
            self.pid, self.command, self.host, self.started
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another tether command holds the lock `{}`: {holder}; wait for it to finish (or stop \
         that process) and try again",
        path.display()
    )]
    Held { path: PathBuf, holder: LockHolder },
    #[error("cannot take the lock `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The held lock; released when dropped.
#[derive(Debug)]
pub struct StateLock {
    path: PathBuf,
    file: fs_err::File,
    holder: LockHolder,
}

impl StateLock {
    /// The lock file of a state dir.
    pub fn path(state: &StateDir) -> PathBuf {
        state.root().join("tether.lock")
    }

    /// Takes the lock without waiting; `command` is what this process is
    /// doing (shown to anyone who finds the lock held).
    pub fn acquire(state: &StateDir, command: &str) -> Result<StateLock, LockError> {
        Self::acquire_file(&Self::path(state), command)
    }

    /// Takes the lock of the file `path` (created when missing) without
    /// waiting, e.g. the service's own lock.
    pub fn acquire_file(path: &Path, command: &str) -> Result<StateLock, LockError> {
        let path = path.to_path_buf();
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            crate::state::create_private_dir(dir).map_err(io)?;
        }
        // Never truncate on open: the file holds the current holder's facts.
        let mut file = fs_err::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(crate::state::PRIVATE_FILE)
            .open(&path)
            .map_err(io)?;
        match fs4::FileExt::try_lock(file.file()) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    holder: read_holder(&mut file),
                    path,
                });
            }
            Err(fs4::TryLockError::Error(e)) => return Err(io(e)),
        }
        let holder = LockHolder {
            pid: std::process::id(),
            command: command.to_owned(),
            started: crate::env::now(),
            host: hostname(),
        };
        let bytes = serde_json::to_vec_pretty(&holder).map_err(|e| io(std::io::Error::other(e)))?;
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        tracing::debug!(lock = %path.display(), "state lock taken");
        Ok(StateLock { path, file, holder })
    }

    /// Who holds the lock file `path` now, without taking it or creating
    /// anything; `None` when it is free or missing.
    pub fn holder_of(path: &Path) -> Option<LockHolder> {
        let mut file = fs_err::OpenOptions::new().read(true).open(path).ok()?;
        match fs4::FileExt::try_lock_shared(file.file()) {
            Ok(()) => {
                let _ = fs4::FileExt::unlock(file.file());
                None
            }
            Err(fs4::TryLockError::WouldBlock) => Some(read_holder(&mut file)),
            Err(fs4::TryLockError::Error(_)) => None,
        }
    }

    pub fn holder(&self) -> &LockHolder {
        &self.holder
    }

    pub fn lock_path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = fs4::FileExt::unlock(self.file.file());
    }
}

/// Reads the holder's facts; the holder may be writing them right now, so a
/// few short retries are made before giving up on them.
fn read_holder(file: &mut fs_err::File) -> LockHolder {
    for _ in 0..20 {
        let mut text = String::new();
        if file.rewind().is_ok()
            && file.read_to_string(&mut text).is_ok()
            && let Ok(h) = serde_json::from_str::<LockHolder>(&text)
        {
            return h;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    LockHolder {
        pid: 0,
        command: "unknown (the lock file holds no holder facts)".into(),
        started: jiff::Timestamp::UNIX_EPOCH,
        host: "unknown".into(),
    }
}

/// This machine's host name.
pub fn hostname() -> String {
    fs_err::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| crate::env::var(crate::env::HOSTNAME))
        .unwrap_or_else(|| "unknown".into())
}
