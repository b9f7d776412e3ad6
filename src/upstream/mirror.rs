//! Owns tether's bare mirror of an upstream (`<state_dir>/mirrors/<name>.git`):
//! creating it, fetching every branch and tag into it with git2 (pruning
//! what the upstream deleted), and resolving revisions in it. The wrapper's
//! own repository is never written.

use std::cell::Cell;
use std::path::{Path, PathBuf};

use git2::{AutotagOption, Cred, CredentialType, ErrorClass, ErrorCode, FetchOptions, FetchPrune};

use super::commit::CommitInfo;
use super::error::{FetchFailure, UpstreamError, git_detail, git_err};
use crate::config::UpstreamConfig;
use crate::redact::{Secret, redact};
use crate::state::StateDir;

const REMOTE: &str = "origin";
const HEADS: &str = "+refs/heads/*:refs/heads/*";
const TAGS: &str = "+refs/tags/*:refs/tags/*";

/// A full (not shallow) bare mirror of one upstream.
pub struct Mirror {
    name: String,
    url: Secret,
    path: PathBuf,
    repo: git2::Repository,
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("name", &self.name)
            .field("path", &self.path)
            .finish()
    }
}

impl Mirror {
    /// Opens the mirror of `up`, creating it (empty, remote `origin` = the
    /// upstream URL) if needed. Does not fetch.
    pub fn open_or_init(state: &StateDir, up: &UpstreamConfig) -> Result<Mirror, UpstreamError> {
        let path = state.mirror(&up.name);
        let err = |e: git2::Error| UpstreamError::Mirror {
            upstream: up.name.clone(),
            path: path.clone(),
            detail: git_detail(&e),
        };
        let repo = if path.join("HEAD").is_file() {
            git2::Repository::open_bare(&path).map_err(err)?
        } else {
            if let Some(parent) = path.parent() {
                fs_err::create_dir_all(parent).map_err(|e| UpstreamError::Mirror {
                    upstream: up.name.clone(),
                    path: path.clone(),
                    detail: e.to_string(),
                })?;
            }
            git2::Repository::init_bare(&path).map_err(err)?
        };
        match repo.find_remote(REMOTE) {
            Ok(remote) => {
                if remote.url().ok() != Some(up.url.as_str()) {
                    repo.remote_set_url(REMOTE, &up.url).map_err(err)?;
                }
            }
            Err(e) if e.code() == ErrorCode::NotFound => {
                repo.remote_with_fetch(REMOTE, &up.url, HEADS)
                    .map_err(err)?;
                repo.remote_add_fetch(REMOTE, TAGS).map_err(err)?;
            }
            Err(e) => return Err(err(e)),
        }
        Ok(Mirror {
            name: up.name.clone(),
            url: Secret::new(&up.url),
            path,
            repo,
        })
    }

    /// The mirror, fetched first when `fetch` is set; otherwise one fetched
    /// before (for `--no-fetch`).
    pub fn open(
        state: &StateDir,
        up: &UpstreamConfig,
        fetch: bool,
    ) -> Result<Mirror, UpstreamError> {
        if fetch {
            let m = Mirror::open_or_init(state, up)?;
            m.fetch()?;
            Ok(m)
        } else {
            Mirror::open_existing(state, up)
        }
    }

    /// Opens a mirror that has been fetched before (for `--no-fetch`).
    pub fn open_existing(state: &StateDir, up: &UpstreamConfig) -> Result<Mirror, UpstreamError> {
        let path = state.mirror(&up.name);
        let no_mirror = || UpstreamError::NoMirror {
            upstream: up.name.clone(),
            path: path.clone(),
        };
        if !path.join("HEAD").is_file() {
            return Err(no_mirror());
        }
        let repo = git2::Repository::open_bare(&path).map_err(|e| UpstreamError::Mirror {
            upstream: up.name.clone(),
            path: path.clone(),
            detail: git_detail(&e),
        })?;
        let has_refs = repo
            .references()
            .map(|mut r| r.next().is_some())
            .unwrap_or(false);
        if !has_refs {
            return Err(no_mirror());
        }
        Ok(Mirror {
            name: up.name.clone(),
            url: Secret::new(&up.url),
            path,
            repo,
        })
    }

