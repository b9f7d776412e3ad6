//! Scanning the wrapper's Python files for every place they touch the
//! upstream: imports and their aliases, calls, attribute reads, monkeypatches,
//! `sys.path`/`chdir` set-up, upstream file and model-config references, and
//! string-key reads that may hit config keys.

use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use super::chunks::{PIECE_BYTES, Piece, SPLIT_ABOVE, pieces};
use super::model::{
    IntegrationPoint, KeyEvidence, KeyRead, KeyTie, PartialParse, PointKind, ScanContext,
    SourceFile, WrapperScan,
};
use super::parse::{Lines, dotted_parts, error_lines, line, named_children, parse, string_value};
use super::parse::{parse_piece, text, walk_all};

/// Scans the wrapper's `.py` files (paths relative to the wrapper root).
pub fn scan_wrapper<'f>(
    files: impl IntoIterator<Item = &'f SourceFile>,
    ctx: &ScanContext,
) -> WrapperScan {
    let mut out = WrapperScan::default();
    for file in files {
        if in_pieces(file) {
            let pieces = pieces(&file.text, SPLIT_ABOVE, PIECE_BYTES);
            scan_in_pieces(file, &pieces, ctx, &mut out);
            continue;
        }
        let Some(tree) = parse(&file.text) else {
            out.partial.push(PartialParse {
                path: file.path.clone(),
                error_lines: vec![1],
            });
            continue;
        };
        let errors = error_lines(&tree);
        if !errors.is_empty() {
            out.partial.push(PartialParse {
                path: file.path.clone(),
                error_lines: errors,
            });
        }
        let mut scan = FileScan::new(file, ctx);
        scan.bindings(tree.root_node());
        scan.uses(tree.root_node());
        scan.drain(&mut out);
    }
    out
}

/// Whether `file` is too large to parse whole: [`scan_wrapper`] scans it a
/// piece at a time, and [`bind_file`] with [`stream_file`] scan it holding
/// one piece's tree and points at a time.
pub fn in_pieces(file: &SourceFile) -> bool {
    file.text.len() > SPLIT_ABOVE
}

/// What a file binds (the names its imports and assignments make stand for
/// the upstream), read from every piece before any use is scanned; with the
/// points the imports themselves are, and the file's syntax errors.
#[derive(Debug, Clone)]
pub struct FileBindings {
    pieces: Vec<Piece>,
    aliases: HashMap<Vec<String>, String>,
    dir_names: HashSet<String>,
    config_vars: HashMap<(usize, String), KeyEvidence>,
    /// The points the bindings made, in source order.
    early: Vec<(usize, IntegrationPoint)>,
    /// Its syntax errors, if any.
    pub partial: Option<PartialParse>,
}

/// Reads the bindings of a file too large to parse whole (see `chunks`), a
/// piece at a time.
pub fn bind_file(file: &SourceFile, ctx: &ScanContext) -> FileBindings {
    bind_pieces(file, pieces(&file.text, SPLIT_ABOVE, PIECE_BYTES), ctx)
}

fn bind_pieces(file: &SourceFile, pieces: Vec<Piece>, ctx: &ScanContext) -> FileBindings {
    let mut scan = FileScan::new(file, ctx);
    let mut errors = Vec::new();
    for piece in &pieces {
        let Some(tree) = parse_piece(&file.text, piece) else {
            errors.push(piece.row + 1);
            continue;
        };
        errors.extend(error_lines(&tree));
        scan.bindings(tree.root_node());
    }
    let mut early = scan.points;
    early.sort_by_key(|(pos, _)| *pos);
    FileBindings {
        pieces,
        aliases: scan.aliases,
        dir_names: scan.dir_names,
        config_vars: scan.config_vars,
        early,
        partial: (!errors.is_empty()).then(|| PartialParse {
            path: file.path.clone(),
            error_lines: errors,
        }),
    }
}

/// Scans the uses of a file bound by [`bind_file`] a piece at a time: each
/// piece's points and key reads go to `each` before the next piece is
/// parsed, so neither the whole syntax tree nor every point is ever held.
pub fn stream_file(
    file: &SourceFile,
    ctx: &ScanContext,
    bound: &FileBindings,
    each: &mut dyn FnMut(WrapperScan),
) {
    let mut scan = FileScan::new(file, ctx);
    scan.aliases = bound.aliases.clone();
    scan.dir_names = bound.dir_names.clone();
    scan.config_vars = bound.config_vars.clone();
    // the points the bindings made go out with their own piece
    let mut early = bound.early.iter().peekable();
    for piece in &bound.pieces {
        while let Some(p) = early.next_if(|(pos, _)| *pos < piece.bytes.end) {
            scan.points.push(p.clone());
        }
        if let Some(tree) = parse_piece(&file.text, piece) {
            scan.uses(tree.root_node());
        }
        let mut part = WrapperScan::default();
        scan.drain(&mut part);
        each(part);
    }
}

