#!/usr/bin/env bash
# The HTML baseline report over a huge history (issue 15): builds the demo
# project, runs its baseline once for real (outputs analysed, frames stored),
# copies that run's results.json into 1,000 earlier run folders (each with
# its own id, start time and duration), and times `tether baseline compare`
# on the real run, which re-renders baseline_report.html with the trend of
# every results.json under the outputs dir. It is timed first with no
# history and then with the 1,000 runs: the page's render time as tether's
# debug log gives it (`render_ms`: reading the history, plotting, thumbnails),
# and the whole command's wall time (which also re-analyses the run's outputs
# with the GPU worker). Prints the timings, the page's size and its caption.
#
# Usage: scripts/bench-html.sh [RUNS]
# Environment:
#   TETHER_BIN  tether binary to time; set it to skip `cargo build --release`
#               (tether-gpu must be beside it)
#   BENCH_DIR   build the project here (kept) instead of a temp dir (removed)
#   BENCH_REPS  timed repetitions of each measurement (default 3; the best
#               is printed)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${1:-1000}
REPS=${BENCH_REPS:-3}
TARGET_S=1
# shellcheck source=scripts/release-bin.sh
source "$ROOT/scripts/release-bin.sh"

if [[ -n "${BENCH_DIR:-}" ]]; then
    DIR=$(mkdir -p "$BENCH_DIR" && cd "$BENCH_DIR" && pwd)
else
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/tether-bench-html.XXXXXX")
    trap 'rm -rf "$DIR"' EXIT
fi
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
unset TETHER_CONFIG TETHER_LOG

DEMO="$DIR/demo"
rm -rf "$DEMO"
echo "== building the demo project in $DEMO" >&2
python3 "$ROOT/scripts/demo_project.py" "$DEMO" >/dev/null
cd "$DEMO"
echo "== one real baseline run" >&2
set +e
"$TETHER_BIN" baseline run >"$DIR/run.out" 2>"$DIR/run.err"
rc=$?
set -e
# 0 passed; 6 (src/exit.rs BASELINE_FAILED) is still a run to render
if [[ $rc -ne 0 && $rc -ne 6 ]]; then
    echo "bench-html: tether baseline run exited $rc" >&2
    cat "$DIR/run.err" >&2
    exit 1
fi
RUN=$(cd outputs && ls -d baseline-* | head -n1)
[[ -f "outputs/$RUN/results.json" ]] || { echo "bench-html: no results.json in outputs/$RUN" >&2; exit 1; }

# best of $REPS runs of `baseline compare --run $RUN`: "WALL_S RENDER_MS"
best() {
    local best="" t render best_render=""
    for _ in $(seq "$REPS"); do
        TETHER_LOG=tether::document=debug /usr/bin/time -f "%e" -o "$DIR/time" \
            "$TETHER_BIN" baseline compare --run "$RUN" \
            >"$DIR/compare.out" 2>"$DIR/compare.err" || true
        [[ -f "outputs/$RUN/baseline_report.html" ]] || {
            echo "bench-html: no baseline_report.html" >&2
            cat "$DIR/compare.err" >&2
            exit 1
        }
        t=$(tail -n1 "$DIR/time")
        render=$(grep "rendered and wrote the HTML pages" "$DIR/compare.err" |
            sed -E 's/.*render_ms="?([0-9.]+).*/\1/' | tail -n1)
        [[ -n $render ]] || { echo "bench-html: no render_ms in tether's debug log" >&2; exit 1; }
        if [[ -z $best ]] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then
            best=$t
        fi
        if [[ -z $best_render ]] || awk -v a="$render" -v b="$best_render" 'BEGIN { exit !(a < b) }'; then
            best_render=$render
        fi
    done
    echo "$best $best_render"
}

echo "== timing with no history" >&2
read -r NONE NONE_MS < <(best)

echo "== writing $RUNS earlier runs" >&2
python3 - "outputs/$RUN/results.json" outputs "$RUNS" <<'EOF'
import copy, json, os, sys
from datetime import datetime, timedelta, timezone
src, outputs, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
run = json.load(open(src))
start = datetime(2026, 1, 1, tzinfo=timezone.utc)
for i in range(n):
    r = copy.deepcopy(run)
    r["run_id"] = f"baseline-history-{i:04d}"
    t = start + timedelta(hours=i)
    r["started"] = t.strftime("%Y-%m-%dT%H:%M:%SZ")
    r["finished"] = (t + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for c in r["cases"]:
        c["duration_s"] = round(c["duration_s"] * (1 + (i % 11) / 20), 3)
    d = os.path.join(outputs, r["run_id"])
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "results.json"), "w") as f:
        json.dump(r, f)
EOF

echo "== timing with $RUNS runs of history" >&2
read -r MANY MANY_MS < <(best)
PAGE="outputs/$RUN/baseline_report.html"
CAPTION=$(grep -o '[0-9]* run(s) recorded[^.<]*' "$PAGE" | head -n1 || true)
SVGS=$(grep -o '<svg' "$PAGE" | wc -l)

echo "== baseline_report.html over $RUNS runs of history (best of $REPS, $TETHER_BIN)"
echo "  render, no history:        ${NONE_MS} ms"
echo "  render, $RUNS runs:        ${MANY_MS} ms"
echo "  whole command, no history: ${NONE} s (tether baseline compare, re-analysis included)"
echo "  whole command, $RUNS runs: ${MANY} s"
echo "  page:                      $(wc -c <"$PAGE") bytes, $SVGS plot(s)"
echo "  caption:                   ${CAPTION:-none}"
if awk -v a="$MANY_MS" -v t="$TARGET_S" 'BEGIN { exit !(a < t * 1000) }'; then
    echo "  render under the ${TARGET_S} s target"
else
    echo "  render OVER the ${TARGET_S} s target"
fi
