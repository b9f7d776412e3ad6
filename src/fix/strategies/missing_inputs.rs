//! The missing-inputs family: a case names an input file that does not
//! exist; copy a same-named sample from `fix.samples_dir`, or write one:
//! a YUV4MPEG2 video or a PNG tether makes itself, other formats through
//! `ffmpeg` when it is on PATH. Never writes outside the staged tree or the
//! case's output folder.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use super::{AppliedFix, FixContext, Strategy, case_geometry, rel, write_file};
use crate::config::StrategyKind;
use crate::fix::classify::{Failure, FailureClass};
use crate::fix::error::FixError;
use crate::fix::media;
use crate::process::{ProcessSpec, run};

pub struct MissingInputs;

const VIDEO_EXT: [&str; 7] = ["mp4", "mkv", "mov", "avi", "webm", "gif", "m4v"];
const IMAGE_EXT: [&str; 5] = ["jpg", "jpeg", "webp", "bmp", "tiff"];

/// Where a missing path may be created: relative paths resolve against the
/// tree (the case's working folder); absolute ones must lie in the tree or
/// the case's output folder, outside the upstream. `..` is refused.
pub(crate) fn resolve_target(
    tree: &Path,
    upstream_dir: &Path,
    output_dir: &Path,
    path: &str,
) -> Result<PathBuf, String> {
    let p = Path::new(path);
    if p.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!("`{path}` climbs out with `..`"));
    }
    let target = if p.is_absolute() {
        p.to_path_buf()
    } else {
        tree.join(p)
    };
    let canon = |d: &Path| fs_err::canonicalize(d).unwrap_or_else(|_| d.to_path_buf());
    // Compare against the real locations: the tree may sit behind a symlink
    // (e.g. /tmp on macOS).
    let real = real_path(&target);
    let inside = |root: &Path| real.starts_with(canon(root));
    if inside(upstream_dir) || target.starts_with(upstream_dir) {
        return Err(format!(
            "`{path}` lies inside the upstream checkout, which tether does not edit"
        ));
    }
    if inside(tree) || inside(output_dir) {
        Ok(target)
    } else {
        Err(format!(
            "`{path}` lies outside the staged tree and the case's output folder"
        ))
    }
}

/// The path with its longest existing ancestor canonicalised.
fn real_path(p: &Path) -> PathBuf {
    let mut existing = p.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => return p.to_path_buf(),
        }
    }
    let mut out = fs_err::canonicalize(&existing).unwrap_or(existing);
    for r in rest.iter().rev() {
        out.push(r);
    }
    out
}

/// An executable named `name` on PATH.
pub(crate) fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = crate::env::var_os(crate::env::PATH)?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| {
            fs_err::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

impl Strategy for MissingInputs {
    fn kind(&self) -> StrategyKind {
        StrategyKind::MissingInputs
    }

    fn applies(&self, f: &Failure) -> bool {
        matches!(f.class, FailureClass::MissingInput { .. })
    }

    fn apply(&self, ctx: &FixContext<'_>, f: &Failure) -> Result<Option<AppliedFix>, FixError> {
        let FailureClass::MissingInput { path } = &f.class else {
            return Ok(None);
        };
        let na = |r: String| FixError::not_applicable(StrategyKind::MissingInputs, r);
        let target = resolve_target(ctx.tree, ctx.upstream_dir, &f.log_dir, path).map_err(na)?;
        if target.exists() {
            return Err(na(format!(
                "`{path}` exists now; the case failed to read it for another reason"
            )));
        }
        let file_name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| na(format!("`{path}` names no file")))?;
        let ext = target
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let (w, h, frames) = case_geometry(ctx.cfg, f);
        let how;
        if let Some(sample) = ctx
            .cfg
            .fix
            .samples_dir
            .as_ref()
            .map(|d| d.join(&file_name))
            .filter(|p| p.is_file())
        {
            let bytes = fs_err::read(&sample).map_err(FixError::io("read sample", &sample))?;
            write_file(&target, &bytes)?;
            how = format!("copied from {}", sample.display());
        } else if ext == "y4m" {
            write_file(&target, &media::y4m(w, h, frames))?;
            how = format!("wrote a {w}x{h} YUV4MPEG2 video of {frames} frames");
        } else if ext == "png" {
            write_file(&target, &media::png(w, h))?;
            how = format!("wrote a {w}x{h} PNG");
        } else if VIDEO_EXT.contains(&ext.as_str()) || IMAGE_EXT.contains(&ext.as_str()) {
            let Some(ffmpeg) = find_on_path("ffmpeg") else {
                return Err(na(format!(
                    "`{path}` needs a .{ext} file and ffmpeg is not on PATH; put a sample named {file_name} in fix.samples_dir"
                )));
            };
            let video = VIDEO_EXT.contains(&ext.as_str());
            ffmpeg_write(
                ctx,
                &ffmpeg,
                &target,
                (w, h),
                if video { frames } else { 1 },
            )?;
            how = if video {
                format!("wrote a {w}x{h} test video of {frames} frames with ffmpeg")
            } else {
                format!("wrote a {w}x{h} test image with ffmpeg")
            };
        } else {
            return Err(na(format!(
                "tether cannot make a `.{ext}` file; put a sample named {file_name} in fix.samples_dir"
            )));
        }
        let (real_tree, real_target) = (real_path(ctx.tree), real_path(&target));
        let in_tree = real_target.starts_with(&real_tree);
        let shown = if in_tree {
            rel(&real_tree, &real_target)
        } else {
            target.display().to_string()
        };
        Ok(Some(AppliedFix {
            strategy: StrategyKind::MissingInputs,
            summary: format!("missing input {shown}: {how}"),
            files: if in_tree {
                vec![shown.clone()]
            } else {
                Vec::new()
            },
            commit_message: format!("fix(baseline): add missing input {file_name}"),
            reduced: None,
        }))
    }
}

