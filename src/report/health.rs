//! Renders a [`HealthReport`] as Markdown: the verdict and its reasons
//! first, then each section.

use std::fmt::Write;

use crate::health::{HealthReport, HealthVerdict, WorkerLocation};

use super::Summary;
use super::markdown::{cell, code, date};

fn gib(b: u64) -> String {
    format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
}

fn short(id: Option<&str>) -> String {
    id.map_or("?".into(), |s| s.chars().take(7).collect())
}

/// `tether health` prints the whole report.
impl Summary for HealthReport {
    fn summary(&self) -> String {
        markdown(self)
    }
}

pub fn markdown(r: &HealthReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# tether health: **{}**\n", r.verdict.as_str());
    let _ = writeln!(o, "Generated {} on {}\n", date(r.generated), r.system.host);
    for reason in &r.reasons {
        let tag = match reason.verdict {
            HealthVerdict::Failing => "FAILING",
            HealthVerdict::Degraded => "degraded",
            HealthVerdict::Healthy => "ok",
        };
        let _ = writeln!(o, "- {tag}: {}", reason.message);
    }
    if !r.reasons.is_empty() {
        o.push('\n');
    }

    let s = &r.system;
    let _ = writeln!(o, "## System\n");
    let _ = writeln!(o, "- {} (kernel {})", s.os, s.kernel);
    let _ = writeln!(o, "- CPU: {} x {}", s.cpus, s.cpu);
    let _ = writeln!(
        o,
        "- memory: {} available of {}; load {:.2} {:.2} {:.2}",
        gib(s.memory_available_bytes),
        gib(s.memory_total_bytes),
        s.load[0],
        s.load[1],
        s.load[2]
    );
    for d in &s.disks {
        let _ = writeln!(
            o,
            "- disk for {} (`{}`): {} free of {}",
            d.role,
            d.path.display(),
            d.available_bytes.map_or("?".into(), gib),
            d.total_bytes.map_or("?".into(), gib)
        );
    }
    o.push('\n');

    let i = &r.installation;
    let _ = writeln!(o, "## tether\n");
    let _ = writeln!(
        o,
        "- tether {}{}",
        i.version,
        i.binary
            .as_ref()
            .map(|b| format!(" at `{}`", b.display()))
            .unwrap_or_default()
    );
    match &i.worker {
        WorkerLocation::Found { path } => {
            let _ = writeln!(o, "- `tether-gpu` worker: `{}`", path.display());
        }
        WorkerLocation::NotFound { looked } => {
            let _ = writeln!(o, "- `tether-gpu` worker: NOT FOUND (looked in {looked})");
        }
    }
    match &r.config {
        Some(c) => {
            let _ = writeln!(o, "- config: `{}`", c.display());
        }
        None => {
            let _ = writeln!(o, "- config: none found");
        }
    }
    o.push('\n');

    let _ = writeln!(o, "## GPU\n");
    match &r.gpu {
        Err(why) => {
            let _ = writeln!(o, "- not available: {why}");
        }
        Ok((hw, gpus)) => {
            let _ = writeln!(
                o,
                "- driver {}, CUDA driver {}",
                hw.driver.as_deref().unwrap_or("?"),
                hw.cuda_driver.as_deref().unwrap_or("?")
            );
            for g in gpus {
                let _ = writeln!(
                    o,
                    "- GPU {}: {}, memory {} used of {}, {} °C, {} W, {}% busy, uncorrected ECC {}, {} process(es)",
                    g.index,
                    g.name.as_deref().unwrap_or("?"),
                    g.memory_used_bytes.map_or("?".into(), gib),
                    g.memory_total_bytes.map_or("?".into(), gib),
                    g.temperature_c.map_or("?".into(), |t| t.to_string()),
                    g.power_w.map_or("?".into(), |p| format!("{p:.0}")),
                    g.utilisation_percent.map_or("?".into(), |u| u.to_string()),
                    g.ecc_uncorrected.map_or("n/a".into(), |e| e.to_string()),
                    g.processes.len()
                );
            }
        }
    }
    o.push('\n');

    let _ = writeln!(o, "## Torch stack (preflight)\n");
    match &r.torch {
        None => {
            let _ = writeln!(o, "- not probed (--no-probe)\n");
        }
        Some(p) => o.push_str(&super::gpu::preflight(p)),
    }

    let (Some(p), Some(sv)) = (&r.python, &r.service) else {
        let _ = writeln!(o, "## Wrapper, upstreams, service and baseline\n");
        let _ = writeln!(
            o,
            "- not checked: they need a config (`tether.toml` here, or `--config PATH`; `tether config example > tether.toml` writes one to edit)\n"
        );
        return o;
    };
    let _ = writeln!(o, "## The wrapper's Python\n");
    let _ = writeln!(
        o,
        "- `{}`: Python {}",
        p.interpreter,
        p.version.as_deref().unwrap_or("(did not start)")
    );
    match &p.torch {
        Ok(t) => {
            let _ = writeln!(
                o,
                "- torch {} (CUDA {}), GPU visible: {}",
                t.version,
                t.cuda.as_deref().unwrap_or("none"),
                if t.cuda_available { "yes" } else { "no" }
            );
        }
        Err(e) => {
            let _ = writeln!(o, "- torch: cannot import ({e})");
        }
    }
    match &p.pip_check {
        Ok(()) => {
            let _ = writeln!(o, "- `pip check`: no broken requirements");
        }
        Err(lines) => {
            let _ = writeln!(o, "- `pip check`: {}", lines.join("; "));
        }
    }
    if let Some(why) = &p.freeze_unavailable {
        let _ = writeln!(o, "- packages not listed: {why}");
    }
    let protected: Vec<&str> = p.protected.values().map(String::as_str).collect();
    let _ = writeln!(
        o,
        "- protected packages: {}",
        if protected.is_empty() {
            "none installed".to_owned()
        } else {
            protected.join(", ")
        }
    );
    match &p.changed_since_good {
        None => {
            let _ = writeln!(o, "- no good run recorded yet to compare them with");
        }
        Some(c) if c.is_empty() => {
            let _ = writeln!(o, "- unchanged since the last good run");
        }
        Some(c) => {
            for crate::health::ProtectedPackageChange { name, then, now } in c {
                let _ = writeln!(
                    o,
                    "- CHANGED since the last good run: {name}: {} -> {}",
                    then.as_deref().unwrap_or("absent"),
                    now.as_deref().unwrap_or("absent")
                );
            }
        }
    }
    o.push('\n');

    let _ = writeln!(o, "## Upstreams\n");
    let _ = writeln!(
        o,
        "| upstream | current | target | behind | soaking | last good | local modifications |\n|---|---|---|---|---|---|---|"
    );
    for u in &r.upstreams {
        if let Some(e) = &u.error {
            let _ = writeln!(o, "| {} | error: {} | | | | | |", u.name, cell(e));
            continue;
        }
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            u.name,
            short(u.current.as_deref()),
            short(u.target.as_deref()),
            u.behind,
            u.soaking,
            u.last_good
                .as_deref()
                .map_or("-".into(), |g| short(Some(g))),
            u.local_modifications.map_or("-".into(), |n| n.to_string())
        );
    }
    let holds: Vec<_> = r
        .upstreams
        .iter()
        .filter_map(|u| u.held_back.as_ref().map(|h| (u, h)))
        .collect();
    if !holds.is_empty() {
        let _ = writeln!(o, "\n### Holds\n");
    }
    for (u, h) in holds {
        let retest = match &h.last_retest {
            Some(t) => format!(
                "last re-test {} at {} (same failure; {} re-test(s), each a bisect saved)",
                date(t.at),
                t.target.short,
                h.retests
            ),
            None => "not re-tested yet".into(),
        };
        let _ = writeln!(
            o,
            "- `{}` is HELD BACK at {} since {}: the first bad commit is {} ({}); {retest}; report {}",
            u.name,
            h.at.short,
            date(h.since),
            h.first_bad.short,
            h.first_bad.subject,
            h.bisect_report
        );
    }
    for u in &r.upstreams {
        if let Some(l) = &u.last_update {
            let report = l
                .report_dir
                .as_ref()
                .map(|d| format!("; report {}", code(&d.display().to_string())))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "- last update of `{}` to {}: {}{report}",
                u.name,
                code(&l.to_short()),
                l.sentence()
            );
        }
    }
    o.push('\n');

    let _ = writeln!(o, "## Service\n");
    match &sv.running {
        Some(h) => {
            let _ = writeln!(o, "- `tether watch` running: {h}");
        }
        None => {
            let _ = writeln!(o, "- `tether watch` is not running");
        }
    }
    if let Some(h) = &sv.lock_holder {
        let _ = writeln!(o, "- state lock held by {h}");
    }
    let _ = writeln!(
        o,
        "- outputs use {}, logs {}",
        gib(sv.outputs_bytes),
        gib(sv.logs_bytes)
    );
    if !sv.state.jobs.is_empty() {
        let _ = writeln!(
            o,
            "\n| job | schedule | last run | outcome | next run | baseline runs | GPU minutes |\n|---|---|---|---|---|---|---|"
        );
        for (job, j) in &sv.state.jobs {
            let _ = writeln!(
                o,
                "| {job} | `{}` | {} | {} | {} | {} | {:.1} |",
                j.schedule,
                j.last_run.map_or("never".into(), date),
                j.last_outcome.map_or("-", |x| x.as_str()),
                j.next_run.map_or("-".into(), date),
                j.baseline_runs,
                j.gpu_minutes
            );
        }
        o.push('\n');
    }
    for f in sv.state.recent_failures.iter().rev().take(5) {
        let _ = writeln!(
            o,
            "- failure {} `{}` ({}): {}",
            date(f.at),
            f.job,
            f.run_id,
            f.error
        );
    }
    o.push('\n');

    if let Some(c) = &r.cluster {
        cluster(&mut o, c);
    }
    let a = &r.attention;
    if !a.escalations.is_empty() || !a.parked.is_empty() {
        let _ = writeln!(o, "## Waiting for a person\n");
        for x in &a.escalations {
            let _ = writeln!(
                o,
                "- escalation `{}` ({:?}): {}{}",
                x.id,
                x.severity,
                x.summary,
                match &x.acked_by {
                    Some(by) => format!(" — acknowledged by {by}"),
                    None => format!(" — `tether ack {}`", x.id),
                }
            );
            if let Some(c) = &x.evidence.culprit {
                let _ = writeln!(o, "  - culprit: {c}");
            }
            if let Some(f) = &x.evidence.failure {
                let _ = writeln!(o, "  - failure: {f}");
            }
            let _ = writeln!(o, "  - reproduce: `{}`", x.evidence.reproduce);
        }
        for p in &a.parked {
            let _ = writeln!(
                o,
                "- parked update `{}` of `{}` to {:.7}, since {}, expires {} — `tether approve {}` or `tether reject {}`",
                p.id,
                p.upstream,
                p.to,
                date(p.parked_since),
                date(p.expires),
                p.id,
                p.id
            );
        }
        o.push('\n');
    }

    let _ = writeln!(o, "## Baseline\n");
    if r.baseline_not_live > 0 {
        let _ = writeln!(
            o,
            "Runs of the live wrapper only: {} run(s) of staged update or bisect candidates are not counted here (see each upstream's last update above).\n",
            r.baseline_not_live
        );
    }
    if r.baseline.is_empty() {
        let _ = writeln!(
            o,
            "No baseline run of the live wrapper found under the outputs dir.\n"
        );
    } else {
        let _ = writeln!(
            o,
            "| case | last status | last duration | trend | last SSIM | runs (oldest first) |\n|---|---|---|---|---|---|"
        );
        for c in &r.baseline {
            let Some(last) = c.runs.last() else { continue };
            let history: Vec<String> = c
                .runs
                .iter()
                .map(|p| format!("{} {:.1}s", p.status, p.duration_s))
                .collect();
            let _ = writeln!(
                o,
                "| {} | {} | {:.1}s | {} | {} | {} |",
                c.case,
                last.status,
                last.duration_s,
                c.duration_trend
                    .map_or("-".into(), |t| format!("{t:.2}x the median before")),
                last.mean_ssim.map_or("-".into(), |s| format!("{s:.4}")),
                history.join(", ")
            );
        }
        o.push('\n');
    }
    o
}

/// The Slurm cluster: the controller, then each target's partition.
fn cluster(o: &mut String, c: &crate::health::ClusterHealth) {
    let _ = writeln!(o, "## Slurm cluster\n");
    if !c.reachable {
        let _ = writeln!(
            o,
            "- controller not reachable: {}\n",
            c.error.as_deref().unwrap_or("")
        );
        return;
    }
    let _ = writeln!(o, "- controller reachable\n");
    let _ = writeln!(
        o,
        "| partition | targets | state | pending | running |\n|---|---|---|---|---|"
    );
    for p in &c.partitions {
        let state = match (p.exists, p.up) {
            (false, _) => "**missing**",
            (true, false) => "**down**",
            (true, true) => "up",
        };
        let (pending, running) = p.queue.map_or(("?".into(), "?".into()), |q| {
            (q.pending.to_string(), q.running.to_string())
        });
        let _ = writeln!(
            o,
            "| {} | {} | {state} | {pending} | {running} |",
            p.name,
            if p.targets.is_empty() {
                "-".to_owned()
            } else {
                p.targets.join(", ")
            }
        );
    }
    o.push('\n');
}
