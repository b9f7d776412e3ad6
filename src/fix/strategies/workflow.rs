//! The `workflow-inputs` strategy: repairs ComfyUI API-format workflow JSON
//! after a failed validation (`Prompt outputs failed validation: ...`),
//! from the analysis' workflow findings: an input a node pack renamed gets
//! its new key, a new required input with a literal default is added. Each
//! file is changed by a minimal text edit inside that node's `inputs`
//! object, then re-read and checked to equal the intended value. The
//! wrapper's Python patches of a renamed input (`wf["4"]["inputs"]["old"]`)
//! are renamed with it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path};

use regex::Regex;
use serde_json::Value;

use super::json_edit::{add_input, rename_input};
use super::{AppliedFix, FixContext, Strategy, param, write_file};
use crate::analysis::comfy::{WorkflowFinding, WorkflowFindingKind};
use crate::config::StrategyKind;
use crate::fix::classify::{Failure, FailureClass};
use crate::fix::error::FixError;

pub struct WorkflowInputs;

/// One repair of one workflow node.
#[derive(Debug, Clone, PartialEq)]
enum Edit {
    Rename {
        node: String,
        from: String,
        to: String,
        patched_at: Vec<String>,
    },
    Add {
        node: String,
        input: String,
        default: Value,
    },
}

impl Edit {
    fn from_finding(f: &WorkflowFinding) -> Option<Edit> {
        let input = f.input.clone()?;
        match &f.kind {
            WorkflowFindingKind::InputRenamed { to } => Some(Edit::Rename {
                node: f.node.clone(),
                from: input,
                to: to.clone(),
                patched_at: f.patched_at.clone(),
            }),
            WorkflowFindingKind::RequiredInputMissing {
                default: Some(default),
                ..
            } => Some(Edit::Add {
                node: f.node.clone(),
                input,
                default: default.clone(),
            }),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Edit::Rename { node, from, to, .. } => format!("node {node} input {from} -> {to}"),
            Edit::Add {
                node,
                input,
                default,
            } => format!("node {node} adds {input} = {default}"),
        }
    }
}

impl Strategy for WorkflowInputs {
    fn kind(&self) -> StrategyKind {
        StrategyKind::WorkflowInputs
    }

    fn applies(&self, f: &Failure) -> bool {
        matches!(f.class, FailureClass::WorkflowValidation { .. })
    }

    fn apply(&self, ctx: &FixContext<'_>, f: &Failure) -> Result<Option<AppliedFix>, FixError> {
        let FailureClass::WorkflowValidation {
            class_type, node, ..
        } = &f.class
        else {
            return Ok(None);
        };
        let na = |r: String| FixError::not_applicable(StrategyKind::WorkflowInputs, r);
        let Some(wa) = ctx.analysis.and_then(|a| a.workflows.as_ref()) else {
            return Err(na("the analysis has no workflow findings".to_owned()));
        };
        // The failing workflows: the case's own `workflow` parameter, and
        // every workflow with a finding at the node the validation named.
        let mut failing: BTreeSet<&str> = wa
            .findings
            .iter()
            .filter(|w| &w.node == node && &w.class_type == class_type)
            .map(|w| w.workflow.as_str())
            .collect();
        if let Some(w) = param(f, "workflow").and_then(Value::as_str) {
            failing.insert(w.trim_start_matches("./"));
        }
        let mut edits: BTreeMap<&str, Vec<Edit>> = BTreeMap::new();
        for w in wa
            .findings
            .iter()
            .filter(|w| failing.contains(w.workflow.as_str()))
        {
            if let Some(e) = Edit::from_finding(w) {
                edits.entry(w.workflow.as_str()).or_default().push(e);
            }
        }
        // Renames first: a new required input of the same name as a renamed
        // one is then already set.
        for list in edits.values_mut() {
            list.sort_by_key(|e| matches!(e, Edit::Add { .. }));
        }
        if edits.is_empty() {
            return Err(na(format!(
                "no workflow finding at {class_type} node {node} that tether can repair (a renamed input or a new required input with a literal default)"
            )));
        }
        let mut files = Vec::new();
        let mut done = Vec::new();
        for (workflow, list) in &edits {
            if let Some(changed) = repair_workflow(ctx.tree, workflow, list)? {
                files.push((*workflow).to_owned());
                done.push(format!("{workflow}: {changed}"));
            }
            for e in list {
                if let Edit::Rename {
                    node,
                    from,
                    to,
                    patched_at,
                } = e
                {
                    for at in patched_at {
                        if let Some(py) = patch_python(ctx.tree, at, node, from, to)? {
                            if !files.contains(&py) {
                                files.push(py.clone());
                            }
                            done.push(format!("{at}: wf[\"{node}\"][\"inputs\"][\"{to}\"]"));
                        }
                    }
                }
            }
        }
        if files.is_empty() {
            return Err(na(format!(
                "the workflow findings at {class_type} node {node} are repaired already"
            )));
        }
        let summary = format!("workflow inputs repaired: {}", done.join("; "));
        Ok(Some(AppliedFix {
            strategy: StrategyKind::WorkflowInputs,
            commit_message: format!("fix(workflow): {}\n\n{}\n", short(&edits), done.join("\n")),
            summary,
            files,
            reduced: None,
        }))
    }
}

