//! The layering test, in the spirit of rust-analyzer's `tidy` tests: it
//! reads `src/` and fails, naming the offending `use` line, when a top-level
//! module uses one in a higher layer, when two top-level modules use each
//! other (or any longer cycle), or when a top-level module is in no layer.
//! The layers are declared once, in ARCHITECTURE.md's "Layers" table, which
//! this test reads.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The marker above the layer table in ARCHITECTURE.md.
const MARKER: &str = "<!-- tidy: layers -->";

/// Top-level modules in order of their layer (0 = lowest).
#[derive(Debug)]
struct Layers {
    names: Vec<String>,
    layer_of: BTreeMap<String, usize>,
}

/// One `crate::<module>` reference from a file of another top-level module.
#[derive(Debug, Clone)]
struct Use {
    from: String,
    to: String,
    file: String,
    line: usize,
    text: String,
}

/// Reads the table after [`MARKER`]: `| layer | modules |` rows, lowest
/// layer first, modules in backticks.
fn parse_layers(markdown: &str) -> Result<Layers, String> {
    let start = markdown
        .find(MARKER)
        .ok_or_else(|| format!("no `{MARKER}` in ARCHITECTURE.md"))?;
    let mut layers = Layers {
        names: Vec::new(),
        layer_of: BTreeMap::new(),
    };
    let rows = markdown[start + MARKER.len()..]
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| l.trim_start().starts_with('|'))
        .filter(|l| !l.contains("---"))
        .skip(1);
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (Some(name), Some(modules)) = (cells.get(1), cells.get(2)) else {
            return Err(format!("layer row without a modules cell: {row}"));
        };
        let index = layers.names.len();
        layers.names.push((*name).to_owned());
        for module in modules.split('`').skip(1).step_by(2) {
            if let Some(other) = layers.layer_of.insert(module.to_owned(), index) {
                return Err(format!(
                    "`{module}` is declared in two layers ({} and {name})",
                    layers.names[other]
                ));
            }
        }
    }
    if layers.names.is_empty() {
        return Err("the layer table after the marker is empty".into());
    }
    Ok(layers)
}

