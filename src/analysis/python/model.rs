//! The data the Python analysis reads and returns: upstream definitions,
//! wrapper integration points, and findings about how a change upstream
//! affects each point.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

/// One Python source file, path `/`-separated and relative to its root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

impl SourceFile {
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
        }
    }
}

/// A file tree-sitter could only partly parse; it was still analysed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialParse {
    pub path: String,
    /// 1-based lines holding syntax errors (or missing tokens).
    pub error_lines: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DefKind {
    Function,
    Class,
    Method,
    Variable,
    /// A name imported into the module (a re-export).
    Import,
}

impl DefKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DefKind::Function => "function",
            DefKind::Class => "class",
            DefKind::Method => "method",
            DefKind::Variable => "variable",
            DefKind::Import => "import",
        }
    }

    pub fn is_callable(self) -> bool {
        matches!(self, DefKind::Function | DefKind::Class | DefKind::Method)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParamKind {
    PositionalOnly,
    Positional,
    KeywordOnly,
    VarArgs,
    VarKwargs,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub kind: ParamKind,
    /// Source text of the default value.
    pub default: Option<String>,
    pub annotation: Option<String>,
}

/// One name a module defines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    pub module: String,
    /// `f`, `Cls`, `Cls.method`, `VAR`.
    pub name: String,
    pub kind: DefKind,
    /// 1-based.
    pub line: usize,
    /// For a class: its `__init__` without `self`; for a method: without
    /// `self`/`cls`.
    pub params: Vec<Param>,
    /// False where the parameters are unknown (a class without `__init__`,
    /// variables, imports): signatures are then not compared.
    pub has_signature: bool,
    /// For an import: the absolute dotted name it binds, e.g.
    /// `models.wan.any2video.WanAny2V`.
    pub imported_from: Option<String>,
    /// Normalised body text (lines trimmed, blank lines dropped), for
    /// similarity.
    pub body: String,
}

/// What one upstream module defines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleIndex {
    pub path: String,
    pub definitions: BTreeMap<String, Definition>,
    /// Modules imported with `from x import *`, absolute.
    pub star_imports: Vec<String>,
}

/// Every definition of an upstream tree, by module.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpstreamIndex {
    /// Module name (`models.wan.any2video`) -> its definitions.
    pub modules: BTreeMap<String, ModuleIndex>,
    /// Every package prefix of a module (`models`, `models.wan`), including
    /// namespace packages without `__init__.py`.
    pub packages: BTreeSet<String>,
    pub partial: Vec<PartialParse>,
}

impl UpstreamIndex {
    /// Adds every module of `other`, so indexes of disjoint file sets can be
    /// built separately (in parallel, or once for files two commits share).
    pub fn merge(&mut self, other: UpstreamIndex) {
        self.modules.extend(other.modules);
        self.packages.extend(other.packages);
        self.partial.extend(other.partial);
        self.partial.sort_by(|a, b| a.path.cmp(&b.path));
    }
}

/// What the wrapper scan needs to know about the upstream.
#[derive(Debug, Clone, Default)]
pub struct ScanContext {
    /// The upstream's folder inside the wrapper, e.g. `Wan2GP`.
    pub upstream_dir: String,
    /// Top-level names (or dotted prefixes) counting as upstream API.
    pub api_modules: BTreeSet<String>,
    /// Every file path of the upstream tree (old commit).
    pub upstream_files: BTreeSet<String>,
    /// Model name -> config path, e.g. `vace_14B` -> `defaults/vace_14B.json`.
    pub config_names: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PointKind {
    Import,
    FromImport,
    DynamicImport,
    Call,
    AttributeRead,
    Monkeypatch,
    SysPathInsert,
    Chdir,
    FileReference,
    ModelConfigReference,
    /// A wrapper read of a config key (`x["key"]`), turned into a point when
    /// the key disappears upstream.
    ConfigKeyRead,
    /// A file of the vendored copy whose local patch the update's merge is
    /// predicted to conflict on (the point is in the copy, not the wrapper's
    /// own code).
    LocalPatch,
}

impl fmt::Display for PointKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            PointKind::Import => "import",
            PointKind::FromImport => "from-import",
            PointKind::DynamicImport => "dynamic import",
            PointKind::Call => "call",
            PointKind::AttributeRead => "attribute read",
            PointKind::Monkeypatch => "monkeypatch",
            PointKind::SysPathInsert => "sys.path insert",
            PointKind::Chdir => "chdir",
            PointKind::FileReference => "file reference",
            PointKind::ModelConfigReference => "model config reference",
            PointKind::ConfigKeyRead => "config key read",
            PointKind::LocalPatch => "local patch",
        };
        f.write_str(s)
    }
}

