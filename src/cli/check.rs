//! `tether check`: how far each upstream is behind (read-only).

use tether::config::Config;
use tether::exit;
use tether::upstream::{self, CheckOptions};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Only this upstream.
    #[arg(long, value_name = "NAME")]
    pub upstream: Option<String>,
    /// Print JSON instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Do not fetch; use the mirror as it is.
    #[arg(long)]
    pub no_fetch: bool,
}

pub fn run(args: &CheckArgs, cfg: &Config) -> anyhow::Result<u8> {
    let selected = super::selected(cfg, args.upstream.as_deref())?;
    let opts = CheckOptions {
        fetch: !args.no_fetch,
    };
    let mut reports = Vec::with_capacity(selected.len());
    for up in selected {
        reports.push(upstream::check(cfg, up, &opts)?);
    }
    super::print_report(&reports, args.json)?;
    Ok(if reports.iter().any(|r| r.history.is_rewritten()) {
        exit::HISTORY_REWRITTEN
    } else {
        exit::OK
    })
}
