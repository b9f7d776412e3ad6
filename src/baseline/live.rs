//! What a running case says while it runs, as progress events: its elapsed
//! time, the last line of the log it wrote to last (redacted), and the peak
//! GPU memory so far. Only when a progress sink is set; otherwise nothing is
//! read.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::gpu::{VramPeak, VramSampler};
use crate::progress::{self, Event};

/// How often a running case is reported.
const EVERY: Duration = Duration::from_millis(500);

pub struct Live {
    case: String,
    logs: [PathBuf; 2],
    started: Instant,
    last: Option<Instant>,
}

impl Live {
    pub fn new(case: &str, stdout: &Path, stderr: &Path) -> Live {
        Live {
            case: case.to_owned(),
            logs: [stdout.to_path_buf(), stderr.to_path_buf()],
            started: Instant::now(),
            last: None,
        }
    }

    /// Called on each tick of the child's supervision, after `sampler` took
    /// its sample.
    pub fn tick(&mut self, sampler: &VramSampler) {
        if !progress::enabled() || self.last.is_some_and(|t| t.elapsed() < EVERY) {
            return;
        }
        self.last = Some(Instant::now());
        progress::emit(|| Event::CaseRunning {
            case: self.case.clone(),
            elapsed_ms: progress::millis(self.started.elapsed()),
            last_line: newest(&self.logs).and_then(progress::last_line_of),
            peak_vram_bytes: match sampler.result() {
                VramPeak::Peak { bytes, .. } => Some(bytes),
                VramPeak::Unavailable { .. } => None,
            },
        });
    }
}

/// The log written to last (of those that hold something).
fn newest(logs: &[PathBuf]) -> Option<&Path> {
    logs.iter()
        .filter_map(|p| {
            let meta = fs_err::metadata(p).ok()?;
            (meta.len() > 0).then_some((meta.modified().ok()?, p.as_path()))
        })
        .max_by_key(|(modified, _)| *modified)
        .map(|(_, p)| p)
}
