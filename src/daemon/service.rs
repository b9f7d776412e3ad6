//! `tether watch`: one loop deciding, from one [`Control`] value at a time,
//! whether to run a due job, reload the config, stop, or wait. Jobs run one
//! at a time in this loop (single-flight in the process); the service lock
//! (`<state>/service/watch.lock`) keeps a second service out, and every job
//! takes the state lock, so a manual `tether update` and a cycle never
//! overlap. A failed job is recorded, notified and retried at its next tick;
//! only bad config at start, a taken lock or a removed lock file stop it.
//! SIGTERM/SIGINT stop the running child, roll back an unfinished update,
//! persist the state and end with exit 0; SIGHUP reloads the config.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::http::{Shared, Snapshot, StatusServer};
use super::jobs;
use super::notify::{Event, EventKind, Notifier};
use super::schedule::{missed, next_after};
use super::state::{JobOutcome, ServiceState};
use crate::config::{Config, JobKind};
use crate::state::{LockError, StateLock};

/// Longest wait between two looks at the clock and the signal flags.
const POLL: Duration = Duration::from_millis(200);
/// A wall clock that goes back by more than this is a clock jump.
const CLOCK_JUMP: i64 = 5;

#[derive(Debug, Clone, Default)]
pub struct WatchOptions {
    /// The config file, re-read on SIGHUP.
    pub config_path: PathBuf,
    /// Run every configured job at this interval instead of its cron
    /// schedule (soak benchmarks).
    pub every: Option<Duration>,
    /// Stop after this many job runs.
    pub max_cycles: Option<u64>,
    /// Pages the endpoint serves beside its JSON routes (the dashboard).
    pub pages: Option<super::http::Pages>,
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(
        "another `tether watch` is running for this state dir: {0}; stop it first (systemctl stop tether, or kill that pid)"
    )]
    AlreadyRunning(crate::state::LockHolder),
    #[error("cannot take the service lock")]
    Lock(#[source] LockError),
    #[error(transparent)]
    Listen(#[from] super::http::ListenError),
    #[error(
        "the config's [schedule] turns on no job: set at least one of check, update, baseline, housekeeping (see `tether config example`)"
    )]
    NoJobs,
    #[error("the service lock file `{}` was removed while the service ran and another process holds it now; stopping", .0.display())]
    LockLost(PathBuf),
}

/// How the service ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchSummary {
    pub cycles: u64,
    pub reason: String,
}

/// What the loop does next.
#[derive(Debug, Clone, PartialEq)]
enum Control {
    Run(JobKind),
    Reload,
    Shutdown(String),
    Wait(Duration),
}

/// A job's schedule and its next tick.
struct Due {
    job: JobKind,
    schedule: cron::Schedule,
    next: Option<jiff::Timestamp>,
}

struct Scheduler {
    tz: jiff::tz::TimeZone,
    every: Option<Duration>,
    due: Vec<Due>,
    last_seen: jiff::Timestamp,
}

impl Scheduler {
    /// Next ticks from now; a job whose tick passed while the service was
    /// down is due at once (once, however many ticks it missed).
    fn new(cfg: &Config, state: &ServiceState, every: Option<Duration>) -> Scheduler {
        let now = crate::env::now();
        let tz = cfg.schedule.timezone.clone();
        let due = cfg
            .schedule
            .jobs
            .iter()
            .map(|(job, _, schedule)| {
                let last = state.jobs.get(job).and_then(|j| j.last_run);
                let next = match (every, last) {
                    (Some(_), _) => Some(now),
                    (None, Some(last)) if missed(schedule, &tz, last, now) => {
                        tracing::info!(%job, last_run = %last, "missed while the service was down; running it once now");
                        Some(now)
                    }
                    (None, _) => next_after(schedule, &tz, now),
                };
                Due {
                    job: *job,
                    schedule: schedule.clone(),
                    next,
                }
            })
            .collect();
        Scheduler {
            tz,
            every,
            due,
            last_seen: now,
        }
    }

