//! Decoded frames as tensors: downsampling to the stored reference size and
//! the safetensors files references keep (`frames`, `u8 [T, 3, H, W]`).

use std::path::Path;

use tch::{Kind, Tensor};
use tether_shared::media::Video;

/// Name of the tensor in a reference's safetensors file.
pub const TENSOR: &str = "frames";

/// The size frames of `width`x`height` are stored at: scaled (aspect kept)
/// so the longer side is at most `max_side`, never upscaled.
pub fn stored_size(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= max_side || long == 0 {
        return (width, height);
    }
    let scale = f64::from(max_side) / f64::from(long);
    let w = (f64::from(width) * scale).round().max(1.0) as u32;
    let h = (f64::from(height) * scale).round().max(1.0) as u32;
    (w, h)
}

/// Every frame of `video`, downsampled by area averaging to
/// [`stored_size`] and quantised to `u8` (non-finite values become 0), as
/// `[T, 3, h, w]` on the CPU. One frame is converted at a time.
pub fn downsample(video: &Video, max_side: u32) -> Tensor {
    let (w, h) = stored_size(video.width, video.height, max_side);
    let frames: Vec<Tensor> = video
        .frames
        .iter()
        .map(|f| {
            let t = Tensor::from_slice(&f.data).view([
                1,
                3,
                i64::from(video.height),
                i64::from(video.width),
            ]);
            let t = if (w, h) == (video.width, video.height) {
                t
            } else {
                t.adaptive_avg_pool2d([i64::from(h), i64::from(w)])
            };
            quantise(&t)
        })
        .collect();
    if frames.is_empty() {
        return Tensor::zeros(
            [0, 3, i64::from(h), i64::from(w)],
            (Kind::Uint8, tch::Device::Cpu),
        );
    }
    Tensor::cat(&frames, 0)
}

/// Floats in 0..1 to `u8` (rounded, clamped; NaN and infinities to 0).
pub fn quantise(t: &Tensor) -> Tensor {
    (t.nan_to_num(0.0, 0.0, 0.0).clamp(0.0, 1.0) * 255.0)
        .round()
        .to_kind(Kind::Uint8)
}

pub fn write(path: &Path, frames: &Tensor) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        fs_err::create_dir_all(dir)
            .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    }
    Tensor::write_safetensors(&[(TENSOR, frames)], path)
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}

/// Writes named tensors (a canary's outputs).
pub fn write_named(path: &Path, tensors: &[(String, Tensor)]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        fs_err::create_dir_all(dir)
            .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    }
    Tensor::write_safetensors(tensors, path)
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}

/// Reads stored frames, checking their name, dtype and rank.
pub fn read(path: &Path) -> Result<Tensor, String> {
    let tensors = Tensor::read_safetensors(path)
        .map_err(|e| format!("cannot read reference frames `{}`: {e}", path.display()))?;
    let (_, t) = tensors
        .into_iter()
        .find(|(name, _)| name == TENSOR)
        .ok_or_else(|| format!("`{}` holds no `{TENSOR}` tensor", path.display()))?;
    if t.kind() != Kind::Uint8 || t.dim() != 4 || t.size()[1] != 3 {
        return Err(format!(
            "`{}`: `{TENSOR}` is {:?} {:?}, expected u8 [T, 3, H, W]",
            path.display(),
            t.kind(),
            t.size()
        ));
    }
    Ok(t)
}
