//! `tether analyze` on a vendored copy with local patches: names only the
//! patch defines and whether the update keeps them, local-only packages,
//! dead patches, predicted merge conflicts, and config-key reads tied to
//! their config by evidence.

use serde_json::Value;
use tempfile::TempDir;

use crate::support::findings::{at, finding};
use crate::support::{GitRepo, Tether};

const WORKER: &str = r#"import json
import sys
sys.path.insert(0, "Wan2GP")
import wgp
import extra
import helpers
from models.mine import LocalPipe

wgp.local_clean(1)
extra.local_conflict(2)
helpers.local_lost(3)
wgp.offload = None
wgp.nowhere()


def settings():
    cfg = json.load(open("Wan2GP/defaults/t2v.json"))
    return cfg["prompt"]


def task_prompt(task):
    return task["prompt"]
"#;

/// An upstream moving from c0 to c1 and a wrapper vendoring c0 with local
/// patches: a function appended to `wgp.py` (upstream edits elsewhere:
/// clean), to `extra.py` (upstream changes the same line of `one`: a true
/// conflict, which no merge method resolves) and to
/// `helpers.py` (upstream deletes it: lost), and a local-only package.
fn fixture() -> (TempDir, GitRepo) {
    let dir = tempfile::tempdir().unwrap();
    let up = GitRepo::init(dir.path().join("upstream"));
    up.write(
        "wgp.py",
        "def run(prompt):\n    return prompt\n\n\ndef tail():\n    return 1\n",
    )
    .write("extra.py", "def one():\n    return 1\n")
    .write("helpers.py", "def helper():\n    return 1\n")
    .write("models/__init__.py", "")
    .write("models/wan.py", "x = 1\n")
    .write(
        "defaults/t2v.json",
        "{\"prompt\": \"a cat\", \"steps\": 4}\n",
    );
    let c0 = up.commit("initial import");
    let w = GitRepo::init(dir.path().join("wrapper"));
    w.add_vendored(&up, "Wan2GP", &c0);
    w.write("worker.py", WORKER);
    w.write(
        "Wan2GP/wgp.py",
        "def run(prompt):\n    return prompt\n\n\ndef tail():\n    return 1\n\n\ndef local_clean(x):\n    return x\n",
    );
    w.write(
        "Wan2GP/extra.py",
        "def one():\n    return 10\n\n\ndef local_conflict(x):\n    return x\n",
    );
    w.write(
        "Wan2GP/helpers.py",
        "def helper():\n    return 1\n\n\ndef local_lost(x):\n    return x\n",
    );
    w.write(
        "Wan2GP/models/mine/__init__.py",
        "class LocalPipe:\n    pass\n",
    );
    w.commit("wrapper with a patched vendored copy");
    up.write(
        "wgp.py",
        "def run(prompt):\n    return prompt.strip()\n\n\ndef tail():\n    return 1\n",
    )
    .write(
        "extra.py",
        "def one():\n    return 100\n\n\ndef two():\n    return 2\n",
    )
    .remove("helpers.py")
    .write("defaults/t2v.json", "{\"steps\": 4}\n");
    up.commit("upstream moves on");
    fs_err::write(
        dir.path().join("tether.toml"),
        format!(
            "[project]\nroot = \"wrapper\"\n\n[[upstream]]\nname = \"wan2gp\"\nurl = \"{}\"\npath = \"Wan2GP\"\nlayout = \"vendored\"\n",
            up.url()
        ),
    )
    .unwrap();
    (dir, w)
}

fn analyze() -> (TempDir, Value, std::path::PathBuf) {
    let (dir, _w) = fixture();
    let out = Tether::new(dir.path()).run(&["analyze"]);
    out.assert_code(3);
    assert!(
        out.stdout.contains(
            "local patch: 3 modified, 1 added, 0 deleted; the update is predicted to conflict on 1 and lose 1"
        ),
        "{}",
        out.stdout
    );
    let (a, run) = read_analysis(&dir);
    (dir, a, run)
}

/// The one analysis written under `dir` and its folder.
fn read_analysis(dir: &TempDir) -> (Value, std::path::PathBuf) {
    let base = dir.path().join("maintenance_analysis/wan2gp");
    let run = fs_err::read_dir(&base)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let a: Value =
        serde_json::from_str(&fs_err::read_to_string(run.join("analysis.json")).unwrap()).unwrap();
    (a, run)
}

