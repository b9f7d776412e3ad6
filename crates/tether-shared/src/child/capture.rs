//! One reader thread per child pipe: redacts the stream line by line as it
//! arrives (`redact_stream`; the raw stream is never written) and copies it
//! into its private (0600) log file up to the size limit, keeps reading (and
//! dropping) past it so the child never blocks on a full pipe, and keeps the
//! redacted stream's last bytes in a bounded ring.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use super::redact_stream::StreamRedactor;
use super::{ChildError, TAIL_BYTES};

const BUF_BYTES: usize = 64 * 1024;

/// Creates (or truncates) a private log file, with its folder.
pub(super) fn create_log(path: &Path) -> Result<fs_err::File, ChildError> {
    crate::files::create_private_file(path).map_err(|source| ChildError::Log {
        path: path.to_path_buf(),
        source,
    })
}

#[derive(Default)]
struct State {
    total: u64,
    truncated: bool,
    tail: VecDeque<u8>,
}

/// What one stream produced.
pub(super) struct Captured {
    pub total: u64,
    pub truncated: bool,
    pub tail: Vec<u8>,
}

pub(super) struct Capture {
    state: Arc<Mutex<State>>,
    done: Option<Receiver<()>>,
}

impl Capture {
    /// Starts draining `pipe` into `file` on its own thread.
    pub fn start<R: Read + Send + 'static>(
        pipe: Option<R>,
        file: fs_err::File,
        max_bytes: u64,
    ) -> Capture {
        let state = Arc::new(Mutex::new(State::default()));
        let Some(pipe) = pipe else {
            return Capture { state, done: None };
        };
        let (tx, rx) = mpsc::channel();
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            drain(pipe, file, max_bytes, &shared);
            let _ = tx.send(());
        });
        Capture {
            state,
            done: Some(rx),
        }
    }

    /// Waits for the stream to end, at most until `deadline`, and returns
    /// what was read so far.
    pub fn finish(self, deadline: Instant) -> Captured {
        if let Some(rx) = &self.done {
            let left = deadline.saturating_duration_since(Instant::now());
            if rx.recv_timeout(left).is_err() {
                tracing::warn!(
                    "a child's output pipe is still open after its process group was killed \
                     (a process outside the group holds it); not waiting for it"
                );
            }
        }
        let st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        Captured {
            total: st.total,
            truncated: st.truncated,
            tail: st.tail.iter().copied().collect(),
        }
    }
}

fn drain(mut pipe: impl Read, file: fs_err::File, max_bytes: u64, state: &Mutex<State>) {
    let mut buf = vec![0u8; BUF_BYTES];
    let mut redactor = StreamRedactor::default();
    let mut out = Vec::with_capacity(BUF_BYTES);
    let mut sink = Sink {
        file,
        max_bytes,
        written: 0,
        writable: true,
    };
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read a child's output; stopped reading");
                break;
            }
        };
        out.clear();
        redactor.push(&buf[..n], &mut out);
        sink.write(&out, n as u64, state);
    }
    out.clear();
    redactor.finish(&mut out);
    sink.write(&out, 0, state);
    let _ = sink.file.flush();
}

/// The log file (up to its limit) and the tail ring, fed redacted bytes.
struct Sink {
    file: fs_err::File,
    max_bytes: u64,
    written: u64,
    writable: bool,
}

impl Sink {
    /// Writes redacted bytes; `read` raw bytes were read to make them.
    fn write(&mut self, chunk: &[u8], read: u64, state: &Mutex<State>) {
        let n = chunk.len();
        let room = self.max_bytes.saturating_sub(self.written);
        let take = (n as u64).min(room) as usize;
        if self.writable && take > 0 {
            match self.file.write_all(&chunk[..take]) {
                Ok(()) => self.written += take as u64,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot write a child's log; output dropped");
                    self.writable = false;
                }
            }
        }
        let mut st = state.lock().unwrap_or_else(PoisonError::into_inner);
        st.total += read;
        if take < n {
            st.truncated = true;
        }
        if n >= TAIL_BYTES {
            st.tail.clear();
            st.tail.extend(&chunk[n - TAIL_BYTES..]);
        } else {
            st.tail.extend(chunk);
            let excess = st.tail.len().saturating_sub(TAIL_BYTES);
            st.tail.drain(..excess);
        }
    }
}
