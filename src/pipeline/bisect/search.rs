//! The search itself, as a pure function of the verdicts so far (so an
//! interrupted bisect resumes from its journal): candidates are the commits
//! after the good end up to the bad end, oldest first, the last one known
//! bad. The next probe is the untested candidate nearest the middle of the
//! open interval (last good, first bad); skipped candidates are gone around,
//! like `git bisect run`'s exit 125. A parallel bisect (`next_round`)
//! probes K candidates at once, splitting the open interval into K+1 parts,
//! so N candidates take about log base K+1 of N rounds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepVerdict {
    Good,
    Bad,
    Skip,
}

impl StepVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            StepVerdict::Good => "GOOD",
            StepVerdict::Bad => "BAD",
            StepVerdict::Skip => "SKIP",
        }
    }
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Test the candidate at this index.
    Probe(usize),
    /// The first bad candidate.
    Found(usize),
    /// Skips leave several candidates, any of which may be the first bad one.
    Undecidable(Vec<usize>),
}

/// The next step over `n` candidates (the last one bad) given `verdicts` by
/// candidate index.
pub fn next(n: usize, verdicts: &BTreeMap<usize, StepVerdict>) -> Next {
    assert!(n > 0, "a bisect needs at least one candidate");
    let lo: isize = verdicts
        .iter()
        .filter(|(_, v)| **v == StepVerdict::Good)
        .map(|(i, _)| *i as isize)
        .max()
        .unwrap_or(-1);
    let hi: usize = verdicts
        .iter()
        .filter(|(i, v)| **v == StepVerdict::Bad && **i as isize > lo)
        .map(|(i, _)| *i)
        .min()
        .unwrap_or(n - 1);
    let open: Vec<usize> = ((lo + 1) as usize..hi)
        .filter(|i| !verdicts.contains_key(i))
        .collect();
    if open.is_empty() {
        let between: Vec<usize> = ((lo + 1) as usize..=hi).collect();
        return if between.len() == 1 {
            Next::Found(hi)
        } else {
            Next::Undecidable(between)
        };
    }
    // the middle of the open interval, in half-steps to stay exact
    let mid2 = (lo + hi as isize) as usize;
    let pick = open
        .iter()
        .copied()
        .min_by_key(|&i| (2 * i).abs_diff(mid2))
        .expect("open is not empty");
    Next::Probe(pick)
}

/// What to do next when `k` candidates can be tested at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Round {
    /// Test these candidates together (at most `k`, oldest first).
    Probe(Vec<usize>),
    /// The search is over (`Next::Found` or `Next::Undecidable`).
    Done(Next),
}

