//! `tether pending`'s terminal rendering: each parked update with why it
//! waits, what was tested and the commands that decide it.

use std::fmt::Write as _;

use super::Summary;
use crate::pipeline::PendingReport;

impl Summary for PendingReport {
    fn summary(&self) -> String {
        if self.updates.is_empty() {
            return "no parked update waits for approval\n".into();
        }
        let mut o = String::new();
        for u in &self.updates {
            let what = match &u.group {
                Some(g) => format!("group `{g}`"),
                None => format!("`{}`", u.upstream),
            };
            let _ = writeln!(o, "{} — {what} {:.7} -> {:.7}", u.id, u.from, u.to);
            let _ = writeln!(
                o,
                "  parked since {}, expires {}{}",
                u.parked_since,
                u.expires,
                if u.expired { " (expired)" } else { "" }
            );
            let _ = writeln!(o, "  held because: {}", u.reasons.join("; "));
            if let Some(v) = &u.analysis_verdict {
                let _ = writeln!(o, "  analysis: {v}");
            }
            for p in &u.protected_changes {
                let _ = writeln!(o, "  protected package: {p}");
            }
            for b in &u.baseline {
                let _ = writeln!(o, "  baseline: {b}");
            }
            for f in &u.fix_commits {
                let _ = writeln!(o, "  fix commit: {f}");
            }
            if let Some(d) = &u.report_dir {
                let _ = writeln!(o, "  report: {}", d.display());
            }
            let _ = writeln!(
                o,
                "  decide: tether approve {id} | tether reject {id}",
                id = u.id
            );
        }
        o
    }
}
