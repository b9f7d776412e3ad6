//! Renders the ComfyUI part of an analysis (`Analysis.workflows`) as the
//! "Workflows" section of `integration_analysis.md`: the findings per
//! workflow file, node and input, the skipped files and the node classes
//! only partly read.

use std::fmt::Write;

use super::markdown::{cell, code};
use crate::analysis::comfy::WorkflowFindingKind;
use crate::analysis::model::Analysis;
use crate::analysis::python::PointSeverity;

/// The section, when the analysis has a ComfyUI part.
pub fn section(o: &mut String, a: &Analysis) {
    let Some(w) = &a.workflows else {
        return;
    };
    let count = |sev| w.findings.iter().filter(|f| f.severity == sev).count();
    let _ = writeln!(o, "## Workflows\n");
    let _ = writeln!(
        o,
        "{} workflow file(s) read, {} skipped; node classes defined by `{}`: {} at {}, {} at {}. {} breaking and {} at-risk workflow finding(s).\n",
        w.workflows.len(),
        w.skipped.len(),
        a.upstream,
        w.classes_before,
        a.from.short,
        w.classes_after,
        a.to.short,
        count(PointSeverity::Breaking),
        count(PointSeverity::AtRisk),
    );
    if !w.findings.is_empty() {
        let _ = writeln!(
            o,
            "| severity | workflow | node | class | input | change | finding | patched at |\n|---|---|---|---|---|---|---|---|"
        );
        for f in &w.findings {
            let sev = match f.severity {
                PointSeverity::Breaking => "breaking",
                PointSeverity::AtRisk => "at risk",
                PointSeverity::Info => "info",
            };
            let _ = writeln!(
                o,
                "| {sev} | {} | {} | {} | {} | {} | {} | {} |",
                code(&f.workflow),
                f.node,
                code(&f.class_type),
                f.input.as_deref().map(code).unwrap_or_default(),
                change(&f.kind),
                cell(&f.message),
                f.patched_at
                    .iter()
                    .map(|p| code(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        o.push('\n');
    }
    if !w.skipped.is_empty() {
        let _ = writeln!(o, "Skipped workflow files:\n");
        for s in &w.skipped {
            let _ = writeln!(o, "- {}: {}", code(&s.path), s.reason);
        }
        o.push('\n');
    }
    if !w.partial.is_empty() {
        let _ = writeln!(
            o,
            "Node classes only partly read (built at run time; not checked):\n"
        );
        for p in &w.partial {
            let _ = writeln!(o, "- {p}");
        }
        o.push('\n');
    }
}

fn change(k: &WorkflowFindingKind) -> &'static str {
    match k {
        WorkflowFindingKind::NodeClassRemoved { .. } => "class removed",
        WorkflowFindingKind::InputRenamed { .. } => "input renamed",
        WorkflowFindingKind::InputRemoved => "input removed",
        WorkflowFindingKind::RequiredInputMissing { .. } => "required input missing",
        WorkflowFindingKind::OutputIndexGone { .. } => "output index gone",
        WorkflowFindingKind::ClassDefinedTwice { .. } => "class defined twice",
    }
}
