//! `[[group]]` updates with the real binary: two upstreams (a core and a
//! node pack) staged, tested and promoted as one transaction, rolled back
//! together when one member breaks the baseline, and a kill at every
//! failpoint of a group update recovered byte-identical (every pin, gitlink
//! and checkout) by the next command.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;

use serde_json::Value;

use crate::support::git::{GitRepo, git};
use crate::support::{Tether, tree_digest, update_dirs};

/// The baseline: fails when either member's file says BROKEN.
const CHECK_PY: &str = r#"import pathlib, sys
text = pathlib.Path("core/core.py").read_text() + pathlib.Path("nodes/nodes.py").read_text()
if "BROKEN" in text:
    sys.exit("a member is broken")
print("ok")
"#;

const DIRTY_README: &str = "# my notes, not committed\n";

/// A wrapper with `core` (a submodule) and `nodes` (a submodule or a
/// plain clone), each upstream one commit ahead, in `[[group]] stack`.
struct World {
    _tmp: tempfile::TempDir,
    root: std::path::PathBuf,
    core: GitRepo,
    nodes: GitRepo,
    wrapper: GitRepo,
    /// The commits the wrapper has.
    core_from: String,
    nodes_from: String,
}

impl World {
    fn new(nodes_layout: &str, nodes_breaks: bool) -> World {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("w");
        let core = GitRepo::init(root.join("core"));
        core.write("core.py", "VERSION = 1\n");
        let core_from = core.commit("core: first");
        let nodes = GitRepo::init(root.join("nodes"));
        nodes.write("nodes.py", "NODES = ['a']\n");
        let nodes_from = nodes.commit("nodes: first");
        let wrapper = GitRepo::init(root.join("wrapper"));
        wrapper.write("check.py", CHECK_PY);
        wrapper.write("README.md", "# app\n");
        wrapper.commit("feat: the app");
        wrapper.add_submodule(&core, "core", &core_from);
        if nodes_layout == "submodule" {
            wrapper.add_submodule(&nodes, "nodes", &nodes_from);
        } else if nodes_layout == "pinned" {
            // the app pins the pack in a Python dict and its install step
            // has cloned it at the pin
            wrapper.add_clone(&nodes, "nodes", &nodes_from);
            wrapper.write(
                "pins.py",
                format!(
                    "PINS = {{\n    \"other\": (\"https://example.com/other\", \"{}\"),\n    \"nodes\": (\"{}\", \"{nodes_from}\"),\n}}\n",
                    "0".repeat(40),
                    nodes.path.display()
                ),
            );
            wrapper.commit("chore: the nodes clone and its pin");
        } else {
            wrapper.add_clone(&nodes, "nodes", &nodes_from);
            wrapper.write("NODES_PIN.md", format!("upstream commit: {nodes_from}\n"));
            wrapper.commit("chore: the nodes clone and its pin");
        }
        let record_file = if nodes_layout == "pinned" {
            "pins.py"
        } else {
            "NODES_PIN.md"
        };
        core.write("core.py", "VERSION = 2\n");
        core.commit("core: version 2");
        let text = if nodes_breaks {
            "NODES = ['a', 'b']  # BROKEN\n"
        } else {
            "NODES = ['a', 'b']\n"
        };
        nodes.write("nodes.py", text);
        nodes.commit("nodes: add b");
        wrapper.write("README.md", DIRTY_README);
        let toml = format!(
            r#"[project]
name = "app"
root = "wrapper"
state_dir = ".tether"
analysis_dir = "maintenance_analysis"
outputs_dir = "outputs"

[[upstream]]
name = "core"
url = "{}"
path = "core"
layout = "submodule"
track = "branch:main"

[[upstream]]
name = "nodes"
url = "{}"
path = "nodes"
layout = "{nodes_layout}"
track = "branch:main"
record_file = "{record_file}"

[[group]]
name = "stack"
members = ["core", "nodes"]

[baseline]
command = "{{python}} check.py"
timeout = "60s"

[[baseline.case]]
name = "stack"
model = "m"
"#,
            core.path.display(),
            nodes.path.display()
        );
        fs_err::write(root.join("tether.toml"), toml).unwrap();
        World {
            _tmp: tmp,
            root,
            core,
            nodes,
            wrapper,
            core_from,
            nodes_from,
        }
    }

