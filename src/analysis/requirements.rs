//! Owns reading pip requirements files (`requirements*.txt`) and comparing
//! two versions of one as package changes: added, removed and changed
//! packages, changed pip options, and lines that could not be read.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::config::{AnalysisConfig, normalize_package};
use crate::redact::redact;

/// One requirement line, read the way pip reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Requirement {
    /// PEP 503 normalised name.
    pub name: String,
    /// Normalised, sorted extras.
    pub extras: Vec<String>,
    /// Version specifier as written, e.g. `>= 1.0, < 2` (empty when none).
    pub specifier: String,
    /// Environment marker as written, e.g. `python_version < "3.12"`.
    pub marker: Option<String>,
    /// Direct reference (`name @ URL`) or VCS/archive URL.
    pub url: Option<String>,
    /// Given with `-e`/`--editable`.
    pub editable: bool,
    /// Per-requirement options such as `--hash=...`.
    pub options: Vec<String>,
    /// The whole line as written, continuations joined, comment removed.
    pub line: String,
}

/// A pip option line (`-r`, `-c`, `--extra-index-url`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReqOption {
    /// The line as written (whitespace collapsed). May hold credentials:
    /// render it through `redact`.
    pub text: String,
    /// The value is a URL, which may carry a token or password.
    pub may_hold_secret: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ParsedRequirements {
    pub requirements: Vec<Requirement>,
    pub options: Vec<ReqOption>,
    /// Lines that are neither an option nor a readable requirement.
    pub unparsed: Vec<String>,
}

/// One package that differs between the two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageChange {
    pub name: String,
    /// Full line as written, minus comments (redacted).
    pub old: Option<String>,
    pub new: Option<String>,
    /// Matches `analysis.protected_packages`.
    pub protected: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequirementsDiff {
    pub path: String,
    pub added: Vec<PackageChange>,
    pub removed: Vec<PackageChange>,
    pub changed: Vec<PackageChange>,
    /// `+ option` / `- option`, redacted.
    pub options_changed: Vec<String>,
    /// Unreadable lines of the new version (of the old one when removed),
    /// as `line N: text`, redacted.
    pub unparsed: Vec<String>,
}

/// Whether `path`'s file name is `requirements*.txt` (any folder).
pub fn is_requirements_file(path: &str) -> bool {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let name = name.to_ascii_lowercase();
    name.starts_with("requirements") && name.ends_with(".txt")
}

/// Compares two versions of a requirements file; `None` is an absent file.
pub fn diff_requirements(
    path: &str,
    old: Option<&str>,
    new: Option<&str>,
    cfg: &AnalysisConfig,
) -> RequirementsDiff {
    let old_p = parse_requirements(old.unwrap_or(""));
    let new_p = parse_requirements(new.unwrap_or(""));
    let change = |name: &str, o: Option<&Requirement>, n: Option<&Requirement>| PackageChange {
        name: name.to_string(),
        old: o.map(|r| redact(&r.line).into_owned()),
        new: n.map(|r| redact(&r.line).into_owned()),
        protected: cfg.is_protected(name),
    };

    // Pair old and new entries: same name and marker first, then same name.
    let mut taken = vec![false; new_p.requirements.len()];
    let mut pairs: Vec<(usize, Option<usize>)> = Vec::new();
    let mut unpaired = Vec::new();
    for (i, r) in old_p.requirements.iter().enumerate() {
        let found = new_p
            .requirements
            .iter()
            .enumerate()
            .position(|(j, n)| !taken[j] && n.name == r.name && marker_key(n) == marker_key(r));
        match found {
            Some(j) => {
                taken[j] = true;
                pairs.push((i, Some(j)));
            }
            None => unpaired.push(i),
        }
    }
    for i in unpaired {
        let r = &old_p.requirements[i];
        let found = (0..taken.len()).find(|&j| !taken[j] && new_p.requirements[j].name == r.name);
        if let Some(j) = found {
            taken[j] = true;
        }
        pairs.push((i, found));
    }

    let mut out = RequirementsDiff {
        path: path.to_string(),
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
        options_changed: Vec::new(),
        unparsed: Vec::new(),
    };
    let mut changed = Vec::new();
    pairs.sort();
    for (i, j) in pairs {
        let o = &old_p.requirements[i];
        match j {
            None => out.removed.push(change(&o.name, Some(o), None)),
            Some(j) => {
                let n = &new_p.requirements[j];
                if identity(o) != identity(n) {
                    changed.push((j, change(&n.name, Some(o), Some(n))));
                }
            }
        }
    }
    changed.sort_by_key(|(j, _)| *j);
    out.changed = changed.into_iter().map(|(_, c)| c).collect();
    for (j, n) in new_p.requirements.iter().enumerate() {
        if !taken[j] {
            out.added.push(change(&n.name, None, Some(n)));
        }
    }

    let mut new_opts: Vec<Option<&ReqOption>> = new_p.options.iter().map(Some).collect();
    for o in &old_p.options {
        match new_opts
            .iter_mut()
            .find(|n| n.is_some_and(|n| n.text == o.text))
        {
            Some(slot) => *slot = None,
            None => out.options_changed.push(format!("- {}", redact(&o.text))),
        }
    }
    for n in new_opts.into_iter().flatten() {
        out.options_changed.push(format!("+ {}", redact(&n.text)));
    }

    let shown = if new.is_some() { &new_p } else { &old_p };
    out.unparsed = shown
        .unparsed
        .iter()
        .map(|l| redact(l).into_owned())
        .collect();
    out
}

