//! Indexing an upstream tree: every module's functions, classes, methods,
//! module-level variables and re-exported imports, with their parameters.

use std::collections::BTreeSet;

use tree_sitter::{Node, Tree};

use super::chunks::{PIECE_BYTES, SPLIT_ABOVE, pieces};
use super::model::{DefKind, Definition, ModuleIndex, PartialParse, SourceFile, UpstreamIndex};
use super::parse::{error_lines, line, named_children, parse, parse_piece, text, walk_all};
use super::signature::params_of;

/// The module name of a `.py` path: `models/wan/any2video.py` ->
/// `models.wan.any2video`, `shared/utils/__init__.py` -> `shared.utils`.
/// `None` for non-Python files and a top-level `__init__.py`.
pub fn module_name(path: &str) -> Option<String> {
    let stem = path.strip_suffix(".py")?;
    let mut parts: Vec<&str> = stem.split('/').filter(|p| !p.is_empty()).collect();
    if parts.last() == Some(&"__init__") {
        parts.pop();
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.join("."))
}

/// Every top-level `*.py` module and every top-level folder holding `.py`
/// files (a package or a namespace package).
pub fn top_level_modules(paths: &[String]) -> BTreeSet<String> {
    paths
        .iter()
        .filter(|p| p.ends_with(".py"))
        .filter_map(|p| match p.split_once('/') {
            Some((dir, _)) => Some(dir.to_owned()),
            None => module_name(p),
        })
        .filter(|m| !m.is_empty())
        .collect()
}

/// Indexes the upstream's `.py` files (paths relative to its root).
pub fn index_upstream(files: &[SourceFile]) -> UpstreamIndex {
    index_in_pieces(files, SPLIT_ABOVE, PIECE_BYTES)
}

/// Indexes one upstream file whose whole syntax tree is already parsed
/// (e.g. re-parsed incrementally from the file's other version).
pub fn index_parsed(file: &SourceFile, tree: Tree) -> UpstreamIndex {
    index_files(
        std::slice::from_ref(file),
        Some(tree),
        SPLIT_ABOVE,
        PIECE_BYTES,
    )
}

/// [`index_upstream`], parsing a file over `split_above` bytes in pieces of
/// `piece_bytes` (see `chunks`).
fn index_in_pieces(files: &[SourceFile], split_above: usize, piece_bytes: usize) -> UpstreamIndex {
    index_files(files, None, split_above, piece_bytes)
}

/// Indexes `files`; `whole` is the first file's tree when it was parsed
/// already (used when that file is parsed whole).
fn index_files(
    files: &[SourceFile],
    mut whole: Option<Tree>,
    split_above: usize,
    piece_bytes: usize,
) -> UpstreamIndex {
    let mut index = UpstreamIndex::default();
    for file in files {
        let Some(module) = module_name(&file.path) else {
            continue;
        };
        let is_package = file.path.ends_with("__init__.py");
        let mut m = Indexer {
            module: &module,
            package: package_of(&module, is_package),
            src: &file.text,
            out: ModuleIndex {
                path: file.path.clone(),
                ..ModuleIndex::default()
            },
        };
        // a huge file a piece at a time, so its whole tree is never held
        let mut errors = Vec::new();
        let mut whole = whole.take();
        for piece in pieces(&file.text, split_above, piece_bytes) {
            let tree = if piece.bytes.len() == file.text.len() {
                whole.take().or_else(|| parse(&file.text))
            } else {
                parse_piece(&file.text, &piece)
            };
            let Some(tree) = tree else {
                errors.push(piece.row + 1);
                continue;
            };
            errors.extend(error_lines(&tree));
            m.statements(tree.root_node());
        }
        if !errors.is_empty() {
            index.partial.push(PartialParse {
                path: file.path.clone(),
                error_lines: errors,
            });
        }
        let parts: Vec<&str> = module.split('.').collect();
        for i in 1..parts.len() {
            index.packages.insert(parts[..i].join("."));
        }
        index.modules.insert(module.clone(), m.out);
    }
    index
}

fn package_of(module: &str, is_package: bool) -> Vec<String> {
    let mut parts: Vec<String> = module.split('.').map(str::to_owned).collect();
    if !is_package {
        parts.pop();
    }
    parts
}

