//! The pinned layout end to end with the real binary: a pin in a Python
//! dict among other upstreams' pins, in `VENDOR_PINS.json` and in a TOML
//! file; `check` shows where it is, `update` rewrites exactly its bytes and
//! commits them; a pin found in no or several places is a config error
//! naming the file and the matches; a live checkout at `path` moves to the
//! target; a failing install command rolls back; a kill mid-promotion
//! leaves the pin file and the tree as they were once recovered.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};

use crate::support::git::git;
use crate::support::sample::{OK_BASELINE, OK_PY};
use crate::support::{GitRepo, Tether, tree_digest};

const NAME: &str = "ComfyUI-VideoHelperSuite";
const NODE_PATH: &str = "custom_nodes/ComfyUI-VideoHelperSuite";

struct World {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    upstream: GitRepo,
    wrapper: GitRepo,
    /// The upstream's commits, oldest first.
    commits: Vec<String>,
}

impl World {
    fn tether(&self) -> Tether {
        Tether::new(&self.root)
    }

    fn tip(&self) -> &str {
        self.commits.last().unwrap()
    }
}

/// The app's pin dict, the VideoHelperSuite pin on line 6 at `sha`.
fn nodes_py(sha: &str) -> String {
    format!(
        "\"\"\"Custom nodes the app clones at start-up.\"\"\"\n\
         \n\
         CUSTOM_NODES_PINNED = {{\n    \
             \"ComfyUI-Other\": (\"https://example.com/other.git\", \"1111111111111111111111111111111111111111\"),\n    \
             \"{NAME}\": (\"https://example.com/vhs.git\",\n        \
                 \"{sha}\"),  # keep\n    \
             'ComfyUI-LTXVideo': ('https://example.com/ltx.git', '2222222'),\n\
         }}\n"
    )
}

/// An upstream with four commits, a wrapper whose `record` file (written by
/// `pin_file` from the first commit) pins it, and a config with `extra`
/// keys in the upstream's table.
fn world(record: &str, pin_file: impl Fn(&[String]) -> String, extra: &str) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("stack");
    let upstream = GitRepo::init(root.join("vhs"));
    let mut commits = Vec::new();
    for i in 0..4 {
        upstream.write(
            "nodes.py",
            format!("NODE_CLASS_MAPPINGS = {{}}\nVERSION = {i}\n"),
        );
        commits.push(upstream.commit(&format!("release {i}")));
    }
    let wrapper = GitRepo::init(root.join("wrapper"));
    wrapper.write(record, pin_file(&commits));
    wrapper.write("ok.py", OK_PY);
    wrapper.write(".gitignore", "/custom_nodes/\n");
    wrapper.commit("the app");
    let toml = format!(
        "[project]\nroot = \"wrapper\"\npython = \"python3\"\n\n\
         [[upstream]]\nname = \"{NAME}\"\nurl = \"{}\"\npath = \"{NODE_PATH}\"\n\
         layout = \"pinned\"\nrecord_file = \"{record}\"\n{extra}\n{OK_BASELINE}",
        upstream.url()
    );
    fs_err::write(root.join("tether.toml"), toml).unwrap();
    World {
        _tmp: tmp,
        root,
        upstream,
        wrapper,
        commits,
    }
}

fn python_world(extra: &str) -> World {
    world("app/nodes.py", |c| nodes_py(&c[0]), extra)
}

fn update_json(root: &Path) -> String {
    let dirs = crate::support::update_dirs(root);
    fs_err::read_to_string(dirs.last().unwrap().join("update.json")).unwrap()
}

