//! The preflight: `tether-gpu probe` run as a child, and its figures judged
//! (every check passed, CUDA present where NVML sees a GPU, throughput above
//! `gpu.min_tflops`), so that a broken GPU stack stops a baseline run before
//! it spends half an hour, with the reason.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::worker::Worker;
use crate::config::{Config, GpuConfig, Preflight};
use crate::protocol::{DeviceChoice, ProbeReport};

/// The preflight's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreflightResult {
    pub passed: bool,
    /// Why it did not pass, one reason a line.
    pub problems: Vec<String>,
    /// The worker's figures, when it produced any.
    pub report: Option<ProbeReport>,
}

/// Whether `[gpu] preflight` asks for a preflight on this machine.
pub fn should_preflight(cfg: &Config) -> bool {
    match cfg.gpu.preflight {
        Preflight::Never => false,
        Preflight::Always => true,
        Preflight::Auto => super::hardware().gpu_count > 0,
    }
}

/// Runs the probe in a child (files in `dir`) and judges it.
pub fn preflight(gpu: &GpuConfig, dir: &Path) -> PreflightResult {
    let worker = match Worker::locate(gpu.worker.as_deref(), gpu.timeout) {
        Ok(w) => w,
        Err(e) => return broken(e.to_string()),
    };
    let args = vec!["probe".into(), "--device".into(), gpu.device.as_arg()];
    match worker.run::<ProbeReport>(&args, dir, "probe") {
        Ok(report) => judge(gpu, report, super::hardware().gpu_count),
        Err(e) => broken(crate::redact::error_chain(&e)),
    }
}

fn broken(reason: String) -> PreflightResult {
    PreflightResult {
        passed: false,
        problems: vec![reason],
        report: None,
    }
}

/// The problems in a probe report, given how many GPUs NVML sees.
pub fn judge(gpu: &GpuConfig, report: ProbeReport, nvml_gpus: u32) -> PreflightResult {
    let mut problems: Vec<String> = report
        .failures()
        .iter()
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    let wants_cuda = matches!(gpu.device, DeviceChoice::Cuda(_))
        || (gpu.device == DeviceChoice::Auto && nvml_gpus > 0);
    if wants_cuda && !report.cuda_available && !report.checks.iter().any(|c| c.name == "cuda") {
        problems.push(format!(
            "CUDA is unavailable to libtorch {} (libtorch_cuda.so loaded: {})",
            report.libtorch_version, report.cuda_library_loaded
        ));
    }
    if report.device.starts_with("cuda")
        && gpu.min_tflops > 0.0
        && report.matmul_tflops < gpu.min_tflops
    {
        problems.push(format!(
            "matmul throughput {:.1} TFLOP/s on {} is below gpu.min_tflops = {}",
            report.matmul_tflops, report.device, gpu.min_tflops
        ));
    }
    PreflightResult {
        passed: problems.is_empty(),
        problems,
        report: Some(report),
    }
}
