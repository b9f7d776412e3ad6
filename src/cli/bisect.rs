//! `tether bisect`: find the upstream commit that broke the baseline.

use tether::config::Config;
use tether::exit;
use tether::pipeline::bisect::{self, BisectOptions, BisectResult};

#[derive(Debug, clap::Args)]
pub struct BisectArgs {
    /// Only this upstream (needed when the config has several).
    #[arg(long, value_name = "NAME")]
    pub upstream: Option<String>,
    /// The good end (default: the last good commit the service recorded, else
    /// the current commit).
    #[arg(long, value_name = "REV")]
    pub good: Option<String>,
    /// The bad end (default: the target under the `track` rule).
    #[arg(long, value_name = "REV")]
    pub bad: Option<String>,
    /// The cases to run at each step (default: those failing at the bad end).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub cases: Option<Vec<String>>,
    /// Forget an interrupted bisect instead of resuming it.
    #[arg(long)]
    pub restart: bool,
    /// Use the mirror as it is (no fetch).
    #[arg(long)]
    pub no_fetch: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &BisectArgs, cfg: &Config) -> anyhow::Result<u8> {
    let ups = super::selected(cfg, args.upstream.as_deref())?;
    let [up] = ups.as_slice() else {
        return Err(super::UsageError(
            "the config has several upstreams: name one with --upstream NAME".into(),
        )
        .into());
    };
    let report = bisect::bisect(
        cfg,
        up,
        &BisectOptions {
            good: args.good.clone(),
            bad: args.bad.clone(),
            cases: args.cases.clone(),
            fetch: !args.no_fetch,
            restart: args.restart,
        },
    )?;
    super::print_report(&[&report], args.json)?;
    Ok(match report.result {
        BisectResult::FirstBad { .. } => exit::OK,
        BisectResult::Undecidable { .. } => exit::BISECT_UNDECIDABLE,
        BisectResult::GoodEndFails { .. } | BisectResult::BadEndPasses => exit::BISECT_ENDS,
    })
}
