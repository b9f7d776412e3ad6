//! The config file exactly as written: serde structs with no defaults applied.
//! Each value is already typed (`super::value`), so a bad one is rejected
//! while parsing, with its key and line; `validate` turns these into
//! [`super::Config`]. Every field is an `Option` (or a list that may be
//! empty), so `tether.example.toml` can be checked to document each one.

use serde::{Deserialize, Serialize};

use super::defaults::{MIN_LOG_BYTES, MIN_REPORT_BYTES};
use super::model::{
    BaseMode, Layout, OnUnfixable, Preflight, PromotePolicy, StrategyKind, Track, WrapperSource,
};
use super::value::*;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub project: RawProject,
    #[serde(default)]
    pub upstream: Vec<RawUpstream>,
    #[serde(default)]
    pub group: Vec<RawGroup>,
    #[serde(default)]
    pub integration: RawIntegration,
    #[serde(default)]
    pub analysis: RawAnalysis,
    #[serde(default)]
    pub baseline: RawBaseline,
    #[serde(default)]
    pub update: RawUpdate,
    #[serde(default)]
    pub fix: RawFix,
    #[serde(default)]
    pub gpu: RawGpu,
    #[serde(default)]
    pub schedule: RawSchedule,
    #[serde(default)]
    pub service: RawService,
    #[serde(default)]
    pub slurm: RawSlurm,
    #[serde(default)]
    pub escalation: RawEscalation,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawProject {
    pub name: Option<NonEmpty>,
    pub root: Option<NonEmpty>,
    pub python: Option<NonEmpty>,
    pub state_dir: Option<NonEmpty>,
    pub analysis_dir: Option<NonEmpty>,
    pub outputs_dir: Option<NonEmpty>,
    pub wrapper_source: Option<WrapperSource>,
}

/// `[[group]]`: upstreams updated as one transaction.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    pub name: Option<Name>,
    pub members: Option<Vec<Name>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    pub name: Option<Name>,
    pub url: Option<NonEmpty>,
    pub path: Option<RelativePath>,
    pub layout: Option<Layout>,
    pub track: Option<Track>,
    pub soak: Option<AnyDuration>,
    pub key_files: Option<Vec<GlobPattern>>,
    pub record_file: Option<String>,
    pub record_pattern: Option<RecordPattern>,
    pub record_key: Option<NonEmpty>,
    pub base: Option<BaseMode>,
    pub install: Option<NonEmpty>,
    pub install_timeout: Option<PositiveDuration>,
    pub credential_timeout: Option<PositiveDuration>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawIntegration {
    pub scan: Option<Vec<GlobPattern>>,
    pub exclude: Option<Vec<GlobPattern>>,
    pub api_modules: Option<Vec<ModuleName>>,
    pub config_dirs: Option<Vec<String>>,
    pub workflows: Option<Vec<GlobPattern>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawAnalysis {
    pub protected_packages: Option<Vec<String>>,
    pub max_file_bytes: Option<Bytes<1>>,
    pub rename_similarity: Option<Fraction>,
    pub max_findings_per_kind: Option<Count<0>>,
    pub max_findings_per_file: Option<Count<0>>,
    pub max_report_bytes: Option<Bytes<MIN_REPORT_BYTES>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawBaseline {
    pub command: Option<Template>,
    pub results_file: Option<String>,
    pub timeout: Option<PositiveDuration>,
    pub grace_period: Option<PositiveDuration>,
    pub max_log_bytes: Option<Bytes<MIN_LOG_BYTES>>,
    pub overrides_file: Option<RelativePath>,
    pub references_dir: Option<NonEmpty>,
    pub vram_sample_interval: Option<PositiveDuration>,
    pub quality: Option<bool>,
    pub quality_max_side: Option<Count<16>>,
    pub min_mean_ssim: Option<Fraction>,
    pub max_duration_ratio: Option<Ratio>,
    pub max_vram_ratio: Option<Ratio>,
    pub executor: Option<Executor>,
    pub max_parallel: Option<Count<1>>,
    #[serde(default)]
    pub case: Vec<RawCase>,
}

/// Where a baseline case runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Executor {
    /// A child process of tether on this machine.
    #[default]
    Local,
    /// One `sbatch` job on the cluster (`[slurm]`).
    Slurm,
}

/// `[slurm]`: how a case becomes a Slurm job.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlurm {
    pub partition: Option<NonEmpty>,
    pub account: Option<NonEmpty>,
    pub qos: Option<NonEmpty>,
    pub gres: Option<String>,
    pub cpus: Option<Count<1>>,
    pub memory: Option<NonEmpty>,
    pub time_limit: Option<PositiveDuration>,
    pub extra_args: Option<Vec<String>>,
    pub tether_bin: Option<NonEmpty>,
    pub shared_dir: Option<NonEmpty>,
    pub max_pending: Option<PositiveDuration>,
    pub poll_min: Option<PositiveDuration>,
    pub poll_max: Option<PositiveDuration>,
    /// `[[slurm.target]]`: the hardware matrix.
    #[serde(default)]
    pub target: Vec<RawSlurmTarget>,
}

