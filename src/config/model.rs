//! The validated configuration: every default applied, every path absolute,
//! every value checked. The rest of tether only ever sees these types.

use std::path::PathBuf;
use std::time::Duration;

use globset::GlobSet;
use regex::Regex;

use super::defaults;
pub use super::raw::Executor;

/// A complete, valid configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file this came from (absolute), or `None` when built in code.
    pub source: Option<PathBuf>,
    pub project: ProjectConfig,
    pub upstreams: Vec<UpstreamConfig>,
    /// `[[group]]`: upstreams updated as one transaction.
    pub groups: Vec<GroupConfig>,
    pub integration: IntegrationConfig,
    pub analysis: AnalysisConfig,
    pub baseline: BaselineConfig,
    pub update: UpdateConfig,
    pub fix: FixConfig,
    pub gpu: GpuConfig,
    pub schedule: ScheduleConfig,
    pub service: ServiceConfig,
    /// `[slurm]`: how cases with the slurm executor become jobs.
    pub slurm: SlurmConfig,
    pub escalation: EscalationConfig,
}

impl Config {
    /// The upstream named `name`, or every upstream when `name` is `None`.
    pub fn select_upstreams(&self, name: Option<&str>) -> Option<Vec<&UpstreamConfig>> {
        match name {
            None => Some(self.upstreams.iter().collect()),
            Some(n) => self.upstreams.iter().find(|u| u.name == n).map(|u| vec![u]),
        }
    }
}

/// A `[[group]]`: upstreams staged, tested and promoted (or rolled back)
/// together. Every member names an `[[upstream]]`; an upstream is in at
/// most one group; a group has at least two members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    pub name: String,
    /// Upstream names, in the order they are staged.
    pub members: Vec<String>,
}

impl Config {
    /// The group named `name`.
    pub fn group(&self, name: &str) -> Option<&GroupConfig> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The group `upstream` is a member of.
    pub fn group_of(&self, upstream: &str) -> Option<&GroupConfig> {
        self.groups
            .iter()
            .find(|g| g.members.iter().any(|m| m == upstream))
    }

    /// A group's member upstreams, in the group's order.
    pub fn members_of(&self, group: &GroupConfig) -> Vec<&UpstreamConfig> {
        group
            .members
            .iter()
            .filter_map(|m| self.upstreams.iter().find(|u| &u.name == m))
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct ProjectConfig {
    pub name: String,
    /// The wrapper project's root (absolute).
    pub root: PathBuf,
    /// The interpreter the wrapper runs with.
    pub python: String,
    /// Where tether keeps mirrors, journals and first-seen times (absolute).
    pub state_dir: PathBuf,
    /// Where `tether analyze` writes its reports (absolute).
    pub analysis_dir: PathBuf,
    /// Where run outputs go (absolute).
    pub outputs_dir: PathBuf,
    /// Which state of the wrapper is read: the working tree or HEAD.
    pub wrapper_source: WrapperSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WrapperSource {
    /// Files as they are on disk, uncommitted edits included.
    Worktree,
    /// Files as committed at the wrapper's HEAD.
    Committed,
}

/// Vendored layout: which upstream commit counts as the copy's base.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BaseMode {
    /// The commit the copy's files match best, found by comparing blob ids
    /// with the upstream's history; a warning when the record disagrees.
    #[default]
    Detect,
    /// The commit named in the record file, trusted as it is.
    Record,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// A git submodule of the wrapper.
    Submodule,
    /// A plain git clone inside the wrapper (not a submodule).
    Clone,
    /// A copy of the upstream's files committed in the wrapper, with the
    /// upstream commit recorded in a file (or in `git subtree` trailers).
    Vendored,
    /// Only the commit's hash is kept in a wrapper file (a pin); the app
    /// clones the upstream into `path` itself (usually git-ignored).
    Pinned,
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Layout::Submodule => "submodule",
            Layout::Clone => "clone",
            Layout::Vendored => "vendored",
            Layout::Pinned => "pinned",
        })
    }
}

/// Which upstream commit is the target of an update.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum Track {
    /// The tip of a branch.
    Branch(String),
    /// The highest tag (in version order) matching a glob.
    Tag(String),
    /// One fixed commit.
    Pinned(String),
}

