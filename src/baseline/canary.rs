//! A canary case (`runner = "torchscript"`): the export command run with the
//! wrapper's interpreter in the tree under test (or a fixed module), then the
//! module run by the `tether-gpu` worker on fixed inputs and its outputs
//! compared with the reference's. A crash, a failed or empty export, NaN/Inf
//! outputs or a changed output shape fail the case ("fails hard"); numeric,
//! speed and memory differences are regressions judged against the reference.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::hardware::settings_hash;
use super::model::{CanaryOutcome, CaseResult, CaseStatus};
use super::quality::WorkerSlot;
use super::reference_file::{read_reference, reference_path};
use super::suite::EffectiveCase;
use crate::config::{CanaryConfig, Config};
use crate::gpu::VramPeak;
use crate::gpu::{Worker, WorkerError};
use crate::process::{self, Exit, ProcessSpec};
use crate::protocol::{CanaryReport, CanaryRequest};

/// Where tether keeps a canary's files in the case's output folder.
pub const CANARY_DIR: &str = ".tether-canary";

/// Where and how one canary case runs.
pub(super) struct CanaryContext<'a> {
    pub cfg: &'a Config,
    /// The tree under test.
    pub tree: &'a Path,
    /// The case's output folder.
    pub case_dir: &'a Path,
    pub case: &'a EffectiveCase,
    /// The placeholders of the case's command templates.
    pub vars: &'a BTreeMap<String, String>,
    /// The hardware slug its reference is looked up under.
    pub hardware: &'a str,
}

/// Runs a `runner = "torchscript"` case: its result, judged against its
/// reference's outputs when there is one.
pub(super) fn run_case(
    ctx: &CanaryContext<'_>,
    canary: &CanaryConfig,
    worker: &mut WorkerSlot,
) -> CaseResult {
    let case = ctx.case;
    let hash = settings_hash(&case.model, &case.params);
    let ref_path = reference_path(ctx.cfg, ctx.hardware, &case.name, &hash);
    let reference = read_reference(&ref_path)
        .ok()
        .flatten()
        .and_then(|r| r.canary_outputs(&ref_path));
    let clock = std::time::Instant::now();
    let r = run(ctx, canary, worker, reference);
    CaseResult {
        name: case.name.clone(),
        model: case.model.clone(),
        params: case.params.clone(),
        settings_hash: hash,
        status: r.status,
        exit: r.exit,
        duration_s: clock.elapsed().as_secs_f64(),
        peak_vram: VramPeak::Unavailable {
            reason: "a canary measures its own peak memory".into(),
        },
        outputs: Vec::new(),
        error: r.error.map(|e| crate::redact::redact(&e).into_owned()),
        stdout_tail: r.stdout_tail,
        stderr_tail: r.stderr_tail,
        log_dir: ctx.case_dir.to_path_buf(),
        log_truncated: false,
        stray_writes: Vec::new(),
        quality: Vec::new(),
        thresholds: case.thresholds,
        canary: Some(r.outcome),
        job_failure: None,
        target: None,
        hardware: None,
    }
}

/// How a canary case ended.
struct CanaryRun {
    pub status: CaseStatus,
    pub error: Option<String>,
    pub exit: Option<Exit>,
    pub outcome: CanaryOutcome,
    pub stdout_tail: String,
    pub stderr_tail: String,
}

