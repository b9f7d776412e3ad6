//! Owns the service dashboard's page (`/` of `tether watch`'s endpoint):
//! each upstream's commits, soak and held-back state, the last run of each
//! job with a link to its run page, and the baseline trend plots read from
//! the outputs dir. The model is filled by the service (`daemon`); this
//! file only renders it, unredacted like every renderer.

use std::path::PathBuf;

use maud::html;

/// What the dashboard shows.
#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    pub project: String,
    /// The config file the service runs with.
    pub config: Option<String>,
    pub healthy: bool,
    pub started: Option<jiff::Timestamp>,
    pub upstreams: Vec<UpstreamRow>,
    pub jobs: Vec<JobRow>,
    /// The newest failures, newest first.
    pub failures: Vec<Failure>,
    /// The newest HTML reports, newest first.
    pub recent: Vec<Recent>,
    /// The outputs dir, whose run folders' `results.json` make the trends.
    pub history_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Default)]
pub struct UpstreamRow {
    pub name: String,
    pub current: Option<String>,
    pub target: Option<String>,
    pub last_good: Option<String>,
    pub behind: usize,
    /// New commits not old enough to adopt yet.
    pub pending_soak: usize,
    pub held: Option<Held>,
    pub last_verdict: Option<String>,
    pub checked_at: Option<jiff::Timestamp>,
}

/// An upstream held back at its last good commit.
#[derive(Debug, Clone)]
pub struct Held {
    pub at: String,
    pub first_bad: String,
    pub since: jiff::Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct JobRow {
    pub job: String,
    pub schedule: String,
    pub last_run: Option<jiff::Timestamp>,
    /// `ok`, `failed`, `skipped`, `cancelled`.
    pub outcome: Option<&'static str>,
    pub error: Option<String>,
    pub run_id: Option<String>,
    /// Whether the run's folder holds an HTML report to link to.
    pub has_page: bool,
    pub next_run: Option<jiff::Timestamp>,
}

/// A job run that failed.
#[derive(Debug, Clone)]
pub struct Failure {
    pub at: jiff::Timestamp,
    pub job: String,
    pub run_id: String,
    pub error: String,
}

/// A report on disk, linked.
#[derive(Debug, Clone)]
pub struct Recent {
    /// The folder's name.
    pub name: String,
    /// The page's file name.
    pub page: String,
    /// Where the endpoint serves it.
    pub url: String,
    pub modified: Option<jiff::Timestamp>,
}

/// The whole page.
pub fn page(d: &Dashboard) -> String {
    let short = |c: &Option<String>| match c {
        Some(c) => html! { code { (c.get(..12).unwrap_or(c)) } },
        None => html! { "unknown" },
    };
    let when = |t: Option<jiff::Timestamp>| t.map(super::date).unwrap_or_else(|| "never".into());
    let body = html! {
        h1 { "tether: " (d.project) }
        p class="outcome" {
            @if d.healthy { span class="good" { "Healthy" } ": the last run of every job succeeded." }
            @else { span class="bad" { "Unhealthy" } ": a job's last run failed." }
        }
        ul {
            @if let Some(c) = &d.config { li { "Config: " code { (c) } } }
            li { "Service started: " (when(d.started)) }
        }
        h2 { "Upstreams" }
        @if d.upstreams.is_empty() { p { "No upstream checked yet." } }
        @else {
            table {
                tr { th { "upstream" } th { "current" } th { "target" } th { "last good" } th { "behind" } th { "soaking" } th { "held back" } th { "last update" } th { "checked" } }
                @for u in &d.upstreams {
                    tr {
                        td { code { (u.name) } }
                        td { (short(&u.current)) }
                        td { (short(&u.target)) }
                        td { (short(&u.last_good)) }
                        td { (u.behind) }
                        td { @if u.pending_soak > 0 { span class="warn" { (u.pending_soak) " commit(s)" } } @else { "none" } }
                        td {
                            @match &u.held {
                                Some(h) => span class="bad" { "held at " code { (h.at.get(..12).unwrap_or(&h.at)) } ", first bad " code { (h.first_bad.get(..12).unwrap_or(&h.first_bad)) } " since " (super::date(h.since)) },
                                None => "no",
                            }
                        }
                        td { (u.last_verdict.as_deref().unwrap_or("none")) }
                        td { (when(u.checked_at)) }
                    }
                }
            }
        }
        h2 { "Jobs" }
        @if d.jobs.is_empty() { p { "No job scheduled." } }
        @else {
            table {
                tr { th { "job" } th { "schedule" } th { "last run" } th { "outcome" } th { "run" } th { "next run" } }
                @for j in &d.jobs {
                    tr {
                        td { (j.job) }
                        td { code { (j.schedule) } }
                        td { (when(j.last_run)) }
                        td {
                            @match j.outcome {
                                Some("ok") => span class="good" { "ok" },
                                Some("failed") => span class="bad" { "failed" },
                                Some(o) => span class="warn" { (o) },
                                None => "not run yet",
                            }
                            @if let Some(e) = &j.error { br; small { (e) } }
                        }
                        td {
                            @match (&j.run_id, j.has_page) {
                                (Some(id), true) => a href={ "/runs/" (id) "/" } { code { (id) } },
                                (Some(id), false) => code { (id) },
                                (None, _) => "",
                            }
                        }
                        td { (when(j.next_run)) }
                    }
                }
            }
        }
        @if !d.failures.is_empty() {
            h2 { "Recent failures" }
            table {
                tr { th { "when" } th { "job" } th { "run" } th { "error" } }
                @for f in &d.failures {
                    tr { td { (super::date(f.at)) } td { (f.job) } td { code { (f.run_id) } } td { (f.error) } }
                }
            }
        }
        h2 { "Recent reports" }
        @if d.recent.is_empty() { p { "No HTML report yet." } }
        @else {
            table {
                tr { th { "run" } th { "report" } th { "written" } }
                @for r in &d.recent {
                    tr {
                        td { a href=(r.url) { code { (r.name) } } }
                        td { (r.page) }
                        td { (when(r.modified)) }
                    }
                }
            }
        }
        h2 { "Baseline trends" }
        @match &d.history_dir {
            Some(dir) => (super::baseline::history_trends(dir)),
            None => p { "No outputs dir." },
        }
    };
    super::page(&format!("tether: {}", d.project), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_strings_are_escaped_and_runs_with_a_page_are_linked() {
        let d = Dashboard {
            project: "p<script>".into(),
            jobs: vec![
                JobRow {
                    job: "update".into(),
                    outcome: Some("failed"),
                    error: Some("<script>alert(1)</script>".into()),
                    run_id: Some("update-1".into()),
                    has_page: true,
                    ..JobRow::default()
                },
                JobRow {
                    job: "check".into(),
                    run_id: Some("check-1".into()),
                    ..JobRow::default()
                },
            ],
            upstreams: vec![UpstreamRow {
                name: "up".into(),
                held: Some(Held {
                    at: "a".repeat(40),
                    first_bad: "b".repeat(40),
                    since: jiff::Timestamp::UNIX_EPOCH,
                }),
                ..UpstreamRow::default()
            }],
            ..Dashboard::default()
        };
        let html = page(&d);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("<a href=\"/runs/update-1/\">"), "{html}");
        assert!(!html.contains("/runs/check-1/"), "{html}");
        assert!(html.contains("held at <code>aaaaaaaaaaaa</code>"), "{html}");
        assert!(html.contains("No outputs dir."), "{html}");
    }
}