/// Lines trimmed, blank lines dropped: indentation does not count against
/// similarity.
pub(crate) fn normalize_body(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Which of two definitions of one name is kept: the higher rank, else the
/// first.
fn rank(kind: DefKind) -> u8 {
    match kind {
        DefKind::Import => 0,
        DefKind::Variable => 2,
        _ => 3,
    }
}

/// A module variable only declared `global` inside a function.
const GLOBAL_RANK: u8 = 1;

struct Indexer<'a> {
    module: &'a str,
    package: Vec<String>,
    src: &'a str,
    out: ModuleIndex,
}

impl Indexer<'_> {
    fn add(&mut self, def: Definition) {
        let r = rank(def.kind);
        self.add_ranked(def, r);
    }

    fn add_ranked(&mut self, def: Definition, r: u8) {
        let keep_old = self.out.definitions.get(&def.name).is_some_and(|old| {
            let old_rank = if old.kind == DefKind::Variable && old.body.is_empty() {
                GLOBAL_RANK
            } else {
                rank(old.kind)
            };
            old_rank >= r
        });
        if !keep_old {
            self.out.definitions.insert(def.name.clone(), def);
        }
    }

    /// Names a function declares `global`: module variables it may create.
    fn globals(&mut self, body: Node<'_>) {
        let mut found = Vec::new();
        walk_all(body, |n| {
            if n.kind() == "global_statement" {
                for id in named_children(n) {
                    if id.kind() == "identifier" {
                        found.push((text(id, self.src).to_owned(), n));
                    }
                }
            }
        });
        for (name, node) in found {
            let def = self.def(name, DefKind::Variable, node);
            self.add_ranked(def, GLOBAL_RANK);
        }
    }

    fn def(&self, name: String, kind: DefKind, node: Node<'_>) -> Definition {
        Definition {
            module: self.module.to_owned(),
            name,
            kind,
            line: line(node),
            params: Vec::new(),
            has_signature: false,
            imported_from: None,
            body: String::new(),
        }
    }

    /// Module-level statements, entering `if`/`try`/`with`/loops but not
    /// function bodies.
    fn statements(&mut self, node: Node<'_>) {
        for stmt in named_children(node) {
            match stmt.kind() {
                "function_definition" | "class_definition" | "decorated_definition" => {
                    self.definition(stmt, None)
                }
                "expression_statement" => self.assignments(stmt, None),
                "import_statement" => self.import(stmt),
                "import_from_statement" => self.import_from(stmt),
                "if_statement"
                | "try_statement"
                | "with_statement"
                | "for_statement"
                | "while_statement"
                | "elif_clause"
                | "else_clause"
                | "except_clause"
                | "except_group_clause"
                | "finally_clause"
                | "block"
                | "ERROR" => self.statements(stmt),
                _ => {}
            }
        }
    }

    /// A function or class at module level (`class_prefix` None) or inside
    /// a class body.
    fn definition(&mut self, node: Node<'_>, class_prefix: Option<&str>) {
        let (node, decorators) = if node.kind() == "decorated_definition" {
            let decorators: Vec<String> = named_children(node)
                .into_iter()
                .filter(|n| n.kind() == "decorator")
                .map(|n| text(n, self.src).trim_start_matches('@').trim().to_owned())
                .collect();
            match node.child_by_field_name("definition") {
                Some(def) => (def, decorators),
                None => return,
            }
        } else {
            (node, Vec::new())
        };
        let Some(name_node) = node.child_by_field_name("name") else {
            return;
        };
        let short = text(name_node, self.src);
        let name = match class_prefix {
            Some(cls) => format!("{cls}.{short}"),
            None => short.to_owned(),
        };
        let body = node
            .child_by_field_name("body")
            .map(|b| normalize_body(text(b, self.src)))
            .unwrap_or_default();
        match node.kind() {
            "function_definition" => {
                let mut params = node
                    .child_by_field_name("parameters")
                    .map(|p| params_of(p, self.src))
                    .unwrap_or_default();
                let kind = if class_prefix.is_some() {
                    let is_static = decorators.iter().any(|d| d == "staticmethod");
                    if !is_static && params.first().is_some_and(|p| is_positional(p.kind)) {
                        params.remove(0);
                    }
                    DefKind::Method
                } else {
                    DefKind::Function
                };
                let mut def = self.def(name, kind, node);
                def.params = params;
                def.has_signature = true;
                def.body = body;
                self.add(def);
                if let Some(b) = node.child_by_field_name("body") {
                    self.globals(b);
                }
            }
            "class_definition" => {
                let mut def = self.def(name.clone(), DefKind::Class, node);
                def.body = body;
                self.add(def);
                if let Some(block) = node.child_by_field_name("body") {
                    self.class_body(block, &name);
                }
                let init = self
                    .out
                    .definitions
                    .get(&format!("{name}.__init__"))
                    .cloned();
                if let (Some(init), Some(def)) = (init, self.out.definitions.get_mut(&name)) {
                    def.params = init.params;
                    def.has_signature = true;
                }
            }
            _ => {}
        }
    }

    fn class_body(&mut self, block: Node<'_>, class: &str) {
        for stmt in named_children(block) {
            match stmt.kind() {
                "function_definition" | "class_definition" | "decorated_definition" => {
                    self.definition(stmt, Some(class))
                }
                "expression_statement" => self.assignments(stmt, Some(class)),
                "if_statement" | "try_statement" | "else_clause" | "elif_clause"
                | "except_clause" | "finally_clause" | "block" => self.class_body(stmt, class),
                _ => {}
            }
        }
    }

    /// `x = ...`, `x: T = ...`, `a, b = ...`, `a = b = ...`.
    fn assignments(&mut self, stmt: Node<'_>, class_prefix: Option<&str>) {
        for expr in named_children(stmt) {
            let mut assign = Some(expr);
            while let Some(a) = assign.filter(|a| a.kind() == "assignment") {
                let value = a
                    .child_by_field_name("right")
                    .map(|r| normalize_body(text(r, self.src)))
                    .unwrap_or_default();
                let mut names = Vec::new();
                if let Some(left) = a.child_by_field_name("left") {
                    target_names(left, self.src, &mut names);
                }
                for n in names {
                    let name = match class_prefix {
                        Some(cls) => format!("{cls}.{n}"),
                        None => n,
                    };
                    let mut def = self.def(name, DefKind::Variable, a);
                    def.body = value.clone();
                    self.add(def);
                }
                assign = a.child_by_field_name("right");
            }
        }
    }

    fn import(&mut self, stmt: Node<'_>) {
        let mut cursor = stmt.walk();
        let names: Vec<Node<'_>> = stmt.children_by_field_name("name", &mut cursor).collect();
        for n in names {
            let (bound, from) = match n.kind() {
                "aliased_import" => {
                    let (Some(name), Some(alias)) = (
                        n.child_by_field_name("name"),
                        n.child_by_field_name("alias"),
                    ) else {
                        continue;
                    };
                    (
                        text(alias, self.src).to_owned(),
                        text(name, self.src).to_owned(),
                    )
                }
                _ => {
                    let full = text(n, self.src);
                    let top = full.split('.').next().unwrap_or(full).to_owned();
                    (top.clone(), top)
                }
            };
            let mut def = self.def(bound, DefKind::Import, stmt);
            def.imported_from = Some(from);
            self.add(def);
        }
    }

    fn import_from(&mut self, stmt: Node<'_>) {
        let Some(module_node) = stmt.child_by_field_name("module_name") else {
            return;
        };
        let Some(base) = absolute_module(module_node, self.src, &self.package) else {
            return;
        };
        if named_children(stmt)
            .iter()
            .any(|n| n.kind() == "wildcard_import")
        {
            self.out.star_imports.push(base.clone());
        }
        let mut cursor = stmt.walk();
        let names: Vec<Node<'_>> = stmt.children_by_field_name("name", &mut cursor).collect();
        for n in names {
            let (name, alias) = match n.kind() {
                "aliased_import" => (
                    n.child_by_field_name("name"),
                    n.child_by_field_name("alias"),
                ),
                _ => (Some(n), Some(n)),
            };
            let (Some(name), Some(alias)) = (name, alias) else {
                continue;
            };
            let from = join(&base, text(name, self.src));
            let mut def = self.def(text(alias, self.src).to_owned(), DefKind::Import, stmt);
            def.imported_from = Some(from);
            self.add(def);
        }
    }
}