    fn control(&mut self, now: jiff::Timestamp) -> Control {
        if crate::process::interrupted() {
            return Control::Shutdown("asked to stop by a signal".into());
        }
        if crate::process::take_reload() {
            return Control::Reload;
        }
        if now.as_second() < self.last_seen.as_second() - CLOCK_JUMP {
            tracing::warn!(from = %self.last_seen, to = %now, "the clock went back; rescheduling every job from now");
            let (every, tz) = (self.every, self.tz.clone());
            for d in &mut self.due {
                d.next = after(every, &tz, &d.schedule, now);
            }
        }
        self.last_seen = now;
        let ready = self
            .due
            .iter()
            .filter(|d| d.next.is_some_and(|n| n <= now))
            .min_by_key(|d| d.next);
        if let Some(d) = ready {
            return Control::Run(d.job);
        }
        let wait = self
            .due
            .iter()
            .filter_map(|d| d.next)
            .map(|n| {
                Duration::from_millis(((n.as_millisecond() - now.as_millisecond()).max(1)) as u64)
            })
            .min()
            .unwrap_or(POLL);
        Control::Wait(wait.min(POLL))
    }

    /// Reschedules `job` after a run that ended at `now`.
    fn ran(&mut self, job: JobKind, now: jiff::Timestamp) {
        let (every, tz) = (self.every, self.tz.clone());
        if let Some(d) = self.due.iter_mut().find(|d| d.job == job) {
            d.next = after(every, &tz, &d.schedule, now);
        }
    }

    fn next_of(&self, job: JobKind) -> Option<jiff::Timestamp> {
        self.due.iter().find(|d| d.job == job).and_then(|d| d.next)
    }
}

/// The next run after `t`: `every` later, else the schedule's next tick.
fn after(
    every: Option<Duration>,
    tz: &jiff::tz::TimeZone,
    schedule: &cron::Schedule,
    t: jiff::Timestamp,
) -> Option<jiff::Timestamp> {
    match every {
        Some(every) => t
            .checked_add(jiff::SignedDuration::try_from(every).ok()?)
            .ok(),
        None => next_after(schedule, tz, t),
    }
}

/// The service lock of a state dir.
pub fn service_lock_path(cfg: &Config) -> PathBuf {
    cfg.project.state_dir.join("service").join("watch.lock")
}

