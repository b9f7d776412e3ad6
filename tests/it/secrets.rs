//! Secrets at rest, end to end with the real binary: an upstream served over
//! loopback HTTP by real `git http-backend` behind Basic auth, fetched with
//! credentials from the configured URL or `TETHER_TOKEN_<NAME>`, a mirror
//! whose config never holds them, a credential helper that hangs, and a real
//! `tether update` whose baseline case prints secrets in pieces: no file
//! tether writes holds one, and those files are the user's alone.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::files_under;
use crate::support::git_http::GitHttp;
use crate::support::sample::Sample;

const URL_TOKEN: &str = "hf_UrlPlantedToken2468";

/// The sample (submodule layout) with its upstream behind `server`, fetched
/// from `url`, and `extra` appended to the config.
fn sample_behind(server_auth: Option<&str>) -> (Sample, GitHttp) {
    let s = Sample::new("submodule");
    let server = GitHttp::start(&s.root, server_auth);
    (s, server)
}

fn set_url(s: &Sample, url: &str, extra: &str) {
    let cfg = s.root.join("tether.toml");
    let toml = fs_err::read_to_string(&cfg).unwrap();
    let from = format!("url = \"{}\"", s.upstream.path.display());
    assert!(toml.contains(&from), "{toml}");
    let mut toml = toml.replace(&from, &format!("url = \"{url}\""));
    toml.push_str(extra);
    fs_err::write(&cfg, toml).unwrap();
}

/// Every file under `dir` that holds one of `secrets`, with the secret.
fn leaks(dir: &Path, secrets: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for f in files_under(dir) {
        let bytes = fs_err::read(&f).unwrap();
        for s in secrets {
            if bytes.windows(s.len()).any(|w| w == s.as_bytes()) {
                out.push(format!("{} holds `{s}`", f.display()));
            }
        }
    }
    out
}

fn mirror_config(s: &Sample) -> String {
    fs_err::read_to_string(s.root.join(".tether/mirrors/sample.git/config")).unwrap()
}

