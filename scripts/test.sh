#!/usr/bin/env bash
# Runs tether's whole test suite (unit, integration and snapshot tests),
# installing what it needs first. README command two.
set -euo pipefail
cd "$(dirname "$0")/.."
# --browser: Chromium for the HTML report test (tests/it/html_browser.rs);
# --slurm: the single-node Slurm cluster's packages (tests/it/slurm.rs).
scripts/setup.sh --browser --slurm
# The slurm executor's tests run on a real cluster on this host: started
# here (unless it already runs) and stopped after the tests.
eval "$(scripts/slurm-dev.sh env)"
started_slurm=0
if ! sinfo -h >/dev/null 2>&1; then
  eval "$(scripts/slurm-dev.sh start)"
  started_slurm=1
fi
stop_slurm() { if [ "$started_slurm" = 1 ]; then scripts/slurm-dev.sh stop || true; fi; }
trap stop_slurm EXIT
# --workspace: the tether-gpu worker too (the tests run it as a child).
cargo test --workspace --all-targets "$@"
