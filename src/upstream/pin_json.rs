//! Owns finding a dotted key's string value in JSON text by byte range: a
//! small scanner (no JSON crate here gives spans) that walks the document
//! once, follows the key path through objects and skips everything else.
//! It checks the syntax it walks; it never rewrites anything.

use std::ops::Range;

/// The byte ranges (inside the quotes) of every string value at `path`
/// (several when a key is repeated), or the syntax problem with its offset.
pub(super) fn string_spans(text: &str, path: &[String]) -> Result<Vec<Found>, String> {
    let mut s = Scanner {
        b: text.as_bytes(),
        i: 0,
        out: Vec::new(),
    };
    s.ws();
    s.value(Some(path), 0)?;
    s.ws();
    if s.i < s.b.len() {
        return Err(format!("unexpected text at byte {}", s.i));
    }
    Ok(s.out)
}

/// A value found at the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Found {
    /// A string: the bytes between its quotes.
    Text(Range<usize>),
    /// Something else (a number, an object, ...), at this offset.
    NotText(usize),
}

const MAX_DEPTH: usize = 256;

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    out: Vec<Found>,
}

impl Scanner<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected `{}` at byte {}", c as char, self.i))
        }
    }

    /// One value. `path`: `Some(rest)` while following the key path
    /// (`Some([])`: this value is the one looked for), `None` when skipping.
    fn value(&mut self, path: Option<&[String]>, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("nested too deep at byte {}", self.i));
        }
        let start = self.i;
        match self.peek() {
            Some(b'{') => self.object(path, depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => {
                let r = self.string()?;
                if path == Some(&[]) {
                    self.out.push(Found::Text(r));
                }
                return Ok(());
            }
            Some(c) if c == b'-' || c.is_ascii_alphanumeric() => {
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.'))
                {
                    self.i += 1;
                }
            }
            _ => return Err(format!("expected a value at byte {}", self.i)),
        }
        if path == Some(&[]) {
            self.out.push(Found::NotText(start));
        }
        Ok(())
    }

    fn object(&mut self, path: Option<&[String]>, depth: usize) -> Result<(), String> {
        self.expect(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            let key = self.string()?;
            let key = &self.b[key];
            self.ws();
            self.expect(b':')?;
            self.ws();
            let next = match path {
                Some([first, rest @ ..]) if first.as_bytes() == key => Some(rest),
                _ => None,
            };
            self.value(next, depth + 1)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(format!("expected `,` or `}}` at byte {}", self.i)),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<(), String> {
        self.expect(b'[')?;
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            self.value(None, depth + 1)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(format!("expected `,` or `]` at byte {}", self.i)),
            }
        }
    }

    /// A string; returns the range between its quotes.
    fn string(&mut self) -> Result<Range<usize>, String> {
        self.expect(b'"')?;
        let start = self.i;
        loop {
            match self.peek() {
                None => return Err(format!("unterminated string at byte {}", start - 1)),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(start..self.i - 1);
                }
                Some(b'\\') => self.i += 2,
                Some(_) => self.i += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn finds_a_nested_string_by_its_bytes() {
        let text =
            r#"{"trainer": {"commit": "aaaaaaa"}, "comfyui": {"url": "x", "commit": "0123abcd"}}"#;
        let found = string_spans(text, &path("comfyui.commit")).unwrap();
        let [Found::Text(r)] = found.as_slice() else {
            panic!("{found:?}")
        };
        assert_eq!(&text[r.clone()], "0123abcd");
        assert!(string_spans(text, &path("nope.commit")).unwrap().is_empty());
        assert_eq!(
            string_spans(r#"{"a": {"b": 12}}"#, &path("a.b")).unwrap(),
            vec![Found::NotText(12)]
        );
        assert_eq!(
            string_spans(r#"{"a": "x", "a": "y"}"#, &path("a"))
                .unwrap()
                .len(),
            2
        );
        assert!(string_spans(r#"{"a": "x""#, &path("a")).is_err());
        assert!(string_spans(r#"{"a": ["x", {"b": "\"q"}], "c": true}"#, &path("c")).is_ok());
    }
}
