//! Test support: proves that `tether.example.toml` documents every key of
//! the raw config, so a new key cannot go undocumented.
//!
//! The example shows optional keys commented out, as `# key = value` lines
//! (a `#`, one space, the key, ` = `, the value), and optional tables as
//! commented headers (`# [table]`, `# [[array]]`). [`uncomment`] turns those
//! lines back into TOML; [`unset_fields`] then lists every field of
//! [`RawConfig`] (recursively, through every table and every entry of an
//! array of tables) that the result leaves out. Fields are found by
//! serialising the parsed raw config with serde, so a field added to a raw
//! struct shows up here without any list to keep.

use std::collections::{BTreeMap, HashSet};

use super::raw::RawConfig;

/// Uncomments `# key = value` lines and `# [table]`/`# [[array]]` headers.
/// A commented key that its table already sets (the example shows a default
/// next to an example value) stays commented, so no key is set twice.
pub fn uncomment(example: &str) -> String {
    let mut section = 0;
    let mut set: HashSet<(usize, String)> = HashSet::new();
    for line in example.lines() {
        if header(line).is_some() {
            section += 1;
        } else if let Some(k) = key(line) {
            set.insert((section, k.to_owned()));
        }
    }
    let mut out = String::new();
    let mut section = 0;
    for line in example.lines() {
        let body = line.strip_prefix("# ");
        if header(line).is_some() || body.and_then(header).is_some() {
            section += 1;
            out.push_str(body.filter(|b| header(b).is_some()).unwrap_or(line));
        } else if let Some(k) = body.and_then(key)
            && set.insert((section, k.to_owned()))
        {
            out.push_str(body.unwrap_or(line));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// `[a.b]` or `[[a.b]]`: the table's dotted name.
fn header(line: &str) -> Option<&str> {
    let name = line
        .strip_prefix("[[")
        .and_then(|l| l.strip_suffix("]]"))
        .or_else(|| line.strip_prefix('[').and_then(|l| l.strip_suffix(']')))?;
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    ok.then_some(name)
}

/// `key = value` (a bare key at the start of the line): the key.
fn key(line: &str) -> Option<&str> {
    let (k, _) = line.split_once(" = ")?;
    let ok = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    ok.then_some(k)
}

/// Dotted names (array entries as `name[]`) of the raw config's fields that
/// `doc` (the same text, read as plain TOML) leaves out everywhere.
pub fn unset_fields(raw: &RawConfig, doc: &toml::Table) -> Vec<String> {
    let raw = serde_json::to_value(raw).expect("the raw config serialises");
    let mut seen = BTreeMap::new();
    walk(&raw, doc, "", &mut seen);
    seen.into_iter()
        .filter(|(_, set)| !set)
        .map(|(k, _)| k)
        .collect()
}

/// Records, for each field of the object `raw` under `path`, whether `doc`
/// sets it; descends where `doc` has a table or an array of tables.
fn walk(raw: &serde_json::Value, doc: &toml::Table, path: &str, seen: &mut BTreeMap<String, bool>) {
    let serde_json::Value::Object(fields) = raw else {
        return;
    };
    for (name, value) in fields {
        let path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        let written = doc.get(name);
        match (value, written) {
            // a table: its own fields count, whether or not it is written
            (serde_json::Value::Object(_), Some(toml::Value::Table(t))) => {
                seen.insert(path.clone(), true);
                walk(value, t, &path, seen)
            }
            (serde_json::Value::Object(_), None) => walk(value, &toml::Table::new(), &path, seen),
            // an array of tables: the fields of every entry's type
            (serde_json::Value::Array(items), Some(toml::Value::Array(entries))) => {
                seen.insert(path.clone(), true);
                for (item, entry) in items.iter().zip(entries) {
                    if let toml::Value::Table(t) = entry {
                        walk(item, t, &format!("{path}[]"), seen);
                    }
                }
            }
            (_, written) => *seen.entry(path).or_default() |= written.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncomments_keys_and_headers_once() {
        let text = "[a]\n# x = 1\nx = 2\n# y = \"z\"\n#   not = a key line\n# [[b]]\n# x = 3\n# see `x = 3` above\n";
        assert_eq!(
            uncomment(text),
            "[a]\n# x = 1\nx = 2\ny = \"z\"\n#   not = a key line\n[[b]]\nx = 3\n# see `x = 3` above\n"
        );
    }

    #[test]
    fn an_undocumented_field_is_found() {
        let raw: RawConfig =
            toml::from_str("[[upstream]]\nname = \"a\"\n[[baseline.case]]\nname = \"c\"\n")
                .unwrap();
        let doc = toml::from_str("[[upstream]]\nname = \"a\"\n[[baseline.case]]\nname = \"c\"\n")
            .unwrap();
        let unset = unset_fields(&raw, &doc);
        assert!(unset.contains(&"upstream[].url".to_owned()), "{unset:?}");
        assert!(
            unset.contains(&"baseline.case[].runner".to_owned()),
            "{unset:?}"
        );
        assert!(unset.contains(&"gpu.device".to_owned()), "{unset:?}");
        assert!(!unset.contains(&"upstream[].name".to_owned()), "{unset:?}");
    }
}
