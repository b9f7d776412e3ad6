//! The messages between tether and its `tether-gpu` worker: what a request
//! asks for and what the worker reports, serialised as JSON files. Both sides
//! compile these same types, so they cannot drift apart.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::media::{Expectation, Finding, Stats};

/// Bumped whenever a message changes shape.
pub const PROTOCOL_VERSION: u32 = 1;

/// What the worker writes to its `--out` file: a report, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response<T> {
    Ok { protocol: u32, report: T },
    Error { protocol: u32, message: String },
}

/// Where the worker computes: `auto` is the first CUDA device when one is
/// usable, else the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "index")]
pub enum DeviceChoice {
    Auto,
    Cpu,
    Cuda(u32),
}

impl DeviceChoice {
    /// Parses `auto`, `cpu`, `cuda` or `cuda:N`.
    pub fn parse(s: &str) -> Option<DeviceChoice> {
        match s.trim() {
            "auto" => Some(DeviceChoice::Auto),
            "cpu" => Some(DeviceChoice::Cpu),
            "cuda" => Some(DeviceChoice::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DeviceChoice::Cuda),
        }
    }

    /// The argument form that [`DeviceChoice::parse`] reads back.
    pub fn as_arg(self) -> String {
        match self {
            DeviceChoice::Auto => "auto".into(),
            DeviceChoice::Cpu => "cpu".into(),
            DeviceChoice::Cuda(n) => format!("cuda:{n}"),
        }
    }
}

/// One GPU as NVML reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceFacts {
    pub index: u32,
    pub name: Option<String>,
    /// CUDA compute capability, e.g. `9.0`.
    pub compute_capability: Option<String>,
    pub memory_total_bytes: Option<u64>,
    pub memory_used_bytes: Option<u64>,
}

/// The GPU preflight: what libtorch sees, and whether it computes correctly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// The libtorch the worker was built against, e.g. `2.11.0`.
    pub libtorch_version: String,
    /// Whether `libtorch_cuda.so` is mapped into the worker (it must be, or
    /// CUDA is reported unavailable even on a GPU machine).
    pub cuda_library_loaded: bool,
    pub cuda_available: bool,
    pub cudnn_available: bool,
    /// cuDNN version as libtorch reports it (e.g. 91900), when available.
    pub cudnn_version: Option<i64>,
    /// CUDA runtime version libtorch was built with (e.g. 13000), when
    /// available.
    pub cuda_runtime_version: Option<i64>,
    /// CUDA devices libtorch can use.
    pub device_count: i64,
    /// The GPUs NVML lists (name, compute capability, memory).
    pub devices: Vec<DeviceFacts>,
    /// Why NVML lists none, when it lists none.
    pub nvml_unavailable: Option<String>,
    /// Where the checks ran, e.g. `cuda:0` or `cpu`.
    pub device: String,
    /// The dtype of the throughput test: `bf16` on CUDA, `f32` on the CPU.
    pub dtype: String,
    /// CPU threads libtorch uses.
    pub cpu_threads: i32,
    /// Matrix-product throughput on `device` in `dtype`.
    pub matmul_tflops: f64,
    /// Side of the square matrices that figure was measured with.
    pub matmul_size: i64,
    pub checks: Vec<ProbeCheck>,
    pub duration_s: f64,
}

impl ProbeReport {
    /// The checks that failed.
    pub fn failures(&self) -> Vec<&ProbeCheck> {
        self.checks.iter().filter(|c| !c.passed).collect()
    }
}

/// One preflight check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeCheck {
    /// `allocation`, `matmul`, `conv3d`, `attention`.
    pub name: String,
    pub passed: bool,
    /// What was done and seen, in words.
    pub detail: String,
    /// Largest error against the float64 CPU reference, relative to the
    /// reference's largest magnitude.
    pub max_rel_error: Option<f64>,
    pub tolerance: Option<f64>,
}

/// Decode one output, check it, and compare it with a reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyzeRequest {
    /// The video or image to analyse.
    pub output: PathBuf,
    /// What the case asked for.
    pub expect: Expectation,
    /// Frames are downsampled (area average, aspect kept) until their longer
    /// side is at most this before metrics and storage.
    pub max_side: u32,
    pub device: DeviceChoice,
    /// The reference's downsampled frames (safetensors, tensor `frames`,
    /// `u8 [T, 3, H, W]`), when there is one.
    pub reference: Option<PathBuf>,
    /// Where to write this output's downsampled frames in that format.
    pub store: PathBuf,
    /// Where logs of `ffmpeg` runs go.
    pub ffmpeg_log_dir: PathBuf,
}

/// What the worker found in one output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyzeReport {
    pub output: PathBuf,
    pub frames: u32,
    pub width: u32,
    pub height: u32,
    pub fps: Option<f64>,
    pub findings: Vec<Finding>,
    pub stats: Stats,
    /// Size of the stored, downsampled frames.
    pub stored_width: u32,
    pub stored_height: u32,
    /// The comparison with the reference, when one was given.
    pub quality: Option<Quality>,
    /// Where the metrics ran.
    pub device: String,
    pub duration_s: f64,
}

