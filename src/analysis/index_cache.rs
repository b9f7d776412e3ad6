//! Owns the analysis cache in the state dir (`<state>/cache/`): what the
//! analysis derives from immutable git objects, one small JSON file per key:
//! each upstream module's index by (path, blob id) in `python-index/`, and
//! each tree diff by (commits, options) in `tree-diff/`, the names each
//! module a range changes defines in `changed-modules/`, and the ComfyUI
//! node classes of a commit in `comfy-nodes/`. The service's
//! repeated analyses of the same upstream thus parse and diff nothing twice.
//!
//! An entry is only ever a copy of what recomputing it gives: it is written
//! without fsync (a torn or unreadable entry reads as a miss and is computed
//! again), and its key includes tether's version and the cache format, so a
//! new tether never reads an old entry.

use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::python::{ModuleIndex, PartialParse};

/// Bump when what the indexer or the tree diff records changes.
const FORMAT: u32 = 1;

/// What a cache entry holds.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A [`CachedFile`] by path and blob id.
    PythonIndex,
    /// A `diff::TreeDiff` by commits and options.
    TreeDiff,
    /// The modules a range changes, by commits (see `upstream_python`).
    ChangedModules,
    /// The ComfyUI node classes an upstream defines, by commit.
    ComfyNodes,
}

impl Kind {
    fn dir(self) -> &'static str {
        match self {
            Kind::PythonIndex => "python-index",
            Kind::TreeDiff => "tree-diff",
            Kind::ChangedModules => "changed-modules",
            Kind::ComfyNodes => "comfy-nodes",
        }
    }
}

/// What one file of the upstream gave.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CachedFile {
    /// The module's index (`None`: not a module).
    pub index: Option<ModuleIndex>,
    /// Syntax errors met while parsing it.
    pub partial: Option<PartialParse>,
}

/// The cache folder, or none (nothing is cached). Entries are written by a
/// thread of their own while the analysis goes on; dropping the cache waits
/// for it.
pub struct IndexCache {
    dir: Option<PathBuf>,
    writer: std::sync::Mutex<Option<Writer>>,
}

/// The writing thread and the channel to it.
struct Writer {
    send: std::sync::mpsc::Sender<(PathBuf, String)>,
    thread: std::thread::JoinHandle<()>,
}

impl Drop for IndexCache {
    fn drop(&mut self) {
        let writer = self.writer.get_mut().ok().and_then(Option::take);
        if let Some(Writer { send, thread }) = writer {
            drop(send);
            let _ = thread.join();
        }
    }
}

impl IndexCache {
    pub fn new(state_root: &Path) -> Self {
        Self {
            dir: Some(state_root.join("cache")),
            writer: std::sync::Mutex::new(None),
        }
    }

    /// A cache that never hits and never writes.
    pub fn disabled() -> Self {
        Self {
            dir: None,
            writer: std::sync::Mutex::new(None),
        }
    }

    fn entry(&self, kind: Kind, key: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let key = format!("{}\0{FORMAT}\0{key}", env!("CARGO_PKG_VERSION"));
        let id = Oid::hash_object(ObjectType::Blob, key.as_bytes()).ok()?;
        let hex = id.to_string();
        Some(dir.join(kind.dir()).join(format!("{hex}.json")))
    }

