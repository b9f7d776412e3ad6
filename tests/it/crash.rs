//! Crash safety, proven the hard way: for every named failpoint of the
//! update path (`tether::failpoint::ALL`), the real `tether update` binary
//! kills itself there with SIGKILL (`FAILPOINTS=<name>=return`), and the next
//! command must find the live wrapper either exactly as it was (files, HEAD,
//! branch, index, the user's uncommitted work) or exactly promoted, with a
//! clean `git status` apart from the user's own changes, no `refs/tether/*`
//! and no temporary files left, after which a further `tether update` works.
//! Recovery and rollback are killed at their own failpoints too, and the
//! command after that must still finish the job. All three layouts.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;

use crate::support::git::git;
use crate::support::sample::{NEEDS_REF_BASELINE, NEEDS_REF_PY, Sample};
use crate::support::{Tether, tree_digest};

// the dev-dependency on tether itself builds the tests with failpoints
const _: () = assert!(tether::failpoint::ENABLED);

const DIRTY_README: &str = "# my notes, not committed\n";
const UNTRACKED: &str = "scratch/notes.txt";

/// How a kill at a failpoint must end, once the next command recovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// As before the update.
    Before,
    /// Fully promoted.
    Promoted,
}

/// The sample with the fix-needing baseline and the user's uncommitted work.
fn world(layout: &str) -> Sample {
    let s = Sample::new(layout);
    let cfg = s.root.join("tether.toml");
    let mut toml = fs_err::read_to_string(&cfg).unwrap();
    toml.push_str(NEEDS_REF_BASELINE);
    fs_err::write(&cfg, toml).unwrap();
    s.wrapper.write("needs_ref.py", NEEDS_REF_PY);
    s.wrapper.commit("test: baseline script");
    s.wrapper.write("README.md", DIRTY_README);
    s.wrapper.write(UNTRACKED, "remember the milk\n");
    s
}

/// What "the live wrapper" is, for comparing: every file outside `.git`
/// (the upstream checkout's included), HEAD's tree and branch in the
/// wrapper and the upstream checkout, and both `git status`.
#[derive(Debug, PartialEq, Eq)]
struct Live {
    files: BTreeMap<String, Vec<u8>>,
    head_tree: String,
    branch: String,
    status: String,
    upstream_head: Option<String>,
    upstream_status: Option<String>,
}

fn live(s: &Sample) -> Live {
    let w = &s.wrapper.path;
    // `.gitmodules` names the upstream by its temp-dir path: compare
    // worlds built in different temp dirs with that path masked
    let root = s.root.to_string_lossy().into_owned();
    let mask = |bytes: Vec<u8>| match String::from_utf8(bytes) {
        Ok(text) => text.replace(&root, "<ROOT>").into_bytes(),
        Err(e) => e.into_bytes(),
    };
    let files = tree_digest(w)
        .into_iter()
        .filter(|(p, _)| !p.starts_with(".git/") && !p.contains("/.git/") && p != ".git")
        .filter(|(p, _)| !p.ends_with("/.git"))
        .map(|(p, b)| (p, mask(b)))
        .collect();
    let up = w.join("Wan2GP");
    let is_repo = up.join(".git").exists();
    Live {
        files,
        // HEAD's tree but `.gitmodules` (its bytes are compared above)
        head_tree: git(w, &["ls-tree", "-r", "HEAD"])
            .lines()
            .filter(|l| !l.ends_with("\t.gitmodules"))
            .collect::<Vec<_>>()
            .join("\n"),
        branch: git(w, &["symbolic-ref", "-q", "HEAD"]),
        status: git(w, &["status", "--porcelain"]),
        upstream_head: is_repo.then(|| git(&up, &["rev-parse", "HEAD"])),
        upstream_status: is_repo.then(|| git(&up, &["status", "--porcelain"])),
    }
}

