#!/usr/bin/env bash
# Benchmark `tether check` and `tether analyze` on a generated Wan2GP-sized
# fixture (scripts/gen_bench_repos.py): wall time and peak RSS of each run,
# and the cost of base detection for a vendored copy with a stale record.
#
# Usage: scripts/bench.sh
# Environment:
#   BENCH_DIR         generate the fixture here (kept) instead of a temp dir (removed)
#   BENCH_REPS        warm analyze repetitions (default 5)
#   TETHER_BIN        tether binary to time; set it to skip `cargo build --release`
#   BENCH_PY_TIMER=1  time with the Python getrusage wrapper even if GNU time exists
#
# Exits non-zero only when a command fails; missing the target only prints.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPS=${BENCH_REPS:-5}
TARGET_S=2
# The real-size jump (issue 13): 245 commits, ~430 changed files.
JUMP=245
JUMP_COLD_S=0.5
JUMP_WARM_S=0.15

# Exit codes that mean "ran fine" (src/exit.rs): analyze reports findings
# with 3 (breaking) and 4 (at risk); the fixture contains breaking drift.
CHECK_OK="0"
ANALYZE_OK="0 3 4"

if [[ -z "${TETHER_BIN:-}" ]]; then
    echo "== cargo build --release" >&2
    cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
    TETHER_BIN="$ROOT/target/release/tether"
fi
[[ -x "$TETHER_BIN" ]] || { echo "bench: no tether binary at $TETHER_BIN" >&2; exit 1; }

if [[ -n "${BENCH_DIR:-}" ]]; then
    DIR=$(mkdir -p "$BENCH_DIR" && cd "$BENCH_DIR" && pwd)
else
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/tether-bench.XXXXXX")
    trap 'rm -rf "$DIR"' EXIT
fi

# Isolate git (the generator's and tether's) from user and system config.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
unset TETHER_CONFIG TETHER_LOG

echo "== generating fixture in $DIR" >&2
python3 "$ROOT/scripts/gen_bench_repos.py" "$DIR" >&2
echo "== generating the jump fixture in $DIR/jump" >&2
python3 "$ROOT/scripts/gen_bench_repos.py" "$DIR/jump" --jump "$JUMP" >&2
CFG="$DIR/tether.toml"
LOGS="$DIR/logs"
mkdir -p "$LOGS"

# The timer: GNU time if installed, else a small Python wrapper. Either writes
# "<wall seconds> <peak RSS KiB>" as the last line of its output file.
if [[ -z "${BENCH_PY_TIMER:-}" ]] && /usr/bin/time --version 2>&1 | grep -q GNU; then
    TIMER=(/usr/bin/time -f "%e %M" -o)
    TIMER_NAME="GNU time"
else
    TIMER_PY="$LOGS/timer.py"
    cat >"$TIMER_PY" <<'EOF'
import resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.call(sys.argv[2:])
wall = time.perf_counter() - t0
rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
with open(sys.argv[1], "w") as fh:
    fh.write(f"{wall:.3f} {rss_kib}\n")
sys.exit(rc if rc >= 0 else 128 - rc)
EOF
    TIMER=(python3 "$TIMER_PY")
    TIMER_NAME="python getrusage"
fi

