//! The approval gate (`update.promote`) with the real binary on the
//! vendored sample: a parked update approved and promoted exactly as
//! tested, an approval refused after the wrapper moved, a rejection that
//! holds the upstream until it moves, `kill -9` while parking and while
//! approving (the update is still listed afterwards), and unknown or
//! expired ids (exit 2).

use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use serde_json::Value;

use crate::support::git::git;
use crate::support::sample::{OK_BASELINE, OK_PY, Sample};
use crate::support::{Tether, tree_digest};

/// `update` parked the update (`exit::PARKED`).
const PARKED: i32 = 19;
/// `approve` refused: the live wrapper moved (`exit::APPROVAL_REFUSED`).
const REFUSED: i32 = 20;

/// The vendored sample with one passing case and `update.promote =
/// "approve-all"`.
fn gated() -> Sample {
    let s = Sample::new("vendored");
    let cfg = s.root.join("tether.toml");
    let mut toml = fs_err::read_to_string(&cfg).unwrap();
    toml.push_str(OK_BASELINE);
    toml.push_str("\n[update]\npromote = \"approve-all\"\nparked_expiry = \"2d\"\n");
    fs_err::write(&cfg, toml).unwrap();
    s.wrapper.write("ok.py", OK_PY);
    s.wrapper.commit("test: baseline script");
    s
}

fn pending(t: &Tether) -> Vec<Value> {
    let out = t.run(&["pending", "--json"]);
    out.assert_code(0);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    v["updates"].as_array().unwrap().clone()
}

/// Parks the one update and returns its id.
fn park(s: &Sample) -> String {
    let out = s.tether().run(&["update"]);
    out.assert_code(PARKED);
    assert!(out.stdout.contains("parked for approval"), "{}", out.stdout);
    let list = pending(&s.tether());
    assert_eq!(list.len(), 1, "{list:#?}");
    list[0]["id"].as_str().unwrap().to_owned()
}

fn parked_file(root: &Path, id: &str) -> Value {
    let path = root.join(format!(".tether/update/parked/{id}.json"));
    let v: Value = serde_json::from_str(&fs_err::read_to_string(path).unwrap()).unwrap();
    v["data"].clone()
}

#[test]
fn a_parked_update_is_approved_and_promoted_exactly_as_tested() {
    let s = gated();
    let w = &s.wrapper.path;
    let head_before = s.wrapper.head();
    let before = tree_digest(w);
    let id = park(&s);
    // parked: the live wrapper is untouched, the journal is in the parked file
    assert_eq!(tree_digest(w), before);
    assert!(!s.root.join(".tether/update/journal.json").exists());
    let p = &pending(&s.tether())[0];
    assert_eq!(p["upstream"], "sample");
    assert_eq!(p["to"], s.upstream.head());
    assert_eq!(p["reasons"][0], "update.promote = \"approve-all\"");
    assert!(
        p["baseline"][0].as_str().unwrap().starts_with("ok: passed"),
        "{p:#}"
    );
    let staged = parked_file(&s.root, &id)["journal"]["staged_head"]
        .as_str()
        .unwrap()
        .to_owned();

    // an upstream with a parked update is not staged again
    let again = s.tether().run(&["update"]);
    again.assert_code(0);
    assert!(
        again
            .stdout
            .contains(&format!("update {id} of `sample` is parked")),
        "{}",
        again.stdout
    );
    assert_eq!(pending(&s.tether()).len(), 1);

    let out = s.tether().run(&["approve", &id, "--json"]);
    out.assert_code(0);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["outcome"]["kind"], "promoted");
    assert!(report["approval"]["user"].is_string(), "{report:#}");
    assert!(report["approval"]["host"].is_string(), "{report:#}");
    // the wrapper is at the very commit the baseline passed on
    assert_eq!(s.wrapper.head(), staged);
    assert_ne!(s.wrapper.head(), head_before);
    assert_eq!(git(w, &["status", "--porcelain"]), "");
    assert!(pending(&s.tether()).is_empty());
    // the update's record says who approved; the parked report is kept
    let dir = Path::new(report["report_dir"].as_str().unwrap());
    let written: Value =
        serde_json::from_str(&fs_err::read_to_string(dir.join("update.json")).unwrap()).unwrap();
    assert_eq!(written["approval"], report["approval"]);
    assert!(dir.join("parked-update.json").is_file());
    let history =
        fs_err::read_to_string(s.root.join(format!(".tether/update/history/{id}.json"))).unwrap();
    assert!(history.contains("approved by "), "{history}");
    // a second approval of the same id: it is gone
    s.tether().run(&["approve", &id]).assert_code(2);
}

