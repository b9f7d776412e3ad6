//! ComfyUI-aware integration points: the node classes each upstream
//! defines (read statically with tree-sitter), the wrapper's API-format
//! workflow JSON files, and the findings where an update changes a class a
//! workflow uses.

pub mod model;

pub use model::{
    NodeClass, NodeInput, NodePack, SkippedWorkflow, WorkflowAnalysis, WorkflowFinding,
    WorkflowFindingKind,
};
