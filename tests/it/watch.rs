//! `tether watch` as a real process with second-granularity schedules
//! against the sample project: cycles, single flight, catch-up after
//! downtime, the status endpoint, the webhook, SIGHUP, SIGTERM mid-update,
//! housekeeping; and `tether health`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::sample::OK_BASELINE;
use crate::support::sample::Sample;
use crate::support::{Tether, tree_digest};

/// The vendored sample with `extra` appended to its config and `files`
/// committed in the wrapper.
pub(crate) fn sample(extra: &str, files: &[(&str, &str)]) -> Sample {
    let s = Sample::new("vendored");
    let cfg = s.root.join("tether.toml");
    let mut toml = fs_err::read_to_string(&cfg).unwrap();
    toml.push_str(extra);
    fs_err::write(&cfg, toml).unwrap();
    s.wrapper.write("ok.py", "print('ok')\n");
    for (rel, text) in files {
        s.wrapper.write(rel, text);
    }
    s.wrapper.commit("test: baseline scripts");
    s
}

/// tether on the real clock (schedules need time to pass).
fn tether(root: &Path) -> Tether {
    let mut t = Tether::new(root);
    t.now = None;
    t
}

/// A running `tether watch`, killed if the test fails first.
pub(crate) struct Watch {
    child: Child,
    stderr: PathBuf,
}

