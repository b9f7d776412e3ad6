//! Held back means remembered: a simulated month of a real upstream gaining
//! two commits a day, a culprit on day 3 that no fix repairs, fixed upstream
//! on day 20, and `tether update` (adopt-last-good) run once a day with the
//! clock moved by `TETHER_NOW`: with `update.remember_held` (the default) a
//! new target is re-tested once on the hunted cases while held, without it
//! every night bisects again. The baseline runs each spends are counted.

use std::path::PathBuf;

use serde_json::Value;

use crate::support::git::EPOCH;
use crate::support::{GitRepo, Tether};

const API_GOOD: &str = "def generate(steps):\n    return 'frames:%d' % steps\n";
// a break no fix strategy repairs; the address and time change every run
const API_BAD: &str = "import time\ndef generate(steps):\n    raise RuntimeError('the VAE checkpoint layout changed at 0x%x (%s)' % (id(steps), time.time()))\n";

const CASE_PY: &str =
    "import sys\nsys.path.insert(0, 'up')\nimport api\nprint(api.generate(steps=3))\n";

const DAY: i64 = 24 * 3600;
const DAYS: i64 = 30;
const CULPRIT_DAY: i64 = 3;
const FIX_DAY: i64 = 20;

struct Month {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    upstream: GitRepo,
}

impl Month {
    fn new(remember: bool) -> Month {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("project");
        let upstream = GitRepo::init(root.join("upstream"));
        upstream.write("api.py", API_GOOD);
        let base = upstream.commit("feat: generate");
        let wrapper = GitRepo::init(root.join("wrapper"));
        wrapper.write("case.py", CASE_PY);
        wrapper.commit("feat: baseline case");
        wrapper.add_submodule(&upstream, "up", &base);
        let toml = format!(
            r#"[project]
root = "wrapper"
python = "python3"
state_dir = ".tether"
outputs_dir = "outputs"
analysis_dir = "maintenance_analysis"

[[upstream]]
name = "up"
url = "{}"
path = "up"
layout = "submodule"
track = "branch:main"
key_files = ["api.py"]

[baseline]
command = "{{python}} case.py"
timeout = "120s"
quality = false

[[baseline.case]]
name = "gen"
model = "m"

[gpu]
preflight = "never"

[update]
on_unfixable = "adopt-last-good"
remember_held = {remember}
"#,
            upstream.path.display()
        );
        fs_err::write(root.join("tether.toml"), toml).unwrap();
        Month {
            _tmp: tmp,
            root,
            upstream,
        }
    }

    /// Day `day`'s two upstream commits (the culprit first on its day, the
    /// fix first on its day).
    fn commit_day(&self, day: i64) {
        self.upstream.set_time(EPOCH + day * DAY);
        for n in 0..2 {
            self.upstream.write(
                &format!("notes/{day:02}-{n}.txt"),
                format!("day {day} change {n}\n"),
            );
            let msg = match (day, n) {
                (CULPRIT_DAY, 0) => {
                    self.upstream.write("api.py", API_BAD);
                    "refactor: new checkpoint layout".to_owned()
                }
                (FIX_DAY, 0) => {
                    self.upstream.write("api.py", API_GOOD);
                    "fix: the checkpoint layout works again".to_owned()
                }
                _ => format!("docs: day {day} note {n}"),
            };
            self.upstream.commit(&msg);
        }
    }

    /// `tether update --json` at noon of `day`.
    fn update(&self, day: i64) -> Value {
        let mut t = Tether::new(&self.root);
        t.now = Some(EPOCH + day * DAY + DAY / 2);
        let out = t.run(&["update", "--json"]);
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "day {day}: {e}\n--- stdout\n{}\n--- stderr\n{}",
                out.stdout, out.stderr
            )
        })
    }
}

/// What a month cost: baseline runs, outcomes by day, and whether the hold
/// ended on the fix day.
struct Tally {
    runs: u64,
    /// Their wall time (the sum of case durations: GPU time on a GPU box).
    seconds: f64,
    /// The fix day's notes.
    fix_notes: String,
    outcomes: Vec<(i64, String)>,
    bisects: u32,
}

