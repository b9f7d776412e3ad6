//! Owns the update module's error type: every failure says what tether was
//! doing and names the upstream, repository or file involved.

use std::path::PathBuf;

use crate::state::StateError;
use crate::text::{MESSAGE_ITEMS, cut_list};
use crate::upstream::UpstreamError;

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("git failed while {action} in `{}`: {detail}", path.display())]
    Git {
        action: String,
        path: PathBuf,
        detail: String,
    },
    #[error("cannot {action} `{}`", path.display())]
    Io {
        action: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error(
        "the wrapper at `{}` changed since the update started: {what} was {expected}, now {found}; \
         nothing was promoted (commit or stash elsewhere, then run the update again)",
        root.display()
    )]
    LiveMoved {
        root: PathBuf,
        what: String,
        expected: String,
        found: String,
    },
    #[error(
        "cannot promote into `{}` without touching uncommitted changes: {detail}; nothing was \
         changed (commit or stash them, then run the update again)",
        path.display()
    )]
    CheckoutConflict { path: PathBuf, detail: String },
    #[error("upstream `{upstream}`: commit {commit} is not in tether's mirror: {detail}")]
    MissingCommit {
        upstream: String,
        commit: String,
        detail: String,
    },
    #[error(
        "upstream `{upstream}`: staging needs `{path}` (blob {id}) at commit {commit}, but tether's \
         mirror cannot read that object (a partial clone or a damaged pack); remove the mirror \
         (or fetch it again in full) and retry"
    )]
    UnreadableBlob {
        upstream: String,
        path: String,
        id: String,
        commit: String,
    },
    #[error("upstream `{upstream}`: {detail}")]
    Layout { upstream: String, detail: String },
    #[error("upstream `{upstream}`: cannot update record file `{}`: {detail}", path.display())]
    Record {
        upstream: String,
        path: PathBuf,
        detail: String,
    },
    /// `outcome`: how it ended and its last output.
    #[error(
        "upstream `{upstream}`: the install command `{command}` failed in the staged wrapper \
         (log in `{}`): {outcome}",
        log.display()
    )]
    Install {
        upstream: String,
        command: String,
        log: PathBuf,
        outcome: String,
    },
    #[error("no backup at `{}` (the update's state is incomplete)", path.display())]
    NoBackup { path: PathBuf },
    #[error("the journal names upstream `{upstream}`, which the config no longer has")]
    UnknownUpstream { upstream: String },
    #[error(
        "an interrupted update cannot be finished or rolled back: {tree} at `{}` has changes \
         tether did not make in {} file(s) the update was moving: {}; nothing of yours was \
         overwritten. Move your versions of these files elsewhere (or delete them), then run \
         any tether command: it finishes the interrupted update",
        root.display(),
        paths.len(),
        cut_list(paths, MESSAGE_ITEMS)
    )]
    UserChanges {
        root: PathBuf,
        tree: String,
        paths: Vec<String>,
    },
    #[error(
        "the interrupted update {id} cannot be finished or rolled back: {detail}; nothing was \
         changed. Put it back, or inspect `git status` and the backup under the state dir's \
         `update/{id}/backup`"
    )]
    Unrecoverable { id: String, detail: String },
    #[error(
        "the update journal `{}` is unreadable ({why}); tether does not guess what that update \
         did: it moved the journal to `{}`. Inspect it there, check the live wrapper with \
         `git status`, and find that update's backup and plan under `{}`",
        path.display(),
        aside.display(),
        updates.display()
    )]
    JournalUnreadable {
        path: PathBuf,
        aside: PathBuf,
        why: String,
        updates: PathBuf,
    },
}

impl UpdateError {
    /// Whether this error means an interrupted update needs a person before
    /// tether can go on (exit code `RECOVERY_BLOCKED`).
    pub fn blocks_recovery(&self) -> bool {
        matches!(
            self,
            UpdateError::UserChanges { .. }
                | UpdateError::Unrecoverable { .. }
                | UpdateError::JournalUnreadable { .. }
        )
    }
}

/// Builds a [`UpdateError::Git`] for `action` in the repository at `path`.
pub(crate) fn git_err(
    action: impl Into<String>,
    path: impl Into<PathBuf>,
) -> impl Fn(git2::Error) -> UpdateError {
    let action = action.into();
    let path = path.into();
    move |e| UpdateError::Git {
        action: action.clone(),
        path: path.clone(),
        detail: crate::redact::redact(e.message()).into_owned(),
    }
}

/// Builds a [`UpdateError::Io`] for `action` on `path`.
pub(crate) fn io_err(
    action: impl Into<String>,
    path: impl Into<PathBuf>,
) -> impl Fn(std::io::Error) -> UpdateError {
    let action = action.into();
    let path = path.into();
    move |source| UpdateError::Io {
        action: action.clone(),
        path: path.clone(),
        source,
    }
}
