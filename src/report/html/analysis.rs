//! Owns `analysis.html`: the analysis's findings grouped by severity, each
//! with the wrapper line and the upstream definition's signature before
//! and after, the changed files, and the unified diff of each key file,
//! collapsible per file, added and removed lines marked.

use maud::{Markup, html};

use crate::analysis::diff::KeyFileDiff;
use crate::analysis::model::Analysis;
use crate::analysis::python::PointSeverity;
use crate::document::HtmlFile;

pub fn page(a: &Analysis) -> HtmlFile {
    let groups = [
        (PointSeverity::Breaking, "Breaking", "bad"),
        (PointSeverity::AtRisk, "At risk", "warn"),
        (PointSeverity::Info, "Info", ""),
    ];
    let t = &a.diff.totals;
    let body = html! {
        h1 { "Analysis: " code { (a.upstream) } " " (a.range()) }
        ul {
            li { "Wrapper: " (a.wrapper) }
            li { "From: " code { (a.from.short) } " " (super::date(a.from.time)) " — " (a.from.subject) }
            li { "To: " code { (a.to.short) } " " (super::date(a.to.time)) " — " (a.to.subject) }
            li { "Commits: " (a.commits.len()) }
            li { "Files: " (t.added) " added, " (t.removed) " removed, " (t.modified) " modified, "
                 (t.renamed) " renamed (+" (t.lines_added) " −" (t.lines_removed) " lines)" }
            @if let Some(cut) = &a.truncated { li class="warn" { "Truncated: " (cut) } }
        }
        h2 { "Findings" }
        @for (sev, title, class) in groups {
            @let found: Vec<_> = a.integration.findings.iter().filter(|f| f.severity == sev).collect();
            @if !found.is_empty() {
                h3 class=(class) { (title) " (" (found.len()) ")" }
                table {
                    tr { th { "wrapper line" } th { "finding" } th { "before" } th { "after" } }
                    @for f in found {
                        tr {
                            td { code { (f.point.file) ":" (f.point.line) } br; code { (f.point.snippet) } }
                            td { (f.message) }
                            td { @if let Some(d) = &f.old { code { (d.signature) } } }
                            td { @if let Some(d) = &f.new { code { (d.signature) } } }
                        }
                    }
                }
            }
        }
        @if a.integration.findings.is_empty() { p { "No integration point of the wrapper is affected." } }
        h2 { "Changed files" }
        table {
            tr { th { "status" } th { "path" } th { "lines" } }
            @for f in &a.diff.files {
                tr { td { (f.status.as_str()) } td { code { (f.path) } } td { "+" (f.lines_added) " −" (f.lines_removed) } }
            }
        }
        h2 { "Key files" }
        @for d in &a.diff.key_diffs { (key_diff(d)) }
        @if !a.notes.is_empty() {
            h2 { "Notes" }
            ul { @for n in &a.notes { li { (n) } } }
        }
    };
    HtmlFile {
        name: "analysis.html",
        text: super::page(&format!("Analysis: {} {}", a.upstream, a.range()), body),
        assets: Vec::new(),
    }
}

/// One key file's diff in a `<details>`, each line classed by its first
/// character.
fn key_diff(d: &KeyFileDiff) -> Markup {
    let class = |l: &str| match l.as_bytes().first() {
        Some(b'+') if !l.starts_with("+++") => "add",
        Some(b'-') if !l.starts_with("---") => "del",
        Some(b'@') => "hunk",
        _ => "",
    };
    html! {
        details open[d.unified.lines().count() < 80] {
            summary { code { (d.path) } @if d.truncated { " (cut)" } @if let Some(s) = &d.skipped { " (" (format!("{s:?}")) ")" } }
            pre class="diff" { @for l in d.unified.lines() { span class=(class(l)) { (l) } "\n" } }
        }
    }
}
