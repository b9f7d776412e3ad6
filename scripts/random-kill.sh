#!/usr/bin/env bash
# Kills `tether update` with SIGKILL at random moments, on the sample world
# and on one whose upstream change touches 4,000 files, and checks after each
# kill that the next command leaves the live wrapper as it was or fully
# promoted (scripts/random_kill.py). Prints every kill and a tally.
#
# Usage: scripts/random-kill.sh [random_kill.py options: --small N --big N --big-files N --seed S]
# Environment:
#   KILL_DIR    work here (kept) instead of a temp dir (removed)
#   TETHER_BIN  tether binary to use; set it to skip `cargo build --release`
#
# Exits 1 when any kill broke a promise.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/release-bin.sh"
if [[ -n "${KILL_DIR:-}" ]]; then
    DIR=$(mkdir -p "$KILL_DIR" && cd "$KILL_DIR" && pwd)
else
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/tether-kill.XXXXXX")
    trap 'rm -rf "$DIR"' EXIT
fi
exec python3 "$ROOT/scripts/random_kill.py" "$TETHER_BIN" "$DIR" "$@"
