//! Every node class one upstream defines at one commit: the files that can
//! hold node classes are read from tether's mirror and scanned (`nodes`),
//! then each mapping's entries are resolved across the package's files
//! (imports, re-exported mappings, V3 schemas). Cached per commit in the
//! analysis cache: git objects never change.

use std::collections::BTreeMap;

use git2::Oid;

use super::classes::ClassInfo;
use super::model::{NodeClass, NodePack};
use super::nodes::{Entry, FileScan, MAPPINGS, module_parts, scan_file, worth_parsing};
use crate::analysis::diff::{self, DiffError};
use crate::analysis::index_cache::{IndexCache, Kind};

/// The node classes of the upstream at `commit`, from the cache when there.
pub fn pack_at(
    repo: &git2::Repository,
    commit: Oid,
    cache: &IndexCache,
    max_file_bytes: u64,
) -> Result<NodePack, DiffError> {
    let key = format!("{commit}\0{max_file_bytes}");
    if let Some(p) = cache.get(Kind::ComfyNodes, &key) {
        return Ok(p);
    }
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for path in diff::list_files(repo, commit)? {
        if !path.ends_with(".py") {
            continue;
        }
        let bytes = match diff::read_blob(repo, commit, &path) {
            Ok(Some(b)) => b,
            Ok(None) => continue,
            Err(DiffError::Unreadable { .. }) => {
                skipped.push(format!("{path}: its blob cannot be read from the mirror"));
                continue;
            }
            Err(e) => return Err(e),
        };
        if bytes.len() as u64 > max_file_bytes {
            let text = String::from_utf8_lossy(&bytes);
            if worth_parsing(&text) {
                skipped.push(format!(
                    "{path}: larger than analysis.max_file_bytes, not parsed"
                ));
            }
            continue;
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if worth_parsing(&text) {
            files.push((path, text));
        }
    }
    let mut pack = pack_of(&files);
    pack.partial.extend(skipped);
    pack.partial.sort();
    // an unreadable blob may be fetched tomorrow: only complete reads are kept
    Ok(
        if pack.partial.iter().any(|p| p.contains("cannot be read")) {
            pack
        } else {
            cache.put(Kind::ComfyNodes, &key, pack)
        },
    )
}

/// The node classes defined by these files (upstream-relative path, text).
pub fn pack_of(files: &[(String, String)]) -> NodePack {
    let mut scans: BTreeMap<Vec<String>, (String, FileScan)> = BTreeMap::new();
    for (path, text) in files {
        let Some(tree) = crate::analysis::python::parse(text) else {
            continue;
        };
        let scan = scan_file(path, text, tree.root_node());
        scans.insert(module_parts(path).0, (path.clone(), scan));
    }
    let r = Resolver { scans: &scans };
    let mut pack = NodePack::default();
    for (module, (path, scan)) in &scans {
        let mut why = Vec::new();
        if let Some(entries) = &scan.mapping {
            for (key, m, class, line) in r.flatten(module, entries, 0, &mut why) {
                let class = r.node_class(&m, &key, &class, line);
                pack.classes.entry(key).or_insert(class);
            }
        }
        if let Some(entries) = &scan.v3_nodes {
            for (_, m, class, _) in r.flatten(module, entries, 0, &mut why) {
                match r.class(&m, &class, 0) {
                    Some((m, name, info)) => match info.node_id.clone() {
                        Some(id) => {
                            let class = r.node_class(&m, &id, &[name], info.line);
                            pack.classes.entry(id).or_insert(class);
                        }
                        None => why.push(format!("V3 node `{name}` has no literal node_id")),
                    },
                    None => why.push(format!(
                        "V3 node `{}` is not a class of this upstream",
                        class.join(".")
                    )),
                }
            }
        }
        why.sort();
        why.dedup();
        pack.partial
            .extend(why.into_iter().map(|w| format!("{path}: {w}")));
    }
    pack
}

struct Resolver<'a> {
    scans: &'a BTreeMap<Vec<String>, (String, FileScan)>,
}

/// A mapping entry: key, the module its class name is seen from, the
/// class name, the line.
type Flat = (String, Vec<String>, Vec<String>, usize);

