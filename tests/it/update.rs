//! `tether update` end to end with the real binary: the demo project's three
//! breaks repaired and promoted, `--dry-run`, `--no-fix`, an exhausted fix
//! loop, vendored merges with and without conflicts (a conflict pauses:
//! `paused.rs`), `kill -9` in the middle
//! of an update and the recovery after it, two updates at once, and the
//! missing-inputs and external fix strategies.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tether::demo::DemoProject;

use crate::support::git::git;
use crate::support::sample::{NEEDS_REF_BASELINE, NEEDS_REF_PY, Sample};
use crate::support::sample::{OK_BASELINE, OK_PY};
use crate::support::{Tether, tree_digest, update_dirs};

type Digest = Vec<(String, Vec<u8>)>;

/// The paths whose presence or bytes differ between two digests.
fn digest_diff(before: &Digest, after: &Digest) -> Vec<String> {
    let a: std::collections::BTreeMap<_, _> = before.iter().map(|(p, b)| (p, b)).collect();
    let b: std::collections::BTreeMap<_, _> = after.iter().map(|(p, b)| (p, b)).collect();
    let mut out = Vec::new();
    for (p, bytes) in &a {
        match b.get(p) {
            None => out.push(format!("removed {p}")),
            Some(other) if other != bytes => out.push(format!("changed {p}")),
            Some(_) => {}
        }
    }
    for p in b.keys() {
        if !a.contains_key(p) {
            out.push(format!("added {p}"));
        }
    }
    out
}

#[track_caller]
fn assert_unchanged(dir: &Path, before: &Digest) {
    let diff = digest_diff(before, &tree_digest(dir));
    assert!(
        diff.is_empty(),
        "the live wrapper {} changed:\n{}",
        dir.display(),
        diff.join("\n")
    );
}

