//! Indexes the upstream's Python at two commits, on demand: every module
//! exists in both indexes, but only the modules that resolution can reach are
//! parsed — those the wrapper's integration points name, the modules their
//! imports and re-exports lead to, and every file that changed between the
//! two commits (where a moved or renamed definition must have landed) unless
//! it defines the same names at both commits. A file both commits share is
//! parsed once, parsing is split over two threads, and what a file gave is
//! kept in the state dir's cache (`index_cache`) by path and blob id.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use git2::{Oid, Repository};

use serde::{Deserialize, Serialize};

use super::index_cache::{CachedFile, IndexCache, Kind};
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

/// The modules a range changes: those defining the same names at both
/// commits (with their definitions), and the others. Cached by range.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ChangedModules {
    same_names: Vec<(String, BTreeSet<String>)>,
    other_names: Vec<String>,
}

/// What a file defines: every name, and the definitions a wrapper can use.
type Names = (BTreeSet<String>, BTreeSet<String>);

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

    /// The path and blob of a module.
    fn file(&self, module: &str) -> Option<(String, Oid)> {
        let path = self.by_module.get(module)?;
        Some((path.clone(), self.blobs[path]))
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
/// targets are `targets`. Parsed files are taken from and stored in `cache`.
pub fn index_for(
    repo: &Repository,
    sides: (Oid, Oid),
    targets: &BTreeSet<String>,
    cache: &IndexCache,
    max_bytes: u64,
    notes: &mut Vec<String>,
) -> Result<(UpstreamIndex, UpstreamIndex), git2::Error> {
    let old = Side::new(py_blobs(repo, sides.0)?);
    let new = Side::new(py_blobs(repo, sides.1)?);
    let mut run = Run {
        old_index: old.skeleton(),
        new_index: new.skeleton(),
        old,
        new,
        files: Files {
            repo,
            cache,
            max_bytes,
            texts: HashMap::new(),
            names: HashMap::new(),
            entries: HashMap::new(),
            too_large: BTreeSet::new(),
            unreadable: BTreeSet::new(),
        },
        wanted: BTreeSet::new(),
        done: BTreeSet::new(),
    };
    for t in targets {
        run.want_prefixes(t);
    }
    // Changed files are where moved and renamed definitions land. One that
    // defines other names at the two commits is parsed; one that defines the
    // same names (only bodies changed) can only matter as the new home of a
    // name the wrapper uses that its own modules no longer define.
    let range_key = format!("{}\0{}\0{max_bytes}", sides.0, sides.1);
    let changed: ChangedModules = match cache.get(Kind::ChangedModules, &range_key) {
        Some(c) => c,
        None => {
            let c = run.changed_modules()?;
            // a blob the mirror lacks today may be fetched tomorrow
            if run.files.unreadable.is_empty() {
                cache.put(Kind::ChangedModules, &range_key, c)
            } else {
                c
            }
        }
    };
    run.wanted.extend(changed.other_names);
    let same_names = changed.same_names;
    run.parse_wanted()?;
    let defined: HashSet<&str> = run
        .new_index
        .modules
        .values()
        .flat_map(|m| m.definitions.keys())
        .map(|k| k.rsplit('.').next().unwrap_or(k))
        .collect();
    let lost: HashSet<&str> = targets
        .iter()
        .flat_map(|t| t.split('.'))
        .filter(|w| !defined.contains(w))
        .collect();
    let mut skipped = 0usize;
    let mut extra = Vec::new();
    for (module, defs) in same_names {
        if defs.iter().any(|d| lost.contains(d.as_str())) {
            extra.push(module);
        } else {
            skipped += 1;
        }
    }
    tracing::debug!(
        skipped,
        "changed upstream modules defining the same names at both commits, none the wrapper lost: not parsed"
    );
    run.wanted.extend(extra);
    run.parse_wanted()?;
    for path in &run.files.too_large {
        notes.push(format!(
            "upstream file `{path}` is larger than analysis.max_file_bytes; not indexed"
        ));
    }
    for (path, id) in &run.files.unreadable {
        notes.push(format!(
            "upstream file `{path}` (blob {}) cannot be read from the mirror; not indexed",
            &id.to_string()[..7]
        ));
    }
    Ok((run.old_index, run.new_index))
}

/// One indexing: both sides, what is wanted and what is done.
struct Run<'r> {
    old: Side,
    new: Side,
    old_index: UpstreamIndex,
    new_index: UpstreamIndex,
    files: Files<'r>,
    wanted: BTreeSet<String>,
    done: BTreeSet<String>,
}

