//! The slurm executor on a real single-node cluster (`scripts/slurm-dev.sh
//! start`; `scripts/test.sh` starts it and exports `SLURM_CONF`): cases as
//! jobs, timeouts and `kill -9` leaving no job behind, Slurm's memory limit
//! as host out of memory, and `config check` without Slurm. Nothing is
//! skipped: without `sbatch` these tests fail and say how to start the
//! cluster (except the one that runs without Slurm on purpose).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::Tether;

const CASE_PY: &str = r#"
import json, os, sys, time

s = json.load(open(sys.argv[sys.argv.index("--settings") + 1]))
out = sys.argv[sys.argv.index("--out") + 1]
b = s["params"]["behaviour"]
print(f"case={s['case']}")
sys.stdout.flush()
if b == "ok":
    with open(os.path.join(out, "video.y4m"), "wb") as f:
        f.write(b"YUV4MPEG2 W16 H16 F16:1 C420\n" + b"FRAME\n" + bytes(384))
elif b == "fail":
    raise RuntimeError("the case broke")
elif b == "hang":
    time.sleep(300)
elif b == "eat":
    x = bytearray(600 * 1024 * 1024)
    for i in range(0, len(x), 4096):
        x[i] = 1
    time.sleep(10)
"#;

/// Fails (never skips) when the cluster's clients are missing.
pub(crate) fn require_slurm() {
    let found = Command::new("sbatch").arg("--version").output().is_ok();
    assert!(
        found,
        "sbatch not found: the slurm tests need the dev cluster; run `scripts/slurm-dev.sh install` once, then `scripts/slurm-dev.sh start` and `eval \"$(scripts/slurm-dev.sh env)\"`"
    );
}

pub(crate) struct Project {
    _tmp: tempfile::TempDir,
    pub(crate) dir: PathBuf,
}

/// A project whose cases (name, behaviour) run on `executor`.
pub(crate) fn project(executor: &str, cases: &[(&str, &str)], extra: &str) -> Project {
    let case_tables: String = cases
        .iter()
        .map(|(name, b)| {
            format!(
                "\n[[baseline.case]]\nname = \"{name}\"\nmodel = \"m\"\noutputs = [\"*.y4m\"]\nparams = {{ behaviour = \"{b}\" }}\n"
            )
        })
        .collect();
    let p = crate::support::project::temp_project(
        "python3",
        &[("case.py", CASE_PY)],
        &format!(
            r#"
[baseline]
quality = false
command = "{{python}} case.py --settings {{settings_json}} --out {{output_dir}}"
grace_period = "1s"
timeout = "60s"
executor = "{executor}"
{extra}
{case_tables}
[slurm]
gres = ""
cpus = 1
memory = "200M"
shared_dir = "shared"
poll_min = "200ms"
poll_max = "1s"
"#
        ),
    );
    Project {
        dir: p.dir,
        _tmp: p._tmp,
    }
}

impl Project {
    pub(crate) fn tether(&self) -> Tether {
        Tether::new(&self.dir)
    }

    /// The only run's `results.json`.
    pub(crate) fn results(&self) -> Value {
        let outputs = self.dir.join("outputs");
        let run = fs_err::read_dir(&outputs)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.join("results.json").exists())
            .expect("a run folder with results.json");
        serde_json::from_str(&fs_err::read_to_string(run.join("results.json")).unwrap()).unwrap()
    }
}

/// Every key path of a JSON value (arrays by their first item).
fn shape(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let here = format!("{at}.{k}");
                out.push(here.clone());
                shape(v, &here, out);
            }
        }
        Value::Array(a) => {
            if let Some(first) = a.first() {
                shape(first, &format!("{at}[]"), out);
            }
        }
        _ => {}
    }
}

