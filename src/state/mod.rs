//! Owns tether's state directory layout and how state files are written:
//! JSON with a format version, written atomically (write, fsync, rename),
//! and a corrupt file moved aside rather than trusted or lost. Files that can
//! hold a secret or anything a child printed (state, logs, results, reports)
//! are created private to the user: files 0600, the folders tether creates
//! for them 0700 (the helpers are `tether_shared::files`, re-exported here).
//! No process-wide umask is used, so files tether writes into the wrapper or
//! a staged tree, and everything a child creates, keep the usual modes.

mod lock;

pub use lock::{LockError, LockHolder, StateLock, hostname};

use std::path::{Path, PathBuf};

use serde::{Serialize, de::DeserializeOwned};
// Private files and atomic writes are shared with the `tether-gpu` worker.
pub use tether_shared::files::{
    PRIVATE_DIR, PRIVATE_FILE, append_private_file, create_private_dir, create_private_file,
    write_atomic, write_atomic_shared,
};

/// Version of every state file's format; bump on incompatible change.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot write state file `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read state file `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Serialize, serde::Deserialize)]
struct Envelope<T> {
    format_version: u32,
    data: T,
}

/// Paths inside the state dir.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The bare mirror of an upstream.
    pub fn mirror(&self, upstream: &str) -> PathBuf {
        self.root.join("mirrors").join(format!("{upstream}.git"))
    }
    /// Per-upstream state (first-seen times, last good commit, ...).
    pub fn upstream_dir(&self, upstream: &str) -> PathBuf {
        self.root.join("upstreams").join(upstream)
    }
}

/// Writes `value` as versioned JSON at `path`, atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), StateError> {
    let err = |source| StateError::Write {
        path: path.to_path_buf(),
        source,
    };
    let bytes = serde_json::to_vec_pretty(&Envelope {
        format_version: FORMAT_VERSION,
        data: value,
    })
    .map_err(|e| err(std::io::Error::other(e)))?;
    write_atomic(path, &bytes).map_err(err)
}

/// Reads a state file written by [`write_json`]. A missing file is `None`.
/// A corrupt file, or one of another format version, is moved aside to
/// `<name>.corrupt-<unix time>` with a warning and read as `None`.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, StateError> {
    Ok(match read_json_or_aside(path)? {
        Loaded::Found(v) => Some(v),
        Loaded::Missing | Loaded::MovedAside { .. } => None,
    })
}

/// What [`read_json_or_aside`] found.
#[derive(Debug)]
pub enum Loaded<T> {
    Missing,
    Found(T),
    /// Corrupt, or of another format version: moved to `aside`.
    MovedAside {
        aside: PathBuf,
        why: String,
    },
}

/// Reads a state file written by [`write_json`], moving a corrupt one (or
/// one of another format version) aside and saying where, for callers that
/// must not go on as if it had never been there.
pub fn read_json_or_aside<T: DeserializeOwned>(path: &Path) -> Result<Loaded<T>, StateError> {
    let bytes = match fs_err::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::Missing),
        Err(source) => {
            return Err(StateError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let why = match serde_json::from_slice::<Envelope<T>>(&bytes) {
        Ok(env) if env.format_version == FORMAT_VERSION => return Ok(Loaded::Found(env.data)),
        Ok(env) => format!(
            "format version {} (this tether reads {FORMAT_VERSION})",
            env.format_version
        ),
        Err(e) => match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(v)
                if v["format_version"]
                    .as_u64()
                    .is_some_and(|n| n > u64::from(FORMAT_VERSION)) =>
            {
                format!(
                    "format version {} (this tether reads {FORMAT_VERSION})",
                    v["format_version"]
                )
            }
            _ => format!("corrupt: {e}"),
        },
    };
    let aside = move_aside(path, &why);
    Ok(Loaded::MovedAside { aside, why })
}

fn move_aside(path: &Path, why: &str) -> PathBuf {
    let stamp = jiff::Timestamp::now().as_second();
    let aside = path.with_extension(format!("corrupt-{stamp}"));
    tracing::warn!(path = %path.display(), aside = %aside.display(), why, "state file unreadable; moved aside and rebuilt");
    let _ = fs_err::rename(path, &aside);
    aside
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn round_trips_and_moves_corrupt_files_aside() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b.json");
        write_json(&p, &vec![1, 2, 3]).unwrap();
        assert_eq!(read_json::<Vec<i32>>(&p).unwrap(), Some(vec![1, 2, 3]));
        fs_err::write(&p, b"{not json").unwrap();
        assert_eq!(read_json::<Vec<i32>>(&p).unwrap(), None);
        assert!(!p.exists());
        let aside: Vec<_> = fs_err::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(aside.len(), 1);
    }

    fn mode(p: &Path) -> u32 {
        fs_err::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn private_files_and_folders_are_the_users_alone() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs_err::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
        write_json(&root.join("state/a/b.json"), &1).unwrap();
        for d in ["state", "state/a"] {
            assert_eq!(mode(&root.join(d)), 0o700, "{d}");
        }
        assert_eq!(mode(&root.join("state/a/b.json")), 0o600);
        assert_eq!(mode(root), 0o755, "an existing folder keeps its mode");

        // a file an older tether left readable becomes private when reopened
        let log = root.join("state/a/log.txt");
        fs_err::write(&log, "old\n").unwrap();
        fs_err::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
        append_private_file(&log)
            .unwrap()
            .write_all(b"new\n")
            .unwrap();
        assert_eq!(mode(&log), 0o600);
        assert_eq!(fs_err::read_to_string(&log).unwrap(), "old\nnew\n");
        create_private_file(&log).unwrap();
        assert_eq!(fs_err::read_to_string(&log).unwrap(), "");

        // a file of the tree keeps the usual mode, also when replaced
        let tree = root.join("tree/overrides.json");
        fs_err::create_dir_all(tree.parent().unwrap()).unwrap();
        fs_err::write(&tree, "{}").unwrap();
        let before = mode(&tree);
        write_atomic_shared(&tree, b"{\"a\": 1}").unwrap();
        assert_eq!(
            mode(&tree),
            before,
            "the umask's mode, like any file written there"
        );
    }
}