    /// Fetches every branch and tag of the upstream into the mirror, pruning
    /// refs the upstream deleted, and points the mirror's HEAD at the
    /// upstream's default branch.
    pub fn fetch(&self) -> Result<(), UpstreamError> {
        let url = self.url.expose();
        let fetch_err = |reason: FetchFailure, detail: String| UpstreamError::Fetch {
            upstream: self.name.clone(),
            url: redact(url).into_owned(),
            reason,
            detail,
        };
        if let Some(local) = local_path(url)
            && !local.exists()
        {
            return Err(fetch_err(
                FetchFailure::NotFound,
                format!("`{}` does not exist", local.display()),
            ));
        }
        // fetch from the configured URL even if the mirror's remote is older
        if self
            .repo
            .find_remote(REMOTE)
            .map(|r| r.url().ok() != Some(url))
            .unwrap_or(false)
        {
            self.repo
                .remote_set_url(REMOTE, url)
                .map_err(|e| fetch_err(FetchFailure::Other, git_detail(&e)))?;
        }
        let mut remote = self
            .repo
            .find_remote(REMOTE)
            .map_err(|e| fetch_err(FetchFailure::Other, git_detail(&e)))?;
        let auth_exhausted = Cell::new(false);
        let mut tried = CredentialType::empty();
        let mut callbacks = git2::RemoteCallbacks::new();
        callbacks.credentials(|cred_url, username, allowed| {
            // Each way is tried at most once, so a refusing server ends the
            // fetch with an auth error instead of asking forever.
            if allowed.contains(CredentialType::SSH_KEY) && !tried.contains(CredentialType::SSH_KEY)
            {
                tried |= CredentialType::SSH_KEY;
                return Cred::ssh_key_from_agent(username.unwrap_or("git"));
            }
            if allowed.contains(CredentialType::USER_PASS_PLAINTEXT)
                && !tried.contains(CredentialType::USER_PASS_PLAINTEXT)
            {
                tried |= CredentialType::USER_PASS_PLAINTEXT;
                if let Some(c) = credential_helper(cred_url, username) {
                    return Ok(c);
                }
            }
            if allowed.contains(CredentialType::USERNAME)
                && !tried.contains(CredentialType::USERNAME)
            {
                tried |= CredentialType::USERNAME;
                return Cred::username(username.unwrap_or("git"));
            }
            if allowed.contains(CredentialType::DEFAULT) && !tried.contains(CredentialType::DEFAULT)
            {
                tried |= CredentialType::DEFAULT;
                return Cred::default();
            }
            auth_exhausted.set(true);
            Err(git2::Error::from_str(
                "no working credentials (tried the credential helper and ssh-agent)",
            ))
        });
        let mut opts = FetchOptions::new();
        opts.remote_callbacks(callbacks)
            .prune(FetchPrune::On)
            .download_tags(AutotagOption::All);
        tracing::debug!(upstream = %self.name, url = %redact(url), "fetching");
        if let Err(e) = remote.fetch::<&str>(&[], Some(&mut opts), None) {
            let reason = classify(&e, auth_exhausted.get());
            return Err(fetch_err(reason, git_detail(&e)));
        }
        if let Ok(head) = remote.default_branch()
            && let Ok(head) = head.as_str()
            && self.repo.find_reference(head).is_ok()
        {
            let _ = self.repo.set_head(head);
        }
        Ok(())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn repo(&self) -> &git2::Repository {
        &self.repo
    }

    /// Resolves a full or abbreviated hash, branch, tag or revspec such as
    /// `main~2` to a commit id.
    pub fn resolve_rev(&self, rev: &str) -> Result<git2::Oid, UpstreamError> {
        let unknown = |detail: String| UpstreamError::UnknownRev {
            upstream: self.name.clone(),
            rev: rev.to_owned(),
            detail,
        };
        let obj = self
            .repo
            .revparse_single(rev)
            .map_err(|e| unknown(git_detail(&e)))?;
        let commit = obj.peel_to_commit().map_err(|e| unknown(git_detail(&e)))?;
        Ok(commit.id())
    }

    /// Whether the mirror holds this commit.
    pub fn has_commit(&self, id: git2::Oid) -> bool {
        self.repo.find_commit(id).is_ok()
    }

    /// The [`CommitInfo`] of a commit in the mirror.
    pub fn commit_info(&self, id: git2::Oid) -> Result<CommitInfo, UpstreamError> {
        let c = self
            .repo
            .find_commit(id)
            .map_err(git_err(&self.name, &format!("reading commit {id}")))?;
        Ok(CommitInfo::from_commit(&c))
    }
}

/// The local path a URL names: a `file://` URL or a path without a scheme
/// (`/srv/up.git`, `./up`), but not scp-like `host:path`.
fn local_path(url: &str) -> Option<PathBuf> {
    if let Some(rest) = url.strip_prefix("file://") {
        return Some(PathBuf::from(rest));
    }
    if url.contains("://") {
        return None;
    }
    let before_slash = url.split('/').next().unwrap_or(url);
    if url.starts_with('/') || url.starts_with('.') || !before_slash.contains(':') {
        Some(PathBuf::from(url))
    } else {
        None
    }
}

fn classify(e: &git2::Error, auth_exhausted: bool) -> FetchFailure {
    let msg = e.message().to_ascii_lowercase();
    if auth_exhausted || e.code() == ErrorCode::Auth || msg.contains("authentication") {
        FetchFailure::Auth
    } else if msg.contains("unsupported url protocol") || msg.contains("no tls stream") {
        FetchFailure::UnsupportedScheme
    } else if e.code() == ErrorCode::NotFound
        || msg.contains("not found")
        || msg.contains("could not find repository")
        || msg.contains("does not appear to be a git repository")
        || msg.contains("invalid url")
    {
        FetchFailure::NotFound
    } else if matches!(
        e.class(),
        ErrorClass::Net | ErrorClass::Http | ErrorClass::Ssl | ErrorClass::Ssh
    ) {
        FetchFailure::Network
    } else {
        FetchFailure::Other
    }
}

/// Asks git's credential helpers (`git credential fill`, never prompting)
/// once for a user name and password for `url`.
fn credential_helper(url: &str, username: Option<&str>) -> Option<Cred> {
    use std::io::Write;
    let (protocol, rest) = url.split_once("://")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.rsplit('@').next().unwrap_or(host);
    let mut input = format!("protocol={protocol}\nhost={host}\n");
    if !path.is_empty() {
        input.push_str(&format!("path={path}\n"));
    }
    if let Some(u) = username {
        input.push_str(&format!("username={u}\n"));
    }
    input.push('\n');
    let mut child = std::process::Command::new("git")
        .args(["credential", "fill"])
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "")
        .env("SSH_ASKPASS", "")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(input.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
            .map(str::to_owned)
    };
    Cred::userpass_plaintext(&field("username")?, &field("password")?).ok()
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use super::*;
    use crate::config::Config;

