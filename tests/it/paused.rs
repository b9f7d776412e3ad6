//! An update paused on conflicts, with the real binary: a vendored wrapper
//! whose local edit and the upstream change touch the same line pauses
//! (exit 16, the staged tree and the two commands printed, the report, the
//! journal left for the next command); a new update and a `--continue` with
//! markers left are refused; a scripted manual resolution then `--continue`
//! promotes; `--abort` leaves the live wrapper byte-identical; `kill -9` at
//! each failpoint of `--continue` and `--abort` is recovered; without a
//! paused update both exit 2; and an external fixer taking the wrapper's
//! side resolves the conflict from its context (hunks, base/ours/theirs).

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::git::git;
use crate::support::sample::OK_BASELINE;
use crate::support::sample::Sample;
use crate::support::take_ours;
use crate::support::{Tether, tree_digest, update_dirs};

const CONFLICTED: &str = "Wan2GP/wgp.py";
const LOCAL_LINE: &str = "def load_models(model_type, profile=5):  # local";

/// The vendored sample whose local edit of `wgp.py` conflicts with the
/// upstream's edit of the same line; `extra` goes into the config.
fn conflicted(extra: &str) -> Sample {
    let s = Sample::new("vendored");
    let cfg = s.root.join("tether.toml");
    let mut toml = fs_err::read_to_string(&cfg).unwrap();
    toml.push_str(OK_BASELINE);
    toml.push_str(extra);
    fs_err::write(&cfg, toml).unwrap();
    s.wrapper.write("ok.py", "print('ok')\n");
    s.wrapper.commit("test: baseline script");
    let wgp = s.wrapper.read(CONFLICTED);
    let line = "def load_models(model_type, profile=4):";
    assert_eq!(wgp.matches(line).count(), 1, "{wgp}");
    s.wrapper.write(CONFLICTED, wgp.replace(line, LOCAL_LINE));
    s.wrapper.commit("local: default to profile 5");
    s
}

fn journal(s: &Sample) -> Option<Value> {
    let text = fs_err::read_to_string(s.root.join(".tether/update/journal.json")).ok()?;
    let v: Value = serde_json::from_str(&text).unwrap();
    Some(v["data"].clone())
}

fn staged_dir(s: &Sample) -> PathBuf {
    PathBuf::from(
        journal(s).expect("a paused journal")["staged_dir"]
            .as_str()
            .unwrap(),
    )
}

/// Pauses the update of `conflicted("")` and checks what it says.
fn paused(s: &Sample, t: &Tether) {
    let out = t.run(&["update"]);
    out.assert_code(16);
    assert_eq!(journal(s).unwrap()["state"], "paused");
    let staged = staged_dir(s);
    for want in [
        "paused",
        "the live wrapper is unchanged",
        &format!("staged tree: {}", staged.display()),
        &format!("{CONFLICTED}: conflict markers at line(s) "),
        "tether update --continue",
        "tether update --abort",
    ] {
        assert!(out.stdout.contains(want), "{want:?} in:\n{}", out.stdout);
    }
    let text = fs_err::read_to_string(staged.join(CONFLICTED)).unwrap();
    assert!(text.contains("<<<<<<< wrapper"), "{text}");
}

fn report_dir(root: &Path) -> PathBuf {
    let dirs = update_dirs(root);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.into_iter().next().unwrap()
}

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
        "`tether {}` was not killed at {fp}: {}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn resolve_by_hand(s: &Sample) {
    let path = staged_dir(s).join(CONFLICTED);
    let text = fs_err::read_to_string(&path).unwrap();
    fs_err::write(&path, take_ours(&text)).unwrap();
}

