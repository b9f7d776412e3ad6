//! ComfyUI-aware integration points: the node classes each upstream
//! defines (read statically with tree-sitter, never imported), the
//! wrapper's API-format workflow JSON files and its Python patches of
//! workflow inputs, and the findings where an update changes a class a
//! workflow uses.
//!
//! - `nodes`/`classes`/`v3`/`syntax`: one file's mappings and classes;
//! - `pack`: an upstream's classes at a commit, files tied together, cached;
//! - `workflow`: API-format workflow files; `patches`: the wrapper's patches;
//! - `findings`: the comparison; `analyze`: the orchestration; `model`.

mod analyze;
mod classes;
mod findings;
pub mod model;
mod nodes;
mod pack;
mod patches;
mod syntax;
mod v3;
mod workflow;

pub use analyze::{ComfyError, Range, analyze};
pub use findings::{Compare, compare};
pub use model::{
    NodeClass, NodeInput, NodePack, SkippedWorkflow, WorkflowAnalysis, WorkflowFinding,
    WorkflowFindingKind,
};
pub use nodes::worth_parsing;
pub use pack::{pack_at, pack_of};
pub use patches::{InputPatch, find_patches, names_workflow};
pub use workflow::{InputValue, Workflow, WorkflowNode, read_workflow};

#[cfg(test)]
mod tests;