/// A file scanned in `pieces`, everything kept in `out`.
fn scan_in_pieces(file: &SourceFile, pieces: &[Piece], ctx: &ScanContext, out: &mut WrapperScan) {
    let bound = bind_pieces(file, pieces.to_vec(), ctx);
    stream_file(file, ctx, &bound, &mut |part| {
        out.points.extend(part.points);
        out.key_reads.extend(part.key_reads);
    });
    out.partial.extend(bound.partial);
}

fn is_reference(kind: PointKind) -> bool {
    matches!(
        kind,
        PointKind::FileReference | PointKind::ModelConfigReference
    )
}

struct FileScan<'a> {
    file: &'a SourceFile,
    ctx: &'a ScanContext,
    lines: Lines<'a>,
    /// The upstream folder as a dotted package prefix (`Wan2GP`), stripped
    /// from module names.
    dir_prefix: String,
    /// The upstream folder, `/`-separated, without `./` or slashes around;
    /// empty when the upstream is the wrapper's root.
    dir: String,
    /// A dotted chain of names (`w`, `self.wgp`) -> the upstream name it
    /// stands for, as written (`wgp`, `Wan2GP.wgp`).
    aliases: HashMap<Vec<String>, String>,
    /// Names assigned a value that mentions the upstream folder.
    dir_names: HashSet<String>,
    /// (start byte of the enclosing function, 0 at module level; dotted
    /// name) -> the config its value was loaded from.
    config_vars: HashMap<(usize, String), KeyEvidence>,
    /// Function start byte -> the configs the function names.
    function_configs: HashMap<usize, Vec<KeyEvidence>>,
    points: Vec<(usize, IntegrationPoint)>,
    key_reads: Vec<(usize, KeyRead)>,
}

impl<'a> FileScan<'a> {
    fn new(file: &'a SourceFile, ctx: &'a ScanContext) -> Self {
        let mut dir = ctx.upstream_dir.replace('\\', "/");
        while let Some(rest) = dir.strip_prefix("./") {
            dir = rest.to_owned();
        }
        let dir = dir.trim_matches('/');
        let dir = if dir == "." { "" } else { dir };
        Self {
            file,
            ctx,
            lines: Lines::new(&file.text),
            dir_prefix: dir.replace('/', "."),
            dir: dir.to_owned(),
            aliases: HashMap::new(),
            dir_names: HashSet::new(),
            config_vars: HashMap::new(),
            function_configs: HashMap::new(),
            points: Vec::new(),
            key_reads: Vec::new(),
        }
    }

    /// Moves the points and key reads found so far, in source order, into
    /// `out`.
    fn drain(&mut self, out: &mut WrapperScan) {
        let mut points = std::mem::take(&mut self.points);
        let mut key_reads = std::mem::take(&mut self.key_reads);
        points.sort_by_key(|(pos, _)| *pos);
        out.points.reserve(points.len());
        let mut seen = HashSet::new();
        // A literal inside `os.path.join(...)` can name the same file as
        // the join: keep one reference per line.
        out.points.extend(
            points.into_iter().map(|(_, p)| p).filter(|p| {
                !is_reference(p.kind) || seen.insert((p.line, p.kind, p.target.clone()))
            }),
        );
        key_reads.sort_by_key(|(pos, _)| *pos);
        out.key_reads.extend(key_reads.into_iter().map(|(_, k)| k));
    }

    /// The target of a set-up point: the upstream folder, `.` for the root.
    fn dir_target(&self) -> String {
        if self.dir.is_empty() {
            ".".to_owned()
        } else {
            self.dir.clone()
        }
    }