#[test]
fn local_patch_findings_name_the_carry_forward_of_each_patch() {
    let (_dir, a, run) = analyze();
    // a function only the local patch of the main module defines: clean
    let f = finding(&a, "wgp.local_clean", "local-patch-only");
    at(f, "worker.py", 9, "info");
    assert_eq!(f["status"]["path"], "wgp.py");
    assert_eq!(f["status"]["line"], 9);
    assert_eq!(f["status"]["carry"], "clean");
    // ... upstream changed the line the patch changed: the merge conflicts
    let f = finding(&a, "extra.local_conflict", "local-patch-only");
    at(f, "worker.py", 10, "at-risk");
    assert_eq!(f["status"]["carry"], "conflicts");
    // ... the upstream deleted the file: the patch is lost
    let f = finding(&a, "helpers.local_lost", "local-patch-only");
    at(f, "worker.py", 11, "breaking");
    assert_eq!(f["status"]["carry"], "lost-upstream-deleted");
    // a package only the vendored copy has
    let f = finding(&a, "models.mine.LocalPipe", "local-only-file");
    at(f, "worker.py", 7, "info");
    assert_eq!(f["status"]["path"], "models/mine/__init__.py");
    // dead patches
    at(
        finding(&a, "wgp.offload", "dead-patch"),
        "worker.py",
        12,
        "at-risk",
    );
    at(
        finding(&a, "wgp.nowhere", "dead-patch"),
        "worker.py",
        13,
        "breaking",
    );
    // the conflict itself, before `update` tries
    let f = finding(&a, "extra.py", "local-patch-conflict");
    at(f, "Wan2GP/extra.py", 2, "at-risk");
    assert!(
        !f["status"]["hunks"].as_array().unwrap().is_empty(),
        "{f:#}"
    );

    // the local patch summary
    let p = &a["local_patch"];
    assert_eq!(p["modified"], 3, "{p:#}");
    assert_eq!(p["added"], 1, "{p:#}");
    let carry = |path: &str| {
        p["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .unwrap_or_else(|| panic!("{path} in {p:#}"))["carry"]
            .clone()
    };
    assert_eq!(carry("wgp.py"), "clean");
    assert_eq!(carry("extra.py"), "conflicts");
    assert_eq!(carry("helpers.py"), "lost-upstream-deleted");
    assert_eq!(carry("models/mine/__init__.py"), "kept");

    // and the Markdown
    let read = |name: &str| fs_err::read_to_string(run.join(name)).unwrap();
    let diff = read("diff_analysis.md");
    assert!(
        diff.contains("## Local patch of the vendored copy"),
        "{diff}"
    );
    assert!(
        diff.contains("| `extra.py` | modified | **conflicts**"),
        "{diff}"
    );
    assert!(
        diff.contains("| `helpers.py` | modified | **lost (upstream deleted the file)** |"),
        "{diff}"
    );
    let integration = read("integration_analysis.md");
    for text in [
        "`wgp.local_clean` is defined only by the local patch of the vendored `wgp.py` (line 9)",
        "`models.mine.LocalPipe` is provided by `models/mine/__init__.py`, which exists only in the vendored copy",
        "`wgp.offload` is defined in none of the base upstream, the vendored copy and the target",
        "The local patch of `Wan2GP/extra.py` conflicts with the upstream change",
    ] {
        assert!(integration.contains(text), "{text} in {integration}");
    }
    let checklist = read("update_checklist.md");
    assert!(checklist.contains("## Local patches"), "{checklist}");
    assert!(
        checklist.contains("Port the local patch of `helpers.py` by hand"),
        "{checklist}"
    );
    assert!(
        checklist.contains("Resolve the local patch of `extra.py`"),
        "{checklist}"
    );
}

#[test]
fn removed_config_keys_are_at_risk_only_where_the_read_is_tied_to_the_config() {
    let (_dir, a, run) = analyze();
    let reads: Vec<&Value> = a["integration"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"]["status"] == "config-key-removed")
        .collect();
    assert_eq!(reads.len(), 1, "{reads:#?}");
    at(reads[0], "worker.py", 18, "at-risk");
    assert_eq!(reads[0]["point"]["target"], "defaults/t2v.json:prompt");
    let message = reads[0]["message"].as_str().unwrap();
    assert!(
        message
            .contains("reads `prompt` from the value loaded from `defaults/t2v.json` at line 17"),
        "{message}"
    );
    // `task["prompt"]` at line 22 is counted, not listed
    assert_eq!(a["integration"]["untied_key_reads"], 1);
    let integration = fs_err::read_to_string(run.join("integration_analysis.md")).unwrap();
    assert!(
        integration.contains(
            "1 read(s) of keys some config dropped are not tied to that config: not listed."
        ),
        "{integration}"
    );
}

#[test]
fn committed_source_reads_the_local_patch_from_head() {
    let (dir, w) = fixture();
    let toml = dir.path().join("tether.toml");
    let text = fs_err::read_to_string(&toml).unwrap().replace(
        "root = \"wrapper\"\n",
        "root = \"wrapper\"\nwrapper_source = \"committed\"\n",
    );
    fs_err::write(&toml, text).unwrap();
    // uncommitted: the local function gone from the working tree
    w.write(
        "Wan2GP/wgp.py",
        "def run(prompt):\n    return prompt\n\n\ndef tail():\n    return 1\n",
    );
    Tether::new(dir.path()).run(&["analyze"]).assert_code(3);
    let (a, _) = read_analysis(&dir);
    let f = finding(&a, "wgp.local_clean", "local-patch-only");
    at(f, "worker.py", 9, "info");
}
