//! The V3 node style: a `define_schema` classmethod returning
//! `io.Schema(node_id=..., inputs=[io.Int.Input(...), ...], outputs=[...])`
//! read into a class's inputs and outputs, and the classes a
//! `comfy_entrypoint` extension's `get_node_list` returns.

use tree_sitter::Node;

use super::classes::{ClassInfo, short};
use super::model::NodeInput;
use super::nodes::{Entry, unknown};
use super::syntax::{
    dotted, line, literal, named_children, string_value, text, undecorate, unparen,
};

/// The V3 schema: `io.Schema(node_id="...", inputs=[...], outputs=[...])`.
pub(super) fn schema(func: Node<'_>, src: &str, info: &mut ClassInfo) -> Result<(), String> {
    let mut call = None;
    super::super::python::walk_all(func, |n| {
        if call.is_none() && n.kind() == "call" {
            let f = n
                .child_by_field_name("function")
                .and_then(|f| dotted(f, src));
            if f.is_some_and(|p| p.last().is_some_and(|l| l == "Schema")) {
                call = Some(n);
            }
        }
    });
    let call = call.ok_or("define_schema builds no io.Schema(...) call")?;
    let args = call
        .child_by_field_name("arguments")
        .ok_or("no arguments")?;
    let mut inputs_seen = false;
    for kw in named_children(args) {
        if kw.kind() != "keyword_argument" {
            continue;
        }
        let name = kw.child_by_field_name("name").map(|n| text(n, src));
        let Some(value) = kw.child_by_field_name("value").map(unparen) else {
            continue;
        };
        match name {
            Some("node_id") => info.node_id = string_value(value, src),
            Some("inputs") => {
                inputs_seen = true;
                if value.kind() != "list" {
                    return Err("io.Schema inputs are not a list literal".into());
                }
                for item in named_children(value) {
                    if item.kind() == "comment" {
                        continue;
                    }
                    let (input, optional) = schema_input(item, src)?;
                    if optional {
                        info.optional.push(input);
                    } else {
                        info.required.push(input);
                    }
                }
            }
            Some("outputs") => {
                info.outputs = (value.kind() == "list")
                    .then(|| {
                        named_children(value)
                            .into_iter()
                            .filter(|c| c.kind() != "comment")
                            .map(|o| io_type(o, src, "Output"))
                            .collect::<Option<Vec<_>>>()
                    })
                    .flatten();
            }
            _ => {}
        }
    }
    if info.node_id.is_none() {
        return Err("io.Schema has no literal node_id".into());
    }
    if !inputs_seen {
        info.outputs.get_or_insert_with(Vec::new);
    }
    Ok(())
}

/// `io.Int.Input("width", default=512, optional=True)`: the input and
/// whether it is optional.
fn schema_input(item: Node<'_>, src: &str) -> Result<(NodeInput, bool), String> {
    let err = || format!("schema input `{}` is not readable", short(text(item, src)));
    let kind = io_type(item, src, "Input").ok_or_else(err)?;
    let args = item.child_by_field_name("arguments").ok_or_else(err)?;
    let mut name = None;
    let mut default = None;
    let mut optional = false;
    for a in named_children(args) {
        match a.kind() {
            "keyword_argument" => {
                let k = a.child_by_field_name("name").map(|n| text(n, src));
                let v = a.child_by_field_name("value");
                match (k, v) {
                    (Some("id"), Some(v)) => name = string_value(v, src),
                    (Some("default"), Some(v)) => default = literal(v, src),
                    (Some("optional"), Some(v)) => optional = v.kind() == "true",
                    _ => {}
                }
            }
            "comment" => {}
            _ if name.is_none() => name = Some(string_value(a, src).ok_or_else(err)?),
            _ => {}
        }
    }
    Ok((
        NodeInput {
            name: name.ok_or_else(err)?,
            kind,
            default,
        },
        optional,
    ))
}

/// `io.Image.Output()` (with `what` = `Output`) as `IMAGE`.
fn io_type(call: Node<'_>, src: &str, what: &str) -> Option<String> {
    if call.kind() != "call" {
        return None;
    }
    let parts = dotted(call.child_by_field_name("function")?, src)?;
    let [.., ty, last] = parts.as_slice() else {
        return None;
    };
    (last == what).then(|| ty.to_ascii_uppercase())
}

/// The classes `get_node_list` returns in a V3 extension of this file.
pub(super) fn node_list(stmts: &[Node<'_>], src: &str) -> Vec<Entry> {
    for s in stmts {
        let d = undecorate(*s);
        if d.kind() != "class_definition" {
            continue;
        }
        let Some(body) = d.child_by_field_name("body") else {
            continue;
        };
        for m in named_children(body) {
            let m = undecorate(m);
            if m.kind() != "function_definition"
                || m.child_by_field_name("name").map(|n| text(n, src)) != Some("get_node_list")
            {
                continue;
            }
            let mut rets = Vec::new();
            crate::analysis::python::walk_all(m, |n| {
                if n.kind() == "return_statement" {
                    rets.push(n);
                }
            });
            let list = match rets.as_slice() {
                [r] => named_children(*r).into_iter().next().map(unparen),
                _ => None,
            };
            let Some(list) = list.filter(|l| matches!(l.kind(), "list" | "tuple")) else {
                return vec![Entry::Unknown {
                    why: format!(
                        "get_node_list (line {}) does not return a list literal",
                        line(m)
                    ),
                }];
            };
            return named_children(list)
                .into_iter()
                .filter(|c| c.kind() != "comment")
                .map(|c| match dotted(c, src) {
                    Some(class) => Entry::Pair {
                        key: String::new(),
                        class,
                        line: line(c),
                    },
                    None => unknown(c, src),
                })
                .collect();
        }
    }
    vec![Entry::Unknown {
        why: "comfy_entrypoint's extension has no get_node_list in this file".into(),
    }]
}