    fn src(&self) -> &'a str {
        &self.file.text
    }

    /// The upstream module name of `module` as written (the upstream folder
    /// prefix stripped), if it counts as upstream API.
    fn api_name(&self, module: &str) -> Option<String> {
        let mut name = module;
        if !self.dir_prefix.is_empty() {
            if let Some(rest) = name.strip_prefix(&self.dir_prefix) {
                if let Some(rest) = rest.strip_prefix('.') {
                    name = rest;
                } else if rest.is_empty() {
                    return None;
                }
            }
        }
        let first = name.split('.').next().unwrap_or(name);
        let is_api = self.ctx.api_modules.iter().any(|m| {
            m == first
                || name == m
                || name
                    .strip_prefix(m.as_str())
                    .is_some_and(|r| r.starts_with('.'))
        });
        is_api.then(|| name.to_owned())
    }

    fn point(&mut self, node: Node<'_>, kind: PointKind, target: String) -> &mut IntegrationPoint {
        let line = line(node);
        let p = IntegrationPoint {
            file: self.file.path.clone(),
            line,
            kind,
            target,
            keywords: Vec::new(),
            positional_args: 0,
            star_args: false,
            star_kwargs: false,
            snippet: self.lines.snippet(line),
        };
        let at = self.points.len();
        self.points.push((node.start_byte(), p));
        &mut self.points[at].1
    }

    /// The upstream name a dotted chain stands for, and how many parts
    /// followed the alias.
    fn resolve(&self, parts: &[String]) -> Option<(String, usize)> {
        (1..=parts.len()).rev().find_map(|i| {
            let base = self.aliases.get(&parts[..i])?;
            let mut full = base.clone();
            for p in &parts[i..] {
                full.push('.');
                full.push_str(p);
            }
            Some((self.api_name(&full)?, parts.len() - i))
        })
    }

    fn resolve_node(&self, node: Node<'_>) -> Option<(String, usize)> {
        self.resolve(&dotted_parts(node, self.src())?)
    }

    /// First pass, in document order: imports (anywhere in the file),
    /// dynamic imports, aliases made by assignment, and names that hold the
    /// upstream folder's path.
    fn bindings(&mut self, root: Node<'_>) {
        let mut nodes = Vec::new();
        walk_all(root, |n| {
            if matches!(
                n.kind(),
                "import_statement" | "import_from_statement" | "call" | "assignment" | "as_pattern"
            ) {
                nodes.push(n);
            }
        });
        for n in nodes {
            match n.kind() {
                "import_statement" => self.import(n),
                "import_from_statement" => self.import_from(n),
                "call" => self.dynamic_import(n),
                "as_pattern" => self.with_alias(n),
                _ => self.assignment(n),
            }
        }
    }

    fn import(&mut self, stmt: Node<'_>) {
        let src = self.src();
        let mut cursor = stmt.walk();
        let names: Vec<Node<'_>> = stmt.children_by_field_name("name", &mut cursor).collect();
        for n in names {
            let (module, bound, alias_to) = if n.kind() == "aliased_import" {
                let (Some(name), Some(alias)) = (
                    n.child_by_field_name("name"),
                    n.child_by_field_name("alias"),
                ) else {
                    continue;
                };
                let module = text(name, src).to_owned();
                (module.clone(), text(alias, src).to_owned(), module)
            } else {
                let module = text(n, src).to_owned();
                let top = module.split('.').next().unwrap_or("").to_owned();
                (module, top.clone(), top)
            };
            let Some(target) = self.api_name(&module) else {
                continue;
            };
            self.point(stmt, PointKind::Import, target);
            self.aliases.insert(vec![bound], alias_to);
        }
    }

    fn import_from(&mut self, stmt: Node<'_>) {
        let src = self.src();
        let Some(module_node) = stmt.child_by_field_name("module_name") else {
            return;
        };
        if module_node.kind() != "dotted_name" {
            return; // relative: the wrapper's own code
        }
        let module = text(module_node, src).to_owned();
        if named_children(stmt)
            .iter()
            .any(|n| n.kind() == "wildcard_import")
        {
            if let Some(target) = self.api_name(&module) {
                self.point(stmt, PointKind::FromImport, target);
            }
            return;
        }
        let mut cursor = stmt.walk();
        let names: Vec<Node<'_>> = stmt.children_by_field_name("name", &mut cursor).collect();
        for n in names {
            let (name, alias) = if n.kind() == "aliased_import" {
                (
                    n.child_by_field_name("name"),
                    n.child_by_field_name("alias"),
                )
            } else {
                (Some(n), Some(n))
            };
            let (Some(name), Some(alias)) = (name, alias) else {
                continue;
            };
            let full = format!("{module}.{}", text(name, src));
            let Some(target) = self.api_name(&full) else {
                continue;
            };
            self.point(stmt, PointKind::FromImport, target);
            self.aliases.insert(vec![text(alias, src).to_owned()], full);
        }
    }

    /// `importlib.import_module("wgp")`, `__import__("wgp")`, tracking the
    /// name it is assigned to.
    fn dynamic_import(&mut self, call: Node<'_>) {
        let src = self.src();
        let Some(parts) = call
            .child_by_field_name("function")
            .and_then(|f| dotted_parts(f, src))
        else {
            return;
        };
        let last = parts.last().map(String::as_str);
        if !matches!(last, Some("import_module" | "__import__")) {
            return;
        }
        let Some(module) = call
            .child_by_field_name("arguments")
            .and_then(|a| named_children(a).into_iter().next())
            .and_then(|a| string_value(a, src))
        else {
            return;
        };
        let Some(target) = self.api_name(&module) else {
            return;
        };
        self.point(call, PointKind::DynamicImport, target);
        let bound = if last == Some("__import__") {
            module.split('.').next().unwrap_or("").to_owned()
        } else {
            module
        };
        if let Some(left) = assigned_to(call) {
            if let Some(parts) = dotted_parts(left, src) {
                self.aliases.insert(parts, bound);
            }
        }
    }

    /// `x = w` / `self.wgp = wgp` / `gen = w.generate_video` make aliases;
    /// `WAN_DIR = ROOT / "Wan2GP"` marks a name holding the upstream folder.
    fn assignment(&mut self, node: Node<'_>) {
        let src = self.src();
        let (Some(left), Some(right)) = (
            node.child_by_field_name("left"),
            node.child_by_field_name("right"),
        ) else {
            return;
        };
        let Some(left_parts) = dotted_parts(left, src) else {
            return;
        };
        if let Some(right_parts) = dotted_parts(right, src) {
            if right_parts != left_parts {
                if let Some(i) = (1..=right_parts.len())
                    .rev()
                    .find(|i| self.aliases.contains_key(&right_parts[..*i]))
                {
                    let mut full = self.aliases[&right_parts[..i]].clone();
                    for p in &right_parts[i..] {
                        full.push('.');
                        full.push_str(p);
                    }
                    self.aliases.insert(left_parts.clone(), full);
                }
            }
        }
        if self.mentions_dir(right) {
            self.dir_names.insert(left_parts.join("."));
        }
        self.bind_config(node, &left_parts, right);
    }

    /// `with open(".../t2v.json") as f:` ties `f` to the config.
    fn with_alias(&mut self, node: Node<'_>) {
        let src = self.src();
        let (Some(value), Some(alias)) = (
            named_children(node).into_iter().next(),
            node.child_by_field_name("alias"),
        ) else {
            return;
        };
        let target = named_children(alias).into_iter().next().unwrap_or(alias);
        if let Some(parts) = dotted_parts(target, src) {
            self.bind_config(node, &parts, value);
        }
    }

    /// Ties `left` to a config when `right` names one: a config path or a
    /// model name, or a name already tied.
    fn bind_config(&mut self, at: Node<'_>, left: &[String], right: Node<'_>) {
        let scope = scope_of(at);
        let found = self.configs_in(right, scope).into_iter().next();
        let key = (scope, left.join("."));
        match found {
            Some(mut e) => {
                e.line = line(at);
                self.config_vars.insert(key, e);
            }
            None => {
                // a name re-bound to something else no longer holds the config
                self.config_vars.remove(&key);
            }
        }
    }

    /// The configs an expression names: literals that are a config's path,
    /// its file name or its model name, and names tied to a config.
    fn configs_in(&self, node: Node<'_>, scope: usize) -> Vec<KeyEvidence> {
        let src = self.src();
        let mut out = Vec::new();
        walk_all(node, |n| match n.kind() {
            "string" => {
                let Some(v) = string_value(n, src) else {
                    return;
                };
                if let Some((config, how)) = self.config_named(&v) {
                    out.push(KeyEvidence {
                        config,
                        how,
                        line: line(n),
                    });
                }
            }
            "identifier" | "attribute" => {
                if let Some(e) = self.tied(n, scope) {
                    out.push(e.clone());
                }
            }
            _ => {}
        });
        out
    }

    /// The config a dotted name is tied to in `scope` or at module level.
    fn tied(&self, n: Node<'_>, scope: usize) -> Option<&KeyEvidence> {
        let parts = dotted_parts(n, self.src())?;
        (1..=parts.len()).rev().find_map(|i| {
            let name = parts[..i].join(".");
            self.config_vars
                .get(&(scope, name.clone()))
                .or_else(|| self.config_vars.get(&(0, name)))
        })
    }

    /// The config a string literal names, and how.
    fn config_named(&self, value: &str) -> Option<(String, KeyTie)> {
        if let Some(config) = self.ctx.config_names.get(value) {
            return Some((config.clone(), KeyTie::LoadedByModel));
        }
        if !value.ends_with(".json") {
            return None;
        }
        if let Some(path) = self.upstream_file(value) {
            return Some((path, KeyTie::LoadedByPath));
        }
        let v = value.replace('\\', "/");
        self.ctx
            .config_names
            .values()
            .find(|c| {
                let name = c.rsplit('/').next().unwrap_or(c);
                v == name || v.ends_with(&format!("/{name}")) || v.ends_with(&format!("/{c}"))
            })
            .map(|c| (c.clone(), KeyTie::LoadedByPath))
    }

    /// What ties a key read on `object` to a config: the object's value
    /// was loaded from one, or the enclosing function names one.
    fn key_evidence(&mut self, object: Option<Node<'_>>, at: Node<'_>) -> Vec<KeyEvidence> {
        let scope = scope_of(at);
        let mut cur = object;
        while let Some(n) = cur {
            if let Some(e) = self.tied(n, scope) {
                return vec![e.clone()];
            }
            cur = match n.kind() {
                "subscript" => n.child_by_field_name("value"),
                "call" => n.child_by_field_name("function"),
                "attribute" => n.child_by_field_name("object"),
                "parenthesized_expression" => named_children(n).into_iter().next(),
                _ => None,
            };
        }
        if scope == 0 {
            return Vec::new();
        }
        if let Some(found) = self.function_configs.get(&scope) {
            return found.clone();
        }
        let mut function = at;
        while function.start_byte() + 1 != scope || function.kind() != "function_definition" {
            match function.parent() {
                Some(p) => function = p,
                None => return Vec::new(),
            }
        }
        let mut found: Vec<KeyEvidence> = Vec::new();
        for mut e in self.configs_in(function, scope) {
            if !found.iter().any(|f| f.config == e.config) {
                e.how = KeyTie::SameFunction;
                found.push(e);
            }
        }
        self.function_configs.insert(scope, found.clone());
        found
    }

    /// Whether an expression names the upstream folder, directly or through
    /// a name assigned such a value.
    fn mentions_dir(&self, node: Node<'_>) -> bool {
        let dir = self.dir.as_str();
        if dir.is_empty() {
            return true;
        }
        let src = self.src();
        if text(node, src).contains(dir) {
            return true;
        }
        let mut found = false;
        walk_all(node, |n| {
            if !found && matches!(n.kind(), "identifier" | "attribute") {
                found = self.dir_names.contains(text(n, src));
            }
        });
        found
    }

    /// Second pass: every use of an upstream name, every string literal and
    /// every string-key read.
    fn uses(&mut self, root: Node<'_>) {
        let mut nodes = Vec::new();
        walk_all(root, |n| {
            if matches!(
                n.kind(),
                "call"
                    | "attribute"
                    | "string"
                    | "concatenated_string"
                    | "binary_operator"
                    | "subscript"
            ) {
                nodes.push(n);
            }
        });
        for n in nodes {
            match n.kind() {
                "call" => self.call(n),
                "attribute" => self.attribute(n),
                "subscript" => self.subscript(n),
                "binary_operator" => self.path_division(n),
                _ => self.string(n),
            }
        }
    }

    fn call(&mut self, call: Node<'_>) {
        let src = self.src();
        let Some(function) = call.child_by_field_name("function") else {
            return;
        };
        let args = call.child_by_field_name("arguments");
        if let Some((target, _)) = self.resolve_node(function) {
            let (keywords, positional, star_args, star_kwargs) = arguments(args, src);
            let p = self.point(call, PointKind::Call, target);
            p.keywords = keywords;
            p.positional_args = positional;
            p.star_args = star_args;
            p.star_kwargs = star_kwargs;
            self.get_key(function, args);
            return;
        }
        let Some(parts) = dotted_parts(function, src) else {
            // `x.get("key")` on any object.
            self.get_key(function, args);
            return;
        };
        let arg_nodes: Vec<Node<'_>> = args
            .filter(|a| a.kind() == "argument_list")
            .map(named_children)
            .unwrap_or_default()
            .into_iter()
            .filter(|n| n.kind() != "comment")
            .collect();
        let names: Vec<&str> = parts.iter().map(String::as_str).collect();
        match names.as_slice() {
            [.., "setattr"] if arg_nodes.len() >= 2 => {
                let obj = self.resolve_node(arg_nodes[0]);
                let attr = string_value(arg_nodes[1], src);
                if let (Some((target, _)), Some(attr)) = (obj, attr) {
                    self.point(call, PointKind::Monkeypatch, format!("{target}.{attr}"));
                }
            }
            ["sys", "path", "insert" | "append" | "extend"]
                if args.is_some_and(|a| self.mentions_dir(a)) =>
            {
                let dir = self.dir_target();
                self.point(call, PointKind::SysPathInsert, dir);
            }
            ["os", "chdir"] | ["chdir"] if args.is_some_and(|a| self.mentions_dir(a)) => {
                let dir = self.dir_target();
                self.point(call, PointKind::Chdir, dir);
            }
            [.., "join"] => {
                let literals: Vec<Option<String>> =
                    arg_nodes.iter().map(|a| string_value(*a, src)).collect();
                self.joined_path(call, &literals);
            }
            _ => {}
        }
        self.get_key(function, args);
    }

    fn get_key(&mut self, function: Node<'_>, args: Option<Node<'_>>) {
        let src = self.src();
        if function.kind() != "attribute"
            || function
                .child_by_field_name("attribute")
                .map(|a| text(a, src))
                != Some("get")
        {
            return;
        }
        let object = function.child_by_field_name("object");
        if object.is_some_and(|o| text(o, src) == "os.environ") {
            return;
        }
        let key = args
            .filter(|a| a.kind() == "argument_list")
            .and_then(|a| named_children(a).into_iter().next())
            .and_then(|a| string_value(a, src));
        if let Some(key) = key {
            self.key_read(function, object, key);
        }
    }

    fn key_read(&mut self, node: Node<'_>, object: Option<Node<'_>>, key: String) {
        let line = line(node);
        let evidence = self.key_evidence(object, node);
        self.key_reads.push((
            node.start_byte(),
            KeyRead {
                file: self.file.path.clone(),
                line,
                key,
                snippet: self.lines.snippet(line),
                evidence,
            },
        ));
    }

    /// The outermost attribute of a chain through an upstream alias: a read,
    /// or a monkeypatch when assigned to. Calls are handled by `call`.
    fn attribute(&mut self, node: Node<'_>) {
        let parent = node.parent();
        let is = |p: Option<Node<'_>>, kind: &str, field: &str, child: Node<'_>| {
            p.is_some_and(|p| {
                p.kind() == kind && p.child_by_field_name(field).map(|c| c.id()) == Some(child.id())
            })
        };
        if is(parent, "attribute", "object", node) || is(parent, "call", "function", node) {
            return;
        }
        let Some(parts) = dotted_parts(node, self.src()) else {
            return;
        };
        let Some((target, rest)) = self.resolve(&parts) else {
            return;
        };
        if rest == 0 {
            return; // the alias itself (`self.wgp = ...`, passing it on)
        }
        let written = is(parent, "assignment", "left", node)
            || is(parent, "augmented_assignment", "left", node)
            || parent.is_some_and(|p| {
                matches!(p.kind(), "pattern_list" | "tuple_pattern")
                    && is(p.parent(), "assignment", "left", p)
            });
        let kind = if written {
            PointKind::Monkeypatch
        } else {
            PointKind::AttributeRead
        };
        self.point(node, kind, target);
    }

    /// `x["key"]` read (not assigned to) with a string-literal key.
    fn subscript(&mut self, node: Node<'_>) {
        let src = self.src();
        let parent = node.parent();
        if parent.is_some_and(|p| {
            matches!(p.kind(), "assignment" | "augmented_assignment")
                && p.child_by_field_name("left").map(|l| l.id()) == Some(node.id())
        }) {
            return;
        }
        let mut cursor = node.walk();
        let subs: Vec<Node<'_>> = node
            .children_by_field_name("subscript", &mut cursor)
            .collect();
        if let [one] = subs.as_slice() {
            if let Some(key) = string_value(*one, src) {
                let object = node.child_by_field_name("value");
                self.key_read(node, object, key);
            }
        }
    }

    fn string(&mut self, node: Node<'_>) {
        if node
            .parent()
            .is_some_and(|p| p.kind() == "concatenated_string")
        {
            return;
        }
        let Some(value) = string_value(node, self.src()) else {
            return;
        };
        if let Some(path) = self.upstream_file(&value) {
            self.point(node, PointKind::FileReference, path);
        }
        if let Some(config) = self.ctx.config_names.get(&value) {
            let config = config.clone();
            self.point(node, PointKind::ModelConfigReference, config);
        }
    }

    /// `ROOT / "Wan2GP" / "defaults" / "x.json"`.
    fn path_division(&mut self, node: Node<'_>) {
        let src = self.src();
        let is_div = |n: Node<'_>| {
            n.kind() == "binary_operator"
                && n.child_by_field_name("operator").map(|o| text(o, src)) == Some("/")
        };
        if !is_div(node) || node.parent().is_some_and(is_div) {
            return;
        }
        let mut operands = Vec::new();
        let mut cur = node;
        while is_div(cur) {
            if let Some(r) = cur.child_by_field_name("right") {
                operands.push(string_value(r, src));
            }
            match cur.child_by_field_name("left") {
                Some(l) => cur = l,
                None => break,
            }
        }
        operands.push(string_value(cur, src));
        operands.reverse();
        self.joined_path(node, &operands);
    }

    /// A path built from parts whose trailing string literals name an
    /// upstream file. Single literals are found by `string`.
    fn joined_path(&mut self, node: Node<'_>, parts: &[Option<String>]) {
        let literal_tail = parts.iter().rev().take_while(|p| p.is_some()).count();
        for start in parts.len() - literal_tail..parts.len().saturating_sub(1) {
            let joined = parts[start..]
                .iter()
                .flatten()
                .map(|s| s.trim_matches('/'))
                .collect::<Vec<_>>()
                .join("/");
            if let Some(path) = self.upstream_file(&joined) {
                self.point(node, PointKind::FileReference, path);
                return;
            }
        }
    }

    /// The upstream path a string names, if it is a file of the upstream.
    fn upstream_file(&self, value: &str) -> Option<String> {
        if value.is_empty() || value.len() > 400 || value.contains('\n') {
            return None;
        }
        let mut v = value.trim().replace('\\', "/");
        while let Some(rest) = v.strip_prefix("./") {
            v = rest.to_owned();
        }
        let dir = self.dir.as_str();
        if !dir.is_empty() {
            if let Some(rest) = v.strip_prefix(dir).and_then(|r| r.strip_prefix('/')) {
                v = rest.to_owned();
            }
        }
        self.ctx.upstream_files.contains(&v).then_some(v)
    }
}

