//! Progress events of long work, read from the JSON lines the real `tether`
//! binary writes to `TETHER_PROGRESS_FILE`: a baseline run's cases (with the
//! last line of a running case's log, redacted), an update's fetch,
//! analysis phases and fix attempts; never in the service; and, without that
//! variable and with stderr not a terminal, no bars anywhere and `--json`
//! stdout one document.

use std::path::Path;

use serde_json::Value;

use crate::support::Tether;
use crate::support::tether::TetherOutput;

/// A case that says what it does, slowly, and once prints a secret.
const CASE_PY: &str = r#"
import sys, time
slow = sys.argv[1] == "slow"
print("loading the model", flush=True)
if slow:
    time.sleep(1.5)
    print("token=hf_" + "abcdefghijklmnopqrstuvwxyz012345", flush=True)
    time.sleep(1.5)
    print("step 2 of 2", flush=True)
    time.sleep(1.5)
"#;

fn run_with_events(t: &Tether, args: &[&str], events: &Path) -> TetherOutput {
    let out = t
        .cmd()
        .args(args)
        .env(tether::env::TETHER_PROGRESS_FILE, events)
        .output()
        .expect("tether runs");
    TetherOutput {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn read_events(path: &Path) -> Vec<Value> {
    fs_err::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The events without the running ticks, as `kind` or `kind:detail` words.
fn outline(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] != "case_running" && e["event"] != "fetch_objects")
        .map(|e| {
            let kind = e["event"].as_str().unwrap();
            let detail = ["attempt", "step", "case", "phase", "upstream"]
                .iter()
                .find_map(|k| match &e[*k] {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                });
            match detail {
                Some(d) => format!("{kind}:{d}"),
                None => kind.to_owned(),
            }
        })
        .collect()
}

fn baseline_project() -> crate::support::project::TempProject {
    crate::support::project::temp_project(
        "python3",
        &[("case.py", CASE_PY)],
        r#"
[baseline]
quality = false
command = "{python} case.py {param.speed}"
timeout = "60s"

[[baseline.case]]
name = "quick"
model = "m"
params = { speed = "quick" }

[[baseline.case]]
name = "slow"
model = "m"
params = { speed = "slow" }

[gpu]
preflight = "never"
"#,
    )
}

#[test]
fn a_baseline_run_reports_each_case_with_its_last_log_line_redacted() {
    let p = baseline_project();
    let events = p.dir.join("events.jsonl");
    let out = run_with_events(&Tether::new(&p.dir), &["baseline", "run"], &events);
    out.assert_code(0);
    let all = read_events(&events);
    assert_eq!(
        outline(&all),
        [
            "baseline_started",
            "case_started:quick",
            "case_finished:quick",
            "case_started:slow",
            "case_finished:slow",
            "baseline_finished",
        ],
        "{all:#?}"
    );
    assert_eq!(all[0]["cases"], 2);
    assert_eq!(all[1]["index"], 1);
    assert_eq!(all[1]["total"], 2);
    assert_eq!(all.last().unwrap()["passed"], 2);
    let lines: Vec<&str> = all
        .iter()
        .filter(|e| e["event"] == "case_running" && e["case"] == "slow")
        .filter_map(|e| e["last_line"].as_str())
        .collect();
    assert!(lines.contains(&"loading the model"), "{lines:?}");
    assert!(lines.contains(&"step 2 of 2"), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("token=") && l.contains("[REDACTED")),
        "the secret line is shown redacted: {lines:?}"
    );
    let text = fs_err::read_to_string(&events).unwrap();
    assert!(!text.contains("abcdefghijklmnopqrstuvwxyz012345"), "{text}");
    // the elapsed time of a running case grows
    let elapsed: Vec<u64> = all
        .iter()
        .filter(|e| e["event"] == "case_running" && e["case"] == "slow")
        .map(|e| e["elapsed_ms"].as_u64().unwrap())
        .collect();
    assert!(elapsed.windows(2).all(|w| w[0] < w[1]), "{elapsed:?}");
}

#[test]
fn without_a_terminal_nothing_is_drawn_and_json_stays_one_document() {
    let p = baseline_project();
    let out = Tether::new(&p.dir).run(&["baseline", "run", "--json", "--cases", "quick"]);
    out.assert_code(0);
    let v: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document: {e}\n{}", out.stdout));
    assert!(v.is_object(), "{v}");
    for drawn in ["\r", "\u{1b}[", "case quick", "baseline ", "cases"] {
        assert!(
            !out.stderr.contains(drawn),
            "stderr draws progress ({drawn:?}):\n{}",
            out.stderr
        );
    }
}

#[test]
fn an_update_reports_the_fetch_analysis_phases_and_fix_attempts() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tether::demo::create(&tmp.path().join("demo"), "python3").unwrap();
    let events = tmp.path().join("events.jsonl");
    let out = run_with_events(&Tether::new(&d.root), &["update", "--json"], &events);
    out.assert_code(0);
    serde_json::from_str::<Value>(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document: {e}\n{}", out.stdout));
    let all = read_events(&events);
    let words = outline(&all);
    let pos = |w: &str| {
        words
            .iter()
            .position(|x| x == w)
            .unwrap_or_else(|| panic!("no {w} in {words:#?}"))
    };
    // fetch, then analysis with its phases, then the runs
    assert!(pos("fetch_started:demo") < pos("fetch_finished:demo"));
    assert!(pos("fetch_finished:demo") < pos("analysis_started:demo"));
    let phases: Vec<&str> = all
        .iter()
        .filter(|e| e["event"] == "analysis_phase")
        .map(|e| e["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases.first(), Some(&"tree diff"), "{phases:?}");
    assert!(
        phases.contains(&"integration points resolved"),
        "{phases:?}"
    );
    assert!(pos("analysis_finished:demo") < pos("baseline_started"));
    // the demo's three breaks take attempts, each a baseline run of its own
    let attempts: Vec<&Value> = all
        .iter()
        .filter(|e| e["event"] == "attempt_started")
        .collect();
    assert!(attempts.len() >= 3, "{words:#?}");
    for (i, a) in attempts.iter().enumerate() {
        assert_eq!(a["attempt"], i as u64 + 1);
        assert_eq!(a["max"], 10);
    }
    let first = pos("attempt_started:1");
    assert!(words[first..].iter().any(|w| w == "baseline_started"));
    let finished: Vec<&str> = all
        .iter()
        .filter(|e| e["event"] == "attempt_finished")
        .map(|e| e["result"].as_str().unwrap())
        .collect();
    assert_eq!(finished.len(), attempts.len());
    assert_eq!(finished.last(), Some(&"success"), "{finished:?}");
}

#[test]
fn the_service_never_reports_progress() {
    let p = baseline_project();
    let events = p.dir.join("events.jsonl");
    // no job scheduled: the service stops at once, after the progress sink
    // would have been set up
    let out = run_with_events(&Tether::new(&p.dir), &["watch"], &events);
    out.assert_code(2);
    assert!(
        !events.exists(),
        "tether watch opened the progress file:\n{}",
        out.stderr
    );
}
