//! The external family (off unless `fix.external_command` is set): write a
//! Markdown context file (failure, log tail, upstream diff, integration
//! findings; for a merge conflict the hunks and where the base/ours/theirs
//! versions are), run the command in the staged tree with a timeout, and count
//! as changed whatever files differ in `git status` before and after.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::{AppliedFix, FixContext, Strategy};
use crate::analysis::Analysis;
use crate::analysis::python::PointSeverity;
use crate::config::StrategyKind;
use crate::fix::classify::{Failure, FailureClass};
use crate::fix::error::FixError;
use crate::process::{ProcessSpec, render_template, run};

pub struct External;

/// Bytes of upstream diff text the context file carries at most.
const MAX_DIFF_BYTES: usize = 48 * 1024;

/// The context file an external fixer reads.
pub fn context_markdown(f: &Failure, analysis: Option<&Analysis>, tree: &Path) -> String {
    let mut s = String::new();
    let conflict = matches!(f.class, FailureClass::LocalModConflict { .. });
    if conflict {
        s.push_str("# tether: resolve merge conflicts\n\n");
        s.push_str(&format!(
            "Merging the upstream update into the wrapper at `{}` left conflict markers in the files below: the wrapper's local modifications of its vendored copy and the upstream change touch the same lines. Edit those files in this tree only so that no marker (`<<<<<<<`, `|||||||`, `=======`, `>>>>>>>`) remains and each file parses; tether then commits the resolution and runs the baseline. `conflicts.json` next to this file lists every hunk; `conflicts/<path>.base`, `.ours` (the wrapper's) and `.theirs` (the upstream target's) hold the three versions of each file.\n\n",
            tree.display()
        ));
    } else {
        s.push_str("# tether: fix a failing baseline case\n\n");
        s.push_str(&format!(
            "The wrapper at `{}` fails its baseline after an upstream update. Change files in this tree only; tether re-runs the baseline afterwards.\n\n",
            tree.display()
        ));
    }
    s.push_str("## Failure\n\n");
    s.push_str(&format!("- case: `{}` (model `{}`)\n", f.case, f.model));
    s.push_str(&format!("- class: {}\n", f.class.name()));
    s.push_str(&format!("- message: {}\n", f.message));
    s.push_str(&format!("- signature: `{}`\n", f.signature));
    if !f.params.is_empty() {
        s.push_str(&format!(
            "- params: `{}`\n",
            serde_json::Value::Object(f.params.clone())
        ));
    }
    s.push_str(if conflict {
        "\n## Conflicts\n\n```text\n"
    } else {
        "\n## Log tail\n\n```text\n"
    });
    s.push_str(f.detail.trim_end());
    s.push_str("\n```\n");
    let Some(a) = analysis else {
        s.push_str("\n(No analysis of the upstream change is available.)\n");
        return s;
    };
    s.push_str(&format!(
        "\n## Upstream change `{}` {}..{}\n\n",
        crate::redact::redact(&a.upstream),
        a.from.short,
        a.to.short
    ));
    for c in a.diff.files.iter().take(200) {
        let from = c
            .old_path
            .as_ref()
            .map(|p| format!(" (from {p})"))
            .unwrap_or_default();
        s.push_str(&format!(
            "- {:?} `{}`{from} +{} -{}\n",
            c.status, c.path, c.lines_added, c.lines_removed
        ));
    }
    let mut budget = MAX_DIFF_BYTES;
    for d in &a.diff.key_diffs {
        if d.unified.is_empty() || budget == 0 {
            continue;
        }
        let cut = d.unified.len().min(budget);
        let cut = (0..=cut)
            .rev()
            .find(|i| d.unified.is_char_boundary(*i))
            .unwrap_or(0);
        budget -= cut;
        s.push_str(&format!(
            "\n```diff\n{}\n```\n",
            d.unified[..cut].trim_end()
        ));
        if cut < d.unified.len() {
            s.push_str("(diff cut)\n");
        }
    }
    s.push_str("\n## Wrapper integration findings\n\n");
    let mut any = false;
    for f in &a.integration.findings {
        if f.severity == PointSeverity::Info {
            continue;
        }
        any = true;
        s.push_str(&format!(
            "- {:?} `{}:{}` {} `{}`: {}\n",
            f.severity, f.point.file, f.point.line, f.point.kind, f.point.target, f.message
        ));
    }
    if !any {
        s.push_str("None at risk.\n");
    }
    s
}

