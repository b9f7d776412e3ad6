#!/usr/bin/env bash
# README command one: builds tether, makes the sample project (an upstream
# whose history breaks its wrapper in several ways, and the wrapper embedding
# it as a git submodule) under outputs/demo-<time>/, and runs `tether check`
# and `tether analyze` on it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --quiet --release
tether="$PWD/target/release/tether"
dir="$PWD/outputs/demo-$(date -u +%Y%m%dT%H%M%SZ)"
python3 scripts/make_sample.py "$dir" --layout "${1:-submodule}" >/dev/null
cd "$dir"
echo "== sample project: $dir"
echo "== tether config check"
"$tether" config check
echo
echo "== tether check"
"$tether" check || true
echo
echo "== tether analyze"
set +e
"$tether" analyze
code=$?
set -e
echo
echo "analyze exited $code (3 = breaking findings, as this sample's upstream intends)"
echo "read the reports: ls $dir/maintenance_analysis/sample/*/"
[ "$code" -eq 3 ] || exit 1