#[test]
fn credentials_in_the_url_fetch_but_never_reach_the_mirror() {
    let (s, server) = sample_behind(Some(&format!("user:{URL_TOKEN}")));
    let url = server.url(Some(&format!("user:{URL_TOKEN}")), "upstream");
    set_url(&s, &url, "");
    let out = s.tether().run(&["check"]);
    out.assert_code(0);
    // the server asked (401) and got the URL's credentials
    let seen = server.seen();
    assert_eq!(seen.first(), Some(&None), "{seen:?}");
    assert!(
        seen.contains(&Some(format!("user:{URL_TOKEN}"))),
        "{seen:?}"
    );
    // the mirror has every commit, and a URL without credentials
    assert_eq!(
        crate::support::git::git(
            &s.root.join(".tether/mirrors/sample.git"),
            &["rev-parse", "main"]
        ),
        s.upstream.head()
    );
    let config = mirror_config(&s);
    assert!(
        config.contains(&format!("url = {}", server.url(None, "upstream"))),
        "{config}"
    );
    assert_eq!(
        leaks(&s.root.join(".tether"), &[URL_TOKEN]),
        Vec::<String>::new()
    );
    assert!(!out.stdout.contains(URL_TOKEN) && !out.stderr.contains(URL_TOKEN));

    // the same URL without credentials: refused, and said so
    let cfg = fs_err::read_to_string(s.root.join("tether.toml")).unwrap();
    fs_err::write(
        s.root.join("tether.toml"),
        cfg.replace(&url, &server.url(None, "upstream")),
    )
    .unwrap();
    let out = s.tether().run(&["check"]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("authentication failed"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("TETHER_TOKEN_SAMPLE"), "{}", out.stderr);
}

#[test]
fn the_token_variable_supplies_the_password() {
    let (s, server) = sample_behind(Some(&format!("bot:{URL_TOKEN}")));
    set_url(&s, &server.url(None, "upstream"), "");
    let out = s
        .tether()
        .cmd()
        .args(["check"])
        .env("TETHER_TOKEN_SAMPLE", format!("bot:{URL_TOKEN}"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        server.seen().contains(&Some(format!("bot:{URL_TOKEN}"))),
        "{:?}",
        server.seen()
    );
    assert_eq!(
        leaks(&s.root.join(".tether"), &[URL_TOKEN]),
        Vec::<String>::new()
    );
}

#[test]
fn a_mirror_an_older_tether_wrote_with_credentials_is_rewritten() {
    let s = Sample::new("submodule");
    s.tether().run(&["check"]).assert_code(0);
    let mirror = s.root.join(".tether/mirrors/sample.git");
    // what an older tether left: the URL with credentials, and FETCH_HEAD
    let old = format!("https://user:{URL_TOKEN}@example.com/x.git");
    crate::support::git::git(&mirror, &["config", "remote.origin.url", &old]);
    fs_err::write(
        mirror.join("FETCH_HEAD"),
        format!("{}\t\tbranch 'main' of {old}\n", s.upstream.head()),
    )
    .unwrap();
    assert_eq!(leaks(&mirror, &[URL_TOKEN]).len(), 2);
    // a read-only command (no fetch) rewrites it
    s.tether().run(&["check", "--no-fetch"]).assert_code(0);
    assert_eq!(leaks(&mirror, &[URL_TOKEN]), Vec::<String>::new());
    let config = mirror_config(&s);
    assert!(
        config.contains(&format!("url = {}", s.upstream.path.display())),
        "{config}"
    );
}

#[test]
fn a_hanging_credential_helper_is_stopped_and_the_fetch_says_why() {
    let (s, server) = sample_behind(None);
    set_url(
        &s,
        &server.url(None, "upstream"),
        "credential_timeout = \"1s\"\n",
    );
    let pid_file = s.root.join("helper.pid");
    let gitconfig = s.root.join("gitconfig");
    fs_err::write(
        &gitconfig,
        format!(
            "[credential]\n\thelper = \"!f() {{ echo $$ > '{}'; exec sleep 600; }}; f\"\n",
            pid_file.display()
        ),
    )
    .unwrap();
    let started = Instant::now();
    let out = s
        .tether()
        .cmd()
        .args(["check"])
        .env("GIT_CONFIG_GLOBAL", &gitconfig)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("git's credential helper did not answer within 1s"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(120), "liveness");
    // the helper (its `sleep`, through `exec`) was stopped
    let pid = fs_err::read_to_string(&pid_file).expect("the helper ran");
    let pid = pid.trim();
    let gone = (0..100).any(|_| {
        let stat = fs_err::read_to_string(format!("/proc/{pid}/stat"));
        let dead = stat.map_or(true, |s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
        });
        if !dead {
            std::thread::sleep(Duration::from_millis(50));
        }
        dead
    });
    assert!(gone, "the credential helper {pid} still runs");
}

/// A baseline case that prints secrets in pieces, flushing between them,
/// so each piece is its own read. No full secret is in its source.
const LEAKY_PY: &str = r#"import os, sys, time
print("token variable passed on:", "TETHER_TOKEN_SAMPLE" in os.environ)
def say(stream, *pieces):
    for p in pieces:
        stream.write(p)
        stream.flush()
        time.sleep(0.02)
say(sys.stdout, "loading hf_", "Planted", "HfToken123456", " done\n")
say(sys.stderr, "retry with tok", "en=planted", "TokenValue42&page=2\n")
say(sys.stdout, "key sk-", "planted", "OpenAiKey7890\n")
say(sys.stderr, "Authorization: Bearer ", "planted", "BearerValue77\n")
say(sys.stdout, "password=", "planted", "Pw99xyz\n")
say(sys.stderr, "last words hf_", "Planted", "HfToken123456")
"#;

const PLANTED: [&str; 6] = [
    "PlantedHfToken123456",
    "plantedTokenValue42",
    "plantedOpenAiKey7890",
    "plantedBearerValue77",
    "plantedPw99xyz",
    URL_TOKEN,
];

const LEAKY_BASELINE: &str = r#"
[baseline]
command = "{python} leaky.py"
timeout = "60s"

[[baseline.case]]
name = "leaky"
model = "m"
"#;

/// Paths under `dir` that are no private file or folder: files not 0600,
/// folders not 0700. Only folders `ours` accepts are looked into (not a git
/// repository, the staged tree or backed-up wrapper files).
fn not_private(dir: &Path, ours: &dyn Fn(&Path) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mode = fs_err::metadata(&d).unwrap().permissions().mode() & 0o777;
        if mode != 0o700 {
            out.push(format!("{} {mode:o}", d.display()));
        }
        for e in fs_err::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let ft = e.file_type().unwrap();
            if ft.is_dir() && ours(&p) {
                stack.push(p);
            } else if ft.is_file() {
                let mode = e.metadata().unwrap().permissions().mode() & 0o777;
                if mode != 0o600 {
                    out.push(format!("{} {mode:o}", p.display()));
                }
            }
        }
    }
    out.sort();
    out
}

