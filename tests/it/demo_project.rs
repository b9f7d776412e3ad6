//! The demo project of `tether demo` (`scripts/demo_project.py`, built through
//! `tether::demo::create`): its baseline cases pass at the upstream's base
//! commit, and each upstream break fails them exactly the way tether's fix
//! strategies expect, when run the way tether runs them.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use tether::config::Config;
use tether::demo::{DemoError, DemoProject};

use crate::support::git::git;

struct Demo {
    _tmp: tempfile::TempDir,
    project: DemoProject,
    cfg: Config,
    runs: PathBuf,
}

struct CaseRun {
    code: i32,
    stderr: String,
    entry: Value,
    video: PathBuf,
}

impl CaseRun {
    /// The traceback's last line.
    fn last_line(&self) -> &str {
        self.stderr.trim_end().lines().last().unwrap_or("")
    }

    #[track_caller]
    fn assert_passed(&self) {
        assert_eq!(self.code, 0, "case failed:\n{}", self.stderr);
        assert_eq!(self.entry["status"], "passed", "{}", self.entry);
        assert!(self.video.is_file(), "no video at {}", self.video.display());
    }

    #[track_caller]
    fn assert_failed_with(&self, last_line: &str) {
        assert_eq!(self.code, 1, "case should fail:\n{}", self.stderr);
        assert_eq!(self.entry["status"], "failed", "{}", self.entry);
        assert!(
            self.stderr
                .starts_with("Traceback (most recent call last):"),
            "{}",
            self.stderr
        );
        assert_eq!(self.last_line(), last_line, "stderr:\n{}", self.stderr);
        assert_eq!(self.entry["error"], last_line);
    }
}

impl Demo {
    fn new() -> Demo {
        let tmp = tempfile::tempdir().unwrap();
        let project = tether::demo::create(&tmp.path().join("demo"), "python3").unwrap();
        let cfg = Config::load(&project.config_path).unwrap();
        let runs = tmp.path().join("runs");
        Demo {
            _tmp: tmp,
            project,
            cfg,
            runs,
        }
    }

    fn wrapper(&self) -> &Path {
        &self.project.wrapper
    }

    fn tip(&self) -> &str {
        &self.project.commits.last().unwrap().hash
    }

    /// Runs a configured case like tether does (settings.json, the configured
    /// command, cwd = wrapper), with the model and parameters changed by
    /// `model` and `params`.
    fn run_case(&self, case: &str, model: Option<&str>, params: Value) -> CaseRun {
        let cfg_case = self
            .cfg
            .baseline
            .cases
            .iter()
            .find(|c| c.name == case)
            .unwrap_or_else(|| panic!("no case {case}"));
        let mut p = cfg_case.params.clone();
        for (k, v) in params.as_object().unwrap() {
            p.insert(k.clone(), v.clone());
        }
        let n = fs_err::read_dir(&self.runs).map_or(0, |d| d.count());
        let out_dir = self.runs.join(format!("{n:02}-{case}"));
        fs_err::create_dir_all(&out_dir).unwrap();
        let settings = out_dir.join("settings.json");
        let model = model.unwrap_or(&cfg_case.model);
        let settings_json = json!({"case": case, "model": model, "params": p});
        fs_err::write(&settings, settings_json.to_string()).unwrap();
        // The configured template, split into words first, then filled in.
        let argv: Vec<String> = shell_words::split(&self.cfg.baseline.command)
            .unwrap()
            .iter()
            .map(|w| {
                w.replace("{python}", &self.cfg.project.python)
                    .replace("{settings_json}", settings.to_str().unwrap())
                    .replace("{output_dir}", out_dir.to_str().unwrap())
            })
            .collect();
        let out = Command::new(&argv[0])
            .args(&argv[1..])
            .current_dir(self.wrapper())
            .env_remove("DEMO_VRAM_GB")
            .output()
            .expect("python runs");
        let results: Value = serde_json::from_str(
            &fs_err::read_to_string(out_dir.join("results.json")).expect("results.json written"),
        )
        .unwrap();
        assert_eq!(results.as_array().unwrap().len(), 1, "{results}");
        assert_eq!(results[0]["name"], case);
        CaseRun {
            code: out.status.code().unwrap_or(-1),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            entry: results[0].clone(),
            video: out_dir.join(format!("{case}.y4m")),
        }
    }

    fn edit_wrapper(&self, rel: &str, old: &str, new: &str) {
        let path = self.wrapper().join(rel);
        let text = fs_err::read_to_string(&path).unwrap();
        assert_eq!(text.matches(old).count(), 1, "`{old}` in {rel}");
        fs_err::write(&path, text.replace(old, new)).unwrap();
    }
}

