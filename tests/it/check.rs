//! `tether check` end to end: a real upstream repository, wrappers in every
//! layout, the real binary, fixed clocks.

use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;

use crate::support::git::{EPOCH, git};
use crate::support::{GitRepo, Tether};

const DAY: i64 = 86_400;

/// An upstream with five commits (c0..c4, one hour apart) and a temp dir for
/// wrappers and the config.
struct Fixture {
    dir: TempDir,
    up: GitRepo,
    c: Vec<String>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let up = GitRepo::init(dir.path().join("upstream"));
        let mut c = Vec::new();
        up.write("wgp.py", "def generate(prompt):\n    return prompt\n")
            .write("requirements.txt", "torch==2.4.0\n")
            .write("defaults/vace_14B.json", "{\"model\": \"vace\"}\n");
        c.push(up.commit("initial import"));
        up.write(
            "wgp.py",
            "def generate(prompt, steps=20):\n    return prompt\n",
        );
        c.push(up.commit("feat: steps argument"));
        up.write("defaults/t2v.json", "{\"model\": \"t2v\"}\n");
        c.push(up.commit("feat: t2v defaults"));
        up.write("requirements.txt", "torch==2.5.0\n");
        c.push(up.commit("chore: bump torch"));
        up.write(
            "wgp.py",
            "def generate(prompt, steps=30):\n    return prompt\n",
        );
        c.push(up.commit("fix: more steps by default"));
        Self { dir, up, c }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A wrapper repository with one commit of its own.
    fn wrapper(&self) -> GitRepo {
        let w = GitRepo::init(self.path().join("wrapper"));
        w.write("worker.py", "import wgp\n");
        w.commit("wrapper: first commit");
        w
    }

    fn config(&self, layout: &str, extra: &str) {
        self.config_url(&self.up.url(), layout, extra);
    }

    fn config_url(&self, url: &str, layout: &str, extra: &str) {
        fs_err::write(
            self.path().join("tether.toml"),
            format!(
                "[project]\nroot = \"wrapper\"\n\n[[upstream]]\nname = \"wan2gp\"\nurl = \"{url}\"\npath = \"Wan2GP\"\nlayout = \"{layout}\"\n{extra}"
            ),
        )
        .unwrap();
    }

    fn tether(&self) -> Tether {
        Tether::new(self.path())
    }

    fn json(&self, t: &Tether, args: &[&str], code: i32) -> Value {
        let mut all = vec!["check", "--json"];
        all.extend_from_slice(args);
        let out = t.run(&all);
        out.assert_code(code);
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
    }
}

