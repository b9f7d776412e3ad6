//! Real child processes (`sh`, `python3`) through [`super::run`].

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::*;

fn spec(dir: &Path, argv: &[&str]) -> ProcessSpec {
    ProcessSpec {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        cwd: dir.to_path_buf(),
        env: vec![("TETHER_TEST_VAR".into(), "hello env".into())],
        timeout: Duration::from_secs(30),
        grace: Duration::from_millis(500),
        stdout_path: dir.join("logs/stdout.log"),
        stderr_path: dir.join("logs/stderr.log"),
        max_log_bytes: 1024 * 1024,
        cancel: None,
    }
}

fn sh(dir: &Path, script: &str) -> ProcessSpec {
    spec(dir, &["sh", "-c", script])
}

/// Whether `pid` is gone or a zombie (dead, not yet reaped by its new parent).
fn dead(pid: u32) -> bool {
    match fs_err::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

fn wait_dead(pid: u32) -> bool {
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        if dead(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn exit_code_logs_tails_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let s = sh(
        dir.path(),
        "echo \"out $TETHER_TEST_VAR\"; echo 'err token=abc123' >&2; exit 3",
    );
    let o = run(&s, &mut || {}).unwrap();
    assert_eq!(o.exit, Exit::Code(3));
    assert!(!o.exit.success());
    assert_eq!(o.stdout_tail, "out hello env\n");
    assert_eq!(o.stderr_tail, "err token=[REDACTED]\n");
    assert_eq!(o.stdout_bytes, 14);
    assert!(!o.truncated);
    assert_eq!(
        fs_err::read_to_string(&s.stdout_path).unwrap(),
        "out hello env\n"
    );
    // The file is redacted as it is written, and private.
    assert_eq!(
        fs_err::read_to_string(&s.stderr_path).unwrap(),
        "err token=[REDACTED]\n"
    );
    for p in [&s.stdout_path, &s.stderr_path] {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs_err::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", p.display());
    }
    let dir_mode = fs_err::metadata(s.stdout_path.parent().unwrap()).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&dir_mode.permissions()) & 0o777,
        0o700
    );
    let ok = run(&sh(dir.path(), "true"), &mut || {}).unwrap();
    assert_eq!(ok.exit, Exit::Code(0));
    assert!(ok.exit.success());
}

#[test]
fn secrets_printed_in_pieces_never_reach_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    // every piece flushed on its own, with a pause, so each is its own read
    let script = r#"
import sys, time
def say(stream, *pieces):
    for p in pieces:
        stream.write(p)
        stream.flush()
        time.sleep(0.05)
say(sys.stdout, "model hf_AbCd", "EfGhIj", "KlMnOp loaded\n")
say(sys.stderr, "retry tok", "en=s3cr3", "tValue&x=1\n")
say(sys.stdout, "key sk-", "proj-1234567890", "abcdef\n")
say(sys.stderr, "Authoriz", "ation: Bearer ", "eyJhbGciOi", "JIUzI1NiJ9\n")
say(sys.stdout, "last line hf_ZZZZ", "YYYYXXXX")
"#;
    let s = spec(dir.path(), &["python3", "-c", script]);
    let o = run(&s, &mut || {}).unwrap();
    assert_eq!(o.exit, Exit::Code(0), "{}", o.stderr_tail);
    let out = fs_err::read_to_string(&s.stdout_path).unwrap();
    let err = fs_err::read_to_string(&s.stderr_path).unwrap();
    assert_eq!(
        out,
        "model [REDACTED] loaded\nkey [REDACTED]\nlast line [REDACTED]"
    );
    assert_eq!(
        err,
        "retry token=[REDACTED]&x=1\nAuthorization: [REDACTED]\n"
    );
    assert_eq!(o.stdout_tail, out);
    assert_eq!(o.stderr_tail, err);
}

#[test]
fn runs_in_cwd() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&sh(dir.path(), "pwd"), &mut || {}).unwrap();
    let cwd = fs_err::canonicalize(dir.path()).unwrap();
    assert_eq!(o.stdout_tail.trim(), cwd.to_str().unwrap());
}

#[test]
fn timeout_kills_the_whole_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("grandchild.pid");
    let mut s = sh(
        dir.path(),
        &format!("sleep 100 & echo $! > '{}'; sleep 100", pidfile.display()),
    );
    s.timeout = Duration::from_millis(500);
    s.grace = Duration::from_millis(500);
    let started = Instant::now();
    let o = run(&s, &mut || {}).unwrap();
    assert_eq!(o.exit, Exit::TimedOut);
    assert!(o.duration >= Duration::from_millis(500), "{:?}", o.duration);
    assert!(started.elapsed() < Duration::from_secs(5));
    let pid: u32 = fs_err::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(wait_dead(pid), "grandchild {pid} survived the timeout");
}

