//! The GPU engine end to end with the real `tether-gpu` worker (libtorch on
//! the CPU here, on CUDA where there is a GPU): `tether gpu probe`, the
//! preflight before a baseline run, output checks and PSNR/SSIM against
//! recorded references, and a worker that crashes, hangs or cannot load
//! libtorch.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::Tether;

/// The wrapper's "generation test": writes `video.y4m` into the output
/// folder (argv[1]) as `mode.txt` in the tree says. 48x32, 4:2:0, full range,
/// frames from `settings.json`'s `video_length`.
const GEN_PY: &str = r#"
import json, os, sys

out = sys.argv[1]
settings = json.load(open(os.path.join(out, "settings.json")))
frames = int(settings["params"]["video_length"])
mode = open("mode.txt").read().strip()
w, h = (64, 48) if mode == "big" else (48, 32)
if mode == "short":
    frames -= 2
state = 12345

def noise(amount):
    global state
    state = (state * 1103515245 + 12345) % (1 << 31)
    return (state % (2 * amount + 1)) - amount if amount else 0

amount = {"noisy": 60, "slight": 1}.get(mode, 0)
with open(os.path.join(out, "video.y4m"), "wb") as f:
    f.write(b"YUV4MPEG2 W%d H%d F16:1 Ip A1:1 C420jpeg\n" % (w, h))
    n = 0 if mode == "empty" else frames
    for t in range(n):
        f.write(b"FRAME\n")
        tt = 0 if mode == "frozen" else t
        y = bytearray()
        for r in range(h):
            for c in range(w):
                v = 0 if mode == "black" else 40 + (c * 3 + r * 2 + tt * 5) % 170
                y.append(max(0, min(255, v + noise(amount))))
        f.write(bytes(y))
        f.write(bytes([128]) * (2 * (w // 2) * (h // 2)))
        if mode == "truncated" and t == 1:
            f.write(b"FRAME\n" + bytes(100))
            break
"#;

struct World {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl World {
    /// A project with one case `clip` (9 frames at 16 fps, no resolution
    /// parameter) and `extra` appended to the config.
    fn new(extra: &str) -> World {
        let p = crate::support::project::temp_project(
            "python3",
            &[("gen.py", GEN_PY), ("mode.txt", "clean")],
            &format!(
                r#"
[baseline]
command = "{{python}} gen.py {{output_dir}}"
timeout = "120s"

[[baseline.case]]
name = "clip"
model = "t2v"
outputs = ["*.y4m"]
params = {{ video_length = 9, fps = 16 }}
{extra}
"#
            ),
        );
        World {
            _tmp: p._tmp,
            dir: p.dir,
        }
    }

    fn mode(&self, mode: &str) {
        fs_err::write(self.dir.join("wrapper/mode.txt"), mode).unwrap();
    }

    fn tether(&self) -> Tether {
        Tether::new(&self.dir)
    }

    fn json(&self, args: &[&str], code: i32) -> Value {
        let out = self.tether().run(args);
        out.assert_code(code);
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
    }
}

fn case<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["run"]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()
}

fn comparison<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["case"] == name)
        .unwrap()
}

#[test]
fn probe_reports_libtorch_and_passes_its_checks() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Tether::new(tmp.path()).run(&["gpu", "probe", "--json"]);
    out.assert_code(0);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["passed"], true, "{v}");
    let r = &v["report"];
    assert!(
        r["libtorch_version"]
            .as_str()
            .unwrap()
            .starts_with("2.11.0")
    );
    // The worker is linked so that CUDA works where there is a GPU.
    assert_eq!(r["cuda_library_loaded"], true, "{r}");
    let has_gpu = Path::new("/dev/nvidiactl").exists();
    assert_eq!(r["cuda_available"], has_gpu);
    assert_eq!(r["device"], if has_gpu { "cuda:0" } else { "cpu" });
    assert!(r["matmul_tflops"].as_f64().unwrap() > 0.0);
    let names: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["allocation", "matmul", "conv3d", "attention"]);
    for c in r["checks"].as_array().unwrap() {
        assert_eq!(c["passed"], true, "{c}");
    }
    // The human form carries the same figures.
    let out = Tether::new(tmp.path()).run(&["gpu", "probe", "--device", "cpu"]);
    out.assert_code(0);
    assert!(out.stdout.contains("Verdict: **passed**"), "{}", out.stdout);
    assert!(out.stdout.contains("TFLOP/s"), "{}", out.stdout);
    assert!(out.stdout.contains("| conv3d | passed |"), "{}", out.stdout);
}

