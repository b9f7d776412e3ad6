//! One upstream file read for node classes: its classes, its imports, the
//! mapping dicts bound at module level and what `NODE_CLASS_MAPPINGS`
//! holds after every module-level statement (literals, `update`, item
//! assignment, `{**A, **B}`, resolvable comprehensions), and the classes a
//! V3 `comfy_entrypoint` extension lists. Pure: text in, facts out; `pack`
//! ties the files of an upstream together.

use std::collections::BTreeMap;

use tree_sitter::Node;

use super::classes::{ClassInfo, ModuleScope, assignment, read_class};
use super::syntax::{
    dotted, expression, line, module_statements, named_children, string_value, text, undecorate,
    unparen,
};

/// The name ComfyUI reads.
pub const MAPPINGS: &str = "NODE_CLASS_MAPPINGS";

/// Whether a file's text can define or feed node classes at all.
pub fn worth_parsing(text: &str) -> bool {
    [
        "NODE_CLASS_MAPPINGS",
        "comfy_entrypoint",
        "ComfyNode",
        "INPUT_TYPES",
        "define_schema",
    ]
    .iter()
    .any(|m| text.contains(m))
}

/// One entry of a mapping as written.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Entry {
    /// `"Key": Cls` (`Cls` dotted).
    Pair {
        key: String,
        class: Vec<String>,
        line: usize,
    },
    /// `**Other`, `.update(Other)`: every entry of another mapping.
    Spread { name: Vec<String> },
    /// Something not readable statically, with why.
    Unknown { why: String },
}

/// Where an imported name comes from.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Import {
    /// Absolute module path (relative imports resolved against the file).
    pub module: Vec<String>,
    /// The imported name (`from m import name`); `None` for `import m`.
    pub name: Option<String>,
}

#[derive(Debug, Default)]
pub(super) struct FileScan {
    pub classes: BTreeMap<String, ClassInfo>,
    pub imports: BTreeMap<String, Import>,
    /// Module-level names bound to mapping expressions (dicts and the like).
    pub dicts: BTreeMap<String, Vec<Entry>>,
    /// `NODE_CLASS_MAPPINGS` after the module's statements, if defined here.
    pub mapping: Option<Vec<Entry>>,
    /// Classes a V3 extension's `get_node_list` returns.
    pub v3_nodes: Option<Vec<Entry>>,
}

/// `a/b/c.py` as `[a, b, c]`; a package's `__init__.py` as the package.
pub fn module_parts(path: &str) -> (Vec<String>, bool) {
    let stem = path.strip_suffix(".py").unwrap_or(path);
    let mut parts: Vec<String> = stem.split('/').map(str::to_owned).collect();
    let package = parts.last().is_some_and(|l| l == "__init__");
    if package {
        parts.pop();
    }
    (parts, package)
}

pub(super) fn scan_file(path: &str, src: &str, root: Node<'_>) -> FileScan {
    let (module, package) = module_parts(path);
    let pkg: Vec<String> = if package {
        module.clone()
    } else {
        module[..module.len().saturating_sub(1)].to_vec()
    };
    let stmts = module_statements(root);
    let mut scope = ModuleScope {
        functions: BTreeMap::new(),
        values: BTreeMap::new(),
    };
    for s in &stmts {
        let d = undecorate(*s);
        if d.kind() == "function_definition" {
            if let Some(n) = d.child_by_field_name("name") {
                scope.functions.insert(text(n, src).to_owned(), d);
            }
        } else if let Some((name, value)) = assignment(*s, src) {
            scope.values.insert(name, value);
        }
    }
    let mut out = FileScan::default();
    for s in &stmts {
        let d = undecorate(*s);
        match d.kind() {
            "class_definition" => {
                if let Some(n) = d.child_by_field_name("name") {
                    out.classes
                        .insert(text(n, src).to_owned(), read_class(d, src, &scope));
                }
            }
            "import_from_statement" => imports_from(d, src, &pkg, &mut out.imports),
            "import_statement" => {
                for n in named_children(d) {
                    let (target, alias) = aliased(n, src);
                    if let Some(t) = target {
                        let parts: Vec<String> = t.split('.').map(str::to_owned).collect();
                        let local = alias.unwrap_or_else(|| parts[0].clone());
                        let module = if n.kind() == "aliased_import" {
                            parts
                        } else {
                            vec![parts[0].clone()]
                        };
                        out.imports.insert(local, Import { module, name: None });
                    }
                }
            }
            "function_definition" => {
                let name = d.child_by_field_name("name").map(|n| text(n, src));
                if name == Some("comfy_entrypoint") {
                    out.v3_nodes.get_or_insert_with(Vec::new);
                }
            }
            _ => statement(*s, src, &mut out),
        }
    }
    if out.v3_nodes.is_some() {
        out.v3_nodes = Some(super::v3::node_list(&stmts, src));
    }
    out
}

