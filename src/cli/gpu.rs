//! `tether gpu probe`: the GPU preflight, run in the `tether-gpu` worker.

use tether::config::{Config, GpuConfig};
use tether::exit;
use tether::protocol::DeviceChoice;

#[derive(Debug, clap::Subcommand)]
pub enum GpuCommand {
    /// What libtorch sees (versions, CUDA, cuDNN, devices) and whether it
    /// computes correctly: allocation, matmul throughput, conv3d and
    /// attention against float64 references. Uses `[gpu]` of the config
    /// when there is one.
    Probe(ProbeArgs),
}

#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// `auto`, `cpu` or `cuda:N` (default: `gpu.device`, else `auto`).
    #[arg(long, value_parser = parse_device)]
    pub device: Option<DeviceChoice>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_device(s: &str) -> Result<DeviceChoice, String> {
    DeviceChoice::parse(s).ok_or_else(|| format!("`{s}` is not a device (auto, cpu, cuda:N)"))
}

pub fn run(cmd: &GpuCommand, flag: Option<&std::path::Path>) -> anyhow::Result<u8> {
    let GpuCommand::Probe(args) = cmd;
    let path = super::config_path(flag);
    // The probe needs no project: without a config file it uses the defaults.
    let (mut gpu, dir) = if path.is_file() || flag.is_some() {
        let cfg = Config::load(&path)?;
        (cfg.gpu.clone(), cfg.project.state_dir.join("gpu"))
    } else {
        (
            GpuConfig::default(),
            std::env::temp_dir().join(format!("tether-gpu-probe-{}", std::process::id())),
        )
    };
    if let Some(d) = args.device {
        gpu.device = d;
    }
    let result = tether::gpu::preflight(&gpu, &dir);
    super::print_report(&[&result], args.json)?;
    Ok(if result.passed {
        exit::OK
    } else {
        exit::GPU_BROKEN
    })
}
