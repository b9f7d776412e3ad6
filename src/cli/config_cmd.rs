//! `tether config example|check`.

use std::path::Path;

use clap::Subcommand;
use tether::config::{Config, EXAMPLE};
use tether::exit;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the documented example config.
    Example,
    /// Validate the config without touching anything.
    Check,
}

pub fn run(cmd: &ConfigCommand, flag: Option<&Path>) -> anyhow::Result<u8> {
    match cmd {
        ConfigCommand::Example => {
            print!("{EXAMPLE}");
            Ok(exit::OK)
        }
        ConfigCommand::Check => {
            let path = super::config_path(flag);
            let cfg = Config::load(&path)?;
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
