#!/usr/bin/env bash
# Soak benchmark of `tether watch`: 1,000 quick check cycles against the
# sample project (scripts/make_sample.py), printing resident memory at cycle
# 100 and cycle 1,000, the time per cycle, and the CPU the service uses while
# idle between cycles. Prints numbers; asserts nothing.
#
# Usage: scripts/bench-watch.sh
# Environment:
#   BENCH_CYCLES   cycles (default 1000)
#   BENCH_IDLE_S   seconds of idle measured (default 10)
#   TETHER_BIN     tether binary; set it to skip `cargo build --release`
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/release-bin.sh"
export TETHER_BIN BENCH_ROOT="$ROOT"
exec python3 - <<'PY'
import json, os, subprocess, sys, tempfile, time

root = os.environ["BENCH_ROOT"]
tether = os.environ["TETHER_BIN"]
cycles = int(os.environ.get("BENCH_CYCLES", "1000"))
idle_s = float(os.environ.get("BENCH_IDLE_S", "10"))
tick = os.sysconf("SC_CLK_TCK")

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick  # utime + stime

def runs(sample):
    try:
        with open(os.path.join(sample, ".tether/service/state.json")) as f:
            return json.load(f)["data"]["jobs"]["check"]["runs"]
    except (OSError, ValueError, KeyError):
        return 0

with tempfile.TemporaryDirectory() as tmp:
    sample = os.path.join(tmp, "sample")
    subprocess.run([sys.executable, os.path.join(root, "scripts/make_sample.py"), sample,
                    "--layout", "clone"], check=True, stdout=subprocess.DEVNULL)
    cfg = os.path.join(sample, "tether.toml")
    base = open(cfg).read()
    env = dict(os.environ, TETHER_LOG="warn")
    env.pop("TETHER_NOW", None)

    with open(cfg, "w") as f:
        f.write(base + '\n[schedule]\ncheck = "* * * * * *"\n\n[service]\nlisten = "off"\n')
    print(f"== {cycles} check cycles (tether watch --every 1ms)")
    p = subprocess.Popen([tether, "watch", "--every", "1ms", "--max-cycles", str(cycles + 50)],
                         cwd=sample, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    marks, start = {}, time.time()
    while p.poll() is None and len(marks) < 3:
        n = runs(sample)
        for m in (10, 100, cycles):
            if n >= m and m not in marks:
                marks[m] = (rss_kib(p.pid), time.time() - start)
        time.sleep(0.01)
    p.terminate(); p.wait()
    for m in sorted(marks):
        kib, t = marks[m]
        print(f"cycle {m:>5}: RSS {kib / 1024:.1f} MiB after {t:.1f} s")
    if 100 in marks and cycles in marks:
        (r1, t1), (r2, t2) = marks[100], marks[cycles]
        print(f"RSS growth 100 -> {cycles}: {(r2 - r1) / 1024:+.2f} MiB; "
              f"{(t2 - t1) / (cycles - 100) * 1000:.1f} ms per cycle")

    with open(cfg, "w") as f:
        f.write(base + '\n[schedule]\ncheck = "0 0 0 1 1 *"\n\n[service]\nlisten = "127.0.0.1:0"\n')
    print(f"== idle: {idle_s:.0f} s with no job due (status endpoint on)")
    p = subprocess.Popen([tether, "watch"], cwd=sample, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)
    c0, w0 = cpu_s(p.pid), time.time()
    time.sleep(idle_s)
    c1, w1 = cpu_s(p.pid), time.time()
    kib = rss_kib(p.pid)
    p.terminate(); p.wait()
    print(f"idle CPU {100 * (c1 - c0) / (w1 - w0):.2f}% of one core; RSS {kib / 1024:.1f} MiB")
PY
