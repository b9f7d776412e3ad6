//! `[integration]`: which wrapper files are scanned, and which are
//! ComfyUI workflows.

use super::{Problems, glob_set, glob_strings};
use crate::config::defaults;
use crate::config::model::IntegrationConfig;
use crate::config::raw::RawIntegration;

pub(super) fn integration(raw: RawIntegration, p: &mut Problems) -> IntegrationConfig {
    let scan = glob_strings(&raw.scan, defaults::SCAN);
    if scan.is_empty() {
        p.add("integration.scan", "must list at least one glob");
    }
    let exclude = glob_strings(&raw.exclude, defaults::EXCLUDE);
    let workflows = glob_strings(&raw.workflows, &[]);
    IntegrationConfig {
        scan_set: glob_set(p, "integration.scan", &scan),
        scan,
        exclude_set: glob_set(p, "integration.exclude", &exclude),
        exclude,
        workflows_set: glob_set(p, "integration.workflows", &workflows),
        workflows,
        api_modules: raw
            .api_modules
            .unwrap_or_default()
            .into_iter()
            .map(|m| m.0)
            .collect(),
        config_dirs: raw.config_dirs.unwrap_or_else(|| {
            defaults::CONFIG_DIRS
                .iter()
                .map(|s| s.to_string())
                .collect()
        }),
    }
}
