//! NVML through `nvml-wrapper`, loaded at run time: a GPU-memory sampler that
//! keeps the peak while a child process runs, the hardware facts that key
//! baseline references, each GPU's facts (`devices`, which the `tether-gpu`
//! worker reports in its probe and reads for a canary's device memory) and
//! condition (`details`, for `tether health`). No NVML library, no driver or
//! no GPU is reported as unavailable with its reason; nothing here fails or
//! panics. A crate of its own so that tether and its worker share one NVML
//! code while `tether-shared` links no NVML at all.

use std::time::{Duration, Instant};

use nvml_wrapper::Nvml;
use nvml_wrapper::error::NvmlError;
use tether_shared::protocol::DeviceFacts;

/// Sampling interval when none is given.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(500);

/// The peak GPU memory seen while a case ran.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VramPeak {
    /// No measurement: why (no NVML library, no driver, no GPU, ...).
    Unavailable { reason: String },
    /// The highest device-level used memory of any GPU, and which GPU.
    Peak { bytes: u64, device: String },
}

impl VramPeak {
    pub fn bytes(&self) -> Option<u64> {
        match self {
            VramPeak::Peak { bytes, .. } => Some(*bytes),
            VramPeak::Unavailable { .. } => None,
        }
    }
}

/// Samples the used memory of every GPU and keeps the peak. Build one per
/// run; call [`VramSampler::sample`] as often as convenient (it respects its
/// interval).
///
/// The numbers are device-level (what `nvidia-smi` shows as used), so other
/// processes on the same GPU count too.
pub struct VramSampler {
    nvml: Result<Nvml, String>,
    interval: Duration,
    last: Option<Instant>,
    peak: Option<(u64, String)>,
    error: Option<String>,
}

impl std::fmt::Debug for VramSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VramSampler")
            .field("available", &self.nvml.is_ok())
            .field("interval", &self.interval)
            .field("peak", &self.peak)
            .finish()
    }
}

impl Default for VramSampler {
    fn default() -> Self {
        Self::new()
    }
}

impl VramSampler {
    /// Loads NVML; never fails (an unusable NVML is kept as the reason).
    pub fn new() -> VramSampler {
        VramSampler {
            nvml: open(),
            interval: DEFAULT_INTERVAL,
            last: None,
            peak: None,
            error: None,
        }
    }

    pub fn with_interval(mut self, interval: Duration) -> VramSampler {
        self.interval = interval;
        self
    }

    /// Whether NVML is loaded and sees at least one GPU.
    pub fn is_available(&self) -> bool {
        self.nvml.is_ok()
    }

    /// Why there is no measurement, when NVML is unusable.
    pub fn unavailable_reason(&self) -> Option<&str> {
        self.nvml.as_ref().err().map(String::as_str)
    }

    /// Takes a sample of every GPU unless the last one is more recent than the
    /// interval.
    pub fn sample(&mut self) {
        let Ok(nvml) = &self.nvml else { return };
        if self.last.is_some_and(|t| t.elapsed() < self.interval) {
            return;
        }
        self.last = Some(Instant::now());
        let count = match nvml.device_count() {
            Ok(n) => n,
            Err(e) => {
                note_error(&mut self.error, format!("cannot count GPUs: {e}"));
                return;
            }
        };
        for i in 0..count {
            let used = nvml
                .device_by_index(i)
                .and_then(|d| Ok((d.memory_info()?.used, d.name().unwrap_or_default())));
            match used {
                Ok((bytes, name)) => {
                    if self.peak.as_ref().is_none_or(|(b, _)| bytes > *b) {
                        self.peak = Some((bytes, device_label(i, &name)));
                    }
                }
                Err(e) => note_error(
                    &mut self.error,
                    format!("cannot read memory of GPU {i}: {e}"),
                ),
            }
        }
    }

    /// The peak so far, or why there is none.
    pub fn result(&self) -> VramPeak {
        match (&self.nvml, &self.peak) {
            (Err(reason), _) => VramPeak::Unavailable {
                reason: reason.clone(),
            },
            (Ok(_), Some((bytes, device))) => VramPeak::Peak {
                bytes: *bytes,
                device: device.clone(),
            },
            (Ok(_), None) => VramPeak::Unavailable {
                reason: self
                    .error
                    .clone()
                    .unwrap_or_else(|| "no GPU memory sample was taken".into()),
            },
        }
    }
}

