//! The worker as tether runs it: a child process that reads a request file
//! and writes its response to `--out`, whatever goes wrong.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use tether_shared::media::{Frame, Video, encode_y4m};

fn worker() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tether-gpu"))
}

/// Runs the worker with `args` plus `--out`, returns (exit code, response).
fn run(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = dir.join("response.json");
    let _ = fs_err::remove_file(&out);
    let status = worker().args(args).arg("--out").arg(&out).status().unwrap();
    let text = fs_err::read_to_string(&out).expect("the worker always writes a response");
    (status.code().unwrap(), serde_json::from_str(&text).unwrap())
}

/// A moving gradient, `n` frames of `w`x`h`, brightness scaled by `gain`.
fn video(w: u32, h: u32, n: u32, gain: f32) -> Video {
    let plane = (w * h) as usize;
    let frames = (0..n)
        .map(|t| {
            let mut data = vec![0f32; 3 * plane];
            for c in 0..3 {
                for y in 0..h {
                    for x in 0..w {
                        let v = ((x + 2 * y + 3 * t + 7 * c) % 64) as f32 / 80.0 + 0.1;
                        data[c as usize * plane + (y * w + x) as usize] = (v * gain).min(1.0);
                    }
                }
            }
            Frame { data }
        })
        .collect();
    Video {
        width: w,
        height: h,
        fps: Some(16.0),
        frames,
    }
}

fn request(dir: &Path, output: &Path, reference: Option<&Path>, store: &str) -> std::path::PathBuf {
    let req = serde_json::json!({
        "output": output,
        "expect": {"frames": 5, "width": null, "height": null, "fps": 16.0},
        "max_side": 32,
        "device": {"kind": "cpu"},
        "reference": reference,
        "store": dir.join(store),
        "ffmpeg_log_dir": dir,
    });
    let path = dir.join(format!("{store}.request.json"));
    fs_err::write(&path, req.to_string()).unwrap();
    path
}

#[test]
fn probe_writes_a_versioned_report() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, v) = run(tmp.path(), &["probe", "--device", "cpu"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"]["protocol"], 1);
    assert_eq!(v["ok"]["report"]["device"], "cpu");
    assert_eq!(v["ok"]["report"]["dtype"], "f32");
}

#[test]
fn analyze_downsamples_stores_and_compares() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs_err::write(d.join("a.y4m"), encode_y4m(&video(64, 48, 5, 1.0))).unwrap();
    fs_err::write(d.join("b.y4m"), encode_y4m(&video(64, 48, 5, 0.7))).unwrap();
    let (code, v) = run(
        d,
        &[
            "analyze",
            "--request",
            request(d, &d.join("a.y4m"), None, "a.st").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{v}");
    let r = &v["ok"]["report"];
    assert_eq!(
        (r["frames"].as_u64(), r["width"].as_u64()),
        (Some(5), Some(64))
    );
    // Longer side 64 -> 32, aspect kept.
    assert_eq!(
        (r["stored_width"].as_u64(), r["stored_height"].as_u64()),
        (Some(32), Some(24))
    );
    assert_eq!(r["quality"], Value::Null);
    assert!(d.join("a.st").is_file());

    // Itself as the reference: identical.
    let (_, v) = run(
        d,
        &[
            "analyze",
            "--request",
            request(d, &d.join("a.y4m"), Some(&d.join("a.st")), "a2.st")
                .to_str()
                .unwrap(),
        ],
    );
    let q = &v["ok"]["report"]["quality"];
    assert_eq!(q["mean_ssim"].as_f64(), Some(1.0), "{q}");
    assert_eq!(q["frames_compared"], 5);
    assert_eq!(q["mean_psnr_db"], Value::Null);

    // A darker video against it: lower, finite figures, per frame.
    let (_, v) = run(
        d,
        &[
            "analyze",
            "--request",
            request(d, &d.join("b.y4m"), Some(&d.join("a.st")), "b.st")
                .to_str()
                .unwrap(),
        ],
    );
    let q = &v["ok"]["report"]["quality"];
    assert_eq!(q["ssim"].as_array().unwrap().len(), 5);
    assert!(q["mean_ssim"].as_f64().unwrap() < 1.0);
    assert!(q["min_psnr_db"].as_f64().unwrap() < q["mean_psnr_db"].as_f64().unwrap() + 1e-9);
}

#[test]
fn bad_input_gets_an_error_response_not_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // A malformed request.
    fs_err::write(d.join("bad.json"), "{not json").unwrap();
    let (code, v) = run(
        d,
        &["analyze", "--request", d.join("bad.json").to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("malformed request"),
        "{v}"
    );
    // A video that is not one.
    fs_err::write(d.join("x.y4m"), "YUV4MPEG2 W0 H0\n").unwrap();
    let (code, v) = run(
        d,
        &[
            "analyze",
            "--request",
            request(d, &d.join("x.y4m"), None, "x.st").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("x.y4m"),
        "{v}"
    );
    // A corrupt reference: the output is still checked, the comparison says why not.
    fs_err::write(d.join("a.y4m"), encode_y4m(&video(16, 16, 5, 1.0))).unwrap();
    fs_err::write(d.join("corrupt.st"), b"\x08\0\0\0\0\0\0\0{}").unwrap();
    let (code, v) = run(
        d,
        &[
            "analyze",
            "--request",
            request(d, &d.join("a.y4m"), Some(&d.join("corrupt.st")), "a.st")
                .to_str()
                .unwrap(),
        ],
    );
    assert_eq!(code, 0, "{v}");
    let why = v["ok"]["report"]["quality"]["mismatch"].as_str().unwrap();
    assert!(why.contains("corrupt.st"), "{why}");
}

#[test]
fn bench_reports_throughput() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, v) = run(
        tmp.path(),
        &[
            "bench",
            "--device",
            "cpu",
            "--frames",
            "4",
            "--width",
            "64",
            "--height",
            "48",
            "--repeats",
            "1",
        ],
    );
    assert_eq!(code, 0, "{v}");
    let r = &v["ok"]["report"];
    assert!(r["frames_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(r["downsampled"], serde_json::json!([64, 48]));
}
