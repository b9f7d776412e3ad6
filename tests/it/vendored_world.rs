//! The realistic vendored wrapper (`scripts/make_vendored.py`): a stale
//! record, local patches that only a definition- or key-level merge carries,
//! a true conflict, local-only files, dead patches and `**kwargs` calls.

use crate::support::vendored::VendoredWorld;

#[test]
fn the_fixture_is_shaped_like_a_real_vendored_wrapper() {
    let w = VendoredWorld::new();
    let modified = w.files("modified");
    assert!(modified.len() >= 10, "{modified:?}");
    assert!(modified.contains(&"wgp.py".to_owned()));
    assert!(w.files("added").len() >= 10);
    assert_ne!(w.commit("record"), w.commit("base"));
    let record = w.wrapper.read("STRUCTURE.md");
    assert!(record.contains(&w.commit("record")[..10]), "{record}");
    // git's line merge conflicts on every patch the new merge must carry
    for key in [
        "clean_by_definitions",
        "clean_by_json_keys",
        "true_conflicts",
    ] {
        for rel in w.files(key) {
            assert!(w.line_merge_conflicts(&rel), "{key}: {rel} merges by lines");
        }
    }
    // about 250 integration points over 60+ wrapper files
    w.tether().run(&["analyze"]);
    let a = w.analysis_json();
    let counts = &a["integration"]["counts"];
    let points: u64 = ["breaking", "at_risk", "info"]
        .iter()
        .map(|k| counts[k].as_u64().unwrap())
        .sum();
    assert!(points >= 200, "{counts}");
    let scanned = a["integration"]["scanned_files"].as_array().unwrap().len();
    assert!(scanned >= 60, "{scanned} wrapper files");
}
