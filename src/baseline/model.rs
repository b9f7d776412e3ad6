//! The baseline's data: a run of the suite and its cases (`results.json`),
//! the analysed outputs and canary figures of a case, a recorded reference,
//! and a case's comparison with its reference. Plain serialisable types and
//! their small predicates; running, recording and comparing live in
//! `runner`, `record` and `compare`, which all build on this module.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::hardware::HardwareKey;
use crate::config::Thresholds;
use crate::gpu::{PreflightResult, VramPeak};
use crate::media::Severity;
use crate::process::Exit;
use crate::protocol::{AnalyzeReport, CanaryReport};

/// What a baseline run ran on. `tether health` judges the live wrapper by
/// [`RanOn::Live`] runs only: a staged candidate that fails says nothing
/// about the wrapper in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RanOn {
    /// The live wrapper: `tether baseline run`/`record` or the service's
    /// baseline job.
    Live,
    /// A tree given with `tether baseline run --staged PATH`.
    Staged,
    /// The staged candidate of update `update` (its initial run and the runs
    /// after each fix attempt).
    UpdateCandidate { update: String },
    /// A step of bisect `bisect`: the wrapper staged at one upstream commit.
    BisectStep { bisect: String },
}

impl RanOn {
    pub fn is_live(&self) -> bool {
        matches!(self, RanOn::Live)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Passed,
    Failed,
    TimedOut,
    Crashed,
}

impl CaseStatus {
    pub const ALL: [CaseStatus; 4] = [
        CaseStatus::Passed,
        CaseStatus::Failed,
        CaseStatus::TimedOut,
        CaseStatus::Crashed,
    ];

    /// The status in words (`timed out`), as reports and the service state
    /// spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Passed => "passed",
            CaseStatus::Failed => "failed",
            CaseStatus::TimedOut => "timed out",
            CaseStatus::Crashed => "crashed",
        }
    }

    /// The status named by its words or its JSON spelling.
    pub fn from_words(s: &str) -> Option<CaseStatus> {
        CaseStatus::ALL
            .into_iter()
            .find(|c| c.as_str() == s || (*c == CaseStatus::TimedOut && s == "timed_out"))
    }
}

impl std::fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A [`CaseStatus`] serialised in words (`"timed out"`), as the service
/// state and `tether health` have always written it: use with
/// `#[serde(with = "crate::baseline::status_words")]`.
pub mod status_words {
    use super::CaseStatus;

    pub fn serialize<S: serde::Serializer>(s: &CaseStatus, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.as_str())
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(de: D) -> Result<CaseStatus, D::Error> {
        let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(de)?;
        CaseStatus::from_words(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown case status `{text}`")))
    }
}

/// A file a case wrote in its output folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputFile {
    /// Relative to the case's output folder, `/`-separated.
    pub path: String,
    pub bytes: u64,
}

/// One analysed output of one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputQuality {
    /// Relative to the case's output folder, `/`-separated.
    pub path: String,
    /// The downsampled frames the worker stored (absolute), for `record`.
    pub frames_file: Option<PathBuf>,
    pub report: Option<AnalyzeReport>,
    /// Why there is no report (the worker failed).
    pub error: Option<String>,
}

impl OutputQuality {
    /// The failing checks of this output, in words.
    pub fn failures(&self) -> Vec<String> {
        match (&self.report, &self.error) {
            (_, Some(e)) => vec![format!("output `{}` could not be checked: {e}", self.path)],
            (Some(r), None) => r
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Fail)
                .map(|f| format!("output `{}`: {}", self.path, f.message))
                .collect(),
            (None, None) => Vec::new(),
        }
    }
}

/// What a canary case produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryOutcome {
    pub module: PathBuf,
    /// The worker's figures, when it ran.
    pub report: Option<CanaryReport>,
    /// The stored outputs (f32 safetensors), for `record`.
    pub outputs_file: Option<PathBuf>,
    pub max_abs_error: f64,
    pub min_cosine: f64,
}

