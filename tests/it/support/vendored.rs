//! The realistic vendored wrapper of `scripts/make_vendored.py`, built in a
//! temp dir: a Wan2GP-shaped upstream with history, and a headless worker
//! that vendors it with local patches and a stale record file.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::git::GitRepo;

pub struct VendoredWorld {
    pub _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub upstream: GitRepo,
    pub wrapper: GitRepo,
    /// The generator's `manifest.json`: commits and the files of each kind.
    pub manifest: Value,
}

impl VendoredWorld {
    pub fn new() -> VendoredWorld {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("world");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make_vendored.py");
        let out = Command::new("python3")
            .arg(&script)
            .arg(&root)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "make_vendored.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let manifest: Value =
            serde_json::from_str(&fs_err::read_to_string(root.join("manifest.json")).unwrap())
                .unwrap();
        VendoredWorld {
            upstream: GitRepo::open(root.join("upstream"), super::git::EPOCH + 400 * 24 * 3600),
            wrapper: GitRepo::open(root.join("wrapper"), super::git::EPOCH + 400 * 24 * 3600),
            root,
            manifest,
            _tmp: tmp,
        }
    }

    pub fn tether(&self) -> super::Tether {
        super::Tether::new(&self.root)
    }

    /// A string field of the manifest.
    pub fn commit(&self, key: &str) -> String {
        self.manifest[key].as_str().unwrap().to_owned()
    }

    /// A list field of the manifest.
    pub fn files(&self, key: &str) -> Vec<String> {
        self.manifest[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    /// The only analysis folder written.
    pub fn analysis_dir(&self) -> PathBuf {
        let base = self.root.join("maintenance_analysis/wan2gp");
        let mut dirs: Vec<_> = fs_err::read_dir(&base)
            .unwrap_or_else(|e| panic!("{}: {e}", base.display()))
            .map(|e| e.unwrap().path())
            .collect();
        dirs.sort();
        assert_eq!(dirs.len(), 1, "expected one analysis folder, got {dirs:?}");
        dirs.pop().unwrap()
    }

    pub fn analysis_json(&self) -> Value {
        let text = fs_err::read_to_string(self.analysis_dir().join("analysis.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// Whether git's own line merge (`git merge-file`) conflicts on the
    /// vendored file `rel` moved from the base to the target.
    pub fn line_merge_conflicts(&self, rel: &str) -> bool {
        let dir = tempfile::tempdir().unwrap();
        let side = |name: &str, commit: &str| {
            let p = dir.path().join(name);
            let out = super::git::git_cmd(&self.upstream.path)
                .args(["show", &format!("{commit}:{rel}")])
                .output()
                .unwrap();
            assert!(out.status.success(), "{rel} at {commit}");
            fs_err::write(&p, out.stdout).unwrap();
            p
        };
        let base = side("base", &self.commit("base"));
        let theirs = side("theirs", &self.commit("target"));
        let ours = dir.path().join("ours");
        fs_err::copy(self.wrapper.path.join("Wan2GP").join(rel), &ours).unwrap();
        let status = super::git::git_cmd(dir.path())
            .args(["merge-file", "-p"])
            .arg(&ours)
            .arg(&base)
            .arg(&theirs)
            .output()
            .unwrap()
            .status;
        status.code() != Some(0)
    }
}
