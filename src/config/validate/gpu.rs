//! `[gpu]`: the worker and the preflight, with their defaults.

use std::path::Path;

use super::resolve;
use crate::config::defaults;
use crate::config::model::GpuConfig;
use crate::config::raw::RawGpu;

pub(super) fn gpu(raw: RawGpu, base: &Path) -> GpuConfig {
    GpuConfig {
        preflight: raw.preflight.unwrap_or(defaults::PREFLIGHT),
        device: raw.device.map_or(defaults::DEVICE, |d| d.0),
        worker: raw.worker.map(|w| resolve(base, &w.0)),
        timeout: raw.timeout.map_or(defaults::GPU_TIMEOUT, |d| d.0),
        min_tflops: raw.min_tflops.map_or(defaults::MIN_TFLOPS, |x| x.0),
    }
}
