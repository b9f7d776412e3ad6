//! Owns the upstream module's error type: every failure names the upstream
//! and, where one is involved, the path or (redacted) URL.

use std::path::PathBuf;

use crate::config::Layout;
use crate::state::StateError;

/// Why a fetch failed, in words a person can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchFailure {
    /// The server refused the credentials, or none could be found.
    Auth,
    /// The network or the server could not be reached.
    Network,
    /// The URL does not point at a repository.
    NotFound,
    /// The repository is there but an object it needs cannot be read (a
    /// damaged pack, a partial clone, a deleted object).
    MissingObject,
    /// This build of git2 cannot fetch this kind of URL (no https/ssh).
    UnsupportedScheme,
    /// git's credential helper did not answer within the upstream's
    /// `credential_timeout` and was stopped.
    CredentialHelperTimeout(std::time::Duration),
    /// Anything else git reported.
    Other,
}

impl std::fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            FetchFailure::Auth => "authentication failed",
            FetchFailure::Network => "network error (no connection or the server is unreachable)",
            FetchFailure::NotFound => "no repository at that URL (is the url right?)",
            FetchFailure::MissingObject => {
                "the repository is there but an object it needs is missing or unreadable \
                 (a damaged pack, a partial clone or a deleted object)"
            }
            FetchFailure::UnsupportedScheme => {
                "this build of tether cannot fetch this kind of URL (git2 was built without \
                 https/ssh support)"
            }
            FetchFailure::CredentialHelperTimeout(after) => {
                return write!(
                    f,
                    "git's credential helper did not answer within {} \
                     (upstream.credential_timeout), so it was stopped",
                    crate::duration::format(*after)
                );
            }
            FetchFailure::Other => "git could not fetch",
        };
        f.write_str(text)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream `{upstream}`: cannot open or create its mirror at `{}`: {detail}", path.display())]
    Mirror {
        upstream: String,
        path: PathBuf,
        detail: String,
    },
    #[error(
        "upstream `{upstream}`: no mirror at `{}` yet; run `tether check` without --no-fetch first",
        path.display()
    )]
    NoMirror { upstream: String, path: PathBuf },
    /// `url` is redacted.
    #[error("upstream `{upstream}`: cannot fetch from `{url}`: {reason}: {detail}")]
    Fetch {
        upstream: String,
        url: String,
        reason: FetchFailure,
        detail: String,
    },
    #[error("upstream `{upstream}`: {message}")]
    Target { upstream: String, message: String },
    #[error("upstream `{upstream}`: no commit `{rev}` in the mirror: {detail}")]
    UnknownRev {
        upstream: String,
        rev: String,
        detail: String,
    },
    #[error("upstream `{upstream}`: path `{}` does not exist in the wrapper", path.display())]
    MissingPath { upstream: String, path: PathBuf },
    #[error("upstream `{upstream}`: `{}` is not a git repository, but its layout is `{layout}`; {hint}", path.display())]
    NotARepo {
        upstream: String,
        path: PathBuf,
        layout: Layout,
        hint: String,
    },
    #[error("upstream `{upstream}`: cannot read the wrapper at `{}`: {detail}", path.display())]
    Wrapper {
        upstream: String,
        path: PathBuf,
        detail: String,
    },
    #[error("upstream `{upstream}`: cannot read record file `{}`: {detail}", path.display())]
    RecordFile {
        upstream: String,
        path: PathBuf,
        detail: String,
    },
    #[error("upstream `{upstream}`: no line of `{}` matches record_pattern `{pattern}`", path.display())]
    NoRecord {
        upstream: String,
        path: PathBuf,
        pattern: String,
    },
    #[error(
        "upstream `{upstream}`: commit `{hash}` recorded in `{}` is not in the upstream's history ({detail})",
        path.display()
    )]
    UnknownRecorded {
        upstream: String,
        hash: String,
        path: PathBuf,
        detail: String,
    },
    #[error(
        "upstream `{upstream}`: record file `{}` names several commits ({hashes}) and the \
         vendored copy matches none of the upstream's commits; keep the one it came from",
        path.display()
    )]
    AmbiguousRecord {
        upstream: String,
        path: PathBuf,
        hashes: String,
    },
    /// The pin cannot be located: zero or several places match. A config
    /// problem ([`UpstreamError::is_config_error`]).
    #[error("upstream `{upstream}`: the pin in `{}` {detail}", path.display())]
    Pin {
        upstream: String,
        path: PathBuf,
        detail: String,
    },
    /// `place`: where the pin is, `app/nodes.py:12`.
    #[error(
        "upstream `{upstream}`: pinned commit {hash} ({place}) is not in the upstream's \
         history; fetch or fix the pin ({detail})"
    )]
    UnknownPin {
        upstream: String,
        hash: String,
        place: String,
        detail: String,
    },
    #[error("upstream `{upstream}`: git failed while {action}: {detail}")]
    Git {
        upstream: String,
        action: String,
        detail: String,
    },
    #[error("upstream `{upstream}`: cannot save first-seen times")]
    State {
        upstream: String,
        #[source]
        source: StateError,
    },
}

impl UpstreamError {
    /// The upstream this error is about (every variant names one).
    pub fn upstream(&self) -> &str {
        match self {
            UpstreamError::Mirror { upstream, .. }
            | UpstreamError::NoMirror { upstream, .. }
            | UpstreamError::Fetch { upstream, .. }
            | UpstreamError::Target { upstream, .. }
            | UpstreamError::UnknownRev { upstream, .. }
            | UpstreamError::MissingPath { upstream, .. }
            | UpstreamError::NotARepo { upstream, .. }
            | UpstreamError::Wrapper { upstream, .. }
            | UpstreamError::RecordFile { upstream, .. }
            | UpstreamError::NoRecord { upstream, .. }
            | UpstreamError::UnknownRecorded { upstream, .. }
            | UpstreamError::AmbiguousRecord { upstream, .. }
            | UpstreamError::Pin { upstream, .. }
            | UpstreamError::UnknownPin { upstream, .. }
            | UpstreamError::Git { upstream, .. }
            | UpstreamError::State { upstream, .. } => upstream,
        }
    }

    /// Whether the config or the command line is what is wrong (a pin that
    /// cannot be located, a `--to` revision the upstream does not have):
    /// the CLI exits with the usage error's code.
    pub fn is_config_error(&self) -> bool {
        matches!(
            self,
            UpstreamError::Pin { .. } | UpstreamError::UnknownRev { .. }
        )
    }
}

/// A git2 error's message, redacted (libgit2 messages can quote URLs).
pub(crate) fn git_detail(e: &git2::Error) -> String {
    crate::redact::redact(e.message()).into_owned()
}

/// Builds a [`UpstreamError::Git`] for `upstream` while doing `action`.
pub(crate) fn git_err(upstream: &str, action: &str) -> impl Fn(git2::Error) -> UpstreamError {
    let upstream = upstream.to_owned();
    let action = action.to_owned();
    move |e| UpstreamError::Git {
        upstream: upstream.clone(),
        action: action.clone(),
        detail: git_detail(&e),
    }
}
