//! Static node-class extraction, workflow reading, patches and findings on
//! small literal sources.

use super::*;
use crate::analysis::python::PointSeverity;

fn pack(files: &[(&str, &str)]) -> NodePack {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect();
    pack_of(&files)
}

const SIMPLE: &str = r#"
class Resize:
    @classmethod
    def INPUT_TYPES(s):
        return {
            "required": {
                "image": ("IMAGE",),
                "width": ("INT", {"default": 512, "min": 1}),
                "mode": (["nearest", "bilinear"],),
            },
            "optional": {"mask": ("MASK",)},
            "hidden": {"prompt": "PROMPT"},
        }
    RETURN_TYPES = ("IMAGE", "INT")

class Blur:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"radius": ("FLOAT", {"default": -1.5})}}
    RETURN_TYPES = ("IMAGE",)

NODE_CLASS_MAPPINGS = {"Resize": Resize}
NODE_CLASS_MAPPINGS.update({"Blur": Blur})
NODE_CLASS_MAPPINGS["BlurAgain"] = Blur
"#;

#[test]
fn dict_update_and_item_assignment_define_classes() {
    let p = pack(&[("nodes.py", SIMPLE)]);
    assert_eq!(
        p.classes.keys().collect::<Vec<_>>(),
        ["Blur", "BlurAgain", "Resize"]
    );
    assert!(p.partial.is_empty(), "{:?}", p.partial);
    let r = &p.classes["Resize"];
    assert!(r.complete);
    assert_eq!(r.python_class, "Resize");
    assert_eq!(r.line, 2);
    let names: Vec<_> = r.required.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["image", "width", "mode"]);
    assert_eq!(r.required[1].kind, "INT");
    assert_eq!(r.required[1].default, Some(serde_json::json!(512)));
    assert_eq!(r.required[2].kind, "COMBO");
    assert_eq!(r.optional[0].name, "mask");
    assert_eq!(
        r.outputs.as_deref(),
        Some(&["IMAGE".to_string(), "INT".into()][..])
    );
    assert_eq!(
        p.classes["Blur"].required[0].default,
        Some(serde_json::json!(-1.5))
    );
    assert_eq!(p.classes["BlurAgain"].python_class, "Blur");
}

#[test]
fn spreads_comprehensions_and_package_imports_resolve() {
    let p = pack(&[
        (
            "pack/__init__.py",
            "from .nodes import NODE_CLASS_MAPPINGS as M\nfrom .more import MORE\nNODE_CLASS_MAPPINGS = {**M, **MORE}\n",
        ),
        (
            "pack/nodes.py",
            "from .impl import Sharpen\nNODE_CLASS_MAPPINGS = {c.__name__: c for c in [Sharpen]}\n",
        ),
        (
            "pack/impl.py",
            "class Sharpen:\n    @classmethod\n    def INPUT_TYPES(s):\n        return {\"required\": {\"amount\": (\"FLOAT\",)}}\n    RETURN_TYPES = (\"IMAGE\",)\n",
        ),
        (
            "pack/more.py",
            "from . import impl\nMORE = {\"Sharpen2\": impl.Sharpen}\n",
        ),
    ]);
    assert!(p.partial.is_empty(), "{:?}", p.partial);
    let s = &p.classes["Sharpen"];
    assert!(s.complete);
    assert_eq!(s.file, "pack/impl.py");
    assert_eq!(s.required[0].name, "amount");
    assert_eq!(p.classes["Sharpen2"].file, "pack/impl.py");
}

#[test]
fn input_types_through_a_variable_or_a_function_of_the_file() {
    let src = r#"
BASE = {"required": {"seed": ("INT", {"default": 0})}}
def common():
    return {"required": {"steps": ("INT", {"default": 20})}}
class A:
    @classmethod
    def INPUT_TYPES(s):
        d = {"required": {"text": ("STRING", {"multiline": True})}}
        return d
class B:
    @classmethod
    def INPUT_TYPES(s):
        return BASE
class C:
    @classmethod
    def INPUT_TYPES(s):
        return common()
class D(C):
    RETURN_TYPES = ("LATENT",)
NODE_CLASS_MAPPINGS = {"A": A, "B": B, "C": C, "D": D}
"#;
    let p = pack(&[("n.py", src)]);
    assert_eq!(p.classes["A"].required[0].name, "text");
    assert_eq!(p.classes["B"].required[0].name, "seed");
    assert_eq!(p.classes["C"].required[0].name, "steps");
    let d = &p.classes["D"];
    assert!(d.complete, "inherits C's inputs");
    assert_eq!(d.required[0].name, "steps");
    assert_eq!(d.outputs.as_deref(), Some(&["LATENT".to_string()][..]));
}

#[test]
fn dynamic_construction_is_partial_or_incomplete_never_guessed() {
    let src = r#"
import random
class Dyn:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {k: ("INT",) for k in random.sample("abc", 2)}}
NODE_CLASS_MAPPINGS = {"Dyn": Dyn, "Made": make_node("x")}
for name in ["X", "Y"]:
    NODE_CLASS_MAPPINGS[name] = Dyn
