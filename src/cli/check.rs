//! `tether check`: how far each upstream is behind (read-only).

use tether::config::Config;
use tether::exit;
use tether::report::Summary;
use tether::upstream::{self, CheckOptions, CheckReport, GroupCheck};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Only this upstream, or this `[[group]]` (one table).
    #[arg(long, value_name = "NAME")]
    pub upstream: Option<String>,
    /// Print JSON instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Do not fetch; use the mirror as it is.
    #[arg(long)]
    pub no_fetch: bool,
    /// Exit 17 when an update can be adopted (for scripts and CI, like
    /// `git diff --exit-code`); 0 when every upstream is up to date.
    #[arg(long)]
    pub exit_code: bool,
}

pub fn run(args: &CheckArgs, cfg: &Config) -> anyhow::Result<u8> {
    let opts = CheckOptions {
        fetch: !args.no_fetch,
    };
    let mut reports = Vec::new();
    match (
        args.upstream.as_deref(),
        args.upstream.as_deref().and_then(|n| cfg.group(n)),
    ) {
        (_, Some(g)) => reports.push(Checked::Group(upstream::check_group(cfg, g, &opts)?)),
        (Some(_), None) => {
            for up in super::selected(cfg, args.upstream.as_deref())? {
                reports.push(Checked::One(Box::new(upstream::check(cfg, up, &opts)?)));
            }
        }
        // each group as one table, then each upstream in no group
        (None, None) => {
            for g in &cfg.groups {
                reports.push(Checked::Group(upstream::check_group(cfg, g, &opts)?));
            }
            for up in cfg
                .upstreams
                .iter()
                .filter(|u| cfg.group_of(&u.name).is_none())
            {
                reports.push(Checked::One(Box::new(upstream::check(cfg, up, &opts)?)));
            }
        }
    }
    super::print_report(&reports, args.json)?;
    Ok(if reports.iter().any(Checked::history_rewritten) {
        exit::HISTORY_REWRITTEN
    } else if args.exit_code && reports.iter().any(Checked::adoptable) {
        exit::UPDATE_AVAILABLE
    } else {
        exit::OK
    })
}

/// One entry of `tether check`'s output: a group (one table, `{"group",
/// "members"}` in JSON) or an upstream in no group (as before).
enum Checked {
    Group(GroupCheck),
    One(Box<CheckReport>),
}

impl Checked {
    fn history_rewritten(&self) -> bool {
        match self {
            Checked::Group(g) => g.history_rewritten(),
            Checked::One(r) => r.history.is_rewritten(),
        }
    }

    /// Whether an update can be adopted (in a group: any member's).
    fn adoptable(&self) -> bool {
        match self {
            Checked::Group(g) => g.members.iter().any(|m| m.adoptable.is_some()),
            Checked::One(r) => r.adoptable.is_some(),
        }
    }
}

impl serde::Serialize for Checked {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Checked::Group(g) => g.serialize(s),
            Checked::One(r) => r.serialize(s),
        }
    }
}

impl Summary for Checked {
    fn summary(&self) -> String {
        match self {
            Checked::Group(g) => g.summary(),
            Checked::One(r) => r.summary(),
        }
    }
}
