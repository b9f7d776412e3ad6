//! Owns a baseline run's part of a page, shared by the update, baseline and
//! bisect pages: the case table, each case's verdict against its reference,
//! and for every analysed output its findings, its SSIM and PSNR per frame
//! as a plot, and its frames side by side; the frames that prove a frozen,
//! black or flickering finding; a canary's latency and error.

use std::path::Path;

use maud::{Markup, html};

use super::frames::{self, Shown};
use super::plot::{Chart, Level, Series, svg};
use crate::baseline::{
    BaselineRun, CaseComparison, CaseResult, CaseStatus, Comparison, OutputQuality, Reference,
};
use crate::document::Asset;
use crate::media::Severity;

/// A run section with the images it links to.
pub struct Section {
    pub markup: Markup,
    pub assets: Vec<Asset>,
}

/// The run `run` (`key` tells its images from another run's on the page),
/// with its cases' verdicts in `comparisons`.
pub fn section(key: &str, run: &BaselineRun, comparisons: &[CaseComparison]) -> Section {
    let mut assets = Vec::new();
    let cases: Vec<Markup> = run
        .cases
        .iter()
        .map(|c| {
            case(
                key,
                c,
                comparisons
                    .iter()
                    .find(|x| x.case == c.name && x.target == c.target),
                &mut assets,
            )
        })
        .collect();
    let markup = html! {
        p { "Run " code { (run.run_id) } ", " (super::date(run.started)) " to " (super::date(run.finished)) "." }
        table {
            tr { th { "case" } th { "model" } th { "status" } th { "duration" } th { "peak VRAM" } th { "verdict" } th { "error" } }
            @for c in &run.cases {
                @let verdict = comparisons.iter().find(|x| x.case == c.name && x.target == c.target);
                tr {
                    td { (c.label()) } td { (c.model) }
                    td class=(status_class(c.status)) { (c.status.as_str()) }
                    td { (format!("{:.1}s", c.duration_s)) }
                    td { (c.peak_vram.bytes().map_or("unavailable".into(), super::gib)) }
                    td { (verdict.map_or("", |v| v.verdict.as_str())) }
                    td { (c.error.as_deref().unwrap_or("")) }
                }
            }
        }
        @for c in cases { (c) }
    };
    Section { markup, assets }
}

fn status_class(s: CaseStatus) -> &'static str {
    match s {
        CaseStatus::Passed => "good",
        _ => "bad",
    }
}

fn case(
    key: &str,
    c: &CaseResult,
    cmp: Option<&CaseComparison>,
    assets: &mut Vec<Asset>,
) -> Markup {
    if c.quality.is_empty() && c.canary.is_none() && cmp.is_none_or(|x| !x.is_regression()) {
        return html! {};
    }
    let reference = cmp.and_then(|x| match &x.comparison {
        Comparison::Compared { reference, .. } => Some(reference.as_path()),
        Comparison::New { .. } => None,
    });
    html! {
        h3 { "Case " code { (c.label()) } }
        @if let Some(Comparison::Compared { regressions, duration_ratio, vram_ratio, .. }) = cmp.map(|x| &x.comparison) {
            p {
                "Against its reference: duration x" (format!("{duration_ratio:.2}"))
                @if let Some(v) = vram_ratio { ", peak VRAM x" (format!("{v:.2}")) }
                "."
            }
            @if !regressions.is_empty() {
                ul { @for r in regressions { li class="bad" { (r) } } }
            }
        }
        @if let Some(Comparison::New { .. }) = cmp.map(|x| &x.comparison) {
            p { "No reference for this case on this hardware yet." }
        }
        @for (i, q) in c.quality.iter().enumerate() {
            (output(&format!("{key}-{}-{i}", frames::slug(&c.label())), q, c.thresholds.min_mean_ssim, reference, assets))
        }
        @if let Some(canary) = &c.canary {
            (canary_part(canary))
        }
    }
}

fn output(
    slug: &str,
    q: &OutputQuality,
    min_ssim: f64,
    reference_json: Option<&Path>,
    assets: &mut Vec<Asset>,
) -> Markup {
    let Some(report) = &q.report else {
        return html! {
            h4 { "Output " code { (q.path) } }
            p class="bad" { "Not analysed: " (q.error.as_deref().unwrap_or("no report")) }
        };
    };
    let ssim: &[f64] = report.quality.as_ref().map_or(&[], |x| &x.ssim);
    let stored = q.frames_file.as_deref().map(|f| (f, frames::read(f)));
    let stored_ok = stored.as_ref().and_then(|(_, r)| r.as_ref().ok());
    html! {
        h4 { "Output " code { (q.path) } }
        p { (report.frames) " frame(s) of " (report.width) "x" (report.height)
            @if let Some(m) = report.quality.as_ref().and_then(|x| x.mean_ssim) { "; mean SSIM " (format!("{m:.4}")) } }
        @if !report.findings.is_empty() {
            ul { @for f in &report.findings {
                li {
                    span class=(if f.severity == Severity::Fail { "bad" } else { "warn" }) { (format!("{:?}", f.severity)) ": " (f.message) }
                    (proof(slug, &f.frames, stored_ok, assets))
                }
            } }
        }
        @if let Some(quality) = &report.quality {
            @if let Some(m) = &quality.mismatch { p class="warn" { "Not compared: " (m) } }
            (svg(&Chart {
                title: "SSIM per frame",
                x_label: "frame",
                y_label: "SSIM",
                series: vec![Series { name: &q.path, points: indexed(quality.ssim.iter().map(|s| Some(*s))) }],
                levels: vec![Level { name: "min mean SSIM", y: min_ssim }],
            }))
            @if quality.psnr_db.iter().all(Option::is_none) && !quality.ssim.is_empty() {
                p { "PSNR: every compared frame is identical to the reference's." }
            } @else {
            (svg(&Chart {
                title: "PSNR per frame (dB)",
                x_label: "frame",
                y_label: "PSNR dB",
                series: vec![Series { name: &q.path, points: indexed(quality.psnr_db.iter().copied()) }],
                levels: vec![],
            }))
            }
        }
        (side_by_side(slug, q, stored, ssim, reference_json, assets))
    }
}

