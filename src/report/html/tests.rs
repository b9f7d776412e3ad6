//! Tests of the HTML pages on fixed models: a snapshot of the update page
//! (temp paths and the plots' SVG filtered), hostile text escaped, stored
//! frames turned into thumbnails, a missing frames file named, and the
//! pages written and redacted by `document::write`.

use std::path::{Path, PathBuf};

use serde_json::Map;

use super::frames::encode;
use crate::baseline::{
    BaselineRun, CaseComparison, CaseResult, CaseStatus, Comparison, HardwareKey, OutputQuality,
    ReferenceVerdict,
};
use crate::gpu::VramPeak;
use crate::pipeline::{UpdateOutcome, UpdateReport};
use crate::protocol::{AnalyzeReport, Quality};
use crate::upstream::CommitInfo;

const T: usize = 6;
const W: usize = 8;
const H: usize = 4;

fn time(s: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_750_000_000 + s).unwrap()
}

fn commit(short: &str, subject: &str) -> CommitInfo {
    CommitInfo {
        id: format!("{short}{}", "0".repeat(40 - short.len())),
        short: short.into(),
        time: time(0),
        author: "Ada".into(),
        subject: subject.into(),
    }
}

/// Stored frames of `T` frames, each a grey level plus `shift`.
fn write_frames(path: &Path, shift: u8) {
    let data: Vec<u8> = (0..T * 3 * H * W)
        .map(|i| ((i / (3 * H * W)) as u8 * 20).wrapping_add(shift))
        .collect();
    fs_err::write(path, encode(T, W, H, &data)).unwrap();
}

fn case(dir: &Path, frames_file: PathBuf) -> CaseResult {
    let ssim = vec![0.99, 0.98, 0.97, 0.62, 0.95, 0.99];
    CaseResult {
        name: "t2v-small".into(),
        model: "wan".into(),
        params: Map::new(),
        settings_hash: "0123456789abcdef".into(),
        status: CaseStatus::Passed,
        exit: None,
        duration_s: 12.5,
        peak_vram: VramPeak::Peak {
            bytes: 3 << 30,
            device: "GPU 0".into(),
        },
        outputs: Vec::new(),
        error: None,
        stdout_tail: String::new(),
        stderr_tail: String::new(),
        log_dir: dir.to_path_buf(),
        log_truncated: false,
        stray_writes: Vec::new(),
        quality: vec![OutputQuality {
            path: "out.mp4".into(),
            frames_file: Some(frames_file),
            report: Some(AnalyzeReport {
                output: dir.join("out.mp4"),
                frames: T as u32,
                width: 64,
                height: 32,
                fps: Some(16.0),
                findings: Vec::new(),
                stats: serde_json::from_value(serde_json::json!({
                    "mean_flicker": 0.0, "max_flicker": 0.0, "mean_luma": 0.5
                }))
                .unwrap(),
                stored_width: W as u32,
                stored_height: H as u32,
                quality: Some(Quality {
                    frames_compared: T as u32,
                    reference_frames: T as u32,
                    size: [W as u32, H as u32],
                    reference_size: [W as u32, H as u32],
                    mismatch: None,
                    psnr_db: ssim.iter().map(|s| Some(40.0 * s)).collect(),
                    mean_ssim: Some(0.9166),
                    min_ssim: Some(0.62),
                    mean_psnr_db: Some(36.0),
                    min_psnr_db: Some(24.8),
                    ssim,
                }),
                device: "cpu".into(),
                duration_s: 0.1,
            }),
            error: None,
        }],
        thresholds: crate::config::Thresholds::default(),
        canary: None,
        job_failure: None,
        target: None,
        hardware: None,
    }
}

