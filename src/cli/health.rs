//! `tether health`: the diagnostic report, Markdown or JSON, with the
//! verdict as the exit code.

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

pub fn run(args: &HealthArgs, cfg: &Config) -> anyhow::Result<u8> {
    let report = tether::health::health(
        cfg,
        &HealthOptions {
            no_probe: args.no_probe,
        },
    );
    super::print_report(&[&report], args.json)?;
    Ok(match report.verdict {
        HealthVerdict::Healthy => exit::OK,
        HealthVerdict::Degraded => exit::HEALTH_DEGRADED,
        HealthVerdict::Failing => exit::HEALTH_FAILING,
    })
}
