//! `[slurm]`: the placement of jobs, their limits, and `shared_dir`, which
//! any case on the slurm executor needs.

use std::path::Path;

use super::{Problems, resolve};
use crate::config::defaults;
use crate::config::model::{Config, Executor, SlurmConfig, SlurmPlacement};
use crate::config::raw::RawSlurm;

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
        Some(g) if g.trim().is_empty() => None,
        Some(g) => Some(g),
    };
    for (i, a) in raw.extra_args.iter().flatten().enumerate() {
        if !a.starts_with('-') {
            p.add(
                format!("slurm.extra_args[{i}]"),
                format!(
                    "`{a}` is not an option: write each sbatch option as one item, `--key=value`"
                ),
            );
        }
    }
    SlurmConfig {
        placement: SlurmPlacement {
            partition: raw.partition.map(|v| v.0),
            account: raw.account.map(|v| v.0),
            qos: raw.qos.map(|v| v.0),
            gres,
        },
        cpus: raw.cpus.map(|n| n.0),
        memory: raw.memory.map(|v| v.0),
        time_limit: raw.time_limit.map(|d| d.0),
        extra_args: raw.extra_args.unwrap_or_default(),
        tether_bin: raw.tether_bin.map(|b| resolve(base, &b.0)),
        shared_dir: raw.shared_dir.map(|d| resolve(base, &d.0)),
        max_pending: raw.max_pending.map_or(defaults::MAX_PENDING, |d| d.0),
        poll_min,
        poll_max,
    }
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
}