    fn tether(&self) -> Tether {
        Tether::new(&self.root)
    }

    fn head_of(&self, rel: &str) -> String {
        git(&self.wrapper.path.join(rel), &["rev-parse", "HEAD"])
    }

    fn gitlink(&self, rel: &str) -> String {
        let line = self.wrapper.git(&["ls-tree", "HEAD", rel]);
        line.split_whitespace()
            .nth(2)
            .unwrap_or_default()
            .to_owned()
    }

    /// Every file outside `.git` folders, HEAD's tree and branch, `git
    /// status`, and each member checkout's HEAD and status.
    fn live(&self) -> BTreeMap<String, String> {
        let w = &self.wrapper.path;
        let mut out: BTreeMap<String, String> = tree_digest(w)
            .into_iter()
            .filter(|(p, _)| !p.starts_with(".git/") && !p.contains("/.git/"))
            .filter(|(p, _)| p != ".git" && !p.ends_with("/.git"))
            .map(|(p, b)| (p, String::from_utf8_lossy(&b).into_owned()))
            .collect();
        out.insert("<head tree>".into(), git(w, &["ls-tree", "-r", "HEAD"]));
        out.insert("<branch>".into(), git(w, &["symbolic-ref", "-q", "HEAD"]));
        out.insert("<status>".into(), git(w, &["status", "--porcelain"]));
        for m in ["core", "nodes"] {
            out.insert(format!("<{m} head>"), self.head_of(m));
            out.insert(
                format!("<{m} status>"),
                git(&w.join(m), &["status", "--porcelain"]),
            );
            out.insert(
                format!("<{m} refs>"),
                git(&w.join(m), &["for-each-ref", "refs/tether"]),
            );
        }
        out.insert("<refs>".into(), git(w, &["for-each-ref", "refs/tether"]));
        out
    }
}

fn differences(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in a {
        match b.get(k) {
            None => out.push(format!("missing {k}")),
            Some(w) if w != v => out.push(format!("changed {k}: {v:?} -> {w:?}")),
            Some(_) => {}
        }
    }
    for k in b.keys().filter(|k| !a.contains_key(*k)) {
        out.push(format!("extra {k}"));
    }
    out
}

