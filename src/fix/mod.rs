//! Owns repairing a failing baseline in a staged wrapper tree: classifying
//! each failure (`classify`), the strategy families that each try one kind
//! of repair (`strategies`), the bounded fix-and-retest loop
//! (`attempt_loop`), and its debug log and attempt records (`log`).
//!
//! Strategies change files in the staged tree only and say which; the
//! caller (through [`Bench`]) commits them, re-runs the baseline and drops a
//! fix that made things worse.

pub mod attempt_loop;
pub mod classify;
mod error;
pub mod log;
pub mod media;
pub mod pysrc;
pub mod signature;
pub mod stop;
pub mod strategies;

pub use attempt_loop::{AttemptRecord, AttemptResult, Bench, LoopInput, LoopOutcome, run_loop};
pub use classify::{DriftKind, Failure, FailureClass, WorkflowProblem, classify};
pub use error::FixError;
pub use stop::{NextAction, StopReason, SwitchReason};
pub use strategies::{AppliedFix, FixContext, Strategy, strategies_for};