/// Keeps the first sampling error as the reason when no sample succeeds.
fn note_error(slot: &mut Option<String>, message: String) {
    tracing::debug!(%message, "NVML sample failed");
    slot.get_or_insert(message);
}

fn device_label(index: u32, name: &str) -> String {
    if name.is_empty() {
        format!("GPU {index}")
    } else {
        format!("{name} (GPU {index})")
    }
}

/// Loads NVML and checks it sees a GPU.
fn open() -> Result<Nvml, String> {
    let nvml = Nvml::init().map_err(|e| init_reason(&e))?;
    match nvml.device_count() {
        Ok(0) => Err("NVML reports no GPU".into()),
        Ok(_) => Ok(nvml),
        Err(e) => Err(format!("NVML cannot count GPUs: {e}")),
    }
}

fn init_reason(e: &NvmlError) -> String {
    match e {
        NvmlError::LibloadingError(inner) => {
            format!("NVML library not found (no NVIDIA driver): {inner}")
        }
        NvmlError::LibraryNotFound => "NVML library not found (no NVIDIA driver)".into(),
        NvmlError::DriverNotLoaded => "NVIDIA driver not loaded".into(),
        NvmlError::NoPermission => "no permission to talk to the NVIDIA driver".into(),
        other => format!("NVML initialisation failed: {other}"),
    }
}

/// Basic GPU facts of this machine.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Hardware {
    /// Name of the first GPU, e.g. `NVIDIA H100 80GB HBM3`.
    pub gpu: Option<String>,
    pub gpu_count: u32,
    /// Total memory of the first GPU.
    pub gpu_memory_bytes: Option<u64>,
    /// Driver version, e.g. `550.54.15`.
    pub driver: Option<String>,
    /// Highest CUDA version the driver supports, e.g. `12.8`.
    pub cuda_driver: Option<String>,
    /// Why there are no GPU facts, when there are none.
    pub unavailable: Option<String>,
}

/// Reads the machine's GPU facts through NVML.
pub fn hardware() -> Hardware {
    let nvml = match open() {
        Ok(n) => n,
        Err(reason) => {
            return Hardware {
                unavailable: Some(reason),
                ..Hardware::default()
            };
        }
    };
    let first = nvml.device_by_index(0).ok();
    Hardware {
        gpu: first.as_ref().and_then(|d| d.name().ok()),
        gpu_count: nvml.device_count().unwrap_or(0),
        gpu_memory_bytes: first
            .as_ref()
            .and_then(|d| d.memory_info().ok())
            .map(|m| m.total),
        driver: nvml.sys_driver_version().ok(),
        cuda_driver: nvml
            .sys_cuda_driver_version()
            .ok()
            .map(|v| format!("{}.{}", v / 1000, (v % 1000) / 10)),
        unavailable: None,
    }
}

/// Every GPU NVML sees, or why none can be listed.
pub fn devices() -> Result<Vec<DeviceFacts>, String> {
    let nvml = open()?;
    let count = nvml
        .device_count()
        .map_err(|e| format!("NVML cannot count devices: {e}"))?;
    Ok((0..count)
        .map(|index| {
            let dev = nvml.device_by_index(index).ok();
            let memory = dev.as_ref().and_then(|d| d.memory_info().ok());
            DeviceFacts {
                index,
                name: dev.as_ref().and_then(|d| d.name().ok()),
                compute_capability: dev
                    .as_ref()
                    .and_then(|d| d.cuda_compute_capability().ok())
                    .map(|c| format!("{}.{}", c.major, c.minor)),
                memory_total_bytes: memory.as_ref().map(|m| m.total),
                memory_used_bytes: memory.as_ref().map(|m| m.used),
            }
        })
        .collect())
}

/// One GPU's live condition, for `tether health`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GpuDetails {
    pub index: u32,
    pub name: Option<String>,
    pub memory_total_bytes: Option<u64>,
    pub memory_used_bytes: Option<u64>,
    pub temperature_c: Option<u32>,
    pub power_w: Option<f64>,
    pub utilisation_percent: Option<u32>,
    /// Uncorrected ECC errors since the driver loaded (None: no ECC).
    pub ecc_uncorrected: Option<u64>,
    /// Processes using the GPU.
    pub processes: Vec<GpuProcess>,
}