fn ids(report: &Value) -> Vec<String> {
    report["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

fn submodule_fixture(at: usize) -> Fixture {
    let f = Fixture::new();
    let w = f.wrapper();
    w.add_submodule(&f.up, "Wan2GP", &f.c[at]);
    f.config("submodule", "");
    f
}

#[test]
fn submodule_behind_lists_pending_commits_newest_first() {
    let f = submodule_fixture(1);
    let index = f.path().join("wrapper/.git/index");
    let index_before = fs_err::read(&index).unwrap();
    let mtime_before = fs_err::metadata(&index).unwrap().modified().unwrap();

    let r = f.json(&f.tether(), &[], 0);
    assert_eq!(r["name"], "wan2gp");
    assert_eq!(r["layout"], "submodule");
    assert_eq!(r["behind"], 3);
    assert_eq!(r["ahead"], 0);
    assert_eq!(r["up_to_date"], false);
    assert_eq!(ids(&r), [f.c[4].as_str(), f.c[3].as_str(), f.c[2].as_str()]);
    assert_eq!(r["current"]["id"], f.c[1].as_str());
    assert_eq!(r["current"]["source"], "gitlink in wrapper HEAD");
    assert_eq!(r["current"]["commit"]["subject"], "feat: steps argument");
    assert_eq!(r["target"]["id"], f.c[4].as_str());
    assert_eq!(r["target_ref"], "refs/heads/main");
    assert_eq!(r["history"]["state"], "linear");
    assert_eq!(r["commits"][0]["soak"]["state"], "soaked");
    assert_eq!(r["adoptable"]["id"], f.c[4].as_str());
    assert!(r["checked_at"].is_string());

    // the wrapper's own repository was not written
    assert_eq!(fs_err::read(&index).unwrap(), index_before);
    assert_eq!(
        fs_err::metadata(&index).unwrap().modified().unwrap(),
        mtime_before
    );
    assert!(f.path().join(".tether/mirrors/wan2gp.git/HEAD").is_file());
}

#[test]
fn human_summary_snapshot() {
    let f = submodule_fixture(1);
    f.config("submodule", "soak = \"1d\"\n");
    let mut t = f.tether();
    let first = t.now.unwrap();
    t.run(&["check"]).assert_code(0);
    f.up.set_time(EPOCH + 10 * 3600);
    f.up.write("new.py", "x = 1\n");
    f.up.commit("feat: a new module with a rather long subject line that goes on and on and on");
    t.now = Some(first + DAY + 4 * 3600);
    let out = t.run(&["check"]);
    out.assert_code(0);
    assert!(out.stdout.contains("4 commits behind"), "{}", out.stdout);
    let tmp = regex::escape(&f.path().display().to_string());
    insta::with_settings!({filters => vec![(tmp.as_str(), "[TMP]")]}, {
        insta::assert_snapshot!("check_submodule_behind", out.stdout);
    });
}

#[test]
fn submodule_checkout_differing_from_gitlink_is_reported() {
    let f = submodule_fixture(1);
    git(
        &f.path().join("wrapper/Wan2GP"),
        &["checkout", "-q", &f.c[3]],
    );
    let r = f.json(&f.tether(), &[], 0);
    assert_eq!(
        r["current"]["id"],
        f.c[3].as_str(),
        "worktree: the checkout"
    );
    assert_eq!(r["current"]["gitlink"], f.c[1].as_str());
    assert_eq!(r["behind"], 1);
    let warnings = r["warnings"].to_string();
    assert!(warnings.contains("records"), "{warnings}");

    let cfg = f.path().join("tether.toml");
    let text = fs_err::read_to_string(&cfg)
        .unwrap()
        .replace("[project]\n", "[project]\nwrapper_source = \"committed\"\n");
    fs_err::write(&cfg, text).unwrap();
    let r = f.json(&f.tether(), &[], 0);
    assert_eq!(
        r["current"]["id"],
        f.c[1].as_str(),
        "committed: the gitlink"
    );
    assert_eq!(r["behind"], 3);
}

#[test]
fn clone_layout_reads_the_clone_head() {
    let f = Fixture::new();
    let w = f.wrapper();
    w.add_clone(&f.up, "Wan2GP", &f.c[2]);
    f.config("clone", "");
    let r = f.json(&f.tether(), &[], 0);
    assert_eq!(r["current"]["id"], f.c[2].as_str());
    assert_eq!(r["current"]["source"], "HEAD of clone Wan2GP/");
    assert_eq!(r["behind"], 2);
    assert_eq!(ids(&r), [f.c[4].as_str(), f.c[3].as_str()]);
}

#[test]
fn clone_layout_on_a_plain_folder_says_it_is_not_a_repository() {
    let f = Fixture::new();
    let w = f.wrapper();
    w.add_vendored(&f.up, "Wan2GP", &f.c[2]);
    w.commit("vendor");
    f.config("clone", "");
    let out = f.tether().run(&["check"]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("is not a git repository"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("vendored"), "{}", out.stderr);
}

#[test]
fn vendored_layout_resolves_the_recorded_commit() {
    let f = Fixture::new();
    let w = f.wrapper();
    w.add_vendored(&f.up, "Wan2GP", &f.c[1]);
    // an abbreviated hash is resolved in the mirror
    w.write(
        "STRUCTURE.md",
        format!("# Structure\n\nUpstream commit: {}\n", &f.c[1][..9]),
    );
    w.commit("vendor Wan2GP");
    f.config("vendored", "");
    let r = f.json(&f.tether(), &[], 0);
    assert_eq!(r["current"]["id"], f.c[1].as_str());
    assert_eq!(r["current"]["source"], "recorded in STRUCTURE.md");
    assert_eq!(r["behind"], 3);
    assert_eq!(r["local_modifications"]["modified"], 0);
    assert_eq!(r["local_modifications"]["added"], 0);
    assert_eq!(r["local_modifications"]["deleted"], 0);
}

#[test]
fn vendored_local_modifications_are_reported() {
    let f = Fixture::new();
    let w = f.wrapper();
    w.add_vendored(&f.up, "Wan2GP", &f.c[2]);
    w.commit("vendor Wan2GP");
    w.write(
        "Wan2GP/wgp.py",
        "def generate(prompt):\n    return 'patched'\n",
    );
    w.write("Wan2GP/local_patch.py", "x = 1\n");
    w.write("Wan2GP/Dockerfile.local", "FROM python\n");
    w.write("Wan2GP/__pycache__/wgp.cpython-311.pyc", "bytecode");
    fs_err::remove_file(w.path.join("Wan2GP/defaults/t2v.json")).unwrap();
    // this copy matches c1 as well as c2 (fewer differences, even): the
    // record is trusted here, detection has its own tests
    f.config("vendored", "base = \"record\"\n");
    let r = f.json(&f.tether(), &[], 0);
    let m = &r["local_modifications"];
    assert_eq!(m["modified"], 1, "{m}");
    assert_eq!(m["added"], 2, "{m}");
    assert_eq!(m["deleted"], 1, "{m}");
    let files: Vec<(String, String)> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["change"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        files,
        [
            ("Dockerfile.local".to_owned(), "added".to_owned()),
            ("defaults/t2v.json".to_owned(), "deleted".to_owned()),
            ("local_patch.py".to_owned(), "added".to_owned()),
            ("wgp.py".to_owned(), "modified".to_owned()),
        ]
    );
    let out = f.tether().run(&["check"]);
    out.assert_code(0);
    assert!(
        out.stdout
            .contains("warning: vendored copy Wan2GP/ differs from upstream"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("1 modified, 2 added, 1 deleted"),
        "{}",
        out.stdout
    );
    // paths keep the repository's own spelling (regression: `dockerfile.local`)
    assert!(
        out.stdout
            .contains("added Dockerfile.local, deleted defaults/t2v.json"),
        "{}",
        out.stdout
    );

    // committed: the wrapper's HEAD is the unmodified copy
    let cfg = f.path().join("tether.toml");
    let text = fs_err::read_to_string(&cfg)
        .unwrap()
        .replace("[project]\n", "[project]\nwrapper_source = \"committed\"\n");
    fs_err::write(&cfg, text).unwrap();
    let r = f.json(&f.tether(), &[], 0);
    assert_eq!(r["local_modifications"]["files"], serde_json::json!([]));
}

#[test]
fn vendored_unknown_recorded_commit_is_a_clear_error() {
    let f = Fixture::new();
    let w = f.wrapper();
    w.add_vendored(&f.up, "Wan2GP", &f.c[1]);
    w.write("STRUCTURE.md", "Upstream commit: deadbeefdeadbeef\n");
    w.commit("vendor");
    f.config("vendored", "base = \"record\"\n");
    let out = f.tether().run(&["check"]);
    out.assert_code(1);
    assert!(out.stderr.contains("deadbeefdeadbeef"), "{}", out.stderr);
    assert!(out.stderr.contains("wan2gp"), "{}", out.stderr);
    assert!(out.stderr.contains("STRUCTURE.md"), "{}", out.stderr);
}

/// The copy is c3 with a local edit and two local-only files; the record
/// file says c1.
fn stale_record_fixture(record: &str) -> Fixture {
    let f = Fixture::new();
    let w = f.wrapper();
    w.add_vendored(&f.up, "Wan2GP", &f.c[3]);
    w.write("STRUCTURE.md", record.replace("{c1}", &f.c[1]));
    w.write(
        "Wan2GP/defaults/vace_14B.json",
        "{\"model\": \"vace-local\"}\n",
    );
    w.write("Wan2GP/local_model/__init__.py", "LOCAL = 1\n");
    w.write("Wan2GP/defaults/local.json", "{}\n");
    w.commit("vendor Wan2GP");
    f
}

#[test]
fn vendored_stale_record_uses_the_detected_base() {
    let f = stale_record_fixture("Upstream commit: {c1}\n");
    f.config("vendored", "");
    let r = f.json(&f.tether(), &[], 0);
    let cur = &r["current"];
    assert_eq!(cur["id"], f.c[3].as_str(), "{cur}");
    let base = &cur["base"];
    assert_eq!(base["recorded"], f.c[1].as_str(), "{base}");
    assert_eq!(base["detected"], f.c[3].as_str(), "{base}");
    assert_eq!(base["same"], 3, "{base}");
    assert_eq!(base["modified"], 1, "{base}");
    assert_eq!(base["local_only"], 2, "{base}");
    assert_eq!(base["deleted"], 0, "{base}");
    assert!(base["candidates_scanned"].as_u64().unwrap() >= 5, "{base}");
    assert!(
        cur["source"].as_str().unwrap().starts_with("detected"),
        "{cur}"
    );
    let warning = format!(
        "record says {} (STRUCTURE.md); the copy matches {}: 3 same, 1 modified, 2 local-only, 0 deleted",
        &f.c[1][..7],
        &f.c[3][..7]
    );
    let warnings = r["warnings"].to_string();
    assert!(warnings.contains(&warning), "{warnings}");
    // the local modifications are against the detected base
    assert_eq!(r["local_modifications"]["modified"], 1);
    assert_eq!(r["local_modifications"]["added"], 2);
    assert_eq!(r["local_modifications"]["deleted"], 0);
    assert_eq!(r["behind"], 1);
    let out = f.tether().run(&["check"]);
    out.assert_code(0);
    assert!(out.stdout.contains(&warning), "{}", out.stdout);

    // base = "record" trusts the record
    f.config("vendored", "base = \"record\"\n");
    let r = f.json(&f.tether(), &["--no-fetch"], 0);
    assert_eq!(r["current"]["id"], f.c[1].as_str());
    assert_eq!(r["current"]["base"], Value::Null);
    assert_eq!(r["behind"], 3);
}

#[test]
fn vendored_record_without_a_match_or_with_an_unknown_hash_detects_the_base() {
    for (record, says) in [
        (
            "# nothing recorded here\n",
            "no line of `STRUCTURE.md` matches record_pattern",
        ),
        (
            "Upstream commit: deadbeefdeadbeef\n",
            "commit `deadbeefdeadbeef` recorded in `STRUCTURE.md` is not in the upstream's history",
        ),
        (
            "Upstream commit: {c1}\nUpstream commit: 0123456789abcdef\n",
            "record file `STRUCTURE.md` names several commits",
        ),
    ] {
        let f = stale_record_fixture(record);
        f.config("vendored", "");
        let r = f.json(&f.tether(), &[], 0);
        let cur = &r["current"];
        assert_eq!(cur["id"], f.c[3].as_str(), "{cur}");
        assert_eq!(cur["base"]["recorded"], Value::Null, "{cur}");
        let warnings = r["warnings"].to_string();
        assert!(warnings.contains(says), "{warnings}");
        assert!(
            warnings.contains(&format!("; the copy matches {}: 3 same", &f.c[3][..7])),
            "{warnings}"
        );
        // with base = "record" a bad record is an error naming the file
        f.config("vendored", "base = \"record\"\n");
        let out = f.tether().run(&["check", "--no-fetch"]);
        if record.contains("several") || record.contains("{c1}") {
            continue; // the first match is used, as before
        }
        out.assert_code(1);
        assert!(out.stderr.contains("STRUCTURE.md"), "{}", out.stderr);
    }
}

#[test]
fn up_to_date_is_one_line() {
    let f = submodule_fixture(4);
    let out = f.tether().run(&["check"]);
    out.assert_code(0);
    let first = out.stdout.lines().next().unwrap();
    assert!(first.starts_with("wan2gp  (submodule at Wan2GP/, track branch:main): up to date at "));
    assert!(first.contains(&f.c[4][..7]), "{first}");
    let r = f.json(&f.tether(), &["--no-fetch"], 0);
    assert_eq!(r["up_to_date"], true);
    assert_eq!(r["behind"], 0);
    assert_eq!(r["fetched"], false);
    assert_eq!(r["adoptable"], Value::Null);
}

#[test]
fn unknown_upstream_name_is_a_usage_error() {
    let f = submodule_fixture(1);
    let out = f.tether().run(&["check", "--upstream", "nope"]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("no upstream named `nope`"),
        "{}",
        out.stderr
    );
}

#[test]
fn no_fetch_without_a_mirror_says_to_fetch_first() {
    let f = submodule_fixture(1);
    let out = f.tether().run(&["check", "--no-fetch"]);
    out.assert_code(1);
    assert!(out.stderr.contains("no mirror"), "{}", out.stderr);
    assert!(out.stderr.contains("without --no-fetch"), "{}", out.stderr);
}

#[test]
fn tag_tracking_picks_the_highest_version() {
    let f = submodule_fixture(1);
    f.up.git(&["tag", "v1.9", &f.c[2]]);
    f.up.git(&["tag", "-a", "v1.10", "-m", "release 1.10", &f.c[3]]);
    f.up.git(&["tag", "v1.2", &f.c[4]]);
    f.up.git(&["tag", "other-9.9", &f.c[4]]);
    f.config("submodule", "track = \"tag:v*\"\n");
    let r = f.json(&f.tether(), &[], 0);
    assert_eq!(r["target"]["id"], f.c[3].as_str());
    assert_eq!(r["target_ref"], "refs/tags/v1.10");
    assert_eq!(r["behind"], 2);

    f.config("submodule", "track = \"tag:release-*\"\n");
    let out = f.tether().run(&["check"]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("no tag matches `release-*`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("v1.10, v1.9"), "{}", out.stderr);
}

#[test]
fn pinned_tracking_uses_that_commit() {
    let f = submodule_fixture(1);
    f.config(
        "submodule",
        &format!("track = \"pinned:{}\"\n", &f.c[2][..10]),
    );
    let r = f.json(&f.tether(), &[], 0);
    assert_eq!(r["target"]["id"], f.c[2].as_str());
    assert_eq!(r["behind"], 1);
    assert_eq!(ids(&r), [f.c[2].as_str()]);

    f.config("submodule", "track = \"pinned:abcdef1\"\n");
    let out = f.tether().run(&["check"]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("pinned commit `abcdef1`"),
        "{}",
        out.stderr
    );
}

#[test]
fn missing_branch_lists_the_branches() {
    let f = submodule_fixture(1);
    f.config("submodule", "track = \"branch:develop\"\n");
    let out = f.tether().run(&["check"]);
    out.assert_code(1);
    assert!(
        out.stderr
            .contains("tracked branch `develop` does not exist upstream (branches: main)"),
        "{}",
        out.stderr
    );
}

#[test]
fn soak_counts_from_first_seen_and_persists() {
    let f = submodule_fixture(1);
    f.config("submodule", "soak = \"2d\"\n");
    let mut t = f.tether();
    let first = t.now.unwrap();
    // the commits are a year old, but tether sees them for the first time now
    let r = f.json(&t, &[], 0);
    for c in r["commits"].as_array().unwrap() {
        assert_eq!(c["soak"]["state"], "soaking", "{c}");
        assert_eq!(c["soak"]["remaining_seconds"], 2 * DAY);
    }
    assert_eq!(r["adoptable"], Value::Null);
    let human = t.run(&["check", "--no-fetch"]);
    assert!(
        human.stdout.contains("soaking, 2d left"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("adoptable: none yet"),
        "{}",
        human.stdout
    );
    let seen = fs_err::read_to_string(f.path().join(".tether/upstreams/wan2gp/seen.json")).unwrap();
    assert!(seen.contains(&f.c[4]), "{seen}");

    // a day later the first-seen time from the first run still counts
    t.now = Some(first + DAY + 3600);
    let r = f.json(&t, &[], 0);
    assert_eq!(r["commits"][0]["soak"]["state"], "soaking");
    assert_eq!(r["commits"][0]["soak"]["remaining_seconds"], DAY - 3600);
    let human = t.run(&["check", "--no-fetch"]);
    assert!(
        human.stdout.contains("soaking, 23h left"),
        "{}",
        human.stdout
    );

    // a new upstream commit starts its own soak
    f.up.set_time(EPOCH + 10 * 3600);
    f.up.write("new.py", "x = 1\n");
    let c5 = f.up.commit("feat: new module");
    t.now = Some(first + 3 * DAY);
    let r = f.json(&t, &[], 0);
    assert_eq!(r["behind"], 4);
    assert_eq!(r["commits"][0]["id"], c5.as_str());
    assert_eq!(r["commits"][0]["soak"]["state"], "soaking");
    assert_eq!(r["commits"][1]["soak"]["state"], "soaked");
    assert_eq!(r["adoptable"]["id"], f.c[4].as_str());

    t.now = Some(first + 5 * DAY);
    let r = f.json(&t, &[], 0);
    assert_eq!(r["commits"][0]["soak"]["state"], "soaked");
    assert_eq!(r["adoptable"]["id"], c5.as_str());
}

#[test]
fn zero_soak_means_everything_is_soaked() {
    let f = submodule_fixture(0);
    f.config("submodule", "soak = \"0\"\n");
    let mut t = f.tether();
    // commits from the future of "now" are still soaked with no soak
    t.now = Some(EPOCH);
    let r = f.json(&t, &[], 0);
    assert_eq!(r["behind"], 4);
    assert!(
        r["commits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["soak"]["state"] == "soaked")
    );
    assert_eq!(r["adoptable"]["id"], f.c[4].as_str());
}

#[test]
fn force_push_is_reported_not_followed() {
    let f = submodule_fixture(3);
    let r = f.json(&f.tether(), &[], 0);
    assert_eq!(r["behind"], 1);

    // upstream rewrites its last two commits
    f.up.git(&["reset", "-q", "--hard", "HEAD~2"]);
    f.up.set_time(EPOCH + 20 * 3600);
    f.up.write(
        "wgp.py",
        "def generate(prompt, fps=16):\n    return prompt\n",
    );
    let new1 = f.up.commit("feat: fps (rewritten)");
    f.up.write("README.md", "rewritten\n");
    let new2 = f.up.commit("docs: readme");

    let out = f.tether().run(&["check"]);
    out.assert_code(5);
    assert!(out.stdout.contains("history rewritten"), "{}", out.stdout);
    assert!(out.stdout.contains("HISTORY REWRITTEN"), "{}", out.stdout);
    let r = f.json(&f.tether(), &["--no-fetch"], 5);
    assert_eq!(r["history"]["state"], "rewritten");
    assert_eq!(r["history"]["merge_base"]["id"], f.c[2].as_str());
    assert_eq!(r["history"]["ahead"], 1);
    assert_eq!(r["ahead"], 1);
    assert_eq!(r["target"]["id"], new2.as_str());
    assert_eq!(ids(&r), [new2.as_str(), new1.as_str()]);
    assert_eq!(r["adoptable"], Value::Null);
}

#[test]
fn current_commit_missing_from_upstream_is_reported() {
    let f = submodule_fixture(3);
    // rewritten before tether ever fetched: the current commit is gone
    f.up.git(&["reset", "-q", "--hard", "HEAD~2"]);
    f.up.git(&["reflog", "expire", "--expire=now", "--all"]);
    f.up.git(&["gc", "-q", "--prune=now"]);
    f.up.write("README.md", "rewritten\n");
    f.up.commit("docs: readme");
    let r = f.json(&f.tether(), &[], 5);
    assert_eq!(r["history"]["state"], "current_missing");
    assert_eq!(r["current"]["id"], f.c[3].as_str());
    let out = f.tether().run(&["check", "--no-fetch"]);
    out.assert_code(5);
    assert!(out.stdout.contains("history rewritten"), "{}", out.stdout);
}

#[test]
fn bad_url_fails_naming_the_upstream() {
    let f = submodule_fixture(1);
    let missing = f.path().join("no-such-repo");
    f.config_url(&missing.display().to_string(), "submodule", "");
    let out = f.tether().run(&["check"]);
    out.assert_code(1);
    assert!(out.stderr.contains("upstream `wan2gp`"), "{}", out.stderr);
    assert!(out.stderr.contains("cannot fetch"), "{}", out.stderr);
    assert!(
        out.stderr.contains("no repository at that URL"),
        "{}",
        out.stderr
    );
}

#[test]
fn secrets_in_the_url_never_show() {
    let f = submodule_fixture(1);
    // a fetch that fails: the error shows the URL redacted
    f.config_url("https://user:secret@127.0.0.1:9/x.git", "submodule", "");
    let out = f.tether().run(&["check"]);
    out.assert_code(1);
    assert!(out.stderr.contains("upstream `wan2gp`"), "{}", out.stderr);
    assert!(!out.stderr.contains("secret"), "{}", out.stderr);
    assert!(!out.stdout.contains("secret"), "{}", out.stdout);

    // a report from the mirror: the URL in it is redacted
    f.config("submodule", "");
    f.tether().run(&["check"]).assert_code(0);
    f.config_url("https://user:secret@example.com/x.git", "submodule", "");
    for args in [
        &["check", "--no-fetch"][..],
        &["check", "--no-fetch", "--json"],
    ] {
        let out = f.tether().run(args);
        out.assert_code(0);
        assert!(!out.stdout.contains("secret"), "{}", out.stdout);
        assert!(!out.stderr.contains("secret"), "{}", out.stderr);
    }
    let r = f.json(&f.tether(), &["--no-fetch"], 0);
    assert_eq!(r["url"], "https://user:[REDACTED]@example.com/x.git");
}

#[test]
fn several_upstreams_give_a_json_array() {
    let f = Fixture::new();
    let w = f.wrapper();
    w.add_submodule(&f.up, "Wan2GP", &f.c[1]);
    w.add_clone(&f.up, "Other", &f.c[3]);
    let url = f.up.url();
    fs_err::write(
        f.path().join("tether.toml"),
        format!(
            "[project]\nroot = \"wrapper\"\n\n[[upstream]]\nname = \"wan2gp\"\nurl = \"{url}\"\npath = \"Wan2GP\"\nlayout = \"submodule\"\n\n[[upstream]]\nname = \"other\"\nurl = \"{url}\"\npath = \"Other\"\nlayout = \"clone\"\n"
        ),
    )
    .unwrap();
    let out = f.tether().run(&["check", "--json"]);
    out.assert_code(0);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert_eq!(
        (arr[0]["name"].as_str(), arr[0]["behind"].as_u64()),
        (Some("wan2gp"), Some(3))
    );
    assert_eq!(
        (arr[1]["name"].as_str(), arr[1]["behind"].as_u64()),
        (Some("other"), Some(1))
    );
    let r = f.json(&f.tether(), &["--upstream", "other", "--no-fetch"], 0);
    assert_eq!(r["name"], "other");
}

#[test]
fn missing_local_path_says_no_repository() {
    let f = submodule_fixture(1);
    let missing = f.path().join("gone");
    f.config_url(&format!("file://{}", missing.display()), "submodule", "");
    let out = f.tether().run(&["check"]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("no repository at that URL"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("does not exist"), "{}", out.stderr);
}

#[test]
fn a_missing_object_upstream_is_named_not_taken_for_a_bad_url() {
    let f = submodule_fixture(1);
    f.tether().run(&["check"]).assert_code(0);
    // a new commit upstream whose blob is then lost (a damaged repository)
    f.up.write("weights.json", "{\"a\": 1}\n");
    f.up.commit("config: weights");
    let blob = f.up.git(&["rev-parse", "HEAD:weights.json"]);
    let blob = blob.trim();
    let loose =
        f.up.path
            .join(".git/objects")
            .join(&blob[..2])
            .join(&blob[2..]);
    fs_err::remove_file(&loose).unwrap();
    let out = f.tether().run(&["check"]);
    out.assert_code(1);
    assert!(out.stderr.contains("upstream `wan2gp`"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("an object it needs is missing or unreadable"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("no repository at that URL"),
        "{}",
        out.stderr
    );
}

/// `check --exit-code` exits 17 when an update can be adopted, 0 when up to
/// date; without the flag, behind is still 0.
#[test]
fn exit_code_flag_says_an_update_can_be_adopted() {
    let f = submodule_fixture(1);
    f.tether().run(&["check"]).assert_code(0);
    f.tether().run(&["check", "--exit-code"]).assert_code(17);
    let f = submodule_fixture(4);
    f.tether().run(&["check", "--exit-code"]).assert_code(0);
}
