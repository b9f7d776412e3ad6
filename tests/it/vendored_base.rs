//! A vendored copy whose record file is stale: `analyze` and `update` start
//! from the base detected from the copy's files, and the promoted record
//! names the target. Also a mirror missing one blob object: `analyze` and
//! `check` go on and name it, staging that needs it fails naming it.

use std::path::Path;

use serde_json::Value;

use crate::support::git::git;
use crate::support::sample::OK_BASELINE;
use crate::support::sample::Sample;

const LOCAL_TWEAK: &str = "Wan2GP/models/wan/any2video.py";

/// The vendored sample with its copy replaced by upstream commit 2 plus a
/// local edit and two local-only files; the record still names commit 0.
/// Returns the sample and the upstream's commits, oldest first.
fn stale_sample() -> (Sample, Vec<String>) {
    let s = Sample::new("vendored");
    let cfg = s.root.join("tether.toml");
    let mut toml = fs_err::read_to_string(&cfg).unwrap();
    toml.push_str(OK_BASELINE);
    fs_err::write(&cfg, toml).unwrap();
    let commits: Vec<String> = git(&s.upstream.path, &["rev-list", "--reverse", "main"])
        .lines()
        .map(str::to_owned)
        .collect();
    let w = &s.wrapper;
    fs_err::remove_dir_all(w.path.join("Wan2GP")).unwrap();
    w.add_vendored(&s.upstream, "Wan2GP", &commits[2]);
    w.write(
        "STRUCTURE.md",
        format!(
            "# Structure\n\n- `Wan2GP/`: vendored upstream\n- Upstream commit: `{}`\n",
            commits[0]
        ),
    );
    let local = format!("{}# local tweak\n", w.read(LOCAL_TWEAK));
    w.write(LOCAL_TWEAK, local);
    w.write("Wan2GP/local_models/__init__.py", "LOCAL = 1\n");
    w.write(
        "Wan2GP/defaults/local_model.json",
        "{\"model\": \"local\"}\n",
    );
    w.write("ok.py", "print('ok')\n");
    w.commit("vendor Wan2GP at commit 2 with local patches");
    (s, commits)
}

fn changed_files(repo: &Path, from: &str, to: &str) -> usize {
    git(repo, &["diff", "--name-only", from, to])
        .lines()
        .count()
}

#[test]
fn stale_record_analysis_starts_at_the_detected_base() {
    let (s, c) = stale_sample();
    let tip = c.last().unwrap();
    let out = s.tether().run(&["analyze"]);
    assert!(
        [0, 3, 4].contains(&out.code),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    let a = s.analysis_json();
    assert_eq!(a["from"]["id"], c[2].as_str());
    assert_eq!(a["commits"].as_array().unwrap().len(), c.len() - 3);
    // the upstream's own changes only: no flood of local differences
    let files = a["diff"]["files"].as_array().unwrap();
    assert_eq!(
        files.len(),
        changed_files(&s.upstream.path, &c[2], tip),
        "{files:?}"
    );
    let notes = a["notes"].to_string();
    assert!(
        notes.contains(&format!(
            "record says {} (STRUCTURE.md); the copy matches {}:",
            &c[0][..7],
            &c[2][..7]
        )),
        "{notes}"
    );
}

#[test]
fn stale_record_update_merges_from_the_detected_base_and_records_the_target() {
    let (s, c) = stale_sample();
    let tip = c.last().unwrap();
    let local = s.wrapper.read(LOCAL_TWEAK);
    let out = s.tether().run(&["update"]);
    out.assert_code(0);
    let w = &s.wrapper;
    assert_eq!(git(&w.path, &["status", "--porcelain"]), "");
    let dirs = crate::support::update_dirs(&s.root);
    let text = fs_err::read_to_string(dirs[0].join("update.json")).unwrap();
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["from"]["id"], c[2].as_str(), "{report}");
    assert!(
        report["notes"].to_string().contains("record says"),
        "{}",
        report["notes"]
    );
    // the local edit and the local-only files survived the merge
    assert_eq!(w.read(LOCAL_TWEAK), local);
    assert!(w.path.join("Wan2GP/local_models/__init__.py").is_file());
    assert!(w.path.join("Wan2GP/defaults/local_model.json").is_file());
    // the upstream's files are the target's
    assert_eq!(
        w.read("Wan2GP/wgp.py"),
        format!(
            "{}\n",
            git(&s.upstream.path, &["show", &format!("{tip}:wgp.py")])
        )
    );
    let structure = w.read("STRUCTURE.md");
    assert!(
        structure.contains(&format!("Upstream commit: `{tip}`")),
        "{structure}"
    );
    // and the record now agrees with the copy
    let out = s.tether().run(&["check", "--json", "--no-fetch"]);
    out.assert_code(0);
    let r: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(r["current"]["id"], tip.as_str());
    assert_eq!(r["current"]["base"]["recorded"], tip.as_str());
    assert!(r["up_to_date"].as_bool().unwrap(), "{r}");
}

