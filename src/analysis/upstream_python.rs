//! Indexes the upstream's Python at two commits, on demand: every module
//! exists in both indexes, but only the modules that resolution can reach are
//! parsed — those the wrapper's integration points name, the modules their
//! imports and re-exports lead to, and every file that changed between the
//! two commits (where a moved or renamed definition must have landed). A file
//! both commits share is parsed once, and parsing is split over two threads.

use std::collections::{BTreeMap, BTreeSet};

use git2::{Oid, Repository};

use super::python::{self, ModuleIndex, SourceFile, UpstreamIndex};

/// Every `.py` blob of a commit: path -> blob id.
fn py_blobs(repo: &Repository, commit: Oid) -> Result<BTreeMap<String, Oid>, git2::Error> {
    let tree = repo.find_commit(commit)?.tree()?;
    let mut out = BTreeMap::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(git2::ObjectType::Blob) && entry.name_bytes().ends_with(b".py") {
            let name = String::from_utf8_lossy(entry.name_bytes());
            out.insert(format!("{dir}{name}"), entry.id());
        }
        git2::TreeWalkResult::Ok
    })?;
    Ok(out)
}

/// One side's files by module name.
struct Side {
    blobs: BTreeMap<String, Oid>,
    by_module: BTreeMap<String, String>,
}

impl Side {
    fn new(blobs: BTreeMap<String, Oid>) -> Self {
        let by_module = blobs
            .keys()
            .filter_map(|p| Some((python::module_name(p)?, p.clone())))
            .collect();
        Self { blobs, by_module }
    }

    /// An index in which every module exists, with no definitions yet.
    fn skeleton(&self) -> UpstreamIndex {
        let mut index = UpstreamIndex::default();
        for (module, path) in &self.by_module {
            index.modules.insert(
                module.clone(),
                ModuleIndex {
                    path: path.clone(),
                    ..ModuleIndex::default()
                },
            );
            let parts: Vec<&str> = module.split('.').collect();
            for i in 1..parts.len() {
                index.packages.insert(parts[..i].join("."));
            }
        }
        index
    }
}

/// Indexes both commits for resolving integration points whose dotted
/// targets are `targets`.
pub fn index_for(
    repo: &Repository,
    from: Oid,
    to: Oid,
    targets: &BTreeSet<String>,
    max_bytes: u64,
    notes: &mut Vec<String>,
) -> Result<(UpstreamIndex, UpstreamIndex), git2::Error> {
    let old = Side::new(py_blobs(repo, from)?);
    let new = Side::new(py_blobs(repo, to)?);
    let mut old_index = old.skeleton();
    let mut new_index = new.skeleton();
    let exists = |m: &str| old.by_module.contains_key(m) || new.by_module.contains_key(m);

    let mut wanted: BTreeSet<String> = BTreeSet::new();
    let want_prefixes = |name: &str, wanted: &mut BTreeSet<String>| {
        let parts: Vec<&str> = name.split('.').collect();
        for i in 1..=parts.len() {
            let m = parts[..i].join(".");
            if exists(&m) {
                wanted.insert(m);
            }
        }
    };
    for t in targets {
        want_prefixes(t, &mut wanted);
    }
    // changed files: where moved and renamed definitions land
    for (side, other) in [(&old, &new), (&new, &old)] {
        for (path, id) in &side.blobs {
            if other.blobs.get(path) != Some(id) {
                wanted.extend(python::module_name(path));
            }
        }
    }

    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut skips = Skips::default();
    loop {
        let batch: Vec<String> = wanted.difference(&done).cloned().collect();
        if batch.is_empty() {
            break;
        }
        let (mut shared, mut old_only, mut new_only) = (Vec::new(), Vec::new(), Vec::new());
        for module in &batch {
            let o = old.by_module.get(module).map(|p| (p, old.blobs[p]));
            let n = new.by_module.get(module).map(|p| (p, new.blobs[p]));
            match (o, n) {
                (Some((op, oid)), Some((np, nid))) if op == np && oid == nid => {
                    shared.extend(load(repo, op, oid, max_bytes, &mut skips)?);
                }
                (o, n) => {
                    if let Some((p, id)) = o {
                        old_only.extend(load(repo, p, id, max_bytes, &mut skips)?);
                    }
                    if let Some((p, id)) = n {
                        new_only.extend(load(repo, p, id, max_bytes, &mut skips)?);
                    }
                }
            }
        }
        done.extend(batch);
        let (shared_index, old_changed, new_changed) =
            parse_parallel(&shared, &old_only, &new_only);
        for index in [&shared_index, &old_changed, &new_changed] {
            for m in index.modules.values() {
                for d in m.definitions.values() {
                    if let Some(from) = &d.imported_from {
                        want_prefixes(from, &mut wanted);
                    }
                }
                for s in &m.star_imports {
                    want_prefixes(s, &mut wanted);
                }
            }
        }
        old_index.merge(shared_index.clone());
        old_index.merge(old_changed);
        new_index.merge(shared_index);
        new_index.merge(new_changed);
    }
    for path in skips.too_large {
        notes.push(format!(
            "upstream file `{path}` is larger than analysis.max_file_bytes; not indexed"
        ));
    }
    for (path, id) in skips.unreadable {
        notes.push(format!(
            "upstream file `{path}` (blob {}) cannot be read from the mirror; not indexed",
            &id.to_string()[..7]
        ));
    }
    Ok((old_index, new_index))
}

/// Files left out of the index, and why.
#[derive(Default)]
struct Skips {
    too_large: BTreeSet<String>,
    /// Blobs the mirror cannot read (a partial clone, a damaged pack).
    unreadable: BTreeSet<(String, Oid)>,
}

fn load(
    repo: &Repository,
    path: &str,
    id: Oid,
    max_bytes: u64,
    skips: &mut Skips,
) -> Result<Option<SourceFile>, git2::Error> {
    let Ok(blob) = repo.find_blob(id) else {
        skips.unreadable.insert((path.to_owned(), id));
        return Ok(None);
    };
    if blob.size() as u64 > max_bytes {
        skips.too_large.insert(path.to_owned());
        return Ok(None);
    }
    Ok(Some(SourceFile {
        path: path.to_owned(),
        text: String::from_utf8_lossy(blob.content()).into_owned(),
    }))
}

/// Parses three file sets, the shared one split in two halves by size, on
/// two threads.
fn parse_parallel(
    shared: &[SourceFile],
    old_only: &[SourceFile],
    new_only: &[SourceFile],
) -> (UpstreamIndex, UpstreamIndex, UpstreamIndex) {
    let half = split_by_size(shared);
    let (first, second) = shared.split_at(half);
    std::thread::scope(|s| {
        let t = s.spawn(|| {
            (
                python::index_upstream(first),
                python::index_upstream(old_only),
            )
        });
        let mut b = python::index_upstream(second);
        let new_changed = python::index_upstream(new_only);
        let (mut a, old_changed) = t.join().expect("indexing thread");
        a.merge(std::mem::take(&mut b));
        (a, old_changed, new_changed)
    })
}

/// The index at which the files' total size is halved.
fn split_by_size(files: &[SourceFile]) -> usize {
    let total: usize = files.iter().map(|f| f.text.len()).sum();
    let mut acc = 0;
    for (i, f) in files.iter().enumerate() {
        acc += f.text.len();
        if acc * 2 >= total {
            return i + 1;
        }
    }
    files.len()
}
