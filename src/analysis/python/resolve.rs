//! Resolving the wrapper's integration points against the old and the new
//! upstream index: what each point refers to before and after, and whether
//! the change breaks it, puts it at risk, or leaves it alone.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::index::module_name;
use super::lookup::{Found, Lookup, lookup};
use super::model::{
    Carry, DefKind, DefSummary, Definition, IntegrationPoint, KeyRead, LocalChange, LocalCopy,
    PointFinding, PointKind, PointSeverity, ResolveContext, SignatureChange, Status, UpstreamIndex,
};
use super::search::{Candidates, full_name};
use super::signature::{CallShape, compare, render};

/// One finding per point (in order), then one per wrapper key read that hits
/// a config key removed upstream.
pub fn resolve(
    points: &[IntegrationPoint],
    key_reads: &[KeyRead],
    old: &UpstreamIndex,
    new: &UpstreamIndex,
    ctx: &ResolveContext,
) -> Vec<PointFinding> {
    let mut out = Vec::new();
    resolve_each(points, key_reads, old, new, ctx, &mut |f| out.push(f));
    out
}

/// [`resolve`], handing each finding to `sink` as it is made, so a caller
/// that keeps only some of them never holds them all.
pub fn resolve_each(
    points: &[IntegrationPoint],
    key_reads: &[KeyRead],
    old: &UpstreamIndex,
    new: &UpstreamIndex,
    ctx: &ResolveContext,
    sink: &mut dyn FnMut(PointFinding),
) {
    let mut facts = PointFacts::default();
    for p in points {
        facts.add(p);
    }
    let mut r = Resolver::new(old, new, ctx, &facts);
    for p in points {
        sink(r.point(p));
    }
    key_findings(key_reads, ctx, sink);
}

/// What resolving one point needs to know about all of them: which targets
/// each wrapper file calls, and every target (the upstream modules to
/// index). Gathered first, so that points can then be resolved one at a
/// time, even a piece of a file at a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PointFacts {
    /// Every point's target.
    pub targets: BTreeSet<String>,
    /// Wrapper file -> the targets it calls.
    called: HashMap<String, HashSet<String>>,
}

impl PointFacts {
    pub fn add(&mut self, p: &IntegrationPoint) {
        if !self.targets.contains(&p.target) {
            self.targets.insert(p.target.clone());
        }
        let by_file = match p.kind {
            PointKind::Call => &mut self.called,
            _ => return,
        };
        match by_file.get_mut(&p.file) {
            Some(set) => {
                if !set.contains(&p.target) {
                    set.insert(p.target.clone());
                }
            }
            None => {
                by_file.insert(p.file.clone(), HashSet::from([p.target.clone()]));
            }
        }
    }

    fn calls(&self, file: &str, target: &str) -> bool {
        self.called.get(file).is_some_and(|s| s.contains(target))
    }
}

/// Resolves integration points one at a time against the two indexes.
pub struct Resolver<'a> {
    old: &'a UpstreamIndex,
    new: &'a UpstreamIndex,
    ctx: &'a ResolveContext,
    facts: &'a PointFacts,
    /// The vendored copy's local patch, when the upstream is vendored.
    local: Option<&'a LocalCopy>,
    candidates: Option<Candidates<'a>>,
    lookups: HashMap<String, (Lookup<'a>, Lookup<'a>)>,
    missing: HashMap<String, (Status, Option<DefSummary>)>,
}

fn finding(
    p: &IntegrationPoint,
    status: Status,
    severity: PointSeverity,
    message: String,
) -> PointFinding {
    PointFinding {
        point: p.clone(),
        status,
        severity,
        message,
        old: None,
        new: None,
    }
}

impl<'a> Resolver<'a> {
    pub fn new(
        old: &'a UpstreamIndex,
        new: &'a UpstreamIndex,
        ctx: &'a ResolveContext,
        facts: &'a PointFacts,
    ) -> Self {
        Resolver {
            old,
            new,
            ctx,
            facts,
            local: None,
            candidates: None,
            lookups: HashMap::new(),
            missing: HashMap::new(),
        }
    }

    /// Resolves against a third tree too: the vendored copy (base plus its
    /// local patch).
    pub fn with_local(mut self, local: Option<&'a LocalCopy>) -> Self {
        self.local = local;
        self
    }

