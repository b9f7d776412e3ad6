//! Every environment variable tether reads, declared in one place.

/// Log filter for tether's own logs (`tracing` env-filter syntax), e.g.
/// `TETHER_LOG=tether=debug`. Default: `info`.
pub const TETHER_LOG: &str = "TETHER_LOG";

/// Fixes "now" for soak and report timestamps, as seconds since the Unix
/// epoch (like `SOURCE_DATE_EPOCH`), so reports are reproducible.
pub const TETHER_NOW: &str = "TETHER_NOW";

/// The config file used when `--config` is not given. Default: `./tether.toml`.
pub const TETHER_CONFIG: &str = "TETHER_CONFIG";

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
