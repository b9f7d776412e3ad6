//! End-to-end tests of the Python analysis: an old and a new upstream, a
//! wrapper, and the finding each change produces at the wrapper's points.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

fn files(list: &[(&str, &str)]) -> Vec<SourceFile> {
    list.iter().map(|(p, t)| SourceFile::new(*p, *t)).collect()
}

fn scan_ctx(upstream_files: &[&str]) -> ScanContext {
    ScanContext {
        upstream_dir: "Wan2GP".into(),
        api_modules: ["wgp", "models", "shared"].map(String::from).into(),
        upstream_files: upstream_files.iter().map(|s| s.to_string()).collect(),
        config_names: BTreeMap::from([
            ("vace_14B".to_owned(), "defaults/vace_14B.json".to_owned()),
            ("t2v".to_owned(), "defaults/t2v.json".to_owned()),
        ]),
    }
}

struct Case {
    old: Vec<(&'static str, &'static str)>,
    new: Vec<(&'static str, &'static str)>,
    wrapper: Vec<(&'static str, &'static str)>,
    ctx: ResolveContext,
}

impl Case {
    fn new(old: &'static str, new: &'static str, wrapper: &'static str) -> Self {
        Self {
            old: vec![("wgp.py", old)],
            new: vec![("wgp.py", new)],
            wrapper: vec![("worker.py", wrapper)],
            ctx: ResolveContext {
                rename_similarity: 0.6,
                ..ResolveContext::default()
            },
        }
    }

    fn run(mut self) -> Vec<PointFinding> {
        let paths = |l: &[(&str, &str)]| {
            l.iter()
                .map(|(p, _)| p.to_string())
                .collect::<BTreeSet<_>>()
        };
        if self.ctx.old_files.is_empty() {
            self.ctx.old_files = paths(&self.old);
        }
        if self.ctx.new_files.is_empty() {
            self.ctx.new_files = paths(&self.new);
        }
        let old_files: Vec<&str> = self.ctx.old_files.iter().map(String::as_str).collect();
        let scan = scan_wrapper(&files(&self.wrapper), &scan_ctx(&old_files));
        let old = index_upstream(&files(&self.old));
        let new = index_upstream(&files(&self.new));
        assert!(old.partial.is_empty() && new.partial.is_empty());
        assert!(scan.partial.is_empty(), "{:?}", scan.partial);
        resolve(&scan.points, &scan.key_reads, &old, &new, &self.ctx)
    }
}

fn get<'a>(findings: &'a [PointFinding], kind: PointKind, target: &str) -> &'a PointFinding {
    let found: Vec<&PointFinding> = findings
        .iter()
        .filter(|f| f.point.kind == kind && f.point.target == target)
        .collect();
    assert_eq!(found.len(), 1, "{kind:?} {target} in {findings:#?}");
    found[0]
}

fn changes(f: &PointFinding) -> &[SignatureChange] {
    match &f.status {
        Status::SignatureChanged { changes } => changes,
        other => panic!("expected a signature change, got {other:?}"),
    }
}

const GENERATE: &str = r#"
def generate_video(task, prompt, video_length=81, steps=30, seed=None, **kwargs):
    frames = prepare(prompt, video_length)
    result = run_pipeline(frames, steps=steps, seed=seed)
    save(result, server_config["save_path"])
    return result
"#;

#[test]
fn unchanged_point_is_info_with_both_signatures() {
    let f = Case::new(
        GENERATE,
        GENERATE,
        "import wgp\nwgp.generate_video(t, 'p', steps=4)\n",
    )
    .run();
    let call = get(&f, PointKind::Call, "wgp.generate_video");
    assert_eq!(call.status, Status::Unchanged);
    assert_eq!(call.severity, PointSeverity::Info);
    assert_eq!(call.point.line, 2);
    let old = call.old.as_ref().unwrap();
    assert_eq!(
        old.signature,
        "generate_video(task, prompt, video_length=81, steps=30, seed=None, **kwargs)"
    );
    assert_eq!(old.line, 2);
    assert_eq!(call.new.as_ref().unwrap().signature, old.signature);
    assert_eq!(get(&f, PointKind::Import, "wgp").status, Status::Unchanged);
}

