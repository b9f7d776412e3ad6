//! Byte-precise edits of Python source located with tree-sitter: a keyword
//! argument renamed at a call, an attribute or imported name renamed, an
//! import's module path changed, string literals replaced. Every edit is
//! refused unless exactly one node matches.

use std::ops::Range;

use tree_sitter::Node;

/// Parses Python source (the analysis's parser). `None` only if the grammar
/// cannot be loaded.
pub use crate::analysis::python::parse;
use crate::analysis::python::walk_all as walk;

/// One replacement of a byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub text: String,
}

/// Whether the source parses without syntax errors.
pub fn parses_cleanly(src: &str) -> bool {
    parse(src).is_some_and(|t| !t.root_node().has_error())
}

/// Applies non-overlapping edits.
pub fn apply(src: &str, edits: &[Edit]) -> String {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| std::cmp::Reverse(e.range.start));
    let mut out = src.to_owned();
    for e in sorted {
        out.replace_range(e.range.clone(), &e.text);
    }
    out
}

fn text<'a>(node: Node<'_>, src: &'a str) -> &'a str {
    src.get(node.byte_range()).unwrap_or("")
}

fn starts_on(node: Node<'_>, line: usize) -> bool {
    node.start_position().row + 1 == line
}

fn spans(node: Node<'_>, line: usize) -> bool {
    let l = line.saturating_sub(1);
    node.start_position().row <= l && l <= node.end_position().row
}

/// The name a call's function ends with: `f` for `f(..)`, `m.f(..)`,
/// `a.b.f(..)`.
fn callee_name<'a>(call: Node<'_>, src: &'a str) -> Option<&'a str> {
    let f = call.child_by_field_name("function")?;
    match f.kind() {
        "identifier" => Some(text(f, src)),
        "attribute" => Some(text(f.child_by_field_name("attribute")?, src)),
        _ => None,
    }
}

fn fail(msg: impl Into<String>) -> Result<Edit, String> {
    Err(msg.into())
}

fn one(mut found: Vec<Edit>, what: &str, line: usize) -> Result<Edit, String> {
    match found.len() {
        0 => fail(format!("no {what} on line {line}")),
        1 => Ok(found.remove(0)),
        n => fail(format!(
            "{n} candidates for {what} on line {line}; ambiguous"
        )),
    }
}

/// Renames keyword argument `old` to `new` in the call to `func` (its last
/// name) on `line` (the call starts there or spans it).
pub fn rename_keyword(
    src: &str,
    line: usize,
    func: &str,
    old: &str,
    new: &str,
) -> Result<Edit, String> {
    let tree = parse(src).ok_or("cannot load the Python grammar")?;
    let func_last = func.rsplit('.').next().unwrap_or(func);
    let mut found = Vec::new();
    walk(tree.root_node(), |n| {
        if n.kind() != "keyword_argument" {
            return;
        }
        let Some(name) = n.child_by_field_name("name") else {
            return;
        };
        if text(name, src) != old {
            return;
        }
        let Some(call) = n.parent().and_then(|a| a.parent()) else {
            return;
        };
        if call.kind() != "call" || !spans(call, line) {
            return;
        }
        if !func_last.is_empty() && callee_name(call, src) != Some(func_last) {
            return;
        }
        found.push((
            Edit {
                range: name.byte_range(),
                text: new.to_owned(),
            },
            starts_on(call, line),
        ));
    });
    // A call spanning several lines may hold another call with the same
    // keyword: prefer the ones starting on the line.
    if found.iter().filter(|(_, s)| *s).count() >= 1 {
        found.retain(|(_, s)| *s);
    }
    let found: Vec<Edit> = found.into_iter().map(|(e, _)| e).collect();
    one(
        found,
        &format!("keyword `{old}=` in a call to `{func_last}`"),
        line,
    )
}

/// Renames attribute `.old` to `.new` on `line` (`wgp.old(..)` ->
/// `wgp.new(..)`); `object` is the expected text before the dot when known
/// (`wgp`), empty to accept any.
pub fn rename_attribute(
    src: &str,
    line: usize,
    object: &str,
    old: &str,
    new: &str,
) -> Result<Edit, String> {
    let tree = parse(src).ok_or("cannot load the Python grammar")?;
    let mut found = Vec::new();
    walk(tree.root_node(), |n| {
        if n.kind() != "attribute" || !starts_on(n, line) {
            return;
        }
        let (Some(obj), Some(attr)) = (
            n.child_by_field_name("object"),
            n.child_by_field_name("attribute"),
        ) else {
            return;
        };
        if text(attr, src) != old {
            return;
        }
        if !object.is_empty() && text(obj, src) != object {
            return;
        }
        found.push(Edit {
            range: attr.byte_range(),
            text: new.to_owned(),
        });
    });
    one(found, &format!("attribute `.{old}`"), line)
}

