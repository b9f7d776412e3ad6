//! Owns `tether watch`, the monitoring service: the scheduler loop
//! (`service`), cron schedules in a time zone with catch-up (`schedule`), the
//! jobs it runs (`jobs`, `housekeeping`), escalations (`escalation`), its persisted state (`state`), the
//! status endpoint (`http` its routes, `serve` its connections, `metrics`;
//! the dashboard's pages are handed in from above, see `crate::dashboard`)
//! and webhook notifications (`notify`).
//!
//! The service is synchronous, like the library it drives (git2, child
//! processes waited on): one thread runs jobs one at a time, the webhook has
//! a thread. An async runtime would only wrap every job in `spawn_blocking`;
//! and cron's "catch up once after downtime" needs the persisted last-run
//! times that a scheduler crate does not keep. The one exception is the
//! status endpoint: a single-threaded tokio runtime on a thread of its own,
//! so that many idle clients cost descriptors, not threads (see `serve`).

pub mod escalation;
pub mod housekeeping;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod notify;
pub mod schedule;
pub mod serve;
pub mod service;
pub mod state;

pub use service::{WatchError, WatchOptions, WatchSummary, service_lock_path, watch};
pub use state::ServiceState;