#[test]
fn function_removed() {
    let f = Case::new(
        "def legacy_helper(x):\n    return x * 2\n\ndef keep():\n    pass\n",
        "def keep():\n    pass\n",
        "from wgp import legacy_helper\nlegacy_helper(3)\n",
    )
    .run();
    let call = get(&f, PointKind::Call, "wgp.legacy_helper");
    assert_eq!(call.status, Status::Removed);
    assert_eq!(call.severity, PointSeverity::Breaking);
    assert_eq!(call.point.line, 2);
    assert!(
        call.message.contains("no longer exists"),
        "{}",
        call.message
    );
    assert_eq!(
        get(&f, PointKind::FromImport, "wgp.legacy_helper").status,
        Status::Removed
    );
}

#[test]
fn function_moved_to_another_module() {
    let mut case = Case::new(
        GENERATE,
        "import os\n",
        "import wgp\nwgp.generate_video(t, 'p')\n",
    );
    case.new.push(("shared/video.py", GENERATE));
    let f = case.run();
    let call = get(&f, PointKind::Call, "wgp.generate_video");
    assert_eq!(
        call.status,
        Status::Moved {
            to: "shared.video.generate_video".into()
        }
    );
    assert_eq!(call.severity, PointSeverity::Breaking);
    assert_eq!(call.new.as_ref().unwrap().module, "shared.video");
}

#[test]
fn function_renamed_with_similar_body() {
    let old = "def encode_prompt(text, tokenizer):\n    tokens = tokenizer(text)\n    tokens = pad(tokens, 512)\n    embeddings = model(tokens)\n    return embeddings.float()\n";
    let new = "def encode_prompts(text, tokenizer):\n    tokens = tokenizer(text)\n    tokens = pad(tokens, 512)\n    embeddings = model(tokens)\n    return embeddings.half()\n\ndef unrelated(a):\n    return a\n";
    let f = Case::new(old, new, "import wgp as w\nw.encode_prompt('x', tok)\n").run();
    let call = get(&f, PointKind::Call, "wgp.encode_prompt");
    let Status::Renamed { to, similarity } = &call.status else {
        panic!("expected a rename, got {:?}", call.status);
    };
    assert_eq!(to, "wgp.encode_prompts");
    assert!(*similarity >= 0.6 && *similarity <= 1.0, "{similarity}");
    assert_eq!(call.severity, PointSeverity::Breaking);
}

#[test]
fn renamed_keyword_the_wrapper_passes_breaks() {
    let new = GENERATE.replace("video_length", "frame_num");
    let new: &'static str = Box::leak(new.into_boxed_str());
    let old_no_kwargs: &'static str =
        Box::leak(GENERATE.replace(", **kwargs", "").into_boxed_str());
    let new_no_kwargs: &'static str = Box::leak(new.replace(", **kwargs", "").into_boxed_str());
    let wrapper = "import wgp\nwgp.generate_video(t, 'p', video_length=81, steps=30)\n";
    let f = Case::new(old_no_kwargs, new_no_kwargs, wrapper).run();
    let call = get(&f, PointKind::Call, "wgp.generate_video");
    assert_eq!(call.severity, PointSeverity::Breaking);
    let c = changes(call);
    assert!(c.contains(&SignatureChange::ParameterRenamed {
        from: "video_length".into(),
        to: "frame_num".into()
    }));
    assert!(c.contains(&SignatureChange::KeywordNotAccepted {
        name: "video_length".into()
    }));
    assert!(call.message.contains("video_length"), "{}", call.message);
    // With **kwargs kept, the keyword is still accepted: only at risk.
    let f = Case::new(GENERATE, new, wrapper).run();
    let call = get(&f, PointKind::Call, "wgp.generate_video");
    assert_eq!(
        changes(call),
        &[SignatureChange::ParameterRenamed {
            from: "video_length".into(),
            to: "frame_num".into()
        }]
    );
    assert_eq!(call.severity, PointSeverity::Breaking); // passed by keyword
}