/// Reads the config spelling, `branch:<name>`, `tag:<glob>` or `pinned:<sha>`
/// (reports serialise the tagged form above).
impl std::str::FromStr for Track {
    type Err = String;
    fn from_str(s: &str) -> Result<Track, String> {
        parse_track(s)
    }
}

super::value::string_value!(
    Track,
    "`branch:<name>`, `tag:<glob>` or `pinned:<sha>`",
    deserialize_only
);

/// Parses `branch:<name>`, `tag:<glob>` or `pinned:<sha>`.
pub fn parse_track(s: &str) -> Result<Track, String> {
    let bad = || format!("expected `branch:<name>`, `tag:<glob>` or `pinned:<sha>`, got `{s}`");
    let (kind, value) = s.split_once(':').ok_or_else(bad)?;
    if value.is_empty() {
        return Err(bad());
    }
    match kind {
        "branch" => Ok(Track::Branch(value.to_owned())),
        "tag" => {
            globset::Glob::new(value).map_err(|e| format!("bad tag glob `{value}`: {e}"))?;
            Ok(Track::Tag(value.to_owned()))
        }
        "pinned" => {
            if value.len() < 7 || value.len() > 40 || !value.chars().all(|c| c.is_ascii_hexdigit())
            {
                return Err(format!(
                    "`pinned:` needs a commit hash of 7 to 40 hex digits, got `{value}`"
                ));
            }
            Ok(Track::Pinned(value.to_ascii_lowercase()))
        }
        _ => Err(bad()),
    }
}

impl std::fmt::Display for Track {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Track::Branch(b) => write!(f, "branch:{b}"),
            Track::Tag(t) => write!(f, "tag:{t}"),
            Track::Pinned(p) => write!(f, "pinned:{p}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    pub name: String,
    /// Where the upstream is fetched from. May hold credentials: render it
    /// through [`crate::redact`] only.
    pub url: String,
    /// Path of the upstream inside the wrapper, relative to the wrapper root.
    pub path: PathBuf,
    pub layout: Layout,
    pub track: Track,
    /// Minimum age of a commit before it is adopted.
    pub soak: Duration,
    /// Globs (relative to the upstream root) of files whose diffs matter most.
    pub key_files: Vec<String>,
    pub key_files_set: GlobSet,
    /// Vendored layout: the file, relative to the wrapper root, that records
    /// which upstream commit the copy came from. Pinned layout: the file
    /// holding the pin.
    pub record_file: PathBuf,
    /// Whether `record_file` was set in the config (rather than defaulted):
    /// a vendored upstream without one reads its base from `git subtree`
    /// trailers when the wrapper's history has them.
    pub record_file_configured: bool,
    /// Vendored layout: a regex whose first capture group is the commit hash.
    pub record_pattern: Regex,
    /// Vendored layout: whether the base is detected from the copy's files
    /// or read from the record file.
    pub base: BaseMode,
    /// Pinned layout: how the pin is found in `record_file`.
    pub pin: PinLocator,
    /// Pinned layout: the app's own install step, run in the staged wrapper.
    pub install: Option<InstallCommand>,
    /// How long git's credential helper may take to answer during a fetch
    /// before it is stopped and the fetch fails.
    pub credential_timeout: Duration,
}

/// Pinned layout: where the pin is in the record file.
#[derive(Debug, Clone)]
pub enum PinLocator {
    /// `record_pattern`: the first capture group is the hash.
    Pattern(Regex),
    /// `record_key`: a dotted path into a JSON or TOML file, e.g.
    /// `comfyui.commit`.
    Key(Vec<String>),
    /// Neither: the dict entry keyed by the upstream's name
    /// (`"<name>": (..., "<sha>")` or `"<name>": "<sha>"`).
    NamedEntry,
}

/// A shell command run in the staged wrapper's root after the upstream is
/// materialised there (the app's own install step).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallCommand {
    pub command: String,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct IntegrationConfig {
    /// Globs (relative to the wrapper root) of wrapper files to scan.
    pub scan: Vec<String>,
    pub scan_set: GlobSet,
    /// Globs of wrapper files never scanned. Upstream paths are always excluded.
    pub exclude: Vec<String>,
    pub exclude_set: GlobSet,
    /// Upstream modules that count as its API; empty means every top-level
    /// module and package of the upstream tree.
    pub api_modules: Vec<String>,
    /// Upstream folders of JSON model configs the wrapper refers to by name.
    pub config_dirs: Vec<String>,
    /// Globs (relative to the wrapper root) of ComfyUI API-format workflow
    /// JSON files; empty: none.
    pub workflows: Vec<String>,
    pub workflows_set: GlobSet,
}

#[derive(Debug, Clone)]
pub struct AnalysisConfig {
    /// Package name globs whose version changes are flagged as protected.
    pub protected_packages: Vec<String>,
    pub protected_set: GlobSet,
    /// Files larger than this are listed but not diffed or parsed.
    pub max_file_bytes: u64,
    /// Minimum similarity (0..1) for a definition to count as renamed.
    pub rename_similarity: f64,
    /// Findings of one severity listed at most (the rest counted).
    pub max_findings_per_kind: u32,
    /// Findings of one severity in one wrapper file listed at most.
    pub max_findings_per_file: u32,
    /// A report file larger than this is cut, with a note saying so.
    pub max_report_bytes: u64,
}

impl AnalysisConfig {
    /// Whether a (normalised) package name is protected.
    pub fn is_protected(&self, package: &str) -> bool {
        self.protected_set.is_match(normalize_package(package))
    }
}

/// PEP 503 normalisation: lowercase, runs of `-`, `_`, `.` become `-`.
pub fn normalize_package(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !last_dash {
                out.push('-');
            }
            last_dash = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_dash = false;
        }
    }
    out
}

