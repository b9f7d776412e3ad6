//! Owns where a fetch's user name and password come from. The mirror keeps
//! its upstream's URL without credentials; when the server asks for them
//! they are taken, each way once and in this order, from the userinfo of the
//! configured `url`, the upstream's `TETHER_TOKEN_<NAME>` variable, and git's
//! credential helpers (`git credential fill`, never prompting, stopped with
//! its whole process group when it does not answer in time).

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::redact::Secret;

/// A user name and password for a fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPass {
    pub user: String,
    pub password: Secret,
}

/// Where a user name and password come from, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The userinfo of the configured `url`.
    ConfigUrl,
    /// The upstream's `TETHER_TOKEN_<NAME>` variable.
    Env,
    /// `git credential fill`.
    Helper,
}

/// The ways left to try for one fetch.
#[derive(Debug)]
pub struct Credentials {
    pub from_url: Option<UserPass>,
    pub from_env: Option<UserPass>,
    tried: Vec<Source>,
}

impl Credentials {
    pub fn new(from_url: Option<UserPass>, from_env: Option<UserPass>) -> Self {
        Self {
            from_url,
            from_env,
            tried: Vec::new(),
        }
    }

    /// The next way to try, each at most once, so a server that refuses them
    /// all ends the fetch with an authentication error instead of asking
    /// forever. `None` once every way was tried.
    pub fn next_source(&mut self) -> Option<Source> {
        let next = [
            (Source::ConfigUrl, self.from_url.is_some()),
            (Source::Env, self.from_env.is_some()),
            (Source::Helper, true),
        ]
        .into_iter()
        .find(|(s, available)| *available && !self.tried.contains(s))
        .map(|(s, _)| s)?;
        self.tried.push(next);
        Some(next)
    }

    /// The user name known before asking anyone: the configured URL's.
    pub fn user(&self) -> Option<&str> {
        self.from_url.as_ref().map(|c| c.user.as_str())
    }
}

/// Splits the credentials off a URL: `https://user:pw@host/x` gives
/// `https://host/x` and `user`/`pw`. An `ssh://` URL keeps its user name
/// (ssh needs it and it is no secret) and loses only a password. Local
/// paths and scp-like `user@host:path` URLs come back unchanged.
pub fn split_userinfo(url: &str) -> (String, Option<UserPass>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return (url.to_owned(), None);
    };
    let (userinfo, host_and_rest) = (&rest[..at], &rest[at + 1..]);
    let (user, password) = match userinfo.split_once(':') {
        Some((u, p)) => (percent_decode(u), Some(percent_decode(p))),
        None => (percent_decode(userinfo), None),
    };
    if scheme.eq_ignore_ascii_case("ssh") {
        let Some(password) = password else {
            return (url.to_owned(), None);
        };
        let user_part = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
        let stripped = format!("{scheme}://{user_part}@{host_and_rest}");
        return (
            stripped,
            Some(UserPass {
                user,
                password: Secret::new(password),
            }),
        );
    }
    let stripped = format!("{scheme}://{host_and_rest}");
    (
        stripped,
        Some(UserPass {
            user,
            password: Secret::new(password.unwrap_or_default()),
        }),
    )
}

/// The upstream's credentials from its `TETHER_TOKEN_<NAME>` variable's
/// value: `TOKEN` (user name: `user`, else `tether`) or `USER:TOKEN`.
pub fn from_env_value(value: &str, user: Option<&str>) -> Option<UserPass> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let (u, token) = match value.split_once(':') {
        Some((u, t)) if !u.is_empty() && !t.is_empty() => (u.to_owned(), t),
        _ => (user.unwrap_or("tether").to_owned(), value),
    };
    Some(UserPass {
        user: u,
        password: Secret::new(token),
    })
}

/// The credentials in the upstream's variable, if it is set.
pub fn from_env(upstream: &str, user: Option<&str>) -> Option<UserPass> {
    let value = crate::env::var(&crate::env::token_var(upstream))?;
    from_env_value(&value, user)
}

/// Why git's credential helper gave nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelperError {
    /// It did not answer within the time allowed and was stopped.
    TimedOut(Duration),
}

/// Asks git's credential helpers (`git credential fill`, never prompting)
/// once for a user name and password for `url`. `Ok(None)`: no helper, or
/// none knew one. A helper that takes longer than `timeout` is killed with
/// its process group.
pub fn credential_helper(
    url: &str,
    user: Option<&str>,
    timeout: Duration,
) -> Result<Option<UserPass>, HelperError> {
    let Some(input) = helper_input(url, user) else {
        return Ok(None);
    };
    let spawned = Command::new("git")
        .args(["credential", "fill"])
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "")
        .env("SSH_ASKPASS", "")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(error = %e, "cannot run `git credential fill`");
            return Ok(None);
        }
    };
    let group = Pid::from_raw(child.id() as i32);
    let deadline = Instant::now() + timeout;
    if let Some(mut stdin) = child.stdin.take() {
        // a helper that never reads its input cannot block us: the input is
        // far smaller than a pipe's buffer
        let _ = stdin.write_all(input.as_bytes());
    }
    let (tx, rx) = mpsc::channel();
    if let Some(mut stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text);
            let _ = tx.send(text);
        });
    }
    let text = rx.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => break None,
        }
    };
    let (Ok(text), Some(status)) = (text, status) else {
        let _ = killpg(group, Signal::SIGKILL);
        let _ = child.wait();
        tracing::warn!(
            timeout = %crate::duration::format(timeout),
            "git's credential helper did not answer in time; stopped it"
        );
        return Err(HelperError::TimedOut(timeout));
    };
    if !status.success() {
        return Ok(None);
    }
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
            .map(str::to_owned)
    };
    Ok(field("password").map(|password| UserPass {
        user: field("username")
            .or_else(|| user.map(str::to_owned))
            .unwrap_or_default(),
        password: Secret::new(password),
    }))
}