#[test]
fn new_required_parameter() {
    let old = "def load_models(model_type, profile=4):\n    return build(model_type, profile)\n";
    let new = "def load_models(model_type, profile=4, *, device):\n    return build(model_type, profile, device)\n";
    let f = Case::new(old, new, "import wgp\nwgp.load_models('t2v')\n").run();
    let call = get(&f, PointKind::Call, "wgp.load_models");
    assert_eq!(
        changes(call),
        &[SignatureChange::NewRequiredParameter {
            name: "device".into()
        }]
    );
    assert_eq!(call.severity, PointSeverity::Breaking);
    // The import alone is only at risk when nothing calls it in that file.
    let f = Case::new(
        old,
        new,
        "from wgp import load_models\nregistry = [load_models]\n",
    )
    .run();
    let import = get(&f, PointKind::FromImport, "wgp.load_models");
    assert_eq!(import.severity, PointSeverity::AtRisk);
}

#[test]
fn default_changed_is_at_risk() {
    let old = "def load_models(model_type, profile=4):\n    return build(model_type, profile)\n";
    let new = "def load_models(model_type, profile=2):\n    return build(model_type, profile)\n";
    let f = Case::new(old, new, "import wgp\nwgp.load_models('t2v')\n").run();
    let call = get(&f, PointKind::Call, "wgp.load_models");
    assert_eq!(
        changes(call),
        &[SignatureChange::DefaultChanged {
            name: "profile".into(),
            from: Some("4".into()),
            to: Some("2".into())
        }]
    );
    assert_eq!(call.severity, PointSeverity::AtRisk);
}

#[test]
fn var_kwargs_removed() {
    let no_kwargs: &'static str = Box::leak(GENERATE.replace(", **kwargs", "").into_boxed_str());
    let wrapper = "import wgp\nwgp.generate_video(t, 'p', steps=3)\nwgp.generate_video(t, 'p', guidance=5.0)\n";
    let f = Case::new(GENERATE, no_kwargs, wrapper).run();
    let calls: Vec<&PointFinding> = f
        .iter()
        .filter(|f| f.point.kind == PointKind::Call)
        .collect();
    assert_eq!(changes(calls[0]), &[SignatureChange::VarKwargsRemoved]);
    assert_eq!(calls[0].severity, PointSeverity::AtRisk);
    assert_eq!(
        changes(calls[1]),
        &[
            SignatureChange::VarKwargsRemoved,
            SignatureChange::KeywordNotAccepted {
                name: "guidance".into()
            }
        ]
    );
    assert_eq!(calls[1].severity, PointSeverity::Breaking);
}

#[test]
fn optional_parameter_removed_not_passed_is_compatible() {
    let old = "def f(a, b=1, c=2):\n    pass\n";
    let new = "def f(a, b=1):\n    pass\n";
    let f = Case::new(old, new, "import wgp\nwgp.f(1)\nwgp.f(1, 2, 3)\n").run();
    let calls: Vec<&PointFinding> = f
        .iter()
        .filter(|f| f.point.kind == PointKind::Call)
        .collect();
    assert_eq!(
        changes(calls[0]),
        &[SignatureChange::ParameterRemoved { name: "c".into() }]
    );
    // an optional parameter the call never passes cannot break it
    assert_eq!(calls[0].severity, PointSeverity::Info);
    assert!(
        changes(calls[1]).contains(&SignatureChange::TooManyPositional {
            passed: 3,
            accepted: 2
        })
    );
    assert_eq!(calls[1].severity, PointSeverity::Breaking);
}

