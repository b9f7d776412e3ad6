//! The status endpoint of a running service (loopback by default,
//! `service.listen`): `/healthz`, `/status` (JSON) and `/metrics`
//! (Prometheus), answered from a shared snapshot of the service state; and
//! whatever else [`Pages`] answers (the dashboard, `crate::dashboard`,
//! handed in by the binary so that the service uses no renderer). Output
//! is redacted. The connections, their limits and the thread they are
//! served on belong to `serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::config::EndpointLimits;

use super::serve::{Answer, Reply};
use super::state::ServiceState;

/// What `/status` shows besides the state.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Snapshot {
    pub state: ServiceState,
    /// The config file the service runs with.
    pub config: Option<String>,
    /// Whether the last run of every job succeeded.
    pub healthy: bool,
    /// What the dashboard reads from the config (not in `/status`).
    #[serde(skip)]
    pub site: Option<Site>,
}

/// What the dashboard reads from the config: published with each snapshot
/// so that a reloaded config is followed.
#[derive(Debug, Clone, Default)]
pub struct Site {
    pub project: String,
    pub state_dir: PathBuf,
    pub outputs_dir: PathBuf,
    pub analysis_dir: PathBuf,
    /// The configured upstreams, in config order.
    pub upstreams: Vec<String>,
}

/// Pages served beside the JSON routes: the answer to a path (without its
/// query), or `None` for a path they do not have.
#[derive(Clone)]
pub struct Pages(pub Arc<PageFn>);

/// What [`Pages`] holds.
pub type PageFn = dyn Fn(&str, &Snapshot) -> Option<Answer> + Send + Sync;

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pages")
    }
}

pub type Shared = Arc<Mutex<Snapshot>>;

#[derive(Debug, thiserror::Error)]
#[error(
    "cannot listen on {addr} for the status endpoint: {message}; set `service.listen` to a free address, or to \"off\""
)]
pub struct ListenError {
    pub addr: SocketAddr,
    pub message: String,
}

pub struct StatusServer {
    server: super::serve::Server,
    pub addr: SocketAddr,
}

impl StatusServer {
    /// Binds `addr` and serves the routes below within `limits`; the port is
    /// taken when this returns and freed when the server is stopped or
    /// dropped.
    pub fn start(
        addr: SocketAddr,
        limits: EndpointLimits,
        shared: Shared,
        pages: Option<Pages>,
    ) -> Result<StatusServer, ListenError> {
        let open_files = super::serve::raise_open_files(limits.max_connections);
        if let Some(n) = open_files
            && n < u64::from(limits.max_connections) + 64
        {
            tracing::warn!(
                open_files = n,
                max_connections = limits.max_connections,
                "the open-file limit is close to service.endpoint_max_connections; raise the hard limit (systemd: LimitNOFILE) or lower the setting"
            );
        }
        let route: super::serve::Route =
            Arc::new(move |url: &str| route(url, &shared, pages.as_ref()));
        let server = super::serve::Server::start(addr, limits, route).map_err(|e| ListenError {
            addr,
            message: e.to_string(),
        })?;
        let bound = server.addr;
        tracing::info!(addr = %bound, max_connections = limits.max_connections, "status endpoint listening");
        Ok(StatusServer {
            server,
            addr: bound,
        })
    }

    /// Stops serving: open connections are closed and the port is freed.
    pub fn stop(self) {
        drop(self.server);
    }
}

fn route(url: &str, shared: &Shared, pages: Option<&Pages>) -> Answer {
    let path = url.split('?').next().unwrap_or("");
    let mut snap = shared.lock().map(|s| s.clone()).unwrap_or_default();
    if matches!(path, "/status" | "/metrics")
        && let Some(site) = &snap.site
    {
        // live: the jobs of the cluster tether follows right now
        match crate::slurm::followed_jobs(&crate::slurm::jobs_dir(&site.state_dir)) {
            Ok(d) => snap.state.slurm_jobs = d,
            Err(e) => tracing::debug!(error = %e, "cannot ask Slurm for the followed jobs"),
        }
    }
    if let Some(answer) = pages.and_then(|p| (p.0)(path, &snap)) {
        return answer;
    }
    Answer::Now(match path {
        "/healthz" => Reply::text(200, "ok\n"),
        "/status" => match serde_json::to_string_pretty(&snap) {
            Ok(t) => Reply::new(
                200,
                "application/json",
                crate::redact::redact(&t).into_owned() + "\n",
            ),
            Err(e) => Reply::text(500, e.to_string()),
        },
        "/metrics" => Reply::new(
            200,
            "text/plain; version=0.0.4; charset=utf-8",
            crate::redact::redact(&super::metrics::render(&snap.state)).into_owned(),
        ),
        _ => Reply::text(
            404,
            "not found: try / (the dashboard), /healthz, /status or /metrics\n",
        ),
    })
}
