//! Owns the journaled plan of a promotion and the one function that carries
//! it out in either direction. A promotion is a list of [`TreeMove`]s (the
//! live upstream checkout first, when the layout has one, then the wrapper):
//! for each working tree, its HEAD before and after and every path that
//! changes with its old and new blob id and mode. The plan is saved in the
//! state dir before the live tree is touched; [`settle`] then brings each
//! tree to the "after" side (promotion, or recovery rolling forward) or the
//! "before" side (recovery rolling back): paths first (removals, then
//! writes: every new file written to a temporary name beside it, the
//! filesystem synced, then each renamed over, so neither a kill nor a power
//! cut leaves a half-written file), then the index entries of those paths,
//! then HEAD. The wrapper's HEAD moves last: it is the commit
//! point that tells recovery which way to go.
//!
//! A path on disk equal to its old or new blob (or absent) is tether's own
//! and may be completed or reverted; anything else is the user's and is
//! never overwritten: [`settle`] then changes nothing and names the files.

use std::path::{Path, PathBuf};

use git2::{Oid, Repository};
use serde::{Deserialize, Serialize};

use super::backup::hash_on_disk;
use super::error::{UpdateError, git_err, io_err};
use super::git_ops::{head_of, open_here};
use super::stage::gitlink_entry;
use crate::failpoint;

const GITLINK: u32 = 0o160000;
const SYMLINK: u32 = 0o120000;
const EXECUTABLE: u32 = 0o100755;
/// Prefix of the temporary refs promotion fetches into; none is left behind.
pub(crate) const TETHER_REFS: &str = "refs/tether/";

/// Which working tree a move is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TreeRole {
    /// The live upstream checkout (submodule or clone layout).
    Upstream,
    /// The live wrapper.
    Wrapper,
}

impl TreeRole {
    fn describe(self) -> &'static str {
        match self {
            TreeRole::Upstream => "the upstream checkout",
            TreeRole::Wrapper => "the wrapper",
        }
    }
}

/// A blob (or gitlink) as a tree holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(with = "oid_hex")]
    pub id: Oid,
    /// Git file mode: 0o100644, 0o100755, 0o120000 (symlink), 0o160000 (gitlink).
    pub mode: u32,
}

/// One path a promotion writes or deletes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathMove {
    /// Relative to the tree's root, `/`-separated.
    pub path: String,
    /// `None`: the path does not exist before.
    pub old: Option<Entry>,
    /// `None`: the promotion deletes it.
    pub new: Option<Entry>,
}

/// A HEAD: the branch it points at (`refs/heads/...`; `None` when detached)
/// and its commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadState {
    pub branch: Option<String>,
    #[serde(with = "oid_hex")]
    pub commit: Oid,
}

/// Everything one working tree goes through in a promotion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeMove {
    pub role: TreeRole,
    /// The working tree's root (absolute).
    pub root: PathBuf,
    pub before: HeadState,
    pub after: HeadState,
    pub paths: Vec<PathMove>,
}

/// Which side of the plan to bring the trees to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// To the promoted state.
    Forward,
    /// Back to the state before the promotion.
    Backward,
}

/// Who is settling, for the failpoint names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settler {
    Promotion,
    Recovery,
}

impl TreeMove {
    /// The move of the working tree at `root` (repository `repo`) from
    /// `before` to `after`: every path that differs between the two
    /// commits. Both commits must be in `repo`.
    pub fn between(
        role: TreeRole,
        repo: &Repository,
        root: &Path,
        before: HeadState,
        after: HeadState,
    ) -> Result<TreeMove, UpdateError> {
        let err = git_err(
            format!("comparing {} with {}", before.commit, after.commit),
            root,
        );
        let mut paths = Vec::new();
        if before.commit != after.commit {
            let old = repo
                .find_commit(before.commit)
                .and_then(|c| c.tree())
                .map_err(&err)?;
            let new = repo
                .find_commit(after.commit)
                .and_then(|c| c.tree())
                .map_err(&err)?;
            let diff = repo
                .diff_tree_to_tree(Some(&old), Some(&new), None)
                .map_err(&err)?;
            for d in diff.deltas() {
                let side = |f: git2::DiffFile<'_>| {
                    (!f.id().is_zero()).then(|| Entry {
                        id: f.id(),
                        mode: u32::from(f.mode()),
                    })
                };
                let Some(path) = d.new_file().path().or(d.old_file().path()) else {
                    continue;
                };
                let Some(path) = path.to_str() else {
                    return Err(UpdateError::Git {
                        action: "planning the promotion".into(),
                        path: root.to_path_buf(),
                        detail: format!("`{}` is not a UTF-8 path", path.display()),
                    });
                };
                paths.push(PathMove {
                    path: path.to_owned(),
                    old: side(d.old_file()),
                    new: side(d.new_file()),
                });
            }
        }
        paths.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(TreeMove {
            role,
            root: root.to_path_buf(),
            before,
            after,
            paths,
        })
    }

    /// Whether HEAD changes.
    pub fn moves_head(&self) -> bool {
        self.before != self.after
    }
}

