//! The baseline suite with real child processes: a plain Python 3 script
//! stands in for the wrapper's generation test and behaves as each case's
//! `behaviour` parameter says.

use std::path::{Path, PathBuf};

use tether::baseline::{self, BaselineRun, CaseStatus, Overrides, RunOptions};
use tether::config::Config;
use tether::gpu::VramPeak;
use tether::process::Exit;

use crate::support::Tether;

/// The wrapper's "generation test": reads the settings tether wrote and
/// acts on `params.behaviour`.
const CASE_PY: &str = r#"
import json, os, sys, time

p = sys.argv[sys.argv.index("--settings") + 1]
out = sys.argv[sys.argv.index("--out") + 1]
s = json.load(open(p))
b = s["params"].get("behaviour", "ok")
print(f"case={os.environ['TETHER_CASE']} model={s['model']} run={os.environ['TETHER_RUN_ID']}")
print(f"video_length={s['params'].get('video_length')}")
sys.stdout.flush()

def video():
    with open(os.path.join(out, "video.y4m"), "wb") as f:
        f.write(b"YUV4MPEG2 W16 H16 F16:1 C420\n" + b"FRAME\n" + bytes(384))

def results(entries):
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(entries, f)

if b == "ok":
    video()
elif b == "traceback":
    open("inputs/missing_video.mp4")
elif b == "hang":
    time.sleep(100)
elif b == "no_output":
    pass
elif b == "outside":
    with open("video.y4m", "w") as f:
        f.write("written in the tree, not in the output folder")
elif b == "results_pass":
    video()
    results({"cases": [{"name": s["case"], "status": "success", "output": os.path.join(out, "video.y4m")}]})
elif b == "results_fail":
    results([{"name": "someone_else", "status": "success"},
             {"name": s["case"], "status": "failed", "error": "CUDA out of memory"}])
    sys.exit(0)
elif b == "secret_output":
    print("token=" + "s3cr3tvalue0123456789")
    sys.stdout.flush()
    with open(os.path.join(out, "hf_" + "S3cr3tN4meInAFile.y4m"), "wb") as f:
        f.write(b"YUV4MPEG2 W16 H16 F16:1 C420\n" + b"FRAME\n" + bytes(384))
elif b == "secret_error":
    results([{"name": s["case"], "status": "failed",
              "error": "upload refused: Authorization: Bearer " + "s3cr3tbearer0123456789"}])
    sys.exit(0)
elif b == "results_missing":
    pass
elif b == "results_malformed":
    with open(os.path.join(out, "results.json"), "w") as f:
        f.write("{not json")
else:
    sys.exit(f"unknown behaviour {b}")
"#;

struct Project {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    tree: PathBuf,
    cfg: Config,
}

/// A project in a temp dir: `tether.toml` with `baseline` (the `[baseline]`
/// keys and cases) and a wrapper tree holding `case.py`.
fn project(baseline: &str) -> Project {
    let p = crate::support::project::temp_project(
        "python3",
        &[("case.py", CASE_PY)],
        &format!(
            r#"
[baseline]
quality = false
command = "{{python}} case.py --settings {{settings_json}} --out {{output_dir}}"
grace_period = "1s"
timeout = "60s"
{baseline}
"#
        ),
    );
    let cfg = Config::load(&p.dir.join("tether.toml")).unwrap();
    Project {
        tree: p.dir.join("wrapper"),
        dir: p.dir,
        _tmp: p._tmp,
        cfg,
    }
}

fn case(name: &str, behaviour: &str) -> String {
    format!(
        r#"
[[baseline.case]]
name = "{name}"
model = "vace_14B"
outputs = ["*.y4m"]
params = {{ behaviour = "{behaviour}", video_length = 81, resolution = "832x480" }}
"#
    )
}

impl Project {
    fn run(&self) -> BaselineRun {
        self.run_in(&self.tree)
    }

    fn run_in(&self, tree: &Path) -> BaselineRun {
        let run_dir = self.dir.join("outputs/test-run");
        baseline::run_suite(
            &self.cfg,
            tree,
            &RunOptions {
                run_id: "test-run".into(),
                run_dir,
                cases: None,
                cancel: None,
                preflight: false,
                ran_on: baseline::RanOn::Live,
            },
        )
        .unwrap()
    }
}

fn has_nvidia_gpu() -> bool {
    Path::new("/dev/nvidiactl").exists()
}

