//! Owns comparing two versions of a JSON model config (e.g. Wan2GP's
//! `defaults/*.json`) key by key, with dotted key paths like
//! `model.architecture` or `loras[2]`.

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Added,
    Removed,
    Modified,
    Unchanged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyChangeKind {
    Added,
    Removed,
    Changed,
}

/// One key whose value differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyChange {
    /// Dotted path: `model.architecture`, `loras[2]`; keys holding `.`, `[`,
    /// `]`, `"` or nothing are quoted as `["a.b"]`; the document itself is `$`.
    pub key: String,
    pub kind: KeyChangeKind,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// How one JSON file changed. Added and removed files carry no key changes;
/// a file whose bytes changed but whose values did not is `Modified` with no
/// key changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigFileChange {
    pub path: String,
    pub status: FileStatus,
    pub changes: Vec<KeyChange>,
    /// Set when either version is not valid JSON (names the side and the
    /// line and column); `changes` is then empty.
    pub error: Option<String>,
}

/// Compares two versions of a JSON file; `None` is an absent file.
pub fn diff_json(path: &str, old: Option<&[u8]>, new: Option<&[u8]>) -> ConfigFileChange {
    let status = match (old, new) {
        (None, Some(_)) => FileStatus::Added,
        (Some(_), None) => FileStatus::Removed,
        (Some(a), Some(b)) if a != b => FileStatus::Modified,
        _ => FileStatus::Unchanged,
    };
    let old_v = old.map(|b| parse("old", b));
    let new_v = new.map(|b| parse("new", b));
    let errors: Vec<String> = [&old_v, &new_v]
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_ref().err().cloned())
        .collect();
    let mut changes = Vec::new();
    if let (Some(Ok(a)), Some(Ok(b))) = (&old_v, &new_v) {
        walk("", a, b, &mut changes);
    }
    ConfigFileChange {
        path: path.to_string(),
        status,
        changes,
        error: (!errors.is_empty()).then(|| errors.join("; ")),
    }
}

/// (config path, dotted key) of every key removed from a file that still
/// exists. Removed files are reported by their status, not here.
pub fn removed_keys(changes: &[ConfigFileChange]) -> Vec<(String, String)> {
    changes
        .iter()
        .filter(|f| f.status == FileStatus::Modified)
        .flat_map(|f| {
            f.changes
                .iter()
                .filter(|c| c.kind == KeyChangeKind::Removed)
                .map(|c| (f.path.clone(), c.key.clone()))
        })
        .collect()
}

fn parse(side: &str, bytes: &[u8]) -> Result<Value, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    serde_json::from_slice(bytes).map_err(|e| {
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let what = full.strip_suffix(&suffix).unwrap_or(&full);
        format!(
            "{side} version is not valid JSON: line {} column {}: {what}",
            e.line(),
            e.column()
        )
    })
}

fn walk(prefix: &str, old: &Value, new: &Value, out: &mut Vec<KeyChange>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                let key = child(prefix, k);
                match b.get(k) {
                    Some(vb) => walk(&key, va, vb, out),
                    None => out.push(change(key, KeyChangeKind::Removed, Some(va), None)),
                }
            }
            for (k, vb) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                out.push(change(
                    child(prefix, k),
                    KeyChangeKind::Added,
                    None,
                    Some(vb),
                ));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                walk(&format!("{prefix}[{i}]"), va, vb, out);
            }
        }
        _ if old != new => {
            let key = if prefix.is_empty() { "$" } else { prefix };
            out.push(change(
                key.to_string(),
                KeyChangeKind::Changed,
                Some(old),
                Some(new),
            ));
        }
        _ => {}
    }
}

fn child(prefix: &str, key: &str) -> String {
    let plain = !key.is_empty() && !key.contains(['.', '[', ']', '"']);
    match (plain, prefix.is_empty()) {
        (true, true) => key.to_string(),
        (true, false) => format!("{prefix}.{key}"),
        (false, _) => format!("{prefix}[{}]", Value::String(key.to_string())),
    }
}

