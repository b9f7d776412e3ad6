//! The wrapper's Python patches of workflow inputs by node id:
//! `wf["12"]["inputs"]["width"] = ...` and
//! `wf["12"]["inputs"].update(width=...)`, each with the workflow file the
//! patched variable was loaded from when a literal path says so
//! (`json.load(open("workflows/x.json"))`, `with open(...) as f`,
//! `Path("...")`).

use std::collections::BTreeMap;

use tree_sitter::Node;

use super::syntax::{line, named_children, string_value, text, unparen};
use crate::analysis::python::SourceFile;

/// One patch of one input of one workflow node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputPatch {
    /// `file:line` in the wrapper.
    pub at: String,
    pub node: String,
    pub input: String,
    /// The `.json` path literal the patched variable was loaded from.
    pub source: Option<String>,
}

/// Every patch in the wrapper's Python files.
pub fn find_patches(files: &[SourceFile]) -> Vec<InputPatch> {
    let mut out = Vec::new();
    for f in files {
        if !f.text.contains("inputs") {
            continue;
        }
        let Some(tree) = crate::analysis::python::parse(&f.text) else {
            continue;
        };
        let src = f.text.as_str();
        let loads = json_paths(tree.root_node(), src);
        crate::analysis::python::walk_all(tree.root_node(), |n| {
            let found = match n.kind() {
                "assignment" => n
                    .child_by_field_name("left")
                    .and_then(|l| patched_input(l, src))
                    .map(|(var, node, input)| vec![(var, node, input)]),
                "call" => update_call(n, src),
                _ => None,
            };
            for (var, node, input) in found.unwrap_or_default() {
                out.push(InputPatch {
                    at: format!("{}:{}", f.path, line(n)),
                    node,
                    input,
                    source: loads.get(&var).cloned().flatten(),
                });
            }
        });
    }
    out
}

/// `var["12"]["inputs"]["width"]` as (var, node, input).
fn patched_input(node: Node<'_>, src: &str) -> Option<(String, String, String)> {
    let (inputs, input) = subscript(node, src)?;
    let (var, node_id) = inputs_of(inputs, src)?;
    Some((var, node_id, input))
}

/// `var["12"]["inputs"]` as (var, node id).
fn inputs_of(node: Node<'_>, src: &str) -> Option<(String, String)> {
    let (node_expr, key) = subscript(node, src)?;
    if key != "inputs" {
        return None;
    }
    let (var, node_id) = subscript(node_expr, src)?;
    Some((text(var, src).to_owned(), node_id))
}

/// `x["key"]` as (x, key).
fn subscript<'t>(node: Node<'t>, src: &str) -> Option<(Node<'t>, String)> {
    let node = unparen(node);
    if node.kind() != "subscript" {
        return None;
    }
    let key = string_value(node.child_by_field_name("subscript")?, src)?;
    Some((node.child_by_field_name("value")?, key))
}

/// `var["12"]["inputs"].update(width=..., height=...)`.
fn update_call(call: Node<'_>, src: &str) -> Option<Vec<(String, String, String)>> {
    let f = call.child_by_field_name("function")?;
    if f.kind() != "attribute" || text(f.child_by_field_name("attribute")?, src) != "update" {
        return None;
    }
    let (var, node_id) = inputs_of(f.child_by_field_name("object")?, src)?;
    let mut out = Vec::new();
    for a in named_children(call.child_by_field_name("arguments")?) {
        match a.kind() {
            "keyword_argument" => {
                let name = text(a.child_by_field_name("name")?, src).to_owned();
                out.push((var.clone(), node_id.clone(), name));
            }
            "dictionary" => {
                for p in named_children(a) {
                    if let Some(k) = p
                        .child_by_field_name("key")
                        .and_then(|k| string_value(k, src))
                    {
                        out.push((var.clone(), node_id.clone(), k));
                    }
                }
            }
            _ => {}
        }
    }
    Some(out)
}

/// Variables bound to a loaded `.json` path: `None` when bound to several.
fn json_paths(root: Node<'_>, src: &str) -> BTreeMap<String, Option<String>> {
    // first what each name is bound to, then names loaded from those names
    let mut direct: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    let mut via: Vec<(String, Node<'_>)> = Vec::new();
    crate::analysis::python::walk_all(root, |n| {
        let (name, value) = match n.kind() {
            "assignment" => match (
                n.child_by_field_name("left"),
                n.child_by_field_name("right"),
            ) {
                (Some(l), Some(r)) if l.kind() == "identifier" => (text(l, src).to_owned(), r),
                _ => return,
            },
            "as_pattern" => {
                let alias = n.child_by_field_name("alias");
                let target = alias.and_then(|a| {
                    let mut found = None;
                    crate::analysis::python::walk_all(a, |x| {
                        if found.is_none() && x.kind() == "identifier" {
                            found = Some(text(x, src).to_owned());
                        }
                    });
                    found
                });
                match (target, named_children(n).into_iter().next()) {
                    (Some(t), Some(v)) => (t, v),
                    _ => return,
                }
            }
            _ => return,
        };
        match json_literal(value, src) {
            Some(p) => direct.entry(name).or_default().push(Some(p)),
            None => via.push((name, value)),
        }
    });
    let mut out: BTreeMap<String, Option<String>> = BTreeMap::new();
    let one = |list: &Vec<Option<String>>| {
        let mut l: Vec<&Option<String>> = list.iter().collect();
        l.sort();
        l.dedup();
        match l.as_slice() {
            [one] => (*one).clone(),
            _ => None,
        }
    };
    for (name, list) in &direct {
        out.insert(name.clone(), one(list));
    }
    for (name, value) in via {
        let mut found = None;
        crate::analysis::python::walk_all(value, |x| {
            if found.is_none() && x.kind() == "identifier" {
                if let Some(Some(p)) = out.get(text(x, src)) {
                    found = Some(p.clone());
                }
            }
        });
        if let Some(p) = found {
            let e = out.entry(name).or_insert_with(|| Some(p.clone()));
            if e.as_ref() != Some(&p) {
                *e = None;
            }
        }
    }
    out
}

/// The one `.json` string literal inside an expression.
fn json_literal(node: Node<'_>, src: &str) -> Option<String> {
    let mut found = Vec::new();
    crate::analysis::python::walk_all(node, |x| {
        if x.kind() == "string" {
            if let Some(s) = string_value(x, src) {
                if s.ends_with(".json") {
                    found.push(s);
                }
            }
        }
    });
    found.sort();
    found.dedup();
    match found.as_slice() {
        [one] => Some(one.trim_start_matches("./").to_owned()),
        _ => None,
    }
}

/// Whether a loaded path literal names the workflow file `workflow`: the
/// same path, or one is the other's tail by whole components.
pub fn names_workflow(literal: &str, workflow: &str) -> bool {
    let lit = literal.trim_start_matches("./");
    lit == workflow
        || workflow.ends_with(&format!("/{lit}"))
        || lit.ends_with(&format!("/{workflow}"))
}
