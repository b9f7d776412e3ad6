//! Renders a baseline run as `baseline_report.md`: the preflight, each case's
//! status, its outputs' checks and metrics, and its verdict against the
//! reference.

use std::fmt::Write;

use crate::baseline::{BaselineRun, CaseComparison};

use super::markdown::date;

pub fn markdown(run: &BaselineRun, comparisons: &[CaseComparison]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Baseline run `{}`\n", run.run_id);
    let _ = writeln!(
        o,
        "- Tree: `{}`\n- Hardware: `{}`\n- Started: {}, finished: {}\n",
        run.tree.display(),
        run.hardware.slug,
        date(run.started),
        date(run.finished)
    );
    if let Some(p) = &run.preflight {
        let _ = writeln!(o, "## GPU preflight\n");
        o.push_str(&super::gpu::preflight(p));
    }
    let _ = writeln!(o, "## Cases\n");
    super::update::run_table(&mut o, run);
    let quality = super::gpu::quality(run, comparisons);
    if !quality.is_empty() {
        let _ = writeln!(o, "## Outputs and verdicts\n");
        o.push_str(&quality);
    }
    o
}