"#;
    let p = pack(&[("d.py", src)]);
    assert!(!p.classes["Dyn"].complete);
    assert!(!p.classes.contains_key("Made"));
    assert_eq!(p.partial.len(), 2, "{:?}", p.partial);
    assert!(
        p.partial.iter().any(|w| w.contains("make_node")),
        "{:?}",
        p.partial
    );
    assert!(
        p.partial.iter().any(|w| w.contains("loop")),
        "{:?}",
        p.partial
    );
    // a class imported from outside the pack: known by name, not checked
    let p = pack(&[(
        "e.py",
        "from comfy_extras.x import Far\nNODE_CLASS_MAPPINGS = {\"Far\": Far}\n",
    )]);
    assert!(!p.classes["Far"].complete);
}

#[test]
fn v3_entrypoint_and_schema() {
    let src = r#"
from comfy_api.latest import io, ComfyExtension
class Scale(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ImageScaleV3",
            inputs=[
                io.Image.Input("image"),
                io.Int.Input("width", default=512, min=1),
                io.Combo.Input("method", options=["a", "b"], optional=True),
            ],
            outputs=[io.Image.Output(), io.Mask.Output()],
        )
class Ext(ComfyExtension):
    async def get_node_list(self):
        return [Scale]
async def comfy_entrypoint():
    return Ext()
"#;
    let p = pack(&[("v3.py", src)]);
    let c = &p.classes["ImageScaleV3"];
    assert!(c.complete, "{c:?}");
    assert_eq!(c.python_class, "Scale");
    let req: Vec<_> = c
        .required
        .iter()
        .map(|i| (i.name.as_str(), i.kind.as_str()))
        .collect();
    assert_eq!(req, [("image", "IMAGE"), ("width", "INT")]);
    assert_eq!(c.required[1].default, Some(serde_json::json!(512)));
    assert_eq!(c.optional[0].name, "method");
    assert_eq!(c.outputs.as_deref().map(<[String]>::len), Some(2));
}

