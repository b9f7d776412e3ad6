//! Keys of baseline references: the hardware a run ran on (GPU, driver,
//! torch and its CUDA build; `cpu` without a GPU, `cpu-slurm-<partition>`
//! without a GPU in a Slurm job) and a stable hash of a case's settings.

use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::config::Config;
use crate::gpu;
use crate::process::{self, Exit, ProcessSpec};

const TORCH_PROBE: &str =
    "import torch; print(torch.__version__); print(torch.version.cuda or 'none')";
const PROBE_TIMEOUT: Duration = Duration::from_secs(120);

/// The hardware a run ran on; `slug` names its references folder.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HardwareKey {
    /// e.g. `cpu` or `nvidia-h100-80gb-hbm3-drv-550.54-torch-2.11.0-cu128`.
    pub slug: String,
    pub gpu: Option<String>,
    pub driver: Option<String>,
    /// torch's version as the wrapper's interpreter reports it; `None` when
    /// torch cannot be imported (or there is no GPU, when it is not asked).
    pub torch: Option<String>,
    /// The CUDA version torch was built with.
    pub cuda: Option<String>,
}

impl HardwareKey {
    /// The key of a machine without a GPU.
    pub fn cpu() -> HardwareKey {
        HardwareKey {
            slug: "cpu".into(),
            gpu: None,
            driver: None,
            torch: None,
            cuda: None,
        }
    }

    /// The key of a node without a GPU in a Slurm job of `partition`:
    /// CPU-only partitions are kinds of hardware too, so each keeps its own
    /// references (`cpu-slurm-<partition>`).
    pub fn cpu_partition(partition: &str) -> HardwareKey {
        HardwareKey {
            slug: slugify(&format!("cpu-slurm-{partition}")),
            ..HardwareKey::cpu()
        }
    }
}

/// The key of this machine. With a GPU, torch's version is asked of
/// `project.python` (run in `tree`, logs under `probe_dir`).
pub fn hardware_key(cfg: &Config, tree: &Path, probe_dir: &Path) -> HardwareKey {
    let hw = gpu::hardware();
    let Some(gpu_name) = hw.gpu else {
        return match crate::env::var(crate::env::SLURM_JOB_PARTITION) {
            Some(p) if !p.trim().is_empty() => HardwareKey::cpu_partition(&p),
            _ => HardwareKey::cpu(),
        };
    };
    let (torch, cuda) = probe_torch(cfg, tree, probe_dir);
    let driver_short = hw
        .driver
        .as_deref()
        .map(|d| d.split('.').take(2).collect::<Vec<_>>().join("."));
    let mut slug = slugify(&gpu_name);
    slug.push_str(&format!(
        "-drv-{}",
        driver_short.as_deref().unwrap_or("none")
    ));
    let torch_base = torch.as_deref().map(|t| t.split('+').next().unwrap_or(t));
    slug.push_str(&format!("-torch-{}", torch_base.unwrap_or("none")));
    if let Some(c) = &cuda {
        slug.push_str(&format!("-cu{}", c.replace('.', "")));
    }
    HardwareKey {
        slug: slugify(&slug),
        gpu: Some(gpu_name),
        driver: hw.driver,
        torch,
        cuda,
    }
}

/// Asks the wrapper's interpreter for torch's version and CUDA build.
fn probe_torch(cfg: &Config, tree: &Path, probe_dir: &Path) -> (Option<String>, Option<String>) {
    let spec = ProcessSpec {
        argv: vec![cfg.project.python.clone(), "-c".into(), TORCH_PROBE.into()],
        cwd: tree.to_path_buf(),
        env: Vec::new(),
        timeout: PROBE_TIMEOUT,
        grace: Duration::from_secs(2),
        stdout_path: probe_dir.join("torch_probe.stdout.log"),
        stderr_path: probe_dir.join("torch_probe.stderr.log"),
        max_log_bytes: 1024 * 1024,
        cancel: None,
    };
    match process::run(&spec, &mut || {}) {
        Ok(o) if o.exit == Exit::Code(0) => {
            let mut lines = o.stdout_tail.lines().map(str::trim);
            let torch = lines.next().filter(|s| !s.is_empty()).map(str::to_owned);
            let cuda = lines
                .next()
                .filter(|s| !s.is_empty() && *s != "none")
                .map(str::to_owned);
            (torch, cuda)
        }
        Ok(o) => {
            tracing::info!(exit = %o.exit, "torch is not importable; hardware key says torch-none");
            (None, None)
        }
        Err(e) => {
            tracing::info!(error = %e, "cannot ask the interpreter for torch; hardware key says torch-none");
            (None, None)
        }
    }
}

/// Lowercase; runs of anything but letters, digits and `.` become one `-`.
fn slugify(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// A stable hash (FNV-1a 64, 16 hex digits) of `{model, params}` as
/// canonical JSON (object keys sorted, no whitespace).
pub fn settings_hash(model: &str, params: &Map<String, Value>) -> String {
    let mut doc = Map::new();
    doc.insert("model".into(), Value::String(model.to_owned()));
    doc.insert("params".into(), Value::Object(params.clone()));
    let mut text = String::new();
    canonical(&Value::Object(doc), &mut text);
    format!("{:016x}", fnv1a64(text.as_bytes()))
}

fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(x, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_known_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn settings_hash_ignores_key_order_but_not_values() {
        let a: Map<String, Value> =
            serde_json::from_str(r#"{"seed": 42, "video_length": 81, "nested": {"b": 1, "a": 2}}"#)
                .unwrap();
        let b: Map<String, Value> =
            serde_json::from_str(r#"{"nested": {"a": 2, "b": 1}, "video_length": 81, "seed": 42}"#)
                .unwrap();
        assert_eq!(settings_hash("vace_14B", &a), settings_hash("vace_14B", &b));
        assert_eq!(settings_hash("vace_14B", &a).len(), 16);
        let mut c = a.clone();
        c.insert("video_length".into(), Value::from(65));
        assert_ne!(settings_hash("vace_14B", &a), settings_hash("vace_14B", &c));
        assert_ne!(
            settings_hash("vace_14B", &a),
            settings_hash("vace_1.3B", &a)
        );
        // Pinned: references on disk are keyed by this value.
        assert_eq!(
            settings_hash("m", &Map::new()),
            format!("{:016x}", fnv1a64(br#"{"model":"m","params":{}}"#))
        );
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("NVIDIA H100 80GB HBM3"), "nvidia-h100-80gb-hbm3");
        assert_eq!(
            slugify("nvidia-h100-80gb-hbm3-drv-550.54-torch-2.11.0-cu128"),
            "nvidia-h100-80gb-hbm3-drv-550.54-torch-2.11.0-cu128"
        );
        assert_eq!(slugify("  A/B  c "), "a-b-c");
        assert_eq!(HardwareKey::cpu_partition("l40s").slug, "cpu-slurm-l40s");
    }
}