    fn git(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "T")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "T")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .args(args)
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn fetches_and_resolves_revisions() {
        let dir = tempfile::tempdir().unwrap();
        let up = dir.path().join("up");
        std::fs::create_dir(&up).unwrap();
        git(&up, &["init", "-q", "-b", "trunk"]);
        for i in 0..3 {
            std::fs::write(up.join("f.txt"), i.to_string()).unwrap();
            git(&up, &["add", "-A"]);
            git(&up, &["commit", "-q", "-m", &format!("c{i}")]);
        }
        git(&up, &["tag", "v1.0", "HEAD~1"]);
        let cfg = Config::parse(
            &format!(
                "[[upstream]]\nname = \"u\"\nurl = \"file://{}\"\npath = \"u\"\nlayout = \"clone\"\n",
                up.display()
            ),
            dir.path(),
        )
        .unwrap();
        let upc = &cfg.upstreams[0];
        let state = StateDir::new(dir.path().join("state"));
        assert!(matches!(
            Mirror::open_existing(&state, upc),
            Err(UpstreamError::NoMirror { .. })
        ));
        let m = Mirror::open_or_init(&state, upc).unwrap();
        m.fetch().unwrap();
        let head = m.resolve_rev("trunk").unwrap();
        assert_eq!(
            m.resolve_rev("HEAD").unwrap(),
            head,
            "HEAD follows the upstream's"
        );
        let tagged = m.resolve_rev("v1.0").unwrap();
        assert_eq!(m.resolve_rev("HEAD~1").unwrap(), tagged);
        assert_eq!(m.resolve_rev(&tagged.to_string()[..8]).unwrap(), tagged);
        assert_eq!(m.commit_info(tagged).unwrap().subject, "c1");
        assert!(matches!(
            m.resolve_rev("nope"),
            Err(UpstreamError::UnknownRev { .. })
        ));
        // a deleted upstream branch is pruned from the mirror
        git(&up, &["branch", "side"]);
        m.fetch().unwrap();
        assert!(m.resolve_rev("side").is_ok());
        git(&up, &["branch", "-q", "-D", "side"]);
        m.fetch().unwrap();
        assert!(m.resolve_rev("side").is_err());
        assert!(Mirror::open_existing(&state, upc).is_ok());
    }
}