/// The start byte of the function holding `node`, plus one; 0 at module
/// level.
fn scope_of(node: Node<'_>) -> usize {
    let mut cur = node.parent();
    while let Some(n) = cur {
        if n.kind() == "function_definition" {
            return n.start_byte() + 1;
        }
        cur = n.parent();
    }
    0
}

/// The left-hand side of `left = <call>`.
fn assigned_to(node: Node<'_>) -> Option<Node<'_>> {
    let parent = node.parent()?;
    if parent.kind() != "assignment" || parent.child_by_field_name("right")?.id() != node.id() {
        return None;
    }
    parent.child_by_field_name("left")
}

/// Keywords, positional count, `*args`, `**kwargs` of a call's arguments.
fn arguments(args: Option<Node<'_>>, src: &str) -> (Vec<String>, usize, bool, bool) {
    let mut keywords = Vec::new();
    let (mut positional, mut star_args, mut star_kwargs) = (0, false, false);
    match args {
        Some(a) if a.kind() == "argument_list" => {
            for arg in named_children(a) {
                match arg.kind() {
                    "keyword_argument" => {
                        if let Some(name) = arg.child_by_field_name("name") {
                            keywords.push(text(name, src).to_owned());
                        }
                    }
                    "list_splat" => star_args = true,
                    "dictionary_splat" => star_kwargs = true,
                    "comment" => {}
                    _ => positional += 1,
                }
            }
        }
        Some(_) => positional = 1, // a bare generator expression
        None => {}
    }
    (keywords, positional, star_args, star_kwargs)
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
