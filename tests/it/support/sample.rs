//! The sample project of `scripts/make_sample.py`, built in a temp dir.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::git::GitRepo;

/// A baseline whose one case fails until tether's missing-inputs fix writes
/// `inputs/ref.y4m` (the case script is [`NEEDS_REF_PY`], `needs_ref.py`).
pub const NEEDS_REF_BASELINE: &str = r#"
[baseline]
command = "{python} needs_ref.py"
timeout = "60s"

[[baseline.case]]
name = "ref"
model = "m"
params = { resolution = "64x48", video_length = 5 }
"#;

/// The case script of [`NEEDS_REF_BASELINE`].
pub const NEEDS_REF_PY: &str = r#"with open("inputs/ref.y4m", "rb") as f:
    head = f.read(9)
assert head == b"YUV4MPEG2", head
print("ok")
"#;

/// One always-passing baseline case (`ok.py`, [`OK_PY`]).
pub const OK_BASELINE: &str = r#"
[baseline]
command = "{python} ok.py"
timeout = "60s"

[[baseline.case]]
name = "ok"
model = "m"
"#;

/// The case script of [`OK_BASELINE`].
pub const OK_PY: &str = "print('ok')\n";

pub struct Sample {
    pub _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub upstream: GitRepo,
    pub wrapper: GitRepo,
}

impl Sample {
    /// Builds the sample with the given layout (`submodule`, `clone`, `vendored`).
    pub fn new(layout: &str) -> Sample {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("sample");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make_sample.py");
        let out = Command::new("python3")
            .arg(&script)
            .arg(&root)
            .args(["--layout", layout])
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "make_sample.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Sample {
            upstream: GitRepo::open(root.join("upstream"), super::git::EPOCH + 100 * 3600),
            wrapper: GitRepo::open(root.join("wrapper"), super::git::EPOCH + 200 * 3600),
            root,
            _tmp: tmp,
        }
    }

    pub fn tether(&self) -> super::Tether {
        super::Tether::new(&self.root)
    }

    /// Path of the analysis folder written for the only analysed range.
    pub fn analysis_dir(&self) -> PathBuf {
        let base = self.root.join("maintenance_analysis/sample");
        let mut dirs: Vec<_> = fs_err::read_dir(&base)
            .unwrap_or_else(|e| panic!("{}: {e}", base.display()))
            .map(|e| e.unwrap().path())
            .collect();
        dirs.sort();
        assert_eq!(dirs.len(), 1, "expected one analysis folder, got {dirs:?}");
        dirs.pop().unwrap()
    }

    pub fn analysis_json(&self) -> serde_json::Value {
        let text = fs_err::read_to_string(self.analysis_dir().join("analysis.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}