/// One case's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    pub name: String,
    pub model: String,
    pub params: Map<String, Value>,
    /// [`super::settings_hash`] of `model` and `params`.
    pub settings_hash: String,
    pub status: CaseStatus,
    /// How the process ended; `None` when it could not be started.
    pub exit: Option<Exit>,
    pub duration_s: f64,
    pub peak_vram: VramPeak,
    /// Files matching the case's expected outputs (and the results file's
    /// `output`), inside its output folder.
    pub outputs: Vec<OutputFile>,
    /// Why the case did not pass.
    pub error: Option<String>,
    /// Last bytes of stdout and stderr (redacted).
    pub stdout_tail: String,
    pub stderr_tail: String,
    /// The case's folder: `settings.json`, `stdout.log`, `stderr.log`, outputs.
    pub log_dir: PathBuf,
    /// Whether a log was cut at `baseline.max_log_bytes`.
    pub log_truncated: bool,
    /// Files the case created, changed or deleted in the tree under test
    /// outside its output folder (a baseline should only write there).
    #[serde(default)]
    pub stray_writes: Vec<String>,
    /// Each video or image output decoded, checked and measured against the
    /// reference's frames (empty when `baseline.quality` is off or the case
    /// did not pass before its outputs were checked).
    #[serde(default)]
    pub quality: Vec<OutputQuality>,
    /// The limits this case is judged by against its reference.
    #[serde(default)]
    pub thresholds: Thresholds,
    /// A canary case's module, figures and stored outputs.
    #[serde(default)]
    pub canary: Option<CanaryOutcome>,
    /// How the case's scheduler job failed, when the scheduler (not the
    /// case) ended it; `None` for a local case and a job that ran the case.
    #[serde(default)]
    pub job_failure: Option<JobFailure>,
    /// The `[[slurm.target]]` the case ran on (a hardware matrix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The hardware this case's job ran on, when it may differ from the
    /// run's (a matrix target); its references are keyed by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware: Option<super::hardware::HardwareKey>,
}

impl CaseResult {
    /// `<case>`, or `<case>@<target>` in a matrix: how reports name it.
    pub fn label(&self) -> String {
        super::suite::dir_name(&self.name, self.target.as_deref())
    }
}

/// A scheduler job that ended without the case's own verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFailure {
    /// The scheduler's job id.
    pub job: String,
    /// The job's final state as the scheduler names it (`OUT_OF_MEMORY`).
    pub state: String,
    pub kind: JobFailureKind,
}

/// What a failed job means for the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobFailureKind {
    /// Past the job's host memory limit.
    HostOutOfMemory,
    /// The cluster failed the job (node failure, preemption, the job's time
    /// limit, pending too long): says nothing about the tree under test.
    Infrastructure,
    /// Cancelled by someone other than this tether.
    Cancelled,
}

impl JobFailure {
    /// Whether the failure is the cluster's, not the case's.
    pub fn is_infrastructure(&self) -> bool {
        self.kind == JobFailureKind::Infrastructure
    }
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.status == CaseStatus::Passed
    }
}

/// One run of the suite.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineRun {
    pub run_id: String,
    /// The wrapper tree the cases ran in.
    pub tree: PathBuf,
    pub started: jiff::Timestamp,
    pub finished: jiff::Timestamp,
    pub hardware: HardwareKey,
    /// Whether GPU memory could be measured.
    pub vram_available: bool,
    /// The GPU preflight run before the cases, when one ran.
    #[serde(default)]
    pub preflight: Option<PreflightResult>,
    /// What the run is of; `None` in `results.json` files written before
    /// tether recorded it.
    #[serde(default)]
    pub ran_on: Option<RanOn>,
    pub cases: Vec<CaseResult>,
}

impl BaselineRun {
    /// Whether every case passed (true for a run of no cases).
    pub fn passed(&self) -> bool {
        self.cases.iter().all(CaseResult::passed)
    }

    pub fn failing(&self) -> Vec<&CaseResult> {
        self.cases.iter().filter(|c| !c.passed()).collect()
    }

    /// The hardware `case` ran on: its own (a matrix target's job), else
    /// the run's; its references are keyed by this.
    pub fn hardware_of<'a>(&'a self, case: &'a CaseResult) -> &'a HardwareKey {
        case.hardware.as_ref().unwrap_or(&self.hardware)
    }

    /// The targets of a matrix run, in the order their cases ran.
    pub fn targets(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for t in self.cases.iter().filter_map(|c| c.target.as_deref()) {
            if !out.contains(&t) {
                out.push(t);
            }
        }
        out
    }
}

