//! tether's own installation: the running binary, its version, and whether
//! the `tether-gpu` worker (GPU metrics, the preflight) can be found. Needs
//! no config: `gpu.worker` is used when a config gives one.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::GpuConfig;
use crate::gpu::{Worker, WorkerError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Installation {
    /// The running `tether` binary, when the OS says.
    pub binary: Option<PathBuf>,
    pub version: String,
    pub worker: WorkerLocation,
}

/// Where the `tether-gpu` worker is, or where it was looked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum WorkerLocation {
    Found { path: PathBuf },
    NotFound { looked: String },
}

pub fn read(gpu: &GpuConfig) -> Installation {
    let worker = match Worker::locate(gpu.worker.as_deref(), gpu.timeout) {
        Ok(w) => WorkerLocation::Found { path: w.path },
        Err(WorkerError::NotFound { looked }) => WorkerLocation::NotFound { looked },
        Err(e) => WorkerLocation::NotFound {
            looked: e.to_string(),
        },
    };
    Installation {
        binary: std::env::current_exe().ok(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        worker,
    }
}
