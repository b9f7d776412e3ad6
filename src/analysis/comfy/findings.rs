//! Compares the node classes an upstream defines at the analysis' `from`
//! and `to` commits for every workflow node whose `class_type` it defines,
//! input by input, including the inputs the wrapper's Python patches set.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{NodeClass, NodeInput, NodePack, WorkflowFinding, WorkflowFindingKind};
use super::patches::{InputPatch, names_workflow};
use super::workflow::{InputValue, Workflow, node_order};
use crate::analysis::python::PointSeverity;

/// What the comparison reads.
pub struct Compare<'a> {
    pub upstream: &'a str,
    /// Short hash of `to`, for messages.
    pub to_short: &'a str,
    pub before: &'a NodePack,
    pub after: &'a NodePack,
    /// The other upstreams' classes (name, pack).
    pub peers: &'a [(String, NodePack)],
    pub patches: &'a [InputPatch],
}

/// The patches of `node` in `wf`: tied by the file the wrapper loaded, or,
/// when it loads no literal path, to every workflow whose node sets the
/// input.
fn patches_of<'a>(c: &'a Compare<'_>, wf: &Workflow, node: &str) -> Vec<&'a InputPatch> {
    let n = &wf.nodes[node];
    c.patches
        .iter()
        .filter(|p| p.node == node)
        .filter(|p| match &p.source {
            Some(src) => names_workflow(src, &wf.path),
            None => n.inputs.contains_key(&p.input),
        })
        .collect()
}

pub fn compare(c: &Compare<'_>, workflows: &[Workflow]) -> Vec<WorkflowFinding> {
    let mut out = Vec::new();
    for wf in workflows {
        let mut ids: Vec<&String> = wf.nodes.keys().collect();
        ids.sort_by(|a, b| node_order(a, b));
        for id in ids {
            node_findings(c, wf, id, &mut out);
        }
    }
    out
}

fn node_findings(c: &Compare<'_>, wf: &Workflow, id: &str, out: &mut Vec<WorkflowFinding>) {
    let node = &wf.nodes[id];
    let ct = node.class_type.as_str();
    let before = c.before.classes.get(ct);
    let after = c.after.classes.get(ct);
    if before.is_none() && after.is_none() {
        return;
    }
    let patches = patches_of(c, wf, id);
    let at = |input: Option<&str>| -> Vec<String> {
        patches
            .iter()
            .filter(|p| input.is_none_or(|i| p.input == i))
            .map(|p| p.at.clone())
            .collect()
    };
    let mut push = |severity, input: Option<&str>, kind, message: String| {
        out.push(WorkflowFinding {
            severity,
            workflow: wf.path.clone(),
            node: id.to_owned(),
            class_type: ct.to_owned(),
            input: input.map(str::to_owned),
            kind,
            patched_at: at(input),
            message,
        });
    };
    let Some(after) = after else {
        let before = before.expect("one side defines the class");
        let candidate = successor(before, c.before, c.after);
        let message = match &candidate {
            Some((name, why)) => format!(
                "node class `{ct}` is no longer defined by `{}` at {}; `{name}` looks like its successor ({why})",
                c.upstream, c.to_short
            ),
            None => format!(
                "node class `{ct}` is no longer defined by `{}` at {}, and no new class looks like its successor",
                c.upstream, c.to_short
            ),
        };
        push(
            PointSeverity::Breaking,
            None,
            WorkflowFindingKind::NodeClassRemoved {
                candidate: candidate.map(|c| c.0),
            },
            message,
        );
        return;
    };
    let others: Vec<&str> = c
        .peers
        .iter()
        .filter(|(_, p)| p.classes.contains_key(ct))
        .map(|(n, _)| n.as_str())
        .collect();
    if !others.is_empty() {
        let mut packs = vec![c.upstream.to_owned()];
        packs.extend(others.iter().map(|s| s.to_string()));
        push(
            PointSeverity::AtRisk,
            None,
            WorkflowFindingKind::ClassDefinedTwice {
                packs: packs.clone(),
            },
            format!(
                "node class `{ct}` is defined by {}: which one ComfyUI uses depends on load order",
                packs
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        );
    }
    // links that read an output the source class no longer has
    for (input, v) in &node.inputs {
        let InputValue::Link { node: src, index } = v else {
            continue;
        };
        let Some(src_node) = wf.nodes.get(src) else {
            continue;
        };
        let Some(outs) = c
            .after
            .classes
            .get(&src_node.class_type)
            .and_then(|k| k.outputs.as_ref())
        else {
            continue;
        };
        let had = c
            .before
            .classes
            .get(&src_node.class_type)
            .and_then(|k| k.outputs.as_ref())
            .is_none_or(|o| *index < o.len());
        if *index >= outs.len() && had {
            push(
                PointSeverity::Breaking,
                Some(input),
                WorkflowFindingKind::OutputIndexGone {
                    from_node: src.clone(),
                    index: *index,
                    outputs: outs.len(),
                },
                format!(
                    "input `{input}` reads output {index} of node {src} (`{}`), which now has {} output(s)",
                    src_node.class_type,
                    outs.len()
                ),
            );
        }
    }
    if !after.complete {
        return;
    }
    let before = before.filter(|b| b.complete);
    let mut set: BTreeSet<&str> = node.inputs.keys().map(String::as_str).collect();
    let patched: BTreeSet<&str> = patches.iter().map(|p| p.input.as_str()).collect();
    set.extend(patched.iter().copied());
    let declared_after = names(after);
    let mut renamed_to = BTreeSet::new();
    for input in &set {
        if declared_after.contains(input) {
            continue;
        }
        // an input never declared was ignored before too: not this update's
        let Some(b) = before else { continue };
        let Some(old) = find(b, input) else { continue };
        let by_patch = if node.inputs.contains_key(*input) {
            ""
        } else {
            " (set by the wrapper's patch)"
        };
        match renamed(old, b, after) {
            Some(new) => {
                renamed_to.insert(new.name.clone());
                push(
                    PointSeverity::Breaking,
                    Some(input),
                    WorkflowFindingKind::InputRenamed {
                        to: new.name.clone(),
                    },
                    format!(
                        "input `{input}` of `{ct}`{by_patch} is now called `{}`",
                        new.name
                    ),
                );
            }
            None => push(
                PointSeverity::Breaking,
                Some(input),
                WorkflowFindingKind::InputRemoved,
                format!("input `{input}` of `{ct}`{by_patch} is no longer declared"),
            ),
        }
    }
    let required_before: BTreeSet<&str> = before
        .map(|b| b.required.iter().map(|i| i.name.as_str()).collect())
        .unwrap_or_default();
    for r in &after.required {
        let name = r.name.as_str();
        if set.contains(name) || renamed_to.contains(name) || required_before.contains(name) {
            continue;
        }
        // ComfyUI's validation rejects an API-format prompt without a
        // required input whatever its declared default (the editor fills
        // defaults in, the API does not): breaking either way
        let tail = match &r.default {
            Some(d) => format!("declared default {d} (the fix: set it)"),
            None => "no default".to_owned(),
        };
        push(
            PointSeverity::Breaking,
            Some(name),
            WorkflowFindingKind::RequiredInputMissing {
                kind: r.kind.clone(),
                default: r.default.clone(),
            },
            format!(
                "`{ct}` now requires input `{name}` ({}) that the workflow does not set; {tail}",
                r.kind
            ),
        );
    }
}

fn names(c: &NodeClass) -> BTreeSet<&str> {
    c.required
        .iter()
        .chain(&c.optional)
        .map(|i| i.name.as_str())
        .collect()
}

fn find<'a>(c: &'a NodeClass, name: &str) -> Option<&'a NodeInput> {
    c.required
        .iter()
        .chain(&c.optional)
        .find(|i| i.name == name)
}