#[test]
fn a_true_conflict_pauses_refuses_markers_and_continue_promotes() {
    let s = conflicted("");
    let t = s.tether();
    let before = tree_digest(&s.wrapper.path);
    paused(&s, &t);
    assert_eq!(tree_digest(&s.wrapper.path), before);
    let report = fs_err::read_to_string(report_dir(&s.root).join("update_report.md")).unwrap();
    assert!(report.contains("## Paused"), "{report}");
    assert!(report.contains("live wrapper is unchanged"), "{report}");

    // a resting state: other commands leave it, a new update refuses
    t.run(&["check", "--no-fetch"]).assert_code(0);
    assert_eq!(journal(&s).unwrap()["state"], "paused");
    let again = t.run(&["update"]);
    again.assert_code(16);
    assert!(
        again.stderr.contains("is paused on conflicts")
            && again.stderr.contains("tether update --continue")
            && again.stderr.contains("tether update --abort"),
        "{}",
        again.stderr
    );
    let health = t.run(&["health", "--json", "--no-probe"]);
    assert!(
        health.stdout.contains("paused on conflicts"),
        "{}",
        health.stdout
    );

    // markers left: refused, naming file and line, still paused
    let text = fs_err::read_to_string(staged_dir(&s).join(CONFLICTED)).unwrap();
    let first = text
        .lines()
        .position(|l| l.starts_with("<<<<<<< "))
        .unwrap()
        + 1;
    let refused = t.run(&["update", "--continue"]);
    refused.assert_code(16);
    assert!(
        refused.stderr.contains(&format!("{CONFLICTED}:{first}")),
        "{}",
        refused.stderr
    );
    assert_eq!(journal(&s).unwrap()["state"], "paused");
    assert_eq!(tree_digest(&s.wrapper.path), before);

    resolve_by_hand(&s);
    let out = t.run(&["update", "--continue"]);
    out.assert_code(0);
    assert!(out.stdout.contains("promoted"), "{}", out.stdout);
    let live = s.wrapper.read(CONFLICTED);
    assert!(live.contains(LOCAL_LINE), "{live}");
    assert!(!live.contains("<<<<<<<"), "{live}");
    // the clean part of the merge came along: a hunk of the same file, a
    // file the upstream added, one it renamed away
    assert!(live.contains("frame_num=81"), "{live}");
    assert!(
        s.wrapper
            .path
            .join("Wan2GP/shared/utils/video.py")
            .is_file()
    );
    assert!(
        !s.wrapper
            .path
            .join("Wan2GP/defaults/vace_14B.json")
            .exists()
    );
    assert!(
        s.wrapper
            .path
            .join("Wan2GP/defaults/vace_14B_v2.json")
            .is_file()
    );
    assert_eq!(git(&s.wrapper.path, &["status", "--porcelain"]), "");
    let subject = git(&s.wrapper.path, &["log", "-1", "--format=%s"]);
    assert!(subject.starts_with("chore(upstream): bump"), "{subject}");
    assert!(journal(&s).is_none());
    let json: Value = serde_json::from_str(
        &fs_err::read_to_string(report_dir(&s.root).join("update.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["outcome"]["kind"], "promoted");
    assert_eq!(json["initial_run"]["cases"][0]["status"], "passed");
}

#[test]
fn abort_leaves_the_live_wrapper_byte_identical() {
    let s = conflicted("");
    let t = s.tether();
    let before = tree_digest(&s.wrapper.path);
    paused(&s, &t);
    let staged = staged_dir(&s);
    t.run(&["update", "--abort"]).assert_code(0);
    assert_eq!(tree_digest(&s.wrapper.path), before);
    assert!(journal(&s).is_none());
    assert!(!staged.exists());
    for (args, word) in [
        (["update", "--abort"], "abort"),
        (["update", "--continue"], "continue"),
    ] {
        let out = t.run(&args);
        out.assert_code(2);
        assert!(
            out.stderr.contains(&format!("no paused update to {word}")),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn kill_9_in_continue_or_abort_is_recovered() {
    // killed after the resolution commit, before it is journaled: still paused
    let s = conflicted("");
    let t = s.tether();
    let before = tree_digest(&s.wrapper.path);
    paused(&s, &t);
    resolve_by_hand(&s);
    killed_at(&t, &["update", "--continue"], "update.continue.committed");
    t.run(&["check", "--no-fetch"]).assert_code(0);
    assert_eq!(tree_digest(&s.wrapper.path), before);
    assert_eq!(journal(&s).unwrap()["state"], "paused");
    t.run(&["update", "--continue"]).assert_code(0);
    assert!(s.wrapper.read(CONFLICTED).contains(LOCAL_LINE));

    // killed after the baseline: the next command rolls it back
    let s = conflicted("");
    let t = s.tether();
    let before = tree_digest(&s.wrapper.path);
    paused(&s, &t);
    resolve_by_hand(&s);
    killed_at(&t, &["update", "--continue"], "update.continue.tested");
    let out = t.run(&["check", "--no-fetch"]);
    out.assert_code(0);
    assert!(out.stderr.contains("--continue"), "{}", out.stderr);
    assert_eq!(tree_digest(&s.wrapper.path), before);
    assert!(journal(&s).is_none());

    // killed in the abort: the next command finishes it
    let s = conflicted("");
    let t = s.tether();
    let before = tree_digest(&s.wrapper.path);
    paused(&s, &t);
    killed_at(&t, &["update", "--abort"], "update.abort.started");
    t.run(&["check", "--no-fetch"]).assert_code(0);
    assert_eq!(tree_digest(&s.wrapper.path), before);
    assert!(journal(&s).is_none());
}

#[test]
fn an_external_fixer_resolves_the_conflict_from_its_context() {
    let fixer_dir = tempfile::tempdir().unwrap();
    let fixer = fixer_dir.path().join("fixer.py");
    fs_err::write(
        &fixer,
        r#"import json, os, shutil, sys
ctx = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
ctx_dir = os.path.dirname(ctx)
shutil.copy(ctx, os.path.join(here, "seen_context.md"))
shutil.copy(os.path.join(ctx_dir, "conflicts.json"), os.path.join(here, "seen_conflicts.json"))
for c in json.load(open(os.path.join(ctx_dir, "conflicts.json"))):
    for side in ("base", "ours", "theirs"):
        assert os.path.isfile(os.path.join(ctx_dir, c[side])), c
    shutil.copy(os.path.join(ctx_dir, c["ours"]), c["path"])
"#,
    )
    .unwrap();
    let extra = format!(
        "\n[fix]\nexternal_command = \"{{python}} {} {{context_file}}\"\nexternal_timeout = \"60s\"\n",
        fixer.display()
    );
    let s = conflicted(&extra);
    let out = s.tether().run(&["update"]);
    out.assert_code(0);
    let live = s.wrapper.read(CONFLICTED);
    assert!(live.contains(LOCAL_LINE), "{live}");
    assert!(!live.contains("<<<<<<<"), "{live}");
    let seen: Value = serde_json::from_str(
        &fs_err::read_to_string(fixer_dir.path().join("seen_conflicts.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(seen[0]["path"], CONFLICTED);
    let hunk = &seen[0]["hunks"][0];
    assert!(
        hunk[0].as_u64().unwrap() < hunk[1].as_u64().unwrap(),
        "{seen}"
    );
    let context = fs_err::read_to_string(fixer_dir.path().join("seen_context.md")).unwrap();
    assert!(
        context.contains("# tether: resolve merge conflicts"),
        "{context}"
    );
    assert!(context.contains(&format!("{CONFLICTED}: ")), "{context}");
    assert!(context.contains("conflict at lines "), "{context}");
    assert!(journal(&s).is_none());
}

#[test]
fn the_service_skips_the_update_job_while_an_update_is_paused() {
    use crate::watch::{Watch, runs, state, wait_for};
    use std::time::Duration;
    let s = conflicted("\n[schedule]\nupdate = \"* * * * * *\"\n\n[service]\nlisten = \"off\"\n");
    let t = s.tether();
    let before = tree_digest(&s.wrapper.path);
    paused(&s, &t);
    let mut w = Watch::start(&s.root);
    wait_for(Duration::from_secs(60), "an update job run", || {
        runs(&s.root, "update") >= 1
    });
    assert_eq!(w.stop(Duration::from_secs(30)), 0);
    let st = state(&s.root).unwrap().to_string();
    assert!(
        st.contains("update skipped") && st.contains("is paused on conflicts"),
        "{st}"
    );
    assert!(w.log().contains("is paused on conflicts"), "{}", w.log());
    assert_eq!(journal(&s).unwrap()["state"], "paused");
    assert_eq!(tree_digest(&s.wrapper.path), before);
}

#[test]
fn a_clash_with_uncommitted_live_changes_still_rolls_back() {
    // not a merge conflict: nothing to resolve in the staged tree
    let s = conflicted("");
    s.wrapper.git(&["revert", "--no-edit", "HEAD"]);
    s.wrapper.write(
        "Wan2GP/README.md",
        "# my uncommitted notes on the upstream\n",
    );
    let before = tree_digest(&s.wrapper.path);
    let out = s.tether().run(&["update"]);
    out.assert_code(7);
    assert!(
        out.stdout.contains("Wan2GP/README.md"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(journal(&s).is_none());
    assert_eq!(tree_digest(&s.wrapper.path), before);
}
