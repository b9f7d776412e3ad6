//! Owns the baseline generation suite: the effective cases (config plus the
//! wrapper's overrides file), running each case as a child process in the
//! tree under test, deciding its status, and recording or comparing
//! references keyed by hardware and settings.

pub mod canary;
mod decide;
mod hardware;
pub mod quality;
mod reference;
mod runner;
mod stray;
mod suite;

use std::path::PathBuf;

pub use hardware::{HardwareKey, hardware_key, settings_hash};
pub use reference::{
    CaseComparison, Comparison, OutputMetrics, Reference, ReferenceOutput, Verdict, compare,
    psnr_text, record, reference_path,
};
pub use runner::{
    BaselineRun, CaseResult, CaseStatus, OutputFile, RanOn, RunOptions, next_run_dir, reanalyze,
    run_suite,
};
pub use suite::{CaseOverride, EffectiveCase, Overrides, effective_cases};

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
    #[error("cannot copy `{}` to `{}`", from.display(), to.display())]
    Copy {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