/// The baseline generation suite.
#[derive(Debug, Clone)]
pub struct BaselineConfig {
    /// Default command template of a case (see the example config for the
    /// placeholders).
    pub command: String,
    /// A results file the command writes (relative to the case's output dir);
    /// when set it decides each case's status.
    pub results_file: Option<String>,
    /// Default per-case timeout.
    pub timeout: Duration,
    /// Time between SIGTERM and SIGKILL when a case is stopped.
    pub grace_period: Duration,
    /// Each of a case's stdout and stderr logs is cut at this many bytes.
    pub max_log_bytes: u64,
    /// The file in the wrapper (relative to its root) where fixes record
    /// changed case parameters; committed with the fix.
    pub overrides_file: PathBuf,
    /// Where recorded references live (absolute).
    pub references_dir: PathBuf,
    /// How often GPU memory is sampled while a case runs.
    pub vram_sample_interval: Duration,
    /// Whether each passed case's video and image outputs are decoded,
    /// checked and compared with the reference (through the GPU worker).
    pub quality: bool,
    /// Frames are downsampled until their longer side is at most this before
    /// PSNR/SSIM and storage with the reference.
    pub quality_max_side: u32,
    /// Limits for every case unless the case sets its own.
    pub thresholds: Thresholds,
    /// Where cases run unless a case says otherwise.
    pub executor: Executor,
    /// How many cases run at once on the slurm executor.
    pub max_parallel: u32,
    pub cases: Vec<CaseConfig>,
}

/// When a case counts as regressed against its reference.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Thresholds {
    /// Mean SSIM over the frames below this is a quality regression.
    pub min_mean_ssim: f64,
    /// Duration over the reference's above this is a speed regression.
    pub max_duration_ratio: f64,
    /// Peak GPU memory over the reference's above this is a memory regression.
    pub max_vram_ratio: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        defaults::THRESHOLDS
    }
}

/// A case's own limits; `None` takes `[baseline]`'s.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ThresholdOverrides {
    pub min_mean_ssim: Option<f64>,
    pub max_duration_ratio: Option<f64>,
    pub max_vram_ratio: Option<f64>,
}

impl ThresholdOverrides {
    pub fn apply(self, base: Thresholds) -> Thresholds {
        Thresholds {
            min_mean_ssim: self.min_mean_ssim.unwrap_or(base.min_mean_ssim),
            max_duration_ratio: self.max_duration_ratio.unwrap_or(base.max_duration_ratio),
            max_vram_ratio: self.max_vram_ratio.unwrap_or(base.max_vram_ratio),
        }
    }
}

