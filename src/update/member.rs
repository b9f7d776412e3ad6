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

#[cfg(test)]
mod tests {
    use super::super::{Backup, Journal};

    /// A journal and a backup written before groups existed read as a
    /// group of one.
    #[test]
    fn an_old_single_upstream_journal_and_backup_read_as_a_group_of_one() {
        let journal: Journal = serde_json::from_str(
            r#"{"id":"x","upstream":"core","state":"staged","from":"a1","to":"b2",
            "live_root":"/w","live_head":"h","live_branch":"refs/heads/main",
            "staged_dir":"/s","staged_branch":"tether/update-x","staged_head":null,
            "backup_dir":"/b","started":"2024-01-01T00:00:00Z",
            "updated":"2024-01-01T00:00:00Z","transitions":[]}"#,
        )
        .unwrap();
        let moves = journal.members();
        assert_eq!(moves.len(), 1);
        assert_eq!((moves[0].from.as_str(), moves[0].to.as_str()), ("a1", "b2"));
        assert_eq!(journal.subject(), "`core`");
        let backup: Backup = serde_json::from_str(
            r#"{"id":"x","dir":"/b","taken":"2024-01-01T00:00:00Z","upstream":"core",
            "layout":"submodule","upstream_path":"core","wrapper_root":"/w","head":"h",
            "branch":null,"dirty":[],"upstream_commit":"a1","upstream_checkout":"a1",
            "upstream_checkout_branch":null,"vendored_patch":null,
            "pip":{"kind":"unavailable","reason":"none"}}"#,
        )
        .unwrap();
        let members = backup.members();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].upstream_checkout.as_deref(), Some("a1"));
        // and a group's journal names the group
        let mut group = journal.clone();
        group.group = Some("stack".into());
        group.peers.push(super::MemberMove {
            upstream: "nodes".into(),
            from: "c3".into(),
            to: "d4".into(),
        });
        let back: Journal = serde_json::from_str(&serde_json::to_string(&group).unwrap()).unwrap();
        assert_eq!(back.members().len(), 2);
        assert_eq!(back.subject(), "group `stack`");
    }
}