/// PSNR and SSIM of an output against its reference, frame by frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    /// Frames compared (the shorter of the two videos).
    pub frames_compared: u32,
    pub reference_frames: u32,
    /// Stored (downsampled) sizes, `[width, height]`.
    pub size: [u32; 2],
    pub reference_size: [u32; 2],
    /// Why nothing could be compared (e.g. different sizes), when so.
    pub mismatch: Option<String>,
    /// SSIM per frame (11x11 Gaussian window, sigma 1.5, Wang et al. 2004
    /// constants, mean over the RGB channels).
    pub ssim: Vec<f64>,
    /// PSNR per frame in dB; `None` where the frames are identical.
    pub psnr_db: Vec<Option<f64>>,
    pub mean_ssim: Option<f64>,
    pub min_ssim: Option<f64>,
    /// PSNR of the mean squared error over all compared frames.
    pub mean_psnr_db: Option<f64>,
    /// PSNR of the worst frame.
    pub min_psnr_db: Option<f64>,
}

/// SSIM throughput on synthetic frames (`tether-gpu bench`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    pub device: String,
    pub frames: u32,
    pub width: u32,
    pub height: u32,
    pub repeats: u32,
    /// Best time of one SSIM+PSNR pass over every frame.
    pub best_s: f64,
    pub frames_per_s: f64,
    /// The same on frames downsampled to the reference size tether stores.
    pub downsampled: [u32; 2],
    pub downsampled_frames_per_s: f64,
}

/// A generation canary: a TorchScript module run by the worker itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryRequest {
    pub module: PathBuf,
    /// The method run (`forward` unless the case says otherwise).
    pub method: String,
    pub device: DeviceChoice,
    /// `fp32`, `bf16` or `fp16`: floating inputs (and so the run) in it.
    pub dtype: String,
    /// Inputs the export wrote (safetensors), passed in name order.
    pub inputs_file: Option<PathBuf>,
    /// Inputs described in the config, used when there is no file.
    pub inputs: Vec<InputSpec>,
    pub warmup: u32,
    pub iterations: u32,
    /// Where the outputs go (safetensors, f32, keyed like [`TensorStats::key`]).
    pub store: PathBuf,
    /// The reference's outputs, when there are some.
    pub reference: Option<PathBuf>,
}

/// One described input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    pub name: String,
    pub shape: Vec<i64>,
    /// `fp32`, `bf16`, `fp16`, `int64`.
    pub dtype: String,
    /// `normal` (seeded noise), `uniform`, `zeros`, `ones` or `constant`.
    pub fill: String,
    pub value: f64,
    pub seed: u64,
}

/// What a canary run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryReport {
    pub device: String,
    pub dtype: String,
    pub load_s: f64,
    /// Each measured iteration, synchronised on CUDA.
    pub latency_ms: Vec<f64>,
    pub median_latency_ms: f64,
    /// Peak memory: the device's used memory on CUDA (NVML), the process's
    /// peak resident set on the CPU.
    pub peak_memory_bytes: Option<u64>,
    pub memory_kind: String,
    pub outputs: Vec<TensorStats>,
    /// Against the reference outputs, when given.
    pub comparison: Option<Vec<OutputDiff>>,
    /// Why the reference could not be read, when so.
    pub reference_error: Option<String>,
}

/// One output tensor (a tuple, list or dict is flattened: `0`, `1.2`, `name`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorStats {
    pub key: String,
    pub shape: Vec<i64>,
    pub dtype: String,
    pub nan: u64,
    pub inf: u64,
    /// Of the finite values; `None` when there are none.
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// One output against the reference's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputDiff {
    pub key: String,
    pub shape: Vec<i64>,
    /// The reference's shape; `None` when the reference has no such output.
    pub reference_shape: Option<Vec<i64>>,
    pub max_abs_error: Option<f64>,
    /// Largest error over the reference's largest magnitude.
    pub max_rel_error: Option<f64>,
    pub cosine: Option<f64>,
    /// Image-like outputs (`[N, 1|3, H, W]`), scaled by the reference's range.
    pub psnr_db: Option<f64>,
    pub ssim: Option<f64>,
}

impl OutputDiff {
    pub fn shape_changed(&self) -> bool {
        self.reference_shape.as_ref() != Some(&self.shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_choices_round_trip() {
        for s in ["auto", "cpu", "cuda:0", "cuda:3"] {
            assert_eq!(DeviceChoice::parse(s).unwrap().as_arg(), s);
        }
        assert_eq!(DeviceChoice::parse("cuda"), Some(DeviceChoice::Cuda(0)));
        assert_eq!(DeviceChoice::parse("gpu"), None);
        assert_eq!(DeviceChoice::parse("cuda:x"), None);
    }

    #[test]
    fn responses_are_tagged() {
        let r: Response<u32> = Response::Error {
            protocol: PROTOCOL_VERSION,
            message: "boom".into(),
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["error"]["message"], "boom");
        let back: Response<u32> = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }
}
