//! The machine: OS and kernel, CPU, memory, load, and free disk where tether
//! writes (state, outputs) and where the wrapper lives.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sysinfo::{Disks, System};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemInfo {
    pub host: String,
    pub os: String,
    pub kernel: String,
    pub cpu: String,
    pub cpus: usize,
    pub memory_total_bytes: u64,
    pub memory_available_bytes: u64,
    /// 1, 5 and 15 minute load averages.
    pub load: [f64; 3],
    pub disks: Vec<DiskUse>,
}

/// Free space of the file system holding one of tether's paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiskUse {
    /// `state`, `outputs` or `wrapper`.
    pub role: String,
    pub path: PathBuf,
    pub mount: Option<PathBuf>,
    pub total_bytes: Option<u64>,
    pub available_bytes: Option<u64>,
}

impl DiskUse {
    /// Free share, 0..1, when known.
    pub fn free_fraction(&self) -> Option<f64> {
        match (self.available_bytes, self.total_bytes) {
            (Some(a), Some(t)) if t > 0 => Some(a as f64 / t as f64),
            _ => None,
        }
    }
}

pub fn read(paths: &[(&str, &Path)]) -> SystemInfo {
    let mut sys = System::new();
    sys.refresh_memory();
    sys.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
    let load = System::load_average();
    let disks = Disks::new_with_refreshed_list();
    SystemInfo {
        host: System::host_name().unwrap_or_else(crate::state::hostname),
        os: System::long_os_version().unwrap_or_else(|| "unknown".into()),
        kernel: System::kernel_version().unwrap_or_else(|| "unknown".into()),
        cpu: sys
            .cpus()
            .first()
            .map(|c| c.brand().trim().to_owned())
            .unwrap_or_default(),
        cpus: sys.cpus().len(),
        memory_total_bytes: sys.total_memory(),
        memory_available_bytes: sys.available_memory(),
        load: [load.one, load.five, load.fifteen],
        disks: paths
            .iter()
            .map(|(role, path)| disk_of(&disks, role, path))
            .collect(),
    }
}

/// The disk whose mount point is the longest prefix of `path` (or of its
/// nearest existing ancestor).
fn disk_of(disks: &Disks, role: &str, path: &Path) -> DiskUse {
    let mut probe = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    while !probe.exists() {
        match probe.parent() {
            Some(p) => probe = p.to_path_buf(),
            None => break,
        }
    }
    let probe = fs_err::canonicalize(&probe).unwrap_or(probe);
    let best = disks
        .list()
        .iter()
        .filter(|d| probe.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len());
    DiskUse {
        role: role.to_owned(),
        path: path.to_path_buf(),
        mount: best.map(|d| d.mount_point().to_path_buf()),
        total_bytes: best.map(|d| d.total_space()),
        available_bytes: best.map(|d| d.available_space()),
    }
}
