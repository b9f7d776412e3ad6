//! `[baseline]` and its `[[baseline.case]]` tables: every case named, names
//! unique, each case's own limits over the suite's.

use std::path::{Path, PathBuf};

use super::{Problems, canary, resolve};
use crate::config::defaults;
use crate::config::model::{BaselineConfig, CaseConfig, ThresholdOverrides, Thresholds};
use crate::config::raw::{RawBaseline, RawCase};

pub(super) fn baseline(raw: RawBaseline, base: &Path, p: &mut Problems) -> BaselineConfig {
    let timeout = raw.timeout.map_or(defaults::CASE_TIMEOUT, |d| d.0);
    let mut cases: Vec<CaseConfig> = Vec::new();
    for (i, c) in raw.case.into_iter().enumerate() {
        if let Some(case) = case(i, c, &cases, p) {
            cases.push(case);
        }
    }
    BaselineConfig {
        command: raw
            .command
            .map_or_else(|| defaults::BASELINE_COMMAND.into(), |c| c.0),
        results_file: raw.results_file.filter(|s| !s.trim().is_empty()),
        timeout,
        grace_period: raw.grace_period.map_or(defaults::GRACE_PERIOD, |d| d.0),
        max_log_bytes: raw.max_log_bytes.map_or(defaults::MAX_LOG_BYTES, |n| n.0),
        overrides_file: PathBuf::from(
            raw.overrides_file
                .map_or_else(|| defaults::OVERRIDES_FILE.into(), |f| f.0),
        ),
        references_dir: resolve(
            base,
            &raw.references_dir
                .map_or_else(|| defaults::REFERENCES_DIR.into(), |d| d.0),
        ),
        vram_sample_interval: raw
            .vram_sample_interval
            .map_or(defaults::VRAM_SAMPLE_INTERVAL, |d| d.0),
        quality: raw.quality.unwrap_or(defaults::QUALITY),
        quality_max_side: raw
            .quality_max_side
            .map_or(defaults::QUALITY_MAX_SIDE, |n| n.0),
        thresholds: ThresholdOverrides {
            min_mean_ssim: raw.min_mean_ssim.map(|x| x.0),
            max_duration_ratio: raw.max_duration_ratio.map(|x| x.0),
            max_vram_ratio: raw.max_vram_ratio.map(|x| x.0),
        }
        .apply(Thresholds::default()),
        executor: raw.executor.unwrap_or_default(),
        max_parallel: raw.max_parallel.map_or(defaults::MAX_PARALLEL, |n| n.0),
        cases,
    }
}

fn case(i: usize, c: RawCase, earlier: &[CaseConfig], p: &mut Problems) -> Option<CaseConfig> {
    let k = |f: &str| format!("baseline.case[{i}].{f}");
    let canary = canary::canary(&k(""), &c, p);
    let Some(name) = c.name.map(|n| n.0) else {
        p.add(k("name"), "missing: every case needs a name");
        return None;
    };
    if earlier.iter().any(|o| o.name == name) {
        p.add(k("name"), format!("duplicate case name `{name}`"));
    }
    let params = match c.params {
        None => serde_json::Map::new(),
        Some(t) => match serde_json::to_value(t) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => {
                p.add(k("params"), "must be a table of plain values");
                serde_json::Map::new()
            }
        },
    };
    Some(CaseConfig {
        name,
        model: c.model.map(|m| m.0).unwrap_or_default(),
        command: c.command.map(|t| t.0),
        timeout: c.timeout.map(|d| d.0),
        outputs: c
            .outputs
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect(),
        params,
        thresholds: ThresholdOverrides {
            min_mean_ssim: c.min_mean_ssim.map(|x| x.0),
            max_duration_ratio: c.max_duration_ratio.map(|x| x.0),
            max_vram_ratio: c.max_vram_ratio.map(|x| x.0),
        },
        canary,
        executor: c.executor,
    })
}
