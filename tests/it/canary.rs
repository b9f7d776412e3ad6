//! Canary cases (`runner = "torchscript"`) end to end: a tiny convolutional
//! decoder with a loop of denoising steps, exported by Python torch (the one
//! `scripts/install-torch.sh` provides) in the wrapper tree, run by the
//! tether-gpu worker, recorded, re-run, perturbed, reshaped, broken.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::Tether;

/// Exports the canary as `mode.txt` in the tree says.
const EXPORT_PY: &str = r#"import argparse, torch
from torch import nn
p = argparse.ArgumentParser()
p.add_argument("--out"); p.add_argument("--inputs")
a = p.parse_args()
mode = open("mode.txt").read().strip()
if mode == "fail":
    raise SystemExit("export: cannot import the upstream's VAE")
if mode == "empty":
    raise SystemExit(0)
if mode == "notscript":
    open(a.out, "w").write("not a TorchScript archive")
    raise SystemExit(0)
torch.manual_seed(0)

class Decoder(nn.Module):
    def __init__(self, size: int, nan: bool):
        super().__init__()
        self.up = nn.ConvTranspose2d(4, 8, 4, stride=2, padding=1)
        self.out = nn.Conv2d(8, 3, 3, padding=1)
        self.size = size
        self.nan = nan

    def forward(self, z):
        for _ in range(4):  # a short denoising loop
            z = z - 0.1 * torch.tanh(z)
        x = torch.sigmoid(self.out(torch.relu(self.up(z))))
        if self.size != 32:
            x = nn.functional.interpolate(x, size=[self.size, self.size])
        if self.nan:
            x = x / 0.0 * 0.0
        return x, {"latent_mean": z.mean()}

m = Decoder(16 if mode == "shape" else 32, mode == "nan")
if mode == "perturb":
    with torch.no_grad():
        m.out.weight.mul_(1.2)
torch.jit.script(m).save(a.out)

# the inputs, as safetensors written by hand (the package is not installed)
import json, struct
def save(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        values = t.contiguous().flatten().tolist()
        b = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b); off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h)
        for b in blobs: f.write(b)
if a.inputs:
    g = torch.Generator().manual_seed(1)
    save(a.inputs, {"z": torch.randn(1, 4, 16, 16, generator=g)})
"#;

fn torch_python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".libtorch/python");
    assert!(
        p.is_file(),
        "`{}` is missing: run scripts/install-torch.sh (scripts/test.sh does)",
        p.display()
    );
    p
}

struct World {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl World {
    fn new(case_extra: &str, extra: &str) -> World {
        let p = crate::support::project::temp_project(
            &torch_python().display().to_string(),
            &[
                ("export_canary.py", EXPORT_PY),
                ("ok.py", "print('ok')\n"),
                ("mode.txt", "clean"),
            ],
            &format!(
                r#"
[baseline]
timeout = "120s"

[[baseline.case]]
name = "decoder"
model = "vae"
runner = "torchscript"
export = "{{python}} export_canary.py --out {{module_path}} --inputs {{inputs_path}}"
device = "cpu"
warmup = 1
iterations = 3
{case_extra}
{extra}
"#
            ),
        );
        World {
            _tmp: p._tmp,
            dir: p.dir,
        }
    }

    fn mode(&self, m: &str) {
        fs_err::write(self.dir.join("wrapper/mode.txt"), m).unwrap();
    }

    fn json(&self, args: &[&str], code: i32) -> Value {
        let out = Tether::new(&self.dir).run(args);
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
        .unwrap_or_else(|| panic!("no case {name}"))
}

fn verdict<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["case"] == name)
        .unwrap()
}

