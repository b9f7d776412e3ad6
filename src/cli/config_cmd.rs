//! `tether config example|check`.

use std::path::Path;

use clap::Subcommand;
use tether::config::{Config, ConfigError, EXAMPLE};
use tether::exit;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the documented example config.
    Example,
    /// Validate the config without touching anything.
    Check {
        /// Print the verdict as JSON: `{"valid": true, "path", "wrapper",
        /// "state", "upstreams", "warnings"}`, or `{"valid": false, "path",
        /// "problems": [{"line", "key", "message"}]}` (or `"error"` when the
        /// file cannot be read), exit 2.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: &ConfigCommand, flag: Option<&Path>) -> anyhow::Result<u8> {
    match cmd {
        ConfigCommand::Example => {
            print!("{EXAMPLE}");
            Ok(exit::OK)
        }
        ConfigCommand::Check { json: true } => check_json(&super::config_path(flag)),
        ConfigCommand::Check { json: false } => {
            let path = super::config_path(flag);
            let cfg = Config::load(&path)?;
            let cluster = tether::baseline::check_cluster(&cfg);
            if !cluster.is_empty() {
                eprintln!("config `{}` cannot run its slurm cases:", path.display());
                for problem in &cluster {
                    eprintln!("  {}", tether::redact::redact(problem));
                }
                return Ok(exit::USAGE);
            }
            println!("config `{}` is valid", path.display());
            println!("  wrapper:  {}", cfg.project.root.display());
            println!("  state:    {}", cfg.project.state_dir.display());
            for u in &cfg.upstreams {
                println!(
                    "  upstream `{}`: {} at {}/ ({}, {}, soak {})",
                    u.name,
                    tether::redact::redact(&u.url),
                    u.path.display(),
                    u.layout,
                    u.track,
                    tether::duration::format(u.soak)
                );
            }
            for warning in tether::config::warnings(&cfg) {
                println!("  warning: {warning}");
            }
            Ok(exit::OK)
        }
    }
}

/// `config check --json`: the verdict on stdout, problems included.
fn check_json(path: &Path) -> anyhow::Result<u8> {
    let (value, code) = match Config::load(path) {
        Ok(cfg) if !tether::baseline::check_cluster(&cfg).is_empty() => (
            serde_json::json!({
                "valid": false,
                "path": path,
                "problems": tether::baseline::check_cluster(&cfg)
                    .into_iter()
                    .map(|m| serde_json::json!({ "line": null, "key": "slurm", "message": m }))
                    .collect::<Vec<_>>(),
            }),
            exit::USAGE,
        ),
        Ok(cfg) => {
            let upstreams: Vec<serde_json::Value> = cfg
                .upstreams
                .iter()
                .map(|u| {
                    serde_json::json!({
                        "name": u.name,
                        "url": tether::redact::redact(&u.url),
                        "path": u.path,
                        "layout": u.layout.to_string(),
                        "track": u.track.to_string(),
                        "soak": tether::duration::format(u.soak).to_string(),
                    })
                })
                .collect();
            let value = serde_json::json!({
                "valid": true,
                "path": path,
                "wrapper": cfg.project.root,
                "state": cfg.project.state_dir,
                "upstreams": upstreams,
                "warnings": tether::config::warnings(&cfg),
            });
            (value, exit::OK)
        }
        Err(ConfigError::Invalid { problems, .. }) => (
            serde_json::json!({ "valid": false, "path": path, "problems": problems }),
            exit::USAGE,
        ),
        Err(e) => (
            serde_json::json!({
                "valid": false,
                "path": path,
                "error": tether::redact::error_chain(&e),
            }),
            exit::USAGE,
        ),
    };
    println!("{}", tether::document::value_json(&value)?);
    Ok(code)
}
