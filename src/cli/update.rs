//! `tether update`: stage the upstream's target, prove it with the baseline,
//! fix what can be fixed, then promote or roll back.

use tether::config::Config;
use tether::exit;
use tether::pipeline::{self as update, UpdateOptions, UpdateOutcome};

#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// Only this upstream, or this `[[group]]` (its members in one
    /// transaction). Without it: each group as one, then each upstream in
    /// no group alone.
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
    /// Finish the update that is paused on conflicts, after resolving them
    /// in its staged tree: refused while conflict markers remain; then the
    /// resolution is committed, the baseline runs and the update is
    /// promoted or rolled back.
    #[arg(long = "continue", conflicts_with_all = ["abort", "to", "upstream"])]
    pub resume: bool,
    /// Drop the update that is paused on conflicts (the live wrapper stays
    /// as it is).
    #[arg(long, conflicts_with_all = ["to", "upstream", "dry_run", "no_fix"])]
    pub abort: bool,
    /// Print the update report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The exit code of one update's report.
fn code_of(report: &tether::pipeline::UpdateReport) -> u8 {
    match report.outcome {
        UpdateOutcome::RolledBack { .. } => exit::ROLLED_BACK,
        UpdateOutcome::Paused { .. } => exit::PAUSED,
        UpdateOutcome::Parked { .. } => exit::PARKED,
        _ => exit::OK,
    }
}

pub fn run(args: &UpdateArgs, cfg: &Config) -> anyhow::Result<u8> {
    if args.resume || args.abort {
        let report = if args.abort {
            update::abort(cfg)
                .map_err(|e| anyhow::Error::new(e).context("update --abort failed"))?
        } else {
            let opts = UpdateOptions {
                to: None,
                dry_run: args.dry_run,
                no_fix: args.no_fix,
            };
            update::continue_update(cfg, &opts)
                .map_err(|e| anyhow::Error::new(e).context("update --continue failed"))?
        };
        super::print_report(&[&report], args.json)?;
        // an abort did what was asked: the live wrapper is as it was
        return Ok(if args.abort {
            exit::OK
        } else {
            code_of(&report)
        });
    }
    let group = args.upstream.as_deref().and_then(|n| cfg.group(n));
    let several = args.upstream.is_none() && cfg.upstreams.len() > 1;
    let last_good = args.to.as_deref() == Some(update::LAST_GOOD);
    if args.to.is_some() && (several || (group.is_some() && !last_good)) {
        return Err(super::UsageError(
            "--to needs --upstream NAME naming one upstream (a group takes only --to last-good) when the config has several upstreams".into(),
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
    // each group as one, then each upstream alone
    let mut runs: Vec<Run<'_>> = Vec::new();
    match (group, args.upstream.as_deref()) {
        (Some(g), _) => runs.push(Run::Group(g)),
        (None, Some(_)) => {
            for up in super::selected(cfg, args.upstream.as_deref())? {
                runs.push(Run::One(up));
            }
        }
        (None, None) => {
            runs.extend(cfg.groups.iter().map(Run::Group));
            runs.extend(
                cfg.upstreams
                    .iter()
                    .filter(|u| cfg.group_of(&u.name).is_none())
                    .map(Run::One),
            );
        }
    }
    let mut code = exit::OK;
    let mut reports = Vec::new();
    for run in runs {
        let (what, result) = match run {
            Run::Group(g) => (
                format!("group `{}`", g.name),
                update::update_group(cfg, g, &opts),
            ),
            Run::One(up) => (format!("`{}`", up.name), update::update(cfg, up, &opts)),
        };
        let report = result
            .map_err(|e| anyhow::Error::new(e).context(format!("update of {what} failed")))?;
        if code_of(&report) != exit::OK {
            code = code_of(&report);
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

/// One transaction of a `tether update` run.
enum Run<'a> {
    Group(&'a tether::config::GroupConfig),
    One(&'a tether::config::UpstreamConfig),
}
