//! Owns tracking upstreams with git2: tether's bare mirror of each upstream
//! in the state dir (its URL stored without credentials), fetching into it
//! with credentials supplied at fetch time, finding the wrapper's current upstream
//! commit for each layout (the pinned layout's pin, the `git subtree` trailers), resolving the target under the `track` rule, and
//! soak state. Never writes to the wrapper.

mod base;
mod check;
mod commit;
mod copy;
mod credentials;
mod error;
mod group_check;
mod layout;
mod mirror;
mod pin;
mod pin_json;
mod soak;
mod subtree;
mod track;
mod vendored;

pub mod held;
pub mod last_good;

pub use base::BaseDetection;
pub use check::{CheckOptions, CheckReport, HistoryState, PendingCommit, check};
pub use commit::CommitInfo;
pub use error::{FetchFailure, UpstreamError};
pub use group_check::{GroupCheck, check_group};
pub use held::{FailureSignature, HeldBack};
pub use layout::{
    Change, CurrentCommit, LocalMods, ModifiedFile, current_commit, current_commit_local,
    current_commit_of_history,
};
pub use mirror::Mirror;
pub use pin::{PinSite, locate_pin, pin_place};
pub use soak::{SeenStore, SeenTimes, SoakState, format_remaining};
pub use subtree::{SubtreeBase, subtree_base, subtree_trailers};
pub use track::{Target, resolve_target, resolve_target_ref};