#[test]
fn asking_for_cuda_without_a_gpu_fails_the_probe_with_the_reason() {
    if Path::new("/dev/nvidiactl").exists() {
        return; // this machine has one: the case is not reachable here
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = Tether::new(tmp.path()).run(&["gpu", "probe", "--device", "cuda:0", "--json"]);
    out.assert_code(9);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["passed"], false);
    let problems = v["problems"].to_string();
    assert!(problems.contains("CUDA unavailable"), "{problems}");
}

#[test]
fn record_then_identical_run_passes_with_ssim_one() {
    let w = World::new("");
    let rec = w.json(&["baseline", "record", "--json"], 0);
    let recorded = rec["recorded"][0].as_str().unwrap();
    let reference: Value =
        serde_json::from_str(&fs_err::read_to_string(recorded).unwrap()).unwrap();
    let q = &reference["quality"][0];
    assert_eq!(q["path"], "video.y4m");
    assert_eq!(
        (q["frames"].as_u64(), q["width"].as_u64()),
        (Some(9), Some(48))
    );
    let frames = Path::new(recorded)
        .parent()
        .unwrap()
        .join(q["frames_file"].as_str().unwrap());
    // u8 [9, 3, 32, 48] plus the safetensors header.
    assert!(fs_err::metadata(&frames).unwrap().len() > 9 * 3 * 32 * 48);

    let v = w.json(&["baseline", "run", "--json"], 0);
    let c = comparison(&v, "clip");
    assert_eq!(c["verdict"], "pass", "{c}");
    let m = &c["quality"][0];
    assert_eq!(m["frames_compared"], 9);
    assert_eq!(m["mean_ssim"].as_f64(), Some(1.0));
    assert_eq!(
        m["mean_psnr_db"],
        Value::Null,
        "identical frames: infinite PSNR"
    );
    let report = &case(&v, "clip")["quality"][0]["report"];
    assert_eq!(report["fps"].as_f64(), Some(16.0));
    assert_eq!(report["findings"].as_array().unwrap().len(), 0, "{report}");
    // The Markdown report holds the same figures.
    let run_id = v["run"]["run_id"].as_str().unwrap();
    let md = fs_err::read_to_string(
        w.dir
            .join("outputs")
            .join(run_id)
            .join("baseline_report.md"),
    )
    .unwrap();
    assert!(
        md.contains("| clip | video.y4m | 9 | 48x32 @ 16.00 fps | ok | 1.0000 | 1.0000 | inf dB |"),
        "{md}"
    );
    assert!(md.contains("| clip | pass | time "), "{md}");
}

