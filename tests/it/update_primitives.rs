//! The update transaction's pieces on the real sample project, all three
//! layouts: staging leaves the live wrapper byte-identical, promotion moves
//! it (and only it), rollback and recovery put things back, and the state
//! lock names its holder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::Oid;
use tether::config::{Config, UpstreamConfig};
use tether::state::{LockError, StateDir, StateLock};
use tether::update::{
    Backup, Journal, JournalState, RecoveryAction, StageOutcome, Staged, plan_promotion, promote,
    recover, rollback, stage, verify_live_unchanged,
};
use tether::upstream::Mirror;

use crate::support::git::git;
use crate::support::sample::Sample;

const LAYOUTS: [&str; 3] = ["submodule", "clone", "vendored"];
const DIRTY_README: &str = "# sample wrapper\n\nlocal notes, not committed\n";
const UNTRACKED: &str = "scratch/notes.txt";

struct Fixture {
    sample: Sample,
    cfg: Config,
    state: StateDir,
    mirror: Mirror,
    target: Oid,
}

impl Fixture {
    fn new(layout: &str) -> Fixture {
        let sample = Sample::new(layout);
        let cfg = Config::load(&sample.root.join("tether.toml")).unwrap();
        let state = StateDir::new(&cfg.project.state_dir);
        let mirror = Mirror::open_or_init(&state, &cfg.upstreams[0]).unwrap();
        mirror.fetch().unwrap();
        let target = mirror.resolve_rev("main").unwrap();
        Fixture {
            sample,
            cfg,
            state,
            mirror,
            target,
        }
    }

    fn up(&self) -> &UpstreamConfig {
        &self.cfg.upstreams[0]
    }

    fn member(&self) -> tether::update::Member<'_> {
        tether::update::Member {
            up: self.up(),
            mirror: &self.mirror,
        }
    }

    fn wrapper(&self) -> &Path {
        &self.sample.wrapper.path
    }

    /// A modified tracked file and an untracked one in the live wrapper.
    fn make_dirty(&self) {
        self.sample.wrapper.write("README.md", DIRTY_README);
        self.sample.wrapper.write(UNTRACKED, "remember the milk\n");
    }

    fn backup(&self, id: &str) -> Backup {
        Backup::take(&self.cfg, self.up(), &self.mirror, id).unwrap()
    }

    fn stage(&self, backup: &Backup) -> Staged {
        stage(&self.cfg, self.up(), &self.mirror, backup, self.target).unwrap()
    }

    /// Backup, journal (saved at `Staged`) and staged tree.
    fn staged_journal(&self, id: &str) -> (Backup, Journal, Staged) {
        let backup = self.backup(id);
        let mut journal = Journal::new(&self.state, &backup, &self.target.to_string());
        journal.save(&self.state).unwrap();
        let staged = self.stage(&backup);
        journal.staged_head = Some(staged.head.clone());
        journal
            .advance(&self.state, JournalState::Staged, None)
            .unwrap();
        (backup, journal, staged)
    }

    fn short(&self) -> String {
        self.target.to_string()[..7].to_owned()
    }
}

