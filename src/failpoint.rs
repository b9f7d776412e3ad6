//! Owns tether's named failpoints: places in the update path (backup,
//! staging, the baseline, fixes, promotion, rollback and recovery) where a
//! test can make the real binary kill itself with SIGKILL, exactly as a
//! `kill -9` or a power cut of the process would, to prove that the next
//! command finds the live wrapper either as it was or fully promoted.
//!
//! Built on the `fail` crate (TiKV's failpoints): compiled in only with the
//! `failpoints` cargo feature (the test build turns it on); without it every
//! [`hit`] is an empty inline function. Configure with the `FAILPOINTS`
//! environment variable in `fail`'s syntax: `NAME=return` kills tether at
//! `NAME`; `pause`, `sleep(ms)` and `panic` work as `fail` documents.

/// Every failpoint, in the order an update reaches them. The crash test
/// kills tether at each in turn; a test checks that this list and the
/// `hit("...")` calls in `src/` agree.
pub const ALL: &[&str] = &[
    "update.backup.files-copied",
    "update.journal.saved",
    "update.stage.cloned",
    "update.stage.staged",
    "update.baseline.tested",
    "update.fix.committed",
    "promote.planned",
    "promote.journaled",
    "promote.upstream.files-half",
    "promote.upstream.files-done",
    "promote.upstream.index-written",
    "promote.upstream.head-moved",
    "promote.wrapper.files-half",
    "promote.wrapper.files-done",
    "promote.wrapper.index-written",
    "promote.wrapper.head-moved",
    "promote.promoted",
    "rollback.discarded",
    "rollback.journaled",
    "recover.upstream.files-half",
    "recover.wrapper.files-half",
    "recover.settled",
    "update.continue.committed",
    "update.continue.tested",
    "update.abort.started",
    "gate.parked.saved",
    "gate.approve.journaled",
    "process.spawn.unblocked",
];

/// Marks the failpoint `name`: with the `failpoints` feature and
/// `FAILPOINTS=name=return`, tether kills itself here with SIGKILL.
#[inline]
pub fn hit(name: &'static str) {
    #[cfg(feature = "failpoints")]
    if fail::eval(name, |_| ()).is_some() {
        die(name);
    }
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}

/// Starts `fail`'s registry from `FAILPOINTS`; keep the guard for the whole
/// run. Without the feature, nothing.
pub fn setup() -> Guard {
    #[cfg(feature = "failpoints")]
    {
        Guard(Some(fail::FailScenario::setup()))
    }
    #[cfg(not(feature = "failpoints"))]
    {
        Guard(())
    }
}

/// Keeps the failpoint registry alive.
#[cfg(feature = "failpoints")]
pub struct Guard(#[allow(dead_code)] Option<fail::FailScenario<'static>>);
#[cfg(not(feature = "failpoints"))]
pub struct Guard(());

/// Whether this build has failpoints compiled in.
pub const ENABLED: bool = cfg!(feature = "failpoints");

#[cfg(feature = "failpoints")]
fn die(name: &str) -> ! {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "tether: failpoint `{name}`: killing tether with SIGKILL"
    );
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    std::process::abort()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    /// Every `hit("name")` in `src/` is listed in [`super::ALL`], and
    /// every listed name is hit somewhere.
    #[test]
    fn the_list_names_every_failpoint_in_the_source() {
        fn walk(dir: &Path, out: &mut BTreeSet<String>) {
            for e in fs_err::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("failpoint.rs") {
                    let text = fs_err::read_to_string(&p).unwrap();
                    out.extend(hits(&text));
                }
            }
        }
        let mut found = BTreeSet::new();
        walk(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        let listed: BTreeSet<String> = super::ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(super::ALL.len(), listed.len(), "a name is listed twice");
        let unlisted: Vec<_> = found.difference(&listed).collect();
        let unused: Vec<_> = listed.difference(&found).collect();
        assert!(unlisted.is_empty(), "hit but not in ALL: {unlisted:?}");
        assert!(unused.is_empty(), "in ALL but never hit: {unused:?}");
    }

    fn hits(text: &str) -> Vec<String> {
        let re = regex::Regex::new(r#"failpoint::hit\("([a-z.\-]+)"\)"#).unwrap();
        re.captures_iter(text).map(|c| c[1].to_owned()).collect()
    }

    #[test]
    fn the_scanner_finds_hits() {
        let sample = "x();\n    crate::failpoint::hit(\"a.b-c\");\n failpoint::hit(\"d\");";
        assert_eq!(hits(sample), ["a.b-c", "d"]);
    }
}
