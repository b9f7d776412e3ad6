//! Renders an [`Analysis`] as the three Markdown documents of a maintenance
//! analysis (`diff_analysis.md`, `integration_analysis.md`,
//! `update_checklist.md`) and a short terminal summary.

use std::fmt::Write;
use std::path::Path;

use serde::Serialize;

use crate::analysis::caps::OmittedFindings;
use crate::analysis::model::{Analysis, AnalysisVerdict, ChecklistCategory};
use crate::analysis::python::{Carry, LocalChange, PointSeverity};
use crate::text::thousands;

/// Syntax-error lines listed per partially parsed file.
const ERROR_LINES: usize = 20;

fn omitted(a: &Analysis, sev: PointSeverity) -> impl Iterator<Item = &OmittedFindings> {
    a.integration
        .omitted
        .iter()
        .filter(move |o| o.severity == sev)
}

use super::Summary;
use super::markdown::{cell, code, date};
use crate::document::Document;

/// `maintenance_analysis/<upstream>/<from7>..<to7>/`: three Markdown files
/// and `analysis.json`, each within `analysis.max_report_bytes`, and
/// `analysis.html`.
impl Document for Analysis {
    fn json_file(&self) -> &'static str {
        "analysis.json"
    }

    fn markdown_files(&self) -> Vec<(&'static str, String)> {
        vec![
            ("diff_analysis.md", diff_markdown(self)),
            ("integration_analysis.md", integration_markdown(self)),
            ("update_checklist.md", checklist_markdown(self)),
        ]
    }

    fn html_files(&self) -> Vec<crate::document::HtmlFile> {
        vec![super::html::analysis_page(self)]
    }

    fn json(&self) -> Result<String, serde_json::Error> {
        crate::analysis::run::capped_json(self, self.report_limit)
    }

    fn cut(&self, text: String) -> String {
        crate::analysis::caps::cut_markdown(text, self.report_limit)
    }
}

fn header(out: &mut String, title: &str, a: &Analysis) {
    let _ = writeln!(out, "# {title}: `{}` {}\n", a.upstream, a.range());
    let _ = writeln!(out, "- Wrapper: {}", a.wrapper);
    let _ = writeln!(
        out,
        "- From: `{}` {} — {}",
        a.from.short,
        date(a.from.time),
        a.from.subject
    );
    let _ = writeln!(
        out,
        "- To: `{}` {} — {}",
        a.to.short,
        date(a.to.time),
        a.to.subject
    );
    let _ = writeln!(out, "- Commits: {}", a.commits.len());
    let _ = writeln!(out, "- Generated: {}\n", date(a.generated_at));
}

