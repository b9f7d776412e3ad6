//! `tether watch`: the monitoring service (see `tether::daemon`).

use tether::exit;

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Run every configured job at this interval instead of its cron
    /// schedule, e.g. `50ms` (soak benchmarks and tests).
    #[arg(long, value_name = "DURATION", value_parser = tether::duration::parse)]
    pub every: Option<std::time::Duration>,
    /// Stop after this many job runs.
    #[arg(long, value_name = "N")]
    pub max_cycles: Option<u64>,
}

pub fn run(args: &WatchArgs, flag: Option<&std::path::Path>, verbose: u8) -> anyhow::Result<u8> {
    let path = super::config_path(flag);
    let cfg = super::load_config(flag)?;
    let logs = tether::daemon::housekeeping::logs_dir(&cfg);
    let _guard = tether::logs::init(verbose, Some((&logs, cfg.service.keep_logs_days)));
    if let Some(message) = tether::pipeline::recover_if_idle(&cfg)? {
        tracing::warn!(message = %message, "recovered an interrupted update first");
    }
    let opts = tether::daemon::WatchOptions {
        config_path: path,
        every: args.every,
        max_cycles: args.max_cycles,
        pages: Some(tether::dashboard::pages()),
    };
    let summary = tether::daemon::watch(cfg, &opts)?;
    tracing::info!(cycles = summary.cycles, reason = %summary.reason, "service stopped");
    Ok(exit::OK)
}
