#!/usr/bin/env bash
# Runs tether's whole test suite (unit, integration and snapshot tests),
# installing what it needs first. README command two.
set -euo pipefail
cd "$(dirname "$0")/.."
# --browser: Chromium for the HTML report test (tests/it/html_browser.rs).
scripts/setup.sh --browser
# --workspace: the tether-gpu worker too (the tests run it as a child).
exec cargo test --workspace --all-targets "$@"
