use super::*;

/// A deterministic pseudo-random generator (64-bit LCG), so the frames are
/// the same on every machine.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

const C: usize = 3;
const H: usize = 29;
const W: usize = 37;

/// A smooth pattern with some texture, values in 0..1, `[C, H, W]`.
fn frame(seed: u64) -> Vec<f64> {
    let mut rng = Lcg(seed);
    let mut out = Vec::with_capacity(C * H * W);
    for c in 0..C {
        for y in 0..H {
            for x in 0..W {
                let base =
                    0.5 + 0.3 * ((x as f64 * 0.31 + c as f64).sin() * (y as f64 * 0.17).cos());
                out.push((base + 0.15 * (rng.next() - 0.5)).clamp(0.0, 1.0));
            }
        }
    }
    out
}

fn noisy(f: &[f64], amount: f64, seed: u64) -> Vec<f64> {
    let mut rng = Lcg(seed);
    f.iter()
        .map(|v| (v + amount * (rng.next() - 0.5)).clamp(0.0, 1.0))
        .collect()
}

/// A 3x3 box blur of every channel, edges clamped.
fn box_blur(f: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; f.len()];
    for c in 0..C {
        for y in 0..H {
            for x in 0..W {
                let mut sum = 0.0;
                for dy in -1i64..=1 {
                    for dx in -1i64..=1 {
                        let yy = (y as i64 + dy).clamp(0, H as i64 - 1) as usize;
                        let xx = (x as i64 + dx).clamp(0, W as i64 - 1) as usize;
                        sum += f[c * H * W + yy * W + xx];
                    }
                }
                out[c * H * W + y * W + x] = sum / 9.0;
            }
        }
    }
    out
}

