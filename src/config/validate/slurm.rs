//! `[slurm]`: the placement of jobs, their limits, and `shared_dir`, which
//! any case on the slurm executor needs.

use std::path::Path;

use super::{Problems, resolve};
use crate::config::defaults;
use crate::config::model::{Config, Executor, SlurmConfig, SlurmPlacement, SlurmTarget};
use crate::config::raw::{RawSlurm, RawSlurmTarget};

pub(super) fn slurm(raw: RawSlurm, base: &Path, p: &mut Problems) -> SlurmConfig {
    let poll_min = raw.poll_min.map_or(defaults::POLL_MIN, |d| d.0);
    let poll_max = raw.poll_max.map_or(defaults::POLL_MAX, |d| d.0);
    if poll_max < poll_min {
        p.add(
            "slurm.poll_max",
            format!(
                "must not be shorter than slurm.poll_min ({})",
                crate::duration::format(poll_min)
            ),
        );
    }
    let gres = match raw.gres {
        None => Some(defaults::SLURM_GRES.to_owned()),
        Some(g) => gres(g),
    };
    check_args("slurm.extra_args", raw.extra_args.as_deref(), p);
    let placement = SlurmPlacement {
        partition: raw.partition.map(|v| v.0),
        account: raw.account.map(|v| v.0),
        qos: raw.qos.map(|v| v.0),
        gres,
    };
    let extra_args = raw.extra_args.unwrap_or_default();
    let mut targets: Vec<SlurmTarget> = Vec::new();
    for (i, t) in raw.target.into_iter().enumerate() {
        if let Some(t) = target(i, t, &placement, &extra_args, &targets, p) {
            targets.push(t);
        }
    }
    SlurmConfig {
        placement,
        cpus: raw.cpus.map(|n| n.0),
        memory: raw.memory.map(|v| v.0),
        time_limit: raw.time_limit.map(|d| d.0),
        extra_args,
        targets,
        tether_bin: raw.tether_bin.map(|b| resolve(base, &b.0)),
        shared_dir: raw.shared_dir.map(|d| resolve(base, &d.0)),
        max_pending: raw.max_pending.map_or(defaults::MAX_PENDING, |d| d.0),
        poll_min,
        poll_max,
    }
}

/// `gres = ""` asks for no generic resources.
fn gres(g: String) -> Option<String> {
    (!g.trim().is_empty()).then_some(g)
}

/// Each sbatch argument must be one option.
fn check_args(key: &str, args: Option<&[String]>, p: &mut Problems) {
    for (i, a) in args.into_iter().flatten().enumerate() {
        if !a.starts_with('-') {
            p.add(
                format!("{key}[{i}]"),
                format!(
                    "`{a}` is not an option: write each sbatch option as one item, `--key=value`"
                ),
            );
        }
    }
}

/// One `[[slurm.target]]`, its keys over `[slurm]`'s.
fn target(
    i: usize,
    raw: RawSlurmTarget,
    base: &SlurmPlacement,
    base_args: &[String],
    earlier: &[SlurmTarget],
    p: &mut Problems,
) -> Option<SlurmTarget> {
    let key = format!("slurm.target[{i}]");
    check_args(&format!("{key}.extra_args"), raw.extra_args.as_deref(), p);
    let Some(name) = raw.name.map(|n| n.0) else {
        p.add(
            format!("{key}.name"),
            "missing: each target needs a name (\"h100\")",
        );
        return None;
    };
    // the name becomes part of folder names (`<case>@<target>`)
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        p.add(
            format!("{key}.name"),
            format!("`{name}`: use letters, digits, `-`, `_` and `.` only"),
        );
        return None;
    }
    if earlier.iter().any(|t| t.name == name) {
        p.add(format!("{key}.name"), format!("`{name}` is named twice"));
        return None;
    }
    let mut extra_args = base_args.to_vec();
    extra_args.extend(raw.extra_args.unwrap_or_default());
    Some(SlurmTarget {
        name,
        placement: SlurmPlacement {
            partition: raw
                .partition
                .map(|v| v.0)
                .or_else(|| base.partition.clone()),
            account: raw.account.map(|v| v.0).or_else(|| base.account.clone()),
            qos: raw.qos.map(|v| v.0).or_else(|| base.qos.clone()),
            gres: match raw.gres {
                Some(g) => gres(g),
                None => base.gres.clone(),
            },
        },
        extra_args,
    })
}