/// `workflows/a.json node 7 input frame_rate -> fps, ...` for a commit subject.
fn short(edits: &BTreeMap<&str, Vec<Edit>>) -> String {
    edits
        .iter()
        .map(|(w, list)| {
            let what: Vec<String> = list.iter().map(Edit::describe).collect();
            format!("{w} {}", what.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Applies `edits` to one workflow file; `Ok(None)` when each is in place
/// already. Returns what changed.
fn repair_workflow(
    tree: &Path,
    workflow: &str,
    edits: &[Edit],
) -> Result<Option<String>, FixError> {
    let bad = |reason: String| FixError::Workflow {
        path: workflow.to_owned(),
        reason,
    };
    let path = inside(tree, workflow).ok_or_else(|| bad("not a path inside the wrapper".into()))?;
    let original = fs_err::read_to_string(&path).map_err(FixError::io("read", &path))?;
    let mut intended: Value =
        serde_json::from_str(&original).map_err(|e| bad(format!("it is not valid JSON: {e}")))?;
    let mut text = original.clone();
    let mut changed = Vec::new();
    for e in edits {
        let (node, key) = match e {
            Edit::Rename { node, from, .. } => (node, from),
            Edit::Add { node, input, .. } => (node, input),
        };
        let inputs = intended
            .get_mut(node.as_str())
            .and_then(|n| n.get_mut("inputs"))
            .and_then(Value::as_object_mut)
            .ok_or_else(|| bad(format!("node \"{node}\" has no `inputs` object")))?;
        match e {
            Edit::Rename { from, to, .. } => {
                if inputs.contains_key(to) && !inputs.contains_key(from) {
                    continue;
                }
                let v = inputs
                    .remove(from)
                    .ok_or_else(|| bad(format!("node \"{node}\" does not set `{key}`")))?;
                inputs.insert(to.clone(), v);
                text = rename_input(&text, node, from, to).map_err(bad)?;
            }
            Edit::Add { input, default, .. } => {
                if inputs.contains_key(input) {
                    continue;
                }
                inputs.insert(input.clone(), default.clone());
                text = add_input(&text, node, input, default).map_err(bad)?;
            }
        }
        changed.push(e.describe());
    }
    if changed.is_empty() {
        return Ok(None);
    }
    let reread: Value = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "the edited text is not valid JSON ({e}); left unchanged"
        ))
    })?;
    if reread != intended {
        return Err(bad(
            "the edited text does not read back as the intended workflow; left unchanged".into(),
        ));
    }
    write_file(&path, text.as_bytes())?;
    tracing::debug!(workflow, ?changed, "repaired workflow inputs");
    Ok(Some(changed.join(", ")))
}

/// Renames `["inputs"]["from"]` to `["inputs"]["to"]` on the line `at`
/// (`file:line`) names, when that line indexes node `node`. Returns the file
/// when it changed.
fn patch_python(
    tree: &Path,
    at: &str,
    node: &str,
    from: &str,
    to: &str,
) -> Result<Option<String>, FixError> {
    let Some((file, line)) = at.rsplit_once(':') else {
        return Ok(None);
    };
    let (Some(path), Ok(line)) = (inside(tree, file), line.parse::<usize>()) else {
        return Ok(None);
    };
    let Ok(text) = fs_err::read_to_string(&path) else {
        return Ok(None);
    };
    let re = Regex::new(&format!(
        r#"(\[\s*["']{}["']\s*\]\s*\[\s*["']inputs["']\s*\]\s*\[\s*["']){}(["']\s*\])"#,
        regex::escape(node),
        regex::escape(from)
    ))
    .expect("escaped pattern");
    let mut out = String::with_capacity(text.len());
    let mut hit = false;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line && re.is_match(l) {
            out.push_str(&re.replace_all(l, format!("${{1}}{to}${{2}}")));
            hit = true;
        } else {
            out.push_str(l);
        }
    }
    if !hit {
        return Ok(None);
    }
    write_file(&path, out.as_bytes())?;
    Ok(Some(file.to_owned()))
}

/// `tree/rel` when `rel` is a plain relative path.
fn inside(tree: &Path, rel: &str) -> Option<std::path::PathBuf> {
    let p = Path::new(rel);
    p.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        .then(|| tree.join(p))
}

#[cfg(test)]
#[path = "workflow_tests.rs"]
mod tests;
