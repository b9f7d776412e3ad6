//! Failure classification: reads a failed case's status, exit and log tails
//! (Python tracebacks) and names what went wrong, with a signature that stays
//! the same when only numbers, paths or addresses differ.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::baseline::{CaseResult, CaseStatus, JobFailureKind};
use crate::process::Exit;

/// How an upstream API change showed up at run time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DriftKind {
    /// `TypeError: f() got an unexpected keyword argument 'k'`.
    UnexpectedKeyword { func: String, keyword: String },
    /// `AttributeError: module 'm' has no attribute 'n'`.
    MissingAttribute { module: String, name: String },
    /// `ImportError: cannot import name 'n' from 'm'`.
    CannotImport { module: String, name: String },
}

/// What a ComfyUI-style workflow validation said about one node input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkflowProblem {
    /// `Required input is missing: <input>`.
    RequiredInputMissing,
    /// `unexpected input '<input>'`.
    UnexpectedInput,
}

/// What kind of failure a case had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "class", rename_all = "kebab-case")]
pub enum FailureClass {
    MissingInput {
        path: String,
    },
    ModelConfigMissing {
        name: String,
    },
    OutOfMemory,
    /// The case's scheduler job went past its host memory limit (Slurm's
    /// `OUT_OF_MEMORY`, "Exceeded job memory limit").
    HostOutOfMemory,
    /// The cluster failed the job (node failure, preemption, its time limit,
    /// pending too long): not the tree's failure, never a regression.
    Infrastructure {
        state: String,
    },
    MissingModule {
        module: String,
    },
    ApiDrift {
        drift: DriftKind,
    },
    LocalModConflict {
        files: Vec<String>,
    },
    /// `Prompt outputs failed validation: <class_type> <node>: ...`: an
    /// API-format workflow sets an input its node class no longer has, or
    /// misses a required one.
    WorkflowValidation {
        class_type: String,
        node: String,
        input: String,
        problem: WorkflowProblem,
    },
    Timeout,
    CrashSignal {
        signal: i32,
    },
    Unknown,
}

impl FailureClass {
    /// Whether the failure is the cluster's, not the tree's.
    pub fn is_infrastructure(&self) -> bool {
        matches!(self, FailureClass::Infrastructure { .. })
    }

    /// The class as a short kebab-case name (`out-of-memory`).
    pub fn name(&self) -> &'static str {
        match self {
            FailureClass::MissingInput { .. } => "missing-input",
            FailureClass::ModelConfigMissing { .. } => "model-config-missing",
            FailureClass::OutOfMemory => "out-of-memory",
            FailureClass::HostOutOfMemory => "host-out-of-memory",
            FailureClass::Infrastructure { .. } => "infrastructure",
            FailureClass::MissingModule { .. } => "missing-module",
            FailureClass::ApiDrift { .. } => "api-drift",
            FailureClass::LocalModConflict { .. } => "local-mod-conflict",
            FailureClass::WorkflowValidation { .. } => "workflow-validation",
            FailureClass::Timeout => "timeout",
            FailureClass::CrashSignal { .. } => "crash-signal",
            FailureClass::Unknown => "unknown",
        }
    }
}

/// One failed case, classified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub case: String,
    /// The `[[slurm.target]]` the case failed on (a hardware matrix): a
    /// fix found for it (a parameter reduction) is applied to it alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The model the case ran.
    pub model: String,
    /// The parameters the case ran with (overrides applied).
    pub params: serde_json::Map<String, serde_json::Value>,
    pub class: FailureClass,
    /// Class plus the message with paths, numbers and addresses stripped:
    /// equal signatures mean "the same failure again".
    pub signature: String,
    /// The line that names the failure (the exception line), or a sentence.
    pub message: String,
    /// The end of the case's log around the failure.
    pub detail: String,
    /// The case's output folder (its logs live there).
    pub log_dir: std::path::PathBuf,
    /// For API drift: the wrapper's integration points (`file:line`) that
    /// the analysis found broken for the same upstream name.
    #[serde(default)]
    pub integration_points: Vec<String>,
}

