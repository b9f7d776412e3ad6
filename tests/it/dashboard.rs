//! The dashboard of a real `tether watch` over loopback HTTP: `/` shows the
//! upstreams, the jobs and the trends and links to the run pages;
//! `/runs/<id>/` serves a real run's HTML report and its images with their
//! content types; every traversal (`..`, encoded, backslashes, absolute
//! paths, a symlink leading outside) is refused with 400 or 404 and nothing
//! outside the outputs and analysis dirs comes back; planted secrets never
//! reach the page.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use tether::config::JobKind;
use tether::daemon::ServiceState;
use tether::daemon::state::{FailureRecord, JobOutcome, JobState, UpstreamStatus};
use tether::state::StateDir;
use tether::upstream::{CommitInfo, HeldBack};

use crate::support::sample::{OK_BASELINE, Sample};
use crate::watch::{Watch, free_port, runs, sample, wait_for};

/// One answer: status code, head, body bytes.
struct Answer {
    code: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

/// `GET target` sent as is (no client-side normalisation) over HTTP/1.0.
fn fetch(port: u16, target: &str) -> Answer {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "GET {target} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Answer {
        code,
        head,
        body: raw[split + 4..].to_vec(),
    }
}

/// A real PNG of `w`×`h` grey pixels.
fn png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().unwrap();
    writer
        .write_image_data(&vec![128u8; (w * h) as usize])
        .unwrap();
    writer.finish().unwrap();
    out
}

fn commit(id: char) -> CommitInfo {
    CommitInfo {
        id: id.to_string().repeat(40),
        short: id.to_string().repeat(7),
        time: jiff::Timestamp::from_second(1_700_000_000).unwrap(),
        author: "A U Thor".into(),
        subject: "a commit".into(),
    }
}

