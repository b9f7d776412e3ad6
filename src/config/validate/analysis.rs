//! `[analysis]`: protected packages (matched by their PEP 503 names) and the
//! caps on what a report lists.

use super::{Problems, glob_set};
use crate::config::defaults;
use crate::config::model::{AnalysisConfig, normalize_package};
use crate::config::raw::RawAnalysis;

pub(super) fn analysis(raw: RawAnalysis, p: &mut Problems) -> AnalysisConfig {
    let protected_packages = raw
        .protected_packages
        .unwrap_or_else(|| defaults::PROTECTED.iter().map(|s| s.to_string()).collect());
    let normalized: Vec<String> = protected_packages
        .iter()
        .map(|s| normalize_package(s))
        .collect();
    AnalysisConfig {
        protected_set: glob_set(p, "analysis.protected_packages", &normalized),
        protected_packages,
        max_file_bytes: raw.max_file_bytes.map_or(defaults::MAX_FILE_BYTES, |n| n.0),
        rename_similarity: raw
            .rename_similarity
            .map_or(defaults::RENAME_SIMILARITY, |x| x.0),
        max_findings_per_kind: raw
            .max_findings_per_kind
            .map_or(defaults::MAX_FINDINGS_PER_KIND, |n| n.0),
        max_findings_per_file: raw
            .max_findings_per_file
            .map_or(defaults::MAX_FINDINGS_PER_FILE, |n| n.0),
        max_report_bytes: raw
            .max_report_bytes
            .map_or(defaults::MAX_REPORT_BYTES, |n| n.0),
    }
}
