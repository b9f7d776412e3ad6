//! Strategies applied to real files in temp trees, with real child
//! processes (pip in a real venv, a shell command as external fixer).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use super::*;
use crate::fix::classify::{Failure, FailureClass};

struct Dirs {
    _tmp: tempfile::TempDir,
    live: PathBuf,
    tree: PathBuf,
    upstream: PathBuf,
    context: PathBuf,
    out: PathBuf,
}

fn dirs() -> Dirs {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let tree = tmp.path().join("staged");
    let upstream = tree.join("Wan2GP");
    for d in [&live.join("Wan2GP/defaults"), &upstream.join("defaults")] {
        fs_err::create_dir_all(d).unwrap();
    }
    let out = tmp.path().join("outputs/run-1/vace_short");
    fs_err::create_dir_all(&out).unwrap();
    Dirs {
        context: tmp.path().join("report/attempts/1"),
        live,
        tree,
        upstream,
        out,
        _tmp: tmp,
    }
}

fn config(d: &Dirs, extra: &str) -> Config {
    let toml = format!(
        r#"[project]
root = "{live}"
python = "python3"

[[upstream]]
name = "wan2gp"
url = "https://example.invalid/Wan2GP.git"
path = "Wan2GP"
layout = "clone"

[integration]
config_dirs = ["defaults"]

[[baseline.case]]
name = "vace_short"
model = "vace_14B"
params = {{ resolution = "48x32", video_length = 5 }}

[[baseline.case]]
name = "vace_long"
model = "vace_14B"

{extra}
"#,
        live = d.live.display()
    );
    Config::parse(&toml, d.live.parent().unwrap()).unwrap_or_else(|e| panic!("{e:?}"))
}

fn failure(d: &Dirs, class: FailureClass) -> Failure {
    Failure {
        case: "vace_short".into(),
        model: "vace_14B".into(),
        params: json!({"resolution": "48x32", "video_length": 5})
            .as_object()
            .unwrap()
            .clone(),
        signature: String::new(),
        message: "boom".into(),
        detail: "Traceback (most recent call last):\nboom".into(),
        class,
        log_dir: d.out.clone(),
        integration_points: Vec::new(),
        target: None,
    }
}

fn ctx<'a>(cfg: &'a Config, d: &'a Dirs) -> FixContext<'a> {
    FixContext {
        cfg,
        tree: &d.tree,
        upstream_dir: &d.upstream,
        analysis: None,
        attempt: 1,
        context_dir: &d.context,
    }
}

fn not_applicable(r: Result<Option<AppliedFix>, FixError>) -> String {
    match r {
        Err(FixError::NotApplicable { reason, .. }) => reason,
        other => panic!("expected not applicable, got {other:?}"),
    }
}

