//! Resolution against a vendored copy's local patch (a third tree), and
//! config-key reads tied to their config by evidence.

use std::collections::BTreeMap;

use super::*;

fn files(list: &[(&str, &str)]) -> Vec<SourceFile> {
    list.iter().map(|(p, t)| SourceFile::new(*p, *t)).collect()
}

fn scan_ctx() -> ScanContext {
    ScanContext {
        upstream_dir: "Wan2GP".into(),
        api_modules: ["wgp", "models"].map(String::from).into(),
        upstream_files: ["wgp.py", "defaults/t2v.json"].map(String::from).into(),
        config_names: BTreeMap::from([("t2v".to_owned(), "defaults/t2v.json".to_owned())]),
    }
}

/// The findings of `wrapper` against base `old`, target `new` and a local
/// copy that is `old` with `local` files (path, text, change, carry) laid
/// over it.
fn run(
    old: &[(&str, &str)],
    new: &[(&str, &str)],
    local: &[(&str, &str, LocalChange, Carry)],
    wrapper: &str,
) -> Vec<PointFinding> {
    let scan = scan_wrapper(&files(&[("worker.py", wrapper)]), &scan_ctx());
    let old_index = index_upstream(&files(old));
    let new_index = index_upstream(&files(new));
    let mut copy = LocalCopy {
        index: old_index.clone(),
        files: BTreeMap::new(),
    };
    let texts: Vec<(&str, &str)> = local.iter().map(|(p, t, _, _)| (*p, *t)).collect();
    copy.index.merge(index_upstream(&files(&texts)));
    for (p, _, change, carry) in local {
        copy.files.insert(
            p.to_string(),
            LocalFile {
                change: *change,
                carry: carry.clone(),
            },
        );
    }
    let ctx = ResolveContext::default();
    let mut facts = PointFacts::default();
    for p in &scan.points {
        facts.add(p);
    }
    let mut r = Resolver::new(&old_index, &new_index, &ctx, &facts).with_local(Some(&copy));
    let mut out: Vec<PointFinding> = scan.points.iter().map(|p| r.point(p)).collect();
    local_patch_findings(&copy, "Wan2GP", &mut |f| out.push(f));
    out
}

fn find<'a>(fs: &'a [PointFinding], kind: PointKind, target: &str) -> &'a PointFinding {
    fs.iter()
        .find(|f| f.point.kind == kind && f.point.target == target)
        .unwrap_or_else(|| panic!("no {kind:?} {target} in {fs:#?}"))
}

const BASE: &str = "def run():\n    pass\n";
const PATCHED: &str = "def run():\n    pass\n\n\ndef local_helper(x):\n    return x\n";

#[test]
fn a_name_only_the_local_patch_defines_takes_the_severity_of_its_carry() {
    let wrapper = "import wgp\nwgp.local_helper(1)\n";
    for (carry, severity) in [
        (Carry::Kept, PointSeverity::Info),
        (Carry::Clean, PointSeverity::Info),
        (
            Carry::Conflicts { hunks: Vec::new() },
            PointSeverity::AtRisk,
        ),
        (Carry::LostUpstreamDeleted, PointSeverity::Breaking),
    ] {
        let fs = run(
            &[("wgp.py", BASE)],
            &[("wgp.py", BASE)],
            &[("wgp.py", PATCHED, LocalChange::Modified, carry.clone())],
            wrapper,
        );
        let f = find(&fs, PointKind::Call, "wgp.local_helper");
        assert_eq!(
            f.status,
            Status::LocalPatchOnly {
                path: "wgp.py".into(),
                line: 5,
                carry: carry.clone()
            }
        );
        assert_eq!(f.severity, severity, "{carry:?}");
        assert_eq!(f.point.line, 2);
        assert!(f.message.contains("local patch"), "{}", f.message);
        assert_eq!(f.old.as_ref().unwrap().line, 5);
    }
}

#[test]
fn a_local_only_package_provides_its_names() {
    let fs = run(
        &[("wgp.py", BASE), ("models/wan.py", "x = 1\n")],
        &[("wgp.py", BASE), ("models/wan.py", "x = 1\n")],
        &[(
            "models/mine/__init__.py",
            "class LocalPipe:\n    pass\n",
            LocalChange::Added,
            Carry::Kept,
        )],
        "from models.mine import LocalPipe\n",
    );
    let f = find(&fs, PointKind::FromImport, "models.mine.LocalPipe");
    assert_eq!(
        f.status,
        Status::LocalOnlyFile {
            path: "models/mine/__init__.py".into(),
            line: 1,
            carry: Carry::Kept
        }
    );
    assert_eq!(f.severity, PointSeverity::Info);
}

