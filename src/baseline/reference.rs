//! Baseline references: what a passed case looked like on this hardware
//! with these settings (`<references_dir>/<hardware-slug>/<case>-<hash8>.json`,
//! and beside it `<case>-<hash8>/` with each output's downsampled frames as
//! safetensors), recorded by `tether baseline record` and compared against by
//! later runs: status, duration, peak GPU memory and output quality, each
//! judged by the case's thresholds.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::BaselineError;
use super::hardware::HardwareKey;
use super::quality::{OutputQuality, slugify};
use super::runner::{BaselineRun, CaseResult, CaseStatus, OutputFile};
use crate::config::Config;
use crate::gpu::VramPeak;

/// A duration difference smaller than this many seconds is never a
/// regression (start-up noise dominates short cases).
pub const MIN_DURATION_DELTA_S: f64 = 5.0;

/// A canary's latency (on a CUDA device) must grow by at least this much to
/// be a regression.
pub const MIN_CANARY_DELTA_MS: f64 = 1.0;

const REFERENCE_VERSION: u32 = 1;

/// One recorded reference.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reference {
    pub format_version: u32,
    pub case: String,
    pub model: String,
    pub params: Map<String, Value>,
    pub settings_hash: String,
    pub hardware: HardwareKey,
    pub recorded_at: jiff::Timestamp,
    pub run_id: String,
    pub status: CaseStatus,
    pub duration_s: f64,
    pub peak_vram: VramPeak,
    pub outputs: Vec<OutputFile>,
    /// The analysed outputs and where their downsampled frames are kept.
    #[serde(default)]
    pub quality: Vec<ReferenceOutput>,
    /// A canary's outputs and figures.
    #[serde(default)]
    pub canary: Option<CanaryReference>,
}

/// What a canary's reference keeps.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CanaryReference {
    /// The outputs (f32 safetensors), relative to the reference JSON's folder.
    pub outputs_file: String,
    pub median_latency_ms: f64,
    pub peak_memory_bytes: Option<u64>,
    pub memory_kind: String,
    pub device: String,
    pub dtype: String,
}

/// One analysed output of a reference.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReferenceOutput {
    /// Relative to the case's output folder.
    pub path: String,
    /// The downsampled frames, relative to the reference JSON's folder.
    pub frames_file: String,
    pub frames: u32,
    pub width: u32,
    pub height: u32,
    pub fps: Option<f64>,
    /// Size of the stored frames, `[width, height]`.
    pub stored: [u32; 2],
}

impl Reference {
    /// The canary's reference outputs, given where this reference's JSON is.
    pub fn canary_outputs(&self, json_path: &Path) -> Option<PathBuf> {
        let dir = json_path.parent()?;
        self.canary.as_ref().map(|c| dir.join(&c.outputs_file))
    }

    /// The stored frames of output `path`, given where this reference's JSON
    /// file is.
    pub fn frames_for(&self, json_path: &Path, path: &str) -> Option<PathBuf> {
        let dir = json_path.parent()?;
        self.quality
            .iter()
            .find(|q| q.path == path)
            .map(|q| dir.join(&q.frames_file))
    }
}

/// A case's verdict against its reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Passed, within every limit of its reference.
    Pass,
    /// Passed, but worse than its reference in quality, speed or memory.
    Regressed,
    /// Did not pass.
    Failed,
    /// Passed; there is no reference for this hardware and settings yet.
    New,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Regressed => "regressed",
            Verdict::Failed => "failed",
            Verdict::New => "new",
        }
    }
}

/// The quality figures of one output against its reference.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OutputMetrics {
    pub output: String,
    pub frames_compared: u32,
    pub mean_ssim: Option<f64>,
    pub min_ssim: Option<f64>,
    pub mean_psnr_db: Option<f64>,
    pub min_psnr_db: Option<f64>,
    /// Why the output was not compared, when it was not.
    pub not_compared: Option<String>,
}

