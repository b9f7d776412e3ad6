//! Minimal text edits of a JSON file: where each member of an object sits
//! in the text (key and value byte spans), so one key can be renamed or one
//! member added without rewriting, reordering or reformatting anything else.
//! Owns no meaning of the file; the workflow strategy says what to edit.

/// One `"key": value` member of an object, by byte offsets into the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    /// The decoded key.
    pub key: String,
    /// The key token, quotes included.
    pub key_span: (usize, usize),
    /// The value, from its first to one past its last byte.
    pub value_span: (usize, usize),
}

/// An object's members and where its braces are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectSpans {
    /// Offset of `{`.
    pub open: usize,
    /// Offset of `}`.
    pub close: usize,
    pub members: Vec<Member>,
}

/// The members of the object starting at `start` (at or after leading
/// whitespace). `Err` names the offset where the text is not JSON.
pub(crate) fn object_at(text: &str, start: usize) -> Result<ObjectSpans, String> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, start);
    if b.get(i) != Some(&b'{') {
        return Err(format!("expected an object at byte {i}"));
    }
    let open = i;
    i += 1;
    let mut members = Vec::new();
    loop {
        i = skip_ws(b, i);
        match b.get(i) {
            Some(b'}') => {
                return Ok(ObjectSpans {
                    open,
                    close: i,
                    members,
                });
            }
            Some(b',') if !members.is_empty() => {
                i = skip_ws(b, i + 1);
            }
            Some(b'"') if members.is_empty() => {}
            _ => return Err(format!("unexpected byte at {i} in an object")),
        }
        let key_start = i;
        let key_end = skip_string(b, i)?;
        let key: String = serde_json::from_str(&text[key_start..key_end])
            .map_err(|e| format!("bad key at byte {key_start}: {e}"))?;
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return Err(format!("expected `:` at byte {i}"));
        }
        let value_start = skip_ws(b, i + 1);
        let value_end = skip_value(b, value_start)?;
        members.push(Member {
            key,
            key_span: (key_start, key_end),
            value_span: (value_start, value_end),
        });
        i = value_end;
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// One past the closing quote of the string at `i`.
fn skip_string(b: &[u8], i: usize) -> Result<usize, String> {
    let mut j = i + 1;
    while let Some(&c) = b.get(j) {
        match c {
            b'\\' => j += 2,
            b'"' => return Ok(j + 1),
            _ => j += 1,
        }
    }
    Err(format!("unterminated string at byte {i}"))
}

/// One past the end of the value at `i`.
fn skip_value(b: &[u8], i: usize) -> Result<usize, String> {
    match b.get(i) {
        Some(b'"') => skip_string(b, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while let Some(&c) = b.get(j) {
                match c {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            Err(format!("unterminated value at byte {i}"))
        }
        Some(_) => {
            let mut j = i;
            while let Some(&c) = b.get(j) {
                if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                j += 1;
            }
            if j == i {
                return Err(format!("expected a value at byte {i}"));
            }
            Ok(j)
        }
        None => Err(format!("expected a value at byte {i}")),
    }
}

/// The `inputs` object of node `node` in an API-format workflow text.
pub(crate) fn node_inputs(text: &str, node: &str) -> Result<ObjectSpans, String> {
    let top = object_at(text, 0)?;
    let n = top
        .members
        .iter()
        .find(|m| m.key == node)
        .ok_or_else(|| format!("no node \"{node}\""))?;
    let node_obj = object_at(text, n.value_span.0)?;
    let inputs = node_obj
        .members
        .iter()
        .find(|m| m.key == "inputs")
        .ok_or_else(|| format!("node \"{node}\" has no `inputs`"))?;
    object_at(text, inputs.value_span.0)
}

/// `text` with node `node`'s input key `from` renamed to `to` (the value and
/// every other byte kept).
pub(crate) fn rename_input(text: &str, node: &str, from: &str, to: &str) -> Result<String, String> {
    let inputs = node_inputs(text, node)?;
    if inputs.members.iter().any(|m| m.key == to) {
        return Err(format!("node \"{node}\" already sets `{to}`"));
    }
    let m = inputs
        .members
        .iter()
        .find(|m| m.key == from)
        .ok_or_else(|| format!("node \"{node}\" does not set `{from}`"))?;
    let key = serde_json::to_string(to).map_err(|e| e.to_string())?;
    Ok(format!(
        "{}{key}{}",
        &text[..m.key_span.0],
        &text[m.key_span.1..]
    ))
}

/// `text` with `"name": value` added as the last member of node `node`'s
/// inputs, laid out like the member before it (same line or its own line at
/// the same indent).
pub(crate) fn add_input(
    text: &str,
    node: &str,
    name: &str,
    value: &serde_json::Value,
) -> Result<String, String> {
    let inputs = node_inputs(text, node)?;
    if inputs.members.iter().any(|m| m.key == name) {
        return Err(format!("node \"{node}\" already sets `{name}`"));
    }
    let key = serde_json::to_string(name).map_err(|e| e.to_string())?;
    let value = serde_json::to_string(value).map_err(|e| e.to_string())?;
    let Some(last) = inputs.members.last() else {
        let at = inputs.open + 1;
        return Ok(format!(
            "{}{key}: {value}{}",
            &text[..at],
            &text[inputs.close..]
        ));
    };
    // The whitespace before the last member's key, when it starts a line.
    let before = &text[..last.key_span.0];
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let indent = &before[line_start..];
    let sep = if indent.chars().all(|c| c == ' ' || c == '\t') && line_start > inputs.open {
        format!(",\n{indent}")
    } else {
        ", ".to_owned()
    };
    let at = last.value_span.1;
    Ok(format!("{}{sep}{key}: {value}{}", &text[..at], &text[at..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WF: &str = "{\n  \"3\": {\n    \"class_type\": \"A\",\n    \"inputs\": {\n      \"seed\": 7,\n      \"frame_rate\": 8,\n      \"images\": [\"2\", 0]\n    }\n  },\n  \"4\": {\"class_type\": \"B\", \"inputs\": {\"x\": \"a\\\"}\"}}\n}\n";

    #[test]
    fn rename_changes_only_the_key() {
        let out = rename_input(WF, "3", "frame_rate", "fps").unwrap();
        assert_eq!(out, WF.replace("\"frame_rate\"", "\"fps\""));
    }

    #[test]
    fn add_follows_the_layout_of_the_last_member() {
        let out = add_input(WF, "3", "denoise", &serde_json::json!(1.0)).unwrap();
        assert_eq!(
            out,
            WF.replace(
                "[\"2\", 0]\n    }",
                "[\"2\", 0],\n      \"denoise\": 1.0\n    }"
            )
        );
        let out = add_input(WF, "4", "y", &serde_json::json!(2)).unwrap();
        assert!(out.contains("{\"x\": \"a\\\"}\", \"y\": 2}"), "{out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["4"]["inputs"]["y"], 2);
    }

    #[test]
    fn missing_node_or_input_is_an_error() {
        assert!(
            rename_input(WF, "9", "a", "b")
                .unwrap_err()
                .contains("no node")
        );
        assert!(
            rename_input(WF, "3", "nope", "b")
                .unwrap_err()
                .contains("does not set")
        );
        assert!(rename_input("{", "3", "a", "b").is_err());
    }
}