#[test]
fn recorded_then_rerun_identically_passes_with_zero_error() {
    let w = World::new("", "");
    let rec = w.json(&["baseline", "record", "--json"], 0);
    let c = case(&rec, "decoder");
    let report = &c["canary"]["report"];
    assert_eq!(report["device"], "cpu");
    assert_eq!(report["latency_ms"].as_array().unwrap().len(), 3);
    let keys: Vec<&str> = report["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap())
        .collect();
    // a tuple of a tensor and a dict: keyed by position and name
    assert_eq!(keys, ["0", "1.latent_mean"]);
    assert_eq!(
        report["outputs"][0]["shape"],
        serde_json::json!([1, 3, 32, 32])
    );

    let v = w.json(&["baseline", "run", "--json"], 0);
    let c = case(&v, "decoder");
    let diffs = &c["canary"]["report"]["comparison"];
    for d in diffs.as_array().unwrap() {
        assert_eq!(d["max_abs_error"].as_f64(), Some(0.0), "{d}");
        assert!((d["cosine"].as_f64().unwrap() - 1.0).abs() < 1e-12, "{d}");
    }
    assert_eq!(
        diffs[0]["ssim"].as_f64().map(|s| (s * 1e6).round() / 1e6),
        Some(1.0)
    );
    assert_eq!(verdict(&v, "decoder")["verdict"], "pass");
}

#[test]
fn a_perturbed_weight_is_a_numeric_regression_with_the_figures() {
    let w = World::new("", "");
    w.json(&["baseline", "record", "--json"], 0);
    w.mode("perturb");
    let v = w.json(&["baseline", "run", "--json"], 10);
    let c = verdict(&v, "decoder");
    assert_eq!(c["verdict"], "regressed", "{c}");
    let text = c["regressions"].to_string();
    assert!(
        text.contains("numeric: canary output `0` max abs error") && text.contains("cosine"),
        "{text}"
    );
    let d = &case(&v, "decoder")["canary"]["report"]["comparison"][0];
    assert!(d["max_abs_error"].as_f64().unwrap() > 1e-3, "{d}");
}

#[test]
fn a_shape_change_or_nan_fails_the_case() {
    for (mode, expect) in [
        (
            "shape",
            "output `0` has shape [1, 3, 16, 16], the reference [1, 3, 32, 32]",
        ),
        ("nan", "NaN"),
    ] {
        let w = World::new("", "");
        w.json(&["baseline", "record", "--json"], 0);
        w.mode(mode);
        let v = w.json(&["baseline", "run", "--json"], 6);
        let c = case(&v, "decoder");
        assert_eq!(c["status"], "failed", "{mode}");
        let e = c["error"].as_str().unwrap();
        assert!(
            e.contains("the canary fails hard") && e.contains(expect),
            "{mode}: {e}"
        );
    }
}

#[test]
fn bad_exports_and_modules_are_clear_verdicts() {
    for (mode, case_extra, expect) in [
        (
            "fail",
            "",
            "the canary export failed (exit code 1): export: cannot import the upstream's VAE",
        ),
        ("empty", "", "the canary export wrote no module at"),
        (
            "notscript",
            "",
            "is not a TorchScript module libtorch can load",
        ),
        (
            "clean",
            "method = \"decode\"",
            "running `decode` of the module failed",
        ),
    ] {
        let w = World::new(case_extra, "");
        w.mode(mode);
        let v = w.json(&["baseline", "run", "--json"], 6);
        let e = case(&v, "decoder")["error"].as_str().unwrap().to_owned();
        assert!(e.contains(expect), "{mode}: {e}");
        assert!(!e.contains("frame #"), "a C++ backtrace leaked: {e}");
    }
}

#[test]
fn inputs_of_the_wrong_shape_described_in_the_config_fail_with_the_cause() {
    // the export writes no inputs file when --inputs is absent
    let w = World::new(
        "inputs = [{ name = \"z\", shape = [1, 5, 16, 16], fill = \"normal\", seed = 3 }]",
        "",
    );
    let cfg = w.dir.join("tether.toml");
    let text = fs_err::read_to_string(&cfg)
        .unwrap()
        .replace(" --inputs {inputs_path}", "");
    fs_err::write(&cfg, text).unwrap();
    let v = w.json(&["baseline", "run", "--json"], 6);
    let e = case(&v, "decoder")["error"].as_str().unwrap().to_owned();
    assert!(e.contains("running `forward` of the module failed"), "{e}");
    assert!(e.contains("channels"), "{e}");
}

#[test]
fn a_canary_that_fails_hard_runs_first_and_skips_the_expensive_cases() {
    let w = World::new(
        "",
        "\n[[baseline.case]]\nname = \"full\"\nmodel = \"t2v\"\ncommand = \"{python} ok.py\"\n",
    );
    // the canary is listed first here; order is by kind, not by listing
    w.mode("nan");
    let v = w.json(&["baseline", "run", "--json"], 6);
    let names: Vec<&str> = v["run"]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["decoder", "full"]);
    let full = case(&v, "full");
    assert_eq!(full["exit"], Value::Null, "the expensive case ran");
    assert!(
        full["error"]
            .as_str()
            .unwrap()
            .contains("canary `decoder` failed hard"),
        "{full}"
    );
    // a passing canary lets it run
    w.mode("clean");
    let v = w.json(&["baseline", "run", "--json"], 0);
    assert_eq!(case(&v, "full")["status"], "passed");
}

