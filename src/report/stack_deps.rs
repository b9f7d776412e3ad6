//! The "Dependencies across members" section of a group's update report:
//! packages whose pins cannot all hold, and torch requirements that moved or
//! disagree, rendered from `analysis::stack_deps::StackDependencies`.

use std::fmt::Write as _;

use super::markdown::{cell, code};
use crate::analysis::stack_deps::StackDependencies;

/// The section, heading included (`level` `#`s, e.g. 2 for `##`).
pub fn dependencies_section(deps: &StackDependencies, level: usize) -> String {
    let h = "#".repeat(level.max(1));
    let mut out = format!("{h} Dependencies across members\n\n");
    if deps.conflicts.is_empty() && deps.torch.is_empty() {
        out.push_str("No package pins disagree between members, and torch is unchanged.\n");
    }
    if !deps.conflicts.is_empty() {
        out.push_str("| package | pins | why |\n|---|---|---|\n");
        for c in &deps.conflicts {
            let pins: Vec<String> = c
                .pins
                .iter()
                .map(|p| {
                    let spec = if p.spec.is_empty() { "any" } else { &p.spec };
                    format!("{}: {}", cell(&p.member), code(&cell(spec)))
                })
                .collect();
            let name = if c.protected {
                format!("{} (protected)", code(&c.package))
            } else {
                code(&c.package)
            };
            let _ = writeln!(
                out,
                "| {name} | {} | {} |",
                pins.join("<br>"),
                c.why.describe()
            );
        }
    }
    if !deps.torch.is_empty() {
        let _ = writeln!(out, "\n{h}# torch\n");
        for t in &deps.torch {
            let spec = |s: &Option<String>| match s.as_deref() {
                None => "not required".to_owned(),
                Some("") => "any version".to_owned(),
                Some(s) => code(s),
            };
            let mut line = format!("- {}: ", t.member);
            if t.from_spec != t.to_spec {
                let _ = write!(line, "{} -> {}", spec(&t.from_spec), spec(&t.to_spec));
            } else {
                let _ = write!(line, "{}", spec(&t.to_spec));
            }
            if !t.differs_from.is_empty() {
                let _ = write!(line, "; differs from {}", t.differs_from.join(", "));
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    if !deps.notes.is_empty() {
        out.push_str("\nNot compared:\n\n");
        for n in &deps.notes {
            let _ = writeln!(out, "- {}", cell(n));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::stack_deps::{
        ConflictReason, MemberPin, PackageConflict, StackDependencies, TorchChange,
    };

    #[test]
    fn renders_conflicts_torch_and_notes() {
        let deps = StackDependencies {
            conflicts: vec![PackageConflict {
                package: "torch".into(),
                pins: vec![
                    MemberPin {
                        member: "comfyui".into(),
                        spec: ">=2.6".into(),
                    },
                    MemberPin {
                        member: "ltx-mini".into(),
                        spec: ">=2.4,<2.6".into(),
                    },
                ],
                protected: true,
                why: ConflictReason::DisjointRanges,
            }],
            torch: vec![TorchChange {
                member: "comfyui".into(),
                from_spec: Some(">=2.4".into()),
                to_spec: Some(">=2.6".into()),
                differs_from: vec!["ltx-mini".into()],
            }],
            notes: vec!["ltx-mini: `einops; python_version >= '3.9'` not compared".into()],
        };
        assert_eq!(
            dependencies_section(&deps, 2),
            "## Dependencies across members\n\n\
             | package | pins | why |\n|---|---|---|\n\
             | `torch` (protected) | comfyui: `>=2.6`<br>ltx-mini: `>=2.4,<2.6` | ranges with no version in common |\n\
             \n### torch\n\n\
             - comfyui: `>=2.4` -> `>=2.6`; differs from ltx-mini\n\
             \nNot compared:\n\n\
             - ltx-mini: `einops; python_version >= '3.9'` not compared\n"
        );
        assert_eq!(
            dependencies_section(&StackDependencies::default(), 3),
            "### Dependencies across members\n\nNo package pins disagree between members, and torch is unchanged.\n"
        );
    }
}
