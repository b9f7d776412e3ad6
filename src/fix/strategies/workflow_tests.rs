//! The workflow-inputs strategy on real workflow files in a temp tree, with
//! the analysis' findings built here.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::*;
use crate::analysis::Analysis;
use crate::analysis::comfy::WorkflowAnalysis;
use crate::analysis::diff::{Totals, TreeDiff};
use crate::analysis::model::Integration;
use crate::analysis::python::PointSeverity;
use crate::config::Config;
use crate::fix::classify::WorkflowProblem;
use crate::upstream::CommitInfo;

const T2V: &str = r#"{
  "3": {
    "class_type": "KSamplerMini",
    "inputs": {
      "seed": 42,
      "steps": 4
    }
  },
  "7": {
    "class_type": "VHS_VideoCombine",
    "inputs": {
      "images": ["3", 0],
      "frame_rate": 8,
      "filename_prefix": "t2v"
    }
  }
}
"#;

const RUN_PY: &str = r#"import json


def load(path, width):
    wf = json.load(open(path))
    wf["3"]["inputs"]["steps"] = 4
    wf["7"]["inputs"]["frame_rate"] = 12
    wf['7']['inputs']['frame_rate'] = 12  # another line, not a finding
    return wf
"#;

fn commit() -> CommitInfo {
    CommitInfo {
        id: "0".repeat(40),
        short: "0000000".into(),
        time: jiff::Timestamp::UNIX_EPOCH,
        author: "a".into(),
        subject: "s".into(),
    }
}

fn analysis(findings: Vec<WorkflowFinding>) -> Analysis {
    Analysis {
        upstream: "vhs-mini".into(),
        wrapper: "studio".into(),
        generated_at: jiff::Timestamp::UNIX_EPOCH,
        from: commit(),
        to: commit(),
        commits: Vec::new(),
        diff: TreeDiff {
            files: Vec::new(),
            key_diffs: Vec::new(),
            totals: Totals::default(),
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
            workflows: vec!["workflows/t2v.json".into()],
            findings,
            ..Default::default()
        }),
        checklist: Vec::new(),
        notes: Vec::new(),
        truncated: None,
        report_limit: 1 << 20,
    }
}

fn finding(node: &str, class: &str, input: &str, kind: WorkflowFindingKind) -> WorkflowFinding {
    WorkflowFinding {
        severity: PointSeverity::Breaking,
        workflow: "workflows/t2v.json".into(),
        node: node.into(),
        class_type: class.into(),
        input: Some(input.into()),
        kind,
        patched_at: Vec::new(),
        message: String::new(),
    }
}

fn renamed() -> WorkflowFinding {
    let mut f = finding(
        "7",
        "VHS_VideoCombine",
        "frame_rate",
        WorkflowFindingKind::InputRenamed { to: "fps".into() },
    );
    f.patched_at = vec!["studio/run.py:7".into()];
    f
}

fn missing() -> WorkflowFinding {
    finding(
        "3",
        "KSamplerMini",
        "denoise",
        WorkflowFindingKind::RequiredInputMissing {
            kind: "FLOAT".into(),
            default: Some(json!(1.0)),
        },
    )
}

fn config(root: &Path) -> Config {
    let toml = format!(
        r#"[project]
root = "{}"
python = "python3"

[[upstream]]
name = "comfyui"
url = "https://example.invalid/comfyui.git"
path = "comfyui"
layout = "submodule"

[[baseline.case]]
name = "t2v"
model = "t2v"
"#,
        root.display()
    );
    Config::parse(&toml, root).unwrap_or_else(|e| panic!("{e:?}"))
}

fn tree() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("staged");
    fs_err::create_dir_all(tree.join("workflows")).unwrap();
    fs_err::create_dir_all(tree.join("studio")).unwrap();
    fs_err::create_dir_all(tree.join("comfyui")).unwrap();
    fs_err::write(tree.join("workflows/t2v.json"), T2V).unwrap();
    fs_err::write(tree.join("studio/run.py"), RUN_PY).unwrap();
    (tmp, tree)
}

fn failure(class_type: &str, node: &str, input: &str, problem: WorkflowProblem) -> Failure {
    Failure {
        case: "t2v".into(),
        model: "t2v".into(),
        params: serde_json::Map::new(),
        class: FailureClass::WorkflowValidation {
            class_type: class_type.into(),
            node: node.into(),
            input: input.into(),
            problem,
        },
        signature: String::new(),
        message: String::new(),
        detail: String::new(),
        log_dir: PathBuf::from("/nonexistent"),
        integration_points: Vec::new(),
        target: None,
    }
}

