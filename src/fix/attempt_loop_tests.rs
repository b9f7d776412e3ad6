use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::baseline::{RunOptions, run_suite};
use crate::fix::stop::{NextAction, StopReason, SwitchReason};
use crate::fix::strategies::strategies_for;

// ---- pure rules ----

fn failure(case: &str, sig: &str) -> Failure {
    Failure {
        case: case.into(),
        model: "m".into(),
        params: Default::default(),
        class: crate::fix::FailureClass::Unknown,
        signature: sig.into(),
        message: sig.into(),
        detail: String::new(),
        log_dir: PathBuf::new(),
        integration_points: Vec::new(),
        target: None,
    }
}

#[test]
fn progress_is_assessed_per_case() {
    let a = failure("a", "oom");
    let b = failure("b", "missing");
    assert_eq!(assess(&[a.clone(), b.clone()], &[]), Progress::Passes);
    assert_eq!(
        assess(&[a.clone(), b.clone()], std::slice::from_ref(&a)),
        Progress::Fewer
    );
    assert_eq!(
        assess(&[a.clone(), b.clone()], &[a.clone(), failure("b", "other")]),
        Progress::Different
    );
    assert_eq!(
        assess(&[a.clone(), b.clone()], &[b.clone(), a.clone()]),
        Progress::Same
    );
    // Fewer failing but one of them new: worse.
    assert_eq!(
        assess(&[a.clone(), b.clone()], &[failure("c", "x")]),
        Progress::Worse
    );
    assert_eq!(
        assess(std::slice::from_ref(&a), &[a.clone(), b]),
        Progress::Worse
    );
}

#[test]
fn switching_after_repeats_and_no_progress() {
    let mut s = Switching::new(5, 3);
    let oom = StrategyKind::Oom;
    assert_eq!(s.record(oom, Progress::Same, true), None);
    assert_eq!(s.record(oom, Progress::Same, true), None);
    let r = s.record(oom, Progress::Same, true).unwrap();
    assert_eq!(
        r,
        SwitchReason::Repeated {
            times: 3,
            strategy: oom
        }
    );
    assert_eq!(
        r.to_string(),
        "the same failure came back 3 times after oom"
    );
    assert!(s.exhausted.contains(&oom));
    // Progress makes it available again and resets the counters.
    assert_eq!(
        s.record(StrategyKind::ApiDrift, Progress::Different, false),
        None
    );
    assert!(s.exhausted.is_empty());
    // Alternating failures: no repeat streak, but no progress either.
    let mut s = Switching::new(4, 3);
    for i in 0..3 {
        assert_eq!(s.record(oom, Progress::Worse, i % 2 == 0), None);
    }
    let r = s.record(oom, Progress::Same, false).unwrap();
    assert_eq!(r.to_string(), "4 attempts of oom without progress");
}

// ---- the loop against a real script in a real git repo ----

const SCRIPT: &str = r#"import json, os, sys
settings = json.load(open(sys.argv[1]))
out = sys.argv[2]
p = settings["params"]
if p.get("forbid_overrides") and os.path.exists("tether_baseline.json"):
    raise ValueError("this case breaks when overrides exist")
guide = p.get("guide")
if guide:
    with open(guide, "rb") as f:
        assert f.read(9) == b"YUV4MPEG2", "not a y4m"

class OutOfMemoryError(RuntimeError):
    pass
OutOfMemoryError.__module__ = "torch"

if p["video_length"] > p.get("max_fit", 10000):
    need = p["video_length"] * 0.37
    raise OutOfMemoryError(f"CUDA out of memory. Tried to allocate {need:.2f} GiB. GPU 0 has a total capacity of 79.10 GiB of which 1.2 GiB is free.")
with open(os.path.join(out, "video.y4m"), "wb") as f:
    f.write(b"YUV4MPEG2 W8 H8 F16:1\n")
"#;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

struct Fixture {
    _tmp: tempfile::TempDir,
    tree: PathBuf,
    report: PathBuf,
    cfg: Config,
}

