//! The live wrapper's last baseline results per case and their trend, read
//! from the `results.json` of recent runs under the outputs dir. Only runs
//! of the live wrapper count (`tether baseline run`, the service's baseline
//! job): the staged candidates of an update or a bisect are tested because
//! they may fail, so their runs are counted apart, never judged here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::baseline::{BaselineRun, CaseStatus, RanOn};
use crate::config::Config;

/// Runs kept per case.
const KEEP: usize = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunPoint {
    pub run_id: String,
    pub at: jiff::Timestamp,
    /// Spelt as in `results.json` (`timed_out`).
    pub status: CaseStatus,
    pub duration_s: f64,
    pub peak_vram_bytes: Option<u64>,
    /// Lowest mean SSIM of its outputs against the reference, when compared.
    pub mean_ssim: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseTrend {
    pub case: String,
    /// Oldest first, at most five.
    pub runs: Vec<RunPoint>,
    /// The last run's duration over the median of the ones before it.
    pub duration_trend: Option<f64>,
}

/// The live wrapper's trend per case, and how many runs of staged
/// candidates (updates, bisects, `--staged` trees) were left out.
pub fn trends(cfg: &Config) -> (Vec<CaseTrend>, usize) {
    let mut not_live = 0;
    let mut runs: Vec<BaselineRun> = Vec::new();
    for found in results_files(&cfg.project.outputs_dir) {
        let Some(run) = fs_err::read_to_string(&found.path)
            .ok()
            .and_then(|t| serde_json::from_str::<BaselineRun>(&t).ok())
        else {
            continue;
        };
        if ran_on(&run, found.update.as_deref(), &cfg.project.root).is_live() {
            runs.push(run);
        } else {
            not_live += 1;
        }
    }
    runs.sort_by_key(|r| r.finished);
    let mut by_case: BTreeMap<String, Vec<RunPoint>> = BTreeMap::new();
    for run in &runs {
        // cases a shutdown or Ctrl-C stopped say nothing about the stack
        for c in run
            .cases
            .iter()
            .filter(|c| c.exit != Some(crate::process::Exit::Cancelled))
            .filter(|c| {
                !(c.exit.is_none() && c.error.as_deref().is_some_and(|e| e.contains("cancelled")))
            })
        {
            let mean_ssim = c
                .quality
                .iter()
                .filter_map(|q| q.report.as_ref()?.quality.as_ref()?.mean_ssim)
                .reduce(f64::min);
            by_case.entry(c.name.clone()).or_default().push(RunPoint {
                run_id: run.run_id.clone(),
                at: run.finished,
                status: c.status,
                duration_s: c.duration_s,
                peak_vram_bytes: c.peak_vram.bytes(),
                mean_ssim,
            });
        }
    }
    let trends = by_case
        .into_iter()
        .map(|(case, mut points)| {
            let skip = points.len().saturating_sub(KEEP);
            points.drain(..skip);
            let duration_trend = match points.split_last() {
                Some((last, before)) if !before.is_empty() => {
                    let mut d: Vec<f64> = before.iter().map(|p| p.duration_s).collect();
                    d.sort_by(f64::total_cmp);
                    let median = d[d.len() / 2];
                    (median > 0.0).then(|| last.duration_s / median)
                }
                _ => None,
            };
            CaseTrend {
                case,
                runs: points,
                duration_trend,
            }
        })
        .collect();
    (trends, not_live)
}

/// What `run` ran on: as recorded, or, in a `results.json` written before
/// tether recorded it, inferred: a run inside an `update-<id>` folder is that
/// update's candidate, and any other run counts as live only when its tree
/// is the live wrapper's root (a staged clone lives under the state dir).
fn ran_on(run: &BaselineRun, update: Option<&str>, root: &Path) -> RanOn {
    if let Some(r) = &run.ran_on {
        return r.clone();
    }
    if let Some(id) = update {
        return RanOn::UpdateCandidate {
            update: id.to_owned(),
        };
    }
    let same = |a: &Path, b: &Path| match (fs_err::canonicalize(a), fs_err::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if same(&run.tree, root) {
        RanOn::Live
    } else {
        RanOn::Staged
    }
}

/// A `results.json`, and the update whose folder holds it.
struct Found {
    path: PathBuf,
    /// `<id>` of the `update-<id>` folder it is in.
    update: Option<String>,
}

/// `<outputs>/*/results.json` and `<outputs>/update-*/*/results.json`.
fn results_files(outputs: &Path) -> Vec<Found> {
    let mut out = Vec::new();
    let Ok(rd) = fs_err::read_dir(outputs) else {
        return out;
    };
    for e in rd.filter_map(Result::ok) {
        let dir = e.path();
        if fs_err::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink()) {
            continue;
        }
        let f = dir.join("results.json");
        if f.is_file() {
            out.push(Found {
                path: f,
                update: None,
            });
        }
        let update = dir.file_name().and_then(|n| {
            n.to_string_lossy()
                .strip_prefix("update-")
                .map(str::to_owned)
        });
        if let Some(id) = update
            && let Ok(inner) = fs_err::read_dir(&dir)
        {
            for i in inner.filter_map(Result::ok) {
                let f = i.path().join("results.json");
                if f.is_file() {
                    out.push(Found {
                        path: f,
                        update: Some(id.clone()),
                    });
                }
            }
        }
    }
    out
}