/// The one new input of the same kind that took `old`'s place (the one
/// whose declaration is otherwise identical, when several share the kind).
fn renamed<'a>(old: &NodeInput, before: &NodeClass, after: &'a NodeClass) -> Option<&'a NodeInput> {
    let was = names(before);
    let new: Vec<&NodeInput> = after
        .required
        .iter()
        .chain(&after.optional)
        .filter(|i| !was.contains(i.name.as_str()) && i.kind == old.kind)
        .collect();
    match new.as_slice() {
        [one] => Some(one),
        _ => {
            let same: Vec<&&NodeInput> = new.iter().filter(|i| i.default == old.default).collect();
            match same.as_slice() {
                [one] => Some(one),
                _ => None,
            }
        }
    }
}

/// A class new at `to` that looks like `old`'s successor, with why.
fn successor(old: &NodeClass, before: &NodePack, after: &NodePack) -> Option<(String, String)> {
    let new: Vec<&NodeClass> = after
        .classes
        .values()
        .filter(|c| !before.classes.contains_key(&c.name))
        .collect();
    let one = |list: Vec<&&NodeClass>, why: &str| match list.as_slice() {
        [c] => Some((c.name.clone(), why.to_owned())),
        _ => None,
    };
    one(
        new.iter()
            .filter(|c| c.python_class == old.python_class)
            .collect(),
        "same Python class",
    )
    .or_else(|| {
        let inputs = |c: &NodeClass| -> BTreeMap<String, String> {
            c.required
                .iter()
                .chain(&c.optional)
                .map(|i| (i.name.clone(), i.kind.clone()))
                .collect()
        };
        let mine = inputs(old);
        if mine.is_empty() || !old.complete {
            return None;
        }
        one(
            new.iter()
                .filter(|c| c.complete && inputs(c) == mine)
                .collect(),
            "same inputs",
        )
    })
    .or_else(|| {
        let close: Vec<&&NodeClass> = new
            .iter()
            .filter(|c| similar::TextDiff::from_chars(&old.name, &c.name).ratio() >= 0.75)
            .collect();
        one(close, "close name")
    })
}