#[test]
fn a_patch_or_call_of_a_name_no_tree_defines_is_dead() {
    let fs = run(
        &[("wgp.py", BASE)],
        &[("wgp.py", BASE)],
        &[],
        "import wgp\nwgp.offload = None\nsetattr(wgp, 'quiet', True)\nwgp.nowhere()\n",
    );
    let f = find(&fs, PointKind::Monkeypatch, "wgp.offload");
    assert_eq!(
        (f.status.clone(), f.severity),
        (Status::DeadPatch, PointSeverity::AtRisk)
    );
    let f = find(&fs, PointKind::Monkeypatch, "wgp.quiet");
    assert_eq!(
        (f.status.clone(), f.severity),
        (Status::DeadPatch, PointSeverity::AtRisk)
    );
    let f = find(&fs, PointKind::Call, "wgp.nowhere");
    assert_eq!(
        (f.status.clone(), f.severity),
        (Status::DeadPatch, PointSeverity::Breaking)
    );
    assert_eq!(f.point.line, 4);
}

#[test]
fn a_module_that_makes_names_at_run_time_is_not_dead() {
    let dynamic = "def __getattr__(name):\n    return 1\n";
    let fs = run(
        &[("wgp.py", dynamic)],
        &[("wgp.py", dynamic)],
        &[],
        "import wgp\nwgp.anything()\n",
    );
    let f = find(&fs, PointKind::Call, "wgp.anything");
    assert_eq!(f.status, Status::Unresolved);
}

#[test]
fn a_conflicting_patch_is_an_at_risk_finding_with_its_hunks() {
    let hunks = vec![ConflictHunk {
        line: 3,
        local_lines: 2,
        upstream_lines: 1,
    }];
    let fs = run(
        &[("wgp.py", BASE)],
        &[("wgp.py", BASE)],
        &[(
            "wgp.py",
            PATCHED,
            LocalChange::Modified,
            Carry::Conflicts {
                hunks: hunks.clone(),
            },
        )],
        "import wgp\n",
    );
    let f = find(&fs, PointKind::LocalPatch, "wgp.py");
    assert_eq!(f.point.file, "Wan2GP/wgp.py");
    assert_eq!(f.point.line, 3);
    assert_eq!(f.severity, PointSeverity::AtRisk);
    assert_eq!(
        f.status,
        Status::LocalPatchConflict {
            path: "wgp.py".into(),
            hunks
        }
    );
}

fn key_evidence(wrapper: &str) -> Vec<KeyRead> {
    scan_wrapper(&files(&[("worker.py", wrapper)]), &scan_ctx()).key_reads
}

#[test]
fn a_read_of_a_loaded_config_carries_the_load_as_evidence() {
    let reads = key_evidence(
        "import json\n\ndef f():\n    cfg = json.load(open('Wan2GP/defaults/t2v.json'))\n    return cfg['prompt']\n",
    );
    assert_eq!(
        reads[0].evidence,
        vec![KeyEvidence {
            config: "defaults/t2v.json".into(),
            how: KeyTie::LoadedByPath,
            line: 4
        }]
    );
    // through a `with` alias and a path variable
    let reads = key_evidence(
        "import json\nP = 'defaults/t2v.json'\n\ndef f():\n    with open(P) as fh:\n        cfg = json.load(fh)\n    return cfg.get('prompt')\n",
    );
    assert_eq!(reads[0].evidence[0].config, "defaults/t2v.json");
    assert_eq!(reads[0].evidence[0].how, KeyTie::LoadedByPath);
    assert_eq!(reads[0].evidence[0].line, 6);
    // by the model's name, nested reads included
    let reads = key_evidence("cfg = get_model_def('t2v')\nx = cfg['model']['name']\n");
    assert!(
        reads
            .iter()
            .all(|r| r.evidence[0].how == KeyTie::LoadedByModel)
    );
}

#[test]
fn a_read_next_to_a_mention_of_the_config_is_tied_and_an_unrelated_one_is_not() {
    let reads = key_evidence(
        "def f(task):\n    name = 't2v'\n    return task['prompt']\n\ndef g(task):\n    return task['prompt']\n",
    );
    assert_eq!(reads.len(), 2);
    assert_eq!(reads[0].evidence[0].how, KeyTie::SameFunction);
    assert_eq!(reads[0].evidence[0].line, 2);
    assert!(reads[1].evidence.is_empty(), "{:?}", reads[1]);
    // a name tied in one function is not tied in another
    let reads = key_evidence(
        "def f():\n    cfg = load('t2v')\n    return cfg\n\ndef g(cfg):\n    return cfg['prompt']\n",
    );
    assert!(reads[0].evidence.is_empty(), "{:?}", reads[0]);
}

#[test]
fn untied_reads_are_counted_not_listed() {
    let ctx = ResolveContext {
        removed_config_keys: vec![("defaults/t2v.json".into(), "prompt".into())],
        ..ResolveContext::default()
    };
    let reads = key_evidence(
        "cfg = json.load(open('defaults/t2v.json'))\na = cfg['prompt']\n\ndef g(task):\n    return task['prompt']\n",
    );
    let mut listed = Vec::new();
    let untied = key_findings(&reads, &ctx, &mut |f| listed.push(f));
    assert_eq!(untied, 1);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].point.line, 2);
    assert_eq!(listed[0].severity, PointSeverity::AtRisk);
    assert!(
        listed[0]
            .message
            .contains("reads `prompt` from the value loaded from `defaults/t2v.json` at line 1"),
        "{}",
        listed[0].message
    );
}