#[test]
fn kind_changed_and_unresolved() {
    let old = "server_config = {}\nclass Pipe:\n    def __init__(self, a):\n        pass\n";
    let new = "def server_config():\n    return {}\nPipe = None\n";
    let f = Case::new(
        old,
        new,
        "import wgp\nwgp.Pipe(1)\nx = wgp.server_config\nwgp.nowhere()\n",
    )
    .run();
    let pipe = get(&f, PointKind::Call, "wgp.Pipe");
    assert_eq!(
        pipe.status,
        Status::KindChanged {
            from: "class".into(),
            to: "variable".into()
        }
    );
    assert_eq!(pipe.severity, PointSeverity::Breaking);
    let read = get(&f, PointKind::AttributeRead, "wgp.server_config");
    assert_eq!(read.severity, PointSeverity::AtRisk);
    let nowhere = get(&f, PointKind::Call, "wgp.nowhere");
    assert_eq!(nowhere.status, Status::Unresolved);
    assert_eq!(nowhere.severity, PointSeverity::Info);
}

#[test]
fn module_removed_or_moved_by_rename() {
    let mut case = Case::new(
        "x = 1\n",
        "x = 1\n",
        "import models.wan.any2video as a2v\nimport models.old_thing\na2v.WanAny2V(cfg)\n",
    );
    let a2v = "class WanAny2V:\n    def __init__(self, config):\n        self.config = config\n";
    case.old.push(("models/wan/any2video.py", a2v));
    case.old
        .push(("models/old_thing.py", "def f():\n    pass\n"));
    case.new.push(("models/wan/pipeline.py", a2v));
    case.ctx.renamed_files = BTreeMap::from([(
        "models/wan/any2video.py".to_owned(),
        "models/wan/pipeline.py".to_owned(),
    )]);
    let f = case.run();
    assert_eq!(
        get(&f, PointKind::Import, "models.wan.any2video").status,
        Status::Moved {
            to: "models.wan.pipeline".into()
        }
    );
    assert_eq!(
        get(&f, PointKind::Call, "models.wan.any2video.WanAny2V").status,
        Status::Moved {
            to: "models.wan.pipeline.WanAny2V".into()
        }
    );
    let gone = get(&f, PointKind::Import, "models.old_thing");
    assert_eq!(gone.status, Status::ModuleRemoved);
    assert_eq!(gone.severity, PointSeverity::Breaking);
}

#[test]
fn re_exports_are_followed() {
    let mut case = Case::new(
        "from shared.utils import notify\n",
        "from shared.notify import notify\n",
        "from wgp import notify\nnotify('hi')\n",
    );
    case.old
        .push(("shared/utils.py", "def notify(msg):\n    print(msg)\n"));
    case.new.push((
        "shared/notify.py",
        "def notify(msg, level=0):\n    print(msg)\n",
    ));
    let f = case.run();
    let call = get(&f, PointKind::Call, "wgp.notify");
    assert_eq!(call.status, Status::Unchanged, "{}", call.message);
    assert_eq!(call.new.as_ref().unwrap().module, "shared.notify");
}

#[test]
fn config_renamed_and_file_removed() {
    let mut case = Case::new(
        "x = 1\n",
        "x = 1\n",
        "import json\nMODEL = 'vace_14B'\ncfg = json.load(open('Wan2GP/defaults/t2v.json'))\n",
    );
    case.ctx.old_files = ["wgp.py", "defaults/vace_14B.json", "defaults/t2v.json"]
        .map(String::from)
        .into();
    case.ctx.new_files = ["wgp.py", "defaults/vace_14B_2_1.json"]
        .map(String::from)
        .into();
    case.ctx.renamed_files = BTreeMap::from([(
        "defaults/vace_14B.json".to_owned(),
        "defaults/vace_14B_2_1.json".to_owned(),
    )]);
    let f = case.run();
    let model = get(
        &f,
        PointKind::ModelConfigReference,
        "defaults/vace_14B.json",
    );
    assert_eq!(
        model.status,
        Status::ConfigRenamed {
            to: "defaults/vace_14B_2_1.json".into()
        }
    );
    assert_eq!(model.severity, PointSeverity::Breaking);
    assert_eq!(model.point.line, 2);
    let file = get(&f, PointKind::FileReference, "defaults/t2v.json");
    assert_eq!(file.status, Status::FileRemoved);
    assert_eq!(file.severity, PointSeverity::Breaking);
    assert_eq!(file.point.line, 3);
}

