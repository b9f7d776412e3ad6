//! Reads config text into a [`RawConfig`], collecting every value that serde
//! rejects, not only the first: each rejected key is reported (dotted key,
//! line, serde's message) and taken out of the document, which is then read
//! again, so one `tether config check` lists every bad value at once. A TOML
//! syntax error stops at the first, since nothing after it can be read.

use std::collections::BTreeMap;

use toml_edit::{DocumentMut, Item, TableLike, Value};

use super::ConfigProblem;
use super::locate::{Locator, Segment, split_key};
use super::raw::RawConfig;

/// More bad values than this in one file are not worth listing.
const MAX_PROBLEMS: usize = 100;

/// The raw config with every rejected key left out, and the problems.
pub(super) struct Parsed {
    /// `None` when the text is not TOML, or a rejected key could not be
    /// taken out.
    pub raw: Option<RawConfig>,
    pub problems: Vec<ConfigProblem>,
}

pub(super) fn parse(text: &str) -> Parsed {
    let original = Locator::new(text);
    let mut doc: DocumentMut = match text.parse() {
        Ok(doc) => doc,
        Err(_) => {
            let problems = match toml::from_str::<RawConfig>(text) {
                Err(e) => vec![problem(&e, &original, &original, &Removed::default())],
                Ok(_) => Vec::new(),
            };
            return Parsed {
                raw: None,
                problems,
            };
        }
    };
    let mut problems: Vec<ConfigProblem> = Vec::new();
    let mut removed = Removed::default();
    let mut current = text.to_owned();
    while problems.len() < MAX_PROBLEMS {
        let e = match toml::from_str::<RawConfig>(&current) {
            Ok(raw) => {
                problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
                return Parsed {
                    raw: Some(raw),
                    problems,
                };
            }
            Err(e) => e,
        };
        let here = Locator::new(&current);
        let p = problem(&e, &here, &original, &removed);
        let key = here_key(&e, &here);
        problems.push(p);
        let Some(key) = key else { break };
        let segments = split_key(&key);
        if !remove(doc.as_item_mut(), &segments) {
            break;
        }
        removed.note(&segments);
        current = doc.to_string();
    }
    problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
    Parsed {
        raw: None,
        problems,
    }
}

/// The dotted key an error points at in the text it came from: the key or
/// value under its span, plus the field serde names when the span is the
/// enclosing table (an unknown field).
fn here_key(e: &toml::de::Error, here: &Locator) -> Option<String> {
    let key = e.span().and_then(|s| here.key_at_offset(s.start));
    match (key, unknown_field(e.message())) {
        (Some(k), Some(f)) if !k.ends_with(&f) => Some(format!("{k}.{f}")),
        (None, Some(f)) => Some(f),
        (key, _) => key,
    }
}

fn problem(
    e: &toml::de::Error,
    here: &Locator,
    original: &Locator,
    removed: &Removed,
) -> ConfigProblem {
    let message = e.message().trim().to_owned();
    match here_key(e, here) {
        Some(key) => {
            let key = removed.original_key(&key);
            let line = original
                .line_of_key(&key)
                .or_else(|| e.span().map(|s| here.line_of_offset(s.start)));
            ConfigProblem { key, line, message }
        }
        None => ConfigProblem {
            key: "(document)".into(),
            line: e.span().map(|s| here.line_of_offset(s.start)),
            message,
        },
    }
}

fn unknown_field(message: &str) -> Option<String> {
    let rest = message.trim().strip_prefix("unknown field `")?;
    Some(rest.split('`').next()?.to_owned())
}

/// Array elements taken out so far, by the array's key as first written, so
/// that a later element's index can be told as it was in the file.
#[derive(Default)]
struct Removed(BTreeMap<String, Vec<usize>>);

impl Removed {
    fn note(&mut self, segments: &[Segment<'_>]) {
        if let Some((Segment::Index(i), parent)) = segments.split_last() {
            let parent = self.original_key(&join(parent));
            let original = self.original_index(&parent, *i);
            self.0.entry(parent).or_default().push(original);
        }
    }

    fn original_index(&self, array: &str, index: usize) -> usize {
        let mut gone = self.0.get(array).cloned().unwrap_or_default();
        gone.sort_unstable();
        gone.into_iter()
            .fold(index, |i, g| if g <= i { i + 1 } else { i })
    }

    /// `key` (as in the document now) as it was in the file.
    fn original_key(&self, key: &str) -> String {
        let mut out = String::new();
        for seg in split_key(key) {
            match seg {
                Segment::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Segment::Index(i) => {
                    let i = self.original_index(&out, i);
                    out.push_str(&format!("[{i}]"));
                }
            }
        }
        out
    }
}

fn join(segments: &[Segment<'_>]) -> String {
    let mut out = String::new();
    for seg in segments {
        match seg {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Takes the key or array element at `segments` out of the document.
fn remove(item: &mut Item, segments: &[Segment<'_>]) -> bool {
    match item {
        Item::Table(t) => remove_in_table(t, segments),
        Item::ArrayOfTables(a) => match segments {
            [Segment::Index(i), rest @ ..] if !rest.is_empty() => {
                a.get_mut(*i).is_some_and(|t| remove_in_table(t, rest))
            }
            _ => false,
        },
        Item::Value(v) => remove_in_value(v, segments),
        Item::None => false,
    }
}

fn remove_in_table(t: &mut dyn TableLike, segments: &[Segment<'_>]) -> bool {
    match segments {
        [Segment::Key(k)] => t.remove(k).is_some(),
        [Segment::Key(k), rest @ ..] => t.get_mut(k).is_some_and(|item| remove(item, rest)),
        _ => false,
    }
}

fn remove_in_value(v: &mut Value, segments: &[Segment<'_>]) -> bool {
    match v {
        Value::InlineTable(t) => remove_in_table(t, segments),
        Value::Array(a) => match segments {
            [Segment::Index(i)] if *i < a.len() => {
                a.remove(*i);
                true
            }
            [Segment::Index(i), rest @ ..] => {
                a.get_mut(*i).is_some_and(|v| remove_in_value(v, rest))
            }
            _ => false,
        },
        _ => false,
    }
}