/// Every file under `root` (`.git` and nested repositories included): path
/// -> blob hash of its bytes (a symlink's target).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        for entry in fs_err::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let ft = entry.file_type().unwrap();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if ft.is_dir() {
                out.insert(rel.join(""), "dir".into());
                walk(root, &path, out);
            } else {
                let bytes = if ft.is_symlink() {
                    fs_err::read_link(&path)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned()
                        .into_bytes()
                } else {
                    fs_err::read(&path).unwrap()
                };
                let id = Oid::hash_object(git2::ObjectType::Blob, &bytes).unwrap();
                out.insert(rel, id.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn assert_same(before: &BTreeMap<PathBuf, String>, after: &BTreeMap<PathBuf, String>) {
    let changed: Vec<_> = before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(*v))
        .map(|(k, _)| k.display().to_string())
        .chain(
            after
                .keys()
                .filter(|k| !before.contains_key(*k))
                .map(|k| format!("new: {}", k.display())),
        )
        .collect();
    assert!(changed.is_empty(), "live wrapper changed: {changed:?}");
}

fn read(p: impl AsRef<Path>) -> String {
    fs_err::read_to_string(p.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
}

#[test]
fn staging_each_layout_reaches_the_target_and_leaves_the_live_wrapper_identical() {
    for layout in LAYOUTS {
        let fx = Fixture::new(layout);
        fx.make_dirty();
        let before = snapshot(fx.wrapper());
        let backup = fx.backup("stage-test");
        assert_eq!(backup.dirty.len(), 2, "{layout}: {:?}", backup.dirty);
        assert!(backup.copy_of("README.md").is_file());
        let staged = fx.stage(&backup);
        assert_same(&before, &snapshot(fx.wrapper()));

        let wgp = read(staged.upstream_dir.join("wgp.py"));
        assert!(wgp.contains("def get_model_definition"), "{layout}: {wgp}");
        assert!(staged.upstream_dir.join("shared/utils/video.py").is_file());
        assert!(!staged.upstream_dir.join("defaults/vace_14B.json").exists());
        assert_eq!(read(staged.dir.join("README.md")), DIRTY_README);
        assert_eq!(read(staged.dir.join(UNTRACKED)), "remember the milk\n");
        assert_eq!(staged.base, backup.head);
        let message = format!("chore(upstream): bump sample to {}", fx.short());
        let staged_repo = git2::Repository::open(&staged.dir).unwrap();
        assert!(
            staged_repo.find_remote("origin").is_err(),
            "no way back into the live repo"
        );
        match (layout, &staged.outcome) {
            ("clone", StageOutcome::NothingToCommit) => assert_eq!(staged.head, staged.base),
            (
                _,
                StageOutcome::Committed {
                    message: m, files, ..
                },
            ) => {
                assert_eq!(m, &message);
                let head = staged_repo.head().unwrap().peel_to_commit().unwrap();
                assert_eq!(head.message().unwrap(), message);
                assert_eq!(head.author().name().unwrap(), "tether");
                assert_eq!(head.committer().email().unwrap(), "tether@localhost");
                assert_eq!(head.parent_id(0).unwrap().to_string(), backup.head);
                if layout == "submodule" {
                    assert_eq!(files, &vec!["Wan2GP".to_owned()]);
                    let entry = head.tree().unwrap().get_path(Path::new("Wan2GP")).unwrap();
                    assert_eq!(entry.filemode(), 0o160000);
                    assert_eq!(entry.id(), fx.target);
                    assert_eq!(
                        read(staged.dir.join(".gitmodules")),
                        read(fx.wrapper().join(".gitmodules"))
                    );
                } else {
                    assert!(files.contains(&"Wan2GP/wgp.py".to_owned()), "{files:?}");
                    assert!(files.contains(&"STRUCTURE.md".to_owned()), "{files:?}");
                }
            }
            (_, other) => panic!("{layout}: unexpected outcome {other:?}"),
        }
    }
}

#[test]
fn vendored_local_change_that_does_not_overlap_is_carried_forward() {
    let fx = Fixture::new("vendored");
    let w = &fx.sample.wrapper;
    let wgp = w.read("Wan2GP/wgp.py");
    w.write(
        "Wan2GP/wgp.py",
        wgp.replace(
            "\"profile\": 4, \"save_path\"",
            "\"profile\": 2, \"save_path\"",
        ),
    );
    w.commit("local: lower the default profile");
    let before = snapshot(fx.wrapper());
    let backup = fx.backup("carry");
    let patch = read(
        backup
            .dir
            .join(backup.vendored_patch.as_ref().expect("patch")),
    );
    assert!(
        patch.contains("+server_config = {\"attention_mode\": \"sdpa\", \"profile\": 2"),
        "{patch}"
    );
    let staged = fx.stage(&backup);
    assert_same(&before, &snapshot(fx.wrapper()));
    assert!(
        matches!(staged.outcome, StageOutcome::Committed { .. }),
        "{:?}",
        staged.outcome
    );
    let merged = read(staged.dir.join("Wan2GP/wgp.py"));
    assert!(
        merged.contains("\"profile\": 2, \"save_path\""),
        "local change kept: {merged}"
    );
    assert!(
        merged.contains("def get_model_definition"),
        "upstream change in: {merged}"
    );
    assert!(merged.contains("frame_num=81"));
    assert!(!merged.contains("<<<<<<<"));
    let structure = read(staged.dir.join("STRUCTURE.md"));
    assert!(structure.contains(&fx.target.to_string()), "{structure}");
}

#[test]
fn vendored_local_change_that_overlaps_is_a_listed_conflict() {
    let fx = Fixture::new("vendored");
    let w = &fx.sample.wrapper;
    let wgp = w.read("Wan2GP/wgp.py");
    w.write(
        "Wan2GP/wgp.py",
        wgp.replace(
            "def load_models(model_type, profile=4):",
            "def load_models(model_type, profile=2):",
        ),
    );
    w.commit("local: load_models defaults to profile 2");
    let before = snapshot(fx.wrapper());
    let backup = fx.backup("conflict");
    let staged = fx.stage(&backup);
    assert_same(&before, &snapshot(fx.wrapper()));
    let StageOutcome::Conflicts { files } = &staged.outcome else {
        panic!("expected a conflict, got {:?}", staged.outcome);
    };
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].path, "Wan2GP/wgp.py");
    assert!(
        files[0].reason.contains("same place"),
        "{}",
        files[0].reason
    );
    assert_eq!(staged.head, staged.base, "nothing committed");
    let text = read(staged.dir.join("Wan2GP/wgp.py"));
    assert!(text.contains("<<<<<<< wrapper"), "{text}");
    assert!(text.contains("profile=2"));
    assert!(text.contains("lora_dir"));
    assert!(text.contains(&format!(">>>>>>> upstream {}", fx.short())));
    // each marked region is listed with its lines
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(files[0].hunks.len(), 1, "{text}");
    let h = files[0].hunks[0];
    assert!(
        lines[h.start - 1].starts_with("<<<<<<< wrapper"),
        "{h:?}: {text}"
    );
    assert!(
        lines[h.end - 1].starts_with(">>>>>>> upstream"),
        "{h:?}: {text}"
    );
}

