//! Tests of the wrapper scan: every point kind at the right line, aliases,
//! arguments.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

pub(crate) fn ctx() -> ScanContext {
    ScanContext {
        upstream_dir: "Wan2GP".into(),
        api_modules: ["wgp", "models", "shared"].map(String::from).into(),
        upstream_files: [
            "wgp.py",
            "defaults/vace_14B.json",
            "defaults/t2v.json",
            "models/wan/any2video.py",
        ]
        .map(String::from)
        .into(),
        config_names: BTreeMap::from([(
            "vace_14B".to_owned(),
            "defaults/vace_14B.json".to_owned(),
        )]),
    }
}

const WRAPPER: &str = r#"import os
import sys
import json
import importlib

ROOT = os.path.dirname(os.path.abspath(__file__))
WAN_DIR = os.path.join(ROOT, "Wan2GP")
sys.path.insert(0, WAN_DIR)
sys.path.append(os.path.join(ROOT, "Wan2GP"))
sys.path.insert(0, "/usr/lib/other")
os.chdir(WAN_DIR)

import wgp
import wgp as w
import models.wan.any2video as a2v
from wgp import generate_video, server_config as sc
from models.wan import any2video
from Wan2GP.shared.utils import notify
import torch
from .local import helper

def run(prompt, settings, my_f, my_g):
    out = w.generate_video(prompt, video_length=81, steps=30)
    generate_video(prompt, *extra, seed=1, **more)
    pipe = a2v.WanAny2V(settings, "ckpts", rank=0)
    path = w.server_config["save_path"]
    w.Cls.method(1, 2)
    w.f = my_f
    setattr(w, "g", my_g)
    mod = importlib.import_module("wgp")
    mod.load_models("name")
    cfg = json.load(open("Wan2GP/defaults/vace_14B.json"))
    other = os.path.join(ROOT, "Wan2GP", "defaults", "t2v.json")
    model = "vace_14B"
    steps = settings.get("num_inference_steps", 30)
    guide = cfg["guidance_scale"]
    cfg["written"] = 1
    torch.cuda.empty_cache()
    helper.run(out)
    any2video.WanAny2V(settings)

class Worker:
    def __init__(self):
        import wgp as lazy
        self.wgp = lazy
        self.wgp.offload()
        self.gen = lazy.generate_video
        self.gen(None)
"#;

/// The 1-based line containing `needle`; a needle ending in a newline
/// must match the whole (trimmed) line.
fn line_of(src: &str, needle: &str) -> usize {
    src.lines()
        .position(|l| match needle.strip_suffix('\n') {
            Some(whole) => l.trim() == whole,
            None => l.contains(needle),
        })
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle} not in source"))
}

fn scan() -> WrapperScan {
    scan_wrapper(&[SourceFile::new("worker.py", WRAPPER)], &ctx())
}

fn find<'a>(s: &'a WrapperScan, kind: PointKind, target: &str) -> Vec<&'a IntegrationPoint> {
    s.points
        .iter()
        .filter(|p| p.kind == kind && p.target == target)
        .collect()
}

fn one<'a>(s: &'a WrapperScan, kind: PointKind, target: &str) -> &'a IntegrationPoint {
    let found = find(s, kind, target);
    assert_eq!(found.len(), 1, "{kind:?} {target}: {:#?}", s.points);
    found[0]
}

#[test]
fn imports_of_every_form() {
    let s = scan();
    assert!(s.partial.is_empty(), "{:?}", s.partial);
    let imports = find(&s, PointKind::Import, "wgp");
    assert_eq!(imports.len(), 3); // import wgp, import wgp as w, the local one
    assert_eq!(imports[0].line, line_of(WRAPPER, "import wgp\n"));
    assert_eq!(imports[2].line, line_of(WRAPPER, "import wgp as lazy"));
    let a2v = one(&s, PointKind::Import, "models.wan.any2video");
    assert_eq!(
        a2v.line,
        line_of(WRAPPER, "import models.wan.any2video as a2v")
    );
    let gv = one(&s, PointKind::FromImport, "wgp.generate_video");
    assert_eq!(
        gv.snippet,
        "from wgp import generate_video, server_config as sc"
    );
    one(&s, PointKind::FromImport, "wgp.server_config");
    one(&s, PointKind::FromImport, "models.wan.any2video");
    // The upstream folder prefix is stripped.
    let notify = one(&s, PointKind::FromImport, "shared.utils.notify");
    assert_eq!(notify.line, line_of(WRAPPER, "from Wan2GP.shared"));
    let dynamic = one(&s, PointKind::DynamicImport, "wgp");
    assert_eq!(dynamic.line, line_of(WRAPPER, "importlib.import_module"));
    // Standard library, third-party and relative imports are not points.
    assert!(s.points.iter().all(|p| !p.target.starts_with("torch")
        && !p.target.starts_with("os")
        && !p.target.contains("helper")
        && !p.target.starts_with("json")));
}