impl Failure {
    /// Links an API-drift failure to the integration points of the analysis
    /// that use the same upstream name and are no longer unchanged.
    pub fn link(&mut self, analysis: &crate::analysis::Analysis) {
        use crate::analysis::python::Status;
        let FailureClass::ApiDrift { drift } = &self.class else {
            return;
        };
        let (name, keyword) = match drift {
            DriftKind::UnexpectedKeyword { func, keyword } => {
                (func.as_str(), Some(keyword.as_str()))
            }
            DriftKind::MissingAttribute { name, .. } | DriftKind::CannotImport { name, .. } => {
                (name.as_str(), None)
            }
        };
        self.integration_points = analysis
            .integration
            .findings
            .iter()
            .filter(|f| !matches!(f.status, Status::Unchanged | Status::Unresolved))
            .filter(|f| f.point.target.rsplit('.').next() == Some(name))
            .filter(|f| keyword.is_none_or(|k| f.point.keywords.iter().any(|w| w == k)))
            .map(|f| format!("{}:{}", f.point.file, f.point.line))
            .collect();
    }
}

/// What classification reads from a case result.
#[derive(Debug, Clone, Default)]
pub(crate) struct Evidence<'a> {
    pub model: &'a str,
    pub timed_out: bool,
    pub signal: Option<i32>,
    /// stderr tail, stdout tail and the runner's error, in that order.
    pub texts: Vec<&'a str>,
}

/// Classifies a failed case.
pub fn classify(case: &CaseResult) -> Failure {
    let signal = match case.exit {
        Some(Exit::Signal(s)) => Some(s),
        _ => None,
    };
    let timed_out =
        case.status == CaseStatus::TimedOut || matches!(case.exit, Some(Exit::TimedOut));
    let mut texts: Vec<&str> = vec![&case.stderr_tail, &case.stdout_tail];
    if let Some(e) = &case.error {
        texts.push(e);
    }
    let ev = Evidence {
        model: &case.model,
        timed_out,
        signal,
        texts,
    };
    let (class, message) = match &case.job_failure {
        Some(job) => {
            let message = case.error.clone().unwrap_or_else(|| job.state.clone());
            match job.kind {
                JobFailureKind::HostOutOfMemory => (FailureClass::HostOutOfMemory, message),
                JobFailureKind::Infrastructure => (
                    FailureClass::Infrastructure {
                        state: job.state.clone(),
                    },
                    message,
                ),
                JobFailureKind::Cancelled => classify_evidence(&ev),
            }
        }
        None => classify_evidence(&ev),
    };
    Failure {
        case: case.name.clone(),
        target: case.target.clone(),
        model: case.model.clone(),
        params: case.params.clone(),
        signature: signature(&class, &message),
        class,
        message,
        detail: detail(&ev),
        log_dir: case.log_dir.clone(),
        integration_points: Vec::new(),
    }
}

/// The class and the message naming it.
pub(crate) fn classify_evidence(ev: &Evidence<'_>) -> (FailureClass, String) {
    if ev.timed_out {
        return (
            FailureClass::Timeout,
            "the case ran past its time limit and was stopped".to_owned(),
        );
    }
    let lines: Vec<&str> = ev
        .texts
        .iter()
        .flat_map(|t| t.lines())
        .map(str::trim_end)
        .collect();
    // Out of memory anywhere wins: it usually cascades into other errors.
    if let Some(line) = lines.iter().rev().find(|l| is_oom(l)) {
        return (FailureClass::OutOfMemory, line.trim().to_owned());
    }
    if let Some(files) = conflict_files(&lines) {
        let message = format!("unresolved merge conflict in {}", files.join(", "));
        return (FailureClass::LocalModConflict { files }, message);
    }
    // Otherwise the last line any rule recognises: the exception that ended
    // the run.
    for line in lines.iter().rev() {
        let l = line.trim();
        for rule in RULES.iter() {
            if let Some(c) = rule.re.captures(l) {
                let class = (rule.build)(&c, ev.model);
                return (class, l.to_owned());
            }
        }
    }
    if let Some(sig) = ev.signal {
        return (
            FailureClass::CrashSignal { signal: sig },
            format!("killed by signal {sig} ({})", signal_name(sig)),
        );
    }
    let message = lines
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| EXCEPTION_LINE.is_match(l))
        .or_else(|| lines.iter().rev().map(|l| l.trim()).find(|l| !l.is_empty()))
        .unwrap_or("the case failed without output")
        .to_owned();
    (FailureClass::Unknown, message)
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => "signal",
    }
}

