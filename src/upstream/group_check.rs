//! Owns `tether check` for a `[[group]]`: every member's check report,
//! kept together so that the group reads (and serialises) as one table.

use serde::Serialize;

use super::check::{CheckOptions, CheckReport, check};
use super::error::UpstreamError;
use crate::config::{Config, GroupConfig};

/// A group's members, each checked as `tether check` checks an upstream.
#[derive(Debug, Clone, Serialize)]
pub struct GroupCheck {
    pub group: String,
    /// In the group's order.
    pub members: Vec<CheckReport>,
}

impl GroupCheck {
    /// Whether any member's history was rewritten.
    pub fn history_rewritten(&self) -> bool {
        self.members.iter().any(|m| m.history.is_rewritten())
    }
}

/// Checks every member of `group`.
pub fn check_group(
    cfg: &Config,
    group: &GroupConfig,
    opts: &CheckOptions,
) -> Result<GroupCheck, UpstreamError> {
    let mut members = Vec::new();
    for up in cfg.members_of(group) {
        members.push(check(cfg, up, opts)?);
    }
    Ok(GroupCheck {
        group: group.name.clone(),
        members,
    })
}