/// Runs the service until a signal, `max_cycles`, or a fatal error.
pub fn watch(cfg: Config, opts: &WatchOptions) -> Result<WatchSummary, WatchError> {
    if cfg.schedule.jobs.is_empty() {
        return Err(WatchError::NoJobs);
    }
    crate::process::set_service_mode();
    let lock_path = service_lock_path(&cfg);
    let mut service_lock = match StateLock::acquire_file(&lock_path, "tether watch") {
        Ok(l) => l,
        Err(LockError::Held { holder, .. }) => return Err(WatchError::AlreadyRunning(holder)),
        Err(e) => return Err(WatchError::Lock(e)),
    };
    let mut cfg = cfg;
    let state_path = ServiceState::path(&cfg);
    let mut state = ServiceState::load(&state_path);
    state.started = Some(crate::env::now());
    state.pid = Some(std::process::id());
    let shared: Shared = Arc::new(Mutex::new(Snapshot::default()));
    let server = match cfg.service.listen {
        Some(addr) => Some(StatusServer::start(
            addr,
            cfg.service.endpoint,
            Arc::clone(&shared),
            opts.pages.clone(),
        )?),
        None => None,
    };
    let notifier = Notifier::start(&cfg.service);
    let mut sched = Scheduler::new(&cfg, &state, opts.every);
    publish(&shared, &cfg, &mut state, &sched);
    save(&state, &state_path);
    tracing::info!(
        jobs = ?cfg.schedule.jobs.iter().map(|(j, e, _)| format!("{j}: {e}")).collect::<Vec<_>>(),
        timezone = cfg.schedule.timezone.iana_name().unwrap_or("UTC"),
        "service started"
    );

    let mut cycles = 0u64;
    let reason = loop {
        if !lock_path.exists() {
            // the state dir (or the lock file) was removed under us: take the
            // lock again on a new file, unless someone else got there first
            match StateLock::acquire_file(&lock_path, "tether watch") {
                Ok(l) => {
                    tracing::warn!(lock = %lock_path.display(), "the state dir was removed while the service ran; recreated it and took the service lock again");
                    service_lock = l;
                    save(&state, &state_path);
                }
                Err(_) => break Err(WatchError::LockLost(lock_path.clone())),
            }
        }
        match sched.control(crate::env::now()) {
            Control::Wait(d) => std::thread::sleep(d),
            Control::Shutdown(reason) => break Ok(reason),
            Control::Reload => match Config::load(&opts.config_path) {
                Ok(new) => {
                    tracing::info!(config = %opts.config_path.display(), "config reloaded");
                    if new.service.listen != cfg.service.listen
                        || new.service.endpoint != cfg.service.endpoint
                    {
                        tracing::warn!(
                            "service.listen or service.endpoint_* changed: the endpoint changes at the next restart"
                        );
                    }
                    cfg = new;
                    sched = Scheduler::new(&cfg, &state, opts.every);
                    publish(&shared, &cfg, &mut state, &sched);
                }
                Err(e) => {
                    tracing::error!(error = %crate::redact::redact(&e.to_string()), "the new config is invalid; keeping the old one");
                }
            },
            Control::Run(job) => {
                cycles += 1;
                run_job(&cfg, job, &mut state, &notifier);
                sched.ran(job, crate::env::now());
                publish(&shared, &cfg, &mut state, &sched);
                save(&state, &state_path);
                if opts.max_cycles.is_some_and(|m| cycles >= m) {
                    break Ok(format!("{cycles} cycle(s) done"));
                }
            }
        }
    };
    let stopping = match &reason {
        Ok(r) => r.clone(),
        Err(e) => e.to_string(),
    };
    tracing::info!(reason = %stopping, cycles, "service stopping");
    notifier.send(Event::new(
        EventKind::ServiceStopping,
        "service",
        None,
        &format!("tether watch is stopping: {stopping}"),
    ));
    notifier.close(Duration::from_secs(10));
    if let Some(s) = server {
        s.stop();
    }
    state.pid = None;
    save(&state, &state_path);
    drop(service_lock);
    reason.map(|reason| WatchSummary { cycles, reason })
}

/// One job, its outcome folded into the state; never fails the service.
fn run_job(cfg: &Config, job: JobKind, state: &mut ServiceState, notifier: &Notifier) {
    let started = crate::env::now();
    let run_id = format!("watch-{job}-{}", started.strftime("%Y%m%dT%H%M%S%.3fZ"));
    let span = tracing::info_span!("cycle", run_id = %run_id, job = %job);
    let _enter = span.enter();
    tracing::info!("cycle started");
    let clock = std::time::Instant::now();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        jobs::run(cfg, job, &run_id, state)
    }))
    .unwrap_or_else(|p| {
        Err(format!(
            "the job panicked: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default()
        ))
    });
    let duration = clock.elapsed().as_secs_f64();
    let was_ok = state
        .jobs
        .get(&job)
        .and_then(|j| j.last_outcome)
        .is_none_or(|o| o != JobOutcome::Failed);
    let j = state.jobs.entry(job).or_default();
    j.last_run = Some(started);
    j.last_duration_s = duration;
    j.last_run_id = Some(run_id.clone());
    j.runs += 1;
    state.cycles += 1;
    match result {
        Ok(r) => {
            let j = state.jobs.entry(job).or_default();
            match r.skipped {
                Some(holder) => {
                    tracing::warn!(%holder, "skipped: another tether command holds the lock; next tick tries again");
                    j.last_outcome = Some(JobOutcome::Skipped);
                    j.last_error = Some(format!("skipped: the lock is held by {holder}"));
                }
                None => {
                    j.last_outcome = Some(JobOutcome::Ok);
                    j.last_error = None;
                }
            }
            tracing::info!(duration_s = duration, "cycle finished");
            for e in r.events {
                notifier.send(e);
            }
        }
        Err(error) if crate::process::interrupted() => {
            tracing::warn!(%error, "cycle stopped by the shutdown");
            let j = state.jobs.entry(job).or_default();
            j.last_outcome = Some(JobOutcome::Cancelled);
            j.last_error = Some(format!("stopped by the shutdown: {error}"));
        }
        Err(error) => {
            let error = crate::redact::redact(&error).into_owned();
            tracing::error!(%error, duration_s = duration, "cycle failed; the next tick tries again");
            let j = state.jobs.entry(job).or_default();
            j.last_outcome = Some(JobOutcome::Failed);
            j.last_error = Some(error.clone());
            j.failures += 1;
            state.record_failure(job, &run_id, &error);
            if was_ok {
                notifier.send(Event::new(
                    EventKind::HealthDegraded,
                    &run_id,
                    None,
                    &format!("job `{job}` failed: {error}"),
                ));
            }
        }
    }
}

