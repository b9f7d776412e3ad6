//! `tether analyze` end to end on the sample project: every kind of finding,
//! in every layout, and bad input.

use serde_json::Value;

use crate::support::sample::Sample;

/// Findings as (file, line, target, status kind, severity).
fn findings(a: &Value) -> Vec<(String, u64, String, String, String)> {
    a["integration"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let status = f["status"]["status"].as_str().unwrap().to_owned();
            (
                f["point"]["file"].as_str().unwrap().to_owned(),
                f["point"]["line"].as_u64().unwrap(),
                f["point"]["target"].as_str().unwrap().to_owned(),
                status,
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[track_caller]
fn has(
    fs: &[(String, u64, String, String, String)],
    file: &str,
    target: &str,
    status: &str,
) -> u64 {
    fs.iter()
        .find(|f| f.0 == file && f.2 == target && f.3 == status)
        .unwrap_or_else(|| {
            panic!("no `{status}` finding for `{target}` in {file}; findings: {fs:#?}")
        })
        .1
}

fn finding_json<'a>(a: &'a Value, target: &str, status: &str) -> &'a Value {
    a["integration"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["point"]["target"] == target && f["status"]["status"] == status)
        .unwrap_or_else(|| panic!("no {status} finding for {target}"))
}

fn run_analyze(layout: &str) -> (Sample, Value) {
    let s = Sample::new(layout);
    s.tether().run(&["analyze"]).assert_code(3);
    let a = s.analysis_json();
    (s, a)
}

#[test]
fn submodule_layout_finds_every_break() {
    let (s, a) = run_analyze("submodule");
    let fs = findings(&a);
    // removed function, imported and called
    let line = has(
        &fs,
        "headless_wgp.py",
        "wgp.get_default_settings",
        "removed",
    );
    assert_eq!(line, 8, "the from-import line");
    // keyword the wrapper passes was renamed upstream
    let f = finding_json(&a, "wgp.generate_video", "signature-changed");
    let changes = f["status"]["changes"].to_string();
    assert!(changes.contains("video_length"), "{changes}");
    assert!(changes.contains("keyword-not-accepted"), "{changes}");
    assert_eq!(f["severity"], "breaking");
    assert_eq!(f["point"]["line"], 25);
    // new required parameter
    let f = finding_json(&a, "wgp.load_models", "signature-changed");
    assert!(
        f["status"].to_string().contains("lora_dir"),
        "{}",
        f["status"]
    );
    assert_eq!(f["severity"], "breaking");
    // moved to another module
    let f = finding_json(&a, "shared.utils.files.save_video", "moved");
    assert_eq!(f["status"]["to"], "shared.utils.video.save_video");
    // renamed function
    let f = finding_json(&a, "wgp.get_model_def", "renamed");
    assert_eq!(f["status"]["to"], "wgp.get_model_definition");
    // renamed model config, referenced by path and by model name
    let f = finding_json(&a, "defaults/vace_14B.json", "config-renamed");
    assert_eq!(f["status"]["to"], "defaults/vace_14B_v2.json");
    assert_eq!(f["point"]["file"], "test_model_comparison.py");
    // a config key the wrapper reads was dropped, but nothing ties the read
    // (`cfg["guidance_scale"]` on what a wrapper function returned) to that
    // config: counted, not listed
    assert!(!fs.iter().any(|f| f.3 == "config-key-removed"), "{fs:#?}");
    assert_eq!(a["integration"]["untied_key_reads"], 1);
    // unchanged points are listed too
    has(&fs, "headless_wgp.py", "wgp.server_config", "unchanged");
    // torch bump is flagged as protected
    let reqs = a["requirements"][0].to_string();
    assert!(reqs.contains("\"torch\""), "{reqs}");
    let torch = a["requirements"][0]["changed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "torch")
        .unwrap();
    assert_eq!(torch["protected"], true);
    assert_eq!(torch["old"], "torch==2.6.0");
    assert_eq!(torch["new"], "torch==2.7.1");
    // JSON compared key by key
    let cfg = a["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "defaults/t2v_1.3B.json")
        .unwrap();
    assert_eq!(cfg["changes"][0]["key"], "guidance_scale");
    assert_eq!(cfg["changes"][0]["kind"], "removed");
    // all five documents are there
    let dir = s.analysis_dir();
    for f in [
        "diff_analysis.md",
        "integration_analysis.md",
        "update_checklist.md",
        "analysis.json",
        "analysis.html",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    assert_eq!(
        dir.file_name().unwrap().to_str().unwrap(),
        format!(
            "{}..{}",
            &a["from"]["id"].as_str().unwrap()[..7],
            &a["to"]["id"].as_str().unwrap()[..7]
        )
    );
    let diff_md = fs_err::read_to_string(dir.join("diff_analysis.md")).unwrap();
    assert!(
        diff_md.contains("-torch==2.6.0") && diff_md.contains("+torch==2.7.1"),
        "key file diff of requirements.txt"
    );
    let checklist = fs_err::read_to_string(dir.join("update_checklist.md")).unwrap();
    assert!(
        checklist.contains("Protected package `torch` changed"),
        "{checklist}"
    );
    assert!(checklist.contains("headless_wgp.py:25"), "{checklist}");
}

#[test]
fn clone_layout_finds_the_same_breaks() {
    let (_s, a) = run_analyze("clone");
    let fs = findings(&a);
    has(
        &fs,
        "headless_wgp.py",
        "wgp.get_default_settings",
        "removed",
    );
    has(
        &fs,
        "headless_wgp.py",
        "wgp.generate_video",
        "signature-changed",
    );
    has(
        &fs,
        "test_model_comparison.py",
        "defaults/vace_14B.json",
        "config-renamed",
    );
}

#[test]
fn vendored_layout_reads_the_record_file() {
    let (_s, a) = run_analyze("vendored");
    let fs = findings(&a);
    has(
        &fs,
        "headless_wgp.py",
        "shared.utils.files.save_video",
        "moved",
    );
    assert_eq!(a["commits"].as_array().unwrap().len(), 9);
}

#[test]
fn json_flag_prints_the_analysis() {
    let s = Sample::new("submodule");
    let out = s.tether().run(&["analyze", "--json"]);
    out.assert_code(3);
    let v: Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    assert_eq!(v["upstream"], "sample");
    assert!(v["integration"]["findings"].as_array().unwrap().len() > 10);
}

#[test]
fn to_rev_limits_the_range() {
    let s = Sample::new("submodule");
    // only the first three upstream commits after the base: docs, drop, rename kwarg
    let rev = s.upstream.git(&["rev-parse", "HEAD~6"]);
    s.tether().run(&["analyze", "--to", &rev]).assert_code(3);
    let a = s.analysis_json();
    assert_eq!(a["commits"].as_array().unwrap().len(), 3);
    let fs = findings(&a);
    has(
        &fs,
        "headless_wgp.py",
        "wgp.get_default_settings",
        "removed",
    );
    // the config rename comes later, so it is not in this range
    assert!(!fs.iter().any(|f| f.3 == "config-renamed"), "{fs:#?}");
}

#[test]
fn nothing_affected_exits_zero() {
    let s = Sample::new("submodule");
    // the docs-only commit right after the base
    let rev = s.upstream.git(&["rev-parse", "HEAD~8"]);
    let out = s.tether().run(&["analyze", "--to", &rev]);
    out.assert_code(0);
    assert!(out.stdout.contains("verdict: clear"), "{}", out.stdout);
}

#[test]
fn analyze_touches_nothing_outside_its_own_dirs() {
    let s = Sample::new("submodule");
    let before_wrapper = s.wrapper.git(&["status", "--porcelain", "--ignored"]);
    let before_head = s.wrapper.head();
    let before_up = s.upstream.git(&["status", "--porcelain", "--ignored"]);
    s.tether().run(&["analyze"]).assert_code(3);
    assert_eq!(
        s.wrapper.git(&["status", "--porcelain", "--ignored"]),
        before_wrapper
    );
    assert_eq!(s.wrapper.head(), before_head);
    assert_eq!(
        s.upstream.git(&["status", "--porcelain", "--ignored"]),
        before_up
    );
    let mut top: Vec<_> = fs_err::read_dir(&s.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    top.sort();
    assert_eq!(
        top,
        [
            ".tether",
            "maintenance_analysis",
            "tether.toml",
            "upstream",
            "wrapper"
        ]
    );
}

#[test]
fn dirty_wrapper_is_reported_and_worktree_read() {
    let s = Sample::new("submodule");
    // an uncommitted edit that adds a new use of a removed function
    let text = s.wrapper.read("headless_wgp.py");
    s.wrapper.write(
        "headless_wgp.py",
        format!("{text}\n\ndef extra():\n    return wgp.get_default_settings('t2v_1.3B')\n"),
    );
    s.tether().run(&["analyze"]).assert_code(3);
    let a = s.analysis_json();
    let notes = a["notes"].to_string();
    assert!(notes.contains("uncommitted changes"), "{notes}");
    let fs = findings(&a);
    assert!(
        fs.iter()
            .any(|f| f.2 == "wgp.get_default_settings" && f.1 > 36),
        "the uncommitted call is analysed: {fs:#?}"
    );
}

#[test]
fn committed_source_ignores_uncommitted_edits() {
    let s = Sample::new("submodule");
    let text = s.wrapper.read("headless_wgp.py");
    s.wrapper.write(
        "headless_wgp.py",
        format!("{text}\n\ndef extra():\n    return wgp.get_default_settings('t2v_1.3B')\n"),
    );
    let cfg = fs_err::read_to_string(s.root.join("tether.toml")).unwrap();
    fs_err::write(
        s.root.join("tether.toml"),
        cfg.replace(
            "outputs_dir = \"outputs\"",
            "outputs_dir = \"outputs\"\nwrapper_source = \"committed\"",
        ),
    )
    .unwrap();
    s.tether().run(&["analyze"]).assert_code(3);
    let fs = findings(&s.analysis_json());
    assert!(
        !fs.iter()
            .any(|f| f.2 == "wgp.get_default_settings" && f.1 > 36),
        "{fs:#?}"
    );
}

#[test]
fn unparsable_python_is_partially_analysed_not_skipped() {
    let s = Sample::new("submodule");
    s.wrapper.write(
        "broken_worker.py",
        "import wgp\n\ndef broken(:\n    pass\n\nwgp.generate_video('x', video_length=9)\n",
    );
    s.tether().run(&["analyze"]).assert_code(3);
    let a = s.analysis_json();
    let partial = a["integration"]["partial"].to_string();
    assert!(partial.contains("broken_worker.py"), "{partial}");
    let fs = findings(&a);
    has(
        &fs,
        "broken_worker.py",
        "wgp.generate_video",
        "signature-changed",
    );
    let md = fs_err::read_to_string(s.analysis_dir().join("integration_analysis.md")).unwrap();
    assert!(md.contains("Partially analysed files"), "{md}");
}

#[test]
fn malformed_json_binary_and_huge_files_do_not_stop_the_analysis() {
    let s = Sample::new("submodule");
    s.upstream
        .write("defaults/broken.json", "{\"model\": {\"name\": \"x\",}\n");
    s.upstream
        .write("assets/logo.bin", [0u8, 159, 146, 150, 0, 1, 2, 3]);
    s.upstream
        .write("assets/huge.txt", "x".repeat(5 * 1024 * 1024));
    s.upstream.commit("chore: assets");
    s.tether().run(&["analyze"]).assert_code(3);
    let a = s.analysis_json();
    let broken = a["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "defaults/broken.json")
        .expect("malformed config is reported");
    assert!(
        broken["error"].as_str().unwrap().contains("line"),
        "{broken}"
    );
    let files = a["diff"]["files"].as_array().unwrap();
    let bin = files
        .iter()
        .find(|f| f["path"] == "assets/logo.bin")
        .unwrap();
    assert_eq!(bin["binary"], true);
    let huge = files
        .iter()
        .find(|f| f["path"] == "assets/huge.txt")
        .unwrap();
    assert_eq!(huge["too_large"], true);
}

#[test]
fn missing_upstream_path_is_a_clear_error() {
    let s = Sample::new("clone");
    fs_err::remove_dir_all(s.root.join("wrapper/Wan2GP")).unwrap();
    let out = s.tether().run(&["analyze"]);
    out.assert_code(1);
    assert!(out.stderr.contains("Wan2GP"), "{}", out.stderr);
}

#[test]
fn summary_snapshot() {
    let s = Sample::new("submodule");
    let out = s.tether().run(&["analyze"]);
    out.assert_code(3);
    let root = s.root.display().to_string();
    insta::with_settings!({filters => vec![(root.as_str(), "[SAMPLE]")]}, {
        insta::assert_snapshot!("analyze_summary", out.stdout);
        insta::assert_snapshot!(
            "integration_analysis_md",
            fs_err::read_to_string(s.analysis_dir().join("integration_analysis.md")).unwrap()
        );
    });
}
