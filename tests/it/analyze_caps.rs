//! The caps on what `tether analyze` lists and writes, on a generated
//! multi-megabyte wrapper file with tens of thousands of broken calls: over
//! `analysis.max_file_bytes` it is listed, not parsed; with the cap raised it
//! is parsed (a piece at a time: it is over 4 MiB), every finding is
//! counted, and the terminal, the Markdown reports and `analysis.json` list
//! at most the configured number, say how many more there are, and stay
//! under `analysis.max_report_bytes`.

use std::fmt::Write;

use serde_json::Value;

use crate::support::sample::Sample;

const BIG: &str = "gen/wgp_big.py";
/// Lines of calls in the generated file: two thirds broken upstream.
const CALLS: usize = 100_000;
/// The sample's own findings besides the generated file's.
const SAMPLE_BREAKING: u64 = 10;
const SAMPLE_INFO: u64 = 9;

/// About 4.7 MB: `get_default_settings` is removed upstream and
/// `get_model_def` renamed (both breaking); `sanitize_name` is unchanged.
fn big_file() -> String {
    let mut s = String::from("\"\"\"Generated.\"\"\"\nimport wgp\n\n");
    for i in 0..CALLS {
        let _ = match i % 3 {
            0 => writeln!(s, "settings_{i} = wgp.get_default_settings(\"t2v_1.3B\")"),
            1 => writeln!(s, "model_{i} = wgp.get_model_def(\"t2v_1.3B\")"),
            _ => writeln!(s, "name_{i} = wgp.sanitize_name(\"n{i}\")"),
        };
    }
    s
}

fn set_analysis(s: &Sample, table: &str) {
    let cfg = s.root.join("tether.toml");
    let text = fs_err::read_to_string(&cfg).unwrap();
    let base = text.split("\n[analysis]\n").next().unwrap().to_owned();
    fs_err::write(&cfg, format!("{base}\n[analysis]\n{table}")).unwrap();
}

fn read(s: &Sample, name: &str) -> String {
    fs_err::read_to_string(s.analysis_dir().join(name)).unwrap()
}

fn omitted(a: &Value, file: &str, severity: &str) -> u64 {
    a["integration"]["omitted"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["file"] == file && o["severity"] == severity)
        .map_or(0, |o| o["count"].as_u64().unwrap())
}

fn listed(a: &Value, file: &str, severity: &str) -> usize {
    a["integration"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["point"]["file"] == file && f["severity"] == severity)
        .count()
}

