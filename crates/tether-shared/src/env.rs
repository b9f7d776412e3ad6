//! The environment variables the shared code reads (`tether::env` declares
//! the rest); the only module of this crate that reads the environment
//! (`clippy.toml` bans `std::env::var` and `var_os` everywhere else).
#![allow(clippy::disallowed_methods)]

use std::ffi::OsString;

/// The search path for programs (`ffmpeg`, `tether-gpu`, a case's command).
pub const PATH: &str = "PATH";

/// The value of `name`, when set.
pub fn var_os(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}
