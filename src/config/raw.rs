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
}
