//! The command line: argument definitions and dispatch. Each subcommand lives
//! in its own file and returns an exit code; the library does the work.

mod analyze;
mod baseline;
mod bisect;
mod case_exec;
mod check;
mod config_cmd;
mod demo;
mod gate;
mod gpu;
mod health;
pub mod json_error;
mod progress;
mod report;
mod update;
mod watch;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tether::config::{Config, ConfigError};
use tether::report::Summary;
use tether::{env, exit};

#[derive(Debug, Parser)]
#[command(
    name = "tether",
    version,
    about = "Keeps a Python wrapper working while the upstream it embeds keeps moving"
)]
pub struct Args {
    /// Config file. Default: $TETHER_CONFIG, else ./tether.toml
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// More logging (-v debug, -vv trace). TETHER_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show how far each upstream is behind its target (read-only).
    Check(check::CheckArgs),
    /// Analyse what changed upstream and which integration points it touches.
    Analyze(analyze::AnalyzeArgs),
    /// Print the example config or validate a config.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Run the baseline generation suite, or record its references.
    #[command(subcommand)]
    Baseline(baseline::BaselineCommand),
    /// Take the upstream to its target: stage, test, fix, then promote or roll back.
    Update(update::UpdateArgs),
    /// Find the upstream commit that broke the baseline (binary search over
    /// staged baseline runs).
    Bisect(bisect::BisectArgs),
    /// Build the demo project and run `tether update` on it end to end.
    Demo(demo::DemoArgs),
    /// The GPU stack as libtorch sees it (run in the tether-gpu worker).
    #[command(subcommand)]
    Gpu(gpu::GpuCommand),
    /// The diagnostic report: system, GPUs, torch stack, Python, upstreams,
    /// service and baseline trend, with a verdict.
    Health(health::HealthArgs),
    /// Run the monitoring service: the `[schedule]` jobs, a status endpoint
    /// and webhook notifications, until SIGTERM.
    Watch(watch::WatchArgs),
    /// Find the HTML reports: `report open [RUN] [--browser]`.
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Run one baseline case on this machine and write its result (the
    /// slurm executor's job on a node).
    #[command(hide = true)]
    CaseExec(case_exec::CaseExecArgs),
    /// List the updates the approval gate (`update.promote`) parked.
    Pending(gate::PendingArgs),
    /// Promote a parked update, exactly as it was tested.
    Approve(gate::DecideArgs),
    /// Drop a parked update and hold its upstream until the upstream moves.
    Reject(gate::DecideArgs),
    /// Silence an escalation until its evidence changes.
    Ack(gate::AckArgs),
}

impl Command {
    /// Whether the command was asked for JSON (`--json`): then a failure
    /// prints a JSON error document on stdout too ([`json_error`]).
    pub fn json(&self) -> bool {
        match self {
            Command::Check(c) => c.json,
            Command::Analyze(c) => c.json,
            Command::Config(config_cmd::ConfigCommand::Check { json }) => *json,
            Command::Config(config_cmd::ConfigCommand::Example) => false,
            Command::Baseline(
                baseline::BaselineCommand::Run(a) | baseline::BaselineCommand::Record(a),
            ) => a.json,
            Command::Baseline(baseline::BaselineCommand::Compare(a)) => a.json,
            Command::Update(c) => c.json,
            Command::Bisect(c) => c.json,
            Command::Gpu(gpu::GpuCommand::Probe(c)) => c.json,
            Command::Health(c) => c.json,
            Command::Pending(c) => c.json,
            Command::Approve(c) | Command::Reject(c) => c.json,
            Command::Demo(_)
            | Command::Watch(_)
            | Command::Report(_)
            | Command::Ack(_)
            | Command::CaseExec(_) => false,
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    progress::install(&args.command);
    let result = dispatch(args);
    progress::finish();
    result
}

fn dispatch(args: Args) -> anyhow::Result<u8> {
    match &args.command {
        Command::Config(c) => config_cmd::run(c, args.config.as_deref()),
        Command::Check(c) => check::run(c, &recovered_config(args.config.as_deref())?),
        Command::Analyze(c) => analyze::run(c, &recovered_config(args.config.as_deref())?),
        Command::Baseline(c) => baseline::run(c, &recovered_config(args.config.as_deref())?),
        // update takes the lock and recovers itself
        Command::Update(c) => update::run(c, &load_config(args.config.as_deref())?),
        Command::Demo(c) => demo::run(c),
        Command::Bisect(c) => bisect::run(c, &recovered_config(args.config.as_deref())?),
        Command::Gpu(c) => gpu::run(c, args.config.as_deref()),
        Command::Health(c) => health::run(c, args.config.as_deref()),
        Command::Watch(c) => watch::run(c, args.config.as_deref(), args.verbose),
        Command::Report(c) => report::run(c, args.config.as_deref()),
        // no state dir: the controller's tether owns it, on another host
        Command::CaseExec(c) => {
            case_exec::run(c, &Config::load(&config_path(args.config.as_deref()))?)
        }
        // pending reads only; approve and reject take the lock and recover
        Command::Pending(c) => gate::pending(c, &load_config(args.config.as_deref())?),
        Command::Approve(c) => gate::approve(c, &load_config(args.config.as_deref())?),
        Command::Reject(c) => gate::reject(c, &load_config(args.config.as_deref())?),
        Command::Ack(c) => gate::ack(c, &load_config(args.config.as_deref())?),
    }
}

/// Loads the config and, when an earlier update was interrupted (a crash,
/// `kill -9`), recovers from it first and says what it did.
pub fn recovered_config(flag: Option<&std::path::Path>) -> anyhow::Result<Config> {
    let cfg = load_config(flag)?;
    if let Some(message) = tether::pipeline::recover_if_idle(&cfg)? {
        eprintln!("tether: {}", tether::redact::redact(&message));
    }
    Ok(cfg)
}

/// The config file path: `--config`, else `$TETHER_CONFIG`, else `./tether.toml`.
pub fn config_path(flag: Option<&std::path::Path>) -> PathBuf {
    flag.map(PathBuf::from)
        .or_else(|| env::var_os(env::TETHER_CONFIG).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("tether.toml"))
}

/// Loads the config; from then on every child process is registered in the
/// state dir, and children an earlier, killed tether left running are stopped.
pub fn load_config(flag: Option<&std::path::Path>) -> anyhow::Result<Config> {
    let cfg = Config::load(&config_path(flag))?;
    use_state_dir(&cfg);
    Ok(cfg)
}

pub fn use_state_dir(cfg: &Config) {
    let children = cfg.project.state_dir.join("children");
    for line in tether::process::reap_orphans(&children) {
        eprintln!("tether: {line}");
    }
    tether::process::set_registry(children);
    for line in tether::slurm::cancel_orphans(&cfg.project.state_dir.join("slurm-jobs")) {
        eprintln!("tether: {line}");
    }
}

/// Logging for one-shot commands (the service sets up its own, with files).
pub fn init_logging(verbose: u8) -> tether::logs::Guard {
    tether::logs::init(verbose, None)
}

/// Exit code for an error: config problems are usage errors.
pub fn error_exit_code(err: &anyhow::Error) -> u8 {
    let locked = err.chain().any(|e| {
        matches!(
            e.downcast_ref::<tether::daemon::WatchError>(),
            Some(tether::daemon::WatchError::AlreadyRunning(_))
        ) || matches!(
            e.downcast_ref::<tether::pipeline::bisect::BisectError>(),
            Some(tether::pipeline::bisect::BisectError::Lock(_))
        ) || e.is::<tether::state::LockError>()
            || matches!(
                e.downcast_ref::<tether::pipeline::TransactionError>(),
                Some(tether::pipeline::TransactionError::Lock(_))
            )
    });
    if locked {
        return exit::LOCKED;
    }
    if err.chain().any(|e| {
        e.downcast_ref::<tether::update::UpdateError>()
            .is_some_and(tether::update::UpdateError::blocks_recovery)
            || matches!(
                e.downcast_ref::<tether::pipeline::TransactionError>(),
                Some(tether::pipeline::TransactionError::Update(u)) if u.blocks_recovery()
            )
            || matches!(
                e.downcast_ref::<tether::pipeline::bisect::BisectError>(),
                Some(tether::pipeline::bisect::BisectError::Update(u)) if u.blocks_recovery()
            )
    }) {
        return exit::RECOVERY_BLOCKED;
    }
    if err.chain().any(|e| {
        e.downcast_ref::<tether::pipeline::TransactionError>()
            .is_some_and(tether::pipeline::TransactionError::is_paused)
    }) {
        return exit::PAUSED;
    }
    if err.chain().any(|e| {
        matches!(
            e.downcast_ref::<tether::pipeline::TransactionError>(),
            Some(tether::pipeline::TransactionError::NoPausedUpdate(_))
        ) || matches!(
            e.downcast_ref::<tether::pipeline::TransactionError>(),
            Some(tether::pipeline::TransactionError::Gate(g)) if g.is_usage()
        )
    }) {
        return exit::USAGE;
    }
    if err.chain().any(|e| {
        matches!(
            e.downcast_ref::<tether::pipeline::TransactionError>(),
            Some(tether::pipeline::TransactionError::Gate(
                tether::pipeline::GateError::Moved { .. }
            ))
        )
    }) {
        return exit::APPROVAL_REFUSED;
    }
    if err.chain().any(|e| {
        matches!(
            e.downcast_ref::<tether::baseline::BaselineError>(),
            Some(tether::baseline::BaselineError::Preflight { .. })
        )
    }) {
        return exit::GPU_BROKEN;
    }
    if matches!(
        err.downcast_ref::<tether::daemon::WatchError>(),
        Some(tether::daemon::WatchError::NoJobs)
    ) {
        return exit::USAGE;
    }
    if matches!(
        err.downcast_ref::<tether::pipeline::bisect::BisectError>(),
        Some(
            tether::pipeline::bisect::BisectError::Baseline(
                tether::baseline::BaselineError::UnknownCase { .. }
            ) | tether::pipeline::bisect::BisectError::NotAncestor { .. }
                | tether::pipeline::bisect::BisectError::Empty(_)
        )
    ) {
        return exit::USAGE;
    }
    if err.chain().any(|e| {
        e.downcast_ref::<tether::upstream::UpstreamError>()
            .is_some_and(tether::upstream::UpstreamError::is_config_error)
            || e.downcast_ref::<tether::pipeline::TransactionError>()
                .is_some_and(tether::pipeline::TransactionError::is_config_error)
            // transparent: the chain never shows the upstream error itself
            || matches!(
                e.downcast_ref::<tether::analysis::AnalysisError>(),
                Some(tether::analysis::AnalysisError::Upstream(u)) if u.is_config_error()
            )
    }) {
        return exit::USAGE;
    }
    if err.downcast_ref::<ConfigError>().is_some() || err.downcast_ref::<UsageError>().is_some() {
        exit::USAGE
    } else {
        exit::FAILURE
    }
}

/// A hint printed under an error, where one helps.
pub fn hint_for(err: &anyhow::Error) -> Option<String> {
    match err.downcast_ref::<ConfigError>() {
        Some(ConfigError::Read { path, .. }) => Some(format!(
            "create one with `tether config example > {}` and edit it, or pass --config PATH",
            path.display()
        )),
        _ => None,
    }
}

/// A wrong argument that clap cannot see (e.g. an unknown upstream name).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The upstreams a command works on: `--upstream NAME` or all.
pub fn selected<'a>(
    cfg: &'a Config,
    name: Option<&str>,
) -> anyhow::Result<Vec<&'a tether::config::UpstreamConfig>> {
    cfg.select_upstreams(name).ok_or_else(|| {
        let known: Vec<_> = cfg.upstreams.iter().map(|u| u.name.as_str()).collect();
        UsageError(format!(
            "no upstream named `{}` in the config (known: {})",
            name.unwrap_or_default(),
            tether::text::cut_list(&known, tether::text::MESSAGE_ITEMS)
        ))
        .into()
    })
}

/// The one way a command prints its result: with `--json` one report model
/// as a JSON object and several as an array, else each model's terminal
/// summary (several separated by a blank line); redacted once, either way.
pub fn print_report<T: serde::Serialize + Summary>(
    reports: &[T],
    json: bool,
) -> anyhow::Result<()> {
    if json {
        let text = match reports {
            [one] => tether::document::value_json(one)?,
            all => tether::document::value_json(all)?,
        };
        println!("{text}");
    } else {
        let text: Vec<String> = reports.iter().map(Summary::summary).collect();
        print!("{}", tether::redact::redact(&text.join("\n")));
    }
    Ok(())
}