/// The next round over `n` candidates given `verdicts`: `k` probes that
/// split the open interval (last good, first bad) into `k + 1` parts, each
/// the untested candidate nearest its split point; skipped candidates are
/// gone around as in [`next`]. `k = 1` is [`next`]'s binary search.
pub fn next_round(n: usize, verdicts: &BTreeMap<usize, StepVerdict>, k: usize) -> Round {
    let first = match next(n, verdicts) {
        Next::Probe(i) => i,
        done => return Round::Done(done),
    };
    let k = k.max(1);
    if k == 1 {
        return Round::Probe(vec![first]);
    }
    let lo: isize = verdicts
        .iter()
        .filter(|(_, v)| **v == StepVerdict::Good)
        .map(|(i, _)| *i as isize)
        .max()
        .unwrap_or(-1);
    let hi: usize = verdicts
        .iter()
        .filter(|(i, v)| **v == StepVerdict::Bad && **i as isize > lo)
        .map(|(i, _)| *i)
        .min()
        .unwrap_or(n - 1);
    let mut open: Vec<usize> = ((lo + 1) as usize..hi)
        .filter(|i| !verdicts.contains_key(i))
        .collect();
    if open.len() <= k {
        return Round::Probe(open);
    }
    let span = (hi as isize - lo) as usize;
    let mut picks = Vec::with_capacity(k);
    for j in 1..=k {
        // the split point lo + span * j / (k + 1), in (k + 1)ths to stay exact
        let point = (lo + 1) as usize * (k + 1) + span * j - (k + 1);
        let Some(at) = open
            .iter()
            .enumerate()
            .min_by_key(|(_, i)| (*i * (k + 1)).abs_diff(point))
            .map(|(at, _)| at)
        else {
            break;
        };
        picks.push(open.remove(at));
    }
    picks.sort_unstable();
    Round::Probe(picks)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the search with `bad_from` as the first bad index and `skips`
    /// skipped; returns (result, probes).
    fn run(n: usize, bad_from: usize, skips: &[usize]) -> (Next, usize) {
        let mut v = BTreeMap::new();
        let mut probes = 0;
        loop {
            match next(n, &v) {
                Next::Probe(i) => {
                    probes += 1;
                    let verdict = if skips.contains(&i) {
                        StepVerdict::Skip
                    } else if i >= bad_from {
                        StepVerdict::Bad
                    } else {
                        StepVerdict::Good
                    };
                    v.insert(i, verdict);
                    assert!(probes <= n, "no progress");
                }
                done => return (done, probes),
            }
        }
    }

    #[test]
    fn finds_the_culprit_within_log2_steps() {
        for n in [1usize, 2, 3, 5, 16, 17, 100, 1000] {
            let bound = (n as f64).log2().ceil() as usize;
            for bad in [0, n / 2, n - 1] {
                let (found, probes) = run(n, bad, &[]);
                assert_eq!(found, Next::Found(bad), "n {n} bad {bad}");
                assert!(
                    probes <= bound,
                    "n {n} bad {bad}: {probes} probes > {bound}"
                );
            }
        }
    }

    #[test]
    fn skips_are_gone_around() {
        // 17 candidates, culprit 8, skips before and after it
        let (found, _) = run(17, 8, &[6, 9, 10]);
        assert_eq!(found, Next::Found(8));
        // the commit just before the culprit skipped: either may be first
        let (found, _) = run(17, 8, &[7]);
        assert_eq!(found, Next::Undecidable(vec![7, 8]));
        // a skipped culprit: the answer is the pair around it
        let (found, _) = run(17, 8, &[8]);
        assert_eq!(found, Next::Undecidable(vec![8, 9]));
    }

    #[test]
    fn all_skips_are_undecidable_with_every_candidate() {
        let skips: Vec<usize> = (0..9).collect();
        let (found, probes) = run(10, 5, &skips);
        assert_eq!(found, Next::Undecidable((0..10).collect()));
        assert_eq!(probes, 9);
    }

    /// Runs the parallel search; returns (result, rounds, probes).
    fn run_rounds(n: usize, bad_from: usize, skips: &[usize], k: usize) -> (Next, usize, usize) {
        let mut v = BTreeMap::new();
        let (mut rounds, mut probes) = (0, 0);
        loop {
            match next_round(n, &v, k) {
                Round::Probe(picks) => {
                    assert!(!picks.is_empty() && picks.len() <= k, "{picks:?}");
                    rounds += 1;
                    for i in picks {
                        probes += 1;
                        let verdict = if skips.contains(&i) {
                            StepVerdict::Skip
                        } else if i >= bad_from {
                            StepVerdict::Bad
                        } else {
                            StepVerdict::Good
                        };
                        assert!(v.insert(i, verdict).is_none(), "{i} probed twice");
                    }
                    assert!(rounds <= n, "no progress");
                }
                Round::Done(done) => return (done, rounds, probes),
            }
        }
    }

    #[test]
    fn k_probes_a_round_need_about_log_k_plus_1_rounds() {
        for n in [1usize, 2, 3, 8, 26, 27, 100, 1000] {
            for k in [1usize, 2, 3] {
                let bound = ((n as f64).ln() / ((k + 1) as f64).ln()).ceil() as usize + 1;
                for bad in [0, n / 3, n / 2, n - 1] {
                    let (found, rounds, _) = run_rounds(n, bad, &[], k);
                    assert_eq!(found, Next::Found(bad), "n {n} k {k} bad {bad}");
                    assert!(
                        rounds <= bound,
                        "n {n} k {k} bad {bad}: {rounds} rounds > {bound}"
                    );
                }
            }
        }
        // k = 1 is the serial search, probe for probe
        let (_, rounds, probes) = run_rounds(100, 37, &[], 1);
        assert_eq!((rounds, probes), (run(100, 37, &[]).1, run(100, 37, &[]).1));
        // k = 2 takes fewer rounds than the serial search over 26 commits
        let serial = run(26, 17, &[]).1;
        let (_, parallel, _) = run_rounds(26, 17, &[], 2);
        assert!(parallel < serial, "{parallel} rounds vs {serial}");
    }

    #[test]
    fn parallel_rounds_go_around_skips_like_the_serial_search() {
        let (found, _, _) = run_rounds(17, 8, &[6, 9, 10], 2);
        assert_eq!(found, Next::Found(8));
        let (found, _, _) = run_rounds(17, 8, &[7], 3);
        assert_eq!(found, Next::Undecidable(vec![7, 8]));
        let (found, _, _) = run_rounds(17, 8, &[8], 2);
        assert_eq!(found, Next::Undecidable(vec![8, 9]));
    }

    #[test]
    fn verdicts_replay_to_the_same_next_step() {
        let mut v = BTreeMap::new();
        v.insert(50, StepVerdict::Good);
        v.insert(75, StepVerdict::Bad);
        let a = next(100, &v);
        let b = next(100, &v.clone());
        assert_eq!(a, b);
        assert_eq!(a, Next::Probe(62));
    }
}
