//! The `git subtree` flavour of the vendored layout: a wrapper built with a
//! real `git subtree add --squash` and no `record_file` configured; `check`
//! reads the base from the `git-subtree-split:` trailer (and base detection
//! says when the files disagree), `update` promotes a commit carrying both
//! trailers, and the next `check` reads the new base from it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::git::{git, git_cmd};
use crate::support::sample::{OK_BASELINE, OK_PY};
use crate::support::{GitRepo, Tether};

const PREFIX: &str = "vendor/up";

struct World {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    wrapper: GitRepo,
    commits: Vec<String>,
}

/// `git subtree` runs as shipped with git; where the `git` on PATH lacks it
/// (a git built without contrib), the distribution's copy is used through
/// `--exec-path`. `None`: no git-subtree anywhere.
fn subtree_cmd(dir: &Path) -> Option<Command> {
    let works = |exec: Option<&str>| {
        let mut c = git_cmd(dir);
        if let Some(e) = exec {
            c.arg(format!("--exec-path={e}"));
        }
        let out = c.args(["subtree", "-h"]).output().ok()?;
        let err = String::from_utf8_lossy(&out.stderr);
        (!err.contains("is not a git command")).then_some(())
    };
    if works(None).is_some() {
        return Some(git_cmd(dir));
    }
    let dist = "/usr/lib/git-core";
    if Path::new(dist).join("git-subtree").is_file() && works(Some(dist)).is_some() {
        let mut c = git_cmd(dir);
        c.arg(format!("--exec-path={dist}"));
        return Some(c);
    }
    None
}

/// An upstream with four commits; a wrapper that adds it at `PREFIX` at
/// the second commit with `git subtree add --squash` (or, without
/// git-subtree, a commit carrying the same trailers made by hand).
fn world() -> World {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("stack");
    let upstream = GitRepo::init(root.join("up"));
    let mut commits = Vec::new();
    for i in 0..4 {
        upstream.write("model.py", format!("VERSION = {i}\n"));
        upstream.write("README.md", format!("release {i}\n"));
        commits.push(upstream.commit(&format!("release {i}")));
    }
    let wrapper = GitRepo::init(root.join("wrapper"));
    wrapper.write("ok.py", OK_PY);
    wrapper.commit("the app");
    match subtree_cmd(&wrapper.path) {
        Some(mut c) => {
            let out = c
                .args(["subtree", "add", "-q", "--squash", "--prefix", PREFIX])
                .arg(upstream.url())
                .arg(&commits[1])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "git subtree add: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        None => {
            eprintln!("git-subtree is not installed: writing its trailers by hand");
            wrapper.add_vendored(&upstream, PREFIX, &commits[1]);
            fs_err::remove_file(wrapper.path.join("STRUCTURE.md")).unwrap();
            wrapper.commit(&format!(
                "Squashed '{PREFIX}/' content from commit {}\n\ngit-subtree-dir: {PREFIX}\ngit-subtree-split: {}",
                &commits[1][..7],
                commits[1]
            ));
        }
    }
    let toml = format!(
        "[project]\nroot = \"wrapper\"\npython = \"python3\"\n\n\
         [[upstream]]\nname = \"up\"\nurl = \"{}\"\npath = \"{PREFIX}\"\nlayout = \"vendored\"\n{OK_BASELINE}",
        upstream.url()
    );
    fs_err::write(root.join("tether.toml"), toml).unwrap();
    World {
        _tmp: tmp,
        root,
        wrapper,
        commits,
    }
}

fn check_json(t: &Tether) -> Value {
    let out = t.run(&["check", "--json"]);
    out.assert_code(0);
    let v: Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    match v {
        Value::Array(mut a) => a.remove(0),
        v => v,
    }
}

#[test]
fn subtree_trailer_is_the_base_and_the_update_writes_new_trailers() {
    let w = world();
    let t = Tether::new(&w.root);
    let report = check_json(&t);
    assert_eq!(report["current"]["id"], w.commits[1].as_str(), "{report}");
    let source = report["current"]["source"].as_str().unwrap();
    assert!(
        source.contains("git-subtree-split trailer of wrapper commit"),
        "{source}"
    );

    t.run(&["update"]).assert_code(0);
    let tip = w.commits.last().unwrap();
    let body = git(
        &w.wrapper.path,
        &["log", "--format=%B", "--grep=chore(upstream)", "-1"],
    );
    assert!(
        body.contains(&format!(
            "git-subtree-dir: {PREFIX}\ngit-subtree-split: {tip}"
        )),
        "{body}"
    );
    assert_eq!(w.wrapper.read("vendor/up/model.py"), "VERSION = 3\n");
    assert_eq!(git(&w.wrapper.path, &["status", "--porcelain"]), "");

    let report = check_json(&t);
    assert_eq!(report["current"]["id"], tip.as_str(), "{report}");
    assert_eq!(report["up_to_date"], true, "{report}");
}

#[test]
fn base_detection_says_when_the_subtree_trailer_disagrees() {
    let w = world();
    // the copy moves to commit 2 by hand, without a new trailer
    w.wrapper.write("vendor/up/model.py", "VERSION = 2\n");
    w.wrapper.write("vendor/up/README.md", "release 2\n");
    w.wrapper.commit("copy release 2 by hand");
    let report = check_json(&Tether::new(&w.root));
    assert_eq!(report["current"]["id"], w.commits[2].as_str(), "{report}");
    assert_eq!(
        report["current"]["base"]["recorded"],
        w.commits[1].as_str(),
        "{report}"
    );
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains(&format!(
            "record says {} (the git-subtree-split trailer of wrapper commit",
            &w.commits[1][..7]
        )) && warnings.contains(&format!("the copy matches {}", &w.commits[2][..7])),
        "{report}"
    );
}
