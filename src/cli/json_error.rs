//! Owns the JSON error document: with `--json`, a command that fails still
//! prints exactly one JSON document on stdout,
//! `{"error": {"kind", "message", "causes", "hint", "upstream", "exit_code"}}`
//! (`schemas/error.schema.json`), so a script never has to parse stderr.
//! The text error still goes to stderr and the exit code is unchanged.

use serde::Serialize;
use tether::config::ConfigError;
use tether::exit;
use tether::upstream::UpstreamError;

/// What kind of failure, for a script to branch on (lowercase in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The config file is missing, unreadable or invalid.
    Config,
    /// A wrong argument (an unknown upstream, a revision the upstream does
    /// not have) or a config value the upstream contradicts.
    Usage,
    /// An upstream could not be fetched.
    Fetch,
    /// Any other failure about one upstream (its mirror, the wrapper's copy).
    Upstream,
    /// Another tether command holds the state lock.
    Locked,
    /// An update is paused on conflicts.
    Paused,
    /// An interrupted update needs a person.
    RecoveryBlocked,
    /// The GPU stack is broken.
    GpuBroken,
    /// Any other runtime failure (git, I/O, a child process).
    Failure,
}

#[derive(Debug, Serialize)]
struct Document<'a> {
    error: Body<'a>,
}

#[derive(Debug, Serialize)]
struct Body<'a> {
    kind: ErrorKind,
    message: String,
    causes: Vec<String>,
    hint: Option<String>,
    upstream: Option<&'a str>,
    exit_code: u8,
}

/// The upstream error in `err`'s chain, also where a wrapper that shows it
/// as its own (`#[error(transparent)]`) hides it from a plain downcast.
fn upstream_error(err: &anyhow::Error) -> Option<&UpstreamError> {
    err.chain().find_map(|e| {
        e.downcast_ref::<UpstreamError>().or_else(|| {
            match e.downcast_ref::<tether::analysis::AnalysisError>() {
                Some(tether::analysis::AnalysisError::Upstream(u)) => Some(u),
                _ => None,
            }
        })
    })
}

/// The kind of `err`, which exits with `code` ([`super::error_exit_code`]).
pub fn kind(err: &anyhow::Error, code: u8) -> ErrorKind {
    let upstream = upstream_error(err);
    match code {
        exit::LOCKED => ErrorKind::Locked,
        exit::PAUSED => ErrorKind::Paused,
        exit::RECOVERY_BLOCKED => ErrorKind::RecoveryBlocked,
        exit::GPU_BROKEN => ErrorKind::GpuBroken,
        _ if err.chain().any(|e| e.is::<ConfigError>()) => ErrorKind::Config,
        exit::USAGE => ErrorKind::Usage,
        _ => match upstream {
            Some(UpstreamError::Fetch { .. }) => ErrorKind::Fetch,
            Some(_) => ErrorKind::Upstream,
            None => ErrorKind::Failure,
        },
    }
}

/// The JSON error document for `err`, redacted.
pub fn render(err: &anyhow::Error, code: u8) -> String {
    let doc = Document {
        error: Body {
            kind: kind(err, code),
            message: err.to_string(),
            causes: err.chain().skip(1).map(ToString::to_string).collect(),
            hint: super::hint_for(err),
            upstream: upstream_error(err).map(UpstreamError::upstream),
            exit_code: code,
        },
    };
    // plain data: serialising it cannot fail
    tether::document::value_json(&doc).unwrap_or_default()
}
