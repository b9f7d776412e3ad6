//! `tether analyze`: what changed upstream and which integration points it touches.

use tether::analysis::{self, AnalysisVerdict, AnalyzeOptions};
use tether::config::Config;
use tether::exit;
use tether::report::analysis::AnalysisAt;

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

fn at(o: &analysis::Analyzed) -> AnalysisAt<'_> {
    AnalysisAt {
        analysis: &o.analysis,
        dir: &o.dir,
    }
}

pub fn run(args: &AnalyzeArgs, cfg: &Config) -> anyhow::Result<u8> {
    let upstreams = super::selected(cfg, args.upstream.as_deref())?;
    if args.to.is_some() && upstreams.len() > 1 {
        return Err(super::UsageError(
            "--to needs --upstream NAME when the config has several upstreams".into(),
        )
        .into());
    }
    let opts = AnalyzeOptions {
        to: args.to.clone(),
        fetch: !args.no_fetch,
        peers: Default::default(),
    };
    let mut worst = AnalysisVerdict::Clear;
    let mut outcomes = Vec::new();
    for up in upstreams {
        let outcome = analysis::analyze(cfg, up, &opts).map_err(|e| {
            anyhow::Error::new(e).context(format!("cannot analyse upstream `{}`", up.name))
        })?;
        worst = worst.max(outcome.analysis.verdict());
        // without --json each summary is printed as soon as it is known
        if args.json {
            outcomes.push(outcome);
        } else {
            super::print_report(&[at(&outcome)], false)?;
        }
    }
    if args.json {
        let all: Vec<_> = outcomes.iter().map(at).collect();
        super::print_report(&all, true)?;
    }
    Ok(match worst {
        AnalysisVerdict::Clear => exit::OK,
        AnalysisVerdict::AtRisk => exit::AT_RISK,
        AnalysisVerdict::Breaking => exit::BREAKING,
    })
}
