//! Notifications: state changes (update promoted, rolled back, regression
//! found, health degraded, service stopping) POSTed as JSON to
//! `service.webhook` from a thread of their own, with a timeout, retries and
//! doubling back-off, so a slow or dead receiver never holds up the
//! scheduler. Payloads are redacted.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;

use crate::config::ServiceConfig;

/// Events waiting to be sent, at most; more are dropped (and logged).
const QUEUE: usize = 64;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Promoted,
    RolledBack,
    Regression,
    HealthDegraded,
    /// An unfixable update was bisected and the newest good commit adopted.
    HeldBack,
    /// A held-back upstream's new target was tested once and fails the same
    /// way as its culprit: the hold stays (sent once per new target).
    StillHeld,
    /// An update paused on conflicts and waits for `tether update
    /// --continue` or `--abort`.
    Paused,
    /// An update passed its baseline and waits for `tether approve` (the
    /// approval gate, `update.promote`).
    Parked,
    /// A person is asked to act (`[escalation]`); the payload carries
    /// `escalation`: id, trigger, severity and evidence.
    Escalation,
    ServiceStopping,
}

/// One notification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub event: EventKind,
    pub at: jiff::Timestamp,
    pub run_id: String,
    pub upstream: Option<String>,
    pub message: String,
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation: Option<super::escalation::EscalationPayload>,
}

impl Event {
    pub fn new(kind: EventKind, run_id: &str, upstream: Option<&str>, message: &str) -> Event {
        Event {
            event: kind,
            at: crate::env::now(),
            run_id: run_id.to_owned(),
            upstream: upstream.map(str::to_owned),
            message: crate::redact::redact(message).into_owned(),
            host: crate::state::hostname(),
            escalation: None,
        }
    }
}

/// The sending side; dropping it (or [`Notifier::close`]) lets the thread
/// finish what is queued and stop.
pub struct Notifier {
    tx: Option<SyncSender<Event>>,
    thread: Option<JoinHandle<()>>,
}

impl Notifier {
    /// A notifier for `cfg.webhook`; without one, events are only logged.
    pub fn start(cfg: &ServiceConfig) -> Notifier {
        let Some(url) = cfg.webhook.clone() else {
            return Notifier {
                tx: None,
                thread: None,
            };
        };
        let (tx, rx) = sync_channel::<Event>(QUEUE);
        let timeout = cfg.webhook_timeout;
        let retries = cfg.webhook_retries;
        let thread = std::thread::Builder::new()
            .name("tether-webhook".into())
            .spawn(move || send_loop(&rx, url.expose(), timeout, retries))
            .ok();
        Notifier {
            tx: Some(tx),
            thread,
        }
    }

    /// Queues an event without waiting.
    pub fn send(&self, event: Event) {
        tracing::info!(event = ?event.event, run_id = %event.run_id, message = %event.message, "notification");
        let Some(tx) = &self.tx else { return };
        match tx.try_send(event) {
            Ok(()) => {}
            Err(TrySendError::Full(e)) => {
                tracing::warn!(event = ?e.event, "webhook queue full; notification dropped");
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Stops taking events and waits (at most `wait`) for the queue to drain.
    pub fn close(mut self, wait: Duration) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let deadline = std::time::Instant::now() + wait;
            while !t.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if t.is_finished() {
                let _ = t.join();
            } else {
                tracing::warn!("webhook still busy at shutdown; pending notifications dropped");
            }
        }
    }
}

fn send_loop(rx: &Receiver<Event>, url: &str, timeout: Duration, retries: u32) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(true)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .provider(ureq::tls::TlsProvider::NativeTls)
                .build(),
        )
        .build()
        .into();
    while let Ok(event) = rx.recv() {
        let body = match serde_json::to_string(&event) {
            Ok(b) => crate::redact::redact(&b).into_owned(),
            Err(_) => continue,
        };
        let mut backoff = FIRST_BACKOFF;
        for attempt in 0..=retries {
            match agent
                .post(url)
                .header("Content-Type", "application/json")
                .send(body.as_str())
            {
                Ok(_) => {
                    tracing::debug!(event = ?event.event, attempt, "webhook delivered");
                    break;
                }
                Err(e) if attempt < retries => {
                    tracing::warn!(error = %crate::redact::redact(&e.to_string()), attempt, "webhook failed; retrying");
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
                Err(e) => {
                    tracing::error!(error = %crate::redact::redact(&e.to_string()), event = ?event.event, "webhook failed; notification dropped");
                }
            }
        }
    }
}