/// `dotted.name` or `dotted.name as alias`.
fn aliased(n: Node<'_>, src: &str) -> (Option<String>, Option<String>) {
    match n.kind() {
        "dotted_name" => (Some(text(n, src).to_owned()), None),
        "aliased_import" => (
            n.child_by_field_name("name")
                .map(|x| text(x, src).to_owned()),
            n.child_by_field_name("alias")
                .map(|x| text(x, src).to_owned()),
        ),
        _ => (None, None),
    }
}

fn imports_from(d: Node<'_>, src: &str, pkg: &[String], imports: &mut BTreeMap<String, Import>) {
    let Some(m) = d.child_by_field_name("module_name") else {
        return;
    };
    let module: Vec<String> = if m.kind() == "relative_import" {
        let t = text(m, src);
        let dots = t.chars().take_while(|c| *c == '.').count();
        let mut base = pkg.to_vec();
        for _ in 1..dots {
            base.pop();
        }
        base.extend(
            t[dots..]
                .split('.')
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
        );
        base
    } else {
        text(m, src).split('.').map(str::to_owned).collect()
    };
    let mut cursor = d.walk();
    for n in d.children_by_field_name("name", &mut cursor) {
        let (target, alias) = aliased(n, src);
        if let Some(t) = target {
            imports.insert(
                alias.unwrap_or_else(|| t.clone()),
                Import {
                    module: module.clone(),
                    name: Some(t),
                },
            );
        }
    }
}

/// A module-level statement that binds or changes a mapping.
fn statement(stmt: Node<'_>, src: &str, out: &mut FileScan) {
    if matches!(stmt.kind(), "for_statement" | "while_statement") {
        if text(stmt, src).contains(MAPPINGS) {
            out.mapping
                .get_or_insert_with(Vec::new)
                .push(Entry::Unknown {
                    why: format!("{MAPPINGS} changed in a loop (line {})", line(stmt)),
                });
        }
        return;
    }
    let Some(e) = expression(stmt) else {
        return;
    };
    match e.kind() {
        "assignment" => {
            let (Some(left), Some(right)) = (
                e.child_by_field_name("left"),
                e.child_by_field_name("right"),
            ) else {
                return;
            };
            match left.kind() {
                "identifier" => {
                    let name = text(left, src);
                    let entries = mapping_expr(right, src, out);
                    if name == MAPPINGS {
                        out.mapping = Some(entries);
                    } else if looks_like_mapping(right) {
                        out.dicts.insert(name.to_owned(), entries);
                    }
                }
                "subscript" => {
                    let value = left.child_by_field_name("value");
                    let Some(target) = value.map(|v| text(v, src)) else {
                        return;
                    };
                    let Some(list) = target_list(target, out) else {
                        return;
                    };
                    let key = left
                        .child_by_field_name("subscript")
                        .and_then(|k| string_value(k, src));
                    list.push(match (key, dotted(unparen(right), src)) {
                        (Some(key), Some(class)) => Entry::Pair {
                            key,
                            class,
                            line: line(e),
                        },
                        _ => Entry::Unknown {
                            why: format!(
                                "`{}` assigned a key or value not readable statically (line {})",
                                target,
                                line(e)
                            ),
                        },
                    });
                }
                _ => {}
            }
        }
        "augmented_assignment" => {
            let left = e
                .child_by_field_name("left")
                .map(|l| text(l, src).to_owned());
            let right = e.child_by_field_name("right");
            if let (Some(left), Some(right)) = (left, right) {
                let entries = mapping_expr(right, src, out);
                if let Some(list) = target_list(&left, out) {
                    list.extend(entries);
                }
            }
        }
        "call" => {
            let Some(f) = e.child_by_field_name("function") else {
                return;
            };
            let Some(parts) = dotted(f, src) else { return };
            let [target, method] = parts.as_slice() else {
                return;
            };
            if method != "update" {
                return;
            }
            let args = e
                .child_by_field_name("arguments")
                .map(named_children)
                .unwrap_or_default();
            let mut entries = Vec::new();
            for a in args {
                match a.kind() {
                    "keyword_argument" => {
                        let key = a
                            .child_by_field_name("name")
                            .map(|n| text(n, src).to_owned());
                        let class = a
                            .child_by_field_name("value")
                            .and_then(|v| dotted(unparen(v), src));
                        entries.push(match (key, class) {
                            (Some(key), Some(class)) => Entry::Pair {
                                key,
                                class,
                                line: line(a),
                            },
                            _ => unknown(a, src),
                        });
                    }
                    "comment" => {}
                    _ => entries.extend(mapping_expr(a, src, out)),
                }
            }
            if let Some(list) = target_list(target, out) {
                list.extend(entries);
            }
        }
        _ => {}
    }
}