/// How a path on disk compares with the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnDisk {
    Absent,
    Old,
    New,
    /// Neither side: the user's.
    Foreign,
}

fn on_disk(root: &Path, p: &PathMove) -> Result<OnDisk, UpdateError> {
    let (blob, symlink, _) = hash_on_disk(&root.join(&p.path))?;
    let Some(blob) = blob else {
        // absent (or a folder, which no side of the plan is)
        return Ok(if root.join(&p.path).is_dir() {
            OnDisk::Foreign
        } else {
            OnDisk::Absent
        });
    };
    let same =
        |e: &Option<Entry>| e.is_some_and(|e| e.id == blob && (e.mode == SYMLINK) == symlink);
    Ok(if same(&p.new) {
        OnDisk::New
    } else if same(&p.old) {
        OnDisk::Old
    } else {
        OnDisk::Foreign
    })
}

/// Before promotion: every path the promotion writes must be exactly its
/// old version on disk and in the index. Returns the clashing paths.
pub fn clashes_before(tree: &TreeMove) -> Result<Vec<String>, UpdateError> {
    let repo = open_here(&tree.root).map_err(git_err("opening", &tree.root))?;
    let index = repo
        .index()
        .map_err(git_err("reading the index", &tree.root))?;
    let mut out = Vec::new();
    for p in &tree.paths {
        let gitlink =
            p.old.is_some_and(|e| e.mode == GITLINK) || p.new.is_some_and(|e| e.mode == GITLINK);
        let disk_ok = gitlink
            || match on_disk(&tree.root, p)? {
                OnDisk::Old => true,
                OnDisk::Absent => p.old.is_none(),
                OnDisk::New | OnDisk::Foreign => false,
            };
        let staged = index.get_path(Path::new(&p.path), 0).map(|e| e.id);
        let index_ok = staged == p.old.map(|e| e.id);
        if !disk_ok || !index_ok {
            out.push(p.path.clone());
        }
    }
    Ok(out)
}

/// Brings `tree` to the `direction` side of its plan: paths, index, HEAD.
/// Idempotent: a path already on that side is left alone. When any path
/// holds the user's bytes, nothing is changed and the paths are returned in
/// [`UpdateError::UserChanges`].
pub fn settle(tree: &TreeMove, direction: Direction, who: Settler) -> Result<(), UpdateError> {
    let root = &tree.root;
    let repo = open_here(root).map_err(git_err("opening", root))?;
    let want = |p: &PathMove| match direction {
        Direction::Forward => p.new,
        Direction::Backward => p.old,
    };
    let is_gitlink = |p: &PathMove| {
        p.old.is_some_and(|e| e.mode == GITLINK) || p.new.is_some_and(|e| e.mode == GITLINK)
    };
    // decide everything before changing anything
    let mut removals = Vec::new();
    let mut writes = Vec::new();
    let mut foreign = Vec::new();
    let index = repo.index().map_err(git_err("reading the index", root))?;
    for p in tree.paths.iter().filter(|p| !is_gitlink(p)) {
        remove_temp(root, &p.path)?;
        let staged = index.get_path(Path::new(&p.path), 0).map(|e| e.id);
        if staged.is_some_and(|id| ![p.old, p.new].iter().flatten().any(|e| e.id == id)) {
            // a change the user staged
            foreign.push(p.path.clone());
            continue;
        }
        let disk = on_disk(root, p)?;
        match (want(p), disk) {
            (_, OnDisk::Foreign) => foreign.push(p.path.clone()),
            (None, OnDisk::Absent) => {}
            (None, _) => removals.push(p),
            (Some(_), OnDisk::New) if direction == Direction::Forward => writes.push((p, false)),
            (Some(_), OnDisk::Old) if direction == Direction::Backward => writes.push((p, false)),
            (Some(_), _) => writes.push((p, true)),
        }
    }
    if !foreign.is_empty() {
        return Err(UpdateError::UserChanges {
            root: root.clone(),
            tree: tree.role.describe().into(),
            paths: foreign,
        });
    }
    let half = writes.len().max(removals.len()) / 2;
    for (i, p) in removals.iter().enumerate() {
        let full = root.join(&p.path);
        match fs_err::remove_file(&full) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove", &full)(e)),
        }
        prune_empty_parents(root, &full);
        if i == half && writes.is_empty() {
            files_half(tree.role, who);
        }
    }
    // new bytes go to temporary files first, made durable together, then
    // renamed into place: a path is only ever its old or its new version
    for (p, needs_bytes) in &writes {
        let e = want(p).expect("writes have a side");
        if *needs_bytes {
            write_temp(&repo, root, &p.path, e)?;
        }
    }
    sync_filesystem(root)?;
    for (i, (p, needs_bytes)) in writes.iter().enumerate() {
        let e = want(p).expect("writes have a side");
        if *needs_bytes {
            rename_into_place(&root.join(&p.path))?;
        } else {
            set_mode(&root.join(&p.path), e.mode)?;
        }
        if i == half {
            files_half(tree.role, who);
        }
    }
    sync_filesystem(root)?;
    if who == Settler::Promotion {
        failpoint_after(tree.role, Step::Files);
    }
    // the index: each path's entry as the side has it (stat data fresh),
    // written only when an entry changes
    let mut index = index;
    index
        .read(true)
        .map_err(git_err("reading the index", root))?;
    let mut changed = false;
    for p in &tree.paths {
        let path = Path::new(&p.path);
        let now = index.get_path(path, 0).map(|e| (e.id, e.mode));
        let desired = want(p);
        if now == desired.map(|e| (e.id, e.mode)) {
            continue;
        }
        let err = git_err(format!("updating the index entry of `{}`", p.path), root);
        match desired {
            None => index.remove_path(path).map_err(err)?,
            Some(e) if e.mode == GITLINK => {
                index.add(&gitlink_entry(&p.path, e.id)).map_err(err)?
            }
            Some(_) => index.add_path(path).map_err(err)?,
        }
        changed = true;
    }
    if changed {
        index.write().map_err(git_err("writing the index", root))?;
    }
    if who == Settler::Promotion {
        failpoint_after(tree.role, Step::Index);
    }
    let head = match direction {
        Direction::Forward => &tree.after,
        Direction::Backward => &tree.before,
    };
    set_head(&repo, root, head)?;
    if who == Settler::Promotion {
        failpoint_after(tree.role, Step::Head);
    }
    Ok(())
}