/// One recorded reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub format_version: u32,
    pub case: String,
    pub model: String,
    pub params: Map<String, Value>,
    pub settings_hash: String,
    pub hardware: HardwareKey,
    pub recorded_at: jiff::Timestamp,
    pub run_id: String,
    pub status: CaseStatus,
    pub duration_s: f64,
    pub peak_vram: VramPeak,
    pub outputs: Vec<OutputFile>,
    /// The analysed outputs and where their downsampled frames are kept.
    #[serde(default)]
    pub quality: Vec<ReferenceOutput>,
    /// A canary's outputs and figures.
    #[serde(default)]
    pub canary: Option<CanaryReference>,
}

/// What a canary's reference keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryReference {
    /// The outputs (f32 safetensors), relative to the reference JSON's folder.
    pub outputs_file: String,
    pub median_latency_ms: f64,
    pub peak_memory_bytes: Option<u64>,
    pub memory_kind: String,
    pub device: String,
    pub dtype: String,
}

/// One analysed output of a reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceOutput {
    /// Relative to the case's output folder.
    pub path: String,
    /// The downsampled frames, relative to the reference JSON's folder.
    pub frames_file: String,
    pub frames: u32,
    pub width: u32,
    pub height: u32,
    pub fps: Option<f64>,
    /// Size of the stored frames, `[width, height]`.
    pub stored: [u32; 2],
}

impl Reference {
    /// The canary's reference outputs, given where this reference's JSON is.
    pub fn canary_outputs(&self, json_path: &Path) -> Option<PathBuf> {
        let dir = json_path.parent()?;
        self.canary.as_ref().map(|c| dir.join(&c.outputs_file))
    }

    /// The stored frames of output `path`, given where this reference's JSON
    /// file is.
    pub fn frames_for(&self, json_path: &Path, path: &str) -> Option<PathBuf> {
        let dir = json_path.parent()?;
        self.quality
            .iter()
            .find(|q| q.path == path)
            .map(|q| dir.join(&q.frames_file))
    }
}

/// A case's verdict against its reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceVerdict {
    /// Passed, within every limit of its reference.
    Pass,
    /// Passed, but worse than its reference in quality, speed or memory.
    Regressed,
    /// Did not pass.
    Failed,
    /// Passed; there is no reference for this hardware and settings yet.
    New,
}

impl ReferenceVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            ReferenceVerdict::Pass => "pass",
            ReferenceVerdict::Regressed => "regressed",
            ReferenceVerdict::Failed => "failed",
            ReferenceVerdict::New => "new",
        }
    }
}

/// The quality figures of one output against its reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputMetrics {
    pub output: String,
    pub frames_compared: u32,
    pub mean_ssim: Option<f64>,
    pub min_ssim: Option<f64>,
    pub mean_psnr_db: Option<f64>,
    pub min_psnr_db: Option<f64>,
    /// Why the output was not compared, when it was not.
    pub not_compared: Option<String>,
}

/// How a case compares with its reference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseComparison {
    pub case: String,
    /// The `[[slurm.target]]` the case ran on (a hardware matrix).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub settings_hash: String,
    /// The hardware slug the reference was looked up under.
    pub hardware: String,
    pub verdict: ReferenceVerdict,
    #[serde(flatten)]
    pub comparison: Comparison,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Comparison {
    /// No reference for this case, settings and hardware yet (not a failure).
    New {
        /// Hardware slugs that do have a reference of this case and settings:
        /// not compared, since figures from other hardware say nothing.
        #[serde(default)]
        other_hardware: Vec<String>,
    },
    Compared {
        reference: PathBuf,
        /// This run's duration over the reference's.
        duration_ratio: f64,
        /// This run's peak GPU memory over the reference's, when both have one.
        vram_ratio: Option<f64>,
        /// The case did not pass this time (references are of passed runs).
        status_changed: bool,
        /// Each limit exceeded, in words; empty when within every limit.
        regressions: Vec<String>,
        /// PSNR/SSIM of each analysed output against the reference's frames.
        #[serde(default)]
        quality: Vec<OutputMetrics>,
    },
}

impl CaseComparison {
    pub fn is_regression(&self) -> bool {
        matches!(&self.comparison, Comparison::Compared { regressions, .. } if !regressions.is_empty())
    }
}