/// Path -> status bits and content hash of every changed or untracked file.
fn snapshot(tree: &Path) -> Result<BTreeMap<String, String>, FixError> {
    let git = |source| FixError::Git {
        path: tree.to_path_buf(),
        source,
    };
    let repo = git2::Repository::open(tree).map_err(git)?;
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false);
    let statuses = repo.statuses(Some(&mut opts)).map_err(git)?;
    let mut out = BTreeMap::new();
    for e in statuses.iter() {
        let Ok(path) = e.path() else { continue };
        let full = tree.join(path);
        let hash = if full.is_file() {
            git2::Oid::hash_file(git2::ObjectType::Blob, &full)
                .map(|o| o.to_string())
                .unwrap_or_default()
        } else {
            "-".to_owned()
        };
        out.insert(path.to_owned(), format!("{:?}:{hash}", e.status()));
    }
    Ok(out)
}

impl Strategy for External {
    fn kind(&self) -> StrategyKind {
        StrategyKind::External
    }

    fn applies(&self, _f: &Failure) -> bool {
        true
    }

    fn apply(&self, ctx: &FixContext<'_>, f: &Failure) -> Result<Option<AppliedFix>, FixError> {
        let na = |r: String| FixError::not_applicable(StrategyKind::External, r);
        let Some(template) = &ctx.cfg.fix.external_command else {
            return Err(na("fix.external_command is not set".to_owned()));
        };
        let context_file = ctx.context_dir.join("context.md");
        // the report folder's, not the tree's: private
        crate::state::write_atomic(
            &context_file,
            context_markdown(f, ctx.analysis, ctx.tree).as_bytes(),
        )
        .map_err(FixError::io("write", &context_file))?;
        let vars: BTreeMap<String, String> = [
            ("context_file", context_file.to_string_lossy().into_owned()),
            ("root", ctx.tree.to_string_lossy().into_owned()),
            ("python", ctx.cfg.project.python.clone()),
            ("case", f.case.clone()),
            ("model", f.model.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let argv = render_template(template, &vars).map_err(|source| FixError::Process {
            what: "the external fixer".into(),
            source,
        })?;
        let before = snapshot(ctx.tree)?;
        let spec = ProcessSpec {
            argv,
            cwd: ctx.tree.to_path_buf(),
            env: vec![
                (
                    "TETHER_CONTEXT_FILE".into(),
                    context_file.to_string_lossy().into_owned(),
                ),
                ("TETHER_CASE".into(), f.case.clone()),
            ],
            timeout: ctx.cfg.fix.external_timeout,
            grace: ctx.cfg.baseline.grace_period,
            stdout_path: ctx.context_dir.join("external.stdout.log"),
            stderr_path: ctx.context_dir.join("external.stderr.log"),
            max_log_bytes: ctx.cfg.baseline.max_log_bytes,
            cancel: None,
        };
        let out = run(&spec, &mut || {}).map_err(|source| FixError::Process {
            what: "the external fixer".into(),
            source,
        })?;
        let after = snapshot(ctx.tree)?;
        let changed: BTreeSet<String> = before
            .keys()
            .chain(after.keys())
            .filter(|p| before.get(*p) != after.get(*p))
            .cloned()
            .collect();
        if !out.exit.success() && changed.is_empty() {
            return Err(FixError::CommandFailed {
                what: "the external fixer".into(),
                exit: out.exit.to_string(),
                log: spec.stderr_path,
            });
        }
        if changed.is_empty() {
            return Err(na("the external fixer changed no file".to_owned()));
        }
        let files: Vec<String> = changed.into_iter().collect();
        Ok(Some(AppliedFix {
            strategy: StrategyKind::External,
            summary: format!("external fixer ({}) changed {}", out.exit, files.join(", ")),
            commit_message: format!("fix(baseline): external fixer for {}", f.case),
            files,
            reduced: None,
        }))
    }
}