/// What `git credential fill` reads: protocol, host, path, user name.
fn helper_input(url: &str, user: Option<&str>) -> Option<String> {
    let (protocol, rest) = url.split_once("://")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.rsplit('@').next().unwrap_or(host);
    let mut input = format!("protocol={protocol}\nhost={host}\n");
    if !path.is_empty() {
        input.push_str(&format!("path={path}\n"));
    }
    if let Some(u) = user.filter(|u| !u.is_empty()) {
        input.push_str(&format!("username={u}\n"));
    }
    input.push('\n');
    Some(input)
}

/// Decodes `%XX` escapes (a password with `@` or `:` is written `%40`, `%3A`).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(user: &str, password: &str) -> UserPass {
        UserPass {
            user: user.into(),
            password: Secret::new(password),
        }
    }

    #[test]
    fn the_url_strips_to_no_secret() {
        let cases = [
            (
                "https://user:hf_AbCdEfGhIjKl@huggingface.co/x/y.git",
                "https://huggingface.co/x/y.git",
                Some(up("user", "hf_AbCdEfGhIjKl")),
            ),
            (
                "https://ghp_abcdefghijklmnopqrstuv@github.com/a/b",
                "https://github.com/a/b",
                Some(up("ghp_abcdefghijklmnopqrstuv", "")),
            ),
            (
                "http://me:p%40ss%3Aw@127.0.0.1:8080/r?x=@",
                "http://127.0.0.1:8080/r?x=@",
                Some(up("me", "p@ss:w")),
            ),
            (
                "ssh://git@github.com/a/b.git",
                "ssh://git@github.com/a/b.git",
                None,
            ),
            (
                "ssh://git:pw@host/a.git",
                "ssh://git@host/a.git",
                Some(up("git", "pw")),
            ),
            ("git@github.com:a/b.git", "git@github.com:a/b.git", None),
            ("/srv/up.git", "/srv/up.git", None),
            ("https://github.com/a/b@c", "https://github.com/a/b@c", None),
        ];
        for (url, stripped, creds) in cases {
            let (s, c) = split_userinfo(url);
            assert_eq!(s, stripped, "{url}");
            assert_eq!(c, creds, "{url}");
            assert!(!crate::redact::redact(&s).contains("[REDACTED]"), "{s}");
        }
    }

    #[test]
    fn the_configured_url_comes_first_then_the_variable_then_the_helper() {
        let mut c = Credentials::new(Some(up("u", "from-url")), Some(up("u", "from-env")));
        assert_eq!(c.user(), Some("u"));
        assert_eq!(c.next_source(), Some(Source::ConfigUrl));
        assert_eq!(c.next_source(), Some(Source::Env));
        assert_eq!(c.next_source(), Some(Source::Helper));
        assert_eq!(c.next_source(), None, "each way once");

        let mut c = Credentials::new(None, Some(up("tether", "t")));
        assert_eq!(c.next_source(), Some(Source::Env));
        assert_eq!(c.next_source(), Some(Source::Helper));
        assert_eq!(c.next_source(), None);

        let mut c = Credentials::new(None, None);
        assert_eq!(c.user(), None);
        assert_eq!(c.next_source(), Some(Source::Helper));
        assert_eq!(c.next_source(), None);
    }

    #[test]
    fn the_variable_holds_a_token_or_user_and_token() {
        assert_eq!(
            from_env_value("hf_Token123", Some("me")),
            Some(up("me", "hf_Token123"))
        );
        assert_eq!(
            from_env_value(" hf_Token123\n", None),
            Some(up("tether", "hf_Token123"))
        );
        assert_eq!(from_env_value("bot:ghp_x", None), Some(up("bot", "ghp_x")));
        assert_eq!(from_env_value("", None), None);
        assert_eq!(crate::env::token_var("wan-2.gp"), "TETHER_TOKEN_WAN_2_GP");
    }

    #[test]
    fn helper_input_names_host_path_and_user() {
        assert_eq!(
            helper_input("https://h.example:8443/a/b.git", Some("me")).unwrap(),
            "protocol=https\nhost=h.example:8443\npath=a/b.git\nusername=me\n\n"
        );
        assert_eq!(helper_input("/local/path", None), None);
    }
}
