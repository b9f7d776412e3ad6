//! The Slurm cluster as `tether health` sees it, when any case runs on the
//! slurm executor: whether the controller answers, whether the partitions of
//! the configured targets are up, and how many jobs wait and run in each.

use serde::{Deserialize, Serialize};

use super::{HealthReason, HealthVerdict};
use crate::config::{Config, Executor};
use crate::slurm::{self, QueueDepth};

/// The cluster, or why it cannot be asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterHealth {
    /// Whether the controller answered `sinfo`.
    pub reachable: bool,
    /// The scheduler's own message when it did not.
    pub error: Option<String>,
    /// Each partition a target (or `[slurm]`) sends jobs to.
    pub partitions: Vec<PartitionHealth>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionHealth {
    pub name: String,
    /// The `[[slurm.target]]` names that send jobs there.
    pub targets: Vec<String>,
    /// Whether the cluster knows the partition.
    pub exists: bool,
    /// Whether it is up (accepting and running jobs).
    pub up: bool,
    /// Jobs pending and running there (every user's); `None` when `squeue`
    /// failed.
    pub queue: Option<QueueDepth>,
}

/// `None` when no case runs on the slurm executor.
pub fn read(cfg: &Config) -> Option<ClusterHealth> {
    let uses_slurm = cfg.baseline.executor == Executor::Slurm
        || cfg
            .baseline
            .cases
            .iter()
            .any(|c| c.executor == Some(Executor::Slurm));
    if !uses_slurm {
        return None;
    }
    // the partitions jobs go to, with the targets that send them there
    let mut wanted: Vec<(String, Vec<String>)> = Vec::new();
    let mut add = |p: Option<&String>, target: Option<&str>| {
        let name = p.cloned().unwrap_or_default();
        let i = match wanted.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                wanted.push((name, Vec::new()));
                wanted.len() - 1
            }
        };
        if let Some(t) = target {
            wanted[i].1.push(t.to_owned());
        }
    };
    if cfg.slurm.targets.is_empty() {
        add(cfg.slurm.placement.partition.as_ref(), None);
    }
    for t in &cfg.slurm.targets {
        add(t.placement.partition.as_ref(), Some(&t.name));
    }
    let states = match slurm::partition_states() {
        Ok(s) => s,
        Err(e) => {
            return Some(ClusterHealth {
                reachable: false,
                error: Some(e.to_string()),
                partitions: Vec::new(),
            });
        }
    };
    let default = states.first().map(|(n, _)| n.clone()).unwrap_or_default();
    let default_partition = slurm::default_partition().ok().flatten().unwrap_or(default);
    let partitions = wanted
        .into_iter()
        .map(|(name, targets)| {
            // no partition set: the cluster's default one
            let name = if name.is_empty() {
                default_partition.clone()
            } else {
                name
            };
            let state = states.iter().find(|(n, _)| *n == name);
            PartitionHealth {
                exists: state.is_some(),
                up: state.is_some_and(|(_, up)| *up),
                queue: state.and_then(|_| slurm::queue_depth(&name).ok()),
                name,
                targets,
            }
        })
        .collect();
    Some(ClusterHealth {
        reachable: true,
        error: None,
        partitions,
    })
}

/// An unreachable controller or a target's partition that does not exist
/// fails (no case could run); a partition that is down degrades.
pub(super) fn reasons(c: &ClusterHealth, reasons: &mut Vec<HealthReason>) {
    if !c.reachable {
        reasons.push(HealthReason::new(
            HealthVerdict::Failing,
            format!(
                "the Slurm controller does not answer: {}",
                c.error.as_deref().unwrap_or("")
            ),
        ));
    }
    for p in &c.partitions {
        let whose = if p.targets.is_empty() {
            String::new()
        } else {
            format!(" (target {})", p.targets.join(", "))
        };
        if !p.exists {
            reasons.push(HealthReason::new(
                HealthVerdict::Failing,
                format!("the cluster has no partition `{}`{whose}", p.name),
            ));
        } else if !p.up {
            reasons.push(HealthReason::new(
                HealthVerdict::Degraded,
                format!("Slurm partition `{}`{whose} is not up", p.name),
            ));
        }
    }
}
