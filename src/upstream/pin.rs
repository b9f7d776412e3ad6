//! Owns the pinned layout's pin: the one place in `record_file` that holds
//! the upstream's commit hash (found by `record_pattern`, by `record_key` in
//! a JSON or TOML file, or as the dict entry keyed by the upstream's name),
//! and the current commit it names, resolved in tether's mirror. Zero or
//! several places are a config error naming the file and every match. Only
//! reads the wrapper; the rewrite is `crate::update`'s.

use std::ops::Range;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::commit::CommitInfo;
use super::error::{UpstreamError, git_detail};
use super::layout::{CurrentCommit, open_here};
use super::mirror::Mirror;
use super::pin_json::{Found, string_spans};
use super::vendored::read_committed;
use crate::config::{PinLocator, ProjectConfig, UpstreamConfig, WrapperSource};

/// Where the pin is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PinSite {
    /// The hash's bytes in the file (no quotes).
    pub range: Range<usize>,
    /// 1-based line of the hash.
    pub line: usize,
    /// The hash as written (7 to 40 hex digits).
    pub hash: String,
}

static HEX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[0-9a-fA-F]{7,40}$").expect("regex compiles"));
static QUOTED_HEX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"["']([0-9a-fA-F]{7,40})["']"#).expect("regex compiles"));

