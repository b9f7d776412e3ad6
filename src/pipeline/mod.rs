//! Owns the pipelines that stage a tree and run the baseline in it: `tether
//! update`'s transaction (`transaction`), `tether bisect` (`bisect`) and
//! `adopt-last-good` (`adopt`), conflicts left by staging (`conflicts`: the
//! external fixer's attempts, the pause) and a paused update's `--continue`
//! and `--abort` (`paused`), the approval gate's parked updates
//! (`gate`: park, `tether pending`, `approve`, `reject`), all through one context (`staged_run`) on
//! the staging primitives of `update` and the domain modules below.

mod adopt;
pub mod bisect;
mod conflicts;
mod error;
mod gate;
mod group;
mod group_adopt;
mod held_retest;
mod paused;
mod staged_run;
mod transaction;
mod update_report;

pub use error::{RolledBackError, TransactionError};
pub use gate::{GateError, PendingReport, PendingUpdate, approve, pending, reject};
pub use group::update_group;
pub use paused::{abort, continue_update};
pub use staged_run::{CaseRun, StagedRun};
pub use transaction::{LAST_GOOD, recover_if_idle, update, write_report};
pub use update_report::{
    Approval, BaselineSpent, GroupBisect, GroupCulprit, MemberReport, PausedFile, UpdateOptions,
    UpdateOutcome, UpdateReport,
};
