//! Owns what the update primitives know of each upstream an update moves:
//! a single-upstream update is a group of one. [`Member`] is an upstream
//! with its mirror (what staging and promotion read), [`MemberBackup`] what
//! the backup saw of it, [`MemberMove`] the journaled move (from, to).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::UpstreamConfig;
use crate::upstream::Mirror;

/// An upstream of an update, with tether's mirror of it.
#[derive(Clone, Copy)]
pub struct Member<'a> {
    pub up: &'a UpstreamConfig,
    pub mirror: &'a Mirror,
}

/// One member as the backup saw it in the live wrapper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberBackup {
    pub upstream: String,
    /// `submodule`, `clone` or `vendored`.
    pub layout: String,
    /// The upstream's path in the wrapper (relative).
    pub upstream_path: PathBuf,
    /// The upstream commit the wrapper has (gitlink, clone HEAD or recorded).
    pub upstream_commit: String,
    /// Submodule and clone layouts: HEAD of the checkout at `<root>/<path>`.
    pub upstream_checkout: Option<String>,
    /// Its branch, `None` when detached or not checked out.
    pub upstream_checkout_branch: Option<String>,
    /// Vendored layout: the local modifications, as a patch file name in
    /// the backup's folder (absent when there are none).
    pub vendored_patch: Option<String>,
}

/// One member's journaled move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberMove {
    pub upstream: String,
    /// The upstream commit the wrapper had.
    pub from: String,
    /// The target upstream commit.
    pub to: String,
}
