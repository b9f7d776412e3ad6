//! Owns what the endpoint serves from disk, read-only: `/runs/<id>/...`
//! from the outputs dir and `/analysis/...` from the analysis dir (a
//! folder's HTML report, its pages and images). Nothing outside those two
//! dirs is ever read: the URL path is percent-decoded once, and a
//! backslash, a NUL, an absolute path, an empty, `.` or `..` segment is
//! refused (400) before the disk is touched; the path is then
//! canonicalised and must still lie inside the canonical dir (a symlink
//! leading outside is 404), and only HTML pages and images are answered.

use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;

use crate::daemon::serve::Reply;
use crate::report::locate::PAGES as INDEX;

/// Files larger than this are not served (an image of a report is far
/// smaller).
const MAX_FILE_BYTES: u64 = 64 << 20;

/// A served tree: URLs under `prefix` (`/runs/`) are files under `root`.
pub struct Tree<'a> {
    pub prefix: &'static str,
    pub root: &'a Path,
}

/// Why a path is refused before the disk is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadPath {
    #[error("the path is not valid percent-encoded UTF-8")]
    Encoding,
    #[error("the path holds a backslash or a NUL")]
    Character,
    #[error("the path is absolute")]
    Absolute,
    #[error("the path has an empty, `.` or `..` segment")]
    Segment,
}

/// The checked segments of `rest` (the URL path after the tree's prefix,
/// still percent-encoded), and whether it ended with `/`.
pub fn segments(rest: &str) -> Result<(Vec<String>, bool), BadPath> {
    let decoded = percent_decode_str(rest)
        .decode_utf8()
        .map_err(|_| BadPath::Encoding)?;
    if decoded.contains(['\\', '\0']) {
        return Err(BadPath::Character);
    }
    if decoded.starts_with('/') {
        return Err(BadPath::Absolute);
    }
    let slash = decoded.ends_with('/');
    let body = decoded.strip_suffix('/').unwrap_or(&decoded);
    if body.is_empty() {
        return Ok((Vec::new(), slash));
    }
    let parts: Vec<String> = body.split('/').map(str::to_owned).collect();
    if parts.iter().any(|p| p.is_empty() || p == "." || p == "..") {
        return Err(BadPath::Segment);
    }
    Ok((parts, slash))
}

impl Tree<'_> {
    /// The answer to `rest` (the URL path after [`Tree::prefix`]).
    pub fn answer(&self, rest: &str) -> Reply {
        let (parts, slash) = match segments(rest) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(path = rest, error = %e, "refused a path");
                return Reply::text(400, format!("bad path: {e}\n"));
            }
        };
        if parts.is_empty() {
            return not_found("no such page: the dashboard at / links to every run");
        }
        let Some(path) = self.inside(&parts) else {
            return not_found("no such file");
        };
        if path.is_dir() {
            if !slash {
                let mut r = Reply::text(308, "moved: the folder's page ends with `/`\n");
                r.location = Some(format!("{}{rest}/", self.prefix));
                return r;
            }
            return match INDEX
                .iter()
                .find_map(|name| self.inside(&[parts.clone(), vec![(*name).to_owned()]].concat()))
            {
                Some(page) => file(&page),
                None => not_found("this folder has no HTML report"),
            };
        }
        if slash {
            return not_found("no such folder");
        }
        file(&path)
    }

    /// The canonical path of `parts` under the root, when it exists and
    /// lies inside the canonical root.
    fn inside(&self, parts: &[String]) -> Option<PathBuf> {
        let root = fs_err::canonicalize(self.root).ok()?;
        let path = fs_err::canonicalize(parts.iter().fold(root.clone(), |p, s| p.join(s))).ok()?;
        if path.starts_with(&root) && path != root {
            Some(path)
        } else {
            tracing::warn!(path = %path.display(), root = %root.display(), "refused a path that leads outside the served dir");
            None
        }
    }
}

fn not_found(why: &str) -> Reply {
    Reply::text(404, format!("not found: {why}\n"))
}

/// The content type of a file served, by its extension: HTML pages and
/// images only.
pub fn content_type(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        _ => return None,
    })
}

/// A regular file's bytes with its content type; an HTML page is redacted
/// again on the way out (it was when written; a page written by hand or
/// by an older version might not have been).
fn file(path: &Path) -> Reply {
    let Some(kind) = content_type(path) else {
        return not_found("only HTML pages and images are served");
    };
    match fs_err::metadata(path) {
        Ok(m) if m.is_file() && m.len() <= MAX_FILE_BYTES => {}
        Ok(m) if m.is_file() => return not_found("the file is too large to serve"),
        _ => return not_found("no such file"),
    }
    match fs_err::read(path) {
        Ok(bytes) if kind.starts_with("text/html") => Reply::new(
            200,
            kind,
            crate::document::redact_html(&String::from_utf8_lossy(&bytes)),
        ),
        Ok(bytes) => Reply::new(200, kind, bytes),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read a served file");
            not_found("the file cannot be read")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_and_odd_characters_are_refused_before_the_disk() {
        for bad in [
            "../etc/passwd",
            "a/../../etc/passwd",
            "%2e%2e/etc/passwd",
            "%2E%2E%2Fetc%2Fpasswd",
            "a%2f..%2f..%2fetc",
            "a/./b",
            "a//b",
            "..%5c..%5cetc",
            "a\\b",
            "%2fetc%2fpasswd",
            "/etc/passwd",
            "a%00b",
            "%ff",
        ] {
            assert!(segments(bad).is_err(), "{bad} was accepted");
        }
        assert_eq!(
            segments("run-1/html/a%20b.png").unwrap(),
            (vec!["run-1".into(), "html".into(), "a b.png".into()], false)
        );
        assert_eq!(segments("run-1/").unwrap(), (vec!["run-1".into()], true));
        assert_eq!(segments("").unwrap(), (Vec::<String>::new(), false));
    }

    #[test]
    fn a_symlink_leading_outside_is_not_served() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("outputs");
        fs_err::create_dir_all(root.join("run")).unwrap();
        fs_err::write(tmp.path().join("secret.png"), b"outside").unwrap();
        fs_err::write(root.join("run/in.png"), b"inside").unwrap();
        std::os::unix::fs::symlink(tmp.path().join("secret.png"), root.join("run/out.png"))
            .unwrap();
        std::os::unix::fs::symlink(tmp.path(), root.join("up")).unwrap();
        let tree = Tree {
            prefix: "/runs/",
            root: &root,
        };
        assert_eq!(tree.answer("run/in.png").body.as_ref(), b"inside");
        assert_eq!(tree.answer("run/in.png").kind, "image/png");
        assert_eq!(tree.answer("run/out.png").code, 404);
        assert_eq!(tree.answer("up/secret.png").code, 404);
        assert_eq!(tree.answer("run/").code, 404);
        let moved = tree.answer("run");
        assert_eq!(
            (moved.code, moved.location.as_deref()),
            (308, Some("/runs/run/"))
        );
    }
}