/// In `from M import old` on `line`: import `new` instead, keeping the local
/// name (`from M import new as old`, or `new as alias` when aliased). With
/// `new_module`, the statement's module is replaced too, which needs the
/// statement to import this one name only.
pub fn rename_from_import(
    src: &str,
    line: usize,
    old: &str,
    new: &str,
    new_module: Option<&str>,
) -> Result<Vec<Edit>, String> {
    let tree = parse(src).ok_or("cannot load the Python grammar")?;
    let mut stmts = Vec::new();
    walk(tree.root_node(), |n| {
        if n.kind() == "import_from_statement" && spans(n, line) {
            stmts.push(n);
        }
    });
    let [stmt] = stmts.as_slice() else {
        return Err(format!(
            "{} `from ... import` statements on line {line}",
            stmts.len()
        ));
    };
    let module = stmt
        .child_by_field_name("module_name")
        .ok_or("import without a module")?;
    let mut cursor = stmt.walk();
    let names: Vec<Node<'_>> = stmt.children_by_field_name("name", &mut cursor).collect();
    let mut edits = Vec::new();
    let mut matching = 0;
    for n in &names {
        match n.kind() {
            "dotted_name" if text(*n, src) == old => {
                matching += 1;
                let text = if new == old {
                    new.to_owned()
                } else {
                    format!("{new} as {old}")
                };
                edits.push(Edit {
                    range: n.byte_range(),
                    text,
                });
            }
            "aliased_import" => {
                let Some(name) = n.child_by_field_name("name") else {
                    continue;
                };
                if text(name, src) == old {
                    matching += 1;
                    edits.push(Edit {
                        range: name.byte_range(),
                        text: new.to_owned(),
                    });
                }
            }
            _ => {}
        }
    }
    if matching != 1 {
        return Err(format!(
            "{matching} imports of `{old}` on line {line}; need exactly one"
        ));
    }
    if let Some(m) = new_module {
        if names.len() != 1 {
            return Err(format!(
                "the import on line {line} brings {} names; moving `{old}` alone would need a new statement",
                names.len()
            ));
        }
        if text(module, src) != m {
            if module.kind() == "relative_import" {
                return Err(format!("relative import on line {line}"));
            }
            edits.push(Edit {
                range: module.byte_range(),
                text: m.to_owned(),
            });
        }
    }
    // A same-name move leaves `new as old` pointless: write just the name.
    for e in &mut edits {
        if e.text == format!("{old} as {old}") {
            e.text = old.to_owned();
        }
    }
    edits.retain(|e| src.get(e.range.clone()) != Some(e.text.as_str()));
    if edits.is_empty() {
        return Err(format!(
            "the import on line {line} already reads the new name"
        ));
    }
    Ok(edits)
}

/// `import old.mod as alias` on `line` -> `import new.mod as alias`. Only
/// aliased imports: a plain `import old.mod` is used by its full name below.
pub fn rename_import_module(src: &str, line: usize, old: &str, new: &str) -> Result<Edit, String> {
    let tree = parse(src).ok_or("cannot load the Python grammar")?;
    let mut found = Vec::new();
    let mut plain = false;
    walk(tree.root_node(), |n| {
        if n.kind() != "import_statement" || !spans(n, line) {
            return;
        }
        let mut cursor = n.walk();
        for name in n.children_by_field_name("name", &mut cursor) {
            match name.kind() {
                "aliased_import" => {
                    if let Some(d) = name.child_by_field_name("name")
                        && text(d, src) == old
                    {
                        found.push(Edit {
                            range: d.byte_range(),
                            text: new.to_owned(),
                        });
                    }
                }
                "dotted_name" if text(name, src) == old => plain = true,
                _ => {}
            }
        }
    });
    if plain && found.is_empty() {
        return fail(format!(
            "`import {old}` on line {line} has no alias; code below uses the full name"
        ));
    }
    one(found, &format!("aliased import of `{old}`"), line)
}

/// Every plain string literal whose value is one of `from` (or ends with
/// `/` + one of them), rewritten to the matching `to`. Returns the edits.
/// Strings with escapes, interpolations or prefixes other than `r`/`u` are
/// left alone.
pub fn replace_strings(src: &str, pairs: &[(String, String)]) -> Vec<Edit> {
    let Some(tree) = parse(src) else {
        return Vec::new();
    };
    let mut edits = Vec::new();
    walk(tree.root_node(), |n| {
        if n.kind() != "string" {
            return;
        }
        let mut cursor = n.walk();
        let children: Vec<Node<'_>> = n.named_children(&mut cursor).collect();
        let (mut prefix_ok, mut content) = (false, None);
        let mut other = false;
        for c in &children {
            match c.kind() {
                "string_start" => {
                    let p = text(*c, src)
                        .trim_end_matches(['\'', '"'])
                        .to_ascii_lowercase();
                    prefix_ok = p.is_empty() || p == "r" || p == "u";
                }
                "string_content" if content.is_none() => content = Some(*c),
                "string_end" => {}
                _ => other = true,
            }
        }
        let Some(content) = content else {
            return;
        };
        if !prefix_ok || other {
            return;
        }
        let value = text(content, src);
        if value.contains('\\') {
            return;
        }
        for (from, to) in pairs {
            if value == from {
                edits.push(Edit {
                    range: content.byte_range(),
                    text: to.clone(),
                });
                return;
            }
            if let Some(head) = value.strip_suffix(from.as_str())
                && head.ends_with('/')
            {
                edits.push(Edit {
                    range: content.byte_range(),
                    text: format!("{head}{to}"),
                });
                return;
            }
        }
    });
    edits
}

#[cfg(test)]
#[path = "pysrc_tests.rs"]
mod tests;