#[test]
fn noise_is_a_quality_regression_with_figures_and_slight_noise_is_not() {
    let w = World::new("");
    w.json(&["baseline", "record", "--json"], 0);

    w.mode("slight");
    let v = w.json(&["baseline", "run", "--json"], 0);
    let c = comparison(&v, "clip");
    assert_eq!(c["verdict"], "pass", "{c}");
    let ssim = c["quality"][0]["mean_ssim"].as_f64().unwrap();
    assert!(ssim < 1.0 && ssim > 0.93, "slight noise: ssim {ssim}");
    assert!(c["quality"][0]["mean_psnr_db"].as_f64().unwrap() > 40.0);

    w.mode("noisy");
    let v = w.json(&["baseline", "run", "--json"], 10);
    let c = comparison(&v, "clip");
    assert_eq!(c["verdict"], "regressed", "{c}");
    let ssim = c["quality"][0]["mean_ssim"].as_f64().unwrap();
    assert!(ssim < 0.93, "noisy: ssim {ssim}");
    let text = c["regressions"].to_string();
    assert!(
        text.contains("quality: output `video.y4m` mean SSIM") && text.contains("below 0.93"),
        "{text}"
    );
    // `baseline compare` re-analyses the newest run and agrees.
    let again = w.json(&["baseline", "compare", "--json"], 10);
    assert_eq!(comparison(&again, "clip")["verdict"], "regressed");
    let out = w.tether().run(&["baseline", "compare"]);
    out.assert_code(10);
    assert!(out.stdout.contains("REGRESSED: quality"), "{}", out.stdout);
    assert!(out.stdout.contains("SSIM mean 0."), "{}", out.stdout);
}

#[test]
fn per_case_threshold_decides() {
    // The same slight noise regresses a case that demands SSIM 0.9999.
    let w = World::new("min_mean_ssim = 0.9999");
    w.json(&["baseline", "record", "--json"], 0);
    w.mode("slight");
    let v = w.json(&["baseline", "run", "--json"], 10);
    let c = comparison(&v, "clip");
    assert_eq!(c["verdict"], "regressed");
    assert!(c["regressions"].to_string().contains("below 0.9999"), "{c}");
}

#[test]
fn a_different_resolution_is_a_regression_naming_both_sizes() {
    let w = World::new("");
    w.json(&["baseline", "record", "--json"], 0);
    w.mode("big");
    let v = w.json(&["baseline", "run", "--json"], 10);
    let c = comparison(&v, "clip");
    assert_eq!(c["verdict"], "regressed");
    let text = c["regressions"].to_string();
    assert!(
        text.contains("output is 64x48 but the reference is 48x32"),
        "{text}"
    );
}

#[test]
fn broken_outputs_fail_the_case_with_the_reason() {
    for (mode, expect) in [
        ("black", "are black"),
        ("frozen", "consecutive frame pairs are frozen"),
        ("short", "expected 9 frames, got 7"),
        ("empty", "the video has no frames"),
        ("truncated", "truncated"),
    ] {
        let w = World::new("");
        w.mode(mode);
        let v = w.json(&["baseline", "run", "--json"], 6);
        let c = case(&v, "clip");
        assert_eq!(c["status"], "failed", "{mode}: {c}");
        let error = c["error"].as_str().unwrap();
        assert!(
            error.contains("output `video.y4m`") && error.contains(expect),
            "{mode}: {error}"
        );
    }
}

#[test]
fn preflight_runs_before_the_cases_when_asked() {
    let w = World::new("\n[gpu]\npreflight = \"always\"\n");
    let out = w.tether().run(&["baseline", "run"]);
    out.assert_code(0);
    assert!(
        out.stdout.contains("GPU preflight passed: libtorch 2.11.0"),
        "{}",
        out.stdout
    );
    let v = w.json(&["baseline", "run", "--json"], 0);
    assert_eq!(v["run"]["preflight"]["passed"], true);
}

