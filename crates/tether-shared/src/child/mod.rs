//! Owns running one child process to its end: spawned in its own process
//! group with stdin closed, stdout and stderr streamed to private log files,
//! redacted line by line as they arrive (cut at a size limit, memory bounded
//! whatever the output volume), a timeout that sends SIGTERM to the whole
//! group and SIGKILL after a grace period, cancellation, and a final SIGKILL
//! to the group so no grandchild outlives the run. What a long-lived caller
//! adds around a run (tether's Ctrl-C forwarding and its registry of
//! children) comes in through a [`Supervisor`]; this module keeps no global
//! state.

mod capture;
mod redact_stream;

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// How often the child is polled for exit, cancellation and timeout.
const POLL: Duration = Duration::from_millis(20);
/// How often `on_tick` is called while waiting.
const TICK: Duration = Duration::from_millis(100);
/// How long the log readers may take to drain the pipes once the group is
/// dead (a process that left the group may still hold a pipe open).
const DRAIN: Duration = Duration::from_secs(5);
/// Size of each tail kept in [`ProcessOutcome`].
pub const TAIL_BYTES: usize = 16 * 1024;

/// What to run and how.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// Program and arguments; `argv[0]` is looked up in `PATH`.
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    /// Added to (or replacing in) tether's own environment.
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    /// Time between SIGTERM and SIGKILL when the run is stopped.
    pub grace: Duration,
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
    /// Each log file is cut at this many bytes; the rest is read and dropped.
    pub max_log_bytes: u64,
    /// Set to `true` to stop the run (SIGTERM, grace, SIGKILL).
    pub cancel: Option<Arc<AtomicBool>>,
}

/// How a child process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Exit {
    /// It exited by itself with this code.
    Code(i32),
    /// It was killed by this signal (not by tether).
    Signal(i32),
    /// tether stopped it at its timeout.
    TimedOut,
    /// tether stopped it because the run was cancelled.
    Cancelled,
}

impl Exit {
    pub fn success(self) -> bool {
        self == Exit::Code(0)
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Exit::Code(c) => write!(f, "exit code {c}"),
            Exit::Signal(s) => match Signal::try_from(s) {
                Ok(sig) => write!(f, "killed by signal {s} ({})", sig.as_str()),
                Err(_) => write!(f, "killed by signal {s}"),
            },
            Exit::TimedOut => f.write_str("timed out"),
            Exit::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// What a finished run produced.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ProcessOutcome {
    pub exit: Exit,
    /// From spawn until the child was reaped.
    pub duration: Duration,
    /// The last [`TAIL_BYTES`] of the child's redacted stdout (even past the
    /// log cut), lossy UTF-8.
    pub stdout_tail: String,
    pub stderr_tail: String,
    /// Bytes the child wrote to stdout, including those past the log cut.
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
    /// Whether either log file was cut at `max_log_bytes`.
    pub truncated: bool,
}

/// Why a child could not be run (how it ended is an [`Exit`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    #[error("empty command: nothing to run")]
    EmptyCommand,
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create log file `{}`", path.display())]
    Log {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot wait for `{program}`")]
    Wait {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

/// What a caller adds around each run: what the child must not inherit
/// (tether's fetch credentials), how it is started (tether unblocks its
/// signal mask for the spawn and registers the child) and when it must stop
/// (tether's Ctrl-C).
pub trait Supervisor {
    /// Held from the spawn until the child and its group are gone.
    type Guard;
    /// Whether the variable `key` of this process's environment is kept from
    /// the child ([`ProcessSpec::env`] still sets what it names).
    fn withholds(&self, key: &str) -> bool {
        let _ = key;
        false
    }
    /// Starts `cmd`, which is set up (group, pipes, directory, environment).
    fn spawn(&self, cmd: &mut Command, argv: &[String]) -> std::io::Result<(Child, Self::Guard)>;
    /// Whether the run must stop now, as cancelled.
    fn interrupted(&self) -> bool {
        false
    }
}

/// No supervision: a plain spawn, stopped only by its timeout or its
/// [`ProcessSpec::cancel`] flag (the worker's `ffmpeg` runs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unsupervised;

impl Supervisor for Unsupervised {
    type Guard = ();
    fn spawn(&self, cmd: &mut Command, _argv: &[String]) -> std::io::Result<(Child, ())> {
        Ok((cmd.spawn()?, ()))
    }
}

/// Runs a child process to its end, its timeout or its cancellation.
/// `on_tick` is called about every 100 ms while the child runs (e.g. to
/// sample GPU memory).
pub fn run(spec: &ProcessSpec, on_tick: &mut dyn FnMut()) -> Result<ProcessOutcome, ChildError> {
    run_supervised(spec, &Unsupervised, on_tick)
}

/// [`run`], with `supervisor` starting the child and able to stop it.
pub fn run_supervised<S: Supervisor>(
    spec: &ProcessSpec,
    supervisor: &S,
    on_tick: &mut dyn FnMut(),
) -> Result<ProcessOutcome, ChildError> {
    let program = spec.argv.first().ok_or(ChildError::EmptyCommand)?.clone();
    let stdout_file = capture::create_log(&spec.stdout_path)?;
    let stderr_file = capture::create_log(&spec.stderr_path)?;

    let mut cmd = Command::new(&program);
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(|k| supervisor.withholds(k)) {
            cmd.env_remove(key);
        }
    }
    cmd.args(&spec.argv[1..])
        .current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let start = Instant::now();
    let (mut child, _guard) =
        supervisor
            .spawn(&mut cmd, &spec.argv)
            .map_err(|source| ChildError::Spawn {
                program: program.clone(),
                source,
            })?;
    let pgid = Pid::from_raw(child.id() as i32);
    tracing::debug!(program = %program, pid = child.id(), "started child process");

    let out = capture::Capture::start(child.stdout.take(), stdout_file, spec.max_log_bytes);
    let err = capture::Capture::start(child.stderr.take(), stderr_file, spec.max_log_bytes);

    let mut ticker = Ticker {
        last: None,
        on_tick,
    };
    let stop = || {
        supervisor.interrupted()
            || spec
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::SeqCst))
    };
    let waited = wait(&mut child, spec, pgid, start, &stop, &mut ticker);
    let duration = start.elapsed();
    // Whatever the child left behind in its group goes too (also when
    // waiting failed).
    let _ = killpg(pgid, Signal::SIGKILL);
    let (status, stopped) = waited.map_err(|source| ChildError::Wait {
        program: program.clone(),
        source,
    })?;

