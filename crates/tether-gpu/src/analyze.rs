//! One output of a baseline case: decoded, checked against what the case
//! asked for, downsampled and stored, and compared with the reference frames.

use std::time::Instant;

use tch::{Device, Tensor};
use tether_shared::media;
use tether_shared::protocol::{AnalyzeReport, AnalyzeRequest, Quality};

use crate::{device, frames, metrics};

/// Frames per metrics chunk on the device.
const CHUNK: i64 = 16;

pub fn analyze(req: &AnalyzeRequest) -> Result<AnalyzeReport, String> {
    let started = Instant::now();
    let dev = device::resolve(req.device)?;
    let video = media::decode(&req.output, &req.ffmpeg_log_dir)
        .map_err(|e| tether_shared::redact::error_chain(&e))?;
    let findings = media::check(&video, &req.expect);
    let stats = media::stats(&video);
    let stored = frames::downsample(&video, req.max_side);
    let (frame_count, width, height, fps) = (
        video.frames.len() as u32,
        video.width,
        video.height,
        video.fps,
    );
    drop(video);
    frames::write(&req.store, &stored)?;
    let size = stored.size();
    let quality = req
        .reference
        .as_deref()
        .map(|path| match frames::read(path) {
            Ok(reference) => compare(&stored, &reference, dev),
            Err(message) => unreadable(&stored, message),
        });
    Ok(AnalyzeReport {
        output: req.output.clone(),
        frames: frame_count,
        width,
        height,
        fps,
        findings,
        stats,
        stored_width: size[3] as u32,
        stored_height: size[2] as u32,
        quality,
        device: device::name(dev),
        duration_s: started.elapsed().as_secs_f64(),
    })
}

/// PSNR and SSIM of `out` against `reference` (both `u8 [T, 3, H, W]`).
pub fn compare(out: &Tensor, reference: &Tensor, dev: Device) -> Quality {
    let (o, r) = (out.size(), reference.size());
    let size = [o[3] as u32, o[2] as u32];
    let reference_size = [r[3] as u32, r[2] as u32];
    let n = o[0].min(r[0]);
    let mut q = empty(size, r[0] as u32, reference_size, None);
    if size != reference_size {
        q.mismatch = Some(format!(
            "frames are {}x{} but the reference's are {}x{} (stored sizes)",
            size[0], size[1], reference_size[0], reference_size[1]
        ));
        return q;
    }
    if n == 0 {
        q.mismatch = Some("no frames to compare".into());
        return q;
    }
    let small = (size[0].min(size[1]) as i64) < metrics::WINDOW;
    if small {
        q.mismatch = Some(format!(
            "frames of {}x{} are smaller than the {}x{} SSIM window",
            size[0],
            size[1],
            metrics::WINDOW,
            metrics::WINDOW
        ));
        return q;
    }
    let (ssim, mse) =
        metrics::compare_u8(&out.narrow(0, 0, n), &reference.narrow(0, 0, n), dev, CHUNK);
    let mean_mse = mse.iter().sum::<f64>() / mse.len() as f64;
    let max_mse = mse.iter().copied().fold(0.0, f64::max);
    q.frames_compared = n as u32;
    q.mean_ssim = Some(ssim.iter().sum::<f64>() / ssim.len() as f64);
    q.min_ssim = ssim.iter().copied().reduce(f64::min);
    q.mean_psnr_db = metrics::psnr(mean_mse);
    q.min_psnr_db = metrics::psnr(max_mse);
    q.psnr_db = mse.iter().map(|&m| metrics::psnr(m)).collect();
    q.ssim = ssim;
    q
}

fn unreadable(out: &Tensor, message: String) -> Quality {
    let o = out.size();
    empty([o[3] as u32, o[2] as u32], 0, [0, 0], Some(message))
}

/// A comparison with no figures (yet).
fn empty(
    size: [u32; 2],
    reference_frames: u32,
    reference_size: [u32; 2],
    mismatch: Option<String>,
) -> Quality {
    Quality {
        frames_compared: 0,
        reference_frames,
        size,
        reference_size,
        mismatch,
        ssim: Vec::new(),
        psnr_db: Vec::new(),
        mean_ssim: None,
        min_ssim: None,
        mean_psnr_db: None,
        min_psnr_db: None,
    }
}
