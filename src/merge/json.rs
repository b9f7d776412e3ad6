//! The key-wise 3-way merge of a JSON file (a model config): objects merge
//! key by key, recursively; a key one side added, changed or removed takes
//! that side; the same key changed differently on both sides is a conflict.
//! The result keeps the upstream's key order (serde_json's `preserve_order`),
//! indentation and final newline.

use serde_json::{Map, Value};

use super::python::merged_order;

/// What the key-wise merge made of a file.
pub(super) enum Outcome {
    Clean {
        content: Vec<u8>,
        note: Option<String>,
    },
    /// Keys (dotted paths) both sides changed differently.
    Conflict(Vec<String>),
    /// A side is not JSON: why.
    NotJson(String),
}

pub(super) fn merge(base: &[u8], ours: &[u8], theirs: &[u8]) -> Outcome {
    let parse = |side: &str, bytes: &[u8]| {
        serde_json::from_slice::<Value>(bytes)
            .map_err(|e| format!("the {side} version is not valid JSON ({e}): merged line by line"))
    };
    let b = if base.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match parse("base", base) {
            Ok(v) => Some(v),
            Err(e) => return Outcome::NotJson(e),
        }
    };
    let (o, t) = match (parse("wrapper's", ours), parse("upstream's", theirs)) {
        (Ok(o), Ok(t)) => (o, t),
        (Err(e), _) | (_, Err(e)) => return Outcome::NotJson(e),
    };
    let mut conflicts = Vec::new();
    let merged = merge_slot("", b.as_ref(), Some(&o), Some(&t), &mut conflicts);
    if !conflicts.is_empty() {
        return Outcome::Conflict(conflicts);
    }
    let Some(merged) = merged else {
        // both sides exist, so a merge keeps a value
        return Outcome::Conflict(vec!["(the whole document)".into()]);
    };
    if merged == t {
        return Outcome::Clean {
            content: theirs.to_vec(),
            note: None,
        };
    }
    if merged == o {
        return Outcome::Clean {
            content: ours.to_vec(),
            note: None,
        };
    }
    let style = Style::of(theirs);
    let content = style.write(&merged);
    let note = (style.write(&t) != theirs).then(|| {
        format!(
            "written with {}; the rest of the upstream's layout is not kept",
            style.describe()
        )
    });
    Outcome::Clean { content, note }
}

/// One key's merged value; `None` when it is removed.
fn merge_slot(
    path: &str,
    b: Option<&Value>,
    o: Option<&Value>,
    t: Option<&Value>,
    conflicts: &mut Vec<String>,
) -> Option<Value> {
    if o == t || b == t {
        return o.cloned();
    }
    if b == o {
        return t.cloned();
    }
    match (b, o, t) {
        (None | Some(Value::Object(_)), Some(Value::Object(om)), Some(Value::Object(tm))) => {
            let bm = b.and_then(Value::as_object);
            Some(Value::Object(merge_objects(path, bm, om, tm, conflicts)))
        }
        _ => {
            conflicts.push(if path.is_empty() {
                "(the whole document)".into()
            } else {
                path.to_owned()
            });
            o.cloned()
        }
    }
}

fn merge_objects(
    path: &str,
    b: Option<&Map<String, Value>>,
    o: &Map<String, Value>,
    t: &Map<String, Value>,
    conflicts: &mut Vec<String>,
) -> Map<String, Value> {
    let mut resolved = Map::new();
    let keys = o
        .keys()
        .chain(t.keys())
        .chain(b.into_iter().flat_map(|m| m.keys()));
    let mut done = std::collections::HashSet::new();
    for key in keys {
        if !done.insert(key.as_str()) {
            continue;
        }
        let sub = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let v = merge_slot(
            &sub,
            b.and_then(|m| m.get(key)),
            o.get(key),
            t.get(key),
            conflicts,
        );
        if let Some(v) = v {
            resolved.insert(key.clone(), v);
        }
    }
    let ours: Vec<&str> = o.keys().map(String::as_str).collect();
    let theirs: Vec<&str> = t.keys().map(String::as_str).collect();
    let mut out = Map::new();
    for key in merged_order(&ours, &theirs, |k| resolved.contains_key(k)) {
        if let Some(v) = resolved.get(key) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    out
}

/// How the upstream's file is laid out: its indentation (none: one line)
/// and whether it ends with a newline.
struct Style {
    indent: Option<Vec<u8>>,
    newline: bool,
}

impl Style {
    fn of(bytes: &[u8]) -> Style {
        let indent = bytes
            .split(|b| *b == b'\n')
            .skip(1)
            .map(|l| {
                l.iter()
                    .take_while(|b| **b == b' ' || **b == b'\t')
                    .copied()
                    .collect::<Vec<u8>>()
            })
            .find(|w| !w.is_empty());
        let multiline = bytes.trim_ascii_end().contains(&b'\n');
        Style {
            indent: if multiline {
                Some(indent.unwrap_or_else(|| b"  ".to_vec()))
            } else {
                None
            },
            newline: bytes.ends_with(b"\n"),
        }
    }

    fn write(&self, v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        let written = match &self.indent {
            Some(indent) => {
                let fmt = serde_json::ser::PrettyFormatter::with_indent(indent);
                let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
                serde::Serialize::serialize(v, &mut ser)
            }
            None => serde_json::to_writer(&mut out, v),
        };
        if written.is_err() {
            // a Value always serialises; keep the bytes written so far
            tracing::warn!("serialising a merged JSON value failed");
        }
        if self.newline {
            out.push(b'\n');
        }
        out
    }

    fn describe(&self) -> String {
        match &self.indent {
            Some(i) if i.iter().all(|b| *b == b' ') => format!("{}-space indentation", i.len()),
            Some(_) => "tab indentation".into(),
            None => "no indentation (one line)".into(),
        }
    }
}
