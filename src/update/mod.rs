//! Owns the staging primitives that `pipeline` composes into `tether
//! update`'s transaction, `bisect` and `adopt-last-good`: the journal, the
//! backup of the live wrapper, the staged tree, promotion, rollback and
//! crash recovery, and the parked updates of the approval gate. The live wrapper is only ever changed by
//! [`promote`]; everything else reads it or works in the state dir.

mod backup;
mod error;
mod git_ops;
mod journal;
mod member;
mod moves;
mod parked;
mod promote;
mod record;
mod recover;
mod rollback;
mod stage;

pub use backup::{Backup, DirtyFile};
pub use error::UpdateError;
pub use journal::{Journal, JournalState, Transition, UpdatePaths, new_id, staged_branch};
pub use member::{Member, MemberBackup, MemberMove};
pub use moves::{Direction, Entry, HeadState, PathMove, TreeMove, TreeRole};
pub use parked::{
    ParkedSummary, ParkedUpdate, Rejection, clear_rejection, list_parked, load_parked, park,
    rejection, remove_parked, save_rejection,
};
pub use promote::{CheckoutMove, Promotion, PromotionPlan, plan_promotion, promote};
pub use record::PromotionRecord;
pub use recover::{Recovery, RecoveryAction, recover};
pub use rollback::{
    RollbackReport, discard_staged, restore_packages, rollback, verify_live_unchanged,
};
pub use stage::{
    ConflictFile, ConflictVersions, MarkedHunk, MarkerLine, MemberCommit, StageMember,
    StageOutcome, Staged, changed_in_staged, commit_files, commit_resolution, conflict_versions,
    drop_last_commit, hunks_in, marker_lines_in, markers_left, stage, stage_group,
    update_record_text,
};