    /// The finding of one point.
    pub fn point(&mut self, p: &IntegrationPoint) -> PointFinding {
        match p.kind {
            PointKind::FileReference | PointKind::ModelConfigReference => self.file(p),
            PointKind::SysPathInsert | PointKind::Chdir => self.setup(p),
            PointKind::ConfigKeyRead => finding(
                p,
                Status::Unresolved,
                PointSeverity::Info,
                format!("Config key `{}` is read here.", p.target),
            ),
            _ => self.name(p),
        }
    }

    fn file(&self, p: &IntegrationPoint) -> PointFinding {
        let config = p.kind == PointKind::ModelConfigReference;
        let what = if config {
            "Model config"
        } else {
            "Upstream file"
        };
        let t = &p.target;
        if self.ctx.new_files.contains(t) {
            return finding(
                p,
                Status::Unchanged,
                PointSeverity::Info,
                format!("{what} `{t}` still exists."),
            );
        }
        if !self.ctx.old_files.contains(t) {
            return finding(
                p,
                Status::Unresolved,
                PointSeverity::Info,
                format!("{what} `{t}` exists in neither the old nor the new upstream."),
            );
        }
        match (self.ctx.renamed_files.get(t), config) {
            (Some(to), true) => finding(
                p,
                Status::ConfigRenamed { to: to.clone() },
                PointSeverity::Breaking,
                format!("Model config `{t}` was renamed to `{to}`."),
            ),
            (Some(to), false) => finding(
                p,
                Status::FileRenamed { to: to.clone() },
                PointSeverity::Breaking,
                format!("Upstream file `{t}` was renamed to `{to}`."),
            ),
            (None, true) => finding(
                p,
                Status::ConfigRemoved,
                PointSeverity::Breaking,
                format!("Model config `{t}` was removed upstream."),
            ),
            (None, false) => finding(
                p,
                Status::FileRemoved,
                PointSeverity::Breaking,
                format!("Upstream file `{t}` was removed."),
            ),
        }
    }

    fn setup(&self, p: &IntegrationPoint) -> PointFinding {
        if self.ctx.new_files.is_empty() {
            return finding(
                p,
                Status::FileRemoved,
                PointSeverity::Breaking,
                format!(
                    "The upstream folder `{}` is empty at the new commit.",
                    p.target
                ),
            );
        }
        finding(
            p,
            Status::Unchanged,
            PointSeverity::Info,
            format!("Environment set-up for the upstream folder `{}`.", p.target),
        )
    }

    fn lookups(&mut self, target: &str) -> (Lookup<'a>, Lookup<'a>) {
        if let Some(l) = self.lookups.get(target) {
            return l.clone();
        }
        let l = (lookup(self.old, target), lookup(self.new, target));
        self.lookups.insert(target.to_owned(), l.clone());
        l
    }

    fn name(&mut self, p: &IntegrationPoint) -> PointFinding {
        let t = p.target.as_str();
        let (lo, ln) = self.lookups(t);
        let old_sum = summary(&lo);
        let new_sum = summary(&ln);
        let mut f = if !lo.exists() {
            self.not_in_base(p, &lo, &ln)
        } else if !ln.exists() || ln.extra() > lo.extra() {
            let (status, moved_to) = self.gone(t, &lo);
            let message = match &status {
                Status::Moved { to } => format!("`{t}` moved to `{to}`; the import path breaks."),
                Status::Renamed { to, similarity } => format!(
                    "`{t}` was renamed to `{to}` ({:.0}% similar).",
                    similarity * 100.0
                ),
                Status::ModuleRemoved => {
                    format!("The module of `{t}` no longer exists upstream.")
                }
                _ => format!("`{t}` no longer exists upstream."),
            };
            let mut f = finding(p, status, PointSeverity::Breaking, message);
            f.new = moved_to;
            f.old = old_sum;
            return f;
        } else {
            self.compare(p, &lo, &ln)
        };
        if f.old.is_none() {
            f.old = old_sum;
        }
        f.new = new_sum;
        f
    }

