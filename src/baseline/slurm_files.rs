//! The files of the slurm executor: the tree under test staged on the
//! shared folder, each job's script, its logs streamed into the run folder
//! while it runs and its case folder copied back when it ends.

use fs_err::os::unix::fs::OpenOptionsExt;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::BaselineError;

fn copy_err(from: &Path, to: &Path) -> impl FnOnce(std::io::Error) -> BaselineError {
    let (from, to) = (from.to_path_buf(), to.to_path_buf());
    move |source| BaselineError::Copy { from, to, source }
}

/// Copies the folder `from` to `to` (created), symlinks as symlinks,
/// replacing files that are there.
pub(super) fn copy_tree(from: &Path, to: &Path) -> Result<(), BaselineError> {
    fs_err::create_dir_all(to).map_err(copy_err(from, to))?;
    for entry in fs_err::read_dir(from).map_err(copy_err(from, to))? {
        let entry = entry.map_err(copy_err(from, to))?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let kind = entry.file_type().map_err(copy_err(&src, &dst))?;
        if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else if kind.is_symlink() {
            let target = fs_err::read_link(&src).map_err(copy_err(&src, &dst))?;
            let _ = fs_err::remove_file(&dst);
            std::os::unix::fs::symlink(&target, &dst).map_err(copy_err(&src, &dst))?;
        } else {
            fs_err::copy(&src, &dst).map_err(copy_err(&src, &dst))?;
        }
    }
    Ok(())
}

/// `text` quoted for `sh`.
pub(super) fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Writes an executable job script that execs `argv`.
pub(super) fn write_script(path: &Path, argv: &[String]) -> Result<(), BaselineError> {
    let line: Vec<String> = argv.iter().map(|a| sh_quote(a)).collect();
    let text = format!("#!/bin/sh\nexec {}\n", line.join(" "));
    let err = |source| BaselineError::Write {
        path: path.to_path_buf(),
        source,
    };
    crate::state::write_atomic(path, text.as_bytes()).map_err(err)?;
    use std::os::unix::fs::PermissionsExt;
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(err)
}

/// Follows one log file on the shared folder into the run folder.
#[derive(Debug)]
pub(super) struct LogFollower {
    from: PathBuf,
    to: PathBuf,
    offset: u64,
}

impl LogFollower {
    pub(super) fn new(from: PathBuf, to: PathBuf) -> LogFollower {
        LogFollower {
            from,
            to,
            offset: 0,
        }
    }

    /// Appends what the job wrote since the last call.
    pub(super) fn follow(&mut self) {
        let Ok(mut src) = fs_err::File::open(&self.from) else {
            return;
        };
        let Ok(len) = src.metadata().map(|m| m.len()) else {
            return;
        };
        if len <= self.offset || src.seek(SeekFrom::Start(self.offset)).is_err() {
            return;
        }
        let mut bytes = Vec::new();
        if (&mut src)
            .take(len - self.offset)
            .read_to_end(&mut bytes)
            .is_err()
        {
            return;
        }
        if let Some(dir) = self.to.parent() {
            let _ = crate::state::create_private_dir(dir);
        }
        let dst = fs_err::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.to);
        if let Ok(mut dst) = dst
            && dst.write_all(&bytes).is_ok()
        {
            self.offset += bytes.len() as u64;
        }
    }
}

/// The last `max` bytes of a text file, lossy.
pub(super) fn tail(path: &Path, max: u64) -> String {
    let Ok(mut f) = fs_err::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(max)));
    let mut bytes = Vec::new();
    let _ = f.read_to_end(&mut bytes);
    crate::redact::redact(&String::from_utf8_lossy(&bytes)).into_owned()
}