#[test]
fn python_pin_dict_check_then_update_rewrites_exactly_the_sha() {
    let w = python_world("");
    let t = w.tether();
    let before = fs_err::read(w.wrapper.path.join("app/nodes.py")).unwrap();
    let out = t.run(&["check"]);
    out.assert_code(0);
    assert!(
        out.stdout.contains("[pinned in app/nodes.py:6]"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("3 commits behind"), "{}", out.stdout);
    // the analysis reads the mirror: no checkout at `path` is needed
    let out = t.run(&["analyze"]);
    assert!(
        [0, 3, 4].contains(&out.code),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(!w.wrapper.path.join(NODE_PATH).exists());

    t.run(&["update"]).assert_code(0);
    let after = fs_err::read(w.wrapper.path.join("app/nodes.py")).unwrap();
    assert_eq!(after.len(), before.len());
    let differing: Vec<usize> = (0..before.len())
        .filter(|&i| before[i] != after[i])
        .collect();
    let at = String::from_utf8_lossy(&before)
        .find(w.commits[0].as_str())
        .unwrap();
    // every differing byte lies in the old hash, and the hash is the tip now
    assert!(
        differing.iter().all(|&i| (at..at + 40).contains(&i)),
        "{differing:?}"
    );
    assert_eq!(&after[at..at + 40], w.tip().as_bytes());
    assert_eq!(after, nodes_py(w.tip()).into_bytes());
    // committed in the live wrapper, nothing else changed
    assert_eq!(
        git(&w.wrapper.path, &["log", "-1", "--format=%s"]),
        format!("chore(upstream): bump {NAME} to {}", &w.tip()[..7])
    );
    assert_eq!(
        git(
            &w.wrapper.path,
            &["show", "--name-only", "--format=", "HEAD"]
        ),
        "app/nodes.py"
    );
    assert_eq!(git(&w.wrapper.path, &["status", "--porcelain"]), "");
    // no checkout at `path`: the promotion says who makes it
    assert!(
        update_json(&w.root).contains("the app's install step will fetch"),
        "{}",
        update_json(&w.root)
    );
    assert!(!w.wrapper.path.join(NODE_PATH).exists());
    let out = t.run(&["check"]);
    out.assert_code(0);
    assert!(out.stdout.contains("up to date"), "{}", out.stdout);
}

#[test]
fn json_pin_by_record_key_is_rewritten_in_place() {
    let pins = |c: &[String]| {
        format!(
            "{{\n  \"trainer\": {{\"commit\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}},\n  \
             \"comfyui\": {{\n    \"url\": \"https://example.com/comfy.git\",\n    \
             \"commit\": \"{}\"\n  }}\n}}\n",
            c[0]
        )
    };
    let w = world(
        "vendor/VENDOR_PINS.json",
        pins,
        "record_key = \".comfyui.commit\"",
    );
    let out = w.tether().run(&["check"]);
    out.assert_code(0);
    assert!(
        out.stdout.contains("[pinned in vendor/VENDOR_PINS.json:5]"),
        "{}",
        out.stdout
    );
    w.tether().run(&["update"]).assert_code(0);
    assert_eq!(
        w.wrapper.read("vendor/VENDOR_PINS.json"),
        pins(&[w.tip().to_owned()])
    );
}

#[test]
fn toml_short_pin_keeps_its_length() {
    let pins = |c: &[String]| {
        format!(
            "# pins\n[comfyui]\ncommit = \"{}\" # short\n\n[trainer]\ncommit = \"bbbbbbbbbb\"\n",
            &c[0][..10]
        )
    };
    let w = world("vendor/pins.toml", pins, "record_key = \"comfyui.commit\"");
    w.tether().run(&["update"]).assert_code(0);
    assert_eq!(
        w.wrapper.read("vendor/pins.toml"),
        pins(&[w.tip().to_owned()])
    );
}

#[test]
fn a_pin_found_nowhere_or_twice_is_a_config_error_naming_file_and_matches() {
    let none = python_world("record_pattern = 'pinned_at = \"([0-9a-f]{40})\"'");
    let out = none.tether().run(&["check"]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("app/nodes.py") && out.stderr.contains("nothing matches"),
        "{}",
        out.stderr
    );

    let twice = python_world("record_pattern = '\"([0-9a-f]{40})\"'");
    let out = twice.tether().run(&["check"]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("app/nodes.py")
            && out.stderr.contains("matches 2 places")
            && out.stderr.contains("line 4 `\"ComfyUI-Other\"")
            && out
                .stderr
                .contains(&format!("line 6 `\"{}\"),", twice.commits[0])),
        "{}",
        out.stderr
    );
    // and an update refuses before it changes anything
    twice.tether().run(&["update"]).assert_code(2);
    assert_eq!(
        twice.wrapper.read("app/nodes.py"),
        nodes_py(&twice.commits[0])
    );

    let both = python_world("record_key = \"a.b\"\nrecord_pattern = '([0-9a-f]{40})'");
    let out = both.tether().run(&["check"]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("upstream[0].record_key")
            && out.stderr.contains("not both")
            && out.stderr.contains("line 11: `upstream[0].record_key`"),
        "{}",
        out.stderr
    );
}

/// Clones the upstream at its first commit into the wrapper's (ignored)
/// `path`, as the app's start-up would.
fn live_checkout(w: &World) -> PathBuf {
    let dir = w.wrapper.path.join(NODE_PATH);
    git(
        &w.wrapper.path,
        &["clone", "-q", &w.upstream.url(), NODE_PATH],
    );
    git(&dir, &["checkout", "-q", &w.commits[0]]);
    dir
}

#[test]
fn a_live_checkout_moves_to_the_target_after_the_install_step_ran() {
    // the install step sees the upstream at the target and the new pin
    let w = python_world(
        "install = \"grep -q 'VERSION = 3' custom_nodes/ComfyUI-VideoHelperSuite/nodes.py && grep -q \
         $(git -C custom_nodes/ComfyUI-VideoHelperSuite rev-parse HEAD) app/nodes.py && echo installed\"",
    );
    let dir = live_checkout(&w);
    w.tether().run(&["update"]).assert_code(0);
    assert_eq!(git(&dir, &["rev-parse", "HEAD"]), w.tip());
    assert_eq!(git(&dir, &["status", "--porcelain"]), "");
    assert_eq!(w.wrapper.read("app/nodes.py"), nodes_py(w.tip()));
    let logs = w.root.join(".tether/update");
    let found: Vec<_> = walk(&logs)
        .into_iter()
        .filter(|p| p.ends_with("install.stdout.log"))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        fs_err::read_to_string(&found[0]).unwrap().trim(),
        "installed"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs_err::read_dir(dir).into_iter().flatten() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_failing_install_rolls_back_and_leaves_the_wrapper_byte_identical() {
    let w = python_world("install = \"echo fetching nodes; echo 'no such wheel' >&2; exit 3\"");
    let dir = live_checkout(&w);
    let before = tree_digest(&w.wrapper.path);
    let out = w.tether().run(&["update"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains("echo fetching nodes")
            && out.stderr.contains("exit code 3")
            && out.stderr.contains("no such wheel"),
        "{}",
        out.stderr
    );
    assert!(
        tree_digest(&w.wrapper.path) == before,
        "the live wrapper changed"
    );
    assert_eq!(git(&dir, &["rev-parse", "HEAD"]), w.commits[0]);
}

/// The wrapper's files outside `.git` (the checkout's included), its HEAD
/// and the checkout's HEAD.
fn live(w: &World) -> (BTreeMap<String, Vec<u8>>, String, String) {
    let files = tree_digest(&w.wrapper.path)
        .into_iter()
        .filter(|(p, _)| !p.starts_with(".git/") && !p.contains("/.git/"))
        .collect();
    (
        files,
        w.wrapper.head(),
        git(&w.wrapper.path.join(NODE_PATH), &["rev-parse", "HEAD"]),
    )
}

#[test]
fn a_kill_mid_promotion_leaves_pin_and_tree_byte_identical_after_recovery() {
    for (fp, promoted) in [
        ("promote.upstream.files-half", false),
        ("promote.wrapper.files-half", false),
        ("promote.wrapper.head-moved", true),
    ] {
        let w = python_world("");
        live_checkout(&w);
        let before = live(&w);
        let t = w.tether();
        let out = t
            .cmd()
            .arg("update")
            .env("FAILPOINTS", format!("{fp}=return"))
            .output()
            .unwrap();
        assert_eq!(out.status.signal(), Some(9), "not killed at {fp}");
        t.run(&["check", "--no-fetch"]).assert_code(0);
        let now = live(&w);
        if promoted {
            assert_eq!(w.wrapper.read("app/nodes.py"), nodes_py(w.tip()), "{fp}");
            assert_eq!(now.2, w.tip(), "{fp}");
        } else {
            assert!(now == before, "{fp}: the wrapper is not as it was");
            assert_eq!(
                fs_err::read(w.wrapper.path.join("app/nodes.py")).unwrap(),
                nodes_py(&w.commits[0]).into_bytes(),
                "{fp}"
            );
        }
        assert_eq!(git(&w.wrapper.path, &["status", "--porcelain"]), "", "{fp}");
        assert!(!w.root.join(".tether/update/journal.json").exists(), "{fp}");
    }
}