/// The GPU worker and the preflight.
#[derive(Debug, Clone)]
pub struct GpuConfig {
    pub preflight: Preflight,
    /// Where the worker computes metrics and runs the preflight.
    pub device: crate::protocol::DeviceChoice,
    /// The `tether-gpu` worker binary; `None`: next to `tether`, else `PATH`.
    pub worker: Option<PathBuf>,
    /// Time limit of one worker run.
    pub timeout: Duration,
    /// On CUDA, a preflight matmul throughput below this (TFLOP/s) fails it.
    pub min_tflops: f64,
}

impl Default for GpuConfig {
    fn default() -> Self {
        GpuConfig {
            preflight: defaults::PREFLIGHT,
            device: defaults::DEVICE,
            worker: None,
            timeout: defaults::GPU_TIMEOUT,
            min_tflops: defaults::MIN_TFLOPS,
        }
    }
}

/// When the preflight runs before a baseline run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preflight {
    /// When NVML sees an NVIDIA GPU.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone)]
pub struct CaseConfig {
    pub name: String,
    /// The model config the case runs, e.g. `vace_14B`.
    pub model: String,
    /// Command template; `None` uses `[baseline] command`.
    pub command: Option<String>,
    pub timeout: Option<Duration>,
    /// Globs (relative to the case's output dir) of files the case must write.
    pub outputs: Vec<String>,
    /// Generation parameters (resolution, video_length, steps, seed, ...).
    pub params: serde_json::Map<String, serde_json::Value>,
    pub thresholds: ThresholdOverrides,
    /// `runner = "torchscript"`: a canary run by tether itself.
    pub canary: Option<CanaryConfig>,
    /// Where this case runs; `None` takes `[baseline] executor`.
    pub executor: Option<Executor>,
}

/// Where on the cluster a job goes: the part of `[slurm]` that names a
/// kind of hardware (a later `[[slurm.target]]` list is a list of these).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlurmPlacement {
    pub partition: Option<String>,
    pub account: Option<String>,
    pub qos: Option<String>,
    /// `--gres`; `None`: no generic resources asked for.
    pub gres: Option<String>,
}

/// `[slurm]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SlurmConfig {
    pub placement: SlurmPlacement,
    /// `--cpus-per-task`.
    pub cpus: Option<u32>,
    /// `--mem`, in Slurm's own form (`32G`).
    pub memory: Option<String>,
    /// `--time`; `None`: the case's timeout plus a margin.
    pub time_limit: Option<Duration>,
    /// More `sbatch` arguments, as given.
    pub extra_args: Vec<String>,
    /// The `tether` binary on the nodes; `None`: this binary's path.
    pub tether_bin: Option<PathBuf>,
    /// A folder every node sees at the same path (absolute); required when
    /// any case runs on slurm.
    pub shared_dir: Option<PathBuf>,
    /// A job pending longer than this is cancelled (infrastructure).
    pub max_pending: Duration,
    /// The queue is polled first after `poll_min`, backing off to `poll_max`.
    pub poll_min: Duration,
    pub poll_max: Duration,
    /// `[[slurm.target]]`: every slurm case runs once on each; empty: once,
    /// on `placement`.
    pub targets: Vec<SlurmTarget>,
}

/// One `[[slurm.target]]`: its placement is `[slurm]`'s with the target's
/// own keys over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmTarget {
    /// Names the target in case folders, results and reports.
    pub name: String,
    pub placement: SlurmPlacement,
    /// `[slurm] extra_args` followed by the target's own.
    pub extra_args: Vec<String>,
}

impl SlurmConfig {
    /// The target named `name`.
    pub fn target(&self, name: &str) -> Option<&SlurmTarget> {
        self.targets.iter().find(|t| t.name == name)
    }

    /// Where a job of `target` goes (`None`: `[slurm]`'s own placement).
    pub fn placement_for(&self, target: Option<&str>) -> (&SlurmPlacement, &[String]) {
        match target.and_then(|t| self.target(t)) {
            Some(t) => (&t.placement, &t.extra_args),
            None => (&self.placement, &self.extra_args),
        }
    }
}

