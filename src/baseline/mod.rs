//! Owns the baseline generation suite: the effective cases (config plus the
//! wrapper's overrides file), running each case as a child process in the
//! tree under test, deciding its status, and recording or comparing
//! references keyed by hardware and settings.
//!
//! Inside, `model` (the run, case, reference and comparison types) is at the
//! bottom; `decide`, `hardware`, `suite`, `stray` and `reference_file` use
//! only it; `quality` and `canary` judge a case's outputs; `runner` runs the
//! suite on them (`slurm_exec` and `slurm_files`: its cases as Slurm jobs); `record` and `compare` read a finished run. Nothing below
//! uses what is above it.

pub mod canary;
mod compare;
mod decide;
mod hardware;
mod live;
mod model;
pub mod quality;
mod record;
mod reference_file;
mod runner;
mod slurm_exec;
mod slurm_files;
mod stray;
mod suite;

use std::path::PathBuf;

pub use compare::{MIN_CANARY_DELTA_MS, MIN_DURATION_DELTA_S, compare, psnr_text};
pub use hardware::{HardwareKey, hardware_key, settings_hash};
pub use model::{
    BaselineRun, CanaryOutcome, CanaryReference, CaseComparison, CaseResult, CaseStatus,
    Comparison, JobFailure, JobFailureKind, OutputFile, OutputMetrics, OutputQuality, RanOn,
    Reference, ReferenceOutput, ReferenceVerdict, status_words,
};
pub use quality::reanalyze;
pub use record::record;
pub use reference_file::reference_path;
pub use runner::{NODE_RESULT, NodeResult, RunOptions, exec_case, next_run_dir, run_suite};
pub use slurm_exec::check_cluster;
pub use suite::{
    CaseOverride, EffectiveCase, Overrides, TargetOverride, dir_name, effective_cases,
};

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read baseline overrides file `{}`", path.display())]
    OverridesRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("baseline overrides file `{}` is malformed: {message}", path.display())]
    OverridesInvalid { path: PathBuf, message: String },
    /// `known`: the configured names, cut to the first few with a count.
    #[error("no baseline case named `{name}` (known: {known})")]
    UnknownCase { name: String, known: String },
    #[error("cannot write `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot run baseline case `{case}`")]
    Process {
        case: String,
        #[source]
        source: crate::process::ProcessError,
    },
    #[error("baseline reference `{}` is unreadable: {message}", path.display())]
    Reference { path: PathBuf, message: String },
    #[error("the GPU preflight failed, so the baseline was not run: {problems}")]
    Preflight { problems: String },
    /// The cluster refused or failed the run (the scheduler's own message).
    #[error("the slurm executor failed: {message}")]
    Slurm { message: String },
    #[error("cannot copy `{}` to `{}`", from.display(), to.display())]
    Copy {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
