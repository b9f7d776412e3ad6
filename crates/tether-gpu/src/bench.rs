//! SSIM+PSNR throughput on synthetic frames of a chosen size, at full size
//! and at the downsampled size references are stored at.

use std::time::Instant;

use tch::{Device, Kind, Tensor};
use tether_shared::protocol::{BenchReport, DeviceChoice};

use crate::{device, frames, metrics};

/// Frames per chunk at full size.
const CHUNK: i64 = 8;

pub fn bench(
    choice: DeviceChoice,
    n: u32,
    width: u32,
    height: u32,
    repeats: u32,
    max_side: u32,
) -> Result<BenchReport, String> {
    if n == 0 || width < 11 || height < 11 || repeats == 0 {
        return Err("frames and repeats must be at least 1, width and height at least 11".into());
    }
    let dev = device::resolve(choice)?;
    tch::manual_seed(0);
    let shape = [i64::from(n), 3, i64::from(height), i64::from(width)];
    let a = Tensor::rand(shape, (Kind::Float, Device::Cpu));
    let b = (&a + Tensor::randn(shape, (Kind::Float, Device::Cpu)) * 0.02).clamp(0.0, 1.0);
    let best_s = best_of(repeats, || {
        let mut start = 0;
        while start < i64::from(n) {
            let len = CHUNK.min(i64::from(n) - start);
            let x = a.narrow(0, start, len).to_device(dev);
            let y = b.narrow(0, start, len).to_device(dev);
            let s = metrics::ssim(&x, &y);
            let m = metrics::mse(&x, &y);
            let _ = (metrics::to_vec(&s), metrics::to_vec(&m));
            start += len;
        }
    });
    let (w, h) = frames::stored_size(width, height, max_side);
    let small = |t: &Tensor| frames::quantise(&t.adaptive_avg_pool2d([i64::from(h), i64::from(w)]));
    let (sa, sb) = (small(&a), small(&b));
    let small_s = best_of(repeats, || {
        let _ = metrics::compare_u8(&sa, &sb, dev, 16);
    });
    Ok(BenchReport {
        device: device::name(dev),
        frames: n,
        width,
        height,
        repeats,
        best_s,
        frames_per_s: f64::from(n) / best_s,
        downsampled: [w, h],
        downsampled_frames_per_s: f64::from(n) / small_s,
    })
}

fn best_of(repeats: u32, mut f: impl FnMut()) -> f64 {
    f(); // warm-up
    (0..repeats)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}