#[test]
fn workflows_api_editor_and_broken() {
    let w = read_workflow(
        "w.json",
        r#"{"3": {"class_type": "Load", "inputs": {}}, "12": {"class_type": "Resize", "inputs": {"width": 768, "image": ["3", 0]}}}"#,
    )
    .unwrap();
    assert_eq!(
        w.nodes["12"].inputs["width"],
        InputValue::Literal(768.into())
    );
    assert_eq!(
        w.nodes["12"].inputs["image"],
        InputValue::Link {
            node: "3".into(),
            index: 0
        }
    );
    let e = read_workflow("e.json", r#"{"nodes": [], "links": []}"#).unwrap_err();
    assert!(e.reason.starts_with("editor format"), "{}", e.reason);
    let b = read_workflow("b.json", "{\n  \"1\": {,\n}").unwrap_err();
    assert!(b.reason.contains("line 2, column"), "{}", b.reason);
}

#[test]
fn patches_by_node_id_with_the_loaded_file() {
    let src = r#"
import json
wf = json.load(open("workflows/t2v.json"))
wf["12"]["inputs"]["width"] = 1024
with open("workflows/other.json") as f:
    other = json.load(f)
other["5"]["inputs"].update(seed=1, steps=2)
def f(prompt):
    prompt["7"]["inputs"]["text"] = "x"
"#;
    let files = vec![crate::analysis::python::SourceFile {
        path: "app.py".into(),
        text: src.into(),
    }];
    let p = find_patches(&files);
    let got: Vec<_> = p
        .iter()
        .map(|p| {
            (
                p.at.as_str(),
                p.node.as_str(),
                p.input.as_str(),
                p.source.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("app.py:4", "12", "width", Some("workflows/t2v.json")),
            ("app.py:7", "5", "seed", Some("workflows/other.json")),
            ("app.py:7", "5", "steps", Some("workflows/other.json")),
            ("app.py:9", "7", "text", None),
        ]
    );
    assert!(names_workflow("t2v.json", "workflows/t2v.json"));
    assert!(!names_workflow("v.json", "workflows/t2v.json"));
}

fn class(name: &str, py: &str, req: &[(&str, &str, Option<i64>)], outs: usize) -> NodeClass {
    NodeClass {
        name: name.into(),
        python_class: py.into(),
        file: "n.py".into(),
        line: 1,
        required: req
            .iter()
            .map(|(n, k, d)| NodeInput {
                name: n.to_string(),
                kind: k.to_string(),
                default: d.map(Into::into),
            })
            .collect(),
        optional: Vec::new(),
        outputs: Some(vec!["IMAGE".into(); outs]),
        complete: true,
    }
}

fn packed(classes: Vec<NodeClass>) -> NodePack {
    NodePack {
        classes: classes.into_iter().map(|c| (c.name.clone(), c)).collect(),
        partial: Vec::new(),
    }
}

#[test]
fn every_finding_kind() {
    let before = packed(vec![
        class("Load", "Load", &[], 2),
        class(
            "Resize",
            "Resize",
            &[("width", "INT", None), ("image", "IMAGE", None)],
            1,
        ),
        class("OldBlur", "Blur", &[("radius", "FLOAT", None)], 1),
        class("Sampler", "Sampler", &[("seed", "INT", None)], 1),
    ]);
    let after = packed(vec![
        class("Load", "Load", &[], 1),
        class(
            "Resize",
            "Resize",
            &[("w", "INT", None), ("image", "IMAGE", None)],
            1,
        ),
        class("NewBlur", "Blur", &[("radius", "FLOAT", None)], 1),
        class(
            "Sampler",
            "Sampler",
            &[
                ("seed", "INT", None),
                ("cfg", "FLOAT", Some(7)),
                ("steps", "INT", None),
            ],
            1,
        ),
    ]);
    let w = read_workflow(
        "workflows/a.json",
        r#"{"3": {"class_type": "Load", "inputs": {}},
            "12": {"class_type": "Resize", "inputs": {"width": 768, "image": ["3", 1]}},
            "13": {"class_type": "OldBlur", "inputs": {"radius": 2.0}},
            "14": {"class_type": "Sampler", "inputs": {"seed": 1}}}"#,
    )
    .unwrap();
    let peers = vec![(
        "other".to_string(),
        packed(vec![class("Sampler", "S", &[], 1)]),
    )];
    let patches = vec![InputPatch {
        at: "app.py:4".into(),
        node: "12".into(),
        input: "width".into(),
        source: None,
    }];
    let f = compare(
        &Compare {
            upstream: "core",
            to_short: "abc1234",
            before: &before,
            after: &after,
            peers: &peers,
            patches: &patches,
        },
        &[w],
    );
    let got: Vec<_> = f
        .iter()
        .map(|f| {
            (
                f.node.as_str(),
                f.input.as_deref(),
                f.kind.clone(),
                f.severity,
            )
        })
        .collect();
    use PointSeverity::*;
    use WorkflowFindingKind as K;
    assert_eq!(
        got,
        [
            (
                "12",
                Some("image"),
                K::OutputIndexGone {
                    from_node: "3".into(),
                    index: 1,
                    outputs: 1
                },
                Breaking
            ),
            (
                "12",
                Some("width"),
                K::InputRenamed { to: "w".into() },
                Breaking
            ),
            (
                "13",
                None,
                K::NodeClassRemoved {
                    candidate: Some("NewBlur".into())
                },
                Breaking
            ),
            (
                "14",
                None,
                K::ClassDefinedTwice {
                    packs: vec!["core".into(), "other".into()]
                },
                AtRisk
            ),
            (
                "14",
                Some("cfg"),
                K::RequiredInputMissing {
                    kind: "FLOAT".into(),
                    default: Some(7.into())
                },
                Breaking
            ),
            (
                "14",
                Some("steps"),
                K::RequiredInputMissing {
                    kind: "INT".into(),
                    default: None
                },
                Breaking
            ),
        ]
    );
    assert_eq!(f[1].patched_at, ["app.py:4"]);
    assert_eq!(f[1].message, "input `width` of `Resize` is now called `w`");
    assert_eq!(
        f[2].message,
        "node class `OldBlur` is no longer defined by `core` at abc1234; `NewBlur` looks like its successor (same Python class)"
    );
}

#[test]
fn a_patch_is_tied_by_its_loaded_file_and_a_patched_input_can_be_gone() {
    let before = packed(vec![class(
        "Resize",
        "Resize",
        &[("width", "INT", None), ("keep", "BOOLEAN", None)],
        1,
    )]);
    let after = packed(vec![class(
        "Resize",
        "Resize",
        &[("keep", "BOOLEAN", None)],
        1,
    )]);
    let wf = |path: &str| {
        read_workflow(
            path,
            r#"{"12": {"class_type": "Resize", "inputs": {"keep": true}}}"#,
        )
        .unwrap()
    };
    let patch = |source: Option<&str>| InputPatch {
        at: "app.py:9".into(),
        node: "12".into(),
        input: "width".into(),
        source: source.map(str::to_owned),
    };
    let run = |patches: &[InputPatch]| {
        compare(
            &Compare {
                upstream: "core",
                to_short: "abc1234",
                before: &before,
                after: &after,
                peers: &[],
                patches,
            },
            &[wf("workflows/a.json"), wf("workflows/b.json")],
        )
    };
    // loaded from a.json: only a.json's node, though its JSON lacks `width`
    let f = run(&[patch(Some("workflows/a.json"))]);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].workflow, "workflows/a.json");
    assert_eq!(f[0].kind, WorkflowFindingKind::InputRemoved);
    assert_eq!(f[0].patched_at, ["app.py:9"]);
    assert_eq!(
        f[0].message,
        "input `width` of `Resize` (set by the wrapper's patch) is no longer declared"
    );
    // no literal path: tied only where the workflow sets the input (nowhere)
    assert!(run(&[patch(None)]).is_empty());
}