#[test]
fn calls_through_aliases_with_arguments() {
    let s = scan();
    let call = find(&s, PointKind::Call, "wgp.generate_video");
    assert_eq!(call.len(), 3, "{call:#?}");
    assert_eq!(call[0].line, line_of(WRAPPER, "w.generate_video(prompt"));
    assert_eq!(call[0].keywords, vec!["video_length", "steps"]);
    assert_eq!(call[0].positional_args, 1);
    assert!(!call[0].star_args && !call[0].star_kwargs);
    // From-imported name, with *args and **kwargs.
    assert_eq!(
        call[1].line,
        line_of(WRAPPER, "generate_video(prompt, *extra")
    );
    assert_eq!(call[1].keywords, vec!["seed"]);
    assert!(call[1].star_args && call[1].star_kwargs);
    // Alias stored on self via an assignment.
    assert_eq!(call[2].line, line_of(WRAPPER, "self.gen(None)"));

    let cls = find(&s, PointKind::Call, "models.wan.any2video.WanAny2V");
    assert_eq!(cls.len(), 2);
    assert_eq!(cls[0].line, line_of(WRAPPER, "a2v.WanAny2V("));
    assert_eq!(cls[0].keywords, vec!["rank"]);
    assert_eq!(cls[0].positional_args, 2);
    assert_eq!(
        cls[1].line,
        line_of(WRAPPER, "any2video.WanAny2V(settings)")
    );

    let chained = one(&s, PointKind::Call, "wgp.Cls.method");
    assert_eq!(chained.positional_args, 2);
    let dynamic = one(&s, PointKind::Call, "wgp.load_models");
    assert_eq!(dynamic.line, line_of(WRAPPER, "mod.load_models"));
    let via_self = one(&s, PointKind::Call, "wgp.offload");
    assert_eq!(via_self.line, line_of(WRAPPER, "self.wgp.offload()"));
    // Attribute uses of other objects are not points.
    assert!(
        s.points
            .iter()
            .all(|p| !p.target.contains("empty_cache") && !p.target.contains("run"))
    );
}

#[test]
fn reads_and_monkeypatches() {
    let s = scan();
    let read = one(&s, PointKind::AttributeRead, "wgp.server_config");
    assert_eq!(
        read.line,
        line_of(WRAPPER, "w.server_config[\"save_path\"]")
    );
    let patch = one(&s, PointKind::Monkeypatch, "wgp.f");
    assert_eq!(patch.line, line_of(WRAPPER, "w.f = my_f"));
    let set = one(&s, PointKind::Monkeypatch, "wgp.g");
    assert_eq!(set.line, line_of(WRAPPER, "setattr(w"));
    // `self.gen = lazy.generate_video` reads it.
    let alias_read = one(&s, PointKind::AttributeRead, "wgp.generate_video");
    assert_eq!(alias_read.line, line_of(WRAPPER, "self.gen = lazy"));
}

#[test]
fn environment_setup() {
    let s = scan();
    let inserts = find(&s, PointKind::SysPathInsert, "Wan2GP");
    let lines: Vec<usize> = inserts.iter().map(|p| p.line).collect();
    assert_eq!(
        lines,
        vec![
            line_of(WRAPPER, "sys.path.insert(0, WAN_DIR)"),
            line_of(WRAPPER, "sys.path.append")
        ]
    );
    let chdir = one(&s, PointKind::Chdir, "Wan2GP");
    assert_eq!(chdir.line, line_of(WRAPPER, "os.chdir"));
}

#[test]
fn file_and_config_references() {
    let s = scan();
    let vace = one(&s, PointKind::FileReference, "defaults/vace_14B.json");
    assert_eq!(vace.line, line_of(WRAPPER, "open(\"Wan2GP/defaults"));
    let joined = one(&s, PointKind::FileReference, "defaults/t2v.json");
    assert_eq!(joined.line, line_of(WRAPPER, "other = os.path.join"));
    let model = one(
        &s,
        PointKind::ModelConfigReference,
        "defaults/vace_14B.json",
    );
    assert_eq!(model.line, line_of(WRAPPER, "model = \"vace_14B\""));
}