pub fn diff_markdown(a: &Analysis) -> String {
    let mut o = String::new();
    header(&mut o, "Upstream diff", a);
    let t = &a.diff.totals;
    let _ = writeln!(
        o,
        "**Files:** {} added, {} removed, {} modified, {} renamed (+{} −{} lines)\n",
        t.added, t.removed, t.modified, t.renamed, t.lines_added, t.lines_removed
    );

    local_patch(&mut o, a);
    let _ = writeln!(o, "## Commits\n");
    if a.commits.is_empty() {
        let _ = writeln!(o, "No commits in this range.\n");
    } else {
        let _ = writeln!(o, "| commit | date | author | subject |\n|---|---|---|---|");
        for c in &a.commits {
            let _ = writeln!(
                o,
                "| `{}` | {} | {} | {} |",
                c.short,
                date(c.time),
                cell(&c.author),
                cell(&c.subject)
            );
        }
        o.push('\n');
    }

    let _ = writeln!(o, "## Files\n");
    if a.diff.files.is_empty() {
        let _ = writeln!(o, "No files changed.\n");
    } else {
        let _ = writeln!(o, "| status | path | lines | note |\n|---|---|---|---|");
        for f in &a.diff.files {
            let path = match &f.old_path {
                Some(old) if old != &f.path => format!("{} → {}", code(old), code(&f.path)),
                _ => code(&f.path),
            };
            let mut notes = Vec::new();
            if f.binary {
                notes.push("binary".to_owned());
            }
            if f.too_large {
                notes.push("too large to diff".to_owned());
            }
            if f.non_utf8_path {
                notes.push("path is not UTF-8".to_owned());
            }
            let unreadable = a
                .diff
                .unreadable
                .iter()
                .any(|u| u.path == f.path || Some(&u.path) == f.old_path.as_ref());
            if unreadable {
                notes.push("blob unreadable".to_owned());
            }
            if let Some(s) = f.similarity {
                if f.old_path.is_some() {
                    notes.push(format!("{s}% similar"));
                }
            }
            let lines = if f.binary || f.too_large || unreadable {
                "—".to_owned()
            } else {
                format!("+{} −{}", f.lines_added, f.lines_removed)
            };
            let _ = writeln!(
                o,
                "| {:?} | {} | {} | {} |",
                f.status,
                cell(&path),
                lines,
                notes.join(", ")
            );
        }
        o.push('\n');
    }
    if !a.diff.unreadable.is_empty() {
        let _ = writeln!(
            o,
            "## Unreadable blobs\n\nThe mirror lists these blobs but cannot read them (a partial clone or a damaged pack); their files were not diffed or parsed. `git fetch --refetch` in the mirror, or removing it, restores them.\n"
        );
        for u in &a.diff.unreadable {
            let _ = writeln!(
                o,
                "- {} blob {} at commit {}",
                code(&u.path),
                code(&u.id),
                code(&u.commit[..7.min(u.commit.len())])
            );
        }
        o.push('\n');
    }

    let _ = writeln!(o, "## Requirements\n");
    if a.requirements.is_empty() {
        let _ = writeln!(o, "No requirements file changed.\n");
    }
    for r in &a.requirements {
        let _ = writeln!(o, "### {}\n", code(&r.path));
        let rows: Vec<_> = r
            .added
            .iter()
            .map(|p| ("added", p))
            .chain(r.removed.iter().map(|p| ("removed", p)))
            .chain(r.changed.iter().map(|p| ("changed", p)))
            .collect();
        if rows.is_empty() && r.options_changed.is_empty() {
            let _ = writeln!(o, "No package changes (comments or formatting only).\n");
            continue;
        }
        if !rows.is_empty() {
            let _ = writeln!(
                o,
                "| package | change | before | after | protected |\n|---|---|---|---|---|"
            );
            for (kind, p) in rows {
                let _ = writeln!(
                    o,
                    "| {} | {kind} | {} | {} | {} |",
                    code(&p.name),
                    p.old.as_deref().map(code).unwrap_or_default(),
                    p.new.as_deref().map(code).unwrap_or_default(),
                    if p.protected { "**yes** ⚠" } else { "" }
                );
            }
            o.push('\n');
        }
        for opt in &r.options_changed {
            let _ = writeln!(o, "- option changed: {}", code(opt));
        }
        for line in &r.unparsed {
            let _ = writeln!(o, "- not understood: {}", code(line));
        }
        o.push('\n');
    }

    let _ = writeln!(o, "## JSON configs\n");
    let changed: Vec<_> = a
        .configs
        .iter()
        .filter(|c| {
            !c.changes.is_empty()
                || c.error.is_some()
                || !matches!(format!("{:?}", c.status).as_str(), "Unchanged")
        })
        .collect();
    if changed.is_empty() {
        let _ = writeln!(o, "No JSON config changed.\n");
    }
    for c in changed {
        let _ = writeln!(o, "### {} ({:?})\n", code(&c.path), c.status);
        if let Some(e) = &c.error {
            let _ = writeln!(o, "⚠ {e}\n");
        }
        if !c.changes.is_empty() {
            let _ = writeln!(o, "| key | change | before | after |\n|---|---|---|---|");
            for k in &c.changes {
                let v = |v: &Option<serde_json::Value>| {
                    v.as_ref().map(|v| code(&short_json(v))).unwrap_or_default()
                };
                let _ = writeln!(
                    o,
                    "| {} | {:?} | {} | {} |",
                    code(&k.key),
                    k.kind,
                    cell(&v(&k.old)),
                    cell(&v(&k.new))
                );
            }
            o.push('\n');
        }
    }

    let _ = writeln!(o, "## Key file diffs\n");
    if a.diff.key_diffs.is_empty() {
        let _ = writeln!(o, "No key file changed.\n");
    }
    for k in &a.diff.key_diffs {
        let _ = writeln!(o, "### {}\n", code(&k.path));
        if k.unified.is_empty() {
            let _ = writeln!(o, "(no text diff: binary or too large)\n");
            continue;
        }
        let fence = if k.unified.contains("```") {
            "~~~~"
        } else {
            "```"
        };
        let _ = writeln!(o, "{fence}diff\n{}{fence}\n", &k.unified);
        if k.truncated {
            let _ = writeln!(o, "(diff truncated)\n");
        }
    }
    notes(&mut o, a);
    o
}