#[test]
fn promotion_moves_each_layout_to_the_target_and_keeps_uncommitted_work() {
    for layout in LAYOUTS {
        let fx = Fixture::new(layout);
        fx.make_dirty();
        let (backup, mut journal, staged) = fx.staged_journal("promote-test");
        let old_head = backup.head.clone();

        let plan = plan_promotion(&[fx.up()], &journal).unwrap();
        assert_eq!(plan.from, old_head);
        assert_eq!(plan.to, staged.head);
        assert_eq!(
            git(fx.wrapper(), &["rev-parse", "HEAD"]),
            old_head,
            "a plan moves nothing"
        );

        let promotion = promote(&[fx.member()], &mut journal, &fx.state).unwrap();
        assert_eq!(journal.state, JournalState::Promoted);
        assert_eq!(
            Journal::load(&fx.state).unwrap().unwrap().state,
            JournalState::Promoted
        );
        let head = git(fx.wrapper(), &["rev-parse", "HEAD"]);
        assert_eq!(head, staged.head, "{layout}");
        assert_eq!(
            git(fx.wrapper(), &["symbolic-ref", "HEAD"]),
            "refs/heads/main"
        );
        let message = format!("chore(upstream): bump sample to {}", fx.short());
        if layout == "clone" {
            assert_eq!(
                head, old_head,
                "clone without record file: no wrapper commit"
            );
            assert!(promotion.plan.commits.is_empty());
        } else {
            assert_eq!(git(fx.wrapper(), &["rev-parse", "HEAD~1"]), old_head);
            assert_eq!(git(fx.wrapper(), &["log", "-1", "--format=%s"]), message);
            assert_eq!(promotion.plan.commits.len(), 1);
            assert_eq!(promotion.plan.commits[0].subject, message);
        }
        // the user's uncommitted work is untouched
        assert_eq!(read(fx.wrapper().join("README.md")), DIRTY_README);
        assert_eq!(read(fx.wrapper().join(UNTRACKED)), "remember the milk\n");
        let status = git(fx.wrapper(), &["status", "--porcelain"]);
        let mut lines: Vec<&str> = status.lines().map(str::trim).collect();
        lines.sort();
        assert_eq!(
            lines,
            vec!["?? scratch/", "M README.md"],
            "{layout}: {status}"
        );

        let live_up = fx.wrapper().join("Wan2GP");
        assert!(read(live_up.join("wgp.py")).contains("def get_model_definition"));
        match layout {
            "submodule" => {
                assert_eq!(git(&live_up, &["rev-parse", "HEAD"]), fx.target.to_string());
                let tree = git(fx.wrapper(), &["ls-tree", "HEAD", "Wan2GP"]);
                assert_eq!(tree, format!("160000 commit {}\tWan2GP", fx.target));
            }
            "clone" => {
                assert_eq!(git(&live_up, &["rev-parse", "HEAD"]), fx.target.to_string());
                assert_eq!(git(&live_up, &["status", "--porcelain"]), "");
                let refs = git(&live_up, &["for-each-ref", "refs/tether"]);
                assert_eq!(refs, "", "temporary refs removed");
            }
            _ => {
                let structure = read(fx.wrapper().join("STRUCTURE.md"));
                assert!(
                    structure.contains(&format!("Upstream commit: `{}`", fx.target)),
                    "{structure}"
                );
                assert!(structure.contains("Updated by tether: "), "{structure}");
                assert!(!fx.wrapper().join("Wan2GP/defaults/vace_14B.json").exists());
            }
        }
    }
}