/// A case on the slurm executor needs `slurm.shared_dir`.
pub(super) fn needs_shared_dir(cfg: &Config, p: &mut Problems) {
    if cfg.slurm.shared_dir.is_some() {
        return;
    }
    if cfg.baseline.executor == Executor::Slurm {
        p.add(
            "slurm.shared_dir",
            "missing: `baseline.executor = \"slurm\"` needs a folder every node sees",
        );
        return;
    }
    for (i, c) in cfg.baseline.cases.iter().enumerate() {
        if c.executor == Some(Executor::Slurm) {
            p.add(
                "slurm.shared_dir",
                format!("missing: `baseline.case[{i}].executor = \"slurm\"` needs a folder every node sees"),
            );
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, Executor};

    const UPSTREAM: &str =
        "[[upstream]]\nname = \"a\"\nurl = \"u\"\npath = \"p\"\nlayout = \"clone\"\n";

    fn problems(text: &str) -> Vec<(String, Option<usize>, String)> {
        match Config::parse(&format!("{UPSTREAM}{text}"), Path::new("/base")) {
            Err(problems) => problems
                .into_iter()
                .map(|p| (p.key, p.line, p.message))
                .collect(),
            Ok(_) => panic!("valid: {text}"),
        }
    }

    #[test]
    fn slurm_keys_take_defaults_and_an_empty_gres_asks_for_none() {
        let cfg = Config::parse(
            &format!("{UPSTREAM}[baseline]\nexecutor = \"slurm\"\n[slurm]\nshared_dir = \"shared\"\ngres = \"\"\n"),
            Path::new("/base"),
        )
        .unwrap();
        assert_eq!(cfg.baseline.executor, Executor::Slurm);
        assert_eq!(cfg.slurm.placement.gres, None);
        assert_eq!(
            cfg.slurm.shared_dir.as_deref(),
            Some(Path::new("/base/shared"))
        );
        let cfg = Config::parse(UPSTREAM, Path::new("/base")).unwrap();
        assert_eq!(cfg.slurm.placement.gres.as_deref(), Some("gpu:1"));
        assert_eq!(cfg.baseline.executor, Executor::Local);
    }

    #[test]
    fn a_slurm_case_without_shared_dir_and_bad_slurm_values_name_key_and_line() {
        let p = problems(
            "[[baseline.case]]\nname = \"c\"\nmodel = \"m\"\nexecutor = \"slurm\"\n[slurm]\npoll_min = \"5s\"\npoll_max = \"1s\"\nextra_args = [\"exclusive\"]\n",
        );
        let keys: Vec<&str> = p.iter().map(|(k, _, _)| k.as_str()).collect();
        assert!(keys.contains(&"slurm.shared_dir"), "{p:?}");
        assert!(keys.contains(&"slurm.poll_max"), "{p:?}");
        assert!(keys.contains(&"slurm.extra_args[0]"), "{p:?}");
        let poll = p.iter().find(|(k, _, _)| k == "slurm.poll_max").unwrap();
        assert_eq!(poll.1, Some(12), "{p:?}");
        let p = problems("[baseline]\nexecutor = \"cluster\"\n");
        assert!(p[0].2.contains("`local`"), "{p:?}");
    }

    #[test]
    fn targets_take_slurm_keys_unless_they_set_their_own() {
        let cfg = Config::parse(
            &format!(
                "{UPSTREAM}[slurm]\nshared_dir = \"/s\"\naccount = \"video\"\nextra_args = [\"--nice=1\"]\n\
                 [[slurm.target]]\nname = \"h100\"\npartition = \"h100\"\n\
                 [[slurm.target]]\nname = \"l40s\"\npartition = \"l40s\"\ngres = \"gpu:l40s:1\"\nextra_args = [\"--exclusive\"]\n"
            ),
            Path::new("/base"),
        )
        .unwrap();
        let names: Vec<&str> = cfg.slurm.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["h100", "l40s"]);
        let (l40s, args) = cfg.slurm.placement_for(Some("l40s"));
        assert_eq!(l40s.partition.as_deref(), Some("l40s"));
        assert_eq!(l40s.account.as_deref(), Some("video"));
        assert_eq!(l40s.gres.as_deref(), Some("gpu:l40s:1"));
        assert_eq!(args, ["--nice=1", "--exclusive"]);
        assert_eq!(
            cfg.slurm.placement_for(Some("h100")).0.gres.as_deref(),
            Some("gpu:1")
        );
    }

    #[test]
    fn a_target_without_a_name_or_named_twice_is_a_problem() {
        let p = problems(
            "[[slurm.target]]\npartition = \"a\"\n[[slurm.target]]\nname = \"a b\"\n[[slurm.target]]\nname = \"x\"\n[[slurm.target]]\nname = \"x\"\n",
        );
        let keys: Vec<&str> = p.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "slurm.target[0].name",
                "slurm.target[1].name",
                "slurm.target[3].name"
            ],
            "{p:?}"
        );
    }
}