/// An update whose final run has one case with stored frames and a
/// reference (with its own stored frames) under `dir`.
fn update(dir: &Path, subject: &str) -> UpdateReport {
    let frames = dir.join("new.safetensors");
    write_frames(&frames, 0);
    write_frames(&dir.join("ref.safetensors"), 9);
    let c = case(dir, frames);
    let reference = serde_json::json!({
        "format_version": 1,
        "case": c.name, "model": c.model, "params": {}, "settings_hash": c.settings_hash,
        "hardware": HardwareKey::cpu(), "recorded_at": time(0), "run_id": "r0",
        "status": "passed", "duration_s": 10.0, "peak_vram": c.peak_vram, "outputs": [],
        "quality": [{"path": "out.mp4", "frames_file": "ref.safetensors", "frames": T,
                     "width": 64, "height": 32, "fps": 16.0, "stored": [W, H]}],
    });
    let reference_json = dir.join("reference.json");
    fs_err::write(&reference_json, reference.to_string()).unwrap();
    let mut r = UpdateReport::new("wan2gp");
    r.id = Some("update-1".into());
    r.outcome = UpdateOutcome::DryRun;
    r.from = Some(commit("aaaaaaa", "old"));
    r.to = Some(commit("bbbbbbb", subject));
    r.commits = 3;
    r.started = time(0);
    r.finished = time(60);
    r.final_run = Some(BaselineRun {
        run_id: "run-1".into(),
        tree: dir.to_path_buf(),
        started: time(1),
        finished: time(59),
        hardware: HardwareKey::cpu(),
        vram_available: true,
        preflight: None,
        ran_on: None,
        cases: vec![c],
    });
    r.comparisons = vec![CaseComparison {
        target: None,
        case: "t2v-small".into(),
        settings_hash: "0123456789abcdef".into(),
        hardware: "cpu".into(),
        verdict: ReferenceVerdict::Regressed,
        comparison: Comparison::Compared {
            reference: reference_json,
            duration_ratio: 1.25,
            vram_ratio: Some(1.0),
            status_changed: false,
            regressions: vec!["mean SSIM 0.9166 below 0.95".into()],
            quality: Vec::new(),
        },
    }];
    r
}

fn filtered(text: &str, dir: &Path) -> String {
    let svg = regex::Regex::new(r"(?s)<svg.*?</svg>").unwrap();
    let text = svg.replace_all(text, "[SVG]");
    text.replace(&dir.display().to_string(), "[DIR]")
        .replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
        .replace("><", ">\n<")
}

#[test]
fn update_page_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let page = super::update_page(&update(dir.path(), "Fix the sampler"));
    insta::assert_snapshot!("update_page", filtered(&page.text, dir.path()));
}

#[test]
fn update_page_has_plots_and_frames_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let page = super::update_page(&update(dir.path(), "s"));
    assert_eq!(page.text.matches("<svg").count(), 2, "SSIM and PSNR plots");
    // frames 0, 1, 3 (the lowest SSIM), 5: reference, new and difference each
    assert_eq!(page.assets.len(), 12);
    for a in &page.assets {
        assert!(a.bytes.starts_with(b"\x89PNG"), "{}", a.name);
        assert!(
            page.text.contains(&format!("src=\"{}\"", a.name)),
            "{}",
            a.name
        );
    }
    assert!(page.text.contains("frame 3, SSIM 0.6200"), "{}", page.text);
}

#[test]
fn hostile_text_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let page = super::update_page(&update(dir.path(), "<script>alert(1)</script>"));
    assert!(!page.text.contains("<script>"), "{}", page.text);
    assert!(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[test]
fn a_missing_or_corrupt_frames_file_is_named_and_the_rest_renders() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = update(dir.path(), "s");
    fs_err::remove_file(dir.path().join("new.safetensors")).unwrap();
    fs_err::write(dir.path().join("ref.safetensors"), b"not frames").unwrap();
    let page = super::update_page(&r);
    assert!(page.text.contains("new.safetensors"), "{}", page.text);
    assert!(page.text.contains("unusable"), "{}", page.text);
    assert_eq!(
        page.text.matches("<svg").count(),
        2,
        "the plots still render"
    );
    write_frames(&dir.path().join("new.safetensors"), 0);
    let page = super::update_page(&r);
    assert!(page.text.contains("No reference frames"), "{}", page.text);
    assert!(page.text.contains("ref.safetensors"), "{}", page.text);
    assert_eq!(page.assets.len(), 4, "the new frames alone");
    r.final_run = None;
    assert!(super::update_page(&r).assets.is_empty());
}

