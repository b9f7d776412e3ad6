//! The model-config family: a case's model config vanished upstream; map it
//! to the closest config that exists now (an analysed rename, else name and
//! key similarity above a threshold), set the case's model in the overrides
//! file and rewrite string literals naming the old config in the wrapper.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::oom::set_override;
use super::{AppliedFix, FixContext, Strategy, rel, wrapper_python_files, write_file};
use crate::analysis::python::Status;
use crate::config::StrategyKind;
use crate::fix::classify::{Failure, FailureClass};
use crate::fix::error::FixError;
use crate::fix::pysrc;

/// Below this combined score no config counts as a replacement.
pub const MIN_SCORE: f64 = 0.7;
/// The best candidate must beat the runner-up by this much.
const MIN_MARGIN: f64 = 0.02;

pub struct ModelConfig;

/// One existing config scored against the missing one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigCandidate {
    /// `vace_14B_v2`.
    pub name: String,
    /// Relative to the upstream root: `defaults/vace_14B_v2.json`.
    pub path: String,
    /// Character similarity of the names, 0..1.
    pub name_score: f64,
    /// Jaccard overlap of the key paths, when the old config's keys are known.
    pub key_score: Option<f64>,
    pub score: f64,
}

/// Dotted key paths of a JSON document, two levels deep.
fn key_paths(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Value::Object(m) = v {
        for (k, v) in m {
            out.insert(k.clone());
            if let Value::Object(inner) = v {
                for k2 in inner.keys() {
                    out.insert(format!("{k}.{k2}"));
                }
            }
        }
    }
    out
}

/// Scores every candidate config against the missing `name` (with its old
/// content when known) and returns the best one if it scores at least
/// [`MIN_SCORE`] and is clearly ahead; otherwise the reason, with the
/// ranking.
pub fn closest_config(
    name: &str,
    old: Option<&Value>,
    candidates: &[(String, String, Option<Value>)],
) -> Result<ConfigCandidate, String> {
    let old_keys = old.map(key_paths);
    let mut scored: Vec<ConfigCandidate> = candidates
        .iter()
        .filter(|(n, _, _)| n != name)
        .map(|(n, path, content)| {
            let name_score = f64::from(similar::TextDiff::from_chars(name, n.as_str()).ratio());
            let key_score = match (&old_keys, content) {
                (Some(a), Some(c)) => {
                    let b = key_paths(c);
                    let union = a.union(&b).count();
                    Some(if union == 0 {
                        1.0
                    } else {
                        a.intersection(&b).count() as f64 / union as f64
                    })
                }
                _ => None,
            };
            let score = match key_score {
                Some(k) => 0.6 * name_score + 0.4 * k,
                None => name_score,
            };
            ConfigCandidate {
                name: n.clone(),
                path: path.clone(),
                name_score,
                key_score,
                score,
            }
        })
        .collect();
    scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.name.cmp(&b.name)));
    let ranking = || {
        scored
            .iter()
            .take(3)
            .map(|c| format!("{} {:.2}", c.name, c.score))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match scored.as_slice() {
        [] => Err(format!("no model configs to choose from for `{name}`")),
        [best, ..] if best.score < MIN_SCORE => Err(format!(
            "no config is close enough to `{name}` (best: {}; need {MIN_SCORE})",
            ranking()
        )),
        [best, second, ..] if best.score - second.score < MIN_MARGIN => Err(format!(
            "two configs are equally close to `{name}` ({})",
            ranking()
        )),
        [best, ..] => Ok(best.clone()),
    }
}

