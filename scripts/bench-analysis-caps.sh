#!/usr/bin/env bash
# `tether analyze` on a wrapper with one huge generated Python file (default
# 50 MB of calls, two thirds of them broken upstream), with
# `analysis.max_file_bytes` raised so that it is parsed: prints the wall
# time, CPU time, peak RSS, the number of lines printed and the size of each report,
# first with the default finding and report caps, then with the file left
# at the default `max_file_bytes` (listed, not parsed).
#
# Usage: scripts/bench-analysis-caps.sh [SIZE_MB]
# Environment:
#   TETHER_BIN  tether binary to time; set it to skip `cargo build --release`
#   BENCH_DIR   build the project here (kept) instead of a temp dir (removed)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE_MB=${1:-50}
# shellcheck source=scripts/release-bin.sh
source "$ROOT/scripts/release-bin.sh"

if [[ -n "${BENCH_DIR:-}" ]]; then
    DIR=$(mkdir -p "$BENCH_DIR" && cd "$BENCH_DIR" && pwd)
else
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/tether-bench-caps.XXXXXX")
    trap 'rm -rf "$DIR"' EXIT
fi
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
unset TETHER_CONFIG TETHER_LOG

SAMPLE="$DIR/sample"
echo "== building the sample project and a ${SIZE_MB} MB generated module in $SAMPLE" >&2
python3 "$ROOT/scripts/make_sample.py" "$SAMPLE" --layout submodule >/dev/null
python3 - "$SAMPLE/wrapper/gen/wgp_big.py" "$SIZE_MB" <<'EOF'
import os, sys
path, mb = sys.argv[1], float(sys.argv[2])
os.makedirs(os.path.dirname(path), exist_ok=True)
target = int(mb * 1024 * 1024)
calls = ('settings_{i} = wgp.get_default_settings("t2v_1.3B")\n',
         'model_{i} = wgp.get_model_def("t2v_1.3B")\n',
         'name_{i} = wgp.sanitize_name("n{i}")\n')
with open(path, "w", encoding="utf-8") as f:
    f.write('"""Generated."""\nimport wgp\n\n')
    size, i = 0, 0
    while size < target:
        line = calls[i % 3].format(i=i)
        f.write(line)
        size += len(line)
        i += 1
print(f"{i} calls, {size} bytes", file=sys.stderr)
EOF
git -C "$SAMPLE/wrapper" add gen >/dev/null
git -C "$SAMPLE/wrapper" commit -qm "chore: a generated module"
CFG="$SAMPLE/tether.toml"
BASE_CFG=$(cat "$CFG")

# analyze once with the given [analysis] table; prints its figures
run() {
    local label=$1 table=$2 fetch=$3
    printf '%s\n\n[analysis]\n%s' "$BASE_CFG" "$table" >"$CFG"
    rm -rf "$SAMPLE/maintenance_analysis"
    local out="$DIR/$label.out" timing="$DIR/$label.time"
    local args=(analyze)
    [[ $fetch == no ]] && args+=(--no-fetch)
    set +e
    (cd "$SAMPLE" && /usr/bin/time -f "%e %M %U %S" -o "$timing" "$TETHER_BIN" "${args[@]}" >"$out" 2>"$DIR/$label.err")
    local rc=$?
    set -e
    if [[ $rc -ne 3 && $rc -ne 4 && $rc -ne 0 ]]; then
        echo "bench: tether analyze exited $rc" >&2
        cat "$DIR/$label.err" >&2
        exit 1
    fi
    local wall rss_kib user sys
    read -r wall rss_kib user sys < <(tail -n1 "$timing")
    echo "== $label"
    echo "  exit code:       $rc"
    echo "  wall time:       ${wall} s (CPU: ${user} s user, ${sys} s system)"
    echo "  peak RSS:        $((rss_kib / 1024)) MiB"
    echo "  lines printed:   $(wc -l <"$out")"
    echo "  BREAKING lines:  $(grep -c '^  BREAKING ' "$out" || true)"
    grep -E '^(verdict|  and .* more)' "$out" | sed 's/^/  | /' | head -n 6
    local dir
    dir=$(find "$SAMPLE/maintenance_analysis" -mindepth 2 -maxdepth 2 -type d | head -n1)
    for f in analysis.json integration_analysis.md diff_analysis.md update_checklist.md; do
        printf '  %-24s %s bytes\n' "$f:" "$(stat -c %s "$dir/$f")"
    done
}

run "raised-max-file-bytes" "max_file_bytes = $(( (SIZE_MB + 1) * 1024 * 1024 ))" yes
run "default-max-file-bytes" "" no
