//! The GPU preflight: what libtorch sees (versions, CUDA, cuDNN, devices),
//! then an allocation, matrix-product throughput, and a 3-D convolution and
//! scaled-dot-product attention checked against float64 CPU references, with
//! a NaN/Inf check on every result. Figures, never a pass/fail guess: a check
//! that cannot run is reported failed with the libtorch error.

use std::time::{Duration, Instant};

use tch::{Cuda, Device, Kind, Tensor};
use tether_shared::protocol::{DeviceChoice, ProbeCheck, ProbeReport};

use crate::device;

/// Relative error allowed against the float64 reference.
const TOL_F32: f64 = 1e-4;
const TOL_BF16: f64 = 3e-2;
/// How long the throughput loop runs at least.
const MATMUL_MIN_TIME: Duration = Duration::from_millis(400);
const MATMUL_MAX_ITERS: u32 = 200;

pub fn probe(choice: DeviceChoice) -> ProbeReport {
    let started = Instant::now();
    let cuda_library_loaded = device::cuda_library_loaded();
    let cuda_available = Cuda::is_available();
    let cudnn_available = cuda_available && Cuda::cudnn_is_available();
    let (devices, nvml_unavailable) = match tether_nvml::devices() {
        Ok(d) => (d, None),
        Err(reason) => (Vec::new(), Some(reason)),
    };
    let mut checks = Vec::new();
    if !devices.is_empty() && !cuda_available {
        checks.push(failed(
            "cuda",
            format!(
                "NVML lists {} GPU(s) but libtorch reports CUDA unavailable (libtorch_cuda.so loaded: {cuda_library_loaded})",
                devices.len()
            ),
        ));
    }
    let dev = match device::resolve(choice) {
        Ok(d) => d,
        Err(reason) => {
            checks.push(failed("device", format!("{reason}; checks ran on the CPU")));
            Device::Cpu
        }
    };
    let kind = if dev.is_cuda() {
        Kind::BFloat16
    } else {
        Kind::Float
    };
    let tol = if dev.is_cuda() { TOL_BF16 } else { TOL_F32 };
    tch::manual_seed(0);

    checks.push(guard("allocation", || allocation(dev)));
    let matmul_size = if dev.is_cuda() { 8192 } else { 1024 };
    let mut matmul_tflops = 0.0;
    checks.push(guard("matmul", || {
        let (check, tflops) = matmul(dev, kind, matmul_size, tol)?;
        matmul_tflops = tflops;
        Ok(check)
    }));
    checks.push(guard("conv3d", || conv3d(dev, kind, tol)));
    checks.push(guard("attention", || attention(dev, kind, tol)));

    ProbeReport {
        libtorch_version: env!("TETHER_LIBTORCH_VERSION").to_owned(),
        cuda_library_loaded,
        cuda_available,
        cudnn_available,
        cudnn_version: cudnn_available.then(tch::utils::version_cudnn),
        cuda_runtime_version: cuda_available.then(tch::utils::version_cudart),
        device_count: if cuda_available {
            Cuda::device_count()
        } else {
            0
        },
        devices,
        nvml_unavailable,
        device: device::name(dev),
        dtype: if dev.is_cuda() { "bf16" } else { "f32" }.to_owned(),
        cpu_threads: tch::get_num_threads(),
        matmul_tflops,
        matmul_size,
        checks,
        duration_s: started.elapsed().as_secs_f64(),
    }
}

fn failed(name: &str, detail: String) -> ProbeCheck {
    ProbeCheck {
        name: name.to_owned(),
        passed: false,
        detail,
        max_rel_error: None,
        tolerance: None,
    }
}

/// Runs one check; a libtorch error or panic becomes a failed check.
fn guard(name: &str, f: impl FnOnce() -> Result<ProbeCheck, String>) -> ProbeCheck {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => failed(name, e),
        Err(payload) => failed(
            name,
            payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "panicked".into()),
        ),
    }
}

fn allocation(dev: Device) -> Result<ProbeCheck, String> {
    let mib: i64 = if dev.is_cuda() { 1024 } else { 64 };
    let n = mib * 1024 * 1024 / 4;
    let t = Tensor::f_full([n], 1.0, (Kind::Float, dev)).map_err(|e| e.to_string())?;
    let sum = t
        .f_sum(Kind::Double)
        .map_err(|e| e.to_string())?
        .double_value(&[]);
    device::sync(dev);
    let passed = sum == n as f64;
    Ok(ProbeCheck {
        name: "allocation".into(),
        passed,
        detail: format!(
            "{mib} MiB on {}: sum {sum} (expected {n})",
            device::name(dev)
        ),
        max_rel_error: None,
        tolerance: None,
    })
}

/// Largest absolute difference relative to the reference's largest magnitude.
fn rel_error(got: &Tensor, want: &Tensor) -> f64 {
    let got = got.to_device(Device::Cpu).to_kind(Kind::Double);
    let diff = (&got - want).abs().max().double_value(&[]);
    let scale = want.abs().max().double_value(&[]).max(f64::MIN_POSITIVE);
    diff / scale
}