/// Reads a requirements file: continuations joined, comments and blank lines
/// dropped, each line sorted into a requirement, an option or unparsed.
pub fn parse_requirements(text: &str) -> ParsedRequirements {
    let mut out = ParsedRequirements::default();
    for (line_no, line) in logical_lines(text) {
        let line = strip_comment(&line).trim();
        if line.is_empty() {
            continue;
        }
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.starts_with('-') {
            match editable(&line) {
                Some(req) => out.requirements.push(req),
                None => out.options.push(ReqOption {
                    may_hold_secret: line.contains("://"),
                    text: line,
                }),
            }
            continue;
        }
        match parse_requirement(&line) {
            Some(req) => out.requirements.push(req),
            None => out.unparsed.push(format!("line {line_no}: {line}")),
        }
    }
    out
}

/// Joins `\` continuations; yields (1-based first line number, text).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let (start, mut buf) = cur.take().unwrap_or((i + 1, String::new()));
        match line.strip_suffix('\\') {
            Some(head) => {
                buf.push_str(head);
                cur = Some((start, buf));
            }
            None => {
                buf.push_str(line);
                out.push((start, buf));
            }
        }
    }
    out.extend(cur);
    out
}

/// Drops a `#` comment that starts the line or follows whitespace (pip's rule,
/// so `...#egg=name` survives).
fn strip_comment(line: &str) -> &str {
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        if c == '#' && prev_space {
            return &line[..i];
        }
        prev_space = c.is_whitespace();
    }
    line
}

static NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*(.*)$")
        .expect("name pattern compiles")
});

static SPECIFIER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\(?\s*(?:(?:===|~=|==|!=|<=|>=|<|>)\s*[A-Za-z0-9_.*+!-]+\s*,?\s*)*\)?$")
        .expect("specifier pattern compiles")
});

static URL_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|(?:git|hg|svn|bzr)\+|\.{0,2}/)")
        .expect("url pattern compiles")
});

/// `-e URL#egg=name` as an editable requirement; other options give `None`.
fn editable(line: &str) -> Option<Requirement> {
    let value = line
        .strip_prefix("--editable")
        .or_else(|| line.strip_prefix("-e"))?
        .trim_start_matches(['=', ' ']);
    let mut req = parse_requirement(value)?;
    req.editable = true;
    req.line = line.to_string();
    Some(req)
}