#[test]
fn normal_exit_kills_leftover_grandchildren() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("bg.pid");
    let s = sh(
        dir.path(),
        &format!(
            "sleep 100 >/dev/null 2>&1 & echo $! > '{}'; exit 0",
            pidfile.display()
        ),
    );
    let o = run(&s, &mut || {}).unwrap();
    assert_eq!(o.exit, Exit::Code(0));
    let pid: u32 = fs_err::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        wait_dead(pid),
        "background process {pid} outlived its parent"
    );
}

#[test]
fn sigterm_ignored_gets_sigkill_after_grace() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(
        dir.path(),
        &[
            "python3",
            "-c",
            "import signal, time\n\
             signal.signal(signal.SIGTERM, signal.SIG_IGN)\n\
             print('ready', flush=True)\n\
             time.sleep(100)",
        ],
    );
    s.timeout = Duration::from_millis(1000);
    s.grace = Duration::from_millis(700);
    let started = Instant::now();
    let o = run(&s, &mut || {}).unwrap();
    assert_eq!(o.exit, Exit::TimedOut);
    assert_eq!(o.stdout_tail, "ready\n");
    // SIGTERM was ignored, so only SIGKILL after the grace period ended it.
    assert!(
        o.duration >= Duration::from_millis(1650),
        "{:?}",
        o.duration
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn output_flood_is_cut_and_the_child_completes() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(
        dir.path(),
        &[
            "python3",
            "-c",
            "import sys\n\
             b = b'x' * 1048576\n\
             for _ in range(50): sys.stdout.buffer.write(b)\n\
             sys.stdout.buffer.write(b'END\\n')\n\
             sys.stdout.flush()\n\
             print('done', file=sys.stderr)",
        ],
    );
    s.max_log_bytes = 1024 * 1024;
    let o = run(&s, &mut || {}).unwrap();
    assert_eq!(o.exit, Exit::Code(0));
    assert!(o.truncated);
    assert_eq!(o.stdout_bytes, 50 * 1024 * 1024 + 4);
    assert_eq!(fs_err::metadata(&s.stdout_path).unwrap().len(), 1024 * 1024);
    // The tail is the end of the stream, past the cut.
    assert_eq!(o.stdout_tail.len(), TAIL_BYTES);
    assert!(o.stdout_tail.ends_with("xxEND\n"));
    assert_eq!(o.stderr_tail, "done\n");
}

#[test]
fn crash_by_signal_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&sh(dir.path(), "echo before; kill -SEGV $$"), &mut || {}).unwrap();
    assert_eq!(o.exit, Exit::Signal(11));
    assert_eq!(o.exit.to_string(), "killed by signal 11 (SIGSEGV)");
    assert_eq!(o.stdout_tail, "before\n");
}

#[test]
fn cancel_flag_stops_the_run_and_ticks_are_called() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = Arc::new(AtomicBool::new(false));
    let mut s = sh(dir.path(), "sleep 100");
    s.cancel = Some(Arc::clone(&cancel));
    let mut ticks = 0;
    let started = Instant::now();
    let o = run(&s, &mut || {
        ticks += 1;
        if ticks == 3 {
            cancel.store(true, Ordering::SeqCst);
        }
    })
    .unwrap();
    assert_eq!(o.exit, Exit::Cancelled);
    assert!(ticks >= 3);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn missing_program_is_a_spawn_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = run(
        &spec(dir.path(), &["tether-no-such-program", "x"]),
        &mut || {},
    )
    .unwrap_err();
    assert!(
        matches!(err, ChildError::Spawn { ref program, .. } if program == "tether-no-such-program")
    );
    assert!(
        err.to_string()
            .starts_with("cannot start `tether-no-such-program`: "),
        "{err}"
    );
    let err = run(&spec(dir.path(), &[]), &mut || {}).unwrap_err();
    assert!(matches!(err, ChildError::EmptyCommand));
}

#[test]
fn exit_serializes() {
    let v = serde_json::to_value([Exit::Code(1), Exit::Signal(9), Exit::TimedOut]).unwrap();
    assert_eq!(
        v,
        serde_json::json!([
            {"kind": "code", "value": 1},
            {"kind": "signal", "value": 9},
            {"kind": "timed_out"}
        ])
    );
    let back: Exit = serde_json::from_value(serde_json::json!({"kind": "cancelled"})).unwrap();
    assert_eq!(back, Exit::Cancelled);
}
