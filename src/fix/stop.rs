//! Why the fix loop stopped, what it does after each attempt, and why it
//! switched away from a strategy: typed, with the sentence a person reads
//! as their `Display`. In JSON each is an object with a `kind`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::classify::FailureClass;
use crate::config::StrategyKind;

/// Why the fix loop stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StopReason {
    /// The baseline passed before any attempt.
    NothingToFix,
    /// The baseline passes after the attempts.
    Fixed,
    /// tether was asked to stop (a signal).
    Interrupted,
    /// `update.max_attempts = 0`.
    Off,
    AttemptLimit {
        max: u32,
    },
    /// Another baseline run would pass `update.gpu_minutes_budget`.
    GpuBudget {
        used: f64,
        budget: f64,
        per_run: f64,
    },
    /// The cluster failed a case's job twice (node failure, preemption,
    /// pending too long): no fix can help, and the tree is not to blame.
    Infrastructure {
        case: String,
        message: String,
    },
    /// No strategy applies to the first failure any more.
    NoStrategyLeft {
        class: FailureClass,
        message: String,
        case: String,
        switched_away: Vec<StrategyKind>,
    },
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::NothingToFix => write!(f, "the baseline passes; nothing to fix"),
            StopReason::Fixed => write!(f, "the baseline passes"),
            StopReason::Interrupted => write!(f, "tether was asked to stop (a signal)"),
            StopReason::Off => write!(f, "the fix loop is off (update.max_attempts = 0)"),
            StopReason::Infrastructure { case, message } => write!(
                f,
                "the cluster failed case `{case}` ({message}); not a failure of the tree, nothing to fix"
            ),
            StopReason::AttemptLimit { max } => write!(f, "the attempt limit ({max}) is reached"),
            StopReason::GpuBudget {
                used,
                budget,
                per_run,
            } => write!(
                f,
                "the GPU budget would be passed: {used:.1} of {budget:.1} minutes used and a baseline run takes {per_run:.1}"
            ),
            StopReason::NoStrategyLeft {
                class,
                message,
                case,
                switched_away,
            } => {
                write!(
                    f,
                    "no strategy left for {}: {message} (case {case})",
                    class.name()
                )?;
                if !switched_away.is_empty() {
                    let names: Vec<&str> = switched_away.iter().map(|k| k.as_str()).collect();
                    write!(f, "; switched away from {}", names.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

/// Why the loop switched away from a strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SwitchReason {
    /// The same failure came back this many times after the strategy.
    Repeated { times: u32, strategy: StrategyKind },
    /// This many attempts of the strategy made no progress.
    NoProgress {
        attempts: u32,
        strategy: StrategyKind,
    },
    /// The strategy itself failed.
    Failed { strategy: StrategyKind },
}

impl fmt::Display for SwitchReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwitchReason::Repeated { times, strategy } => write!(
                f,
                "the same failure came back {times} times after {strategy}"
            ),
            SwitchReason::NoProgress { attempts, strategy } => {
                write!(f, "{attempts} attempts of {strategy} without progress")
            }
            SwitchReason::Failed { strategy } => write!(f, "{strategy} failed"),
        }
    }
}

/// What the loop does after an attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NextAction {
    /// Nothing: the baseline passes.
    None,
    /// Stop: the attempt limit is reached.
    Stop { max_attempts: u32 },
    /// The fix broke these cases and was dropped; then switch or retry.
    Dropped {
        broke: Vec<String>,
        switch: Option<SwitchReason>,
    },
    /// Switch to the next strategy.
    Switch { why: SwitchReason },
    /// Fix the next failure.
    NextFailure { class: FailureClass, case: String },
    /// Retry the strategy on the same failure.
    Retry { strategy: StrategyKind },
}

impl fmt::Display for NextAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NextAction::None => write!(f, "none: the baseline passes"),
            NextAction::Stop { max_attempts } => {
                write!(f, "stop: the attempt limit ({max_attempts}) is reached")
            }
            NextAction::Dropped { broke, switch } => {
                write!(f, "dropped the fix (it broke {}); ", broke.join(", "))?;
                match switch {
                    Some(r) => write!(f, "switch strategy: {r}"),
                    None => write!(f, "try again"),
                }
            }
            NextAction::Switch {
                why: SwitchReason::Failed { strategy },
            } => write!(
                f,
                "switch away from {strategy} (it failed) and try the next strategy"
            ),
            NextAction::Switch { why } => write!(f, "switch strategy: {why}"),
            NextAction::NextFailure { class, case } => {
                write!(f, "fix the next failure: {} (case {case})", class.name())
            }
            NextAction::Retry { strategy } => write!(f, "retry {strategy} on the same failure"),
        }
    }
}