fn run(tree: &Path, a: &Analysis, f: &Failure) -> Result<Option<AppliedFix>, FixError> {
    let cfg = config(tree);
    let ctx = FixContext {
        cfg: &cfg,
        tree,
        upstream_dir: &tree.join("comfyui"),
        analysis: Some(a),
        attempt: 1,
        context_dir: &tree.join("ctx"),
    };
    WorkflowInputs.apply(&ctx, f)
}

#[test]
fn one_attempt_repairs_every_finding_of_the_failing_workflow() {
    let (_tmp, tree) = tree();
    let a = analysis(vec![renamed(), missing()]);
    // The validation named the missing input; the rename is repaired too.
    let f = failure(
        "KSamplerMini",
        "3",
        "denoise",
        WorkflowProblem::RequiredInputMissing,
    );
    assert!(WorkflowInputs.applies(&f));
    let fix = run(&tree, &a, &f).unwrap().expect("a fix");
    let text = fs_err::read_to_string(tree.join("workflows/t2v.json")).unwrap();
    let expected = T2V
        .replace("\"frame_rate\": 8", "\"fps\": 8")
        .replace("\"steps\": 4\n", "\"steps\": 4,\n      \"denoise\": 1.0\n");
    assert_eq!(text, expected);
    let py = fs_err::read_to_string(tree.join("studio/run.py")).unwrap();
    assert_eq!(
        py,
        RUN_PY.replacen(
            "wf[\"7\"][\"inputs\"][\"frame_rate\"]",
            "wf[\"7\"][\"inputs\"][\"fps\"]",
            1
        )
    );
    assert_eq!(fix.files, ["workflows/t2v.json", "studio/run.py"]);
    let subject = fix.commit_message.lines().next().unwrap();
    assert_eq!(
        subject,
        "fix(workflow): workflows/t2v.json node 7 input frame_rate -> fps, node 3 adds denoise = 1.0"
    );
    assert!(fix.commit_message.contains("studio/run.py:7"));

    // A second attempt has nothing left to do.
    let again = run(&tree, &a, &f).unwrap_err();
    assert!(matches!(again, FixError::NotApplicable { .. }), "{again}");
}

#[test]
fn findings_it_cannot_act_on_are_not_an_attempt() {
    let (_tmp, tree) = tree();
    let no_default = finding(
        "3",
        "KSamplerMini",
        "denoise",
        WorkflowFindingKind::RequiredInputMissing {
            kind: "FLOAT".into(),
            default: None,
        },
    );
    let f = failure(
        "KSamplerMini",
        "3",
        "denoise",
        WorkflowProblem::RequiredInputMissing,
    );
    let err = run(&tree, &analysis(vec![no_default]), &f).unwrap_err();
    assert!(matches!(err, FixError::NotApplicable { .. }), "{err}");
    // A failure at a node no finding names.
    let f = failure("Other", "9", "x", WorkflowProblem::UnexpectedInput);
    let err = run(&tree, &analysis(vec![renamed()]), &f).unwrap_err();
    assert!(matches!(err, FixError::NotApplicable { .. }), "{err}");
    assert_eq!(
        fs_err::read_to_string(tree.join("workflows/t2v.json")).unwrap(),
        T2V
    );
}

#[test]
fn a_workflow_that_is_not_json_is_an_error_and_stays_unchanged() {
    let (_tmp, tree) = tree();
    fs_err::write(tree.join("workflows/t2v.json"), "{\"7\": ").unwrap();
    let f = failure(
        "VHS_VideoCombine",
        "7",
        "frame_rate",
        WorkflowProblem::UnexpectedInput,
    );
    let err = run(&tree, &analysis(vec![renamed()]), &f).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot repair the workflow `workflows/t2v.json`: it is not valid JSON"),
        "{err}"
    );
    assert_eq!(
        fs_err::read_to_string(tree.join("workflows/t2v.json")).unwrap(),
        "{\"7\": "
    );
}

#[test]
fn a_renamed_input_also_reported_as_missing_keeps_the_workflow_value() {
    let (_tmp, tree) = tree();
    let fps_missing = finding(
        "7",
        "VHS_VideoCombine",
        "fps",
        WorkflowFindingKind::RequiredInputMissing {
            kind: "FLOAT".into(),
            default: Some(json!(8.0)),
        },
    );
    let a = analysis(vec![fps_missing, renamed()]);
    let f = failure(
        "VHS_VideoCombine",
        "7",
        "frame_rate",
        WorkflowProblem::UnexpectedInput,
    );
    run(&tree, &a, &f).unwrap().expect("a fix");
    let text = fs_err::read_to_string(tree.join("workflows/t2v.json")).unwrap();
    assert_eq!(text, T2V.replace("\"frame_rate\": 8", "\"fps\": 8"));
}
