//! The one redaction function used by logs, reports and notifications:
//! access tokens, passwords and credentials in URLs never leave tether.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

const MASK: &str = "[REDACTED]";

static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        // URL userinfo: scheme://user:password@host -> scheme://user:[REDACTED]@host
        (r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:)[^/\s@]+(?P<post>@)", "${pre}[REDACTED]${post}"),
        // scheme://token@host (a bare token as user)
        (r"(?P<pre>https?://)(?:hf_|ghp_|gho_|ghs_|github_pat_|sk-)[A-Za-z0-9_\-]+(?P<post>@)", "${pre}[REDACTED]${post}"),
        (r"(?i)(?P<pre>authorization\s*:\s*)[^\r\n]+", "${pre}[REDACTED]"),
        (r"(?i)(?P<pre>\b(?:token|access_token|api_key|apikey|password|passwd|secret)\s*[=:]\s*)[^\s&;,'\x22]+", "${pre}[REDACTED]"),
        (r"\bhf_[A-Za-z0-9]{8,}", MASK),
        (r"\bsk-[A-Za-z0-9_\-]{8,}", MASK),
        (r"\b(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{16,}", MASK),
        (r"\bgithub_pat_[A-Za-z0-9_]{16,}", MASK),
    ]
    .into_iter()
    .map(|(p, r)| (Regex::new(p).expect("redaction pattern compiles"), r))
    .collect()
});

/// Returns `text` with every secret replaced by `[REDACTED]`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out: Cow<'_, str> = Cow::Borrowed(text);
    for (re, rep) in PATTERNS.iter() {
        if re.is_match(&out) {
            out = Cow::Owned(re.replace_all(&out, *rep).into_owned());
        }
    }
    out
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
