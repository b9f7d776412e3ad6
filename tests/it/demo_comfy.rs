//! The ComfyUI-shaped demo stack (`scripts/demo_comfy.py`, built through
//! `tether::demo::create_stack`): the app's install step clones each node
//! pack at its pin, each baseline case passes at the pinned bases, fails at
//! the members' tips with ComfyUI's validation messages, and passes again
//! once the workflow JSON is repaired the way the `workflow-inputs`
//! strategy repairs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use tether::analysis::Analysis;
use tether::analysis::diff::TreeDiff;
use tether::analysis::model::Integration;
use tether::config::Config;
use tether::demo::{DemoError, DemoStack};
use tether::fix::classify::WorkflowProblem;
use tether::fix::strategies::WorkflowInputs;
use tether::fix::{Failure, FailureClass, FixContext, Strategy};
use tether::upstream::CommitInfo;

use crate::support::git::git;

struct Stack {
    _tmp: tempfile::TempDir,
    stack: DemoStack,
    config: toml::Table,
    runs: PathBuf,
}

impl Stack {
    fn new() -> Stack {
        let tmp = tempfile::tempdir().unwrap();
        let stack = tether::demo::create_stack(&tmp.path().join("stack"), "python3").unwrap();
        let text = fs_err::read_to_string(&stack.config_path).unwrap();
        let config: toml::Table = text.parse().unwrap();
        let runs = tmp.path().join("runs");
        Stack {
            _tmp: tmp,
            stack,
            config,
            runs,
        }
    }

    fn app(&self) -> &Path {
        &self.stack.app
    }

    fn tip(&self, member: &str) -> String {
        let m = self.stack.member(member).unwrap();
        m.commits.last().unwrap().hash.clone()
    }