fn fixture(cases: &str, update: &str) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("wrapper");
    fs_err::create_dir_all(tree.join("Wan2GP/defaults")).unwrap();
    fs_err::write(tree.join("run_case.py"), SCRIPT).unwrap();
    fs_err::write(tree.join("Wan2GP/wgp.py"), "def generate_video(): pass\n").unwrap();
    git(&tree, &["init", "-q", "-b", "main"]);
    git(&tree, &["add", "-A"]);
    git(&tree, &["commit", "-q", "-m", "init"]);
    let toml = format!(
        r#"[project]
root = "{root}"
python = "python3"
state_dir = "{state}"
outputs_dir = "{outputs}"

[[upstream]]
name = "wan2gp"
url = "https://example.invalid/Wan2GP.git"
path = "Wan2GP"
layout = "clone"

[baseline]
# These tests are about the loop, not output quality (their videos are stand-ins).
quality = false
command = "{{python}} run_case.py {{settings_json}} {{output_dir}}"
timeout = "60s"
grace_period = "1s"

{cases}

[update]
{update}
strategies = ["missing-inputs", "model-config", "oom", "python-deps", "api-drift"]
"#,
        root = tree.display(),
        state = tmp.path().join("state").display(),
        outputs = tmp.path().join("outputs").display(),
    );
    let cfg = Config::parse(&toml, tmp.path()).unwrap_or_else(|e| panic!("{e:?}"));
    let report = tmp.path().join("report");
    Fixture {
        tree,
        report,
        cfg,
        _tmp: tmp,
    }
}

/// Real runs of the suite and real git commits in the tree.
struct GitBench<'a> {
    cfg: &'a Config,
    tree: PathBuf,
    runs: u32,
    commits: Vec<String>,
}

impl GitBench<'_> {
    fn new<'c>(cfg: &'c Config, tree: &Path) -> GitBench<'c> {
        GitBench {
            cfg,
            tree: tree.to_path_buf(),
            runs: 0,
            commits: Vec::new(),
        }
    }
}

impl Bench for GitBench<'_> {
    type Error = std::io::Error;

    fn run_baseline(&mut self) -> Result<BaselineRun, std::io::Error> {
        self.runs += 1;
        let run_id = format!("run-{}", self.runs);
        let opts = RunOptions {
            run_dir: self.cfg.project.outputs_dir.join(&run_id),
            run_id,
            cases: None,
            cancel: None,
            preflight: false,
            ran_on: crate::baseline::RanOn::Live,
        };
        run_suite(self.cfg, &self.tree, &opts).map_err(std::io::Error::other)
    }

    fn commit(&mut self, fix: &AppliedFix) -> Result<Option<String>, std::io::Error> {
        if fix.files.is_empty() {
            return Ok(None);
        }
        let mut args = vec!["add", "--"];
        args.extend(fix.files.iter().map(String::as_str));
        git(&self.tree, &args);
        git(&self.tree, &["commit", "-q", "-m", &fix.commit_message]);
        let hash = git(&self.tree, &["rev-parse", "HEAD"]);
        self.commits.push(hash.clone());
        Ok(Some(hash))
    }

    fn drop_last(&mut self) -> Result<(), std::io::Error> {
        git(&self.tree, &["reset", "-q", "--hard", "HEAD~1"]);
        Ok(())
    }
}

fn run(fx: &Fixture, bench: &mut GitBench<'_>) -> LoopOutcome {
    let initial = bench.run_baseline().unwrap();
    let input = LoopInput {
        cfg: &fx.cfg,
        tree: &fx.tree,
        upstream_dir: &fx.tree.join("Wan2GP"),
        analysis: None,
        report_dir: &fx.report,
        initial,
    };
    run_loop(input, &strategies_for(&fx.cfg), bench).unwrap()
}