#[test]
fn a_huge_generated_file_is_skipped_then_capped_when_the_cap_is_raised() {
    let s = Sample::new("submodule");
    let text = big_file();
    assert!(text.len() > 4 * 1024 * 1024, "{}", text.len());
    s.wrapper.write(BIG, &text);
    s.wrapper.commit("chore: a generated module");

    // over max_file_bytes: listed as not scanned, nothing of it parsed
    set_analysis(&s, "max_file_bytes = 1048576\n");
    s.tether().run(&["analyze"]).assert_code(3);
    let a = s.analysis_json();
    let notes = a["notes"].to_string();
    assert!(
        notes.contains(
            "wrapper file `gen/wgp_big.py` is larger than analysis.max_file_bytes; not scanned"
        ),
        "{notes}"
    );
    assert_eq!(listed(&a, BIG, "breaking"), 0);
    assert!(a["integration"]["counts"]["breaking"].as_u64().unwrap() < 20);
    assert_eq!(a["truncated"], Value::Null);

    // the cap raised: parsed and counted, listed under the caps
    set_analysis(
        &s,
        "max_file_bytes = 8388608\nmax_findings_per_kind = 50\nmax_findings_per_file = 20\n",
    );
    let out = s.tether().run(&["analyze", "--no-fetch"]);
    out.assert_code(3);
    let a = s.analysis_json();
    let counts = &a["integration"]["counts"];
    let breaking = counts["breaking"].as_u64().unwrap();
    let info = counts["info"].as_u64().unwrap();
    // every call counted once, although the file was parsed in pieces (the
    // same counts as when it is parsed whole)
    assert_eq!(breaking, 66_667 + SAMPLE_BREAKING, "{counts}");
    assert_eq!(info, CALLS as u64 + SAMPLE_INFO, "{counts}");
    // per file: 20 of each kind from the big file, the rest counted
    assert_eq!(listed(&a, BIG, "breaking"), 20);
    assert_eq!(listed(&a, BIG, "info"), 20);
    let big_more = omitted(&a, BIG, "breaking");
    assert_eq!(big_more, 66_667 - 20);
    let findings = a["integration"]["findings"].as_array().unwrap();
    for sev in ["breaking", "at-risk", "info"] {
        let n = findings.iter().filter(|f| f["severity"] == sev).count() as u64;
        assert!(n <= 50, "{n} {sev} findings listed");
        let more: u64 = a["integration"]["omitted"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["severity"] == sev)
            .map(|o| o["count"].as_u64().unwrap())
            .sum();
        let key = if sev == "at-risk" { "at_risk" } else { sev };
        assert_eq!(
            n + more,
            counts[key].as_u64().unwrap(),
            "{sev}: every finding is counted"
        );
    }
    let note = a["truncated"].as_str().unwrap();
    assert!(
        note.contains("analysis.max_findings_per_kind")
            && note.contains("are counted but not listed"),
        "{note}"
    );

    // the terminal lists what the model lists, and counts the rest
    let more_line = format!(
        "  and {} more BREAKING findings in {BIG}",
        thousands(big_more)
    );
    assert!(
        out.stdout.contains(&more_line),
        "{more_line}\n{}",
        out.stdout
    );
    let breaking_lines = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("  BREAKING "))
        .count();
    assert!(breaking_lines <= 50, "{breaking_lines} lines");
    assert!(out.stdout.lines().count() < 100, "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!(
            "verdict: breaking — {} breaking,",
            thousands(breaking)
        )),
        "{}",
        out.stdout
    );

    // the reports: full counts, capped lists, the rest counted
    let md = read(&s, "integration_analysis.md");
    assert!(
        md.contains(&format!("## Breaking ({})", thousands(breaking))),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "- and {} more breaking finding(s) in {BIG}",
            thousands(big_more)
        )),
        "{md}"
    );
    assert!(md.contains("> **Lists cut:** "), "{md}");
    let checklist = read(&s, "update_checklist.md");
    assert!(
        checklist.contains(&format!(
            "Review the {} more breaking integration point(s)",
            thousands(big_more)
        )),
        "{checklist}"
    );
    for name in [
        "analysis.json",
        "integration_analysis.md",
        "update_checklist.md",
        "diff_analysis.md",
        "analysis.html",
    ] {
        let len = read(&s, name).len();
        assert!(len < 1_000_000, "{name} is {len} bytes");
    }

    // a report over max_report_bytes is cut with a note; the JSON stays
    // JSON (the sample's own reports are over the smallest cap)
    fs_err::remove_file(s.wrapper.path.join(BIG)).unwrap();
    set_analysis(&s, "max_report_bytes = 4096\n");
    s.tether().run(&["analyze", "--no-fetch"]).assert_code(3);
    let md = read(&s, "integration_analysis.md");
    assert!(md.len() <= 4096, "{}", md.len());
    assert!(
        md.contains("**This report was cut** at 4,096 of its"),
        "{md}"
    );
    let json = read(&s, "analysis.json");
    assert!(json.len() <= 4096, "{}", json.len());
    let a: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(a["integration"]["counts"]["breaking"], SAMPLE_BREAKING);
    assert_eq!(a["verdict"], "breaking");
    assert!(
        a["truncated"]
            .as_str()
            .unwrap()
            .contains("over analysis.max_report_bytes (4,096)"),
        "{}",
        a["truncated"]
    );
    assert!(a.get("diff").is_none(), "only the verdict and the counts");

    // a cap the JSON fits under without its long lists: those go, the rest
    // stays
    set_analysis(&s, "max_report_bytes = 16000\n");
    s.tether().run(&["analyze", "--no-fetch"]).assert_code(3);
    let json = read(&s, "analysis.json");
    assert!(json.len() <= 16000, "{}", json.len());
    let a: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(a["integration"]["findings"], Value::Array(Vec::new()));
    assert_eq!(a["integration"]["counts"]["breaking"], SAMPLE_BREAKING);
    assert!(!a["diff"]["files"].as_array().unwrap().is_empty());
    assert!(
        a["truncated"]
            .as_str()
            .unwrap()
            .contains("the lists of findings, key-file diffs, config key changes and syntax-error lines are left out"),
        "{}",
        a["truncated"]
    );
}

fn thousands(n: u64) -> String {
    tether::text::thousands(n as usize)
}
