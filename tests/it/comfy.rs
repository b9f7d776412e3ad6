//! `tether analyze` on a ComfyUI-shaped stack: the workflow findings of a
//! core and a node pack update, by workflow, node and input, as JSON and
//! in the Markdown reports; skipped workflows; a class two upstreams define.

use crate::support::comfy::{ComfyWorld, workflow_finding, workflow_findings};

#[test]
fn every_workflow_finding_kind_by_workflow_node_and_input() {
    let w = ComfyWorld::new();
    // both mirrors exist from the first run on: peers are read in the second
    w.tether().run(&["analyze"]).assert_code(3);
    w.tether().run(&["analyze"]).assert_code(3);

    // the pack alone: its workflow findings make the verdict breaking
    w.tether()
        .run(&["analyze", "--upstream", "videonodes", "--no-fetch"])
        .assert_code(3);
    let pack = w.analysis_json("videonodes");
    let f = workflow_finding(&pack, "12", Some("width"), "input-renamed");
    assert_eq!(f["workflow"], "workflows/t2v.json");
    assert_eq!(f["kind"]["to"], "target_width");
    assert_eq!(f["severity"], "breaking");
    assert_eq!(
        f["patched_at"][0], "app.py:4",
        "the wrapper's patch is tied"
    );
    assert_eq!(f["class_type"], "VideoResize");
    let f = workflow_finding(&pack, "12", Some("crop"), "input-removed");
    assert_eq!(f["severity"], "breaking");
    let f = workflow_finding(&pack, "13", None, "node-class-removed");
    assert_eq!(f["kind"]["candidate"], "VideoCombine");
    assert_eq!(f["severity"], "breaking");
    let f = workflow_finding(&pack, "14", None, "class-defined-twice");
    assert_eq!(
        f["kind"]["packs"],
        serde_json::json!(["videonodes", "comfyui"])
    );
    assert_eq!(f["severity"], "at-risk");
    // the core's classes are not the pack's findings
    assert!(
        workflow_findings(&pack)
            .iter()
            .all(|f| ["12", "13", "14"].contains(&f.1.as_str())),
        "{:#?}",
        workflow_findings(&pack)
    );
    assert_eq!(
        pack["workflows"]["workflows"],
        serde_json::json!(["workflows/t2v.json"])
    );
    let skipped = pack["workflows"]["skipped"].to_string();
    assert!(skipped.contains("workflows/editor.json"), "{skipped}");
    assert!(
        skipped.contains("editor format: export it with 'Save (API Format)'"),
        "{skipped}"
    );
    assert!(skipped.contains("workflows/broken.json"), "{skipped}");
    assert!(skipped.contains("line 2, column"), "{skipped}");

    let core = w.analysis_json("comfyui");
    let f = workflow_finding(&core, "7", Some("cfg"), "required-input-missing");
    assert_eq!(f["severity"], "breaking");
    assert_eq!(f["kind"]["default"], 8.0);
    assert_eq!(f["kind"]["kind"], "FLOAT");
    let f = workflow_finding(&core, "7", Some("sampler_name"), "required-input-missing");
    assert_eq!(f["severity"], "breaking");
    assert_eq!(f["kind"]["default"], serde_json::Value::Null);
    assert_eq!(f["kind"]["kind"], "COMBO");
    let f = workflow_finding(&core, "8", Some("vae"), "output-index-gone");
    assert_eq!(f["kind"]["from_node"], "3");
    assert_eq!(f["kind"]["index"], 2);
    assert_eq!(f["kind"]["outputs"], 2);
    assert_eq!(f["severity"], "breaking");
    workflow_finding(&core, "14", None, "class-defined-twice");
    assert_eq!(core["workflows"]["classes_before"], 5);

    // the Markdown: a Workflows section and checklist items naming file and node
    let dir = w.analysis_dir("videonodes");
    let md = fs_err::read_to_string(dir.join("integration_analysis.md")).unwrap();
    assert!(md.contains("## Workflows"), "{md}");
    assert!(
        md.contains("input `width` of `VideoResize` is now called `target_width`"),
        "{md}"
    );
    assert!(md.contains("`app.py:4`"), "{md}");
    let checklist = fs_err::read_to_string(dir.join("update_checklist.md")).unwrap();
    assert!(checklist.contains("## Workflows"), "{checklist}");
    assert!(
        checklist.contains("workflows/t2v.json node 13"),
        "{checklist}"
    );
}

#[test]
fn an_upstream_without_node_classes_says_so_and_stays_clear() {
    let w = ComfyWorld::new();
    // the pack at HEAD is analysed against itself; the core gets a plain file
    let text = fs_err::read_to_string(w.root.join("tether.toml"))
        .unwrap()
        .replace("[integration]\n", "[integration]\nscan = [\"*.py\"]\n");
    fs_err::write(w.root.join("tether.toml"), text).unwrap();
    w.core.write("nodes.py", "def helper():\n    return 1\n");
    w.core.commit("core: no nodes at all");
    w.wrapper.git(&["-C", "ComfyUI", "fetch", "-q", "origin"]);
    w.wrapper
        .git(&["-C", "ComfyUI", "checkout", "-q", "origin/main"]);
    let out = w.tether().run(&["analyze", "--upstream", "comfyui"]);
    out.assert_code(0);
    let a = w.analysis_json("comfyui");
    let notes = a["notes"].to_string();
    assert!(notes.contains("defines no node classes"), "{notes}");
    assert_eq!(a["workflows"]["findings"], serde_json::json!([]));
}

/// The Workflows section of `integration_analysis.md`, from its heading to
/// the next one.
fn workflows_section(md: &str) -> String {
    let start = md.find("## Workflows").expect("a Workflows section");
    let rest = &md[start..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 4);
    rest[..end].to_owned()
}

#[test]
fn workflows_section_snapshot() {
    let w = ComfyWorld::new();
    w.tether().run(&["analyze"]).assert_code(3);
    w.tether()
        .run(&["analyze", "--upstream", "videonodes", "--no-fetch"])
        .assert_code(3);
    let md = fs_err::read_to_string(w.analysis_dir("videonodes").join("integration_analysis.md"))
        .unwrap();
    insta::assert_snapshot!("workflows_section_md", workflows_section(&md));
}

#[test]
fn peers_override_reads_the_other_upstream_at_the_given_commit() {
    let w = ComfyWorld::new();
    w.tether().run(&["analyze"]).assert_code(3);
    // a core commit without SharedNode, fetched into the mirror
    let without =
        crate::support::comfy::core_nodes_v2().replace("    \"SharedNode\": SharedNode,\n", "");
    w.core.write("nodes.py", without);
    let c2 = w.core.commit("core: SharedNode moves out");
    w.tether()
        .run(&["analyze", "--upstream", "comfyui"])
        .assert_code(3);
    let cfg = tether::config::Config::load(&w.root.join("tether.toml")).unwrap();
    let up = cfg
        .upstreams
        .iter()
        .find(|u| u.name == "videonodes")
        .unwrap();
    let twice = |peers: std::collections::BTreeMap<String, String>| {
        let opts = tether::analysis::AnalyzeOptions {
            to: None,
            fetch: false,
            peers,
        };
        let a = tether::analysis::analyze(&cfg, up, &opts).unwrap().analysis;
        a.workflows.unwrap().findings.iter().any(|f| f.node == "14")
    };
    assert!(
        twice(Default::default()),
        "the core's current commit defines it"
    );
    assert!(
        !twice([("comfyui".to_string(), c2)].into()),
        "the group's core target does not"
    );
}
