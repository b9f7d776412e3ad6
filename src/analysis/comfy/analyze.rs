//! The ComfyUI part of one analysis: the upstream's node classes at `from`
//! and `to`, the wrapper's workflows and Python patches, the other
//! upstreams' classes (at their current commits or the ones a group update
//! passes), compared into workflow findings and notes.

use std::collections::BTreeMap;

use git2::Oid;

use super::findings::{Compare, compare};
use super::model::{NodePack, WorkflowAnalysis};
use super::pack::pack_at;
use super::patches::find_patches;
use super::workflow::{Workflow, read_workflow};
use crate::analysis::diff::DiffError;
use crate::analysis::index_cache::IndexCache;
use crate::analysis::python::SourceFile;
use crate::analysis::wrapper_files::{self, WrapperFilesError};
use crate::config::{Config, UpstreamConfig};
use crate::state::StateDir;
use crate::upstream::{self, Mirror};

#[derive(Debug, thiserror::Error)]
pub enum ComfyError {
    #[error("cannot read the node classes of upstream `{upstream}`")]
    Classes {
        upstream: String,
        #[source]
        source: DiffError,
    },
    #[error(transparent)]
    Wrapper(#[from] WrapperFilesError),
}

/// What the ComfyUI analysis of one range reads.
pub struct Range<'a> {
    pub cfg: &'a Config,
    pub up: &'a UpstreamConfig,
    pub mirror: &'a Mirror,
    pub from: Oid,
    pub to: Oid,
    pub to_short: &'a str,
    /// Other upstreams' commits by name (group update targets); the rest
    /// are read at their current commits.
    pub peers: &'a BTreeMap<String, String>,
    /// The wrapper's scanned Python files (for input patches).
    pub wrapper: &'a [SourceFile],
}

/// `None` when no workflow is configured (`integration.workflows`): every
/// finding is about a workflow, and reading every Python file of both
/// commits for node classes would cost an analysis of a large jump a third
/// of its time for nothing.
pub fn analyze(
    r: &Range<'_>,
    cache: &IndexCache,
    notes: &mut Vec<String>,
) -> Result<Option<WorkflowAnalysis>, ComfyError> {
    let cfg = r.cfg;
    if cfg.integration.workflows.is_empty() {
        return Ok(None);
    }
    let classes = |commit| {
        pack_at(r.mirror.repo(), commit, cache, cfg.analysis.max_file_bytes).map_err(|source| {
            ComfyError::Classes {
                upstream: r.up.name.clone(),
                source,
            }
        })
    };
    let before = classes(r.from)?;
    let after = classes(r.to)?;
    let mut out = WorkflowAnalysis {
        classes_before: before.classes.len(),
        classes_after: after.classes.len(),
        ..WorkflowAnalysis::default()
    };
    let mut partial: Vec<String> = before.partial.clone();
    partial.extend(after.partial.iter().cloned());
    partial.sort();
    partial.dedup();
    out.partial = partial;

    let mut workflows = Vec::new();
    let files = wrapper_files::read_matching(cfg, &cfg.integration.workflows_set)?;
    notes.extend(files.notes);
    for f in &files.files {
        match read_workflow(&f.path, &f.text) {
            Ok(w) => workflows.push(w),
            Err(s) => out.skipped.push(s),
        }
    }
    out.workflows = workflows.iter().map(|w| w.path.clone()).collect();
    let uses_ours = workflows.iter().any(|w| {
        w.nodes.values().any(|n| {
            before.classes.contains_key(&n.class_type) || after.classes.contains_key(&n.class_type)
        })
    });
    let peers = if uses_ours {
        peer_packs(r, cache, notes)
    } else {
        Vec::new()
    };
    let patches = if workflows.is_empty() {
        Vec::new()
    } else {
        find_patches(r.wrapper)
    };
    out.findings = compare(
        &Compare {
            upstream: &r.up.name,
            to_short: r.to_short,
            before: &before,
            after: &after,
            peers: &peers,
            patches: &patches,
        },
        &workflows,
    );
    add_notes(r, &out, &workflows, notes);
    Ok(Some(out))
}

fn add_notes(r: &Range<'_>, a: &WorkflowAnalysis, workflows: &[Workflow], notes: &mut Vec<String>) {
    let used: usize = workflows.iter().map(|w| w.nodes.len()).sum();
    if a.classes_before == 0 && a.classes_after == 0 && used > 0 {
        notes.push(format!(
            "upstream `{}` defines no node classes (no NODE_CLASS_MAPPINGS or V3 comfy_entrypoint) at either commit: the workflows' {used} node(s) are not checked against it",
            r.up.name
        ));
    }
    if !a.partial.is_empty() {
        notes.push(format!(
            "node classes of `{}` only partly read in {} place(s) (listed under Workflows): classes built at run time are not checked",
            r.up.name,
            a.partial.len()
        ));
    }
    for s in &a.skipped {
        notes.push(format!("workflow `{}` skipped: {}", s.path, s.reason));
    }
}

/// The node classes of every other upstream whose mirror is there.
fn peer_packs(
    r: &Range<'_>,
    cache: &IndexCache,
    notes: &mut Vec<String>,
) -> Vec<(String, NodePack)> {
    let state = StateDir::new(&r.cfg.project.state_dir);
    let mut out = Vec::new();
    for peer in r.cfg.upstreams.iter().filter(|u| u.name != r.up.name) {
        let read = || -> Result<NodePack, String> {
            let mirror = Mirror::open_existing(&state, peer).map_err(|e| e.to_string())?;
            let rev = match r.peers.get(&peer.name) {
                Some(rev) => rev.clone(),
                None => {
                    upstream::current_commit_of_history(&r.cfg.project, peer, &mirror)
                        .map_err(|e| e.to_string())?
                        .id
                }
            };
            let commit = mirror.resolve_rev(&rev).map_err(|e| e.to_string())?;
            pack_at(mirror.repo(), commit, cache, r.cfg.analysis.max_file_bytes)
                .map_err(|e| e.to_string())
        };
        match read() {
            Ok(p) => out.push((peer.name.clone(), p)),
            Err(e) => notes.push(format!(
                "node classes of upstream `{}` not compared with `{}`'s: {e}",
                peer.name, r.up.name
            )),
        }
    }
    out
}
