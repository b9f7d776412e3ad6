//! Parsing Python source with tree-sitter, and small helpers over its nodes:
//! node text, syntax error lines, string literal values.

use tree_sitter::{Node, Parser, Tree};

/// Parses `text` as Python. `None` only if the grammar cannot be loaded,
/// which the crate's pinned versions rule out.
pub fn parse(text: &str) -> Option<Tree> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .ok()?;
    parser.parse(text, None)
}

/// Parses `new_text` reusing the tree of `old_text`, the same file at
/// another commit: the line diff between the two becomes tree-sitter edits
/// (applied last to first, so each start is where the old text has it), and
/// only what the edits touch is parsed again. Gives the tree a fresh parse
/// gives.
pub fn reparse(old_text: &str, mut old_tree: Tree, new_text: &str) -> Option<Tree> {
    // edits are whole lines: a last line without its newline would need
    // columns, so such a file is parsed afresh
    if !(old_text.ends_with('\n') && new_text.ends_with('\n')) {
        return parse(new_text);
    }
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Myers)
        .diff_lines(old_text, new_text);
    let line_starts = |text: &str| -> Vec<usize> {
        std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect()
    };
    let (old_starts, new_starts) = (line_starts(old_text), line_starts(new_text));
    let byte = |starts: &[usize], len: usize, line: usize| starts.get(line).copied().unwrap_or(len);
    let mut edits = Vec::new();
    for op in diff.ops() {
        let (tag, old, new) = op.as_tag_tuple();
        if tag == similar::DiffTag::Equal {
            continue;
        }
        let start = byte(&old_starts, old_text.len(), old.start);
        let old_end = byte(&old_starts, old_text.len(), old.end);
        let new_start = byte(&new_starts, new_text.len(), new.start);
        let new_end = byte(&new_starts, new_text.len(), new.end);
        edits.push(tree_sitter::InputEdit {
            start_byte: start,
            old_end_byte: old_end,
            new_end_byte: start + (new_end - new_start),
            start_position: tree_sitter::Point::new(old.start, 0),
            old_end_position: tree_sitter::Point::new(old.end, 0),
            new_end_position: tree_sitter::Point::new(old.start + new.len(), 0),
        });
    }
    for edit in edits.iter().rev() {
        old_tree.edit(edit);
    }
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .ok()?;
    parser.parse(new_text, Some(&old_tree))
}

/// Parses only `piece` of `text` (see `chunks`): node positions are those
/// of the whole text, and the tree holds the piece's nodes only.
pub(crate) fn parse_piece(text: &str, piece: &super::chunks::Piece) -> Option<Tree> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .ok()?;
    let end_row = piece.row + text[piece.bytes.clone()].matches('\n').count();
    let end_column = text[piece.bytes.clone()]
        .rsplit('\n')
        .next()
        .map_or(0, str::len);
    parser
        .set_included_ranges(&[tree_sitter::Range {
            start_byte: piece.bytes.start,
            end_byte: piece.bytes.end,
            start_point: tree_sitter::Point {
                row: piece.row,
                column: 0,
            },
            end_point: tree_sitter::Point {
                row: end_row,
                column: end_column,
            },
        }])
        .ok()?;
    parser.parse(text, None)
}

/// 1-based lines of every syntax error or missing token, sorted, unique.
pub(crate) fn error_lines(tree: &Tree) -> Vec<usize> {
    let mut lines = Vec::new();
    if !tree.root_node().has_error() {
        return lines;
    }
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            lines.push(node.start_position().row + 1);
        }
        // Only subtrees with errors are worth entering.
        if node.has_error() && !node.is_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                lines.sort_unstable();
                lines.dedup();
                return lines;
            }
        }
    }
}

pub(crate) fn text<'a>(node: Node<'_>, src: &'a str) -> &'a str {
    src.get(node.byte_range()).unwrap_or("")
}

pub(crate) fn line(node: Node<'_>) -> usize {
    node.start_position().row + 1
}

/// The lines of a source text, for snippets.
pub(crate) struct Lines<'a> {
    lines: Vec<&'a str>,
}

impl<'a> Lines<'a> {
    pub fn new(src: &'a str) -> Self {
        Self {
            lines: src.lines().collect(),
        }
    }

    /// The trimmed source line `line` (1-based).
    pub fn snippet(&self, line: usize) -> String {
        self.lines
            .get(line.saturating_sub(1))
            .map_or("", |l| l.trim())
            .to_owned()
    }
}

/// Every node of the tree in document order (pre-order).
pub fn walk_all<'t>(root: Node<'t>, mut visit: impl FnMut(Node<'t>)) {
    let mut cursor = root.walk();
    loop {
        visit(cursor.node());
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

/// Named children of `node`.
pub(crate) fn named_children<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).collect()
}