#[test]
fn frozen_black_and_flicker_findings_show_the_frames_that_prove_them() {
    use crate::media::{Finding, FindingKind, Severity};
    let dir = tempfile::tempdir().unwrap();
    let mut r = update(dir.path(), "s");
    let finding = |kind, message: &str, frames: Vec<u32>| Finding {
        kind,
        severity: Severity::Warn,
        message: message.into(),
        frames,
    };
    let run = r.final_run.as_mut().unwrap();
    run.cases[0].quality[0].report.as_mut().unwrap().findings = vec![
        finding(FindingKind::FrozenFrames, "frozen at 2 -> 3", vec![2, 3]),
        finding(FindingKind::Flicker, "flicker between 4 and 5", vec![4, 5]),
        finding(FindingKind::AllBlack, "black", vec![9]),
        finding(FindingKind::Fps, "fps", vec![]),
    ];
    let page = super::update_page(&r);
    let text = &page.text;
    let item = |needle: &str| -> String {
        let at = text
            .find(needle)
            .unwrap_or_else(|| panic!("{needle}:\n{text}"));
        text[at..at + text[at..].find("</li>").unwrap()].to_owned()
    };
    for (message, frames) in [("frozen at 2", [2, 3]), ("flicker between", [4, 5])] {
        let li = item(message);
        for i in frames {
            let src = format!("src=\"html/final-t2v-small-0-f{i}-new.png\"");
            assert!(li.contains(&src), "{src} in {li}");
            assert!(
                page.assets
                    .iter()
                    .any(|a| format!("src=\"{}\"", a.name) == src)
            );
        }
    }
    assert!(item("black").contains("frame 9: not among the 6 stored frames"));
    assert!(!item("fps").contains("<img"));
    // frames 0, 1, 3, 5 side by side (12 images) plus 2 and 4 of the
    // findings; 3 and 5 are written once
    assert_eq!(page.assets.len(), 14);

    // unreadable stored frames: the findings still read, without images
    fs_err::write(dir.path().join("new.safetensors"), b"garbage").unwrap();
    let page = super::update_page(&r);
    assert!(page.text.contains("frozen at 2 -&gt; 3"), "{}", page.text);
    assert!(page.assets.is_empty());
}

#[test]
fn write_puts_the_page_and_its_images_in_the_folder_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let mut r = update(dir.path(), "subject");
    r.notes = vec!["Authorization: Bearer abcdef0123456789".into()];
    crate::document::write(&out, &r).unwrap();
    let text = fs_err::read_to_string(out.join("update_report.html")).unwrap();
    assert!(!text.contains("abcdef0123456789"));
    assert!(text.contains("Authorization: [REDACTED]"));
    assert!(
        text.trim_end().ends_with("</html>"),
        "the markup after the secret stays"
    );
    assert!(out.join("html/final-t2v-small-0-f3-diff.png").is_file());
}

#[test]
fn a_thousand_runs_of_history_plot_the_newest_and_skip_the_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let r = update(dir.path(), "s");
    let run = r.final_run.unwrap();
    let outputs = dir.path().join("outputs");
    for i in 0..1000 {
        let mut old = run.clone();
        old.run_id = format!("run-{i:04}");
        old.started = time(i);
        old.cases[0].duration_s = 10.0 + (i % 7) as f64;
        let d = outputs.join(&old.run_id);
        fs_err::create_dir_all(&d).unwrap();
        fs_err::write(d.join("results.json"), serde_json::to_string(&old).unwrap()).unwrap();
    }
    let bad = outputs.join("run-old");
    fs_err::create_dir_all(&bad).unwrap();
    fs_err::write(bad.join("results.json"), "{\"format\": 0}").unwrap();
    let started = std::time::Instant::now();
    let page = super::baseline_page(&run, &r.comparisons, Some(&outputs));
    eprintln!("baseline page over 1,001 runs: {:?}", started.elapsed());
    assert!(page.text.contains("1001 run(s) recorded"), "{}", page.text);
    assert!(page.text.contains("the plots show the newest 200"));
    assert!(
        page.text
            .contains("1 results.json file(s) could not be read")
    );
    // the run's SSIM and PSNR, then the case's three trends
    assert_eq!(page.text.matches("<svg").count(), 5);
    assert!(page.text.contains("duration limit"), "the limit is drawn");
    assert!(page.text.contains("min mean SSIM"));
}

#[test]
fn a_run_folder_from_an_older_version_renders_with_what_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let r = update(dir.path(), "s");
    let run = r.final_run.unwrap();
    // results.json as written before the run's preflight and tree kind, the
    // case's stray writes, output quality, thresholds and canary, and the
    // findings' frames existed
    let mut old = serde_json::to_value(&run).unwrap();
    old["run_id"] = "run-0".into();
    old["started"] = serde_json::to_value(time(-100)).unwrap();
    let o = old.as_object_mut().unwrap();
    o.remove("preflight");
    o.remove("ran_on");
    for c in o["cases"].as_array_mut().unwrap() {
        let c = c.as_object_mut().unwrap();
        for key in ["stray_writes", "quality", "thresholds", "canary"] {
            assert!(c.remove(key).is_some() || key == "canary", "{key}");
        }
    }
    let outputs = dir.path().join("outputs");
    fs_err::create_dir_all(outputs.join("run-0")).unwrap();
    let text = serde_json::to_string(&old).unwrap();
    fs_err::write(outputs.join("run-0/results.json"), &text).unwrap();

    // the old run as the page's own run
    let old_run: BaselineRun = serde_json::from_str(&text).unwrap();
    let page = super::baseline_page(&old_run, &[], Some(&outputs));
    assert!(page.text.contains("t2v-small"), "{}", page.text);
    assert!(page.text.contains("12.5s"), "{}", page.text);
    assert!(page.text.contains("1 run(s) recorded"), "{}", page.text);

    // the old run in the history of a new one
    let page = super::baseline_page(&run, &r.comparisons, Some(&outputs));
    assert!(page.text.contains("2 run(s) recorded."), "{}", page.text);
    assert!(!page.text.contains("could not be read"), "{}", page.text);
}

