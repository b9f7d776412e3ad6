//! A `[[baseline.case]]` with `runner = "torchscript"`: the canary keys only
//! such a case takes, and exactly one of `export` and `module`.

use std::path::PathBuf;

use super::Problems;
use crate::config::defaults;
use crate::config::model::CanaryConfig;
use crate::config::raw::{RawCase, Runner};
use crate::protocol::InputSpec;

/// The canary of a case, or `None` for a command case; `prefix` is the
/// case's dotted key with its trailing dot.
pub(super) fn canary(prefix: &str, c: &RawCase, p: &mut Problems) -> Option<CanaryConfig> {
    let k = |f: &str| format!("{prefix}{f}");
    if c.runner.unwrap_or_default() == Runner::Command {
        let canary_keys = [
            ("export", c.export.is_some()),
            ("module", c.module.is_some()),
            ("method", c.method.is_some()),
            ("device", c.device.is_some()),
            ("dtype", c.dtype.is_some()),
            ("warmup", c.warmup.is_some()),
            ("iterations", c.iterations.is_some()),
            ("inputs", c.inputs.is_some()),
            ("max_abs_error", c.max_abs_error.is_some()),
            ("min_cosine", c.min_cosine.is_some()),
        ];
        for (key, set) in canary_keys {
            if set {
                p.add(
                    k(key),
                    "only a `runner = \"torchscript\"` case takes this key",
                );
            }
        }
        return None;
    }
    if c.export.is_none() == c.module.is_none() {
        p.add(
            k("export"),
            "a torchscript case needs exactly one of `export` (a command that writes {module_path}) and `module` (a fixed path)",
        );
    }
    let mut inputs = Vec::new();
    for (j, input) in c.inputs.iter().flatten().enumerate() {
        let Some(shape) = &input.shape else {
            p.add(
                k(&format!("inputs[{j}].shape")),
                "needs a list of positive sizes, e.g. [1, 4, 16, 16]",
            );
            continue;
        };
        inputs.push(InputSpec {
            name: input.name.clone().unwrap_or_else(|| format!("input{j}")),
            shape: shape.0.clone(),
            dtype: input
                .dtype
                .clone()
                .unwrap_or_else(|| defaults::INPUT_DTYPE.into()),
            fill: input
                .fill
                .map_or(defaults::INPUT_FILL, |f| f.as_str())
                .to_owned(),
            value: input.value.unwrap_or(defaults::INPUT_VALUE),
            seed: input.seed.map_or(defaults::INPUT_SEED, |s| s.max(0) as u64),
        });
    }
    Some(CanaryConfig {
        export: c.export.as_ref().map(|t| t.0.clone()),
        module: c.module.clone().map(PathBuf::from),
        method: c
            .method
            .clone()
            .unwrap_or_else(|| defaults::CANARY_METHOD.into()),
        device: c.device.map(|d| d.0),
        dtype: c
            .dtype
            .map_or(defaults::CANARY_DTYPE, |d| d.as_str())
            .to_owned(),
        warmup: c.warmup.map_or(defaults::CANARY_WARMUP, |n| n.0),
        iterations: c.iterations.map_or(defaults::CANARY_ITERATIONS, |n| n.0),
        inputs,
        max_abs_error: c
            .max_abs_error
            .map_or(defaults::CANARY_MAX_ABS_ERROR, |x| x.0),
        min_cosine: c.min_cosine.map_or(defaults::CANARY_MIN_COSINE, |x| x.0),
    })
}