#[test]
fn promotion_refuses_when_the_user_committed_meanwhile() {
    let fx = Fixture::new("submodule");
    let (_backup, mut journal, _staged) = fx.staged_journal("moved");
    fx.sample.wrapper.write("NEW.md", "new\n");
    let user_head = fx.sample.wrapper.commit("docs: a new file");
    let err = promote(&[fx.member()], &mut journal, &fx.state).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("changed since the update started"), "{msg}");
    assert!(msg.contains(&user_head), "{msg}");
    assert_eq!(git(fx.wrapper(), &["rev-parse", "HEAD"]), user_head);
    assert_eq!(journal.state, JournalState::Staged, "not promoting");
}

#[test]
fn rollback_discards_the_staged_tree_and_leaves_everything_identical() {
    for layout in LAYOUTS {
        let fx = Fixture::new(layout);
        fx.make_dirty();
        let before = snapshot(fx.wrapper());
        let (backup, mut journal, staged) = fx.staged_journal("rollback-test");
        assert!(staged.dir.is_dir());
        let report = rollback(&fx.cfg, &mut journal, &fx.state, "baseline failed").unwrap();
        assert!(report.discarded);
        assert!(!staged.dir.exists());
        assert_eq!(report.differences, Vec::<String>::new(), "{layout}");
        assert!(report.reinstalled.is_empty());
        assert_eq!(journal.state, JournalState::RolledBack);
        assert_same(&before, &snapshot(fx.wrapper()));
        assert!(verify_live_unchanged(&backup).unwrap().is_empty());
    }
}

#[test]
fn verify_reports_every_difference_from_the_backup() {
    let fx = Fixture::new("submodule");
    fx.make_dirty();
    let backup = fx.backup("verify");
    fx.sample.wrapper.write("README.md", "changed again\n");
    fx.sample.wrapper.write("other.txt", "new\n");
    git(
        &fx.wrapper().join("Wan2GP"),
        &["checkout", "-q", &fx.target.to_string()],
    );
    let diffs = verify_live_unchanged(&backup).unwrap();
    assert_eq!(diffs.len(), 3, "{diffs:?}");
    assert!(
        diffs[0].contains("`README.md` (modified) has other bytes"),
        "{diffs:?}"
    );
    assert!(
        diffs[1].contains("`other.txt` is untracked but was clean"),
        "{diffs:?}"
    );
    assert!(diffs[2].contains("upstream checkout"), "{diffs:?}");
}

#[test]
fn a_second_lock_fails_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(dir.path().join("state"));
    let first = StateLock::acquire(&state, "tether update --upstream sample").unwrap();
    let err = StateLock::acquire(&state, "tether check").unwrap_err();
    let LockError::Held { holder, .. } = &err else {
        panic!("expected Held, got {err:?}");
    };
    assert_eq!(holder.pid, std::process::id());
    assert_eq!(holder.command, "tether update --upstream sample");
    assert_eq!(holder, first.holder());
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
    assert!(msg.contains("`tether update --upstream sample`"), "{msg}");
    assert!(msg.contains(&holder.started.to_string()), "{msg}");
    drop(first);
    let again = StateLock::acquire(&state, "tether check").unwrap();
    assert_eq!(again.holder().command, "tether check");
}

