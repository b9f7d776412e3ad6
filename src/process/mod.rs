//! Owns every child process tether starts. How one child runs (own process
//! group, stdin closed, redacted logs with bounded memory, timeout with
//! SIGTERM, grace and SIGKILL, cancellation) is `tether_shared::child`,
//! shared with the `tether-gpu` worker; this module adds what only tether
//! needs around each run: tether's fetch credentials kept out of the child's
//! environment, Ctrl-C forwarded to the running child (`interrupt`), the
//! registry that lets the next command stop children a killed tether left
//! behind (`registry`), and command templates (`template`).

mod interrupt;
mod registry;
mod template;

use std::process::{Child, Command};

use tether_shared::child::{self, Supervisor};

pub use interrupt::{
    RunningGuard, install_interrupt_handler, interrupted, set_service_mode, take_reload,
};
pub use registry::{is_running, own_identity, reap_orphans, set_registry};
pub use template::render_template;
pub use tether_shared::child::{ChildError, Exit, ProcessOutcome, ProcessSpec, TAIL_BYTES};

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The child could not be started, logged or waited for.
    #[error(transparent)]
    Run(#[from] ChildError),
    #[error("cannot split command template `{template}` into words: {message}")]
    Split { template: String, message: String },
    #[error("unknown placeholder `{{{name}}}` in command template `{template}`")]
    UnknownPlaceholder { name: String, template: String },
}

/// Runs a child process to its end, its timeout, its cancellation or
/// tether's interruption. `on_tick` is called about every 100 ms while the
/// child runs (e.g. to sample GPU memory).
pub fn run(spec: &ProcessSpec, on_tick: &mut dyn FnMut()) -> Result<ProcessOutcome, ProcessError> {
    Ok(child::run_supervised(spec, &Tracked, on_tick)?)
}

/// tether's supervision of a child: counted by the interrupt handler while
/// it runs, recorded in the registry, stopped on Ctrl-C.
struct Tracked;

impl Supervisor for Tracked {
    type Guard = (interrupt::RunningGuard, registry::Registration);

    /// tether's fetch credentials are no business of a child's.
    fn withholds(&self, key: &str) -> bool {
        key.starts_with(crate::env::TETHER_TOKEN_PREFIX)
    }

    fn spawn(&self, cmd: &mut Command, argv: &[String]) -> std::io::Result<(Child, Self::Guard)> {
        let running = interrupt::RunningGuard::new();
        let child = interrupt::with_signals_unblocked(|| cmd.spawn())?;
        let registered = registry::register(child.id(), argv);
        Ok((child, (running, registered)))
    }

    fn interrupted(&self) -> bool {
        interrupted()
    }
}

#[cfg(test)]
mod tests;
