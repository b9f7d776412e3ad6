//! Every default of the config, in one place: what a key means when the file
//! leaves it out. `tether.example.toml` shows the same values, commented out.
//! Owns only the values; `validate` applies them.

use std::time::Duration;

use super::model::{
    EndpointLimits, EscalationConfig, OnUnfixable, Preflight, PromotePolicy, StrategyKind,
    Thresholds,
};
use crate::protocol::DeviceChoice;

// [project]
pub const ROOT: &str = ".";
pub const PYTHON: &str = "python3";
pub const STATE_DIR: &str = ".tether";
pub const ANALYSIS_DIR: &str = "maintenance_analysis";
pub const OUTPUTS_DIR: &str = "outputs";
/// The project's name when the root folder has none.
pub const PROJECT_NAME: &str = "wrapper";

// [[upstream]]
pub const TRACK_BRANCH: &str = "main";
pub const SOAK: Duration = Duration::ZERO;
pub const KEY_FILES: &[&str] = &["*.py", "defaults/*.json", "requirements*.txt"];
pub const RECORD_FILE: &str = "STRUCTURE.md";
pub const RECORD_PATTERN: &str = r"(?i)upstream[ _-]commit\W*([0-9a-f]{7,40})\b";
pub const CREDENTIAL_TIMEOUT: Duration = Duration::from_secs(30);
pub const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

// [integration]
pub const SCAN: &[&str] = &["**/*.py"];
pub const EXCLUDE: &[&str] = &[
    ".git/**",
    ".tether/**",
    ".venv/**",
    "venv/**",
    "**/__pycache__/**",
    "**/site-packages/**",
];
pub const CONFIG_DIRS: &[&str] = &["defaults"];

// [analysis]
/// Protected packages: an update that changes one of these is flagged.
pub const PROTECTED: &[&str] = &[
    "torch",
    "torchvision",
    "torchaudio",
    "triton",
    "xformers",
    "flash-attn",
    "sageattention",
    "numpy",
    "nvidia-*",
    "cuda-*",
];
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
pub const RENAME_SIMILARITY: f64 = 0.6;
pub const MAX_FINDINGS_PER_KIND: u32 = 500;
pub const MAX_FINDINGS_PER_FILE: u32 = 100;
pub const MAX_REPORT_BYTES: u64 = 16 * 1024 * 1024;
/// The smallest report cap: room for the headings and the note.
pub const MIN_REPORT_BYTES: u64 = 4096;

// [baseline]
pub const BASELINE_COMMAND: &str =
    "{python} test_model_comparison.py --settings {settings_json} --output-dir {output_dir}";
pub const CASE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
pub const GRACE_PERIOD: Duration = Duration::from_secs(10);
pub const MAX_LOG_BYTES: u64 = 64 * 1024 * 1024;
/// The smallest log cap.
pub const MIN_LOG_BYTES: u64 = 4096;
pub const OVERRIDES_FILE: &str = "tether_baseline.json";
pub const REFERENCES_DIR: &str = "baselines";
pub const VRAM_SAMPLE_INTERVAL: Duration = Duration::from_millis(500);
pub const QUALITY: bool = true;
pub const QUALITY_MAX_SIDE: u32 = 256;
pub const THRESHOLDS: Thresholds = Thresholds {
    min_mean_ssim: 0.93,
    max_duration_ratio: 1.25,
    max_vram_ratio: 1.10,
};

// [[baseline.case]] with runner = "torchscript"
pub const CANARY_METHOD: &str = "forward";
pub const CANARY_DTYPE: &str = "fp32";
pub const CANARY_WARMUP: u32 = 2;
pub const CANARY_ITERATIONS: u32 = 5;
pub const CANARY_MAX_ABS_ERROR: f64 = 1e-3;
pub const CANARY_MIN_COSINE: f64 = 0.999;
pub const INPUT_DTYPE: &str = "fp32";
pub const INPUT_FILL: &str = "normal";
pub const INPUT_VALUE: f64 = 0.0;
pub const INPUT_SEED: u64 = 0;

// [update]
pub const MAX_ATTEMPTS: u32 = 10;
pub const SWITCH_AFTER_NO_PROGRESS: u32 = 5;
pub const SWITCH_AFTER_REPEATS: u32 = 3;
pub const STRATEGIES: [StrategyKind; 7] = StrategyKind::ALL;
pub const ON_UNFIXABLE: OnUnfixable = OnUnfixable::Rollback;
pub const COMMIT_AUTHOR: (&str, &str) = ("tether", "tether@localhost");
pub const ALLOW_REGRESSIONS: bool = false;
pub const BISECT_RETRIES: u32 = 0;
pub const REMEMBER_HELD: bool = true;
pub const PROMOTE: PromotePolicy = PromotePolicy::Auto;
pub const PARKED_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

// [escalation]: the maintenance guide's triggers
pub const ESCALATION: EscalationConfig = EscalationConfig {
    consecutive_failures: 10,
    same_failure_days: 3,
    held_back_days: 14,
    gpu_errors: true,
    protected_changes: true,
    remind_every: Duration::from_secs(24 * 3600),
};

// [fix]
pub const LENGTH_PARAM: &str = "video_length";
pub const FRAME_STEP: u32 = 4;
pub const MIN_LENGTH: u32 = 17;
pub const RESOLUTION_PARAM: &str = "resolution";
pub const RESOLUTION_SCALE: f64 = 0.75;
pub const MIN_RESOLUTION: (u32, u32) = (256, 256);
pub const MEMORY_PROFILE_PARAM: &str = "profile";
pub const EXTERNAL_TIMEOUT: Duration = Duration::from_secs(20 * 60);

// [gpu]
pub const PREFLIGHT: Preflight = Preflight::Auto;
pub const DEVICE: DeviceChoice = DeviceChoice::Auto;
pub const GPU_TIMEOUT: Duration = Duration::from_secs(10 * 60);
pub const MIN_TFLOPS: f64 = 0.0;

// [schedule]: the time zone is UTC; a job left out does not run.

// [service]
pub const LISTEN: std::net::SocketAddr = std::net::SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::new(127, 0, 0, 1),
    9477,
));
pub const ENDPOINT: EndpointLimits = EndpointLimits {
    max_connections: 1024,
    request_timeout: Duration::from_secs(10),
    idle_timeout: Duration::from_secs(60),
    max_request_bytes: 16 * 1024,
};
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
pub const WEBHOOK_RETRIES: u32 = 5;
pub const KEEP_OUTPUTS_DAYS: u32 = 14;
pub const KEEP_LOGS_DAYS: u32 = 14;
pub const DEBUG_LOG_MAX_LINES: u32 = 1000;

// [slurm]
pub const MAX_PARALLEL: u32 = 4;
pub const SLURM_GRES: &str = "gpu:1";
pub const MAX_PENDING: Duration = Duration::from_secs(60 * 60);
pub const POLL_MIN: Duration = Duration::from_millis(500);
pub const POLL_MAX: Duration = Duration::from_secs(30);
