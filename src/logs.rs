//! Owns tether's log output: human-readable lines on stderr, and for the
//! service JSON lines (with the `run_id` of the cycle's span) in daily,
//! private (0600) files under `<state>/logs/`. Every byte written goes
//! through [`crate::redact::redact`]. `TETHER_LOG` sets the filter.

use std::io::Write;
use std::path::{Path, PathBuf};

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
        && crate::env::var_os(crate::env::NO_COLOR).is_none();
    let human = tracing_subscriber::fmt::layer()
        .with_writer(Redacting(|| ProgressAwareStderr))
        .with_ansi(color)
        .with_target(false)
        .with_filter(filter());
    let (file, guard) = match json {
        None => (None, None),
        Some((dir, keep_days)) => match DailyFiles::open(dir, keep_days.max(1) as usize) {
            Ok(files) => {
                let (writer, guard) = tracing_appender::non_blocking(files);
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
        },
    };
    let _ = tracing_subscriber::registry()
        .with(human)
        .with(file)
        .try_init();
    guard
}

/// The service's daily log files, `tether.<YYYY-MM-DD>.jsonl` (UTC days),
/// created private (0600) in a private folder; at each new day the files
/// past the newest `keep` are removed.
struct DailyFiles {
    dir: PathBuf,
    keep: usize,
    day: String,
    file: Option<fs_err::File>,
}

impl DailyFiles {
    fn open(dir: &Path, keep: usize) -> std::io::Result<DailyFiles> {
        crate::state::create_private_dir(dir)?;
        let mut files = DailyFiles {
            dir: dir.to_path_buf(),
            keep,
            day: String::new(),
            file: None,
        };
        files.current()?;
        Ok(files)
    }

    /// Today's file, opened (and the oldest removed) when the day changed.
    fn current(&mut self) -> std::io::Result<&mut fs_err::File> {
        let day = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
        if self.file.is_none() || day != self.day {
            let path = self.dir.join(format!("tether.{day}.jsonl"));
            self.file = Some(crate::state::append_private_file(&path)?);
            self.day = day;
            self.prune();
        }
        self.file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("no log file"))
    }

    fn prune(&self) {
        let Ok(entries) = fs_err::read_dir(&self.dir) else {
            return;
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("tether.") && n.ends_with(".jsonl"))
            .collect();
        names.sort();
        let extra = names.len().saturating_sub(self.keep);
        for n in &names[..extra] {
            let _ = fs_err::remove_file(self.dir.join(n));
        }
    }
}

impl Write for DailyFiles {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.current()?.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

/// stderr, written through [`crate::progress::suspend`] so that a log line
/// and the progress bars drawn on the terminal do not tear each other.
pub struct ProgressAwareStderr;

impl Write for ProgressAwareStderr {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut result = Ok(());
        crate::progress::suspend(&mut || result = std::io::stderr().write_all(bytes));
        result.map(|()| bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
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
    fn daily_files_are_private_and_pruned() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state/logs");
        fs_err::create_dir_all(&dir).unwrap();
        for day in ["2020-01-01", "2020-01-02", "2020-01-03"] {
            fs_err::write(dir.join(format!("tether.{day}.jsonl")), "{}\n").unwrap();
        }
        fs_err::write(dir.join("other.txt"), "kept").unwrap();
        let mut files = DailyFiles::open(&dir, 2).unwrap();
        files.write_all(b"{\"msg\":1}\n").unwrap();
        files.flush().unwrap();
        let mut names: Vec<String> = fs_err::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let today = format!("tether.{}.jsonl", files.day);
        assert_eq!(
            names,
            ["other.txt", "tether.2020-01-03.jsonl", today.as_str()]
        );
        let mode = fs_err::metadata(dir.join(&today))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            fs_err::read_to_string(dir.join(&today)).unwrap(),
            "{\"msg\":1}\n"
        );
    }

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
