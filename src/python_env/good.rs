//! The protected packages installed at the last good run
//! (`<state>/service/protected_packages.json`, written when a baseline
//! passes or an update is promoted; `tether health` compares against it).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::PipFreeze;
use crate::config::Config;

/// The record of the last good run's protected packages.
pub fn good_packages_path(cfg: &Config) -> PathBuf {
    cfg.project
        .state_dir
        .join("service")
        .join("protected_packages.json")
}

/// Writes the protected packages of `freeze` as the last good ones.
pub fn record_good_packages(cfg: &Config, freeze: &PipFreeze) {
    let Some(packages) = freeze.packages() else {
        return;
    };
    let protected: BTreeMap<&String, &String> = packages
        .iter()
        .filter(|(name, _)| cfg.analysis.is_protected(name))
        .collect();
    if let Err(e) = crate::state::write_json(&good_packages_path(cfg), &protected) {
        tracing::warn!(error = %e, "cannot record the protected packages of a good run");
    }
}
