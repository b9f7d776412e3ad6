//! The realistic vendored wrapper (`scripts/make_vendored.py`): a stale
//! record, local patches that only a definition- or key-level merge carries,
//! a true conflict, local-only files, dead patches and `**kwargs` calls.

use std::os::unix::process::ExitStatusExt;

use serde_json::Value;

use crate::support::findings::{at, finding};
use crate::support::take_ours;
use crate::support::tree_digest;
use crate::support::vendored::VendoredWorld;

#[test]
fn the_fixture_is_shaped_like_a_real_vendored_wrapper() {
    let w = VendoredWorld::new();
    let modified = w.files("modified");
    assert!(modified.len() >= 10, "{modified:?}");
    assert!(modified.contains(&"wgp.py".to_owned()));
    assert!(w.files("added").len() >= 10);
    assert_ne!(w.commit("record"), w.commit("base"));
    let record = w.wrapper.read("STRUCTURE.md");
    assert!(record.contains(&w.commit("record")[..10]), "{record}");
    // git's line merge conflicts on every patch the new merge must carry
    for key in [
        "clean_by_definitions",
        "clean_by_json_keys",
        "true_conflicts",
    ] {
        for rel in w.files(key) {
            assert!(w.line_merge_conflicts(&rel), "{key}: {rel} merges by lines");
        }
    }
    // about 250 integration points over 60+ wrapper files
    w.tether().run(&["analyze"]);
    let a = w.analysis_json();
    let counts = &a["integration"]["counts"];
    let points: u64 = ["breaking", "at_risk", "info"]
        .iter()
        .map(|k| counts[k].as_u64().unwrap())
        .sum();
    assert!(points >= 200, "{counts}");
    let scanned = a["integration"]["scanned_files"].as_array().unwrap().len();
    assert!(scanned >= 60, "{scanned} wrapper files");
}

#[test]
fn base_detection_finds_the_true_base_despite_the_stale_record() {
    let w = VendoredWorld::new();
    let (record, base) = (w.commit("record"), w.commit("base"));
    let out = w.tether().run(&["check", "--json"]);
    out.assert_code(0);
    let r: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let cur = &r["current"];
    assert_eq!(cur["id"], base.as_str(), "{cur}");
    assert_eq!(cur["base"]["recorded"], record.as_str(), "{cur}");
    assert_eq!(cur["base"]["detected"], base.as_str(), "{cur}");
    let mods = &r["local_modifications"];
    assert_eq!(
        mods["modified"].as_u64().unwrap() as usize,
        w.files("modified").len(),
        "{mods}"
    );
    assert_eq!(
        mods["added"].as_u64().unwrap() as usize,
        w.files("added").len(),
        "{mods}"
    );
    let warnings = r["warnings"].to_string();
    assert!(
        warnings.contains(&format!(
            "record says {} (STRUCTURE.md); the copy matches {}",
            &record[..7],
            &base[..7]
        )),
        "{warnings}"
    );
}

/// The one analysis folder's `analysis.json`, after `tether analyze`.
fn analysis(w: &VendoredWorld) -> Value {
    w.tether().run(&["analyze"]).assert_code(3);
    w.analysis_json()
}

