//! Checks on a decoded video against what the case asked for (frame count,
//! size, frame rate) and on its content (non-finite values, black, constant,
//! frozen and flickering frames), plus summary statistics.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Frame, Video};

/// Every frame's mean below this: the video is black.
const BLACK_MEAN: f64 = 0.02;
/// A frame whose standard deviation is below this is one flat colour.
const CONSTANT_STD: f64 = 0.002;
/// Consecutive frames closer than this (mean absolute difference) are frozen.
const FROZEN_DIFF: f64 = 0.0005;
/// Largest mean absolute difference between consecutive frames before a
/// flicker warning.
const FLICKER_MAX: f64 = 0.25;
/// Relative frame-rate difference tolerated.
const FPS_TOLERANCE: f64 = 0.01;
/// How many frame indices a finding lists.
const LIST: usize = 5;

/// What the case asked for; `None` is not checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Expectation {
    pub frames: Option<u32>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub fps: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    NoFrames,
    FrameCount,
    Resolution,
    Fps,
    NonFinite,
    AllBlack,
    ConstantFrames,
    FrozenFrames,
    Flicker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Fail,
    Warn,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    pub message: String,
    /// The frames that prove it (indices into the video, in order): the
    /// brightest frame of a black video, the first flat frame, the first
    /// frozen pair, the two frames of the largest flicker. Empty for a
    /// finding about the whole file (and in reports written before it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Mean of [`flicker`] (0 with fewer than two frames).
    pub mean_flicker: f64,
    pub max_flicker: f64,
    /// Mean BT.601 luma (0.299 R + 0.587 G + 0.114 B) over all frames.
    pub mean_luma: f64,
}

/// Runs every check; findings come in a fixed order.
pub fn check(video: &Video, expect: &Expectation) -> Vec<Finding> {
    let mut out = Vec::new();
    // `frames`: the frames that prove the finding (see [`Finding::frames`]).
    let mut push = |kind, severity, message: String, frames: &[usize]| {
        out.push(Finding {
            kind,
            severity,
            message,
            frames: frames.iter().map(|&i| i as u32).collect(),
        })
    };
    let n = video.frames.len();
    if n == 0 {
        push(
            FindingKind::NoFrames,
            Severity::Fail,
            "the video has no frames".to_string(),
            &[],
        );
    }
    if let Some(want) = expect.frames.filter(|&w| w as usize != n) {
        push(
            FindingKind::FrameCount,
            Severity::Fail,
            format!("expected {want} frames, got {n}"),
            &[],
        );
    }
    let size_off = expect.width.is_some_and(|w| w != video.width)
        || expect.height.is_some_and(|h| h != video.height);
    if size_off {
        let dim = |d: Option<u32>| d.map_or("?".to_string(), |d| d.to_string());
        push(
            FindingKind::Resolution,
            Severity::Fail,
            format!(
                "expected {}x{}, got {}x{}",
                dim(expect.width),
                dim(expect.height),
                video.width,
                video.height
            ),
            &[],
        );
    }
    let fps_off =
        |(want, got): &(f64, f64)| *want > 0.0 && ((got - want) / want).abs() > FPS_TOLERANCE;
    if let Some((want, got)) = expect.fps.zip(video.fps).filter(fps_off) {
        push(
            FindingKind::Fps,
            Severity::Warn,
            format!("expected {want} fps, got {got:.3} fps"),
            &[],
        );
    }
    if n == 0 {
        return out;
    }

    let non_finite: usize = video
        .frames
        .iter()
        .map(|f| f.data.iter().filter(|v| !v.is_finite()).count())
        .sum();
    if non_finite > 0 {
        push(
            FindingKind::NonFinite,
            Severity::Fail,
            format!("{non_finite} pixel values are NaN or infinite"),
            &[],
        );
    }

    let moments: Vec<(f64, f64)> = video.frames.iter().map(mean_std).collect();
    let (brightest_at, brightest) =
        moments
            .iter()
            .map(|m| m.0)
            .enumerate()
            .fold(
                (0, 0.0),
                |best, (i, m)| if m > best.1 { (i, m) } else { best },
            );
    if brightest < BLACK_MEAN {
        push(
            FindingKind::AllBlack,
            Severity::Fail,
            format!(
                "all {n} frames are black (brightest frame mean {brightest:.4} < {BLACK_MEAN})"
            ),
            &[brightest_at],
        );
    }
    let constant: Vec<usize> = (0..n).filter(|&i| moments[i].1 < CONSTANT_STD).collect();
    if !constant.is_empty() {
        // Every frame flat is a broken generator; a few flat frames (a fade)
        // are worth a look.
        let severity = if constant.len() == n {
            Severity::Fail
        } else {
            Severity::Warn
        };
        push(
            FindingKind::ConstantFrames,
            severity,
            format!(
                "{} of {n} frames are a single flat colour (std < {CONSTANT_STD}), first: {}",
                constant.len(),
                list(&constant)
            ),
            &constant[..1],
        );
    }

    let diffs = flicker(video);
    let frozen: Vec<usize> = (0..diffs.len())
        .filter(|&i| diffs[i] < FROZEN_DIFF)
        .collect();
    if let Some(&first) = frozen.first() {
        // A video whose every frame is the same is a still image: broken.
        let severity = if frozen.len() == diffs.len() {
            Severity::Fail
        } else {
            Severity::Warn
        };
        push(
            FindingKind::FrozenFrames,
            severity,
            format!(
                "{} of {} consecutive frame pairs are frozen (mean abs diff < {FROZEN_DIFF}), first at frame {first} -> {}",
                frozen.len(),
                diffs.len(),
                first + 1
            ),
            &[first, first + 1],
        );
    }
    let s = stats(video);
    if s.max_flicker > FLICKER_MAX {
        let at = diffs.iter().position(|&d| d == s.max_flicker).unwrap_or(0);
        push(
            FindingKind::Flicker,
            Severity::Warn,
            format!(
                "flicker {:.4} between frames {at} and {} (limit {FLICKER_MAX}, mean {:.4})",
                s.max_flicker,
                at + 1,
                s.mean_flicker
            ),
            &[at, at + 1],
        );
    }
    out
}