/// Jobs of the cluster whose name holds `needle`, with their states.
fn jobs_named(needle: &str) -> Vec<String> {
    let out = Command::new("squeue")
        .args(["--noheader", "--format=%j|%T"])
        .output()
        .expect("squeue runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

fn case<'a>(results: &'a Value, name: &str) -> &'a Value {
    results["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case `{name}` in {results:#}"))
}

#[test]
fn three_cases_run_as_three_jobs_and_results_look_like_the_local_ones() {
    require_slurm();
    let cases = [("s3_a", "ok"), ("s3_b", "ok"), ("s3_c", "fail")];
    let on_slurm = project("slurm", &cases, "");
    let local = project("local", &cases, "");
    on_slurm
        .tether()
        .run(&["baseline", "run", "--json"])
        .assert_code(6);
    local
        .tether()
        .run(&["baseline", "run", "--json"])
        .assert_code(6);
    let (s, l) = (on_slurm.results(), local.results());
    for name in ["s3_a", "s3_b"] {
        assert_eq!(case(&s, name)["status"], "passed", "{s:#}");
        assert_eq!(case(&s, name)["outputs"][0]["path"], "video.y4m");
    }
    let failed = case(&s, "s3_c");
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["stderr_tail"]
            .as_str()
            .unwrap()
            .contains("the case broke")
    );
    // the logs were streamed (and copied) into the controller's run folder
    let log_dir = PathBuf::from(case(&s, "s3_a")["log_dir"].as_str().unwrap());
    assert!(
        log_dir.starts_with(on_slurm.dir.join("outputs")),
        "{log_dir:?}"
    );
    assert_eq!(
        fs_err::read_to_string(log_dir.join("stdout.log")).unwrap(),
        "case=s3_a\n"
    );
    assert!(log_dir.join("slurm.out").exists());
    let (mut ks, mut kl) = (Vec::new(), Vec::new());
    shape(&s, "", &mut ks);
    shape(&l, "", &mut kl);
    ks.sort();
    kl.sort();
    assert_eq!(ks, kl);
}

#[test]
fn a_hanging_case_is_stopped_at_its_timeout_and_leaves_no_job() {
    require_slurm();
    let p = project("slurm", &[("hang_to", "hang")], "");
    let toml = p.dir.join("tether.toml");
    let text = fs_err::read_to_string(&toml).unwrap();
    fs_err::write(&toml, text.replace("timeout = \"60s\"", "timeout = \"3s\"")).unwrap();
    p.tether()
        .run(&["baseline", "run", "--json"])
        .assert_code(6);
    let r = p.results();
    let c = case(&r, "hang_to");
    assert_eq!(c["status"], "timed_out", "{c:#}");
    let run_id = r["run_id"].as_str().unwrap();
    let left: Vec<String> = jobs_named(&format!("{run_id}-hang_to"))
        .into_iter()
        .filter(|j| {
            !j.ends_with("COMPLETED") && !j.ends_with("CANCELLED") && !j.ends_with("FAILED")
        })
        .collect();
    assert!(left.is_empty(), "jobs of the run still queued: {left:?}");
}

