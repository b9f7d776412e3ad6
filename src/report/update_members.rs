//! Renders the members of a group update (`UpdateReport::members`): one
//! Markdown section per member (its move, commits, analysis, staging
//! commit and checkout promotion) and one terminal line each. A
//! single-upstream report has no members and renders nothing here.

use std::fmt::Write;

use crate::analysis::AnalysisVerdict;
use crate::pipeline::{GroupBisect, MemberReport, UpdateReport};

use super::markdown::{code, date};

/// `## Member `name`` sections, one per member.
pub(super) fn markdown(r: &UpdateReport, o: &mut String) {
    if let Some(g) = &r.group {
        let moving = r.members.iter().filter(|m| m.moves).count();
        let _ = writeln!(
            o,
            "Group `{g}`: {} member(s), {moving} moving; one staged tree, one baseline, one promotion or rollback for all.\n",
            r.members.len()
        );
    }
    for m in &r.members {
        let _ = writeln!(o, "## Member `{}` ({})\n", m.upstream, m.layout);
        member(m, o);
        o.push('\n');
    }
    if let Some(d) = &r.dependencies {
        o.push_str(&super::stack_deps::dependencies_section(d, 2));
        o.push('\n');
    }
    if let Some(gb) = &r.group_bisect {
        group_bisect(gb, o);
    }
}

/// `## Group bisect`: the culprit member and commit, the probes and the
/// inner bisect, what was adopted.
fn group_bisect(gb: &GroupBisect, o: &mut String) {
    let _ = writeln!(o, "## Group bisect\n");
    if gb.culprits.is_empty() {
        let _ = writeln!(o, "- Culprit: none found");
    }
    for c in &gb.culprits {
        let names = c.members.join("` + `");
        match &c.first_bad {
            Some(fb) => {
                let _ = writeln!(
                    o,
                    "- Culprit: `{names}`, first bad commit `{}` {} by {} — {}",
                    fb.short,
                    date(fb.time),
                    fb.author,
                    fb.subject
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "- Culprit: `{names}` (no first bad commit found: it stays at its current commit)"
                );
            }
        }
        if let Some(inner) = &c.inner {
            let _ = writeln!(o, "  - {inner}");
        }
    }
    let _ = writeln!(o, "- Probes ({}):", gb.probes.len());
    for p in &gb.probes {
        let _ = writeln!(o, "  - {p}");
    }
    let adopted = if gb.adopted.is_empty() {
        "nothing".to_owned()
    } else {
        gb.adopted.join(", ")
    };
    let _ = writeln!(o, "- Adopted: {adopted}\n");
}

fn member(m: &MemberReport, o: &mut String) {
    if let Some(f) = &m.from {
        let _ = writeln!(o, "- From: `{}` {} — {}", f.short, date(f.time), f.subject);
    }
    if !m.moves {
        let why = m.stays_because.as_deref().unwrap_or("at its target");
        let _ = writeln!(o, "- Stays: {why} (part of the baseline at this commit)");
        return;
    }
    if let Some(t) = &m.to {
        let _ = writeln!(o, "- To: `{}` {} — {}", t.short, date(t.time), t.subject);
    }
    let _ = writeln!(o, "- Commits: {}", m.commits);
    if let Some(dir) = &m.analysis_dir {
        let verdict = match m.analysis_verdict {
            Some(AnalysisVerdict::Clear) => "clear",
            Some(AnalysisVerdict::AtRisk) => "at risk",
            Some(AnalysisVerdict::Breaking) => "breaking",
            None => "",
        };
        let workflows = match m.breaking_workflow_inputs {
            0 => String::new(),
            n => format!(", {n} breaking workflow finding(s)"),
        };
        let _ = writeln!(
            o,
            "- Analysis: {} {verdict} ({} breaking integration point(s){workflows})",
            code(&dir.display().to_string()),
            m.breaking_points
        );
    }
    match &m.staged_commit {
        Some(c) => {
            let _ = writeln!(o, "- Staging commit: `{}`", &c[..c.len().min(12)]);
        }
        None => {
            let _ = writeln!(o, "- Staging commit: none (no wrapper file changes)");
        }
    }
    if let Some(c) = &m.checkout {
        let from = c
            .from
            .as_deref()
            .map_or("not checked out", |f| &f[..f.len().min(12)]);
        let _ = writeln!(
            o,
            "- Checkout {}: {} -> {}",
            code(&c.path.display().to_string()),
            from,
            &c.to[..c.to.len().min(12)]
        );
    }
}

/// One terminal line per member.
pub(super) fn summary(r: &UpdateReport, o: &mut String) {
    for m in &r.members {
        match (&m.from, &m.to, m.moves) {
            (Some(f), Some(t), true) => {
                let _ = writeln!(
                    o,
                    "  {}: {} -> {} ({} commit(s))",
                    m.upstream, f.short, t.short, m.commits
                );
            }
            _ => {
                let _ = writeln!(
                    o,
                    "  {}: stays ({})",
                    m.upstream,
                    m.stays_because.as_deref().unwrap_or("at its target")
                );
            }
        }
    }
    if let Some(d) = &r.dependencies {
        for c in &d.conflicts {
            let pins: Vec<String> = c
                .pins
                .iter()
                .map(|p| {
                    format!(
                        "{} {}",
                        p.member,
                        if p.spec.is_empty() { "any" } else { &p.spec }
                    )
                })
                .collect();
            let _ = writeln!(
                o,
                "  dependency conflict: {}{} — {} ({})",
                c.package,
                if c.protected { " (protected)" } else { "" },
                pins.join(", "),
                c.why.describe()
            );
        }
        for t in &d.torch {
            let _ = writeln!(
                o,
                "  torch: {} {} -> {}",
                t.member,
                t.from_spec.as_deref().unwrap_or("none"),
                t.to_spec.as_deref().unwrap_or("none")
            );
        }
    }
}
