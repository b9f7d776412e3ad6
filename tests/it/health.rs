//! `tether health` after a rejected update: the verdict judges the live
//! wrapper's own baseline runs, never the staged candidate's failed ones, and
//! the rolled-back update is reported apart, by name. The service's update
//! job leaves its "last baseline" to the live wrapper too.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::Tether;
use crate::support::sample::Sample;
use crate::watch::{Watch, runs, state, wait_for};

/// Passes on the live wrapper (its vendored upstream still has
/// `get_default_settings`) and fails on the update's candidate (the target
/// dropped it).
const PROBE_PY: &str =
    "import sys\nsys.path.insert(0, 'Wan2GP')\nimport wgp\nwgp.get_default_settings\nprint('ok')\n";

const PROBE_BASELINE: &str = r#"
[baseline]
command = "{python} probe.py"
timeout = "60s"

[[baseline.case]]
name = "probe"
model = "m"
"#;

fn sample(extra: &str) -> Sample {
    let s = Sample::new("vendored");
    let cfg = s.root.join("tether.toml");
    let mut toml = fs_err::read_to_string(&cfg).unwrap();
    toml.push_str(PROBE_BASELINE);
    toml.push_str(extra);
    fs_err::write(&cfg, toml).unwrap();
    s.wrapper.write("probe.py", PROBE_PY);
    s.wrapper.commit("test: baseline probe");
    s
}

/// tether at `now` (seconds after the support's fixed "now").
fn at(root: &Path, later: i64) -> Tether {
    let mut t = Tether::new(root);
    t.now = t.now.map(|n| n + later);
    t
}

fn health_json(root: &Path, later: i64) -> (i32, Value) {
    let out = at(root, later).run(&["health", "--json", "--no-probe"]);
    let v: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr));
    (out.code, v)
}

#[track_caller]
fn assert_not_failing_for_the_candidate(code: i32, h: &Value) {
    assert_ne!(h["verdict"], "failing", "{:#}", h["reasons"]);
    assert_ne!(code, 12, "{:#}", h["reasons"]);
    for r in h["reasons"].as_array().unwrap() {
        let text = r.to_string();
        assert!(!text.contains("baseline"), "a baseline reason: {text}");
    }
    // the trend holds the live run only
    let trend = &h["baseline"][0];
    assert_eq!(trend["case"], "probe", "{:#}", h["baseline"]);
    let points = trend["runs"].as_array().unwrap();
    assert_eq!(points.len(), 1, "{points:#?}");
    assert_eq!(points[0]["status"], "passed");
    assert!(
        points[0]["run_id"]
            .as_str()
            .unwrap()
            .starts_with("baseline-2"),
        "{points:#?}"
    );
    assert_eq!(
        h["baseline_not_live"], 1,
        "the candidate's run is counted apart"
    );
}

