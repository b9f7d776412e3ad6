//! Deciding a finished case's status: the results file when one is
//! configured, else the exit code plus the expected outputs; and the output
//! files found in the case's folder.

use std::path::Path;

use globset::Glob;
use serde_json::Value;

use super::model::{CaseStatus, OutputFile};
use crate::process::Exit;

/// Files tether itself writes into a case's folder.
pub(super) const OWN_FILES: [&str; 3] = ["settings.json", "stdout.log", "stderr.log"];
const MAX_WALK_DEPTH: usize = 8;
const MAX_WALK_FILES: usize = 10_000;

/// A status and, when the case did not pass, why.
struct Judgement {
    status: CaseStatus,
    error: Option<String>,
}

impl Judgement {
    fn passed() -> Judgement {
        Judgement {
            status: CaseStatus::Passed,
            error: None,
        }
    }

    fn failed(why: String) -> Judgement {
        Judgement {
            status: CaseStatus::Failed,
            error: Some(why),
        }
    }
}

/// What the results file says of a case.
struct ResultsEntry {
    judgement: Judgement,
    /// The entry's `output`, relative to the case folder, when it names one
    /// inside it.
    output: Option<String>,
}

pub(super) struct Decision {
    pub status: CaseStatus,
    pub error: Option<String>,
    pub outputs: Vec<OutputFile>,
}

/// The status of a case that ended with `exit`, from what is in `case_dir`.
pub(super) fn decide(
    case: &str,
    exit: Exit,
    case_dir: &Path,
    patterns: &[String],
    results_file: Option<&str>,
) -> Decision {
    let files = list_files(case_dir);
    let mut outputs: Vec<OutputFile> = files
        .iter()
        .filter(|f| matches_any(patterns, &f.path))
        .cloned()
        .collect();
    let Judgement { status, error } = match exit {
        Exit::TimedOut => Judgement {
            status: CaseStatus::TimedOut,
            error: Some("timed out".to_owned()),
        },
        Exit::Signal(_) => Judgement {
            status: CaseStatus::Crashed,
            error: Some(exit.to_string()),
        },
        Exit::Cancelled => Judgement::failed("cancelled".to_owned()),
        Exit::Code(code) => match results_file {
            Some(rf) => {
                let entry = from_results_file(case, &case_dir.join(rf), rf, code);
                if let Some(o) = entry
                    .output
                    .and_then(|o| files.iter().find(|f| f.path == o))
                    && !outputs.iter().any(|x| x.path == o.path)
                {
                    outputs.push(o.clone());
                }
                entry.judgement
            }
            None => from_exit_and_outputs(code, patterns, &outputs),
        },
    };
    Decision {
        status,
        error,
        outputs,
    }
}

fn from_exit_and_outputs(code: i32, patterns: &[String], outputs: &[OutputFile]) -> Judgement {
    if code != 0 {
        return Judgement::failed(format!("exit code {code}"));
    }
    let missing: Vec<&str> = patterns
        .iter()
        .filter(|p| {
            !outputs
                .iter()
                .any(|o| matches_any(std::slice::from_ref(p), &o.path))
        })
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        Judgement::passed()
    } else {
        Judgement::failed(format!(
            "exit code 0, but no file in the case's output folder matches the expected output{} {}",
            if missing.len() == 1 { "" } else { "s" },
            crate::text::cut_list(&missing, crate::text::MESSAGE_ITEMS)
        ))
    }
}

/// Status from the results file: the entry whose `name` or `case` is this
/// case, or the only entry. Returns the entry's `output` path (relative to
/// the case folder) when it names one inside it.
fn from_results_file(case: &str, path: &Path, rel: &str, code: i32) -> ResultsEntry {
    let failed = |msg: String| ResultsEntry {
        judgement: Judgement::failed(msg),
        output: None,
    };
    let text = match fs_err::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return failed(format!(
                "results file `{rel}` was not written (exit code {code})"
            ));
        }
        Err(e) => return failed(format!("cannot read results file `{rel}`: {e}")),
    };
    let doc: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            return failed(format!(
                "results file `{rel}` is not valid JSON (exit code {code}): {e}"
            ));
        }
    };
    let entries: Vec<&Value> = match &doc {
        Value::Array(a) => a.iter().collect(),
        Value::Object(o) => match o.get("cases").or_else(|| o.get("results")) {
            Some(Value::Array(a)) => a.iter().collect(),
            _ if o.contains_key("status") => vec![&doc],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    let named = |e: &&&Value| {
        ["name", "case"]
            .iter()
            .any(|k| e.get(k).and_then(Value::as_str) == Some(case))
    };
    let entry = match entries.iter().find(named) {
        Some(e) => *e,
        None if entries.len() == 1 => entries[0],
        None => {
            return failed(format!(
                "results file `{rel}` has no entry for case `{case}` ({} entries; expected a list, \
                 or {{\"cases\": [...]}}, of {{\"name\", \"status\", ...}})",
                entries.len()
            ));
        }
    };
    let output = entry
        .get("output")
        .and_then(Value::as_str)
        .and_then(|o| relative_inside(path.parent().unwrap_or(Path::new(".")), o));
    let status = match entry.get("status") {
        Some(Value::String(s)) => Some(s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()),
        Some(Value::Bool(b)) => Some(if *b { "passed" } else { "failed" }.to_owned()),
        _ => None,
    };
    let judgement = match status.as_deref() {
        Some("passed" | "pass" | "success" | "succeeded" | "ok") => Judgement::passed(),
        None => Judgement::failed(format!(
            "results file `{rel}` entry for `{case}` has no status"
        )),
        Some(other) => {
            let why = entry
                .get("error")
                .and_then(|e| match e {
                    Value::String(s) => Some(s.clone()),
                    Value::Null => None,
                    v => Some(v.to_string()),
                })
                .unwrap_or_else(|| format!("status `{other}`"));
            Judgement::failed(format!("results file says the case failed: {why}"))
        }
    };
    ResultsEntry { judgement, output }
}

/// `o` (absolute or relative to `dir`) as a path relative to `dir`, when it
/// is inside it.
fn relative_inside(dir: &Path, o: &str) -> Option<String> {
    let p = Path::new(o);
    let rel = if p.is_absolute() {
        p.strip_prefix(dir).ok()?.to_path_buf()
    } else {
        p.to_path_buf()
    };
    if rel
        .components()
        .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return None;
    }
    Some(rel.to_string_lossy().replace('\\', "/"))
}

fn matches_any(patterns: &[String], path: &str) -> bool {
    patterns.iter().any(|p| {
        Glob::new(p)
            .map(|g| g.compile_matcher().is_match(path))
            .unwrap_or(false)
    })
}

/// Regular files under `dir` (not tether's own files, not following links),
/// relative paths with `/`, sorted.
pub(super) fn list_files(dir: &Path) -> Vec<OutputFile> {
    let mut out = Vec::new();
    walk(dir, dir, 0, &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn walk(root: &Path, dir: &Path, depth: usize, out: &mut Vec<OutputFile>) {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if out.len() >= MAX_WALK_FILES {
            return;
        }
        let path = entry.path();
        let Ok(meta) = fs_err::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() && depth < MAX_WALK_DEPTH {
            walk(root, &path, depth + 1, out);
        } else if meta.is_file() {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            if depth == 0 && OWN_FILES.contains(&rel.as_str()) {
                continue;
            }
            out.push(OutputFile {
                path: rel,
                bytes: meta.len(),
            });
        }
    }
}
