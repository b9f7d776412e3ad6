//! Owns tether's log output: human-readable lines on stderr, and for the
//! service JSON lines (with the `run_id` of the cycle's span) in daily files
//! under `<state>/logs/`. Every byte written goes through
//! [`crate::redact::redact`]. `TETHER_LOG` sets the filter.

use std::io::Write;
use std::path::Path;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Keeps the file writer's background thread alive; drop it last.
pub type Guard = Option<tracing_appender::non_blocking::WorkerGuard>;

/// Sets up logging. `verbose` raises the default level (0 warn, 1 debug, 2
/// trace); `json` adds daily JSON files in that folder, kept `keep_days`.
pub fn init(verbose: u8, json: Option<(&Path, u32)>) -> Guard {
    let default = match (verbose, json.is_some()) {
        (0, false) => "warn",
        (0, true) => "info",
        (1, _) => "tether=debug,info",
        _ => "tether=trace,debug",
    };
    let filter = || {
        EnvFilter::try_from_env(crate::env::TETHER_LOG).unwrap_or_else(|_| EnvFilter::new(default))
    };
    let color = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let human = tracing_subscriber::fmt::layer()
        .with_writer(Redacting(std::io::stderr))
        .with_ansi(color)
        .with_target(false)
        .with_filter(filter());
    let (file, guard) = match json {
        None => (None, None),
        Some((dir, keep_days)) => {
            let _ = fs_err::create_dir_all(dir);
            let appender = tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix("tether")
                .filename_suffix("jsonl")
                .max_log_files(keep_days.max(1) as usize)
                .build(dir);
            match appender {
                Ok(a) => {
                    let (writer, guard) = tracing_appender::non_blocking(a);
                    let layer = tracing_subscriber::fmt::layer()
                        .json()
                        .with_current_span(true)
                        .with_span_list(false)
                        .with_writer(Redacting(writer))
                        .with_filter(filter());
                    (Some(layer), Some(guard))
                }
                Err(e) => {
                    eprintln!("warning: cannot write logs to `{}`: {e}", dir.display());
                    (None, None)
                }
            }
        }
    };
    let _ = tracing_subscriber::registry()
        .with(human)
        .with(file)
        .try_init();
    guard
}

/// A [`MakeWriter`] whose writers redact what they write. A formatted event
/// arrives in pieces; each writer buffers it and writes it, redacted, when
/// dropped (once per event).
pub struct Redacting<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.0.make_writer(),
            buf: Vec::new(),
        }
    }
}

pub struct RedactingWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buf);
        let _ = self
            .inner
            .write_all(crate::redact::redact(&text).as_bytes());
        let _ = self.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_text_is_redacted_once_per_writer() {
        let mut out = Vec::new();
        {
            let mut w = RedactingWriter {
                inner: &mut out,
                buf: Vec::new(),
            };
            w.write_all(b"token: hf_abcdefghijklmnopqrstuvwx").unwrap();
            w.write_all(b" and more\n").unwrap();
        }
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("hf_abcdefghijklmnopqrstuvwx"), "{text}");
        assert!(text.ends_with(" and more\n"), "{text}");
    }
}
