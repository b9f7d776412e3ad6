//! Every command's `--json` output against its JSON Schema in `schemas/`:
//! the real binary on a real sample project, each command's success and its
//! failure (the error document of `schemas/error.schema.json`), and proof
//! that the schemas are strict enough to catch a field that goes missing.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::Tether;
use crate::support::sample::Sample;

/// Passes on the live wrapper and fails on the target (which dropped
/// `get_default_settings`), so `update --no-fix` rolls back and `bisect`
/// has two ends to search between.
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

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

fn schema(name: &str) -> Value {
    let path = schemas_dir().join(format!("{name}.schema.json"));
    let text = fs_err::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The problems `value` has against `schemas/<name>.schema.json` (draft
/// 2020-12; the schema itself is checked against the meta-schema).
pub(crate) fn problems(name: &str, value: &Value) -> Vec<String> {
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema(name))
        .unwrap_or_else(|e| panic!("schemas/{name}.schema.json is not a valid schema: {e}"));
    validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Runs `args` with `--json`, asserts the exit code, that stdout is exactly
/// one JSON document, and that `schema` accepts it; returns the document.
#[track_caller]
fn valid(t: &Tether, args: &[&str], code: i32, schema: &str) -> Value {
    let out = t.run(args);
    out.assert_code(code);
    let value: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "`tether {}` printed no single JSON document: {e}\n--- stdout\n{}\n--- stderr\n{}",
            args.join(" "),
            out.stdout,
            out.stderr
        )
    });
    let found = problems(schema, &value);
    assert!(
        found.is_empty(),
        "`tether {}` does not match schemas/{schema}.schema.json:\n{}\n--- stdout\n{}",
        args.join(" "),
        found.join("\n"),
        out.stdout
    );
    value
}

fn sample() -> Sample {
    let s = Sample::new("vendored");
    let cfg = s.root.join("tether.toml");
    let mut toml = fs_err::read_to_string(&cfg).unwrap();
    toml.push_str(PROBE_BASELINE);
    fs_err::write(&cfg, toml).unwrap();
    s.wrapper.write("probe.py", PROBE_PY);
    s.wrapper.commit("test: baseline probe");
    s
}

#[test]
fn every_json_command_prints_what_its_schema_describes() {
    let s = sample();
    let t = s.tether();
    let mut used = std::collections::BTreeSet::new();
    let mut check = |args: &[&str], code: i32, schema: &'static str| {
        used.insert(schema);
        valid(&t, args, code, schema)
    };

    check(&["config", "check", "--json"], 0, "config-check");
    check(&["check", "--json"], 0, "check");
    check(&["pending", "--json"], 0, "pending");
    check(&["analyze", "--json"], 3, "analyze");
    check(&["baseline", "record", "--json"], 0, "baseline-record");
    check(&["baseline", "run", "--json"], 0, "baseline");
    check(&["baseline", "compare", "--json"], 0, "baseline");
    check(&["health", "--json", "--no-probe"], h_code(&t), "health");
    check(&["update", "--no-fix", "--json"], 7, "update");
    check(&["bisect", "--json"], 0, "bisect");
    // after the update: a last update and a baseline trend in the report
    check(&["health", "--json", "--no-probe"], h_code(&t), "health");

    // each failure is one error document on stdout, exit code unchanged
    let e = check(&["check", "--json", "--upstream", "nope"], 2, "error");
    assert_eq!(e["error"]["kind"], "usage", "{e:#}");
    // an unknown --to is a usage error, as for update
    let e = check(&["analyze", "--json", "--to", "deadbeef"], 2, "error");
    assert_eq!(e["error"]["upstream"], "sample", "{e:#}");
    assert_eq!(e["error"]["kind"], "usage", "{e:#}");
    let e = check(&["update", "--json", "--upstream", "nope"], 2, "error");
    assert_eq!(e["error"]["kind"], "usage", "{e:#}");
    check(
        &["baseline", "compare", "--json", "--run", "nope"],
        2,
        "error",
    );
    check(&["bisect", "--json", "--good", "nope"], 1, "error");
    check(&["approve", "--json", "nope"], 2, "error");
    let e = check(
        &["health", "--json", "--config", "missing.toml"],
        2,
        "error",
    );
    assert_eq!(e["error"]["kind"], "config", "{e:#}");
    assert!(e["error"]["hint"].is_string(), "{e:#}");
    let v = check(
        &["config", "check", "--json", "--config", "missing.toml"],
        2,
        "config-check",
    );
    assert_eq!(v["valid"], false);
    fs_err::write(s.root.join("bad.toml"), "[project]\nroot = 3\nbogus = 1\n").unwrap();
    let v = check(
        &["config", "check", "--json", "--config", "bad.toml"],
        2,
        "config-check",
    );
    assert_eq!(v["problems"].as_array().unwrap().len(), 3, "{v:#}");

    // without a config: the system diagnostic, and the probe on the CPU
    let bare = tempfile::tempdir().unwrap();
    let t_bare = Tether::new(bare.path());
    used.insert("health");
    let h = valid(
        &t_bare,
        &["health", "--json", "--no-probe"],
        h_code(&t_bare),
        "health",
    );
    assert_eq!(h["config"], Value::Null);
    used.insert("gpu-probe");
    valid(
        &t_bare,
        &["gpu", "probe", "--json", "--device", "cpu"],
        0,
        "gpu-probe",
    );
    used.insert("error");
    valid(
        &t_bare,
        &["gpu", "probe", "--json", "--config", "missing.toml"],
        2,
        "error",
    );

    // every schema in schemas/ was checked against real output
    let all: std::collections::BTreeSet<String> = fs_err::read_dir(schemas_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let checked: std::collections::BTreeSet<String> =
        used.iter().map(|n| format!("{n}.schema.json")).collect();
    assert_eq!(all, checked, "schemas with no test against real output");
}

