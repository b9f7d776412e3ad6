//! Looking for where a definition missing from the new upstream went: the
//! same name in another module (moved), or an added definition with a
//! similar name and body (renamed). Only candidates are compared, never every
//! pair of definitions.

use std::collections::HashMap;

use similar::TextDiff;

use super::model::{DefKind, Definition, UpstreamIndex};

/// Body similarity a same-named definition elsewhere needs to count as moved
/// when several candidates exist, and when it is the only one.
const MOVE_BODY_SIMILARITY: f64 = 0.5;
const MOVE_SINGLE_SIMILARITY: f64 = 0.3;
/// Bodies up to this many bytes (together) are compared word by word.
const WORD_DIFF_LIMIT: usize = 8000;
const NAME_WEIGHT: f64 = 0.35;
const BODY_WEIGHT: f64 = 0.65;

/// Candidates in the new index, built once per resolution.
pub(crate) struct Candidates<'a> {
    /// Definition name -> new definitions of that name (imports excluded).
    by_name: HashMap<&'a str, Vec<&'a Definition>>,
    /// New definitions with no definition of the same name in the same
    /// module of the old index.
    added: Vec<&'a Definition>,
    /// Old definitions with no definition of the same name in the same
    /// module of the new index: rivals for an added definition.
    removed: Vec<&'a Definition>,
}

impl<'a> Candidates<'a> {
    pub fn new(old: &'a UpstreamIndex, new: &'a UpstreamIndex) -> Self {
        let mut by_name: HashMap<&str, Vec<&Definition>> = HashMap::new();
        let mut added = Vec::new();
        for (module, m) in &new.modules {
            let old_defs = old.modules.get(module).map(|m| &m.definitions);
            for (name, def) in &m.definitions {
                if def.kind == DefKind::Import {
                    continue;
                }
                by_name.entry(name.as_str()).or_default().push(def);
                if !old_defs.is_some_and(|d| d.contains_key(name)) {
                    added.push(def);
                }
            }
        }
        let mut removed = Vec::new();
        for (module, m) in &old.modules {
            let new_defs = new.modules.get(module).map(|m| &m.definitions);
            removed.extend(m.definitions.iter().filter_map(|(name, def)| {
                let kept = new_defs.is_some_and(|d| d.contains_key(name));
                (def.kind != DefKind::Import && !kept).then_some(def)
            }));
        }
        Self {
            by_name,
            added,
            removed,
        }
    }

    /// The same name and kind defined elsewhere than `target`.
    pub fn moved(&self, def: &Definition, target: &str) -> Option<&'a Definition> {
        let found: Vec<&Definition> = self
            .by_name
            .get(def.name.as_str())?
            .iter()
            .copied()
            .filter(|c| c.kind == def.kind && full_name(c) != target)
            .collect();
        let needed = if found.len() == 1 {
            MOVE_SINGLE_SIMILARITY
        } else {
            MOVE_BODY_SIMILARITY
        };
        found
            .into_iter()
            .map(|c| (body_similarity(&def.body, &c.body), c))
            .filter(|(s, _)| *s >= needed)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, c)| c)
    }

    /// The added definition most like `def`, with its combined similarity,
    /// if it reaches `threshold` and no other removed definition is more
    /// like it. Same module and same class rank first.
    pub fn renamed(&self, def: &Definition, threshold: f64) -> Option<(&'a Definition, f64)> {
        let (class, _) = split_class(&def.name);
        let mut found: Vec<(f64, f64, &Definition)> = self
            .added
            .iter()
            .filter(|c| c.kind == def.kind)
            .filter_map(|c| {
                let score = rename_score(def, c, threshold)?;
                let mut rank = score;
                if c.module == def.module {
                    rank += 0.1;
                }
                if split_class(&c.name).0 == class {
                    rank += 0.05;
                }
                Some((rank, score, *c))
            })
            .collect();
        found.sort_by(|a, b| b.0.total_cmp(&a.0));
        found
            .into_iter()
            .find(|(_, score, c)| {
                !self.removed.iter().any(|o| {
                    o.kind == def.kind
                        && (o.module != def.module || o.name != def.name)
                        && rename_score(o, c, *score).is_some_and(|s| s > *score)
                })
            })
            .map(|(_, score, c)| (c, score))
    }
}