/// The value of a plain string literal (`"a"`, `'b'`, `r"c"`, or an implicit
/// concatenation of those); `None` for f-strings with interpolations, bytes
/// and anything that is not a string.
pub(crate) fn string_value(node: Node<'_>, src: &str) -> Option<String> {
    match node.kind() {
        "string" => {
            let mut out = String::new();
            let mut raw = false;
            for child in named_children(node) {
                match child.kind() {
                    "string_start" => {
                        let prefix = text(child, src).to_ascii_lowercase();
                        if prefix.contains('b') {
                            return None;
                        }
                        raw = prefix.contains('r');
                    }
                    "string_content" => out.push_str(&content(child, src, raw)),
                    "interpolation" => return None,
                    _ => {}
                }
            }
            Some(out)
        }
        "concatenated_string" => {
            let mut out = String::new();
            for child in named_children(node) {
                out.push_str(&string_value(child, src)?);
            }
            Some(out)
        }
        "parenthesized_expression" => {
            let inner = named_children(node);
            match inner.as_slice() {
                [one] => string_value(*one, src),
                _ => None,
            }
        }
        _ => None,
    }
}

/// String content with the common escapes decoded (raw strings verbatim).
fn content(node: Node<'_>, src: &str, raw: bool) -> String {
    let s = text(node, src);
    if raw || !s.contains('\\') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some('\'') => out.push('\''),
            Some('"') => out.push('"'),
            Some('\n') => {}
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The parts of a dotted chain of plain names: `a` -> [a], `a.b.c` ->
/// [a, b, c]; `None` if any part is not a plain name (a call, a subscript).
pub(crate) fn dotted_parts(node: Node<'_>, src: &str) -> Option<Vec<String>> {
    match node.kind() {
        "identifier" => Some(vec![text(node, src).to_owned()]),
        "attribute" => {
            let mut parts = dotted_parts(node.child_by_field_name("object")?, src)?;
            parts.push(text(node.child_by_field_name("attribute")?, src).to_owned());
            Some(parts)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_string(src: &str) -> Option<String> {
        let tree = parse(src).unwrap();
        let mut found = None;
        walk_all(tree.root_node(), |n| {
            if found.is_none() && matches!(n.kind(), "string" | "concatenated_string") {
                found = Some(string_value(n, src));
            }
        });
        found.flatten()
    }

    #[test]
    fn string_values() {
        assert_eq!(
            first_string("x = 'a/b.json'\n").as_deref(),
            Some("a/b.json")
        );
        assert_eq!(first_string("x = r'a\\b'\n").as_deref(), Some("a\\b"));
        assert_eq!(first_string("x = 'a' 'b'\n").as_deref(), Some("ab"));
        assert_eq!(first_string("x = f'{y}.json'\n"), None);
        assert_eq!(first_string("x = f'plain'\n").as_deref(), Some("plain"));
        assert_eq!(first_string("x = b'bytes'\n"), None);
    }

    #[test]
    fn error_lines_are_reported() {
        let tree = parse("a = 1\ndef f(:\n    pass\nb = 2\n").unwrap();
        assert_eq!(error_lines(&tree), vec![2]);
        let clean = parse("a = 1\n").unwrap();
        assert!(error_lines(&clean).is_empty());
    }
}

#[cfg(test)]
mod reparse_tests {
    use super::*;

    /// Every node's kind and position, in order.
    fn shape(tree: &Tree) -> Vec<String> {
        let mut out = Vec::new();
        let mut cursor = tree.walk();
        let mut stack = vec![tree.root_node()];
        while let Some(n) = stack.pop() {
            out.push(format!(
                "{} {:?} {:?} {}",
                n.kind(),
                n.start_position(),
                n.end_position(),
                n.start_byte()
            ));
            let children: Vec<_> = n.children(&mut cursor).collect();
            stack.extend(children.into_iter().rev());
        }
        out
    }

    #[test]
    fn a_reparse_gives_the_tree_a_fresh_parse_gives() {
        let old: String = (0..200)
            .map(|i| format!("def f{i}(x, y={i}):\n    z = x + y\n    return z * {i}\n\n\n"))
            .collect();
        let edits: [(&str, &str); 4] = [
            ("def f0(x, y=0):\n", "import os\n\n\ndef f0(x, y=0):\n"),
            (
                "    return z * 57\n",
                "    w = z\n    return w * 58\n    # end\n",
            ),
            ("def f120(x, y=120):\n    z = x + y\n", "def g120(x):\n"),
            (
                "    return z * 199\n",
                "    return (z\n        * 199)\n\n\nclass Tail:\n    pass\n",
            ),
        ];
        let mut new = old.clone();
        for (from, to) in edits {
            assert!(new.contains(from), "{from}");
            new = new.replacen(from, to, 1);
        }
        let tree = parse(&old).unwrap();
        let again = reparse(&old, tree, &new).unwrap();
        assert_eq!(shape(&again), shape(&parse(&new).unwrap()));
        // and backwards, and without a final newline (parsed afresh)
        let again = reparse(&new, parse(&new).unwrap(), &old).unwrap();
        assert_eq!(shape(&again), shape(&parse(&old).unwrap()));
        let cut = new.trim_end();
        let again = reparse(&old, parse(&old).unwrap(), cut).unwrap();
        assert_eq!(shape(&again), shape(&parse(cut).unwrap()));
    }
}