#[test]
fn recovery_rolls_back_an_update_left_staged() {
    let fx = Fixture::new("vendored");
    fx.make_dirty();
    let before = snapshot(fx.wrapper());
    let (_backup, journal, staged) = fx.staged_journal("crashed-staged");
    drop(journal); // the process "dies" here
    let rec = recover(&fx.cfg).unwrap().expect("something to recover");
    assert_eq!(rec.found, JournalState::Staged);
    assert_eq!(rec.action, RecoveryAction::RolledBack);
    assert!(
        rec.message.contains("interrupted while staged"),
        "{}",
        rec.message
    );
    assert!(rec.message.contains("rolled it back"), "{}", rec.message);
    assert!(
        rec.message.contains("live wrapper is as it was"),
        "{}",
        rec.message
    );
    assert!(!staged.dir.exists());
    assert!(Journal::load(&fx.state).unwrap().is_none());
    let filed = Journal::load_history(&fx.state, "crashed-staged")
        .unwrap()
        .unwrap();
    assert_eq!(filed.state, JournalState::RolledBack);
    assert_same(&before, &snapshot(fx.wrapper()));
    assert!(
        recover(&fx.cfg).unwrap().is_none(),
        "nothing left to recover"
    );
}

#[test]
fn recovery_finishes_a_promotion_whose_branch_already_moved() {
    let fx = Fixture::new("submodule");
    fx.make_dirty();
    let (_backup, mut journal, staged) = fx.staged_journal("crashed-promoting");
    journal
        .advance(&fx.state, JournalState::Promoting, None)
        .unwrap();
    // the crash came after the wrapper's branch moved, before the submodule did
    let w = fx.wrapper();
    let spec = format!("refs/heads/{}", journal.staged_branch);
    git(
        w,
        &["fetch", "-q", &staged.dir.display().to_string(), &spec],
    );
    git(w, &["merge", "-q", "--ff-only", "FETCH_HEAD"]);
    let base = fx
        .sample
        .upstream
        .git(&["rev-list", "--max-parents=0", "HEAD"]);
    assert_eq!(git(&w.join("Wan2GP"), &["rev-parse", "HEAD"]), base);

    let rec = recover(&fx.cfg).unwrap().expect("something to recover");
    assert_eq!(rec.found, JournalState::Promoting);
    assert_eq!(rec.action, RecoveryAction::Promoted);
    assert!(rec.message.contains("marked promoted"), "{}", rec.message);
    assert_eq!(git(w, &["rev-parse", "HEAD"]), staged.head);
    assert_eq!(
        git(&w.join("Wan2GP"), &["rev-parse", "HEAD"]),
        fx.target.to_string()
    );
    assert_eq!(read(w.join("README.md")), DIRTY_README);
    let filed = Journal::load_history(&fx.state, "crashed-promoting")
        .unwrap()
        .unwrap();
    assert_eq!(filed.state, JournalState::Promoted);
    assert!(Journal::load(&fx.state).unwrap().is_none());
}

#[test]
fn recovery_rolls_back_a_promotion_that_had_not_moved_the_wrapper() {
    let fx = Fixture::new("vendored");
    let before = snapshot(fx.wrapper());
    let (_backup, mut journal, _staged) = fx.staged_journal("promoting-unmoved");
    journal
        .advance(&fx.state, JournalState::Promoting, None)
        .unwrap();
    let rec = recover(&fx.cfg).unwrap().unwrap();
    assert_eq!(rec.action, RecoveryAction::RolledBack);
    assert!(
        rec.message.contains("before the wrapper moved"),
        "{}",
        rec.message
    );
    assert_same(&before, &snapshot(fx.wrapper()));
}

#[test]
fn promotion_stops_before_touching_a_file_the_user_changed_meanwhile() {
    let fx = Fixture::new("vendored");
    let (backup, mut journal, _staged) = fx.staged_journal("clash");
    fx.sample
        .wrapper
        .write("Wan2GP/wgp.py", "# my uncommitted experiment\n");
    let before = snapshot(fx.wrapper());
    let err = promote(&[fx.member()], &mut journal, &fx.state).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("without touching uncommitted changes"),
        "{msg}"
    );
    assert_same(&before, &snapshot(fx.wrapper()));
    assert_eq!(git(fx.wrapper(), &["rev-parse", "HEAD"]), backup.head);
    assert_eq!(journal.state, JournalState::Staged);
}