fn finite(t: &Tensor) -> bool {
    t.isfinite().all().int64_value(&[]) == 1
}

/// Compares a device result with its float64 reference.
fn verdict(name: &str, got: &Tensor, want: &Tensor, tol: f64, what: String) -> ProbeCheck {
    if !finite(got) {
        return failed(name, format!("{what}: the result holds NaN or Inf"));
    }
    let err = rel_error(got, want);
    ProbeCheck {
        name: name.into(),
        passed: err <= tol,
        detail: format!("{what}: max relative error {err:.2e} (tolerance {tol:.0e})"),
        max_rel_error: Some(err),
        tolerance: Some(tol),
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::BFloat16 => "bf16",
        Kind::Half => "f16",
        _ => "f32",
    }
}

fn matmul(dev: Device, kind: Kind, n: i64, tol: f64) -> Result<(ProbeCheck, f64), String> {
    // Correctness on a small product first.
    let a = Tensor::randn([256, 256], (Kind::Double, Device::Cpu));
    let b = Tensor::randn([256, 256], (Kind::Double, Device::Cpu));
    let want = a.matmul(&b);
    let got = a
        .to_device(dev)
        .to_kind(kind)
        .f_matmul(&b.to_device(dev).to_kind(kind))
        .map_err(|e| e.to_string())?;
    let mut check = verdict(
        "matmul",
        &got,
        &want,
        tol,
        format!("256x256 {} on {}", kind_name(kind), device::name(dev)),
    );
    // Throughput.
    let x = Tensor::f_randn([n, n], (kind, dev)).map_err(|e| e.to_string())?;
    let y = Tensor::f_randn([n, n], (kind, dev)).map_err(|e| e.to_string())?;
    for _ in 0..2 {
        let _ = x.f_matmul(&y).map_err(|e| e.to_string())?;
    }
    device::sync(dev);
    let start = Instant::now();
    let mut iters = 0u32;
    let mut last = None;
    while iters < 3 || (start.elapsed() < MATMUL_MIN_TIME && iters < MATMUL_MAX_ITERS) {
        last = Some(x.f_matmul(&y).map_err(|e| e.to_string())?);
        iters += 1;
        if iters % 8 == 0 {
            device::sync(dev);
        }
    }
    device::sync(dev);
    let secs = start.elapsed().as_secs_f64();
    let tflops = 2.0 * (n as f64).powi(3) * f64::from(iters) / secs / 1e12;
    if let Some(last) = last
        && !finite(&last)
    {
        check = failed("matmul", format!("{n}x{n} product holds NaN or Inf"));
    }
    check.detail.push_str(&format!(
        "; {n}x{n} {} throughput {tflops:.3} TFLOP/s over {iters} products",
        kind_name(kind)
    ));
    Ok((check, tflops))
}

fn conv3d(dev: Device, kind: Kind, tol: f64) -> Result<ProbeCheck, String> {
    let input = Tensor::randn([1, 4, 8, 24, 24], (Kind::Double, Device::Cpu));
    let weight = Tensor::randn([8, 4, 3, 3, 3], (Kind::Double, Device::Cpu)) * 0.2;
    let want = input.conv3d(&weight, None::<Tensor>, [1, 1, 1], [1, 1, 1], [1, 1, 1], 1);
    let got = input
        .to_device(dev)
        .to_kind(kind)
        .f_conv3d(
            &weight.to_device(dev).to_kind(kind),
            None::<Tensor>,
            [1, 1, 1],
            [1, 1, 1],
            [1, 1, 1],
            1,
        )
        .map_err(|e| e.to_string())?;
    Ok(verdict(
        "conv3d",
        &got,
        &want,
        tol,
        format!(
            "[1,4,8,24,24] * [8,4,3,3,3] {} on {}",
            kind_name(kind),
            device::name(dev)
        ),
    ))
}

fn attention(dev: Device, kind: Kind, tol: f64) -> Result<ProbeCheck, String> {
    let shape = [2i64, 4, 128, 64];
    let q = Tensor::randn(shape, (Kind::Double, Device::Cpu));
    let k = Tensor::randn(shape, (Kind::Double, Device::Cpu));
    let v = Tensor::randn(shape, (Kind::Double, Device::Cpu));
    let scale = 1.0 / (shape[3] as f64).sqrt();
    let want = (q.matmul(&k.transpose(-2, -1)) * scale)
        .softmax(-1, Kind::Double)
        .matmul(&v);
    let to = |t: &Tensor| t.to_device(dev).to_kind(kind);
    let got = Tensor::f_scaled_dot_product_attention(
        &to(&q),
        &to(&k),
        &to(&v),
        None::<Tensor>,
        0.0,
        false,
        None,
        false,
    )
    .map_err(|e| e.to_string())?;
    Ok(verdict(
        "attention",
        &got,
        &want,
        tol,
        format!(
            "scaled-dot-product attention [2,4,128,64] {} on {}",
            kind_name(kind),
            device::name(dev)
        ),
    ))
}