fn is_positional(kind: super::model::ParamKind) -> bool {
    use super::model::ParamKind;
    matches!(kind, ParamKind::PositionalOnly | ParamKind::Positional)
}

fn join(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_owned()
    } else {
        format!("{base}.{name}")
    }
}

/// The absolute module of a `from X import` clause; relative imports are
/// resolved against `package`.
pub(crate) fn absolute_module(node: Node<'_>, src: &str, package: &[String]) -> Option<String> {
    if node.kind() != "relative_import" {
        return Some(text(node, src).to_owned());
    }
    let mut dots = 0;
    let mut rest = None;
    for child in named_children(node) {
        match child.kind() {
            "import_prefix" => dots = text(child, src).chars().filter(|c| *c == '.').count(),
            "dotted_name" => rest = Some(text(child, src)),
            _ => {}
        }
    }
    let up = dots.saturating_sub(1);
    if up > package.len() {
        return None;
    }
    let base = package[..package.len() - up].join(".");
    Some(match rest {
        Some(r) => join(&base, r),
        None => base,
    })
}

/// Plain names bound by an assignment target.
fn target_names(node: Node<'_>, src: &str, out: &mut Vec<String>) {
    match node.kind() {
        "identifier" => out.push(text(node, src).to_owned()),
        "pattern_list"
        | "tuple_pattern"
        | "list_pattern"
        | "expression_list"
        | "tuple"
        | "list"
        | "parenthesized_expression" => {
            for child in named_children(node) {
                target_names(child, src, out);
            }
        }
        "list_splat_pattern" => {
            for child in named_children(node) {
                target_names(child, src, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::python::model::ParamKind;

    const WGP: &str = r#"
import os
import torch.nn as nn
from shared.utils import notify as _notify
from .helpers import *

server_config = {"save_path": "outputs"}
WAN_DIR, OTHER = "a", "b"
count: int = 0
a = b = 1

def generate_video(task, prompt, video_length=81, *, seed=None, **kwargs):
    return prompt

async def fetch(url, /, timeout=10):
    pass

class WanAny2V:
    default_steps = 30

    def __init__(self, config, checkpoint_dir, rank=0):
        self.config = config

    def generate(self, input_prompt, *args, frame_num=81):
        pass

    @staticmethod
    def helper(x):
        return x

    @classmethod
    def build(cls, name):
        pass

    class Inner:
        pass

if os.name == "nt":
    def windows_only():
        pass

def load():
    global wan_model, server_config
    wan_model = 1
"#;

    fn index() -> UpstreamIndex {
        index_upstream(&[
            SourceFile::new("wgp.py", WGP),
            SourceFile::new("shared/utils/__init__.py", "def notify(msg):\n    pass\n"),
        ])
    }

    #[test]
    fn a_file_indexed_in_pieces_gives_what_it_gives_whole() {
        let files = [SourceFile::new("wgp.py", WGP)];
        let whole = index_upstream(&files);
        // every top-level statement a piece of its own
        let split = index_in_pieces(&files, 0, 1);
        assert_eq!(split, whole);
        assert!(whole.modules["wgp"].definitions.len() > 10);
    }

    #[test]
    fn module_names() {
        assert_eq!(
            module_name("models/wan/any2video.py").as_deref(),
            Some("models.wan.any2video")
        );
        assert_eq!(
            module_name("shared/utils/__init__.py").as_deref(),
            Some("shared.utils")
        );
        assert_eq!(module_name("README.md"), None);
        let tops = top_level_modules(&[
            "wgp.py".into(),
            "models/wan/any2video.py".into(),
            "shared/utils/__init__.py".into(),
            "defaults/vace.json".into(),
        ]);
        assert_eq!(
            tops.into_iter().collect::<Vec<_>>(),
            vec!["models", "shared", "wgp"]
        );
    }

    #[test]
    fn indexes_definitions_with_kinds_and_lines() {
        let idx = index();
        let wgp = &idx.modules["wgp"];
        let kind = |n: &str| wgp.definitions.get(n).map(|d| d.kind);
        assert_eq!(kind("generate_video"), Some(DefKind::Function));
        assert_eq!(kind("fetch"), Some(DefKind::Function));
        assert_eq!(kind("WanAny2V"), Some(DefKind::Class));
        assert_eq!(kind("WanAny2V.generate"), Some(DefKind::Method));
        assert_eq!(kind("WanAny2V.Inner"), Some(DefKind::Class));
        assert_eq!(kind("WanAny2V.default_steps"), Some(DefKind::Variable));
        assert_eq!(kind("server_config"), Some(DefKind::Variable));
        assert_eq!(kind("WAN_DIR"), Some(DefKind::Variable));
        assert_eq!(kind("OTHER"), Some(DefKind::Variable));
        assert_eq!(kind("count"), Some(DefKind::Variable));
        assert_eq!(kind("a"), Some(DefKind::Variable));
        assert_eq!(kind("b"), Some(DefKind::Variable));
        assert_eq!(kind("windows_only"), Some(DefKind::Function));
        assert_eq!(kind("os"), Some(DefKind::Import));
        // Declared global in a function: a module variable; a real
        // assignment at module level wins.
        assert_eq!(kind("wan_model"), Some(DefKind::Variable));
        assert_eq!(wgp.definitions["wan_model"].line, 43);
        assert_eq!(wgp.definitions["server_config"].line, 7);
        assert_eq!(wgp.definitions["generate_video"].line, 12);
        assert_eq!(
            wgp.definitions["_notify"].imported_from.as_deref(),
            Some("shared.utils.notify")
        );
        assert_eq!(
            wgp.definitions["nn"].imported_from.as_deref(),
            Some("torch.nn")
        );
        assert_eq!(wgp.star_imports, vec!["helpers".to_owned()]);
        assert!(idx.modules.contains_key("shared.utils"));
        assert!(idx.packages.contains("shared"));
        assert!(idx.partial.is_empty());
    }

    #[test]
    fn indexes_parameters() {
        let idx = index();
        let d = &idx.modules["wgp"].definitions;
        let gv = &d["generate_video"].params;
        let shape: Vec<_> = gv
            .iter()
            .map(|p| (p.name.as_str(), p.kind, p.default.as_deref()))
            .collect();
        assert_eq!(
            shape,
            vec![
                ("task", ParamKind::Positional, None),
                ("prompt", ParamKind::Positional, None),
                ("video_length", ParamKind::Positional, Some("81")),
                ("seed", ParamKind::KeywordOnly, Some("None")),
                ("kwargs", ParamKind::VarKwargs, None),
            ]
        );
        assert_eq!(d["fetch"].params[0].kind, ParamKind::PositionalOnly);
        // A class takes its __init__ parameters without self.
        let cls: Vec<_> = d["WanAny2V"]
            .params
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(cls, vec!["config", "checkpoint_dir", "rank"]);
        assert!(d["WanAny2V"].has_signature);
        assert!(!d["WanAny2V.Inner"].has_signature);
        // Methods drop self/cls but not a static method's first parameter.
        let generate: Vec<_> = d["WanAny2V.generate"]
            .params
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(generate, vec!["input_prompt", "args", "frame_num"]);
        assert_eq!(
            d["WanAny2V.generate"].params[2].kind,
            ParamKind::KeywordOnly
        );
        assert_eq!(d["WanAny2V.helper"].params[0].name, "x");
        assert_eq!(d["WanAny2V.build"].params[0].name, "name");
    }

    #[test]
    fn relative_imports_resolve_against_the_package() {
        let idx = index_upstream(&[
            SourceFile::new(
                "models/wan/any2video.py",
                "from .modules.model import WanModel\nfrom .. import registry\nfrom . import utils as u\n",
            ),
            SourceFile::new(
                "models/wan/__init__.py",
                "from .any2video import WanAny2V\n",
            ),
        ]);
        let a2v = &idx.modules["models.wan.any2video"].definitions;
        let from = |n: &str| a2v[n].imported_from.clone().unwrap();
        assert_eq!(from("WanModel"), "models.wan.modules.model.WanModel");
        assert_eq!(from("registry"), "models.registry");
        assert_eq!(from("u"), "models.wan.utils");
        assert_eq!(
            idx.modules["models.wan"].definitions["WanAny2V"]
                .imported_from
                .as_deref(),
            Some("models.wan.any2video.WanAny2V")
        );
    }

    #[test]
    fn syntax_error_is_partial_but_indexed() {
        let idx = index_upstream(&[SourceFile::new(
            "wgp.py",
            "def ok(a):\n    pass\n\ndef broken(:\n    pass\n\ndef later(b=1):\n    pass\n",
        )]);
        assert_eq!(idx.partial.len(), 1);
        assert_eq!(idx.partial[0].path, "wgp.py");
        assert_eq!(idx.partial[0].error_lines, vec![4]);
        let d = &idx.modules["wgp"].definitions;
        assert!(d.contains_key("ok"));
        assert!(d.contains_key("later"));
    }
}
