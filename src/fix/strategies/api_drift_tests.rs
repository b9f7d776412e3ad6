use super::*;
use crate::analysis::python::{IntegrationPoint, PointSeverity};

const SRC: &str = r#"import wgp
from wgp import get_default_settings
from models.wan.text2video import WanT2V

def run(task):
    s = get_default_settings("vace_14B")
    out = wgp.generate_video(task, num_frames=81, seed=1)
    wgp.old_helper(out)
    return WanT2V(out)
"#;

fn finding(line: usize, kind: PointKind, target: &str, status: Status) -> PointFinding {
    PointFinding {
        point: IntegrationPoint {
            file: "headless_wgp.py".into(),
            line,
            kind,
            target: target.into(),
            keywords: vec!["num_frames".into(), "seed".into()],
            positional_args: 1,
            star_args: false,
            star_kwargs: false,
            snippet: SRC.lines().nth(line - 1).unwrap_or("").trim().into(),
        },
        status,
        severity: PointSeverity::Breaking,
        message: String::new(),
        old: None,
        new: None,
    }
}

fn rewrite(drift: DriftKind, findings: &[PointFinding]) -> Result<String, String> {
    let actions = actions_for(&drift, findings);
    if actions.is_empty() {
        return Err("no actions".into());
    }
    let mut edits = Vec::new();
    for (f, a) in &actions {
        edits.extend(edits_for(SRC, f, a)?);
    }
    let out = pysrc::apply(SRC, &edits);
    assert!(pysrc::parses_cleanly(&out), "{out}");
    Ok(out)
}

#[test]
fn renamed_keyword_from_the_matching_finding_only() {
    let findings = vec![
        finding(
            7,
            PointKind::Call,
            "wgp.generate_video",
            Status::SignatureChanged {
                changes: vec![
                    SignatureChange::ParameterRenamed {
                        from: "num_frames".into(),
                        to: "video_length".into(),
                    },
                    SignatureChange::KeywordNotAccepted {
                        name: "num_frames".into(),
                    },
                ],
            },
        ),
        // Another function's rename is not this failure's business.
        finding(
            8,
            PointKind::Call,
            "wgp.old_helper",
            Status::SignatureChanged {
                changes: vec![SignatureChange::ParameterRenamed {
                    from: "num_frames".into(),
                    to: "n".into(),
                }],
            },
        ),
    ];
    let out = rewrite(
        DriftKind::UnexpectedKeyword {
            func: "generate_video".into(),
            keyword: "num_frames".into(),
        },
        &findings,
    )
    .unwrap();
    assert!(out.contains("wgp.generate_video(task, video_length=81, seed=1)"));
    assert_eq!(out.len(), SRC.len() + 2);
    // A keyword that was dropped, not renamed, has nothing to rename to.
    let dropped = vec![finding(
        7,
        PointKind::Call,
        "wgp.generate_video",
        Status::SignatureChanged {
            changes: vec![SignatureChange::KeywordNotAccepted {
                name: "num_frames".into(),
            }],
        },
    )];
    assert!(
        rewrite(
            DriftKind::UnexpectedKeyword {
                func: "generate_video".into(),
                keyword: "num_frames".into()
            },
            &dropped
        )
        .is_err()
    );
}

#[test]
fn renamed_function_at_import_and_attribute() {
    let renamed = |line, kind, target: &str, to: &str| {
        finding(
            line,
            kind,
            target,
            Status::Renamed {
                to: to.into(),
                similarity: 0.9,
            },
        )
    };
    let findings = vec![
        renamed(
            2,
            PointKind::FromImport,
            "wgp.get_default_settings",
            "wgp.get_model_settings",
        ),
        renamed(
            6,
            PointKind::Call,
            "wgp.get_default_settings",
            "wgp.get_model_settings",
        ),
        renamed(8, PointKind::Call, "wgp.old_helper", "wgp.new_helper"),
    ];
    // The import keeps the local name; the bare call on line 6 has no
    // attribute to rewrite and is left alone (the import covers it).
    let actions = actions_for(
        &DriftKind::CannotImport {
            module: "wgp".into(),
            name: "get_default_settings".into(),
        },
        &findings,
    );
    assert_eq!(actions.len(), 2);
    let edits = edits_for(SRC, actions[0].0, &actions[0].1).unwrap();
    let out = pysrc::apply(SRC, &edits);
    assert!(out.contains("from wgp import get_model_settings as get_default_settings\n"));
    assert!(edits_for(SRC, actions[1].0, &actions[1].1).is_err());

    let out = rewrite(
        DriftKind::MissingAttribute {
            module: "wgp".into(),
            name: "old_helper".into(),
        },
        &findings,
    )
    .unwrap();
    assert!(out.contains("    wgp.new_helper(out)\n"));
}

#[test]
fn moved_class_rewrites_the_import_module() {
    let findings = vec![finding(
        3,
        PointKind::FromImport,
        "models.wan.text2video.WanT2V",
        Status::Moved {
            to: "models.wan.t2v.WanT2V".into(),
        },
    )];
    let out = rewrite(
        DriftKind::CannotImport {
            module: "models.wan.text2video".into(),
            name: "WanT2V".into(),
        },
        &findings,
    )
    .unwrap();
    assert!(out.contains("from models.wan.t2v import WanT2V\n"));
    // A moved function used as `wgp.f` needs a new import: refused.
    let moved_attr = finding(
        8,
        PointKind::Call,
        "wgp.old_helper",
        Status::Moved {
            to: "helpers.old_helper".into(),
        },
    );
    let action = Action::Name {
        from: "wgp.old_helper".into(),
        to: "helpers.old_helper".into(),
    };
    let err = edits_for(SRC, &moved_attr, &action).unwrap_err();
    assert!(err.contains("another module"), "{err}");
}
