//! Owns what tether learns about the machine's GPUs: peak GPU memory while a
//! child runs and hardware facts through NVML loaded at run time (the
//! `tether-nvml` crate; without an NVIDIA driver every answer is
//! "unavailable, because ...", never zero), and everything done through
//! libtorch, which runs in the short-lived `tether-gpu` worker (`worker`,
//! speaking `crate::protocol`) so that tether itself never holds a CUDA
//! context: the preflight (`preflight`) and output metrics.

pub mod preflight;
pub mod worker;

pub use preflight::{PreflightResult, preflight, should_preflight};
pub use tether_nvml::{GpuDetails, Hardware, VramPeak, VramSampler, details, devices, hardware};
pub use worker::{Worker, WorkerError};