    fn cases(&self) -> Vec<(String, String, String)> {
        self.config["baseline"]["case"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_owned(),
                    c["command"].as_str().unwrap().to_owned(),
                    c["outputs"][0].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// Runs case `name` the way tether does: its command template, cwd =
    /// the app.
    fn run(&self, name: &str, tag: &str) -> (Output, PathBuf) {
        let (_, command, _) = self.cases().into_iter().find(|c| c.0 == name).unwrap();
        let out_dir = self.runs.join(tag).join(name);
        let command = command
            .replace("{python}", "python3")
            .replace("{output_dir}", &out_dir.display().to_string());
        let argv: Vec<&str> = command.split_whitespace().collect();
        let out = Command::new(argv[0])
            .args(&argv[1..])
            .current_dir(self.app())
            .output()
            .unwrap();
        (out, out_dir)
    }

    fn edit_workflow(&self, rel: &str, edit: impl FnOnce(&mut Value)) {
        let path = self.app().join(rel);
        let mut wf: Value = serde_json::from_str(&fs_err::read_to_string(&path).unwrap()).unwrap();
        edit(&mut wf);
        fs_err::write(&path, serde_json::to_string_pretty(&wf).unwrap()).unwrap();
    }
}

#[track_caller]
fn assert_passed(out: &Output, dir: &Path, ext: &str) {
    assert!(
        out.status.success(),
        "case failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written: Vec<String> = fs_err::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(ext))
        .collect();
    assert_eq!(
        written.len(),
        1,
        "outputs in {}: {written:?}",
        dir.display()
    );
}

#[test]
fn demo_stack_has_three_members_and_the_config_for_them() {
    let s = Stack::new();
    let names: Vec<&str> = s.stack.members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["comfyui", "vhs-mini", "ltx-mini"]);
    let kinds = |name: &str| -> Vec<String> {
        s.stack
            .member(name)
            .unwrap()
            .commits
            .iter()
            .map(|c| c.kind.clone())
            .collect()
    };
    assert_eq!(
        kinds("comfyui"),
        [
            "base",
            "harmless",
            "break: required input KSamplerMini.denoise",
            "harmless"
        ]
    );
    assert_eq!(
        kinds("vhs-mini"),
        [
            "base",
            "harmless",
            "break: input renamed VHS_VideoCombine.frame_rate -> fps"
        ]
    );
    assert_eq!(
        kinds("ltx-mini"),
        [
            "base",
            "risk: numpy<1.25 cannot hold with the core's numpy>=1.25.0",
            "harmless"
        ]
    );
    for m in &s.stack.members {
        assert_eq!(m.commits[0].hash, m.base);
        assert_eq!(git(&m.path, &["rev-parse", "main"]), s.tip(&m.name));
    }
    // The app: the core as a submodule at its base, the packs pinned by SHA.
    let core = s.stack.member("comfyui").unwrap();
    assert_eq!(
        git(&s.app().join("comfyui"), &["rev-parse", "HEAD"]),
        core.base
    );
    let pins = fs_err::read_to_string(s.app().join("studio/nodes_pinned.py")).unwrap();
    for name in ["vhs-mini", "ltx-mini"] {
        let m = s.stack.member(name).unwrap();
        let entry = format!(
            "    \"{name}\": ({}, \"{}\"),\n",
            serde_json::to_string(&m.path).unwrap(),
            m.base
        );
        assert_eq!(pins.matches(&entry).count(), 1, "{entry} in\n{pins}");
    }
    assert_eq!(git(s.app(), &["status", "--porcelain"]), "");

    let ups = s.config["upstream"].as_array().unwrap();
    assert_eq!(ups[0]["layout"].as_str(), Some("submodule"));
    for up in &ups[1..] {
        let name = up["name"].as_str().unwrap();
        assert_eq!(up["layout"].as_str(), Some("pinned"));
        assert_eq!(up["record_file"].as_str(), Some("studio/nodes_pinned.py"));
        assert_eq!(
            up["path"].as_str().unwrap(),
            format!("comfyui/custom_nodes/{name}")
        );
        assert_eq!(up["install"].as_str(), Some("python3 install_nodes.py"));
    }
    assert_eq!(
        s.config["group"][0]["members"],
        toml::Value::try_from(["comfyui", "vhs-mini", "ltx-mini"]).unwrap()
    );
    assert_eq!(
        s.config["integration"]["workflows"],
        toml::Value::try_from(["workflows/*.json"]).unwrap()
    );
    let strategies = s.config["update"]["strategies"].as_array().unwrap();
    assert!(
        strategies
            .iter()
            .any(|v| v.as_str() == Some("workflow-inputs"))
    );
    // One editor-format workflow beside the API-format ones.
    let editor: Value = serde_json::from_str(
        &fs_err::read_to_string(s.app().join("workflows/t2i_editor.json")).unwrap(),
    )
    .unwrap();
    assert!(editor["nodes"].is_array() && editor["links"].is_array());
}

#[test]
fn demo_stack_cases_pass_at_the_pins_fail_at_the_tips_and_pass_once_repaired() {
    let s = Stack::new();
    let app = s.app().to_owned();
    let install = Command::new("python3")
        .arg("install_nodes.py")
        .current_dir(&app)
        .output()
        .unwrap();
    assert!(
        install.status.success(),
        "{}",
        String::from_utf8_lossy(&install.stderr)
    );
    for name in ["vhs-mini", "ltx-mini"] {
        let dir = app.join("comfyui/custom_nodes").join(name);
        assert_eq!(
            git(&dir, &["rev-parse", "HEAD"]),
            s.stack.member(name).unwrap().base
        );
    }
    // The installed packs leave the app and its submodule clean.
    assert_eq!(git(&app, &["status", "--porcelain"]), "");

    let cases = s.cases();
    assert_eq!(
        cases.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
        ["t2i", "i2v"]
    );
    for (name, _, glob) in &cases {
        let (out, dir) = s.run(name, "base");
        assert_passed(&out, &dir, glob.trim_start_matches('*'));
    }

    // Every member at its tip.
    git(&app.join("comfyui"), &["checkout", "-q", &s.tip("comfyui")]);
    for name in ["vhs-mini", "ltx-mini"] {
        let dir = app.join("comfyui/custom_nodes").join(name);
        git(&dir, &["checkout", "-q", &s.tip(name)]);
    }
    let (out, _) = s.run("t2i", "tip");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Prompt outputs failed validation: KSamplerMini 5: Required input is missing: denoise\n"
    );
    let (out, _) = s.run("i2v", "tip");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Prompt outputs failed validation: KSamplerMini 5: Required input is missing: denoise\n\
         Prompt outputs failed validation: VHS_VideoCombine 8: Required input is missing: fps\n\
         Prompt outputs failed validation: VHS_VideoCombine 8: unexpected input 'frame_rate'\n"
    );