/// How a case compares with its reference.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CaseComparison {
    pub case: String,
    pub settings_hash: String,
    /// The hardware slug the reference was looked up under.
    pub hardware: String,
    pub verdict: Verdict,
    #[serde(flatten)]
    pub comparison: Comparison,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Comparison {
    /// No reference for this case, settings and hardware yet (not a failure).
    New {
        /// Hardware slugs that do have a reference of this case and settings:
        /// not compared, since figures from other hardware say nothing.
        #[serde(default)]
        other_hardware: Vec<String>,
    },
    Compared {
        reference: PathBuf,
        /// This run's duration over the reference's.
        duration_ratio: f64,
        /// This run's peak GPU memory over the reference's, when both have one.
        vram_ratio: Option<f64>,
        /// The case did not pass this time (references are of passed runs).
        status_changed: bool,
        /// Each limit exceeded, in words; empty when within every limit.
        regressions: Vec<String>,
        /// PSNR/SSIM of each analysed output against the reference's frames.
        #[serde(default)]
        quality: Vec<OutputMetrics>,
    },
}

impl CaseComparison {
    pub fn is_regression(&self) -> bool {
        matches!(&self.comparison, Comparison::Compared { regressions, .. } if !regressions.is_empty())
    }
}

/// Where the reference of a case with these settings on this hardware lives.
pub fn reference_path(
    cfg: &Config,
    hardware_slug: &str,
    case: &str,
    settings_hash: &str,
) -> PathBuf {
    let hash8 = &settings_hash[..settings_hash.len().min(8)];
    cfg.baseline
        .references_dir
        .join(hardware_slug)
        .join(format!("{case}-{hash8}.json"))
}

/// Writes a reference for every passed case of `run` (replacing an older one
/// of the same case, settings and hardware); returns the files written.
pub fn record(cfg: &Config, run: &BaselineRun) -> Result<Vec<PathBuf>, BaselineError> {
    let mut written = Vec::new();
    for case in run.cases.iter().filter(|c| c.passed()) {
        let path = reference_path(cfg, &run.hardware.slug, &case.name, &case.settings_hash);
        let quality = record_frames(&path, &case.quality)?;
        let canary = record_canary(&path, case)?;
        let reference = Reference {
            format_version: REFERENCE_VERSION,
            case: case.name.clone(),
            model: case.model.clone(),
            params: case.params.clone(),
            settings_hash: case.settings_hash.clone(),
            hardware: run.hardware.clone(),
            recorded_at: run.finished,
            run_id: run.run_id.clone(),
            status: case.status,
            duration_s: case.duration_s,
            peak_vram: case.peak_vram.clone(),
            outputs: case.outputs.clone(),
            quality,
            canary,
        };
        let err = |source| BaselineError::Write {
            path: path.clone(),
            source,
        };
        let mut text =
            serde_json::to_string_pretty(&reference).map_err(|e| err(std::io::Error::other(e)))?;
        text.push('\n');
        crate::state::write_atomic_shared(&path, text.as_bytes()).map_err(err)?;
        written.push(path);
    }
    Ok(written)
}

/// Copies each analysed output's frames next to the reference `json_path`
/// (into `<case>-<hash8>/`), replacing what an older reference kept there.
fn record_frames(
    json_path: &Path,
    quality: &[OutputQuality],
) -> Result<Vec<ReferenceOutput>, BaselineError> {
    let stem = json_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = json_path.with_file_name(&stem);
    if dir.is_dir() {
        fs_err::remove_dir_all(&dir).map_err(|source| BaselineError::Write {
            path: dir.clone(),
            source,
        })?;
    }
    let mut out = Vec::new();
    for (i, q) in quality.iter().enumerate() {
        let (Some(report), Some(frames)) = (&q.report, &q.frames_file) else {
            continue;
        };
        let name = format!("{i}-{}.safetensors", slugify(&q.path));
        let to = dir.join(&name);
        fs_err::create_dir_all(&dir).map_err(|source| BaselineError::Write {
            path: dir.clone(),
            source,
        })?;
        fs_err::copy(frames, &to).map_err(|source| BaselineError::Copy {
            from: frames.clone(),
            to: to.clone(),
            source,
        })?;
        out.push(ReferenceOutput {
            path: q.path.clone(),
            frames_file: format!("{stem}/{name}"),
            frames: report.frames,
            width: report.width,
            height: report.height,
            fps: report.fps,
            stored: [report.stored_width, report.stored_height],
        });
    }
    Ok(out)
}

