//! Real git repositories built with the `git` command.

use std::path::{Path, PathBuf};
use std::process::Command;

/// First commit time of every fixture repo: 2024-01-01T00:00:00Z. Each commit
/// is one hour after the previous one of the same repo.
pub const EPOCH: i64 = 1_704_067_200;

pub struct GitRepo {
    pub path: PathBuf,
    clock: std::cell::Cell<i64>,
}

/// A `git` command isolated from the user's and system's config.
pub fn git_cmd(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "author@example.com")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .args([
            "-c",
            "protocol.file.allow=always",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "core.autocrlf=false",
        ]);
    c
}

/// Runs git and returns trimmed stdout; panics with stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_cmd(dir).args(args).output().expect("git runs");
    assert!(
        out.status.success(),
        "git {:?} in {} failed: {}",
        args,
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl GitRepo {
    /// `git init` a new repository at `path` (created if needed) on branch `main`.
    pub fn init(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        fs_err::create_dir_all(&path).unwrap();
        git(&path, &["init", "-q", "-b", "main"]);
        Self {
            path,
            clock: std::cell::Cell::new(EPOCH),
        }
    }

    /// Opens an existing repository (a clone) with its own clock.
    pub fn open(path: impl Into<PathBuf>, clock: i64) -> Self {
        Self {
            path: path.into(),
            clock: std::cell::Cell::new(clock),
        }
    }

    pub fn git(&self, args: &[&str]) -> String {
        git(&self.path, args)
    }

    /// Writes a file (creating folders).
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> &Self {
        let p = self.path.join(rel);
        fs_err::create_dir_all(p.parent().unwrap()).unwrap();
        fs_err::write(p, content).unwrap();
        self
    }

    pub fn read(&self, rel: &str) -> String {
        fs_err::read_to_string(self.path.join(rel)).unwrap()
    }

    pub fn remove(&self, rel: &str) -> &Self {
        self.git(&["rm", "-q", "-r", rel]);
        self
    }

    pub fn rename(&self, from: &str, to: &str) -> &Self {
        if let Some(parent) = Path::new(to).parent() {
            fs_err::create_dir_all(self.path.join(parent)).unwrap();
        }
        self.git(&["mv", from, to]);
        self
    }

    /// Sets the time the next commit gets (seconds since the epoch).
    pub fn set_time(&self, t: i64) {
        self.clock.set(t);
    }

    /// Stages everything and commits at the repo's clock; returns the hash.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        let t = self.clock.get();
        self.clock.set(t + 3600);
        let date = format!("@{t} +0000");
        let out = git_cmd(&self.path)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .args(["commit", "-q", "--allow-empty", "-m", message])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "commit failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.head()
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    /// The `file://` URL of this repository.
    pub fn url(&self) -> String {
        format!("file://{}", self.path.display())
    }

    /// Adds `upstream` as a submodule at `rel` checked out at `commit`, and
    /// commits it.
    pub fn add_submodule(&self, upstream: &GitRepo, rel: &str, commit: &str) -> String {
        self.git(&["submodule", "add", "-q", &upstream.url(), rel]);
        let sub = self.path.join(rel);
        git(&sub, &["checkout", "-q", commit]);
        self.commit(&format!("chore: add {rel} submodule"))
    }

    /// Clones `upstream` into `rel` (a plain clone, ignored by this repo) at `commit`.
    pub fn add_clone(&self, upstream: &GitRepo, rel: &str, commit: &str) {
        git(&self.path, &["clone", "-q", &upstream.url(), rel]);
        git(&self.path.join(rel), &["checkout", "-q", commit]);
        let ignore = self.path.join(".gitignore");
        let mut text = fs_err::read_to_string(&ignore).unwrap_or_default();
        text.push_str(&format!("/{rel}/\n"));
        fs_err::write(ignore, text).unwrap();
    }

    /// Copies `upstream`'s tree at `commit` into `rel` (no `.git`) and writes
    /// `STRUCTURE.md` recording the commit. Does not commit.
    pub fn add_vendored(&self, upstream: &GitRepo, rel: &str, commit: &str) {
        let dest = self.path.join(rel);
        fs_err::create_dir_all(&dest).unwrap();
        let archive = git_cmd(&upstream.path)
            .args(["archive", "--format=tar", commit])
            .output()
            .unwrap();
        assert!(archive.status.success());
        let mut tar = Command::new("tar")
            .args(["-x", "-C"])
            .arg(&dest)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        tar.stdin
            .take()
            .unwrap()
            .write_all(&archive.stdout)
            .unwrap();
        assert!(tar.wait().unwrap().success());
        self.write(
            "STRUCTURE.md",
            format!(
                "# Structure\n\n- `{rel}/`: vendored upstream\n- Upstream commit: `{commit}`\n"
            ),
        );
    }
}
