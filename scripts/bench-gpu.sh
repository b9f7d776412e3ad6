#!/usr/bin/env bash
# Benchmark the GPU engine: the preflight figures (`tether gpu probe`) and
# SSIM+PSNR throughput of the tether-gpu worker on 81 synthetic frames of
# 832x480 (a Wan clip), at full size and at the downsampled size references
# are stored at, on the CPU and, when libtorch can use one, on CUDA. Prints
# numbers; asserts nothing.
#
# Usage: scripts/bench-gpu.sh
# Environment:
#   BENCH_FRAMES BENCH_WIDTH BENCH_HEIGHT   clip size (default 81, 832, 480)
#   BENCH_REPEATS                           timed passes, best kept (default 3)
#   TETHER_BIN                              tether binary; set it to skip the build
#                                           (tether-gpu is taken from beside it)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FRAMES=${BENCH_FRAMES:-81}
WIDTH=${BENCH_WIDTH:-832}
HEIGHT=${BENCH_HEIGHT:-480}
REPEATS=${BENCH_REPEATS:-3}

source "$ROOT/scripts/release-bin.sh"
WORKER="$(dirname "$TETHER_BIN")/tether-gpu"
[[ -x "$WORKER" ]] || { echo "bench-gpu: no worker at $WORKER" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "== preflight (tether gpu probe)"
start=$(date +%s.%N)
(cd "$TMP" && "$TETHER_BIN" gpu probe --json > probe.json) || true
end=$(date +%s.%N)
python3 - "$TMP/probe.json" "$start" "$end" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
r = v.get("report") or {}
print(f"passed: {v['passed']}  problems: {v['problems']}")
print(f"libtorch {r.get('libtorch_version')}  libtorch_cuda loaded: {r.get('cuda_library_loaded')}  "
      f"CUDA: {r.get('cuda_available')}  cuDNN: {r.get('cudnn_version')}  devices: {r.get('device_count')}")
for d in r.get("devices", []):
    print(f"  GPU {d['index']}: {d['name']}  cc {d['compute_capability']}  {d['memory_total_bytes'] / 2**30:.1f} GiB")
print(f"checks on {r.get('device')} ({r.get('dtype')}): matmul {r.get('matmul_size')}^2 "
      f"{r.get('matmul_tflops', 0):.3f} TFLOP/s")
for c in r.get("checks", []):
    err = c.get("max_rel_error")
    print(f"  {c['name']:<10} {'pass' if c['passed'] else 'FAIL'}  "
          + (f"max rel error {err:.2e} (tol {c['tolerance']:.0e})" if err is not None else c["detail"]))
print(f"worker time {r.get('duration_s', 0):.2f} s; whole probe, process start included, "
      f"{float(sys.argv[3]) - float(sys.argv[2]):.2f} s")
PY

devices="cpu"
if python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["report"]["cuda_available"] else 1)' "$TMP/probe.json" 2>/dev/null; then
    devices="cpu cuda:0"
fi
for dev in $devices; do
    echo "== SSIM+PSNR on $dev: $FRAMES frames of ${WIDTH}x${HEIGHT}, best of $REPEATS"
    "$WORKER" bench --device "$dev" --frames "$FRAMES" --width "$WIDTH" --height "$HEIGHT" \
        --repeats "$REPEATS" --out "$TMP/bench.json" >/dev/null
    python3 - "$TMP/bench.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["ok"]["report"]
w, h = r["downsampled"]
print(f"full size  {r['width']}x{r['height']}: {r['best_s']:.3f} s per pass, {r['frames_per_s']:.1f} frames/s")
print(f"stored     {w}x{h}: {r['downsampled_frames_per_s']:.1f} frames/s")
PY
done
