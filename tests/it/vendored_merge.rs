//! `tether update` of a vendored wrapper whose local patches the line merge
//! alone cannot carry forward (issue 13 item 3): a function appended next to
//! an upstream edit, a config key added next to an upstream removal, a file
//! the wrapper deleted and the upstream changed. The update promotes, and
//! its report says how each file merged.

use std::path::Path;
use std::process::Command;

use crate::support::git::git;
use crate::support::sample::OK_BASELINE;
use crate::support::sample::Sample;
use crate::support::update_dirs;

const LOCAL_FN: &str = "\n\ndef local_render(prompt):\n    return generate_video(prompt)\n";

/// Whether `git merge-file` (the line merge alone) conflicts on the three
/// versions.
fn line_merge_conflicts(dir: &Path, base: &str, ours: &str, theirs: &str) -> bool {
    let files = [("base", base), ("ours", ours), ("theirs", theirs)];
    for (name, text) in files {
        fs_err::write(dir.join(name), text).unwrap();
    }
    let out = Command::new("git")
        .current_dir(dir)
        .args(["merge-file", "-p", "ours", "base", "theirs"])
        .output()
        .unwrap();
    out.status.code() != Some(0)
}

#[test]
fn vendored_patches_the_line_merge_cannot_carry_merge_by_definitions_and_keys_and_promote() {
    let s = Sample::new("vendored");
    let cfg = s.root.join("tether.toml");
    let toml = fs_err::read_to_string(&cfg).unwrap() + OK_BASELINE;
    fs_err::write(&cfg, toml).unwrap();
    s.wrapper.write("ok.py", "print('ok')\n");
    s.wrapper.commit("test: baseline script");

    let w = &s.wrapper;
    let wgp = w.read("Wan2GP/wgp.py") + LOCAL_FN;
    w.write("Wan2GP/wgp.py", &wgp);
    let json_rel = "Wan2GP/defaults/t2v_1.3B.json";
    let json = w.read(json_rel).replace(
        "  \"flow_shift\": 3.0\n",
        "  \"flow_shift\": 3.0,\n  \"sample_solver\": \"unipc\"\n",
    );
    assert!(json.contains("sample_solver"), "{json}");
    w.write(json_rel, &json);
    w.remove("Wan2GP/shared/utils/files.py");
    w.commit("local: a render helper, a solver, no files helpers");

    // the line merge alone conflicts on both patched files
    let tip = s.upstream.head();
    let base = git(&s.upstream.path, &["rev-list", "--max-parents=0", "HEAD"]);
    let show =
        |rev: &str, path: &str| git(&s.upstream.path, &["show", &format!("{rev}:{path}")]) + "\n";
    let tmp = tempfile::tempdir().unwrap();
    assert!(line_merge_conflicts(
        tmp.path(),
        &show(&base, "wgp.py"),
        &wgp,
        &show(&tip, "wgp.py")
    ));
    assert!(line_merge_conflicts(
        tmp.path(),
        &show(&base, "defaults/t2v_1.3B.json"),
        &json,
        &show(&tip, "defaults/t2v_1.3B.json")
    ));

    let out = s.tether().run(&["update"]);
    out.assert_code(0);
    assert!(
        out.stdout.contains("  merge: 8 files merged cleanly (5 by one side, 0 by line merge, 1 by definitions, 1 by JSON keys, 1 deletion kept), 0 conflicts"),
        "{}",
        out.stdout
    );
    let merged = w.read("Wan2GP/wgp.py");
    assert!(
        merged.ends_with(&format!("\"model\": model_type}}\n{LOCAL_FN}")),
        "the local function follows the upstream's last one: {merged}"
    );
    assert!(merged.contains("\"frames\": frame_num"), "{merged}");
    assert!(merged.contains("def get_model_definition"), "{merged}");
    let merged_json = w.read(json_rel);
    assert!(
        merged_json.contains("\"sample_solver\": \"unipc\""),
        "{merged_json}"
    );
    assert!(!merged_json.contains("guidance_scale"), "{merged_json}");
    assert!(!w.path.join("Wan2GP/shared/utils/files.py").exists());
    assert_eq!(git(&w.path, &["status", "--porcelain"]), "");

    let dirs = update_dirs(&s.root);
    let report = fs_err::read_to_string(dirs[0].join("update_report.md")).unwrap();
    assert!(
        report.contains("1 by definitions, 1 by JSON keys, 1 deletion kept), 0 conflicts"),
        "{report}"
    );
    assert!(
        report.contains("- `Wan2GP/shared/utils/files.py`: deleted by the wrapper and changed by the upstream: it stays deleted"),
        "{report}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(dirs[0].join("update.json")).unwrap())
            .unwrap();
    let stats = &json["merge"]["stats"];
    assert_eq!(stats["definitions"], 1, "{stats}");
    assert_eq!(stats["json_keys"], 1, "{stats}");
    assert_eq!(stats["kept_deletions"], 1, "{stats}");
    assert_eq!(stats["conflicts"], 0, "{stats}");
}
