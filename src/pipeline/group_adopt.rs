//! `adopt-last-good` for a `[[group]]` whose update the fix loop could not
//! repair: first find which members' moves break the baseline (each moving
//! member alone at its target on top of the others' current commits; then
//! pairs only if no single move fails), then bisect inside each culprit
//! (the existing search, with the other members checked out at their
//! current commits, or a pair's partner at its target), then run the group
//! update again with every member at its target but the culprits, each at
//! its last good commit and held back (`upstream::held`).

use std::collections::BTreeMap;

use git2::Oid;

use super::bisect::{self, BisectOptions};
use super::error::TransactionError;
use super::group::update_group_locked;
use super::staged_run::{CaseRun, StagedRun};
use super::update_report::{
    GroupBisect, GroupCulprit, MemberReport, UpdateOptions, UpdateOutcome, UpdateReport,
};
use crate::config::{Config, GroupConfig, UpstreamConfig};
use crate::state::StateDir;
use crate::update::{Backup, Member, StageMember, UpdatePaths, new_id, stage_group};
use crate::upstream::{self, Mirror};

/// A moving member of the failed update.
struct Mover<'a> {
    up: &'a UpstreamConfig,
    mirror: Mirror,
    from: Oid,
    to: Oid,
}

/// Bisects the group and adopts every member's move but the culprit's.
pub(super) fn adopt_last_good(
    cfg: &Config,
    group: &GroupConfig,
    opts: &UpdateOptions,
    failed: UpdateReport,
) -> Result<UpdateReport, TransactionError> {
    let state = StateDir::new(&cfg.project.state_dir);
    let mut movers = Vec::new();
    let mut staying = Vec::new();
    for m in &failed.members {
        let Some(up) = cfg.upstreams.iter().find(|u| u.name == m.upstream) else {
            continue;
        };
        let mirror = Mirror::open_existing(&state, up)?;
        let (Some(from), Some(to)) = (
            oid_of(&mirror, m.from.as_ref()),
            oid_of(&mirror, m.to.as_ref()),
        ) else {
            continue;
        };
        if m.moves {
            movers.push(Mover {
                up,
                mirror,
                from,
                to,
            });
        } else {
            staying.push((up, mirror, from));
        }
    }
    let cases: Option<Vec<String>> = failed
        .final_run
        .as_ref()
        .map(|run| run.failing().iter().map(|c| c.name.clone()).collect())
        .filter(|c: &Vec<String>| !c.is_empty());
    let mut steps: Vec<String> = Vec::new();
    let culprits = find_culprits(cfg, &state, &movers, &staying, cases.as_deref(), &mut steps)?;
    let mut gb = GroupBisect {
        culprits: Vec::new(),
        probes: steps,
        adopted: Vec::new(),
    };
    if culprits.is_empty() {
        return rewrite(give_up(
            failed,
            gb,
            "no single member's move, nor any pair's, fails on its own: nothing was adopted",
        ));
    }
    // bisect inside each culprit; it is held at the commit before its first
    // bad one, or stays where it is when none is found
    let mut overrides = BTreeMap::new();
    let mut found = Vec::new();
    let mut bisects = Vec::new();
    for set in &culprits {
        let m = &movers[set[0]];
        let b = bisect_culprit(cfg, &movers, &staying, set, cases.as_deref())?;
        gb.culprits.push(GroupCulprit {
            members: set.iter().map(|i| movers[*i].up.name.clone()).collect(),
            first_bad: b.first_bad().cloned(),
            inner: Some(format!(
                "bisect inside `{}`: {} candidate commit(s), {} step(s), {} baseline run(s)",
                m.up.name,
                b.candidates,
                b.steps.len(),
                b.baseline_runs
            )),
        });
        match (b.last_good().cloned(), b.first_bad().cloned()) {
            (Some(lg), Some(fb)) => {
                overrides.insert(m.up.name.clone(), m.mirror.resolve_rev(&lg.id)?);
                found.push((set[0], lg, fb, bisects.len()));
            }
            _ => {
                overrides.insert(m.up.name.clone(), m.from);
            }
        }
        bisects.push(b);
    }
    if found.is_empty() {
        let mut r = give_up(
            failed,
            gb,
            "the bisect inside the culprit member(s) found no first bad commit: nothing was adopted",
        );
        r.bisect = bisects.into_iter().next();
        return rewrite(r);
    }
    let mut r = update_group_locked(cfg, group, opts, &overrides)?;
    r.spent.add(failed.spent);
    for b in &bisects {
        r.spent.add_bisect(b);
    }
    gb.adopted = r
        .members
        .iter()
        .filter(|x| x.moves)
        .map(adopted_line)
        .collect();
    let adopted = if gb.adopted.is_empty() {
        "nothing".to_owned()
    } else {
        gb.adopted.join(", ")
    };
    for (i, _, fb, _) in &found {
        r.notes.push(format!(
            "group bisect: the culprit is `{}`, first bad commit {} {} by {} ({}); adopted: {adopted}",
            movers[*i].up.name,
            fb.short,
            fb.time.strftime("%Y-%m-%d"),
            fb.author,
            fb.subject,
        ));
    }
    r.group_bisect = Some(gb);
    if matches!(r.outcome, UpdateOutcome::Promoted) {
        for (i, lg, fb, b) in &found {
            let b = &bisects[*b];
            let held = super::adopt::held_record(lg, fb, b, Some(&failed));
            if let Err(e) = upstream::held::save(&state, &movers[*i].up.name, &held) {
                tracing::warn!(error = %e, "cannot record the held-back state");
            }
            r.held_back.get_or_insert(held);
        }
    }
    let first = found[0].3;
    r.bisect = bisects.into_iter().nth(first);
    r.failed_target = Some(Box::new(failed));
    rewrite(r)
}

