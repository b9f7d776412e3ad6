//! The one redaction function used by logs, reports and notifications:
//! access tokens, passwords and credentials in URLs never leave tether.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

const MASK: &str = "[REDACTED]";

struct Pattern {
    re: Regex,
    replacement: &'static str,
    /// The secret runs to the end of the line (it may hold spaces), not to
    /// the next space.
    to_line_end: bool,
}

static PATTERNS: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    [
        // URL userinfo: scheme://user:password@host -> scheme://user:[REDACTED]@host
        (r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:)[^/\s@]+(?P<post>@)", "${pre}[REDACTED]${post}", false),
        // scheme://token@host (a bare token as user)
        (r"(?P<pre>https?://)(?:hf_|ghp_|gho_|ghs_|github_pat_|sk-)[A-Za-z0-9_\-]+(?P<post>@)", "${pre}[REDACTED]${post}", false),
        (r"(?i)(?P<pre>authorization\s*:\s*)[^\r\n]+", "${pre}[REDACTED]", true),
        (r"(?i)(?P<pre>\b(?:token|access_token|api_key|apikey|password|passwd|secret)\s*[=:]\s*)[^\s&;,'\x22]+", "${pre}[REDACTED]", false),
        (r"\bhf_[A-Za-z0-9]{8,}", MASK, false),
        (r"\bsk-[A-Za-z0-9_\-]{8,}", MASK, false),
        (r"\b(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{16,}", MASK, false),
        (r"\bgithub_pat_[A-Za-z0-9_]{16,}", MASK, false),
    ]
    .into_iter()
    .map(|(p, replacement, to_line_end)| Pattern {
        re: Regex::new(p).expect("redaction pattern compiles"),
        replacement,
        to_line_end,
    })
    .collect()
});

/// Returns `text` with every secret replaced by `[REDACTED]`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out: Cow<'_, str> = Cow::Borrowed(text);
    for p in PATTERNS.iter() {
        if p.re.is_match(&out) {
            out = Cow::Owned(p.re.replace_all(&out, p.replacement).into_owned());
        }
    }
    out
}

/// Where [`redact`] finds a secret in a text: the byte range of the whole
/// match (its key and separator included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSpan {
    pub range: Range<usize>,
    /// The secret runs to the end of its line (an `Authorization:` header);
    /// otherwise it ends at the next whitespace.
    pub to_line_end: bool,
}

/// Every place in `text` where [`redact`] finds a secret, ordered by start,
/// overlapping matches merged into one span. For a stream cut in pieces
/// (`process`'s log capture): a cut outside every span splits no secret.
pub fn secret_spans(text: &str) -> Vec<SecretSpan> {
    let mut spans: Vec<SecretSpan> = PATTERNS
        .iter()
        .flat_map(|p| {
            p.re.find_iter(text).map(|m| SecretSpan {
                range: m.range(),
                to_line_end: p.to_line_end,
            })
        })
        .collect();
    spans.sort_by_key(|s| (s.range.start, s.range.end));
    let mut merged: Vec<SecretSpan> = Vec::with_capacity(spans.len());
    for s in spans {
        match merged.last_mut() {
            Some(last) if s.range.start < last.range.end => {
                // what the merged span ends like is what its last member ends like
                if s.range.end > last.range.end {
                    last.range.end = s.range.end;
                    last.to_line_end = s.to_line_end;
                } else if s.range.end == last.range.end {
                    last.to_line_end |= s.to_line_end;
                }
            }
            _ => merged.push(s),
        }
    }
    merged
}

/// A string that must never be shown as is (a URL that may hold credentials,
/// a token). `Debug` and `Display` print it redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The real value, for the one place that needs it (e.g. git's fetch).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", redact(&self.0))
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

/// An error and its causes, `: `-separated, redacted: the one-line form of
/// an error for reports, logs and notifications.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    redact(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redacts_every_kind_of_secret() {
        let cases = [
            (
                "https://user:hunter2@github.com/a/b.git",
                "https://user:[REDACTED]@github.com/a/b.git",
            ),
            (
                "https://ghp_abcdefghijklmnopqrstuv@github.com/x",
                "https://[REDACTED]@github.com/x",
            ),
            ("token=abc123 next", "token=[REDACTED] next"),
            ("PASSWORD: s3cret", "PASSWORD: [REDACTED]"),
            ("Authorization: Bearer xyz", "Authorization: [REDACTED]"),
            ("use hf_AbCdEfGhIjKlMnOp now", "use [REDACTED] now"),
            ("key sk-proj-1234567890abcdef", "key [REDACTED]"),
            ("gh ghp_abcdefghijklmnopqrstuvwxyz0123", "gh [REDACTED]"),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "input: {input}");
        }
    }

    #[test]
    fn leaves_plain_text_alone() {
        let s = "https://github.com/deepbeepmeep/Wan2GP.git at 1a2b3c4";
        assert!(matches!(redact(s), std::borrow::Cow::Borrowed(_)));
    }
}
