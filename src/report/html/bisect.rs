//! Owns `bisect_report.html`: the first bad commit (or why there is none),
//! the files it changed, the integration points it breaks, and each step.

use maud::{Markup, html};

use crate::document::HtmlFile;
use crate::pipeline::bisect::{BisectReport, BisectResult};
use crate::upstream::CommitInfo;

pub fn page(r: &BisectReport) -> HtmlFile {
    let body = html! {
        h1 { "Bisect report: " code { (r.upstream) } }
        p class="outcome" {
            @match &r.result {
                BisectResult::FirstBad { commit: c, .. } => { "First bad commit: " (commit(c)) }
                BisectResult::Undecidable { candidates, .. } => {
                    "Undecidable: skipped steps leave " (candidates.len()) " candidates for the first bad commit"
                }
                BisectResult::GoodEndFails { why } => { "The good end fails, so there is nothing to search: " (why) }
                BisectResult::BadEndPasses => { "The bad end passes, so there is nothing to search." }
            }
        }
        ul {
            li { "Good end: " (commit(&r.good)) }
            li { "Bad end: " (commit(&r.bad)) }
            li { "Commits searched: " (r.candidates) "; steps: " (r.steps.len()) " (at most "
                 (crate::report::bisect::step_bound(r.candidates)) " without skips); baseline runs: " (r.baseline_runs) }
            li { "Cases: " (r.cases.join(", ")) }
            @if !r.signatures.is_empty() { li { "Hunted failure: " code { (r.signatures.join(" | ")) } } }
        }
        @match &r.result {
            BisectResult::FirstBad { last_good, files, findings, .. } => {
                p { "Last good commit: " (commit(last_good)) }
                @if !findings.is_empty() {
                    h2 { "Integration points it breaks or puts at risk" }
                    ul { @for f in findings { li { (f) } } }
                }
                h2 { "Files it changed" }
                table {
                    tr { th { "file" } th { "change" } th { "why it matters" } }
                    @for f in files {
                        tr { td { code { (f.path) } } td { (f.status.as_str()) }
                             td { @if f.integration { "defines what the wrapper uses " } @if f.key_file { "key file" } } }
                    }
                }
            }
            BisectResult::Undecidable { candidates, last_good } => {
                p { "Last good commit: " (commit(last_good)) }
                h2 { "Candidates" }
                ul { @for c in candidates { li { (commit(c)) } } }
            }
            _ => {}
        }
        h2 { "Steps" }
        table {
            tr { th { "#" } th { "role" } th { "commit" } th { "result" } th { "runs" } th { "why" } }
            @for (i, s) in r.steps.iter().enumerate() {
                tr { td { (i + 1) } td { (s.role.as_str()) } td { code { (s.short) } " " (s.subject) }
                     td { (s.verdict.as_str()) } td { (s.runs) } td { (s.why) } }
            }
        }
    };
    HtmlFile {
        name: "bisect_report.html",
        text: super::page(&format!("Bisect report: {}", r.upstream), body),
        assets: Vec::new(),
    }
}

fn commit(c: &CommitInfo) -> Markup {
    html! { code { (c.short) } " " (super::date(c.time)) " " (c.author) " — " (c.subject) }
}