/// Parses a YUV4MPEG2 (C420jpeg) file: (width, height, fps, frame count).
fn parse_y4m(bytes: &[u8]) -> (usize, usize, String, usize) {
    let nl = bytes.iter().position(|&b| b == b'\n').expect("header line");
    let header = std::str::from_utf8(&bytes[..nl]).unwrap();
    let mut fields = header.split(' ');
    assert_eq!(fields.next(), Some("YUV4MPEG2"), "{header}");
    let (mut w, mut h, mut fps) = (0, 0, String::new());
    for f in fields {
        match f.split_at(1) {
            ("W", v) => w = v.parse().unwrap(),
            ("H", v) => h = v.parse().unwrap(),
            ("F", v) => fps = v.to_owned(),
            ("I", v) => assert_eq!(v, "p"),
            ("A", v) => assert_eq!(v, "1:1"),
            ("C", v) => assert_eq!(v, "420jpeg"),
            other => panic!("unexpected header field {other:?}"),
        }
    }
    let frame_len = w * h + 2 * (w / 2) * (h / 2);
    let mut rest = &bytes[nl + 1..];
    let mut frames = 0;
    while !rest.is_empty() {
        assert!(
            rest.starts_with(b"FRAME\n"),
            "frame {frames} has no FRAME marker"
        );
        rest = &rest[6..];
        assert!(rest.len() >= frame_len, "frame {frames} is cut short");
        rest = &rest[frame_len..];
        frames += 1;
    }
    (w, h, fps, frames)
}

#[test]
fn demo_config_is_valid_and_names_the_three_cases() {
    let demo = Demo::new();
    let p = &demo.project;
    assert_eq!(p.config_path, p.root.join("tether.toml"));
    assert_eq!(demo.cfg.project.root, p.wrapper);
    let up = &demo.cfg.upstreams[0];
    assert_eq!(up.name, "demo");
    assert_eq!(up.url, p.upstream.to_str().unwrap());
    assert_eq!(
        demo.cfg.baseline.results_file.as_deref(),
        Some("results.json")
    );
    assert_eq!(demo.cfg.update.max_attempts, 10);
    let cases: Vec<(&str, &str, &Value)> = demo
        .cfg
        .baseline
        .cases
        .iter()
        .map(|c| (c.name.as_str(), c.model.as_str(), &c.params["video_length"]))
        .collect();
    assert_eq!(
        cases,
        [
            ("t2v_short", "t2v_1.3B", &json!(17)),
            ("vace_short", "vace_14B", &json!(33)),
            ("vace_long", "vace_14B", &json!(81)),
        ]
    );

    let out = crate::support::Tether::new(&p.root).run(&[
        "--config",
        p.config_path.to_str().unwrap(),
        "config",
        "check",
    ]);
    out.assert_code(0);
    assert!(!out.stdout.contains("warning"), "{}", out.stdout);

    // The wrapper is clean, its submodule at the base commit.
    assert_eq!(git(&p.wrapper, &["status", "--porcelain"]), "");
    assert_eq!(
        git(&p.wrapper.join("Wan2GP"), &["rev-parse", "HEAD"]),
        p.base
    );
    let kinds: Vec<&str> = p.commits.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "base",
            "harmless",
            "break: keyword",
            "break: model config",
            "break: memory",
            "harmless"
        ]
    );
    assert_eq!(git(&p.upstream, &["rev-parse", "main"]), demo.tip());
}