/// The differences between two views, in words.
fn differences(a: &Live, b: &Live) -> Vec<String> {
    let mut out = Vec::new();
    for (p, bytes) in &a.files {
        match b.files.get(p) {
            None => out.push(format!("missing {p}")),
            Some(other) if other != bytes => out.push(format!("changed {p}")),
            Some(_) => {}
        }
    }
    for p in b.files.keys().filter(|p| !a.files.contains_key(*p)) {
        out.push(format!("extra {p}"));
    }
    for (what, x, y) in [
        ("HEAD tree", &a.head_tree, &b.head_tree),
        ("branch", &a.branch, &b.branch),
        ("status", &a.status, &b.status),
    ] {
        if x != y {
            out.push(format!("{what}: {x:?} vs {y:?}"));
        }
    }
    if a.upstream_head != b.upstream_head {
        out.push(format!(
            "upstream HEAD: {:?} vs {:?}",
            a.upstream_head, b.upstream_head
        ));
    }
    if a.upstream_status != b.upstream_status {
        out.push(format!(
            "upstream status: {:?} vs {:?}",
            a.upstream_status, b.upstream_status
        ));
    }
    out
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
        "`tether {}` was not killed at {fp}: {}\n--- stdout\n{}\n--- stderr\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Everything a recovered wrapper must satisfy besides its content.
#[track_caller]
fn assert_tidy(s: &Sample, context: &str) {
    let w = &s.wrapper.path;
    assert_eq!(
        fs_err::read_to_string(w.join("README.md")).unwrap(),
        DIRTY_README,
        "{context}: the user's modified README"
    );
    assert_eq!(
        fs_err::read_to_string(w.join(UNTRACKED)).unwrap(),
        "remember the milk\n",
        "{context}: the user's untracked file"
    );
    let mut status: Vec<String> = git(w, &["status", "--porcelain"])
        .lines()
        .map(|l| l.trim().to_owned())
        .collect();
    status.sort();
    assert_eq!(
        status,
        ["?? scratch/", "M README.md"],
        "{context}: git status of the wrapper"
    );
    let refs = git(w, &["for-each-ref", "refs/tether"]);
    assert_eq!(
        refs, "",
        "{context}: tether's temporary refs in the wrapper"
    );
    let up = w.join("Wan2GP");
    if up.join(".git").exists() {
        assert_eq!(
            git(&up, &["status", "--porcelain"]),
            "",
            "{context}: upstream checkout status"
        );
        assert_eq!(
            git(&up, &["for-each-ref", "refs/tether"]),
            "",
            "{context}: tether's temporary refs in the upstream checkout"
        );
    }
    let temps: Vec<String> = tree_digest(w)
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p.contains(".tether-tmp"))
        .collect();
    assert!(
        temps.is_empty(),
        "{context}: temporary files left: {temps:?}"
    );
    assert!(
        !s.root.join(".tether/update/journal.json").exists(),
        "{context}: the journal is still open"
    );
}

/// Kills `tether update` at `fp` (and, when given, the next command's
/// recovery at `recovery_fp`), then checks the command after that leaves
/// the wrapper as `end` says and a further update promotes.
fn crash_case(layout: &str, fp: &str, recovery_fp: Option<&str>, end: End, promoted: &Live) {
    let context = match recovery_fp {
        Some(r) => format!("{layout}: killed at {fp}, recovery killed at {r}"),
        None => format!("{layout}: killed at {fp}"),
    };
    let s = world(layout);
    let t = s.tether();
    let before = live(&s);
    killed_at(&t, &["update"], fp);
    let journaled = s.root.join(".tether/update/journal.json").exists();
    if let Some(r) = recovery_fp {
        killed_at(&t, &["check", "--no-fetch"], r);
    }
    let out = t.run(&["check", "--no-fetch"]);
    out.assert_code(0);
    // before the journal exists nothing has changed and nothing is said
    assert_eq!(
        out.stderr.contains("was interrupted") || out.stderr.contains("had finished"),
        journaled,
        "{context}: what recovery said: {}",
        out.stderr
    );
    let now = live(&s);
    let expected = match end {
        End::Before => &before,
        End::Promoted => promoted,
    };
    let diff = differences(expected, &now);
    assert!(
        diff.is_empty(),
        "{context}: expected the wrapper {end:?}, found:\n{}\n(recovery said: {})",
        diff.join("\n"),
        out.stderr
    );
    assert_tidy(&s, &context);
    // and a further update works
    let again = t.run(&["update"]);
    again.assert_code(0);
    let diff = differences(promoted, &live(&s));
    assert!(
        diff.is_empty(),
        "{context}: the update after recovery did not promote:\n{}",
        diff.join("\n")
    );
    assert_tidy(&s, &format!("{context}, then updated"));
}