/// A generation canary: a TorchScript module exported at the tree under test
/// (or at a fixed path) and run by the `tether-gpu` worker on fixed inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct CanaryConfig {
    /// Command template that writes `{module_path}` (and optionally
    /// `{inputs_path}`), run with the wrapper's interpreter in the tree.
    pub export: Option<String>,
    /// A fixed module path, relative to the tree under test.
    pub module: Option<PathBuf>,
    pub method: String,
    /// `None`: `gpu.device`.
    pub device: Option<crate::protocol::DeviceChoice>,
    pub dtype: String,
    pub warmup: u32,
    pub iterations: u32,
    /// Used when the export writes no `{inputs_path}`.
    pub inputs: Vec<crate::protocol::InputSpec>,
    /// An output further from the reference than this is a numeric regression.
    pub max_abs_error: f64,
    /// An output whose cosine similarity to the reference is below this is a
    /// numeric regression.
    pub min_cosine: f64,
}

/// A fix strategy family, in the order `[update] strategies` lists them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyKind {
    MissingInputs,
    ModelConfig,
    Oom,
    PythonDeps,
    ApiDrift,
    WorkflowInputs,
    External,
}

impl StrategyKind {
    pub const ALL: [StrategyKind; 7] = [
        StrategyKind::MissingInputs,
        StrategyKind::ModelConfig,
        StrategyKind::Oom,
        StrategyKind::PythonDeps,
        StrategyKind::ApiDrift,
        StrategyKind::WorkflowInputs,
        StrategyKind::External,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            StrategyKind::MissingInputs => "missing-inputs",
            StrategyKind::ModelConfig => "model-config",
            StrategyKind::Oom => "oom",
            StrategyKind::PythonDeps => "python-deps",
            StrategyKind::ApiDrift => "api-drift",
            StrategyKind::WorkflowInputs => "workflow-inputs",
            StrategyKind::External => "external",
        }
    }
}

impl std::fmt::Display for StrategyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `tether update` does when the fix loop cannot make the baseline pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnUnfixable {
    /// Roll everything back; the upstream stays where it was.
    Rollback,
    /// Roll back, bisect for the first bad upstream commit, and adopt the
    /// commit just before it when that is newer than the current one.
    AdoptLastGood,
}

#[derive(Debug, Clone)]
pub struct UpdateConfig {
    /// Fix attempts per update, at most.
    pub max_attempts: u32,
    /// Change strategy family after this many attempts without progress.
    pub switch_after_no_progress: u32,
    /// Change strategy family when the same failure signature repeats this often.
    pub switch_after_repeats: u32,
    /// GPU minutes the baseline runs of one update may use; `None`: no limit.
    pub gpu_minutes_budget: Option<f64>,
    /// Strategies, tried in this order.
    pub strategies: Vec<StrategyKind>,
    pub on_unfixable: OnUnfixable,
    /// Author (and committer) of the commits tether makes: `Name <email>`.
    pub commit_author: (String, String),
    /// Promote an update whose baseline passes but regressed against the
    /// recorded references (quality, speed or memory).
    pub allow_regressions: bool,
    /// `tether bisect`: extra runs of a failing step before it counts as bad
    /// (a pass on any of them makes it good: the failure was flaky).
    pub bisect_retries: u32,
    /// `tether bisect` on the slurm executor: candidates tested at once in
    /// each round (1: the serial binary search).
    pub bisect_parallel: u32,
    /// While an upstream is held back: test a new target once on the hunted
    /// cases and keep the hold without a bisect when it fails the same way.
    pub remember_held: bool,
    /// Which updates wait for `tether approve` instead of being promoted.
    pub promote: PromotePolicy,
    /// A parked update not approved within this time is discarded.
    pub parked_expiry: Duration,
}

/// `update.promote`: which tested updates are promoted by themselves and
/// which are parked for `tether approve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PromotePolicy {
    /// Every update whose baseline passes is promoted (as before).
    Auto,
    /// An update is parked when the analysis says breaking, a protected
    /// package changes, or the fix loop had to commit a fix.
    ApproveBreaking,
    /// Every update is parked.
    ApproveAll,
}

