//! One Python class read as a ComfyUI node: its `INPUT_TYPES` (a dict
//! literal the classmethod returns, directly, through a variable or through
//! a function of the same file), `RETURN_TYPES`, or a V3 `define_schema`
//! (read by `v3`). What
//! cannot be read statically leaves the class incomplete, with why.

use std::collections::BTreeMap;

use tree_sitter::Node;

use super::model::NodeInput;
use super::syntax::{dotted, literal, named_children, string_value, text, undecorate, unparen};

/// A class as the scan read it.
#[derive(Debug, Clone, Default)]
pub(super) struct ClassInfo {
    pub line: usize,
    /// Base classes as dotted names.
    pub bases: Vec<Vec<String>>,
    pub required: Vec<NodeInput>,
    pub optional: Vec<NodeInput>,
    pub outputs: Option<Vec<String>>,
    /// Whether the inputs were read (from `INPUT_TYPES` or a schema).
    pub inputs_read: bool,
    /// Why the inputs could not be read, when the class declares them.
    pub unreadable: Option<String>,
    /// The V3 schema's `node_id`.
    pub node_id: Option<String>,
}

/// What a module offers the class reader: its top-level functions and
/// plain assignments, by name.
pub(super) struct ModuleScope<'t> {
    pub functions: BTreeMap<String, Node<'t>>,
    pub values: BTreeMap<String, Node<'t>>,
}

pub(super) fn read_class(class: Node<'_>, src: &str, scope: &ModuleScope<'_>) -> ClassInfo {
    let mut info = ClassInfo {
        line: super::syntax::line(class),
        ..ClassInfo::default()
    };
    if let Some(sup) = class.child_by_field_name("superclasses") {
        info.bases = named_children(sup)
            .into_iter()
            .filter_map(|b| dotted(b, src))
            .collect();
    }
    let Some(body) = class.child_by_field_name("body") else {
        return info;
    };
    for stmt in named_children(body) {
        let def = undecorate(stmt);
        if def.kind() == "function_definition" {
            let name = def.child_by_field_name("name").map(|n| text(n, src));
            match name {
                Some("INPUT_TYPES") => {
                    info.inputs_read = true;
                    match input_types(def, src, scope) {
                        Ok((req, opt)) => {
                            info.required = req;
                            info.optional = opt;
                        }
                        Err(why) => info.unreadable = Some(why),
                    }
                }
                Some("define_schema") => {
                    info.inputs_read = true;
                    if let Err(why) = super::v3::schema(def, src, &mut info) {
                        info.unreadable = Some(why);
                    }
                }
                _ => {}
            }
        } else if let Some((name, value)) = assignment(stmt, src) {
            if name == "RETURN_TYPES" {
                info.outputs = type_list(value, src, scope);
            }
        }
    }
    info
}

/// `name = value` as a statement.
pub(super) fn assignment<'t>(stmt: Node<'t>, src: &str) -> Option<(String, Node<'t>)> {
    let e = super::syntax::expression(stmt)?;
    if e.kind() != "assignment" {
        return None;
    }
    let left = e.child_by_field_name("left")?;
    if left.kind() != "identifier" {
        return None;
    }
    Some((text(left, src).to_owned(), e.child_by_field_name("right")?))
}

/// The `return` expressions of a function, not of functions inside it.
fn returns<'t>(func: Node<'t>) -> Vec<Node<'t>> {
    fn walk<'t>(node: Node<'t>, out: &mut Vec<Node<'t>>) {
        for c in named_children(node) {
            match c.kind() {
                "function_definition" | "class_definition" | "lambda" => {}
                "return_statement" => {
                    if let Some(e) = named_children(c).into_iter().next() {
                        out.push(e);
                    }
                }
                _ => walk(c, out),
            }
        }
    }
    let mut out = Vec::new();
    if let Some(body) = func.child_by_field_name("body") {
        walk(body, &mut out);
    }
    out
}

type Inputs = (Vec<NodeInput>, Vec<NodeInput>);

fn input_types(func: Node<'_>, src: &str, scope: &ModuleScope<'_>) -> Result<Inputs, String> {
    let rets = returns(func);
    let [ret] = rets.as_slice() else {
        return Err(format!(
            "INPUT_TYPES has {} return statements, not one",
            rets.len()
        ));
    };
    let dict = returned_dict(*ret, func, src, scope, 0)?;
    input_dict(dict, src, scope)
}