fn update_json(root: &std::path::Path) -> Value {
    let dirs = update_dirs(root);
    assert_eq!(dirs.len(), 1, "expected one update folder, got {dirs:?}");
    let text = fs_err::read_to_string(dirs[0].join("update.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_group_of_two_submodules_promotes_both_in_one_transaction() {
    let w = World::new("submodule", false);
    let out = w.tether().run(&["update", "--upstream", "stack"]);
    out.assert_code(0);
    assert!(
        out.stdout.starts_with("stack: promoted"),
        "stdout:\n{}",
        out.stdout
    );
    // two staging commits on one branch, in the group's order
    let subjects = w.wrapper.git(&["log", "--format=%s", "-3"]);
    let subjects: Vec<&str> = subjects.lines().collect();
    let (core_to, nodes_to) = (w.core.head(), w.nodes.head());
    assert_eq!(
        subjects[..2],
        [
            format!("chore(upstream): bump nodes to {}", &nodes_to[..7]),
            format!("chore(upstream): bump core to {}", &core_to[..7]),
        ]
    );
    assert_eq!(w.gitlink("core"), core_to);
    assert_eq!(w.gitlink("nodes"), nodes_to);
    assert_eq!(w.head_of("core"), core_to);
    assert_eq!(w.head_of("nodes"), nodes_to);
    // the user's uncommitted work is kept
    assert_eq!(w.wrapper.read("README.md"), DIRTY_README);

    let report = update_json(&w.root);
    assert_eq!(report["group"], "stack");
    let members = report["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    for (m, name, to) in [
        (&members[0], "core", &core_to),
        (&members[1], "nodes", &nodes_to),
    ] {
        assert_eq!(m["upstream"], name);
        assert_eq!(m["moves"], true);
        assert_eq!(m["to"]["id"], to.as_str());
        assert!(m["staged_commit"].is_string(), "{m:#}");
        assert!(m["analysis_dir"].is_string(), "{m:#}");
        assert_eq!(m["checkout"]["to"], to.as_str());
    }
    // one baseline run for the whole group
    let dir = &update_dirs(&w.root)[0];
    let runs: Vec<String> = fs_err::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("baseline-"))
        .collect();
    assert_eq!(runs, ["baseline-initial"]);
    let md = fs_err::read_to_string(dir.join("update_report.md")).unwrap();
    assert!(md.contains("## Member `core` (submodule)"), "{md}");
    assert!(md.contains("## Member `nodes` (submodule)"), "{md}");

    // nothing left to do: both members stay
    let again = w.tether().run(&["update", "--upstream", "stack"]);
    again.assert_code(0);
    assert!(again.stdout.contains("nothing to do"), "{}", again.stdout);
}

#[test]
fn a_group_member_that_breaks_the_baseline_rolls_every_member_back() {
    let w = World::new("submodule", true);
    let before = w.live();
    let out = w
        .tether()
        .run(&["update", "--upstream", "stack", "--no-fix"]);
    out.assert_code(i32::from(tether::exit::ROLLED_BACK));
    let diff = differences(&before, &w.live());
    assert!(diff.is_empty(), "the wrapper changed:\n{}", diff.join("\n"));
    assert_eq!(w.gitlink("core"), w.core_from);
    assert_eq!(w.gitlink("nodes"), w.nodes_from);
    assert!(!w.root.join(".tether/update/journal.json").exists());
}

#[test]
fn update_without_a_name_runs_the_group_as_one() {
    let w = World::new("clone", false);
    let out = w.tether().run(&["update"]);
    out.assert_code(0);
    assert!(out.stdout.starts_with("stack: promoted"), "{}", out.stdout);
    assert_eq!(w.gitlink("core"), w.core.head());
    // the clone moves, and its pin in the record file with it
    assert_eq!(w.head_of("nodes"), w.nodes.head());
    let pin = w.wrapper.read("NODES_PIN.md");
    assert!(
        pin.starts_with(&format!("upstream commit: {}\n", w.nodes.head())),
        "{pin}"
    );
    let report = update_json(&w.root);
    assert!(
        report["members"][1]["staged_commit"].is_string(),
        "{report:#}"
    );
    assert_eq!(
        report["members"][1]["checkout"]["to"],
        w.nodes.head().as_str()
    );
}

/// Runs `tether args` with `FAILPOINTS=<fp>=return` and asserts it was
/// killed by SIGKILL there.
#[track_caller]
fn killed_at(t: &Tether, args: &[&str], fp: &str) {
    let out = t
        .cmd()
        .args(args)
        .env("FAILPOINTS", format!("{fp}=return"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.signal(),
        Some(9),
        "`tether {}` was not killed at {fp}: {}\n--- stderr\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A kill at every failpoint of a group update (a submodule and a clone
/// member) is recovered by the next command: the wrapper, both gitlinks
/// and both checkouts are byte-identical to before the update, or fully
/// promoted once the wrapper's branch (the commit point) moved.
#[test]
fn kill_9_at_every_failpoint_of_a_group_update_is_recovered() {
    kill_9_at_every_failpoint("clone");
}

/// The same with the pack pinned by SHA in the app's Python dict: the pin
/// file is byte-identical after recovery, or holds exactly the new pin.
#[test]
fn kill_9_at_every_failpoint_of_a_group_update_with_a_pinned_member_is_recovered() {
    kill_9_at_every_failpoint("pinned");
}

fn kill_9_at_every_failpoint(nodes_layout: &str) {
    let mut cases = 0;
    for &fp in tether::failpoint::ALL {
        let promoted_end = match fp {
            f if f.starts_with("rollback.") || f.starts_with("recover.") => continue,
            f if f.starts_with("update.continue.") || f.starts_with("update.abort.") => continue,
            // reached only with an approval gate (tests/it/gate.rs); held
            // open by a sleep, not killed (tests/it/watch.rs)
            f if f.starts_with("gate.") || f.starts_with("process.") => continue,
            // no fix runs: the baseline passes
            "update.fix.committed" => continue,
            "promote.wrapper.head-moved" | "promote.promoted" => true,
            _ => false,
        };
        let w = World::new(nodes_layout, false);
        let before = w.live();
        let t = w.tether();
        killed_at(&t, &["update", "--upstream", "stack"], fp);
        let out = t.run(&["check", "--no-fetch"]);
        out.assert_code(0);
        let now = w.live();
        if promoted_end {
            assert_eq!(w.gitlink("core"), w.core.head(), "killed at {fp}");
            assert_eq!(w.head_of("core"), w.core.head(), "killed at {fp}");
            assert_eq!(w.head_of("nodes"), w.nodes.head(), "killed at {fp}");
            for k in [
                "<status>",
                "<branch>",
                "<refs>",
                "<core status>",
                "<nodes status>",
                "<core refs>",
                "<nodes refs>",
                "README.md",
            ] {
                assert_eq!(before[k], now[k], "killed at {fp}: {k}");
            }
            if nodes_layout == "pinned" {
                assert_eq!(
                    now["pins.py"],
                    before["pins.py"].replace(&w.nodes_from, &w.nodes.head()),
                    "killed at {fp}: the pin file holds exactly the new pin"
                );
            }
        } else {
            let diff = differences(&before, &now);
            assert!(
                diff.is_empty(),
                "killed at {fp}: expected the wrapper as before, found:\n{}\n(recovery said: {})",
                diff.join("\n"),
                out.stderr
            );
        }
        assert!(
            !w.root.join(".tether/update/journal.json").exists(),
            "killed at {fp}: the journal is still open"
        );
        cases += 1;
    }
    assert!(cases >= 12, "{cases} failpoints");
}

#[test]
fn check_shows_a_group_as_one_table() {
    let w = World::new("clone", false);
    let out = w.tether().run(&["check"]);
    out.assert_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("group stack  (2 members, 2 behind"),
        "{}",
        out.stdout
    );
    let header: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        header[..5],
        ["member", "layout", "current", "target", "behind"]
    );
    let core: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(
        core[..5],
        [
            "core",
            "submodule",
            &w.core_from[..7],
            &w.core.head()[..7],
            "1"
        ],
        "{}",
        out.stdout
    );
    assert!(lines[2].contains("adoptable:"), "{}", out.stdout);
    let nodes: Vec<&str> = lines[3].split_whitespace().collect();
    assert_eq!(nodes[..2], ["nodes", "clone"], "{}", out.stdout);

    let json = w.tether().run(&["check", "--json", "--no-fetch"]);
    json.assert_code(0);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["group"], "stack", "{v:#}");
    assert_eq!(v["members"][0]["name"], "core");
    assert_eq!(v["members"][1]["behind"], 1);
}

/// `adopt-last-good` in a group: `nodes`'s newest commit breaks the
/// baseline; the group bisect finds `nodes` (each member alone: `core`
/// passes, `nodes` fails), then its first bad commit, and adopts `core` at
/// its target and `nodes` at its last good commit, held back.
#[test]
fn an_unfixable_group_update_is_bisected_to_the_member_and_commit() {
    let w = World::new("submodule", false);
    let nodes_good = w.nodes.head();
    w.nodes
        .write("nodes.py", "NODES = ['a', 'b', 'c']  # BROKEN\n");
    let nodes_bad = w.nodes.commit("nodes: add c");
    let cfg = w.root.join("tether.toml");
    let mut toml = fs_err::read_to_string(&cfg).unwrap();
    toml.push_str("\n[update]\non_unfixable = \"adopt-last-good\"\n");
    fs_err::write(&cfg, toml).unwrap();

    let out = w
        .tether()
        .run(&["update", "--upstream", "stack", "--no-fix", "--json"]);
    out.assert_code(0);
    let r: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(r["outcome"]["kind"], "promoted", "{r:#}");
    assert_eq!(w.gitlink("core"), w.core.head());
    assert_eq!(w.gitlink("nodes"), nodes_good);
    assert_eq!(w.head_of("nodes"), nodes_good);
    assert_eq!(r["held_back"]["at"]["id"], nodes_good.as_str(), "{r:#}");
    assert_eq!(r["held_back"]["first_bad"]["id"], nodes_bad.as_str());
    assert_eq!(r["bisect"]["bad"]["id"], nodes_bad.as_str());
    let notes = r["notes"].to_string();
    assert!(notes.contains("the culprit is `nodes`"), "{notes}");
    let gb = &r["group_bisect"];
    assert_eq!(
        gb["culprits"][0]["members"],
        serde_json::json!(["nodes"]),
        "{gb:#}"
    );
    assert_eq!(gb["culprits"][0]["first_bad"]["id"], nodes_bad.as_str());
    assert_eq!(gb["culprits"].as_array().unwrap().len(), 1, "{gb:#}");
    let md_path = std::path::Path::new(r["report_dir"].as_str().unwrap()).join("update_report.md");
    let md = fs_err::read_to_string(md_path).unwrap();
    assert!(md.contains("## Group bisect"), "{md}");
    assert!(md.contains("- Culprit: `nodes`, first bad commit"), "{md}");
    let notes = gb["probes"].to_string();
    assert!(
        notes.contains("`core` at target, the others at their current commits: passes"),
        "{notes}"
    );
    assert!(
        notes.contains("`nodes` at target, the others at their current commits: fails"),
        "{notes}"
    );
    assert_eq!(r["failed_target"]["outcome"]["kind"], "rolled-back");
    // held back: the next update leaves `nodes` where it is
    let again = w.tether().run(&["update", "--upstream", "stack"]);
    again.assert_code(0);
    assert!(again.stdout.contains("held back"), "{}", again.stdout);
    assert_eq!(w.gitlink("nodes"), nodes_good);
}

/// Two members that pass alone but fail together: the pair is the culprit;
/// the bisect inside the first member (the other at its target) finds its
/// first bad commit, so `core` stays at its last good commit (its current
/// one, held back) while `nodes` moves to its target.
#[test]
fn a_group_failing_only_in_combination_holds_back_the_first_member() {
    let w = World::new("submodule", false);
    w.wrapper.write(
        "check.py",
        "import pathlib, sys\ncore = pathlib.Path('core/core.py').read_text()\nnodes = pathlib.Path('nodes/nodes.py').read_text()\nif 'VERSION = 2' in core and \"'b'\" in nodes:\n    sys.exit('core 2 and nodes b disagree')\nprint('ok')\n",
    );
    w.wrapper.git(&["add", "check.py"]);
    w.wrapper
        .git(&["commit", "-q", "-m", "test: a check that needs both"]);
    let cfg = w.root.join("tether.toml");
    let mut toml = fs_err::read_to_string(&cfg).unwrap();
    toml.push_str("\n[update]\non_unfixable = \"adopt-last-good\"\n");
    fs_err::write(&cfg, toml).unwrap();

    let out = w
        .tether()
        .run(&["update", "--upstream", "stack", "--no-fix", "--json"]);
    out.assert_code(0);
    let r: Value = serde_json::from_str(&out.stdout).unwrap();
    let gb = &r["group_bisect"];
    assert_eq!(
        gb["culprits"][0]["members"],
        serde_json::json!(["core", "nodes"]),
        "{gb:#}"
    );
    let probes = gb["probes"].to_string();
    assert!(
        probes.contains("`core` at target, the others at their current commits: passes"),
        "{probes}"
    );
    assert!(
        probes.contains("`nodes` at target, the others at their current commits: passes"),
        "{probes}"
    );
    assert_eq!(
        gb["culprits"][0]["first_bad"]["id"],
        w.core.head().as_str(),
        "{gb:#}"
    );
    // core's last good commit is its current one: it stays; nodes moves
    assert_eq!(w.gitlink("core"), w.core_from);
    assert_eq!(w.gitlink("nodes"), w.nodes.head());
    assert_eq!(r["outcome"]["kind"], "promoted", "{r:#}");
    assert_eq!(r["held_back"]["at"]["id"], w.core_from.as_str(), "{r:#}");
}