/// `(name, path relative to the upstream root, parsed content)` of every
/// JSON config in the upstream's config dirs.
fn list_configs(upstream: &Path, dirs: &[String]) -> Vec<(String, String, Option<Value>)> {
    let mut out = Vec::new();
    for d in dirs {
        let Ok(entries) = fs_err::read_dir(upstream.join(d)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_none_or(|x| x != "json") || !p.is_file() {
                continue;
            }
            let stem = p
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let content = fs_err::read(&p)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            out.push((stem, rel(upstream, &p), content));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The old config's content and path, read from the live wrapper's copy of
/// the upstream (untouched during an update).
fn old_config(ctx: &FixContext<'_>, name: &str) -> (Option<Value>, Option<String>) {
    let Ok(upstream_rel) = ctx.upstream_dir.strip_prefix(ctx.tree) else {
        return (None, None);
    };
    let live = ctx.cfg.project.root.join(upstream_rel);
    for d in &ctx.cfg.integration.config_dirs {
        let p = live.join(d).join(format!("{name}.json"));
        if let Ok(bytes) = fs_err::read(&p) {
            return (
                serde_json::from_slice(&bytes).ok(),
                Some(format!("{}/{name}.json", d.trim_end_matches('/'))),
            );
        }
    }
    (None, None)
}

/// A rename the analysis found for this config (`ConfigRenamed`).
fn analysed_rename(ctx: &FixContext<'_>, name: &str) -> Option<String> {
    let analysis = ctx.analysis?;
    let mut renames: BTreeSet<String> = BTreeSet::new();
    for f in &analysis.integration.findings {
        if let Status::ConfigRenamed { to } = &f.status {
            let stem = Path::new(&f.point.target)
                .file_stem()?
                .to_string_lossy()
                .into_owned();
            if stem == name || f.point.target == name {
                renames.insert(to.clone());
            }
        }
    }
    (renames.len() == 1).then(|| renames.into_iter().next().unwrap_or_default())
}

impl Strategy for ModelConfig {
    fn kind(&self) -> StrategyKind {
        StrategyKind::ModelConfig
    }

    fn applies(&self, f: &Failure) -> bool {
        matches!(f.class, FailureClass::ModelConfigMissing { .. })
    }

    fn apply(&self, ctx: &FixContext<'_>, f: &Failure) -> Result<Option<AppliedFix>, FixError> {
        let FailureClass::ModelConfigMissing { name } = &f.class else {
            return Ok(None);
        };
        let na = |r: String| FixError::not_applicable(StrategyKind::ModelConfig, r);
        let dirs = &ctx.cfg.integration.config_dirs;
        if dirs.is_empty() {
            return Err(na("no `integration.config_dirs` configured".to_owned()));
        }
        let configs = list_configs(ctx.upstream_dir, dirs);
        if configs.iter().any(|(n, _, _)| n == name) {
            return Err(na(format!(
                "config `{name}` exists in the staged upstream; the failure is something else"
            )));
        }
        let (old_content, old_path) = old_config(ctx, name);
        let chosen = match analysed_rename(ctx, name) {
            Some(to_path) => {
                let stem = Path::new(&to_path)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                match configs
                    .iter()
                    .find(|(n, p, _)| *n == stem || p.ends_with(&to_path))
                {
                    Some((n, p, _)) => ConfigCandidate {
                        name: n.clone(),
                        path: p.clone(),
                        name_score: 1.0,
                        key_score: None,
                        score: 1.0,
                    },
                    None => closest_config(name, old_content.as_ref(), &configs).map_err(na)?,
                }
            }
            None => closest_config(name, old_content.as_ref(), &configs).map_err(na)?,
        };
        let new_name = chosen.name.clone();
        let dir = Path::new(&chosen.path)
            .parent()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let old_path = old_path.unwrap_or_else(|| format!("{dir}/{name}.json"));
        let pairs = vec![
            (old_path.clone(), chosen.path.clone()),
            (name.clone(), new_name.clone()),
        ];
        let mut files = Vec::new();
        for py in wrapper_python_files(ctx.tree, ctx.upstream_dir) {
            let Ok(src) = fs_err::read_to_string(&py) else {
                continue;
            };
            let edits = pysrc::replace_strings(&src, &pairs);
            if edits.is_empty() {
                continue;
            }
            let out = pysrc::apply(&src, &edits);
            write_file(&py, out.as_bytes())?;
            files.push(rel(ctx.tree, &py));
        }
        let cases: Vec<String> = std::iter::once(f.case.clone())
            .chain(
                ctx.cfg
                    .baseline
                    .cases
                    .iter()
                    .filter(|c| c.model == *name && c.name != f.case)
                    .map(|c| c.name.clone()),
            )
            .collect();
        set_override(ctx.cfg, ctx.tree, &f.case, |o| {
            for c in &cases {
                o.set_model(c, &new_name);
            }
        })?;
        files.insert(
            0,
            rel(ctx.tree, &ctx.tree.join(&ctx.cfg.baseline.overrides_file)),
        );
        let how = match chosen.key_score {
            Some(k) => format!(
                "score {:.2}: name {:.2}, keys {:.2}",
                chosen.score, chosen.name_score, k
            ),
            None if chosen.score >= 1.0 => "renamed upstream".to_owned(),
            None => format!("name similarity {:.2}", chosen.name_score),
        };
        Ok(Some(AppliedFix {
            strategy: StrategyKind::ModelConfig,
            summary: format!(
                "model config `{name}` is gone; cases {} now use `{new_name}` ({}; {how}); {} wrapper file(s) rewritten",
                cases.join(", "),
                chosen.path,
                files.len() - 1
            ),
            files,
            commit_message: format!("fix(baseline): use model config {new_name} instead of {name}"),
            reduced: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cands() -> Vec<(String, String, Option<Value>)> {
        let vace = json!({"model": {"name": "Vace 14B", "architecture": "vace_14B", "URLs": []}, "prompt": "", "resolution": "832x480"});
        vec![
            (
                "t2v_14B".into(),
                "defaults/t2v_14B.json".into(),
                Some(json!({"model": {"name": "T2V", "architecture": "t2v"}, "prompt": ""})),
            ),
            (
                "vace_14B_v2".into(),
                "defaults/vace_14B_v2.json".into(),
                Some(vace),
            ),
            (
                "flux".into(),
                "defaults/flux.json".into(),
                Some(json!({"model": {"flux": 1}})),
            ),
        ]
    }

    #[test]
    fn picks_the_renamed_config() {
        let old = json!({"model": {"name": "Vace 14B", "architecture": "vace_14B", "URLs": []}, "prompt": "", "resolution": "832x480"});
        let best = closest_config("vace_14B", Some(&old), &cands()).unwrap();
        assert_eq!(best.name, "vace_14B_v2");
        assert_eq!(best.path, "defaults/vace_14B_v2.json");
        assert_eq!(best.key_score, Some(1.0));
        assert!(best.score > 0.9, "{best:?}");
        // Without the old content the name alone decides.
        let best = closest_config("vace_14B", None, &cands()).unwrap();
        assert_eq!(best.name, "vace_14B_v2");
        assert_eq!(best.key_score, None);
    }

    #[test]
    fn refuses_when_nothing_is_close() {
        let err = closest_config("hunyuan_avatar", None, &cands()).unwrap_err();
        assert!(err.contains("no config is close enough"), "{err}");
        let err = closest_config("x", None, &[]).unwrap_err();
        assert!(err.contains("no model configs"), "{err}");
        // Two equally close names: ambiguous.
        let two = vec![
            (
                "vace_14B_a".to_owned(),
                "defaults/vace_14B_a.json".to_owned(),
                None,
            ),
            (
                "vace_14B_b".to_owned(),
                "defaults/vace_14B_b.json".to_owned(),
                None,
            ),
        ];
        let err = closest_config("vace_14B", None, &two).unwrap_err();
        assert!(err.contains("equally close"), "{err}");
    }
}