    /// A point whose name the base upstream does not define: a local
    /// patch's, a local-only file's, new upstream, nowhere (a dead patch),
    /// or dynamic.
    fn not_in_base(&self, p: &IntegrationPoint, lo: &Lookup<'_>, ln: &Lookup<'_>) -> PointFinding {
        let t = p.target.as_str();
        if let Some(local) = self.local {
            let ll = lookup(&local.index, t);
            if let Some(f) = local_finding(p, local, &ll) {
                return f;
            }
            if ll.exists() {
                return finding(
                    p,
                    Status::Unresolved,
                    PointSeverity::Info,
                    format!("`{t}` is not defined in the base upstream; the vendored copy has it."),
                );
            }
        }
        // Judged only with the three trees of a vendored copy: there a name
        // may come from the local patch, and its absence from all three is
        // the fact the maintainer asked about. With two trees the point
        // stays informational as before (a standing dead patch would make
        // every range at risk, however little it changed).
        let dead = self.local.is_some()
            && matches!(p.kind, PointKind::Monkeypatch | PointKind::Call)
            && !ln.exists()
            && self.module_known(lo, ln)
            && !self.maybe_dynamic(lo)
            && !self.maybe_dynamic(ln);
        if dead {
            let (severity, what) = if p.kind == PointKind::Monkeypatch {
                (
                    PointSeverity::AtRisk,
                    "the patch sets a name the upstream never reads (dead patch)",
                )
            } else {
                (
                    PointSeverity::Breaking,
                    "the call fails with an AttributeError",
                )
            };
            return finding(
                p,
                Status::DeadPatch,
                severity,
                format!(
                    "`{t}` is defined in none of the base upstream, the vendored copy and the target: {what}."
                ),
            );
        }
        finding(
            p,
            Status::Unresolved,
            PointSeverity::Info,
            format!("`{t}` is not defined in the old upstream (dynamic, or not part of its API)."),
        )
    }

