//! Owns the pipelines that stage a tree and run the baseline in it: `tether
//! update`'s transaction (`transaction`), `tether bisect` (`bisect`) and
//! `adopt-last-good` (`adopt`), built on the staging primitives of
//! `update` and the domain modules below.

mod adopt;
pub mod bisect;
mod transaction;

pub use transaction::{
    RolledBackError, TransactionError, UpdateOptions, UpdateOutcome, UpdateReport, recover_if_idle,
    update, write_report,
};