impl Run<'_> {
    fn exists(&self, m: &str) -> bool {
        self.old.by_module.contains_key(m) || self.new.by_module.contains_key(m)
    }

    /// Wants every module prefix of a dotted name.
    fn want_prefixes(&mut self, name: &str) {
        let parts: Vec<&str> = name.split('.').collect();
        for i in 1..=parts.len() {
            let m = parts[..i].join(".");
            if self.exists(&m) {
                self.wanted.insert(m);
            }
        }
    }

    /// Modules whose file differs between the two commits.
    fn changed(&self) -> BTreeSet<String> {
        let mut changed = BTreeSet::new();
        for (side, other) in [(&self.old, &self.new), (&self.new, &self.old)] {
            for (path, id) in &side.blobs {
                if other.blobs.get(path) != Some(id) {
                    changed.extend(python::module_name(path));
                }
            }
        }
        changed
    }

    /// Every changed module, split by whether it defines the same names at
    /// both commits.
    fn changed_modules(&mut self) -> Result<ChangedModules, git2::Error> {
        let mut out = ChangedModules::default();
        for module in self.changed() {
            let a = self.names(self.old.file(&module))?;
            let b = self.names(self.new.file(&module))?;
            match (a, b) {
                (Some(Some(a)), Some(Some(b))) if a.0 == b.0 => {
                    out.same_names
                        .push((module, a.1.union(&b.1).cloned().collect()));
                }
                _ => out.other_names.push(module),
            }
        }
        Ok(out)
    }

    fn names(&mut self, file: Option<(String, Oid)>) -> Result<Option<Option<Names>>, git2::Error> {
        file.map(|(p, id)| self.files.names(&p, id)).transpose()
    }

    /// Parses every wanted module not done yet, and the modules their
    /// imports lead to, until nothing new is wanted.
    fn parse_wanted(&mut self) -> Result<(), git2::Error> {
        loop {
            let batch: Vec<String> = self.wanted.difference(&self.done).cloned().collect();
            if batch.is_empty() {
                return Ok(());
            }
            // (module, path, blob, for the old side, for the new side)
            let mut jobs: Vec<(String, String, Oid, bool, bool)> = Vec::new();
            for module in &batch {
                match (self.old.file(module), self.new.file(module)) {
                    (Some((op, oid)), Some((np, nid))) if op == np && oid == nid => {
                        jobs.push((module.clone(), op, oid, true, true));
                    }
                    (o, n) => {
                        if let Some((p, id)) = o {
                            jobs.push((module.clone(), p, id, true, false));
                        }
                        if let Some((p, id)) = n {
                            jobs.push((module.clone(), p, id, false, true));
                        }
                    }
                }
            }
            self.done.extend(batch);
            self.files
                .parse_missing(jobs.iter().map(|(_, p, id, ..)| (p.as_str(), *id)))?;
            for (module, path, id, for_old, for_new) in jobs {
                let Some(entry) = self.files.entries.get(&(path, id)) else {
                    continue; // too large
                };
                let Some(index) = entry.index.clone() else {
                    continue;
                };
                let partial = entry.partial.iter().cloned().collect();
                for d in index.definitions.values() {
                    if let Some(from) = &d.imported_from {
                        self.want_prefixes(from);
                    }
                }
                for s in &index.star_imports {
                    self.want_prefixes(s);
                }
                let one = UpstreamIndex {
                    modules: [(module, index)].into(),
                    packages: BTreeSet::new(),
                    partial,
                };
                if for_old && for_new {
                    self.old_index.merge(one.clone());
                    self.new_index.merge(one);
                } else if for_old {
                    self.old_index.merge(one);
                } else {
                    self.new_index.merge(one);
                }
            }
        }
    }
}

