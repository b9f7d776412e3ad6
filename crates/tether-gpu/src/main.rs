//! `tether-gpu`: the short-lived worker that does all of tether's libtorch
//! work (GPU preflight, output decoding and quality metrics, benchmarks), so
//! that the long-lived `tether` process never maps libtorch or holds a CUDA
//! context. tether runs it as a child and reads the JSON report it writes to
//! `--out`; run by hand without `--out` it prints the report.

mod analyze;
mod bench;
mod canary;
mod device;
mod frames;
mod metrics;
mod probe;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde::Serialize;
use tether_shared::protocol::{
    AnalyzeRequest, CanaryRequest, DeviceChoice, PROTOCOL_VERSION, Response,
};

#[derive(Parser)]
#[command(name = "tether-gpu", version, about = "tether's libtorch worker")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// GPU preflight: what libtorch sees, allocation, matmul throughput,
    /// conv3d and attention against float64 CPU references.
    Probe {
        /// `auto`, `cpu` or `cuda:N`.
        #[arg(long, default_value = "auto", value_parser = parse_device)]
        device: DeviceChoice,
        /// Write the JSON response here instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Decode one output, check it and compare it with a reference
    /// (the request is a JSON `AnalyzeRequest`).
    Analyze {
        #[arg(long)]
        request: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run a TorchScript canary (the request is a JSON `CanaryRequest`).
    Canary {
        #[arg(long)]
        request: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// SSIM and PSNR throughput on synthetic frames.
    Bench {
        #[arg(long, default_value = "auto", value_parser = parse_device)]
        device: DeviceChoice,
        #[arg(long, default_value_t = 81)]
        frames: u32,
        #[arg(long, default_value_t = 832)]
        width: u32,
        #[arg(long, default_value_t = 480)]
        height: u32,
        #[arg(long, default_value_t = 3)]
        repeats: u32,
        /// Longer side of the downsampled frames also measured.
        #[arg(long, default_value_t = 256)]
        max_side: u32,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Dies on purpose (`panic`, `abort` or `hang`), for tests of the
    /// parent's handling of a broken worker.
    #[command(hide = true)]
    Crash {
        #[arg(long)]
        mode: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn parse_device(s: &str) -> Result<DeviceChoice, String> {
    DeviceChoice::parse(s).ok_or_else(|| format!("`{s}` is not a device (auto, cpu, cuda:N)"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Probe { device, out } => finish(out.as_deref(), || Ok(probe::probe(device))),
        Command::Analyze { request, out } => finish(out.as_deref(), || {
            let text = fs_err::read_to_string(&request)
                .map_err(|e| format!("cannot read request `{}`: {e}", request.display()))?;
            let req: AnalyzeRequest = serde_json::from_str(&text)
                .map_err(|e| format!("malformed request `{}`: {e}", request.display()))?;
            analyze::analyze(&req)
        }),
        Command::Canary { request, out } => finish(out.as_deref(), || {
            let text = fs_err::read_to_string(&request)
                .map_err(|e| format!("cannot read request `{}`: {e}", request.display()))?;
            let req: CanaryRequest = serde_json::from_str(&text)
                .map_err(|e| format!("malformed request `{}`: {e}", request.display()))?;
            canary::run(&req)
        }),
        Command::Bench {
            device,
            frames,
            width,
            height,
            repeats,
            max_side,
            out,
        } => finish(out.as_deref(), || {
            bench::bench(device, frames, width, height, repeats, max_side)
        }),
        Command::Crash { mode, out } => {
            if let Some(out) = &out {
                // A half-written response, as a crash mid-write leaves it.
                let _ = fs_err::write(out, b"{\"ok\": {\"protocol\": 1, \"rep");
            }
            match mode.as_str() {
                "panic" => panic!("tether-gpu crash test: panic"),
                "abort" => std::process::abort(),
                _ => loop {
                    std::thread::sleep(std::time::Duration::from_secs(3600));
                },
            }
        }
    }
}

/// Runs `work`, turning an error or a panic (tch panics on libtorch errors)
/// into an error response, and writes the response.
fn finish<T: Serialize>(out: Option<&Path>, work: impl FnOnce() -> Result<T, String>) -> ExitCode {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
        .unwrap_or_else(|payload| Err(panic_message(payload.as_ref())));
    let (response, code) = match result {
        Ok(report) => (
            Response::Ok {
                protocol: PROTOCOL_VERSION,
                report,
            },
            ExitCode::SUCCESS,
        ),
        Err(message) => (
            Response::Error {
                protocol: PROTOCOL_VERSION,
                message,
            },
            ExitCode::from(1),
        ),
    };
    let text = match serde_json::to_string_pretty(&response) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("tether-gpu: cannot serialise the response: {e}");
            return ExitCode::from(3);
        }
    };
    match out {
        None => println!("{text}"),
        Some(path) => {
            if let Err(e) = tether_shared::files::write_atomic(path, text.as_bytes()) {
                eprintln!("tether-gpu: cannot write `{}`: {e}", path.display());
                return ExitCode::from(3);
            }
        }
    }
    code
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".to_owned());
    format!("libtorch work failed: {text}")
}