/// The bisect inside a culprit's lead member: its partners (a pair) at
/// their targets, every other member at its current commit.
fn bisect_culprit(
    cfg: &Config,
    movers: &[Mover<'_>],
    staying: &[(&UpstreamConfig, Mirror, Oid)],
    set: &[usize],
    cases: Option<&[String]>,
) -> Result<bisect::BisectReport, TransactionError> {
    let (lead, partners) = (set[0], &set[1..]);
    let m = &movers[lead];
    let fixed: Vec<StageMember<'_>> = movers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != lead)
        .map(|(i, o)| {
            stage_member(
                o.up,
                &o.mirror,
                if partners.contains(&i) { o.to } else { o.from },
            )
        })
        .chain(
            staying
                .iter()
                .map(|(up, mirror, at)| stage_member(up, mirror, *at)),
        )
        .collect();
    Ok(bisect::bisect_with(
        cfg,
        m.up,
        &BisectOptions {
            good: Some(m.from.to_string()),
            bad: Some(m.to.to_string()),
            cases: cases.map(<[String]>::to_vec),
            fetch: false,
            restart: true,
        },
        &fixed,
    )?)
}

fn oid_of(mirror: &Mirror, c: Option<&crate::upstream::CommitInfo>) -> Option<Oid> {
    c.and_then(|c| mirror.resolve_rev(&c.id).ok())
}

fn stage_member<'a>(up: &'a UpstreamConfig, mirror: &'a Mirror, at: Oid) -> StageMember<'a> {
    StageMember {
        member: Member { up, mirror },
        target: at,
        moves: false,
    }
}

fn adopted_line(m: &MemberReport) -> String {
    let to = m.to.as_ref().map_or("?", |t| t.short.as_str());
    format!("`{}` -> {to}", m.upstream)
}

/// The culprits: every moving member whose move alone fails the cases;
/// when none does, the first pair that fails together. Indexes into
/// `movers`.
fn find_culprits(
    cfg: &Config,
    state: &StateDir,
    movers: &[Mover<'_>],
    staying: &[(&UpstreamConfig, Mirror, Oid)],
    cases: Option<&[String]>,
    steps: &mut Vec<String>,
) -> Result<Vec<Vec<usize>>, TransactionError> {
    let mut probe_set = |set: &[usize]| -> Result<bool, TransactionError> {
        let names: Vec<String> = set
            .iter()
            .map(|i| format!("`{}`", movers[*i].up.name))
            .collect();
        let passed = probe(cfg, state, movers, staying, set, cases)?;
        steps.push(format!(
            "{} at target{}, the others at their current commits: {}",
            names.join(" + "),
            if set.len() > 1 { "s" } else { "" },
            if passed { "passes" } else { "fails" }
        ));
        Ok(passed)
    };
    let mut alone = Vec::new();
    for i in 0..movers.len() {
        if !probe_set(&[i])? {
            alone.push(vec![i]);
        }
    }
    if !alone.is_empty() {
        return Ok(alone);
    }
    if movers.len() > 2 {
        for i in 0..movers.len() {
            for j in i + 1..movers.len() {
                if !probe_set(&[i, j])? {
                    return Ok(vec![vec![i, j]]);
                }
            }
        }
    }
    // two members that pass alone: the failed update itself is the pair
    if movers.len() == 2 {
        steps.push(format!(
            "`{}` + `{}` at targets: fails (the failed update)",
            movers[0].up.name, movers[1].up.name
        ));
        return Ok(vec![vec![0, 1]]);
    }
    Ok(Vec::new())
}

/// One staged run: the members in `set` at their targets, every other
/// member at its current commit; whether the cases pass.
fn probe(
    cfg: &Config,
    state: &StateDir,
    movers: &[Mover<'_>],
    staying: &[(&UpstreamConfig, Mirror, Oid)],
    set: &[usize],
    cases: Option<&[String]>,
) -> Result<bool, TransactionError> {
    let members: Vec<StageMember<'_>> = movers
        .iter()
        .enumerate()
        .map(|(i, m)| StageMember {
            member: Member {
                up: m.up,
                mirror: &m.mirror,
            },
            target: if set.contains(&i) { m.to } else { m.from },
            moves: set.contains(&i),
        })
        .chain(
            staying
                .iter()
                .map(|(up, mirror, at)| stage_member(up, mirror, *at)),
        )
        .collect();
    let lead = &movers[set[0]];
    let id = new_id(state, &format!("{}-probe", lead.up.name));
    let moving: Vec<Member<'_>> = set
        .iter()
        .map(|i| Member {
            up: movers[*i].up,
            mirror: &movers[*i].mirror,
        })
        .collect();
    let backup = Backup::take_group(cfg, &moving, &id)?;
    let staged = stage_group(cfg, &members, &backup);
    let ctx = StagedRun {
        cfg,
        up: lead.up,
        mirror: &lead.mirror,
        backup: &backup,
        peers: &[],
        fixed: &[],
    };
    let run_dir = ctx.work_dir(&backup).join("run");
    let result = staged.map_err(TransactionError::from).and_then(|s| {
        Ok(ctx.run_cases(CaseRun {
            tree: &s.dir,
            run_id: format!("group-probe-{id}"),
            run_dir,
            cases: cases.map(<[String]>::to_vec),
            preflight: false,
            ran_on: crate::baseline::RanOn::BisectStep { bisect: id.clone() },
        })?)
    });
    // the probe's staged tree and backup go, whatever happened
    let dir = UpdatePaths::new(state).run_dir(&id);
    if let Err(e) = fs_err::remove_dir_all(&dir) {
        tracing::warn!(error = %e, "cannot remove a group probe's staged tree");
    }
    Ok(result?.passed())
}

fn give_up(mut r: UpdateReport, gb: GroupBisect, why: &str) -> UpdateReport {
    r.notes.push(format!("group bisect: {why}"));
    r.group_bisect = Some(gb);
    r
}

/// Writes the report again with what the group bisect added.
fn rewrite(r: UpdateReport) -> Result<UpdateReport, TransactionError> {
    if let Some(dir) = &r.report_dir {
        super::transaction::write_report(dir, &r)?;
    }
    Ok(r)
}