ROWS=()
# measure LABEL "OK CODES" ARGS... : runs tether once; sets WALL and RSS_MIB.
measure() {
    local label=$1 ok=$2
    shift 2
    local slug=${label//[^A-Za-z0-9]/_}
    local out="$LOGS/$slug.out" tf="$LOGS/$slug.time" rc=0
    "${TIMER[@]}" "$tf" "$TETHER_BIN" --config "$CFG" "$@" >"$out" 2>&1 || rc=$?
    if [[ " $ok " != *" $rc "* ]]; then
        echo "bench: \`tether $*\` ($label) failed with exit code $rc:" >&2
        tail -n 30 "$out" >&2
        exit 1
    fi
    read -r WALL RSS_KIB < <(tail -n 1 "$tf")
    WALL=$(awk -v w="$WALL" 'BEGIN { printf "%.2f", w }')
    RSS_MIB=$(awk -v k="$RSS_KIB" 'BEGIN { printf "%.1f", k / 1024 }')
    echo "   $label: ${WALL}s, ${RSS_MIB} MiB (exit $rc)" >&2
}

echo "== timing with $TIMER_NAME ($TETHER_BIN)" >&2
rm -rf "$DIR/state" "$DIR/analysis"
measure "check cold" "$CHECK_OK" check
ROWS+=("check (cold: first mirror fetch)|$WALL|$RSS_MIB")
measure "check warm" "$CHECK_OK" check
ROWS+=("check (warm)|$WALL|$RSS_MIB")
measure "analyze first" "$ANALYZE_OK" analyze
ROWS+=("analyze (first run)|$WALL|$RSS_MIB")

# Warm repetitions; the analysis folder is removed before each so every run
# does the whole analysis rather than finding the previous one.
summarize() { # LABEL FILE-OF-"wall rss" LINES -> a table row
    sort -n "$2" | awk -v label="$1" '
        { w[NR] = $1; if ($2 > rss) rss = $2 }
        END {
            med = (NR % 2) ? w[(NR + 1) / 2] : (w[NR / 2] + w[NR / 2 + 1]) / 2
            printf "%s|%.2f / %.2f|%.1f\n", label, w[1], med, rss / 1024
        }'
}
for mode in fetch no-fetch; do
    samples="$LOGS/analyze-$mode.samples"
    : >"$samples"
    extra=()
    [[ $mode == no-fetch ]] && extra=(--no-fetch)
    for ((i = 1; i <= REPS; i++)); do
        rm -rf "$DIR/analysis"
        measure "analyze $mode $i" "$ANALYZE_OK" analyze "${extra[@]}"
        echo "$WALL $RSS_KIB" >>"$samples"
    done
    ROWS+=("$(summarize "analyze (warm, $mode) min / median of $REPS" "$samples")")
done
# Base detection: a vendored copy of main~400 with local edits and
# local-only files, its record naming main~900 (stale); `check` compares the
# copy with the whole first-parent line and picks its true base.
VDIR="$DIR/vendored"
rm -rf "$VDIR" && mkdir -p "$VDIR/Wan2GP"
git -C "$DIR/upstream" archive main~400 | tar -x -C "$VDIR/Wan2GP"
printf '\n# local patch\n' >>"$VDIR/Wan2GP/wgp.py"
printf '\n# local pin\n' >>"$VDIR/Wan2GP/requirements.txt"
mkdir -p "$VDIR/Wan2GP/local_models"
printf 'LOCAL = 1\n' >"$VDIR/Wan2GP/local_models/__init__.py"
printf '{"model": "local"}\n' >"$VDIR/Wan2GP/defaults/local_model.json"
printf '# Structure\n\nUpstream commit: %s\n' "$(git -C "$DIR/upstream" rev-parse main~900)" >"$VDIR/STRUCTURE.md"
git -C "$VDIR" init -q -b main && git -C "$VDIR" add -A &&
    git -C "$VDIR" -c user.name=bench -c user.email=bench@example.com commit -q -m vendored
VCFG="$DIR/tether-vendored.toml"
sed -e 's/^root = "wrapper"/root = "vendored"/' -e 's/^layout = "clone"/layout = "vendored"/' "$CFG" >"$VCFG"
CFG_MAIN=$CFG
CFG=$VCFG
TETHER_LOG=tether::upstream=debug measure "check vendored" "$CHECK_OK" check --no-fetch
ROWS+=("check (vendored, stale record: base detection)|$WALL|$RSS_MIB")
DETECT_MS=$(grep -o 'elapsed_ms=[0-9]*' "$LOGS/check_vendored.out" | head -n 1 | cut -d= -f2)
DETECT_SCANNED=$(grep -o 'scanned=[0-9]*' "$LOGS/check_vendored.out" | head -n 1 | cut -d= -f2)
DETECTED=$("$TETHER_BIN" --config "$VCFG" check --no-fetch --json 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["current"]["id"])')
TRUE_BASE=$(git -C "$DIR/upstream" rev-parse main~400)
CFG=$CFG_MAIN
# The jump: cold is the first analysis of the range (no index cache in the
# state dir; the mirror fetched by `check`), warm reuses the index cache.
CFG="$DIR/jump/tether.toml"
measure "jump check" "$CHECK_OK" check
for mode in cold warm; do
    samples="$LOGS/jump-$mode.samples"
    : >"$samples"
    for ((i = 1; i <= REPS; i++)); do
        rm -rf "$DIR/jump/analysis"
        [[ $mode == cold ]] && rm -rf "$DIR/jump/state/cache"
        measure "jump analyze $mode $i" "$ANALYZE_OK" analyze --no-fetch
        echo "$WALL $RSS_KIB" >>"$samples"
    done
    ROWS+=("$(summarize "jump of $JUMP commits, analyze $mode, min / median" "$samples")")
done
median() { sort -n "$1" | awk '{ w[NR] = $1 } END { print (NR % 2) ? w[(NR + 1) / 2] : (w[NR / 2] + w[NR / 2 + 1]) / 2 }'; }
JUMP_COLD=$(median "$LOGS/jump-cold.samples")
JUMP_WARM=$(median "$LOGS/jump-warm.samples")
JUMP_FILES=$(git -C "$DIR/jump/upstream" diff --name-only "main~$JUMP" main | wc -l)

ANALYZE_MEDIAN=$(sort -n "$LOGS/analyze-fetch.samples" | awk '{ w[NR] = $1 }
    END { print (NR % 2) ? w[(NR + 1) / 2] : (w[NR / 2] + w[NR / 2 + 1]) / 2 }')

echo
echo "tether benchmark: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown CPU)"
echo "fixture: $DIR ($(git -C "$DIR/upstream" rev-list --count main) upstream commits, analyze range main~50..main)"
printf '%-46s %15s %10s\n' "run" "wall s" "peak MiB"
printf '%-46s %15s %10s\n' "---" "------" "--------"
for row in "${ROWS[@]}"; do
    IFS='|' read -r label wall rss <<<"$row"
    printf '%-46s %15s %10s\n' "$label" "$wall" "$rss"
done
echo "base detection: ${DETECT_MS:-?} ms over ${DETECT_SCANNED:-?} commits; detected ${DETECTED:0:12}, true base ${TRUE_BASE:0:12} ($([[ $DETECTED == "$TRUE_BASE" ]] && echo right || echo WRONG))"
echo
verdict=$(awk -v m="$ANALYZE_MEDIAN" -v t="$TARGET_S" 'BEGIN { print (m < t) ? "met" : "MISSED" }')
echo "target: analyze < ${TARGET_S} s on 2 cores: median ${ANALYZE_MEDIAN} s on $(nproc) cores ($verdict)"
for mode in cold warm; do
    m=$([[ $mode == cold ]] && echo "$JUMP_COLD" || echo "$JUMP_WARM")
    t=$([[ $mode == cold ]] && echo "$JUMP_COLD_S" || echo "$JUMP_WARM_S")
    verdict=$(awk -v m="$m" -v t="$t" 'BEGIN { print (m < t) ? "met" : "MISSED" }')
    echo "target: analyze a $JUMP-commit jump ($JUMP_FILES files changed) $mode < ${t} s on 2 cores: median ${m} s on $(nproc) cores ($verdict)"
done
echo "outputs of each run: $LOGS$([[ -z "${BENCH_DIR:-}" ]] && echo ' (temp dir, removed on exit; set BENCH_DIR to keep)')"