/// The upstream files read for one analysis, by (path, blob id).
struct Files<'r> {
    repo: &'r Repository,
    cache: &'r IndexCache,
    max_bytes: u64,
    /// Texts read, kept until parsed.
    texts: HashMap<(String, Oid), String>,
    /// What each file read defines (`None`: too large).
    names: HashMap<(String, Oid), Option<Names>>,
    /// Each file indexed (from the cache or parsed).
    entries: HashMap<(String, Oid), CachedFile>,
    too_large: BTreeSet<String>,
    /// Blobs the mirror cannot read (a partial clone, a damaged pack).
    unreadable: BTreeSet<(String, Oid)>,
}

impl Files<'_> {
    /// A file's text, unless it is over `max_bytes` or unreadable.
    fn text(&mut self, path: &str, id: Oid) -> Result<Option<String>, git2::Error> {
        let key = (path.to_owned(), id);
        if let Some(t) = self.texts.remove(&key) {
            return Ok(Some(t));
        }
        let Ok(blob) = self.repo.find_blob(id) else {
            self.unreadable.insert(key);
            return Ok(None);
        };
        if blob.size() as u64 > self.max_bytes {
            self.too_large.insert(path.to_owned());
            return Ok(None);
        }
        Ok(Some(String::from_utf8_lossy(blob.content()).into_owned()))
    }

    /// What the file defines, from a scan of its lines (`None`: too large).
    fn names(&mut self, path: &str, id: Oid) -> Result<Option<Names>, git2::Error> {
        let key = (path.to_owned(), id);
        if let Some(n) = self.names.get(&key) {
            return Ok(n.clone());
        }
        let names = match self.text(path, id)? {
            Some(text) => {
                let names = defined_names(&text);
                self.texts.insert(key.clone(), text);
                Some(names)
            }
            None => None,
        };
        self.names.insert(key, names.clone());
        Ok(names)
    }

    /// Indexes every file of `wanted` not indexed yet: from the cache, or
    /// parsed (on two threads) and stored in the cache.
    fn parse_missing<'p>(
        &mut self,
        wanted: impl Iterator<Item = (&'p str, Oid)>,
    ) -> Result<(), git2::Error> {
        let mut todo: Vec<(SourceFile, Oid)> = Vec::new();
        for (path, id) in wanted {
            let key = (path.to_owned(), id);
            if self.entries.contains_key(&key)
                || todo.iter().any(|(f, i)| f.path == path && *i == id)
            {
                continue;
            }
            if let Some(hit) = self.cache.module(path, id) {
                self.texts.remove(&key);
                self.entries.insert(key, hit);
                continue;
            }
            let Some(text) = self.text(path, id)? else {
                continue;
            };
            todo.push((
                SourceFile {
                    path: path.to_owned(),
                    text,
                },
                id,
            ));
        }
        for ((file, id), parsed) in todo.iter().zip(parse_parallel(&todo)) {
            let entry = CachedFile {
                index: parsed.modules.into_values().next(),
                partial: parsed.partial.into_iter().next(),
            };
            let entry = self.cache.put_module(&file.path, *id, entry);
            self.entries.insert((file.path.clone(), *id), entry);
        }
        Ok(())
    }
}

