//! Owns how a report model becomes text and files: the one place that
//! redacts reports. A model that implements [`Document`] (its renderers live
//! in `report/`, the surface layer) is written into its run folder as its
//! JSON file, its Markdown files and its HTML pages (with the images they
//! link to) by [`write`], or printed by the CLI
//! through [`json_text`] / [`markdown_text`]; each redacts exactly once, so a
//! call site can neither forget redaction nor do it twice.
//!
//! The trait sits in the foundations so that a pipeline can write its report
//! the moment it is final (a crash after that loses nothing) without
//! importing the renderers above it.

use std::borrow::Cow;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// A report model with its file names and renderings.
pub trait Document: Serialize {
    /// The JSON file's name in the run folder.
    fn json_file(&self) -> &'static str;

    /// Each Markdown file's name and text, not yet redacted.
    fn markdown_files(&self) -> Vec<(&'static str, String)>;

    /// Each HTML page, not yet redacted (none unless the document has one).
    fn html_files(&self) -> Vec<HtmlFile> {
        Vec::new()
    }

    /// The JSON text, not yet redacted: the model serialised, unless the
    /// document slims itself to fit a size cap.
    fn json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// A redacted Markdown text cut to the document's size cap (unchanged
    /// when it has none).
    fn cut(&self, text: String) -> String {
        text
    }
}

/// An HTML page and the binary files (images) it links to by relative
/// name. The page is redacted text node by text node; the images are
/// written as they are.
#[derive(Debug, Clone, PartialEq)]
pub struct HtmlFile {
    pub name: &'static str,
    pub text: String,
    pub assets: Vec<Asset>,
}

/// A binary file an HTML page links to: `name` is relative to the run
/// folder, `/`-separated (its folder is created).
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    pub name: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("cannot write the report `{}`", path.display())]
    Write {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serialise the report for `{}`", path.display())]
    Json {
        path: std::path::PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl DocumentError {
    /// The file that could not be written.
    pub fn path(&self) -> &Path {
        match self {
            Self::Write { path, .. } | Self::Json { path, .. } => path,
        }
    }
}

/// Writes `doc`'s JSON file, Markdown files and HTML pages (with their
/// images) into `dir` (created private when missing), each text redacted
/// once and every file written atomically.
pub fn write(dir: &Path, doc: &impl Document) -> Result<(), DocumentError> {
    let werr = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DocumentError::Write { path, source }
    };
    crate::state::create_private_dir(dir).map_err(werr(dir))?;
    let json = json_text(doc).map_err(|source| DocumentError::Json {
        path: dir.join(doc.json_file()),
        source,
    })?;
    let path = dir.join(doc.json_file());
    crate::state::write_atomic(&path, (json + "\n").as_bytes()).map_err(werr(&path))?;
    for (name, text) in doc.markdown_files() {
        let path = dir.join(name);
        let text = doc.cut(crate::redact::redact(&text).into_owned());
        crate::state::write_atomic(&path, text.as_bytes()).map_err(werr(&path))?;
    }
    let started = std::time::Instant::now();
    let pages = doc.html_files();
    let render_ms = started.elapsed().as_secs_f64() * 1e3;
    for page in pages {
        for asset in &page.assets {
            let path = dir.join(&asset.name);
            if let Some(parent) = path.parent() {
                crate::state::create_private_dir(parent).map_err(werr(parent))?;
            }
            crate::state::write_atomic(&path, &asset.bytes).map_err(werr(&path))?;
        }
        let path = dir.join(page.name);
        let text = redact_html(&page.text);
        crate::state::write_atomic(&path, text.as_bytes()).map_err(werr(&path))?;
        tracing::debug!(
            page = %path.display(),
            images = page.assets.len(),
            bytes = text.len(),
            "wrote the HTML page"
        );
    }
    // read by scripts/bench-html.sh
    tracing::debug!(
        dir = %dir.display(),
        render_ms = format!("{render_ms:.1}"),
        total_ms = format!("{:.1}", started.elapsed().as_secs_f64() * 1e3),
        "rendered and wrote the HTML pages"
    );
    Ok(())
}

/// A run of HTML between markup characters: a text node, or a tag's name or
/// attribute value. Templates escape `<`, `>` and `"` in every value they
/// insert, so each inserted value lies whole inside one run.
static HTML_RUN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"[^<>"]+"#).expect("the pattern compiles"));

