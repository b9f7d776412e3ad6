//! Owns tether's bare mirror of an upstream (`<state_dir>/mirrors/<name>.git`):
//! creating it, fetching every branch and tag into it with git2 (pruning
//! what the upstream deleted), and resolving revisions in it. The mirror's
//! config holds the upstream's URL without credentials (a mirror an older
//! tether wrote with them is rewritten when opened); credentials are handed
//! to git2 at fetch time (`credentials`). The wrapper's own repository is
//! never written.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use git2::{AutotagOption, Cred, CredentialType, ErrorClass, ErrorCode, FetchOptions, FetchPrune};

use super::commit::CommitInfo;
use super::credentials::{self, Credentials, HelperError, Source};
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
    /// The configured URL, credentials and all.
    url: Secret,
    /// The URL without credentials: the only one git2 and the mirror see.
    remote_url: String,
    credential_timeout: Duration,
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
                crate::state::create_private_dir(parent).map_err(|e| UpstreamError::Mirror {
                    upstream: up.name.clone(),
                    path: path.clone(),
                    detail: e.to_string(),
                })?;
            }
            git2::Repository::init_bare(&path).map_err(err)?
        };
        let (remote_url, _) = credentials::split_userinfo(&up.url);
        match repo.find_remote(REMOTE) {
            Ok(_) => store_url(&repo, &path, &remote_url).map_err(err)?,
            Err(e) if e.code() == ErrorCode::NotFound => {
                repo.remote_with_fetch(REMOTE, &remote_url, HEADS)
                    .map_err(err)?;
                repo.remote_add_fetch(REMOTE, TAGS).map_err(err)?;
            }
            Err(e) => return Err(err(e)),
        }
        Ok(Mirror::new(up, remote_url, path, repo))
    }

    fn new(up: &UpstreamConfig, remote_url: String, path: PathBuf, repo: git2::Repository) -> Self {
        Mirror {
            name: up.name.clone(),
            url: Secret::new(&up.url),
            remote_url,
            credential_timeout: up.credential_timeout,
            path,
            repo,
        }
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
        let (remote_url, _) = credentials::split_userinfo(&up.url);
        if repo.find_remote(REMOTE).is_ok() {
            store_url(&repo, &path, &remote_url).map_err(|e| UpstreamError::Mirror {
                upstream: up.name.clone(),
                path: path.clone(),
                detail: git_detail(&e),
            })?;
        }
        Ok(Mirror::new(up, remote_url, path, repo))
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
        if let Some(local) = local_path(&self.remote_url)
            && !local.exists()
        {
            return Err(fetch_err(
                FetchFailure::NotFound,
                format!("`{}` does not exist", local.display()),
            ));
        }
        // one fetch into the mirror at a time; git's own lock files left by a
        // fetch that was killed are stale once this lock is held
        let _fetching = self.fetch_lock().map_err(|e| {
            fetch_err(
                FetchFailure::Other,
                format!("cannot lock the mirror for the fetch: {e}"),
            )
        })?;
        remove_stale_git_locks(&self.path);
        // fetch from the configured URL even if the mirror's remote is older
        store_url(&self.repo, &self.path, &self.remote_url)
            .map_err(|e| fetch_err(FetchFailure::Other, git_detail(&e)))?;
        let mut remote = self
            .repo
            .find_remote(REMOTE)
            .map_err(|e| fetch_err(FetchFailure::Other, git_detail(&e)))?;
        let (_, from_url) = credentials::split_userinfo(url);
        let user = from_url.as_ref().map(|c| c.user.clone());
        let mut creds =
            Credentials::new(from_url, credentials::from_env(&self.name, user.as_deref()));
        let auth_exhausted = Cell::new(false);
        let helper_timed_out = Cell::new(None);
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
            if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
                while let Some(source) = creds.next_source() {
                    let found = match source {
                        Source::ConfigUrl => creds.from_url.clone(),
                        Source::Env => creds.from_env.clone(),
                        Source::Helper => {
                            let user = username.or(creds.user());
                            match credentials::credential_helper(
                                cred_url,
                                user,
                                self.credential_timeout,
                            ) {
                                Ok(found) => found,
                                Err(HelperError::TimedOut(after)) => {
                                    helper_timed_out.set(Some(after));
                                    return Err(git2::Error::from_str(
                                        "git's credential helper did not answer in time",
                                    ));
                                }
                            }
                        }
                    };
                    if let Some(c) = found {
                        tracing::debug!(upstream = %self.name, ?source, "credentials for the fetch");
                        return Cred::userpass_plaintext(&c.user, c.password.expose());
                    }
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
            Err(git2::Error::from_str(&format!(
                "no working credentials (tried the URL's, ${}, the credential helper and \
                 ssh-agent)",
                crate::env::token_var(&self.name)
            )))
        });
        if crate::progress::enabled() {
            let name = self.name.clone();
            let mut last: Option<std::time::Instant> = None;
            callbacks.transfer_progress(move |stats| {
                let (received, total) = (stats.received_objects(), stats.total_objects());
                // about ten a second, and the last one always
                if received == total || last.is_none_or(|t| t.elapsed().as_millis() >= 100) {
                    last = Some(std::time::Instant::now());
                    crate::progress::emit(|| crate::progress::Event::FetchObjects {
                        upstream: name.clone(),
                        received,
                        total,
                        bytes: stats.received_bytes(),
                    });
                }
                true
            });
        }
        let mut opts = FetchOptions::new();
        opts.remote_callbacks(callbacks)
            .prune(FetchPrune::On)
            .download_tags(AutotagOption::All);
        tracing::debug!(upstream = %self.name, url = %redact(url), "fetching");
        crate::progress::emit(|| crate::progress::Event::FetchStarted {
            upstream: self.name.clone(),
        });
        let fetched = remote.fetch::<&str>(&[], Some(&mut opts), None);
        crate::progress::emit(|| crate::progress::Event::FetchFinished {
            upstream: self.name.clone(),
            ok: fetched.is_ok(),
        });
        if let Err(e) = fetched {
            let reason = match helper_timed_out.get() {
                Some(after) => FetchFailure::CredentialHelperTimeout(after),
                None => classify(&e, auth_exhausted.get()),
            };
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

impl Mirror {
    /// Holds `<name>.fetch-lock` beside the mirror (released when tether
    /// exits, however it exits).
    fn fetch_lock(&self) -> std::io::Result<fs_err::File> {
        let path = self.path.with_extension("fetch-lock");
        let file = fs_err::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        fs4::FileExt::lock(file.file())?;
        Ok(file)
    }
}

/// Removes the `*.lock` files a killed fetch left in the mirror (`refs/**`,
/// `packed-refs.lock`, `HEAD.lock`, `config.lock`, `FETCH_HEAD.lock`, ...):
/// with them every later fetch would fail with "failed to lock file". Only
/// called while holding the mirror's fetch lock, so no live fetch owns them.
fn remove_stale_git_locks(mirror: &Path) {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs_err::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => walk(&p, out),
                Ok(_) if p.extension().is_some_and(|x| x == "lock") => out.push(p),
                _ => {}
            }
        }
    }
    let mut stale = Vec::new();
    walk(&mirror.join("refs"), &mut stale);
    if let Ok(entries) = fs_err::read_dir(mirror) {
        stale.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "lock")),
        );
    }
    for p in stale {
        tracing::warn!(path = %p.display(), "removing a lock file an interrupted fetch left in the mirror");
        let _ = fs_err::remove_file(&p);
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
    } else if matches!(
        e.class(),
        ErrorClass::Odb | ErrorClass::Object | ErrorClass::Zlib
    ) || msg.contains("object not found")
        || msg.contains("missing object")
        || msg.contains("failed to read object")
    {
        // before NotFound: libgit2 says "object not found" with NotFound
        FetchFailure::MissingObject
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

/// Points the mirror's remote at `url` (credentials already stripped) when
/// it names another; a stored URL that held credentials also takes the
/// `FETCH_HEAD` that repeats it.
fn store_url(repo: &git2::Repository, path: &Path, url: &str) -> Result<(), git2::Error> {
    let stored = repo.find_remote(REMOTE)?.url().ok().map(str::to_owned);
    if stored.as_deref() == Some(url) {
        return Ok(());
    }
    repo.remote_set_url(REMOTE, url)?;
    if let Some(old) = stored
        && credentials::split_userinfo(&old).1.is_some()
    {
        tracing::info!(mirror = %path.display(), "removed credentials an older tether stored in the mirror's config");
        let _ = fs_err::remove_file(path.join("FETCH_HEAD"));
    }
    Ok(())
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

    /// A fetch killed mid-way leaves git's lock files in the mirror; the
    /// next fetch must not fail on them forever (found by the random-kill run).
    /// An upstream `up/` on branch `trunk` with `commits` commits (`c0`...)
    /// and a config naming it `u`.
    fn upstream_with(dir: &Path, commits: usize) -> (PathBuf, Config) {
        let up = dir.join("up");
        fs_err::create_dir(&up).unwrap();
        git(&up, &["init", "-q", "-b", "trunk"]);
        for i in 0..commits {
            fs_err::write(up.join("f.txt"), i.to_string()).unwrap();
            git(&up, &["add", "-A"]);
            git(&up, &["commit", "-q", "-m", &format!("c{i}")]);
        }
        let cfg = Config::parse(
            &format!(
                "[[upstream]]\nname = \"u\"\nurl = \"file://{}\"\npath = \"u\"\nlayout = \"clone\"\n",
                up.display()
            ),
            dir,
        )
        .unwrap();
        (up, cfg)
    }

    #[test]
    fn lock_files_a_killed_fetch_left_do_not_stop_the_next_fetch() {
        let dir = tempfile::tempdir().unwrap();
        let (up, cfg) = upstream_with(dir.path(), 1);
        let state = StateDir::new(dir.path().join("state"));
        let m = Mirror::open_or_init(&state, &cfg.upstreams[0]).unwrap();
        m.fetch().unwrap();
        fs_err::write(up.join("f.txt"), "new").unwrap();
        git(&up, &["commit", "-q", "-am", "c1"]);
        let stale = [
            m.path().join("refs/heads/trunk.lock"),
            m.path().join("packed-refs.lock"),
        ];
        for p in &stale {
            fs_err::write(p, "").unwrap();
        }
        m.fetch().unwrap();
        assert_eq!(
            m.commit_info(m.resolve_rev("trunk").unwrap())
                .unwrap()
                .subject,
            "c1"
        );
        for p in &stale {
            assert!(!p.exists(), "{}", p.display());
        }
    }

    #[test]
    fn fetches_and_resolves_revisions() {
        let dir = tempfile::tempdir().unwrap();
        let (up, cfg) = upstream_with(dir.path(), 3);
        git(&up, &["tag", "v1.0", "HEAD~1"]);
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
