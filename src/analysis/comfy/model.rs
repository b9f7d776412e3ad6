//! The ComfyUI report model: node classes as a pack defines them, the
//! wrapper's API-format workflows and the findings that tie the two.
//! Shared by the analysis (which fills it), the fix strategies (which
//! repair workflow files from it) and the reports.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analysis::python::PointSeverity;

/// One node class as its pack defines it (`NODE_CLASS_MAPPINGS` entry or a
/// V3 `io.ComfyNode` schema).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeClass {
    /// The name workflows use as `class_type` (the mapping's key).
    pub name: String,
    /// The Python class behind it.
    pub python_class: String,
    /// Upstream-relative file and line of the class.
    pub file: String,
    pub line: usize,
    /// Required inputs in declaration order.
    pub required: Vec<NodeInput>,
    pub optional: Vec<NodeInput>,
    /// `RETURN_TYPES` (or the V3 outputs), in order; `None` when not
    /// statically known.
    pub outputs: Option<Vec<String>>,
    /// False when part of the class could not be read statically (an
    /// `INPUT_TYPES` built at run time): its inputs are not checked.
    pub complete: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInput {
    pub name: String,
    /// The declared type (`INT`, `IMAGE`, a combo list as `COMBO`).
    pub kind: String,
    /// The declared `default`, when a literal.
    pub default: Option<serde_json::Value>,
}

/// Every node class one upstream defines at one commit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePack {
    /// By class name.
    pub classes: BTreeMap<String, NodeClass>,
    /// Files whose `NODE_CLASS_MAPPINGS` could not be read completely
    /// (dynamic construction beyond static reach), with why.
    pub partial: Vec<String>,
}

/// The ComfyUI part of an analysis.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WorkflowAnalysis {
    /// API-format workflow files read (relative to the wrapper root).
    pub workflows: Vec<String>,
    /// Files skipped: editor format, not JSON, ... with why (not errors).
    pub skipped: Vec<SkippedWorkflow>,
    /// Node classes the upstream defines at `from` and at `to`.
    pub classes_before: usize,
    pub classes_after: usize,
    /// Upstream files whose mappings were only partly analysed.
    pub partial: Vec<String>,
    pub findings: Vec<WorkflowFinding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedWorkflow {
    pub path: String,
    pub reason: String,
}

/// One workflow node input (or node) the update affects.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkflowFinding {
    pub severity: PointSeverity,
    /// The workflow file, relative to the wrapper root.
    pub workflow: String,
    /// The node id in the workflow (`"12"`).
    pub node: String,
    pub class_type: String,
    /// The input concerned, when the finding is about one.
    pub input: Option<String>,
    pub kind: WorkflowFindingKind,
    /// Wrapper Python lines that patch this node's input
    /// (`wf["12"]["inputs"]["width"] = ...`), as `file:line`.
    pub patched_at: Vec<String>,
    /// One sentence for people.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "change")]
pub enum WorkflowFindingKind {
    /// The class is gone; `candidate`: a new class that looks like its
    /// renamed successor.
    NodeClassRemoved { candidate: Option<String> },
    /// The input the workflow sets is now called `to`.
    InputRenamed { to: String },
    /// The input the workflow sets is gone.
    InputRemoved,
    /// A new required input the workflow does not set; `default`: its
    /// declared default, when literal.
    RequiredInputMissing {
        kind: String,
        default: Option<serde_json::Value>,
    },
    /// A link `[node, index]` reads an output index the source class no
    /// longer has.
    OutputIndexGone {
        from_node: String,
        index: usize,
        outputs: usize,
    },
    /// More than one upstream defines this class name.
    ClassDefinedTwice { packs: Vec<String> },
}
