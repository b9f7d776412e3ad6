//! A throw-away project for baseline-level tests: `project/wrapper/` with the
//! given files, and a `tether.toml` whose one upstream is never fetched.

use std::path::PathBuf;

pub struct TempProject {
    pub _tmp: tempfile::TempDir,
    /// `<tmp>/project`, holding `tether.toml`.
    pub dir: PathBuf,
}

/// `python` runs the wrapper; `rest` follows the `[project]` and
/// `[[upstream]]` tables in the config.
pub fn temp_project(python: &str, files: &[(&str, &str)], rest: &str) -> TempProject {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    let tree = dir.join("wrapper");
    fs_err::create_dir_all(&tree).unwrap();
    for (rel, text) in files {
        fs_err::write(tree.join(rel), text).unwrap();
    }
    let toml = format!(
        r#"[project]
root = "wrapper"
python = "{python}"

[[upstream]]
name = "up"
url = "file:///nonexistent/up.git"
path = "up"
layout = "clone"
{rest}"#
    );
    fs_err::write(dir.join("tether.toml"), toml).unwrap();
    TempProject { _tmp: tmp, dir }
}