/// Indexes each file on its own, split over two threads by size. The two
/// versions of a file that changed are one job: the second is re-parsed
/// from the first's tree, which costs only what changed.
fn parse_parallel(files: &[(SourceFile, Oid)]) -> Vec<UpstreamIndex> {
    let mut jobs: Vec<(usize, Option<usize>)> = Vec::new();
    let mut first_of: HashMap<&str, usize> = HashMap::new();
    for (i, (f, _)) in files.iter().enumerate() {
        match first_of.get(f.path.as_str()) {
            Some(&j) => {
                if let Some(job) = jobs.iter_mut().find(|(a, b)| *a == j && b.is_none()) {
                    job.1 = Some(i);
                    continue;
                }
                jobs.push((i, None));
            }
            None => {
                first_of.insert(&f.path, i);
                jobs.push((i, None));
            }
        }
    }
    let size = |&(a, b): &(usize, Option<usize>)| {
        files[a].0.text.len() + b.map_or(0, |b| files[b].0.text.len())
    };
    let total: usize = jobs.iter().map(size).sum();
    let mut acc = 0;
    let half = jobs
        .iter()
        .position(|j| {
            acc += size(j);
            acc * 2 >= total
        })
        .map_or(jobs.len(), |i| i + 1);
    let (first, second) = jobs.split_at(half);
    let run = |jobs: &[(usize, Option<usize>)]| -> Vec<(usize, UpstreamIndex)> {
        let mut out = Vec::new();
        for &(a, b) in jobs {
            let fa = &files[a].0;
            let Some(b) = b else {
                out.push((a, python::index_upstream(std::slice::from_ref(fa))));
                continue;
            };
            let fb = &files[b].0;
            let whole =
                fa.text.len() <= python::SPLIT_ABOVE && fb.text.len() <= python::SPLIT_ABOVE;
            match whole.then(|| python::parse(&fa.text)).flatten() {
                Some(tree) => {
                    let tb = python::reparse(&fa.text, tree.clone(), &fb.text);
                    out.push((a, python::index_parsed(fa, tree)));
                    out.push((
                        b,
                        match tb {
                            Some(t) => python::index_parsed(fb, t),
                            None => python::index_upstream(std::slice::from_ref(fb)),
                        },
                    ));
                }
                _ => {
                    out.push((a, python::index_upstream(std::slice::from_ref(fa))));
                    out.push((b, python::index_upstream(std::slice::from_ref(fb))));
                }
            }
        }
        out
    };
    let mut all = std::thread::scope(|s| {
        let t = s.spawn(|| run(first));
        let mut b = run(second);
        let mut a = t.join().expect("indexing thread");
        a.append(&mut b);
        a
    });
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, index)| index).collect()
}

/// Every name a line of `text` defines or assigns, at any depth (`def f`,
/// `class C`, `x = ...`, `a, b: T = ...`), and of those the definitions a
/// wrapper could use (functions and classes at any depth, assignments at the
/// top level). A superset of what the indexer records, from a scan of lines
/// far cheaper than parsing.
pub fn defined_names(text: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut all, mut defs) = (BTreeSet::new(), BTreeSet::new());
    for line in text.lines() {
        let top = !line.starts_with([' ', '\t']);
        let l = line.trim_start();
        let l = l.strip_prefix("async ").map_or(l, str::trim_start);
        if let Some(rest) = l.strip_prefix("def ").or_else(|| l.strip_prefix("class ")) {
            let name: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                all.insert(name.clone());
                defs.insert(name);
            }
            continue;
        }
        let Some(eq) = l.find('=') else { continue };
        if l[eq + 1..].starts_with('=') {
            continue;
        }
        let lhs = &l[..eq];
        let lhs = lhs.split_once(':').map_or(lhs, |(a, _)| a);
        let lhs =
            lhs.trim_end_matches(['+', '-', '*', '/', '%', '&', '|', '^', '<', '>', '!', '@']);
        let parts: Vec<&str> = lhs.split(',').map(str::trim).collect();
        if parts.iter().all(|p| is_identifier(p)) {
            for p in parts {
                all.insert(p.to_owned());
                if top {
                    defs.insert(p.to_owned());
                }
            }
        }
    }
    (all, defs)
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defined_names_finds_definitions_and_assignments() {
        let text = "import os\nclass Pipe(Base):\n    def run(self, x=1):\n        y, z = x, 2\n        \
                    self.w = 3\n        if y == z:\n            pass\nasync def go():\n    total: int = 0\n    \
                    total += 1\nMAX=4\nd[k] = 5\n";
        let (all, defs) = defined_names(text);
        let all: Vec<String> = all.into_iter().collect();
        assert_eq!(all, ["MAX", "Pipe", "go", "run", "total", "y", "z"]);
        let defs: Vec<String> = defs.into_iter().collect();
        assert_eq!(defs, ["MAX", "Pipe", "go", "run"]);
    }
}