fn live_month(remember: bool) -> (Month, Tally) {
    let m = Month::new(remember);
    let mut tally = Tally {
        runs: 0,
        seconds: 0.0,
        fix_notes: String::new(),
        outcomes: Vec::new(),
        bisects: 0,
    };
    for day in 1..=DAYS {
        m.commit_day(day);
        let v = m.update(day);
        tally.runs += v["spent"]["runs"].as_u64().unwrap_or_else(|| panic!("{v}"));
        tally.seconds += v["spent"]["seconds"].as_f64().unwrap_or(0.0);
        if day == FIX_DAY {
            tally.fix_notes = v["notes"].to_string();
        }
        if !v["bisect"].is_null() {
            tally.bisects += 1;
        }
        let kind = v["outcome"]["kind"].as_str().unwrap_or("?").to_owned();
        let held =
            crate::support::git::git(&m.root.join("wrapper/up"), &["log", "-1", "--format=%s"]);
        eprintln!("remember_held={remember} day {day:2}: {kind:12} live at `{held}`");
        tally.outcomes.push((day, kind));
    }
    (m, tally)
}

#[test]
fn a_month_held_back_spends_one_retest_a_night_instead_of_a_bisect() {
    let (with, w) = live_month(true);
    let (_without, wo) = live_month(false);
    eprintln!(
        "simulated month ({DAYS} days, 2 commits a day, culprit day {CULPRIT_DAY}, fixed day {FIX_DAY}): baseline runs with the memory {} ({} bisects, {:.2} s of cases), without {} ({} bisects, {:.2} s of cases)",
        w.runs, w.bisects, w.seconds, wo.runs, wo.bisects, wo.seconds
    );
    // held from the culprit's day until the fix: one re-test a night
    for (day, kind) in &w.outcomes {
        if *day > CULPRIT_DAY && *day < FIX_DAY {
            assert_eq!(kind, "still-held", "day {day}: {:?}", w.outcomes);
        }
    }
    assert_eq!(w.bisects, 1, "only the culprit's night bisects");
    assert!(
        wo.bisects >= (FIX_DAY - CULPRIT_DAY) as u32,
        "{}",
        wo.bisects
    );
    assert!(
        w.runs * 3 < wo.runs,
        "the memory should spend far fewer baseline runs: {} vs {}",
        w.runs,
        wo.runs
    );
    // the fix touches the culprit's file: tested fully, not re-tested
    assert!(
        w.fix_notes.contains("the new commits touch `api.py` that")
            && w.fix_notes.contains("a likely fix upstream; testing fully"),
        "{}",
        w.fix_notes
    );
    // the fix day ends the hold in both
    for t in [&w, &wo] {
        let fix = &t.outcomes[(FIX_DAY - 1) as usize];
        assert_eq!(fix.1, "promoted", "{:?}", t.outcomes);
    }
    let check = Tether::new(&with.root).run(&["check"]);
    assert!(!check.stdout.contains("held back at"), "{}", check.stdout);
    let live =
        crate::support::git::git(&with.root.join("wrapper/up"), &["log", "-1", "--format=%s"]);
    assert_eq!(live, format!("docs: day {DAYS} note 1"));
}

#[test]
fn a_new_target_failing_the_same_way_keeps_the_hold_and_says_so() {
    let m = Month::new(true);
    for day in 1..=CULPRIT_DAY {
        m.commit_day(day);
        m.update(day);
    }
    m.commit_day(CULPRIT_DAY + 1);
    let v = m.update(CULPRIT_DAY + 1);
    assert_eq!(v["outcome"]["kind"], "still-held", "{}", v["outcome"]);
    let reason = v["outcome"]["reason"].as_str().unwrap();
    assert!(reason.starts_with("still broken by "), "{reason}");
    assert!(reason.contains("(same failure); held at "), "{reason}");
    assert_eq!(
        v["spent"]["runs"], 1,
        "one re-test, no bisect: {}",
        v["spent"]
    );
    assert!(v["bisect"].is_null());
    let report = fs_err::read_to_string(
        PathBuf::from(v["report_dir"].as_str().unwrap()).join("update_report.md"),
    )
    .unwrap();
    assert!(report.contains("fails the same way"), "{report}");
    // the same target again: waiting, nothing run
    let again = m.update(CULPRIT_DAY + 1);
    assert_eq!(
        again["outcome"]["kind"], "up-to-date",
        "{}",
        again["outcome"]
    );
    assert_eq!(again["spent"]["runs"], 0);
    // health shows the hold with its last re-test
    let health = Tether::new(&m.root).run(&["health", "--json", "--no-probe"]);
    let h: Value = serde_json::from_str(&health.stdout).unwrap();
    let held = &h["upstreams"][0]["held_back"];
    assert_eq!(held["retests"], 1, "{held}");
    assert!(!held["last_retest"].is_null(), "{held}");
    assert_eq!(held["failures"][0]["case"], "gen", "{held}");
}
