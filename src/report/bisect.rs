//! Renders a [`BisectReport`] as `bisect_report.md` and as the terminal
//! summary of `tether bisect`.

use std::fmt::Write;

use super::Summary;
use super::markdown::{cell, code, date};
use crate::document::Document;
use crate::pipeline::bisect::{BisectReport, BisectResult};
use crate::upstream::CommitInfo;

/// A bisect's folder: `bisect.json` and `bisect_report.md`.
impl Document for BisectReport {
    fn json_file(&self) -> &'static str {
        "bisect.json"
    }

    fn markdown_files(&self) -> Vec<(&'static str, String)> {
        vec![("bisect_report.md", markdown(self))]
    }

    fn html_files(&self) -> Vec<crate::document::HtmlFile> {
        vec![super::html::bisect_page(self)]
    }
}

fn commit_line(c: &CommitInfo) -> String {
    format!(
        "`{}` {} {} — {}",
        c.short,
        date(c.time),
        c.author,
        c.subject
    )
}

/// `ceil(log2 n) + 2`: the most steps a bisect of `n` commits takes when
/// nothing is skipped.
pub fn step_bound(n: usize) -> usize {
    (n.max(1) as f64).log2().ceil() as usize + 2
}

pub fn markdown(r: &BisectReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Bisect report: `{}`\n", r.upstream);
    match &r.result {
        BisectResult::FirstBad { commit, .. } => {
            let _ = writeln!(o, "**First bad commit: {}**\n", commit_line(commit));
        }
        BisectResult::Undecidable { candidates, .. } => {
            let _ = writeln!(
                o,
                "**Undecidable: skipped steps leave {} candidates for the first bad commit**\n",
                candidates.len()
            );
        }
        BisectResult::GoodEndFails { why } => {
            let _ = writeln!(
                o,
                "**The good end fails, so there is nothing to search:** {}\n",
                why
            );
        }
        BisectResult::BadEndPasses => {
            let _ = writeln!(
                o,
                "**The bad end passes, so there is nothing to search.**\n"
            );
        }
    }
    let _ = writeln!(o, "- Good end: {}", commit_line(&r.good));
    let _ = writeln!(o, "- Bad end: {}", commit_line(&r.bad));
    let _ = writeln!(
        o,
        "- Commits searched: {}; steps: {} (at most {} without skips); baseline runs: {}",
        r.candidates,
        r.steps.len(),
        step_bound(r.candidates),
        r.baseline_runs
    );
    let _ = writeln!(o, "- Cases: {}", r.cases.join(", "));
    if !r.signatures.is_empty() {
        let _ = writeln!(o, "- Hunted failure: {}", code(&r.signatures.join(" | ")));
    }
    if r.resumed {
        let _ = writeln!(o, "- Resumed an interrupted bisect from its journal");
    }
    o.push('\n');
    match &r.result {
        BisectResult::FirstBad {
            last_good,
            files,
            findings,
            ..
        } => {
            let _ = writeln!(o, "Last good commit: {}\n", commit_line(last_good));
            if !findings.is_empty() {
                let _ = writeln!(o, "## Integration points it breaks or puts at risk\n");
                for f in findings {
                    let _ = writeln!(o, "- {f}");
                }
                o.push('\n');
            }
            let _ = writeln!(o, "## Files it changed\n");
            let _ = writeln!(o, "| file | change | why it matters |\n|---|---|---|");
            let mut sorted: Vec<_> = files.iter().collect();
            sorted.sort_by_key(|f| (!(f.integration || f.key_file), f.path.clone()));
            for f in sorted {
                let why = match (f.integration, f.key_file) {
                    (true, true) => "key file; defines what the wrapper uses",
                    (true, false) => "defines what the wrapper uses",
                    (false, true) => "key file",
                    (false, false) => "",
                };
                let _ = writeln!(o, "| {} | {} | {} |", cell(&f.path), f.status.as_str(), why);
            }
            o.push('\n');
        }
        BisectResult::Undecidable {
            candidates,
            last_good,
        } => {
            let _ = writeln!(o, "Last good commit: {}\n", commit_line(last_good));
            let _ = writeln!(o, "## Candidates\n");
            for c in candidates {
                let _ = writeln!(o, "- {}", commit_line(c));
            }
            o.push('\n');
        }
        _ => {}
    }
    let _ = writeln!(o, "## Steps\n");
    let _ = writeln!(
        o,
        "| # | role | commit | result | runs | why |\n|---|---|---|---|---|---|"
    );
    for (i, s) in r.steps.iter().enumerate() {
        let _ = writeln!(
            o,
            "| {} | {} | `{}` {} | {} | {} | {} |",
            i + 1,
            s.role.as_str(),
            s.short,
            cell(&s.subject),
            s.verdict.as_str(),
            s.runs,
            cell(&s.why)
        );
    }
    let _ = writeln!(
        o,
        "\nEvery step is logged in `debug_log.txt` and `bisect.jsonl` next to this report."
    );
    o
}

/// The terminal summary: the result, the search's size and the report's path.
impl Summary for BisectReport {
    fn summary(&self) -> String {
        let r = self;
        let first = match &r.result {
            BisectResult::FirstBad { commit, .. } => format!(
                "first bad commit: {} {} {} — {}",
                commit.short,
                commit.time.strftime("%Y-%m-%d"),
                commit.author,
                commit.subject
            ),
            BisectResult::Undecidable { candidates, .. } => format!(
                "undecidable: {} candidates ({})",
                candidates.len(),
                candidates
                    .iter()
                    .map(|c| c.short.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            BisectResult::GoodEndFails { why } => format!("the good end fails: {why}"),
            BisectResult::BadEndPasses => "the bad end passes: nothing to search".into(),
        };
        let mut o = String::new();
        let _ = writeln!(o, "{}: {first}", r.upstream);
        let _ = writeln!(
            o,
            "  {} commit(s) searched in {} step(s), {} baseline run(s){}",
            r.candidates,
            r.steps.len(),
            r.baseline_runs,
            if r.resumed {
                " (resumed from the journal)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            o,
            "  report: {}",
            r.report_dir.join("bisect_report.md").display()
        );
        o
    }
}
