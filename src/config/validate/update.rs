//! `[update]`: a strategy listed once, the commit author split.

use super::Problems;
use crate::config::defaults;
use crate::config::model::UpdateConfig;
use crate::config::raw::RawUpdate;

pub(super) fn update(raw: RawUpdate, p: &mut Problems) -> UpdateConfig {
    let strategies = match raw.strategies {
        None => defaults::STRATEGIES.to_vec(),
        Some(list) => {
            let mut out = Vec::new();
            for (j, s) in list.into_iter().enumerate() {
                if out.contains(&s) {
                    p.add(
                        format!("update.strategies[{j}]"),
                        format!("`{s}` is listed twice"),
                    );
                } else {
                    out.push(s);
                }
            }
            out
        }
    };
    let (name, email) = defaults::COMMIT_AUTHOR;
    UpdateConfig {
        max_attempts: raw.max_attempts.map_or(defaults::MAX_ATTEMPTS, |n| n.0),
        switch_after_no_progress: raw
            .switch_after_no_progress
            .map_or(defaults::SWITCH_AFTER_NO_PROGRESS, |n| n.0),
        switch_after_repeats: raw
            .switch_after_repeats
            .map_or(defaults::SWITCH_AFTER_REPEATS, |n| n.0),
        gpu_minutes_budget: raw.gpu_minutes_budget.map(|x| x.0),
        strategies,
        on_unfixable: raw.on_unfixable.unwrap_or(defaults::ON_UNFIXABLE),
        commit_author: raw.commit_author.map_or_else(
            || (name.to_owned(), email.to_owned()),
            |a| (a.name, a.email),
        ),
        allow_regressions: raw.allow_regressions.unwrap_or(defaults::ALLOW_REGRESSIONS),
        bisect_retries: raw.bisect_retries.map_or(defaults::BISECT_RETRIES, |n| n.0),
        bisect_parallel: raw.bisect_parallel.map_or(1, |n| n.0),
        remember_held: raw.remember_held.unwrap_or(defaults::REMEMBER_HELD),
        promote: raw.promote.unwrap_or(defaults::PROMOTE),
        parked_expiry: raw.parked_expiry.map_or(defaults::PARKED_EXPIRY, |t| t.0),
    }
}
