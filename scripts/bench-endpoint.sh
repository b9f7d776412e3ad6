#!/usr/bin/env bash
# Load benchmark of the status endpoint of `tether watch`: opens 1,000 idle
# connections (while a probe asks /healthz every 10 ms), makes 2,000 /healthz
# requests from a few clients while they stay open, then closes them. Prints
# /healthz latency (p50, p99, max) per phase and overall, and the service's
# threads, open descriptors and resident memory before, during and after.
# Target: every /healthz within 50 ms. Prints numbers; asserts nothing.
#
# Usage: scripts/bench-endpoint.sh
# Environment:
#   BENCH_IDLE      idle connections (default 1000)
#   BENCH_REQUESTS  /healthz requests while they are open (default 2000)
#   BENCH_CLIENTS   clients making those requests at once (default 4)
#   BENCH_OLD=1     write no endpoint_* keys (to measure a tether from before them)
#   TETHER_BIN      tether binary; set it to skip `cargo build --release`
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/release-bin.sh"
export TETHER_BIN BENCH_ROOT="$ROOT"
exec python3 - <<'PY'
import os, resource, socket, subprocess, sys, tempfile, threading, time

root = os.environ["BENCH_ROOT"]
tether = os.environ["TETHER_BIN"]
n_idle = int(os.environ.get("BENCH_IDLE", "1000"))
n_requests = int(os.environ.get("BENCH_REQUESTS", "2000"))
n_clients = int(os.environ.get("BENCH_CLIENTS", "4"))
old = os.environ.get("BENCH_OLD") == "1"

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0

def counts(pid):
    return len(os.listdir(f"/proc/{pid}/task")), len(os.listdir(f"/proc/{pid}/fd"))

def healthz(port):
    """One GET /healthz on a new connection: (seconds, status code)."""
    t = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    code = int(data.split()[1]) if data.startswith(b"HTTP/") else 0
    return time.perf_counter() - t, code

def stats(name, xs):
    if not xs:
        print(f"{name:<34} no samples")
        return
    xs = sorted(xs)
    pick = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))] * 1000
    over = sum(1 for x in xs if x > 0.05)
    print(f"{name:<34} n={len(xs):>5}  p50 {pick(0.5):6.2f} ms  p99 {pick(0.99):6.2f} ms  "
          f"max {xs[-1] * 1000:6.2f} ms  over 50 ms: {over}")

def show(label, pid):
    threads, fds = counts(pid)
    print(f"{label:<34} threads {threads:>3}  fds {fds:>5}  RSS {rss_mib(pid):6.1f} MiB")

class Probe(threading.Thread):
    """Asks /healthz every 10 ms until stopped."""
    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.samples, self.bad, self.halt = port, [], 0, False
    def run(self):
        while not self.halt:
            try:
                dt, code = healthz(self.port)
                self.samples.append(dt)
                self.bad += code != 200
            except OSError:
                self.bad += 1
            time.sleep(0.01)

with tempfile.TemporaryDirectory() as tmp:
    sample = os.path.join(tmp, "sample")
    subprocess.run([sys.executable, os.path.join(root, "scripts/make_sample.py"), sample,
                    "--layout", "clone"], check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    cfg = os.path.join(sample, "tether.toml")
    with open(cfg, "a") as f:
        f.write('\n[schedule]\ncheck = "0 0 0 1 1 *"\n\n[service]\n'
                f'listen = "127.0.0.1:{port}"\n')
        if not old:
            f.write('endpoint_request_timeout = "10m"\nendpoint_idle_timeout = "10m"\n')
    env = dict(os.environ, TETHER_LOG="warn")
    env.pop("TETHER_NOW", None)
    p = subprocess.Popen([tether, "watch"], cwd=sample, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                if healthz(port)[1] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                sys.exit("the endpoint did not come up")
            time.sleep(0.1)
        for _ in range(20):
            healthz(port)
        time.sleep(0.5)
        print(f"== tether watch, endpoint on 127.0.0.1:{port}; {n_idle} idle connections, "
              f"{n_requests} requests from {n_clients} clients")
        show("idle, before", p.pid)

        probe = Probe(port); probe.start()
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(n_idle)]
        time.sleep(0.5)
        probe.halt = True; probe.join()
        opening, opening_bad = probe.samples, probe.bad
        show(f"{n_idle} idle connections open", p.pid)

        lat, bad, lock = [], [0], threading.Lock()
        most = [0, 0]
        def client(k):
            mine = []
            for _ in range(k):
                try:
                    dt, code = healthz(port)
                    mine.append(dt)
                    if code != 200:
                        with lock: bad[0] += 1
                except OSError:
                    with lock: bad[0] += 1
            with lock: lat.extend(mine)
        workers = [threading.Thread(target=client, args=(n_requests // n_clients,))
                   for _ in range(n_clients)]
        t0 = time.perf_counter()
        for w in workers: w.start()
        while any(w.is_alive() for w in workers):
            t, f = counts(p.pid)
            most = [max(most[0], t), max(most[1], f)]
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        show(f"after {n_requests} requests", p.pid)
        print(f"{'during the requests, at most':<34} threads {most[0]:>3}  fds {most[1]:>5}  "
              f"({len(lat) / wall:.0f} requests/s)")

        probe = Probe(port); probe.start()
        for s in idle: s.close()
        time.sleep(2)
        probe.halt = True; probe.join()
        closing = probe.samples
        show("2 s after they closed", p.pid)

        stats("/healthz while opening", opening)
        stats("/healthz under load", lat)
        stats("/healthz while closing", closing)
        stats("/healthz overall", opening + lat + closing)
        print(f"non-200 or failed requests: {opening_bad + bad[0] + probe.bad}")
    finally:
        p.terminate(); p.wait()
PY