/// The vendored copy's local patch and each file's predicted carry-forward.
fn local_patch(o: &mut String, a: &Analysis) {
    let Some(p) = &a.local_patch else {
        return;
    };
    let _ = writeln!(o, "## Local patch of the vendored copy\n");
    let _ = writeln!(
        o,
        "{} modified, {} added, {} deleted against the base.\n",
        thousands(p.modified),
        thousands(p.added),
        thousands(p.deleted)
    );
    if p.files.is_empty() {
        return;
    }
    let _ = writeln!(o, "| file | change | carry-forward |\n|---|---|---|");
    for f in &p.files {
        let carry = match &f.carry {
            Carry::Conflicts { hunks } if !hunks.is_empty() => format!(
                "**conflicts** at merged line(s) {}",
                hunks
                    .iter()
                    .map(|h| h.line.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Carry::Conflicts { .. } => "**conflicts**".to_owned(),
            Carry::LostUpstreamDeleted => format!("**{}**", f.carry.word()),
            c => c.word().to_owned(),
        };
        let change = match f.change {
            LocalChange::Modified => "modified",
            LocalChange::Added => "added",
            LocalChange::Deleted => "deleted",
        };
        let _ = writeln!(o, "| {} | {change} | {carry} |", code(&f.path));
    }
    o.push('\n');
}

fn short_json(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(79).collect::<String>())
    } else {
        s
    }
}

