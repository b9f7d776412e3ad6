//! PSNR and SSIM on libtorch tensors. Frames are `[N, C, H, W]` floats in
//! 0..1. SSIM follows Wang et al. 2004: an 11x11 Gaussian window with sigma
//! 1.5 (applied as two separable passes, no padding, so only windows wholly
//! inside the frame count), `C1 = (0.01 L)^2`, `C2 = (0.03 L)^2` with `L = 1`,
//! the map averaged over every channel and position of a frame.

use tch::{Device, Kind, Tensor};

pub const WINDOW: i64 = 11;
pub const SIGMA: f64 = 1.5;
pub const C1: f64 = 0.01 * 0.01;
pub const C2: f64 = 0.03 * 0.03;

/// The normalised 1-D Gaussian window.
pub fn window_1d() -> Vec<f32> {
    let half = (WINDOW / 2) as f64;
    let w: Vec<f64> = (0..WINDOW)
        .map(|i| {
            let x = i as f64 - half;
            (-(x * x) / (2.0 * SIGMA * SIGMA)).exp()
        })
        .collect();
    let sum: f64 = w.iter().sum();
    w.iter().map(|v| (v / sum) as f32).collect()
}

/// Gaussian-weighted local means of every channel (valid positions only).
fn blur(t: &Tensor, window: &Tensor) -> Tensor {
    let c = t.size()[1];
    let across = window.view([1, 1, 1, WINDOW]).repeat([c, 1, 1, 1]);
    let down = window.view([1, 1, WINDOW, 1]).repeat([c, 1, 1, 1]);
    t.conv2d(&across, None::<Tensor>, [1, 1], [0, 0], [1, 1], c)
        .conv2d(&down, None::<Tensor>, [1, 1], [0, 0], [1, 1], c)
}

/// SSIM of each frame pair, `[N]` (f32, on the frames' device). The five
/// local means (x, y, x², y², xy) are blurred in one grouped convolution.
pub fn ssim(x: &Tensor, y: &Tensor) -> Tensor {
    let window = Tensor::from_slice(&window_1d()).to_device(x.device());
    let stacked = Tensor::cat(&[x, y, &(x * x), &(y * y), &(x * y)], 1);
    let means = blur(&stacked, &window).chunk(5, 1);
    let [mu_x, mu_y, e_xx, e_yy, e_xy] = <[Tensor; 5]>::try_from(means).expect("five chunks");
    let mu_xx = &mu_x * &mu_x;
    let mu_yy = &mu_y * &mu_y;
    let mu_xy = &mu_x * &mu_y;
    let s_xx = e_xx - &mu_xx;
    let s_yy = e_yy - &mu_yy;
    let s_xy = e_xy - &mu_xy;
    let num = (mu_xy * 2.0 + C1) * (s_xy * 2.0 + C2);
    let den = (mu_xx + mu_yy + C1) * (s_xx + s_yy + C2);
    (num / den).mean_dim([1i64, 2, 3].as_slice(), false, Kind::Float)
}

/// Mean squared error of each frame pair, `[N]`.
pub fn mse(x: &Tensor, y: &Tensor) -> Tensor {
    let d = x - y;
    (&d * &d).mean_dim([1i64, 2, 3].as_slice(), false, Kind::Float)
}

/// PSNR in dB of a mean squared error (peak 1); `None` for identical frames.
pub fn psnr(mse: f64) -> Option<f64> {
    (mse > 0.0).then(|| -10.0 * mse.log10())
}

/// Per-frame SSIM and MSE of two `u8 [N, 3, H, W]` tensors (same shape),
/// computed on `device` in chunks of `chunk` frames.
pub fn compare_u8(a: &Tensor, b: &Tensor, device: Device, chunk: i64) -> (Vec<f64>, Vec<f64>) {
    let n = a.size()[0];
    let (mut ssims, mut mses) = (Vec::new(), Vec::new());
    let mut start = 0;
    while start < n {
        let len = chunk.min(n - start);
        let x = a
            .narrow(0, start, len)
            .to_device(device)
            .to_kind(Kind::Float)
            / 255.0;
        let y = b
            .narrow(0, start, len)
            .to_device(device)
            .to_kind(Kind::Float)
            / 255.0;
        ssims.extend(to_vec(&ssim(&x, &y)));
        mses.extend(to_vec(&mse(&x, &y)));
        start += len;
    }
    (ssims, mses)
}

/// A 1-D tensor as `f64`s on the host.
pub fn to_vec(t: &Tensor) -> Vec<f64> {
    let t = t.to_device(Device::Cpu).to_kind(Kind::Double).contiguous();
    let mut out = vec![0f64; t.numel()];
    t.copy_data(&mut out, t.numel());
    out
}

#[cfg(test)]
mod tests;
