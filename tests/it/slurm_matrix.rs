//! The hardware matrix, the parallel bisect and `tether health` on the real
//! single-node dev cluster (`scripts/slurm-dev.sh start`): its two
//! partitions `h100` and `l40s` over one CPU-only host stand for two kinds
//! of hardware, told apart by the `cpu-slurm-<partition>` hardware key.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::bisect::{World, assert_culprit, kinds};
use crate::slurm::{project, require_slurm};

const TARGETS: &str = "\n[[slurm.target]]\nname = \"h100\"\npartition = \"h100\"\n\n[[slurm.target]]\nname = \"l40s\"\npartition = \"l40s\"\n";

/// Appends the two targets to a project's config.
fn with_targets(dir: &std::path::Path) {
    let toml = dir.join("tether.toml");
    let text = fs_err::read_to_string(&toml).unwrap();
    fs_err::write(&toml, text + TARGETS).unwrap();
}

/// Every reference file under `dir`, as `<hardware>/<file>`.
fn references(dir: &std::path::Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Ok(hardware) = fs_err::read_dir(dir) else {
        return out;
    };
    for h in hardware.flatten().filter(|e| e.path().is_dir()) {
        for f in fs_err::read_dir(h.path()).unwrap().flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") {
                out.insert(format!("{}/{name}", h.file_name().to_string_lossy()));
            }
        }
    }
    out
}

#[test]
fn a_two_target_matrix_records_references_under_both_targets_hardware_keys() {
    require_slurm();
    let p = project("slurm", &[("mx_a", "ok")], "");
    with_targets(&p.dir);
    let out = p.tether().run(&["baseline", "record", "--json"]);
    out.assert_code(0);
    let results = p.results();
    let cases = results["cases"].as_array().unwrap();
    let ran: BTreeSet<(String, String)> = cases
        .iter()
        .map(|c| {
            (
                c["target"].as_str().unwrap().to_owned(),
                c["hardware"]["slug"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        ran,
        BTreeSet::from([
            ("h100".to_owned(), "cpu-slurm-h100".to_owned()),
            ("l40s".to_owned(), "cpu-slurm-l40s".to_owned()),
        ]),
        "{results:#}"
    );
    // each target's folder holds its own job's logs
    for c in cases {
        let dir = std::path::PathBuf::from(c["log_dir"].as_str().unwrap());
        assert!(
            dir.ends_with(format!("mx_a@{}", c["target"].as_str().unwrap())),
            "{dir:?}"
        );
        assert_eq!(
            fs_err::read_to_string(dir.join("stdout.log")).unwrap(),
            "case=mx_a\n"
        );
    }
    let refs: Vec<String> = references(&p.dir.join("baselines"))
        .into_iter()
        .map(|r| r.split('/').next().unwrap().to_owned())
        .collect();
    assert_eq!(refs, ["cpu-slurm-h100", "cpu-slurm-l40s"], "{refs:?}");
    // the report shows each target with the hardware it ran on
    let report = fs_err::read_dir(p.dir.join("outputs"))
        .unwrap()
        .flatten()
        .flat_map(|run| fs_err::read_dir(run.path()).unwrap().flatten())
        .filter(|f| f.path().extension().is_some_and(|e| e == "md"))
        .map(|f| fs_err::read_to_string(f.path()).unwrap())
        .collect::<String>();
    assert!(
        report.contains("| h100 | cpu-slurm-h100 | 1 of 1 |")
            && report.contains("| l40s | cpu-slurm-l40s | 1 of 1 |")
            && report.contains("| mx_a@l40s |"),
        "{report}"
    );
    // a second run compares each target with its own reference
    let out = p.tether().run(&["baseline", "run", "--json"]);
    out.assert_code(0);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let compared: BTreeSet<(String, String)> = v["comparisons"]
        .as_array()
        .unwrap_or_else(|| panic!("{v:#}"))
        .iter()
        .map(|c| {
            (
                c["target"].as_str().unwrap().to_owned(),
                c["hardware"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(compared.len(), 2, "{v:#}");
    assert!(
        v["comparisons"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["kind"] == "compared"),
        "{v:#}"
    );
}

#[test]
fn health_reports_the_cluster_its_target_partitions_and_their_queues() {
    require_slurm();
    let p = project("slurm", &[("hl_a", "ok")], "");
    with_targets(&p.dir);
    let out = p.tether().run(&["health", "--json", "--no-probe"]);
    let v: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr));
    let problems = crate::json_schemas::problems("health", &v);
    assert!(problems.is_empty(), "{problems:?}");
    let cluster = &v["cluster"];
    assert_eq!(cluster["reachable"], true, "{cluster:#}");
    #[allow(clippy::type_complexity)]
    let parts: Vec<(String, Value, Value)> = cluster["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["targets"].clone(),
                p["up"].clone(),
            )
        })
        .collect();
    assert_eq!(
        parts,
        [
            (
                "h100".to_owned(),
                serde_json::json!(["h100"]),
                Value::Bool(true)
            ),
            (
                "l40s".to_owned(),
                serde_json::json!(["l40s"]),
                Value::Bool(true)
            ),
        ],
        "{cluster:#}"
    );
    assert!(
        cluster["partitions"][0]["queue"]["pending"].is_u64(),
        "{cluster:#}"
    );
    let text = p.tether().run(&["health", "--no-probe"]);
    assert!(text.stdout.contains("## Slurm cluster"), "{}", text.stdout);
    assert!(
        text.stdout.contains("| l40s | l40s | up |"),
        "{}",
        text.stdout
    );
    // a target on a partition the cluster lacks fails health and is named
    let toml = p.dir.join("tether.toml");
    let text = fs_err::read_to_string(&toml).unwrap();
    fs_err::write(
        &toml,
        text.replace("partition = \"l40s\"", "partition = \"a100\""),
    )
    .unwrap();
    let out = p.tether().run(&["health", "--json", "--no-probe"]);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "failing", "{v:#}");
    assert!(
        v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["message"] == "the cluster has no partition `a100` (target l40s)"),
        "{:#}",
        v["reasons"]
    );
}

/// A bisect world whose case runs as a Slurm job, `parallel` candidates a
/// round.
fn slurm_world(n: usize, culprit: usize, parallel: u32) -> World {
    let w = World::new(
        &kinds(n, culprit),
        &format!(
            "\n[update]\nbisect_parallel = {parallel}\n\n[slurm]\ngres = \"\"\ncpus = 1\nshared_dir = \"shared\"\npoll_min = \"200ms\"\npoll_max = \"1s\"\n"
        ),
    );
    let toml = w.root.join("tether.toml");
    let text = fs_err::read_to_string(&toml).unwrap();
    fs_err::write(
        &toml,
        text.replacen(
            "quality = false",
            "quality = false\nexecutor = \"slurm\"",
            1,
        ),
    )
    .unwrap();
    w
}

/// Rounds of the search between the ends: a serial step is one round.
fn rounds(v: &Value) -> usize {
    let steps: Vec<&Value> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["role"] == "step")
        .collect();
    let parallel: BTreeSet<u64> = steps.iter().filter_map(|s| s["round"].as_u64()).collect();
    steps.iter().filter(|s| s["round"].is_null()).count() + parallel.len()
}

