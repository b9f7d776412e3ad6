//! Owns the human rendering of `tether check` for a `[[group]]`: one table
//! with a row per member (layout, current, target, how far behind, soak or
//! what can be adopted), then each member's warnings and notes.

use std::fmt::Write;

use crate::upstream::{CheckReport, GroupCheck, SoakState, format_remaining};

use super::Summary;

impl Summary for GroupCheck {
    fn summary(&self) -> String {
        render(self)
    }
}

/// Renders a group's check as one table.
pub fn render(g: &GroupCheck) -> String {
    let mut out = String::new();
    let behind = g.members.iter().filter(|m| !m.up_to_date).count();
    let _ = writeln!(
        out,
        "group {}  ({} members, {} behind; updated as one)",
        g.group,
        g.members.len(),
        behind
    );
    let head = [
        "member",
        "layout",
        "current",
        "target",
        "behind",
        "soak / adoptable",
    ]
    .map(str::to_owned);
    let rows: Vec<[String; 6]> = g.members.iter().map(row).collect();
    let mut widths = [0usize; 6];
    for r in std::iter::once(&head).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for r in std::iter::once(&head).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, w)) in r.iter().zip(widths).enumerate() {
            line.push_str("  ");
            if i == r.len() - 1 {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}");
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    for m in &g.members {
        for w in &m.warnings {
            let _ = writeln!(out, "  {}: warning: {w}", m.name);
        }
        if m.history.is_rewritten() {
            let _ = writeln!(
                out,
                "  {}: HISTORY REWRITTEN upstream: not followed; review before updating",
                m.name
            );
        }
        for n in &m.notes {
            let _ = writeln!(out, "  {}: note: {n}", m.name);
        }
    }
    out
}

fn row(m: &CheckReport) -> [String; 6] {
    let current = m.current.commit.as_ref().map_or_else(
        || m.current.id.chars().take(7).collect(),
        |c| c.short.clone(),
    );
    [
        m.name.clone(),
        m.layout.to_string(),
        current,
        m.target.short.clone(),
        m.behind.to_string(),
        soak(m),
    ]
}

/// The last column: up to date, what can be adopted, or how long the
/// soak still runs.
fn soak(m: &CheckReport) -> String {
    if m.up_to_date {
        return "up to date".into();
    }
    match &m.adoptable {
        Some(a) if a.id == m.target.id => format!("adoptable: {} (the target)", a.short),
        Some(a) => format!("adoptable: {}", a.short),
        None if m.history.is_rewritten() => "none (history rewritten)".into(),
        None => {
            let left = m
                .commits
                .iter()
                .filter_map(|p| match p.soak {
                    SoakState::Soaking { remaining_seconds } => Some(remaining_seconds),
                    SoakState::Soaked => None,
                })
                .min();
            match left {
                Some(s) => format!("soaking, {} left", format_remaining(s)),
                None => "none yet (still soaking)".into(),
            }
        }
    }
}