fn named(dir: &Path, name: &str) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == name))
        .collect()
}

#[test]
fn planted_secrets_reach_no_file_tether_writes_and_every_such_file_is_private() {
    let auth = format!("user:{URL_TOKEN}");
    let (s, server) = sample_behind(Some(&auth));
    set_url(&s, &server.url(Some(&auth), "upstream"), LEAKY_BASELINE);
    s.wrapper.write("leaky.py", LEAKY_PY);
    s.wrapper.commit("test: a case that prints secrets");

    // the case runs on the live wrapper, then in the update's staged tree;
    // tether has the token variable, the case must not
    let tether = |args: &[&str]| {
        let out = s
            .tether()
            .cmd()
            .args(args)
            .env("TETHER_TOKEN_SAMPLE", format!("user:{URL_TOKEN}"))
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{args:?}\n{stdout}\n{stderr}");
        (stdout, stderr)
    };
    let run = tether(&["baseline", "run"]);
    let out = tether(&["update"]);
    for text in [&run.0, &run.1, &out.0, &out.1] {
        for p in PLANTED {
            assert!(!text.contains(p), "tether printed `{p}`:\n{text}");
        }
    }
    let state = s.root.join(".tether");
    let outputs = s.root.join("outputs");
    let analysis = s.root.join("maintenance_analysis");

    // the case's logs exist, in the update's run, and hold its output redacted
    let stdout_logs = named(&outputs, "stdout.log");
    let stderr_logs = named(&outputs, "stderr.log");
    assert!(
        !stdout_logs.is_empty() && !stderr_logs.is_empty(),
        "{:?}",
        files_under(&outputs)
    );
    for log in &stdout_logs {
        let text = fs_err::read_to_string(log).unwrap();
        assert_eq!(
            text,
            "token variable passed on: False\n\
             loading [REDACTED] done\nkey [REDACTED]\npassword=[REDACTED]\n",
            "{}",
            log.display()
        );
    }
    for log in &stderr_logs {
        let text = fs_err::read_to_string(log).unwrap();
        assert_eq!(
            text,
            "retry with token=[REDACTED]&page=2\nAuthorization: [REDACTED]\nlast words [REDACTED]",
            "{}",
            log.display()
        );
    }
    // the journal's history and the mirror's config are there to be checked
    assert!(!files_under(&state.join("update/history")).is_empty());
    assert!(state.join("mirrors/sample.git/config").is_file());
    assert!(!files_under(&analysis).is_empty());
    // the HTML pages are among the files checked
    for (dir, page) in [
        (&outputs, "baseline_report.html"),
        (&analysis, "analysis.html"),
    ] {
        assert!(
            !named(dir, page).is_empty(),
            "no {page} under {}",
            dir.display()
        );
    }
    let update_pages: usize = [&state, &outputs]
        .iter()
        .map(|d| named(d, "update_report.html").len())
        .sum();
    assert!(update_pages > 0, "no update_report.html");

    // no file under the state, analysis and outputs dirs holds a secret
    let mut found = Vec::new();
    for dir in [&state, &outputs, &analysis] {
        found.extend(leaks(dir, &PLANTED));
    }
    assert_eq!(found, Vec::<String>::new());

    // and what tether wrote there is the user's alone
    let ours = |p: &Path| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        !(p.ends_with("mirrors") || name == "staged" || name == "files")
    };
    let mut loose = Vec::new();
    for dir in [&state, &outputs, &analysis] {
        loose.extend(not_private(dir, &ours));
    }
    assert_eq!(loose, Vec::<String>::new());
    // what the promotion checked out in the live wrapper keeps the usual
    // modes: no umask was changed on the way
    let wgp = fs_err::metadata(s.wrapper.path.join("Wan2GP/wgp.py")).unwrap();
    assert_ne!(
        wgp.permissions().mode() & 0o044,
        0,
        "the wrapper's files are not made private"
    );
}