/// `[escalation]`: the triggers that ask a person to act (0 or `false`
/// turns one off) and how often an unacknowledged one is sent again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationConfig {
    /// Consecutive failed update cycles of one upstream.
    pub consecutive_failures: u32,
    /// The same failure signature seen across this many days.
    pub same_failure_days: u32,
    /// An upstream held back for longer than this many days.
    pub held_back_days: u32,
    /// A failed GPU preflight or an NVML error.
    pub gpu_errors: bool,
    /// An update that changes a protected package.
    pub protected_changes: bool,
    /// An escalation nobody acknowledged is sent again after this long.
    pub remind_every: Duration,
}

#[derive(Debug, Clone)]
pub struct FixConfig {
    /// The case parameter holding the number of frames.
    pub length_param: String,
    /// Valid frame counts are `k * frame_step + 1` (Wan: 4).
    pub frame_step: u32,
    /// The OOM strategy never goes below this many frames.
    pub min_length: u32,
    /// The case parameter holding `WIDTHxHEIGHT`.
    pub resolution_param: String,
    /// Factor applied to each side when resolution is reduced (sides stay
    /// multiples of 16).
    pub resolution_scale: f64,
    /// The smallest resolution the OOM strategy goes to.
    pub min_resolution: (u32, u32),
    /// The case parameter selecting a memory profile, tried last.
    pub memory_profile_param: String,
    /// Values of that parameter to try, in order.
    pub memory_profile_values: Vec<serde_json::Value>,
    /// Where sample inputs are copied from when a case lacks one (absolute).
    pub samples_dir: Option<PathBuf>,
    /// External fixer command (off when `None`); run in the staged tree.
    pub external_command: Option<String>,
    pub external_timeout: Duration,
}

/// The jobs `tether watch` runs, each on a cron schedule in one time zone.
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    /// IANA time zone the cron expressions are read in, e.g. `UTC`.
    pub timezone: jiff::tz::TimeZone,
    /// `(job, expression, schedule)` for each job that is on, in the order
    /// check, update, baseline, housekeeping.
    pub jobs: Vec<(JobKind, String, cron::Schedule)>,
}

/// A job of the service.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// `tether check` of every upstream.
    Check,
    /// `tether update` of every upstream (soak honoured).
    Update,
    /// The baseline suite on the live wrapper.
    Baseline,
    /// Old outputs and logs removed, `debug_log.txt` rotated.
    Housekeeping,
}

impl JobKind {
    pub const ALL: [JobKind; 4] = [
        JobKind::Check,
        JobKind::Update,
        JobKind::Baseline,
        JobKind::Housekeeping,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Check => "check",
            JobKind::Update => "update",
            JobKind::Baseline => "baseline",
            JobKind::Housekeeping => "housekeeping",
        }
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the service talks to the world and cleans up after itself.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Address of the status endpoint; `None`: no endpoint.
    pub listen: Option<std::net::SocketAddr>,
    /// What one client may cost the status endpoint.
    pub endpoint: EndpointLimits,
    /// Where state changes are POSTed; may hold a token, so it is a secret.
    pub webhook: Option<crate::redact::Secret>,
    pub webhook_timeout: Duration,
    /// Tries after the first failed POST, with doubling back-off.
    pub webhook_retries: u32,
    /// Run folders under the outputs dir older than this many days are removed.
    pub keep_outputs_days: u32,
    /// Daily log files older than this many days are removed.
    pub keep_logs_days: u32,
    /// `debug_log.txt` files longer than this are rotated.
    pub debug_log_max_lines: u32,
}

/// The status endpoint's limits (`service.endpoint_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointLimits {
    /// Connections served at once; one more is answered 503 and closed.
    pub max_connections: u32,
    /// A request's head (request line and headers) must arrive within this
    /// time of the connection opening, or of its first byte after an answer.
    pub request_timeout: Duration,
    /// A connection that waits for its next request, or stalls on its
    /// answer, with no traffic for this long is closed.
    pub idle_timeout: Duration,
    /// Largest request (head, and body by its `Content-Length`): 431 or 413
    /// past it.
    pub max_request_bytes: u32,
}

impl Default for EndpointLimits {
    fn default() -> EndpointLimits {
        defaults::ENDPOINT
    }
}