#[test]
fn health_judges_the_live_wrapper_not_a_rolled_back_candidate() {
    let s = sample("");
    at(&s.root, 0).run(&["baseline", "run"]).assert_code(0);
    at(&s.root, 60).run(&["update", "--no-fix"]).assert_code(7);
    let candidate = crate::support::update_dirs(&s.root)
        .into_iter()
        .next()
        .expect("an update folder")
        .join("baseline-initial/results.json");
    let run: Value = serde_json::from_str(&fs_err::read_to_string(&candidate).unwrap()).unwrap();
    assert_eq!(
        run["ran_on"]["kind"], "update_candidate",
        "{}",
        run["ran_on"]
    );
    assert_eq!(
        run["cases"][0]["status"], "failed",
        "the candidate must fail"
    );

    let (code, h) = health_json(&s.root, 120);
    assert_not_failing_for_the_candidate(code, &h);
    let last = &h["upstreams"][0]["last_update"];
    assert_eq!(last["status"], "rolled_back", "{last:#}");
    assert!(
        last["reason"]
            .as_str()
            .unwrap()
            .contains("the baseline still fails on the staged update (probe)"),
        "{last:#}"
    );
    assert!(last["report_dir"].as_str().unwrap().contains("update-"));

    let md = at(&s.root, 120).run(&["health", "--no-probe"]);
    assert!(
        md.stdout.contains("- last update of `sample` to `")
            && md.stdout.contains(": rolled back at ")
            && md
                .stdout
                .contains("the live wrapper is unchanged; report `"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout
            .contains("1 run(s) of staged update or bisect candidates are not counted"),
        "{}",
        md.stdout
    );
    assert!(md.stdout.contains("| probe | passed |"), "{}", md.stdout);

    // run folders written before tether recorded `ran_on` are judged the
    // same way: by their folder and their tree
    for f in [candidate.clone(), live_results(&s.root)] {
        let mut v: Value = serde_json::from_str(&fs_err::read_to_string(&f).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("ran_on").unwrap();
        fs_err::write(&f, serde_json::to_string(&v).unwrap()).unwrap();
    }
    let (code, h) = health_json(&s.root, 120);
    assert_not_failing_for_the_candidate(code, &h);

    // a failing live run is still failing
    s.wrapper.write("probe.py", "raise SystemExit(3)\n");
    at(&s.root, 180).run(&["baseline", "run"]).assert_code(6);
    let (code, h) = health_json(&s.root, 240);
    assert_eq!(code, 12, "{:#}", h["reasons"]);
    assert!(
        h["reasons"]
            .to_string()
            .contains("baseline case `probe` failed in the live wrapper's last run `baseline-"),
        "{:#}",
        h["reasons"]
    );
}

/// The `results.json` of the one top-level `baseline-*` run.
fn live_results(root: &Path) -> std::path::PathBuf {
    let mut found: Vec<_> = fs_err::read_dir(root.join("outputs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("baseline-")
        })
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found.pop().unwrap().join("results.json")
}

#[test]
fn a_service_update_that_rolls_back_leaves_the_last_baseline_alone() {
    let s = sample("\n[schedule]\nupdate = \"* * * * * *\"\n\n[service]\nlisten = \"off\"\n");
    let mut w = Watch::start(&s.root);
    wait_for(Duration::from_secs(120), "an update cycle", || {
        runs(&s.root, "update") >= 1
    });
    assert_eq!(w.stop(Duration::from_secs(60)), 0, "{}", w.log());
    let st = state(&s.root).unwrap();
    let verdict = st["upstreams"]["sample"]["last_verdict"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(verdict.starts_with("rolled back"), "{st:#}");
    assert_eq!(
        st["last_baseline"],
        Value::Array(Vec::new()),
        "the rejected candidate's run became the last baseline: {st:#}"
    );
}

/// `tether health` with no config anywhere is the system diagnostic (it
/// used to exit 2 asking for `tether.toml`): system, tether's installation
/// and a line saying what needs a config, with a verdict as the exit code.
/// A config named with `--config` that is missing is still a usage error.
#[test]
fn health_without_a_config_is_a_system_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tether::new(dir.path());
    let out = t.run(&["health", "--no-probe"]);
    assert!(
        [0, 11, 12].contains(&out.code),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(out.stdout.contains("## System"), "{}", out.stdout);
    assert!(out.stdout.contains("`tether-gpu` worker"), "{}", out.stdout);
    assert!(out.stdout.contains("need a config"), "{}", out.stdout);

    let out = t.run(&["health", "--no-probe", "--json"]);
    let h: Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stderr));
    assert_eq!(h["config"], Value::Null);
    assert_eq!(h["python"], Value::Null);
    assert_eq!(h["upstreams"], serde_json::json!([]));
    assert!(h["installation"]["version"].is_string(), "{h:#}");
    assert!(h["installation"]["worker"]["status"].is_string(), "{h:#}");
    let expected = match h["verdict"].as_str().unwrap() {
        "healthy" => 0,
        "degraded" => 11,
        _ => 12,
    };
    assert_eq!(out.code, expected, "{h:#}");

    t.run(&["health", "--no-probe", "--config", "missing.toml"])
        .assert_code(2);
}
