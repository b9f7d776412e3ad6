//! Comparing a run with its references: each case's status, duration, peak
//! GPU memory, output quality (PSNR/SSIM of the analysed outputs) and, for a
//! canary, its numeric, speed and memory figures, each judged by the case's
//! thresholds into a [`CaseComparison`] with its [`ReferenceVerdict`].

use std::path::{Path, PathBuf};

use super::BaselineError;
use super::model::{
    BaselineRun, CanaryOutcome, CanaryReference, CaseComparison, CaseResult, Comparison,
    OutputMetrics, OutputQuality, Reference, ReferenceVerdict,
};
use super::reference_file::{read_reference, reference_path};
use crate::config::Config;

/// A duration difference smaller than this many seconds is never a
/// regression (start-up noise dominates short cases).
pub const MIN_DURATION_DELTA_S: f64 = 5.0;

/// A canary's latency (on a CUDA device) must grow by at least this much to
/// be a regression.
pub const MIN_CANARY_DELTA_MS: f64 = 1.0;

/// Compares every case of `run` with its reference for the hardware it ran
/// on (the run's, or its own job's in a matrix).
pub fn compare(cfg: &Config, run: &BaselineRun) -> Result<Vec<CaseComparison>, BaselineError> {
    run.cases
        .iter()
        .map(|case| {
            let hardware = &run.hardware_of(case).slug;
            let path = reference_path(cfg, hardware, &case.name, &case.settings_hash);
            let comparison = match read_reference(&path)? {
                None => Comparison::New {
                    other_hardware: other_hardware(cfg, hardware, &path),
                },
                Some(r) => compare_one(case, &r, path),
            };
            let verdict = match &comparison {
                _ if !case.passed() => ReferenceVerdict::Failed,
                Comparison::New { .. } => ReferenceVerdict::New,
                Comparison::Compared { regressions, .. } if !regressions.is_empty() => {
                    ReferenceVerdict::Regressed
                }
                Comparison::Compared { .. } => ReferenceVerdict::Pass,
            };
            Ok(CaseComparison {
                case: case.name.clone(),
                target: case.target.clone(),
                settings_hash: case.settings_hash.clone(),
                hardware: hardware.clone(),
                verdict,
                comparison,
            })
        })
        .collect()
}

/// The other hardware slugs under the references dir that hold a reference
/// file named like `path`.
fn other_hardware(cfg: &Config, slug: &str, path: &Path) -> Vec<String> {
    let Some(name) = path.file_name() else {
        return Vec::new();
    };
    let Ok(entries) = fs_err::read_dir(&cfg.baseline.references_dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join(name).is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|s| s != slug)
        .collect();
    out.sort();
    out
}
fn compare_one(case: &CaseResult, r: &Reference, path: PathBuf) -> Comparison {
    let limits = case.thresholds;
    let duration_ratio = case.duration_s / r.duration_s.max(0.001);
    let vram_ratio = match (case.peak_vram.bytes(), r.peak_vram.bytes()) {
        (Some(now), Some(then)) if then > 0 => Some(now as f64 / then as f64),
        _ => None,
    };
    let status_changed = case.status != r.status;
    let mut regressions = Vec::new();
    if status_changed {
        regressions.push(format!(
            "status {} (the reference passed)",
            case.status.as_str()
        ));
    } else if duration_ratio > limits.max_duration_ratio
        && case.duration_s - r.duration_s >= MIN_DURATION_DELTA_S
    {
        // A failed run's duration says nothing about speed.
        regressions.push(format!(
            "speed: duration {:.2}x the reference ({:.1}s vs {:.1}s; limit {}x)",
            duration_ratio, case.duration_s, r.duration_s, limits.max_duration_ratio
        ));
    }
    if let Some(v) = vram_ratio
        && v > limits.max_vram_ratio
    {
        regressions.push(format!(
            "memory: peak GPU memory {v:.2}x the reference (limit {}x)",
            limits.max_vram_ratio
        ));
    }
    if let (Some(c), Some(rc)) = (&case.canary, &r.canary)
        && let Some(report) = &c.report
    {
        canary_regressions(c, report, rc, &limits, &mut regressions);
    }
    let mut quality = Vec::new();
    for q in &case.quality {
        let Some(report) = &q.report else { continue };
        let Some(reference) = r.quality.iter().find(|o| o.path == q.path) else {
            quality.push(not_compared(
                q,
                "the reference has no frames of this output",
            ));
            continue;
        };
        let Some(m) = &report.quality else {
            quality.push(not_compared(q, "the reference frames could not be read"));
            continue;
        };
        if let Some(why) = &m.mismatch {
            let why = if (report.width, report.height) != (reference.width, reference.height) {
                format!(
                    "output is {}x{} but the reference is {}x{}",
                    report.width, report.height, reference.width, reference.height
                )
            } else {
                why.clone()
            };
            regressions.push(format!(
                "quality: output `{}` not comparable: {why}",
                q.path
            ));
            quality.push(not_compared(q, &why));
            continue;
        }
        if report.frames != reference.frames {
            regressions.push(format!(
                "quality: output `{}` has {} frames, the reference {}",
                q.path, report.frames, reference.frames
            ));
        }
        if let Some(mean) = m.mean_ssim
            && mean < limits.min_mean_ssim
        {
            regressions.push(format!(
                "quality: output `{}` mean SSIM {mean:.4} below {} (min {:.4}, mean PSNR {})",
                q.path,
                limits.min_mean_ssim,
                m.min_ssim.unwrap_or(mean),
                psnr_text(m.mean_psnr_db)
            ));
        }
        quality.push(OutputMetrics {
            output: q.path.clone(),
            frames_compared: m.frames_compared,
            mean_ssim: m.mean_ssim,
            min_ssim: m.min_ssim,
            mean_psnr_db: m.mean_psnr_db,
            min_psnr_db: m.min_psnr_db,
            not_compared: None,
        });
    }
    Comparison::Compared {
        reference: path,
        duration_ratio,
        vram_ratio,
        status_changed,
        regressions,
        quality,
    }
}

