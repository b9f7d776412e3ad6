//! The executor of the suite: each case as one child process in the tree
//! under test (a canary through `canary`), its settings, logs and outputs in
//! `<run_dir>/<case>/`, GPU memory sampled while it runs, its outputs
//! checked (`quality`), and the whole run written to `<run_dir>/results.json`.
//! The run's data types are in `model`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use super::BaselineError;
use super::canary::{self, CanaryContext};
use super::decide::{self, Decision};
use super::hardware::{HardwareKey, hardware_key, settings_hash};
use super::model::{BaselineRun, CaseResult, CaseStatus, RanOn};
use super::quality::{CaseKey, WorkerSlot, check_outputs};
use super::suite::{EffectiveCase, Overrides, effective_cases};
use crate::config::{Config, Executor};
use crate::gpu::{VramPeak, VramSampler};
use crate::process::{self, ChildError, Exit, ProcessError, ProcessSpec};

/// Which cases to run, and where.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub run_id: String,
    /// Where the run's folders and `results.json` go.
    pub run_dir: PathBuf,
    /// Only these cases (by name); `None`: all.
    pub cases: Option<Vec<String>>,
    /// Set to stop the running case and skip the rest.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Run the GPU preflight first when `[gpu] preflight` asks for it.
    pub preflight: bool,
    /// What the run is of, recorded in its `results.json`.
    pub ran_on: RanOn,
}

/// A new run id `<prefix>-<UTC time>` (with `-2`, `-3`, ... when taken) and
/// its folder under `outputs_dir` (not created).
pub fn next_run_dir(outputs_dir: &Path, prefix: &str) -> (String, PathBuf) {
    let stamp = crate::env::now().strftime("%Y%m%dT%H%M%SZ").to_string();
    let base = format!("{prefix}-{stamp}");
    let mut id = base.clone();
    let mut n = 1;
    while outputs_dir.join(&id).exists() {
        n += 1;
        id = format!("{base}-{n}");
    }
    let dir = outputs_dir.join(&id);
    (id, dir)
}

