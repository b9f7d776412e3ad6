//! `tether bisect` and `adopt-last-good` against real upstreams of 1, 2, 17
//! and 100 commits with the breaking commit at the start, middle and end,
//! skips around the culprit, a flaky case, merges, an interrupted run that
//! resumes, and an update that ends with the newest good commit promoted.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{GitRepo, Tether};

const API_GOOD: &str = "def generate(steps):\n    return 'frames:%d' % steps\n";
// a break no fix strategy repairs
const API_BAD: &str =
    "def generate(steps):\n    raise RuntimeError('the VAE checkpoint layout changed')\n";
const API_SYNTAX: &str = "def generate(steps)\n    return 'oops'\n";

/// The wrapper's generation test: calls the upstream the way the wrapper
/// does. With `FLAKY` set to a counter file, every other run fails with the
/// same error as the real break.
const CASE_PY: &str = r#"import os, sys, time
sys.path.insert(0, "up")
slow = os.environ.get("TETHER_TEST_SLOW_MARKER")
if slow and os.path.exists(slow):
    time.sleep(60)
flaky = os.environ.get("TETHER_TEST_FLAKY")
if flaky:
    n = int(open(flaky).read()) if os.path.exists(flaky) else 0
    open(flaky, "w").write(str(n + 1))
    if n % 2 == 0:
        raise RuntimeError("the VAE checkpoint layout changed")
import api
print(api.generate(steps=3))
"#;

/// What each upstream commit (1-based, after the base commit) does to
/// `api.py`.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Plain,
    Break,
    Syntax,
}

pub(crate) struct World {
    _tmp: tempfile::TempDir,
    pub(crate) root: PathBuf,
    upstream: GitRepo,
    wrapper: GitRepo,
    /// The upstream's base commit (good) and then each commit in order.
    base: String,
    pub(crate) commits: Vec<String>,
}

impl World {
    /// An upstream with a base commit and `kinds.len()` more; a wrapper with
    /// it as a submodule at the base commit.
    pub(crate) fn new(kinds: &[Kind], extra_config: &str) -> World {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("project");
        let upstream = GitRepo::init(root.join("upstream"));
        upstream.write("api.py", API_GOOD);
        let base = upstream.commit("feat: generate");
        let mut commits = Vec::new();
        let mut api = API_GOOD;
        for (i, k) in kinds.iter().enumerate() {
            let n = i + 1;
            upstream.write(&format!("notes/{n:03}.txt"), format!("change {n}\n"));
            let msg = match k {
                Kind::Plain => format!("docs: note {n}"),
                Kind::Break => {
                    api = API_BAD;
                    format!("refactor: new checkpoint layout ({n})")
                }
                Kind::Syntax => format!("wip: half-written change ({n})"),
            };
            upstream.write("api.py", if *k == Kind::Syntax { API_SYNTAX } else { api });
            commits.push(upstream.commit(&msg));
        }
        let wrapper = GitRepo::init(root.join("wrapper"));
        wrapper.set_time(crate::support::git::EPOCH + 500 * 3600);
        wrapper.write("case.py", CASE_PY);
        wrapper.commit("feat: baseline case");
        wrapper.add_submodule(&upstream, "up", &base);
        let toml = format!(
            r#"[project]
root = "wrapper"
python = "python3"
state_dir = ".tether"
outputs_dir = "outputs"
analysis_dir = "maintenance_analysis"

[[upstream]]
name = "up"
url = "{}"
path = "up"
layout = "submodule"
track = "branch:main"
key_files = ["api.py"]

[baseline]
command = "{{python}} case.py"
timeout = "120s"
quality = false

[[baseline.case]]
name = "gen"
model = "m"

[gpu]
preflight = "never"
{extra_config}
"#,
            upstream.path.display()
        );
        fs_err::write(root.join("tether.toml"), toml).unwrap();
        World {
            _tmp: tmp,
            root,
            upstream,
            wrapper,
            base,
            commits,
        }
    }

    fn tether(&self) -> Tether {
        Tether::new(&self.root)
    }

    pub(crate) fn bisect(&self, args: &[&str]) -> (i32, Value) {
        let mut all = vec!["bisect", "--json"];
        all.extend_from_slice(args);
        let out = self.tether().run(&all);
        let v = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}\n{}\n{}", out.stdout, out.stderr));
        (out.code, v)
    }
}

