//! The out-of-memory family: shorten the video along the frame grid, then
//! lower the resolution, then switch the memory profile; each change goes to
//! the overrides file and is reported as a reduction. A case that ran out of
//! memory on one `[[slurm.target]]` is reduced on that target alone (the
//! overrides file's `targets.<name>`), and the reduction names the target.

use serde_json::Value;

use super::{AppliedFix, FixContext, Strategy, rel, value_u32};
use crate::baseline::Overrides;
use crate::config::{Config, FixConfig, StrategyKind};
use crate::fix::classify::{Failure, FailureClass};
use crate::fix::error::FixError;

pub struct Oom;

/// One parameter change that needs less memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Reduction {
    pub key: String,
    pub from: Value,
    pub to: Value,
}

impl Reduction {
    fn describe(&self) -> String {
        format!("{} {} -> {}", self.key, show(&self.from), show(&self.to))
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "(unset)".to_owned(),
        other => other.to_string(),
    }
}

/// The next frame count on the grid `k * step + 1`, four grid steps below
/// `current` (81 -> 65 with step 4), never below `min` (rounded up onto the
/// grid); `None` when no shorter length is left.
pub fn next_length(current: u32, step: u32, min: u32) -> Option<u32> {
    let step = step.max(1);
    let on_grid_below = |n: u32| n.saturating_sub(1) / step * step + 1;
    let floor = min.saturating_sub(1).div_ceil(step) * step + 1;
    let target = current.saturating_sub(4 * step).max(1);
    let next = on_grid_below(target).max(floor);
    (next < current).then_some(next)
}

/// The next `(width, height)`: each side times `scale`, rounded down to a
/// multiple of 16, not below the minimum side; `None` when neither side can
/// shrink.
pub fn next_resolution(current: (u32, u32), scale: f64, min: (u32, u32)) -> Option<(u32, u32)> {
    let side = |s: u32, m: u32| -> u32 {
        let scaled = ((f64::from(s) * scale) as u32) / 16 * 16;
        if s <= m { s } else { scaled.max(m).max(16) }
    };
    let next = (side(current.0, min.0), side(current.1, min.1));
    (next != current && next.0 <= current.0 && next.1 <= current.1).then_some(next)
}

/// The next reduction for a case run with `params`: length first, then
/// resolution, then the memory profile.
pub fn next_reduction(
    fix: &FixConfig,
    params: &serde_json::Map<String, Value>,
) -> Option<Reduction> {
    if let Some(v) = params.get(&fix.length_param)
        && let Some(cur) = value_u32(v)
        && let Some(next) = next_length(cur, fix.frame_step, fix.min_length)
    {
        let to = match v {
            Value::String(_) => Value::String(next.to_string()),
            _ => Value::from(next),
        };
        return Some(Reduction {
            key: fix.length_param.clone(),
            from: v.clone(),
            to,
        });
    }
    if let Some(v) = params.get(&fix.resolution_param)
        && let Some(cur) = v.as_str().and_then(crate::config::parse_resolution)
        && let Some((w, h)) = next_resolution(cur, fix.resolution_scale, fix.min_resolution)
    {
        return Some(Reduction {
            key: fix.resolution_param.clone(),
            from: v.clone(),
            to: Value::String(format!("{w}x{h}")),
        });
    }
    let values = &fix.memory_profile_values;
    if !values.is_empty() {
        let cur = params.get(&fix.memory_profile_param);
        let next = match cur.and_then(|c| values.iter().position(|v| v == c)) {
            Some(i) => values.get(i + 1),
            None => values.iter().find(|v| Some(*v) != cur),
        };
        if let Some(next) = next {
            return Some(Reduction {
                key: fix.memory_profile_param.clone(),
                from: cur.cloned().unwrap_or(Value::Null),
                to: next.clone(),
            });
        }
    }
    None
}

impl Strategy for Oom {
    fn kind(&self) -> StrategyKind {
        StrategyKind::Oom
    }

    fn applies(&self, f: &Failure) -> bool {
        f.class == FailureClass::OutOfMemory
    }

    fn apply(&self, ctx: &FixContext<'_>, f: &Failure) -> Result<Option<AppliedFix>, FixError> {
        let Some(r) = next_reduction(&ctx.cfg.fix, &f.params) else {
            return Err(FixError::not_applicable(
                StrategyKind::Oom,
                format!(
                    "case {} is already at its smallest {} / {} and has no memory profile left to try",
                    f.case, ctx.cfg.fix.length_param, ctx.cfg.fix.resolution_param
                ),
            ));
        };
        set_override(ctx.cfg, ctx.tree, &f.case, |o| match &f.target {
            // the other targets keep their parameters
            Some(t) => o.set_target_param(&f.case, t, &r.key, r.to.clone()),
            None => o.set_param(&f.case, &r.key, r.to.clone()),
        })?;
        let reduced = match &f.target {
            Some(t) => format!(
                "{}: {} on target {t} only",
                crate::baseline::dir_name(&f.case, Some(t)),
                r.describe()
            ),
            None => format!("{}: {}", f.case, r.describe()),
        };
        Ok(Some(AppliedFix {
            strategy: StrategyKind::Oom,
            summary: format!("out of memory: {reduced}"),
            files: vec![rel(
                ctx.tree,
                &ctx.tree.join(&ctx.cfg.baseline.overrides_file),
            )],
            commit_message: format!("fix(baseline): reduce {reduced} after out of memory"),
            reduced: Some(reduced),
        }))
    }
}