#[test]
fn an_approval_is_refused_after_the_wrapper_moved() {
    let s = gated();
    let id = park(&s);
    s.wrapper.write("NOTES.md", "a person's change\n");
    let moved = s.wrapper.commit("docs: notes");
    let out = s.tether().run(&["approve", &id]);
    out.assert_code(REFUSED);
    assert!(
        out.stderr
            .contains("the live wrapper moved since it was tested"),
        "{}",
        out.stderr
    );
    assert_eq!(s.wrapper.head(), moved);
    // still parked, for a rejection
    assert_eq!(pending(&s.tether()).len(), 1);
}

#[test]
fn a_rejected_update_holds_the_upstream_until_it_moves() {
    let s = gated();
    let before = tree_digest(&s.wrapper.path);
    let id = park(&s);
    let out = s.tether().run(&["reject", &id]);
    out.assert_code(0);
    assert!(out.stdout.contains("rejected by "), "{}", out.stdout);
    assert_eq!(tree_digest(&s.wrapper.path), before);
    assert!(pending(&s.tether()).is_empty());
    // the same target is not staged again
    let again = s.tether().run(&["update"]);
    again.assert_code(0);
    assert!(
        again.stdout.contains("was rejected by ")
            && again.stdout.contains("waiting for the upstream to move"),
        "{}",
        again.stdout
    );
    assert!(pending(&s.tether()).is_empty());
    // the upstream moves: the hold ends and the new target is tested (and parked)
    s.upstream.write("NEWS.md", "more\n");
    let tip = s.upstream.commit("docs: news");
    s.tether().run(&["update"]).assert_code(PARKED);
    let list = pending(&s.tether());
    assert_eq!(list[0]["to"], tip);
}

#[test]
fn a_kill_9_while_parking_or_approving_leaves_the_update_parked() {
    let s = gated();
    let t = s.tether();
    let out = t
        .cmd()
        .arg("update")
        .env("FAILPOINTS", "gate.parked.saved=return")
        .output()
        .unwrap();
    if tether::failpoint::ENABLED {
        assert_eq!(out.status.signal(), Some(9), "{out:?}");
        // both the parked file and the journal are there; the parked file wins
        assert!(s.root.join(".tether/update/journal.json").exists());
    }
    let list = pending(&t);
    assert_eq!(list.len(), 1, "{list:#?}");
    let id = list[0]["id"].as_str().unwrap().to_owned();
    // recovery (any command that takes the lock) keeps it parked
    t.run(&["check"]).assert_code(0);
    assert!(!s.root.join(".tether/update/journal.json").exists());
    assert_eq!(pending(&t).len(), 1);

    let out = t
        .cmd()
        .args(["approve", &id])
        .env("FAILPOINTS", "gate.approve.journaled=return")
        .output()
        .unwrap();
    if tether::failpoint::ENABLED {
        assert_eq!(out.status.signal(), Some(9), "{out:?}");
        assert_eq!(pending(&t).len(), 1);
        t.run(&["approve", &id]).assert_code(0);
    }
    assert!(pending(&t).is_empty());
    assert_eq!(git(&s.wrapper.path, &["status", "--porcelain"]), "");
}

#[test]
fn unknown_and_expired_ids_are_usage_errors() {
    let s = gated();
    let out = s.tether().run(&["approve", "no-such-update"]);
    out.assert_code(2);
    assert!(
        out.stderr
            .contains("no parked update `no-such-update` (none is parked)"),
        "{}",
        out.stderr
    );
    s.tether().run(&["reject", "../escape"]).assert_code(2);
    let id = park(&s);
    // three days later the two-day expiry has passed
    let later = Tether {
        cwd: s.root.clone(),
        now: s.tether().now.map(|n| n + 3 * 24 * 3600),
    };
    let out = later.run(&["approve", &id]);
    out.assert_code(2);
    assert!(out.stderr.contains("expired"), "{}", out.stderr);
    assert!(pending(&later).is_empty());
    assert_eq!(git(&s.wrapper.path, &["status", "--porcelain"]), "");
}