pub(crate) fn kinds(n: usize, culprit: usize) -> Vec<Kind> {
    (1..=n)
        .map(|i| {
            if i == culprit {
                Kind::Break
            } else {
                Kind::Plain
            }
        })
        .collect()
}

fn bound(n: usize) -> usize {
    (n as f64).log2().ceil() as usize + 2
}

#[track_caller]
pub(crate) fn assert_culprit(w: &World, v: &Value, culprit: usize) {
    assert_eq!(v["result"]["kind"], "first_bad", "{}", v["result"]);
    assert_eq!(
        v["result"]["commit"]["id"].as_str().unwrap(),
        w.commits[culprit - 1],
        "wrong culprit"
    );
    let last_good = if culprit == 1 {
        &w.base
    } else {
        &w.commits[culprit - 2]
    };
    assert_eq!(v["result"]["last_good"]["id"].as_str().unwrap(), last_good);
}

#[test]
fn finds_the_culprit_at_the_start_middle_and_end_within_log2_steps() {
    for (n, culprits) in [
        (1usize, vec![1usize]),
        (2, vec![1, 2]),
        (17, vec![1, 9, 17]),
        (100, vec![37]),
    ] {
        for culprit in culprits {
            let w = World::new(&kinds(n, culprit), "");
            let (code, v) = w.bisect(&[]);
            assert_eq!(code, 0, "{v}");
            assert_culprit(&w, &v, culprit);
            let steps = v["steps"].as_array().unwrap().len();
            assert!(
                steps <= bound(n),
                "n {n}, culprit {culprit}: {steps} steps > {}",
                bound(n)
            );
            assert_eq!(v["candidates"], n);
            assert_eq!(v["baseline_runs"].as_u64().unwrap() as usize, steps);
            // both ends confirmed first
            assert_eq!(v["steps"][0]["role"], "bad-end");
            assert_eq!(v["steps"][1]["role"], "good-end");
            if n == 17 && culprit == 9 {
                // the report names the culprit, the files it changed that
                // matter, and what it breaks in the wrapper
                let dir = PathBuf::from(v["report_dir"].as_str().unwrap());
                let md = fs_err::read_to_string(dir.join("bisect_report.md")).unwrap();
                let short = &w.commits[8][..7];
                assert!(
                    md.contains(&format!("**First bad commit: `{short}` ")),
                    "{md}"
                );
                assert!(md.contains("| api.py | modified | key file"), "{md}");
                let log = fs_err::read_to_string(dir.join("debug_log.txt")).unwrap();
                assert_eq!(log.matches("=== Bisect Step ").count(), steps, "{log}");
                assert!(log.contains("Result: BAD") && log.contains("Result: GOOD"));
                assert_eq!(
                    fs_err::read_to_string(dir.join("bisect.jsonl"))
                        .unwrap()
                        .lines()
                        .count(),
                    steps
                );
            }
        }
    }
}

#[test]
fn each_step_reports_its_number_of_at_most_the_bound() {
    let w = World::new(&kinds(17, 9), "");
    let events = w.root.join("events.jsonl");
    let out = w
        .tether()
        .cmd()
        .args(["bisect", "--json"])
        .env(tether::env::TETHER_PROGRESS_FILE, &events)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = v["steps"].as_array().unwrap();
    let all: Vec<Value> = fs_err::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &Value| e["event"].as_str().unwrap().starts_with("bisect_step"))
        .collect();
    // a start and a verdict per step, numbered from 1, bounded by both ends
    // plus ceil(log2 17) = 5 probes
    assert_eq!(all.len(), 2 * steps.len(), "{all:#?}");
    for (i, pair) in all.chunks(2).enumerate() {
        let (start, end) = (&pair[0], &pair[1]);
        assert_eq!(start["event"], "bisect_step");
        assert_eq!(start["step"], i as u64 + 1);
        assert_eq!(start["at_most"], 7);
        assert_eq!(start["role"], steps[i]["role"]);
        assert_eq!(start["commit"], steps[i]["short"]);
        assert_eq!(end["event"], "bisect_step_finished");
        assert_eq!(end["step"], i as u64 + 1);
        assert_eq!(
            end["verdict"],
            steps[i]["verdict"].as_str().unwrap().to_lowercase()
        );
    }
}

