//! The config file exactly as written: serde structs with no defaults applied
//! and no meaning checked. `validate` turns them into [`super::Config`].

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub project: RawProject,
    #[serde(default)]
    pub upstream: Vec<RawUpstream>,
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
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProject {
    pub name: Option<String>,
    pub root: Option<String>,
    pub python: Option<String>,
    pub state_dir: Option<String>,
    pub analysis_dir: Option<String>,
    pub outputs_dir: Option<String>,
    pub wrapper_source: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    pub name: Option<String>,
    pub url: Option<String>,
    pub path: Option<String>,
    pub layout: Option<String>,
    pub track: Option<String>,
    pub soak: Option<String>,
    pub key_files: Option<Vec<String>>,
    pub record_file: Option<String>,
    pub record_pattern: Option<String>,
    pub credential_timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIntegration {
    pub scan: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
    pub api_modules: Option<Vec<String>>,
    pub config_dirs: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAnalysis {
    pub protected_packages: Option<Vec<String>>,
    pub max_file_bytes: Option<i64>,
    pub rename_similarity: Option<f64>,
    pub max_findings_per_kind: Option<i64>,
    pub max_findings_per_file: Option<i64>,
    pub max_report_bytes: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBaseline {
    pub command: Option<String>,
    pub results_file: Option<String>,
    pub timeout: Option<String>,
    pub grace_period: Option<String>,
    pub max_log_bytes: Option<i64>,
    pub overrides_file: Option<String>,
    pub references_dir: Option<String>,
    pub vram_sample_interval: Option<String>,
    pub quality: Option<bool>,
    pub quality_max_side: Option<i64>,
    pub min_mean_ssim: Option<f64>,
    pub max_duration_ratio: Option<f64>,
    pub max_vram_ratio: Option<f64>,
    #[serde(default)]
    pub case: Vec<RawCase>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCase {
    pub name: Option<String>,
    pub model: Option<String>,
    pub command: Option<String>,
    pub timeout: Option<String>,
    pub outputs: Option<Vec<String>>,
    pub params: Option<toml::Table>,
    pub runner: Option<String>,
    pub export: Option<String>,
    pub module: Option<String>,
    pub method: Option<String>,
    pub device: Option<String>,
    pub dtype: Option<String>,
    pub warmup: Option<i64>,
    pub iterations: Option<i64>,
    pub inputs: Option<Vec<toml::Table>>,
    pub max_abs_error: Option<f64>,
    pub min_cosine: Option<f64>,
    pub min_mean_ssim: Option<f64>,
    pub max_duration_ratio: Option<f64>,
    pub max_vram_ratio: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpdate {
    pub max_attempts: Option<i64>,
    pub switch_after_no_progress: Option<i64>,
    pub switch_after_repeats: Option<i64>,
    pub gpu_minutes_budget: Option<f64>,
    pub strategies: Option<Vec<String>>,
    pub on_unfixable: Option<String>,
    pub commit_author: Option<String>,
    pub allow_regressions: Option<bool>,
    pub bisect_retries: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFix {
    pub length_param: Option<String>,
    pub frame_step: Option<i64>,
    pub min_length: Option<i64>,
    pub resolution_param: Option<String>,
    pub resolution_scale: Option<f64>,
    pub min_resolution: Option<String>,
    pub memory_profile_param: Option<String>,
    pub memory_profile_values: Option<Vec<toml::Value>>,
    pub samples_dir: Option<String>,
    pub external_command: Option<String>,
    pub external_timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGpu {
    pub preflight: Option<String>,
    pub device: Option<String>,
    pub worker: Option<String>,
    pub timeout: Option<String>,
    pub min_tflops: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    pub timezone: Option<String>,
    pub check: Option<String>,
    pub update: Option<String>,
    pub baseline: Option<String>,
    pub housekeeping: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub listen: Option<String>,
    pub endpoint_max_connections: Option<i64>,
    pub endpoint_request_timeout: Option<String>,
    pub endpoint_idle_timeout: Option<String>,
    pub endpoint_max_request_bytes: Option<i64>,
    pub webhook: Option<String>,
    pub webhook_timeout: Option<String>,
    pub webhook_retries: Option<i64>,
    pub keep_outputs_days: Option<i64>,
    pub keep_logs_days: Option<i64>,
    pub debug_log_max_lines: Option<i64>,
}
