//! Baseline references: what a passed case looked like on this hardware
//! with these settings (`<references_dir>/<hardware-slug>/<case>-<hash8>.json`),
//! recorded by `tether baseline record` and compared against by later runs.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::BaselineError;
use super::hardware::HardwareKey;
use super::runner::{BaselineRun, CaseResult, CaseStatus, OutputFile};
use crate::config::Config;
use crate::gpu::VramPeak;

/// A run slower than this many times its reference is a regression.
pub const MAX_DURATION_RATIO: f64 = 1.25;
/// A run using more than this many times its reference's peak GPU memory is
/// a regression.
pub const MAX_VRAM_RATIO: f64 = 1.10;
/// A duration difference smaller than this many seconds is never a
/// regression (start-up noise dominates short cases).
pub const MIN_DURATION_DELTA_S: f64 = 5.0;

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
}

/// How a case compares with its reference.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CaseComparison {
    pub case: String,
    pub settings_hash: String,
    /// The hardware slug the reference was looked up under.
    pub hardware: String,
    #[serde(flatten)]
    pub comparison: Comparison,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Comparison {
    /// No reference for this case, settings and hardware yet (not a failure).
    New,
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
        };
        let err = |source| BaselineError::Write {
            path: path.clone(),
            source,
        };
        let mut text =
            serde_json::to_string_pretty(&reference).map_err(|e| err(std::io::Error::other(e)))?;
        text.push('\n');
        crate::state::write_atomic(&path, text.as_bytes()).map_err(err)?;
        written.push(path);
    }
    Ok(written)
}

/// Compares every case of `run` with its reference for the run's hardware.
pub fn compare(cfg: &Config, run: &BaselineRun) -> Result<Vec<CaseComparison>, BaselineError> {
    run.cases
        .iter()
        .map(|case| {
            let path = reference_path(cfg, &run.hardware.slug, &case.name, &case.settings_hash);
            let comparison = match read_reference(&path)? {
                None => Comparison::New,
                Some(r) => compare_one(case, &r, path),
            };
            Ok(CaseComparison {
                case: case.name.clone(),
                settings_hash: case.settings_hash.clone(),
                hardware: run.hardware.slug.clone(),
                comparison,
            })
        })
        .collect()
}

fn read_reference(path: &Path) -> Result<Option<Reference>, BaselineError> {
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
    } else if duration_ratio > MAX_DURATION_RATIO
        && case.duration_s - r.duration_s >= MIN_DURATION_DELTA_S
    {
        // A failed run's duration says nothing about speed.
        regressions.push(format!(
            "duration {:.2}x the reference ({:.1}s vs {:.1}s; limit {MAX_DURATION_RATIO}x)",
            duration_ratio, case.duration_s, r.duration_s
        ));
    }
    if let Some(v) = vram_ratio
        && v > MAX_VRAM_RATIO
    {
        regressions.push(format!(
            "peak GPU memory {v:.2}x the reference (limit {MAX_VRAM_RATIO}x)"
        ));
    }
    Comparison::Compared {
        reference: path,
        duration_ratio,
        vram_ratio,
        status_changed,
        regressions,
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
        }
    }

    fn regressions(c: Comparison) -> Vec<String> {
        match c {
            Comparison::Compared { regressions, .. } => regressions,
            Comparison::New => panic!("expected a comparison"),
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
            ["duration 1.30x the reference (130.0s vs 100.0s; limit 1.25x)"]
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
                        "peak GPU memory 1.20x the reference (limit 1.1x)"
                    ]
                );
            }
            Comparison::New => panic!(),
        }
    }
}
