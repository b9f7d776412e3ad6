//! A commit as tether reports it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    /// Full hex hash.
    pub id: String,
    /// First 7 hex digits.
    pub short: String,
    /// Committer time.
    pub time: jiff::Timestamp,
    pub author: String,
    /// First line of the message.
    pub subject: String,
}

impl CommitInfo {
    pub fn from_commit(c: &git2::Commit<'_>) -> Self {
        let id = c.id().to_string();
        let time =
            jiff::Timestamp::from_second(c.time().seconds()).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        Self {
            short: id[..7].to_owned(),
            id,
            time,
            author: String::from_utf8_lossy(c.author().name_bytes()).into_owned(),
            subject: c
                .summary_bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default(),
        }
    }
}