/// The one place in `text` (the content of `up.record_file`) that holds
/// `up`'s pin. Zero or several places: [`UpstreamError::Pin`], naming every
/// match by line and text.
pub fn locate_pin(up: &UpstreamConfig, text: &str) -> Result<PinSite, UpstreamError> {
    let err = |detail: String| UpstreamError::Pin {
        upstream: up.name.clone(),
        path: up.record_file.clone(),
        detail,
    };
    let (how, sites) = match &up.pin {
        PinLocator::Pattern(re) => (
            format!("record_pattern `{}`", re.as_str()),
            re.captures_iter(text)
                .filter_map(|c| c.get(1))
                .map(|m| m.range())
                .collect::<Vec<_>>(),
        ),
        PinLocator::Key(path) => (
            format!("record_key `{}`", path.join(".")),
            by_key(up, text, path).map_err(err)?,
        ),
        PinLocator::NamedEntry => (
            format!("the dict entry keyed `{}`", up.name),
            named_entry(text, &up.name),
        ),
    };
    match sites.as_slice() {
        [] => Err(err(format!(
            "cannot be found: nothing matches {how}; set record_pattern or record_key"
        ))),
        [one] => {
            let hash = &text[one.clone()];
            if !HEX.is_match(hash) {
                return Err(err(format!(
                    "at line {} is `{hash}`, not a commit hash of 7 to 40 hex digits ({how})",
                    line_of(text, one.start)
                )));
            }
            Ok(PinSite {
                range: one.clone(),
                line: line_of(text, one.start),
                hash: hash.to_owned(),
            })
        }
        several => Err(err(format!(
            "is ambiguous: {how} matches {} places: {}; make it match one",
            several.len(),
            several
                .iter()
                .map(|r| format!(
                    "line {} `{}`",
                    line_of(text, r.start),
                    line_text(text, r.start)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// `record_key`: the string at a dotted path of a JSON or TOML file.
fn by_key(up: &UpstreamConfig, text: &str, path: &[String]) -> Result<Vec<Range<usize>>, String> {
    let ext = up
        .record_file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "json" => {
            let found = string_spans(text, path).map_err(|e| format!("is not valid JSON: {e}"))?;
            found
                .into_iter()
                .map(|f| match f {
                    Found::Text(r) => Ok(r),
                    Found::NotText(at) => Err(format!(
                        "at line {} is not a string (record_key `{}`)",
                        line_of(text, at),
                        path.join(".")
                    )),
                })
                .collect()
        }
        "toml" => toml_span(text, path).map(|r| r.into_iter().collect()),
        _ => Err(format!(
            "cannot be read with record_key: only `.json` and `.toml` files have keys; \
             use record_pattern for `{}`",
            up.record_file.display()
        )),
    }
}

/// The string at `path` in TOML text, by `toml_edit`'s spans (the quotes
/// stripped; a multi-line or escaped string is refused).
fn toml_span(text: &str, path: &[String]) -> Result<Option<Range<usize>>, String> {
    let doc = toml_edit::Document::parse(text).map_err(|e| format!("is not valid TOML: {e}"))?;
    let mut item = doc.as_item();
    for k in path {
        match item.get(k.as_str()) {
            Some(i) => item = i,
            None => return Ok(None),
        }
    }
    let span = item.span().ok_or("has no position for the key")?;
    let raw = &text[span.clone()];
    let quoted = raw.len() >= 2
        && (raw.starts_with('"') && raw.ends_with('"')
            || raw.starts_with('\'') && raw.ends_with('\''))
        && !raw.starts_with("\"\"\"")
        && !raw.starts_with("'''");
    if !item.is_str() || !quoted {
        return Err(format!(
            "at line {} is `{raw}`, not a one-line string (record_key `{}`)",
            line_of(text, span.start),
            path.join(".")
        ));
    }
    Ok(Some(span.start + 1..span.end - 1))
}

/// The default locator: every entry `"<name>": "<sha>"` or `"<name>": (...,
/// "<sha>", ...)` (single or double quotes, spanning lines), each the hash
/// in it; an entry holding several hashes counts each.
fn named_entry(text: &str, name: &str) -> Vec<Range<usize>> {
    let key = regex::escape(name);
    let re = Regex::new(&format!(
        r#"["']{key}["']\s*:\s*(?:["']([0-9a-fA-F]{{7,40}})["']|[(\[]([^)\]]*)[)\]])"#
    ))
    .expect("entry regex compiles");
    let mut out = Vec::new();
    for c in re.captures_iter(text) {
        if let Some(m) = c.get(1) {
            out.push(m.range());
        } else if let Some(inner) = c.get(2) {
            for h in QUOTED_HEX.captures_iter(inner.as_str()) {
                let m = h.get(1).expect("group 1");
                out.push(inner.start() + m.start()..inner.start() + m.end());
            }
        }
    }
    out
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at].matches('\n').count() + 1
}

fn line_text(text: &str, at: usize) -> String {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let line = text[start..end].trim();
    match line.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_owned(),
    }
}

/// The record file's text as `wrapper_source` says (the working tree or
/// the wrapper's HEAD).
pub(super) fn read_pin_file(
    project: &ProjectConfig,
    up: &UpstreamConfig,
) -> Result<String, UpstreamError> {
    let path = project.root.join(&up.record_file);
    let bad = |detail: String| UpstreamError::RecordFile {
        upstream: up.name.clone(),
        path: path.clone(),
        detail,
    };
    match project.wrapper_source {
        WrapperSource::Committed => {
            let repo = open_here(&project.root).map_err(|e| bad(git_detail(&e)))?;
            read_committed(&repo, &up.record_file).map_err(|e| bad(git_detail(&e)))
        }
        WrapperSource::Worktree => fs_err::read_to_string(&path).map_err(|e| bad(e.to_string())),
    }
}

/// The pinned layout's current commit: the pin, resolved in the mirror.
pub(super) fn pinned(
    project: &ProjectConfig,
    up: &UpstreamConfig,
    mirror: &Mirror,
) -> Result<CurrentCommit, UpstreamError> {
    let text = read_pin_file(project, up)?;
    let site = locate_pin(up, &text)?;
    let commit = mirror
        .repo()
        .revparse_single(&site.hash)
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| UpstreamError::UnknownPin {
            upstream: up.name.clone(),
            hash: site.hash.clone(),
            place: pin_place(&up.record_file, site.line),
            detail: git_detail(&e),
        })?;
    let mut notes = Vec::new();
    let mut warnings = Vec::new();
    let dir = project.root.join(&up.path);
    match open_here(&dir).ok().and_then(|r| r.head().ok()?.target()) {
        Some(head) if head != commit.id() => warnings.push(format!(
            "the checkout {}/ is at {}, the pin says {}",
            up.path.display(),
            &head.to_string()[..7],
            &site.hash
        )),
        Some(_) => {}
        None => notes.push(format!(
            "no checkout at {}/ (the app's install step makes it)",
            up.path.display()
        )),
    }
    Ok(CurrentCommit {
        id: commit.id().to_string(),
        source: format!("pinned in {}", pin_place(&up.record_file, site.line)),
        commit: Some(CommitInfo::from_commit(&commit)),
        gitlink: None,
        checkout: None,
        notes,
        warnings,
        local_modifications: None,
        base: None,
    })
}

/// `app/nodes.py:12`.
pub fn pin_place(file: &Path, line: usize) -> String {
    format!("{}:{line}", file.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODES: &str = r#"CUSTOM_NODES_PINNED = {
    "ComfyUI-Other": ("https://example.com/other.git", "1111111111111111111111111111111111111111"),
    "ComfyUI-VideoHelperSuite": (
        'https://example.com/vhs.git',
        '0123456789abcdef0123456789abcdef01234567',
    ),
    "short": "abcdef1",
}
"#;

    #[test]
    fn the_named_entry_spans_lines_and_quotes() {
        let found = named_entry(NODES, "ComfyUI-VideoHelperSuite");
        assert_eq!(found.len(), 1);
        assert_eq!(
            &NODES[found[0].clone()],
            "0123456789abcdef0123456789abcdef01234567"
        );
        assert_eq!(line_of(NODES, found[0].start), 5);
        assert_eq!(&NODES[named_entry(NODES, "short")[0].clone()], "abcdef1");
        assert!(named_entry(NODES, "ComfyUI").is_empty());
    }

    #[test]
    fn toml_spans_strip_quotes() {
        let text = "[comfyui]\ncommit = \"0123abcd\" # pin\n[trainer]\ncommit = 'abcdef12'\n";
        let r = toml_span(text, &["comfyui".into(), "commit".into()])
            .unwrap()
            .unwrap();
        assert_eq!(&text[r], "0123abcd");
        let r = toml_span(text, &["trainer".into(), "commit".into()])
            .unwrap()
            .unwrap();
        assert_eq!(&text[r], "abcdef12");
        assert!(toml_span("a = 1\n", &["a".into()]).is_err());
        assert_eq!(toml_span("a = 1\n", &["b".into()]).unwrap(), None);
    }
}