static EXCEPTION_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b:?").unwrap());

fn is_oom(line: &str) -> bool {
    static OOM: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"(?i)(OutOfMemoryError|CUDA out of memory|CUDA error: out of memory",
            r"|CUBLAS_STATUS_ALLOC_FAILED|HIP out of memory|MPS backend out of memory",
            r"|DefaultCPUAllocator: (can't allocate memory|not enough memory))"
        ))
        .unwrap()
    });
    OOM.is_match(line)
}

/// Files holding merge-conflict markers, when the log shows Python choking on
/// one (`SyntaxError` at a `<<<<<<<` line) or git refusing local changes.
fn conflict_files(lines: &[&str]) -> Option<Vec<String>> {
    static FILE_LINE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"^\s*File "([^"]+)", line \d+"#).unwrap());
    let mut files = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if t.starts_with("<<<<<<<") || t.starts_with(">>>>>>>") || t == "=======" {
            let syntax_error = lines[i..]
                .iter()
                .take(6)
                .any(|l| l.trim_start().starts_with("SyntaxError"));
            if !syntax_error {
                continue;
            }
            if let Some(f) = lines[..i]
                .iter()
                .rev()
                .take(3)
                .find_map(|l| FILE_LINE.captures(l))
            {
                files.push(f[1].to_owned());
            }
        }
    }
    if let Some(i) = lines
        .iter()
        .position(|l| l.contains("Your local changes to the following files would be overwritten"))
    {
        for l in &lines[i + 1..] {
            if !l.starts_with(char::is_whitespace) || l.trim().is_empty() {
                break;
            }
            files.push(l.trim().to_owned());
        }
        if files.is_empty() {
            files.push("(unknown)".to_owned());
        }
    }
    files.dedup();
    (!files.is_empty()).then_some(files)
}

struct Rule {
    re: Regex,
    build: fn(&regex::Captures<'_>, &str) -> FailureClass,
}

fn rule(re: &str, build: fn(&regex::Captures<'_>, &str) -> FailureClass) -> Rule {
    Rule {
        re: Regex::new(re).unwrap(),
        build,
    }
}

/// The recognised exception lines, most specific first.
static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        rule(
            r"^(?:[\w.]+Error: )?Prompt outputs failed validation: (\S+) (\S+): (?:Required input is missing: ([\w.-]+)|unexpected input '([^']+)')",
            |c, _| {
                let (input, problem) = match (c.get(3), c.get(4)) {
                    (Some(m), _) => (m.as_str(), WorkflowProblem::RequiredInputMissing),
                    (None, Some(m)) => (m.as_str(), WorkflowProblem::UnexpectedInput),
                    (None, None) => return FailureClass::Unknown,
                };
                FailureClass::WorkflowValidation {
                    class_type: c[1].to_owned(),
                    node: c[2].to_owned(),
                    input: input.to_owned(),
                    problem,
                }
            },
        ),
        rule(
            r"^(?:ModuleNotFoundError|ImportError): No module named '?([\w.]+)'?",
            |c, _| FailureClass::MissingModule {
                module: c[1].to_owned(),
            },
        ),
        rule(
            r"^ImportError: cannot import name '(\w+)' from '([\w.]+)'",
            |c, _| FailureClass::ApiDrift {
                drift: DriftKind::CannotImport {
                    module: c[2].to_owned(),
                    name: c[1].to_owned(),
                },
            },
        ),
        rule(r"^ImportError: cannot import name '(\w+)'$", |c, _| {
            FailureClass::ApiDrift {
                drift: DriftKind::CannotImport {
                    module: String::new(),
                    name: c[1].to_owned(),
                },
            }
        }),
        rule(
            r"^TypeError: ([\w.<>]+)\(\) got an unexpected keyword argument '(\w+)'",
            |c, _| FailureClass::ApiDrift {
                drift: DriftKind::UnexpectedKeyword {
                    func: c[1].to_owned(),
                    keyword: c[2].to_owned(),
                },
            },
        ),
        rule(
            r"^AttributeError: (?:module|type object) '([\w.]+)' has no attribute '(\w+)'",
            |c, _| FailureClass::ApiDrift {
                drift: DriftKind::MissingAttribute {
                    module: c[1].to_owned(),
                    name: c[2].to_owned(),
                },
            },
        ),
        rule(
            r#"^(?:FileNotFoundError|OSError|IOError): \[Errno 2\] No such file or directory: ['"](.+?)['"]$"#,
            missing_file,
        ),
        rule(
            r#"^(?:[\w.]+Error: )?(?i:(?:input|video|image|mask|guide|file)(?: (?:video|image|mask|file))? (?:not found|does not exist|is missing)):? ['"]?([^'"\s]+)['"]?"#,
            missing_file,
        ),
        rule(
            r#"^[\w.]+Error: (?i:(?:unknown|unsupported|invalid) model(?: type| config)?):? ['"]?([\w.\-/]+?)['"]?\.?$"#,
            |c, _| FailureClass::ModelConfigMissing {
                name: model_name(&c[1]),
            },
        ),
        rule(
            r#"^[\w.]+Error: (?i:model(?: type| config| definition)?) ['"]?([\w.\-/]+?)['"]? (?i:not found|does not exist|is missing)"#,
            |c, _| FailureClass::ModelConfigMissing {
                name: model_name(&c[1]),
            },
        ),
        rule(r#"^KeyError: ['"]([^'"]+)['"]$"#, |c, model| {
            if !model.is_empty() && c[1] == *model {
                FailureClass::ModelConfigMissing {
                    name: model.to_owned(),
                }
            } else {
                FailureClass::Unknown
            }
        }),
    ]
});

