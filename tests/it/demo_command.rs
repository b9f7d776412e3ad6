//! `tether demo` end to end with the real binary: it records the live
//! wrapper's baseline references before it updates, so the update report
//! compares the staged runs with them and its HTML page shows frames side by
//! side and SSIM plots; what it says to read names the HTML report.

use crate::support::{Tether, update_dirs};

#[test]
fn demo_records_references_first_so_its_html_report_has_frames_and_plots() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = Tether::new(tmp.path()).run(&[
        "demo",
        "--dir",
        dir.to_str().unwrap(),
        "--python",
        "python3",
    ]);
    out.assert_code(0);
    let stdout = &out.stdout;
    let pos = |needle: &str| {
        stdout
            .find(needle)
            .unwrap_or_else(|| panic!("no `{needle}` in:\n{stdout}"))
    };
    assert!(
        pos("recording the live wrapper's baseline references")
            < pos("running `tether update` on it"),
        "{stdout}"
    );
    assert!(pos("recorded ") < pos("demo: promoted "), "{stdout}");

    let report = update_dirs(&dir)
        .into_iter()
        .next()
        .expect("an update folder");
    let page_path = report.join("update_report.html");
    let what_to_read = &stdout[pos("what to read:")..];
    assert!(
        what_to_read.contains(&page_path.display().to_string()),
        "{stdout}"
    );

    // compared with the references, not "no reference" for every case
    let update: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(report.join("update.json")).unwrap()).unwrap();
    let verdicts: Vec<&str> = update["comparisons"]
        .as_array()
        .expect("comparisons")
        .iter()
        .map(|c| c["verdict"].as_str().unwrap())
        .collect();
    assert!(verdicts.contains(&"pass"), "{verdicts:?}");

    // frame thumbnails (reference, new, difference) that exist, and the
    // SSIM plot
    let page = fs_err::read_to_string(&page_path).unwrap();
    for kind in ["-ref.png", "-new.png", "-diff.png"] {
        assert!(page.contains(kind), "no `{kind}` thumbnail in {page}");
    }
    let srcs: Vec<&str> = page
        .split("src=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    assert!(!srcs.is_empty());
    for src in srcs {
        assert!(
            report.join(src).is_file(),
            "{src} is not in {}",
            report.display()
        );
    }
    assert!(page.contains("SSIM per frame"), "{page}");
    assert!(page.contains("<svg"), "no SSIM plot");
}
