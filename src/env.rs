//! Every environment variable tether reads, declared in one place, and the
//! only module that reads the environment (`clippy.toml` bans
//! `std::env::var` and `var_os` everywhere else).
#![allow(clippy::disallowed_methods)]

use std::ffi::OsString;

/// Log filter for tether's own logs (`tracing` env-filter syntax), e.g.
/// `TETHER_LOG=tether=debug`. Default: `info`.
pub const TETHER_LOG: &str = "TETHER_LOG";

/// Fixes "now" for soak and report timestamps, as seconds since the Unix
/// epoch (like `SOURCE_DATE_EPOCH`), so reports are reproducible.
pub const TETHER_NOW: &str = "TETHER_NOW";

/// The config file used when `--config` is not given. Default: `./tether.toml`.
pub const TETHER_CONFIG: &str = "TETHER_CONFIG";

/// The browser `tether report open --browser` starts (the convention of
/// `man`, `git web--browse` and Python's `webbrowser`): a command, or
/// several separated by `:` tried in turn; `%s` in one is replaced by the
/// page's path, else the path is its last argument. Unset: `xdg-open`.
pub const BROWSER: &str = "BROWSER";

/// The current time, honouring [`TETHER_NOW`].
pub fn now() -> jiff::Timestamp {
    std::env::var(TETHER_NOW)
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .unwrap_or_else(jiff::Timestamp::now)
}

/// Path of the `tether-gpu` worker binary; overrides `gpu.worker` and the
/// default (next to the `tether` binary, else on `PATH`).
pub const TETHER_GPU_WORKER: &str = "TETHER_GPU_WORKER";

/// Prefix of the per-upstream credential variable: `TETHER_TOKEN_<NAME>`,
/// `<NAME>` the upstream's name in upper case with every other character
/// than a letter or digit as `_` (upstream `wan2gp`: `TETHER_TOKEN_WAN2GP`).
/// Its value, `TOKEN` or `USER:TOKEN`, is the password (and user name) of
/// an https fetch when the config's URL holds none or the server refused it.
pub const TETHER_TOKEN_PREFIX: &str = "TETHER_TOKEN_";

/// The name of the credential variable of the upstream `upstream`.
pub fn token_var(upstream: &str) -> String {
    let name: String = upstream
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{TETHER_TOKEN_PREFIX}{name}")
}

pub use tether_shared::env::PATH;

/// A file to append the progress events of long work to, one JSON object a
/// line (`{"event":"case_started",...}`; see `tether::progress::Event`),
/// instead of drawing progress bars on stderr. For tests and scripts: the
/// events are written whether or not stderr is a terminal (never in
/// `tether watch`). Unset: bars when stderr is a terminal, else nothing.
pub const TETHER_PROGRESS_FILE: &str = "TETHER_PROGRESS_FILE";

/// Set (to anything) to turn colour off in the terminal logs.
pub const NO_COLOR: &str = "NO_COLOR";

/// Set by Slurm in a job: the partition the job runs in. On a node without
/// a GPU it names the hardware key (`cpu-slurm-<partition>`), so CPU-only
/// partitions keep their own references.
pub const SLURM_JOB_PARTITION: &str = "SLURM_JOB_PARTITION";
/// The user `tether approve` and `tether reject` record as deciding
/// (with the host name); `LOGNAME` when unset.
pub const USER: &str = "USER";
/// The user name when `USER` is unset.
pub const LOGNAME: &str = "LOGNAME";

/// The host name when `/proc/sys/kernel/hostname` cannot be read.
pub const HOSTNAME: &str = "HOSTNAME";

/// The value of `name`, when set and valid Unicode.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The value of `name`, when set.
pub fn var_os(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}
