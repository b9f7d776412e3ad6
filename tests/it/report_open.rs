//! `tether report open [RUN] [--browser]` with the real binary: the newest
//! HTML report's path, a run's by id or folder, a clear error and its exit
//! code when there is none, and `--browser` through `$BROWSER` (a real
//! script standing in for a browser) or a clear error when none starts.

use std::os::unix::fs::PermissionsExt;

use crate::support::sample::OK_BASELINE;
use crate::watch::sample;

/// `report open`'s exit code when there is no report (`exit::NO_REPORT`).
const NO_REPORT: i32 = 18;

#[test]
fn report_open_prints_the_newest_page_or_says_there_is_none() {
    let s = sample(OK_BASELINE, &[]);
    let none = s.tether().run(&["report", "open"]);
    none.assert_code(NO_REPORT);
    assert!(
        none.stderr.contains("no HTML report yet"),
        "{}",
        none.stderr
    );
    assert!(none.stdout.is_empty(), "{}", none.stdout);

    s.tether().run(&["baseline", "run"]).assert_code(0);
    let out = s.tether().run(&["report", "open"]);
    out.assert_code(0);
    let page = std::path::PathBuf::from(out.stdout.trim_end());
    assert!(page.is_absolute() && page.is_file(), "{}", out.stdout);
    assert!(page.ends_with("baseline_report.html"), "{}", out.stdout);
    let dir = page.parent().unwrap();
    let id = dir.file_name().unwrap().to_str().unwrap();

    // by run id, and by folder (which needs no config)
    let by_id = s.tether().run(&["report", "open", id]);
    by_id.assert_code(0);
    assert_eq!(by_id.stdout, out.stdout);
    let elsewhere = crate::support::tether::Tether::new(std::env::temp_dir());
    let by_dir = elsewhere.run(&["report", "open", dir.to_str().unwrap()]);
    by_dir.assert_code(0);
    assert_eq!(by_dir.stdout, out.stdout);

    let missing = s.tether().run(&["report", "open", "no-such-run"]);
    missing.assert_code(NO_REPORT);
    assert!(
        missing.stderr.contains("no run `no-such-run`"),
        "{}",
        missing.stderr
    );
    // a run folder without a page (from before HTML reports)
    fs_err::create_dir_all(s.root.join("outputs/old-run")).unwrap();
    let bare = s.tether().run(&["report", "open", "old-run"]);
    bare.assert_code(NO_REPORT);
    assert!(
        bare.stderr.contains("has no HTML report"),
        "{}",
        bare.stderr
    );
}

#[test]
fn report_open_browser_starts_browser_or_says_why_not() {
    let s = sample(OK_BASELINE, &[]);
    s.tether().run(&["baseline", "run"]).assert_code(0);
    let opened = s.root.join("opened.txt");
    let browser = s.root.join("fake-browser");
    fs_err::write(
        &browser,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", opened.display()),
    )
    .unwrap();
    fs_err::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();

    // the first command of $BROWSER that starts wins
    let out = s
        .tether()
        .cmd()
        .args(["report", "open", "--browser"])
        .env(
            "BROWSER",
            format!("/nonexistent/browser:{}", browser.display()),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fs_err::read_to_string(&opened).unwrap(), stdout.trim_end());

    // nothing starts: a clear error naming what was tried, the path still printed
    let out = s
        .tether()
        .cmd()
        .args(["report", "open", "--browser"])
        .env("BROWSER", "/nonexistent/browser")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot open the report in a browser with $BROWSER")
            && stderr.contains("/nonexistent/browser"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).ends_with(".html\n"));
    // no $BROWSER and no xdg-open on PATH
    let out = s
        .tether()
        .cmd()
        .args(["report", "open", "--browser"])
        .env_remove("BROWSER")
        .env("PATH", s.root.join("empty-path"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("xdg-open ($BROWSER is not set)"),
        "{stderr}"
    );
}
