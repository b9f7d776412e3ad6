//! Turns a parsed [`RawConfig`] into a [`Config`]: applies the defaults
//! (`super::defaults`), resolves paths against the config file's folder, and
//! checks the rules that relate keys to each other (required keys, names
//! that must differ, keys that only some cases take). Single values were
//! already checked while parsing (`super::value`). Every problem is
//! collected, with its dotted key, before failing. One file per section.

mod analysis;
mod baseline;
mod canary;
mod fix;
mod gpu;
mod group;
mod integration;
mod project;
mod schedule;
mod service;
mod slurm;
mod update;
mod upstream;

use std::path::{Component, Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::model::Config;
use super::raw::RawConfig;

/// One thing wrong with a config, named by its dotted key.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

/// The problems found so far.
#[derive(Debug, Default)]
pub(super) struct Problems(Vec<Problem>);

impl Problems {
    pub(super) fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }

    fn count(&self) -> usize {
        self.0.len()
    }
}

pub fn validate(raw: RawConfig, base: &Path) -> Result<Config, Vec<Problem>> {
    let mut p = Problems::default();
    let upstreams = upstream::upstreams(raw.upstream, &mut p);
    let config = Config {
        source: None,
        project: project::project(raw.project, base),
        groups: group::groups(raw.group, &upstreams, &mut p),
        upstreams,
        integration: integration::integration(raw.integration, &mut p),
        analysis: analysis::analysis(raw.analysis, &mut p),
        baseline: baseline::baseline(raw.baseline, base, &mut p),
        update: update::update(raw.update, &mut p),
        fix: fix::fix(raw.fix, base),
        gpu: gpu::gpu(raw.gpu, base),
        schedule: schedule::schedule(raw.schedule),
        service: service::service(raw.service),
        slurm: slurm::slurm(raw.slurm, base, &mut p),
        escalation: service::escalation(raw.escalation),
    };
    slurm::needs_shared_dir(&config, &mut p);
    if p.0.is_empty() { Ok(config) } else { Err(p.0) }
}

/// The strings of a list of globs, or the default list.
fn glob_strings<T: std::fmt::Display>(list: &Option<Vec<T>>, default: &[&str]) -> Vec<String> {
    match list {
        Some(l) => l.iter().map(ToString::to_string).collect(),
        None => default.iter().map(|s| s.to_string()).collect(),
    }
}

/// Compiles globs into one set; a glob that does not compile is a problem
/// at `key[j]`.
fn glob_set(p: &mut Problems, key: &str, globs: &[String]) -> GlobSet {
    let mut b = GlobSetBuilder::new();
    for (j, g) in globs.iter().enumerate() {
        match Glob::new(g) {
            Ok(g) => {
                b.add(g);
            }
            Err(e) => p.add(format!("{key}[{j}]"), format!("bad glob `{g}`: {e}")),
        }
    }
    b.build().unwrap_or_else(|e| {
        p.add(key, format!("bad globs: {e}"));
        GlobSet::empty()
    })
}

/// `p` against `base` when relative, normalised.
fn resolve(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    normalize_path(&joined)
}

/// Removes `.` and folds `..` without touching the filesystem.
pub fn normalize_path(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}
