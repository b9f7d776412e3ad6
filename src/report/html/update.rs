//! Owns `update_report.html`: what changed, the outcome, the fix attempts,
//! the baseline runs with their plots and frames side by side against the
//! references, and what was promoted or rolled back.

use maud::{Markup, html};

use super::run::section;
use crate::document::HtmlFile;
use crate::pipeline::{UpdateOutcome, UpdateReport};
use crate::upstream::CommitInfo;

/// The update's page and its images.
pub fn page(r: &UpdateReport) -> HtmlFile {
    let mut assets = Vec::new();
    let initial = r
        .initial_run
        .as_ref()
        .map(|run| section("initial", run, &[]));
    let last = r
        .final_run
        .as_ref()
        .map(|run| section("final", run, &r.comparisons));
    let body = html! {
        h1 { "Update report: " code { (r.upstream) } }
        p class="outcome" { "Outcome: " (crate::report::update::outcome_line(r)) }
        ul {
            @if let Some(id) = &r.id { li { "Update: " code { (id) } } }
            @if let Some(f) = &r.from { li { "From: " (commit(f)) } }
            @if let Some(t) = &r.to { li { "To: " (commit(t)) } li { "Commits: " (r.commits) } }
            li { "Started: " (super::date(r.started)) ", finished: " (super::date(r.finished)) }
            @if let Some(dir) = &r.analysis_dir {
                li { "Analysis: " code { (dir.display()) } " (" (r.breaking_points) " breaking integration point(s))" }
            }
            @if let Some(rec) = &r.recovery { li { "Recovered first: " (rec) } }
        }
        @if !r.members.is_empty() {
            h2 { "Members" }
            table {
                tr { th { "upstream" } th { "from" } th { "to" } }
                @for m in &r.members {
                    tr { td { (m.upstream) }
                         td { (m.from.as_ref().map_or("", |c| c.short.as_str())) }
                         td { (m.to.as_ref().map_or("", |c| c.short.as_str())) } }
                }
            }
        }
        @if let Some(h) = &r.held_back {
            h2 { "Held back" }
            p { "Held back at " (commit(&h.at)) "; the target " code { (h.target.short) } " fails; its first bad commit is " (commit(&h.first_bad)) "." }
        }
        @if let Some(b) = &r.bisect {
            p { "Bisect: " (b.candidates) " commit(s) searched in " (b.steps.len()) " step(s); report "
                code { (b.report_dir.join("bisect_report.html").display()) } "." }
        }
        @if !r.conflicts.is_empty() {
            h2 { "Conflicts with local modifications" }
            ul { @for c in &r.conflicts { li { (c) } } }
        }
        @if let UpdateOutcome::Paused { staged_dir, files, .. } = &r.outcome {
            h2 { "Paused" }
            p { "The update waits in " code { (staged_dir.display()) } "." }
            ul { @for f in files { li { code { (f.path) } ": " (f.reason) } } }
        }
        @if let Some(s) = &initial {
            h2 { "Baseline on the staged update (before fixes)" }
            (s.markup)
        }
        @if !r.attempts.is_empty() {
            h2 { "Fix attempts" }
            table {
                tr { th { "#" } th { "strategy" } th { "failure" } th { "fix applied" } th { "result" } }
                @for a in &r.attempts {
                    tr { td { (a.attempt) } td { (a.strategy) }
                         td { (a.failure.class.name()) " (" (a.failure.case) "): " (a.failure.message) }
                         td { (a.fix_applied) }
                         td { (format!("{:?}", a.result)) @if a.dropped { ", dropped" } } }
                }
            }
            @if let Some(s) = &r.stop_reason { p { "Loop ended: " (s) } }
        }
        @if let Some(s) = &last {
            h2 { "Baseline after the update, against the recorded references" }
            (s.markup)
        }
        (ending(r))
    };
    assets.extend(initial.into_iter().flat_map(|s| s.assets));
    assets.extend(last.into_iter().flat_map(|s| s.assets));
    HtmlFile {
        name: "update_report.html",
        text: super::page(&format!("Update report: {}", r.upstream), body),
        assets,
    }
}

fn commit(c: &CommitInfo) -> Markup {
    html! { code { (c.short) } " " (super::date(c.time)) " — " (c.subject) }
}

fn ending(r: &UpdateReport) -> Markup {
    html! {
        @if let Some(p) = &r.promotion {
            h2 { @if matches!(r.outcome, UpdateOutcome::DryRun) { "Would be promoted (dry run)" } @else { "Promoted" } }
            p { "Branch " code { (p.branch.as_deref().unwrap_or("(detached)")) } " of " code { (p.live_root.display()) }
                ": " code { (format!("{:.7}", p.from)) } " to " code { (format!("{:.7}", p.to)) } }
            ul { @for c in &p.commits { li { code { (c.short) } " " (c.subject) } } }
        }
        @if let Some(rb) = &r.rollback {
            h2 { "Rollback" }
            ul {
                li { "staged tree discarded: " (if rb.discarded { "yes" } else { "nothing to discard" }) }
                @if rb.differences.is_empty() { li { "live wrapper verified byte-identical to the backup" } }
                @for d in &rb.differences { li class="bad" { "DIFFERENCE: " (d) } }
                @for n in &rb.notes { li { (n) } }
            }
        }
        @if !r.notes.is_empty() {
            h2 { "Notes" }
            ul { @for n in &r.notes { li { (n) } } }
        }
    }
}
