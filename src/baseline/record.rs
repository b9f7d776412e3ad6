//! Recording references (`tether baseline record`): for every passed case of
//! a run, its figures as `<case>-<hash8>.json` under the hardware's folder,
//! and beside it `<case>-<hash8>/` with each analysed output's downsampled
//! frames and a canary's outputs, replacing an older reference of the same
//! case, settings and hardware.

use std::path::{Path, PathBuf};

use super::BaselineError;
use super::model::{
    BaselineRun, CanaryReference, CaseResult, OutputQuality, Reference, ReferenceOutput,
};
use super::quality::slugify;
use super::reference_file::{REFERENCE_VERSION, reference_path};
use crate::config::Config;

/// Writes a reference for every passed case of `run` (replacing an older one
/// of the same case, settings and hardware); returns the files written.
pub fn record(cfg: &Config, run: &BaselineRun) -> Result<Vec<PathBuf>, BaselineError> {
    let mut written = Vec::new();
    for case in run.cases.iter().filter(|c| c.passed()) {
        let hardware = run.hardware_of(case);
        let path = reference_path(cfg, &hardware.slug, &case.name, &case.settings_hash);
        let quality = record_frames(&path, &case.quality)?;
        let canary = record_canary(&path, case)?;
        let reference = Reference {
            format_version: REFERENCE_VERSION,
            case: case.name.clone(),
            model: case.model.clone(),
            params: case.params.clone(),
            settings_hash: case.settings_hash.clone(),
            hardware: hardware.clone(),
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