#[test]
fn jobs_of_a_tether_killed_with_kill_9_are_cancelled_by_the_next_command() {
    require_slurm();
    let p = project("slurm", &[("orphan_k9", "hang")], "");
    let mut child = p
        .tether()
        .cmd()
        .args(["baseline", "run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while !jobs_named("orphan_k9")
        .iter()
        .any(|j| j.ends_with("RUNNING"))
    {
        assert!(Instant::now() < deadline, "the case's job never ran");
        std::thread::sleep(Duration::from_millis(200));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        jobs_named("orphan_k9")
            .iter()
            .any(|j| j.ends_with("RUNNING"))
    );
    // any command that loads the config cancels them (this one then fails)
    let out = p.tether().run(&["baseline", "run", "--cases", "nope"]);
    assert!(out.stderr.contains("cancelled Slurm job"), "{}", out.stderr);
    let deadline = Instant::now() + Duration::from_secs(30);
    while jobs_named("orphan_k9")
        .iter()
        .any(|j| j.ends_with("RUNNING"))
    {
        assert!(Instant::now() < deadline, "{:?}", jobs_named("orphan_k9"));
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        fs_err::read_dir(p.dir.join(".tether/slurm-jobs"))
            .unwrap()
            .next()
            .is_none(),
        "the job's record stays"
    );
}

/// Starts `tether baseline run` and waits until the job of `case` runs.
fn run_until_job_runs(p: &Project, case: &str) -> std::process::Child {
    let child = p
        .tether()
        .cmd()
        .args(["baseline", "run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while !jobs_named(case).iter().any(|j| j.ends_with("RUNNING")) {
        assert!(Instant::now() < deadline, "the case's job never ran");
        std::thread::sleep(Duration::from_millis(200));
    }
    child
}

#[test]
fn sigterm_cancels_the_runs_jobs_and_writes_the_results() {
    require_slurm();
    let p = project("slurm", &[("term_me", "hang")], "");
    let mut child = run_until_job_runs(&p, "term_me");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    child.wait().unwrap();
    let jobs = jobs_named("term_me");
    assert!(
        !jobs
            .iter()
            .any(|j| j.ends_with("RUNNING") || j.ends_with("PENDING")),
        "{jobs:?}"
    );
    let r = p.results();
    let c = case(&r, "term_me");
    assert_eq!(c["job_failure"]["kind"], "cancelled", "{c:#}");
}

#[test]
fn a_case_past_its_slurm_memory_limit_is_host_out_of_memory() {
    require_slurm();
    let p = project("slurm", &[("oom_eat", "eat")], "");
    p.tether()
        .run(&["baseline", "run", "--json"])
        .assert_code(6);
    let r = p.results();
    let c = case(&r, "oom_eat");
    assert_eq!(c["status"], "failed", "{c:#}");
    assert_eq!(c["job_failure"]["kind"], "host_out_of_memory", "{c:#}");
    assert!(c["error"].as_str().unwrap().contains("host out of memory"));
}

#[test]
fn config_check_without_slurm_says_sbatch_not_found_and_names_a_bad_partition() {
    let p = project("slurm", &[("cc", "ok")], "");
    let empty = tempfile::tempdir().unwrap();
    let out = p
        .tether()
        .cmd()
        .args(["config", "check"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`sbatch` not found"), "{stderr}");

    require_slurm();
    let toml = p.dir.join("tether.toml");
    let text = fs_err::read_to_string(&toml).unwrap();
    fs_err::write(
        &toml,
        text.replace("[slurm]\n", "[slurm]\npartition = \"a100\"\n"),
    )
    .unwrap();
    let out = p.tether().run(&["config", "check"]);
    out.assert_code(2);
    assert!(out.stderr.contains("no partition `a100`"), "{}", out.stderr);
    assert!(out.stderr.contains("`h100`"), "{}", out.stderr);
}

#[test]
fn a_controller_that_is_down_fails_the_run_with_the_schedulers_message() {
    require_slurm();
    let p = project("slurm", &[("down_ctl", "ok")], "");
    // the cluster's own config with the controller's port moved away
    let shown = Command::new("scontrol")
        .args(["show", "config"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    let conf = shown
        .lines()
        .find_map(|l| {
            l.strip_prefix("SLURM_CONF")
                .map(|v| v.trim_start_matches([' ', '=']).to_owned())
        })
        .expect("scontrol names SLURM_CONF");
    let text = fs_err::read_to_string(&conf).unwrap();
    let down = p.dir.join("down.conf");
    fs_err::write(
        &down,
        text.replace("SlurmctldPort=6817", "SlurmctldPort=6999"),
    )
    .unwrap();
    let out = p
        .tether()
        .cmd()
        .args(["baseline", "run"])
        .env("SLURM_CONF", &down)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("the slurm executor failed: `sbatch` failed:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Unable to contact slurm controller"),
        "{stderr}"
    );
}
