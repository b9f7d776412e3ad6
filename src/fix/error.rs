//! The fix module's errors.

use std::path::PathBuf;

use crate::config::StrategyKind;

#[derive(Debug, thiserror::Error)]
pub enum FixError {
    /// The strategy has nothing to do for this failure; not an attempt.
    #[error("{strategy} does not apply: {reason}")]
    NotApplicable {
        strategy: StrategyKind,
        reason: String,
    },
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot run {what}: {source}")]
    Process {
        what: String,
        #[source]
        source: crate::process::ProcessError,
    },
    #[error("{what} failed ({exit}); see `{}`", log.display())]
    CommandFailed {
        what: String,
        exit: String,
        log: PathBuf,
    },
    #[error("cannot repair the workflow `{path}`: {reason}")]
    Workflow { path: String, reason: String },
    #[error("cannot read or write the baseline overrides: {0}")]
    Overrides(String),
    #[error("cannot read git status of `{}`: {source}", path.display())]
    Git {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
    #[error("cannot write the fix log `{}`: {source}", path.display())]
    Log {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the update bench failed: {0}")]
    Bench(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl FixError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> FixError {
        let path = path.into();
        move |source| FixError::Io {
            action,
            path,
            source,
        }
    }

    pub(crate) fn not_applicable(strategy: StrategyKind, reason: impl Into<String>) -> FixError {
        FixError::NotApplicable {
            strategy,
            reason: reason.into(),
        }
    }
}