/// Combined name and body similarity of `old` renamed to `new`, if it
/// reaches `threshold`.
fn rename_score(old: &Definition, new: &Definition, threshold: f64) -> Option<f64> {
    let name = name_similarity(split_class(&old.name).1, split_class(&new.name).1);
    if NAME_WEIGHT * name + BODY_WEIGHT * body_bound(&old.body, &new.body) < threshold {
        return None;
    }
    let score = NAME_WEIGHT * name + BODY_WEIGHT * body_similarity(&old.body, &new.body);
    (score >= threshold).then_some(score)
}

pub(crate) fn full_name(d: &Definition) -> String {
    format!("{}.{}", d.module, d.name)
}

fn split_class(name: &str) -> (&str, &str) {
    name.rsplit_once('.').unwrap_or(("", name))
}

pub(crate) fn name_similarity(a: &str, b: &str) -> f64 {
    f64::from(TextDiff::from_chars(a, b).ratio())
}

/// Short bodies are compared by word, longer ones by line.
fn by_words(a: &str, b: &str) -> bool {
    a.len() + b.len() <= WORD_DIFF_LIMIT
}

/// Runs of whitespace and of non-whitespace, as `similar` splits words.
fn words(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut space = None;
    for (i, c) in s.char_indices() {
        let is_space = c.is_whitespace();
        if space.is_some_and(|w| w != is_space) {
            out.push(&s[start..i]);
            start = i;
        }
        space = Some(is_space);
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

fn tokens(s: &str, word_mode: bool) -> Vec<&str> {
    if word_mode {
        words(s)
    } else {
        s.lines().collect()
    }
}

/// The best ratio `body_similarity` could reach: twice the tokens the two
/// bodies share (as multisets) over all their tokens.
fn body_bound(a: &str, b: &str) -> f64 {
    let word_mode = by_words(a, b);
    let (ta, tb) = (tokens(a, word_mode), tokens(b, word_mode));
    if ta.is_empty() && tb.is_empty() {
        return 1.0;
    }
    let mut counts: HashMap<&str, isize> = HashMap::new();
    for t in &ta {
        *counts.entry(t).or_default() += 1;
    }
    let mut shared = 0usize;
    for t in &tb {
        if let Some(c) = counts.get_mut(t) {
            if *c > 0 {
                *c -= 1;
                shared += 1;
            }
        }
    }
    // `similar` computes in f32: leave room for its rounding.
    2.0 * shared as f64 / (ta.len() + tb.len()) as f64 + 1e-6
}

/// 0..1, how alike two normalised bodies are.
pub(crate) fn body_similarity(a: &str, b: &str) -> f64 {
    if a == b {
        return 1.0;
    }
    // No deadline: a timed diff would make findings depend on machine load.
    let config = TextDiff::configure();
    let ratio = if by_words(a, b) {
        config.diff_words(a, b).ratio()
    } else {
        config.diff_lines(a, b).ratio()
    };
    f64::from(ratio)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_is_never_below_the_ratio() {
        let pairs = [
            ("x = a + b\nreturn x", "y = a + b\nreturn y"),
            ("return 1", "pass"),
            ("", "a"),
            ("a b  c\nd", "d\na b c"),
        ];
        for (a, b) in pairs {
            assert!(
                body_bound(a, b) + 1e-6 >= body_similarity(a, b),
                "{a:?} {b:?}"
            );
        }
        let long_a = "line one\n".repeat(600);
        let long_b = "line two\n".repeat(600);
        assert!(body_bound(&long_a, &long_b) < 0.01);
        assert_eq!(body_similarity(&long_a, &long_a.clone()), 1.0);
    }
}