fn parse_requirement(line: &str) -> Option<Requirement> {
    // Per-requirement options (`--hash=...`) follow the requirement.
    let (head, options) = match line.find(" --") {
        Some(i) => (
            line[..i].trim(),
            line[i..].split_whitespace().map(String::from).collect(),
        ),
        None => (line, Vec::new()),
    };
    let mut req = Requirement {
        name: String::new(),
        extras: Vec::new(),
        specifier: String::new(),
        marker: None,
        url: None,
        editable: false,
        options,
        line: line.to_string(),
    };
    if URL_START.is_match(head) {
        let (url, marker) = split_url_marker(head);
        req.name = normalize_package(&url_name(url)?);
        req.url = Some(url.to_string());
        req.marker = marker;
        return Some(req);
    }
    let caps = NAME.captures(head)?;
    req.name = normalize_package(&caps[1]);
    if let Some(extras) = caps.get(2) {
        let mut extras: Vec<String> = extras
            .as_str()
            .split(',')
            .map(|e| normalize_package(e.trim()))
            .filter(|e| !e.is_empty())
            .collect();
        extras.sort();
        req.extras = extras;
    }
    let rest = caps.get(3).map_or("", |m| m.as_str());
    if let Some(url) = rest.strip_prefix('@') {
        let (url, marker) = split_url_marker(url.trim());
        if url.is_empty() {
            return None;
        }
        req.url = Some(url.to_string());
        req.marker = marker;
        return Some(req);
    }
    let (spec, marker) = match rest.split_once(';') {
        Some((s, m)) => (s.trim(), Some(m.trim().to_string())),
        None => (rest.trim(), None),
    };
    if !SPECIFIER.is_match(spec) {
        return None;
    }
    req.specifier = spec.to_string();
    req.marker = marker.filter(|m| !m.is_empty());
    Some(req)
}

/// A URL ends at whitespace; a marker after it starts with `;`.
fn split_url_marker(s: &str) -> (&str, Option<String>) {
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    let (url, rest) = s.split_at(end);
    let url = url.trim_end_matches(';');
    let marker = rest.trim().trim_start_matches(';').trim();
    (url, (!marker.is_empty()).then(|| marker.to_string()))
}

/// Package name of a name-less URL: `#egg=name`, or a wheel's file name.
fn url_name(url: &str) -> Option<String> {
    if let Some((_, frag)) = url.split_once('#') {
        let egg = frag.split('&').find_map(|p| p.strip_prefix("egg="));
        if let Some(egg) = egg.filter(|e| !e.is_empty()) {
            return Some(egg.to_string());
        }
    }
    let file = url.split(['#', '?']).next()?.rsplit('/').next()?;
    let stem = file.strip_suffix(".whl")?;
    stem.split('-').next().map(String::from)
}

fn marker_key(r: &Requirement) -> Option<String> {
    r.marker.as_ref().map(|m| {
        m.chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| if c == '\'' { '"' } else { c })
            .collect()
    })
}