impl Resolver<'_> {
    /// Every entry of a mapping, spreads followed.
    fn flatten(
        &self,
        module: &[String],
        entries: &[Entry],
        depth: usize,
        why: &mut Vec<String>,
    ) -> Vec<Flat> {
        let mut out = Vec::new();
        for e in entries {
            match e {
                Entry::Pair { key, class, line } => {
                    out.push((key.clone(), module.to_vec(), class.clone(), *line))
                }
                Entry::Unknown { why: w } => why.push(w.clone()),
                Entry::Spread { name } => match self.mapping(module, name, depth) {
                    // re-exported mappings resolve in their own module
                    Some((m, list)) if depth < 8 => {
                        out.extend(self.flatten(&m, &list, depth + 1, why))
                    }
                    _ => why.push(format!(
                        "mapping `{}` is not readable statically",
                        name.join(".")
                    )),
                },
            }
        }
        out
    }

    fn file(&self, module: &[String]) -> Option<&FileScan> {
        self.scans.get(module).map(|(_, s)| s)
    }

    /// A mapping (dict) named `name` as seen from `module`.
    fn mapping(
        &self,
        module: &[String],
        name: &[String],
        depth: usize,
    ) -> Option<(Vec<String>, Vec<Entry>)> {
        if depth > 8 {
            return None;
        }
        let scan = self.file(module)?;
        if let [one] = name {
            if let Some(d) = scan.dicts.get(one) {
                return Some((module.to_vec(), d.clone()));
            }
            if one == MAPPINGS {
                if let Some(m) = &scan.mapping {
                    return Some((module.to_vec(), m.clone()));
                }
            }
        }
        let (target, rest) = self.follow_import(scan, name)?;
        self.mapping(&target, &rest, depth + 1)
    }

    /// `name` (dotted) through the file's imports: the module it lives in
    /// and the name there.
    fn follow_import(
        &self,
        scan: &FileScan,
        name: &[String],
    ) -> Option<(Vec<String>, Vec<String>)> {
        let imp = scan.imports.get(name.first()?)?;
        let mut module = imp.module.clone();
        let mut rest: Vec<String> = name[1..].to_vec();
        // `from m import x`: x is a name of m, or the module m.x
        if let Some(n) = &imp.name {
            let mut sub = module.clone();
            sub.push(n.clone());
            if self.scans.contains_key(&sub) && !rest.is_empty() {
                module = sub;
            } else {
                rest.insert(0, n.clone());
            }
        }
        // `a.b.Name`: submodules first
        while rest.len() > 1 {
            let mut sub = module.clone();
            sub.push(rest[0].clone());
            if !self.scans.contains_key(&sub) {
                break;
            }
            module = sub;
            rest.remove(0);
        }
        self.scans.contains_key(&module).then_some((module, rest))
    }

    /// The class `name` (dotted) as seen from `module`.
    fn class(
        &self,
        module: &[String],
        name: &[String],
        depth: usize,
    ) -> Option<(Vec<String>, String, &ClassInfo)> {
        if depth > 8 {
            return None;
        }
        let scan = self.file(module)?;
        if let [one] = name {
            if let Some(info) = scan.classes.get(one) {
                return Some((module.to_vec(), one.clone(), info));
            }
        }
        let (target, rest) = self.follow_import(scan, name)?;
        self.class(&target, &rest, depth + 1)
    }

    fn node_class(&self, module: &[String], key: &str, class: &[String], line: usize) -> NodeClass {
        let path = |m: &[String]| {
            self.scans
                .get(m)
                .map(|(p, _)| p.clone())
                .unwrap_or_default()
        };
        let Some((m, name, info)) = self.class(module, class, 0) else {
            return NodeClass {
                name: key.to_owned(),
                python_class: class.join("."),
                file: path(module),
                line,
                required: Vec::new(),
                optional: Vec::new(),
                outputs: None,
                complete: false,
            };
        };
        let mut info = info.clone();
        // inputs inherited from a base class the upstream defines
        let mut seen = 0;
        while !info.inputs_read && seen < 4 {
            seen += 1;
            let base = info
                .bases
                .iter()
                .find_map(|b| self.class(&m, b, 0).filter(|(_, _, i)| i.inputs_read));
            let Some((_, _, b)) = base else { break };
            info.required = b.required.clone();
            info.optional = b.optional.clone();
            info.inputs_read = true;
            info.unreadable = b.unreadable.clone();
            if info.outputs.is_none() {
                info.outputs = b.outputs.clone();
            }
        }
        NodeClass {
            name: key.to_owned(),
            python_class: name,
            file: path(&m),
            line: info.line,
            complete: info.inputs_read && info.unreadable.is_none(),
            required: info.required,
            optional: info.optional,
            outputs: info.outputs,
        }
    }
}
