//! tether keeps a Python wrapper project working while the upstream model
//! repository it embeds keeps moving.
//!
//! The library owns all behaviour and returns data; the `tether` binary
//! parses arguments, renders results and maps them to exit codes.

pub mod analysis;
pub mod config;
pub mod env;
pub mod exit;
pub mod redact;
pub mod report;
pub mod state;
pub mod upstream;