fn read(path: &Path) -> String {
    fs_err::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The only `outputs/update-*` folder under `root`.
fn report_dir(root: &Path) -> PathBuf {
    let dirs = update_dirs(root);
    assert_eq!(dirs.len(), 1, "expected one update folder, got {dirs:?}");
    dirs.into_iter().next().unwrap()
}

fn update_json(dir: &Path) -> Value {
    serde_json::from_str(&read(&dir.join("update.json"))).unwrap()
}

/// Subjects of the wrapper's commits, newest first.
fn log_subjects(repo: &Path) -> Vec<String> {
    git(repo, &["log", "--format=%s"])
        .lines()
        .map(str::to_owned)
        .collect()
}

fn journal_path(root: &Path) -> PathBuf {
    root.join(".tether/update/journal.json")
}

struct Demo {
    _tmp: tempfile::TempDir,
    p: DemoProject,
}

impl Demo {
    fn new() -> Demo {
        let tmp = tempfile::tempdir().unwrap();
        let p = tether::demo::create(&tmp.path().join("demo"), "python3").unwrap();
        Demo { _tmp: tmp, p }
    }

    fn tether(&self) -> Tether {
        Tether::new(&self.p.root)
    }

    fn tip(&self) -> &str {
        &self.p.commits.last().unwrap().hash
    }
}

#[test]
fn demo_update_repairs_three_breaks_and_promotes() {
    let d = Demo::new();
    let out = d.tether().run(&["update"]);
    out.assert_code(0);
    assert!(
        out.stdout.starts_with("demo: promoted "),
        "stdout:\n{}",
        out.stdout
    );
    let w = &d.p.wrapper;

    // the wrapper's history: the bump, then one commit per repaired break
    let subjects = log_subjects(w);
    assert_eq!(subjects.len(), 5, "{subjects:#?}");
    assert_eq!(
        subjects[3],
        format!("chore(upstream): bump demo to {}", &d.tip()[..7])
    );
    let fixes = &subjects[..3];
    assert!(
        fixes.iter().all(|s| s.starts_with("fix(baseline): ")),
        "{fixes:#?}"
    );
    assert!(fixes[2].contains("video_length"), "api drift: {}", fixes[2]);
    assert!(
        fixes[1].contains("vace_14B_2"),
        "model config: {}",
        fixes[1]
    );
    assert!(
        fixes[0].contains("vace_long: video_length 81 -> 65"),
        "oom: {}",
        fixes[0]
    );
    assert_eq!(git(w, &["status", "--porcelain"]), "", "live tree clean");

    // the submodule: committed and checked out at the upstream's tip
    let gitlink = git(w, &["ls-tree", "HEAD", "Wan2GP"]);
    assert!(gitlink.starts_with("160000 commit "), "{gitlink}");
    assert!(gitlink.contains(d.tip()), "{gitlink}");
    assert_eq!(git(&w.join("Wan2GP"), &["rev-parse", "HEAD"]), d.tip());

    // the keyword rename in the wrapper's code
    let headless = read(&w.join("headless_wgp.py"));
    assert!(headless.contains("frame_num="), "{headless}");
    assert!(!headless.contains("video_length="), "{headless}");

    // the overrides the model-config and OOM fixes made
    let overrides: Value = serde_json::from_str(&read(&w.join("tether_baseline.json"))).unwrap();
    assert_eq!(overrides["cases"]["vace_short"]["model"], "vace_14B_2");
    assert_eq!(overrides["cases"]["vace_long"]["model"], "vace_14B_2");
    assert_eq!(
        overrides["cases"]["vace_long"]["params"]["video_length"],
        65
    );
    assert!(overrides["cases"].get("t2v_short").is_none(), "{overrides}");

    // the report folder
    let dir = report_dir(&d.p.root);
    let report = read(&dir.join("update_report.md"));
    assert!(report.contains("**Outcome: promoted "), "{report}");
    assert!(
        report.contains("## The baseline now runs reduced\n\n- vace_long: video_length 81 -> 65"),
        "{report}"
    );
    let json = update_json(&dir);
    assert_eq!(json["outcome"]["kind"], "promoted");
    assert_eq!(json["reduced"][0], "vace_long: video_length 81 -> 65");
    assert_eq!(json["promotion"]["commits"].as_array().unwrap().len(), 4);

    let log = read(&dir.join("debug_log.txt"));
    assert_eq!(log.matches("=== Fix Attempt ").count(), 3, "{log}");
    let results: Vec<&str> = log.lines().filter(|l| l.starts_with("Result: ")).collect();
    assert_eq!(
        results,
        ["Result: partial", "Result: partial", "Result: success"],
        "{log}"
    );
    let attempts = read(&dir.join("attempts.jsonl"));
    let records: Vec<Value> = attempts
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let strategies: Vec<&str> = records
        .iter()
        .map(|r| r["strategy"].as_str().unwrap())
        .collect();
    assert_eq!(strategies, ["api-drift", "model-config", "oom"]);
    // the API drift failure is linked to the integration point it hits
    assert_eq!(
        records[0]["failure"]["integration_points"],
        serde_json::json!(["headless_wgp.py:19"])
    );

    // the journal was filed
    assert!(!journal_path(&d.p.root).exists());
    let history: Vec<_> = fs_err::read_dir(d.p.root.join(".tether/update/history"))
        .unwrap()
        .collect();
    assert_eq!(history.len(), 1);
}

#[test]
fn dry_run_changes_nothing_and_says_what_would_be_promoted() {
    let d = Demo::new();
    let before = tree_digest(&d.p.wrapper);
    let out = d.tether().run(&["update", "--dry-run"]);
    out.assert_code(0);
    assert_unchanged(&d.p.wrapper, &before);
    assert!(
        out.stdout.contains("nothing was promoted"),
        "stdout:\n{}",
        out.stdout
    );
    let bump = format!("chore(upstream): bump demo to {}", &d.tip()[..7]);
    assert!(
        out.stdout.contains("would promote onto refs/heads/main"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(&bump), "{}", out.stdout);
    assert_eq!(
        out.stdout.matches(" fix(baseline): ").count(),
        3,
        "{}",
        out.stdout
    );
    // in order: the first run, each attempt, then the run the outcome rests
    // on; results spelled as in debug_log.txt
    let at = |needle: &str| {
        out.stdout
            .find(needle)
            .unwrap_or_else(|| panic!("no `{needle}` in\n{}", out.stdout))
    };
    let first = at("baseline on the staged update: 3 of 3 case(s) failing");
    let attempt = at("attempt 1 [");
    let last = at("baseline after the fixes: all 3 case(s) pass");
    assert!(first < attempt && attempt < last, "{}", out.stdout);
    assert!(out.stdout.contains("-> partial"), "{}", out.stdout);
    assert!(!out.stdout.contains("Partial"), "{}", out.stdout);

    let dir = report_dir(&d.p.root);
    let log = read(&dir.join("debug_log.txt"));
    assert!(log.contains("Result: partial"), "{log}");
    let report = read(&dir.join("update_report.md"));
    assert!(
        report.contains("## Would be promoted (dry run)"),
        "{report}"
    );
    assert!(report.contains(&bump), "{report}");
    assert_eq!(update_json(&dir)["outcome"]["kind"], "dry-run");
    assert!(!journal_path(&d.p.root).exists());
}

#[test]
fn no_fix_rolls_back_and_says_why() {
    let d = Demo::new();
    let before = tree_digest(&d.p.wrapper);
    let out = d.tether().run(&["update", "--no-fix"]);
    out.assert_code(7);
    assert_unchanged(&d.p.wrapper, &before);
    assert!(out.stdout.contains("rolled back"), "{}", out.stdout);
    let dir = report_dir(&d.p.root);
    let report = read(&dir.join("update_report.md"));
    assert!(
        report.contains(
            "the baseline still fails on the staged update (t2v_short, vace_short, vace_long): fixing was turned off (--no-fix)"
        ),
        "{report}"
    );
    assert!(
        report.contains("- live wrapper verified byte-identical to the backup"),
        "{report}"
    );
    assert!(!dir.join("debug_log.txt").exists(), "no attempt was made");
    assert_eq!(update_json(&dir)["outcome"]["kind"], "rolled-back");
}

#[test]
fn exhausted_fix_loop_rolls_back_after_max_attempts() {
    let d = Demo::new();
    let toml = read(&d.p.config_path);
    assert_eq!(toml.matches("max_attempts = 10").count(), 1, "{toml}");
    fs_err::write(
        &d.p.config_path,
        toml.replace("max_attempts = 10", "max_attempts = 2"),
    )
    .unwrap();
    let before = tree_digest(&d.p.wrapper);
    let out = d.tether().run(&["update"]);
    out.assert_code(7);
    assert_unchanged(&d.p.wrapper, &before);

    let dir = report_dir(&d.p.root);
    let log = read(&dir.join("debug_log.txt"));
    assert_eq!(log.matches("=== Fix Attempt ").count(), 2, "{log}");
    assert!(!log.contains("Result: success"), "{log}");
    assert_eq!(read(&dir.join("attempts.jsonl")).lines().count(), 2);
    let report = read(&dir.join("update_report.md"));
    // what was tried
    assert!(report.contains("| 1 | api-drift | "), "{report}");
    assert!(report.contains("| 2 | model-config | "), "{report}");
    // why it stopped, and what still fails
    assert!(
        report.contains("Loop ended: the attempt limit (2) is reached"),
        "{report}"
    );
    assert!(
        report.contains("the baseline still fails on the staged update (vace_long)"),
        "{report}"
    );
    assert!(report.contains("CUDA out of memory"), "{report}");
}

/// The vendored sample with one always-passing baseline case (`ok.py`,
/// committed in the wrapper).
fn vendored_sample(baseline: &str, files: &[(&str, &str)]) -> Sample {
    let s = Sample::new("vendored");
    let cfg = s.root.join("tether.toml");
    let mut toml = read(&cfg);
    toml.push_str(baseline);
    fs_err::write(&cfg, toml).unwrap();
    for (rel, text) in files {
        s.wrapper.write(rel, text);
    }
    s.wrapper.commit("test: baseline script");
    s
}

#[test]
fn vendored_local_modification_in_conflict_pauses() {
    let s = vendored_sample(OK_BASELINE, &[("ok.py", OK_PY)]);
    let wgp = s.wrapper.read("Wan2GP/wgp.py");
    let line = "def load_models(model_type, profile=4):";
    assert_eq!(wgp.matches(line).count(), 1, "{wgp}");
    s.wrapper.write(
        "Wan2GP/wgp.py",
        wgp.replace(line, "def load_models(model_type, profile=5):  # local"),
    );
    s.wrapper.commit("local: default to profile 5");
    let before = tree_digest(&s.wrapper.path);

    let out = s.tether().run(&["update"]);
    out.assert_code(16);
    assert_unchanged(&s.wrapper.path, &before);
    assert!(
        out.stdout
            .contains("conflict with the upstream change in 1 file(s) (`Wan2GP/wgp.py`)"),
        "{}",
        out.stdout
    );
    let dir = report_dir(&s.root);
    let report = read(&dir.join("update_report.md"));
    assert!(
        report.contains("## Conflicts with local modifications\n\n- Wan2GP/wgp.py: "),
        "{report}"
    );
    assert_eq!(update_json(&dir)["conflicts"].as_array().unwrap().len(), 1);
    assert_eq!(update_json(&dir)["outcome"]["kind"], "paused");
    // paused, not over: the journal waits for --continue or --abort
    assert!(journal_path(&s.root).exists());
}

#[test]
fn vendored_local_modification_elsewhere_is_kept_and_promoted() {
    let s = vendored_sample(OK_BASELINE, &[("ok.py", OK_PY)]);
    let rel = "Wan2GP/models/wan/any2video.py";
    let local = format!("{}# local tweak\n", s.wrapper.read(rel));
    s.wrapper.write(rel, &local);
    s.wrapper.commit("local: tweak any2video");
    let tip = s.upstream.head();

    let out = s.tether().run(&["update"]);
    out.assert_code(0);
    let w = &s.wrapper.path;
    assert_eq!(git(w, &["status", "--porcelain"]), "");
    assert_eq!(
        log_subjects(w)[0],
        format!("chore(upstream): bump sample to {}", &tip[..7])
    );
    // the local modification survived the merge
    assert_eq!(s.wrapper.read(rel), local);
    // and the upstream's changes arrived
    assert_eq!(
        s.wrapper.read("Wan2GP/wgp.py"),
        format!(
            "{}\n",
            git(&s.upstream.path, &["show", &format!("{tip}:wgp.py")])
        )
    );
    assert!(w.join("Wan2GP/shared/utils/video.py").is_file());
    assert!(!w.join("Wan2GP/defaults/vace_14B.json").exists());
    assert!(w.join("Wan2GP/defaults/vace_14B_v2.json").is_file());
    let structure = s.wrapper.read("STRUCTURE.md");
    assert!(
        structure.contains(&format!("Upstream commit: `{tip}`")),
        "{structure}"
    );
    assert!(structure.contains("Updated by tether: "), "{structure}");
}

/// A baseline case that writes its pid into its output folder and sleeps.
const SLOW_BASELINE: &str = r#"
[baseline]
command = "{python} slow_case.py"
timeout = "60s"

[[baseline.case]]
name = "slow"
model = "m"
"#;

const SLOW_PY: &str = r#"import os, time
pid = os.path.join(os.environ["TETHER_OUTPUT_DIR"], "sleeper.pid")
with open(pid + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.replace(pid + ".tmp", pid)
time.sleep(30)
"#;

/// Waits (up to 30 s) until the spawned update runs the slow case with its
/// journal at `staged` or `tested`; returns the case's pid.
fn wait_for_slow_case(root: &Path, run: &mut Running) -> u32 {
    let child = &mut run.child;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("tether update exited early: {status}");
        }
        let journal = fs_err::read_to_string(journal_path(root))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok());
        let state = journal
            .as_ref()
            .and_then(|j| j["data"]["state"].as_str().map(str::to_owned));
        let pid = update_dirs(root)
            .first()
            .and_then(|d| fs_err::read_to_string(d.join("baseline-initial/slow/sleeper.pid")).ok())
            .and_then(|t| t.trim().parse::<u32>().ok());
        if let (Some(state), Some(pid)) = (&state, pid)
            && (state == "staged" || state == "tested")
        {
            run.sleeper = Some(pid);
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "the slow case did not start (journal state {state:?}, pid {pid:?})"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a process runs (a zombie waiting to be reaped does not count).
fn alive(pid: u32) -> bool {
    for _ in 0..60 {
        match fs_err::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return false,
            Ok(stat) => {
                let state = stat
                    .rsplit(')')
                    .next()
                    .unwrap_or("")
                    .split_whitespace()
                    .next();
                if state == Some("Z") {
                    return false;
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    true
}

fn kill(signal: &str, pid: u32) {
    // the process may be gone already; that is fine
    let _ = Command::new("kill")
        .args([signal, &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// A spawned `tether update` and the case it runs: both are killed when
/// this is dropped (a failing test leaves no process behind).
struct Running {
    child: Child,
    sleeper: Option<u32>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(pid) = self.sleeper {
            kill("-9", pid);
        }
    }
}

fn spawn_update(t: &Tether) -> Running {
    let child = t
        .cmd()
        .arg("update")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tether update starts");
    Running {
        child,
        sleeper: None,
    }
}

#[test]
fn kill_9_during_the_baseline_is_rolled_back_by_the_next_command() {
    let s = vendored_sample(SLOW_BASELINE, &[("slow_case.py", SLOW_PY)]);
    let before = tree_digest(&s.wrapper.path);
    let t = s.tether();
    let mut run = spawn_update(&t);
    let sleeper = wait_for_slow_case(&s.root, &mut run);
    run.child.kill().unwrap(); // SIGKILL
    run.child.wait().unwrap();
    // the case tether was running is orphaned, still alive
    assert!(alive(sleeper), "the baseline case died with tether");

    let journal: Value = serde_json::from_str(&read(&journal_path(&s.root))).unwrap();
    let id = journal["data"]["id"].as_str().unwrap().to_owned();
    assert!(
        s.root
            .join(".tether/update")
            .join(&id)
            .join("staged")
            .is_dir(),
        "the killed update left its staged tree"
    );

    let out = t.run(&["check"]);
    // the next command stops the orphaned case first
    assert!(
        out.stderr
            .contains(&format!("tether: stopped process group {sleeper} ")),
        "stderr:\n{}",
        out.stderr
    );
    assert!(!alive(sleeper), "the orphaned baseline case still runs");
    assert!(
        out.stderr.contains(&format!(
            "tether: update {id} of `sample` was interrupted while "
        )) && out.stderr.contains("rolled it back")
            && out.stderr.contains("the live wrapper is as it was"),
        "stderr:\n{}",
        out.stderr
    );
    assert_unchanged(&s.wrapper.path, &before);
    assert!(!journal_path(&s.root).exists(), "journal still open");
    let filed: Value = serde_json::from_str(&read(
        &s.root.join(format!(".tether/update/history/{id}.json")),
    ))
    .unwrap();
    assert_eq!(filed["data"]["state"], "rolled-back", "{filed}");
    assert!(
        !s.root
            .join(".tether/update")
            .join(&id)
            .join("staged")
            .exists()
    );

    // the next command has nothing left to recover
    let again = t.run(&["check"]);
    assert!(!again.stderr.contains("interrupted"), "{}", again.stderr);
}

/// SIGTERM during the baseline: the summary says the update was
/// interrupted, not that the baseline "still fails" with the killed case.
#[test]
fn sigterm_during_the_baseline_says_interrupted() {
    let s = vendored_sample(SLOW_BASELINE, &[("slow_case.py", SLOW_PY)]);
    let t = s.tether();
    let child = t
        .cmd()
        .arg("update")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tether update starts");
    let mut run = Running {
        child,
        sleeper: None,
    };
    let sleeper = wait_for_slow_case(&s.root, &mut run);
    kill("-TERM", run.child.id());
    let deadline = Instant::now() + Duration::from_secs(30);
    while run.child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            kill("-9", sleeper);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut stdout = String::new();
    std::io::Read::read_to_string(run.child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    assert!(stdout.contains("interrupted"), "{stdout}");
    assert!(!stdout.contains("still fails"), "{stdout}");
}

#[test]
fn a_second_update_while_one_runs_exits_8_naming_the_holder() {
    let s = vendored_sample(SLOW_BASELINE, &[("slow_case.py", SLOW_PY)]);
    let before = tree_digest(&s.wrapper.path);
    let t = s.tether();
    let mut run = spawn_update(&t);
    let sleeper = wait_for_slow_case(&s.root, &mut run);

    let second = t.run(&["update"]);
    // the second tether leaves the running update's baseline case alone
    assert!(
        alive(sleeper),
        "the second tether stopped a live update's case"
    );
    let holder = run.child.id();
    kill("-TERM", holder);
    kill("-9", sleeper);
    let deadline = Instant::now() + Duration::from_secs(20);
    while run.child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            run.child.kill().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    run.child.wait().unwrap();

    second.assert_code(8);
    assert!(
        second.stderr.contains(&format!("pid {holder} (`update`)")),
        "stderr:\n{}",
        second.stderr
    );
    assert!(
        second
            .stderr
            .contains("another tether command holds the lock")
    );
    assert_eq!(
        update_dirs(&s.root).len(),
        1,
        "the second update started one"
    );

    // clean up: the next command recovers the interrupted update
    t.run(&["check"]);
    assert!(!journal_path(&s.root).exists());
    assert_unchanged(&s.wrapper.path, &before);
}

#[test]
fn missing_input_is_written_committed_and_promoted() {
    let s = vendored_sample(NEEDS_REF_BASELINE, &[("needs_ref.py", NEEDS_REF_PY)]);
    let tip = s.upstream.head();
    let out = s.tether().run(&["update"]);
    out.assert_code(0);
    assert!(out.stdout.contains("[missing-inputs]"), "{}", out.stdout);

    let w = &s.wrapper.path;
    let subjects = log_subjects(w);
    assert_eq!(subjects[0], "fix(baseline): add missing input ref.y4m");
    assert_eq!(
        subjects[1],
        format!("chore(upstream): bump sample to {}", &tip[..7])
    );
    assert_eq!(
        git(w, &["show", "--format=", "--name-only", "HEAD"]),
        "inputs/ref.y4m",
        "the fix commit changes only the new input"
    );
    let y4m = fs_err::read(w.join("inputs/ref.y4m")).unwrap();
    assert!(y4m.starts_with(b"YUV4MPEG2 W64 H48 "), "{:?}", &y4m[..40]);
    assert_eq!(y4m.windows(6).filter(|w| w == b"FRAME\n").count(), 5);
    // the record file keeps the bump's new hash after the fix commit
    let structure = s.wrapper.read("STRUCTURE.md");
    assert!(
        structure.contains(&format!("Upstream commit: `{tip}`")),
        "{structure}"
    );
    assert_eq!(git(w, &["status", "--porcelain"]), "");
}

#[test]
fn external_fixer_change_is_committed_and_promoted() {
    let s0 = tempfile::tempdir().unwrap();
    let fixer = s0.path().join("fixer.py");
    fs_err::write(
        &fixer,
        r#"import os, shutil, sys
here = os.path.dirname(os.path.abspath(__file__))
shutil.copy(sys.argv[1], os.path.join(here, "seen_context.md"))
with open(os.path.join(here, "seen_args.txt"), "w") as f:
    f.write(os.getcwd() + "\n" + sys.argv[1] + "\n")
with open("mode.txt", "w") as f:
    f.write("fixed\n")
"#,
    )
    .unwrap();
    let baseline = format!(
        r#"
[baseline]
command = "{{python}} check_mode.py"
timeout = "60s"

[[baseline.case]]
name = "mode"
model = "m"

[fix]
external_command = "{{python}} {} {{context_file}}"
external_timeout = "60s"
"#,
        fixer.display()
    );
    let script = r#"mode = open("mode.txt").read().strip()
if mode != "fixed":
    raise RuntimeError(f"wrapper mode is {mode!r}; the new upstream needs 'fixed'")
print("ok")
"#;
    let s = vendored_sample(
        &baseline,
        &[("check_mode.py", script), ("mode.txt", "broken\n")],
    );
    let out = s.tether().run(&["update"]);
    out.assert_code(0);
    assert!(out.stdout.contains("[external]"), "{}", out.stdout);

    let w = &s.wrapper.path;
    assert_eq!(log_subjects(w)[0], "fix(baseline): external fixer for mode");
    assert_eq!(
        git(w, &["show", "--format=", "--name-only", "HEAD"]),
        "mode.txt"
    );
    assert_eq!(s.wrapper.read("mode.txt"), "fixed\n");

    // the fixer ran in the staged tree, with the failure in its context file
    let args = read(&s0.path().join("seen_args.txt"));
    let mut lines = args.lines();
    let cwd = lines.next().unwrap();
    let ctx = lines.next().unwrap();
    assert!(cwd.ends_with("/staged"), "{cwd}");
    assert_ne!(Path::new(cwd), w.as_path());
    assert!(ctx.ends_with("context.md"), "{ctx}");
    let context = read(&s0.path().join("seen_context.md"));
    assert!(context.contains("- case: `mode` (model `m`)"), "{context}");
    assert!(
        context.contains("RuntimeError: wrapper mode is 'broken'; the new upstream needs 'fixed'"),
        "{context}"
    );
}

/// `--to` naming a revision the upstream does not have is a usage error
/// (exit 2) that names it, not a runtime failure (exit 1).
#[test]
fn update_to_an_unknown_revision_is_a_usage_error() {
    let s = vendored_sample(SLOW_BASELINE, &[("slow_case.py", SLOW_PY)]);
    let before = tree_digest(&s.wrapper.path);
    let out = s.tether().run(&["update", "--to", "deadbeef"]);
    out.assert_code(2);
    assert!(out.stderr.contains("deadbeef"), "{}", out.stderr);
    assert_unchanged(&s.wrapper.path, &before);
}