    // The two repairs: the new required input with its default, the renamed key.
    s.edit_workflow("workflows/t2i.json", |wf| {
        wf["5"]["inputs"]["denoise"] = json!(1.0);
    });
    s.edit_workflow("workflows/i2v.json", |wf| {
        wf["5"]["inputs"]["denoise"] = json!(1.0);
        let inputs = wf["8"]["inputs"].as_object_mut().unwrap();
        let rate = inputs.remove("frame_rate").unwrap();
        inputs.insert("fps".into(), rate);
    });
    for (name, _, glob) in &cases {
        let (out, dir) = s.run(name, "repaired");
        assert_passed(&out, &dir, glob.trim_start_matches('*'));
    }
}

/// The analysis' findings for the demo's two breaks, as the `comfy`
/// analysis reports them.
fn demo_findings() -> Analysis {
    use tether::analysis::comfy::{WorkflowAnalysis, WorkflowFinding, WorkflowFindingKind};
    use tether::analysis::python::PointSeverity;
    let finding = |wf: &str, node: &str, class: &str, input: &str, kind| WorkflowFinding {
        severity: PointSeverity::Breaking,
        workflow: wf.into(),
        node: node.into(),
        class_type: class.into(),
        input: Some(input.into()),
        kind,
        patched_at: Vec::new(),
        message: String::new(),
    };
    let denoise = || WorkflowFindingKind::RequiredInputMissing {
        kind: "FLOAT".into(),
        default: Some(json!(1.0)),
    };
    let commit = CommitInfo {
        id: "0".repeat(40),
        short: "0000000".into(),
        time: jiff::Timestamp::UNIX_EPOCH,
        author: "a".into(),
        subject: "s".into(),
    };
    Analysis {
        upstream: "comfyui".into(),
        wrapper: "studio".into(),
        generated_at: jiff::Timestamp::UNIX_EPOCH,
        from: commit.clone(),
        to: commit,
        commits: Vec::new(),
        diff: TreeDiff {
            files: Vec::new(),
            key_diffs: Vec::new(),
            totals: Default::default(),
            unreadable: Vec::new(),
        },
        requirements: Vec::new(),
        configs: Vec::new(),
        local_patch: None,
        integration: Integration {
            scanned_files: Vec::new(),
            api_modules: Vec::new(),
            findings: Vec::new(),
            counts: Default::default(),
            omitted: Vec::new(),
            partial: Vec::new(),
            untied_key_reads: 0,
        },
        workflows: Some(WorkflowAnalysis {
            workflows: vec!["workflows/i2v.json".into(), "workflows/t2i.json".into()],
            findings: vec![
                finding(
                    "workflows/i2v.json",
                    "8",
                    "VHS_VideoCombine",
                    "frame_rate",
                    WorkflowFindingKind::InputRenamed { to: "fps".into() },
                ),
                finding(
                    "workflows/i2v.json",
                    "5",
                    "KSamplerMini",
                    "denoise",
                    denoise(),
                ),
                finding(
                    "workflows/t2i.json",
                    "5",
                    "KSamplerMini",
                    "denoise",
                    denoise(),
                ),
            ],
            ..Default::default()
        }),
        checklist: Vec::new(),
        notes: Vec::new(),
        truncated: None,
        report_limit: 1 << 20,
    }
}

