//! The api-drift family: the upstream renamed a keyword, a function or a
//! module and the analysis found which wrapper lines use the old name;
//! rewrite those lines with byte-precise edits, each only where exactly one
//! node matches, and only in findings that explain the failure.

use std::collections::BTreeMap;

use super::{AppliedFix, FixContext, Strategy, write_file};
use crate::analysis::python::{PointFinding, PointKind, SignatureChange, Status};
use crate::config::StrategyKind;
use crate::fix::classify::{DriftKind, Failure, FailureClass};
use crate::fix::error::FixError;
use crate::fix::pysrc::{self, Edit};

pub struct ApiDrift;

/// One rewrite a finding asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// `func(old=..)` -> `func(new=..)`.
    Keyword {
        func: String,
        from: String,
        to: String,
    },
    /// The dotted name `from` is now `to` (renamed or moved).
    Name { from: String, to: String },
}

fn split_last(dotted: &str) -> (&str, &str) {
    dotted.rsplit_once('.').unwrap_or(("", dotted))
}

/// Whether dotted `long` ends with the dotted `short` (`a.b.C.f` ends with
/// `C.f`).
fn ends_with_dotted(long: &str, short: &str) -> bool {
    long == short || long.ends_with(&format!(".{short}"))
}

/// The rewrites of the findings that explain `drift`.
pub(crate) fn actions_for<'a>(
    drift: &DriftKind,
    findings: &'a [PointFinding],
) -> Vec<(&'a PointFinding, Action)> {
    let mut out = Vec::new();
    for f in findings {
        let target = f.point.target.as_str();
        match (drift, &f.status) {
            (
                DriftKind::UnexpectedKeyword { func, keyword },
                Status::SignatureChanged { changes },
            ) if f.point.kind == PointKind::Call && ends_with_dotted(target, func) => {
                for c in changes {
                    if let SignatureChange::ParameterRenamed { from, to } = c
                        && from == keyword
                    {
                        out.push((
                            f,
                            Action::Keyword {
                                func: target.to_owned(),
                                from: from.clone(),
                                to: to.clone(),
                            },
                        ));
                    }
                }
            }
            (
                DriftKind::MissingAttribute { module, name }
                | DriftKind::CannotImport { module, name },
                Status::Renamed { to, .. } | Status::Moved { to },
            ) => {
                let (t_mod, t_name) = split_last(target);
                let names_it =
                    t_name == name && (module.is_empty() || ends_with_dotted(t_mod, module));
                // A moved module: the target is the module itself or inside it.
                let module_moved = !module.is_empty()
                    && (target == format!("{module}.{name}") || target == module.as_str());
                if names_it || module_moved {
                    out.push((
                        f,
                        Action::Name {
                            from: target.to_owned(),
                            to: to.clone(),
                        },
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

/// The edits one action needs at its finding's line.
pub(crate) fn edits_for(src: &str, f: &PointFinding, action: &Action) -> Result<Vec<Edit>, String> {
    let line = f.point.line;
    match action {
        Action::Keyword { func, from, to } => {
            pysrc::rename_keyword(src, line, func, from, to).map(|e| vec![e])
        }
        Action::Name { from, to } => {
            let (old_mod, old_name) = split_last(from);
            let (new_mod, new_name) = split_last(to);
            match f.point.kind {
                PointKind::FromImport => {
                    let module = (old_mod != new_mod).then_some(new_mod);
                    pysrc::rename_from_import(src, line, old_name, new_name, module)
                }
                PointKind::Import => {
                    pysrc::rename_import_module(src, line, from, to).map(|e| vec![e])
                }
                PointKind::Call | PointKind::AttributeRead | PointKind::Monkeypatch => {
                    if old_mod != new_mod {
                        return Err(format!(
                            "`{from}` moved to another module (`{to}`); the access on line {line} needs a new import"
                        ));
                    }
                    pysrc::rename_attribute(src, line, "", old_name, new_name).map(|e| vec![e])
                }
                other => Err(format!("tether does not rewrite a {other} point")),
            }
        }
    }
}

impl Strategy for ApiDrift {
    fn kind(&self) -> StrategyKind {
        StrategyKind::ApiDrift
    }

    fn applies(&self, f: &Failure) -> bool {
        matches!(f.class, FailureClass::ApiDrift { .. })
    }

    fn apply(&self, ctx: &FixContext<'_>, f: &Failure) -> Result<Option<AppliedFix>, FixError> {
        let FailureClass::ApiDrift { drift } = &f.class else {
            return Ok(None);
        };
        let na = |r: String| FixError::not_applicable(StrategyKind::ApiDrift, r);
        let analysis = ctx
            .analysis
            .ok_or_else(|| na("no analysis of this update to read renames from".to_owned()))?;
        let actions = actions_for(drift, &analysis.integration.findings);
        if actions.is_empty() {
            return Err(na(format!(
                "the analysis found no rename that explains `{}`",
                f.message
            )));
        }
        // Group by file; every file is edited once, all or nothing.
        let mut by_file: BTreeMap<&str, Vec<(&PointFinding, &Action)>> = BTreeMap::new();
        for (finding, action) in &actions {
            by_file
                .entry(finding.point.file.as_str())
                .or_default()
                .push((finding, action));
        }
        let mut refused = Vec::new();
        let mut changes = Vec::new();
        let mut files = Vec::new();
        for (file, items) in by_file {
            let path = ctx.tree.join(file);
            let Ok(src) = fs_err::read_to_string(&path) else {
                refused.push(format!("{file}: cannot read it"));
                continue;
            };
            let mut edits: Vec<Edit> = Vec::new();
            for (finding, action) in items {
                match edits_for(&src, finding, action) {
                    Ok(es) => {
                        for e in es {
                            if edits.iter().any(|x| x.range == e.range && x.text == e.text) {
                                continue;
                            }
                            if edits
                                .iter()
                                .any(|x| x.range.start < e.range.end && e.range.start < x.range.end)
                            {
                                refused.push(format!(
                                    "{file}:{}: overlapping edits",
                                    finding.point.line
                                ));
                                continue;
                            }
                            edits.push(e);
                        }
                        changes.push(describe(file, finding.point.line, action));
                    }
                    Err(reason) => refused.push(format!("{file}:{}: {reason}", finding.point.line)),
                }
            }
            if edits.is_empty() {
                continue;
            }
            let out = pysrc::apply(&src, &edits);
            if pysrc::parses_cleanly(&src) && !pysrc::parses_cleanly(&out) {
                refused.push(format!("{file}: the rewrite would not parse; left alone"));
                continue;
            }
            write_file(&path, out.as_bytes())?;
            files.push(file.to_owned());
        }
        if files.is_empty() {
            return Err(na(format!(
                "no unambiguous rewrite: {}",
                refused.join("; ")
            )));
        }
        let mut summary = format!("api drift: {}", changes.join("; "));
        if !refused.is_empty() {
            summary.push_str(&format!(" (not rewritten: {})", refused.join("; ")));
        }
        let what = match drift {
            DriftKind::UnexpectedKeyword { func, keyword } => {
                format!("rename keyword {keyword} of {func}")
            }
            DriftKind::MissingAttribute { name, .. } | DriftKind::CannotImport { name, .. } => {
                format!("follow upstream rename of {name}")
            }
        };
        Ok(Some(AppliedFix {
            strategy: StrategyKind::ApiDrift,
            summary,
            files,
            commit_message: format!("fix(baseline): {what}"),
            reduced: None,
        }))
    }
}

fn describe(file: &str, line: usize, action: &Action) -> String {
    match action {
        Action::Keyword { func, from, to } => format!("{file}:{line} {func}({from}=) -> ({to}=)"),
        Action::Name { from, to } => format!("{file}:{line} {from} -> {to}"),
    }
}

#[cfg(test)]
#[path = "api_drift_tests.rs"]
mod tests;
