//! `tether analyze`: what changed upstream and which integration points it touches.

use tether::config::Config;

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Only this upstream.
    #[arg(long, value_name = "NAME")]
    pub upstream: Option<String>,
    /// Analyse up to this revision (default: the track target).
    #[arg(long, value_name = "REV")]
    pub to: Option<String>,
    /// Print the analysis as JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Do not fetch; use the mirror as it is.
    #[arg(long)]
    pub no_fetch: bool,
}

pub fn run(args: &AnalyzeArgs, cfg: &Config) -> anyhow::Result<u8> {
    let _ = super::selected(cfg, args.upstream.as_deref())?;
    anyhow::bail!("analyze is being built")
}
