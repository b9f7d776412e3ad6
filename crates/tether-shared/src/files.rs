//! Owns how tether writes files that must not be half-written or readable
//! by others: files that can hold a secret or anything a child printed are
//! created private to the user (files 0600, the folders created for them
//! 0700), and whole files are written atomically (write, fsync, rename). No
//! process-wide umask is used, so files written into the wrapper or a staged
//! tree, and everything a child creates, keep the usual modes.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use fs_err::os::unix::fs::OpenOptionsExt;

/// Mode of the files tether keeps to the user: state, logs, results, reports.
pub const PRIVATE_FILE: u32 = 0o600;
/// Mode of the folders tether creates for them.
pub const PRIVATE_DIR: u32 = 0o700;

/// Creates `dir` and its missing parents; each folder created here is 0700.
/// Folders that exist keep their mode (the user's choice).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|p| !p.as_os_str().is_empty() && !p.is_dir())
        .collect();
    for p in missing.into_iter().rev() {
        match fs_err::create_dir(p) {
            Ok(()) => fs_err::set_permissions(p, std::fs::Permissions::from_mode(PRIVATE_DIR))?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && p.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Creates (or truncates) the private file `path` (0600), its folder created
/// private when missing.
pub fn create_private_file(path: &Path) -> std::io::Result<fs_err::File> {
    open_private(
        path,
        fs_err::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true),
    )
}

/// Opens the private file `path` for appending (created 0600 when missing),
/// its folder created private when missing.
pub fn append_private_file(path: &Path) -> std::io::Result<fs_err::File> {
    open_private(path, fs_err::OpenOptions::new().create(true).append(true))
}

fn open_private(path: &Path, opts: &mut fs_err::OpenOptions) -> std::io::Result<fs_err::File> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let file = opts.mode(PRIVATE_FILE).open(path)?;
    // a file that existed keeps its mode on open: an older tether's 0644
    if file.metadata()?.permissions().mode() & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(PRIVATE_FILE))?;
    }
    Ok(file)
}

/// Writes bytes to `path` atomically: a private (0600) temp file in the same
/// folder, fsynced, then renamed over the target. Missing folders are
/// created private (0700). For files in the wrapper or a staged tree use
/// [`write_atomic_shared`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    write_atomic_as(path, bytes, PRIVATE_FILE)
}

/// [`write_atomic`] for a file meant to be shared like any other file of
/// the tree it is in (the wrapper, a staged tree, baseline references):
/// created with the usual mode (0666 less the umask), folders likewise.
pub fn write_atomic_shared(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(dir)?;
    write_atomic_as(path, bytes, 0o666)
}

fn write_atomic_as(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        // a temp file left by a crashed run of the same pid may be in the way
        match fs_err::remove_file(&tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut f = fs_err::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs_err::rename(&tmp, path)?;
    if let Ok(d) = fs_err::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
