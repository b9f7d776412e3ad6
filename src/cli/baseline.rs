//! `tether baseline run|record|compare`: run the wrapper's baseline
//! generation suite, compare with the references for this hardware, record
//! new ones, or compare an earlier run's outputs again.

use std::path::PathBuf;

use tether::baseline::{
    self, BaselineError, BaselineRun, CaseComparison, CaseStatus, Comparison, RanOn, RunOptions,
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
            write_report(cfg, &run, &comparisons)?;
            if args.json {
                let v = serde_json::json!({ "run": run, "comparisons": comparisons });
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print!("{}", render(&run, &comparisons, cfg));
            }
            Ok(code(&run, &comparisons))
        }
        BaselineCommand::Compare(args) => {
            let mut run = load_run(cfg, args.run.as_deref())?;
            baseline::reanalyze(cfg, &mut run);
            let comparisons = baseline::compare(cfg, &run)?;
            write_report(cfg, &run, &comparisons)?;
            let dir = cfg.project.outputs_dir.join(&run.run_id);
            let v = serde_json::json!({ "run": run, "comparisons": comparisons });
            let text = serde_json::to_string_pretty(&v)? + "\n";
            tether::state::write_atomic(&dir.join("comparison.json"), text.as_bytes())?;
            if args.json {
                println!("{}", tether::redact::redact(&text));
            } else {
                print!("{}", render(&run, &comparisons, cfg));
            }
            Ok(code(&run, &comparisons))
        }
        BaselineCommand::Record(args) => {
            let run = run_suite(args, cfg)?;
            let written = baseline::record(cfg, &run)?;
            write_report(cfg, &run, &[])?;
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
            Ok(code(&run, &[]))
        }
    }
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

/// Writes `baseline_report.md` next to the run's `results.json`.
fn write_report(
    cfg: &Config,
    run: &BaselineRun,
    comparisons: &[CaseComparison],
) -> anyhow::Result<()> {
    let path = cfg
        .project
        .outputs_dir
        .join(&run.run_id)
        .join("baseline_report.md");
    let text = tether::report::baseline::markdown(run, comparisons);
    tether::state::write_atomic(&path, tether::redact::redact(&text).as_bytes())?;
    Ok(())
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

/// The human summary of a run.
fn render(run: &BaselineRun, comparisons: &[CaseComparison], cfg: &Config) -> String {
    let mut out = format!(
        "baseline {} on {} in {}\n",
        run.run_id,
        run.hardware.slug,
        run.tree.display()
    );
    if let Some(p) = &run.preflight {
        out.push_str(&format!(
            "GPU preflight passed: {}\n",
            p.report.as_ref().map_or(String::new(), |r| format!(
                "libtorch {} on {}, matmul {:.3} TFLOP/s ({})",
                r.libtorch_version, r.device, r.matmul_tflops, r.dtype
            ))
        ));
    }
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
        for q in &case.quality {
            out.push_str(&format!("             {}\n", quality_text(q)));
        }
        if let Some(r) = case.canary.as_ref().and_then(|c| c.report.as_ref()) {
            out.push_str(&format!(
                "             {}\n",
                tether::report::gpu::canary_line(r)
            ));
        }
        if !case.stray_writes.is_empty() {
            out.push_str(&format!(
                "             warning: wrote into the tree, outside its output folder: {}\n",
                tether::text::cut_list(&case.stray_writes, tether::text::MESSAGE_ITEMS)
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
    let dir = cfg.project.outputs_dir.join(&run.run_id);
    out.push_str(&format!(
        "{passed} of {} case{} passed; results in {}, report {}\n",
        run.cases.len(),
        if run.cases.len() == 1 { "" } else { "s" },
        dir.join("results.json").display(),
        dir.join("baseline_report.md").display()
    ));
    out
}

/// One line on an analysed output: what it is and how it compares.
fn quality_text(q: &baseline::quality::OutputQuality) -> String {
    let Some(r) = &q.report else {
        return format!(
            "output {}: not checked: {}",
            q.path,
            q.error.as_deref().unwrap_or("")
        );
    };
    let mut line = format!(
        "output {}: {} frame(s) {}x{}{}",
        q.path,
        r.frames,
        r.width,
        r.height,
        r.fps.map_or(String::new(), |f| format!(" @ {f:.2} fps"))
    );
    match &r.quality {
        None => line.push_str(", no reference frames"),
        Some(m) if m.mismatch.is_some() => {
            line.push_str(&format!(
                ", not compared: {}",
                m.mismatch.as_deref().unwrap_or("")
            ));
        }
        Some(m) => line.push_str(&format!(
            ", SSIM mean {:.4} min {:.4}, PSNR mean {} min {} ({} frames, on {})",
            m.mean_ssim.unwrap_or(0.0),
            m.min_ssim.unwrap_or(0.0),
            baseline::psnr_text(m.mean_psnr_db),
            baseline::psnr_text(m.min_psnr_db),
            m.frames_compared,
            r.device
        )),
    }
    for f in &r.findings {
        line.push_str(&format!("; {}", f.message));
    }
    line
}

fn comparison_text(c: &CaseComparison) -> String {
    match &c.comparison {
        Comparison::New { other_hardware } if other_hardware.is_empty() => {
            format!("new (no reference for {})", c.hardware)
        }
        Comparison::New { other_hardware } => format!(
            "new (no reference for {}; references of other hardware not compared: {})",
            c.hardware,
            other_hardware.join(", ")
        ),
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