impl Watch {
    pub(crate) fn start(root: &Path) -> Watch {
        let stderr = root.join("watch.stderr");
        let child = tether(root)
            .cmd()
            .arg("watch")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs_err::File::create(&stderr).unwrap().into_file())
            .spawn()
            .expect("tether watch starts");
        Watch { child, stderr }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} failed");
    }

    /// SIGTERM, then the exit code (within `limit`).
    pub(crate) fn stop(&mut self, limit: Duration) -> i32 {
        self.signal("-TERM");
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "tether watch did not stop within {limit:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn log(&self) -> String {
        fs_err::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn state(root: &Path) -> Option<Value> {
    let text = fs_err::read_to_string(root.join(".tether/service/state.json")).ok()?;
    serde_json::from_str::<Value>(&text)
        .ok()
        .map(|v| v["data"].clone())
}

pub(crate) fn runs(root: &Path, job: &str) -> u64 {
    state(root)
        .and_then(|s| s["jobs"][job]["runs"].as_u64())
        .unwrap_or(0)
}

/// Waits until `f` holds (or fails the test after `limit`).
pub(crate) fn wait_for(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` on loopback: (status code, body).
fn get(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, body.to_owned())
}

/// A webhook receiver on loopback that answers 200 and keeps every body.
pub(crate) struct Receiver {
    pub(crate) port: u16,
    bodies: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Receiver {
    pub(crate) fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (b, st) = (Arc::clone(&bodies), Arc::clone(&stop));
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !st.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        conn.set_nonblocking(false).unwrap();
                        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                        if let Some(body) = read_request(&mut conn) {
                            b.lock().unwrap().push(body);
                        }
                        let _ = conn.write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Receiver { port, bodies, stop }
    }

    pub(crate) fn events(&self) -> Vec<Value> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| serde_json::from_str(b).unwrap())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn read_request(conn: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            if body.len() >= len {
                return Some(body[..len].to_owned());
            }
        }
    }
}

#[test]
fn cycles_run_the_endpoint_answers_and_the_webhook_hears_the_stop() {
    let port = free_port();
    let hook = Receiver::start();
    let s = sample(
        &format!(
            "{OK_BASELINE}\n[schedule]\ncheck = \"* * * * * *\"\n\n[service]\nlisten = \"127.0.0.1:{port}\"\nwebhook = \"http://127.0.0.1:{}/hook?token=s3cr3tvalue\"\n",
            hook.port
        ),
        &[],
    );
    let mut w = Watch::start(&s.root);
    wait_for(Duration::from_secs(30), "three check cycles", || {
        runs(&s.root, "check") >= 3
    });

    let (code, body) = get(port, "/healthz");
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    let (code, body) = get(port, "/status");
    assert_eq!(code, 200);
    let status: Value = serde_json::from_str(&body).unwrap();
    assert!(status["state"]["jobs"]["check"]["runs"].as_u64().unwrap() >= 3);
    assert_eq!(status["state"]["jobs"]["check"]["last_outcome"], "ok");
    assert!(status["state"]["jobs"]["check"]["next_run"].is_string());
    assert!(
        status["state"]["upstreams"]["sample"]["behind"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(status["healthy"], true);
    let (code, metrics) = get(port, "/metrics");
    assert_eq!(code, 200);
    let sample_line =
        regex::Regex::new(r#"^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.eE+-]+$"#)
            .unwrap();
    for line in metrics.lines().filter(|l| !l.starts_with('#')) {
        assert!(
            sample_line.is_match(line),
            "not a Prometheus sample: {line}"
        );
    }
    assert!(
        metrics.contains("# TYPE tether_job_runs_total counter"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tether_upstream_commits_behind{upstream=\"sample\"} "),
        "{metrics}"
    );
    assert!(
        metrics.contains("tether_job_last_success{job=\"check\"} 1"),
        "{metrics}"
    );
    assert_eq!(get(port, "/nope").0, 404);

    // single flight across processes: a second service refuses, naming the first
    let second = tether(&s.root).run(&["watch"]);
    second.assert_code(8);
    assert!(
        second.stderr.contains("another `tether watch` is running")
            && second.stderr.contains(&format!("pid {}", w.pid())),
        "{}",
        second.stderr
    );
    // health sees the running service
    let health = tether(&s.root).run(&["health", "--json", "--no-probe"]);
    let h: Value = serde_json::from_str(&health.stdout).unwrap();
    assert_eq!(
        h["service"]["running"]["pid"].as_u64(),
        Some(u64::from(w.pid()))
    );

    assert_eq!(w.stop(Duration::from_secs(20)), 0, "{}", w.log());
    wait_for(Duration::from_secs(10), "the stop notification", || {
        hook.events()
            .iter()
            .any(|e| e["event"] == "service_stopping")
    });
    for body in hook.bodies.lock().unwrap().iter() {
        assert!(!body.contains("s3cr3tvalue"), "{body}");
    }
    // the state was kept, the pid cleared; the JSON log correlates by run_id
    let st = state(&s.root).unwrap();
    assert_eq!(st["pid"], Value::Null);
    let logs: Vec<PathBuf> = fs_err::read_dir(s.root.join(".tether/logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let text = fs_err::read_to_string(&logs[0]).unwrap();
    let cycle: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["fields"]["message"] == "cycle finished")
        .collect();
    assert!(cycle.len() >= 3, "{text}");
    assert!(
        cycle[0]["span"]["run_id"]
            .as_str()
            .unwrap()
            .starts_with("watch-check-"),
        "{}",
        cycle[0]
    );
    assert!(!text.contains("s3cr3tvalue"));
}

/// A case that records when it started and ended (in the file its `log`
/// parameter names) and takes two seconds.
const SPAN_PY: &str = r#"import sys, time
start = time.time()
time.sleep(2)
with open(sys.argv[1], "a") as f:
    f.write(f"{start} {time.time()}\n")
"#;

#[test]
fn a_cycle_that_outlasts_its_interval_never_overlaps_the_next() {
    let tmp = tempfile::tempdir().unwrap();
    let spans = tmp.path().join("spans.txt");
    let s = sample(
        &format!(
            "\n[baseline]\ncommand = \"{{python}} span.py {}\"\ntimeout = \"60s\"\nquality = false\n\n[[baseline.case]]\nname = \"slow\"\nmodel = \"m\"\n\n[gpu]\npreflight = \"never\"\n\n[schedule]\nbaseline = \"* * * * * *\"\n\n[service]\nlisten = \"off\"\n",
            spans.display()
        ),
        &[("span.py", SPAN_PY)],
    );
    let start = Instant::now();
    let mut w = Watch::start(&s.root);
    wait_for(Duration::from_secs(40), "three baseline cycles", || {
        runs(&s.root, "baseline") >= 3
    });
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(w.stop(Duration::from_secs(20)), 0, "{}", w.log());
    let mut spans: Vec<(f64, f64)> = fs_err::read_to_string(&spans)
        .unwrap()
        .lines()
        .map(|l| {
            let (a, b) = l.split_once(' ').unwrap();
            (a.parse().unwrap(), b.parse().unwrap())
        })
        .collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(spans.len() >= 3, "{spans:?}");
    for pair in spans.windows(2) {
        assert!(pair[1].0 >= pair[0].1, "cycles overlap: {pair:?}");
    }
    // a tick due while a cycle runs is coalesced, not queued up
    assert!(
        (runs(&s.root, "baseline") as f64) < elapsed,
        "{} runs in {elapsed:.1}s",
        runs(&s.root, "baseline")
    );
}

#[test]
fn a_job_missed_during_downtime_runs_once_at_start() {
    let s = sample(
        "\n[schedule]\ncheck = \"0 0 * * * *\"\n\n[service]\nlisten = \"off\"\n",
        &[],
    );
    // The service last checked three hours ago; the hourly check missed 3 ticks.
    let three_hours_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(3);
    let saved = serde_json::json!({
        "format_version": 1,
        "data": {"jobs": {"check": {"schedule": "0 0 * * * *", "last_run": three_hours_ago, "runs": 7}}}
    });
    fs_err::create_dir_all(s.root.join(".tether/service")).unwrap();
    fs_err::write(s.root.join(".tether/service/state.json"), saved.to_string()).unwrap();
    let mut w = Watch::start(&s.root);
    wait_for(Duration::from_secs(20), "the catch-up run", || {
        runs(&s.root, "check") >= 8
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(runs(&s.root, "check"), 8, "caught up more than once");
    assert_eq!(w.stop(Duration::from_secs(20)), 0);
    assert!(
        w.log().contains("missed while the service was down"),
        "{}",
        w.log()
    );
}

const SLOW_PY: &str = r#"import os, time
pid = os.path.join(os.environ["TETHER_OUTPUT_DIR"], "sleeper.pid")
with open(pid + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.replace(pid + ".tmp", pid)
time.sleep(60)
"#;

#[test]
fn sigterm_mid_update_rolls_back_and_leaves_the_live_tree_intact() {
    let hook = Receiver::start();
    let s = sample(
        &format!(
            "\n[baseline]\ncommand = \"{{python}} slow_case.py\"\ntimeout = \"120s\"\n\n[[baseline.case]]\nname = \"slow\"\nmodel = \"m\"\n\n[schedule]\nupdate = \"* * * * * *\"\n\n[service]\nlisten = \"off\"\nwebhook = \"http://127.0.0.1:{}/\"\n",
            hook.port
        ),
        &[("slow_case.py", SLOW_PY)],
    );
    let before = tree_digest(&s.wrapper.path);
    let mut w = Watch::start(&s.root);
    let mut sleeper = None;
    wait_for(Duration::from_secs(60), "the update's slow case", || {
        sleeper = fs_err::read_dir(s.root.join("outputs"))
            .ok()
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path().join("baseline-initial/slow/sleeper.pid"))
            .find_map(|p| fs_err::read_to_string(p).ok())
            .and_then(|t| t.trim().parse::<u32>().ok());
        sleeper.is_some()
    });
    assert_eq!(w.stop(Duration::from_secs(60)), 0, "{}", w.log());
    let pid = sleeper.unwrap();
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists()
            || fs_err::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z")),
        "the case still runs"
    );
    assert_eq!(
        tree_digest(&s.wrapper.path),
        before,
        "the live tree changed"
    );
    assert!(!s.root.join(".tether/update/journal.json").exists());
    let st = state(&s.root).unwrap();
    assert_eq!(st["jobs"]["update"]["last_outcome"], "ok", "{st}");
    assert_eq!(st["rollbacks_total"], 1, "{st}");
    wait_for(Duration::from_secs(10), "the notifications", || {
        let kinds: Vec<Value> = hook.events().iter().map(|e| e["event"].clone()).collect();
        kinds.contains(&"rolled_back".into()) && kinds.contains(&"service_stopping".into())
    });
}

#[test]
fn sighup_with_a_broken_config_keeps_the_old_one() {
    let s = sample(
        "\n[schedule]\ncheck = \"* * * * * *\"\n\n[service]\nlisten = \"off\"\n",
        &[],
    );
    let mut w = Watch::start(&s.root);
    wait_for(Duration::from_secs(30), "a cycle", || {
        runs(&s.root, "check") >= 1
    });
    let cfg = s.root.join("tether.toml");
    let good = fs_err::read_to_string(&cfg).unwrap();
    fs_err::write(&cfg, format!("{good}\n[schedule]\nbogus = 1\n")).unwrap();
    w.signal("-HUP");
    let n = runs(&s.root, "check");
    wait_for(Duration::from_secs(30), "cycles after the reload", || {
        runs(&s.root, "check") >= n + 2
    });
    assert!(
        w.log()
            .contains("the new config is invalid; keeping the old one"),
        "{}",
        w.log()
    );
    assert_eq!(w.stop(Duration::from_secs(20)), 0);
}

#[test]
fn a_port_in_use_is_a_clear_error_at_start() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let s = sample(
        &format!(
            "\n[schedule]\ncheck = \"* * * * * *\"\n\n[service]\nlisten = \"127.0.0.1:{port}\"\n"
        ),
        &[],
    );
    let out = tether(&s.root).run(&["watch"]);
    out.assert_code(1);
    assert!(
        out.stderr
            .contains(&format!("cannot listen on 127.0.0.1:{port}"))
            && out.stderr.contains("service.listen"),
        "{}",
        out.stderr
    );
}

#[test]
fn housekeeping_removes_old_runs_rotates_debug_logs_and_never_follows_links() {
    let s = sample(
        "\n[schedule]\nhousekeeping = \"* * * * * *\"\n\n[service]\nlisten = \"off\"\nkeep_outputs_days = 7\n",
        &[],
    );
    let outputs = s.root.join("outputs");
    let old = outputs.join("baseline-old");
    let fresh = outputs.join("update-fresh");
    fs_err::create_dir_all(&old).unwrap();
    fs_err::create_dir_all(&fresh).unwrap();
    fs_err::write(old.join("results.json"), "{}").unwrap();
    let lines: String = (0..1500).map(|i| format!("line {i}\n")).collect();
    fs_err::write(fresh.join("debug_log.txt"), &lines).unwrap();
    // an old symlink to a folder outside the outputs dir
    let outside = tempfile::tempdir().unwrap();
    fs_err::write(outside.path().join("keep.txt"), "mine").unwrap();
    std::os::unix::fs::symlink(outside.path(), outputs.join("link")).unwrap();
    for (p, h) in [(&old, false), (&outputs.join("link"), true)] {
        let mut c = Command::new("touch");
        if h {
            c.arg("-h");
        }
        assert!(
            c.args(["-d", "30 days ago"])
                .arg(p)
                .status()
                .unwrap()
                .success()
        );
    }
    let out = tether(&s.root).run(&["watch", "--max-cycles", "1"]);
    out.assert_code(0);
    assert!(!old.exists(), "the old run folder is still there");
    assert!(fresh.is_dir());
    let kept = fs_err::read_to_string(fresh.join("debug_log.txt")).unwrap();
    assert_eq!(kept.lines().count(), 1000);
    assert!(kept.starts_with("line 500\n"));
    let archived = fs_err::read_to_string(fresh.join("debug_log.1.txt")).unwrap();
    assert_eq!(archived.lines().count(), 500);
    assert!(outputs.join("link").symlink_metadata().is_ok());
    assert_eq!(
        fs_err::read_to_string(outside.path().join("keep.txt")).unwrap(),
        "mine"
    );
    assert!(outputs.join("README.md").is_file() || !s.root.join("outputs/README.md").exists());
}

#[test]
fn health_reports_every_section_and_exits_with_its_verdict() {
    let s = sample(OK_BASELINE, &[]);
    tether(&s.root).run(&["baseline", "run"]).assert_code(0);
    // health never fetches: before a check it says so, and creates no mirror
    let before: Value = serde_json::from_str(
        &tether(&s.root)
            .run(&["health", "--json", "--no-probe"])
            .stdout,
    )
    .unwrap();
    assert!(
        before["upstreams"][0]["error"]
            .as_str()
            .unwrap()
            .contains("no mirror"),
        "{}",
        before["upstreams"]
    );
    assert!(!s.root.join(".tether/mirrors").exists());
    tether(&s.root).run(&["check"]);
    // a corrupt service state is moved aside, not fatal
    fs_err::create_dir_all(s.root.join(".tether/service")).unwrap();
    fs_err::write(s.root.join(".tether/service/state.json"), "{garbage").unwrap();
    let out = tether(&s.root).run(&["health", "--json"]);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let verdict = v["verdict"].as_str().unwrap();
    let code = match verdict {
        "healthy" => 0,
        "degraded" => 11,
        _ => 12,
    };
    out.assert_code(code);
    assert_eq!(
        v["reasons"].as_array().unwrap().is_empty(),
        verdict == "healthy"
    );
    assert!(v["system"]["cpus"].as_u64().unwrap() > 0);
    assert_eq!(v["system"]["disks"].as_array().unwrap().len(), 3);
    if !Path::new("/dev/nvidiactl").exists() {
        assert_eq!(v["gpu"]["status"], "error", "{}", v["gpu"]);
        assert!(
            v["gpu"]["error"].as_str().unwrap().contains("NVML"),
            "{}",
            v["gpu"]
        );
    }
    assert_eq!(v["torch"]["passed"], true, "{}", v["torch"]);
    assert_eq!(v["python"]["pip_check"]["passed"], true);
    assert!(v["upstreams"][0]["behind"].as_u64().unwrap() > 0);
    assert_eq!(v["service"]["running"], Value::Null);
    let trend = &v["baseline"][0];
    assert_eq!(trend["case"], "ok");
    assert_eq!(trend["runs"][0]["status"], "passed");
    let moved = fs_err::read_dir(s.root.join(".tether/service"))
        .unwrap()
        .any(|e| e.unwrap().file_name().to_string_lossy().contains("corrupt"));
    assert!(moved, "the corrupt state was not moved aside");

    let md = tether(&s.root).run(&["health", "--no-probe"]);
    for section in [
        "# tether health: **",
        "## System",
        "## GPU",
        "## The wrapper's Python",
        "## Upstreams",
        "## Service",
        "## Baseline",
    ] {
        assert!(md.stdout.contains(section), "{section}: {}", md.stdout);
    }
    assert!(md.stdout.contains("| ok | passed |"), "{}", md.stdout);
}

#[test]
fn a_webhook_that_hangs_never_holds_up_the_scheduler() {
    // a receiver that takes the connection and never answers
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let s = sample(
        &format!(
            "\n[schedule]\ncheck = \"* * * * * *\"\n\n[service]\nlisten = \"off\"\nwebhook = \"http://127.0.0.1:{port}/\"\nwebhook_timeout = \"1s\"\nwebhook_retries = 1\n"
        ),
        &[],
    );
    // a check that fails: every cycle notifies
    let cfg = s.root.join("tether.toml");
    let text = fs_err::read_to_string(&cfg).unwrap();
    let url = text
        .lines()
        .find(|l| l.starts_with("url = "))
        .unwrap()
        .to_owned();
    fs_err::write(
        &cfg,
        text.replace(&url, "url = \"/nonexistent/upstream.git\""),
    )
    .unwrap();
    let started = Instant::now();
    let mut w = Watch::start(&s.root);
    wait_for(
        Duration::from_secs(30),
        "cycles while the webhook hangs",
        || runs(&s.root, "check") >= 4,
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the scheduler waited on the webhook"
    );
    assert_eq!(w.stop(Duration::from_secs(30)), 0, "{}", w.log());
    assert!(w.log().contains("webhook failed"), "{}", w.log());
    drop(silent);
}

#[test]
fn a_state_dir_deleted_while_running_is_recreated_and_the_service_goes_on() {
    let s = sample(
        "\n[schedule]\ncheck = \"* * * * * *\"\n\n[service]\nlisten = \"off\"\n",
        &[],
    );
    let mut w = Watch::start(&s.root);
    wait_for(Duration::from_secs(30), "a cycle", || {
        runs(&s.root, "check") >= 1
    });
    fs_err::remove_dir_all(s.root.join(".tether")).unwrap();
    wait_for(Duration::from_secs(30), "cycles after the deletion", || {
        runs(&s.root, "check") >= 3
    });
    assert!(s.root.join(".tether/service/watch.lock").is_file());
    // the recreated lock is really held: a second service refuses
    let second = tether(&s.root).run(&["watch"]);
    second.assert_code(8);
    assert_eq!(w.stop(Duration::from_secs(20)), 0, "{}", w.log());
    assert!(
        w.log()
            .contains("the state dir was removed while the service ran"),
        "{}",
        w.log()
    );
}

/// SIGTERM in the short window in which tether spawns a child with the
/// signals unblocked (held open by a failpoint's sleep): the service still
/// stops in order, where the default action used to kill it on the spot.
#[test]
fn sigterm_while_a_child_is_being_spawned_stops_the_service_in_order() {
    let s = sample(
        "\n[baseline]\ncommand = \"{python} ok.py\"\ntimeout = \"60s\"\nquality = false\n\n[[baseline.case]]\nname = \"quick\"\nmodel = \"m\"\n\n[gpu]\npreflight = \"never\"\n\n[schedule]\nbaseline = \"* * * * * *\"\n\n[service]\nlisten = \"off\"\n",
        &[],
    );
    let stderr = s.root.join("watch.stderr");
    let child = tether(&s.root)
        .cmd()
        .arg("watch")
        .env("FAILPOINTS", "process.spawn.unblocked=sleep(4000)")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs_err::File::create(&stderr).unwrap().into_file())
        .spawn()
        .expect("tether watch starts");
    let mut w = Watch { child, stderr };
    let started = Instant::now();
    while !w.log().contains("cycle started") {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no cycle started:\n{}",
            w.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // inside the 4 s window of the cycle's first child (the hardware probe)
    std::thread::sleep(Duration::from_millis(1000));
    let code = w.stop(Duration::from_secs(30));
    assert_eq!(
        code,
        0,
        "killed by the signal instead of stopping:\n{}",
        w.log()
    );
    assert!(w.log().contains("service stopping"), "{}", w.log());
}
