//! The status endpoint's connection layer: a single-threaded tokio runtime on
//! the endpoint's own thread, an accept loop that serves at most
//! `service.endpoint_max_connections` connections at once (one more is
//! answered `503` and closed), hyper's HTTP/1 with a cap on the request head,
//! a body cap by `Content-Length`, and per connection a clock that closes it
//! when a request head takes longer than `endpoint_request_timeout` or the
//! connection sits idle longer than `endpoint_idle_timeout` (the two stages
//! Go's server calls ReadHeaderTimeout and IdleTimeout; hyper's own timer
//! runs from the previous answer, so it cannot tell them apart). What each
//! path answers is `http`'s business.
//!
//! Why async here and nowhere else in the service: a thread per connection
//! made 700 idle clients cost 700 threads. On one event loop an idle
//! connection costs a descriptor and a small task; the thread count stays
//! fixed whatever the clients do. The JSON routes never block (they copy a
//! snapshot under a mutex); the dashboard's pages and files read the disk,
//! so they run on tokio's blocking pool, capped at one thread.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, LOCATION, TRANSFER_ENCODING,
};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::config::EndpointLimits;

/// What a path answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub kind: &'static str,
    pub body: Bytes,
    /// A `Location` header (a redirect).
    pub location: Option<String>,
}

impl Reply {
    pub fn new(code: u16, kind: &'static str, body: impl Into<Bytes>) -> Reply {
        Reply {
            code,
            kind,
            body: body.into(),
            location: None,
        }
    }

    /// Plain text.
    pub fn text(code: u16, body: impl Into<Bytes>) -> Reply {
        Reply::new(code, "text/plain; charset=utf-8", body)
    }
}

/// A route's answer: ready now (from memory), or work that reads the disk,
/// which runs on the runtime's one blocking thread so that it never holds
/// up the event loop (and `/healthz` answers while a page renders).
pub enum Answer {
    Now(Reply),
    Disk(Box<dyn FnOnce() -> Reply + Send>),
}

/// The endpoint's routes, from the request's path and query.
pub type Route = Arc<dyn Fn(&str) -> Answer + Send + Sync>;

/// The answer past the connection cap, written without parsing anything.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 51\r\n\
Connection: close\r\n\
Retry-After: 1\r\n\
\r\n\
busy: the status endpoint has too many connections\n";
/// Refused connections that may linger (to read what the client sent, so
/// that closing does not reset the connection before it reads the 503);
/// past this many, a refused connection is closed at once.
const MAX_LINGERING: usize = 64;
/// How long a refused connection may linger.
const LINGER: Duration = Duration::from_secs(1);
/// What a refused connection may send while it lingers.
const LINGER_BYTES: usize = 64 * 1024;
/// Pause after running out of descriptors, before accepting again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Warnings about refusals and accept errors: at most one per this long.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// A running endpoint; dropping it stops the runtime and frees the port.
pub struct Server {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `addr` now (so a taken port fails here), then serves on a
    /// thread of its own.
    pub fn start(addr: SocketAddr, limits: EndpointLimits, route: Route) -> io::Result<Server> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .max_blocking_threads(1)
            .build()?;
        let listener = {
            let _context = runtime.enter();
            let socket = match addr {
                SocketAddr::V4(_) => TcpSocket::new_v4()?,
                SocketAddr::V6(_) => TcpSocket::new_v6()?,
            };
            socket.set_reuseaddr(true)?;
            socket.bind(addr)?;
            socket.listen(limits.max_connections.clamp(128, 4096))?
        };
        let bound = listener.local_addr()?;
        let (tx, rx) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("tether-status".into())
            .spawn(move || {
                runtime.block_on(accept_loop(listener, limits, route, rx));
                // dropping the runtime ends every connection's task and
                // closes its socket
                drop(runtime);
            })?;
        Ok(Server {
            addr: bound,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    limits: EndpointLimits,
    route: Route,
    mut shutdown: oneshot::Receiver<()>,
) {
    let open = Arc::new(AtomicUsize::new(0));
    let lingering = Arc::new(AtomicUsize::new(0));
    let mut refused = Throttled::default();
    let mut failed = Throttled::default();
    let max = limits.max_connections as usize;
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, _)) if open.load(Ordering::Relaxed) >= max => {
                if let Some(n) = refused.note() {
                    tracing::warn!(
                        refused = n,
                        max_connections = max,
                        "the status endpoint is at service.endpoint_max_connections; refusing new connections with 503"
                    );
                }
                refuse(stream, &lingering);
            }
            Ok((stream, _)) => {
                let slot = Slot::take(&open);
                tokio::spawn(serve(stream, limits, Arc::clone(&route), slot));
            }
            Err(e) => {
                let out_of_fds = matches!(
                    e.raw_os_error().map(nix::errno::Errno::from_raw),
                    Some(nix::errno::Errno::EMFILE | nix::errno::Errno::ENFILE)
                );
                if out_of_fds {
                    if let Some(n) = failed.note() {
                        tracing::warn!(error = %e, failures = n, "the status endpoint cannot accept: out of file descriptors");
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                } else {
                    tracing::debug!(error = %e, "accept failed");
                }
            }
        }
    }
}