/// Removes comments and the text of string, raw string and char literals,
/// keeping line breaks so line numbers stay right: a doc link or a message
/// that names a module does not depend on it.
fn strip_comments(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < c.len() {
        let at = |k: usize| peek(&c, i + k);
        if at(0) == '/' && at(1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if at(0) == '/' && at(1) == '*' {
            i += 2;
            while i < c.len() && !(c[i] == '*' && peek(&c, i + 1) == '/') {
                if c[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 2;
        } else if at(0) == 'r' && (at(1) == '"' || (at(1) == '#' && matches!(at(2), '"' | '#'))) {
            // raw string: r"..." or r#"..."#
            let hashes = c[i + 1..].iter().take_while(|&&h| h == '#').count();
            let close: String = std::iter::once('"')
                .chain("#".repeat(hashes).chars())
                .collect();
            let body = i + 2 + hashes;
            let rest: String = c[body.min(c.len())..].iter().collect();
            let end = rest.find(&close).map_or(rest.len(), |e| e + close.len());
            let len = rest[..end].chars().count();
            blank(&c[i..(body + len).min(c.len())], &mut out);
            i = body + len;
        } else if at(0) == '"' {
            let start = i;
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            blank(&c[start..i.min(c.len())], &mut out);
        } else if at(0) == '\'' && (at(2) == '\'' || at(1) == '\\') {
            // a char literal ('x' or '\n', '\'', '\u{..}'), not a lifetime
            let from = if at(1) == '\\' { i + 3 } else { i + 2 };
            let end = c[from.min(c.len())..]
                .iter()
                .position(|&q| q == '\'')
                .map_or(c.len(), |p| from + p + 1);
            blank(&c[i..end], &mut out);
            i = end;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// A literal's line breaks, and an empty `""` in its place.
fn blank(literal: &[char], out: &mut String) {
    out.push_str("\"\"");
    out.extend(literal.iter().filter(|&&ch| ch == '\n'));
}

fn peek(c: &[char], i: usize) -> char {
    c.get(i).copied().unwrap_or('\0')
}

fn ident_at(s: &str) -> Option<&str> {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (end > 0).then(|| &s[..end])
}

/// Every top-level module that `src` (a file of module `from`) references
/// as `crate::<name>`, including each name of a `crate::{a, b::c}` group.
fn uses_in(from: &str, file: &str, src: &str) -> Vec<Use> {
    let code = strip_comments(src);
    let lines: Vec<&str> = src.lines().collect();
    let line_of = |at: usize| code[..at].matches('\n').count();
    let mut out = Vec::new();
    let mut push = |to: &str, at: usize| {
        if to != from && to != "self" && to != "super" {
            let line = line_of(at);
            out.push(Use {
                from: from.to_owned(),
                to: to.to_owned(),
                file: file.to_owned(),
                line: line + 1,
                text: lines.get(line).map_or("", |l| l.trim()).to_owned(),
            });
        }
    };
    for (at, _) in code.match_indices("crate::") {
        if at > 0 && code[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue; // `tether_crate::` and the like
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // names at depth 1 of the group: after `{` and after each `,`
            let mut depth = 1;
            let mut expect_name = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => expect_name = true,
                    c if c.is_whitespace() => {}
                    _ if expect_name && depth == 1 => {
                        expect_name = false;
                        if let Some(name) = ident_at(&group[i..]) {
                            push(name, at);
                        }
                    }
                    _ => {}
                }
            }
        } else if let Some(name) = ident_at(rest) {
            push(name, at);
        }
    }
    out
}

/// Upward uses, cycles and undeclared modules, each a line for a person.
fn check(layers: &Layers, modules: &BTreeSet<String>, uses: &[Use]) -> Vec<String> {
    let mut problems = Vec::new();
    for m in modules {
        if !layers.layer_of.contains_key(m) {
            problems.push(format!(
                "top-level module `{m}` is in no layer: add it to ARCHITECTURE.md's layer table"
            ));
        }
    }
    let mut edges: BTreeMap<&str, BTreeMap<&str, &Use>> = BTreeMap::new();
    for u in uses {
        edges
            .entry(u.from.as_str())
            .or_default()
            .entry(u.to.as_str())
            .or_insert(u);
        let (Some(&lf), Some(&lt)) = (layers.layer_of.get(&u.from), layers.layer_of.get(&u.to))
        else {
            continue;
        };
        if lt > lf {
            problems.push(format!(
                "{}:{}: `{}` ({}) uses `{}` ({}), a higher layer: `{}`",
                u.file, u.line, u.from, layers.names[lf], u.to, layers.names[lt], u.text
            ));
        }
    }
    for cycle in cycles(&edges) {
        let mut lines = Vec::new();
        for (i, a) in cycle.iter().enumerate() {
            let b = cycle[(i + 1) % cycle.len()];
            let u = edges[a][b];
            lines.push(format!("  {}:{}: `{}`", u.file, u.line, u.text));
        }
        problems.push(format!(
            "modules use each other in a cycle {}:\n{}",
            cycle
                .iter()
                .chain(cycle.first())
                .copied()
                .collect::<Vec<_>>()
                .join(" -> "),
            lines.join("\n")
        ));
    }
    problems
}

/// One cycle through each strongly connected component with more than one
/// module (found by walking from each module back to itself).
fn cycles<'a>(edges: &BTreeMap<&'a str, BTreeMap<&'a str, &Use>>) -> Vec<Vec<&'a str>> {
    let mut found: Vec<Vec<&str>> = Vec::new();
    let mut covered: BTreeSet<&str> = BTreeSet::new();
    for &start in edges.keys() {
        if covered.contains(start) {
            continue;
        }
        // breadth-first search for the shortest path start -> ... -> start
        let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut closed = None;
        while let Some(n) = queue.pop_front() {
            for &next in edges.get(n).map(|e| e.keys()).into_iter().flatten() {
                if next == start {
                    closed = Some(n);
                    break;
                }
                if let std::collections::btree_map::Entry::Vacant(v) = parent.entry(next) {
                    v.insert(n);
                    queue.push_back(next);
                }
            }
            if closed.is_some() {
                break;
            }
        }
        if let Some(mut n) = closed {
            let mut cycle = vec![n];
            while n != start {
                n = parent[n];
                cycle.push(n);
            }
            cycle.reverse();
            covered.extend(cycle.iter().copied());
            found.push(cycle);
        }
    }
    found
}

/// The top-level modules of the library in `src/` and their uses. The
/// binary's `main.rs` and `cli/` reach the library as `tether::`, so they
/// sit on top and are not scanned.
fn scan(src: &Path) -> (BTreeSet<String>, Vec<Use>) {
    let mut modules = BTreeSet::new();
    let mut uses = Vec::new();
    for entry in fs_err::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if ["lib", "main", "cli"].contains(&name.as_str()) {
            continue;
        }
        let files: Vec<_> = if path.is_dir() {
            walk(&path)
        } else if path.extension().is_some_and(|e| e == "rs") {
            vec![path.clone()]
        } else {
            continue;
        };
        modules.insert(name.clone());
        for f in files {
            let text = fs_err::read_to_string(&f).unwrap();
            let rel = f.strip_prefix(src.parent().unwrap()).unwrap();
            uses.extend(uses_in(&name, &rel.display().to_string(), &text));
        }
    }
    (modules, uses)
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in fs_err::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn layers_only_point_down() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let layers = parse_layers(&fs_err::read_to_string(root.join("ARCHITECTURE.md")).unwrap())
        .unwrap_or_else(|e| panic!("{e}"));
    let (modules, uses) = scan(&root.join("src"));
    assert!(modules.len() > 10, "found only {modules:?} in src/");
    let problems = check(&layers, &modules, &uses);
    assert!(
        problems.is_empty(),
        "the layering rules are broken (see ARCHITECTURE.md, Layers):\n{}",
        problems.join("\n")
    );
}

#[test]
fn checker_names_upward_uses_cycles_and_undeclared_modules() {
    let md = format!(
        "# A\n\n{MARKER}\n\n| layer | modules |\n|---|---|\n| base | `state` `text` |\n| domain | `config` `upstream` |\n| surface | `report` |\n\nAfter.\n"
    );
    let layers = parse_layers(&md).unwrap();
    assert_eq!(layers.names, ["base", "domain", "surface"]);
    let files = [
        (
            "state",
            "src/state/mod.rs",
            "//! uses [`crate::report`] in a doc link only\nuse crate::text;\n",
        ),
        (
            "config",
            "src/config/mod.rs",
            "use crate::{state::StateDir, text::{self, cut}};\n",
        ),
        (
            "upstream",
            "src/upstream/mod.rs",
            "use crate::config::Config;\n",
        ),
        (
            "report",
            "src/report/mod.rs",
            "use crate::upstream;\nfn f() { crate::config::load() }\n",
        ),
        (
            "text",
            "src/text.rs",
            "fn f() -> &str { \"crate::report\" }\n",
        ),
    ];
    let modules: BTreeSet<String> = files.iter().map(|f| f.0.to_owned()).collect();
    let mut uses: Vec<Use> = files
        .iter()
        .flat_map(|(m, f, s)| uses_in(m, f, s))
        .collect();
    // the clean sample passes; the doc link and the string are not uses
    assert_eq!(check(&layers, &modules, &uses), Vec::<String>::new());
    assert_eq!(
        uses.iter()
            .filter(|u| u.from == "config")
            .map(|u| u.to.as_str())
            .collect::<Vec<_>>(),
        ["state", "text"]
    );

    // a deliberately added upward use is named with its file, line and text
    uses.extend(uses_in(
        "upstream",
        "src/upstream/fetch.rs",
        "use std::path::Path;\nuse crate::report::markdown;\n",
    ));
    let problems = check(&layers, &modules, &uses);
    assert_eq!(
        problems,
        [
            "src/upstream/fetch.rs:2: `upstream` (domain) uses `report` (surface), a higher layer: `use crate::report::markdown;`",
            "modules use each other in a cycle report -> upstream -> report:\n  src/report/mod.rs:1: `use crate::upstream;`\n  src/upstream/fetch.rs:2: `use crate::report::markdown;`",
        ]
    );

    // two modules of one layer using each other is a cycle too
    let same_layer = uses_in(
        "config",
        "src/config/x.rs",
        "use crate::upstream::Mirror;\n",
    );
    let mut with_cycle: Vec<Use> = files
        .iter()
        .flat_map(|(m, f, s)| uses_in(m, f, s))
        .collect();
    with_cycle.extend(same_layer);
    let problems = check(&layers, &modules, &with_cycle);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("modules use each other in a cycle config -> upstream -> config")
    );

    // a module in no layer
    let mut more = modules.clone();
    more.insert("newthing".into());
    let problems = check(&layers, &more, &[]);
    assert_eq!(
        problems,
        ["top-level module `newthing` is in no layer: add it to ARCHITECTURE.md's layer table"]
    );
}