/// Copies a canary's outputs next to the reference (after the frames, which
/// clear the folder).
fn record_canary(
    json_path: &Path,
    case: &CaseResult,
) -> Result<Option<CanaryReference>, BaselineError> {
    let Some(c) = &case.canary else {
        return Ok(None);
    };
    let (Some(report), Some(outputs)) = (&c.report, &c.outputs_file) else {
        return Ok(None);
    };
    let stem = json_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let to = json_path.with_file_name(&stem).join("canary.safetensors");
    if let Some(dir) = to.parent() {
        fs_err::create_dir_all(dir).map_err(|source| BaselineError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    fs_err::copy(outputs, &to).map_err(|source| BaselineError::Copy {
        from: outputs.clone(),
        to: to.clone(),
        source,
    })?;
    Ok(Some(CanaryReference {
        outputs_file: format!("{stem}/canary.safetensors"),
        median_latency_ms: report.median_latency_ms,
        peak_memory_bytes: report.peak_memory_bytes,
        memory_kind: report.memory_kind.clone(),
        device: report.device.clone(),
        dtype: report.dtype.clone(),
    }))
}

/// Compares every case of `run` with its reference for the run's hardware.
pub fn compare(cfg: &Config, run: &BaselineRun) -> Result<Vec<CaseComparison>, BaselineError> {
    run.cases
        .iter()
        .map(|case| {
            let path = reference_path(cfg, &run.hardware.slug, &case.name, &case.settings_hash);
            let comparison = match read_reference(&path)? {
                None => Comparison::New {
                    other_hardware: other_hardware(cfg, &run.hardware.slug, &path),
                },
                Some(r) => compare_one(case, &r, path),
            };
            let verdict = match &comparison {
                _ if !case.passed() => Verdict::Failed,
                Comparison::New { .. } => Verdict::New,
                Comparison::Compared { regressions, .. } if !regressions.is_empty() => {
                    Verdict::Regressed
                }
                Comparison::Compared { .. } => Verdict::Pass,
            };
            Ok(CaseComparison {
                case: case.name.clone(),
                settings_hash: case.settings_hash.clone(),
                hardware: run.hardware.slug.clone(),
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

pub(super) fn read_reference(path: &Path) -> Result<Option<Reference>, BaselineError> {
    let text = match fs_err::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(BaselineError::Reference {
                path: path.to_path_buf(),
                message: e.to_string(),
            });
        }
    };
    let reference: Reference =
        serde_json::from_str(&text).map_err(|e| BaselineError::Reference {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    if reference.format_version != REFERENCE_VERSION {
        return Err(BaselineError::Reference {
            path: path.to_path_buf(),
            message: format!(
                "format_version {} is not supported (expected {REFERENCE_VERSION})",
                reference.format_version
            ),
        });
    }
    Ok(Some(reference))
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
    c: &super::canary::CanaryOutcome,
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
mod tests {
    use super::*;

    fn case(status: CaseStatus, duration_s: f64, vram: Option<u64>) -> CaseResult {
        CaseResult {
            name: "c".into(),
            model: "m".into(),
            params: Map::new(),
            settings_hash: "0123456789abcdef".into(),
            status,
            exit: None,
            duration_s,
            peak_vram: match vram {
                Some(bytes) => VramPeak::Peak {
                    bytes,
                    device: "GPU 0".into(),
                },
                None => VramPeak::Unavailable {
                    reason: "no GPU".into(),
                },
            },
            outputs: Vec::new(),
            error: None,
            stdout_tail: String::new(),
            stderr_tail: String::new(),
            log_dir: PathBuf::new(),
            log_truncated: false,
            stray_writes: Vec::new(),
            quality: Vec::new(),
            thresholds: crate::config::Thresholds::default(),
            canary: None,
        }
    }

    fn reference(duration_s: f64, vram: Option<u64>) -> Reference {
        let c = case(CaseStatus::Passed, duration_s, vram);
        Reference {
            format_version: REFERENCE_VERSION,
            case: c.name,
            model: c.model,
            params: c.params,
            settings_hash: c.settings_hash,
            hardware: HardwareKey::cpu(),
            recorded_at: jiff::Timestamp::UNIX_EPOCH,
            run_id: "r".into(),
            status: CaseStatus::Passed,
            duration_s,
            peak_vram: c.peak_vram,
            outputs: Vec::new(),
            quality: Vec::new(),
            canary: None,
        }
    }

    fn canary_report(device: &str, median: f64) -> crate::protocol::CanaryReport {
        crate::protocol::CanaryReport {
            device: device.into(),
            dtype: "bf16".into(),
            load_s: 0.1,
            latency_ms: vec![median],
            median_latency_ms: median,
            peak_memory_bytes: Some(1000),
            memory_kind: "cuda device used (NVML)".into(),
            outputs: Vec::new(),
            comparison: None,
            reference_error: None,
        }
    }

    #[test]
    fn canary_latency_is_judged_on_cuda_only() {
        let c = crate::baseline::canary::CanaryOutcome {
            module: PathBuf::new(),
            report: None,
            outputs_file: None,
            max_abs_error: 1e-3,
            min_cosine: 0.999,
        };
        let rc = CanaryReference {
            outputs_file: String::new(),
            median_latency_ms: 10.0,
            peak_memory_bytes: Some(1000),
            memory_kind: "cuda device used (NVML)".into(),
            device: "cuda:0".into(),
            dtype: "bf16".into(),
        };
        let limits = crate::config::Thresholds::default();
        let mut out = Vec::new();
        canary_regressions(&c, &canary_report("cuda:0", 14.0), &rc, &limits, &mut out);
        assert_eq!(
            out,
            ["speed: canary median latency 14.00 ms, 1.40x the reference's 10.00 ms (limit 1.25x)"]
        );
        let mut out = Vec::new();
        canary_regressions(&c, &canary_report("cuda:0", 12.0), &rc, &limits, &mut out);
        assert!(out.is_empty(), "{out:?}");
        // the CPU: timing noise, never a regression
        let cpu = CanaryReference {
            device: "cpu".into(),
            memory_kind: "cpu peak resident set".into(),
            ..rc.clone()
        };
        let mut out = Vec::new();
        canary_regressions(&c, &canary_report("cpu", 400.0), &cpu, &limits, &mut out);
        assert!(out.is_empty(), "{out:?}");
        // memory on CUDA
        let mut big = canary_report("cuda:0", 10.0);
        big.peak_memory_bytes = Some(1200);
        let mut out = Vec::new();
        canary_regressions(&c, &big, &rc, &limits, &mut out);
        assert_eq!(
            out,
            ["memory: canary peak memory 1.20x the reference (limit 1.1x)"]
        );
    }

    fn regressions(c: Comparison) -> Vec<String> {
        match c {
            Comparison::Compared { regressions, .. } => regressions,
            Comparison::New { .. } => panic!("expected a comparison"),
        }
    }

    #[test]
    fn limits() {
        let p = PathBuf::from("ref.json");
        // Within limits.
        let r = compare_one(
            &case(CaseStatus::Passed, 110.0, Some(1000)),
            &reference(100.0, Some(950)),
            p.clone(),
        );
        assert_eq!(regressions(r), Vec::<String>::new());
        // Slower by more than the ratio and the minimum delta.
        let r = compare_one(
            &case(CaseStatus::Passed, 130.0, None),
            &reference(100.0, None),
            p.clone(),
        );
        assert_eq!(
            regressions(r),
            ["speed: duration 1.30x the reference (130.0s vs 100.0s; limit 1.25x)"]
        );
        // A large ratio on a tiny case is noise.
        let r = compare_one(
            &case(CaseStatus::Passed, 0.5, None),
            &reference(0.2, None),
            p.clone(),
        );
        assert!(regressions(r).is_empty());
        // More memory; a failed status.
        let r = compare_one(
            &case(CaseStatus::Failed, 100.0, Some(1200)),
            &reference(100.0, Some(1000)),
            p.clone(),
        );
        match r {
            Comparison::Compared {
                vram_ratio,
                status_changed,
                regressions,
                ..
            } => {
                assert_eq!(vram_ratio, Some(1.2));
                assert!(status_changed);
                assert_eq!(
                    regressions,
                    [
                        "status failed (the reference passed)",
                        "memory: peak GPU memory 1.20x the reference (limit 1.1x)"
                    ]
                );
            }
            Comparison::New { .. } => panic!(),
        }
    }
}