/// What makes two entries of one package the same requirement.
fn identity(r: &Requirement) -> impl PartialEq + '_ {
    let mut spec: Vec<String> = r
        .specifier
        .trim_matches(['(', ')'])
        .split(',')
        .map(|c| c.chars().filter(|c| !c.is_whitespace()).collect::<String>())
        .filter(|c| !c.is_empty())
        .collect();
    spec.sort();
    (
        &r.extras,
        spec,
        marker_key(r),
        r.url.as_deref(),
        r.editable,
        &r.options,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn cfg() -> AnalysisConfig {
        let text = "[project]\nroot = \"w\"\n[[upstream]]\nname = \"a\"\nurl = \"u\"\n\
                    path = \"up\"\nlayout = \"clone\"\n";
        Config::parse(text, std::path::Path::new("/base"))
            .expect("minimal config")
            .analysis
    }

    fn one(line: &str) -> Requirement {
        let p = parse_requirements(line);
        assert_eq!(p.requirements.len(), 1, "{p:#?}");
        p.requirements[0].clone()
    }

    #[test]
    fn parses_every_form() {
        let r = one("Flash_Attn[Extra1, extra2] >= 1.0, < 2 ; python_version < \"3.12\"");
        assert_eq!(r.name, "flash-attn");
        assert_eq!(r.extras, ["extra1", "extra2"]);
        assert_eq!(r.specifier, ">= 1.0, < 2");
        assert_eq!(r.marker.as_deref(), Some("python_version < \"3.12\""));

        let r = one("pkg @ https://example.com/pkg-1.0.tar.gz ; sys_platform == 'linux'");
        assert_eq!(r.name, "pkg");
        assert_eq!(r.url.as_deref(), Some("https://example.com/pkg-1.0.tar.gz"));
        assert_eq!(r.marker.as_deref(), Some("sys_platform == 'linux'"));

        let r = one("git+https://github.com/org/repo.git@v1#egg=My.Pkg");
        assert_eq!(r.name, "my-pkg");
        assert_eq!(
            r.url.as_deref(),
            Some("git+https://github.com/org/repo.git@v1#egg=My.Pkg")
        );

        let r = one("https://host/dl/torch-2.5.1+cu124-cp311-linux_x86_64.whl");
        assert_eq!(r.name, "torch");

        let r = one("-e git+https://github.com/org/repo.git#egg=editable_pkg");
        assert_eq!((r.name.as_str(), r.editable), ("editable-pkg", true));

        let r = one("numpy==1.26.4 --hash=sha256:abc # pinned");
        assert_eq!(r.specifier, "==1.26.4");
        assert_eq!(r.options, ["--hash=sha256:abc"]);
        assert_eq!(r.line, "numpy==1.26.4 --hash=sha256:abc");

        let r = one("legacy (>=1.0)");
        assert_eq!(r.specifier, "(>=1.0)");
    }

    #[test]
    fn comments_continuations_and_options() {
        let text = "# full comment\n\
                    \n\
                    torch>=2.4 \\\n  ; platform_system == \"Linux\"  # inline\n\
                    -r other.txt\n\
                    -c constraints.txt\n\
                    --extra-index-url https://user:s3cret@pypi.example.com/simple\n\
                    -e ./local/dir\n\
                    --find-links=https://download.example.com/wheels\n\
                    not a requirement!\n";
        let p = parse_requirements(text);
        assert_eq!(p.requirements.len(), 1, "{p:#?}");
        let r = &p.requirements[0];
        assert_eq!(r.name, "torch");
        assert_eq!(r.marker.as_deref(), Some("platform_system == \"Linux\""));
        let opts: Vec<(&str, bool)> = p
            .options
            .iter()
            .map(|o| (o.text.as_str(), o.may_hold_secret))
            .collect();
        assert_eq!(
            opts,
            [
                ("-r other.txt", false),
                ("-c constraints.txt", false),
                (
                    "--extra-index-url https://user:s3cret@pypi.example.com/simple",
                    true
                ),
                ("-e ./local/dir", false),
                ("--find-links=https://download.example.com/wheels", true),
            ]
        );
        assert_eq!(p.unparsed, ["line 10: not a requirement!"]);
    }

    #[test]
    fn torch_bump_is_protected_change() {
        let d = diff_requirements(
            "requirements.txt",
            Some("torch==2.4.0\nrequests\n"),
            Some("torch>=2.5.1\nrequests\n"),
            &cfg(),
        );
        assert_eq!(
            d.changed,
            [PackageChange {
                name: "torch".into(),
                old: Some("torch==2.4.0".into()),
                new: Some("torch>=2.5.1".into()),
                protected: true,
            }]
        );
        assert!(d.added.is_empty() && d.removed.is_empty());
    }

    #[test]
    fn added_removed_changed_and_options() {
        let old = "nvidia-cudnn-cu12==9.1\nrequests>=2\nPyYAML\ndiffusers[torch]==0.30\n\
                   --extra-index-url https://u:tok@host/simple\n";
        let new = "requests >= 2  # same, reformatted\npyyaml\ndiffusers[torch,extra]==0.30\n\
                   gradio==5.0\nnvidia_cudnn_cu12 == 9.1 ; sys_platform == 'linux'\n";
        let d = diff_requirements("sub/requirements-gpu.txt", Some(old), Some(new), &cfg());
        assert_eq!(d.path, "sub/requirements-gpu.txt");
        let names = |v: &[PackageChange]| -> Vec<(String, bool)> {
            v.iter().map(|c| (c.name.clone(), c.protected)).collect()
        };
        assert_eq!(names(&d.added), [("gradio".to_string(), false)]);
        assert!(d.removed.is_empty(), "{:#?}", d.removed);
        assert_eq!(
            names(&d.changed),
            [
                ("diffusers".to_string(), false),
                ("nvidia-cudnn-cu12".to_string(), true)
            ]
        );
        assert_eq!(
            d.options_changed,
            ["- --extra-index-url https://u:[REDACTED]@host/simple"]
        );

        let gone = diff_requirements("requirements.txt", Some("xformers\n"), None, &cfg());
        assert_eq!(gone.removed[0].name, "xformers");
        assert!(gone.removed[0].protected && gone.removed[0].new.is_none());
    }

    #[test]
    fn requirements_file_names() {
        assert!(is_requirements_file("requirements.txt"));
        assert!(is_requirements_file("a/b/requirements-dev.txt"));
        assert!(!is_requirements_file("requirements.in"));
        assert!(!is_requirements_file("docs/reqs.txt"));
    }
}
