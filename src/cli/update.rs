//! `tether update`: stage the upstream's target, prove it with the baseline,
//! fix what can be fixed, then promote or roll back.

use tether::config::Config;
use tether::exit;
use tether::pipeline::{self as update, UpdateOptions, UpdateOutcome};

#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// Only this upstream.
    #[arg(long, value_name = "NAME")]
    pub upstream: Option<String>,
    /// Update to this revision instead of the newest soaked commit of the
    /// track rule; `last-good` bisects and adopts the commit before the first
    /// bad one.
    #[arg(long, value_name = "REV")]
    pub to: Option<String>,
    /// Stage and test, then stop before promotion and say what would be promoted.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not run the fix loop: promote only if the baseline passes as is.
    #[arg(long)]
    pub no_fix: bool,
    /// Print the update report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &UpdateArgs, cfg: &Config) -> anyhow::Result<u8> {
    let upstreams = super::selected(cfg, args.upstream.as_deref())?;
    if args.to.is_some() && upstreams.len() > 1 {
        return Err(super::UsageError(
            "--to needs --upstream NAME when the config has several upstreams".into(),
        )
        .into());
    }
    if cfg.baseline.cases.is_empty() {
        return Err(super::UsageError(
            "no baseline cases are configured: tether promotes an update only after the wrapper's baseline passes; add [[baseline.case]] tables (see `tether config example`)".into(),
        )
        .into());
    }
    let opts = UpdateOptions {
        to: args.to.clone(),
        dry_run: args.dry_run,
        no_fix: args.no_fix,
    };
    let mut code = exit::OK;
    let mut reports = Vec::new();
    for up in upstreams {
        let report = update::update(cfg, up, &opts).map_err(|e| {
            anyhow::Error::new(e).context(format!("update of `{}` failed", up.name))
        })?;
        if matches!(report.outcome, UpdateOutcome::RolledBack { .. }) {
            code = exit::ROLLED_BACK;
        }
        // without --json each summary is printed as soon as it is known
        if args.json {
            reports.push(report);
        } else {
            super::print_report(&[&report], false)?;
        }
    }
    if args.json {
        super::print_report(&reports, true)?;
    }
    Ok(code)
}
