//! `tether baseline run|record`: run the wrapper's baseline generation suite,
//! compare with the references for this hardware, or record new ones.

use std::path::PathBuf;

use tether::baseline::{
    self, BaselineError, BaselineRun, CaseComparison, CaseStatus, Comparison, RunOptions,
};
use tether::config::Config;
use tether::exit;
use tether::gpu::VramPeak;

#[derive(Debug, clap::Subcommand)]
pub enum BaselineCommand {
    /// Run the baseline suite and compare with the recorded references.
    Run(RunArgs),
    /// Run the baseline suite and record its passed cases as the references
    /// for this hardware.
    Record(RunArgs),
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Run in this wrapper tree (e.g. a staged update) instead of the project root.
    #[arg(long, value_name = "PATH")]
    pub staged: Option<PathBuf>,
    /// Only these cases (comma-separated names).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub cases: Option<Vec<String>>,
    /// Print the run (and comparisons or recorded files) as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: &BaselineCommand, cfg: &Config) -> anyhow::Result<u8> {
    match cmd {
        BaselineCommand::Run(args) => {
            let run = run_suite(args, cfg)?;
            let comparisons = baseline::compare(cfg, &run)?;
            if args.json {
                let v = serde_json::json!({ "run": run, "comparisons": comparisons });
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print!("{}", render(&run, &comparisons, cfg));
            }
            Ok(code(&run))
        }
        BaselineCommand::Record(args) => {
            let run = run_suite(args, cfg)?;
            let written = baseline::record(cfg, &run)?;
            if args.json {
                let v = serde_json::json!({ "run": run, "recorded": written });
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print!("{}", render(&run, &[], cfg));
                for p in &written {
                    println!("recorded {}", p.display());
                }
                if written.is_empty() {
                    println!("recorded nothing: no case passed");
                }
            }
            Ok(code(&run))
        }
    }
}

fn code(run: &BaselineRun) -> u8 {
    if run.passed() {
        exit::OK
    } else {
        exit::BASELINE_FAILED
    }
}

fn run_suite(args: &RunArgs, cfg: &Config) -> anyhow::Result<BaselineRun> {
    let tree = match &args.staged {
        Some(p) if !p.is_dir() => {
            return Err(
                super::UsageError(format!("--staged `{}` is not a folder", p.display())).into(),
            );
        }
        Some(p) => p.clone(),
        None => cfg.project.root.clone(),
    };
    if cfg.baseline.cases.is_empty() {
        return Err(super::UsageError(
            "the config has no [[baseline.case]]: nothing to run".into(),
        )
        .into());
    }
    let (run_id, run_dir) = baseline::next_run_dir(&cfg.project.outputs_dir, "baseline");
    let opts = RunOptions {
        run_id,
        run_dir,
        cases: args.cases.clone(),
        cancel: None,
    };
    baseline::run_suite(cfg, &tree, &opts).map_err(|e| match e {
        BaselineError::UnknownCase { .. } => super::UsageError(e.to_string()).into(),
        other => anyhow::Error::new(other),
    })
}

/// The human summary of a run.
fn render(run: &BaselineRun, comparisons: &[CaseComparison], cfg: &Config) -> String {
    let mut out = format!(
        "baseline {} on {} in {}\n",
        run.run_id,
        run.hardware.slug,
        run.tree.display()
    );
    for case in &run.cases {
        let vram = match &case.peak_vram {
            VramPeak::Peak { bytes, .. } => {
                format!("{:.2} GiB", *bytes as f64 / (1u64 << 30) as f64)
            }
            VramPeak::Unavailable { .. } => "n/a".into(),
        };
        let status = match case.status {
            CaseStatus::Passed => "passed",
            CaseStatus::Failed => "FAILED",
            CaseStatus::TimedOut => "TIMED OUT",
            CaseStatus::Crashed => "CRASHED",
        };
        out.push_str(&format!(
            "  {status:<10} {:<20} {:>8.1}s  vram {vram}",
            case.name, case.duration_s
        ));
        if let Some(c) = comparisons.iter().find(|c| c.case == case.name) {
            out.push_str(&format!("  {}", comparison_text(c)));
        }
        out.push('\n');
        if let Some(e) = &case.error {
            out.push_str(&format!("             {e}\n"));
        }
        if !case.stray_writes.is_empty() {
            out.push_str(&format!(
                "             warning: wrote into the tree, outside its output folder: {}\n",
                case.stray_writes.join(", ")
            ));
        }
        if !case.passed() {
            let tail: Vec<&str> = case.stderr_tail.lines().rev().take(5).collect();
            for line in tail.into_iter().rev() {
                out.push_str(&format!("             | {line}\n"));
            }
            out.push_str(&format!("             logs: {}\n", case.log_dir.display()));
        }
    }
    if !run.vram_available
        && let Some(VramPeak::Unavailable { reason }) = run.cases.first().map(|c| &c.peak_vram)
    {
        out.push_str(&format!("GPU memory not measured: {reason}\n"));
    }
    let passed = run.cases.iter().filter(|c| c.passed()).count();
    out.push_str(&format!(
        "{passed} of {} case{} passed; results in {}\n",
        run.cases.len(),
        if run.cases.len() == 1 { "" } else { "s" },
        cfg.project
            .outputs_dir
            .join(&run.run_id)
            .join("results.json")
            .display()
    ));
    out
}

fn comparison_text(c: &CaseComparison) -> String {
    match &c.comparison {
        Comparison::New => format!("new (no reference for {})", c.hardware),
        Comparison::Compared {
            duration_ratio,
            regressions,
            ..
        } if regressions.is_empty() => format!("ok vs reference ({duration_ratio:.2}x time)"),
        Comparison::Compared { regressions, .. } => {
            format!("REGRESSED: {}", regressions.join("; "))
        }
    }
}