    /// The entry of `key`, if there is a readable one.
    pub fn get<T: DeserializeOwned>(&self, kind: Kind, key: &str) -> Option<T> {
        let file = self.entry(kind, key)?;
        let bytes = fs_err::read(&file).ok()?;
        match serde_json::from_slice(&bytes) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::debug!(file = %file.display(), error = %e, "unreadable cache entry");
                None
            }
        }
    }

    /// Stores an entry, redacted (a state file never holds a secret), and
    /// returns it as stored, so a run that computed it goes on with exactly
    /// what a later run reads back. A failure to write is logged and
    /// otherwise ignored (the cache only saves time).
    pub fn put<T: Serialize + DeserializeOwned>(&self, kind: Kind, key: &str, value: T) -> T {
        let Some(file) = self.entry(kind, key) else {
            return value;
        };
        let text = match serde_json::to_string(&value) {
            Ok(t) => t,
            Err(e) => {
                tracing::debug!(error = %e, "cache entry not serialised");
                return value;
            }
        };
        let redacted = crate::redact::redact(&text);
        let value = match &redacted {
            std::borrow::Cow::Borrowed(_) => value,
            std::borrow::Cow::Owned(r) => serde_json::from_str(r).unwrap_or(value),
        };
        self.write(file, redacted.into_owned());
        value
    }

    /// Hands an entry to the writing thread (started on the first).
    fn write(&self, file: PathBuf, text: String) {
        let Ok(mut writer) = self.writer.lock() else {
            return;
        };
        let w = writer.get_or_insert_with(|| {
            let (send, recv) = std::sync::mpsc::channel::<(PathBuf, String)>();
            let thread = std::thread::spawn(move || {
                let mut made = std::collections::HashSet::new();
                for (file, text) in recv {
                    if let Err(e) = write_unsynced(&file, text.as_bytes(), &mut made) {
                        tracing::debug!(file = %file.display(), error = %e, "cache entry not written");
                    }
                }
            });
            Writer { send, thread }
        });
        let _ = w.send.send((file, text));
    }

    /// The index of the module at `path` with blob `blob`.
    pub fn module(&self, path: &str, blob: Oid) -> Option<CachedFile> {
        self.get(Kind::PythonIndex, &format!("{path}\0{blob}"))
    }

    pub fn put_module(&self, path: &str, blob: Oid, value: CachedFile) -> CachedFile {
        self.put(Kind::PythonIndex, &format!("{path}\0{blob}"), value)
    }
}

/// A private temp file and rename, without fsync: see the module comment.
/// `made` remembers the folders already created.
fn write_unsynced(
    file: &Path,
    bytes: &[u8],
    made: &mut std::collections::HashSet<PathBuf>,
) -> std::io::Result<()> {
    use std::io::Write;
    let dir = file.parent().unwrap_or(Path::new("."));
    if !made.contains(dir) {
        tether_shared::files::create_private_dir(dir)?;
        made.insert(dir.to_path_buf());
    }
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        file.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let mut f = tether_shared::files::create_private_file(&tmp)?;
    f.write_all(bytes)?;
    drop(f);
    fs_err::rename(&tmp, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_and_a_torn_one_is_a_miss() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = IndexCache::new(tmp.path());
        let blob = Oid::hash_object(ObjectType::Blob, b"x = 1\n").unwrap();
        assert!(cache.module("a.py", blob).is_none());
        let entry = CachedFile {
            index: Some(ModuleIndex {
                path: "a.py".into(),
                ..ModuleIndex::default()
            }),
            partial: None,
        };
        cache.put_module("a.py", blob, entry.clone());
        // written by the cache's thread, which dropping the cache waits for
        drop(cache);
        let cache = IndexCache::new(tmp.path());
        let back = cache.module("a.py", blob).unwrap();
        assert_eq!(back.index, entry.index);
        // the same blob at another path is another module
        assert!(cache.module("b/a.py", blob).is_none());
        let file = cache
            .entry(Kind::PythonIndex, &format!("a.py\0{blob}"))
            .unwrap();
        fs_err::write(&file, b"{\"index\": {").unwrap();
        assert!(cache.module("a.py", blob).is_none());
        assert!(IndexCache::disabled().module("a.py", blob).is_none());
        // private, and a secret in an upstream body is stored redacted
        let mode = fs_err::metadata(&file).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o077, 0);
        let secret = CachedFile {
            index: Some(ModuleIndex {
                path: "hf_abcdefghijklmnopqrstuvwxyz0123".into(),
                ..ModuleIndex::default()
            }),
            partial: None,
        };
        let stored = cache.put_module("s.py", blob, secret);
        drop(cache);
        let cache = IndexCache::new(tmp.path());
        let text = fs_err::read_to_string(
            cache
                .entry(Kind::PythonIndex, &format!("s.py\0{blob}"))
                .unwrap(),
        )
        .unwrap();
        assert!(
            !text.contains("hf_abcdefghijklmnopqrstuvwxyz0123"),
            "{text}"
        );
        assert_eq!(stored.index, cache.module("s.py", blob).unwrap().index);
    }
}
