//! Normalised failure signatures: a failure's message with its volatile
//! parts (times, ids, addresses, paths, sizes, numbers) replaced by
//! placeholders, so that the same failure on another night, in another
//! folder or at another address compares equal. [`normalise`] is what
//! `classify::signature` and the held-back memory
//! ([`crate::upstream::FailureSignature`]) both use.

use std::sync::LazyLock;

use regex::Regex;

use super::classify::{Failure, classify};
use crate::baseline::CaseResult;
use crate::upstream::FailureSignature;

/// `message` with times, UUIDs, hex addresses and ids, paths (all but the
/// file name), sizes and numbers replaced by `<time>`, `<id>`, `<hex>`,
/// `<path>/name`, `<size>` and `<n>`; runs of white space become one space.
pub fn normalise(message: &str) -> String {
    static TIME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b|\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b",
        )
        .unwrap()
    });
    static UUID: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
        )
        .unwrap()
    });
    static HEX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"0x[0-9a-fA-F]+").unwrap());
    // a word of 7 or more hex digits with a digit in it: a hash or an id
    static HEX_ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b[0-9a-fA-F]{7,}\b").unwrap());
    static PATH: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"[^\s'"(),:]*[/\\][^\s'"(),:]*"#).unwrap());
    static SIZE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\b\d+(?:\.\d+)?\s*(?:[KMGTP]i?B|bytes)\b").unwrap());
    static NUM: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b\d+(?:\.\d+)?\b").unwrap());
    static SPACE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s+").unwrap());
    let s = TIME.replace_all(message, "<time>");
    let s = UUID.replace_all(&s, "<id>");
    let s = HEX.replace_all(&s, "<hex>");
    let s = HEX_ID.replace_all(&s, |c: &regex::Captures<'_>| {
        let w = &c[0];
        let digits = w.bytes().any(|b| b.is_ascii_digit());
        let letters = w.bytes().any(|b| b.is_ascii_alphabetic());
        if digits && (letters || w.len() >= 12) {
            "<id>".to_owned()
        } else {
            w.to_owned()
        }
    });
    let s = PATH.replace_all(&s, |c: &regex::Captures<'_>| {
        let base = c[0].rsplit(['/', '\\']).next().unwrap_or("");
        format!("<path>/{base}")
    });
    let s = SIZE.replace_all(&s, "<size>");
    let s = NUM.replace_all(&s, "<n>");
    SPACE.replace_all(s.trim(), " ").into_owned()
}

impl FailureSignature {
    /// The signature of one classified failure.
    pub fn of(f: &Failure) -> FailureSignature {
        FailureSignature {
            case: f.case.clone(),
            class: f.class.name().to_owned(),
            message: normalise(&f.message),
        }
    }
}

/// The signatures of a run's failing cases, sorted (one per case).
pub fn of_cases<'a>(cases: impl IntoIterator<Item = &'a CaseResult>) -> Vec<FailureSignature> {
    let mut out: Vec<FailureSignature> = cases
        .into_iter()
        .filter(|c| !c.passed())
        .map(|c| FailureSignature::of(&classify(c)))
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_paths_addresses_times_and_ids_are_normalised() {
        let a = normalise(
            "2026-12-02T02:22:04Z RuntimeError at 0x7f3a2b in /tmp/run-17/wan/model.py: step 12 of 40, 1.5 GiB, id 3f2a9c1e5b7d, req 123e4567-e89b-12d3-a456-426614174000 at 02:22:04.123",
        );
        let b = normalise(
            "2027-01-15 23:01:59+01:00 RuntimeError at 0x10 in /home/x/other/model.py: step 3 of 41, 700 MiB, id 99aa00bb11cc, req 00000000-1111-2222-3333-444444444444 at 9:00:01",
        );
        assert_eq!(a, b);
        assert_eq!(
            a,
            "<time> RuntimeError at <hex> in <path>/model.py: step <n> of <n>, <size>, id <id>, req <id> at <time>"
        );
    }

    #[test]
    fn words_and_file_names_that_differ_still_differ() {
        assert_ne!(
            normalise("No module named 'decord'"),
            normalise("No module named 'einops'")
        );
        assert_ne!(
            normalise("No such file: '/a/guide.y4m'"),
            normalise("No such file: '/a/mask.png'")
        );
        // all-letter hex words are words, not ids
        assert_eq!(normalise("a facade was added"), "a facade was added");
        assert_eq!(normalise("  two\n  lines "), "two lines");
    }

    #[test]
    fn signatures_name_the_case_and_the_class() {
        let f = |case: &str, class: super::super::FailureClass, m: &str| Failure {
            case: case.into(),
            model: String::new(),
            params: Default::default(),
            signature: String::new(),
            class,
            message: m.into(),
            detail: String::new(),
            log_dir: Default::default(),
            integration_points: Vec::new(),
            target: None,
        };
        use super::super::FailureClass::{OutOfMemory, Unknown};
        let a = FailureSignature::of(&f("t2v", Unknown, "boom at step 3"));
        assert_eq!(
            a,
            FailureSignature::of(&f("t2v", Unknown, "boom at step 9"))
        );
        assert_ne!(
            a,
            FailureSignature::of(&f("i2v", Unknown, "boom at step 3"))
        );
        assert_ne!(
            a,
            FailureSignature::of(&f("t2v", OutOfMemory, "boom at step 3"))
        );
        assert_eq!(a.to_string(), "t2v: unknown: boom at step <n>");
    }
}