/// The live wrapper after an uninterrupted update of `world(layout)`.
fn promoted(layout: &str) -> Live {
    let s = world(layout);
    s.tether().run(&["update"]).assert_code(0);
    assert_tidy(&s, &format!("{layout}: uninterrupted update"));
    live(&s)
}

/// The failpoints an update of `layout` reaches, with how a kill there ends.
fn update_points(layout: &str) -> Vec<(&'static str, End)> {
    let has_checkout = layout != "vendored";
    let mut out = Vec::new();
    for &fp in tether::failpoint::ALL {
        let end = match fp {
            f if f.starts_with("rollback.") || f.starts_with("recover.") => continue,
            // reached only by `update --continue` / `--abort` (tests/it/paused.rs)
            f if f.starts_with("update.continue.") || f.starts_with("update.abort.") => continue,
            // reached only with an approval gate (tests/it/gate.rs)
            f if f.starts_with("gate.") => continue,
            // held open by a sleep, not killed (tests/it/watch.rs)
            f if f.starts_with("process.") => continue,
            f if f.starts_with("promote.upstream.") && !has_checkout => continue,
            // the wrapper's branch (its fix commit) is the commit point
            "promote.wrapper.head-moved" | "promote.promoted" => End::Promoted,
            _ => End::Before,
        };
        out.push((fp, end));
    }
    out
}

fn every_update_failpoint(layout: &str) {
    let promoted = promoted(layout);
    let points = update_points(layout);
    assert!(points.len() >= 12, "{layout}: {points:?}");
    for (fp, end) in points {
        crash_case(layout, fp, None, end, &promoted);
    }
}

#[test]
fn kill_9_at_every_update_failpoint_submodule() {
    every_update_failpoint("submodule");
}

#[test]
fn kill_9_at_every_update_failpoint_clone() {
    every_update_failpoint("clone");
}

#[test]
fn kill_9_at_every_update_failpoint_vendored() {
    every_update_failpoint("vendored");
}

/// Recovery and rollback killed half-way, then finished by the next command.
#[test]
fn kill_9_during_recovery_and_rollback_is_finished_by_the_next_command() {
    let promoted = promoted("submodule");
    let cases = [
        // undoing the wrapper's files, killed half-way through
        (
            "promote.wrapper.files-done",
            "recover.wrapper.files-half",
            End::Before,
        ),
        // undoing the submodule's files, killed half-way through
        (
            "promote.upstream.files-done",
            "recover.upstream.files-half",
            End::Before,
        ),
        (
            "promote.wrapper.index-written",
            "recover.settled",
            End::Before,
        ),
        (
            "promote.wrapper.head-moved",
            "recover.settled",
            End::Promoted,
        ),
        ("update.baseline.tested", "rollback.discarded", End::Before),
        (
            "promote.upstream.head-moved",
            "rollback.journaled",
            End::Before,
        ),
    ];
    for (fp, recovery_fp, end) in cases {
        crash_case("submodule", fp, Some(recovery_fp), end, &promoted);
    }
}