fn ffmpeg_write(
    ctx: &FixContext<'_>,
    ffmpeg: &Path,
    target: &Path,
    (w, h): (u32, u32),
    frames: u32,
) -> Result<(), FixError> {
    if let Some(dir) = target.parent() {
        fs_err::create_dir_all(dir).map_err(FixError::io("create folder", dir))?;
    }
    crate::state::create_private_dir(ctx.context_dir)
        .map_err(FixError::io("create folder", ctx.context_dir))?;
    let spec = ProcessSpec {
        argv: vec![
            ffmpeg.to_string_lossy().into_owned(),
            "-nostdin".into(),
            "-y".into(),
            "-loglevel".into(),
            "error".into(),
            "-f".into(),
            "lavfi".into(),
            "-i".into(),
            format!("testsrc=size={w}x{h}:rate=16"),
            "-frames:v".into(),
            frames.to_string(),
            "-pix_fmt".into(),
            "yuv420p".into(),
            target.to_string_lossy().into_owned(),
        ],
        cwd: ctx.tree.to_path_buf(),
        env: Vec::new(),
        timeout: Duration::from_secs(120),
        grace: Duration::from_secs(5),
        stdout_path: ctx.context_dir.join("ffmpeg.stdout.log"),
        stderr_path: ctx.context_dir.join("ffmpeg.stderr.log"),
        max_log_bytes: 1 << 20,
        cancel: None,
    };
    let out = run(&spec, &mut || {}).map_err(|source| FixError::Process {
        what: "ffmpeg".into(),
        source,
    })?;
    if !out.exit.success() || !target.is_file() {
        return Err(FixError::CommandFailed {
            what: format!("ffmpeg writing {}", target.display()),
            exit: out.exit.to_string(),
            log: spec.stderr_path,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_stay_inside_the_tree_or_output_dir() {
        let t = tempfile::tempdir().unwrap();
        let tree = t.path().join("staged");
        let up = tree.join("Wan2GP");
        let out = t.path().join("outputs/run-1/case");
        fs_err::create_dir_all(&up).unwrap();
        fs_err::create_dir_all(&out).unwrap();
        assert_eq!(
            resolve_target(&tree, &up, &out, "samples/video.y4m").unwrap(),
            tree.join("samples/video.y4m")
        );
        let abs = out.join("guide.png");
        assert_eq!(
            resolve_target(&tree, &up, &out, abs.to_str().unwrap()).unwrap(),
            abs
        );
        for bad in ["../x.y4m", "/etc/x.y4m", "samples/../../x.png"] {
            assert!(resolve_target(&tree, &up, &out, bad).is_err(), "{bad}");
        }
        let err = resolve_target(&tree, &up, &out, "Wan2GP/assets/a.png").unwrap_err();
        assert!(err.contains("upstream"), "{err}");
    }
}