/// Makes the mirror's objects loose and deletes the blob of `path` at
/// `commit`; returns the blob's id.
fn delete_mirror_blob(s: &Sample, commit: &str, path: &str) -> String {
    let mirror = s.root.join(".tether/mirrors/sample.git");
    assert!(mirror.is_dir(), "{}", mirror.display());
    let id = git(
        &s.upstream.path,
        &["rev-parse", &format!("{commit}:{path}")],
    );
    let packs = mirror.join("objects/pack");
    let held = s.root.join("held-packs");
    fs_err::create_dir_all(&held).unwrap();
    for e in fs_err::read_dir(&packs).unwrap() {
        let p = e.unwrap().path();
        fs_err::rename(&p, held.join(p.file_name().unwrap())).unwrap();
    }
    for e in fs_err::read_dir(&held).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "pack") {
            let out = std::process::Command::new("git")
                .arg("-C")
                .arg(&mirror)
                .args(["unpack-objects", "-q"])
                .stdin(fs_err::File::open(&p).unwrap().into_parts().0)
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
        }
    }
    let object = mirror.join("objects").join(&id[..2]).join(&id[2..]);
    fs_err::remove_file(&object).unwrap();
    id
}

#[test]
fn a_mirror_missing_a_blob_still_analyses_and_checks() {
    let s = Sample::new("vendored");
    s.tether().run(&["check"]).assert_code(0);
    let tip = s.upstream.head();
    let id = delete_mirror_blob(&s, &tip, "wgp.py");

    let out = s.tether().run(&["analyze", "--no-fetch"]);
    assert!(
        [0, 3, 4].contains(&out.code),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    let a = s.analysis_json();
    let unreadable = &a["diff"]["unreadable"];
    assert_eq!(
        unreadable,
        &serde_json::json!([{ "path": "wgp.py", "id": id, "commit": tip }]),
        "{unreadable}"
    );
    let md = fs_err::read_to_string(s.analysis_dir().join("diff_analysis.md")).unwrap();
    assert!(md.contains("## Unreadable blobs"), "{md}");
    assert!(md.contains(&format!("`wgp.py` blob `{id}`")), "{md}");
    assert!(
        a["notes"].to_string().contains("cannot be read"),
        "{}",
        a["notes"]
    );

    s.tether().run(&["check", "--no-fetch"]).assert_code(0);
}

#[test]
fn staging_that_needs_a_missing_blob_names_it() {
    let s = Sample::new("vendored");
    let cfg = s.root.join("tether.toml");
    let mut toml = fs_err::read_to_string(&cfg).unwrap();
    toml.push_str(OK_BASELINE);
    fs_err::write(&cfg, toml).unwrap();
    s.wrapper.write("ok.py", "print('ok')\n");
    s.wrapper.commit("test: baseline script");
    s.tether().run(&["check"]).assert_code(0);
    let tip = s.upstream.head();
    let id = delete_mirror_blob(&s, &tip, "wgp.py");

    let out = s.tether().run(&["update"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    let all = format!("{}\n{}", out.stdout, out.stderr);
    assert!(all.contains(&id), "{all}");
    assert!(all.contains("wgp.py"), "{all}");
    assert!(all.contains(&tip[..7]), "{all}");
    assert_eq!(git(&s.wrapper.path, &["status", "--porcelain"]), "");
}

#[test]
fn staging_goes_on_past_a_missing_blob_it_does_not_need() {
    let s = Sample::new("vendored");
    let cfg = s.root.join("tether.toml");
    let mut toml = fs_err::read_to_string(&cfg).unwrap();
    toml.push_str(OK_BASELINE);
    fs_err::write(&cfg, toml).unwrap();
    s.wrapper.write("ok.py", "print('ok')\n");
    s.wrapper.commit("test: baseline script");
    s.tether().run(&["check"]).assert_code(0);
    let up = &s.upstream.path;
    let commits: Vec<String> = git(up, &["rev-list", "--reverse", "main"])
        .lines()
        .map(str::to_owned)
        .collect();
    let blob = |c: &str| git(up, &["rev-parse", &format!("{c}:wgp.py")]);
    let (first, last) = (blob(&commits[0]), blob(commits.last().unwrap()));
    // a version of wgp.py between the base and the target
    let middle = commits[1..commits.len() - 1]
        .iter()
        .find(|c| ![&first, &last].contains(&&blob(c)))
        .expect("wgp.py changes twice in the sample");
    let id = delete_mirror_blob(&s, middle, "wgp.py");

    // the mirror cannot copy its history whole, so staging copies only the
    // base, the target and the files that change between them
    let out = s.tether().run(&["update"]);
    out.assert_code(0);
    assert!(out.stdout.contains("promoted"), "{}", out.stdout);
    assert!(
        out.stderr.contains("copying only what the merge needs"),
        "{}",
        out.stderr
    );
    // the log still names the unreadable object
    assert!(out.stderr.contains(&id), "{}", out.stderr);
    let want = git(up, &["show", "main:wgp.py"]);
    assert_eq!(s.wrapper.read("Wan2GP/wgp.py").trim_end(), want);
    assert_eq!(git(&s.wrapper.path, &["status", "--porcelain"]), "");
}
