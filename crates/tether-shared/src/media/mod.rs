//! Owns decoding the videos and images a baseline case writes (YUV4MPEG2 and
//! PNG natively, other containers through the `ffmpeg` command) into RGB
//! frames, and the checks run on them (frame count, size, frame rate, black,
//! constant, frozen and flickering output).

mod check;
mod ffmpeg;
mod image;
mod y4m;

use std::path::{Path, PathBuf};

pub use check::{
    Expectation, Finding, FindingKind, Severity, Stats, check, expectation_from_params, flicker,
    stats,
};
pub use y4m::{Y4m, Y4mColour, YuvFrame, decode_y4m_yuv, encode_y4m, encode_y4m_yuv};

/// A decoded video (a single image is a one-frame video).
#[derive(Debug, Clone, PartialEq)]
pub struct Video {
    pub width: u32,
    pub height: u32,
    /// Frames per second, when the source says.
    pub fps: Option<f64>,
    pub frames: Vec<Frame>,
}

/// One RGB frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// `[C=3, H, W]` planar (all R, then all G, then all B), values 0..1.
    pub data: Vec<f32>,
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("cannot read media file `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is truncated: only {frames_ok} complete frame(s) before the end of the file", path.display())]
    Truncated { path: PathBuf, frames_ok: u32 },
    #[error("`{}` is not a valid y4m file: {message}", path.display())]
    Y4m { path: PathBuf, message: String },
    #[error(
        "`{}` uses y4m colour space `{colour}`, which tether does not decode (supported: 420jpeg, 420paldv, 420mpeg2, 420, 422, 444, mono)",
        path.display()
    )]
    UnsupportedColour { path: PathBuf, colour: String },
    #[error("cannot decode PNG `{}`", path.display())]
    Png {
        path: PathBuf,
        #[source]
        source: png::DecodingError,
    },
    #[error("ffmpeg not found: install ffmpeg to decode {} outputs (`{}`)", ext_of(path), path.display())]
    FfmpegNotFound { path: PathBuf },
    #[error("cannot run `{tool}` on `{}`", path.display())]
    Process {
        path: PathBuf,
        tool: String,
        #[source]
        source: crate::child::ChildError,
    },
    #[error("`{tool}` failed on `{}`: {message}", path.display())]
    Ffmpeg {
        path: PathBuf,
        tool: String,
        message: String,
    },
    #[error(
        "unsupported media file `{}`: tether decodes .y4m, .png, .mp4, .webm, .mkv, .mov, .avi, .jpg and .jpeg",
        path.display()
    )]
    Unsupported { path: PathBuf },
}

/// Extensions decoded through the `ffmpeg` command.
const FFMPEG_EXTS: &[&str] = &["mp4", "webm", "mkv", "mov", "avi", "jpg", "jpeg"];

/// Decodes a video or image by its extension; logs of any `ffmpeg`/`ffprobe`
/// run (and its temporary raw output) go to `ffmpeg_log_dir`.
pub fn decode(path: &Path, ffmpeg_log_dir: &Path) -> Result<Video, MediaError> {
    let ext = ext_of(path);
    match ext.as_str() {
        "y4m" => y4m::decode_file(path),
        "png" => image::decode_png(path),
        e if FFMPEG_EXTS.contains(&e) => {
            let search = crate::env::var_os(crate::env::PATH).unwrap_or_default();
            ffmpeg::decode_with_path(path, ffmpeg_log_dir, &search)
        }
        _ => Err(MediaError::Unsupported {
            path: path.to_path_buf(),
        }),
    }
}

/// Lower-case extension of `path`, or an empty string.
fn ext_of(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
