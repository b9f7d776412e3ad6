//! `tether update <group>`: every member of a `[[group]]` in one
//! transaction. Each member's target comes from its own track and soak
//! rules; the moving members are analysed one by one, backed up, staged
//! (one staging commit each, on one staged branch), then the group shares
//! one baseline, one fix loop and one promotion (or one rollback), all
//! journaled like a single-upstream update. Members already at their
//! target stay, checked out at their current commit in the staged tree.

use std::collections::BTreeMap;

use git2::Oid;

use super::error::TransactionError;
use super::staged_run::StagedRun;
use super::transaction::{Plan, settle, test_fix_promote};
use super::update_report::{MemberReport, UpdateOptions, UpdateOutcome, UpdateReport};
use crate::analysis::stack_deps::{StackDependencies, read_member_deps};
use crate::analysis::{self, Analysis, AnalyzeOptions, Analyzed};
use crate::config::{Config, GroupConfig, UpstreamConfig};
use crate::state::{StateDir, StateLock};
use crate::update::{
    Backup, Journal, JournalState, Member, StageMember, StageOutcome, new_id, recover, stage_group,
};
use crate::upstream::{self, CheckOptions, CommitInfo, Mirror};

/// `tether update <group>`.
pub fn update_group(
    cfg: &Config,
    group: &GroupConfig,
    opts: &UpdateOptions,
) -> Result<UpdateReport, TransactionError> {
    if cfg.baseline.cases.is_empty() {
        return Err(TransactionError::NoCases);
    }
    if opts.to.as_deref().is_some_and(|t| t != super::LAST_GOOD) {
        return Err(TransactionError::Group {
            group: group.name.clone(),
            detail: "--to names one upstream's commit; update a member alone with `tether update --upstream <member> --to <rev>`, or the group without --to (or with --to last-good)".into(),
        });
    }
    let state = StateDir::new(&cfg.project.state_dir);
    let _lock = StateLock::acquire(&state, "update")?;
    let mut report = update_group_locked(cfg, group, opts, &BTreeMap::new())?;
    let unfixable = matches!(report.outcome, UpdateOutcome::RolledBack { .. })
        && report.conflicts.is_empty()
        && report.final_run.as_ref().is_some_and(|r| !r.passed())
        && !crate::process::interrupted();
    let adopt = cfg.update.on_unfixable == crate::config::OnUnfixable::AdoptLastGood
        || opts.to.as_deref() == Some(super::LAST_GOOD);
    if unfixable && adopt {
        report = super::group_adopt::adopt_last_good(cfg, group, opts, report)?;
    }
    if matches!(report.outcome, UpdateOutcome::Promoted) {
        for m in report.members.iter().filter(|m| m.moves) {
            if let Some(up) = cfg.upstreams.iter().find(|u| u.name == m.upstream) {
                let mut one = UpdateReport::new(&up.name);
                one.outcome = UpdateOutcome::Promoted;
                one.to.clone_from(&m.to);
                super::adopt::after_update(&state, up, &one);
            }
        }
    }
    Ok(report)
}

/// A member's target, and why it stays when it does.
struct Planned<'a> {
    up: &'a UpstreamConfig,
    mirror: Mirror,
    current: Oid,
    target: Oid,
    stays_because: Option<String>,
}

impl Planned<'_> {
    fn moves(&self) -> bool {
        self.stays_because.is_none()
    }
}

