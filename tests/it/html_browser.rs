//! The HTML update report in a real browser: the demo's live wrapper gets
//! its baseline references recorded, the demo's update runs against them,
//! and headless Chromium (installed from the distribution's packages by
//! `scripts/setup.sh --browser`) opens `update_report.html` from `file://`.
//! A probe page of the test's own (the report carries no script) frames the
//! report and lists every image with whether it decoded and its size, and
//! counts the plots' SVG. A screenshot of the page is kept in the test
//! output folder for people to look at. The same for the dashboard a real
//! `tether watch` serves over loopback, loaded from its URL.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::files_under;
use crate::support::tether::Tether;

/// Lists the framed report's images (`IMG src ok|FAILED WxH`, with the
/// size the page gives it), its SVG, and any external script or stylesheet.
const PROBE: &str = r#"<!DOCTYPE html><html><body><pre id="result">pending</pre>
<iframe id="f" src="update_report.html" width="1280" height="900"></iframe>
<script>
document.getElementById('f').addEventListener('load', function () {
  var d = this.contentDocument, out = [];
  if (!d) { out.push('NO ACCESS'); } else {
    d.querySelectorAll('img').forEach(function (i) {
      var ok = i.complete && i.naturalWidth > 0;
      out.push('IMG ' + i.getAttribute('src') + ' ' + (ok ? 'ok' : 'FAILED') + ' ' +
        i.naturalWidth + 'x' + i.naturalHeight + ' ' + i.getAttribute('width') + 'x' + i.getAttribute('height'));
    });
    out.push('SVG ' + d.querySelectorAll('svg').length);
    out.push('EXTERNAL ' + d.querySelectorAll('script, link[href], iframe').length);
  }
  document.getElementById('result').textContent = out.join('\n');
});
</script></body></html>"#;

fn chromium() -> &'static str {
    for name in ["chromium", "chromium-browser"] {
        if Command::new(name).arg("--version").output().is_ok() {
            return name;
        }
    }
    panic!("no Chromium: `scripts/setup.sh --browser` installs it (`apt-get install chromium`)");
}

fn headless(page: &Path, extra: &[&str]) -> String {
    headless_url(&format!("file://{}", page.display()), extra)
}

fn headless_url(url: &str, extra: &[&str]) -> String {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--allow-file-access-from-files",
            "--virtual-time-budget=10000",
            "--window-size=1280,3000",
        ])
        .args(extra)
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn demo_update_report_renders_from_file_with_its_frames_and_plots() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = tether::demo::create(&tmp.path().join("demo"), "python3").unwrap();
    let tether = Tether::new(&demo.root);
    tether.run(&["baseline", "record"]).assert_code(0);
    tether.run(&["update"]).assert_code(0);
    let page: PathBuf = files_under(&demo.root)
        .into_iter()
        .find(|p| p.ends_with("update_report.html"))
        .expect("an update_report.html");
    let dir = page.parent().unwrap();
    fs_err::write(dir.join("probe.html"), PROBE).unwrap();
    let dom = headless(&dir.join("probe.html"), &["--dump-dom"]);
    let result = dom
        .split("<pre id=\"result\">")
        .nth(1)
        .and_then(|r| r.split("</pre>").next())
        .expect("the probe's result")
        .to_owned();
    let lines: Vec<&str> = result.lines().collect();
    let images: Vec<&&str> = lines.iter().filter(|l| l.starts_with("IMG ")).collect();
    assert!(!images.is_empty(), "no frames side by side:\n{result}");
    for l in &images {
        let f: Vec<&str> = l.split(' ').collect();
        assert_eq!(f[2], "ok", "an image did not load:\n{result}");
        assert_eq!(f[3], f[4], "an image's size is not the page's:\n{result}");
    }
    let svg: usize = lines
        .iter()
        .find_map(|l| l.strip_prefix("SVG "))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    // t2v_short keeps its settings through the fixes, so it is compared
    // with its reference: its SSIM plot and the reference and difference
    // images are there (its frames are identical: no PSNR to plot)
    assert!(svg >= 1, "no SSIM plot:\n{result}");
    for kind in ["-ref.png ok", "-new.png ok", "-diff.png ok"] {
        assert!(
            images.iter().any(|l| l.contains(kind)),
            "no `{kind}`:\n{result}"
        );
    }
    assert!(lines.contains(&"EXTERNAL 0"), "{result}");

    // one screenshot for people to look at
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html-report");
    fs_err::create_dir_all(&shots).unwrap();
    let shot = shots.join("update_report.png");
    headless(&page, &[&format!("--screenshot={}", shot.display())]);
    assert!(fs_err::read(&shot).unwrap().starts_with(b"\x89PNG"));
}

/// Frames the dashboard (same origin: the probe is served as a page of a
/// run) and lists its plots, its links to run pages, its tables and any
/// external resource.
const DASHBOARD_PROBE: &str = r#"<!DOCTYPE html><html><body><pre id="result">pending</pre>
<iframe id="f" src="/" width="1280" height="900"></iframe>
<script>
document.getElementById('f').addEventListener('load', function () {
  var d = this.contentDocument, out = [];
  if (!d) { out.push('NO ACCESS'); } else {
    out.push('TITLE ' + d.title);
    out.push('SVG ' + d.querySelectorAll('svg').length);
    out.push('TABLES ' + d.querySelectorAll('table').length);
    d.querySelectorAll('a[href^="/runs/"]').forEach(function (a) { out.push('LINK ' + a.getAttribute('href')); });
    out.push('EXTERNAL ' + d.querySelectorAll('script, link[href], iframe, img').length);
  }
  document.getElementById('result').textContent = out.join('\n');
});
</script></body></html>"#;

#[test]
fn the_served_dashboard_renders_with_its_tables_plots_and_links() {
    let (s, port, id, _w) = crate::dashboard::served();
    let probe = s.root.join("outputs").join(&id).join("probe.html");
    fs_err::write(&probe, DASHBOARD_PROBE).unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let dom = headless_url(&format!("{base}/runs/{id}/probe.html"), &["--dump-dom"]);
    let result = dom
        .split("<pre id=\"result\">")
        .nth(1)
        .and_then(|r| r.split("</pre>").next())
        .expect("the probe's result")
        .to_owned();
    let lines: Vec<&str> = result.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with("TITLE tether: sample")),
        "{result}"
    );
    let count = |key: &str| -> usize {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    // upstreams, jobs and recent reports; the duration trend of the run
    assert!(count("TABLES ") >= 3, "{result}");
    assert!(count("SVG ") >= 1, "no trend plot:\n{result}");
    assert!(
        lines.contains(&format!("LINK /runs/{id}/").as_str()),
        "no link to the run's page:\n{result}"
    );
    assert!(lines.contains(&"EXTERNAL 0"), "{result}");

    // one screenshot for people to look at
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html-report");
    fs_err::create_dir_all(&shots).unwrap();
    let shot = shots.join("dashboard.png");
    headless_url(
        &format!("{base}/"),
        &[&format!("--screenshot={}", shot.display())],
    );
    assert!(fs_err::read(&shot).unwrap().starts_with(b"\x89PNG"));
}
