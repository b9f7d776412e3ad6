//! A Python file cut into the units the definition-level merge works on:
//! each top-level (or class-level) statement with the comments and blank
//! lines before it, up to the end of its last line. Functions, classes,
//! assignments, imports and expression statements are keyed by what they
//! define or say; docstrings and other statements (`if`, `for`, `try`,
//! ...) by their place after the last definition or assignment. The units and the tail cover the text
//! exactly, so the merge copies unchanged bytes as they are.

use std::collections::HashMap;

use tree_sitter::{Node, Parser, Tree};

/// One unit: its key and its text.
pub(super) struct Unit<'a> {
    pub(super) key: String,
    pub(super) text: &'a str,
    /// A class's parts, when it can merge member by member.
    pub(super) class: Option<ClassParts<'a>>,
}

/// A class unit split into the text before its body and the body's units.
pub(super) struct ClassParts<'a> {
    pub(super) header: &'a str,
    pub(super) body: Units<'a>,
}

/// A sequence of units and the text after the last one.
pub(super) struct Units<'a> {
    pub(super) units: Vec<Unit<'a>>,
    pub(super) tail: &'a str,
}

/// Parses `text` as Python; `None` only if the grammar cannot be loaded.
pub(super) fn parse(text: &str) -> Option<Tree> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .ok()?;
    parser.parse(text, None)
}

/// The 1-based line of the first syntax error in `tree`, if any.
pub(super) fn first_error_line(tree: &Tree) -> Option<usize> {
    let root = tree.root_node();
    if !root.has_error() {
        return None;
    }
    let mut cursor = root.walk();
    let mut node = root;
    'down: loop {
        for child in node.children(&mut cursor) {
            if child.is_error() || child.is_missing() {
                return Some(child.start_position().row + 1);
            }
            if child.has_error() {
                node = child;
                continue 'down;
            }
        }
        return Some(node.start_position().row + 1);
    }
}

/// The module's units.
pub(super) fn module<'a>(text: &'a str, tree: &Tree) -> Units<'a> {
    let root = tree.root_node();
    split(text, &named_children(root), 0, text.len())
}

fn named_children(node: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).collect()
}

/// Cuts `text[start..end]` into units at the ends of `nodes`' last lines.
fn split<'a>(text: &'a str, nodes: &[Node<'_>], start: usize, end: usize) -> Units<'a> {
    let mut units = Vec::new();
    let mut pos = start;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut anchor = String::from("^");
    let mut ordinal = 0;
    for node in nodes {
        if node.kind() == "comment" || node.end_byte() <= pos {
            continue;
        }
        let stop = line_end(text, node.end_byte()).min(end);
        let key = match identity(*node, text) {
            Identity::Named(key) => {
                anchor.clone_from(&key);
                ordinal = 0;
                key
            }
            Identity::Text(key) => key,
            Identity::Place(kind) => {
                ordinal += 1;
                format!("{kind}@{anchor}#{ordinal}")
            }
        };
        let n = seen.entry(key.clone()).or_insert(0);
        let key = if *n == 0 { key } else { format!("{key}~{n}") };
        *n += 1;
        units.push(Unit {
            key,
            text: &text[pos..stop],
            class: class_parts(text, *node, pos, stop),
        });
        pos = stop;
    }
    Units {
        units,
        tail: &text[pos..end],
    }
}

const DEF: &str = "def ";
const CLASS: &str = "class ";
const ASSIGN: &str = "assign ";
const EXPR: &str = "expr ";
const IMPORT: &str = "import ";

/// Whether a unit key names a definition or an assignment.
pub(super) fn is_named_key(key: &str) -> bool {
    [DEF, CLASS, ASSIGN].iter().any(|p| key.starts_with(p))
}

/// Whether a unit key is an import's or expression statement's text.
pub(super) fn is_text_key(key: &str) -> bool {
    key.starts_with(EXPR) || key.starts_with(IMPORT)
}

enum Identity {
    /// A definition or assignment: also the anchor of placed statements.
    Named(String),
    /// An import or expression statement, keyed by its text.
    Text(String),
    /// Another statement, keyed by its kind and place.
    Place(&'static str),
}

fn identity(node: Node<'_>, text: &str) -> Identity {
    let node = definition(node);
    let src = |n: Node<'_>| text[n.byte_range()].to_owned();
    let name = |n: Node<'_>| n.child_by_field_name("name").map(src).unwrap_or_default();
    match node.kind() {
        "function_definition" => Identity::Named(format!("{DEF}{}", name(node))),
        "class_definition" => Identity::Named(format!("{CLASS}{}", name(node))),
        "expression_statement" => match node.named_child(0) {
            Some(a) if a.kind() == "assignment" => {
                let target = a.child_by_field_name("left").map(src).unwrap_or_default();
                Identity::Named(format!("{ASSIGN}{target}"))
            }
            // a docstring: by place, or a rewrite on both sides lands twice
            Some(d) if d.kind() == "string" && node.named_child_count() == 1 => {
                Identity::Place("docstring")
            }
            _ => Identity::Text(format!("{EXPR}{}", src(node))),
        },
        "import_statement" | "import_from_statement" | "future_import_statement" => {
            Identity::Text(format!("{IMPORT}{}", src(node)))
        }
        "if_statement" => Identity::Place("if"),
        "try_statement" => Identity::Place("try"),
        "for_statement" => Identity::Place("for"),
        "while_statement" => Identity::Place("while"),
        "with_statement" => Identity::Place("with"),
        _ => Identity::Place("stmt"),
    }
}

/// The definition inside a decorated definition (the node itself otherwise).
fn definition(node: Node<'_>) -> Node<'_> {
    if node.kind() == "decorated_definition"
        && let Some(d) = node.child_by_field_name("definition")
    {
        return d;
    }
    node
}

/// A class whose body starts on a line of its own: the text from `pos` up
/// to that line, and the body's units up to `stop`.
fn class_parts<'a>(
    text: &'a str,
    node: Node<'_>,
    pos: usize,
    stop: usize,
) -> Option<ClassParts<'a>> {
    let class = definition(node);
    if class.kind() != "class_definition" {
        return None;
    }
    let block = class.child_by_field_name("body")?;
    let body_start = line_start(text, block.start_byte());
    if body_start <= class.start_byte() || body_start < pos || body_start >= stop {
        return None;
    }
    Some(ClassParts {
        header: &text[pos..body_start],
        body: split(text, &named_children(block), body_start, stop),
    })
}

fn line_start(text: &str, i: usize) -> usize {
    text[..i].rfind('\n').map_or(0, |p| p + 1)
}

/// The end of the line holding byte `i - 1` (past its newline).
fn line_end(text: &str, i: usize) -> usize {
    if i > 0 && text.as_bytes()[i - 1] == b'\n' {
        return i;
    }
    text[i..].find('\n').map_or(text.len(), |p| i + p + 1)
}