pub fn integration_markdown(a: &Analysis) -> String {
    let mut o = String::new();
    header(&mut o, "Integration analysis", a);
    let _ = writeln!(
        o,
        "**Verdict: {}** — {} breaking, {} at risk, {} unchanged or informational, across {} wrapper file(s).\n",
        verdict_word(a.verdict()),
        thousands(a.count(PointSeverity::Breaking)),
        thousands(a.count(PointSeverity::AtRisk)),
        thousands(a.count(PointSeverity::Info)),
        a.integration.scanned_files.len()
    );
    if let Some(t) = &a.truncated {
        let _ = writeln!(o, "> **Lists cut:** {t}.\n");
    }
    let _ = writeln!(
        o,
        "Upstream modules counted as API: {}\n",
        a.integration
            .api_modules
            .iter()
            .map(|m| code(m))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (sev, title) in [
        (PointSeverity::Breaking, "Breaking"),
        (PointSeverity::AtRisk, "At risk"),
        (PointSeverity::Info, "Unchanged and informational"),
    ] {
        let rows: Vec<_> = a
            .integration
            .findings
            .iter()
            .filter(|f| f.severity == sev)
            .collect();
        let _ = writeln!(o, "## {title} ({})\n", thousands(a.count(sev)));
        if rows.is_empty() && a.count(sev) == 0 {
            let _ = writeln!(o, "None.\n");
            continue;
        }
        let left_out: Vec<&OmittedFindings> = omitted(a, sev).collect();
        if !left_out.is_empty() {
            let _ = writeln!(
                o,
                "Listed: {} of {}.\n",
                thousands(rows.len()),
                thousands(a.count(sev))
            );
        }
        if !rows.is_empty() {
            let _ = writeln!(
                o,
                "| wrapper | kind | upstream | finding |\n|---|---|---|---|"
            );
            for f in &rows {
                let _ = writeln!(
                    o,
                    "| {}:{} | {} | {} | {} |",
                    code(&f.point.file),
                    f.point.line,
                    f.point.kind,
                    code(&f.point.target),
                    cell(&f.message)
                );
            }
            o.push('\n');
        }
        for x in &left_out {
            let _ = writeln!(o, "- {}", x.sentence());
        }
        if !left_out.is_empty() {
            o.push('\n');
        }
        if sev != PointSeverity::Info {
            for f in &rows {
                let _ = writeln!(
                    o,
                    "### {}:{} — {}\n",
                    f.point.file,
                    f.point.line,
                    code(&f.point.target)
                );
                let _ = writeln!(o, "{}\n", f.message);
                let _ = writeln!(o, "```python\n{}\n```\n", f.point.snippet);
                if let Some(d) = &f.old {
                    let _ = writeln!(
                        o,
                        "- before: {} in `{}` line {}",
                        code(&d.signature),
                        d.module,
                        d.line
                    );
                }
                if let Some(d) = &f.new {
                    let _ = writeln!(
                        o,
                        "- after: {} in `{}` line {}",
                        code(&d.signature),
                        d.module,
                        d.line
                    );
                }
                o.push('\n');
            }
        }
    }
    if a.integration.untied_key_reads > 0 {
        let _ = writeln!(
            o,
            "{} read(s) of keys some config dropped are not tied to that config: not listed.\n",
            thousands(a.integration.untied_key_reads)
        );
    }
    super::workflows::section(&mut o, a);
    if !a.integration.partial.is_empty() {
        let _ = writeln!(o, "## Partially analysed files\n");
        let _ = writeln!(
            o,
            "These files do not parse cleanly; tree-sitter recovered and the rest of each file was analysed.\n"
        );
        for p in &a.integration.partial {
            let lines = &p.parse.error_lines;
            let mut shown = lines
                .iter()
                .take(ERROR_LINES)
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            if lines.len() > ERROR_LINES {
                shown.push_str(&format!(
                    " and {} more",
                    thousands(lines.len() - ERROR_LINES)
                ));
            }
            let _ = writeln!(
                o,
                "- {} `{}`: syntax errors at line(s) {shown}",
                p.side, p.parse.path
            );
        }
        o.push('\n');
    }
    notes(&mut o, a);
    o
}

pub fn checklist_markdown(a: &Analysis) -> String {
    let mut o = String::new();
    header(&mut o, "Update checklist", a);
    for (cat, title) in [
        (ChecklistCategory::IntegrationPoint, "Integration points"),
        (ChecklistCategory::Workflow, "Workflows"),
        (ChecklistCategory::LocalPatch, "Local patches"),
        (ChecklistCategory::ProtectedPackage, "Protected packages"),
        (ChecklistCategory::Dependency, "Other dependencies"),
        (ChecklistCategory::KeyFile, "Key files"),
        (ChecklistCategory::Validation, "Validation tether runs"),
    ] {
        let items: Vec<_> = a.checklist.iter().filter(|i| i.category == cat).collect();
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(o, "## {title}\n");
        for i in items {
            let sev = match i.severity {
                Some(PointSeverity::Breaking) => "**breaking** ",
                Some(PointSeverity::AtRisk) => "*at risk* ",
                _ => "",
            };
            match &i.location {
                Some(loc) => {
                    let _ = writeln!(o, "- [ ] {sev}{} ({})", i.text, code(loc));
                }
                None => {
                    let _ = writeln!(o, "- [ ] {sev}{}", i.text);
                }
            }
        }
        o.push('\n');
    }
    o
}

fn notes(o: &mut String, a: &Analysis) {
    if a.notes.is_empty() {
        return;
    }
    let _ = writeln!(o, "## Notes\n");
    for n in &a.notes {
        let _ = writeln!(o, "- {}", n);
    }
    o.push('\n');
}

pub fn verdict_word(v: AnalysisVerdict) -> &'static str {
    match v {
        AnalysisVerdict::Clear => "clear",
        AnalysisVerdict::AtRisk => "at risk",
        AnalysisVerdict::Breaking => "breaking",
    }
}

