//! `[service]`: the status endpoint, the webhook and housekeeping, and
//! `[escalation]`'s triggers, with their defaults.

use crate::config::defaults;
use crate::config::model::{EndpointLimits, EscalationConfig, ServiceConfig};
use crate::config::raw::{RawEscalation, RawService};

pub(super) fn service(raw: RawService) -> ServiceConfig {
    let d = defaults::ENDPOINT;
    ServiceConfig {
        listen: raw.listen.map_or(Some(defaults::LISTEN), |l| l.0),
        endpoint: EndpointLimits {
            max_connections: raw
                .endpoint_max_connections
                .map_or(d.max_connections, |n| n.0),
            request_timeout: raw
                .endpoint_request_timeout
                .map_or(d.request_timeout, |t| t.0),
            idle_timeout: raw.endpoint_idle_timeout.map_or(d.idle_timeout, |t| t.0),
            max_request_bytes: raw
                .endpoint_max_request_bytes
                .map_or(d.max_request_bytes, |n| n.0),
        },
        webhook: raw.webhook.map(|w| crate::redact::Secret::new(w.0)),
        webhook_timeout: raw
            .webhook_timeout
            .map_or(defaults::WEBHOOK_TIMEOUT, |t| t.0),
        webhook_retries: raw
            .webhook_retries
            .map_or(defaults::WEBHOOK_RETRIES, |n| n.0),
        keep_outputs_days: raw
            .keep_outputs_days
            .map_or(defaults::KEEP_OUTPUTS_DAYS, |n| n.0),
        keep_logs_days: raw.keep_logs_days.map_or(defaults::KEEP_LOGS_DAYS, |n| n.0),
        debug_log_max_lines: raw
            .debug_log_max_lines
            .map_or(defaults::DEBUG_LOG_MAX_LINES, |n| n.0),
    }
}

pub(super) fn escalation(raw: RawEscalation) -> EscalationConfig {
    let d = defaults::ESCALATION;
    EscalationConfig {
        consecutive_failures: raw
            .consecutive_failures
            .map_or(d.consecutive_failures, |n| n.0),
        same_failure_days: raw.same_failure_days.map_or(d.same_failure_days, |n| n.0),
        held_back_days: raw.held_back_days.map_or(d.held_back_days, |n| n.0),
        gpu_errors: raw.gpu_errors.unwrap_or(d.gpu_errors),
        protected_changes: raw.protected_changes.unwrap_or(d.protected_changes),
        remind_every: raw.remind_every.map_or(d.remind_every, |t| t.0),
    }
}
