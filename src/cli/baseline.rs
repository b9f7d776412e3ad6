//! `tether baseline run|record|compare`: run the wrapper's baseline
//! generation suite, compare with the references for this hardware, record
//! new ones, or compare an earlier run's outputs again.

use std::path::PathBuf;

use tether::baseline::{self, BaselineError, BaselineRun, CaseComparison, RanOn, RunOptions};
use tether::config::Config;
use tether::exit;
use tether::report::baseline::{BaselineRecord, BaselineReport};

#[derive(Debug, clap::Subcommand)]
pub enum BaselineCommand {
    /// Run the baseline suite and compare with the recorded references.
    Run(RunArgs),
    /// Run the baseline suite and record its passed cases as the references
    /// for this hardware.
    Record(RunArgs),
    /// Analyse an earlier run's outputs again and compare them with the
    /// references as they are now (no case is run).
    Compare(CompareArgs),
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The run id (a folder under the outputs dir with a `results.json`);
    /// default: the newest `baseline-*` run.
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<String>,
    /// Print the run and comparisons as JSON.
    #[arg(long)]
    pub json: bool,
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
            let report = write_report(cfg, run, comparisons)?;
            super::print_report(&[&report], args.json)?;
            Ok(code(&report.run, &report.comparisons))
        }
        BaselineCommand::Compare(args) => {
            let mut run = load_run(cfg, args.run.as_deref())?;
            baseline::reanalyze(cfg, &mut run);
            let comparisons = baseline::compare(cfg, &run)?;
            let report = write_report(cfg, run, comparisons)?;
            super::print_report(&[&report], args.json)?;
            Ok(code(&report.run, &report.comparisons))
        }
        BaselineCommand::Record(args) => {
            let record = record(args, cfg)?;
            super::print_report(&[&record], args.json)?;
            Ok(code(&record.run, &[]))
        }
    }
}

/// Runs the suite as `args` say, records its passed cases as the
/// references and writes the run's report (also `tether demo`'s first step).
pub(super) fn record(args: &RunArgs, cfg: &Config) -> anyhow::Result<BaselineRecord> {
    let run = run_suite(args, cfg)?;
    let recorded = baseline::record(cfg, &run)?;
    let BaselineReport { run, dir, .. } = write_report(cfg, run, Vec::new())?;
    Ok(BaselineRecord { run, recorded, dir })
}

fn code(run: &BaselineRun, comparisons: &[CaseComparison]) -> u8 {
    if !run.passed() {
        exit::BASELINE_FAILED
    } else if comparisons.iter().any(CaseComparison::is_regression) {
        exit::REGRESSED
    } else {
        exit::OK
    }
}

/// Writes `comparison.json` and `baseline_report.md` next to the run's
/// `results.json`.
fn write_report(
    cfg: &Config,
    run: BaselineRun,
    comparisons: Vec<CaseComparison>,
) -> anyhow::Result<BaselineReport> {
    let dir = cfg.project.outputs_dir.join(&run.run_id);
    let report = BaselineReport {
        run,
        comparisons,
        dir,
    };
    tether::document::write(&report.dir, &report)?;
    Ok(report)
}

/// The run `id`, or the newest `baseline-*` run of the outputs dir.
fn load_run(cfg: &Config, id: Option<&str>) -> anyhow::Result<BaselineRun> {
    let dir = match id {
        Some(id) => cfg.project.outputs_dir.join(id),
        None => {
            let mut runs: Vec<_> = fs_err::read_dir(&cfg.project.outputs_dir)?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("baseline-"))
                        && p.join("results.json").is_file()
                })
                .collect();
            runs.sort_by_key(|p| {
                fs_err::metadata(p.join("results.json"))
                    .and_then(|m| m.modified())
                    .ok()
            });
            runs.pop().ok_or_else(|| {
                super::UsageError(format!(
                    "no baseline run with a results.json under `{}`; run `tether baseline run` first",
                    cfg.project.outputs_dir.display()
                ))
            })?
        }
    };
    let path = dir.join("results.json");
    let text = fs_err::read_to_string(&path)
        .map_err(|e| super::UsageError(format!("cannot read the run's results: {e}")))?;
    serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("`{}` is not a tether results file: {e}", path.display()))
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
        preflight: true,
        ran_on: if args.staged.is_some() {
            RanOn::Staged
        } else {
            RanOn::Live
        },
    };
    baseline::run_suite(cfg, &tree, &opts).map_err(|e| match e {
        BaselineError::UnknownCase { .. } => super::UsageError(e.to_string()).into(),
        other => anyhow::Error::new(other),
    })
}