/// Where a tree's HEAD is, relative to its plan: `Some(Forward)` at the
/// "after" side, `Some(Backward)` at "before", `None` elsewhere.
pub fn head_side(tree: &TreeMove) -> Result<Option<Direction>, UpdateError> {
    let repo = open_here(&tree.root).map_err(git_err("opening", &tree.root))?;
    let (commit, branch) = head_of(&repo, &tree.root)?;
    let now = HeadState { branch, commit };
    Ok(if now == tree.after {
        Some(Direction::Forward)
    } else if now == tree.before {
        Some(Direction::Backward)
    } else if now.commit == tree.after.commit {
        // a detached HEAD that reached the target, or a branch at it
        Some(Direction::Forward)
    } else if now.commit == tree.before.commit {
        Some(Direction::Backward)
    } else {
        None
    })
}

/// Deletes every `refs/tether/*` ref of the repository at `root` (the
/// objects stay). Quietly does nothing when it cannot be opened.
pub fn drop_tether_refs(root: &Path) {
    let Ok(repo) = open_here(root) else { return };
    let names: Vec<String> = repo
        .references_glob(&format!("{TETHER_REFS}*"))
        .map(|refs| {
            refs.flatten()
                .filter_map(|r| r.name().ok().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for n in names {
        if let Ok(mut r) = repo.find_reference(&n) {
            let _ = r.delete();
        }
    }
    // and the folders they were in (libgit2 keeps them)
    prune_empty_dirs(&repo.path().join(TETHER_REFS));
}

/// Removes `dir` and every folder below it that is empty (bottom-up).
fn prune_empty_dirs(dir: &Path) {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            prune_empty_dirs(&e.path());
        }
    }
    let _ = fs_err::remove_dir(dir);
}

fn set_head(repo: &Repository, root: &Path, head: &HeadState) -> Result<(), UpdateError> {
    let msg = "tether: promote";
    match &head.branch {
        Some(b) => {
            let at = repo.refname_to_id(b).ok();
            if at != Some(head.commit) {
                repo.reference(b, head.commit, true, msg)
                    .map_err(git_err(format!("moving {b}"), root))?;
            }
            let current = repo
                .find_reference("HEAD")
                .ok()
                .and_then(|r| r.symbolic_target().ok().flatten().map(str::to_owned));
            if current.as_deref() != Some(b.as_str()) {
                repo.set_head(b)
                    .map_err(git_err(format!("checking out {b}"), root))?;
            }
        }
        None => {
            let detached_at = repo
                .head_detached()
                .unwrap_or(false)
                .then(|| repo.head().ok().and_then(|h| h.target()))
                .flatten();
            if detached_at != Some(head.commit) {
                repo.set_head_detached(head.commit)
                    .map_err(git_err("moving the detached HEAD", root))?;
            }
        }
    }
    Ok(())
}

/// Writes the blob `e` for `rel` to `.<name>.tether-tmp` beside it.
fn write_temp(repo: &Repository, root: &Path, rel: &str, e: Entry) -> Result<(), UpdateError> {
    let full = root.join(rel);
    let blob = repo
        .find_blob(e.id)
        .map_err(git_err(format!("reading the blob of `{rel}`"), root))?;
    let parent = full.parent().unwrap_or(root);
    fs_err::create_dir_all(parent).map_err(io_err("create", parent))?;
    let tmp = temp_path(&full);
    if tmp.symlink_metadata().is_ok() {
        fs_err::remove_file(&tmp).map_err(io_err("remove", &tmp))?;
    }
    if e.mode == SYMLINK {
        let target = String::from_utf8_lossy(blob.content()).into_owned();
        fs_err::os::unix::fs::symlink(&target, &tmp).map_err(io_err("create symlink", &tmp))?;
    } else {
        fs_err::write(&tmp, blob.content()).map_err(io_err("write", &tmp))?;
        set_mode(&tmp, e.mode)?;
    }
    Ok(())
}

/// Renames the temporary file of `full` over it.
fn rename_into_place(full: &Path) -> Result<(), UpdateError> {
    if full.is_dir() && !full.is_symlink() {
        // only empty folders are tether's to replace
        let _ = fs_err::remove_dir(full);
    }
    fs_err::rename(temp_path(full), full).map_err(io_err("rename into place", full))
}

/// Flushes the filesystem holding `root` to disk (one `syncfs`, not an
/// fsync per file: an upstream checkout can move thousands of files).
fn sync_filesystem(root: &Path) -> Result<(), UpdateError> {
    let dir = fs_err::File::open(root).map_err(io_err("open", root))?;
    nix::unistd::syncfs(dir.file()).map_err(|e| io_err("sync the filesystem of", root)(e.into()))
}

fn set_mode(path: &Path, mode: u32) -> Result<(), UpdateError> {
    use std::os::unix::fs::PermissionsExt;
    if mode == SYMLINK {
        return Ok(());
    }
    let bits = if mode == EXECUTABLE { 0o755 } else { 0o644 };
    let meta = fs_err::symlink_metadata(path).map_err(io_err("read", path))?;
    if meta.permissions().mode() & 0o777 != bits {
        fs_err::set_permissions(path, std::fs::Permissions::from_mode(bits))
            .map_err(io_err("set the mode of", path))?;
    }
    Ok(())
}

/// The temporary file a write of `full` goes through.
fn temp_path(full: &Path) -> PathBuf {
    let name = full
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    full.with_file_name(format!(".{name}.tether-tmp"))
}

/// Removes a temporary file an interrupted settle left, and the folders it
/// created for it when they are empty now.
fn remove_temp(root: &Path, rel: &str) -> Result<(), UpdateError> {
    let tmp = temp_path(&root.join(rel));
    if tmp.symlink_metadata().is_ok() {
        fs_err::remove_file(&tmp).map_err(io_err("remove", &tmp))?;
        prune_empty_parents(root, &tmp);
    }
    Ok(())
}

/// Removes the folders above `full` that became empty, up to `root`, as
/// git does when it deletes a file.
fn prune_empty_parents(root: &Path, full: &Path) {
    let mut dir = full.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || fs_err::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

#[derive(Clone, Copy)]
enum Step {
    Files,
    Index,
    Head,
}

fn files_half(role: TreeRole, who: Settler) {
    match (who, role) {
        (Settler::Promotion, TreeRole::Upstream) => failpoint::hit("promote.upstream.files-half"),
        (Settler::Promotion, TreeRole::Wrapper) => failpoint::hit("promote.wrapper.files-half"),
        (Settler::Recovery, TreeRole::Upstream) => failpoint::hit("recover.upstream.files-half"),
        (Settler::Recovery, TreeRole::Wrapper) => failpoint::hit("recover.wrapper.files-half"),
    }
}

fn failpoint_after(role: TreeRole, step: Step) {
    match (role, step) {
        (TreeRole::Upstream, Step::Files) => failpoint::hit("promote.upstream.files-done"),
        (TreeRole::Upstream, Step::Index) => failpoint::hit("promote.upstream.index-written"),
        (TreeRole::Upstream, Step::Head) => failpoint::hit("promote.upstream.head-moved"),
        (TreeRole::Wrapper, Step::Files) => failpoint::hit("promote.wrapper.files-done"),
        (TreeRole::Wrapper, Step::Index) => failpoint::hit("promote.wrapper.index-written"),
        (TreeRole::Wrapper, Step::Head) => failpoint::hit("promote.wrapper.head-moved"),
    }
}

/// Object ids as hex strings in JSON.
mod oid_hex {
    use git2::Oid;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &Oid, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&id.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Oid, D::Error> {
        let s = String::deserialize(d)?;
        Oid::from_str(&s).map_err(serde::de::Error::custom)
    }
}
