//! The pipelines' error: what stopped an update, a bisect or an adoption,
//! and the error after which an update was rolled back.

use crate::state::LockError;
use crate::update::{RollbackReport, UpdateError};
use crate::{analysis, baseline, fix, upstream};

#[derive(Debug, thiserror::Error)]
pub enum TransactionError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Update(#[from] UpdateError),
    #[error(transparent)]
    Upstream(#[from] upstream::UpstreamError),
    #[error(transparent)]
    Analysis(#[from] analysis::AnalysisError),
    #[error(transparent)]
    Baseline(#[from] baseline::BaselineError),
    #[error(transparent)]
    Fix(#[from] fix::FixError),
    #[error(
        "no baseline cases are configured: tether promotes an update only after the wrapper's baseline passes; add [[baseline.case]] tables to the config"
    )]
    NoCases,
    #[error(
        "upstream `{0}` history was rewritten (force-push): the current commit is not an ancestor of the target; run `tether check` and choose a target with --to"
    )]
    HistoryRewritten(String),
    #[error(transparent)]
    Report(#[from] crate::document::DocumentError),
    #[error(transparent)]
    RolledBack(#[from] RolledBackError),
    #[error(transparent)]
    Bisect(#[from] super::bisect::BisectError),
    #[error(
        "no paused update to {0}: `tether update --{0}` works on an update that staging left in conflict"
    )]
    NoPausedUpdate(&'static str),
    #[error(
        "update {id} of `{upstream}` is paused on conflicts in {files}; resolve them in the staged tree `{}` and run `tether update --continue`, or drop the update with `tether update --abort`",
        staged_dir.display()
    )]
    Paused {
        id: String,
        upstream: String,
        staged_dir: std::path::PathBuf,
        files: String,
    },
    #[error(
        "conflict markers remain in the staged tree `{}`: {}; resolve them and run `tether update --continue` again (update {id} stays paused; `tether update --abort` drops it)",
        staged_dir.display(),
        crate::text::cut_list(&markers.iter().map(|m| format!("{}:{}", m.path, m.line)).collect::<Vec<_>>(), 20)
    )]
    MarkersLeft {
        id: String,
        staged_dir: std::path::PathBuf,
        markers: Vec<crate::update::MarkerLine>,
    },
    #[error(
        "the paused update {id} is of upstream `{upstream}`, which the config no longer has; run `tether update --abort`"
    )]
    PausedUpstreamGone { id: String, upstream: String },
    #[error(transparent)]
    Gate(#[from] super::gate::GateError),
    #[error("group `{group}`: {detail}")]
    Group { group: String, detail: String },
}

impl TransactionError {
    /// The config is what is wrong (a pin that cannot be located): exit
    /// with the config error's code.
    pub fn is_config_error(&self) -> bool {
        match self {
            TransactionError::Upstream(u) | TransactionError::Update(UpdateError::Upstream(u)) => {
                u.is_config_error()
            }
            TransactionError::RolledBack(r) => r.error.is_config_error(),
            _ => false,
        }
    }

    /// An update is (still) paused: `tether update` exits with
    /// [`crate::exit::PAUSED`].
    pub fn is_paused(&self) -> bool {
        matches!(
            self,
            TransactionError::Paused { .. } | TransactionError::MarkersLeft { .. }
        )
    }
}

/// An error in the middle of an update, after which everything was restored.
#[derive(Debug)]
pub struct RolledBackError {
    pub error: Box<TransactionError>,
    pub rollback: Box<RollbackReport>,
}

impl std::fmt::Display for RolledBackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}; the update was rolled back and the live wrapper is unchanged",
            self.error
        )
    }
}

impl std::error::Error for RolledBackError {
    // the wrapped error's own message is part of this one; continue the chain
    // below it so nothing is printed twice
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}
