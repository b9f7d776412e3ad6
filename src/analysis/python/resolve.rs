//! Resolving the wrapper's integration points against the old and the new
//! upstream index: what each point refers to before and after, and whether
//! the change breaks it, puts it at risk, or leaves it alone.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::index::module_name;
use super::lookup::{Found, Lookup, lookup};
use super::model::{
    DefKind, DefSummary, Definition, IntegrationPoint, KeyRead, PointFinding, PointKind,
    PointSeverity, ResolveContext, SignatureChange, Status, UpstreamIndex,
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
    key_findings(&facts, key_reads, ctx, sink);
}

/// What resolving one point needs to know about all of them: which targets
/// each wrapper file calls and which upstream files it references, and
/// every target (the upstream modules to index). Gathered first, so that
/// points can then be resolved one at a time, even a piece of a file at a
/// time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PointFacts {
    /// Every point's target.
    pub targets: BTreeSet<String>,
    /// Wrapper file -> the targets it calls.
    called: HashMap<String, HashSet<String>>,
    /// Wrapper file -> the upstream files and model configs it names.
    referenced: HashMap<String, HashSet<String>>,
}

impl PointFacts {
    pub fn add(&mut self, p: &IntegrationPoint) {
        if !self.targets.contains(&p.target) {
            self.targets.insert(p.target.clone());
        }
        let by_file = match p.kind {
            PointKind::Call => &mut self.called,
            PointKind::FileReference | PointKind::ModelConfigReference => &mut self.referenced,
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

    fn references(&self, file: &str, target: &str) -> bool {
        self.referenced
            .get(file)
            .is_some_and(|s| s.contains(target))
    }
}

/// Resolves integration points one at a time against the two indexes.
pub struct Resolver<'a> {
    old: &'a UpstreamIndex,
    new: &'a UpstreamIndex,
    ctx: &'a ResolveContext,
    facts: &'a PointFacts,
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
            candidates: None,
            lookups: HashMap::new(),
            missing: HashMap::new(),
        }
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
            finding(
                p,
                Status::Unresolved,
                PointSeverity::Info,
                format!(
                    "`{t}` is not defined in the old upstream (dynamic, or not part of its API)."
                ),
            )
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
        f.old = old_sum;
        f.new = new_sum;
        f
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

/// Findings for wrapper key reads whose key was removed from some config.
pub fn key_findings(
    facts: &PointFacts,
    key_reads: &[KeyRead],
    ctx: &ResolveContext,
    sink: &mut dyn FnMut(PointFinding),
) {
    let mut by_last: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
    for (config, key) in &ctx.removed_config_keys {
        let last = key.rsplit('.').next().unwrap_or(key);
        by_last.entry(last).or_default().push((config, key));
    }
    for read in key_reads {
        let Some(hits) = by_last.get(read.key.as_str()) else {
            continue;
        };
        let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (config, key) in hits {
            by_key.entry(key).or_default().push(config);
        }
        for (key, mut configs) in by_key {
            configs.sort_unstable();
            configs.dedup();
            let referenced_config = configs.iter().find(|c| facts.references(&read.file, c));
            let config = referenced_config.or(configs.first()).copied().unwrap_or("");
            let severity = if referenced_config.is_some() {
                PointSeverity::Breaking
            } else {
                PointSeverity::AtRisk
            };
            let others = match configs.len() {
                1 => String::new(),
                n => format!(" (and {} other configs)", n - 1),
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
                severity,
                message: format!(
                    "Key `{key}` was removed from `{config}`{others}; the wrapper reads `{}` here.",
                    read.key
                ),
                old: None,
                new: None,
            });
        }
    }
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
