//! `tether demo`: builds the demo project (an upstream whose history breaks
//! its wrapper three ways) and runs `tether update` on it end to end.

use std::path::PathBuf;

use tether::config::Config;
use tether::exit;
use tether::pipeline::{self as update, UpdateOptions, UpdateOutcome};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where to build the demo. Default: ./outputs/demo-<time>/
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The Python 3 interpreter the demo's wrapper runs with.
    #[arg(long, value_name = "PATH", default_value = "python3")]
    pub python: String,
}

pub fn run(args: &DemoArgs) -> anyhow::Result<u8> {
    let dir = args.dir.clone().unwrap_or_else(|| {
        let stamp = tether::env::now().strftime("%Y%m%dT%H%M%SZ").to_string();
        PathBuf::from("outputs").join(format!("demo-{stamp}"))
    });
    println!("building the demo project in {}", dir.display());
    let demo = tether::demo::create(&dir, &args.python)?;
    println!(
        "  upstream: {} ({} commits; the wrapper is at the first)",
        demo.upstream.display(),
        demo.commits.len()
    );
    for c in &demo.commits {
        println!("    {:.7}  {:<20} {}", c.hash, c.kind, c.subject);
    }
    println!(
        "  wrapper:  {} (upstream as a git submodule at Wan2GP/)",
        demo.wrapper.display()
    );
    println!("  config:   {}", demo.config_path.display());
    println!();
    println!("running `tether update` on it");
    let cfg = Config::load(&demo.config_path)?;
    super::use_state_dir(&cfg);
    let up = &cfg.upstreams[0];
    let report = update::update(&cfg, up, &UpdateOptions::default())?;
    super::print_report(&[&report], false)?;
    println!();
    println!("what to read:");
    if let Some(a) = &report.analysis_dir {
        println!(
            "  {}/integration_analysis.md   what changed upstream and what it breaks",
            a.display()
        );
    }
    if let Some(r) = &report.report_dir {
        println!(
            "  {}   what tether did",
            r.join("update_report.md").display()
        );
        println!(
            "  {}       every fix attempt",
            r.join("debug_log.txt").display()
        );
    }
    println!(
        "  git -C {} log --oneline         the promoted commits",
        demo.wrapper.display()
    );
    println!();
    println!(
        "try it yourself: cd {} && tether check",
        demo.root.display()
    );
    Ok(match report.outcome {
        UpdateOutcome::Promoted => exit::OK,
        _ => exit::ROLLED_BACK,
    })
}