fn change(key: String, kind: KeyChangeKind, old: Option<&Value>, new: Option<&Value>) -> KeyChange {
    KeyChange {
        key,
        kind,
        old: old.cloned(),
        new: new.cloned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn keys(c: &ConfigFileChange) -> Vec<(&str, KeyChangeKind)> {
        c.changes.iter().map(|k| (k.key.as_str(), k.kind)).collect()
    }

    #[test]
    fn nested_keys_added_removed_changed() {
        let old = br#"{"model": {"name": "wan", "architecture": "t2v", "old_flag": true},
                       "steps": 30, "loras": ["a", "b", "c"], "a.b": 1}"#;
        let new = br#"{"model": {"name": "wan", "architecture": "i2v", "new_flag": 2},
                       "steps": 30, "loras": ["a", "b", "d"], "a.b": 2}"#;
        let c = diff_json("defaults/wan.json", Some(old), Some(new));
        assert_eq!(c.status, FileStatus::Modified);
        assert_eq!(c.error, None);
        use KeyChangeKind::*;
        assert_eq!(
            keys(&c),
            [
                ("model.architecture", Changed),
                ("model.old_flag", Removed),
                ("model.new_flag", Added),
                ("loras[2]", Changed),
                ("[\"a.b\"]", Changed),
            ]
        );
        assert_eq!(c.changes[0].old, Some(json!("t2v")));
        assert_eq!(c.changes[0].new, Some(json!("i2v")));
        assert_eq!(c.changes[1].old, Some(json!(true)));
        assert_eq!(c.changes[1].new, None);
        assert_eq!(
            removed_keys(&[c]),
            [(
                "defaults/wan.json".to_string(),
                "model.old_flag".to_string()
            )]
        );
    }

    #[test]
    fn array_length_change_reports_whole_array() {
        let c = diff_json(
            "x.json",
            Some(br#"{"loras": [1, 2]}"#),
            Some(br#"{"loras": [1, 2, 3]}"#),
        );
        assert_eq!(
            c.changes,
            [KeyChange {
                key: "loras".into(),
                kind: KeyChangeKind::Changed,
                old: Some(json!([1, 2])),
                new: Some(json!([1, 2, 3])),
            }]
        );
    }

    #[test]
    fn malformed_json_names_side_and_position() {
        let c = diff_json(
            "x.json",
            Some(br#"{"a": 1}"#),
            Some(b"{\n  \"a\": 1,\n  oops\n}"),
        );
        assert_eq!(c.status, FileStatus::Modified);
        assert!(c.changes.is_empty());
        let err = c.error.unwrap();
        assert!(
            err.starts_with("new version is not valid JSON: line 3 column 3"),
            "{err}"
        );

        let c = diff_json("x.json", Some(b"[1,"), None);
        assert_eq!(c.status, FileStatus::Removed);
        assert!(
            c.error
                .unwrap()
                .starts_with("old version is not valid JSON: line 1")
        );
    }

    #[test]
    fn unchanged_added_removed_and_reformatted() {
        let doc = br#"{"a": {"b": [1, 2]}}"#;
        let c = diff_json("x.json", Some(doc), Some(doc));
        assert_eq!(
            (c.status, c.changes.len(), c.error),
            (FileStatus::Unchanged, 0, None)
        );

        let c = diff_json("x.json", Some(doc), Some(b"{\"a\":{\"b\":[1,2]}}\n"));
        assert_eq!((c.status, c.changes.len()), (FileStatus::Modified, 0));

        let added = diff_json("x.json", None, Some(doc));
        let removed = diff_json("x.json", Some(doc), None);
        assert_eq!(added.status, FileStatus::Added);
        assert_eq!(removed.status, FileStatus::Removed);
        assert!(removed_keys(&[added, removed]).is_empty());
    }
}