    let deadline = Instant::now() + DRAIN;
    let out = out.finish(deadline);
    let err = err.finish(deadline);

    let exit = stopped.unwrap_or_else(|| exit_of(status));
    tracing::debug!(program = %program, %exit, ?duration, "child process finished");
    Ok(ProcessOutcome {
        exit,
        duration,
        stdout_tail: crate::redact::redact(&String::from_utf8_lossy(&out.tail)).into_owned(),
        stderr_tail: crate::redact::redact(&String::from_utf8_lossy(&err.tail)).into_owned(),
        stdout_bytes: out.total,
        stderr_bytes: err.total,
        truncated: out.truncated || err.truncated,
    })
}

/// Waits for the child to exit, stopping its group at the timeout or when
/// `stop` says so; returns its status and why it was stopped, if it was.
fn wait(
    child: &mut Child,
    spec: &ProcessSpec,
    pgid: Pid,
    start: Instant,
    stop: &dyn Fn() -> bool,
    ticker: &mut Ticker<'_>,
) -> std::io::Result<(ExitStatus, Option<Exit>)> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok((status, None));
        }
        let why = if stop() {
            Some(Exit::Cancelled)
        } else if start.elapsed() >= spec.timeout {
            Some(Exit::TimedOut)
        } else {
            None
        };
        if let Some(why) = why {
            tracing::info!(pid = child.id(), ?why, "stopping child process group");
            return Ok((stop_group(child, pgid, spec.grace, ticker)?, why.into()));
        }
        ticker.tick();
        std::thread::sleep(POLL);
    }
}

/// SIGTERM to the group, up to `grace` for the child to exit, then SIGKILL.
fn stop_group(
    child: &mut Child,
    pgid: Pid,
    grace: Duration,
    ticker: &mut Ticker<'_>,
) -> std::io::Result<ExitStatus> {
    let _ = killpg(pgid, Signal::SIGTERM);
    let until = Instant::now() + grace;
    while Instant::now() < until {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        ticker.tick();
        std::thread::sleep(POLL);
    }
    let _ = killpg(pgid, Signal::SIGKILL);
    child.wait()
}

/// Calls `on_tick` at most every [`TICK`].
struct Ticker<'a> {
    last: Option<Instant>,
    on_tick: &'a mut dyn FnMut(),
}

impl Ticker<'_> {
    fn tick(&mut self) {
        if self.last.is_none_or(|t| t.elapsed() >= TICK) {
            self.last = Some(Instant::now());
            (self.on_tick)();
        }
    }
}

fn exit_of(status: ExitStatus) -> Exit {
    match (status.code(), status.signal()) {
        (Some(c), _) => Exit::Code(c),
        (None, Some(s)) => Exit::Signal(s),
        (None, None) => Exit::Code(-1),
    }
}

#[cfg(test)]
mod tests;