/// The exit code `health` gives on this machine (healthy, or degraded where
/// the interpreter has no torch or no worker is found).
fn h_code(t: &Tether) -> i32 {
    t.run(&["health", "--json", "--no-probe"]).code
}

#[test]
fn check_json_prints_an_error_object_when_the_fetch_fails() {
    let s = sample();
    let cfg = s.root.join("tether.toml");
    let toml = fs_err::read_to_string(&cfg).unwrap();
    let gone = s.root.join("gone");
    let toml: Vec<String> = toml
        .lines()
        .map(|l| {
            if l.starts_with("url = ") {
                format!("url = \"{}\"", gone.display())
            } else {
                l.to_owned()
            }
        })
        .collect();
    fs_err::write(&cfg, toml.join("\n")).unwrap();
    let e = valid(&s.tether(), &["check", "--json"], 1, "error");
    assert_eq!(e["error"]["kind"], "fetch", "{e:#}");
    assert_eq!(e["error"]["upstream"], "sample", "{e:#}");
    assert_eq!(e["error"]["exit_code"], 1, "{e:#}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot fetch"),
        "{e:#}"
    );
}

#[test]
fn the_schemas_reject_a_missing_field_and_an_unknown_one() {
    let s = sample();
    let t = s.tether();
    let cases: [(&[&str], i32, &str, &str); 3] = [
        (&["check", "--json", "--no-fetch"], 0, "check", "behind"),
        (
            &["health", "--json", "--no-probe"],
            h_code(&t),
            "health",
            "verdict",
        ),
        (
            &["config", "check", "--json"],
            0,
            "config-check",
            "upstreams",
        ),
    ];
    // the mirror for --no-fetch
    t.run(&["check"]).assert_code(0);
    for (args, code, name, field) in cases {
        let whole = valid(&t, args, code, name);
        let mut missing = whole.clone();
        missing.as_object_mut().unwrap().remove(field).unwrap();
        assert!(
            !problems(name, &missing).is_empty(),
            "schemas/{name}.schema.json accepts output without `{field}`"
        );
        let mut extra = whole.clone();
        extra
            .as_object_mut()
            .unwrap()
            .insert("surprise".into(), Value::Bool(true));
        assert!(
            !problems(name, &extra).is_empty(),
            "schemas/{name}.schema.json accepts an unknown field"
        );
    }
    let mut e = valid(&t, &["check", "--json", "--upstream", "nope"], 2, "error");
    e["error"].as_object_mut().unwrap().remove("kind").unwrap();
    assert!(!problems("error", &e).is_empty());
}