/// One place where the wrapper touches the upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntegrationPoint {
    pub file: String,
    /// 1-based.
    pub line: usize,
    pub kind: PointKind,
    /// Dotted upstream name (`wgp.generate_video`), or an upstream file path.
    pub target: String,
    /// Keyword arguments passed (calls only).
    pub keywords: Vec<String>,
    /// Positional arguments passed (calls only).
    pub positional_args: usize,
    /// The call unpacks `*args` (positional count unknown).
    pub star_args: bool,
    /// The call unpacks `**kwargs` (keywords unknown).
    pub star_kwargs: bool,
    /// The source line, trimmed.
    pub snippet: String,
}

/// A wrapper read of a string key: `x["key"]`, `x.get("key")`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyRead {
    pub file: String,
    pub line: usize,
    pub key: String,
    pub snippet: String,
    /// What ties the read to a config, strongest first; empty when nothing
    /// does.
    pub evidence: Vec<KeyEvidence>,
}

/// Why a key read is taken to read one config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyEvidence {
    /// The config path as the upstream spells it (`defaults/t2v.json`).
    pub config: String,
    pub how: KeyTie,
    /// 1-based line of the load or the mention.
    pub line: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyTie {
    /// The read value comes from loading the config by its path.
    LoadedByPath,
    /// The read value comes from a call naming the config's model.
    LoadedByModel,
    /// The function holding the read names the config or its model.
    SameFunction,
}

