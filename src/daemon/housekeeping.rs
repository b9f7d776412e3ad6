//! Housekeeping: run folders in the outputs dir older than
//! `service.keep_outputs_days` are removed (only direct children of the
//! outputs dir, never through a symlink), `debug_log.txt` files longer than
//! `service.debug_log_max_lines` are rotated (the older lines go to
//! `debug_log.1.txt`), and daily log files in `<state>/logs` older than
//! `service.keep_logs_days` are removed.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::config::Config;

/// What housekeeping did.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct Housekeeping {
    pub removed_outputs: Vec<PathBuf>,
    pub rotated_logs: Vec<PathBuf>,
    pub removed_logs: Vec<PathBuf>,
    /// Entries left alone (symlinks), in words.
    pub skipped: Vec<String>,
}

const DAY: Duration = Duration::from_secs(24 * 3600);

/// Where the service's daily log files go.
pub fn logs_dir(cfg: &Config) -> PathBuf {
    cfg.project.state_dir.join("logs")
}

pub fn run(cfg: &Config) -> Result<Housekeeping, String> {
    let now = now();
    let mut h = Housekeeping::default();
    let outputs = &cfg.project.outputs_dir;
    let keep = DAY * cfg.service.keep_outputs_days;
    for entry in entries(outputs)? {
        let meta = match fs_err::symlink_metadata(&entry) {
            Ok(m) => m,
            Err(_) => continue,
        };
        if meta.file_type().is_symlink() {
            h.skipped.push(format!(
                "`{}` is a symlink: left alone (housekeeping never follows links)",
                entry.display()
            ));
            continue;
        }
        if !meta.is_dir() {
            continue;
        }
        let age = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .unwrap_or_default();
        if age > keep {
            // remove_dir_all unlinks symlinks inside; it never follows them
            fs_err::remove_dir_all(&entry).map_err(|e| e.to_string())?;
            tracing::info!(dir = %entry.display(), days = age.as_secs() / 86_400, "removed an old run folder");
            h.removed_outputs.push(entry);
        } else {
            rotate_debug_logs(&entry, cfg.service.debug_log_max_lines, &mut h)?;
        }
    }
    let keep_logs = DAY * cfg.service.keep_logs_days;
    for entry in entries(&logs_dir(cfg))? {
        let Ok(meta) = fs_err::symlink_metadata(&entry) else {
            continue;
        };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age > keep_logs);
        if meta.is_file() && old {
            fs_err::remove_file(&entry).map_err(|e| e.to_string())?;
            h.removed_logs.push(entry);
        }
    }
    Ok(h)
}

/// "Now" for ages, honouring `TETHER_NOW`.
fn now() -> SystemTime {
    let t = crate::env::now();
    SystemTime::UNIX_EPOCH + Duration::from_secs(t.as_second().max(0) as u64)
}

/// The entries of `dir` (none when it does not exist).
fn entries(dir: &Path) -> Result<Vec<PathBuf>, String> {
    match fs_err::read_dir(dir) {
        Ok(rd) => Ok(rd.filter_map(Result::ok).map(|e| e.path()).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e.to_string()),
    }
}

/// Keeps the last `max` lines of `<dir>/debug_log.txt`, appending the rest
/// to `<dir>/debug_log.1.txt`.
fn rotate_debug_logs(dir: &Path, max: u32, h: &mut Housekeeping) -> Result<(), String> {
    let log = dir.join("debug_log.txt");
    let Ok(meta) = fs_err::symlink_metadata(&log) else {
        return Ok(());
    };
    if !meta.is_file() {
        return Ok(());
    }
    let text = fs_err::read_to_string(&log).map_err(|e| e.to_string())?;
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= max as usize {
        return Ok(());
    }
    let cut = lines.len() - max as usize;
    let old = dir.join("debug_log.1.txt");
    let mut archived = fs_err::read_to_string(&old).unwrap_or_default();
    for l in &lines[..cut] {
        archived.push_str(l);
        archived.push('\n');
    }
    crate::state::write_atomic(&old, archived.as_bytes()).map_err(|e| e.to_string())?;
    let mut kept = lines[cut..].join("\n");
    kept.push('\n');
    crate::state::write_atomic(&log, kept.as_bytes()).map_err(|e| e.to_string())?;
    h.rotated_logs.push(log);
    Ok(())
}
