//! Tests of the comparison limits: speed, memory, status and a canary's
//! latency and memory.

use std::path::PathBuf;

use serde_json::Map;

use super::*;
use crate::baseline::hardware::HardwareKey;
use crate::baseline::model::{CanaryOutcome, CaseStatus};
use crate::baseline::reference_file::REFERENCE_VERSION;
use crate::gpu::VramPeak;

fn case(status: CaseStatus, duration_s: f64, vram: Option<u64>) -> CaseResult {
    CaseResult {
        name: "c".into(),
        model: "m".into(),
        params: Map::new(),
        settings_hash: "0123456789abcdef".into(),
        status,
        exit: None,
        duration_s,
        peak_vram: match vram {
            Some(bytes) => VramPeak::Peak {
                bytes,
                device: "GPU 0".into(),
            },
            None => VramPeak::Unavailable {
                reason: "no GPU".into(),
            },
        },
        outputs: Vec::new(),
        error: None,
        stdout_tail: String::new(),
        stderr_tail: String::new(),
        log_dir: PathBuf::new(),
        log_truncated: false,
        stray_writes: Vec::new(),
        quality: Vec::new(),
        thresholds: crate::config::Thresholds::default(),
        canary: None,
        job_failure: None,
        target: None,
        hardware: None,
    }
}

fn reference(duration_s: f64, vram: Option<u64>) -> Reference {
    let c = case(CaseStatus::Passed, duration_s, vram);
    Reference {
        format_version: REFERENCE_VERSION,
        case: c.name,
        model: c.model,
        params: c.params,
        settings_hash: c.settings_hash,
        hardware: HardwareKey::cpu(),
        recorded_at: jiff::Timestamp::UNIX_EPOCH,
        run_id: "r".into(),
        status: CaseStatus::Passed,
        duration_s,
        peak_vram: c.peak_vram,
        outputs: Vec::new(),
        quality: Vec::new(),
        canary: None,
    }
}

fn canary_report(device: &str, median: f64) -> crate::protocol::CanaryReport {
    crate::protocol::CanaryReport {
        device: device.into(),
        dtype: "bf16".into(),
        load_s: 0.1,
        latency_ms: vec![median],
        median_latency_ms: median,
        peak_memory_bytes: Some(1000),
        memory_kind: "cuda device used (NVML)".into(),
        outputs: Vec::new(),
        comparison: None,
        reference_error: None,
    }
}

#[test]
fn canary_latency_is_judged_on_cuda_only() {
    let c = CanaryOutcome {
        module: PathBuf::new(),
        report: None,
        outputs_file: None,
        max_abs_error: 1e-3,
        min_cosine: 0.999,
    };
    let rc = CanaryReference {
        outputs_file: String::new(),
        median_latency_ms: 10.0,
        peak_memory_bytes: Some(1000),
        memory_kind: "cuda device used (NVML)".into(),
        device: "cuda:0".into(),
        dtype: "bf16".into(),
    };
    let limits = crate::config::Thresholds::default();
    let mut out = Vec::new();
    canary_regressions(&c, &canary_report("cuda:0", 14.0), &rc, &limits, &mut out);
    assert_eq!(
        out,
        ["speed: canary median latency 14.00 ms, 1.40x the reference's 10.00 ms (limit 1.25x)"]
    );
    let mut out = Vec::new();
    canary_regressions(&c, &canary_report("cuda:0", 12.0), &rc, &limits, &mut out);
    assert!(out.is_empty(), "{out:?}");
    // the CPU: timing noise, never a regression
    let cpu = CanaryReference {
        device: "cpu".into(),
        memory_kind: "cpu peak resident set".into(),
        ..rc.clone()
    };
    let mut out = Vec::new();
    canary_regressions(&c, &canary_report("cpu", 400.0), &cpu, &limits, &mut out);
    assert!(out.is_empty(), "{out:?}");
    // memory on CUDA
    let mut big = canary_report("cuda:0", 10.0);
    big.peak_memory_bytes = Some(1200);
    let mut out = Vec::new();
    canary_regressions(&c, &big, &rc, &limits, &mut out);
    assert_eq!(
        out,
        ["memory: canary peak memory 1.20x the reference (limit 1.1x)"]
    );
}

fn regressions(c: Comparison) -> Vec<String> {
    match c {
        Comparison::Compared { regressions, .. } => regressions,
        Comparison::New { .. } => panic!("expected a comparison"),
    }
}

#[test]
fn limits() {
    let p = PathBuf::from("ref.json");
    // Within limits.
    let r = compare_one(
        &case(CaseStatus::Passed, 110.0, Some(1000)),
        &reference(100.0, Some(950)),
        p.clone(),
    );
    assert_eq!(regressions(r), Vec::<String>::new());
    // Slower by more than the ratio and the minimum delta.
    let r = compare_one(
        &case(CaseStatus::Passed, 130.0, None),
        &reference(100.0, None),
        p.clone(),
    );
    assert_eq!(
        regressions(r),
        ["speed: duration 1.30x the reference (130.0s vs 100.0s; limit 1.25x)"]
    );
    // A large ratio on a tiny case is noise.
    let r = compare_one(
        &case(CaseStatus::Passed, 0.5, None),
        &reference(0.2, None),
        p.clone(),
    );
    assert!(regressions(r).is_empty());
    // More memory; a failed status.
    let r = compare_one(
        &case(CaseStatus::Failed, 100.0, Some(1200)),
        &reference(100.0, Some(1000)),
        p.clone(),
    );
    match r {
        Comparison::Compared {
            vram_ratio,
            status_changed,
            regressions,
            ..
        } => {
            assert_eq!(vram_ratio, Some(1.2));
            assert!(status_changed);
            assert_eq!(
                regressions,
                [
                    "status failed (the reference passed)",
                    "memory: peak GPU memory 1.20x the reference (limit 1.1x)"
                ]
            );
        }
        Comparison::New { .. } => panic!(),
    }
}
