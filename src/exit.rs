//! tether's exit codes: one table, documented in the README.

/// Success; nothing needs attention.
pub const OK: u8 = 0;
/// A runtime failure: git, I/O, a child process.
pub const FAILURE: u8 = 1;
/// Bad usage or an invalid config.
pub const USAGE: u8 = 2;
/// `analyze`: at least one integration point breaks.
pub const BREAKING: u8 = 3;
/// `analyze`: nothing breaks, but findings need review (at risk).
pub const AT_RISK: u8 = 4;
/// `check`: an upstream's history was rewritten (force-push): the current
/// commit is not an ancestor of the target.
pub const HISTORY_REWRITTEN: u8 = 5;
/// `baseline run|record`: at least one baseline case failed, timed out or crashed.
pub const BASELINE_FAILED: u8 = 6;
/// `update`: the baseline could not be made to pass; the update was rolled
/// back and the live wrapper is as it was.
pub const ROLLED_BACK: u8 = 7;
/// Another tether command holds the state lock.
pub const LOCKED: u8 = 8;
/// `gpu probe` (and a baseline run's preflight): the GPU stack is broken or
/// libtorch cannot be used.
pub const GPU_BROKEN: u8 = 9;
/// `baseline run|compare`: every case passed, but at least one regressed
/// against its reference (quality, speed or memory).
pub const REGRESSED: u8 = 10;
/// `health`: degraded (something needs attention; the stack still works).
pub const HEALTH_DEGRADED: u8 = 11;
/// `health`: failing (the GPU stack, the baseline or the hardware is broken).
pub const HEALTH_FAILING: u8 = 12;
/// `bisect`: skipped steps leave several candidates for the first bad commit.
pub const BISECT_UNDECIDABLE: u8 = 13;
/// `bisect`: the ends are not what they should be (the good end fails, or
/// the bad end passes).
pub const BISECT_ENDS: u8 = 14;
/// An interrupted update cannot be finished or rolled back without a
/// person: files it was moving hold changes tether did not make, a HEAD
/// moved, or its journal is unreadable. The message says what to do.
pub const RECOVERY_BLOCKED: u8 = 15;
/// `update`: staging left conflicts between the wrapper's local
/// modifications and the upstream change that nothing resolved; the update
/// is paused (the staged tree holds the markers, the live wrapper is as it
/// was) until `tether update --continue` or `tether update --abort`. Also
/// a new `update` or a `--continue` refused because of it.
pub const PAUSED: u8 = 16;
/// `check --exit-code`: an update can be adopted (an upstream's target has
/// soaked commits the wrapper does not have yet), like `git diff --exit-code`.
pub const UPDATE_AVAILABLE: u8 = 17;
/// `report open`: there is no HTML report (none at all, none for the run
/// named, or no such run).
pub const NO_REPORT: u8 = 18;
/// `update`: the baseline passed but the approval gate (`update.promote`)
/// parked the update: it waits for `tether approve <id>` or `tether reject
/// <id>`; the live wrapper is as it was.
pub const PARKED: u8 = 19;
/// `approve`: refused because the live wrapper moved since the parked
/// update was tested; nothing was promoted and the update stays parked.
pub const APPROVAL_REFUSED: u8 = 20;
