//! Derives the update checklist from an analysis's findings: each broken or
//! at-risk integration point, each workflow finding, each local patch the update is predicted to
//! conflict on or lose, each protected package change, each changed key
//! file, then the validation steps tether runs.

use super::model::{Analysis, ChecklistCategory, ChecklistItem};
use super::python::{Carry, PointSeverity};

pub fn build(a: &Analysis) -> Vec<ChecklistItem> {
    let mut items = Vec::new();
    for f in &a.integration.findings {
        if f.severity == PointSeverity::Info {
            continue;
        }
        items.push(ChecklistItem {
            category: ChecklistCategory::IntegrationPoint,
            text: f.message.clone(),
            location: Some(format!("{}:{}", f.point.file, f.point.line)),
            severity: Some(f.severity),
        });
    }
    for o in &a.integration.omitted {
        if o.severity == PointSeverity::Info {
            continue;
        }
        items.push(ChecklistItem {
            category: ChecklistCategory::IntegrationPoint,
            text: format!(
                "Review the {} more {} integration point(s) that the caps leave unlisted (raise analysis.max_findings_per_kind and analysis.max_findings_per_file to list them)",
                crate::text::thousands(o.count),
                super::caps::severity_word(o.severity)
            ),
            location: Some(o.file.clone()),
            severity: Some(o.severity),
        });
    }
    for f in a.workflows.iter().flat_map(|w| &w.findings) {
        items.push(ChecklistItem {
            category: ChecklistCategory::Workflow,
            text: format!(
                "Workflow `{}` node {} (`{}`): {}",
                f.workflow, f.node, f.class_type, f.message
            ),
            location: Some(match f.patched_at.first() {
                Some(p) => format!("{} node {} (patched at {p})", f.workflow, f.node),
                None => format!("{} node {}", f.workflow, f.node),
            }),
            severity: Some(f.severity),
        });
    }
    for f in a.local_patch.iter().flat_map(|p| p.at_risk()) {
        let (text, severity) = match &f.carry {
            Carry::LostUpstreamDeleted => (
                format!(
                    "Port the local patch of `{}` by hand: upstream deleted the file, so the update loses it",
                    f.path
                ),
                PointSeverity::Breaking,
            ),
            _ => (
                format!(
                    "Resolve the local patch of `{}` against the upstream change: the update's merge is predicted to conflict",
                    f.path
                ),
                PointSeverity::AtRisk,
            ),
        };
        items.push(ChecklistItem {
            category: ChecklistCategory::LocalPatch,
            text,
            location: Some(f.path.clone()),
            severity: Some(severity),
        });
    }
    for r in &a.requirements {
        for p in r.added.iter().chain(&r.removed).chain(&r.changed) {
            let what = match (&p.old, &p.new) {
                (None, Some(n)) => format!("`{}` added: `{n}`", p.name),
                (Some(o), None) => format!("`{}` removed (was `{o}`)", p.name),
                (Some(o), Some(n)) => format!("`{}` changed: `{o}` -> `{n}`", p.name),
                (None, None) => continue,
            };
            if p.protected {
                items.push(ChecklistItem {
                    category: ChecklistCategory::ProtectedPackage,
                    text: format!(
                        "Protected package {what}: keep the installed version pinned and verify the GPU stack before adopting"
                    ),
                    location: Some(r.path.clone()),
                    severity: Some(PointSeverity::AtRisk),
                });
            } else {
                items.push(ChecklistItem {
                    category: ChecklistCategory::Dependency,
                    text: format!("Dependency {what}: install and run `pip check`"),
                    location: Some(r.path.clone()),
                    severity: None,
                });
            }
        }
    }
    for k in &a.diff.key_diffs {
        items.push(ChecklistItem {
            category: ChecklistCategory::KeyFile,
            text: format!("Review the diff of key file `{}`", k.path),
            location: Some(k.path.clone()),
            severity: None,
        });
    }
    for step in [
        "Stage the update in a separate worktree of the wrapper (never the live tree)",
        "Install the target's requirements with protected packages pinned; compare `pip freeze` before and after",
        "Run the baseline generation suite against the staged tree",
        "On failure, run the bounded fix-and-retest loop; log every attempt",
        "Promote only when the baseline passes; otherwise roll back to the recorded state",
    ] {
        items.push(ChecklistItem {
            category: ChecklistCategory::Validation,
            text: step.to_owned(),
            location: None,
            severity: None,
        });
    }
    items
}