/// A process using a GPU: `{"pid", "used_memory_bytes"}` in JSON.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GpuProcess {
    pub pid: u32,
    /// `None`: the driver does not say.
    pub used_memory_bytes: Option<u64>,
}

/// The driver and every GPU's condition, or why NVML gives none.
pub fn details() -> Result<(Hardware, Vec<GpuDetails>), String> {
    use nvml_wrapper::enum_wrappers::device::{EccCounter, MemoryError, TemperatureSensor};
    use nvml_wrapper::enums::device::UsedGpuMemory;
    let nvml = open()?;
    let count = nvml
        .device_count()
        .map_err(|e| format!("NVML cannot count devices: {e}"))?;
    let gpus = (0..count)
        .map(|index| {
            let d = nvml.device_by_index(index).ok();
            let mem = d.as_ref().and_then(|d| d.memory_info().ok());
            GpuDetails {
                index,
                name: d.as_ref().and_then(|d| d.name().ok()),
                memory_total_bytes: mem.as_ref().map(|m| m.total),
                memory_used_bytes: mem.as_ref().map(|m| m.used),
                temperature_c: d
                    .as_ref()
                    .and_then(|d| d.temperature(TemperatureSensor::Gpu).ok()),
                power_w: d
                    .as_ref()
                    .and_then(|d| d.power_usage().ok())
                    .map(|mw| f64::from(mw) / 1000.0),
                utilisation_percent: d
                    .as_ref()
                    .and_then(|d| d.utilization_rates().ok())
                    .map(|u| u.gpu),
                ecc_uncorrected: d.as_ref().and_then(|d| {
                    d.total_ecc_errors(MemoryError::Uncorrected, EccCounter::Volatile)
                        .ok()
                }),
                processes: d
                    .as_ref()
                    .and_then(|d| d.running_compute_processes().ok())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| {
                        let bytes = match p.used_gpu_memory {
                            UsedGpuMemory::Used(b) => Some(b),
                            UsedGpuMemory::Unavailable => None,
                        };
                        GpuProcess {
                            pid: p.pid,
                            used_memory_bytes: bytes,
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    Ok((hardware(), gpus))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether this machine has an NVIDIA driver with a device node.
    fn has_nvidia_gpu() -> bool {
        std::path::Path::new("/dev/nvidiactl").exists()
    }

    #[test]
    fn sampler_reports_unavailable_not_zero_without_a_gpu() {
        let mut s = VramSampler::new().with_interval(Duration::from_millis(1));
        s.sample();
        s.sample();
        match (has_nvidia_gpu(), s.result()) {
            (false, VramPeak::Unavailable { reason }) => {
                assert!(
                    reason.contains("NVML") || reason.contains("NVIDIA"),
                    "reason: {reason}"
                );
                assert!(!s.is_available());
                assert_eq!(s.unavailable_reason(), Some(reason.as_str()));
            }
            (true, VramPeak::Peak { bytes, device }) => {
                assert!(bytes > 0);
                assert!(device.contains("GPU 0"), "{device}");
            }
            (gpu, other) => panic!("GPU present: {gpu}, sampler said {other:?}"),
        }
    }

    #[test]
    fn hardware_facts_match_the_sampler() {
        let hw = hardware();
        if has_nvidia_gpu() {
            assert!(hw.gpu.is_some() && hw.gpu_count > 0, "{hw:?}");
        } else {
            assert_eq!(hw.gpu, None);
            assert_eq!(hw.gpu_count, 0);
            assert!(hw.unavailable.as_deref().is_some_and(|r| !r.is_empty()));
        }
    }

    #[test]
    fn peak_serializes_with_a_kind() {
        let v = serde_json::to_value(VramPeak::Unavailable {
            reason: "NVIDIA driver not loaded".into(),
        })
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"kind": "unavailable", "reason": "NVIDIA driver not loaded"})
        );
        assert_eq!(
            VramPeak::Peak {
                bytes: 5,
                device: "x".into()
            }
            .bytes(),
            Some(5)
        );
    }
}