    /// Whether some tree holds the module the target points into (a
    /// missing name there is missing, not an outside package's).
    fn module_known(&self, lo: &Lookup<'_>, ln: &Lookup<'_>) -> bool {
        let holds_module = |l: &Lookup<'_>, index: &UpstreamIndex| {
            l.entry
                .as_deref()
                .is_some_and(|m| index.modules.contains_key(m))
        };
        holds_module(lo, self.old) || holds_module(ln, self.new)
    }

    /// Whether the module a lookup entered can make names at run time
    /// (a module `__getattr__`, a star import from outside the upstream).
    fn maybe_dynamic(&self, l: &Lookup<'_>) -> bool {
        let Some(m) = l.entry.as_deref() else {
            return false;
        };
        [self.old, self.new].iter().any(|index| {
            index.modules.get(m).is_some_and(|mi| {
                mi.definitions.contains_key("__getattr__")
                    || mi
                        .star_imports
                        .iter()
                        .any(|s| !index.modules.contains_key(s))
            })
        })
    }

    fn compare(&self, p: &IntegrationPoint, lo: &Lookup<'_>, ln: &Lookup<'_>) -> PointFinding {
        let t = p.target.as_str();
        let unchanged = || {
            finding(
                p,
                Status::Unchanged,
                PointSeverity::Info,
                format!("`{t}` is unchanged."),
            )
        };
        let kind_of = |l: &Lookup<'_>| match l.found {
            Found::Def { def, .. } => def.kind.as_str(),
            _ => "module",
        };
        let (old_kind, new_kind) = (kind_of(lo), kind_of(ln));
        let kinds_differ = old_kind != new_kind && old_kind != "import" && new_kind != "import";
        if kinds_differ {
            let callable = matches!(ln.found, Found::Def { def, .. } if def.kind.is_callable());
            let severity = if p.kind == PointKind::Call && !callable {
                PointSeverity::Breaking
            } else {
                PointSeverity::AtRisk
            };
            return finding(
                p,
                Status::KindChanged {
                    from: old_kind.to_owned(),
                    to: new_kind.to_owned(),
                },
                severity,
                format!("`{t}` changed from a {old_kind} to a {new_kind}."),
            );
        }
        let (
            Found::Def {
                def: od, extra: 0, ..
            },
            Found::Def {
                def: nd, extra: 0, ..
            },
        ) = (lo.found, ln.found)
        else {
            return unchanged();
        };
        if !od.has_signature || !nd.has_signature {
            return unchanged();
        }
        let shape = (p.kind == PointKind::Call).then_some(CallShape {
            keywords: &p.keywords,
            positional: p.positional_args,
            star_args: p.star_args,
            star_kwargs: p.star_kwargs,
        });
        let changes = compare(&od.params, &nd.params, shape);
        if changes.is_empty() {
            return unchanged();
        }
        let mut severity = changes
            .iter()
            .map(|(_, s)| *s)
            .max()
            .unwrap_or(PointSeverity::Info);
        // An import whose calls are findings of their own only informs.
        let is_import = matches!(
            p.kind,
            PointKind::Import | PointKind::FromImport | PointKind::DynamicImport
        );
        if is_import && self.facts.calls(&p.file, t) {
            severity = PointSeverity::Info;
        }
        let text = changes
            .iter()
            .map(|(c, _)| describe(c))
            .collect::<Vec<_>>()
            .join("; ");
        finding(
            p,
            Status::SignatureChanged {
                changes: changes.into_iter().map(|(c, _)| c).collect(),
            },
            severity,
            format!("The signature of `{t}` changed: {text}."),
        )
    }

    /// Where a name missing from the new upstream went.
    fn gone(&mut self, target: &str, lo: &Lookup<'a>) -> (Status, Option<DefSummary>) {
        if let Some(found) = self.missing.get(target) {
            return found.clone();
        }
        let result = match lo.found {
            Found::Def { def, .. } => self.def_gone(target, def, lo),
            _ => self.module_gone(target, lo),
        };
        self.missing.insert(target.to_owned(), result.clone());
        result
    }

    fn new_has_module(&self, m: &str) -> bool {
        self.new.modules.contains_key(m) || self.new.packages.contains(m)
    }

    fn renamed_module(&self, module: &str) -> Option<String> {
        let path = &self.old.modules.get(module)?.path;
        let to = module_name(self.ctx.renamed_files.get(path)?)?;
        self.new.modules.contains_key(&to).then_some(to)
    }

    fn module_gone(&self, target: &str, lo: &Lookup<'_>) -> (Status, Option<DefSummary>) {
        let module = lo.module.clone().unwrap_or_else(|| target.to_owned());
        let suffix = target.strip_prefix(&module).unwrap_or("");
        let to = self.renamed_module(&module).or_else(|| {
            // The same module name under another package, new in this range.
            let last = module.rsplit('.').next().unwrap_or(&module);
            let mut found = self.new.modules.keys().filter(|m| {
                m.rsplit('.').next() == Some(last) && !self.old.modules.contains_key(*m)
            });
            match (found.next(), found.next()) {
                (Some(one), None) => Some(one.clone()),
                _ => None,
            }
        });
        match to {
            Some(to) => {
                let summary = DefSummary {
                    module: to.clone(),
                    name: to.clone(),
                    kind: "module".into(),
                    line: 1,
                    signature: format!("module {to}"),
                };
                (
                    Status::Moved {
                        to: format!("{to}{suffix}"),
                    },
                    Some(summary),
                )
            }
            None => (Status::ModuleRemoved, None),
        }
    }

    fn def_gone(
        &mut self,
        target: &str,
        def: &'a Definition,
        lo: &Lookup<'_>,
    ) -> (Status, Option<DefSummary>) {
        if let Some(to) = self.renamed_module(&def.module) {
            if let Some(d) = self.new.modules[&to].definitions.get(&def.name) {
                return (
                    Status::Moved {
                        to: format!("{to}.{}", def.name),
                    },
                    Some(def_summary(d)),
                );
            }
        }
        let (old, new) = (self.old, self.new);
        let candidates = self
            .candidates
            .get_or_insert_with(|| Candidates::new(old, new));
        if let Some(d) = candidates.moved(def, target) {
            return (Status::Moved { to: full_name(d) }, Some(def_summary(d)));
        }
        if let Some((d, similarity)) = candidates.renamed(def, self.ctx.rename_similarity) {
            return (
                Status::Renamed {
                    to: full_name(d),
                    similarity: (similarity * 100.0).round() / 100.0,
                },
                Some(def_summary(d)),
            );
        }
        let module_left = lo.entry.as_deref().is_some_and(|m| !self.new_has_module(m));
        if module_left {
            (Status::ModuleRemoved, None)
        } else {
            (Status::Removed, None)
        }
    }
}

