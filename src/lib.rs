//! tether keeps a Python wrapper project working while the upstream model
//! repository it embeds keeps moving.
//!
//! The library owns all behaviour and returns data; the `tether` binary
//! parses arguments, renders results and maps them to exit codes.

pub mod analysis;
pub mod baseline;
pub mod config;
pub mod daemon;
pub mod dashboard;
pub mod demo;
pub mod document;
pub mod duration;
pub mod env;
pub mod exit;
pub mod failpoint;
pub mod fix;
pub mod gpu;
pub mod health;
pub mod logs;
pub mod merge;
pub mod pipeline;
pub mod process;
pub mod progress;
pub mod python_env;
pub mod report;
pub mod slurm;
pub mod state;
pub mod text;
pub mod update;
pub mod upstream;

// What the worker shares with tether lives in `tether-shared`; these keep
// its paths (`crate::media`, `crate::protocol`, `crate::redact`) the same.
pub use tether_shared::{media, protocol, redact};
