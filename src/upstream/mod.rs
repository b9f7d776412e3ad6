//! Owns tracking upstreams with git2: tether's bare mirror of each upstream
//! in the state dir, fetching into it, finding the wrapper's current upstream
//! commit for each layout, resolving the target under the `track` rule, and
//! soak state. Never writes to the wrapper.

mod commit;

pub use commit::CommitInfo;
