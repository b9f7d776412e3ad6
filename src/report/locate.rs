//! Owns finding the HTML reports already written: every run folder's page
//! in the outputs dir and every analysis page in the analysis dir, newest
//! first (`tether report open`, the dashboard's list of recent reports),
//! and one run's page by its id or folder.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The HTML pages a run or analysis folder is shown by, in order.
pub const PAGES: [&str; 4] = [
    "update_report.html",
    "baseline_report.html",
    "bisect_report.html",
    "analysis.html",
];

/// One HTML report on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundReport {
    pub page: PathBuf,
    pub modified: SystemTime,
}

impl FoundReport {
    /// The folder it is the page of.
    pub fn dir(&self) -> &Path {
        self.page.parent().unwrap_or(&self.page)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LocateError {
    #[error(
        "no HTML report yet: none in the outputs dir {} or the analysis dir {}; run `tether baseline run`, `tether update` or `tether analyze` first",
        outputs.display(),
        analysis.display()
    )]
    NoReport { outputs: PathBuf, analysis: PathBuf },
    #[error(
        "no run `{run}`: it is neither a folder nor a run in the outputs dir {}",
        outputs.display()
    )]
    NoRun { run: String, outputs: PathBuf },
    #[error(
        "the run folder {} has no HTML report (none of {}); it may be from a version of tether before HTML reports",
        dir.display(),
        PAGES.join(", ")
    )]
    NoPage { dir: PathBuf },
}

/// The page of one folder: the first of [`PAGES`] it holds.
pub fn page_of(dir: &Path) -> Option<FoundReport> {
    PAGES.iter().find_map(|name| {
        let page = dir.join(name);
        let meta = fs_err::metadata(&page).ok().filter(|m| m.is_file())?;
        Some(FoundReport {
            modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            page,
        })
    })
}

/// Every report: the run folders of `outputs` and the analysis folders
/// (`<upstream>/<range>/`) of `analysis`, newest first.
pub fn all(outputs: &Path, analysis: &Path) -> Vec<FoundReport> {
    let mut found: Vec<FoundReport> = subdirs(outputs)
        .into_iter()
        .chain(subdirs(analysis).iter().flat_map(|d| subdirs(d)))
        .filter_map(|d| page_of(&d))
        .collect();
    found.sort_by(|a, b| b.modified.cmp(&a.modified).then(b.page.cmp(&a.page)));
    found.dedup_by(|a, b| a.page == b.page);
    found
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect()
}

/// The newest report, or the page of `run` (a folder, or a run id in
/// `outputs`).
pub fn find(
    outputs: &Path,
    analysis: &Path,
    run: Option<&str>,
) -> Result<FoundReport, LocateError> {
    let Some(run) = run else {
        return all(outputs, analysis)
            .into_iter()
            .next()
            .ok_or_else(|| LocateError::NoReport {
                outputs: outputs.to_owned(),
                analysis: analysis.to_owned(),
            });
    };
    let as_dir = Path::new(run);
    let dir = if as_dir.is_dir() {
        as_dir.to_owned()
    } else if !run.contains(['/', '\\']) && outputs.join(run).is_dir() {
        outputs.join(run)
    } else {
        return Err(LocateError::NoRun {
            run: run.to_owned(),
            outputs: outputs.to_owned(),
        });
    };
    page_of(&dir).ok_or(LocateError::NoPage { dir })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_page_wins_and_a_run_is_found_by_id_or_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let (out, ana) = (tmp.path().join("outputs"), tmp.path().join("analysis"));
        assert!(matches!(
            find(&out, &ana, None),
            Err(LocateError::NoReport { .. })
        ));
        fs_err::create_dir_all(out.join("old")).unwrap();
        fs_err::create_dir_all(out.join("bare")).unwrap();
        fs_err::create_dir_all(ana.join("up/a..b")).unwrap();
        fs_err::write(out.join("old/baseline_report.html"), "x").unwrap();
        let old = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        fs_err::File::options()
            .write(true)
            .open(out.join("old/baseline_report.html"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        fs_err::write(ana.join("up/a..b/analysis.html"), "x").unwrap();
        assert_eq!(
            find(&out, &ana, None).unwrap().page,
            ana.join("up/a..b/analysis.html")
        );
        assert_eq!(
            find(&out, &ana, Some("old")).unwrap().page,
            out.join("old/baseline_report.html")
        );
        let by_folder = out.join("old");
        assert_eq!(
            find(&out, &ana, by_folder.to_str()).unwrap().page,
            out.join("old/baseline_report.html")
        );
        assert!(matches!(
            find(&out, &ana, Some("bare")),
            Err(LocateError::NoPage { .. })
        ));
        assert!(matches!(
            find(&out, &ana, Some("nope")),
            Err(LocateError::NoRun { .. })
        ));
        assert_eq!(all(&out, &ana).len(), 2);
    }
}