/// An analysis and the folder its files were written to: what `tether
/// analyze` prints. Its JSON is the analysis's own.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct AnalysisAt<'a> {
    pub analysis: &'a Analysis,
    #[serde(skip)]
    pub dir: &'a Path,
}

impl Summary for AnalysisAt<'_> {
    fn summary(&self) -> String {
        summary(self.analysis, self.dir)
    }
}

/// A short summary for the terminal.
fn summary(a: &Analysis, dir: &Path) -> String {
    let mut o = String::new();
    let t = &a.diff.totals;
    let _ = writeln!(
        o,
        "{} {}: {} commit(s), {} file(s) changed (+{} −{})",
        a.upstream,
        a.range(),
        a.commits.len(),
        a.diff.files.len(),
        t.lines_added,
        t.lines_removed
    );
    let _ = write!(
        o,
        "verdict: {} — {} breaking, {} at risk, {} unchanged",
        verdict_word(a.verdict()),
        thousands(a.count(PointSeverity::Breaking)),
        thousands(a.count(PointSeverity::AtRisk)),
        thousands(a.count(PointSeverity::Info))
    );
    match &a.workflows {
        Some(w) if !w.findings.is_empty() => {
            let count = |sev| w.findings.iter().filter(|f| f.severity == sev).count();
            let _ = writeln!(
                o,
                "; workflows: {} breaking, {} at risk in {} file(s)",
                count(PointSeverity::Breaking),
                count(PointSeverity::AtRisk),
                w.workflows.len()
            );
        }
        _ => o.push('\n'),
    }
    for f in a
        .integration
        .findings
        .iter()
        .filter(|f| f.severity != PointSeverity::Info)
    {
        let tag = if f.severity == PointSeverity::Breaking {
            "BREAKING"
        } else {
            "at risk "
        };
        let _ = writeln!(
            o,
            "  {tag} {}:{}  {}",
            f.point.file, f.point.line, f.message
        );
    }
    if let Some(w) = &a.workflows {
        for f in &w.findings {
            let tag = if f.severity == PointSeverity::Breaking {
                "BREAKING"
            } else {
                "at risk "
            };
            let _ = writeln!(o, "  {tag} {} node {}  {}", f.workflow, f.node, f.message);
        }
    }
    for sev in [PointSeverity::Breaking, PointSeverity::AtRisk] {
        for x in omitted(a, sev) {
            let tag = if sev == PointSeverity::Breaking {
                "BREAKING"
            } else {
                "at-risk"
            };
            let _ = writeln!(
                o,
                "  and {} more {tag} findings in {}",
                thousands(x.count),
                x.file
            );
        }
    }
    if let Some(p) = &a.local_patch {
        let conflicts = p
            .files
            .iter()
            .filter(|f| matches!(f.carry, Carry::Conflicts { .. }))
            .count();
        let lost = p
            .files
            .iter()
            .filter(|f| f.carry == Carry::LostUpstreamDeleted)
            .count();
        let _ = writeln!(
            o,
            "  local patch: {} modified, {} added, {} deleted; the update is predicted to conflict on {conflicts} and lose {lost}",
            thousands(p.modified),
            thousands(p.added),
            thousands(p.deleted)
        );
    }
    if let Some(t) = &a.truncated {
        let _ = writeln!(o, "  note: {t}");
    }
    for r in &a.requirements {
        for p in r.added.iter().chain(&r.removed).chain(&r.changed) {
            if p.protected {
                let _ = writeln!(
                    o,
                    "  PROTECTED {}: {} -> {}",
                    p.name,
                    p.old.as_deref().unwrap_or("(none)"),
                    p.new.as_deref().unwrap_or("(removed)")
                );
            }
        }
    }
    for n in &a.notes {
        let _ = writeln!(o, "  note: {}", n);
    }
    let _ = writeln!(o, "reports: {}", dir.display());
    o
}