#[test]
fn the_analysis_names_every_local_patch_fact_with_file_and_line() {
    let w = VendoredWorld::new();
    let a = analysis(&w);
    // made from the true base, not the stale record
    assert_eq!(a["from"]["id"], w.commit("base").as_str());
    // a function only the local patch of the main module defines, which
    // the merge carries
    let f = finding(&a, "wgp.headless_generate", "local-patch-only");
    at(f, "smoke.py", 10, "info");
    assert_eq!(
        (&f["status"]["path"], &f["status"]["carry"]),
        (&Value::from("wgp.py"), &Value::from("clean"))
    );
    // the local subpackage
    let f = finding(
        &a,
        "models.local_pkg.lora_utils.merge_local_loras",
        "local-only-file",
    );
    at(f, "smoke.py", 7, "info");
    assert_eq!(f["status"]["path"], "models/local_pkg/lora_utils.py");
    // the dead monkeypatch and the call of a function that exists nowhere
    let dead = &w.manifest["dead_monkeypatch"];
    at(
        finding(&a, "wgp.offload_legacy_hook", "dead-patch"),
        dead["file"].as_str().unwrap(),
        24,
        "at-risk",
    );
    at(
        finding(&a, "wgp.flush_legacy_cache", "dead-patch"),
        "worker.py",
        49,
        "breaking",
    );
    // the true conflict, predicted before `update` meets it, and only it
    let f = finding(&a, "shared/utils/utils.py", "local-patch-conflict");
    at(f, "Wan2GP/shared/utils/utils.py", 9, "at-risk");
    let carry = |path: &str| -> Value {
        a["local_patch"]["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .unwrap_or_else(|| panic!("{path} in the local patch"))["carry"]
            .clone()
    };
    for rel in w.files("true_conflicts") {
        assert_eq!(carry(&rel), "conflicts", "{rel}");
    }
    for rel in w
        .files("clean_by_definitions")
        .into_iter()
        .chain(w.files("clean_by_json_keys"))
    {
        assert_eq!(carry(&rel), "clean", "{rel}");
    }
    for rel in w.files("kept_deletions") {
        assert_eq!(carry(&rel), "kept-deletion", "{rel}");
    }
    // the filtered **kwargs call that cannot supply the new parameter
    let f = a["integration"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["point"]["target"] == "wgp.load_models")
        .expect("a load_models finding");
    at(f, "worker.py", 31, "breaking");
    assert!(
        f["message"].as_str().unwrap().contains("`lora_dir`"),
        "{f:#}"
    );
    // config-key reads: a hundred unrelated `task.get(...)`s are counted,
    // only reads tied to a config that dropped the key are listed
    assert!(
        a["integration"]["untied_key_reads"].as_u64().unwrap() >= 100,
        "{}",
        a["integration"]["untied_key_reads"]
    );
    let listed_key_reads = a["integration"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["point"]["kind"] == "config-key-read" && f["severity"] != "info")
        .count();
    // the four handlers that name a vace config and read `video_length`
    assert_eq!(listed_key_reads, 4);
}

fn staged_dir(w: &VendoredWorld) -> std::path::PathBuf {
    let text = fs_err::read_to_string(w.root.join(".tether/update/journal.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    std::path::PathBuf::from(v["data"]["staged_dir"].as_str().unwrap())
}

/// Pauses the update of the world on its one true conflict.
fn pause(w: &VendoredWorld) -> crate::support::tether::TetherOutput {
    let out = w.tether().run(&["update"]);
    out.assert_code(16);
    for rel in w.files("true_conflicts") {
        assert!(
            out.stdout
                .contains(&format!("Wan2GP/{rel}: conflict markers"))
        );
    }
    out
}

fn resolve_by_hand(w: &VendoredWorld) {
    for rel in w.files("true_conflicts") {
        let path = staged_dir(w).join("Wan2GP").join(rel);
        let text = fs_err::read_to_string(&path).unwrap();
        assert!(text.contains("<<<<<<< wrapper"), "{text}");
        fs_err::write(&path, take_ours(&text)).unwrap();
    }
}

#[test]
fn the_update_carries_every_patch_pauses_on_the_true_conflict_and_continue_promotes() {
    let w = VendoredWorld::new();
    let out = pause(&w);
    // every patch git's line merge conflicts on, but the one true conflict,
    // is carried by definitions or JSON keys
    assert!(
        out.stdout.contains(
            "merge: 47 files merged cleanly (37 by one side, 4 by line merge, 4 by definitions, \
             1 by JSON keys, 1 deletion kept), 1 conflict"
        ),
        "{}",
        out.stdout
    );
    // markers left: refused
    let t = w.tether();
    let refused = t.run(&["update", "--continue"]);
    refused.assert_code(16);
    assert!(
        refused.stdout.contains("Wan2GP/shared/utils/utils.py:9")
            || refused.stderr.contains("Wan2GP/shared/utils/utils.py:9"),
        "{}\n{}",
        refused.stdout,
        refused.stderr
    );
    resolve_by_hand(&w);
    let done = t.run(&["update", "--continue"]);
    done.assert_code(0);
    assert!(done.stdout.contains("promoted"), "{}", done.stdout);
    assert!(
        done.stdout
            .contains("baseline on the staged update: all 1 case(s) pass"),
        "{}",
        done.stdout
    );
    // the live copy has both sides of every patch
    let live = |rel: &str| w.wrapper.read(&format!("Wan2GP/{rel}"));
    let wgp = live("wgp.py");
    for want in [
        "def headless_generate(",
        "def headless_release(",
        "return server_config.pop(\"loaded\", True)",
        "def render(prompt, fps, num_frames=16):",
    ] {
        assert!(wgp.contains(want), "{want} in wgp.py");
    }
    let any2video = live("models/wan/any2video.py");
    assert!(any2video.contains("def _tile_latents(") && any2video.contains("def _init_noise("));
    let loras = live("shared/utils/loras.py");
    assert!(loras.contains("import shutil\n") && loras.contains("import glob\n"));
    let t2v: Value = serde_json::from_str(&live("defaults/t2v.json")).unwrap();
    assert_eq!(
        (t2v["flow_shift"].as_i64(), t2v["local_lora_dir"].as_str()),
        (Some(3), Some("loras_local/t2v"))
    );
    assert!(live("shared/utils/utils.py").contains("random.seed(seed % 1000003)"));
    assert!(
        !w.wrapper
            .path
            .join("Wan2GP/preprocessing/matanyone/app.py")
            .exists()
    );
    // the record names the true commit now
    let target = w.commit("target");
    assert!(w.wrapper.read("STRUCTURE.md").contains(&target[..10]));
    assert_eq!(w.wrapper.git(&["status", "--porcelain"]), "");
}

#[test]
fn abort_and_kill_9_during_a_paused_update_leave_the_live_tree_byte_identical() {
    let w = VendoredWorld::new();
    let t = w.tether();
    let before = tree_digest(&w.wrapper.path);
    pause(&w);
    t.run(&["update", "--abort"]).assert_code(0);
    assert_eq!(tree_digest(&w.wrapper.path), before);

    // resolved, then killed after the staged baseline: rolled back
    pause(&w);
    resolve_by_hand(&w);
    let out = t
        .cmd()
        .args(["update", "--continue"])
        .env("FAILPOINTS", "update.continue.tested=return")
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(9), "not killed");
    t.run(&["check", "--no-fetch"]).assert_code(0);
    assert_eq!(tree_digest(&w.wrapper.path), before);
    assert!(!w.root.join(".tether/update/journal.json").exists());
}

#[test]
fn a_record_that_names_no_commit_is_detected_and_gets_the_promoted_commit() {
    let w = VendoredWorld::new();
    w.wrapper.write(
        "STRUCTURE.md",
        "# Structure\n\n- `Wan2GP/`: vendored upstream\n",
    );
    w.wrapper
        .commit("docs: structure without the upstream commit");
    let out = w.tether().run(&["check", "--json"]);
    out.assert_code(0);
    let r: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(r["current"]["id"], w.commit("base").as_str());
    assert!(
        r["warnings"]
            .to_string()
            .contains("no line of `STRUCTURE.md` matches record_pattern"),
        "{}",
        r["warnings"]
    );
    pause(&w);
    resolve_by_hand(&w);
    w.tether().run(&["update", "--continue"]).assert_code(0);
    let record = w.wrapper.read("STRUCTURE.md");
    assert!(
        record.ends_with(&format!("\nUpstream commit: {}\n", w.commit("target"))),
        "{record}"
    );
    // and the next check reads it back: up to date, no warning about it
    let r: Value =
        serde_json::from_str(&w.tether().run(&["check", "--no-fetch", "--json"]).stdout).unwrap();
    assert_eq!(r["current"]["id"], w.commit("target").as_str());
}