/// A stand-in worker: a shell script that runs the real worker's hidden
/// `crash` command (`panic`, `abort`, `hang`) or prints what the dynamic
/// loader prints when libtorch is missing.
fn broken_worker(dir: &Path, mode: &str) -> PathBuf {
    let real = crate::support::tether_gpu_bin();
    let body = if mode == "noload" {
        "echo \"tether-gpu: error while loading shared libraries: libtorch_cpu.so: cannot open shared object file: No such file or directory\" >&2; exit 127".to_owned()
    } else {
        format!(
            "while [ $# -gt 0 ]; do [ \"$1\" = --out ] && out=$2; shift; done\nexec {} crash --mode {mode} --out \"$out\"",
            real.display()
        )
    };
    let path = dir.join(format!("worker-{mode}.sh"));
    fs_err::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn a_broken_worker_stops_the_preflight_and_the_run_with_the_reason() {
    for (mode, expect) in [
        ("panic", "without a usable report"),
        ("abort", "SIGABRT"),
        ("hang", "timed out after 3s"),
        ("noload", "scripts/install-torch.sh"),
    ] {
        let w = World::new("");
        let worker = broken_worker(&w.dir, mode);
        fs_err::write(
            w.dir.join("tether.toml"),
            fs_err::read_to_string(w.dir.join("tether.toml")).unwrap()
                + &format!(
                    "\n[gpu]\npreflight = \"always\"\ntimeout = \"{}\"\nworker = \"{}\"\n",
                    // only the hanging worker should meet the timeout: the
                    // others load libtorch first, which a busy machine can
                    // stretch past a few seconds
                    if mode == "hang" { "3s" } else { "60s" },
                    worker.display()
                ),
        )
        .unwrap();
        let out = w.tether().run(&["gpu", "probe"]);
        out.assert_code(9);
        assert!(out.stdout.contains(expect), "{mode}: {}", out.stdout);
        if mode == "panic" {
            assert!(out.stdout.contains("crash test: panic"), "{}", out.stdout);
        }
        // The baseline does not start; the reason is given.
        let out = w.tether().run(&["baseline", "run"]);
        out.assert_code(9);
        assert!(
            out.stderr
                .contains("the GPU preflight failed, so the baseline was not run"),
            "{mode}: {}",
            out.stderr
        );
        assert!(out.stderr.contains(expect), "{mode}: {}", out.stderr);
        assert!(
            !w.dir.join("outputs").read_dir().unwrap().any(|e| e
                .unwrap()
                .path()
                .join("clip/video.y4m")
                .exists())
        );
    }
}

#[test]
fn outputs_that_cannot_be_checked_fail_the_case_and_say_why() {
    let w = World::new("");
    let worker = broken_worker(&w.dir, "abort");
    let out = w
        .tether()
        .cmd()
        .env("TETHER_GPU_WORKER", &worker)
        .args(["baseline", "run", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = case(&v, "clip")["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("output `video.y4m` could not be checked") && error.contains("SIGABRT"),
        "{error}"
    );
}

#[test]
fn a_reference_from_other_hardware_is_not_compared_but_reported() {
    let w = World::new("");
    w.json(&["baseline", "record", "--json"], 0);
    let refs = w.dir.join("baselines");
    fs_err::rename(
        refs.join("cpu"),
        refs.join("nvidia-h200-drv-580-torch-2.11.0-cu130"),
    )
    .unwrap();
    w.mode("noisy");
    let v = w.json(&["baseline", "run", "--json"], 0);
    let c = comparison(&v, "clip");
    assert_eq!(c["verdict"], "new", "{c}");
    assert_eq!(
        c["other_hardware"],
        serde_json::json!(["nvidia-h200-drv-580-torch-2.11.0-cu130"])
    );
    let out = w.tether().run(&["baseline", "run"]);
    assert!(
        out.stdout
            .contains("references of other hardware not compared: nvidia-h200"),
        "{}",
        out.stdout
    );
}

#[test]
fn install_torch_refuses_a_wrong_torch_version_and_says_how_to_fix_it() {
    let tmp = tempfile::tempdir().unwrap();
    // An interpreter whose torch is 2.10.0 (it answers every -c with that).
    let py = tmp.path().join("python");
    fs_err::write(&py, "#!/bin/sh\nprintf 2.10.0\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs_err::set_permissions(&py, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-torch.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .env("TETHER_TORCH_PYTHON", &py)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("has torch '2.10.0', but tether needs torch==2.11.0"),
        "{err}"
    );
    assert!(err.contains("-m pip install torch==2.11.0"), "{err}");
}
