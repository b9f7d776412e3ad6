//! The approval gate's commands: `tether pending` lists the parked
//! updates, `tether approve <id>` promotes one exactly as tested, `tether
//! reject <id>` drops one and holds its upstream.

use tether::config::Config;
use tether::exit;
use tether::pipeline;

#[derive(Debug, clap::Args)]
pub struct PendingArgs {
    /// Print the parked updates as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct DecideArgs {
    /// The parked update's id, as `tether pending` shows it.
    pub id: String,
    /// Print the update report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn pending(args: &PendingArgs, cfg: &Config) -> anyhow::Result<u8> {
    super::print_report(&[pipeline::pending(cfg)], args.json)?;
    Ok(exit::OK)
}

pub fn approve(args: &DecideArgs, cfg: &Config) -> anyhow::Result<u8> {
    let report = pipeline::approve(cfg, &args.id)
        .map_err(|e| anyhow::Error::new(e).context(format!("approve {} failed", args.id)))?;
    super::print_report(&[&report], args.json)?;
    Ok(exit::OK)
}

pub fn reject(args: &DecideArgs, cfg: &Config) -> anyhow::Result<u8> {
    let report = pipeline::reject(cfg, &args.id)
        .map_err(|e| anyhow::Error::new(e).context(format!("reject {} failed", args.id)))?;
    super::print_report(&[&report], args.json)?;
    Ok(exit::OK)
}

#[derive(Debug, clap::Args)]
pub struct AckArgs {
    /// The escalation's id, as `tether health` and the webhook show it.
    pub id: String,
}

/// `tether ack <id>`: silences an escalation until its evidence changes.
pub fn ack(args: &AckArgs, cfg: &Config) -> anyhow::Result<u8> {
    let by = format!(
        "{}@{}",
        tether::env::var(tether::env::USER)
            .or_else(|| tether::env::var(tether::env::LOGNAME))
            .unwrap_or_else(|| "unknown".into()),
        tether::state::hostname()
    );
    match tether::daemon::escalation::ack(cfg, &args.id, &by) {
        Ok(a) => {
            println!(
                "acknowledged escalation {} as {}; it stays silent until its evidence changes",
                a.id, a.by
            );
            Ok(exit::OK)
        }
        Err(e @ tether::daemon::escalation::AckError::Unknown { .. }) => {
            Err(super::UsageError(e.to_string()).into())
        }
        Err(e) => Err(e.into()),
    }
}
