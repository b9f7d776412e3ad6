//! tether's integration tests: one binary, real git repositories, the real
//! `tether` binary as a child process.

mod analyze;
mod check;
mod support;
