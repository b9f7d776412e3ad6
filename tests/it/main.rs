//! tether's integration tests: one binary, real git repositories, the real
//! `tether` binary as a child process.

mod analyze;
mod analyze_caps;
mod analyze_local;
mod baseline;
mod bisect;
mod canary;
mod check;
mod comfy;
mod config_errors;
mod crash;
mod dashboard;
mod demo_comfy;
mod demo_project;
mod endpoint;
mod full_disk;
mod gpu;
mod group;
mod health;
mod held;
mod html_browser;
mod paused;
mod pinned;
mod progress;
mod report_open;
mod secrets;
mod subtree;
mod support;
mod tidy;
mod update;
mod update_primitives;
mod vendored_base;
mod vendored_merge;
mod vendored_world;
mod watch;
