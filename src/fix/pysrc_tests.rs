use super::*;

const WRAPPER: &str = r#"import sys
import wgp
from wgp import generate_video, get_default_settings
from models.wan.text2video import WanT2V
import models.wan.any2video as a2v

def run(task):
    settings = get_default_settings("vace_14B")
    out = wgp.generate_video(task, num_frames=81, seed=task.seed)
    other = wgp.load_models(
        "defaults/vace_14B.json",
        num_frames=3,
    )
    nested = wgp.generate_video(task, num_frames=len(x.f(num_frames=2)))
    return wgp.old_helper(out) + a2v.WanAny2V.make()
"#;

fn edit_one(src: &str, e: Edit) -> String {
    let out = apply(src, &[e]);
    assert!(parses_cleanly(&out), "does not parse:\n{out}");
    out
}

#[test]
fn keyword_renamed_at_the_call() {
    let e = rename_keyword(
        WRAPPER,
        9,
        "wgp.generate_video",
        "num_frames",
        "video_length",
    )
    .unwrap();
    let out = edit_one(WRAPPER, e);
    assert!(out.contains("out = wgp.generate_video(task, video_length=81, seed=task.seed)"));
    // Only that line changed.
    let changed: Vec<_> = WRAPPER
        .lines()
        .zip(out.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(out.len(), WRAPPER.len() + 2);
}

#[test]
fn keyword_in_a_multi_line_call() {
    let e = rename_keyword(WRAPPER, 10, "load_models", "num_frames", "video_length").unwrap();
    let out = edit_one(WRAPPER, e);
    assert!(out.contains("        video_length=3,\n"));
}

#[test]
fn keyword_of_the_outer_call_only() {
    // Line 14 holds two calls passing num_frames: the function name picks one.
    let e = rename_keyword(WRAPPER, 14, "generate_video", "num_frames", "video_length").unwrap();
    let out = edit_one(WRAPPER, e);
    assert!(out.contains("wgp.generate_video(task, video_length=len(x.f(num_frames=2)))"));
    let e = rename_keyword(WRAPPER, 14, "f", "num_frames", "n").unwrap();
    assert!(edit_one(WRAPPER, e).contains("x.f(n=2)"));
}

#[test]
fn keyword_refusals() {
    assert!(rename_keyword(WRAPPER, 9, "generate_video", "steps", "x").is_err());
    assert!(rename_keyword(WRAPPER, 8, "generate_video", "num_frames", "x").is_err());
    let twice = "f(a=1) or f(a=2)\n";
    let err = rename_keyword(twice, 1, "f", "a", "b").unwrap_err();
    assert!(err.contains("ambiguous"), "{err}");
}

#[test]
fn attribute_renamed() {
    let e = rename_attribute(WRAPPER, 15, "wgp", "old_helper", "new_helper").unwrap();
    let out = edit_one(WRAPPER, e);
    assert!(out.contains("return wgp.new_helper(out) + a2v.WanAny2V.make()"));
    assert!(rename_attribute(WRAPPER, 15, "torch", "old_helper", "x").is_err());
}

#[test]
fn from_import_renamed_keeps_the_local_name() {
    let edits = rename_from_import(
        WRAPPER,
        3,
        "get_default_settings",
        "get_model_settings",
        None,
    )
    .unwrap();
    let out = apply(WRAPPER, &edits);
    assert!(parses_cleanly(&out));
    assert!(
        out.contains(
            "from wgp import generate_video, get_model_settings as get_default_settings\n"
        )
    );
}

#[test]
fn from_import_moved() {
    let edits = rename_from_import(WRAPPER, 4, "WanT2V", "WanT2V", Some("models.wan.t2v")).unwrap();
    let out = apply(WRAPPER, &edits);
    assert!(parses_cleanly(&out));
    assert!(out.contains("from models.wan.t2v import WanT2V\n"));
    // Two names on the line: moving one would need a second statement.
    let err = rename_from_import(WRAPPER, 3, "generate_video", "generate_video", Some("wgp2"))
        .unwrap_err();
    assert!(err.contains("2 names"), "{err}");
}

#[test]
fn aliased_import_module() {
    let e = rename_import_module(WRAPPER, 5, "models.wan.any2video", "models.wan.a2v").unwrap();
    let out = edit_one(WRAPPER, e);
    assert!(out.contains("import models.wan.a2v as a2v\n"));
    let err = rename_import_module(WRAPPER, 2, "wgp", "wgp2").unwrap_err();
    assert!(err.contains("no alias"), "{err}");
}

#[test]
fn string_literals_replaced() {
    let pairs = vec![
        ("vace_14B".to_owned(), "vace_14B_v2".to_owned()),
        (
            "defaults/vace_14B.json".to_owned(),
            "defaults/vace_14B_v2.json".to_owned(),
        ),
    ];
    let src = "a = 'vace_14B'\nb = \"Wan2GP/defaults/vace_14B.json\"\nc = f\"defaults/{m}.json\"\nd = 'vace_14B_old'\ne = b'vace_14B'\n# vace_14B\n";
    let out = apply(src, &replace_strings(src, &pairs));
    assert!(parses_cleanly(&out));
    assert_eq!(
        out,
        "a = 'vace_14B_v2'\nb = \"Wan2GP/defaults/vace_14B_v2.json\"\nc = f\"defaults/{m}.json\"\nd = 'vace_14B_old'\ne = b'vace_14B'\n# vace_14B\n"
    );
}
