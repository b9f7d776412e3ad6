#!/usr/bin/env bash
# Log capture benchmark: `tether baseline run` on a throw-away project whose
# one case prints BENCH_MIB MiB: 76-byte lines without secrets ("plain"),
# the same with one line in ten holding a secret to redact ("secrets"), and
# the latter as a single line with no newline at all ("endless"). Prints
# the case's wall time, the capture throughput and tether's peak resident
# memory for each, and checks that no secret reached the log. Asserts
# nothing else.
#
# Usage: scripts/bench-capture.sh
# Environment:
#   BENCH_MIB   MiB printed per run (default 256)
#   TETHER_BIN  tether binary; set it to skip `cargo build --release`
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/release-bin.sh"
export TETHER_BIN
exec python3 - <<'PY'
import json, os, subprocess, tempfile, time

tether = os.environ["TETHER_BIN"]
mib = int(os.environ.get("BENCH_MIB", "256"))

CASE = r'''
import sys
mib, shape = int(sys.argv[1]), sys.argv[2]
out = sys.stdout.buffer
plain = b"step 0123 of 9999: loss 0.123456 lr 0.000100 it/s 12.5 eta 00:01:02 ok go\n"
secret = b"step 0123 retry with token=hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123 and go\n"
block = plain * 10 if shape == "plain" else plain * 9 + secret
block = block * ((1 << 20) // len(block))
if shape == "endless":
    block = block.replace(b"\n", b" ")
left = mib << 20
while left > 0:
    out.write(block[:left])
    left -= len(block)
out.flush()
'''

def peak_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None

def run(shape):
    with tempfile.TemporaryDirectory() as tmp:
        tree = os.path.join(tmp, "wrapper")
        os.makedirs(tree)
        with open(os.path.join(tree, "case.py"), "w") as f:
            f.write(CASE)
        with open(os.path.join(tmp, "tether.toml"), "w") as f:
            f.write(f'''[project]
root = "wrapper"
python = "python3"

[[upstream]]
name = "up"
url = "file:///nonexistent/up.git"
path = "up"
layout = "clone"

[baseline]
command = "{{python}} case.py {mib} {shape}"
timeout = "30m"
max_log_bytes = {2 * (mib << 20)}
quality = false

[[baseline.case]]
name = "flood"
model = "m"

[gpu]
preflight = "never"
''')
        start = time.monotonic()
        p = subprocess.Popen([tether, "baseline", "run", "--json"], cwd=tmp,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        peak = 0
        while p.poll() is None:
            peak = max(peak, peak_kib(p.pid) or 0)
            time.sleep(0.05)
        out, err = p.communicate()
        wall = time.monotonic() - start
        if p.returncode not in (0, 10):
            raise SystemExit(f"tether failed ({p.returncode}): {err.decode()[-2000:]}")
        run = json.loads(out)["run"]
        case = run["cases"][0]
        log = os.path.join(tmp, "outputs", run["run_id"], "flood", "stdout.log")
        size = os.path.getsize(log)
        with open(log, "rb") as f:
            leaked = f.read().count(b"hf_AbCdEfGh")
        dur = case.get("duration_s") or wall
        print(f"{shape:8} {mib} MiB: case {dur:6.2f} s ({mib / dur:7.1f} MiB/s through the capture), "
              f"tether wall {wall:6.2f} s, tether peak RSS {peak / 1024:6.1f} MiB, "
              f"log {size / (1 << 20):6.1f} MiB, secrets left in the log: {leaked}")

for shape in ("plain", "secrets", "endless"):
    run(shape)
PY