#[test]
fn demo_upstream_breaks_the_baseline_one_way_per_commit() {
    let demo = Demo::new();

    // Base: every case passes.
    for case in ["t2v_short", "vace_short", "vace_long"] {
        demo.run_case(case, None, json!({})).assert_passed();
    }

    // Upstream tip: the renamed keyword fails every case.
    git(
        &demo.wrapper().join("Wan2GP"),
        &["checkout", "-q", demo.tip()],
    );
    let keyword = "TypeError: generate_video() got an unexpected keyword argument 'video_length'";
    for case in ["t2v_short", "vace_short", "vace_long"] {
        demo.run_case(case, None, json!({}))
            .assert_failed_with(keyword);
    }

    // Keyword fixed at the one call site: the vace cases miss their config.
    demo.edit_wrapper(
        "headless_wgp.py",
        "video_length=settings",
        "frame_num=settings",
    );
    demo.run_case("t2v_short", None, json!({})).assert_passed();
    let missing = demo.wrapper().join("Wan2GP/defaults/vace_14B.json");
    let missing = format!(
        "FileNotFoundError: [Errno 2] No such file or directory: '{}'",
        missing.display()
    );
    for case in ["vace_short", "vace_long"] {
        demo.run_case(case, None, json!({}))
            .assert_failed_with(&missing);
    }

    // Model switched to vace_14B_2: only the 81-frame case runs out of memory.
    demo.run_case("vace_short", Some("vace_14B_2"), json!({}))
        .assert_passed();
    let oom = demo.run_case("vace_long", Some("vace_14B_2"), json!({}));
    oom.assert_failed_with(
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 5.64 GiB. \
         GPU 0 has a total capacity of 12.00 GiB of which 5.50 GiB is free.",
    );
    assert!(!oom.video.exists());

    // One step down the frame grid fits again (either step size).
    for frames in [77, 65] {
        let run = demo.run_case(
            "vace_long",
            Some("vace_14B_2"),
            json!({"video_length": frames}),
        );
        run.assert_passed();
        let (_, _, _, n) = parse_y4m(&fs_err::read(&run.video).unwrap());
        assert_eq!(n, frames);
    }

    // A bigger budget fits 81 frames; the budget is what decides.
    let big = Command::new(&demo.cfg.project.python)
        .args([
            "-c",
            "import sys; sys.path.insert(0, 'Wan2GP'); from shared.utils import memory; \
             print(memory.reserve({'vram': {'weights_gib': 6.5, 'activation_gib_per_mpx_frame': 4.2}}, 81, 128, 96))",
        ])
        .current_dir(demo.wrapper())
        .env("DEMO_VRAM_GB", "24")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert!(
        big.status.success(),
        "{}",
        String::from_utf8_lossy(&big.stderr)
    );

    // Nothing the runs did left the upstream checkout dirty.
    assert_eq!(
        git(&demo.wrapper().join("Wan2GP"), &["status", "--porcelain"]),
        ""
    );
}

#[test]
fn demo_videos_are_valid_y4m_and_deterministic() {
    let demo = Demo::new();
    let a = demo.run_case("vace_long", None, json!({}));
    a.assert_passed();
    let b = demo.run_case("vace_long", None, json!({}));
    b.assert_passed();
    let bytes = fs_err::read(&a.video).unwrap();
    assert_eq!(bytes, fs_err::read(&b.video).unwrap(), "two runs differ");
    assert!(bytes.starts_with(b"YUV4MPEG2 W128 H96 F16:1 Ip A1:1 C420jpeg\n"));
    assert_eq!(parse_y4m(&bytes), (128, 96, "16:1".to_owned(), 81));
    assert_eq!(a.entry["output"], a.video.to_str().unwrap());

    // Frames move: consecutive luma planes differ.
    let frame_len = 128 * 96 * 3 / 2 + 6;
    let start = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    let frame = |i: usize| &bytes[start + i * frame_len..start + (i + 1) * frame_len];
    assert_ne!(frame(0), frame(1));

    // Another seed gives another video of the same shape.
    let c = demo.run_case("vace_long", None, json!({"seed": 7, "video_length": 17}));
    c.assert_passed();
    let other = fs_err::read(&c.video).unwrap();
    assert_eq!(parse_y4m(&other), (128, 96, "16:1".to_owned(), 17));
    assert_ne!(&other[start..start + frame_len], frame(0));
}

#[test]
fn demo_upstream_hashes_are_the_same_on_every_build() {
    let a = Demo::new();
    let b = Demo::new();
    assert_ne!(a.project.root, b.project.root);
    assert_eq!(a.project.commits, b.project.commits);
    let subjects: Vec<&str> = a
        .project
        .commits
        .iter()
        .map(|c| c.subject.as_str())
        .collect();
    assert_eq!(
        subjects,
        [
            "feat: initial Wan2GP-like video generator",
            "docs: usage example in the README",
            "feat(api)!: rename generate_video's video_length to frame_num",
            "feat(models)!: replace vace_14B with vace_14B_2",
            "perf(attention): cache keys and values across denoising steps",
            "docs: changelog for 2.0",
        ]
    );
}

#[test]
fn demo_refuses_a_folder_that_is_not_empty() {
    let tmp = tempfile::tempdir().unwrap();
    fs_err::write(tmp.path().join("keep.txt"), "mine").unwrap();
    let err = tether::demo::create(tmp.path(), "python3").unwrap_err();
    assert!(matches!(err, DemoError::NotEmpty { .. }), "{err}");
    assert_eq!(
        fs_err::read_to_string(tmp.path().join("keep.txt")).unwrap(),
        "mine"
    );

    let err = tether::demo::create(&tmp.path().join("new"), "/nonexistent/python3").unwrap_err();
    assert!(matches!(err, DemoError::Spawn { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/python3"), "{err}");
}
