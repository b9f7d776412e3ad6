//! Runs one analysis end to end: resolves the range in tether's mirror, diffs
//! the two trees, reads requirements and JSON configs, indexes the upstream's
//! Python at both commits, scans the wrapper, resolves every integration
//! point, builds the checklist and writes the reports.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;

use git2::Oid;

use super::caps::{self, Collector, FindingCaps};
use super::diff::{self, DiffOptions};
use super::index_cache::{IndexCache, Kind};
use super::model::{Analysis, Integration, PartialFile};
use super::python::{self, PointFacts, PointSeverity, ResolveContext, ScanContext, SourceFile};
use super::{
    checklist, comfy, json_config, local_copy, requirements, upstream_python, wrapper_files,
};
use crate::config::{Config, Layout, UpstreamConfig};
use crate::redact::redact;
use crate::state::StateDir;
use crate::upstream::{self, CommitInfo, LocalMods, Mirror};

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error(transparent)]
    Upstream(#[from] upstream::UpstreamError),
    #[error("cannot diff upstream `{upstream}` {range}")]
    Diff {
        upstream: String,
        range: String,
        #[source]
        source: diff::DiffError,
    },
    #[error(transparent)]
    Wrapper(#[from] wrapper_files::WrapperFilesError),
    #[error(transparent)]
    Report(#[from] crate::document::DocumentError),
    #[error(transparent)]
    Comfy(#[from] super::comfy::ComfyError),
}

pub struct AnalyzeOptions {
    /// Analyse up to this revision instead of the track target.
    pub to: Option<String>,
    /// Fetch the mirror first.
    pub fetch: bool,
    /// Other upstreams' commits (name -> revision) to compare node classes
    /// with, as a group update passes its members' targets; an upstream not
    /// named here is read at its current commit.
    pub peers: BTreeMap<String, String>,
}

/// An analysis and the folder its reports were written to.
pub struct Analyzed {
    pub analysis: Analysis,
    pub dir: PathBuf,
}

pub fn analyze(
    cfg: &Config,
    up: &UpstreamConfig,
    opts: &AnalyzeOptions,
) -> Result<Analyzed, AnalysisError> {
    let state = StateDir::new(&cfg.project.state_dir);
    let mirror = Mirror::open(&state, up, opts.fetch)?;
    // the commit, not the checkout: its uncommitted files are `check`'s
    let current = upstream::current_commit_of_history(&cfg.project, up, &mirror)?;
    let from = mirror.resolve_rev(&current.id)?;
    let to = match &opts.to {
        Some(rev) => mirror.resolve_rev(rev)?,
        None => upstream::resolve_target(&mirror, &up.track)?,
    };
    let mut notes = current.notes.clone();
    notes.extend(current.base.and_then(|b| b.message));
    // the local patch is against the current commit: only then a fact
    let local = match (&current.local_modifications, up.layout) {
        (Some(mods), Layout::Vendored) if from.to_string() == current.id => Some(mods),
        _ => None,
    };
    let range = Range {
        from,
        to,
        local,
        peers: &opts.peers,
    };
    let analysis = analyze_range_with(cfg, up, &mirror, &range, &mut notes)?;
    let dir = write_reports(cfg, &analysis)?;
    Ok(Analyzed { analysis, dir })
}

/// [`analyze_range_local`] without a vendored copy's local patch: the
/// integration points resolved against the two upstream commits only.
pub fn analyze_range(
    cfg: &Config,
    up: &UpstreamConfig,
    mirror: &Mirror,
    from: Oid,
    to: Oid,
    notes: &mut Vec<String>,
) -> Result<Analysis, AnalysisError> {
    analyze_range_local(cfg, up, mirror, from, to, None, notes)
}

/// Analyses `from..to`; with `local` (a vendored copy's patch against
/// `from`), every integration point is also resolved against the copy, and
/// each patched file's carry-forward to `to` is predicted.
pub fn analyze_range_local(
    cfg: &Config,
    up: &UpstreamConfig,
    mirror: &Mirror,
    from: Oid,
    to: Oid,
    local: Option<&LocalMods>,
    notes: &mut Vec<String>,
) -> Result<Analysis, AnalysisError> {
    let peers = BTreeMap::new();
    let range = Range {
        from,
        to,
        local,
        peers: &peers,
    };
    analyze_range_with(cfg, up, mirror, &range, notes)
}

/// The commits an analysis compares, with what else it reads.
pub struct Range<'a> {
    pub from: Oid,
    pub to: Oid,
    /// A vendored copy's patch against `from`.
    pub local: Option<&'a LocalMods>,
    /// Other upstreams' commits for the node-class comparison (see
    /// [`AnalyzeOptions::peers`]).
    pub peers: &'a BTreeMap<String, String>,
}

/// [`analyze_range_local`] with the other upstreams' commits given.
pub fn analyze_range_with(
    cfg: &Config,
    up: &UpstreamConfig,
    mirror: &Mirror,
    range: &Range<'_>,
    notes: &mut Vec<String>,
) -> Result<Analysis, AnalysisError> {
    let (from, to, local) = (range.from, range.to, range.local);
    let repo = mirror.repo();
    let clock = std::time::Instant::now();
    let range_text = format!("{:.7}..{:.7}", from.to_string(), to.to_string());
    crate::progress::emit(|| crate::progress::Event::AnalysisStarted {
        upstream: up.name.clone(),
        range: range_text.clone(),
    });
    let _finished = crate::progress::on_drop(|| crate::progress::Event::AnalysisFinished {
        upstream: up.name.clone(),
        elapsed_ms: crate::progress::millis(clock.elapsed()),
    });
    let phase = |name: &str| {
        tracing::debug!(
            phase = name,
            elapsed_ms = clock.elapsed().as_millis() as u64,
            "analysis phase done"
        );
        crate::progress::emit(|| crate::progress::Event::AnalysisPhase {
            upstream: up.name.clone(),
            phase: name.to_owned(),
            elapsed_ms: crate::progress::millis(clock.elapsed()),
        });
    };
    let derr = |source| AnalysisError::Diff {
        upstream: up.name.clone(),
        range: range_text.clone(),
        source,
    };
    let commit_info = |oid| -> Result<CommitInfo, AnalysisError> {
        let c = repo.find_commit(oid).map_err(|source| {
            derr(diff::DiffError::Commit {
                commit: oid,
                source,
            })
        })?;
        Ok(CommitInfo::from_commit(&c))
    };
    let from_info = commit_info(from)?;
    let to_info = commit_info(to)?;
    let commits = commits_between(repo, from, to);
    if !is_ancestor(repo, from, to) && from != to {
        notes.push(format!(
            "the current commit {} is not an ancestor of {}: upstream history was rewritten or the range goes backwards",
            from_info.short, to_info.short
        ));
    }

    let opts = DiffOptions {
        key_files: up.key_files_set.clone(),
        max_file_bytes: cfg.analysis.max_file_bytes,
    };
    // git objects never change: a range's diff is computed once
    let cache = IndexCache::new(&cfg.project.state_dir);
    let diff_key = format!(
        "{from}\0{to}\0{}\0{}",
        up.key_files.join("\0"),
        cfg.analysis.max_file_bytes
    );
    let mut tree_diff = match cache.get(Kind::TreeDiff, &diff_key) {
        Some(d) => d,
        None => {
            let d = diff::diff_commits(repo, from, to, &opts).map_err(derr)?;
            // a blob the mirror lacks today may be fetched tomorrow
            if d.unreadable.is_empty() {
                cache.put(Kind::TreeDiff, &diff_key, d)
            } else {
                d
            }
        }
    };
    phase("tree diff");
    let old_files = diff::list_files(repo, from).map_err(derr)?;
    let new_files = diff::list_files(repo, to).map_err(derr)?;
    // a side whose blob cannot be read: the file is skipped and listed
    let blob = |commit: Oid, path: &str| match diff::read_blob(repo, commit, path) {
        Ok(b) => Ok(Ok(b)),
        Err(diff::DiffError::Unreadable { blob, .. }) => Ok(Err(*blob)),
        Err(e) => Err(derr(e)),
    };
    let mut unreadable = Vec::new();

    // requirements files, compared as package lists
    let mut reqs = Vec::new();
    for f in &tree_diff.files {
        let old_path = f.old_path.as_deref().unwrap_or(&f.path);
        if !(requirements::is_requirements_file(&f.path)
            || requirements::is_requirements_file(old_path))
        {
            continue;
        }
        let (old, new) = match (blob(from, old_path)?, blob(to, &f.path)?) {
            (Ok(old), Ok(new)) => (old, new),
            (Err(u), _) | (_, Err(u)) => {
                notes.push(format!(
                    "requirements file `{}` not compared: blob {} cannot be read",
                    f.path,
                    &u.id[..7]
                ));
                unreadable.push(u);
                continue;
            }
        };
        let old = old.map(|b| String::from_utf8_lossy(&b).into_owned());
        let new = new.map(|b| String::from_utf8_lossy(&b).into_owned());
        reqs.push(requirements::diff_requirements(
            &f.path,
            old.as_deref(),
            new.as_deref(),
            &cfg.analysis,
        ));
    }

    // JSON configs, compared key by key
    let in_config_dir = |p: &str| {
        p.ends_with(".json")
            && cfg
                .integration
                .config_dirs
                .iter()
                .any(|d| p.starts_with(&format!("{}/", d.trim_end_matches('/'))))
    };
    let mut configs = Vec::new();
    for f in &tree_diff.files {
        let old_path = f.old_path.as_deref().unwrap_or(&f.path);
        let is_json =
            |p: &str| in_config_dir(p) || (p.ends_with(".json") && up.key_files_set.is_match(p));
        if !(is_json(&f.path) || is_json(old_path)) {
            continue;
        }
        if f.too_large || f.binary {
            continue;
        }
        let (old, new) = match (blob(from, old_path)?, blob(to, &f.path)?) {
            (Ok(old), Ok(new)) => (old, new),
            (Err(u), _) | (_, Err(u)) => {
                notes.push(format!(
                    "config `{}` not compared key by key: blob {} cannot be read",
                    f.path,
                    &u.id[..7]
                ));
                unreadable.push(u);
                continue;
            }
        };
        configs.push(json_config::diff_json(
            &f.path,
            old.as_deref(),
            new.as_deref(),
        ));
    }
    for u in unreadable {
        tree_diff.add_unreadable(u);
    }
    let removed_config_keys = json_config::removed_keys(&configs);
    phase("requirements and configs");

    let wrapper = wrapper_files::read(cfg)?;
    notes.extend(wrapper.notes.iter().cloned());
    let api_modules: BTreeSet<String> = if cfg.integration.api_modules.is_empty() {
        // a local-only module of the vendored copy is the upstream's too
        let local_added = local.into_iter().flat_map(|m| {
            m.files
                .iter()
                .filter(|f| f.change == upstream::Change::Added)
                .map(|f| f.path.clone())
        });
        let paths: Vec<String> = old_files.iter().cloned().chain(local_added).collect();
        python::top_level_modules(&paths)
    } else {
        cfg.integration.api_modules.iter().cloned().collect()
    };
    let old_set: BTreeSet<String> = old_files.iter().cloned().collect();
    let new_set: BTreeSet<String> = new_files.iter().cloned().collect();
    let ctx = ScanContext {
        upstream_dir: up.path.to_string_lossy().replace('\\', "/"),
        api_modules: api_modules.clone(),
        upstream_files: old_set.clone(),
        config_names: config_names(cfg, &old_files),
    };
    // A file too large to parse whole (a raised max_file_bytes) is scanned
    // a piece at a time, twice: first for what resolution must know of all
    // points, then for its points, each resolved as it is found; so neither
    // its syntax tree nor its points are ever held whole.
    let (huge, small): (Vec<&SourceFile>, Vec<&SourceFile>) =
        wrapper.files.iter().partition(|f| python::in_pieces(f));
    let mut scan = python::scan_wrapper(small, &ctx);
    let mut facts = PointFacts::default();
    for p in &scan.points {
        facts.add(p);
    }
    // of a huge file, only the key reads that can hit a removed config key
    let removed_keys: HashSet<&str> = removed_config_keys
        .iter()
        .map(|(_, k)| k.rsplit('.').next().unwrap_or(k))
        .collect();
    let bound: Vec<(&SourceFile, python::FileBindings)> = huge
        .iter()
        .map(|f| (*f, python::bind_file(f, &ctx)))
        .collect();
    for (file, b) in &bound {
        python::stream_file(file, &ctx, b, &mut |part| {
            for p in &part.points {
                facts.add(p);
            }
            scan.key_reads.extend(
                part.key_reads
                    .into_iter()
                    .filter(|k| removed_keys.contains(k.key.as_str())),
            );
        });
        scan.partial.extend(b.partial.clone());
    }
    phase("wrapper scanned");
    // the upstream's Python at both commits, parsed where resolution can reach
    let (old_index, new_index) = upstream_python::index_for(
        repo,
        (from, to),
        &facts.targets,
        &cache,
        cfg.analysis.max_file_bytes,
        notes,
    )
    .map_err(|source| derr(diff::DiffError::List { commit: to, source }))?;
    phase("upstream indexed");
    let local = match local {
        Some(mods) => Some(
            local_copy::read(
                cfg,
                up,
                repo,
                local_copy::Range {
                    base: from,
                    target: to,
                },
                mods,
                &old_index,
                notes,
            )
            .map_err(derr)?,
        ),
        None => None,
    };
    let (local_index, local_patch) = match local {
        Some((copy, patch)) => (Some(copy), Some(patch)),
        None => (None, None),
    };
    phase("local patch read");
    let renamed_files: BTreeMap<String, String> = tree_diff
        .files
        .iter()
        .filter_map(|f| Some((f.old_path.clone()?, f.path.clone())))
        .filter(|(a, b)| a != b)
        .collect();
    let rctx = ResolveContext {
        old_files: old_set,
        new_files: new_set,
        renamed_files,
        removed_config_keys,
        rename_similarity: cfg.analysis.rename_similarity,
    };
    // capped as they are made: a generated file with 500,000 broken calls
    // is counted, not held
    let finding_caps = FindingCaps::from_config(&cfg.analysis);
    let mut collector = Collector::new(finding_caps);
    let mut resolver = python::Resolver::new(&old_index, &new_index, &rctx, &facts)
        .with_local(local_index.as_ref());
    for p in &scan.points {
        collector.push(resolver.point(p));
    }
    for (file, b) in &bound {
        python::stream_file(file, &ctx, b, &mut |part| {
            for p in &part.points {
                collector.push(resolver.point(p));
            }
        });
    }
    let untied_key_reads = python::key_findings(&scan.key_reads, &rctx, &mut |f| collector.push(f));
    if let Some(copy) = &local_index {
        python::local_patch_findings(copy, &ctx.upstream_dir, &mut |f| collector.push(f));
    }
    let collected = collector.finish();
    let truncated = caps::truncation_note(&collected, finding_caps);
    let mut findings = collected.listed;
    phase("integration points resolved");
    findings.sort_by(|a, b| {
        rank(a.severity)
            .cmp(&rank(b.severity))
            .then_with(|| a.point.file.cmp(&b.point.file))
            .then_with(|| a.point.line.cmp(&b.point.line))
    });

    let mut partial: Vec<PartialFile> = scan
        .partial
        .iter()
        .map(|p| PartialFile {
            side: "wrapper".into(),
            parse: p.clone(),
        })
        .collect();
    for (index, info) in [(&old_index, &from_info), (&new_index, &to_info)] {
        partial.extend(index.partial.iter().map(|p| PartialFile {
            side: format!("upstream@{}", info.short),
            parse: p.clone(),
        }));
    }

    let workflows = comfy::analyze(
        &comfy::Range {
            cfg,
            up,
            mirror,
            from,
            to,
            to_short: &to_info.short,
            peers: range.peers,
            wrapper: &wrapper.files,
        },
        &cache,
        notes,
    )?;
    phase("workflows");

    let mut analysis = Analysis {
        upstream: up.name.clone(),
        wrapper: cfg.project.name.clone(),
        generated_at: crate::env::now(),
        from: from_info,
        to: to_info,
        commits,
        diff: tree_diff,
        requirements: reqs,
        configs,
        local_patch,
        integration: Integration {
            scanned_files: wrapper.files.iter().map(|f| f.path.clone()).collect(),
            api_modules: api_modules.into_iter().collect(),
            findings,
            counts: collected.counts,
            omitted: collected.omitted,
            partial,
            untied_key_reads,
        },
        workflows,
        checklist: Vec::new(),
        report_limit: cfg.analysis.max_report_bytes,
        notes: notes.iter().map(|n| redact(n).into_owned()).collect(),
        truncated,
    };
    analysis.checklist = checklist::build(&analysis);
    Ok(analysis)
}

fn rank(s: PointSeverity) -> u8 {
    match s {
        PointSeverity::Breaking => 0,
        PointSeverity::AtRisk => 1,
        PointSeverity::Info => 2,
    }
}

/// Model name -> config path for every JSON file in a config folder.
fn config_names(cfg: &Config, files: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for f in files {
        for d in &cfg.integration.config_dirs {
            let prefix = format!("{}/", d.trim_end_matches('/'));
            if let Some(rest) = f.strip_prefix(&prefix) {
                if let Some(stem) = rest.strip_suffix(".json") {
                    if !stem.contains('/') {
                        out.insert(stem.to_owned(), f.clone());
                    }
                }
            }
        }
    }
    out
}

fn is_ancestor(repo: &git2::Repository, a: Oid, b: Oid) -> bool {
    repo.graph_descendant_of(b, a).unwrap_or(false)
}

/// Commits reachable from `to` and not from `from`, newest first.
fn commits_between(repo: &git2::Repository, from: Oid, to: Oid) -> Vec<CommitInfo> {
    let walk = || -> Result<Vec<CommitInfo>, git2::Error> {
        let mut w = repo.revwalk()?;
        w.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME)?;
        w.push(to)?;
        w.hide(from)?;
        let mut out = Vec::new();
        for oid in w {
            out.push(CommitInfo::from_commit(&repo.find_commit(oid?)?));
        }
        Ok(out)
    };
    walk().unwrap_or_default()
}

/// Writes `maintenance_analysis/<upstream>/<from7>..<to7>/` and returns it.
pub fn write_reports(cfg: &Config, a: &Analysis) -> Result<PathBuf, AnalysisError> {
    let dir = cfg.project.analysis_dir.join(&a.upstream).join(a.range());
    crate::document::write(&dir, a)?;
    Ok(dir)
}

/// `analysis.json` within `max` bytes and always valid JSON: the
/// whole model when it fits; else without its long lists (findings, key-file
/// diffs, config key changes, syntax-error lines), the counts kept; else
/// only the verdict, the counts and the note.
pub fn capped_json(a: &Analysis, max: u64) -> Result<String, serde_json::Error> {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let full = render(a)?;
    if full.len() <= max {
        return Ok(full);
    }
    let note = format!(
        "analysis.json was {} bytes, over analysis.max_report_bytes ({}): the lists of findings, key-file diffs, config key changes and syntax-error lines are left out; the counts are complete, and the Markdown reports list what fits",
        crate::text::thousands(full.len()),
        crate::text::thousands(max)
    );
    drop(full);
    let mut slim = a.clone();
    slim.integration.findings.clear();
    for k in &mut slim.diff.key_diffs {
        k.unified.clear();
        k.truncated = true;
    }
    for c in &mut slim.configs {
        c.changes.clear();
    }
    for p in &mut slim.integration.partial {
        p.parse.error_lines.clear();
    }
    slim.truncated = Some(match &a.truncated {
        Some(t) => format!("{t}; {note}"),
        None => note.clone(),
    });
    let text = render(&slim)?;
    if text.len() <= max {
        return Ok(text);
    }
    let minimal = serde_json::json!({
        "upstream": a.upstream,
        "wrapper": a.wrapper,
        "generated_at": a.generated_at,
        "from": a.from,
        "to": a.to,
        "verdict": a.verdict(),
        "integration": { "counts": a.integration.counts },
        "truncated": format!("{note}; even without them it was {} bytes, so only the verdict and the counts are kept", crate::text::thousands(text.len())),
    });
    render(&minimal)
}

/// Pretty JSON (the writer redacts it and adds the final newline).
fn render<T: serde::Serialize>(v: &T) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(v)
}
