//! `tether config check` on bad files, with the real binary: every problem
//! in one run in file order, the line of bytes that are not UTF-8, and a
//! plain line per bad cron field.

use crate::support::Tether;

#[test]
fn config_check_lists_every_problem_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[project]\nroot = \".\"\n\nbogus = 1\n\n[[upstream]]\nname = \"a\"\nurl = \"u\"\npath = \"p\"\nlayout = 5\n\n[schedule]\ncheck = \"0 0 99 * * 9\"\n";
    fs_err::write(dir.path().join("tether.toml"), text).unwrap();
    let out = Tether::new(dir.path()).run(&["config", "check"]);
    out.assert_code(2);
    let e = &out.stderr;
    let at = |n: &str| e.find(n).unwrap_or_else(|| panic!("no `{n}` in\n{e}"));
    assert!(at("line 4: `project.bogus`") < at("line 10: `upstream[0].layout`"));
    assert!(at("line 10: `upstream[0].layout`") < at("line 13: `schedule.check`"));
    assert!(e.contains("\n    hours must be 0 to 23, not `99`\n"), "{e}");
    assert!(
        e.contains("\n    day of week must be 1 to 7 or SUN to SAT, not `9`"),
        "{e}"
    );
    assert!(!e.contains('^'), "caret art:\n{e}");
}

#[test]
fn a_config_that_is_not_utf8_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(
        dir.path().join("tether.toml"),
        b"[project]\nroot = \".\"\nname = \"ab\xff\"\n",
    )
    .unwrap();
    let out = Tether::new(dir.path()).run(&["config", "check"]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("is not UTF-8 text: line 3, column 11"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("tether config example >"),
        "{}",
        out.stderr
    );
}

/// `config check --json`: the problems as objects on stdout (exit 2), or
/// the valid config's summary (exit 0).
#[test]
fn config_check_json_prints_problems_or_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("tether.toml");
    fs_err::write(&cfg, "[project]\nroot = \".\"\nbogus = 1\n").unwrap();
    let t = Tether::new(dir.path());
    let out = t.run(&["config", "check", "--json"]);
    out.assert_code(2);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["problems"][0]["key"], "project.bogus");
    assert_eq!(v["problems"][0]["line"], 3);

    fs_err::write(
        &cfg,
        "[project]\nroot = \".\"\n\n[[upstream]]\nname = \"a\"\nurl = \"https://example.com/a.git\"\npath = \"A\"\nlayout = \"clone\"\n",
    )
    .unwrap();
    let out = t.run(&["config", "check", "--json"]);
    out.assert_code(0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["valid"], true, "{v:#}");
    assert_eq!(v["upstreams"][0]["name"], "a");
    assert_eq!(v["upstreams"][0]["layout"], "clone");
}
