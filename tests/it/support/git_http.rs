//! A git smart-HTTP server on loopback for fetches that need credentials:
//! real `git http-backend` (CGI) behind tiny_http, serving the repositories
//! under a folder. Without the expected Basic credentials it answers 401 with
//! a `WWW-Authenticate` challenge; it records the credentials of every request.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub struct GitHttp {
    pub port: u16,
    server: Arc<tiny_http::Server>,
    seen: Arc<Mutex<Vec<Option<String>>>>,
    thread: Option<JoinHandle<()>>,
}

impl GitHttp {
    /// Serves the repositories under `root` as `/<name>`, each request
    /// needing `user:password` (`None`: every request is refused with 401).
    pub fn start(root: &Path, credentials: Option<&str>) -> GitHttp {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let server = Arc::clone(&server);
            let seen = Arc::clone(&seen);
            let root = root.to_path_buf();
            let want = credentials.map(str::to_owned);
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    serve(request, &root, want.as_deref(), &seen);
                }
            })
        };
        GitHttp {
            port,
            server,
            seen,
            thread: Some(thread),
        }
    }

    /// `http://[userinfo@]127.0.0.1:<port>/<repo>`.
    pub fn url(&self, userinfo: Option<&str>, repo: &str) -> String {
        let at = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
        format!("http://{at}127.0.0.1:{}/{repo}", self.port)
    }

    /// The `user:password` of each request so far (`None`: it had none).
    pub fn seen(&self) -> Vec<Option<String>> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for GitHttp {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    mut request: tiny_http::Request,
    root: &Path,
    want: Option<&str>,
    seen: &Mutex<Vec<Option<String>>>,
) {
    let header = |name: &str| {
        request
            .headers()
            .iter()
            .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str().to_owned())
    };
    let given = header("Authorization")
        .and_then(|v| v.strip_prefix("Basic ").map(str::to_owned))
        .and_then(|b| base64_decode(b.trim()))
        .and_then(|b| String::from_utf8(b).ok());
    seen.lock().unwrap().push(given.clone());
    if want.is_none() || given.as_deref() != want {
        let challenge =
            tiny_http::Header::from_bytes("WWW-Authenticate", "Basic realm=\"tether-test\"")
                .unwrap();
        let _ = request.respond(
            tiny_http::Response::from_string("authentication required")
                .with_status_code(401)
                .with_header(challenge),
        );
        return;
    }
    let content_type = header("Content-Type").unwrap_or_default();
    let encoding = header("Content-Encoding");
    let protocol = header("Git-Protocol");
    let (path, query) = match request.url().split_once('?') {
        Some((p, q)) => (p.to_owned(), q.to_owned()),
        None => (request.url().to_owned(), String::new()),
    };
    let mut body = Vec::new();
    let _ = request.as_reader().read_to_end(&mut body);
    let mut cmd = Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env(
            "PATH",
            tether::env::var_os(tether::env::PATH).unwrap_or_default(),
        )
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", request.method().as_str())
        .env("PATH_INFO", &path)
        .env("QUERY_STRING", &query)
        .env("CONTENT_TYPE", &content_type)
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("REMOTE_USER", "tester")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(e) = encoding {
        cmd.env("HTTP_CONTENT_ENCODING", e);
    }
    if let Some(p) = protocol {
        cmd.env("GIT_PROTOCOL", p);
    }
    let mut child = cmd.spawn().expect("git http-backend starts");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let _ = writer.join();
    let _ = child.wait();
    let (head, body) = split_cgi(&out);
    let mut status = 200;
    let mut response = tiny_http::Response::from_data(body.to_vec());
    for line in String::from_utf8_lossy(head).lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        if k.eq_ignore_ascii_case("Status") {
            status = v
                .split_whitespace()
                .next()
                .and_then(|c| c.parse().ok())
                .unwrap_or(500);
        } else if let Ok(h) = tiny_http::Header::from_bytes(k.trim(), v) {
            response.add_header(h);
        }
    }
    let _ = request.respond(response.with_status_code(status));
}

/// A CGI answer's headers and body.
fn split_cgi(out: &[u8]) -> (&[u8], &[u8]) {
    for (sep, len) in [(&b"\r\n\r\n"[..], 4), (&b"\n\n"[..], 2)] {
        if let Some(i) = out.windows(len).position(|w| w == sep) {
            return (&out[..i], &out[i + len..]);
        }
    }
    (out, &[])
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}