/// The dict literal an expression stands for: itself, a variable assigned
/// one in the function or the module, or a same-file function returning one.
fn returned_dict<'t>(
    expr: Node<'t>,
    func: Node<'t>,
    src: &str,
    scope: &ModuleScope<'t>,
    depth: usize,
) -> Result<Node<'t>, String> {
    let expr = unparen(expr);
    match expr.kind() {
        "dictionary" => Ok(expr),
        "identifier" if depth < 4 => {
            let name = text(expr, src);
            let local = func
                .child_by_field_name("body")
                .map(named_children)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|s| assignment(s, src))
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v)
                .collect::<Vec<_>>();
            match (local.as_slice(), scope.values.get(name)) {
                ([one], _) => returned_dict(*one, func, src, scope, depth + 1),
                ([], Some(v)) => returned_dict(*v, func, src, scope, depth + 1),
                _ => Err(format!("INPUT_TYPES returns `{name}`, built at run time")),
            }
        }
        "call" if depth < 4 => {
            let f = expr
                .child_by_field_name("function")
                .map(|f| text(f, src))
                .unwrap_or("");
            match scope.functions.get(f) {
                Some(def) => match returns(*def).as_slice() {
                    [one] => returned_dict(*one, *def, src, scope, depth + 1),
                    _ => Err(format!("INPUT_TYPES returns `{f}(...)`, built at run time")),
                },
                None => Err(format!(
                    "INPUT_TYPES returns a call to `{f}`, not readable statically"
                )),
            }
        }
        _ => Err(format!(
            "INPUT_TYPES returns `{}`, not a dict literal",
            short(text(expr, src))
        )),
    }
}

pub(super) fn short(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 60 {
        format!("{}...", one.chars().take(57).collect::<String>())
    } else {
        one
    }
}

fn input_dict(dict: Node<'_>, src: &str, scope: &ModuleScope<'_>) -> Result<Inputs, String> {
    let (mut req, mut opt) = (Vec::new(), Vec::new());
    for pair in named_children(dict) {
        if pair.kind() == "comment" {
            continue;
        }
        if pair.kind() != "pair" {
            return Err(format!(
                "INPUT_TYPES has `{}`, not a plain key",
                short(text(pair, src))
            ));
        }
        let key = pair
            .child_by_field_name("key")
            .and_then(|k| string_value(k, src));
        let value = pair.child_by_field_name("value").map(unparen);
        let out = match key.as_deref() {
            Some("required") => &mut req,
            Some("optional") => &mut opt,
            Some(_) => continue,
            None => return Err("INPUT_TYPES has a key that is not a string".into()),
        };
        let Some(value) = value.filter(|v| v.kind() == "dictionary") else {
            return Err(format!(
                "INPUT_TYPES `{}` is not a dict literal",
                key.unwrap_or_default()
            ));
        };
        for input in named_children(value) {
            if input.kind() == "comment" {
                continue;
            }
            out.push(input_entry(input, src, scope)?);
        }
    }
    Ok((req, opt))
}

/// `"name": ("INT", {"default": 512})` or `"name": (["a", "b"],)`.
fn input_entry(pair: Node<'_>, src: &str, scope: &ModuleScope<'_>) -> Result<NodeInput, String> {
    let err = || format!("input `{}` is not a literal entry", short(text(pair, src)));
    if pair.kind() != "pair" {
        return Err(err());
    }
    let name = pair
        .child_by_field_name("key")
        .and_then(|k| string_value(k, src))
        .ok_or_else(err)?;
    let value = unparen(pair.child_by_field_name("value").ok_or_else(err)?);
    let parts: Vec<Node<'_>> = match value.kind() {
        "tuple" | "list" => named_children(value)
            .into_iter()
            .filter(|c| c.kind() != "comment")
            .collect(),
        _ => return Err(err()),
    };
    let Some(first) = parts.first() else {
        return Err(err());
    };
    let kind = type_name(*first, src, scope);
    let default = parts
        .get(1)
        .filter(|o| o.kind() == "dictionary")
        .and_then(|o| {
            named_children(*o).into_iter().find(|p| {
                p.kind() == "pair"
                    && p.child_by_field_name("key")
                        .and_then(|k| string_value(k, src))
                        .as_deref()
                        == Some("default")
            })
        })
        .and_then(|p| literal(p.child_by_field_name("value")?, src));
    Ok(NodeInput {
        name,
        kind,
        default,
    })
}

/// A declared type: a string, `IO.INT` as `INT`, a string constant of the
/// module; anything else (a list, or a call or attribute that gives one)
/// is a combo.
fn type_name(node: Node<'_>, src: &str, scope: &ModuleScope<'_>) -> String {
    if let Some(s) = string_value(node, src) {
        return s;
    }
    match node.kind() {
        "attribute" => {
            if let Some(parts) = dotted(node, src) {
                if parts.len() == 2 && parts[0] == "IO" {
                    return parts[1].clone();
                }
            }
        }
        "identifier" => {
            if let Some(s) = scope
                .values
                .get(text(node, src))
                .and_then(|v| string_value(*v, src))
            {
                return s;
            }
        }
        _ => {}
    }
    "COMBO".into()
}

/// `("IMAGE", "MASK")` as types; `None` when not a literal tuple or list.
fn type_list(node: Node<'_>, src: &str, scope: &ModuleScope<'_>) -> Option<Vec<String>> {
    let node = unparen(node);
    if !matches!(node.kind(), "tuple" | "list") {
        return None;
    }
    named_children(node)
        .into_iter()
        .filter(|c| c.kind() != "comment")
        .map(|c| match c.kind() {
            "string" | "concatenated_string" | "attribute" | "identifier" => {
                Some(type_name(c, src, scope))
            }
            _ => None,
        })
        .collect()
}
