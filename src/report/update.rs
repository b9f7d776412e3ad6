//! Renders an [`UpdateReport`] as `update_report.md`: what changed, what the
//! baseline said, every fix attempt, and what was promoted or rolled back.

use std::fmt::Write;

use crate::baseline::{BaselineRun, CaseStatus};
use crate::document::Document;
use crate::pipeline::{UpdateOutcome, UpdateReport};

use super::Summary;
use super::markdown::{cell, code, date};

/// An update's folder: `update.json` and `update_report.md`.
impl Document for UpdateReport {
    fn json_file(&self) -> &'static str {
        "update.json"
    }

    fn markdown_files(&self) -> Vec<(&'static str, String)> {
        vec![("update_report.md", markdown(self))]
    }

    fn html_files(&self) -> Vec<crate::document::HtmlFile> {
        vec![super::html::update_page(self)]
    }
}

pub fn markdown(r: &UpdateReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Update report: `{}`\n", r.upstream);
    let _ = writeln!(o, "**Outcome: {}**\n", outcome_line(r));
    if let Some(id) = &r.id {
        let _ = writeln!(o, "- Update: `{id}`");
    }
    if let (Some(f), Some(t)) = (&r.from, &r.to) {
        let _ = writeln!(o, "- From: `{}` {} — {}", f.short, date(f.time), f.subject);
        let _ = writeln!(o, "- To: `{}` {} — {}", t.short, date(t.time), t.subject);
        let _ = writeln!(o, "- Commits: {}", r.commits);
    }
    let _ = writeln!(
        o,
        "- Started: {}, finished: {}",
        date(r.started),
        date(r.finished)
    );
    if let Some(dir) = &r.analysis_dir {
        let _ = writeln!(
            o,
            "- Analysis: {} ({} breaking integration point(s))",
            code(&dir.display().to_string()),
            r.breaking_points
        );
    }
    if let Some(rec) = &r.recovery {
        let _ = writeln!(o, "- Recovered first: {}", rec);
    }
    o.push('\n');
    super::update_members::markdown(r, &mut o);
    if let Some(h) = &r.held_back {
        let _ = writeln!(o, "## Held back\n");
        let _ = writeln!(
            o,
            "The upstream is held back at `{}` ({}), the newest commit the baseline passes on. The target `{}` fails: its first bad commit is `{}` {} by {} — {}.\n",
            h.at.short,
            h.at.subject,
            h.target.short,
            h.first_bad.short,
            date(h.first_bad.time),
            h.first_bad.author,
            h.first_bad.subject
        );
        if let UpdateOutcome::StillHeld { failures, .. } = &r.outcome {
            let _ = writeln!(
                o,
                "The new target `{}` was tested once on the hunted cases and fails the same way (no bisect, no fix loop; {} re-test(s) so far):\n",
                h.tested_target().short,
                h.retests
            );
            for f in failures {
                let _ = writeln!(o, "- `{}`", f.to_string().replace('`', "'"));
            }
            o.push('\n');
        }
    }
    if r.spent.runs > 0 {
        let _ = writeln!(
            o,
            "Baseline runs spent: {} ({:.1} GPU minutes).\n",
            r.spent.runs,
            r.spent.minutes()
        );
    }
    if let Some(b) = &r.bisect {
        let _ = writeln!(
            o,
            "Bisect: {} commit(s) searched in {} step(s) and {} baseline run(s); report {}.\n",
            b.candidates,
            b.steps.len(),
            b.baseline_runs,
            code(&b.report_dir.join("bisect_report.md").display().to_string())
        );
    }
    if let Some(f) = &r.failed_target {
        let _ = writeln!(
            o,
            "The update to the target was rolled back first: {}\n",
            outcome_line(f)
        );
    }
    if !r.reduced.is_empty() {
        let _ = writeln!(o, "## The baseline now runs reduced\n");
        for x in &r.reduced {
            let _ = writeln!(o, "- {x}");
        }
        o.push('\n');
    }
    if let Some(m) = &r.merge {
        let _ = writeln!(o, "Merge: {}\n", m.stats);
        for n in &m.notes {
            let _ = writeln!(o, "- {n}");
        }
        if !m.notes.is_empty() {
            o.push('\n');
        }
    }
    if !r.conflicts.is_empty() {
        let _ = writeln!(o, "## Conflicts with local modifications\n");
        for c in &r.conflicts {
            let _ = writeln!(o, "- {c}");
        }
        o.push('\n');
    }
    if let Some(lines) = paused_lines(r) {
        let _ = writeln!(o, "## Paused\n\n```text");
        for l in lines {
            let _ = writeln!(o, "{l}");
        }
        let _ = writeln!(o, "```\n");
    }
    if let Some(p) = r
        .initial_run
        .as_ref()
        .and_then(|run| run.preflight.as_ref())
    {
        let _ = writeln!(o, "## GPU preflight\n");
        o.push_str(&super::gpu::preflight(p));
    }
    if let Some(run) = &r.initial_run {
        let _ = writeln!(o, "## Baseline on the staged update (before fixes)\n");
        run_table(&mut o, run);
        o.push_str(&super::gpu::quality(run, &[]));
    }
    if !r.attempts.is_empty() {
        let _ = writeln!(o, "## Fix attempts\n");
        let _ = writeln!(
            o,
            "| # | strategy | failure | fix applied | result |\n|---|---|---|---|---|"
        );
        for a in &r.attempts {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {}{} |",
                a.attempt,
                a.strategy,
                cell(&format!(
                    "{} ({}): {}",
                    a.failure.class.name(),
                    a.failure.case,
                    a.failure.message
                )),
                cell(&a.fix_applied),
                a.result,
                if a.dropped { ", dropped" } else { "" }
            );
        }
        o.push('\n');
        if let Some(s) = &r.stop_reason {
            let _ = writeln!(o, "Loop ended: {s}\n");
        }
        let _ = writeln!(
            o,
            "Every attempt is logged in `debug_log.txt` and `attempts.jsonl` next to this report.\n"
        );
    }
    if let Some(run) = &r.final_run {
        if !r.attempts.is_empty() {
            let _ = writeln!(o, "## Baseline after fixes\n");
            run_table(&mut o, run);
            o.push_str(&super::gpu::quality(run, &[]));
        }
        if !r.comparisons.is_empty() {
            let _ = writeln!(o, "## Against the recorded references\n");
            o.push_str(&super::gpu::quality(
                &BaselineRun {
                    cases: Vec::new(),
                    ..run.clone()
                },
                &r.comparisons,
            ));
        }
    }
    if let Some(p) = &r.promotion {
        let title = match r.outcome {
            UpdateOutcome::DryRun => "Would be promoted (dry run)",
            _ => "Promoted",
        };
        let _ = writeln!(o, "## {title}\n");
        let _ = writeln!(
            o,
            "Branch `{}` of {}: `{:.7}` -> `{:.7}`\n",
            p.branch.as_deref().unwrap_or("(detached)"),
            code(&p.live_root.display().to_string()),
            p.from,
            p.to
        );
        for c in &p.commits {
            let _ = writeln!(o, "- `{}` {}", c.short, c.subject);
        }
        if !p.files.is_empty() {
            let _ = writeln!(
                o,
                "\nFiles: {}",
                p.files
                    .iter()
                    .map(|f| code(f))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        o.push('\n');
    }
    if let Some(rb) = &r.rollback {
        let _ = writeln!(o, "## Rollback\n");
        let _ = writeln!(
            o,
            "- staged tree discarded: {}",
            if rb.discarded {
                "yes"
            } else {
                "nothing to discard"
            }
        );
        if rb.differences.is_empty() {
            let _ = writeln!(o, "- live wrapper verified byte-identical to the backup");
        } else {
            for d in &rb.differences {
                let _ = writeln!(o, "- DIFFERENCE: {d}");
            }
        }
        for p in &rb.reinstalled {
            let _ = writeln!(o, "- reinstalled protected package {p}");
        }
        for n in &rb.notes {
            let _ = writeln!(o, "- {n}");
        }
        o.push('\n');
    }
    if !r.notes.is_empty() {
        let _ = writeln!(o, "## Notes\n");
        for n in &r.notes {
            let _ = writeln!(o, "- {n}");
        }
        o.push('\n');
    }
    o
}

pub fn outcome_line(r: &UpdateReport) -> String {
    match &r.outcome {
        UpdateOutcome::UpToDate { reason } => format!("nothing to do — {reason}"),
        UpdateOutcome::Promoted if !r.members.is_empty() => format!(
            "promoted {} after {} fix attempt(s)",
            r.members
                .iter()
                .filter(|m| m.moves)
                .filter_map(|m| m.to.as_ref().map(|t| format!("{} {}", m.upstream, t.short)))
                .collect::<Vec<_>>()
                .join(", "),
            r.attempts.len()
        ),
        UpdateOutcome::Promoted => format!(
            "promoted {} after {} fix attempt(s)",
            r.to.as_ref().map(|t| t.short.as_str()).unwrap_or("?"),
            r.attempts.len()
        ),
        UpdateOutcome::DryRun => {
            "dry run — the baseline passes on the staged update; nothing was promoted".into()
        }
        UpdateOutcome::RolledBack { reason } => format!("rolled back — {reason}"),
        UpdateOutcome::Paused { reason, .. } => format!("paused — {reason}"),
        UpdateOutcome::StillHeld { reason, .. } => format!("held back — {reason}"),
        UpdateOutcome::Parked { reasons, expires } => format!(
            "parked for approval — {}; the baseline passed on {}; `tether approve {id}` promotes it, `tether reject {id}` drops it (expires {expires})",
            reasons.join("; "),
            r.to.as_ref().map(|t| t.short.as_str()).unwrap_or("?"),
            id = r.id.as_deref().unwrap_or("?")
        ),
    }
}

/// A matrix run's targets: the hardware each ran on and whether all its
/// cases passed (an update is promoted only when every target passes).
pub(crate) fn target_table(o: &mut String, run: &BaselineRun) {
    let targets = run.targets();
    if targets.is_empty() {
        return;
    }
    let _ = writeln!(o, "| target | hardware | passed |\n|---|---|---|");
    for t in targets {
        let cases: Vec<_> = run
            .cases
            .iter()
            .filter(|c| c.target.as_deref() == Some(t))
            .collect();
        let passed = cases.iter().filter(|c| c.passed()).count();
        let mut hardware: Vec<&str> = cases
            .iter()
            .filter_map(|c| c.hardware.as_ref().map(|h| h.slug.as_str()))
            .collect();
        hardware.dedup();
        let _ = writeln!(
            o,
            "| {t} | {} | {}{passed} of {}{} |",
            if hardware.is_empty() {
                "(not read)".to_owned()
            } else {
                hardware.join(", ")
            },
            if passed == cases.len() { "" } else { "**" },
            cases.len(),
            if passed == cases.len() { "" } else { "**" },
        );
    }
    o.push('\n');
}

pub(crate) fn run_table(o: &mut String, run: &BaselineRun) {
    let _ = writeln!(o, "Run `{}`\n", run.run_id);
    let _ = writeln!(
        o,
        "| case | model | status | duration | peak VRAM | error |\n|---|---|---|---|---|---|"
    );
    for c in &run.cases {
        let vram = match c.peak_vram.bytes() {
            Some(b) => format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64),
            None => "unavailable".into(),
        };
        let _ = writeln!(
            o,
            "| {} | {} | {} | {:.1}s | {} | {} |",
            c.label(),
            c.model,
            match c.status {
                CaseStatus::Passed => "passed",
                CaseStatus::Failed => "**failed**",
                CaseStatus::TimedOut => "**timed out**",
                CaseStatus::Crashed => "**crashed**",
            },
            c.duration_s,
            vram,
            cell(c.error.as_deref().unwrap_or(""))
        );
    }
    o.push('\n');
    target_table(o, run);
    for c in run.cases.iter().filter(|c| !c.stray_writes.is_empty()) {
        let _ = writeln!(
            o,
            "⚠ `{}` wrote into the tree under test, outside its output folder: {}\n",
            c.name,
            c.stray_writes
                .iter()
                .map(|f| code(f))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !run.vram_available {
        let _ = writeln!(
            o,
            "GPU memory was not sampled: no NVIDIA GPU or NVML on this machine.\n"
        );
    }
}

/// A short summary for the terminal.
impl Summary for UpdateReport {
    fn summary(&self) -> String {
        summary(self)
    }
}

fn summary(r: &UpdateReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{}: {}", r.upstream, outcome_line(r));
    if let Some(rec) = &r.recovery {
        let _ = writeln!(o, "  recovered first: {}", rec);
    }
    if let (Some(f), Some(t)) = (&r.from, &r.to) {
        let _ = writeln!(o, "  {} -> {} ({} commit(s))", f.short, t.short, r.commits);
    }
    super::update_members::summary(r, &mut o);
    if let Some(m) = &r.merge {
        let _ = writeln!(o, "  merge: {}", m.stats);
    }
    // what happened, in order: the first baseline run, each fix attempt,
    // then the run the outcome rests on
    if let Some(run) = &r.initial_run {
        let _ = writeln!(o, "  baseline on the staged update: {}", run_state(run));
    }
    for a in &r.attempts {
        let _ = writeln!(
            o,
            "  attempt {} [{}] {} -> {}",
            a.attempt, a.strategy, a.fix_applied, a.result
        );
    }
    if let (Some(first), Some(last)) = (&r.initial_run, &r.final_run)
        && first.run_id != last.run_id
    {
        let _ = writeln!(o, "  baseline after the fixes: {}", run_state(last));
    }
    for x in &r.reduced {
        let _ = writeln!(o, "  reduced: {x}");
    }
    if let (UpdateOutcome::DryRun, Some(p)) = (&r.outcome, &r.promotion) {
        let _ = writeln!(
            o,
            "  would promote onto {}: {:.7} -> {:.7}",
            p.branch.as_deref().unwrap_or("(detached)"),
            p.from,
            p.to
        );
        for c in &p.commits {
            let _ = writeln!(o, "    {} {}", c.short, c.subject);
        }
    }
    if let Some(dir) = &r.analysis_dir {
        let _ = writeln!(o, "  analysis: {}", dir.display());
    }
    if let Some(lines) = paused_lines(r) {
        for l in lines {
            let _ = writeln!(o, "  {l}");
        }
    }
    if let Some(dir) = &r.report_dir {
        let _ = writeln!(o, "  report:   {}", dir.join("update_report.md").display());
    }
    o
}

/// "all 3 case(s) pass", or "2 of 3 case(s) failing (a, b)".
fn run_state(run: &BaselineRun) -> String {
    let failing: Vec<&str> = run.failing().iter().map(|c| c.name.as_str()).collect();
    if failing.is_empty() {
        format!("all {} case(s) pass", run.cases.len())
    } else {
        format!(
            "{} of {} case(s) failing ({})",
            failing.len(),
            run.cases.len(),
            crate::text::cut_list(&failing, crate::text::MESSAGE_ITEMS)
        )
    }
}

/// A paused update: where the staged tree is, the conflicted files with
/// their marker lines, and the two commands that finish it.
fn paused_lines(r: &UpdateReport) -> Option<Vec<String>> {
    let UpdateOutcome::Paused {
        staged_dir, files, ..
    } = &r.outcome
    else {
        return None;
    };
    let mut out = vec![
        "the update is paused; the live wrapper is unchanged".to_owned(),
        format!("staged tree: {}", staged_dir.display()),
    ];
    for f in files {
        let lines: Vec<String> = f.lines.iter().map(ToString::to_string).collect();
        out.push(format!(
            "  {}: conflict markers at line(s) {} ({})",
            f.path,
            lines.join(", "),
            f.reason
        ));
    }
    out.push("resolve them in the staged tree, then run one of:".to_owned());
    out.push(
        "  tether update --continue   commit the resolution, run the baseline, promote or roll back"
            .to_owned(),
    );
    out.push(
        "  tether update --abort      drop the update; the live wrapper stays as it is".to_owned(),
    );
    Some(out)
}