/// One connection: HTTP/1 until the client closes, a timeout, or an error.
async fn serve(stream: TcpStream, limits: EndpointLimits, route: Route, _slot: Slot) {
    let _ = stream.set_nodelay(true);
    let clock = Clock::new();
    let io = TokioIo::new(Tracked {
        stream,
        clock: Arc::clone(&clock),
    });
    let max_body = u64::from(limits.max_request_bytes);
    let answered = Arc::clone(&clock);
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        answered.answered();
        let (answer, close) = respond(&req, &route, max_body);
        async move {
            let reply = match answer {
                Answer::Now(r) => r,
                Answer::Disk(work) => tokio::task::spawn_blocking(work)
                    .await
                    .unwrap_or_else(|e| Reply::text(500, format!("internal error: {e}\n"))),
            };
            Ok::<_, Infallible>(response(reply, close))
        }
    });
    let max_head = limits.max_request_bytes as usize;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.header_read_timeout(None)
        .max_header_size(max_head)
        .max_buf_size(max_head.max(8192))
        .keep_alive(true);
    let conn = http.serve_connection(io, service);
    tokio::pin!(conn);
    loop {
        let deadline = clock.deadline(&limits);
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(error = %e, "status connection ended");
                }
                return;
            }
            () = tokio::time::sleep_until(deadline) => {
                if clock.deadline(&limits) <= Instant::now() {
                    tracing::debug!(waiting_for = ?clock.phase(), "closing a status connection: timed out");
                    return;
                }
            }
        }
    }
}

/// The answer to one request: `route`'s, or 413 past the body cap; and
/// whether the connection closes after it.
fn respond(req: &Request<Incoming>, route: &Route, max_body: u64) -> (Answer, bool) {
    let length = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    // the body is never read: a request that has one ends the connection
    let has_body = length.is_some_and(|n| n > 0) || req.headers().contains_key(TRANSFER_ENCODING);
    let answer = match length {
        Some(n) if n > max_body => Answer::Now(Reply::text(
            413,
            format!(
                "request too large: at most {max_body} bytes (service.endpoint_max_request_bytes)\n"
            ),
        )),
        _ => route(
            req.uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/"),
        ),
    };
    (answer, has_body)
}

