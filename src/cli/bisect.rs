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
    if args.json {
        super::print_json(&[&report])?;
    } else {
        let first = match &report.result {
            BisectResult::FirstBad { commit, .. } => format!(
                "first bad commit: {} {} {} — {}",
                commit.short,
                commit.time.strftime("%Y-%m-%d"),
                commit.author,
                commit.subject
            ),
            BisectResult::Undecidable { candidates, .. } => format!(
                "undecidable: {} candidates ({})",
                candidates.len(),
                candidates
                    .iter()
                    .map(|c| c.short.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            BisectResult::GoodEndFails { why } => format!("the good end fails: {why}"),
            BisectResult::BadEndPasses => "the bad end passes: nothing to search".into(),
        };
        println!("{}: {first}", report.upstream);
        println!(
            "  {} commit(s) searched in {} step(s), {} baseline run(s){}",
            report.candidates,
            report.steps.len(),
            report.baseline_runs,
            if report.resumed {
                " (resumed from the journal)"
            } else {
                ""
            }
        );
        println!(
            "  report: {}",
            report.report_dir.join("bisect_report.md").display()
        );
    }
    Ok(match report.result {
        BisectResult::FirstBad { .. } => exit::OK,
        BisectResult::Undecidable { .. } => exit::BISECT_UNDECIDABLE,
        BisectResult::GoodEndFails { .. } | BisectResult::BadEndPasses => exit::BISECT_ENDS,
    })
}