#[test]
fn removed_config_key_read_by_the_wrapper() {
    let mut case = Case::new(
        "x = 1\n",
        "x = 1\n",
        "cfg = load('vace_14B')\nsteps = cfg['flow_shift']\n",
    );
    case.wrapper
        .push(("other.py", "def f(d):\n    return d.get('flow_shift', 5)\n"));
    case.ctx.old_files = ["wgp.py", "defaults/vace_14B.json"]
        .map(String::from)
        .into();
    case.ctx.new_files = case.ctx.old_files.clone();
    case.ctx.removed_config_keys = vec![(
        "defaults/vace_14B.json".to_owned(),
        "model.flow_shift".to_owned(),
    )];
    let f = case.run();
    let reads: Vec<&PointFinding> = f
        .iter()
        .filter(|f| f.point.kind == PointKind::ConfigKeyRead)
        .collect();
    // Only the read of the value loaded by the model's name is listed; the
    // same key on an unrelated dict in other.py is not.
    assert_eq!(reads.len(), 1, "{reads:#?}");
    let expected = Status::ConfigKeyRemoved {
        config: "defaults/vace_14B.json".into(),
        key: "model.flow_shift".into(),
    };
    assert_eq!(
        (reads[0].point.file.as_str(), reads[0].point.line),
        ("worker.py", 2)
    );
    assert_eq!(reads[0].status, expected);
    assert_eq!(reads[0].severity, PointSeverity::AtRisk);
    assert!(
        reads[0]
            .message
            .contains("a call naming the model of `defaults/vace_14B.json` returned at line 1"),
        "{}",
        reads[0].message
    );
}

#[test]
fn wrapper_with_syntax_error_still_resolves() {
    let wrapper = vec![SourceFile::new(
        "bad.py",
        "import wgp\ndef broken(:\n    pass\nwgp.gone()\n",
    )];
    let scan = scan_wrapper(&wrapper, &scan_ctx(&["wgp.py"]));
    assert_eq!(scan.partial[0].path, "bad.py");
    let old = index_upstream(&files(&[("wgp.py", "def gone():\n    pass\n")]));
    let new = index_upstream(&files(&[("wgp.py", "x = 1\n")]));
    let f = resolve(
        &scan.points,
        &scan.key_reads,
        &old,
        &new,
        &ResolveContext::default(),
    );
    let call = get(&f, PointKind::Call, "wgp.gone");
    assert_eq!(call.status, Status::Removed);
    assert_eq!(call.point.line, 4);
}

#[test]
fn setup_points_are_info() {
    let f = Case::new(
        "x = 1\n",
        "x = 1\n",
        "import sys\nsys.path.insert(0, 'Wan2GP')\n",
    )
    .run();
    let p = get(&f, PointKind::SysPathInsert, "Wan2GP");
    assert_eq!(p.status, Status::Unchanged);
    assert_eq!(p.severity, PointSeverity::Info);
}