#[test]
fn model_config_maps_to_the_closest_and_rewrites_wrapper_strings() {
    let d = dirs();
    let old = json!({"model": {"name": "Vace 14B", "architecture": "vace_14B"}, "prompt": "", "video_length": 81});
    fs_err::write(
        d.live.join("Wan2GP/defaults/vace_14B.json"),
        old.to_string(),
    )
    .unwrap();
    fs_err::write(
        d.upstream.join("defaults/vace_14B_v2.json"),
        old.to_string(),
    )
    .unwrap();
    fs_err::write(
        d.upstream.join("defaults/t2v_1.3B.json"),
        json!({"model": {"name": "T2V"}}).to_string(),
    )
    .unwrap();
    let upstream_src = "MODEL = 'vace_14B'\n";
    fs_err::write(d.upstream.join("wgp.py"), upstream_src).unwrap();
    fs_err::create_dir_all(d.tree.join("worker")).unwrap();
    let wrapper = "import wgp\nMODEL = \"vace_14B\"\nPATH = 'Wan2GP/defaults/vace_14B.json'\nOTHER = 'vace_14B_fast'\n";
    fs_err::write(d.tree.join("worker/headless.py"), wrapper).unwrap();
    let cfg = config(&d, "");

    let fix = ModelConfig
        .apply(
            &ctx(&cfg, &d),
            &failure(
                &d,
                FailureClass::ModelConfigMissing {
                    name: "vace_14B".into(),
                },
            ),
        )
        .unwrap()
        .unwrap();
    assert_eq!(fix.files, ["tether_baseline.json", "worker/headless.py"]);
    assert_eq!(
        fix.commit_message,
        "fix(baseline): use model config vace_14B_v2 instead of vace_14B"
    );
    let out = fs_err::read_to_string(d.tree.join("worker/headless.py")).unwrap();
    assert_eq!(
        out,
        "import wgp\nMODEL = \"vace_14B_v2\"\nPATH = 'Wan2GP/defaults/vace_14B_v2.json'\nOTHER = 'vace_14B_fast'\n"
    );
    assert!(crate::fix::pysrc::parses_cleanly(&out));
    // The upstream is never edited.
    assert_eq!(
        fs_err::read_to_string(d.upstream.join("wgp.py")).unwrap(),
        upstream_src
    );
    let o = crate::baseline::Overrides::load(&d.tree, &cfg).unwrap();
    assert_eq!(
        o.get("vace_short").unwrap().model.as_deref(),
        Some("vace_14B_v2")
    );
    assert_eq!(
        o.get("vace_long").unwrap().model.as_deref(),
        Some("vace_14B_v2")
    );

    // Nothing close: refused with the ranking.
    let reason = not_applicable(ModelConfig.apply(
        &ctx(&cfg, &d),
        &failure(
            &d,
            FailureClass::ModelConfigMissing {
                name: "hunyuan_avatar".into(),
            },
        ),
    ));
    assert!(reason.contains("no config is close enough"), "{reason}");
}

