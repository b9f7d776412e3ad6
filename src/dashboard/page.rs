//! Owns the dashboard's `/` page: its model built from the service's
//! snapshot (each upstream's commits, soak and held-back state, each job's
//! last run, the newest failures) and the outputs and analysis dirs (the
//! trends, the newest reports), rendered by `report::html` and redacted
//! once here.

use crate::report::html::{Dashboard, Failure, Held, JobRow, Recent, UpstreamRow, dashboard_page};
use crate::state::StateDir;

use crate::daemon::http::{Site, Snapshot};

/// The dashboard's HTML, redacted.
pub fn page(snap: &Snapshot) -> String {
    let site = snap.site.clone().unwrap_or_default();
    let state = StateDir::new(&site.state_dir);
    let mut names = site.upstreams.clone();
    names.extend(
        snap.state
            .upstreams
            .keys()
            .filter(|n| !site.upstreams.contains(n))
            .cloned(),
    );
    let upstreams = names
        .iter()
        .map(|name| {
            let u = snap.state.upstreams.get(name).cloned().unwrap_or_default();
            let known = !site.state_dir.as_os_str().is_empty();
            let held = known
                .then(|| crate::upstream::held::load(&state, name))
                .flatten();
            // the service sets it on a promotion; the state dir knows any
            // earlier one (a command run by hand)
            let last_good = u.last_good.clone().or_else(|| {
                known
                    .then(|| crate::upstream::last_good::load(&state, name))
                    .flatten()
            });
            UpstreamRow {
                name: name.clone(),
                current: u.current,
                target: u.target,
                last_good,
                behind: u.behind,
                pending_soak: u.pending_soak,
                held: held.map(|h| Held {
                    at: h.at.id,
                    first_bad: h.first_bad.id,
                    since: h.since,
                }),
                last_verdict: u.last_verdict,
                checked_at: u.checked_at,
            }
        })
        .collect();
    let jobs = snap
        .state
        .jobs
        .iter()
        .map(|(job, j)| JobRow {
            job: job.to_string(),
            schedule: j.schedule.clone(),
            last_run: j.last_run,
            outcome: j.last_outcome.map(|o| o.as_str()),
            error: j.last_error.clone(),
            has_page: j.last_run_id.as_ref().is_some_and(|id| has_page(&site, id)),
            run_id: j.last_run_id.clone(),
            next_run: j.next_run,
        })
        .collect();
    let model = Dashboard {
        project: site.project.clone(),
        config: snap.config.clone(),
        healthy: snap.healthy,
        started: snap.state.started,
        upstreams,
        jobs,
        failures: snap
            .state
            .recent_failures
            .iter()
            .rev()
            .take(FAILURES)
            .map(|f| Failure {
                at: f.at,
                job: f.job.to_string(),
                run_id: f.run_id.clone(),
                error: f.error.clone(),
            })
            .collect(),
        recent: recent(&site),
        history_dir: (!site.outputs_dir.as_os_str().is_empty()).then(|| site.outputs_dir.clone()),
    };
    crate::document::redact_html(&dashboard_page(&model))
}

/// Failures on the dashboard's list.
const FAILURES: usize = 5;

/// Reports on the dashboard's list.
const RECENT: usize = 10;

/// The newest reports in the outputs and analysis dirs, with their URLs.
fn recent(site: &Site) -> Vec<Recent> {
    let under = |root: &std::path::Path, prefix: &str, dir: &std::path::Path| {
        let rel = dir.strip_prefix(root).ok()?;
        let parts: Vec<&str> = rel.iter().map(|p| p.to_str()).collect::<Option<_>>()?;
        Some(format!("{prefix}{}/", parts.join("/")))
    };
    if site.outputs_dir.as_os_str().is_empty() {
        return Vec::new();
    }
    crate::report::locate::all(&site.outputs_dir, &site.analysis_dir)
        .into_iter()
        .filter_map(|f| {
            let dir = f.dir();
            let url = under(&site.outputs_dir, "/runs/", dir)
                .or_else(|| under(&site.analysis_dir, "/analysis/", dir))?;
            Some(Recent {
                name: url
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .to_owned(),
                page: f.page.file_name()?.to_string_lossy().into_owned(),
                url,
                modified: jiff::Timestamp::try_from(f.modified).ok(),
            })
        })
        .take(RECENT)
        .collect()
}

/// Whether the run `id` has a folder with an HTML report in the outputs
/// dir (a run id is one plain path segment).
fn has_page(site: &Site, id: &str) -> bool {
    let plain = !id.is_empty() && !id.contains(['/', '\\']) && id != "." && id != "..";
    plain
        && crate::report::locate::PAGES
            .iter()
            .any(|name| site.outputs_dir.join(id).join(name).is_file())
}