fn run(
    ctx: &CanaryContext<'_>,
    canary: &CanaryConfig,
    worker: &mut WorkerSlot,
    reference: Option<PathBuf>,
) -> CanaryRun {
    let CanaryContext {
        cfg,
        tree,
        case_dir,
        case,
        vars,
        ..
    } = *ctx;
    let dir = case_dir.join(CANARY_DIR);
    let module = match &canary.module {
        Some(m) => tree.join(m),
        None => case_dir.join("module.pt"),
    };
    let inputs_path = case_dir.join("inputs.safetensors");
    let mut run = CanaryRun {
        status: CaseStatus::Failed,
        error: None,
        exit: None,
        outcome: CanaryOutcome {
            module: module.clone(),
            report: None,
            outputs_file: None,
            max_abs_error: canary.max_abs_error,
            min_cosine: canary.min_cosine,
        },
        stdout_tail: String::new(),
        stderr_tail: String::new(),
    };
    if let Some(export) = &canary.export {
        let mut vars = vars.clone();
        vars.insert("module_path".into(), module.display().to_string());
        vars.insert("inputs_path".into(), inputs_path.display().to_string());
        let argv = match process::render_template(export, &vars) {
            Ok(a) => a,
            Err(e) => {
                run.error = Some(format!("cannot build the export command: {e}"));
                return run;
            }
        };
        let spec = ProcessSpec {
            argv,
            cwd: tree.to_path_buf(),
            env: vec![("TETHER_CASE".into(), case.name.clone())],
            timeout: case.timeout,
            grace: cfg.baseline.grace_period,
            stdout_path: case_dir.join("export.stdout.log"),
            stderr_path: case_dir.join("export.stderr.log"),
            max_log_bytes: cfg.baseline.max_log_bytes,
            cancel: None,
        };
        match process::run(&spec, &mut || {}) {
            Err(e) => {
                run.error = Some(format!("cannot run the export: {e}"));
                return run;
            }
            Ok(o) => {
                run.exit = Some(o.exit);
                run.stdout_tail = o.stdout_tail;
                run.stderr_tail = crate::redact::redact(&o.stderr_tail).into_owned();
                if !o.exit.success() {
                    let last = run
                        .stderr_tail
                        .trim()
                        .lines()
                        .last()
                        .unwrap_or("")
                        .to_owned();
                    run.status = match o.exit {
                        Exit::TimedOut => CaseStatus::TimedOut,
                        Exit::Signal(_) => CaseStatus::Crashed,
                        _ => CaseStatus::Failed,
                    };
                    run.error = Some(format!("the canary export failed ({}): {last}", o.exit));
                    return run;
                }
            }
        }
    }
    if !module.is_file() {
        run.error = Some(format!(
            "the canary export wrote no module at `{}`",
            module.display()
        ));
        return run;
    }
    let worker = match worker
        .get_or_insert_with(|| {
            Worker::locate(cfg.gpu.worker.as_deref(), cfg.gpu.timeout).map_err(|e| e.to_string())
        })
        .as_ref()
    {
        Ok(w) => w,
        Err(e) => {
            run.error = Some(format!("the canary could not run: {e}"));
            return run;
        }
    };
    let store = dir.join("outputs.safetensors");
    let request = CanaryRequest {
        module: module.clone(),
        method: canary.method.clone(),
        device: canary.device.unwrap_or(cfg.gpu.device),
        dtype: canary.dtype.clone(),
        inputs_file: inputs_path.is_file().then(|| inputs_path.clone()),
        inputs: canary.inputs.clone(),
        warmup: canary.warmup,
        iterations: canary.iterations,
        store: store.clone(),
        reference: reference.filter(|p| p.is_file()),
    };
    let report = match call(worker, &dir, &request) {
        Ok(r) => r,
        Err(e) => {
            run.error = Some(format!("the canary failed: {e}"));
            return run;
        }
    };
    run.outcome.outputs_file = store.is_file().then_some(store);
    let mut hard = Vec::new();
    for o in &report.outputs {
        if o.nan > 0 || o.inf > 0 {
            hard.push(format!(
                "output `{}` holds {} NaN and {} Inf values",
                o.key, o.nan, o.inf
            ));
        }
    }
    for d in report.comparison.iter().flatten() {
        if d.shape_changed() {
            hard.push(match &d.reference_shape {
                Some(r) => format!(
                    "output `{}` has shape {:?}, the reference {:?}",
                    d.key, d.shape, r
                ),
                None => format!("output `{}` is not among the reference's outputs", d.key),
            });
        }
    }
    run.outcome.report = Some(report);
    if hard.is_empty() {
        run.status = CaseStatus::Passed;
    } else {
        run.error = Some(format!("the canary fails hard: {}", hard.join("; ")));
    }
    run
}

fn call(worker: &Worker, dir: &Path, request: &CanaryRequest) -> Result<CanaryReport, String> {
    let path = dir.join("request.json");
    let text = serde_json::to_string_pretty(request).map_err(|e| e.to_string())?;
    crate::state::write_atomic(&path, text.as_bytes())
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    let args = vec![
        "canary".to_owned(),
        "--request".to_owned(),
        path.display().to_string(),
    ];
    worker
        .run::<CanaryReport>(&args, dir, "response")
        .map_err(|e: WorkerError| e.to_string())
}
