//! Owns the human rendering of `tether check`: a short plain-text summary per
//! upstream (current, target, how far behind, the pending commits with their
//! soak state, what can be adopted, warnings), like `cargo outdated`.

use std::fmt::Write;

use crate::upstream::{CheckReport, CommitInfo, HistoryState, SoakState, format_remaining};

use super::Summary;
use super::markdown::date;

const SUBJECT_MAX: usize = 56;
const AUTHOR_MAX: usize = 24;

impl Summary for CheckReport {
    fn summary(&self) -> String {
        render(self)
    }
}

/// Renders one upstream's report.
pub fn render(r: &CheckReport) -> String {
    let mut out = String::new();
    let mut header = format!(
        "{}  ({} at {}/, track {}",
        r.name,
        r.layout,
        r.path.trim_end_matches('/'),
        r.track
    );
    if r.soak_seconds > 0 {
        header.push_str(&format!(", soak {}", format_remaining(r.soak_seconds)));
    }
    header.push(')');

    if r.up_to_date {
        let _ = writeln!(out, "{header}: up to date at {}", one_line(&r.target));
    } else {
        let _ = writeln!(out, "{header}");
        let current = match &r.current.commit {
            Some(c) => commit_line(c),
            None => format!("{}  (not in the upstream)", short(&r.current.id)),
        };
        let _ = writeln!(out, "  current  {current}  [{}]", r.current.source);
        let _ = writeln!(
            out,
            "  target   {}  [{}]",
            commit_line(&r.target),
            target_ref(&r.target_ref)
        );
        let mut counts = vec![format!(
            "{} commit{} behind",
            r.behind,
            if r.behind == 1 { "" } else { "s" }
        )];
        if r.ahead > 0 {
            counts.push(format!("{} ahead", r.ahead));
        }
        let _ = writeln!(out, "  {}", counts.join(", "));
        if !r.commits.is_empty() {
            out.push('\n');
            out.push_str(&table(r));
        }
        if !r.commits.is_empty() {
            out.push('\n');
            match &r.adoptable {
                Some(a) if a.id == r.target.id => {
                    let _ = writeln!(out, "  adoptable: {} (the target)", one_line(a));
                }
                Some(a) => {
                    let _ = writeln!(out, "  adoptable: {}", one_line(a));
                }
                None if r.history.is_rewritten() => {
                    let _ = writeln!(out, "  adoptable: none (history rewritten)");
                }
                None => {
                    let _ = writeln!(out, "  adoptable: none yet (still soaking)");
                }
            }
        }
    }
    if let HistoryState::Rewritten { .. } | HistoryState::CurrentMissing = r.history {
        let _ = writeln!(
            out,
            "  HISTORY REWRITTEN upstream: not followed; review before updating"
        );
    }
    for w in &r.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
    if let Some(m) = &r.local_modifications
        && !m.is_empty()
    {
        let shown: Vec<String> = m
            .files
            .iter()
            .take(10)
            .map(|f| format!("{} {}", f.change.as_str(), f.path))
            .collect();
        let more = m.files.len().saturating_sub(shown.len());
        let _ = write!(out, "    {}", shown.join(", "));
        if more > 0 {
            let _ = write!(out, ", and {more} more");
        }
        out.push('\n');
    }
    for n in &r.notes {
        let _ = writeln!(out, "  note: {n}");
    }
    out
}

fn table(r: &CheckReport) -> String {
    let rows: Vec<[String; 5]> = r
        .commits
        .iter()
        .map(|p| {
            [
                p.commit.short.clone(),
                date(p.commit.time),
                truncate(&p.commit.author, AUTHOR_MAX),
                truncate(&p.commit.subject, SUBJECT_MAX),
                match p.soak {
                    SoakState::Soaked => "soaked".to_owned(),
                    SoakState::Soaking { remaining_seconds } => {
                        format!("soaking, {} left", format_remaining(remaining_seconds))
                    }
                },
            ]
        })
        .collect();
    let head = ["commit", "date", "author", "subject", "soak"].map(str::to_owned);
    let mut widths = [0usize; 5];
    for row in std::iter::once(&head).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&head).chain(&rows) {
        let mut line = String::from("  ");
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            line.push_str("  ");
            if i == row.len() - 1 {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}");
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

fn commit_line(c: &CommitInfo) -> String {
    format!(
        "{}  {}  {}",
        c.short,
        date(c.time),
        truncate(&c.subject, SUBJECT_MAX)
    )
}

fn one_line(c: &CommitInfo) -> String {
    format!(
        "{} ({}, {})",
        c.short,
        date(c.time),
        truncate(&c.subject, SUBJECT_MAX)
    )
}

fn target_ref(r: &str) -> String {
    if let Some(b) = r.strip_prefix("refs/heads/") {
        format!("branch {b}")
    } else if let Some(t) = r.strip_prefix("refs/tags/") {
        format!("tag {t}")
    } else {
        format!("pinned {}", short(r))
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(7)]
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn truncates_by_chars() {
        assert_eq!(truncate("héllo world", 5), "héll…");
        assert_eq!(truncate("short", 5), "short");
    }
}