/// The HTTP response of a reply.
fn response(reply: Reply, close: bool) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(reply.body));
    *response.status_mut() =
        StatusCode::from_u16(reply.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(reply.kind));
    if let Some(to) = reply.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(LOCATION, to);
    }
    if close {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Answers 503 and closes. The answer goes out at once; the connection then
/// lingers (at most [`LINGER`], [`MAX_LINGERING`] of them) reading what
/// the client sent, so that the close is not a reset that could discard the
/// answer before the client reads it.
fn refuse(stream: TcpStream, lingering: &Arc<AtomicUsize>) {
    if lingering.load(Ordering::Relaxed) >= MAX_LINGERING {
        return;
    }
    let slot = Slot::take(lingering);
    tokio::spawn(async move {
        let _slot = slot;
        let mut stream = stream;
        let _ = tokio::time::timeout(LINGER, async {
            stream.write_all(BUSY).await?;
            stream.shutdown().await?;
            let mut sink = [0u8; 4096];
            let mut left = LINGER_BYTES;
            while left > 0 {
                let n = stream.read(&mut sink).await?;
                if n == 0 {
                    break;
                }
                left = left.saturating_sub(n);
            }
            Ok::<_, io::Error>(())
        })
        .await;
    });
}

/// One place taken in a counter, given back when dropped (also when the
/// runtime's shutdown drops the task holding it).
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(counter: &Arc<AtomicUsize>) -> Slot {
        counter.fetch_add(1, Ordering::Relaxed);
        Slot(Arc::clone(counter))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A count of events that says when to log: the first, then at most once
/// per [`WARN_EVERY`], with the count so far.
#[derive(Default)]
struct Throttled {
    count: u64,
    last: Option<Instant>,
}

impl Throttled {
    fn note(&mut self) -> Option<u64> {
        self.count += 1;
        let now = Instant::now();
        if self.last.is_some_and(|l| now < l + WARN_EVERY) {
            return None;
        }
        self.last = Some(now);
        Some(self.count)
    }
}

/// What a connection is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The rest of a request head: from the connection opening, or from the
    /// first byte after an answer.
    Head,
    /// The next request, after an answer.
    Idle,
}

#[derive(Debug, Clone, Copy)]
struct Timing {
    phase: Phase,
    /// When the phase began.
    since: Instant,
    /// When a byte last moved either way.
    last: Instant,
}

/// A connection's timing, shared by its socket (traffic) and its handler
/// (answers).
struct Clock(std::sync::Mutex<Timing>);

impl Clock {
    fn new() -> Arc<Clock> {
        let now = Instant::now();
        Arc::new(Clock(std::sync::Mutex::new(Timing {
            phase: Phase::Head,
            since: now,
            last: now,
        })))
    }

    fn with<T>(&self, f: impl FnOnce(&mut Timing) -> T) -> T {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut t)
    }

    /// Bytes came in: after an answer, they begin the next head.
    fn read(&self) {
        let now = Instant::now();
        self.with(|t| {
            t.last = now;
            if t.phase == Phase::Idle {
                t.phase = Phase::Head;
                t.since = now;
            }
        });
    }

    fn wrote(&self) {
        let now = Instant::now();
        self.with(|t| t.last = now);
    }

    /// A head is complete and answered: the connection waits for the next.
    fn answered(&self) {
        let now = Instant::now();
        self.with(|t| {
            t.phase = Phase::Idle;
            t.since = now;
            t.last = now;
        });
    }

    fn phase(&self) -> Phase {
        self.with(|t| t.phase)
    }

    /// When the connection is closed unless something happens first.
    fn deadline(&self, limits: &EndpointLimits) -> Instant {
        self.with(|t| match t.phase {
            Phase::Head => t.since + limits.request_timeout,
            Phase::Idle => t.last + limits.idle_timeout,
        })
    }
}

/// A socket that tells its [`Clock`] about its traffic.
struct Tracked {
    stream: TcpStream,
    clock: Arc<Clock>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.clock.read();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Raises the soft open-file limit to what `max_connections` needs (plus
/// room for the service's own files), at most to the hard limit; returns
/// the soft limit in force.
pub fn raise_open_files(max_connections: u32) -> Option<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    let want = (u64::from(max_connections) + 1024).min(hard);
    if want <= soft {
        return Some(soft);
    }
    match setrlimit(Resource::RLIMIT_NOFILE, want, hard) {
        Ok(()) => {
            tracing::debug!(from = soft, to = want, "raised the open-file limit");
            Some(want)
        }
        Err(e) => {
            tracing::debug!(error = %e, "cannot raise the open-file limit");
            Some(soft)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busy_answer_is_well_formed() {
        let text = std::str::from_utf8(BUSY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(head.contains("\r\nConnection: close"));
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.len());
    }

    #[test]
    fn the_clock_times_a_head_from_its_start_and_idleness_from_the_last_byte() {
        let limits = EndpointLimits {
            request_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            ..EndpointLimits::default()
        };
        let clock = Clock::new();
        let opened = clock.deadline(&limits);
        // traffic does not stretch the time a head may take
        clock.read();
        clock.wrote();
        assert_eq!(clock.deadline(&limits), opened);
        assert_eq!(clock.phase(), Phase::Head);
        clock.answered();
        assert_eq!(clock.phase(), Phase::Idle);
        let idle = clock.deadline(&limits);
        assert!(idle >= opened + Duration::from_secs(50));
        // the first byte after an answer starts the next head's time
        clock.read();
        assert_eq!(clock.phase(), Phase::Head);
        assert!(clock.deadline(&limits) < idle);
    }

    #[test]
    fn throttled_warnings_come_first_then_at_most_once_a_minute() {
        let mut t = Throttled::default();
        assert_eq!(t.note(), Some(1));
        assert_eq!(t.note(), None);
        assert_eq!(t.note(), None);
        t.last = Some(Instant::now() - WARN_EVERY);
        assert_eq!(t.note(), Some(4));
    }
}
