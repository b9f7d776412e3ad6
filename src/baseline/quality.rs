//! The quality of a passed case's outputs: every video or image it wrote is
//! handed to the `tether-gpu` worker, which decodes it, checks it against
//! what the case asked for (frames, size, fps; NaN, black, constant, frozen
//! frames; flicker), stores its downsampled frames, and computes PSNR/SSIM
//! against the reference's frames. The verdicts are made here, from the
//! figures and the case's thresholds.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::runner::OutputFile;
use crate::config::Config;
use crate::gpu::{Worker, WorkerError};
use crate::media::{Expectation, Severity};
use crate::protocol::{AnalyzeReport, AnalyzeRequest};

/// Extensions of outputs that are analysed.
pub const MEDIA_EXTS: &[&str] = &[
    "y4m", "png", "mp4", "webm", "mkv", "mov", "avi", "jpg", "jpeg",
];

/// Folder inside a case's output folder where tether keeps what the worker
/// wrote (requests, responses, logs, downsampled frames).
pub const QUALITY_DIR: &str = ".tether-quality";

/// One analysed output of one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputQuality {
    /// Relative to the case's output folder, `/`-separated.
    pub path: String,
    /// The downsampled frames the worker stored (absolute), for `record`.
    pub frames_file: Option<PathBuf>,
    pub report: Option<AnalyzeReport>,
    /// Why there is no report (the worker failed).
    pub error: Option<String>,
}

impl OutputQuality {
    /// The failing checks of this output, in words.
    pub fn failures(&self) -> Vec<String> {
        match (&self.report, &self.error) {
            (_, Some(e)) => vec![format!("output `{}` could not be checked: {e}", self.path)],
            (Some(r), None) => r
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Fail)
                .map(|f| format!("output `{}`: {}", self.path, f.message))
                .collect(),
            (None, None) => Vec::new(),
        }
    }
}

/// Whether `path` is an output the worker analyses.
pub fn is_media(path: &str) -> bool {
    Path::new(path)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|e| MEDIA_EXTS.contains(&e.as_str()))
}

/// Where the worker is, or why it cannot be used; looked up once per run.
pub type WorkerSlot = Option<Result<Worker, String>>;

/// Analyses every media output of a case in `case_dir`. `reference_frames`
/// gives, for an output path, the reference's stored frames when there are
/// some.
pub fn analyze_outputs(
    cfg: &Config,
    worker: &mut WorkerSlot,
    case_dir: &Path,
    outputs: &[OutputFile],
    expect: &Expectation,
    reference_frames: &dyn Fn(&str) -> Option<PathBuf>,
) -> Vec<OutputQuality> {
    let media: Vec<&OutputFile> = outputs.iter().filter(|o| is_media(&o.path)).collect();
    if media.is_empty() {
        return Vec::new();
    }
    let worker = worker
        .get_or_insert_with(|| {
            Worker::locate(cfg.gpu.worker.as_deref(), cfg.gpu.timeout).map_err(|e| e.to_string())
        })
        .as_ref();
    let dir = case_dir.join(QUALITY_DIR);
    media
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let slug = format!("{i}-{}", slugify(&o.path));
            let store = dir.join(format!("{slug}.safetensors"));
            let result = match worker {
                Err(e) => Err(e.clone()),
                Ok(w) => run_one(
                    w,
                    &dir,
                    &slug,
                    AnalyzeRequest {
                        output: case_dir.join(&o.path),
                        expect: expect.clone(),
                        max_side: cfg.baseline.quality_max_side,
                        device: cfg.gpu.device,
                        reference: reference_frames(&o.path).filter(|p| p.is_file()),
                        store: store.clone(),
                        ffmpeg_log_dir: dir.clone(),
                    },
                ),
            };
            match result {
                Ok(report) => OutputQuality {
                    path: o.path.clone(),
                    frames_file: store.is_file().then_some(store),
                    report: Some(report),
                    error: None,
                },
                Err(error) => {
                    tracing::warn!(output = %o.path, %error, "output could not be analysed");
                    OutputQuality {
                        path: o.path.clone(),
                        frames_file: None,
                        report: None,
                        error: Some(error),
                    }
                }
            }
        })
        .collect()
}

fn run_one(
    worker: &Worker,
    dir: &Path,
    slug: &str,
    request: AnalyzeRequest,
) -> Result<AnalyzeReport, String> {
    let request_path = dir.join(format!("{slug}.request.json"));
    let text = serde_json::to_string_pretty(&request).map_err(|e| e.to_string())?;
    crate::state::create_private_dir(dir).map_err(|e| e.to_string())?;
    crate::state::write_atomic(&request_path, text.as_bytes())
        .map_err(|e| format!("cannot write `{}`: {e}", request_path.display()))?;
    let args = vec![
        "analyze".to_owned(),
        "--request".to_owned(),
        request_path.display().to_string(),
    ];
    worker
        .run::<AnalyzeReport>(&args, dir, &format!("{slug}.response"))
        .map_err(|e: WorkerError| e.to_string())
}

/// A file-name-safe form of an output path.
pub fn slugify(path: &str) -> String {
    path.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}