#[test]
fn a_parallel_bisect_of_two_a_round_finds_the_culprit_in_fewer_rounds() {
    require_slurm();
    // 8 candidates, the culprit the 6th: 3 serial steps, 2 rounds of two
    let serial = slurm_world(8, 6, 1);
    let parallel = slurm_world(8, 6, 2);
    // both at once (a World is not Sync: its git helper counts time)
    let bisect = |root: std::path::PathBuf| {
        move || {
            let out = crate::support::Tether::new(&root).run(&["bisect", "--json"]);
            let v: Value = serde_json::from_str(&out.stdout)
                .unwrap_or_else(|e| panic!("{e}\n{}\n{}", out.stdout, out.stderr));
            (out.code, v)
        }
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(bisect(serial.root.clone()));
        let b = s.spawn(bisect(parallel.root.clone()));
        (a.join().unwrap(), b.join().unwrap())
    });
    let ((ca, va), (cb, vb)) = (a, b);
    assert_eq!(ca, 0, "{va:#}");
    assert_eq!(cb, 0, "{vb:#}");
    assert_culprit(&serial, &va, 6);
    assert_culprit(&parallel, &vb, 6);
    let (rs, rp) = (rounds(&va), rounds(&vb));
    eprintln!("serial: {rs} rounds, K = 2: {rp} rounds");
    assert!(
        rp < rs,
        "parallel {rp} rounds vs serial {rs}: {:#}",
        vb["steps"]
    );
    // the rounds of the parallel search tested two commits each
    let first_round = vb["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["round"] == 1)
        .count();
    assert_eq!(first_round, 2, "{:#}", vb["steps"]);
}
