//! Renders the GPU preflight and the per-case output metrics (checks,
//! PSNR/SSIM, verdicts against the reference) as Markdown, for the baseline
//! and update reports and `tether gpu probe`.

use std::fmt::Write;

use crate::baseline::{BaselineRun, CaseComparison, Comparison, ReferenceVerdict, psnr_text};
use crate::gpu::PreflightResult;
use crate::media::Severity;

use super::Summary;
use super::markdown::cell;

/// `tether gpu probe`: the preflight as Markdown.
impl Summary for PreflightResult {
    fn summary(&self) -> String {
        preflight(self)
    }
}

/// The preflight as a section body: verdict, what libtorch sees, figures and
/// each check.
pub fn preflight(p: &PreflightResult) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Verdict: **{}**\n",
        if p.passed { "passed" } else { "FAILED" }
    );
    for problem in &p.problems {
        let _ = writeln!(o, "- problem: {}", problem);
    }
    if !p.problems.is_empty() {
        o.push('\n');
    }
    let Some(r) = &p.report else { return o };
    let _ = writeln!(
        o,
        "- libtorch {} (libtorch_cuda loaded: {}), CUDA available: {}, cuDNN: {}",
        r.libtorch_version,
        yes(r.cuda_library_loaded),
        yes(r.cuda_available),
        match (r.cudnn_available, r.cudnn_version) {
            (true, Some(v)) => format!("yes ({v})"),
            (true, None) => "yes".into(),
            (false, _) => "no".into(),
        }
    );
    if let Some(v) = r.cuda_runtime_version {
        let _ = writeln!(o, "- CUDA runtime {v}, {} device(s)", r.device_count);
    }
    for d in &r.devices {
        let _ = writeln!(
            o,
            "- GPU {}: {} (compute capability {}), {} total, {} used",
            d.index,
            d.name.as_deref().unwrap_or("unknown"),
            d.compute_capability.as_deref().unwrap_or("?"),
            gib(d.memory_total_bytes),
            gib(d.memory_used_bytes)
        );
    }
    if let Some(why) = &r.nvml_unavailable {
        let _ = writeln!(o, "- no GPU listed: {why}");
    }
    let _ = writeln!(
        o,
        "- checks on `{}` in {}: matmul {} x {} at **{:.3} TFLOP/s**; {} CPU thread(s); {:.1}s in all\n",
        r.device,
        r.dtype,
        r.matmul_size,
        r.matmul_size,
        r.matmul_tflops,
        r.cpu_threads,
        r.duration_s
    );
    let _ = writeln!(o, "| check | result | detail |\n|---|---|---|");
    for c in &r.checks {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            c.name,
            if c.passed { "passed" } else { "**failed**" },
            cell(&c.detail)
        );
    }
    o.push('\n');
    o
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn gib(bytes: Option<u64>) -> String {
    bytes.map_or("?".into(), |b| {
        format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
    })
}

/// One line on a canary run: where, how fast, what it returned, and how far
/// from the reference.
pub fn canary_line(r: &crate::protocol::CanaryReport) -> String {
    let outputs: Vec<String> = r
        .outputs
        .iter()
        .map(|o| format!("{} {:?}", o.key, o.shape))
        .collect();
    let mut line = format!(
        "canary on {} {}: median {:.3} ms over {} iteration(s), load {:.2} s; outputs {}",
        r.device,
        r.dtype,
        r.median_latency_ms,
        r.latency_ms.len(),
        r.load_s,
        outputs.join(", ")
    );
    match &r.comparison {
        None => line.push_str(&format!(
            "; {}",
            r.reference_error
                .as_deref()
                .unwrap_or("no reference outputs")
        )),
        Some(diffs) => {
            for d in diffs {
                match (d.max_abs_error, d.cosine) {
                    (Some(a), Some(c)) => line.push_str(&format!(
                        "; `{}` max abs error {a:.3e}, max rel error {:.3e}, cosine {c:.6}{}",
                        d.key,
                        d.max_rel_error.unwrap_or(0.0),
                        d.ssim.map_or(String::new(), |s| format!(
                            ", SSIM {s:.4}, PSNR {}",
                            psnr_text(d.psnr_db)
                        ))
                    )),
                    _ => line.push_str(&format!("; `{}` not comparable", d.key)),
                }
            }
        }
    }
    line
}