#[test]
fn demo_stack_tips_are_repaired_by_the_workflow_inputs_strategy() {
    let s = Stack::new();
    let app = s.app().to_owned();
    let install = Command::new("python3")
        .arg("install_nodes.py")
        .current_dir(&app)
        .output()
        .unwrap();
    assert!(install.status.success());
    git(&app.join("comfyui"), &["checkout", "-q", &s.tip("comfyui")]);
    git(
        &app.join("comfyui/custom_nodes/vhs-mini"),
        &["checkout", "-q", &s.tip("vhs-mini")],
    );
    let (out, _) = s.run("i2v", "tip");
    assert_eq!(out.status.code(), Some(1));
    // Classified from the case's stderr, as the fix loop does.
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let class = FailureClass::WorkflowValidation {
        class_type: "VHS_VideoCombine".into(),
        node: "8".into(),
        input: "frame_rate".into(),
        problem: WorkflowProblem::UnexpectedInput,
    };
    assert!(
        stderr
            .trim_end()
            .ends_with("VHS_VideoCombine 8: unexpected input 'frame_rate'")
    );
    let failure = Failure {
        case: "i2v".into(),
        target: None,
        model: "i2v".into(),
        params: json!({"workflow": "workflows/i2v.json"})
            .as_object()
            .unwrap()
            .clone(),
        signature: String::new(),
        message: stderr.lines().last().unwrap().to_owned(),
        detail: stderr.clone(),
        class,
        log_dir: s.runs.clone(),
        integration_points: Vec::new(),
    };
    let toml = format!(
        "[project]\nroot = {:?}\npython = \"python3\"\n[[upstream]]\nname = \"comfyui\"\n\
         url = \"u\"\npath = \"comfyui\"\nlayout = \"submodule\"\n",
        app.display().to_string()
    );
    let cfg = Config::parse(&toml, &app).unwrap();
    let analysis = demo_findings();
    let ctx = FixContext {
        cfg: &cfg,
        tree: &app,
        upstream_dir: &app.join("comfyui"),
        analysis: Some(&analysis),
        attempt: 1,
        context_dir: &s.runs.join("ctx"),
    };
    let before = fs_err::read_to_string(app.join("workflows/i2v.json")).unwrap();
    let fix = WorkflowInputs
        .apply(&ctx, &failure)
        .unwrap()
        .expect("a fix");
    assert_eq!(fix.files, ["workflows/i2v.json"]);
    assert_eq!(
        fix.commit_message.lines().next().unwrap(),
        "fix(workflow): workflows/i2v.json node 8 input frame_rate -> fps, node 5 adds denoise = 1.0"
    );
    let after = fs_err::read_to_string(app.join("workflows/i2v.json")).unwrap();
    assert_eq!(
        after,
        before
            .replace("\"frame_rate\": 8", "\"fps\": 8")
            .replace("\"steps\": 6\n", "\"steps\": 6,\n      \"denoise\": 1.0\n")
    );
    let (out, dir) = s.run("i2v", "fixed");
    assert_passed(&out, &dir, ".y4m");

    // The next failure, t2i's KSamplerMini 5 (also at i2v's node 5, which
    // is repaired already): only t2i changes.
    let (out, _) = s.run("t2i", "fixed");
    assert_eq!(out.status.code(), Some(1));
    let failure = Failure {
        case: "t2i".into(),
        params: json!({"workflow": "workflows/t2i.json"})
            .as_object()
            .unwrap()
            .clone(),
        class: FailureClass::WorkflowValidation {
            class_type: "KSamplerMini".into(),
            node: "5".into(),
            input: "denoise".into(),
            problem: WorkflowProblem::RequiredInputMissing,
        },
        ..failure
    };
    let fix = WorkflowInputs
        .apply(&ctx, &failure)
        .unwrap()
        .expect("a fix");
    assert_eq!(fix.files, ["workflows/t2i.json"]);
    assert_eq!(
        fs_err::read_to_string(app.join("workflows/i2v.json")).unwrap(),
        after
    );
    for (name, _, glob) in &s.cases() {
        let (out, dir) = s.run(name, "fixed-both");
        assert_passed(&out, &dir, glob.trim_start_matches('*'));
    }
}

