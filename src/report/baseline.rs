//! Renders a baseline run: `baseline_report.md` (the preflight, each case's
//! status, its outputs' checks and metrics, and its verdict against the
//! reference) and the terminal summary of `tether baseline run|record|compare`.
//! Owns the models those commands print and write ([`BaselineReport`],
//! [`BaselineRecord`]) and the run's own `results.json` as a document.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::baseline::quality::OutputQuality;
use crate::baseline::{BaselineRun, CaseComparison, CaseStatus, Comparison, psnr_text};
use crate::document::Document;
use crate::gpu::VramPeak;

use super::Summary;
use super::markdown::date;

/// A run folder's `results.json`: the run itself, read back by
/// `baseline compare` and `tether health`. No Markdown of its own.
impl Document for BaselineRun {
    fn json_file(&self) -> &'static str {
        "results.json"
    }

    fn markdown_files(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// A baseline run with its verdicts against the references (none for
/// `baseline record`): what `baseline run` and `baseline compare` print,
/// and `comparison.json` plus `baseline_report.md` in the run's folder.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineReport {
    pub run: BaselineRun,
    pub comparisons: Vec<CaseComparison>,
    /// The run's folder (named in the summary; not serialised).
    #[serde(skip)]
    pub dir: PathBuf,
}

impl Document for BaselineReport {
    fn json_file(&self) -> &'static str {
        "comparison.json"
    }

    fn markdown_files(&self) -> Vec<(&'static str, String)> {
        vec![("baseline_report.md", markdown(&self.run, &self.comparisons))]
    }

    /// The page's trends read every `results.json` next to the run's folder.
    fn html_files(&self) -> Vec<crate::document::HtmlFile> {
        vec![super::html::baseline_page(
            &self.run,
            &self.comparisons,
            self.dir.parent(),
        )]
    }
}

impl Summary for BaselineReport {
    fn summary(&self) -> String {
        summary(&self.run, &self.comparisons, &self.dir)
    }
}

/// A run whose passed cases were recorded as the references: what
/// `baseline record` prints.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineRecord {
    pub run: BaselineRun,
    /// The reference files written.
    pub recorded: Vec<PathBuf>,
    /// The run's folder (named in the summary; not serialised).
    #[serde(skip)]
    pub dir: PathBuf,
}

impl Summary for BaselineRecord {
    fn summary(&self) -> String {
        let mut out = summary(&self.run, &[], &self.dir);
        for p in &self.recorded {
            let _ = writeln!(out, "recorded {}", p.display());
        }
        if self.recorded.is_empty() {
            let _ = writeln!(out, "recorded nothing: no case passed");
        }
        out
    }
}

pub fn markdown(run: &BaselineRun, comparisons: &[CaseComparison]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Baseline run `{}`\n", run.run_id);
    let _ = writeln!(
        o,
        "- Tree: `{}`\n- Hardware: `{}`\n- Started: {}, finished: {}\n",
        run.tree.display(),
        run.hardware.slug,
        date(run.started),
        date(run.finished)
    );
    if let Some(p) = &run.preflight {
        let _ = writeln!(o, "## GPU preflight\n");
        o.push_str(&super::gpu::preflight(p));
    }
    let _ = writeln!(o, "## Cases\n");
    super::update::run_table(&mut o, run);
    let quality = super::gpu::quality(run, comparisons);
    if !quality.is_empty() {
        let _ = writeln!(o, "## Outputs and verdicts\n");
        o.push_str(&quality);
    }
    o
}

/// The human summary of a run in `dir`.
fn summary(run: &BaselineRun, comparisons: &[CaseComparison], dir: &Path) -> String {
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
            case.label(),
            case.duration_s
        ));
        if let Some(c) = comparisons
            .iter()
            .find(|c| c.case == case.name && c.target == case.target)
        {
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
            out.push_str(&format!("             {}\n", super::gpu::canary_line(r)));
        }
        if !case.stray_writes.is_empty() {
            out.push_str(&format!(
                "             warning: wrote into the tree, outside its output folder: {}\n",
                crate::text::cut_list(&case.stray_writes, crate::text::MESSAGE_ITEMS)
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
        "{passed} of {} case{} passed; results in {}, report {}\n",
        run.cases.len(),
        if run.cases.len() == 1 { "" } else { "s" },
        dir.join("results.json").display(),
        dir.join("baseline_report.md").display()
    ));
    out
}

/// One line on an analysed output: what it is and how it compares.
fn quality_text(q: &OutputQuality) -> String {
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
            psnr_text(m.mean_psnr_db),
            psnr_text(m.min_psnr_db),
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
