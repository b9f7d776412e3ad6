//! The status endpoint of a running service (loopback by default,
//! `service.listen`): `/healthz`, `/status` (JSON) and `/metrics`
//! (Prometheus), served by `tiny_http` on a thread of its own from a shared
//! snapshot of the service state. Output is redacted.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::state::ServiceState;

/// What `/status` shows besides the state.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Snapshot {
    pub state: ServiceState,
    /// The config file the service runs with.
    pub config: Option<String>,
    /// Whether the last run of every job succeeded.
    pub healthy: bool,
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
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    pub addr: SocketAddr,
}

impl StatusServer {
    pub fn start(addr: SocketAddr, shared: Shared) -> Result<StatusServer, ListenError> {
        let server = tiny_http::Server::http(addr).map_err(|e| ListenError {
            addr,
            message: e.to_string(),
        })?;
        let bound = server.server_addr().to_ip().unwrap_or(addr);
        let server = Arc::new(server);
        let s = Arc::clone(&server);
        let thread = std::thread::Builder::new()
            .name("tether-status".into())
            .spawn(move || {
                for request in s.incoming_requests() {
                    let (code, kind, body) = route(request.url(), &shared);
                    let header =
                        tiny_http::Header::from_bytes(&b"Content-Type"[..], kind.as_bytes())
                            .expect("static header");
                    let response = tiny_http::Response::from_string(body)
                        .with_status_code(code)
                        .with_header(header);
                    let _ = request.respond(response);
                }
            })
            .ok();
        tracing::info!(addr = %bound, "status endpoint listening");
        Ok(StatusServer {
            server,
            thread,
            addr: bound,
        })
    }

    pub fn stop(mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn route(url: &str, shared: &Shared) -> (u16, &'static str, String) {
    let path = url.split('?').next().unwrap_or("");
    let snap = shared.lock().map(|s| s.clone()).unwrap_or_default();
    match path {
        "/healthz" => (200, "text/plain; charset=utf-8", "ok\n".into()),
        "/status" => match serde_json::to_string_pretty(&snap) {
            Ok(t) => (
                200,
                "application/json",
                crate::redact::redact(&t).into_owned() + "\n",
            ),
            Err(e) => (500, "text/plain; charset=utf-8", e.to_string()),
        },
        "/metrics" => (
            200,
            "text/plain; version=0.0.4; charset=utf-8",
            crate::redact::redact(&super::metrics::render(&snap.state)).into_owned(),
        ),
        _ => (
            404,
            "text/plain; charset=utf-8",
            "not found: try /healthz, /status or /metrics\n".into(),
        ),
    }
}