#[test]
fn large_upstream_resolves_every_change() {
    let mut old = String::new();
    let mut new = String::new();
    for i in 0..1000 {
        let body = format!(
            "def func_{i}(a, b, c={i}, *, flag=False, **kwargs):\n    x = a + b * {i}\n    y = helper_{i}(x, c)\n    if flag:\n        y = y * 2\n    for k in kwargs:\n        y += len(k)\n    z = [y] * 3\n    return z\n\n"
        );
        old.push_str(&body);
        if i % 50 == 0 {
            // Renamed, with a changed body line.
            new.push_str(&body.replace(&format!("func_{i}("), &format!("function_{i}(")));
        } else if i % 50 == 1 {
            // Removed.
        } else if i % 10 == 0 {
            new.push_str(&body.replace("flag=False", "flag=True"));
        } else {
            new.push_str(&body);
        }
    }
    assert!(old.lines().count() >= 10_000);
    let mut wrapper = String::from("import wgp\n");
    for i in 0..300 {
        wrapper.push_str(&format!("wgp.func_{}(1, 2, c=3, extra=4)\n", i * 3));
    }
    let old_index = index_upstream(&[SourceFile::new("wgp.py", old)]);
    let new_index = index_upstream(&[SourceFile::new("wgp.py", new)]);
    let scan = scan_wrapper(&[SourceFile::new("w.py", wrapper)], &scan_ctx(&["wgp.py"]));
    let ctx = ResolveContext {
        rename_similarity: 0.6,
        ..ResolveContext::default()
    };
    let f = resolve(&scan.points, &scan.key_reads, &old_index, &new_index, &ctx);
    assert_eq!(scan.points.len(), 301);
    let renamed = get(&f, PointKind::Call, "wgp.func_150");
    assert!(
        matches!(&renamed.status, Status::Renamed { to, .. } if to == "wgp.function_150"),
        "{:?}",
        renamed.status
    );
    assert_eq!(
        get(&f, PointKind::Call, "wgp.func_51").status,
        Status::Removed
    );
    assert_eq!(
        get(&f, PointKind::Call, "wgp.func_30").severity,
        PointSeverity::AtRisk
    );
    assert_eq!(
        get(&f, PointKind::Call, "wgp.func_3").status,
        Status::Unchanged
    );
}

#[test]
fn config_removed_and_file_renamed() {
    let mut case = Case::new(
        "x = 1\n",
        "x = 1\n",
        "MODEL = 't2v'\nLORA = 'Wan2GP/loras/README.md'\n",
    );
    case.ctx.old_files = ["wgp.py", "defaults/t2v.json", "loras/README.md"]
        .map(String::from)
        .into();
    case.ctx.new_files = ["wgp.py", "docs/LORAS.md"].map(String::from).into();
    case.ctx.renamed_files =
        BTreeMap::from([("loras/README.md".to_owned(), "docs/LORAS.md".to_owned())]);
    let f = case.run();
    let model = get(&f, PointKind::ModelConfigReference, "defaults/t2v.json");
    assert_eq!(model.status, Status::ConfigRemoved);
    assert_eq!(model.severity, PointSeverity::Breaking);
    let file = get(&f, PointKind::FileReference, "loras/README.md");
    assert_eq!(
        file.status,
        Status::FileRenamed {
            to: "docs/LORAS.md".into()
        }
    );
    assert_eq!(file.point.line, 2);
}

#[test]
fn parameter_kind_changed_and_var_args_removed() {
    let old = "def run(task, mode='fast', *inputs):\n    pass\n";
    let new = "def run(task, *, mode='fast'):\n    pass\n";
    let f = Case::new(
        old,
        new,
        "import wgp\nwgp.run(t, 'slow')\nwgp.run(t, *xs)\n",
    )
    .run();
    let calls: Vec<&PointFinding> = f
        .iter()
        .filter(|f| f.point.kind == PointKind::Call)
        .collect();
    let first = changes(calls[0]);
    assert!(first.contains(&SignatureChange::ParameterKindChanged {
        name: "mode".into(),
        from: ParamKind::Positional,
        to: ParamKind::KeywordOnly
    }));
    assert!(first.contains(&SignatureChange::TooManyPositional {
        passed: 2,
        accepted: 1
    }));
    assert_eq!(calls[0].severity, PointSeverity::Breaking);
    assert!(changes(calls[1]).contains(&SignatureChange::VarArgsRemoved));
    assert_eq!(calls[1].severity, PointSeverity::Breaking);
}

#[test]
fn monkeypatch_of_removed_function_breaks() {
    let f = Case::new(
        "def notify_done(task):\n    send(task)\n",
        "x = 1\n",
        "import wgp\nwgp.notify_done = lambda task: None\n",
    )
    .run();
    let patch = get(&f, PointKind::Monkeypatch, "wgp.notify_done");
    assert_eq!(patch.status, Status::Removed);
    assert_eq!(patch.severity, PointSeverity::Breaking);
    assert_eq!(patch.point.line, 2);
}