/// Runs the suite's cases in `tree` and writes `<run_dir>/results.json`.
/// A case that fails is a result, not an error; errors are problems with the
/// suite itself (malformed overrides, unknown case names, unwritable files).
pub fn run_suite(
    cfg: &Config,
    tree: &Path,
    opts: &RunOptions,
) -> Result<BaselineRun, BaselineError> {
    let tree = std::path::absolute(tree).unwrap_or_else(|_| tree.to_path_buf());
    let run_dir = std::path::absolute(&opts.run_dir).unwrap_or_else(|_| opts.run_dir.clone());
    let overrides = Overrides::load(&tree, cfg)?;
    let cases = select(effective_cases(cfg, &overrides), opts.cases.as_deref())?;
    crate::state::create_private_dir(&run_dir).map_err(|source| BaselineError::Write {
        path: run_dir.clone(),
        source,
    })?;
    let started = crate::env::now();
    let any_local = cases.iter().any(|c| c.executor == Executor::Local);
    let hardware = if any_local {
        hardware_key(cfg, &tree, &run_dir.join(".hardware"))
    } else {
        // read on the nodes, by each job
        HardwareKey::cpu()
    };
    let vram_available = VramSampler::new().is_available();
    let preflight = if opts.preflight && crate::gpu::should_preflight(cfg) {
        let result = crate::gpu::preflight(&cfg.gpu, &run_dir.join(".preflight"));
        tracing::info!(passed = result.passed, problems = ?result.problems, "GPU preflight");
        if !result.passed {
            let problems = result.problems.join("; ");
            let run = BaselineRun {
                run_id: opts.run_id.clone(),
                tree,
                started,
                finished: crate::env::now(),
                hardware,
                vram_available,
                preflight: Some(result),
                ran_on: Some(opts.ran_on.clone()),
                cases: Vec::new(),
            };
            write_results(&run_dir, &run)?;
            return Err(BaselineError::Preflight { problems });
        }
        Some(result)
    } else {
        None
    };
    let mut ctx = RunContext {
        cfg,
        tree: &tree,
        run_dir: &run_dir,
        run_id: &opts.run_id,
        cancel: opts.cancel.clone(),
        hardware: &hardware.slug,
        worker: None,
    };

    // canaries first: when one fails hard, the expensive cases are skipped
    let mut cases = cases;
    cases.sort_by_key(|c| c.canary.is_none());
    let mut hard_failed: Option<String> = None;
    let mut results: Vec<Option<CaseResult>> = Vec::with_capacity(cases.len());
    let finished = |result: &CaseResult| {
        tracing::info!(case = %result.name, status = %result.status, "baseline case finished");
        crate::progress::emit(|| crate::progress::Event::CaseFinished {
            case: result.name.clone(),
            status: result.status.to_string(),
            elapsed_ms: (result.duration_s * 1000.0) as u64,
        });
    };
    crate::progress::emit(|| crate::progress::Event::BaselineStarted {
        run_id: opts.run_id.clone(),
        cases: cases.len(),
    });
    let mut on_slurm: Vec<(usize, &EffectiveCase)> = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let cancelled = process::interrupted()
            || opts
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::SeqCst));
        let runs_on_slurm = case.executor == Executor::Slurm;
        if !runs_on_slurm {
            crate::progress::emit(|| crate::progress::Event::CaseStarted {
                case: case.name.clone(),
                index: index + 1,
                total: cases.len(),
            });
        }
        let result = if cancelled {
            not_run(case, &run_dir, "not run: the run was cancelled".into())
        } else if let (Some(why), None) = (&hard_failed, &case.canary) {
            not_run(case, &run_dir, why.clone())
        } else if runs_on_slurm {
            // submitted together once the local cases are done
            on_slurm.push((index, case));
            results.push(None);
            continue;
        } else {
            tracing::info!(case = %case.name, model = %case.model, "baseline case started");
            ctx.run_case(case)?
        };
        finished(&result);
        if case.canary.is_some() && !result.passed() && hard_failed.is_none() {
            hard_failed = Some(format!(
                "not run: canary `{}` failed hard ({}), so the expensive cases were skipped to save GPU time",
                result.name,
                result.error.as_deref().unwrap_or("")
            ));
        }
        results.push(Some(result));
    }
    let mut hardware = hardware;
    if !on_slurm.is_empty() {
        let slurm = super::slurm_exec::SlurmRun {
            cfg,
            tree: &tree,
            run_dir: &run_dir,
            run_id: &opts.run_id,
            cancel: opts.cancel.clone(),
        };
        let only_slurm = on_slurm.len() == cases.len();
        let ran = slurm.run_cases(
            &on_slurm.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
            &finished,
        )?;
        for ((index, case), (mut result, node_hardware)) in on_slurm.iter().zip(ran) {
            // the references follow the hardware the jobs ran on: a matrix
            // case keeps its own, else the run takes the nodes'
            if case.target.is_some() {
                result.hardware = node_hardware;
            } else if only_slurm && let Some(h) = node_hardware {
                hardware = h;
            }
            results[*index] = Some(result);
        }
    }
    let results: Vec<CaseResult> = results.into_iter().flatten().collect();
    let run = BaselineRun {
        run_id: opts.run_id.clone(),
        tree,
        started,
        finished: crate::env::now(),
        hardware,
        vram_available,
        preflight,
        ran_on: Some(opts.ran_on.clone()),
        cases: results,
    };
    crate::progress::emit(|| {
        let passed = run.cases.iter().filter(|c| c.passed()).count();
        crate::progress::Event::BaselineFinished {
            run_id: run.run_id.clone(),
            passed,
            failed: run.cases.len() - passed,
        }
    });
    write_results(&run_dir, &run)?;
    Ok(run)
}

fn select(
    cases: Vec<EffectiveCase>,
    only: Option<&[String]>,
) -> Result<Vec<EffectiveCase>, BaselineError> {
    let Some(only) = only else { return Ok(cases) };
    for name in only {
        if !cases.iter().any(|c| &c.name == name) {
            return Err(BaselineError::UnknownCase {
                name: name.clone(),
                known: crate::text::cut_list(
                    &cases.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
                    crate::text::MESSAGE_ITEMS,
                ),
            });
        }
    }
    Ok(cases
        .into_iter()
        .filter(|c| only.contains(&c.name))
        .collect())
}