/// Numeric, speed and memory regressions of a canary against its reference.
fn canary_regressions(
    c: &CanaryOutcome,
    report: &crate::protocol::CanaryReport,
    rc: &CanaryReference,
    limits: &crate::config::Thresholds,
    out: &mut Vec<String>,
) {
    for d in report.comparison.iter().flatten() {
        let (Some(abs), Some(cos)) = (d.max_abs_error, d.cosine) else {
            continue;
        };
        if abs > c.max_abs_error || cos < c.min_cosine {
            out.push(format!(
                "numeric: canary output `{}` max abs error {abs:.3e} (limit {:.0e}), max rel error {:.3e}, cosine {cos:.6} (min {})",
                d.key,
                c.max_abs_error,
                d.max_rel_error.unwrap_or(0.0),
                c.min_cosine
            ));
        }
        if let Some(ssim) = d.ssim
            && ssim < limits.min_mean_ssim
        {
            out.push(format!(
                "quality: canary output `{}` SSIM {ssim:.4} below {} (PSNR {})",
                d.key,
                limits.min_mean_ssim,
                psnr_text(d.psnr_db)
            ));
        }
    }
    // Latency is judged on CUDA devices only: on a shared CPU (CI, the demo)
    // timing is scheduler noise, tens of times the forward itself under load.
    let ratio = report.median_latency_ms / rc.median_latency_ms.max(1e-6);
    if report.device.starts_with("cuda")
        && rc.device == report.device
        && ratio > limits.max_duration_ratio
        && report.median_latency_ms - rc.median_latency_ms >= MIN_CANARY_DELTA_MS
    {
        out.push(format!(
            "speed: canary median latency {:.2} ms, {ratio:.2}x the reference's {:.2} ms (limit {}x)",
            report.median_latency_ms, rc.median_latency_ms, limits.max_duration_ratio
        ));
    }
    if report.memory_kind == rc.memory_kind
        && report.memory_kind.starts_with("cuda")
        && let (Some(now), Some(then)) = (report.peak_memory_bytes, rc.peak_memory_bytes)
        && then > 0
    {
        let v = now as f64 / then as f64;
        if v > limits.max_vram_ratio {
            out.push(format!(
                "memory: canary peak memory {v:.2}x the reference (limit {}x)",
                limits.max_vram_ratio
            ));
        }
    }
}

fn not_compared(q: &OutputQuality, why: &str) -> OutputMetrics {
    OutputMetrics {
        output: q.path.clone(),
        frames_compared: 0,
        mean_ssim: None,
        min_ssim: None,
        mean_psnr_db: None,
        min_psnr_db: None,
        not_compared: Some(why.to_owned()),
    }
}

/// A PSNR figure in words (`inf` for identical frames).
pub fn psnr_text(db: Option<f64>) -> String {
    match db {
        Some(d) => format!("{d:.2} dB"),
        None => "inf dB".into(),
    }
}

#[cfg(test)]
#[path = "compare_tests.rs"]
mod tests;