/// One `[[slurm.target]]`: a kind of hardware every slurm case runs on.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlurmTarget {
    pub name: Option<NonEmpty>,
    pub partition: Option<NonEmpty>,
    pub account: Option<NonEmpty>,
    pub qos: Option<NonEmpty>,
    pub gres: Option<String>,
    pub extra_args: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawCase {
    pub name: Option<Name>,
    pub model: Option<NonEmpty>,
    pub command: Option<Template>,
    pub timeout: Option<PositiveDuration>,
    pub outputs: Option<Vec<GlobPattern>>,
    pub params: Option<toml::Table>,
    pub runner: Option<Runner>,
    pub export: Option<Template>,
    pub module: Option<String>,
    pub method: Option<String>,
    pub device: Option<Device>,
    pub dtype: Option<Dtype>,
    pub warmup: Option<Count<0>>,
    pub iterations: Option<Count<1>>,
    pub inputs: Option<Vec<RawInput>>,
    pub max_abs_error: Option<NonNegative>,
    pub min_cosine: Option<Fraction>,
    pub min_mean_ssim: Option<Fraction>,
    pub max_duration_ratio: Option<Ratio>,
    pub max_vram_ratio: Option<Ratio>,
    pub executor: Option<Executor>,
}

/// Who runs a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Runner {
    /// The case's command template.
    #[default]
    Command,
    /// The `tether-gpu` worker runs an exported TorchScript module.
    Torchscript,
}

/// A canary's compute precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    Fp32,
    Bf16,
    Fp16,
}

impl Dtype {
    pub fn as_str(self) -> &'static str {
        match self {
            Dtype::Fp32 => "fp32",
            Dtype::Bf16 => "bf16",
            Dtype::Fp16 => "fp16",
        }
    }
}

/// How a described canary input is filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fill {
    /// Seeded normal noise.
    Normal,
    Uniform,
    Zeros,
    Ones,
    /// Every element `value`.
    Constant,
}

impl Fill {
    pub fn as_str(self) -> &'static str {
        match self {
            Fill::Normal => "normal",
            Fill::Uniform => "uniform",
            Fill::Zeros => "zeros",
            Fill::Ones => "ones",
            Fill::Constant => "constant",
        }
    }
}

/// One described input of a canary (`inputs = [{ ... }]`).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawInput {
    pub name: Option<String>,
    pub shape: Option<Shape>,
    pub dtype: Option<String>,
    pub fill: Option<Fill>,
    pub value: Option<f64>,
    pub seed: Option<i64>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpdate {
    pub max_attempts: Option<Count<0>>,
    pub switch_after_no_progress: Option<Count<1>>,
    pub switch_after_repeats: Option<Count<1>>,
    pub gpu_minutes_budget: Option<Positive>,
    pub strategies: Option<Vec<StrategyKind>>,
    pub on_unfixable: Option<OnUnfixable>,
    pub commit_author: Option<Author>,
    pub allow_regressions: Option<bool>,
    pub bisect_retries: Option<Count<0>>,
    pub bisect_parallel: Option<Count<1>>,
    pub remember_held: Option<bool>,
    pub promote: Option<PromotePolicy>,
    pub parked_expiry: Option<PositiveDuration>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFix {
    pub length_param: Option<String>,
    pub frame_step: Option<Count<1>>,
    pub min_length: Option<Count<1>>,
    pub resolution_param: Option<String>,
    pub resolution_scale: Option<Scale>,
    pub min_resolution: Option<Resolution>,
    pub memory_profile_param: Option<String>,
    pub memory_profile_values: Option<Vec<toml::Value>>,
    pub samples_dir: Option<String>,
    pub external_command: Option<ShellCommand>,
    pub external_timeout: Option<PositiveDuration>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawGpu {
    pub preflight: Option<Preflight>,
    pub device: Option<Device>,
    pub worker: Option<NonEmpty>,
    pub timeout: Option<PositiveDuration>,
    pub min_tflops: Option<NonNegative>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    pub timezone: Option<TimeZoneName>,
    pub check: Option<CronExpr>,
    pub update: Option<CronExpr>,
    pub baseline: Option<CronExpr>,
    pub housekeeping: Option<CronExpr>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub listen: Option<Listen>,
    pub endpoint_max_connections: Option<Count<1>>,
    pub endpoint_request_timeout: Option<PositiveDuration>,
    pub endpoint_idle_timeout: Option<PositiveDuration>,
    pub endpoint_max_request_bytes: Option<Count<1024>>,
    pub webhook: Option<WebhookUrl>,
    pub webhook_timeout: Option<PositiveDuration>,
    pub webhook_retries: Option<Count<0>>,
    pub keep_outputs_days: Option<Count<1>>,
    pub keep_logs_days: Option<Count<1>>,
    pub debug_log_max_lines: Option<Count<10>>,
}

/// `[escalation]`: when the service asks a person to act.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawEscalation {
    pub consecutive_failures: Option<Count<0>>,
    pub same_failure_days: Option<Count<0>>,
    pub held_back_days: Option<Count<0>>,
    pub gpu_errors: Option<bool>,
    pub protected_changes: Option<bool>,
    pub remind_every: Option<PositiveDuration>,
}
