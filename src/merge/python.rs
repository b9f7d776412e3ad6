//! The definition-level 3-way merge of a Python file: the units of
//! `units` merged key by key. A unit changed on one side takes that side; a
//! unit both sides changed merges line by line on its own (a class member by
//! member); the upstream's order is kept, with the wrapper's own units after
//! the unit before them in the wrapper's version. A clean result must parse
//! and have the units the merge put in, or the file merges line by line.

use std::collections::{HashMap, HashSet};

use super::Labels;
use super::line::merge_lines;
use super::units::{self, Unit, Units};

/// What the definition-level merge made of a file.
pub(super) enum Outcome {
    Clean(Vec<u8>),
    /// Markers around the units that conflict, the rest merged.
    Conflict(Vec<u8>),
    /// It could not merge by definitions; why (the caller merges by lines).
    Fallback(String),
}

pub(super) fn merge(base: &[u8], ours: &[u8], theirs: &[u8], labels: &Labels<'_>) -> Outcome {
    let texts = [("base", base), ("wrapper's", ours), ("upstream's", theirs)];
    let mut strs = Vec::new();
    let mut trees = Vec::new();
    for (side, bytes) in texts {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Outcome::Fallback(format!(
                "the {side} version is not UTF-8 text: merged line by line"
            ));
        };
        let Some(tree) = units::parse(text) else {
            return Outcome::Fallback(
                "the Python grammar did not load: merged line by line".into(),
            );
        };
        if let Some(line) = units::first_error_line(&tree) {
            return Outcome::Fallback(format!(
                "a syntax error in the {side} version (line {line}): merged line by line"
            ));
        }
        strs.push(text);
        trees.push(tree);
    }
    let b = units::module(strs[0], &trees[0]);
    let o = units::module(strs[1], &trees[1]);
    let t = units::module(strs[2], &trees[2]);
    let mut conflict = false;
    let (merged, shape) = merge_units(&b, &o, &t, labels, &mut conflict);
    if conflict {
        return Outcome::Conflict(merged.into_bytes());
    }
    let Some(tree) = units::parse(&merged) else {
        return Outcome::Fallback("the Python grammar did not load: merged line by line".into());
    };
    if let Some(line) = units::first_error_line(&tree) {
        return Outcome::Fallback(format!(
            "the definition-level merge did not parse (line {line}): merged line by line"
        ));
    }
    if !has_shape(&units::module(&merged, &tree), &shape) {
        return Outcome::Fallback(
            "the definition-level merge would change which definitions the file has (a unit would land inside another): merged line by line"
                .into(),
        );
    }
    Outcome::Clean(merged.into_bytes())
}

/// The definitions a merge put in, in order: each unit's key, and for a
/// class merged member by member its members.
struct Shape {
    key: String,
    body: Option<Vec<Shape>>,
}

/// One unit's merged text, and its members when it is a class merged member
/// by member.
struct Piece {
    text: String,
    body: Option<Vec<Shape>>,
}

impl Piece {
    fn whole(text: String) -> Piece {
        Piece { text, body: None }
    }
}

/// Whether the merged text, parsed again, has the units the merge put in:
/// as many, with the same definitions and assignments in the same places.
fn has_shape(units: &Units<'_>, shape: &[Shape]) -> bool {
    units.units.len() == shape.len()
        && units.units.iter().zip(shape).all(|(u, s)| {
            (!units::is_named_key(&s.key) || u.key == s.key)
                && match (&s.body, &u.class) {
                    (Some(body), Some(parts)) => has_shape(&parts.body, body),
                    (Some(_), None) => false,
                    (None, _) => true,
                }
        })
}

/// Merges three unit sequences into text; sets `conflict` when a unit kept
/// markers.
fn merge_units(
    b: &Units<'_>,
    o: &Units<'_>,
    t: &Units<'_>,
    labels: &Labels<'_>,
    conflict: &mut bool,
) -> (String, Vec<Shape>) {
    let bk: Vec<String> = b.units.iter().map(|u| u.key.clone()).collect();
    let (ok, tk) = paired_rewrites(&bk, &o.units, &t.units);
    let index = |keys: &[String]| -> HashMap<String, usize> {
        keys.iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), i))
            .collect()
    };
    let (bi, oi, ti) = (index(&bk), index(&ok), index(&tk));
    let mut resolved: HashMap<&str, Option<Piece>> = HashMap::new();
    for key in ok.iter().chain(&tk).chain(&bk).map(String::as_str) {
        if resolved.contains_key(key) {
            continue;
        }
        let r = resolve(
            get(b, &bi, key),
            get(o, &oi, key),
            get(t, &ti, key),
            labels,
            conflict,
        );
        resolved.insert(key, r);
    }
    let ours: Vec<&str> = ok.iter().map(String::as_str).collect();
    let theirs: Vec<&str> = tk.iter().map(String::as_str).collect();
    let order = merged_order(&ours, &theirs, |k| {
        resolved.get(k).is_some_and(Option::is_some)
    });
    let mut out = String::new();
    let mut shape = Vec::new();
    for key in order {
        if let Some(Some(piece)) = resolved.get_mut(key) {
            push(&mut out, &piece.text);
            shape.push(Shape {
                key: key.to_owned(),
                body: piece.body.take(),
            });
        }
    }
    let tail = resolve_text(Some(b.tail), Some(o.tail), Some(t.tail), labels, conflict);
    push(&mut out, &tail.unwrap_or_default());
    (out, shape)
}