#[test]
fn dropped_re_export_is_a_move() {
    let mut case = Case::new(
        "from shared.utils import notify\n",
        "x = 1\n",
        "from wgp import notify\n",
    );
    let utils = "def notify(msg):\n    print(msg)\n";
    case.old.push(("shared/utils.py", utils));
    case.new.push(("shared/utils.py", utils));
    let f = case.run();
    assert_eq!(
        get(&f, PointKind::FromImport, "wgp.notify").status,
        Status::Moved {
            to: "shared.utils.notify".into()
        }
    );
}

#[test]
fn a_renamed_keyword_pairs_by_name_not_with_a_new_required_positional() {
    // render(prompt, frames=16) -> render(prompt, fps, num_frames=16)
    let old = "def render(prompt, frames=16):\n    return prompt\n";
    let new = "def render(prompt, fps, num_frames=16):\n    return prompt\n";
    let f = Case::new(old, new, "import wgp\nwgp.render('p', frames=8)\n").run();
    let call = get(&f, PointKind::Call, "wgp.render");
    let c = changes(call);
    assert!(
        c.contains(&SignatureChange::ParameterRenamed {
            from: "frames".into(),
            to: "num_frames".into()
        }),
        "{c:?}"
    );
    assert!(
        c.contains(&SignatureChange::NewRequiredParameter { name: "fps".into() }),
        "{c:?}"
    );
    assert!(
        !c.iter()
            .any(|x| matches!(x, SignatureChange::ParameterRenamed { to, .. } if to == "fps")),
        "{c:?}"
    );
    assert_eq!(call.severity, PointSeverity::Breaking);

    // a call that never passes a renamed optional parameter stays compatible
    let new = "def render(prompt, num_frames=16):\n    return prompt\n";
    let f = Case::new(old, new, "import wgp\nwgp.render('p')\n").run();
    let call = get(&f, PointKind::Call, "wgp.render");
    assert_eq!(call.severity, PointSeverity::Info, "{:?}", changes(call));
}

#[test]
fn new_required_parameters_of_a_kwargs_call_break_unless_the_dict_supplies_them() {
    let old = "def load(model, **kw):\n    return model\n";
    let new = "def load(model, device, **kw):\n    return model\n";
    let wrapper = "import wgp\nopts = {k: v for k, v in params.items() if k in ALLOWED}\nwgp.load('t2v', **opts)\n";
    let f = Case::new(old, new, wrapper).run();
    let call = get(&f, PointKind::Call, "wgp.load");
    assert_eq!(
        changes(call),
        &[SignatureChange::NewRequiredUnlessKwargs {
            name: "device".into()
        }]
    );
    assert_eq!(call.severity, PointSeverity::Breaking);
    assert!(call.message.contains("unless"), "{}", call.message);
    assert!(call.message.contains("`device`"), "{}", call.message);

    // passing every required parameter explicitly is compatible
    let f = Case::new(old, new, "import wgp\nwgp.load('t2v', device='cuda')\n").run();
    let call = get(&f, PointKind::Call, "wgp.load");
    assert_eq!(call.severity, PointSeverity::Info, "{:?}", changes(call));
}

#[test]
fn an_ambiguous_rename_is_a_removal_the_fixer_does_not_guess() {
    let old = "def resize(img, size=1):\n    return img\n";
    // `scale` sits where `size` was, `size_px` has the closer name: neither
    // wins clearly
    let new = "def resize(img, scale=1, size_px=1):\n    return img\n";
    let f = Case::new(old, new, "import wgp\nwgp.resize(i, size=2)\n").run();
    let call = get(&f, PointKind::Call, "wgp.resize");
    let c = changes(call);
    assert!(
        c.contains(&SignatureChange::ParameterRemoved {
            name: "size".into()
        }),
        "{c:?}"
    );
    assert!(
        !c.iter()
            .any(|x| matches!(x, SignatureChange::ParameterRenamed { .. })),
        "{c:?}"
    );
    assert_eq!(call.severity, PointSeverity::Breaking);
}
