//! Decoding through the `ffmpeg` and `ffprobe` commands (mp4, webm, mkv, mov,
//! avi, jpeg): `ffprobe` gives the size and frame rate, `ffmpeg` writes raw
//! RGB24 frames to a temporary file next to its logs, which is read and then
//! removed.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::child::{ProcessSpec, run};

use super::{Frame, MediaError, Video, ext_of};

const TIMEOUT: Duration = Duration::from_secs(120);
const GRACE: Duration = Duration::from_secs(2);
const MAX_LOG: u64 = 1024 * 1024;

/// Finds `name` as an executable file in the directories of `search` (a
/// `PATH`-style list).
pub(super) fn find_on_path(name: &str, search: &OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(search)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|p| {
            fs_err::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Decodes `path` with the `ffmpeg`/`ffprobe` found in `search`.
pub(super) fn decode_with_path(
    path: &Path,
    log_dir: &Path,
    search: &OsStr,
) -> Result<Video, MediaError> {
    let not_found = || MediaError::FfmpegNotFound {
        path: path.to_path_buf(),
    };
    let ffmpeg = find_on_path("ffmpeg", search).ok_or_else(not_found)?;
    let ffprobe = find_on_path("ffprobe", search).ok_or_else(not_found)?;
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| MediaError::Io { path: p, source }
    };
    crate::files::create_private_dir(log_dir).map_err(io(log_dir))?;
    let stem = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "media".to_string());
    let input = path.to_string_lossy().into_owned();

    let probe_out = tool(
        &ffprobe,
        &[
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height,r_frame_rate",
            "-of",
            "json",
            &input,
        ],
        path,
        log_dir,
        &format!("{stem}.ffprobe"),
    )?;
    let probe = fs_err::read_to_string(&probe_out).map_err(io(&probe_out))?;
    let (width, height, fps) = parse_probe(&probe).ok_or_else(|| MediaError::Ffmpeg {
        path: path.to_path_buf(),
        tool: "ffprobe".to_string(),
        message: format!("no video stream size in its output: {}", probe.trim()),
    })?;

    let raw = log_dir.join(format!("{stem}.rgb"));
    let raw_arg = raw.to_string_lossy().into_owned();
    tool(
        &ffmpeg,
        &[
            "-v", "error", "-nostdin", "-y", "-i", &input, "-f", "rawvideo", "-pix_fmt", "rgb24",
            &raw_arg,
        ],
        path,
        log_dir,
        &format!("{stem}.ffmpeg"),
    )?;
    let bytes = fs_err::read(&raw).map_err(io(&raw))?;
    let _ = fs_err::remove_file(&raw);
    let frame_len = width as usize * height as usize * 3;
    if bytes.len() % frame_len != 0 {
        return Err(MediaError::Ffmpeg {
            path: path.to_path_buf(),
            tool: "ffmpeg".to_string(),
            message: format!(
                "wrote {} bytes, not a whole number of {width}x{height} RGB frames",
                bytes.len()
            ),
        });
    }
    let plane = frame_len / 3;
    let frames = bytes
        .chunks_exact(frame_len)
        .map(|chunk| {
            let mut data = vec![0f32; frame_len];
            for (i, px) in chunk.chunks_exact(3).enumerate() {
                for c in 0..3 {
                    data[c * plane + i] = f32::from(px[c]) / 255.0;
                }
            }
            Frame { data }
        })
        .collect();
    let still = matches!(ext_of(path).as_str(), "jpg" | "jpeg");
    Ok(Video {
        width,
        height,
        fps: if still { None } else { fps },
        frames,
    })
}

/// Runs one tool with stdout/stderr logged under `log_dir/<name>.stdout.log`
/// and `.stderr.log`; returns the stdout log's path.
fn tool(
    program: &Path,
    args: &[&str],
    path: &Path,
    log_dir: &Path,
    name: &str,
) -> Result<PathBuf, MediaError> {
    let tool_name = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut argv = vec![program.to_string_lossy().into_owned()];
    argv.extend(args.iter().map(|a| a.to_string()));
    let spec = ProcessSpec {
        argv,
        cwd: log_dir.to_path_buf(),
        env: Vec::new(),
        timeout: TIMEOUT,
        grace: GRACE,
        stdout_path: log_dir.join(format!("{name}.stdout.log")),
        stderr_path: log_dir.join(format!("{name}.stderr.log")),
        max_log_bytes: MAX_LOG,
        cancel: None,
    };
    let outcome = run(&spec, &mut || {}).map_err(|source| MediaError::Process {
        path: path.to_path_buf(),
        tool: tool_name.clone(),
        source,
    })?;
    if !outcome.exit.success() {
        return Err(MediaError::Ffmpeg {
            path: path.to_path_buf(),
            tool: tool_name,
            message: format!("{}: {}", outcome.exit, outcome.stderr_tail.trim()),
        });
    }
    Ok(spec.stdout_path)
}

/// Width, height and frame rate from `ffprobe -of json` output.
fn parse_probe(json: &str) -> Option<(u32, u32, Option<f64>)> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let stream = v.get("streams")?.get(0)?;
    let width = u32::try_from(stream.get("width")?.as_u64()?).ok()?;
    let height = u32::try_from(stream.get("height")?.as_u64()?).ok()?;
    if width == 0 || height == 0 {
        return None;
    }
    let fps = stream
        .get("r_frame_rate")
        .and_then(|r| r.as_str())
        .and_then(|r| r.split_once('/'))
        .and_then(|(n, d)| Some((n.parse::<f64>().ok()?, d.parse::<f64>().ok()?)))
        .filter(|&(n, d)| n > 0.0 && d > 0.0)
        .map(|(n, d)| n / d);
    Some((width, height, fps))
}
