//! The wrapper's workflow JSON files read as ComfyUI API format: each node's
//! `class_type` and the inputs it sets, literal values apart from links
//! `[node_id, output_index]`. An editor-format file (top-level `nodes` and
//! `links`) or one that does not parse is skipped with why, not an error.

use std::collections::BTreeMap;

use super::model::SkippedWorkflow;

/// One input a workflow node sets.
#[derive(Debug, Clone, PartialEq)]
pub enum InputValue {
    Literal(serde_json::Value),
    /// `[node_id, output_index]`: another node's output.
    Link {
        node: String,
        index: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowNode {
    pub class_type: String,
    pub inputs: BTreeMap<String, InputValue>,
}

/// An API-format workflow: nodes by id.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    /// Relative to the wrapper root.
    pub path: String,
    pub nodes: BTreeMap<String, WorkflowNode>,
}

/// The text of a workflow file read as API format, or why it is skipped.
pub fn read_workflow(path: &str, text: &str) -> Result<Workflow, SkippedWorkflow> {
    let skip = |reason: String| SkippedWorkflow {
        path: path.to_owned(),
        reason,
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        skip(format!(
            "not valid JSON: {} at line {}, column {}",
            strip_position(&e.to_string()),
            e.line(),
            e.column()
        ))
    })?;
    let Some(obj) = value.as_object() else {
        return Err(skip("not a JSON object of nodes".into()));
    };
    if obj.get("nodes").is_some_and(|n| n.is_array())
        && obj.get("links").is_some_and(|l| l.is_array())
    {
        return Err(skip(
            "editor format: export it with 'Save (API Format)' to have it analysed".into(),
        ));
    }
    let mut nodes = BTreeMap::new();
    for (id, node) in obj {
        let Some(class_type) = node.get("class_type").and_then(|c| c.as_str()) else {
            continue;
        };
        let mut inputs = BTreeMap::new();
        if let Some(map) = node.get("inputs").and_then(|i| i.as_object()) {
            for (name, v) in map {
                inputs.insert(name.clone(), input_value(v));
            }
        }
        nodes.insert(
            id.clone(),
            WorkflowNode {
                class_type: class_type.to_owned(),
                inputs,
            },
        );
    }
    if nodes.is_empty() {
        return Err(skip(
            "no node with a `class_type`: not an API-format workflow".into(),
        ));
    }
    Ok(Workflow {
        path: path.to_owned(),
        nodes,
    })
}

fn input_value(v: &serde_json::Value) -> InputValue {
    if let Some([node, index]) = v.as_array().map(Vec::as_slice) {
        let node = match node {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) if n.is_u64() => Some(n.to_string()),
            _ => None,
        };
        let index = index.as_u64().and_then(|i| usize::try_from(i).ok());
        if let (Some(node), Some(index)) = (node, index) {
            return InputValue::Link { node, index };
        }
    }
    InputValue::Literal(v.clone())
}

/// serde_json's message without its own " at line L column C" tail.
fn strip_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

/// Node ids in workflow order: numbers numerically, then the rest.
pub fn node_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        _ => a.cmp(b),
    }
}