/// The frames that prove a finding (frozen, black, flickering), as
/// thumbnails of the stored frames; nothing when there are none to show.
fn proof(
    slug: &str,
    indices: &[u32],
    stored: Option<&frames::Frames>,
    assets: &mut Vec<Asset>,
) -> Markup {
    let Some(new) = stored.filter(|_| !indices.is_empty()) else {
        return html! {};
    };
    let mut shown = Vec::new();
    let mut missing = Vec::new();
    for &i in indices {
        match frames::frame_png(slug, new, i as usize) {
            Ok(asset) => {
                shown.push((i, asset.name.clone()));
                if !assets.iter().any(|a| a.name == asset.name) {
                    assets.push(asset);
                }
            }
            Err(e) => missing.push(format!("frame {i}: {e}")),
        }
    }
    html! {
        @if !shown.is_empty() {
            div class="frames" { @for (i, src) in &shown {
                figure {
                    figcaption { "frame " (i) }
                    img src=(src) width=(new.width) height=(new.height) alt={ "frame " (i) };
                }
            } }
        }
        @for m in &missing { p class="missing" { (m) } }
    }
}

fn indexed(values: impl Iterator<Item = Option<f64>>) -> Vec<(f64, f64)> {
    values
        .enumerate()
        .filter_map(|(i, v)| v.filter(|v| v.is_finite()).map(|v| (i as f64, v)))
        .collect()
}

/// The reference's stored frames of output `path`, or why there are none.
fn reference_frames(json: &Path, path: &str) -> Result<frames::Frames, String> {
    let text = fs_err::read_to_string(json).map_err(|e| format!("reference: {e}"))?;
    let reference: Reference =
        serde_json::from_str(&text).map_err(|e| format!("reference `{}`: {e}", json.display()))?;
    let file = reference
        .frames_for(json, path)
        .ok_or_else(|| format!("the reference `{}` keeps no frames of it", json.display()))?;
    frames::read(&file).map_err(|e| format!("the reference's frames `{}`: {e}", file.display()))
}

fn side_by_side(
    slug: &str,
    q: &OutputQuality,
    stored: Option<(&Path, Result<frames::Frames, String>)>,
    ssim: &[f64],
    reference_json: Option<&Path>,
    assets: &mut Vec<Asset>,
) -> Markup {
    let Some((file, new)) = stored else {
        return html! { p class="missing" { "No stored frames of this output." } };
    };
    let new = match new {
        Ok(f) => f,
        Err(e) => {
            return html! { p class="missing" { "Stored frames " code { (file.display()) } " unusable: " (e) } };
        }
    };
    let (reference, missing) = match reference_json.map(|j| reference_frames(j, &q.path)) {
        None => (None, None),
        Some(Ok(f)) => (Some(f), None),
        Some(Err(e)) => (None, Some(e)),
    };
    match frames::thumbnails(slug, &new, reference.as_ref(), ssim) {
        Err(e) => html! { p class="missing" { "Thumbnails could not be written: " (e) } },
        Ok((images, shown)) => {
            for a in images {
                if !assets.iter().any(|x| x.name == a.name) {
                    assets.push(a);
                }
            }
            html! {
                @if let Some(m) = missing { p class="missing" { "No reference frames: " (m) } }
                div class="frames" { @for s in &shown { (figure(s, new.width, new.height)) } }
            }
        }
    }
}

fn figure(s: &Shown, w: usize, h: usize) -> Markup {
    html! {
        figure {
            figcaption {
                "frame " (s.index) @if let Some(x) = s.ssim { ", SSIM " (format!("{x:.4}")) }
                @if s.reference.is_some() { br; "reference, new" @if s.diff.is_some() { ", difference" } }
            }
            @if let Some(r) = &s.reference { img src=(r) width=(w) height=(h) alt={ "reference frame " (s.index) }; }
            img src=(s.new) width=(w) height=(h) alt={ "new frame " (s.index) };
            @if let Some(d) = &s.diff { img src=(d) width=(w) height=(h) alt={ "difference of frame " (s.index) }; }
        }
    }
}

fn canary_part(c: &crate::baseline::CanaryOutcome) -> Markup {
    let Some(report) = &c.report else {
        return html! { p class="bad" { "The canary did not run." } };
    };
    let errors: Vec<(f64, f64)> = report
        .comparison
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, d)| d.max_abs_error.map(|e| (i as f64, e)))
        .collect();
    html! {
        p { "Canary " code { (c.module.display()) } ": median latency " (format!("{:.2} ms", report.median_latency_ms))
            ", max abs error " (format!("{:.3e}", c.max_abs_error)) ", min cosine " (format!("{:.6}", c.min_cosine)) "." }
        (svg(&Chart {
            title: "Canary latency per iteration (ms)",
            x_label: "iteration",
            y_label: "ms",
            series: vec![Series { name: "latency", points: indexed(report.latency_ms.iter().map(|v| Some(*v))) }],
            levels: vec![Level { name: "median", y: report.median_latency_ms }],
        }))
        @if !errors.is_empty() {
            (svg(&Chart {
                title: "Canary max abs error per output",
                x_label: "output",
                y_label: "max abs error",
                series: vec![Series { name: "max abs error", points: errors }],
                levels: vec![],
            }))
        }
    }
}