/// The sample with a real baseline run recorded and a check job every
/// second, its upstream held back, and `tether watch` serving on a free
/// port once the first check ran: (sample, port, run id, service).
pub(crate) fn served() -> (Sample, u16, String, Watch) {
    let port = free_port();
    let s = sample(
        &format!(
            "{OK_BASELINE}\n[schedule]\ncheck = \"* * * * * *\"\n\n[service]\nlisten = \"127.0.0.1:{port}\"\n"
        ),
        &[],
    );
    s.tether().run(&["baseline", "run"]).assert_code(0);
    let run_dir = fs_err::read_dir(s.root.join("outputs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("baseline_report.html").is_file())
        .expect("a baseline run folder with its HTML report");
    let run_id = run_dir.file_name().unwrap().to_str().unwrap().to_owned();
    tether::upstream::held::save(
        &StateDir::new(s.root.join(".tether")),
        "sample",
        &HeldBack {
            at: commit('a'),
            first_bad: commit('b'),
            target: commit('c'),
            since: jiff::Timestamp::from_second(1_700_000_000).unwrap(),
            bisect_report: "outputs/bisect-x".into(),
            failures: Vec::new(),
            culprit_files: Vec::new(),
            last_retest: None,
            retests: 0,
        },
    )
    .unwrap();
    let w = Watch::start(&s.root);
    wait_for(Duration::from_secs(60), "the first check", || {
        runs(&s.root, "check") >= 1
    });
    wait_for(Duration::from_secs(30), "the status endpoint", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    (s, port, run_id, w)
}

#[test]
fn the_dashboard_and_run_pages_are_served_and_traversal_is_refused() {
    let (s, port, id, _w) = served();
    let outputs = s.root.join("outputs");
    let images = outputs.join(&id).join("html");
    fs_err::create_dir_all(&images).unwrap();
    let picture = png(6, 4);
    fs_err::write(images.join("frame.png"), &picture).unwrap();
    fs_err::write(
        images.join("plot.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"2\" height=\"2\"/>",
    )
    .unwrap();
    // things outside the served dirs, one reachable by a symlink inside
    let outside = s.root.join("outside-secret.png");
    fs_err::write(&outside, b"OUTSIDE-BYTES").unwrap();
    std::os::unix::fs::symlink(&outside, images.join("link.png")).unwrap();
    std::os::unix::fs::symlink(&s.root, outputs.join("escape")).unwrap();

    let home = fetch(port, "/");
    assert_eq!(home.code, 200, "{}", home.text());
    assert_eq!(
        home.header("content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
    let page = home.text();
    for want in [
        "<td><code>sample</code></td>",
        "held at <code>aaaaaaaaaaaa</code>",
        "first bad <code>bbbbbbbbbbbb</code>",
        "<td>check</td>",
        &format!("<a href=\"/runs/{id}/\">"),
        "Baseline trends",
        "<svg",
    ] {
        assert!(page.contains(want), "no `{want}` on the dashboard:\n{page}");
    }
    assert!(page.contains("<span class=\"good\">ok</span>"), "{page}");

    let moved = fetch(port, &format!("/runs/{id}"));
    assert_eq!(moved.code, 308);
    assert_eq!(moved.header("location"), Some(format!("/runs/{id}/")));
    let report = fetch(port, &format!("/runs/{id}/"));
    assert_eq!(report.code, 200, "{}", report.text());
    assert!(
        report.text().contains("Baseline report"),
        "{}",
        report.text()
    );
    assert_eq!(
        report.text(),
        fs_err::read_to_string(outputs.join(&id).join("baseline_report.html")).unwrap()
    );
    let image = fetch(port, &format!("/runs/{id}/html/frame.png"));
    assert_eq!(image.code, 200);
    assert_eq!(image.header("content-type").as_deref(), Some("image/png"));
    assert_eq!(image.body, picture);
    let svg = fetch(port, &format!("/runs/{id}/html/plot.svg"));
    assert_eq!(
        (svg.code, svg.header("content-type").as_deref()),
        (200, Some("image/svg+xml"))
    );

    for target in [
        "/runs/../../etc/passwd".to_owned(),
        "/runs/../../../../../../etc/passwd".into(),
        "/runs/%2e%2e/%2e%2e/etc/passwd".into(),
        "/runs/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd".into(),
        "/runs/..%2f..%2f..%2fetc%2fpasswd".into(),
        "/runs/..%5c..%5cetc%5cpasswd".into(),
        "/runs/..\\..\\etc\\passwd".into(),
        "/runs//etc/passwd".into(),
        "/runs/%2fetc%2fpasswd".into(),
        "/runs/%252e%252e/etc/passwd".into(),
        "/analysis/../../etc/passwd".into(),
        "/analysis/%2e%2e/%2e%2e/etc/passwd".into(),
        format!("/runs/{id}/../../outside-secret.png"),
        format!("/runs/{id}/%2e%2e/%2e%2e/outside-secret.png"),
        format!("/runs/{id}/html/link.png"),
        "/runs/escape/outside-secret.png".into(),
        "/runs/escape/".into(),
        format!("/runs/{id}/results.json"),
        format!("/runs/{}/", s.root.display()),
    ] {
        let a = fetch(port, &target);
        assert!(
            a.code == 400 || a.code == 404,
            "{target} answered {}:\n{}",
            a.code,
            a.text()
        );
        let text = a.text();
        assert!(
            !text.contains("root:") && !text.contains("OUTSIDE-BYTES") && !text.contains("run_id"),
            "{target} returned what is outside:\n{text}"
        );
    }

    // the JSON routes are as they were
    let status = fetch(port, "/status");
    assert_eq!(status.code, 200);
    let v: serde_json::Value = serde_json::from_slice(&status.body).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["state", "config", "healthy"]);
    assert_eq!(fetch(port, "/healthz").text(), "ok\n");
}

/// Secrets as a job error, an update verdict, a failure and a hand-written
/// run page hold them (the formats `secrets.rs` plants in logs).
const PLANTED: [(&str, &str); 4] = [
    ("hf_", "PlantedHfToken123456"),
    ("sk-", "plantedOpenAiKey7890"),
    ("token=", "plantedTokenValue42"),
    ("password=", "plantedPw99xyz"),
];

#[test]
fn planted_secrets_never_reach_the_dashboard_or_a_run_page() {
    let port = free_port();
    let s = sample(
        &format!(
            "\n[schedule]\ncheck = \"0 0 0 1 1 *\"\n\n[service]\nlisten = \"127.0.0.1:{port}\"\n"
        ),
        &[],
    );
    let said = |i: usize| format!("{}{}", PLANTED[i].0, PLANTED[i].1);
    let mut state = ServiceState::default();
    state.jobs.insert(
        JobKind::Check,
        JobState {
            schedule: "0 0 0 1 1 *".into(),
            last_outcome: Some(JobOutcome::Failed),
            last_error: Some(format!("fetch failed: {}", said(0))),
            last_run_id: Some("planted".into()),
            ..JobState::default()
        },
    );
    state.upstreams.insert(
        "sample".into(),
        UpstreamStatus {
            last_verdict: Some(format!("failed: key {}", said(1))),
            ..UpstreamStatus::default()
        },
    );
    state.recent_failures.push(FailureRecord {
        at: jiff::Timestamp::from_second(1_700_000_000).unwrap(),
        job: JobKind::Check,
        run_id: "planted".into(),
        error: format!("401 with {}", said(2)),
    });
    let path = s.root.join(".tether/service/state.json");
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    state.save(&path).unwrap();
    // a page tether did not write (by hand, or an older version)
    let run = s.root.join("outputs/planted");
    fs_err::create_dir_all(&run).unwrap();
    fs_err::write(
        run.join("update_report.html"),
        format!(
            "<!DOCTYPE html><html><body><p>{} and {}</p></body></html>",
            said(3),
            said(0)
        ),
    )
    .unwrap();

    let _w = Watch::start(&s.root);
    wait_for(Duration::from_secs(30), "the status endpoint", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let home = fetch(port, "/");
    let page = fetch(port, "/runs/planted/");
    assert_eq!((home.code, page.code), (200, 200), "{}", home.text());
    for (what, text) in [("/", home.text()), ("/runs/planted/", page.text())] {
        for (_, secret) in PLANTED {
            assert!(!text.contains(secret), "{what} shows `{secret}`:\n{text}");
        }
        assert!(text.contains("[REDACTED]"), "{what}:\n{text}");
    }
    // what is around the secrets is still there
    for around in ["fetch failed: ", "failed: key ", "401 with "] {
        assert!(home.text().contains(around), "{}", home.text());
    }
    assert!(
        home.text().contains("<a href=\"/runs/planted/\">"),
        "{}",
        home.text()
    );
}
