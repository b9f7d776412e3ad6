//! The fix loop's records: a human `debug_log.txt` block per attempt and a
//! full JSON line per attempt in `attempts.jsonl`, both appended under the
//! update's report folder.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::attempt_loop::AttemptRecord;
use super::error::FixError;

pub const DEBUG_LOG: &str = "debug_log.txt";
pub const ATTEMPTS_JSONL: &str = "attempts.jsonl";

/// Appends to the two log files of one report folder.
#[derive(Debug, Clone)]
pub struct FixLog {
    dir: PathBuf,
}

impl FixLog {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn debug_log_path(&self) -> PathBuf {
        self.dir.join(DEBUG_LOG)
    }

    pub fn attempts_path(&self) -> PathBuf {
        self.dir.join(ATTEMPTS_JSONL)
    }

    /// Appends one attempt to both files.
    pub fn append(&self, record: &AttemptRecord) -> Result<(), FixError> {
        append(&self.debug_log_path(), block(record).as_bytes())?;
        let mut line = serde_json::to_string(record).map_err(|e| FixError::Log {
            path: self.attempts_path(),
            source: std::io::Error::other(e),
        })?;
        line.push('\n');
        append(&self.attempts_path(), line.as_bytes())
    }
}

/// The debug-log block of one attempt, one value per line (newlines in the
/// values folded to spaces), followed by a blank line.
pub fn block(r: &AttemptRecord) -> String {
    let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "=== Fix Attempt {} ===\nError: {}: {} (case {})\nFix Applied: {}\nResult: {}\nNext Action: {}\n\n",
        r.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        r.failure.class.name(),
        one_line(&r.failure.message),
        r.failure.case,
        one_line(&r.fix_applied),
        r.result.as_str(),
        one_line(&r.next_action.to_string()),
    )
}

fn append(path: &Path, bytes: &[u8]) -> Result<(), FixError> {
    let err = |source| FixError::Log {
        path: path.to_path_buf(),
        source,
    };
    let mut f = crate::state::append_private_file(path).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_data().map_err(err)
}