/// The group transaction, for a caller that holds the state lock.
pub(super) fn update_group_locked(
    cfg: &Config,
    group: &GroupConfig,
    opts: &UpdateOptions,
    overrides: &BTreeMap<String, Oid>,
) -> Result<UpdateReport, TransactionError> {
    let state = StateDir::new(&cfg.project.state_dir);
    let mut report = UpdateReport::new(&group.name);
    report.group = Some(group.name.clone());
    report.recovery = recover(cfg)?.map(|r| r.message);
    if let Some(j) = Journal::load(&state)?
        && j.state == JournalState::Paused
    {
        return Err(super::paused::paused_error(&j));
    }
    let mut planned = Vec::new();
    for up in cfg.members_of(group) {
        let over = overrides.get(&up.name).copied();
        planned.push(plan_member(cfg, &state, up, over, &mut report)?);
    }
    let moving: Vec<&Planned<'_>> = planned.iter().filter(|p| p.moves()).collect();
    if moving.is_empty() {
        let why: Vec<String> = planned
            .iter()
            .filter_map(|p| p.stays_because.clone())
            .collect();
        report.members = planned.iter().map(|p| stay_report(p)).collect();
        report.outcome = UpdateOutcome::UpToDate {
            reason: format!(
                "no member of group `{}` moves: {}",
                group.name,
                why.join("; ")
            ),
        };
        return Ok(finish(report));
    }

    // one analysis per moving member, each in its own folder
    let mut analyses: Vec<Analyzed> = Vec::new();
    for p in &moving {
        analyses.push(analyze_member(cfg, p, &peer_targets(&planned, &p.up.name))?);
    }
    let mut by_name: BTreeMap<&str, &Analyzed> = BTreeMap::new();
    for (p, a) in moving.iter().zip(&analyses) {
        by_name.insert(p.up.name.as_str(), a);
    }
    report.members = planned
        .iter()
        .map(|p| match by_name.get(p.up.name.as_str()) {
            Some(a) => move_report(p, a),
            None => stay_report(p),
        })
        .collect();
    report.dependencies = Some(stack_dependencies(cfg, &planned));
    report.commits = report.members.iter().map(|m| m.commits).sum();
    report.breaking_points = report.members.iter().map(|m| m.breaking_points).sum();

    let id = new_id(&state, &group.name);
    let report_dir = cfg.project.outputs_dir.join(format!("update-{id}"));
    crate::state::create_private_dir(&report_dir).map_err(|source| {
        crate::document::DocumentError::Write {
            path: report_dir.clone(),
            source,
        }
    })?;
    report.id = Some(id.clone());
    report.report_dir = Some(report_dir.clone());

    let members: Vec<Member<'_>> = moving
        .iter()
        .map(|p| Member {
            up: p.up,
            mirror: &p.mirror,
        })
        .collect();
    let backup = Backup::take_group(cfg, &members, &id)?;
    let targets: Vec<String> = moving.iter().map(|p| p.target.to_string()).collect();
    let mut journal = Journal::new_group(&state, &backup, &group.name, &targets);
    journal.save(&state)?;
    crate::failpoint::hit("update.journal.saved");

    let ctx = StagedRun {
        cfg,
        up: members[0].up,
        mirror: members[0].mirror,
        backup: &backup,
        peers: &members[1..],
        fixed: &[],
    };
    let stage: Vec<StageMember<'_>> = planned
        .iter()
        .map(|p| StageMember {
            member: Member {
                up: p.up,
                mirror: &p.mirror,
            },
            target: p.target,
            moves: p.moves(),
        })
        .collect();
    // the fix loop reads every member's findings (a workflow input one
    // pack renamed, a required input the core added)
    let combined = Analysis::combined(&analyses.iter().map(|a| &a.analysis).collect::<Vec<_>>());
    let plan = Plan {
        target: moving[0].target,
        analysis: combined.as_ref(),
        report_dir: &report_dir,
        opts,
    };
    let result = stage_test_fix_promote(ctx, &stage, &mut journal, &plan, &mut report);
    fill_checkouts(&mut report);
    settle(cfg, &mut journal, result, report, &report_dir)
}

/// A member's target under its own track, soak and held-back rules.
fn plan_member<'a>(
    cfg: &Config,
    state: &StateDir,
    up: &'a UpstreamConfig,
    over: Option<Oid>,
    report: &mut UpdateReport,
) -> Result<Planned<'a>, TransactionError> {
    let check = upstream::check(cfg, up, &CheckOptions { fetch: true })?;
    if check.history.is_rewritten() {
        return Err(TransactionError::HistoryRewritten(up.name.clone()));
    }
    report
        .notes
        .extend(check.current.base.as_ref().and_then(|b| b.message.clone()));
    let mirror = Mirror::open_existing(state, up)?;
    let current = mirror.resolve_rev(&check.current.id)?;
    let (target, stays_because) = match &check.adoptable {
        // adopt-last-good: the culprit member at its last good commit
        _ if over.is_some() => (over.unwrap_or(current), None),
        Some(c) => (mirror.resolve_rev(&c.id)?, None),
        None if check.behind == 0 => (
            current,
            Some(format!(
                "`{}` is at its target {}",
                up.name, check.target.short
            )),
        ),
        None => (
            current,
            Some(format!(
                "`{}`: {} new commit(s), none soaked yet (soak {})",
                up.name,
                check.behind,
                crate::duration::format(up.soak)
            )),
        ),
    };
    let stays_because = match (&check.held_back, stays_because) {
        (_, Some(why)) => Some(why),
        (Some(h), None) if over.is_none() && h.target.id == target.to_string() => Some(format!(
            "`{}` is held back at {}: the target {} still contains the first bad commit {}",
            up.name, h.at.short, h.target.short, h.first_bad.short
        )),
        (_, None) if target == current && over.is_some() => Some(format!(
            "`{}` stays at its current commit: the group bisect holds it there (see the group bisect section)",
            up.name
        )),
        (_, None) if target == current => Some(format!("`{}` is already at its target", up.name)),
        (_, None) => None,
    };
    let target = if stays_because.is_some() {
        current
    } else {
        target
    };
    Ok(Planned {
        up,
        mirror,
        current,
        target,
        stays_because,
    })
}

