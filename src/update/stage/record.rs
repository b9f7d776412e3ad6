//! The record file of a vendored copy: its "upstream commit" line rewritten
//! to the target, with an "Updated by tether" stamp.

use std::path::Path;

use git2::{Oid, Tree};
use regex::Regex;

use std::sync::LazyLock;

use super::rel_str;
use crate::config::Layout;
use crate::config::UpstreamConfig;
use crate::update::error::{UpdateError, io_err};

static UPDATED_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Updated by tether:[ \t]*[^\s`]*").expect("regex compiles"));

/// Rewrites a record file's text for commit `new`: the hash matched by
/// `pattern`'s first group is replaced (keeping its length, 7 at least), and
/// a line `Updated by tether: <time>` is replaced or added after the hash's
/// line (with the same list marker). `None` when the pattern does not match.
pub fn update_record_text(
    text: &str,
    pattern: &Regex,
    new: Oid,
    now: jiff::Timestamp,
) -> Option<String> {
    let caps = pattern.captures(text)?;
    let m = caps.get(1)?;
    let hex = new.to_string();
    let len = m.as_str().len().clamp(7, hex.len());
    let mut out = String::with_capacity(text.len() + 64);
    out.push_str(&text[..m.start()]);
    out.push_str(&hex[..len]);
    out.push_str(&text[m.end()..]);
    let stamp = format!("Updated by tether: {}", now.strftime("%Y-%m-%dT%H:%M:%SZ"));
    if UPDATED_LINE.is_match(&out) {
        return Some(UPDATED_LINE.replace(&out, stamp.as_str()).into_owned());
    }
    let line_start = out[..m.start()].rfind('\n').map_or(0, |i| i + 1);
    let line_end = out[m.start()..]
        .find('\n')
        .map_or(out.len(), |i| m.start() + i);
    let line = &out[line_start..line_end];
    let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
    let rest = &line[indent.len()..];
    let marker = ["- ", "* ", "+ "]
        .into_iter()
        .find(|mk| rest.starts_with(mk))
        .unwrap_or("");
    let new_line = format!("{indent}{marker}{stamp}");
    if line_end == out.len() {
        out.push('\n');
        out.push_str(&new_line);
        out.push('\n');
    } else {
        out.insert_str(line_end + 1, &format!("{new_line}\n"));
    }
    Some(out)
}

/// Rewrites the record file in the staged tree when the wrapper's HEAD has
/// one; returns its path (relative) when it changed.
pub(super) fn update_record_file(
    up: &UpstreamConfig,
    dir: &Path,
    head_tree: &Tree<'_>,
    target: Oid,
    notes: &mut Vec<String>,
) -> Result<Option<String>, UpdateError> {
    let rel = rel_str(&up.record_file);
    if head_tree.get_path(&up.record_file).is_err() {
        notes.push(format!(
            "no record file `{rel}` in the wrapper; none updated"
        ));
        return Ok(None);
    }
    let path = dir.join(&up.record_file);
    let text = fs_err::read_to_string(&path).map_err(io_err("read the record file", &path))?;
    match update_record_text(&text, &up.record_pattern, target, crate::env::now()) {
        Some(new) => {
            fs_err::write(&path, new).map_err(io_err("write the record file", &path))?;
            Ok(Some(rel))
        }
        // a vendored record that names no commit (its base was detected):
        // the promoted commit is recorded on a line of its own
        None if up.layout == Layout::Vendored => {
            match append_record_line(&text, &up.record_pattern, target) {
                Some(new) => {
                    fs_err::write(&path, new).map_err(io_err("write the record file", &path))?;
                    notes.push(format!(
                        "record file `{rel}` named no commit; a line recording {} was added",
                        &target.to_string()[..7]
                    ));
                    Ok(Some(rel))
                }
                None => Err(UpdateError::Record {
                    upstream: up.name.clone(),
                    path,
                    detail: format!(
                        "no line matches record_pattern `{}`, and a line `Upstream commit: <hash>` would not match it either",
                        up.record_pattern.as_str()
                    ),
                }),
            }
        }
        None => {
            notes.push(format!(
                "record file `{rel}` has no line matching record_pattern; left as is"
            ));
            Ok(None)
        }
    }
}

/// `text` with a line `Upstream commit: <target>` appended, when
/// `pattern` reads exactly that commit back from the result.
fn append_record_line(text: &str, pattern: &Regex, target: Oid) -> Option<String> {
    let sep = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    let new = format!("{text}{sep}\nUpstream commit: {target}\n");
    let read = pattern
        .captures(&new)?
        .get(1)?
        .as_str()
        .to_ascii_lowercase();
    target.to_string().starts_with(&read).then_some(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_without_a_commit_gets_a_line_the_pattern_reads() {
        let target = Oid::from_str("0123456789abcdef0123456789abcdef01234567").unwrap();
        let new = append_record_line("# Structure", &pattern(), target).unwrap();
        assert_eq!(
            new,
            "# Structure\n\nUpstream commit: 0123456789abcdef0123456789abcdef01234567\n"
        );
        // a pattern the appended line cannot satisfy: nothing appended
        let other = Regex::new(r"pinned at ([0-9a-f]{7,40})").unwrap();
        assert_eq!(append_record_line("# Structure\n", &other, target), None);
    }

    fn pattern() -> Regex {
        Regex::new(r"(?i)upstream[ _-]commit\W*([0-9a-f]{7,40})\b").unwrap()
    }

    #[test]
    fn record_text_gets_hash_and_stamp() {
        let new = Oid::from_str("0123456789abcdef0123456789abcdef01234567").unwrap();
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let text = "# Structure\n\n- `W/`: vendored\n- Upstream commit: `abcdef1`\n- other\n";
        let out = update_record_text(text, &pattern(), new, now).unwrap();
        assert_eq!(
            out,
            "# Structure\n\n- `W/`: vendored\n- Upstream commit: `0123456`\n- Updated by tether: 2027-01-15T08:00:00Z\n- other\n"
        );
        let later = jiff::Timestamp::from_second(1_800_000_060).unwrap();
        let again = update_record_text(&out, &pattern(), new, later).unwrap();
        assert!(again.contains("- Updated by tether: 2027-01-15T08:01:00Z\n- other"));
        assert_eq!(again.matches("Updated by tether").count(), 1);
        let full = "Upstream commit: abcdef1234abcdef1234abcdef1234abcdef1234";
        let out = update_record_text(full, &pattern(), new, now).unwrap();
        assert_eq!(
            out,
            "Upstream commit: 0123456789abcdef0123456789abcdef01234567\nUpdated by tether: 2027-01-15T08:00:00Z\n"
        );
        assert!(update_record_text("nothing here", &pattern(), new, now).is_none());
    }
}
