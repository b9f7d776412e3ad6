//! Owns change analysis: what changed upstream between two commits and which
//! of the wrapper's integration points that touches.
