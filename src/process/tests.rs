//! What tether adds around a child: command templates, and its Ctrl-C
//! handling's signal mask kept from the children (the runs themselves are
//! tested in `tether_shared::child`).

use std::collections::BTreeMap;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::*;

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn template_substitutes_inside_words() {
    let v = vars(&[
        ("python", "python3"),
        ("output_dir", "/tmp/my outputs/case a"),
        ("param.seed", "42"),
        ("case", "short"),
    ]);
    let argv = render_template(
        "{python} run.py --out {output_dir} --seed={param.seed} 'label {case}!' x{case}y",
        &v,
    )
    .unwrap();
    assert_eq!(
        argv,
        [
            "python3",
            "run.py",
            "--out",
            "/tmp/my outputs/case a",
            "--seed=42",
            "label short!",
            "xshorty"
        ]
    );
    // A substituted value is not substituted again.
    let argv = render_template("{a}", &vars(&[("a", "{b}"), ("b", "no")])).unwrap();
    assert_eq!(argv, ["{b}"]);
}

#[test]
fn template_errors() {
    let err = render_template("{python} {nope}", &vars(&[("python", "p")])).unwrap_err();
    assert!(matches!(err, ProcessError::UnknownPlaceholder { ref name, .. } if name == "nope"));
    assert_eq!(
        err.to_string(),
        "unknown placeholder `{nope}` in command template `{python} {nope}`"
    );
    let err = render_template("echo 'unclosed", &vars(&[])).unwrap_err();
    assert!(matches!(err, ProcessError::Split { .. }), "{err}");
}

#[test]
fn children_start_with_signals_unblocked() {
    // `install_interrupt_handler` blocks these signals in tether's threads;
    // children must still get SIGTERM at a timeout. Simulate it in a thread of
    // its own (the mask is per thread) with the handler's flag set.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let o = std::thread::spawn(move || {
        interrupt::signals().thread_block().unwrap();
        interrupt::INSTALLED.store(true, std::sync::atomic::Ordering::SeqCst);
        let spec = ProcessSpec {
            argv: ["grep", "SigBlk", "/proc/self/status"]
                .map(String::from)
                .to_vec(),
            cwd: d.clone(),
            env: Vec::new(),
            timeout: Duration::from_secs(30),
            grace: Duration::from_millis(500),
            stdout_path: d.join("logs/stdout.log"),
            stderr_path: d.join("logs/stderr.log"),
            max_log_bytes: 1024 * 1024,
            cancel: None,
        };
        let o = run(&spec, &mut || {}).unwrap();
        // This thread's own mask is back as it was.
        let mine = nix::sys::signal::SigSet::thread_get_mask().unwrap();
        assert!(mine.contains(Signal::SIGINT) && mine.contains(Signal::SIGTERM));
        o
    })
    .join()
    .unwrap();
    assert_eq!(o.exit, Exit::Code(0));
    assert_eq!(o.stdout_tail.trim(), "SigBlk:\t0000000000000000");
}