/// The entry list a statement changes: `NODE_CLASS_MAPPINGS` or a known dict.
fn target_list<'a>(name: &str, out: &'a mut FileScan) -> Option<&'a mut Vec<Entry>> {
    if name == MAPPINGS {
        return Some(out.mapping.get_or_insert_with(Vec::new));
    }
    out.dicts.get_mut(name)
}

fn looks_like_mapping(node: Node<'_>) -> bool {
    matches!(
        unparen(node).kind(),
        "dictionary" | "dictionary_comprehension"
    )
}

pub(super) fn unknown(node: Node<'_>, src: &str) -> Entry {
    let t: String = text(node, src)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let t = if t.chars().count() > 60 {
        format!("{}...", t.chars().take(57).collect::<String>())
    } else {
        t
    };
    Entry::Unknown {
        why: format!("`{t}` (line {}) is built at run time", line(node)),
    }
}

/// The entries a mapping expression stands for.
fn mapping_expr(node: Node<'_>, src: &str, out: &FileScan) -> Vec<Entry> {
    let node = unparen(node);
    match node.kind() {
        "dictionary" => {
            let mut entries = Vec::new();
            for item in named_children(node) {
                match item.kind() {
                    "pair" => {
                        let key = item
                            .child_by_field_name("key")
                            .and_then(|k| string_value(k, src));
                        let class = item
                            .child_by_field_name("value")
                            .and_then(|v| dotted(unparen(v), src));
                        entries.push(match (key, class) {
                            (Some(key), Some(class)) => Entry::Pair {
                                key,
                                class,
                                line: line(item),
                            },
                            _ => unknown(item, src),
                        });
                    }
                    "dictionary_splat" => {
                        let inner = named_children(item).into_iter().next();
                        entries.extend(match inner {
                            Some(i) => mapping_expr(i, src, out),
                            None => vec![unknown(item, src)],
                        });
                    }
                    "comment" => {}
                    _ => entries.push(unknown(item, src)),
                }
            }
            entries
        }
        "identifier" | "attribute" => match dotted(node, src) {
            Some(name) if name.len() == 1 && out.dicts.contains_key(&name[0]) => {
                out.dicts[&name[0]].clone()
            }
            Some(name) if name.len() == 1 && name[0] == MAPPINGS => {
                out.mapping.clone().unwrap_or_default()
            }
            Some(name) => vec![Entry::Spread { name }],
            None => vec![unknown(node, src)],
        },
        "dictionary_comprehension" => {
            comprehension(node, src).unwrap_or_else(|| vec![unknown(node, src)])
        }
        _ => vec![unknown(node, src)],
    }
}

/// `{c.__name__: c for c in [A, B]}` (or `(A, B)`).
fn comprehension(node: Node<'_>, src: &str) -> Option<Vec<Entry>> {
    let body = node.child_by_field_name("body")?;
    let clauses: Vec<Node<'_>> = named_children(node)
        .into_iter()
        .filter(|c| matches!(c.kind(), "for_in_clause" | "if_clause"))
        .collect();
    let [clause] = clauses.as_slice() else {
        return None;
    };
    if clause.kind() != "for_in_clause" {
        return None;
    }
    let var = text(clause.child_by_field_name("left")?, src);
    let list = unparen(clause.child_by_field_name("right")?);
    if !matches!(list.kind(), "list" | "tuple") {
        return None;
    }
    let key = text(body.child_by_field_name("key")?, src);
    let value = text(body.child_by_field_name("value")?, src);
    if value != var || key != format!("{var}.__name__") {
        return None;
    }
    named_children(list)
        .into_iter()
        .filter(|c| c.kind() != "comment")
        .map(|c| {
            let class = dotted(c, src)?;
            Some(Entry::Pair {
                key: class.last()?.clone(),
                class,
                line: line(c),
            })
        })
        .collect()
}