#[test]
fn steps_that_fail_differently_are_skipped_and_gone_around() {
    // 17 commits, the break at 9, half-written (SyntaxError) commits at 7
    // and 10 around it
    let mut k = kinds(17, 9);
    k[6] = Kind::Syntax;
    k[9] = Kind::Syntax;
    let w = World::new(&k, "");
    let (code, v) = w.bisect(&[]);
    assert_eq!(code, 0, "{v}");
    assert_culprit(&w, &v, 9);
    let skipped: Vec<&Value> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["verdict"] == "skip")
        .collect();
    assert!(!skipped.is_empty(), "{}", v["steps"]);
    for s in skipped {
        assert!(
            s["why"].as_str().unwrap().contains("a different failure"),
            "{s}"
        );
    }
}

#[test]
fn a_range_where_every_step_skips_is_undecidable_with_the_candidates() {
    // every commit but the last is half-written; the last breaks
    let mut k = vec![Kind::Syntax; 4];
    k.push(Kind::Break);
    let w = World::new(&k, "");
    let (code, v) = w.bisect(&[]);
    assert_eq!(code, 13, "{v}");
    assert_eq!(v["result"]["kind"], "undecidable");
    assert_eq!(v["result"]["candidates"].as_array().unwrap().len(), 5);
}

#[test]
fn a_good_end_that_fails_and_a_bad_end_that_passes_stop_the_search() {
    let w = World::new(&kinds(5, 3), "");
    // good end after the break: fails
    let (code, v) = w.bisect(&[
        "--good",
        &w.commits[3].clone(),
        "--bad",
        &w.commits[4].clone(),
    ]);
    assert_eq!(code, 14, "{v}");
    assert_eq!(v["result"]["kind"], "good_end_fails");
    // bad end before the break: passes
    let (code, v) = w.bisect(&["--good", &w.base.clone(), "--bad", &w.commits[1].clone()]);
    assert_eq!(code, 14, "{v}");
    assert_eq!(v["result"]["kind"], "bad_end_passes");
    assert_eq!(v["steps"].as_array().unwrap().len(), 1);
}

#[test]
fn a_flaky_case_does_not_decide_a_step_on_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let counter = tmp.path().join("flaky-count");
    let w = World::new(&kinds(17, 12), "\n[update]\nbisect_retries = 2\n");
    let out = w
        .tether()
        .cmd()
        .env("TETHER_TEST_FLAKY", &counter)
        .args(["bisect", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_culprit(&w, &v, 12);
    // good steps needed a second run; the runs are counted
    let retried = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["verdict"] == "good" && s["runs"].as_u64() > Some(1))
        .count();
    assert!(retried > 0, "{}", v["steps"]);
    assert!(v["baseline_runs"].as_u64().unwrap() as usize > v["steps"].as_array().unwrap().len());
}

#[test]
fn merges_are_searched_along_the_first_parent_line() {
    let w = World::new(&kinds(4, 3), "");
    // a side branch merged after the break
    let up = &w.upstream;
    up.git(&["checkout", "-q", "-b", "side", &w.commits[0]]);
    up.write("side.txt", "side\n");
    up.commit("feat: side work");
    up.git(&["checkout", "-q", "main"]);
    up.git(&["merge", "-q", "--no-ff", "-m", "merge side", "side"]);
    let (code, v) = w.bisect(&[]);
    assert_eq!(code, 0, "{v}");
    assert_culprit(&w, &v, 3);
    assert_eq!(
        v["candidates"], 5,
        "4 commits plus the merge, first parents only"
    );
}

fn journal(root: &Path) -> Option<Value> {
    let text = fs_err::read_to_string(root.join(".tether/bisect/journal.json")).ok()?;
    serde_json::from_str(&text).ok()
}