/// Runs the one case `name` (on matrix target `target`) of the suite in
/// `tree`, its folder `<run_dir>/<name>[@<target>]/`, as the local runner
/// runs each case, and writes its result with the hardware it ran on to
/// that folder's [`NODE_RESULT`]: `tether case-exec`, the slurm executor's
/// job on a node.
pub fn exec_case(
    cfg: &Config,
    tree: &Path,
    run_dir: &Path,
    run_id: &str,
    name: &str,
    target: Option<&str>,
) -> Result<NodeResult, BaselineError> {
    let overrides = Overrides::load(tree, cfg)?;
    let cases = select(effective_cases(cfg, &overrides), Some(&[name.to_owned()]))?;
    let Some(case) = cases
        .into_iter()
        .find(|c| target.is_none() || c.target.as_deref() == target)
    else {
        return Err(BaselineError::UnknownCase {
            name: super::suite::dir_name(name, target),
            known: crate::text::cut_list(
                &cfg.slurm
                    .targets
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>(),
                crate::text::MESSAGE_ITEMS,
            ),
        });
    };
    crate::state::create_private_dir(run_dir).map_err(|source| BaselineError::Write {
        path: run_dir.to_path_buf(),
        source,
    })?;
    let dir = run_dir.join(case.dir_name());
    let hardware = hardware_key(cfg, tree, &dir.join(".hardware"));
    let mut ctx = RunContext {
        cfg,
        tree,
        run_dir,
        run_id,
        cancel: None,
        hardware: &hardware.slug,
        worker: None,
    };
    let case = ctx.run_case(&case)?;
    let result = NodeResult { hardware, case };
    write_pretty(&dir.join(NODE_RESULT), &result)?;
    Ok(result)
}

/// The file `tether case-exec` writes in the case's folder.
pub const NODE_RESULT: &str = "node_result.json";

/// What `tether case-exec` hands back: the case's result and the hardware
/// it ran on.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NodeResult {
    pub hardware: HardwareKey,
    pub case: CaseResult,
}

/// What every case of one run shares.
struct RunContext<'a> {
    cfg: &'a Config,
    tree: &'a Path,
    run_dir: &'a Path,
    run_id: &'a str,
    /// Set to stop the running case.
    cancel: Option<Arc<AtomicBool>>,
    /// The slug references are looked up under.
    hardware: &'a str,
    /// The `tether-gpu` worker, looked up at its first use.
    worker: WorkerSlot,
}

impl RunContext<'_> {
    fn run_case(&mut self, case: &EffectiveCase) -> Result<CaseResult, BaselineError> {
        let cfg = self.cfg;
        let tree = self.tree;
        let case_dir = self.run_dir.join(case.dir_name());
        let settings_json = case_dir.join("settings.json");
        let settings = serde_json::json!({
            "case": case.name,
            "model": case.model,
            "params": case.params,
        });
        write_pretty(&settings_json, &settings)?;

        let vars = template_vars(cfg, tree, &case_dir, &settings_json, self.run_id, case);
        if let Some(canary) = &case.canary {
            let ctx = CanaryContext {
                cfg,
                tree,
                case_dir: &case_dir,
                case,
                vars: &vars,
                hardware: self.hardware,
            };
            return Ok(canary::run_case(&ctx, canary, &mut self.worker));
        }
        let argv = match process::render_template(&case.command, &vars) {
            Ok(a) => a,
            Err(e) => {
                return Ok(not_run(
                    case,
                    self.run_dir,
                    format!("cannot build the command: {e}"),
                ));
            }
        };
        let spec = ProcessSpec {
            argv,
            cwd: tree.to_path_buf(),
            env: vec![
                ("TETHER_CASE".into(), case.name.clone()),
                ("TETHER_OUTPUT_DIR".into(), case_dir.display().to_string()),
                ("TETHER_RUN_ID".into(), self.run_id.to_owned()),
            ],
            timeout: case.timeout,
            grace: cfg.baseline.grace_period,
            stdout_path: case_dir.join("stdout.log"),
            stderr_path: case_dir.join("stderr.log"),
            max_log_bytes: cfg.baseline.max_log_bytes,
            cancel: self.cancel.clone(),
        };
        let mut sampler = VramSampler::new().with_interval(cfg.baseline.vram_sample_interval);
        let mut live = super::live::Live::new(&case.name, &spec.stdout_path, &spec.stderr_path);
        let before = super::stray::TreeSnapshot::take(tree);
        let outcome = match process::run(&spec, &mut || {
            sampler.sample();
            live.tick(&sampler);
        }) {
            Ok(o) => o,
            Err(e @ ProcessError::Run(ChildError::Spawn { .. })) => {
                return Ok(not_run(case, self.run_dir, e.to_string()));
            }
            Err(source) => {
                return Err(BaselineError::Process {
                    case: case.name.clone(),
                    source,
                });
            }
        };
        let Decision {
            mut status,
            mut error,
            outputs,
        } = decide::decide(
            &case.name,
            outcome.exit,
            &case_dir,
            &case.outputs,
            cfg.baseline.results_file.as_deref(),
        );
        let stray_writes = before
            .map(|b| b.changed_since(tree, &case_dir))
            .unwrap_or_default();
        if !stray_writes.is_empty() {
            tracing::warn!(case = %case.name, files = ?stray_writes, "the case wrote into the tree under test, outside its output folder");
        }
        if outcome.exit == Exit::TimedOut {
            error = Some(format!(
                "timed out after {}",
                crate::duration::format(case.timeout)
            ));
        }
        let hash = settings_hash(&case.model, &case.params);
        let mut quality = Vec::new();
        if status == CaseStatus::Passed && cfg.baseline.quality {
            let key = CaseKey {
                name: &case.name,
                params: &case.params,
                settings_hash: &hash,
            };
            quality = check_outputs(
                cfg,
                self.hardware,
                &mut self.worker,
                &key,
                &case_dir,
                &outputs,
            );
            let failures: Vec<String> = quality.iter().flat_map(|q| q.failures()).collect();
            if !failures.is_empty() {
                status = CaseStatus::Failed;
                error = Some(failures.join("; "));
            }
        }
        Ok(CaseResult {
            name: case.name.clone(),
            model: case.model.clone(),
            params: case.params.clone(),
            settings_hash: hash,
            status,
            exit: Some(outcome.exit),
            duration_s: outcome.duration.as_secs_f64(),
            peak_vram: sampler.result(),
            outputs,
            error: error.map(|e| crate::redact::redact(&e).into_owned()),
            stdout_tail: outcome.stdout_tail,
            stderr_tail: outcome.stderr_tail,
            log_dir: case_dir,
            log_truncated: outcome.truncated,
            stray_writes,
            quality,
            thresholds: case.thresholds,
            canary: None,
            job_failure: None,
            target: case.target.clone(),
            hardware: None,
        })
    }
}

