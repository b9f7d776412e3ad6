//! Maps between byte offsets in a TOML file and dotted keys, so that every
//! config problem can name the key and the line it sits on.

use toml_edit::{Document, Item, Table, Value};

/// A parsed TOML document kept only for looking up where keys are.
pub struct Locator {
    text: String,
    doc: Option<Document<String>>,
}

impl Locator {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            doc: Document::parse(text.to_owned()).ok(),
        }
    }

    /// 1-based line number of a byte offset.
    pub fn line_of_offset(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    /// Line of a dotted key such as `upstream[1].track` or `project.root`.
    /// Falls back to the closest existing parent key.
    pub fn line_of_key(&self, dotted: &str) -> Option<usize> {
        let doc = self.doc.as_ref()?;
        let mut best = None;
        let mut item: &Item = doc.as_item();
        for seg in split_key(dotted) {
            let next = match seg {
                Segment::Key(k) => {
                    let table_like = item.as_table_like()?;
                    let (key, value) = table_like.get_key_value(k)?;
                    if let Some(span) = key.span() {
                        best = Some(span.start);
                    }
                    value
                }
                Segment::Index(i) => match item {
                    Item::ArrayOfTables(aot) => {
                        let t = aot.get(i)?;
                        if let Some(span) = t.span() {
                            best = Some(span.start);
                        }
                        return self
                            .rest_in_table(t, dotted, i)
                            .or(best.map(|o| self.line_of_offset(o)));
                    }
                    Item::Value(Value::Array(arr)) => {
                        let v = arr.get(i)?;
                        if let Some(span) = v.span() {
                            best = Some(span.start);
                        }
                        break;
                    }
                    _ => break,
                },
            };
            item = next;
        }
        best.map(|o| self.line_of_offset(o))
    }

    fn rest_in_table(&self, table: &Table, dotted: &str, index: usize) -> Option<usize> {
        // dotted looks like `name[index].rest...`; find the part after `[index]`
        let marker = format!("[{index}]");
        let rest = dotted.split_once(&marker)?.1.trim_start_matches('.');
        if rest.is_empty() {
            return table.span().map(|s| self.line_of_offset(s.start));
        }
        let first = rest.split(['.', '[']).next()?;
        let (key, _) = table.get_key_value(first)?;
        key.span().map(|s| self.line_of_offset(s.start))
    }

    /// The dotted key whose key or value covers `offset`, the deepest one.
    pub fn key_at_offset(&self, offset: usize) -> Option<String> {
        let doc = self.doc.as_ref()?;
        let mut found = None;
        walk_table(doc.as_table(), String::new(), offset, &mut found);
        found
    }
}

fn walk_table(table: &Table, prefix: String, offset: usize, found: &mut Option<String>) {
    if let Some(span) = table.span() {
        if span.contains(&offset) && !prefix.is_empty() && found.is_none() {
            *found = Some(prefix.clone());
        }
    }
    for (key, item) in table.iter() {
        let path = join(&prefix, key);
        let key_span = table.key(key).and_then(|k| k.span());
        let covers = key_span.as_ref().is_some_and(|s| s.contains(&offset))
            || item_span(item).is_some_and(|s| s.contains(&offset));
        if covers {
            *found = Some(path.clone());
        }
        match item {
            Item::Table(t) => walk_table(t, path, offset, found),
            Item::ArrayOfTables(aot) => {
                for (i, t) in aot.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    if t.span().is_some_and(|s| s.contains(&offset)) {
                        *found = Some(p.clone());
                    }
                    walk_table(t, p, offset, found);
                }
            }
            Item::Value(v) => walk_value(v, &path, offset, found),
            _ => {}
        }
    }
}

/// Inside a value: the entries of inline tables (`a.b`) and the elements of
/// arrays (`a[1]`), as deep as they go.
fn walk_value(value: &Value, path: &str, offset: usize, found: &mut Option<String>) {
    match value {
        Value::InlineTable(t) => {
            for (k, v) in t.iter() {
                let p = join(path, k);
                let key_span = t.key(k).and_then(|k| k.span());
                if key_span.is_some_and(|s| s.contains(&offset))
                    || v.span().is_some_and(|s| s.contains(&offset))
                {
                    *found = Some(p.clone());
                }
                walk_value(v, &p, offset, found);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                let p = format!("{path}[{i}]");
                if v.span().is_some_and(|s| s.contains(&offset)) {
                    *found = Some(p.clone());
                }
                walk_value(v, &p, offset, found);
            }
        }
        _ => {}
    }
}

fn item_span(item: &Item) -> Option<std::ops::Range<usize>> {
    match item {
        Item::Value(v) => v.span(),
        Item::Table(t) => t.span(),
        Item::ArrayOfTables(a) => a.span(),
        Item::None => None,
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// One step of a dotted key: a table key or an array index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

/// Splits `a.b[2].c` into its steps.
pub fn split_key(dotted: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in dotted.split('.') {
        match part.split_once('[') {
            Some((name, rest)) => {
                if !name.is_empty() {
                    out.push(Segment::Key(name));
                }
                if let Ok(i) = rest.trim_end_matches(']').parse() {
                    out.push(Segment::Index(i));
                }
            }
            None => out.push(Segment::Key(part)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[project]\nroot = \".\"\n\n[[upstream]]\nname = \"a\"\n\n[[upstream]]\nname = \"b\"\ntrack = \"x\"\n";

    #[test]
    fn finds_lines_of_nested_keys() {
        let loc = Locator::new(TEXT);
        assert_eq!(loc.line_of_key("project.root"), Some(2));
        assert_eq!(loc.line_of_key("upstream[1].track"), Some(9));
        assert_eq!(loc.line_of_key("upstream[0].name"), Some(5));
    }

    #[test]
    fn finds_array_elements_and_inline_table_keys() {
        let text = "[update]\nstrategies = [\"oom\", \"magic\"]\n[x]\ninputs = [{ name = \"a\", fill = \"bad\" }]\n";
        let loc = Locator::new(text);
        let off = text.find("\"magic\"").unwrap();
        assert_eq!(
            loc.key_at_offset(off).as_deref(),
            Some("update.strategies[1]")
        );
        let off = text.find("\"bad\"").unwrap();
        assert_eq!(loc.key_at_offset(off).as_deref(), Some("x.inputs[0].fill"));
        assert_eq!(loc.line_of_key("update.strategies[1]"), Some(2));
    }

    #[test]
    fn finds_key_at_offset() {
        let loc = Locator::new(TEXT);
        let off = TEXT.find("\"x\"").unwrap();
        assert_eq!(loc.key_at_offset(off).as_deref(), Some("upstream[1].track"));
    }
}