/// The clone layout with a passing baseline and no record file: the wrapper
/// has no commit to promote, so the upstream checkout's HEAD is the commit
/// point: a kill before it moves rolls back, a kill after it finishes.
#[test]
fn without_a_wrapper_commit_the_checkout_head_is_the_commit_point() {
    let make = || {
        let s = Sample::new("clone");
        let cfg = s.root.join("tether.toml");
        let mut toml = fs_err::read_to_string(&cfg).unwrap();
        toml.push_str(
            "\n[baseline]\ncommand = \"{python} ok.py\"\ntimeout = \"60s\"\n\n\
             [[baseline.case]]\nname = \"ok\"\nmodel = \"m\"\n",
        );
        fs_err::write(&cfg, toml).unwrap();
        s.wrapper.write("ok.py", "print('ok')\n");
        s.wrapper.commit("test: baseline script");
        s.wrapper.write("README.md", DIRTY_README);
        s.wrapper.write(UNTRACKED, "remember the milk\n");
        s
    };
    let reference = make();
    let head = git(&reference.wrapper.path, &["rev-parse", "HEAD"]);
    reference.tether().run(&["update"]).assert_code(0);
    assert_eq!(
        git(&reference.wrapper.path, &["rev-parse", "HEAD"]),
        head,
        "no wrapper commit"
    );
    let promoted = live(&reference);
    for (fp, end) in [
        ("promote.upstream.index-written", End::Before),
        ("promote.upstream.head-moved", End::Promoted),
        ("promote.wrapper.index-written", End::Promoted),
    ] {
        let s = make();
        let t = s.tether();
        let before = live(&s);
        killed_at(&t, &["update"], fp);
        t.run(&["check", "--no-fetch"]).assert_code(0);
        let expected = if end == End::Before {
            &before
        } else {
            &promoted
        };
        let diff = differences(expected, &live(&s));
        assert!(diff.is_empty(), "clone, killed at {fp}: {diff:?}");
        assert_tidy(&s, &format!("clone, killed at {fp}"));
    }
}

/// A file the interrupted promotion was moving, changed by the user before
/// recovery: kept, named, and recovery stops with its own exit code; once
/// the user moves it away, the next command finishes.
#[test]
fn a_user_edit_in_a_file_the_crash_left_half_moved_is_kept_and_named() {
    let s = world("submodule");
    let t = s.tether();
    let before = live(&s);
    killed_at(&t, &["update"], "promote.upstream.files-done");
    let wgp = s.wrapper.path.join("Wan2GP/wgp.py");
    let mine = "# my own experiment, written after the crash\n";
    fs_err::write(&wgp, mine).unwrap();
    let out = t.run(&["check", "--no-fetch"]);
    out.assert_code(15);
    assert!(
        out.stderr.contains("`wgp.py`") && out.stderr.contains("nothing of yours was overwritten"),
        "{}",
        out.stderr
    );
    assert_eq!(fs_err::read_to_string(&wgp).unwrap(), mine, "kept");
    assert!(s.root.join(".tether/update/journal.json").exists());
    // the user keeps their version elsewhere; the next command finishes
    fs_err::rename(&wgp, s.root.join("my-wgp.py")).unwrap();
    t.run(&["check", "--no-fetch"]).assert_code(0);
    assert!(differences(&before, &live(&s)).is_empty());
    assert_tidy(&s, "after the user moved the file away");
}

/// A corrupt journal: recovery refuses to guess, moves it aside and says
/// where; the command after that works.
#[test]
fn a_corrupt_journal_is_moved_aside_and_refused() {
    let s = world("vendored");
    let t = s.tether();
    killed_at(&t, &["update"], "update.stage.staged");
    let journal = s.root.join(".tether/update/journal.json");
    fs_err::write(&journal, "{\"format_version\": 1, \"data\": {\"id\": ").unwrap();
    let out = t.run(&["check", "--no-fetch"]);
    out.assert_code(15);
    assert!(out.stderr.contains("is unreadable"), "{}", out.stderr);
    assert!(
        out.stderr.contains("moved the journal to"),
        "{}",
        out.stderr
    );
    assert!(!journal.exists());
    let aside: Vec<_> = fs_err::read_dir(journal.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("journal.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    t.run(&["check", "--no-fetch"]).assert_code(0);
}

/// A journal from a newer tether is refused the same way.
#[test]
fn a_journal_from_a_newer_version_is_refused() {
    let s = world("vendored");
    let t = s.tether();
    killed_at(&t, &["update"], "update.stage.staged");
    let journal = s.root.join(".tether/update/journal.json");
    let text = fs_err::read_to_string(&journal).unwrap();
    fs_err::write(
        &journal,
        text.replacen("\"format_version\": 1", "\"format_version\": 99", 1),
    )
    .unwrap();
    let out = t.run(&["check", "--no-fetch"]);
    out.assert_code(15);
    assert!(out.stderr.contains("format version 99"), "{}", out.stderr);
}
