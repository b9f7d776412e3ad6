//! `tether check`: how far each upstream is behind (read-only).

use tether::config::Config;

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
    let _ = super::selected(cfg, args.upstream.as_deref())?;
    anyhow::bail!("check is being built")
}