/// SSIM written out directly from Wang et al. 2004 in float64, with the
/// paper's constants (K1 = 0.01, K2 = 0.03, L = 1, an 11x11 Gaussian window
/// of sigma 1.5), a full 2-D window (not separable passes), every valid
/// position. Nothing is shared with the code under test.
fn reference_ssim(a: &[f64], b: &[f64]) -> f64 {
    const C1: f64 = 0.01 * 0.01;
    const C2: f64 = 0.03 * 0.03;
    const SIGMA: f64 = 1.5;
    let r = 5usize;
    let g: Vec<f64> = (0..11)
        .map(|i| {
            let x = i as f64 - r as f64;
            (-(x * x) / (2.0 * SIGMA * SIGMA)).exp()
        })
        .collect();
    let mut w2 = vec![0.0; g.len() * g.len()];
    let mut total = 0.0;
    for i in 0..g.len() {
        for j in 0..g.len() {
            w2[i * g.len() + j] = g[i] * g[j];
            total += g[i] * g[j];
        }
    }
    let (mut sum, mut count) = (0.0, 0usize);
    for c in 0..C {
        for y in r..H - r {
            for x in r..W - r {
                let (mut mx, mut my, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
                for i in 0..g.len() {
                    for j in 0..g.len() {
                        let w = w2[i * g.len() + j] / total;
                        let idx = c * H * W + (y + i - r) * W + (x + j - r);
                        let (p, q) = (a[idx], b[idx]);
                        mx += w * p;
                        my += w * q;
                        sxx += w * p * p;
                        syy += w * q * q;
                        sxy += w * p * q;
                    }
                }
                let (vx, vy, cxy) = (sxx - mx * mx, syy - my * my, sxy - mx * my);
                sum += ((2.0 * mx * my + C1) * (2.0 * cxy + C2))
                    / ((mx * mx + my * my + C1) * (vx + vy + C2));
                count += 1;
            }
        }
    }
    sum / count as f64
}

fn reference_mse(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum::<f64>() / a.len() as f64
}

fn tensor(frames: &[&[f64]]) -> Tensor {
    let flat: Vec<f32> = frames
        .iter()
        .flat_map(|f| f.iter().map(|&v| v as f32))
        .collect();
    Tensor::from_slice(&flat).view([frames.len() as i64, C as i64, H as i64, W as i64])
}

fn metrics(a: &[f64], b: &[f64]) -> (f64, f64) {
    let (x, y) = (tensor(&[a]), tensor(&[b]));
    (to_vec(&ssim(&x, &y))[0], to_vec(&mse(&x, &y))[0])
}

#[test]
fn identical_frames_have_ssim_one_and_infinite_psnr() {
    let f = frame(1);
    let (s, m) = metrics(&f, &f);
    assert!((s - 1.0).abs() < 1e-6, "ssim {s}");
    assert_eq!(m, 0.0);
    assert_eq!(psnr(m), None);
}

#[test]
fn window_is_normalised_and_symmetric() {
    let w = window_1d();
    assert_eq!(w.len(), 11);
    assert!((w.iter().map(|&v| f64::from(v)).sum::<f64>() - 1.0).abs() < 1e-6);
    for i in 0..5 {
        assert_eq!(w[i], w[10 - i]);
    }
    assert!(w[5] > w[4]);
}

#[test]
fn ssim_and_psnr_match_an_independent_float64_computation() {
    let base = frame(7);
    let pairs = [
        (base.clone(), noisy(&base, 0.1, 3)),
        (base.clone(), box_blur(&base)),
        (frame(11), frame(12)),
        (base.clone(), base.iter().map(|v| v * 0.8 + 0.05).collect()),
    ];
    for (i, (a, b)) in pairs.iter().enumerate() {
        let (s, m) = metrics(a, b);
        let (rs, rm) = (reference_ssim(a, b), reference_mse(a, b));
        assert!(
            (s - rs).abs() < 1e-4,
            "pair {i}: ssim {s} vs reference {rs}"
        );
        let (p, rp) = (psnr(m).unwrap(), -10.0 * rm.log10());
        assert!(
            (p - rp).abs() < 1e-4,
            "pair {i}: psnr {p} vs reference {rp}"
        );
        assert!(rs < 0.9999, "pair {i} should differ (ssim {rs})");
    }
}

#[test]
fn blur_and_noise_lower_ssim_monotonically() {
    let base = frame(5);
    let mut blurred = base.clone();
    let mut last = 1.0 + 1e-9;
    for step in 0..4 {
        blurred = box_blur(&blurred);
        let (s, _) = metrics(&base, &blurred);
        assert!(s < last, "blur step {step}: ssim {s} not below {last}");
        last = s;
    }
    let (mut last_s, mut last_p) = (1.0 + 1e-9, f64::INFINITY);
    for amount in [0.02, 0.05, 0.1, 0.2, 0.4] {
        let (s, m) = metrics(&base, &noisy(&base, amount, 9));
        let p = psnr(m).unwrap();
        assert!(s < last_s, "noise {amount}: ssim {s} not below {last_s}");
        assert!(p < last_p, "noise {amount}: psnr {p} not below {last_p}");
        (last_s, last_p) = (s, p);
    }
}

#[test]
fn frames_are_scored_independently_in_a_batch() {
    let (a, b) = (frame(1), frame(2));
    let x = tensor(&[&a, &a, &b]);
    let y = tensor(&[&a, &b, &b]);
    let s = to_vec(&ssim(&x, &y));
    assert!((s[0] - 1.0).abs() < 1e-6 && (s[2] - 1.0).abs() < 1e-6);
    assert!((s[1] - reference_ssim(&a, &b)).abs() < 1e-4);
}

#[test]
fn compare_u8_chunks_give_the_same_figures() {
    let a = (tensor(&[&frame(1), &frame(2), &frame(3)]) * 255.0)
        .round()
        .to_kind(Kind::Uint8);
    let b = (tensor(&[&frame(1), &noisy(&frame(2), 0.2, 1), &frame(4)]) * 255.0)
        .round()
        .to_kind(Kind::Uint8);
    let (s1, m1) = compare_u8(&a, &b, Device::Cpu, 1);
    let (s3, m3) = compare_u8(&a, &b, Device::Cpu, 3);
    assert_eq!(s1.len(), 3);
    for i in 0..3 {
        assert!((s1[i] - s3[i]).abs() < 1e-9 && (m1[i] - m3[i]).abs() < 1e-12);
    }
    assert_eq!(m1[0], 0.0);
}