/// A missing file: a model config when it is a `.json` named after the case's
/// model (or in a `defaults/` or `configs/` folder), else an input.
fn missing_file(c: &regex::Captures<'_>, model: &str) -> FailureClass {
    let path = c[1].to_owned();
    let p = std::path::Path::new(&path);
    let is_json = p.extension().is_some_and(|e| e == "json");
    let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned());
    let parent = p
        .parent()
        .and_then(|d| d.file_name())
        .map(|d| d.to_string_lossy().into_owned());
    let config_dir = matches!(
        parent.as_deref(),
        Some("defaults" | "configs" | "finetunes")
    );
    if is_json && (stem.as_deref() == Some(model) || config_dir) {
        return FailureClass::ModelConfigMissing {
            name: stem.unwrap_or_default(),
        };
    }
    FailureClass::MissingInput { path }
}

fn model_name(s: &str) -> String {
    let p = std::path::Path::new(s);
    if p.extension().is_some_and(|e| e == "json") {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        s.to_owned()
    }
}

/// `class: message` with the message normalised ([`super::signature::normalise`]:
/// times, ids, hex addresses, paths but their file names, sizes and numbers
/// replaced by placeholders).
pub fn signature(class: &FailureClass, message: &str) -> String {
    format!("{}: {}", class.name(), super::signature::normalise(message))
}

/// The last lines of the log that mention the failure (up to 40 lines of the
/// first non-empty text).
fn detail(ev: &Evidence<'_>) -> String {
    let text = ev
        .texts
        .iter()
        .find(|t| !t.trim().is_empty())
        .copied()
        .unwrap_or("");
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(40);
    lines[start..].join("\n")
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
