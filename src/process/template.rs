//! Command templates: a shell-like line split into words first, then
//! `{name}` placeholders substituted inside each word, so a substituted
//! value (a path with spaces, say) always stays one argument.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::ProcessError;

static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{([^{}]*)\}").expect("placeholder regex compiles"));

/// Splits `template` into words (shell quoting rules, no expansion) and
/// replaces each `{name}` with `vars[name]`. An unknown name is an error.
pub fn render_template(
    template: &str,
    vars: &BTreeMap<String, String>,
) -> Result<Vec<String>, ProcessError> {
    let words = shell_words::split(template).map_err(|e| ProcessError::Split {
        template: template.to_owned(),
        message: e.to_string(),
    })?;
    let mut argv = Vec::with_capacity(words.len());
    for word in words {
        let mut out = String::with_capacity(word.len());
        let mut last = 0;
        for cap in PLACEHOLDER.captures_iter(&word) {
            let whole = cap.get(0).expect("match 0 always exists");
            let name = &cap[1];
            let value = vars
                .get(name)
                .ok_or_else(|| ProcessError::UnknownPlaceholder {
                    name: name.to_owned(),
                    template: template.to_owned(),
                })?;
            out.push_str(&word[last..whole.start()]);
            out.push_str(value);
            last = whole.end();
        }
        out.push_str(&word[last..]);
        argv.push(out);
    }
    Ok(argv)
}