#[test]
fn string_key_reads() {
    let s = scan();
    let keys: Vec<(&str, usize)> = s
        .key_reads
        .iter()
        .map(|k| (k.key.as_str(), k.line))
        .collect();
    assert!(keys.contains(&(
        "save_path",
        line_of(WRAPPER, "w.server_config[\"save_path\"]")
    )));
    assert!(keys.contains(&("num_inference_steps", line_of(WRAPPER, "settings.get("))));
    assert!(keys.contains(&(
        "guidance_scale",
        line_of(WRAPPER, "cfg[\"guidance_scale\"]")
    )));
    // Writes are not reads.
    assert!(!keys.iter().any(|(k, _)| *k == "written"));
}

#[test]
fn pathlib_division_names_a_file() {
    let src = "from pathlib import Path\nCFG = Path(__file__).parent / \"Wan2GP\" / \"defaults\" / \"t2v.json\"\n";
    let s = scan_wrapper(&[SourceFile::new("a.py", src)], &ctx());
    let p = one(&s, PointKind::FileReference, "defaults/t2v.json");
    assert_eq!(p.line, 2);
}

#[test]
fn api_modules_may_be_dotted_prefixes() {
    let mut c = ctx();
    c.api_modules = BTreeSet::from(["models.wan".to_owned()]);
    let src = "import models.wan.any2video as a\nimport models.other\na.WanAny2V(1)\n";
    let s = scan_wrapper(&[SourceFile::new("a.py", src)], &c);
    let targets: Vec<(PointKind, &str)> = s
        .points
        .iter()
        .map(|p| (p.kind, p.target.as_str()))
        .collect();
    assert_eq!(
        targets,
        vec![
            (PointKind::Import, "models.wan.any2video"),
            (PointKind::Call, "models.wan.any2video.WanAny2V")
        ]
    );
}

#[test]
fn file_with_syntax_error_is_partial_but_scanned() {
    let src = "import wgp\n\ndef broken(:\n    pass\n\nwgp.generate_video(\"p\", frame_num=5)\n";
    let s = scan_wrapper(&[SourceFile::new("bad.py", src)], &ctx());
    assert_eq!(s.partial.len(), 1);
    assert_eq!(s.partial[0].path, "bad.py");
    assert_eq!(s.partial[0].error_lines, vec![3]);
    let call = one(&s, PointKind::Call, "wgp.generate_video");
    assert_eq!(call.line, 6);
    assert_eq!(call.keywords, vec!["frame_num"]);
}

#[test]
fn upstream_dir_is_normalised() {
    let mut c = ctx();
    c.upstream_dir = "./vendor/Wan2GP/".into();
    let src = "import sys\nsys.path.insert(0, 'vendor/Wan2GP')\nfrom vendor.Wan2GP import wgp\nP = 'vendor/Wan2GP/defaults/t2v.json'\n";
    let s = scan_wrapper(&[SourceFile::new("a.py", src)], &c);
    let got: Vec<(PointKind, &str, usize)> = s
        .points
        .iter()
        .map(|p| (p.kind, p.target.as_str(), p.line))
        .collect();
    assert_eq!(
        got,
        vec![
            (PointKind::SysPathInsert, "vendor/Wan2GP", 2),
            (PointKind::FromImport, "wgp", 3),
            (PointKind::FileReference, "defaults/t2v.json", 4),
        ]
    );
}

#[test]
fn a_file_scanned_in_pieces_gives_what_it_gives_whole() {
    let file = SourceFile::new("worker.py", WRAPPER);
    // every top-level statement a piece of its own
    let ps = pieces(WRAPPER, 0, 1);
    assert!(ps.len() >= 20, "{}", ps.len());
    let mut split = WrapperScan::default();
    scan_in_pieces(&file, &ps, &ctx(), &mut split);
    assert_eq!(split, scan());

    // a syntax error is reported at its line in the whole file
    let broken = WRAPPER.replace("def run(prompt", "def run(prompt,,");
    let file = SourceFile::new("worker.py", broken.as_str());
    let mut split = WrapperScan::default();
    scan_in_pieces(&file, &pieces(&broken, 0, 1), &ctx(), &mut split);
    let whole = scan_wrapper([&file], &ctx());
    assert_eq!(split.partial, whole.partial);
    assert_eq!(
        split.partial[0].error_lines,
        [line_of(&broken, "def run(prompt,,")]
    );
}
