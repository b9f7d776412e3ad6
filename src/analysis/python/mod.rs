//! Python integration-point analysis: indexes the upstream's definitions,
//! scans the wrapper for every place it touches the upstream, and resolves
//! each point against an old and a new upstream index. Pure functions over
//! source text; the caller reads git trees and files.

mod chunks;
mod index;
mod lookup;
mod model;
mod parse;
mod resolve;
mod scan;
mod search;
mod signature;

pub use chunks::SPLIT_ABOVE;
pub use index::{index_parsed, index_upstream, module_name, top_level_modules};
pub use model::*;
pub(crate) use parse::{line, named_children, string_value, text};
pub use parse::{parse, reparse, walk_all};
pub use resolve::{
    PointFacts, Resolver, key_findings, local_patch_findings, resolve, resolve_each,
};
pub use scan::{FileBindings, bind_file, in_pieces, scan_wrapper, stream_file};
pub use signature::render as render_signature;

#[cfg(test)]
mod local_tests;
#[cfg(test)]
mod tests;
