//! The quality of a passed case's outputs: every video or image it wrote is
//! handed to the `tether-gpu` worker, which decodes it, checks it against
//! what the case asked for (frames, size, fps; NaN, black, constant, frozen
//! frames; flicker), stores its downsampled frames, and computes PSNR/SSIM
//! against the reference's frames. The verdicts are made here, from the
//! figures and the case's thresholds. `tether baseline compare` analyses an
//! earlier run's outputs again ([`reanalyze`]).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

pub use super::model::OutputQuality;
use super::model::{BaselineRun, OutputFile};
use super::reference_file::{read_reference, reference_path};
use crate::config::Config;
use crate::gpu::{Worker, WorkerError};
use crate::media::Expectation;
use crate::protocol::{AnalyzeReport, AnalyzeRequest};

/// Extensions of outputs that are analysed.
pub const MEDIA_EXTS: &[&str] = &[
    "y4m", "png", "mp4", "webm", "mkv", "mov", "avi", "jpg", "jpeg",
];

/// Folder inside a case's output folder where tether keeps what the worker
/// wrote (requests, responses, logs, downsampled frames).
pub const QUALITY_DIR: &str = ".tether-quality";

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

/// A case as its reference is keyed: name and settings.
pub(super) struct CaseKey<'a> {
    pub name: &'a str,
    pub params: &'a Map<String, Value>,
    pub settings_hash: &'a str,
}

/// Analyses a case's media outputs against its reference on `hardware`.
pub(super) fn check_outputs(
    cfg: &Config,
    hardware: &str,
    worker: &mut WorkerSlot,
    case: &CaseKey<'_>,
    case_dir: &Path,
    outputs: &[OutputFile],
) -> Vec<OutputQuality> {
    let expect = crate::media::expectation_from_params(
        case.params,
        &cfg.fix.length_param,
        &cfg.fix.resolution_param,
    );
    let ref_path = reference_path(cfg, hardware, case.name, case.settings_hash);
    let reference = match read_reference(&ref_path) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "reference unreadable; outputs are not compared");
            None
        }
    };
    analyze_outputs(cfg, worker, case_dir, outputs, &expect, &|p| {
        reference.as_ref().and_then(|r| r.frames_for(&ref_path, p))
    })
}

/// Analyses the outputs of every passed case of an earlier run again, against
/// the references as they are now (`tether baseline compare`).
pub fn reanalyze(cfg: &Config, run: &mut BaselineRun) {
    let mut worker: WorkerSlot = None;
    let run_hardware = run.hardware.slug.clone();
    for case in run.cases.iter_mut().filter(|c| c.passed()) {
        let hardware = case
            .hardware
            .as_ref()
            .map_or(run_hardware.clone(), |h| h.slug.clone());
        let key = CaseKey {
            name: &case.name,
            params: &case.params,
            settings_hash: &case.settings_hash,
        };
        case.quality = check_outputs(
            cfg,
            &hardware,
            &mut worker,
            &key,
            &case.log_dir,
            &case.outputs,
        );
    }
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
