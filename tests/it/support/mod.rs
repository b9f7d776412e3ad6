//! Test support: real git repositories in temp dirs with fixed authors and
//! commit times (stable hashes), git isolated from the user's config, and a
//! way to run the real `tether` binary.

#![allow(dead_code)]

pub mod git;
pub mod sample;
pub mod tether;

pub use git::GitRepo;
pub use tether::Tether;