/// Per case and output: the checks on the output and its figures against
/// the reference, then each case's verdict. Empty when nothing was analysed.
pub fn quality(run: &BaselineRun, comparisons: &[CaseComparison]) -> String {
    let mut o = String::new();
    let analysed: Vec<_> = run.cases.iter().filter(|c| !c.quality.is_empty()).collect();
    if !analysed.is_empty() {
        let _ = writeln!(
            o,
            "| case | output | frames | size | checks | mean SSIM | min SSIM | mean PSNR |\n|---|---|---|---|---|---|---|---|"
        );
        for c in analysed {
            for q in &c.quality {
                let Some(r) = &q.report else {
                    let _ = writeln!(
                        o,
                        "| {} | {} | | | **not checked**: {} | | | |",
                        c.name,
                        q.path,
                        cell(q.error.as_deref().unwrap_or(""))
                    );
                    continue;
                };
                let checks = if r.findings.is_empty() {
                    "ok".to_owned()
                } else {
                    r.findings
                        .iter()
                        .map(|f| match f.severity {
                            Severity::Fail => format!("**{}**", f.message),
                            Severity::Warn => format!("warning: {}", f.message),
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                let (mean, min, psnr) = match &r.quality {
                    Some(m) if m.mismatch.is_none() => (
                        m.mean_ssim.map_or(String::new(), |v| format!("{v:.4}")),
                        m.min_ssim.map_or(String::new(), |v| format!("{v:.4}")),
                        psnr_text(m.mean_psnr_db),
                    ),
                    Some(m) => (
                        format!("not compared: {}", m.mismatch.as_deref().unwrap_or("")),
                        String::new(),
                        String::new(),
                    ),
                    None => ("no reference".into(), String::new(), String::new()),
                };
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {}x{}{} | {} | {} | {} | {} |",
                    c.name,
                    q.path,
                    r.frames,
                    r.width,
                    r.height,
                    r.fps.map_or(String::new(), |f| format!(" @ {f:.2} fps")),
                    cell(&checks),
                    cell(&mean),
                    min,
                    psnr
                );
            }
        }
        o.push('\n');
    }
    let canaries: Vec<_> = run
        .cases
        .iter()
        .filter_map(|c| Some((c, c.canary.as_ref()?.report.as_ref()?)))
        .collect();
    for (c, r) in &canaries {
        let _ = writeln!(o, "- `{}`: {}", c.name, canary_line(r));
    }
    if !canaries.is_empty() {
        o.push('\n');
    }
    if !comparisons.is_empty() {
        let _ = writeln!(
            o,
            "| case | verdict | against the reference |\n|---|---|---|"
        );
        for c in comparisons {
            let detail = match &c.comparison {
                Comparison::New { other_hardware } if other_hardware.is_empty() => {
                    format!("no reference for `{}` yet", c.hardware)
                }
                Comparison::New { other_hardware } => format!(
                    "no reference for `{}` yet; not compared with the references of other hardware ({})",
                    c.hardware,
                    other_hardware.join(", ")
                ),
                Comparison::Compared {
                    duration_ratio,
                    vram_ratio,
                    regressions,
                    ..
                } => {
                    let mut d = format!("time {duration_ratio:.2}x");
                    if let Some(v) = vram_ratio {
                        let _ = write!(d, ", peak VRAM {v:.2}x");
                    }
                    if !regressions.is_empty() {
                        let _ = write!(d, "; {}", regressions.join("; "));
                    }
                    d
                }
            };
            let verdict = match c.verdict {
                ReferenceVerdict::Pass | ReferenceVerdict::New => c.verdict.as_str().to_owned(),
                v => format!("**{}**", v.as_str()),
            };
            let _ = writeln!(o, "| {} | {} | {} |", c.case, verdict, cell(&detail));
        }
        o.push('\n');
    }
    o
}