/// The finding of a point the vendored copy's local patch provides: the
/// file that defines it, added or modified locally, and its carry-forward.
fn local_finding(p: &IntegrationPoint, local: &LocalCopy, ll: &Lookup<'_>) -> Option<PointFinding> {
    let t = p.target.as_str();
    let (path, line, summary) = match ll.found {
        Found::Def { def, .. } => (
            local.index.modules.get(&def.module)?.path.clone(),
            def.line,
            Some(def_summary(def)),
        ),
        Found::Module => {
            let m = ll.module.clone()?;
            match local.index.modules.get(&m) {
                Some(mi) => (mi.path.clone(), 1, None),
                // a namespace package: local-only when every file under it is
                None => {
                    let prefix = format!("{m}.");
                    let paths: Vec<&String> = local
                        .index
                        .modules
                        .iter()
                        .filter(|(k, _)| k.starts_with(&prefix))
                        .map(|(_, v)| &v.path)
                        .collect();
                    let all_local = !paths.is_empty()
                        && paths.iter().all(|p| {
                            local
                                .files
                                .get(*p)
                                .is_some_and(|f| f.change == LocalChange::Added)
                        });
                    if !all_local {
                        return None;
                    }
                    (format!("{}/", m.replace('.', "/")), 1, None)
                }
            }
        }
        Found::Missing => return None,
    };
    let change = if path.ends_with('/') {
        LocalChange::Added
    } else {
        local.files.get(&path)?.change
    };
    let carry = local
        .files
        .get(&path)
        .map_or(Carry::Kept, |f| f.carry.clone());
    let severity = match carry {
        Carry::Conflicts { .. } => PointSeverity::AtRisk,
        Carry::LostUpstreamDeleted => PointSeverity::Breaking,
        _ => PointSeverity::Info,
    };
    let fate = match &carry {
        Carry::Kept => "the update keeps it (upstream did not change the file)".to_owned(),
        Carry::Clean => "the update's merge of that file is predicted clean".to_owned(),
        Carry::Conflicts { hunks } => format!(
            "the update's merge of that file is predicted to conflict ({} hunk(s)); resolve it or the name may be lost",
            hunks.len()
        ),
        Carry::LostUpstreamDeleted => {
            "upstream deleted that file, so the update loses the patch and the name".to_owned()
        }
        Carry::KeptDeletion => "the file stays deleted".to_owned(),
    };
    let (status, message) = match change {
        LocalChange::Modified => (
            Status::LocalPatchOnly {
                path: path.clone(),
                line,
                carry,
            },
            format!(
                "`{t}` is defined only by the local patch of the vendored `{path}` (line {line}), not by the base upstream; {fate}."
            ),
        ),
        LocalChange::Added => (
            Status::LocalOnlyFile {
                path: path.clone(),
                line,
                carry,
            },
            format!(
                "`{t}` is provided by `{path}`, which exists only in the vendored copy (line {line}); {fate}."
            ),
        ),
        LocalChange::Deleted => return None,
    };
    let mut f = finding(p, status, severity, message);
    f.old = summary;
    Some(f)
}