mod analysis_page {
    use crate::analysis::diff::{KeyFileDiff, TreeDiff};
    use crate::analysis::model::{Analysis, Integration};
    use crate::analysis::python::{
        DefSummary, IntegrationPoint, PointFinding, PointKind, PointSeverity, Status,
    };

    fn finding(severity: PointSeverity, line: usize, message: &str) -> PointFinding {
        let def = |signature: &str| DefSummary {
            module: "wgp".into(),
            name: "generate_video".into(),
            kind: "function".into(),
            line: 10,
            signature: signature.into(),
        };
        PointFinding {
            point: IntegrationPoint {
                file: "app.py".into(),
                line,
                kind: PointKind::Call,
                target: "wgp.generate_video".into(),
                keywords: vec!["video_length".into()],
                positional_args: 0,
                star_args: false,
                star_kwargs: false,
                snippet: "wgp.generate_video(video_length=81)".into(),
            },
            status: Status::Unchanged,
            severity,
            message: message.into(),
            old: Some(def("generate_video(video_length=81)")),
            new: Some(def("generate_video(frame_num=81)")),
        }
    }

    fn analysis() -> Analysis {
        Analysis {
            upstream: "wan2gp".into(),
            wrapper: "studio".into(),
            generated_at: super::time(0),
            from: super::commit("aaaaaaa", "old"),
            to: super::commit("bbbbbbb", "<script>alert(1)</script>"),
            commits: Vec::new(),
            diff: TreeDiff {
                files: Vec::new(),
                key_diffs: vec![KeyFileDiff {
                    path: "wgp.py".into(),
                    old_path: None,
                    unified: "--- a/wgp.py\n+++ b/wgp.py\n@@ -1 +1 @@\n-def generate_video(video_length=81):\n+def generate_video(frame_num=81):  # <b>\n".into(),
                    truncated: false,
                    skipped: None,
                }],
                totals: Default::default(),
                unreadable: Vec::new(),
            },
            requirements: Vec::new(),
            configs: Vec::new(),
            local_patch: None,
            integration: Integration {
                scanned_files: Vec::new(),
                api_modules: Vec::new(),
                findings: vec![
                    finding(PointSeverity::AtRisk, 7, "a default changed"),
                    finding(PointSeverity::Breaking, 3, "keyword `video_length` removed"),
                ],
                counts: Default::default(),
                omitted: Vec::new(),
                partial: Vec::new(),
                untied_key_reads: 0,
            },
            workflows: None,
            checklist: Vec::new(),
            notes: Vec::new(),
            truncated: None,
            report_limit: 1 << 20,
        }
    }

    #[test]
    fn findings_by_severity_with_signatures_and_the_key_diff_marked() {
        let page = super::super::analysis_page(&analysis()).text;
        let breaking = page.find("Breaking (1)").expect("a Breaking group");
        let at_risk = page.find("At risk (1)").expect("an At risk group");
        assert!(breaking < at_risk, "breaking first");
        assert!(page.contains("app.py:3"));
        assert!(page.contains("wgp.generate_video(video_length=81)"));
        assert!(page.contains("generate_video(frame_num=81)"));
        assert!(page.contains("<span class=\"del\">-def generate_video(video_length=81):</span>"));
        assert!(page.contains(
            "<span class=\"add\">+def generate_video(frame_num=81):  # &lt;b&gt;</span>"
        ));
        assert!(
            page.contains("<details open><summary><code>wgp.py</code>"),
            "{page}"
        );
        assert!(!page.contains("<script>"), "{page}");
        assert!(!page.contains("<b>"), "{page}");
    }

    #[test]
    fn analysis_page_snapshot() {
        let page = super::super::analysis_page(&analysis()).text;
        let dir = tempfile::tempdir().unwrap();
        insta::assert_snapshot!("analysis_page", super::filtered(&page, dir.path()));
    }
}
