//! Owns `baseline_report.html`: the run (cases, verdicts, plots, frames
//! side by side) and each case's trend across the recorded history, every
//! `results.json` in the outputs dir: duration, peak VRAM and mean SSIM,
//! with the limits drawn as lines. A long history shows its newest
//! [`super::plot::TREND_WINDOW`] runs.

use std::path::Path;

use maud::{Markup, html};

use super::plot::{Chart, Level, Series, TREND_WINDOW, svg, window_start};
use super::run::section;
use crate::baseline::{BaselineRun, CaseComparison, CaseResult, Comparison};
use crate::document::HtmlFile;

/// The run's page and its images; `history_dir` is searched for the
/// `results.json` of earlier runs (one folder deep).
pub fn page(
    run: &BaselineRun,
    comparisons: &[CaseComparison],
    history_dir: Option<&Path>,
) -> HtmlFile {
    let s = section("run", run, comparisons);
    let (mut history, unreadable) = history_dir.map(read_history).unwrap_or_default();
    if !history.iter().any(|h| h.run_id == run.run_id) {
        history.push(run.clone());
    }
    history.sort_by_key(|h| h.started);
    let body = html! {
        h1 { "Baseline report: run " code { (run.run_id) } }
        p class="outcome" {
            @if run.passed() { "Every case passed." }
            @else { (run.failing().len()) " of " (run.cases.len()) " case(s) did not pass." }
        }
        (s.markup)
        h2 { "Trends" }
        (trends(run, comparisons, &history, unreadable))
    };
    HtmlFile {
        name: "baseline_report.html",
        text: super::page(&format!("Baseline report: {}", run.run_id), body),
        assets: s.assets,
    }
}

/// The trend plots of every case of the newest run recorded under `dir`
/// (the dashboard's): the same plots as a baseline page, with the limits a
/// run's own comparison gives left out.
pub(crate) fn history_trends(dir: &Path) -> Markup {
    let (mut history, unreadable) = read_history(dir);
    history.sort_by_key(|h| h.started);
    match history.last() {
        Some(newest) => trends(newest, &[], &history, unreadable),
        None => html! { p { "No baseline run recorded yet." } },
    }
}

/// Every readable `*/results.json` under `dir`, and how many could not be read.
fn read_history(dir: &Path) -> (Vec<BaselineRun>, usize) {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return (Vec::new(), 0);
    };
    let mut runs = Vec::new();
    let mut bad = 0;
    for e in entries.flatten() {
        let file = e.path().join("results.json");
        let Ok(text) = fs_err::read_to_string(&file) else {
            continue;
        };
        match serde_json::from_str::<BaselineRun>(&text) {
            Ok(r) => runs.push(r),
            Err(error) => {
                tracing::debug!(file = %file.display(), %error, "results.json not in the trend");
                bad += 1;
            }
        }
    }
    (runs, bad)
}

fn mean_ssim(c: &CaseResult) -> Option<f64> {
    let v: Vec<f64> = c
        .quality
        .iter()
        .filter_map(|q| q.report.as_ref()?.quality.as_ref()?.mean_ssim)
        .collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn trends(
    run: &BaselineRun,
    comparisons: &[CaseComparison],
    history: &[BaselineRun],
    unreadable: usize,
) -> Markup {
    let start = window_start(history.len());
    let shown = &history[start..];
    html! {
        p {
            (history.len()) " run(s) recorded"
            @if start > 0 { "; the plots show the newest " (TREND_WINDOW) " (run numbers count from the oldest)" }
            @if unreadable > 0 { "; " (unreadable) " results.json file(s) could not be read and are left out" }
            "."
        }
        @for c in &run.cases {
            @let points = |f: &dyn Fn(&CaseResult) -> Option<f64>| -> Vec<(f64, f64)> {
                shown.iter().enumerate().filter_map(|(i, h)| {
                    h.cases.iter().find(|x| x.name == c.name).and_then(f).map(|v| ((start + i) as f64, v))
                }).collect()
            };
            @let reference = comparisons.iter().find(|x| x.case == c.name).and_then(|x| match &x.comparison {
                Comparison::Compared { duration_ratio, vram_ratio, .. } => Some((*duration_ratio, *vram_ratio)),
                Comparison::New { .. } => None,
            });
            h3 { "Case " code { (c.name) } }
            (svg(&Chart {
                title: "Duration (s)", x_label: "run", y_label: "seconds",
                series: vec![Series { name: &c.name, points: points(&|x| Some(x.duration_s)) }],
                levels: reference.filter(|r| r.0 > 0.0).map(|r| Level {
                    name: "duration limit", y: c.duration_s / r.0 * c.thresholds.max_duration_ratio,
                }).into_iter().collect(),
            }))
            (svg(&Chart {
                title: "Peak VRAM (GiB)", x_label: "run", y_label: "GiB",
                series: vec![Series { name: &c.name, points: points(&|x| x.peak_vram.bytes().map(|b| b as f64 / (1u64 << 30) as f64)) }],
                levels: reference.and_then(|r| Some((r.1?, c.peak_vram.bytes()?))).filter(|(v, _)| *v > 0.0).map(|(v, b)| Level {
                    name: "VRAM limit", y: b as f64 / (1u64 << 30) as f64 / v * c.thresholds.max_vram_ratio,
                }).into_iter().collect(),
            }))
            (svg(&Chart {
                title: "Mean SSIM", x_label: "run", y_label: "SSIM",
                series: vec![Series { name: &c.name, points: points(&mean_ssim) }],
                levels: vec![Level { name: "min mean SSIM", y: c.thresholds.min_mean_ssim }],
            }))
        }
    }
}