/// The keys of `ours` and `theirs`, where both sides rewrote the same
/// text-keyed unit (an import or expression statement, keyed by its text):
/// a base unit that neither side kept, and on each side a new text-keyed
/// unit right after the same unit as in the base, take the base unit's key,
/// so the rewrite merges as one unit instead of landing twice.
fn paired_rewrites(
    base: &[String],
    ours: &[Unit<'_>],
    theirs: &[Unit<'_>],
) -> (Vec<String>, Vec<String>) {
    let mut ok: Vec<String> = ours.iter().map(|u| u.key.clone()).collect();
    let mut tk: Vec<String> = theirs.iter().map(|u| u.key.clone()).collect();
    let in_base: HashSet<&str> = base.iter().map(String::as_str).collect();
    let text_keyed = |k: &str| units::is_text_key(k);
    let rewrite = |keys: &[String], prev: Option<&str>| {
        (0..keys.len()).find(|&j| {
            !in_base.contains(keys[j].as_str())
                && text_keyed(&keys[j])
                && (j.checked_sub(1).map(|p| keys[p].as_str())) == prev
        })
    };
    for (i, key) in base.iter().enumerate() {
        if !text_keyed(key) || ok.contains(key) || tk.contains(key) {
            continue;
        }
        let prev = i.checked_sub(1).map(|p| base[p].as_str());
        if let (Some(oj), Some(tj)) = (rewrite(&ok, prev), rewrite(&tk, prev)) {
            ok[oj].clone_from(key);
            tk[tj].clone_from(key);
        }
    }
    (ok, tk)
}

fn get<'u, 'a>(
    units: &'u Units<'a>,
    idx: &HashMap<String, usize>,
    key: &str,
) -> Option<&'u Unit<'a>> {
    idx.get(key).map(|i| &units.units[*i])
}

/// Appends `text`, starting it on a line of its own.
fn push(out: &mut String, text: &str) {
    if !out.is_empty() && !out.ends_with('\n') && !text.is_empty() {
        out.push('\n');
    }
    out.push_str(text);
}

/// One unit's merged text; `None` when it is gone.
fn resolve(
    b: Option<&Unit<'_>>,
    o: Option<&Unit<'_>>,
    t: Option<&Unit<'_>>,
    labels: &Labels<'_>,
    conflict: &mut bool,
) -> Option<Piece> {
    let (bt, ot, tt) = (b.map(|u| u.text), o.map(|u| u.text), t.map(|u| u.text));
    if ot == tt || ot == bt || tt == bt {
        return resolve_text(bt, ot, tt, labels, conflict).map(Piece::whole);
    }
    // a class both sides changed: member by member when its header merges
    if let (Some(bc), Some(oc), Some(tc)) = (
        b.and_then(|u| u.class.as_ref()),
        o.and_then(|u| u.class.as_ref()),
        t.and_then(|u| u.class.as_ref()),
    ) && (oc.header == tc.header || oc.header == bc.header || tc.header == bc.header)
    {
        let header = if oc.header == bc.header {
            tc.header
        } else {
            oc.header
        };
        let (body, shape) = merge_units(&bc.body, &oc.body, &tc.body, labels, conflict);
        return Some(Piece {
            text: format!("{header}{body}"),
            body: Some(shape),
        });
    }
    resolve_text(bt, ot, tt, labels, conflict).map(Piece::whole)
}

/// A 3-way merge of one unit's texts: one side's change, or libgit2's line
/// merge of the unit alone.
fn resolve_text(
    b: Option<&str>,
    o: Option<&str>,
    t: Option<&str>,
    labels: &Labels<'_>,
    conflict: &mut bool,
) -> Option<String> {
    if o == t || b == t {
        return o.map(str::to_owned);
    }
    if b == o {
        return t.map(str::to_owned);
    }
    let m = merge_lines(
        b.unwrap_or("").as_bytes(),
        o.unwrap_or("").as_bytes(),
        t.unwrap_or("").as_bytes(),
        labels,
    );
    if !m.clean {
        *conflict = true;
    }
    Some(String::from_utf8_lossy(&m.content).into_owned())
}

/// The merged order of keys: the upstream's (`theirs`) order, with each key
/// of `ours` that `theirs` lacks and `kept` keeps placed right after the key
/// before it in `ours` (keys `kept` drops are skipped there).
pub(super) fn merged_order<'k>(
    ours: &[&'k str],
    theirs: &[&'k str],
    kept: impl Fn(&str) -> bool,
) -> Vec<&'k str> {
    let in_theirs: HashSet<&str> = theirs.iter().copied().collect();
    let mut after: HashMap<Option<&str>, Vec<&'k str>> = HashMap::new();
    let mut prev: Option<&'k str> = None;
    for key in ours {
        if in_theirs.contains(key) {
            prev = Some(key);
        } else if kept(key) {
            after.entry(prev).or_default().push(key);
            prev = Some(key);
        }
    }
    let mut out = Vec::new();
    place(&after, None, &mut out);
    for key in theirs {
        out.push(*key);
        place(&after, Some(key), &mut out);
    }
    out
}

fn place<'k>(
    after: &HashMap<Option<&str>, Vec<&'k str>>,
    anchor: Option<&str>,
    out: &mut Vec<&'k str>,
) {
    if let Some(keys) = after.get(&anchor) {
        for key in keys {
            out.push(key);
            place(after, Some(key), out);
        }
    }
}