#[test]
fn passing_suite_writes_settings_logs_outputs_and_results() {
    let p = project(&(case("short", "ok") + &case("long", "ok")));
    let run = p.run();
    assert!(run.passed(), "{:#?}", run.failing());
    assert_eq!(run.cases.len(), 2);
    assert!(run.failing().is_empty());
    let c = &run.cases[0];
    assert_eq!(c.name, "short");
    assert_eq!(c.status, CaseStatus::Passed);
    assert_eq!(c.exit, Some(Exit::Code(0)));
    assert_eq!(c.error, None);
    assert_eq!(
        c.stdout_tail,
        "case=short model=vace_14B run=test-run\nvideo_length=81\n"
    );
    assert_eq!(c.outputs.len(), 1);
    assert_eq!(c.outputs[0].path, "video.y4m");
    assert_eq!(c.outputs[0].bytes, 29 + 6 + 384);
    let case_dir = p.dir.join("outputs/test-run/short");
    assert_eq!(c.log_dir, case_dir);
    assert!(case_dir.join("stdout.log").is_file());
    assert!(case_dir.join("stderr.log").is_file());
    let settings: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(case_dir.join("settings.json")).unwrap())
            .unwrap();
    assert_eq!(settings["case"], "short");
    assert_eq!(settings["model"], "vace_14B");
    assert_eq!(settings["params"]["video_length"], 81);
    assert_eq!(c.settings_hash.len(), 16);
    if !has_nvidia_gpu() {
        assert!(!run.vram_available);
        assert_eq!(run.hardware.slug, "cpu");
        assert!(
            matches!(&c.peak_vram, VramPeak::Unavailable { reason } if reason.contains("NVML")),
            "{:?}",
            c.peak_vram
        );
    }
    let back: BaselineRun = serde_json::from_str(
        &fs_err::read_to_string(p.dir.join("outputs/test-run/results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(back.cases.len(), 2);
    assert_eq!(back.cases[1].name, "long");
    assert_eq!(back.cases[1].status, CaseStatus::Passed);
}

#[test]
fn a_traceback_fails_the_case_with_its_stderr_tail() {
    let p = project(&(case("good", "ok") + &case("broken", "traceback")));
    let run = p.run();
    assert!(!run.passed());
    let failing = run.failing();
    assert_eq!(failing.len(), 1);
    let c = failing[0];
    assert_eq!(c.name, "broken");
    assert_eq!(c.status, CaseStatus::Failed);
    assert_eq!(c.exit, Some(Exit::Code(1)));
    assert_eq!(c.error.as_deref(), Some("exit code 1"));
    assert!(
        c.stderr_tail.contains("Traceback (most recent call last):")
            && c.stderr_tail.contains(
                "FileNotFoundError: [Errno 2] No such file or directory: 'inputs/missing_video.mp4'"
            ),
        "{}",
        c.stderr_tail
    );
    assert!(c.outputs.is_empty());
}

#[test]
fn the_results_file_decides_each_case() {
    let p = project(
        &("results_file = \"results.json\"\n".to_owned()
            + &case("pass", "results_pass")
            + &case("fail", "results_fail")),
    );
    let run = p.run();
    let pass = &run.cases[0];
    assert_eq!(pass.status, CaseStatus::Passed, "{:?}", pass.error);
    assert_eq!(pass.outputs.len(), 1);
    assert_eq!(pass.outputs[0].path, "video.y4m");
    let fail = &run.cases[1];
    // Exit code 0, but the results file says it failed.
    assert_eq!(fail.exit, Some(Exit::Code(0)));
    assert_eq!(fail.status, CaseStatus::Failed);
    assert_eq!(
        fail.error.as_deref(),
        Some("results file says the case failed: CUDA out of memory")
    );
}

#[test]
fn a_missing_or_malformed_results_file_fails_the_case() {
    let p = project(
        &("results_file = \"results.json\"\n".to_owned()
            + &case("missing", "results_missing")
            + &case("malformed", "results_malformed")),
    );
    let run = p.run();
    let missing = &run.cases[0];
    assert_eq!(missing.status, CaseStatus::Failed);
    assert_eq!(
        missing.error.as_deref(),
        Some("results file `results.json` was not written (exit code 0)")
    );
    let malformed = &run.cases[1];
    assert_eq!(malformed.status, CaseStatus::Failed);
    let e = malformed.error.as_deref().unwrap();
    assert!(
        e.starts_with("results file `results.json` is not valid JSON (exit code 0): "),
        "{e}"
    );
}

#[test]
fn missing_expected_outputs_fail_the_case() {
    let p = project(&(case("nothing", "no_output") + &case("elsewhere", "outside")));
    let run = p.run();
    for c in &run.cases {
        assert_eq!(c.exit, Some(Exit::Code(0)), "{}", c.name);
        assert_eq!(c.status, CaseStatus::Failed, "{}", c.name);
        assert_eq!(
            c.error.as_deref(),
            Some(
                "exit code 0, but no file in the case's output folder matches the expected output `*.y4m`"
            ),
            "{}",
            c.name
        );
    }
    // The file written outside the output folder exists, but does not count.
    assert!(p.tree.join("video.y4m").is_file());
}

#[test]
fn a_hanging_case_is_killed_at_its_timeout() {
    let body = case("hangs", "hang").replace(
        "outputs = [\"*.y4m\"]",
        "outputs = [\"*.y4m\"]\ntimeout = \"1s\"",
    );
    let p = project(&(body + &case("after", "ok")));
    let started = std::time::Instant::now();
    let run = p.run();
    let c = &run.cases[0];
    assert_eq!(c.status, CaseStatus::TimedOut);
    assert_eq!(c.exit, Some(Exit::TimedOut));
    assert_eq!(c.error.as_deref(), Some("timed out after 1s"));
    assert!(
        c.duration_s >= 1.0 && c.duration_s < 10.0,
        "{}",
        c.duration_s
    );
    // The next case still runs.
    assert_eq!(run.cases[1].status, CaseStatus::Passed);
    assert!(started.elapsed().as_secs() < 30);
}

#[test]
fn the_overrides_file_changes_params_and_model() {
    let p = project(&(case("short", "ok") + &case("other", "ok")));
    let mut o = Overrides::load(&p.tree, &p.cfg).unwrap();
    assert_eq!(o, Overrides::default());
    o.set_param("short", "video_length", serde_json::json!(65));
    o.set_model("short", "vace_1.3B");
    let path = o.save(&p.tree, &p.cfg).unwrap();
    assert_eq!(path, p.tree.join("tether_baseline.json"));
    assert_eq!(
        fs_err::read_to_string(&path).unwrap(),
        r#"{
  "format_version": 1,
  "cases": {
    "short": {
      "model": "vace_1.3B",
      "params": {
        "video_length": 65
      }
    }
  }
}
"#
    );
    assert_eq!(Overrides::load(&p.tree, &p.cfg).unwrap(), o);

    let run = p.run();
    let short = &run.cases[0];
    assert_eq!(short.model, "vace_1.3B");
    assert_eq!(short.params["video_length"], 65);
    assert_eq!(short.params["resolution"], "832x480");
    assert!(short.stdout_tail.contains("video_length=65"));
    let settings: serde_json::Value = serde_json::from_str(
        &fs_err::read_to_string(p.dir.join("outputs/test-run/short/settings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(settings["params"]["video_length"], 65);
    assert_eq!(settings["model"], "vace_1.3B");
    // Untouched case, and a different settings hash than without overrides.
    assert_eq!(run.cases[1].params["video_length"], 81);
    assert_ne!(short.settings_hash, run.cases[1].settings_hash);
}

#[test]
fn a_malformed_overrides_file_is_an_error_naming_it() {
    let p = project(&case("short", "ok"));
    fs_err::write(
        p.tree.join("tether_baseline.json"),
        r#"{"format_version": 1, "cases": {"short": {"parms": {}}}}"#,
    )
    .unwrap();
    let err = baseline::run_suite(
        &p.cfg,
        &p.tree,
        &RunOptions {
            run_id: "x".into(),
            run_dir: p.dir.join("outputs/x"),
            cases: None,
            cancel: None,
            preflight: false,
            ran_on: baseline::RanOn::Live,
        },
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "baseline overrides file `{}` is malformed: unknown field `parms`",
            p.tree.join("tether_baseline.json").display()
        )),
        "{msg}"
    );
}

#[test]
fn cli_run_record_and_compare() {
    let p = project(&(case("alpha", "ok") + &case("beta", "ok") + &case("broken", "traceback")));
    let t = Tether::new(&p.dir);

    let out = t.run(&["baseline", "run", "--cases", "alpha,beta"]);
    out.assert_code(0);
    assert!(out.stdout.contains("2 of 2 cases passed"), "{}", out.stdout);
    let slug = if has_nvidia_gpu() { "" } else { "cpu" };
    assert!(
        out.stdout
            .contains(&format!("new (no reference for {slug}")),
        "{}",
        out.stdout
    );
    let runs: Vec<PathBuf> = fs_err::read_dir(p.dir.join("outputs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run: BaselineRun =
        serde_json::from_str(&fs_err::read_to_string(runs[0].join("results.json")).unwrap())
            .unwrap();
    assert_eq!(run.cases.len(), 2);
    assert!(run.run_id.starts_with("baseline-"), "{}", run.run_id);

    let out = t.run(&["baseline", "record", "--cases", "alpha,beta"]);
    out.assert_code(0);
    let refs: Vec<PathBuf> = fs_err::read_dir(p.dir.join("baselines").join(&run.hardware.slug))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(refs.len(), 2, "{refs:?}");
    let alpha = refs
        .iter()
        .find(|r| {
            r.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("alpha-")
        })
        .unwrap();
    assert!(
        out.stdout
            .contains(&format!("recorded {}", alpha.display())),
        "{}",
        out.stdout
    );
    let reference: baseline::Reference =
        serde_json::from_str(&fs_err::read_to_string(alpha).unwrap()).unwrap();
    assert_eq!(reference.case, "alpha");
    assert_eq!(reference.status, CaseStatus::Passed);
    assert_eq!(reference.outputs.len(), 1);

    // A second run compares with the references.
    let out = t.run(&["baseline", "run", "--cases", "alpha", "--json"]);
    out.assert_code(0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let cmp = &v["comparisons"][0];
    assert_eq!(cmp["case"], "alpha");
    assert_eq!(cmp["kind"], "compared");
    assert_eq!(cmp["status_changed"], false);
    assert!(cmp["duration_ratio"].as_f64().unwrap() > 0.0);
    assert_eq!(cmp["reference"].as_str().unwrap(), alpha.to_str().unwrap());

    // The failing case: exit code 6, its error and stderr in the summary.
    let out = t.run(&["baseline", "run", "--cases", "broken"]);
    out.assert_code(6);
    assert!(out.stdout.contains("FAILED"), "{}", out.stdout);
    assert!(out.stdout.contains("exit code 1"), "{}", out.stdout);
    assert!(out.stdout.contains("FileNotFoundError"), "{}", out.stdout);
    assert!(out.stdout.contains("0 of 1 case passed"), "{}", out.stdout);

    // An unknown case name is a usage error.
    let out = t.run(&["baseline", "run", "--cases", "nope"]);
    out.assert_code(2);
    assert!(
        out.stderr
            .contains("no baseline case named `nope` (known: `alpha`, `beta`, `broken`)"),
        "{}",
        out.stderr
    );
}

/// `baseline run --json` and `baseline record --json` once printed the run
/// as it was, so a secret in an output's file name reached stdout.
#[test]
fn baseline_json_stdout_holds_no_secret_from_a_case() {
    let p = project(&(case("leaky", "secret_output") + &case("refused", "secret_error")));
    let t = Tether::new(&p.dir);
    let secrets = [
        "s3cr3tvalue0123456789",
        "S3cr3tN4meInAFile",
        "s3cr3tbearer0123456789",
    ];
    for (args, code) in [
        (&["baseline", "run", "--json"][..], 6),
        (&["baseline", "run"][..], 6),
        (&["baseline", "record", "--cases", "leaky", "--json"][..], 0),
        (&["baseline", "compare", "--json"][..], 0),
    ] {
        let out = t.run(args);
        out.assert_code(code);
        for s in secrets {
            assert!(
                !out.stdout.contains(s),
                "{args:?} printed {s}: {}",
                out.stdout
            );
        }
        if args.contains(&"--json") {
            let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
            let case = &v["run"]["cases"][0];
            assert_eq!(case["name"], "leaky", "{v}");
            assert_eq!(case["outputs"].as_array().map(Vec::len), Some(1), "{v}");
        }
    }
    // nor does any report file of the runs
    for run in fs_err::read_dir(p.dir.join("outputs")).unwrap() {
        let run = run.unwrap().path();
        for name in [
            "results.json",
            "comparison.json",
            "baseline_report.md",
            "baseline_report.html",
        ] {
            let text = fs_err::read_to_string(run.join(name)).unwrap();
            for s in secrets {
                assert!(
                    !text.contains(s),
                    "{}/{name} holds {s}: {text}",
                    run.display()
                );
            }
        }
    }
}

#[test]
fn a_case_writing_into_the_tree_is_reported() {
    let p = project(&(case("clean", "ok") + &case("elsewhere", "outside")));
    let repo = crate::support::GitRepo::open(&p.tree, crate::support::git::EPOCH);
    repo.git(&["init", "-q", "-b", "main"]);
    repo.commit("feat: the wrapper's test script");
    let run = p.run();
    let clean = run.cases.iter().find(|c| c.name == "clean").unwrap();
    assert_eq!(clean.stray_writes, Vec::<String>::new());
    let elsewhere = run.cases.iter().find(|c| c.name == "elsewhere").unwrap();
    assert_eq!(elsewhere.stray_writes, vec!["video.y4m".to_owned()]);
}

/// `-v` says when each case starts, not only when it ends.
#[test]
fn verbose_logs_each_case_start_before_its_end() {
    let p = project(&(case("alpha", "ok") + &case("beta", "ok")));
    let out = Tether::new(&p.dir).run(&["-v", "baseline", "run"]);
    out.assert_code(0);
    let e = &out.stderr;
    let at = |n: &str| e.find(n).unwrap_or_else(|| panic!("no `{n}` in\n{e}"));
    let started = at("baseline case started case=alpha");
    let finished = at("baseline case finished case=alpha");
    assert!(started < finished, "{e}");
    assert!(finished < at("baseline case started case=beta"), "{e}");
}
