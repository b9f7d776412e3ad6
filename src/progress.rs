//! Owns progress events: what long work (a fetch, an analysis, a baseline
//! run and its cases, fix attempts, bisect steps) says while it runs. The
//! library emits [`Event`]s to one [`Sink`] set once per process by the
//! binary; without one (the default, and always in the service) an event
//! costs a load of a `OnceLock` and is never built. Drawing them (bars on a
//! terminal, JSON lines into a file) is the binary's business; this module
//! never prints. Text taken from a child's log is redacted when the event is
//! built, so a sink shows it as it is.

use std::sync::OnceLock;
use std::time::Duration;

use serde::Serialize;

/// One thing long work says while it runs. Every `...Started` is followed by
/// its `...Finished` unless the process dies.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A fetch of an upstream into tether's mirror begins.
    FetchStarted {
        upstream: String,
    },
    /// Objects received so far (at most about ten a second).
    FetchObjects {
        upstream: String,
        received: usize,
        total: usize,
        bytes: usize,
    },
    FetchFinished {
        upstream: String,
        ok: bool,
    },
    /// An analysis of `range` (`abc1234..def5678`) begins.
    AnalysisStarted {
        upstream: String,
        range: String,
    },
    /// One phase of the analysis is done.
    AnalysisPhase {
        upstream: String,
        phase: String,
        elapsed_ms: u64,
    },
    AnalysisFinished {
        upstream: String,
        elapsed_ms: u64,
    },
    /// A baseline run of `cases` cases begins.
    BaselineStarted {
        run_id: String,
        cases: usize,
    },
    /// Case `index` (1-based) of the run begins.
    CaseStarted {
        case: String,
        index: usize,
        total: usize,
    },
    /// A case still runs (about every half second): its elapsed time, the
    /// last line of its log (redacted) and the peak GPU memory so far, when
    /// NVML is there.
    CaseRunning {
        case: String,
        elapsed_ms: u64,
        last_line: Option<String>,
        peak_vram_bytes: Option<u64>,
    },
    CaseFinished {
        case: String,
        status: String,
        elapsed_ms: u64,
    },
    BaselineFinished {
        run_id: String,
        passed: usize,
        failed: usize,
    },
    /// Fix attempt `attempt` of at most `max` begins: `strategy` for the
    /// failure of `case`.
    AttemptStarted {
        attempt: u32,
        max: u32,
        strategy: String,
        case: String,
    },
    AttemptFinished {
        attempt: u32,
        result: String,
    },
    /// Bisect step `step` of at most `at_most` begins (the two ends count).
    BisectStep {
        step: u32,
        at_most: u32,
        role: String,
        commit: String,
        subject: String,
    },
    BisectStepFinished {
        step: u32,
        commit: String,
        verdict: String,
    },
}

/// Where events go. Called from the thread doing the work; must not block
/// for long.
pub trait Sink: Send + Sync {
    fn event(&self, event: &Event);

    /// Runs `write` (a log line going to stderr) so that it does not tear
    /// what the sink draws (bars are hidden, the line written, the bars
    /// redrawn). The default just runs it.
    fn suspend(&self, write: &mut dyn FnMut()) {
        write()
    }
}

static SINK: OnceLock<Box<dyn Sink>> = OnceLock::new();

/// Sets the process's sink; only the first call counts (returns `false` for
/// a later one).
pub fn set_sink(sink: Box<dyn Sink>) -> bool {
    SINK.set(sink).is_ok()
}

/// Whether a sink is set (worth building events, reading log tails).
pub fn enabled() -> bool {
    SINK.get().is_some()
}

/// Sends the event `make` builds to the sink; builds nothing without one.
pub fn emit(make: impl FnOnce() -> Event) {
    if let Some(sink) = SINK.get() {
        sink.event(&make());
    }
}

/// Runs `write` through the sink's [`Sink::suspend`] (or just runs it).
pub fn suspend(write: &mut dyn FnMut()) {
    match SINK.get() {
        Some(sink) => sink.suspend(write),
        None => write(),
    }
}

/// Emits the event `make` builds when dropped: a `...Finished` on every
/// way out of a function, errors included.
#[must_use = "the event is emitted when this is dropped"]
pub struct OnDrop<F: FnOnce() -> Event>(Option<F>);

pub fn on_drop<F: FnOnce() -> Event>(make: F) -> OnDrop<F> {
    OnDrop(Some(make))
}

impl<F: FnOnce() -> Event> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(make) = self.0.take() {
            emit(make);
        }
    }
}

/// Milliseconds, for events.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// At most this many characters of a log line go into an event.
pub const LINE_CHARS: usize = 160;

/// The last non-empty line of the text, redacted and cut to [`LINE_CHARS`];
/// a carriage return (a child's own progress bar) starts a line too.
pub fn last_line(text: &str) -> Option<String> {
    let line = text
        .rsplit(['\n', '\r'])
        .map(str::trim)
        .find(|l| !l.is_empty())?;
    let line = crate::redact::redact(line);
    let mut cut: String = line.chars().take(LINE_CHARS).collect();
    if line.chars().count() > LINE_CHARS {
        cut.push('…');
    }
    Some(cut)
}

/// The last non-empty line of the file's last few KiB (see [`last_line`]).
pub fn last_line_of(path: &std::path::Path) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    const TAIL: u64 = 4096;
    let mut file = fs_err::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL))).ok()?;
    let mut bytes = Vec::new();
    file.take(TAIL).read_to_end(&mut bytes).ok()?;
    last_line(&String::from_utf8_lossy(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_line_skips_blank_lines_and_carriage_returns_and_is_redacted() {
        assert_eq!(last_line("one\ntwo\n\n  \n").as_deref(), Some("two"));
        assert_eq!(last_line("10%\r50%\r").as_deref(), Some("50%"));
        assert_eq!(last_line("\n \n"), None);
        let line = last_line("token: hf_abcdefghijklmnopqrstuvwx\n").unwrap();
        assert!(!line.contains("hf_abcdefghijklmnopqrstuvwx"), "{line}");
        let long = last_line(&"x".repeat(500)).unwrap();
        assert_eq!(long.chars().count(), LINE_CHARS + 1);
    }

    #[test]
    fn the_last_line_of_a_file_reads_only_its_tail() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("log");
        let mut text = "early line\n".repeat(2000);
        text.push_str("step 3 of 7\n");
        fs_err::write(&path, text).unwrap();
        assert_eq!(last_line_of(&path).as_deref(), Some("step 3 of 7"));
        assert_eq!(last_line_of(&tmp.path().join("missing")), None);
    }

    #[test]
    fn events_serialise_with_their_kind() {
        let e = Event::BisectStep {
            step: 3,
            at_most: 7,
            role: "step".into(),
            commit: "abc1234".into(),
            subject: "s".into(),
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["event"], "bisect_step");
        assert_eq!(v["at_most"], 7);
    }
}