/// One at-risk finding per file of the vendored copy whose local patch the
/// update's merge is predicted to conflict on; `upstream_dir` is the
/// copy's folder in the wrapper.
pub fn local_patch_findings(
    local: &LocalCopy,
    upstream_dir: &str,
    sink: &mut dyn FnMut(PointFinding),
) {
    let dir = upstream_dir.trim_matches('/');
    for (path, file) in &local.files {
        let Carry::Conflicts { hunks } = &file.carry else {
            continue;
        };
        let lines = hunks
            .iter()
            .map(|h| {
                format!(
                    "line {} ({} local against {} upstream line(s))",
                    h.line, h.local_lines, h.upstream_lines
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let where_ = if lines.is_empty() {
            String::new()
        } else {
            format!(" at {lines} of the merged file")
        };
        let wrapper_path = if dir.is_empty() || dir == "." {
            path.clone()
        } else {
            format!("{dir}/{path}")
        };
        sink(PointFinding {
            point: IntegrationPoint {
                file: wrapper_path.clone(),
                line: hunks.first().map_or(1, |h| h.line),
                kind: PointKind::LocalPatch,
                target: path.clone(),
                keywords: Vec::new(),
                positional_args: 0,
                star_args: false,
                star_kwargs: false,
                snippet: String::new(),
            },
            status: Status::LocalPatchConflict {
                path: path.clone(),
                hunks: hunks.clone(),
            },
            severity: PointSeverity::AtRisk,
            message: format!(
                "The local patch of `{wrapper_path}` conflicts with the upstream change{where_}: `tether update` will pause on this file until it is resolved (by the fixer, or by hand and `tether update --continue`)."
            ),
            old: None,
            new: None,
        });
    }
}

/// Findings for wrapper key reads whose key was removed from a config the
/// read is tied to (loaded from it, or next to a reference to it); returns
/// how many reads of a removed key name nothing ties to that config (those
/// are counted, not listed).
pub fn key_findings(
    key_reads: &[KeyRead],
    ctx: &ResolveContext,
    sink: &mut dyn FnMut(PointFinding),
) -> usize {
    let mut by_last: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
    for (config, key) in &ctx.removed_config_keys {
        let last = key.rsplit('.').next().unwrap_or(key);
        by_last.entry(last).or_default().push((config, key));
    }
    let mut untied = 0;
    for read in key_reads {
        let Some(hits) = by_last.get(read.key.as_str()) else {
            continue;
        };
        // the strongest evidence that names a config which dropped the key
        let tied = read.evidence.iter().find_map(|e| {
            hits.iter()
                .find(|(config, _)| *config == e.config)
                .map(|(config, key)| (e, *config, *key))
        });
        let Some((evidence, config, key)) = tied else {
            untied += 1;
            continue;
        };
        sink(PointFinding {
            point: IntegrationPoint {
                file: read.file.clone(),
                line: read.line,
                kind: PointKind::ConfigKeyRead,
                target: format!("{config}:{key}"),
                keywords: Vec::new(),
                positional_args: 0,
                star_args: false,
                star_kwargs: false,
                snippet: read.snippet.clone(),
            },
            status: Status::ConfigKeyRemoved {
                config: config.to_owned(),
                key: key.to_owned(),
            },
            severity: PointSeverity::AtRisk,
            message: format!(
                "Key `{key}` was removed from `{config}`; the wrapper {}.",
                evidence.sentence(&read.key)
            ),
            old: None,
            new: None,
        });
    }
    untied
}

fn summary(l: &Lookup<'_>) -> Option<DefSummary> {
    match l.found {
        Found::Module => {
            let m = l.module.clone().unwrap_or_default();
            Some(DefSummary {
                module: m.clone(),
                name: m.clone(),
                kind: "module".into(),
                line: 1,
                signature: format!("module {m}"),
            })
        }
        Found::Def { def, .. } => Some(def_summary(def)),
        Found::Missing => None,
    }
}

pub(crate) fn def_summary(d: &Definition) -> DefSummary {
    let signature = match d.kind {
        _ if d.has_signature => render(&d.name, &d.params),
        DefKind::Class => format!("class {}", d.name),
        DefKind::Variable => {
            let value: String = d
                .body
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(60)
                .collect();
            format!("{} = {value}", d.name)
        }
        DefKind::Import => format!(
            "{} (imported from {})",
            d.name,
            d.imported_from.as_deref().unwrap_or("?")
        ),
        _ => d.name.clone(),
    };
    DefSummary {
        module: d.module.clone(),
        name: d.name.clone(),
        kind: d.kind.as_str().into(),
        line: d.line,
        signature,
    }
}

fn describe(c: &SignatureChange) -> String {
    match c {
        SignatureChange::ParameterRemoved { name } => format!("parameter `{name}` removed"),
        SignatureChange::ParameterRenamed { from, to } => {
            format!("parameter `{from}` renamed to `{to}`")
        }
        SignatureChange::NewRequiredParameter { name } => {
            format!("new required parameter `{name}`")
        }
        SignatureChange::NewRequiredUnlessKwargs { name } => format!(
            "new required parameter `{name}`: breaking unless the `**kwargs` dict the wrapper passes supplies it"
        ),
        SignatureChange::KeywordNotAccepted { name } => {
            format!("keyword `{name}` passed by the wrapper is no longer accepted")
        }
        SignatureChange::TooManyPositional { passed, accepted } => {
            format!("the wrapper passes {passed} positional arguments, it now takes {accepted}")
        }
        SignatureChange::DefaultChanged { name, from, to } => format!(
            "default of `{name}` changed from {} to {}",
            from.as_deref()
                .map_or("none (required)".into(), |d| format!("`{d}`")),
            to.as_deref()
                .map_or("none (required)".into(), |d| format!("`{d}`"))
        ),
        SignatureChange::ParameterKindChanged { name, from, to } => {
            format!("parameter `{name}` changed from {from:?} to {to:?}")
        }
        SignatureChange::VarArgsRemoved => "`*args` removed".into(),
        SignatureChange::VarKwargsRemoved => "`**kwargs` removed".into(),
    }
}