#[test]
fn canary_keys_on_a_command_case_are_config_errors() {
    let tmp = tempfile::tempdir().unwrap();
    fs_err::write(
        tmp.path().join("tether.toml"),
        "[[upstream]]\nname = \"a\"\nurl = \"u\"\npath = \"p\"\nlayout = \"clone\"\n\n[[baseline.case]]\nname = \"c\"\nexport = \"x\"\n\n[[baseline.case]]\nname = \"d\"\nrunner = \"torchscript\"\n",
    )
    .unwrap();
    let out = Tether::new(tmp.path()).run(&["config", "check"]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("baseline.case[0].export")
            && out
                .stderr
                .contains("only a `runner = \"torchscript\"` case takes this key"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("baseline.case[1].export"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_demo_with_torch_runs_its_canary_first_and_promotes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = Tether::new(tmp.path()).run(&[
        "demo",
        "--dir",
        dir.to_str().unwrap(),
        "--python",
        torch_python().to_str().unwrap(),
    ]);
    out.assert_code(0);
    assert!(out.stdout.contains("demo: promoted "), "{}", out.stdout);
    let report_dir = crate::support::update_dirs(&dir)
        .into_iter()
        .next()
        .unwrap();
    let v: Value =
        serde_json::from_str(&fs_err::read_to_string(report_dir.join("update.json")).unwrap())
            .unwrap();
    let first = &v["final_run"]["cases"][0];
    assert_eq!(first["name"], "vae_canary");
    assert_eq!(first["status"], "passed");
    assert_eq!(
        first["canary"]["report"]["outputs"][0]["shape"],
        serde_json::json!([1, 3, 48, 64])
    );
    let md = fs_err::read_to_string(report_dir.join("update_report.md")).unwrap();
    assert!(md.contains("- `vae_canary`: canary on "), "{md}");
}

#[test]
fn a_bf16_canary_runs_and_compares_in_bf16() {
    let w = World::new("dtype = \"bf16\"", "");
    let rec = w.json(&["baseline", "record", "--json"], 0);
    let report = &case(&rec, "decoder")["canary"]["report"];
    assert_eq!(report["dtype"], "bf16");
    assert_eq!(report["outputs"][0]["dtype"], "bf16", "{report}");
    let v = w.json(&["baseline", "run", "--json"], 0);
    assert_eq!(verdict(&v, "decoder")["verdict"], "pass");
    let d = &case(&v, "decoder")["canary"]["report"]["comparison"][0];
    assert_eq!(d["max_abs_error"].as_f64(), Some(0.0), "{d}");
}