impl KeyEvidence {
    /// e.g. "reads `prompt` from the value loaded from defaults/t2v.json at line 12".
    pub fn sentence(&self, key: &str) -> String {
        match self.how {
            KeyTie::LoadedByPath => format!(
                "reads `{key}` from the value loaded from `{}` at line {}",
                self.config, self.line
            ),
            KeyTie::LoadedByModel => format!(
                "reads `{key}` from the value a call naming the model of `{}` returned at line {}",
                self.config, self.line
            ),
            KeyTie::SameFunction => format!(
                "reads `{key}` in a function that names `{}` at line {}",
                self.config, self.line
            ),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WrapperScan {
    pub points: Vec<IntegrationPoint>,
    pub partial: Vec<PartialParse>,
    pub key_reads: Vec<KeyRead>,
}

/// A vendored copy's local patch as resolution sees it: the copy's Python
/// where it differs from the base (modified and added files indexed over
/// the base's index), and each differing file's predicted carry-forward.
#[derive(Debug, Clone, Default)]
pub struct LocalCopy {
    /// The base index with the copy's modified and added modules
    /// re-indexed and its deleted modules removed.
    pub index: UpstreamIndex,
    /// Path (relative to the upstream root) -> what the patch did to it.
    pub files: BTreeMap<String, LocalFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalFile {
    pub change: LocalChange,
    pub carry: Carry,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LocalChange {
    Modified,
    Added,
    Deleted,
}

/// How one file's local patch fares when the update carries it forward,
/// predicted by a dry 3-way merge (base, local copy, target).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "carry")]
pub enum Carry {
    /// Upstream did not change the file: the patch stays as it is.
    Kept,
    /// Upstream changed it too and the merge is clean.
    Clean,
    /// Upstream changed it too and the merge conflicts.
    Conflicts { hunks: Vec<ConflictHunk> },
    /// Upstream deleted the file the patch changed: the patch is lost.
    LostUpstreamDeleted,
    /// The copy deleted a file upstream changed: it stays deleted.
    KeptDeletion,
}

impl Carry {
    pub fn word(&self) -> &'static str {
        match self {
            Carry::Kept => "kept (upstream did not change the file)",
            Carry::Clean => "merges cleanly",
            Carry::Conflicts { .. } => "conflicts",
            Carry::LostUpstreamDeleted => "lost (upstream deleted the file)",
            Carry::KeptDeletion => "stays deleted (upstream changed the file)",
        }
    }
}

/// One conflict region of a dry merge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictHunk {
    /// 1-based line of the conflict in the merged file.
    pub line: usize,
    /// Lines the local copy has there.
    pub local_lines: usize,
    /// Lines the target has there.
    pub upstream_lines: usize,
}

/// What resolution needs beyond the two indexes.
#[derive(Debug, Clone, Default)]
pub struct ResolveContext {
    pub old_files: BTreeSet<String>,
    pub new_files: BTreeSet<String>,
    /// Old path -> new path (git rename detection).
    pub renamed_files: BTreeMap<String, String>,
    /// (config path, dotted key path) present at old, absent at new.
    pub removed_config_keys: Vec<(String, String)>,
    /// Combined name/body similarity (0..1) a rename needs, e.g. 0.6; 0
    /// accepts any added definition of the same kind as the rename.
    pub rename_similarity: f64,
}

/// How bad a finding is. Ordered: `Info < AtRisk < Breaking`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PointSeverity {
    Info,
    AtRisk,
    Breaking,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "change")]
pub enum SignatureChange {
    ParameterRemoved {
        name: String,
    },
    ParameterRenamed {
        from: String,
        to: String,
    },
    NewRequiredParameter {
        name: String,
    },
    /// A new required parameter the call passes neither by position nor by
    /// keyword, while it passes a `**kwargs` dict: breaking unless the dict
    /// supplies it.
    NewRequiredUnlessKwargs {
        name: String,
    },
    /// A keyword the wrapper passes that the new signature rejects.
    KeywordNotAccepted {
        name: String,
    },
    /// The wrapper passes more positional arguments than the new signature
    /// takes.
    TooManyPositional {
        passed: usize,
        accepted: usize,
    },
    /// `None` means no default (required).
    DefaultChanged {
        name: String,
        from: Option<String>,
        to: Option<String>,
    },
    ParameterKindChanged {
        name: String,
        from: ParamKind,
        to: ParamKind,
    },
    VarArgsRemoved,
    VarKwargsRemoved,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum Status {
    Unchanged,
    Removed,
    Moved {
        to: String,
    },
    Renamed {
        to: String,
        similarity: f64,
    },
    SignatureChanged {
        changes: Vec<SignatureChange>,
    },
    KindChanged {
        from: String,
        to: String,
    },
    ConfigRemoved,
    ConfigRenamed {
        to: String,
    },
    ConfigKeyRemoved {
        config: String,
        key: String,
    },
    /// Defined only by the vendored copy's local patch of an upstream file.
    LocalPatchOnly {
        path: String,
        line: usize,
        #[serde(flatten)]
        carry: Carry,
    },
    /// Provided by a file or package that exists only in the vendored copy.
    LocalOnlyFile {
        path: String,
        line: usize,
        #[serde(flatten)]
        carry: Carry,
    },
    /// A monkeypatch or call of a name that no tree defines.
    DeadPatch,
    /// The dry merge of the local patch with the upstream change conflicts.
    LocalPatchConflict {
        path: String,
        hunks: Vec<ConflictHunk>,
    },
    FileRemoved,
    FileRenamed {
        to: String,
    },
    ModuleRemoved,
    Unresolved,
}

/// A definition as a report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DefSummary {
    pub module: String,
    pub name: String,
    pub kind: String,
    pub line: usize,
    /// e.g. `generate_video(prompt, video_length=81, *, seed=None, **kwargs)`.
    pub signature: String,
}

/// One resolved integration point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointFinding {
    pub point: IntegrationPoint,
    pub status: Status,
    pub severity: PointSeverity,
    /// One human sentence.
    pub message: String,
    pub old: Option<DefSummary>,
    pub new: Option<DefSummary>,
}