#[test]
fn missing_png_and_y4m_are_written_inside_the_tree() {
    let d = dirs();
    let cfg = config(&d, "");
    let c = ctx(&cfg, &d);
    let fix = MissingInputs
        .apply(
            &c,
            &failure(
                &d,
                FailureClass::MissingInput {
                    path: "inputs/mask.png".into(),
                },
            ),
        )
        .unwrap()
        .unwrap();
    assert_eq!(fix.files, ["inputs/mask.png"]);
    assert_eq!(
        fix.summary,
        "missing input inputs/mask.png: wrote a 48x32 PNG"
    );
    let png = fs_err::read(d.tree.join("inputs/mask.png")).unwrap();
    assert_eq!(&png[16..24], &[0, 0, 0, 48, 0, 0, 0, 32]);
    // Python's zlib and struct agree that it is a valid PNG.
    let check = "import sys,zlib,struct\nb=open(sys.argv[1],'rb').read()\nassert b[:8]==b'\\x89PNG\\r\\n\\x1a\\n'\ni=8;idat=b''\nwhile i<len(b):\n  n,=struct.unpack('>I',b[i:i+4]);k=b[i+4:i+8];d=b[i+8:i+8+n]\n  assert zlib.crc32(k+d)==struct.unpack('>I',b[i+8+n:i+12+n])[0]\n  idat+=d if k==b'IDAT' else b''\n  i+=12+n\nraw=zlib.decompress(idat)\nassert len(raw)==32*(1+48*3),len(raw)\nprint('ok')\n";
    let out = Command::new("python3")
        .args(["-c", check])
        .arg(d.tree.join("inputs/mask.png"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ok",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // An absolute path into the case's output folder is allowed, but it is
    // not a tree file to commit.
    let abs = d.out.join("guide.y4m");
    let fix = MissingInputs
        .apply(
            &c,
            &failure(
                &d,
                FailureClass::MissingInput {
                    path: abs.display().to_string(),
                },
            ),
        )
        .unwrap()
        .unwrap();
    assert!(fix.files.is_empty());
    assert_eq!(
        fs_err::read(&abs).unwrap().len(),
        "YUV4MPEG2 W48 H32 F16:1 Ip A1:1 C420jpeg\n".len() + 5 * (6 + 48 * 32 * 3 / 2)
    );

    // Outside the tree: refused.
    let reason = not_applicable(MissingInputs.apply(
        &c,
        &failure(
            &d,
            FailureClass::MissingInput {
                path: "/etc/tether-never.y4m".into(),
            },
        ),
    ));
    assert!(reason.contains("outside the staged tree"), "{reason}");
    let reason = not_applicable(MissingInputs.apply(
        &c,
        &failure(
            &d,
            FailureClass::MissingInput {
                path: "notes/readme.txt".into(),
            },
        ),
    ));
    assert!(reason.contains("cannot make a `.txt` file"), "{reason}");
}

#[test]
fn samples_are_copied_and_videos_need_ffmpeg() {
    let d = dirs();
    let samples = d.live.join("samples");
    fs_err::create_dir_all(&samples).unwrap();
    fs_err::write(samples.join("guide.mp4"), b"real sample bytes").unwrap();
    let cfg = config(
        &d,
        &format!("[fix]\nsamples_dir = \"{}\"", samples.display()),
    );
    let c = ctx(&cfg, &d);
    let fix = MissingInputs
        .apply(
            &c,
            &failure(
                &d,
                FailureClass::MissingInput {
                    path: "in/guide.mp4".into(),
                },
            ),
        )
        .unwrap()
        .unwrap();
    assert_eq!(fix.files, ["in/guide.mp4"]);
    assert_eq!(
        fs_err::read(d.tree.join("in/guide.mp4")).unwrap(),
        b"real sample bytes"
    );
    let other = failure(
        &d,
        FailureClass::MissingInput {
            path: "in/other.mp4".into(),
        },
    );
    match missing_inputs::find_on_path("ffmpeg") {
        None => {
            let reason = not_applicable(MissingInputs.apply(&c, &other));
            assert!(reason.contains("ffmpeg is not on PATH"), "{reason}");
            assert!(!d.tree.join("in/other.mp4").exists());
        }
        Some(_) => {
            let fix = MissingInputs.apply(&c, &other).unwrap().unwrap();
            assert_eq!(fix.files, ["in/other.mp4"]);
        }
    }
}

#[test]
fn oom_writes_the_override() {
    let d = dirs();
    let cfg = config(&d, "");
    let mut f = failure(&d, FailureClass::OutOfMemory);
    f.params.insert("video_length".into(), json!(81));
    let fix = Oom.apply(&ctx(&cfg, &d), &f).unwrap().unwrap();
    assert_eq!(
        fix.reduced.as_deref(),
        Some("vace_short: video_length 81 -> 65")
    );
    assert_eq!(fix.files, ["tether_baseline.json"]);
    let o = crate::baseline::Overrides::load(&d.tree, &cfg).unwrap();
    assert_eq!(
        o.get("vace_short").unwrap().params["video_length"],
        json!(65)
    );
    // At the bottom of every ladder: not applicable, with the reason.
    f.params.insert("video_length".into(), json!(17));
    f.params.insert("resolution".into(), json!("256x256"));
    let reason = not_applicable(Oom.apply(&ctx(&cfg, &d), &f));
    assert!(reason.contains("already at its smallest"), "{reason}");
}

#[test]
fn an_oom_on_one_target_reduces_that_target_only_and_says_so() {
    let d = dirs();
    let cfg = config(
        &d,
        "[baseline]\nexecutor = \"slurm\"\n[slurm]\nshared_dir = \"/s\"\n[[slurm.target]]\nname = \"h100\"\n[[slurm.target]]\nname = \"l40s\"\n",
    );
    let mut f = failure(&d, FailureClass::OutOfMemory);
    f.target = Some("l40s".into());
    f.params.insert("video_length".into(), json!(81));
    let fix = Oom.apply(&ctx(&cfg, &d), &f).unwrap().unwrap();
    assert_eq!(
        fix.reduced.as_deref(),
        Some("vace_short@l40s: video_length 81 -> 65 on target l40s only")
    );
    let o = crate::baseline::Overrides::load(&d.tree, &cfg).unwrap();
    let cases = crate::baseline::effective_cases(&cfg, &o);
    let length = |target: &str| {
        cases
            .iter()
            .find(|c| c.name == "vace_short" && c.target.as_deref() == Some(target))
            .map(|c| c.params["video_length"].clone())
    };
    // every case once per target; the reduction on l40s alone
    assert_eq!(cases.len(), 4);
    assert_eq!(length("l40s"), Some(json!(65)));
    assert_eq!(length("h100"), Some(json!(5)));
}

/// A real venv with fake installed distributions pip can list.
fn venv(root: &Path, installed: &[(&str, &str)]) -> PathBuf {
    let dir = root.join("venv");
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&dir)
        .status()
        .expect("python3 runs")
        .success();
    assert!(ok, "python3 -m venv failed (install python3-venv)");
    let site = fs_err::read_dir(dir.join("lib"))
        .unwrap()
        .flatten()
        .next()
        .expect("the venv has lib/pythonX.Y")
        .path()
        .join("site-packages");
    for (name, version) in installed {
        let info = site.join(format!("{name}-{version}.dist-info"));
        fs_err::create_dir_all(&info).unwrap();
        fs_err::write(
            info.join("METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        )
        .unwrap();
        fs_err::write(info.join("INSTALLER"), "pip\n").unwrap();
        fs_err::write(info.join("RECORD"), "").unwrap();
    }
    dir.join("bin/python")
}

/// A real wheel of a one-module pure-Python package, built by hand (a wheel
/// is a zip with a dist-info folder), so pip installs it with no network.
fn wheel(dir: &Path, name: &str, version: &str) -> PathBuf {
    fs_err::create_dir_all(dir).unwrap();
    let path = dir.join(format!("{name}-{version}-py3-none-any.whl"));
    let script = format!(
        "import zipfile,sys\n\
         with zipfile.ZipFile(sys.argv[1], 'w') as z:\n\
         \x20   z.writestr('{name}.py', 'VERSION = \"{version}\"\\n')\n\
         \x20   d = '{name}-{version}.dist-info/'\n\
         \x20   z.writestr(d + 'METADATA', 'Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n')\n\
         \x20   z.writestr(d + 'WHEEL', 'Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')\n\
         \x20   z.writestr(d + 'RECORD', '')\n"
    );
    let ok = Command::new("python3")
        .args(["-c", &script])
        .arg(&path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "building the test wheel failed");
    path
}

#[test]
fn python_deps_installs_a_missing_module_offline_and_keeps_torch() {
    let d = dirs();
    let python = venv(d.live.parent().unwrap(), &[("torch", "2.4.0")]);
    let wheels = d.live.parent().unwrap().join("wheels");
    wheel(&wheels, "mmgp", "3.1.0");
    fs_err::write(
        d.upstream.join("requirements.txt"),
        format!(
            "--no-index\n--find-links {}\ntorch\nmmgp==3.1.0\n",
            wheels.display()
        ),
    )
    .unwrap();
    let mut cfg = config(&d, "");
    cfg.project.python = python.display().to_string();
    let c = ctx(&cfg, &d);
    let fix = PythonDeps
        .apply(
            &c,
            &failure(
                &d,
                FailureClass::MissingModule {
                    module: "mmgp".into(),
                },
            ),
        )
        .expect("pip runs")
        .expect("the missing module was installed");
    assert!(fix.summary.contains("mmgp"), "{}", fix.summary);
    // the environment changed, the tree did not
    assert!(fix.files.is_empty(), "{:?}", fix.files);
    let out = Command::new(&python)
        .args(["-c", "import mmgp; print(mmgp.VERSION)"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "3.1.0");
    let freeze = Command::new(&python)
        .args(["-m", "pip", "freeze"])
        .output()
        .unwrap();
    let freeze = String::from_utf8_lossy(&freeze.stdout);
    assert!(freeze.lines().any(|l| l == "torch==2.4.0"), "{freeze}");
}

#[test]
fn python_deps_pins_protected_packages_from_a_real_freeze() {
    let d = dirs();
    let python = venv(
        d.live.parent().unwrap(),
        &[("torch", "2.4.0"), ("mmgp", "3.1.0")],
    );
    // `--no-index`: pip never reaches the network; everything is installed.
    fs_err::write(
        d.upstream.join("requirements.txt"),
        "--no-index\ntorch\nmmgp\n",
    )
    .unwrap();
    let mut cfg = config(&d, "");
    cfg.project.python = python.display().to_string();
    let c = ctx(&cfg, &d);
    let reason = not_applicable(PythonDeps.apply(
        &c,
        &failure(
            &d,
            FailureClass::MissingModule {
                module: "mmgp".into(),
            },
        ),
    ));
    assert!(reason.contains("changed nothing"), "{reason}");
    let constraints = fs_err::read_to_string(d.context.join("constraints.txt")).unwrap();
    assert!(
        constraints.lines().any(|l| l == "torch==2.4.0"),
        "{constraints}"
    );
    assert!(!constraints.contains("mmgp"), "{constraints}");
    let installed = fs_err::read_to_string(d.context.join("install.stdout.log")).unwrap();
    assert!(
        installed.contains("Requirement already satisfied: torch"),
        "{installed}"
    );
    assert_eq!(
        python_deps::install_argv("py", Path::new("/u/requirements.txt"), Path::new("/c.txt")),
        [
            "py",
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-r",
            "/u/requirements.txt",
            "-c",
            "/c.txt"
        ]
    );
    let freeze = parse_freeze(
        "# c\nTorch==2.4.0+cu121\n-e git+https://x#egg=y\nmmgp @ file:///x\nfoo_bar[extra]==1.0\n",
    );
    assert_eq!(freeze.get("torch").map(String::as_str), Some("2.4.0+cu121"));
    assert_eq!(freeze.get("foo-bar").map(String::as_str), Some("1.0"));
    assert_eq!(freeze.len(), 2);
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

#[test]
fn external_fixer_gets_context_and_its_changes_are_listed() {
    let d = dirs();
    fs_err::write(d.tree.join("headless.py"), "x = 1\n").unwrap();
    git(&d.tree, &["init", "-q"]);
    git(&d.tree, &["add", "headless.py"]);
    git(&d.tree, &["commit", "-q", "-m", "init"]);
    // A dirty file copied from the live tree before: not the fixer's change.
    fs_err::write(d.tree.join("dirty.txt"), "before\n").unwrap();
    let cfg = config(
        &d,
        "[fix]\nexternal_command = \"sh -c 'cp {context_file} seen.md && echo y = 2 >> headless.py'\"\nexternal_timeout = \"30s\"",
    );
    let fix = External
        .apply(&ctx(&cfg, &d), &failure(&d, FailureClass::Unknown))
        .unwrap()
        .unwrap();
    assert_eq!(fix.files, ["headless.py", "seen.md"]);
    let seen = fs_err::read_to_string(d.tree.join("seen.md")).unwrap();
    assert!(
        seen.contains("## Failure\n\n- case: `vace_short` (model `vace_14B`)"),
        "{seen}"
    );
    assert!(seen.contains("Traceback (most recent call last):\nboom"));
    // A fixer that changes nothing does not count as an attempt.
    let cfg = config(&d, "[fix]\nexternal_command = \"true\"");
    let reason =
        not_applicable(External.apply(&ctx(&cfg, &d), &failure(&d, FailureClass::Unknown)));
    assert!(reason.contains("changed no file"), "{reason}");
}