/// Copies next-run times into the state and the state into the endpoint's
/// snapshot.
fn publish(shared: &Shared, cfg: &Config, state: &mut ServiceState, sched: &Scheduler) {
    for (job, expr, _) in &cfg.schedule.jobs {
        let j = state.jobs.entry(*job).or_default();
        j.schedule = expr.clone();
        j.next_run = sched.next_of(*job);
    }
    let healthy = state
        .jobs
        .values()
        .all(|j| j.last_outcome != Some(JobOutcome::Failed));
    if let Ok(mut s) = shared.lock() {
        *s = Snapshot {
            state: state.clone(),
            config: cfg
                .source
                .as_deref()
                .map(Path::display)
                .map(|d| d.to_string()),
            healthy,
            site: Some(super::http::Site {
                project: cfg.project.name.clone(),
                state_dir: cfg.project.state_dir.clone(),
                outputs_dir: cfg.project.outputs_dir.clone(),
                analysis_dir: cfg.project.analysis_dir.clone(),
                upstreams: cfg.upstreams.iter().map(|u| u.name.clone()).collect(),
            }),
        };
    }
}

fn save(state: &ServiceState, path: &Path) {
    if let Err(e) = state.save(path) {
        tracing::error!(error = %e, "cannot save the service state");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::state::JobState;

    fn cfg(schedule: &str) -> Config {
        let text = format!(
            "[[upstream]]\nname = \"a\"\nurl = \"u\"\npath = \"p\"\nlayout = \"clone\"\n\n[schedule]\n{schedule}\n"
        );
        Config::parse(&text, Path::new("/tmp")).unwrap()
    }

    #[test]
    fn a_job_missed_during_downtime_is_due_once_at_start() {
        let cfg = cfg("check = \"0 * * * * *\"");
        let mut state = ServiceState::default();
        state.jobs.insert(
            JobKind::Check,
            JobState {
                last_run: Some(crate::env::now() - jiff::SignedDuration::from_hours(3)),
                ..JobState::default()
            },
        );
        let mut s = Scheduler::new(&cfg, &state, None);
        let now = crate::env::now();
        assert_eq!(s.control(now), Control::Run(JobKind::Check));
        s.ran(JobKind::Check, now);
        // After the catch-up run: the next tick, not 180 more runs.
        assert!(matches!(s.control(now), Control::Wait(_)));
        assert!(s.next_of(JobKind::Check).unwrap() > now);
    }

    #[test]
    fn without_a_last_run_nothing_is_caught_up() {
        let cfg = cfg("check = \"0 0 0 1 1 *\"");
        let mut s = Scheduler::new(&cfg, &ServiceState::default(), None);
        assert!(matches!(s.control(crate::env::now()), Control::Wait(_)));
    }

    #[test]
    fn a_clock_that_goes_back_reschedules_from_now() {
        let cfg = cfg("check = \"*/10 * * * * *\"");
        let mut s = Scheduler::new(&cfg, &ServiceState::default(), None);
        let now = crate::env::now();
        let _ = s.control(now);
        let back = now - jiff::SignedDuration::from_hours(1);
        let _ = s.control(back);
        let next = s.next_of(JobKind::Check).unwrap();
        assert!(next > back && next <= back + jiff::SignedDuration::from_secs(10));
    }
}
