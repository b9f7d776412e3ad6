//! Small readers over tree-sitter Python nodes for the node-class scan:
//! literals as JSON values, class references, and the module-level
//! statements (through `if`/`try`/`with` blocks, never into functions).

use tree_sitter::Node;

pub(super) use crate::analysis::python::{line, named_children, string_value, text};

/// A Python literal (number, string, bool, None, list/tuple/dict of
/// literals) as JSON; `None` when any part is not a literal.
pub(super) fn literal(node: Node<'_>, src: &str) -> Option<serde_json::Value> {
    use serde_json::Value;
    match node.kind() {
        "integer" => text(node, src)
            .replace('_', "")
            .parse::<i64>()
            .ok()
            .map(Value::from),
        "float" => text(node, src)
            .replace('_', "")
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
        "true" => Some(Value::Bool(true)),
        "false" => Some(Value::Bool(false)),
        "none" => Some(Value::Null),
        "string" | "concatenated_string" => string_value(node, src).map(Value::String),
        "unary_operator" => {
            let arg = node.child_by_field_name("argument")?;
            let op = node.child_by_field_name("operator").map(|o| text(o, src));
            match (op, literal(arg, src)?) {
                (Some("-"), Value::Number(n)) => {
                    if let Some(i) = n.as_i64() {
                        Some(Value::from(-i))
                    } else {
                        serde_json::Number::from_f64(-n.as_f64()?).map(Value::Number)
                    }
                }
                (Some("+"), v @ Value::Number(_)) => Some(v),
                _ => None,
            }
        }
        "parenthesized_expression" => match named_children(node).as_slice() {
            [one] => literal(*one, src),
            _ => None,
        },
        "list" | "tuple" => named_children(node)
            .into_iter()
            .filter(|c| c.kind() != "comment")
            .map(|c| literal(c, src))
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
        "dictionary" => {
            let mut map = serde_json::Map::new();
            for pair in named_children(node) {
                if pair.kind() == "comment" {
                    continue;
                }
                if pair.kind() != "pair" {
                    return None;
                }
                let key = string_value(pair.child_by_field_name("key")?, src)?;
                map.insert(key, literal(pair.child_by_field_name("value")?, src)?);
            }
            Some(Value::Object(map))
        }
        _ => None,
    }
}

/// The expression inside any number of parentheses.
pub(super) fn unparen(mut node: Node<'_>) -> Node<'_> {
    while node.kind() == "parenthesized_expression" {
        match named_children(node).as_slice() {
            [one] => node = *one,
            _ => break,
        }
    }
    node
}

/// `Name` or `a.b.Name` as its dotted parts.
pub(super) fn dotted(node: Node<'_>, src: &str) -> Option<Vec<String>> {
    match node.kind() {
        "identifier" => Some(vec![text(node, src).to_owned()]),
        "attribute" => {
            let mut parts = dotted(node.child_by_field_name("object")?, src)?;
            parts.push(text(node.child_by_field_name("attribute")?, src).to_owned());
            Some(parts)
        }
        _ => None,
    }
}

/// Statements that run when the module is imported: the top level and the
/// bodies of `if`, `try`, `with` and `else` blocks there, in order. Loops
/// are returned as themselves (their bodies run an unknown number of
/// times).
pub(super) fn module_statements<'t>(root: Node<'t>) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    collect_statements(root, &mut out);
    out
}

fn collect_statements<'t>(block: Node<'t>, out: &mut Vec<Node<'t>>) {
    for stmt in named_children(block) {
        match stmt.kind() {
            "if_statement" | "try_statement" | "with_statement" => {
                for part in named_children(stmt) {
                    match part.kind() {
                        "block" => collect_statements(part, out),
                        "elif_clause" | "else_clause" | "except_clause" | "finally_clause" => {
                            for b in named_children(part) {
                                if b.kind() == "block" {
                                    collect_statements(b, out);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => out.push(stmt),
        }
    }
}

/// The definition inside a `decorated_definition`, or the node itself.
pub(super) fn undecorate(node: Node<'_>) -> Node<'_> {
    if node.kind() == "decorated_definition" {
        node.child_by_field_name("definition").unwrap_or(node)
    } else {
        node
    }
}

/// The one expression of an `expression_statement`.
pub(super) fn expression(stmt: Node<'_>) -> Option<Node<'_>> {
    if stmt.kind() != "expression_statement" {
        return None;
    }
    named_children(stmt).into_iter().next()
}
