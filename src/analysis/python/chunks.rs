//! Splitting a huge Python file into pieces between top-level statements,
//! so it can be parsed a piece at a time: tree-sitter's tree takes about 50
//! bytes of memory per byte of source, so a 50 MB generated module parsed
//! whole needs gigabytes. Only files over [`SPLIT_ABOVE`] are split (such a
//! file is only parsed when the user raises `analysis.max_file_bytes`); a
//! smaller file is parsed whole, as always.
//!
//! The split points are found by a light lexical pass: a line at column 0
//! that starts a new statement (not a comment, not `else`/`elif`/`except`/
//! `finally`, not after a decorator), outside brackets, strings and line
//! continuations. A piece that starts somewhere odd only parses with
//! errors, which are reported as for any file that does not parse cleanly.

use std::ops::Range;

/// Files larger than this are parsed in pieces: the default
/// `analysis.max_file_bytes`.
pub const SPLIT_ABOVE: usize = 4 * 1024 * 1024;
/// The size a piece grows to before it ends at the next statement.
pub const PIECE_BYTES: usize = 1024 * 1024;

/// One piece: its bytes and its first line (0-based row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub bytes: Range<usize>,
    pub row: usize,
}

/// The pieces of `text`: one for a text up to `split_above` bytes, else
/// pieces of at least `piece_bytes` (the last one may be smaller), each
/// ending at a line break before a top-level statement. They cover the
/// whole text, in order.
pub fn pieces(text: &str, split_above: usize, piece_bytes: usize) -> Vec<Piece> {
    let whole = vec![Piece {
        bytes: 0..text.len(),
        row: 0,
    }];
    if text.len() <= split_above {
        return whole;
    }
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut start_row = 0;
    let mut row = 0;
    let mut depth = 0usize;
    // the open string's quote and whether it is triple-quoted
    let mut string: Option<(u8, bool)> = None;
    let mut after_decorator = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if let Some((q, triple)) = string {
            match c {
                b'\\' => {
                    if b.get(i + 1) == Some(&b'\n') {
                        row += 1;
                    }
                    i += 1;
                }
                b'\n' if !triple => string = None,
                _ if c == q && (!triple || b[i..].starts_with(&[q, q, q])) => {
                    string = None;
                    if triple {
                        i += 2;
                    }
                }
                _ => {}
            }
            if c == b'\n' {
                row += 1;
            }
            i += 1;
            continue;
        }
        match c {
            b'#' => {
                while i + 1 < b.len() && b[i + 1] != b'\n' {
                    i += 1;
                }
            }
            b'\'' | b'"' => {
                let triple = b[i..].starts_with(&[c, c, c]);
                string = Some((c, triple));
                if triple {
                    i += 2;
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            // a line continuation: the statement goes on
            b'\\' if b.get(i + 1) == Some(&b'\n') => {
                row += 1;
                i += 2;
                continue;
            }
            b'\n' => {
                row += 1;
                let next = i + 1;
                if depth == 0 {
                    if next - start >= piece_bytes
                        && !after_decorator
                        && starts_statement(&b[next..])
                    {
                        out.push(Piece {
                            bytes: start..next,
                            row: start_row,
                        });
                        start = next;
                        start_row = row;
                    }
                    if let Some(&first) = b.get(next)
                        && !first.is_ascii_whitespace()
                        && first != b'#'
                    {
                        after_decorator = first == b'@';
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    if start < b.len() || out.is_empty() {
        out.push(Piece {
            bytes: start..b.len(),
            row: start_row,
        });
    }
    out
}

/// Whether a line starting with `rest` starts a top-level statement of its
/// own.
fn starts_statement(rest: &[u8]) -> bool {
    let Some(&first) = rest.first() else {
        return false;
    };
    if first.is_ascii_whitespace() || first == b'#' || matches!(first, b')' | b']' | b'}') {
        return false;
    }
    let word_end = rest
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
        .unwrap_or(rest.len());
    !matches!(
        &rest[..word_end],
        b"else" | b"elif" | b"except" | b"finally"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(text: &'a str, ps: &[Piece]) -> Vec<&'a str> {
        ps.iter().map(|p| &text[p.bytes.clone()]).collect()
    }

    #[test]
    fn a_small_text_is_one_piece() {
        let t = "import wgp\nwgp.f()\n";
        assert_eq!(
            pieces(t, 100, 10),
            [Piece {
                bytes: 0..t.len(),
                row: 0
            }]
        );
    }

    #[test]
    fn pieces_end_before_top_level_statements_only() {
        let t = concat!(
            "import wgp\n",
            "x = wgp.f(\n",
            "    1,\n",
            ")\n",
            "s = '''\n",
            "not = a.statement\n",
            "'''\n",
            "if x:\n",
            "    y = 1\n",
            "else:\n",
            "    y = 2\n",
            "@decorator\n",
            "def g():\n",
            "    return 'a # not a comment'  # a comment (\n",
            "z = 1 + \\\n",
            "2\n",
            "w = \"\\\"\"\n",
            "v = 3\n",
        );
        let ps = pieces(t, 0, 1);
        let got = texts(t, &ps);
        assert_eq!(
            got,
            [
                "import wgp\n",
                "x = wgp.f(\n    1,\n)\n",
                "s = '''\nnot = a.statement\n'''\n",
                "if x:\n    y = 1\nelse:\n    y = 2\n",
                "@decorator\ndef g():\n    return 'a # not a comment'  # a comment (\n",
                "z = 1 + \\\n2\n",
                "w = \"\\\"\"\n",
                "v = 3\n",
            ]
        );
        // rows are the pieces' first lines
        let rows: Vec<usize> = ps.iter().map(|p| p.row).collect();
        assert_eq!(rows, [0, 1, 4, 7, 11, 14, 16, 17]);
        assert_eq!(got.concat(), t);
    }

    #[test]
    fn pieces_grow_to_the_given_size() {
        let t = "a = 1\n".repeat(1000);
        let ps = pieces(&t, 10, 600);
        assert_eq!(ps.len(), 10);
        assert!(ps.iter().all(|p| p.bytes.len() == 600));
        assert_eq!(ps[1].row, 100);
    }
}
