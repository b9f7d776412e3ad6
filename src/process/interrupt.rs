//! Ctrl-C (and SIGTERM, SIGHUP) while a child runs. Children run in their
//! own process group, so the terminal's SIGINT never reaches them; without
//! this, killing tether would orphan a running case. With the handler
//! installed, the first signal stops the running child (SIGTERM to its group,
//! grace, SIGKILL) and makes [`interrupted`] true; a signal while no child
//! runs, or a second signal, exits at once with 128 + the signal number.
//!
//! The signals are blocked in every thread and taken by `sigwait` on a
//! thread of their own, except in the short window in which a thread spawns
//! a child (the child must start with them unblocked). A signal the kernel
//! delivers to that thread then would meet the default action and kill
//! tether on the spot, so each has a real handler too (`signal-hook`'s flag):
//! it only notes the signal, which is sent again to the process once the
//! window closes, and the waiting thread takes it as usual.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use nix::sys::signal::{SigSet, SigmaskHow, Signal};

pub(super) static INSTALLED: AtomicBool = AtomicBool::new(false);
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Service mode: a first signal never exits at once, and SIGHUP asks for a
/// reload instead of stopping.
static SERVICE: AtomicBool = AtomicBool::new(false);
static RELOAD: AtomicBool = AtomicBool::new(false);
static RUNNING: AtomicUsize = AtomicUsize::new(0);
/// Per signal of [`signals`], set by its handler: the signal reached a
/// thread in its unblocked window instead of the waiting thread.
static CAUGHT: OnceLock<Vec<(Signal, Arc<AtomicBool>)>> = OnceLock::new();

const HANDLED: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

pub(super) fn signals() -> SigSet {
    let mut set = SigSet::empty();
    for s in HANDLED {
        set.add(s);
    }
    set
}

/// Real handlers that only note a signal (see the module comment).
fn note_stray_signals() -> std::io::Result<()> {
    let mut caught = Vec::with_capacity(HANDLED.len());
    for sig in HANDLED {
        let flag = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(sig as i32, Arc::clone(&flag))?;
        caught.push((sig, flag));
    }
    let _ = CAUGHT.set(caught);
    Ok(())
}

/// Sends the signals noted in an unblocked window to the process again, now
/// that every thread blocks them: the waiting thread takes them.
fn pass_on_stray_signals() {
    for (sig, flag) in CAUGHT.get().into_iter().flatten() {
        if flag.swap(false, Ordering::SeqCst) {
            let _ = nix::sys::signal::kill(nix::unistd::getpid(), *sig);
        }
    }
}

/// Installs the handler: blocks SIGINT, SIGTERM and SIGHUP in the calling
/// thread and waits for them on a thread of its own. Call it first thing in
/// `main`, before any other thread starts (threads inherit the mask).
pub fn install_interrupt_handler() -> std::io::Result<()> {
    let set = signals();
    set.thread_block().map_err(std::io::Error::from)?;
    note_stray_signals()?;
    INSTALLED.store(true, Ordering::SeqCst);
    std::thread::Builder::new()
        .name("tether-signals".into())
        .spawn(move || {
            while let Ok(sig) = set.wait() {
                let service = SERVICE.load(Ordering::SeqCst);
                if service && sig == Signal::SIGHUP {
                    RELOAD.store(true, Ordering::SeqCst);
                    tracing::info!("SIGHUP: the config will be reloaded");
                    continue;
                }
                let again = INTERRUPTED.swap(true, Ordering::SeqCst);
                if again || (!service && RUNNING.load(Ordering::SeqCst) == 0) {
                    std::process::exit(128 + sig as i32);
                }
                if service {
                    tracing::warn!(
                        signal = sig.as_str(),
                        "stopping: running children are stopped, an unfinished update is rolled back; send it again to quit at once"
                    );
                    continue;
                }
                tracing::warn!(
                    signal = sig.as_str(),
                    "stopping the running child process; send it again to quit at once"
                );
            }
        })?;
    Ok(())
}

/// Switches the handler to service mode (`tether watch`): SIGTERM and SIGINT
/// set [`interrupted`] and stop the running child, but leave the exit to the
/// service; SIGHUP sets [`take_reload`] instead.
pub fn set_service_mode() {
    SERVICE.store(true, Ordering::SeqCst);
}

/// Whether a reload was asked for (SIGHUP in service mode) since the last call.
pub fn take_reload() -> bool {
    RELOAD.swap(false, Ordering::SeqCst)
}

/// Whether tether was asked to stop (by a signal, with the handler installed).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Counts a running child (or other work tether stops itself on a first
/// signal, such as a run's Slurm jobs) for as long as it lives: while one
/// is counted, a first signal sets [`interrupted`] instead of exiting.
pub struct RunningGuard;

impl RunningGuard {
    // not `Default`: making one counts work, which a default value should not
    #[allow(clippy::new_without_default)]
    #[must_use = "the work is counted only while the guard lives"]
    pub fn new() -> RunningGuard {
        RUNNING.fetch_add(1, Ordering::SeqCst);
        RunningGuard
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs `spawn` with the handler's signals unblocked in this thread, so the
/// child (which inherits the mask through `exec`) starts with them
/// deliverable. Without the handler installed it just runs `spawn`.
pub(super) fn with_signals_unblocked<T>(spawn: impl FnOnce() -> T) -> T {
    if !INSTALLED.load(Ordering::SeqCst) {
        return spawn();
    }
    let old = signals().thread_swap_mask(SigmaskHow::SIG_UNBLOCK);
    // a test holds the window open here (`sleep(ms)`) to signal tether in it
    crate::failpoint::hit("process.spawn.unblocked");
    let out = spawn();
    if let Ok(old) = old {
        let _ = old.thread_set_mask();
    }
    pass_on_stray_signals();
    out
}