/// Every member's requirements at its target (and current commit) read
/// together; a member whose files cannot be read is a note.
fn stack_dependencies(cfg: &Config, planned: &[Planned<'_>]) -> StackDependencies {
    let mut members = Vec::new();
    let mut notes = Vec::new();
    for p in planned {
        let from = (p.current != p.target).then_some(p.current);
        match read_member_deps(p.mirror.repo(), &p.up.name, from, p.target) {
            Ok(m) => members.push(m),
            Err(e) => notes.push(e.to_string()),
        }
    }
    let mut deps = analysis::stack_deps::stack_dependencies(&members, &cfg.analysis);
    deps.notes.extend(notes);
    deps
}

/// The other members' targets (name to full hash), for an analysis that
/// weighs one member's move against the rest of the group.
fn peer_targets(planned: &[Planned<'_>], except: &str) -> BTreeMap<String, String> {
    planned
        .iter()
        .filter(|p| p.up.name != except)
        .map(|p| (p.up.name.clone(), p.target.to_string()))
        .collect()
}

/// One moving member's analysis, from its current commit to its target,
/// weighed against the other members at their targets (`peers`: a node
/// class two members define is found at the commits that will run).
fn analyze_member(
    cfg: &Config,
    p: &Planned<'_>,
    peers: &BTreeMap<String, String>,
) -> Result<Analyzed, TransactionError> {
    tracing::info!(upstream = %p.up.name, target = %p.target, ?peers, "analysing a group member");
    Ok(analysis::analyze(
        cfg,
        p.up,
        &AnalyzeOptions {
            to: Some(p.target.to_string()),
            fetch: false,
            peers: peers.clone(),
        },
    )?)
}

fn commit_info(p: &Planned<'_>, id: Oid) -> Option<CommitInfo> {
    p.mirror
        .repo()
        .find_commit(id)
        .ok()
        .map(|c| CommitInfo::from_commit(&c))
}

fn stay_report(p: &Planned<'_>) -> MemberReport {
    MemberReport {
        upstream: p.up.name.clone(),
        layout: p.up.layout.to_string(),
        from: commit_info(p, p.current),
        to: commit_info(p, p.target),
        moves: false,
        stays_because: p.stays_because.clone(),
        commits: 0,
        analysis_dir: None,
        analysis_verdict: None,
        breaking_points: 0,
        breaking_workflow_inputs: 0,
        staged_commit: None,
        checkout: None,
    }
}

fn move_report(p: &Planned<'_>, analysed: &Analyzed) -> MemberReport {
    let a = &analysed.analysis;
    MemberReport {
        upstream: p.up.name.clone(),
        layout: p.up.layout.to_string(),
        from: Some(a.from.clone()),
        to: Some(a.to.clone()),
        moves: true,
        stays_because: None,
        commits: a.commits.len(),
        analysis_dir: Some(analysed.dir.clone()),
        analysis_verdict: Some(a.verdict()),
        breaking_points: a.count(analysis::python::PointSeverity::Breaking),
        breaking_workflow_inputs: a.workflows.as_ref().map_or(0, |w| {
            w.findings
                .iter()
                .filter(|f| f.severity == analysis::python::PointSeverity::Breaking)
                .count()
        }),
        staged_commit: None,
        checkout: None,
    }
}

/// Stages every member, then the shared baseline, fix loop and promotion.
fn stage_test_fix_promote(
    ctx: StagedRun<'_>,
    members: &[StageMember<'_>],
    journal: &mut Journal,
    plan: &Plan<'_>,
    report: &mut UpdateReport,
) -> Result<UpdateOutcome, TransactionError> {
    let state = &ctx.state();
    let staged = stage_group(ctx.cfg, members, ctx.backup)?;
    report.notes.extend(staged.notes.iter().cloned());
    report.merge.clone_from(&staged.merge);
    journal.staged_head = Some(staged.head.to_string());
    journal.advance(state, JournalState::Staged, None)?;
    crate::failpoint::hit("update.stage.staged");
    for c in &staged.members {
        if let Some(m) = report.members.iter_mut().find(|m| m.upstream == c.upstream) {
            m.staged_commit.clone_from(&c.commit);
        }
    }
    match &staged.outcome {
        StageOutcome::Committed { commit, .. } => report.staged_commit = Some(commit.clone()),
        StageOutcome::NothingToCommit => {}
        StageOutcome::Conflicts { files } => {
            report.conflicts = files
                .iter()
                .map(|f| format!("{}: {}", f.path, f.reason))
                .collect();
            return Ok(UpdateOutcome::RolledBack {
                reason: format!(
                    "staging the group left conflicts in {} file(s) (a group update does not pause on conflicts; update the member alone to resolve them): {}",
                    files.len(),
                    crate::text::cut_list(
                        &files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
                        crate::text::MESSAGE_ITEMS
                    )
                ),
            });
        }
    }
    test_fix_promote(
        ctx,
        journal,
        plan,
        (&staged.dir, &staged.upstream_dir),
        report,
    )
}

/// Each member's live checkout move, from the group's promotion plan.
fn fill_checkouts(report: &mut UpdateReport) {
    let Some(plan) = &report.promotion else {
        return;
    };
    let moves: Vec<_> = plan
        .upstream_checkout
        .iter()
        .chain(&plan.peer_checkouts)
        .cloned()
        .collect();
    for m in report.members.iter_mut().filter(|m| m.moves) {
        m.checkout = moves
            .iter()
            .find(|c| m.to.as_ref().is_some_and(|t| t.id == c.to))
            .cloned();
    }
}

fn finish(mut report: UpdateReport) -> UpdateReport {
    report.finished = crate::env::now();
    report
}