#[test]
fn demo_stack_member_hashes_are_the_same_on_every_build() {
    let a = Stack::new();
    let b = Stack::new();
    assert_ne!(a.stack.root, b.stack.root);
    let hashes = |s: &Stack| -> Vec<Vec<String>> {
        s.stack
            .members
            .iter()
            .map(|m| m.commits.iter().map(|c| c.hash.clone()).collect())
            .collect()
    };
    assert_eq!(hashes(&a), hashes(&b));
}

#[test]
fn demo_stack_refuses_a_folder_that_is_not_empty() {
    let tmp = tempfile::tempdir().unwrap();
    fs_err::write(tmp.path().join("keep.txt"), "mine").unwrap();
    let err = tether::demo::create_stack(tmp.path(), "python3").unwrap_err();
    assert!(matches!(err, DemoError::NotEmpty { .. }), "{err}");
    assert_eq!(
        fs_err::read_to_string(tmp.path().join("keep.txt")).unwrap(),
        "mine"
    );
}

/// `tether demo --stack comfyui` end to end, as a new user runs it: the
/// analysis names both workflow breaks, one group update moves the core's
/// gitlink and both pins, the fix loop repairs the workflow JSON, and
/// nothing else in the pin file changes.
#[test]
fn tether_demo_stack_comfyui_promotes_every_member_and_repairs_the_workflows() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("stack");
    let out = crate::support::Tether::new(tmp.path()).run(&[
        "demo",
        "--stack",
        "comfyui",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    out.assert_code(0);
    assert!(
        out.stdout.contains("stack: promoted comfyui "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("dependency conflict: numpy (protected) — comfyui >=1.25.0, ltx-mini <1.25"),
        "{}",
        out.stdout
    );
    // each member's tip and its first commit (the pinned base)
    let manifest = |name: &str| -> (String, String) {
        let repo = dir.join(name);
        (
            git(&repo, &["rev-parse", "HEAD"]),
            git(&repo, &["rev-list", "--max-parents=0", "HEAD"]),
        )
    };
    let app = dir.join("studio");
    let (vhs_tip, vhs_base) = manifest("vhs-mini");
    let (ltx_tip, ltx_base) = manifest("ltx-mini");
    let (core_tip, _) = manifest("comfyui");

    // every pin moved, and only the pins: the file is the base's with the
    // two hashes replaced
    let pins = fs_err::read_to_string(app.join("studio/nodes_pinned.py")).unwrap();
    let before = git(&app, &["show", "HEAD~4:studio/nodes_pinned.py"]);
    assert_eq!(
        pins.trim_end(),
        before
            .replace(&vhs_base, &vhs_tip)
            .replace(&ltx_base, &ltx_tip)
            .trim_end()
    );
    assert_eq!(
        git(&app, &["rev-parse", "HEAD:comfyui"]),
        core_tip,
        "the core's gitlink"
    );
    let log = git(&app, &["log", "--format=%s", "-5"]);
    let subjects: Vec<&str> = log.lines().collect();
    assert!(subjects[0].starts_with("fix(workflow): "), "{log}");
    assert!(
        subjects[1].starts_with("chore(upstream): bump ltx-mini to "),
        "{log}"
    );
    assert!(
        subjects[2].starts_with("chore(upstream): bump vhs-mini to "),
        "{log}"
    );
    assert!(
        subjects[3].starts_with("chore(upstream): bump comfyui to "),
        "{log}"
    );

    // the workflow JSON repaired: the renamed key and the new input
    let i2v: Value =
        serde_json::from_str(&fs_err::read_to_string(app.join("workflows/i2v.json")).unwrap())
            .unwrap();
    assert!(i2v["8"]["inputs"].get("frame_rate").is_none(), "{i2v}");
    assert!(i2v["8"]["inputs"].get("fps").is_some(), "{i2v}");
    assert_eq!(i2v["5"]["inputs"]["denoise"], json!(1.0));

    // the analyses named both breaks before anything ran
    let findings = |member: &str| -> String {
        let root = dir.join("maintenance_analysis").join(member);
        let range = fs_err::read_dir(&root)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        fs_err::read_to_string(range.join("analysis.json")).unwrap()
    };
    let vhs: Value = serde_json::from_str(&findings("vhs-mini")).unwrap();
    let f = &vhs["workflows"]["findings"][0];
    assert_eq!(f["kind"]["change"], "input-renamed", "{f}");
    assert_eq!(f["kind"]["to"], "fps");
    assert_eq!(f["node"], "8");
    let core: Value = serde_json::from_str(&findings("comfyui")).unwrap();
    let kinds: Vec<&str> = core["workflows"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"]["change"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["required-input-missing", "required-input-missing"]);

    // the config the demo writes is a valid tether config
    Config::load(&dir.join("tether.toml")).unwrap();
}

/// The stack with no strategy that repairs workflows and `on_unfixable =
/// "adopt-last-good"`: two members break the group on their own (the core's
/// new required input, the pack's renamed input). The group bisect finds
/// both, bisects inside each to its breaking commit, holds each at the
/// commit before it and moves the third member to its target, in one
/// promotion; the next update leaves the held members alone.
#[test]
fn a_stack_with_two_breaking_members_holds_back_both_and_moves_the_third() {
    let tmp = tempfile::tempdir().unwrap();
    let stack = tether::demo::create_stack(&tmp.path().join("stack"), "python3").unwrap();
    let text = fs_err::read_to_string(&stack.config_path).unwrap();
    let start = text.find("strategies = [").unwrap();
    let end = start + text[start..].find('\n').unwrap();
    let text = format!(
        "{}strategies = [\"missing-inputs\"]\non_unfixable = \"adopt-last-good\"{}",
        &text[..start],
        &text[end..]
    );
    fs_err::write(&stack.config_path, text).unwrap();
    let commit = |name: &str, i: usize| stack.member(name).unwrap().commits[i].hash.clone();
    let tip = |name: &str| {
        stack
            .member(name)
            .unwrap()
            .commits
            .last()
            .unwrap()
            .hash
            .clone()
    };

    let t = crate::support::Tether::new(&stack.root);
    let out = t.run(&["update", "--json"]);
    out.assert_code(0);
    let r: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(r["outcome"]["kind"], "promoted", "{r:#}");
    let gb = &r["group_bisect"];
    let culprits: Vec<(String, String)> = gb["culprits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["members"][0].as_str().unwrap().to_owned(),
                c["first_bad"]["id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        culprits,
        [
            ("comfyui".to_owned(), commit("comfyui", 2)),
            ("vhs-mini".to_owned(), commit("vhs-mini", 2))
        ],
        "{gb:#}"
    );
    let app = &stack.app;
    assert_eq!(
        git(app, &["rev-parse", "HEAD:comfyui"]),
        commit("comfyui", 1)
    );
    let pins = fs_err::read_to_string(app.join("studio/nodes_pinned.py")).unwrap();
    assert!(pins.contains(&commit("vhs-mini", 1)), "{pins}");
    assert!(pins.contains(&tip("ltx-mini")), "{pins}");
    let md = fs_err::read_to_string(
        std::path::Path::new(r["report_dir"].as_str().unwrap()).join("update_report.md"),
    )
    .unwrap();
    assert!(
        md.contains("- Culprit: `comfyui`, first bad commit"),
        "{md}"
    );
    assert!(
        md.contains("- Culprit: `vhs-mini`, first bad commit"),
        "{md}"
    );

    // held back, both: nothing moves until the upstreams do
    let again = t.run(&["update"]);
    again.assert_code(0);
    assert!(
        again.stdout.contains("`comfyui` is held back at")
            && again.stdout.contains("`vhs-mini` is held back at"),
        "{}",
        again.stdout
    );
}