/// The placeholders of a case's command template.
fn template_vars(
    cfg: &Config,
    tree: &Path,
    case_dir: &Path,
    settings_json: &Path,
    run_id: &str,
    case: &EffectiveCase,
) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    vars.insert("python".into(), cfg.project.python.clone());
    vars.insert("root".into(), tree.display().to_string());
    vars.insert("output_dir".into(), case_dir.display().to_string());
    vars.insert("settings_json".into(), settings_json.display().to_string());
    vars.insert("case".into(), case.name.clone());
    vars.insert("model".into(), case.model.clone());
    vars.insert("run_id".into(), run_id.to_owned());
    for (k, v) in &case.params {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        vars.insert(format!("param.{k}"), text);
    }
    vars
}

/// A case that never ran (command could not be built or started, or the run
/// was cancelled first).
pub(super) fn not_run(case: &EffectiveCase, run_dir: &Path, error: String) -> CaseResult {
    CaseResult {
        name: case.name.clone(),
        model: case.model.clone(),
        params: case.params.clone(),
        settings_hash: settings_hash(&case.model, &case.params),
        status: CaseStatus::Failed,
        exit: None,
        duration_s: 0.0,
        peak_vram: VramPeak::Unavailable {
            reason: "the case did not run".into(),
        },
        outputs: Vec::new(),
        error: Some(error),
        stdout_tail: String::new(),
        stderr_tail: String::new(),
        log_dir: run_dir.join(case.dir_name()),
        log_truncated: false,
        stray_writes: Vec::new(),
        quality: Vec::new(),
        thresholds: case.thresholds,
        canary: None,
        job_failure: None,
        target: case.target.clone(),
        hardware: None,
    }
}

pub(super) fn write_pretty<T: serde::Serialize>(
    path: &Path,
    value: &T,
) -> Result<(), BaselineError> {
    let err = |source| BaselineError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut text =
        serde_json::to_string_pretty(value).map_err(|e| err(std::io::Error::other(e)))?;
    text.push('\n');
    crate::state::write_atomic(path, text.as_bytes()).map_err(err)
}

/// `<run_dir>/results.json`, written as a document (redacted once).
fn write_results(run_dir: &Path, run: &BaselineRun) -> Result<(), BaselineError> {
    crate::document::write(run_dir, run).map_err(|e| BaselineError::Write {
        path: e.path().to_path_buf(),
        source: std::io::Error::other(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_case_names_the_first_few_known_ones_and_counts_the_rest() {
        let cfg = crate::config::Config::parse(
            &format!(
                "[[upstream]]\nname = \"a\"\nurl = \"u\"\npath = \"p\"\nlayout = \"clone\"\n{}",
                (0..40)
                    .map(|i| format!("\n[[baseline.case]]\nname = \"case{i}\"\nmodel = \"m\"\n"))
                    .collect::<String>()
            ),
            Path::new("/base"),
        )
        .unwrap();
        let cases = effective_cases(&cfg, &Overrides::default());
        let err = select(cases, Some(&["nope".to_owned()])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no baseline case named `nope` (known: `case0`, `case1`, `case2`, `case3`, `case4` and 35 more)"
        );
    }
}
