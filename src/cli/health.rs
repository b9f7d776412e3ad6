//! `tether health`: the diagnostic report, Markdown or JSON, with the
//! verdict as the exit code; without a config, the system diagnostic.

use std::path::Path;

use tether::config::Config;
use tether::exit;
use tether::health::{HealthOptions, HealthVerdict};

#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Skip the GPU preflight (it starts the tether-gpu worker).
    #[arg(long)]
    pub no_probe: bool,
}

/// With a config, the whole report. Without one (no `--config`, no
/// `$TETHER_CONFIG` and no `./tether.toml`), the system diagnostic that runs
/// anywhere: system, GPUs, the torch stack and tether's installation.
pub fn run(args: &HealthArgs, flag: Option<&Path>) -> anyhow::Result<u8> {
    let opts = HealthOptions {
        no_probe: args.no_probe,
    };
    let explicit = flag.is_some() || tether::env::var_os(tether::env::TETHER_CONFIG).is_some();
    let path = super::config_path(flag);
    let report = if !explicit && !path.exists() {
        tether::health::health_without_config(&std::env::current_dir()?, &opts)
    } else {
        let cfg: Config = super::load_config(flag)?;
        tether::health::health(&cfg, &opts)
    };
    super::print_report(&[&report], args.json)?;
    Ok(match report.verdict {
        HealthVerdict::Healthy => exit::OK,
        HealthVerdict::Degraded => exit::HEALTH_DEGRADED,
        HealthVerdict::Failing => exit::HEALTH_FAILING,
    })
}
