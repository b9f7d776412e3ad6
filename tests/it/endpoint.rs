//! The status endpoint of a real `tether watch` under load and abuse: a
//! thousand idle connections cost no threads and leave nothing behind, the
//! connection cap answers 503, silent and idle connections are closed, slow
//! and oversized requests are refused.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::sample::Sample;
use crate::watch::{Watch, free_port, sample, wait_for};

/// Liveness limit of one client read: far above any real answer time.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(20);

/// A `tether watch` with no job due and its endpoint on a free port, with
/// `limits` added to `[service]`, once `/healthz` answers.
fn start(limits: &str) -> (Sample, u16, Watch) {
    let port = free_port();
    let s = sample(
        &format!(
            "\n[schedule]\ncheck = \"0 0 0 1 1 *\"\n\n[service]\nlisten = \"127.0.0.1:{port}\"\n{limits}"
        ),
        &[],
    );
    let w = Watch::start(&s.root);
    wait_for(Duration::from_secs(30), "the status endpoint", || {
        healthz(port).is_ok_and(|(code, _)| code == 200)
    });
    (s, port, w)
}

/// `GET /healthz` over HTTP/1.0 on a new connection: (status code, whole
/// answer), or the error.
fn healthz(port: u16) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    s.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((code, text))
}

/// Reads until the server closes the connection: what it sent, and whether
/// it closed (end of stream or reset) within [`CLIENT_TIMEOUT`].
fn read_until_closed(s: &mut TcpStream) -> (String, bool) {
    s.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break false;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break true,
        }
    };
    (String::from_utf8_lossy(&got).into_owned(), closed)
}

fn count(dir: &str) -> usize {
    fs_err::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// The service's threads and open descriptors.
fn threads_and_fds(pid: u32) -> (usize, usize) {
    (
        count(&format!("/proc/{pid}/task")),
        count(&format!("/proc/{pid}/fd")),
    )
}

/// The service's threads and descriptors at rest: the least of a few looks
/// (a connection just answered may still be closing).
fn at_rest(pid: u32) -> (usize, usize) {
    std::thread::sleep(Duration::from_millis(300));
    (0..5)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(100));
            threads_and_fds(pid)
        })
        .fold((usize::MAX, usize::MAX), |(t, f), (t1, f1)| {
            (t.min(t1), f.min(f1))
        })
}

/// Raises this test process's soft open-file limit to its hard limit.
fn raise_open_files(need: u64) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    assert!(
        hard >= need,
        "this test needs {need} open files; the hard limit is {hard}"
    );
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    }
}

fn connect_idle(port: u16, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect()
}

#[test]
fn a_thousand_idle_connections_cost_no_threads_and_leave_nothing_behind() {
    const IDLE: usize = 1000;
    const REQUESTS: usize = 2000;
    const CLIENTS: usize = 4;
    raise_open_files(IDLE as u64 + 1000);
    let (_s, port, mut w) =
        start("endpoint_request_timeout = \"10m\"\nendpoint_idle_timeout = \"10m\"\n");
    let pid = w.pid();
    for _ in 0..20 {
        assert_eq!(healthz(port).unwrap().0, 200);
    }
    let (threads0, fds0) = at_rest(pid);

    let idle = connect_idle(port, IDLE);
    // the service holds every one of them open
    wait_for(
        Duration::from_secs(30),
        "the service to accept the idle connections",
        || threads_and_fds(pid).1 >= fds0 + IDLE,
    );

    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let mut slowest = Duration::ZERO;
                for _ in 0..REQUESTS / CLIENTS {
                    let t = Instant::now();
                    let (code, text) = healthz(port).expect("/healthz answers");
                    assert_eq!(code, 200, "{text}");
                    assert!(text.ends_with("\r\n\r\nok\n"), "{text}");
                    slowest = slowest.max(t.elapsed());
                    done.fetch_add(1, Ordering::Relaxed);
                }
                slowest
            })
        })
        .collect();
    // the service's threads while it serves them all
    let watcher = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut most = 0;
            while !stop.load(Ordering::Relaxed) {
                most = most.max(threads_and_fds(pid).0);
                std::thread::sleep(Duration::from_millis(20));
            }
            most
        })
    };
    let slowest = clients
        .into_iter()
        .map(|c| c.join().expect("a client failed"))
        .max()
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    let most_threads = watcher.join().unwrap();
    assert_eq!(done.load(Ordering::Relaxed), REQUESTS);
    eprintln!(
        "baseline {threads0} threads, {fds0} fds; at most {most_threads} threads under load; slowest /healthz {slowest:?}"
    );
    assert!(
        most_threads <= threads0 + 1,
        "{IDLE} idle connections and {REQUESTS} requests took the service from {threads0} to {most_threads} threads"
    );
    // the idle ones were never dropped to make room
    assert!(threads_and_fds(pid).1 >= fds0 + IDLE);

    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (threads, fds) = threads_and_fds(pid);
        if threads <= threads0 && fds <= fds0 + 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after the connections closed the service still has {threads} threads and {fds} fds (idle: {threads0} and {fds0})"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(healthz(port).unwrap().0, 200);
    assert_eq!(w.stop(Duration::from_secs(20)), 0);
}