#[test]
fn an_interrupted_bisect_resumes_from_its_journal() {
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("slow");
    let w = World::new(&kinds(100, 61), "");
    let mut child = w
        .tether()
        .cmd()
        .env("TETHER_TEST_SLOW_MARKER", &marker)
        .args(["bisect"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let steps = journal(&w.root)
            .and_then(|j| j["data"]["steps"].as_array().map(Vec::len))
            .unwrap_or(0);
        if steps >= 4 {
            break;
        }
        assert!(Instant::now() < deadline, "the bisect made no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the bisect ended early"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // the next step hangs; kill tether mid-step
    fs_err::write(&marker, "").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().unwrap();
    child.wait().unwrap();
    fs_err::remove_file(&marker).unwrap();
    let before = journal(&w.root).unwrap()["data"]["steps"]
        .as_array()
        .unwrap()
        .len();
    assert!(before >= 4);

    let (code, v) = w.bisect(&[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["resumed"], true);
    assert_culprit(&w, &v, 61);
    let steps = v["steps"].as_array().unwrap().len();
    assert!(steps >= before && steps <= bound(100), "{steps} steps");
    assert!(
        journal(&w.root).is_none(),
        "the journal is kept after the end"
    );
}

#[test]
fn an_unfixable_update_adopts_the_newest_good_commit_and_holds_back() {
    let w = World::new(
        &kinds(9, 6),
        "\n[update]\non_unfixable = \"adopt-last-good\"\n",
    );
    let out = w.tether().run(&["update", "--json"]);
    out.assert_code(0);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["outcome"]["kind"], "promoted", "{}", v["outcome"]);
    assert_eq!(
        v["to"]["id"].as_str().unwrap(),
        w.commits[4],
        "not the last good commit"
    );
    assert_eq!(
        v["held_back"]["first_bad"]["id"].as_str().unwrap(),
        w.commits[5]
    );
    assert_eq!(v["failed_target"]["outcome"]["kind"], "rolled-back");
    // the live submodule is at the last good commit, and the wrapper works
    let sub = w.wrapper.path.join("up");
    assert_eq!(
        crate::support::git::git(&sub, &["rev-parse", "HEAD"]),
        w.commits[4]
    );
    let report = fs_err::read_to_string(
        PathBuf::from(v["report_dir"].as_str().unwrap()).join("update_report.md"),
    )
    .unwrap();
    assert!(report.contains("## Held back"), "{report}");
    assert!(
        report.contains(&format!("its first bad commit is `{}`", &w.commits[5][..7])),
        "{report}"
    );
    // check and health show it held back
    let check = w.tether().run(&["check"]);
    assert!(check.stdout.contains("held back at"), "{}", check.stdout);
    let health = w.tether().run(&["health", "--json", "--no-probe"]);
    let h: Value = serde_json::from_str(&health.stdout).unwrap();
    assert_eq!(
        h["upstreams"][0]["held_back"]["at"]["id"].as_str().unwrap(),
        w.commits[4]
    );
    // the same target is not tried again until the upstream moves
    let again = w.tether().run(&["update"]);
    again.assert_code(0);
    assert!(again.stdout.contains("is held back at"), "{}", again.stdout);
    // a newer target that passes ends the hold
    w.upstream.write("api.py", API_GOOD);
    w.upstream.commit("fix: accept steps again");
    let fixed = w.tether().run(&["update"]);
    fixed.assert_code(0);
    let check = w.tether().run(&["check"]);
    assert!(!check.stdout.contains("held back at"), "{}", check.stdout);
}

#[test]
fn the_service_bisects_an_unfixable_update_and_notifies_the_culprit() {
    use crate::watch::{Receiver, Watch, state, wait_for};
    let hook = Receiver::start();
    let w = World::new(
        &kinds(5, 3),
        &format!(
            "\n[update]\non_unfixable = \"adopt-last-good\"\n\n[schedule]\nupdate = \"* * * * * *\"\n\n[service]\nlisten = \"off\"\nwebhook = \"http://127.0.0.1:{}/\"\n",
            hook.port
        ),
    );
    let mut watch = Watch::start(&w.root);
    wait_for(
        Duration::from_secs(90),
        "the held-back notification",
        || hook.events().iter().any(|e| e["event"] == "held_back"),
    );
    assert_eq!(watch.stop(Duration::from_secs(30)), 0, "{}", watch.log());
    let event = hook
        .events()
        .into_iter()
        .find(|e| e["event"] == "held_back")
        .unwrap();
    let message = event["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("first bad commit {}", &w.commits[2][..7]))
            && message.contains(&format!("held back at {}", &w.commits[1][..7])),
        "{message}"
    );
    let st = state(&w.root).unwrap();
    assert_eq!(st["promotions_total"], 1, "{st}");
}
