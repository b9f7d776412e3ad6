//! The search itself, as a pure function of the verdicts so far (so an
//! interrupted bisect resumes from its journal): candidates are the commits
//! after the good end up to the bad end, oldest first, the last one known
//! bad. The next probe is the untested candidate nearest the middle of the
//! open interval (last good, first bad); skipped candidates are gone around,
//! like `git bisect run`'s exit 125.

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