/// Mean absolute difference between each frame and the next (non-finite
/// values skipped); one value fewer than there are frames.
pub fn flicker(video: &Video) -> Vec<f64> {
    video
        .frames
        .windows(2)
        .map(|pair| {
            let (sum, count) = pair[0]
                .data
                .iter()
                .zip(&pair[1].data)
                .map(|(&a, &b)| f64::from(a) - f64::from(b))
                .filter(|d| d.is_finite())
                .fold((0.0, 0usize), |(s, c), d| (s + d.abs(), c + 1));
            if count == 0 { 0.0 } else { sum / count as f64 }
        })
        .collect()
}

pub fn stats(video: &Video) -> Stats {
    let diffs = flicker(video);
    let mean_flicker = if diffs.is_empty() {
        0.0
    } else {
        diffs.iter().sum::<f64>() / diffs.len() as f64
    };
    let max_flicker = diffs.iter().copied().fold(0.0, f64::max);
    let plane = video.width as usize * video.height as usize;
    let (mut sum, mut count) = (0.0, 0usize);
    for f in &video.frames {
        if f.data.len() < 3 * plane {
            continue;
        }
        for i in 0..plane {
            let (r, g, b) = (f.data[i], f.data[plane + i], f.data[2 * plane + i]);
            let y = 0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b);
            if y.is_finite() {
                sum += y;
                count += 1;
            }
        }
    }
    Stats {
        mean_flicker,
        max_flicker,
        mean_luma: if count == 0 { 0.0 } else { sum / count as f64 },
    }
}

/// Builds an expectation from case parameters: `length_param` (e.g.
/// `video_length`) gives the frame count, `resolution_param` (e.g.
/// `"832x480"`) the size, and an `fps` parameter, if present, the frame rate.
/// Numbers may be given as JSON numbers or strings; unreadable ones are left
/// unchecked.
pub fn expectation_from_params(
    params: &Map<String, Value>,
    length_param: &str,
    resolution_param: &str,
) -> Expectation {
    let number = |key: &str| -> Option<f64> {
        match params.get(key)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    };
    let frames = number(length_param)
        .filter(|v| v.fract() == 0.0 && *v >= 0.0 && *v <= f64::from(u32::MAX))
        .map(|v| v as u32);
    let (width, height) = params
        .get(resolution_param)
        .and_then(Value::as_str)
        .and_then(|s| {
            let (w, h) = s.trim().split_once(['x', 'X', '*'])?;
            Some((w.trim().parse().ok()?, h.trim().parse().ok()?))
        })
        .map_or((None, None), |(w, h)| (Some(w), Some(h)));
    Expectation {
        frames,
        width,
        height,
        fps: number("fps").filter(|f| *f > 0.0),
    }
}

/// Mean and standard deviation of a frame's finite values.
fn mean_std(frame: &Frame) -> (f64, f64) {
    let (mut sum, mut sq, mut count) = (0.0, 0.0, 0usize);
    for v in frame
        .data
        .iter()
        .map(|&v| f64::from(v))
        .filter(|v| v.is_finite())
    {
        sum += v;
        sq += v * v;
        count += 1;
    }
    if count == 0 {
        return (0.0, 0.0);
    }
    let mean = sum / count as f64;
    (mean, (sq / count as f64 - mean * mean).max(0.0).sqrt())
}

/// The first few indices, comma separated.
fn list(indices: &[usize]) -> String {
    let shown: Vec<String> = indices.iter().take(LIST).map(|i| i.to_string()).collect();
    let more = if indices.len() > LIST { ", ..." } else { "" };
    format!("{}{more}", shown.join(", "))
}