/// Loads the tree's overrides, changes them, saves them.
pub(crate) fn set_override(
    cfg: &Config,
    tree: &std::path::Path,
    case: &str,
    change: impl FnOnce(&mut Overrides),
) -> Result<(), FixError> {
    let mut o =
        Overrides::load(tree, cfg).map_err(|e| FixError::Overrides(format!("case {case}: {e}")))?;
    change(&mut o);
    o.save(tree, cfg)
        .map(|_| ())
        .map_err(|e| FixError::Overrides(format!("case {case}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_grid_goes_down_four_steps_at_a_time() {
        let mut seq = vec![81];
        while let Some(n) = next_length(*seq.last().unwrap(), 4, 17) {
            seq.push(n);
        }
        assert_eq!(seq, [81, 65, 49, 33, 17]);
        // Off-grid lengths land on the grid; the minimum is rounded onto it.
        assert_eq!(next_length(80, 4, 17), Some(61));
        assert_eq!(next_length(25, 4, 17), Some(17));
        assert_eq!(next_length(25, 4, 15), Some(17));
        assert_eq!(next_length(17, 4, 17), None);
        assert_eq!(next_length(20, 4, 17), Some(17));
        assert_eq!(next_length(121, 8, 1), Some(89));
        assert_eq!(next_length(5, 4, 1), Some(1));
        assert_eq!(next_length(1, 4, 1), None);
    }

    #[test]
    fn resolution_scales_to_multiples_of_16() {
        assert_eq!(
            next_resolution((832, 480), 0.75, (256, 256)),
            Some((624, 352))
        );
        assert_eq!(
            next_resolution((624, 352), 0.75, (256, 256)),
            Some((464, 256))
        );
        assert_eq!(
            next_resolution((464, 256), 0.75, (256, 256)),
            Some((336, 256))
        );
        assert_eq!(
            next_resolution((336, 256), 0.75, (256, 256)),
            Some((256, 256))
        );
        assert_eq!(next_resolution((256, 256), 0.75, (256, 256)), None);
        // A side already below the minimum stays.
        assert_eq!(
            next_resolution((1280, 200), 0.5, (256, 256)),
            Some((640, 200))
        );
    }

    fn fix_cfg(profiles: Vec<Value>) -> FixConfig {
        FixConfig {
            length_param: "video_length".into(),
            frame_step: 4,
            min_length: 17,
            resolution_param: "resolution".into(),
            resolution_scale: 0.75,
            min_resolution: (256, 256),
            memory_profile_param: "profile".into(),
            memory_profile_values: profiles,
            samples_dir: None,
            external_command: None,
            external_timeout: std::time::Duration::from_secs(60),
        }
    }

    fn params(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn reductions_in_order() {
        let fix = fix_cfg(vec![Value::from(4), Value::from(5)]);
        let r = next_reduction(
            &fix,
            &params(serde_json::json!({"video_length": 81, "resolution": "832x480"})),
        )
        .unwrap();
        assert_eq!(r.describe(), "video_length 81 -> 65");
        assert_eq!(r.to, Value::from(65));
        let r = next_reduction(
            &fix,
            &params(serde_json::json!({"video_length": "17", "resolution": "832x480"})),
        )
        .unwrap();
        assert_eq!(r.describe(), "resolution 832x480 -> 624x352");
        let r = next_reduction(
            &fix,
            &params(serde_json::json!({"video_length": 17, "resolution": "256x256"})),
        )
        .unwrap();
        assert_eq!(r.describe(), "profile (unset) -> 4");
        let r = next_reduction(
            &fix,
            &params(serde_json::json!({"video_length": 17, "resolution": "256x256", "profile": 4})),
        )
        .unwrap();
        assert_eq!(r.describe(), "profile 4 -> 5");
        assert_eq!(
            next_reduction(
                &fix,
                &params(
                    serde_json::json!({"video_length": 17, "resolution": "256x256", "profile": 5})
                )
            ),
            None
        );
        // A string length stays a string.
        let r = next_reduction(&fix, &params(serde_json::json!({"video_length": "81"}))).unwrap();
        assert_eq!(r.to, Value::from("65"));
    }
}
