//! `[fix]`: the fix strategies' knobs, with their defaults.

use std::path::Path;

use super::resolve;
use crate::config::defaults;
use crate::config::model::FixConfig;
use crate::config::raw::RawFix;

pub(super) fn fix(raw: RawFix, base: &Path) -> FixConfig {
    FixConfig {
        length_param: raw
            .length_param
            .unwrap_or_else(|| defaults::LENGTH_PARAM.into()),
        frame_step: raw.frame_step.map_or(defaults::FRAME_STEP, |n| n.0),
        min_length: raw.min_length.map_or(defaults::MIN_LENGTH, |n| n.0),
        resolution_param: raw
            .resolution_param
            .unwrap_or_else(|| defaults::RESOLUTION_PARAM.into()),
        resolution_scale: raw
            .resolution_scale
            .map_or(defaults::RESOLUTION_SCALE, |x| x.0),
        min_resolution: raw
            .min_resolution
            .map_or(defaults::MIN_RESOLUTION, |r| (r.0, r.1)),
        memory_profile_param: raw
            .memory_profile_param
            .unwrap_or_else(|| defaults::MEMORY_PROFILE_PARAM.into()),
        memory_profile_values: raw
            .memory_profile_values
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| serde_json::to_value(v).ok())
            .collect(),
        samples_dir: raw
            .samples_dir
            .filter(|s| !s.is_empty())
            .map(|s| resolve(base, &s)),
        external_command: raw
            .external_command
            .map(|c| c.0)
            .filter(|s| !s.trim().is_empty()),
        external_timeout: raw
            .external_timeout
            .map_or(defaults::EXTERNAL_TIMEOUT, |d| d.0),
    }
}