#[test]
fn connections_past_the_cap_get_503_and_the_port_is_freed_at_stop() {
    const CAP: usize = 20;
    let (s, port, mut w) = start(&format!(
        "endpoint_max_connections = {CAP}\nendpoint_request_timeout = \"10m\"\nendpoint_idle_timeout = \"10m\"\n"
    ));
    let pid = w.pid();
    let (_, fds0) = at_rest(pid);
    let mut idle = connect_idle(port, CAP);
    wait_for(
        Duration::from_secs(30),
        "the service to accept the connections",
        || threads_and_fds(pid).1 >= fds0 + CAP,
    );
    for _ in 0..5 {
        let (code, text) = healthz(port).expect("a refusal, not an error");
        assert_eq!(code, 503, "{text}");
        assert!(text.contains("\r\nConnection: close\r\n"), "{text}");
    }
    assert!(
        w.log().contains("service.endpoint_max_connections"),
        "{}",
        w.log()
    );
    // a place comes free when a connection closes
    idle.pop();
    wait_for(Duration::from_secs(15), "a place under the cap", || {
        healthz(port).is_ok_and(|(code, _)| code == 200)
    });
    drop(idle);
    assert_eq!(w.stop(Duration::from_secs(20)), 0);
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free after the stop");
    drop(s);
}

#[test]
fn silent_and_idle_connections_are_closed() {
    let (_s, port, mut w) =
        start("endpoint_request_timeout = \"1s\"\nendpoint_idle_timeout = \"2s\"\n");
    let pid = w.pid();
    let (_, fds0) = at_rest(pid);

    // connected, never a byte sent: no request head within its time
    let mut silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (sent, closed) = read_until_closed(&mut silent);
    assert!(closed, "a silent connection stayed open");
    assert_eq!(sent, "");

    // kept alive after an answer, then nothing
    let mut kept = TcpStream::connect(("127.0.0.1", port)).unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let (sent, closed) = read_until_closed(&mut kept);
    assert!(sent.starts_with("HTTP/1.1 200 OK\r\n"), "{sent}");
    assert!(sent.ends_with("\r\n\r\nok\n"), "{sent}");
    assert!(closed, "an idle kept-alive connection stayed open");

    drop((silent, kept));
    wait_for(Duration::from_secs(15), "the descriptors back", || {
        threads_and_fds(pid).1 <= fds0
    });
    assert_eq!(w.stop(Duration::from_secs(20)), 0);
}

/// Sends `first`, then one header line every 100 ms until the server
/// closes the connection: what it answered, and whether it closed within
/// [`CLIENT_TIMEOUT`].
fn trickle(port: u16, first: &[u8]) -> (String, bool) {
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    slow.write_all(first).unwrap();
    let deadline = Instant::now() + CLIENT_TIMEOUT;
    let mut sent = Vec::new();
    let closed = loop {
        if Instant::now() > deadline {
            break false;
        }
        if slow.write_all(b"X-Slow: 1\r\n").is_err() {
            break true;
        }
        let mut buf = [0u8; 1024];
        match slow.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => sent.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break true,
        }
    };
    (String::from_utf8_lossy(&sent).into_owned(), closed)
}

#[test]
fn slow_and_oversized_requests_are_refused() {
    let (_s, port, mut w) = start(
        "endpoint_request_timeout = \"1s\"\nendpoint_idle_timeout = \"10m\"\nendpoint_max_request_bytes = 8192\n",
    );

    // a head that trickles in, one header line every 100 ms, never ending:
    // on a new connection, and on one kept alive after an answer
    let (sent, closed) = trickle(port, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n");
    assert!(closed, "a trickling request head was never cut off");
    assert!(!sent.contains(" 200 OK"), "{sent}");
    let (sent, closed) = trickle(
        port,
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\nGET /healthz HTTP/1.1\r\n",
    );
    assert!(closed, "a trickling second request head was never cut off");
    assert_eq!(sent.matches(" 200 OK").count(), 1, "{sent}");

    // a head over the cap
    let mut big = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n",
        "a".repeat(32 * 1024)
    );
    let _ = big.write_all(head.as_bytes());
    let (sent, closed) = read_until_closed(&mut big);
    assert!(sent.starts_with("HTTP/1.1 431 "), "{sent}");
    assert!(closed);

    // a body over the cap, announced
    let mut body = TcpStream::connect(("127.0.0.1", port)).unwrap();
    body.write_all(b"POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n")
        .unwrap();
    let (sent, closed) = read_until_closed(&mut body);
    assert!(sent.starts_with("HTTP/1.1 413 "), "{sent}");
    assert!(
        sent.contains("service.endpoint_max_request_bytes"),
        "{sent}"
    );
    assert!(closed, "the connection of a refused body stayed open");

    // and the endpoint still answers
    assert_eq!(healthz(port).unwrap().0, 200);
    assert_eq!(w.stop(Duration::from_secs(20)), 0);
}