fn debug_blocks(fx: &Fixture) -> Vec<String> {
    let text = fs_err::read_to_string(fx.report.join("debug_log.txt")).unwrap();
    text.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

const SHORT_CASE: &str = r#"[[baseline.case]]
name = "vace_short"
model = "vace_14B"
outputs = ["*.y4m"]
params = { resolution = "64x32", video_length = 81, guide = "samples/guide.y4m", max_fit = 49 }"#;

#[test]
fn missing_input_then_oom_until_the_case_fits() {
    let fx = fixture(SHORT_CASE, "max_attempts = 10");
    let mut bench = GitBench::new(&fx.cfg, &fx.tree);
    let out = run(&fx, &mut bench);

    assert!(out.success, "{out:#?}");
    assert_eq!(out.stop_reason, StopReason::Fixed);
    let results: Vec<&str> = out.attempts.iter().map(|a| a.result.as_str()).collect();
    assert_eq!(results, ["partial", "failed", "success"]);
    let kinds: Vec<StrategyKind> = out.attempts.iter().map(|a| a.strategy).collect();
    assert_eq!(
        kinds,
        [
            StrategyKind::MissingInputs,
            StrategyKind::Oom,
            StrategyKind::Oom
        ]
    );
    assert_eq!(
        out.reduced,
        [
            "vace_short: video_length 81 -> 65",
            "vace_short: video_length 65 -> 49"
        ]
    );
    assert_eq!(out.applied.len(), 3);

    // The input tether wrote is a real y4m of the case's size and length.
    let y4m = fs_err::read(fx.tree.join("samples/guide.y4m")).unwrap();
    let header = b"YUV4MPEG2 W64 H32 F16:1 Ip A1:1 C420jpeg\n";
    assert!(y4m.starts_with(header));
    assert_eq!(y4m.len(), header.len() + 81 * (6 + 64 * 32 * 3 / 2));

    // The overrides file records the reduction, and every fix is a commit.
    let overrides: serde_json::Value = serde_json::from_str(
        &fs_err::read_to_string(fx.tree.join("tether_baseline.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        overrides["cases"]["vace_short"]["params"]["video_length"],
        49
    );
    let log = git(&fx.tree, &["log", "--format=%s"]);
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [
            "fix(baseline): reduce vace_short: video_length 65 -> 49 after out of memory",
            "fix(baseline): reduce vace_short: video_length 81 -> 65 after out of memory",
            "fix(baseline): add missing input guide.y4m",
            "init"
        ]
    );
    assert_eq!(git(&fx.tree, &["status", "--porcelain"]), "");

    // The debug log, block by block.
    let blocks = debug_blocks(&fx);
    assert_eq!(blocks.len(), 3);
    let time = regex::Regex::new(r"^=== Fix Attempt \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ===$").unwrap();
    for b in &blocks {
        let lines: Vec<&str> = b.lines().collect();
        assert_eq!(lines.len(), 5, "{b}");
        assert!(time.is_match(lines[0]), "{}", lines[0]);
        assert!(lines[1].starts_with("Error: "));
        assert!(lines[1].ends_with(" (case vace_short)"));
        assert!(lines[2].starts_with("Fix Applied: "));
        assert!(lines[3].starts_with("Result: "));
        assert!(lines[4].starts_with("Next Action: "));
    }
    assert_eq!(
        blocks[0].lines().nth(1).unwrap(),
        "Error: missing-input: FileNotFoundError: [Errno 2] No such file or directory: 'samples/guide.y4m' (case vace_short)"
    );
    assert!(blocks[0].contains(
        "Fix Applied: missing input samples/guide.y4m: wrote a 64x32 YUV4MPEG2 video of 81 frames"
    ));
    assert!(blocks[0].contains(
        "Result: partial\nNext Action: fix the next failure: out-of-memory (case vace_short)"
    ));
    assert!(blocks[1].contains(
        "Error: out-of-memory: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 29.97 GiB."
    ));
    assert!(blocks[1].contains("Fix Applied: out of memory: vace_short: video_length 81 -> 65\nResult: failed\nNext Action: retry oom on the same failure"));
    assert!(blocks[2].contains("Result: success\nNext Action: none: the baseline passes"));

    // attempts.jsonl: one full record per attempt.
    let jsonl = fs_err::read_to_string(fx.report.join("attempts.jsonl")).unwrap();
    let records: Vec<AttemptRecord> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3);
    assert_eq!(
        records[1].failure.class,
        crate::fix::FailureClass::OutOfMemory
    );
    assert_eq!(
        records[2].commit.as_deref(),
        Some(bench.commits[2].as_str())
    );
    assert_eq!(records[2].failing_after, Vec::<String>::new());
}

#[test]
fn oom_switches_away_after_repeats_and_stops() {
    let case = SHORT_CASE
        .replace("max_fit = 49", "max_fit = 1")
        .replace(", guide = \"samples/guide.y4m\"", "");
    let fx = fixture(&case, "max_attempts = 10\nswitch_after_repeats = 3");
    let mut bench = GitBench::new(&fx.cfg, &fx.tree);
    let out = run(&fx, &mut bench);
    assert!(!out.success);
    // 81 -> 65 -> 49 -> 33, then the same OOM three times: oom is given up.
    assert_eq!(
        out.reduced,
        [
            "vace_short: video_length 81 -> 65",
            "vace_short: video_length 65 -> 49",
            "vace_short: video_length 49 -> 33"
        ]
    );
    assert!(
        out.stop_reason
            .to_string()
            .starts_with("no strategy left for out-of-memory: torch.OutOfMemoryError"),
        "{}",
        out.stop_reason
    );
    assert!(
        out.stop_reason
            .to_string()
            .ends_with("switched away from oom"),
        "{}",
        out.stop_reason
    );
    assert_eq!(
        out.attempts[2].next_action,
        NextAction::Switch {
            why: SwitchReason::Repeated {
                times: 3,
                strategy: StrategyKind::Oom
            }
        }
    );
    assert_eq!(
        out.attempts[2].next_action.to_string(),
        "switch strategy: the same failure came back 3 times after oom"
    );
    assert_eq!(bench.runs, 4);
}

#[test]
fn a_fix_that_breaks_another_case_is_dropped() {
    let cases = format!(
        "{}\n\n[[baseline.case]]\nname = \"fragile\"\nmodel = \"vace_14B\"\noutputs = [\"*.y4m\"]\nparams = {{ video_length = 17, forbid_overrides = true }}",
        SHORT_CASE.replace(", guide = \"samples/guide.y4m\"", "")
    );
    let fx = fixture(&cases, "max_attempts = 2");
    let head = git(&fx.tree, &["rev-parse", "HEAD"]);
    let mut bench = GitBench::new(&fx.cfg, &fx.tree);
    let out = run(&fx, &mut bench);
    assert!(!out.success);
    assert_eq!(out.attempts.len(), 2);
    assert!(
        out.attempts
            .iter()
            .all(|a| a.dropped && a.result == AttemptResult::Failed)
    );
    assert_eq!(out.attempts[0].failing_after, ["vace_short", "fragile"]);
    assert!(
        out.attempts[0]
            .next_action
            .to_string()
            .starts_with("dropped the fix (it broke fragile)")
    );
    assert!(out.applied.is_empty() && out.reduced.is_empty());
    assert_eq!(out.stop_reason, StopReason::AttemptLimit { max: 2 });
    assert_eq!(
        out.stop_reason.to_string(),
        "the attempt limit (2) is reached"
    );
    // The tree is back where it started.
    assert_eq!(git(&fx.tree, &["rev-parse", "HEAD"]), head);
    assert!(!fx.tree.join("tether_baseline.json").exists());
    assert_eq!(out.last_run.failing().len(), 1);
}

#[test]
fn budget_and_off_switch_stop_before_any_attempt() {
    let fx = fixture(SHORT_CASE, "gpu_minutes_budget = 0.00001");
    let mut bench = GitBench::new(&fx.cfg, &fx.tree);
    let out = run(&fx, &mut bench);
    assert!(out.attempts.is_empty());
    assert!(
        out.stop_reason
            .to_string()
            .starts_with("the GPU budget would be passed"),
        "{}",
        out.stop_reason
    );
    assert!(!fx.report.join("debug_log.txt").exists());

    let fx = fixture(SHORT_CASE, "max_attempts = 0");
    let mut bench = GitBench::new(&fx.cfg, &fx.tree);
    let out = run(&fx, &mut bench);
    assert!(out.attempts.is_empty());
    assert_eq!(out.stop_reason, StopReason::Off);
    assert_eq!(
        out.stop_reason.to_string(),
        "the fix loop is off (update.max_attempts = 0)"
    );
}