/// `html` with every run between markup characters redacted on its own, so
/// that a pattern that runs to the end of a line (an `Authorization:`
/// header) stops at the end of its text instead of eating the page's markup
/// after it (a rendered page is often one line). Markup stays byte for byte.
pub fn redact_html(html: &str) -> String {
    HTML_RUN
        .replace_all(html, |c: &regex::Captures<'_>| {
            crate::redact::redact(&c[0]).into_owned()
        })
        .into_owned()
}

/// The document's JSON, redacted (for stdout).
pub fn json_text(doc: &impl Document) -> Result<String, serde_json::Error> {
    Ok(redact_json(&doc.json()?))
}

/// The document's Markdown files joined, redacted (for a terminal).
pub fn markdown_text(doc: &impl Document) -> String {
    let all: Vec<String> = doc.markdown_files().into_iter().map(|(_, t)| t).collect();
    crate::redact::redact(&all.join("\n")).into_owned()
}

/// Any serialisable value as redacted JSON (for stdout).
pub fn value_json(value: &(impl Serialize + ?Sized)) -> Result<String, serde_json::Error> {
    Ok(redact_json(&serde_json::to_string_pretty(value)?))
}

/// A JSON string literal (keys and values alike).
static JSON_STRING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#""(?:[^"\\]|\\.)*""#).expect("the pattern compiles"));

/// `json` with every string literal redacted on its own, so that a secret
/// pattern that runs to the end of a line (an `Authorization:` header)
/// stops at the end of its string instead of eating the closing quote, and
/// the text stays valid JSON that reads back. Everything but a changed
/// string stays byte for byte.
fn redact_json(json: &str) -> String {
    JSON_STRING
        .replace_all(json, |c: &regex::Captures<'_>| {
            let literal = &c[0];
            let Ok(text) = serde_json::from_str::<String>(literal) else {
                return literal.to_owned();
            };
            match crate::redact::redact(&text) {
                Cow::Borrowed(_) => literal.to_owned(),
                Cow::Owned(clean) => {
                    serde_json::to_string(&clean).unwrap_or_else(|_| literal.to_owned())
                }
            }
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Sample {
        note: String,
    }

    impl Document for Sample {
        fn json_file(&self) -> &'static str {
            "sample.json"
        }
        fn markdown_files(&self) -> Vec<(&'static str, String)> {
            vec![("sample.md", format!("# Sample\n\n{}\n", self.note))]
        }
    }

    #[test]
    fn write_redacts_both_files_once() {
        let dir = tempfile::tempdir().unwrap();
        let doc = Sample {
            note: "token=abcdef0123456789".into(),
        };
        write(dir.path(), &doc).unwrap();
        for name in ["sample.json", "sample.md"] {
            let text = fs_err::read_to_string(dir.path().join(name)).unwrap();
            assert!(!text.contains("abcdef0123456789"), "{name}: {text}");
            assert!(text.contains("[REDACTED]"), "{name}: {text}");
        }
        assert!(!json_text(&doc).unwrap().contains("abcdef0123456789"));
        assert!(!markdown_text(&doc).contains("abcdef0123456789"));
    }

    #[test]
    fn a_secret_to_the_end_of_a_line_leaves_the_json_readable() {
        let doc = Sample {
            note: "Authorization: Bearer abcdef0123456789\nnext line".into(),
        };
        let text = json_text(&doc).unwrap();
        assert!(!text.contains("abcdef0123456789"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["note"], "Authorization: [REDACTED]\nnext line");
        // redacting again changes nothing
        assert_eq!(redact_json(&text), text);
    }

    #[test]
    fn a_secret_in_one_line_html_keeps_the_markup_after_it() {
        let html = r#"<p title="password=hunter2x">Authorization: Bearer abcdef0123456789</p><p>after</p>"#;
        let clean = redact_html(html);
        assert_eq!(
            clean,
            r#"<p title="password=[REDACTED]">Authorization: [REDACTED]</p><p>after</p>"#
        );
    }

    #[test]
    fn json_without_secrets_is_unchanged() {
        let text = "{\n  \"a\": \"x \\\"q\\\" \\u00e9\",\n  \"b\": [1.5, null]\n}";
        assert_eq!(redact_json(text), text);
    }
}
