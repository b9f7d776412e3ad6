#!/usr/bin/env bash
# Benchmark a generation canary: the bare forward latency of a small
# TorchScript decoder (as the worker measures it) against what tether adds
# around it: the tether-gpu process start, module load and output compare,
# and the whole canary case through `tether baseline run` (export included).
# Prints numbers; asserts nothing. Needs scripts/install-torch.sh to have run.
#
# Usage: scripts/bench-canary.sh
# Environment:
#   BENCH_DEVICE   cpu or cuda:0 (default: cuda:0 when libtorch sees a GPU, else cpu)
#   BENCH_ITERS    measured iterations (default 20)
#   TETHER_BIN     tether binary; set it to skip `cargo build --release`
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/release-bin.sh"
export TETHER_BIN BENCH_ROOT="$ROOT"
exec python3 - <<'PY'
import json, os, shutil, subprocess, sys, tempfile, time

root = os.environ["BENCH_ROOT"]
tether = os.environ["TETHER_BIN"]
worker = os.path.join(os.path.dirname(tether), "tether-gpu")
torch_py = os.path.join(root, ".libtorch/python")
iters = int(os.environ.get("BENCH_ITERS", "20"))
if not os.path.exists(torch_py):
    sys.exit("bench-canary: run scripts/install-torch.sh first")

def run_json(args, **kw):
    out = subprocess.run(args, capture_output=True, text=True, **kw)
    return out, (json.loads(out.stdout) if out.stdout.strip().startswith("{") else None)

with tempfile.TemporaryDirectory() as tmp:
    # the demo's canary export, taken from the demo generator
    demo = os.path.join(tmp, "demo")
    subprocess.run([torch_py, os.path.join(root, "scripts/demo_project.py"), demo],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    export = os.path.join(demo, "wrapper/export_canary.py")
    module, inputs = os.path.join(tmp, "m.pt"), os.path.join(tmp, "in.safetensors")
    t = time.time()
    subprocess.run([torch_py, export, "--out", module, "--inputs", inputs], check=True,
                   stderr=subprocess.DEVNULL)
    export_s = time.time() - t

    _, probe = run_json([worker, "probe", "--device", "auto"])
    cuda = probe and probe["ok"]["report"]["cuda_available"]
    device = os.environ.get("BENCH_DEVICE", "cuda:0" if cuda else "cpu")
    kind = {"kind": "cpu"} if device == "cpu" else {"kind": "cuda", "index": int(device.split(":")[1])}
    req = {"module": module, "method": "forward", "device": kind, "dtype": "fp32",
           "inputs_file": inputs, "inputs": [], "warmup": 3, "iterations": iters,
           "store": os.path.join(tmp, "out.safetensors"), "reference": None}
    with open(os.path.join(tmp, "req.json"), "w") as f:
        json.dump(req, f)
    # a first run writes the outputs used as the reference of the timed runs
    run_json([worker, "canary", "--request", os.path.join(tmp, "req.json")])
    shutil.copy(req["store"], os.path.join(tmp, "ref.safetensors"))
    req["reference"] = os.path.join(tmp, "ref.safetensors")
    with open(os.path.join(tmp, "req.json"), "w") as f:
        json.dump(req, f)
    walls, reports = [], []
    for _ in range(5):
        t = time.time()
        _, v = run_json([worker, "canary", "--request", os.path.join(tmp, "req.json")])
        walls.append(time.time() - t)
        reports.append(v["ok"]["report"])
    r = min(zip(walls, reports), key=lambda x: x[0])
    wall, rep = r
    forward = rep["median_latency_ms"]
    measured = sum(rep["latency_ms"]) / 1000
    print(f"== canary: the demo's decoder, latent [1, 4, 24, 32] -> frame [1, 3, 48, 64], on {rep['device']}")
    print(f"bare forward (median of {iters}, worker-measured): {forward:.3f} ms")
    print(f"worker process, best of 5: {wall * 1000:.0f} ms in all; load {rep['load_s'] * 1000:.0f} ms; "
          f"overhead beyond the {iters} measured forwards {1000 * (wall - measured):.0f} ms")
    print(f"export (python + torch.jit.script): {export_s:.2f} s")

    proj = os.path.join(tmp, "proj")
    os.makedirs(os.path.join(proj, "wrapper"))
    shutil.copy(export, os.path.join(proj, "wrapper/export_canary.py"))
    with open(os.path.join(proj, "tether.toml"), "w") as f:
        f.write(f'''[project]
root = "wrapper"
python = "{torch_py}"
[[upstream]]
name = "up"
url = "file:///nonexistent"
path = "up"
layout = "clone"
[[baseline.case]]
name = "vae_canary"
model = "vae"
runner = "torchscript"
export = "{{python}} export_canary.py --out {{module_path}} --inputs {{inputs_path}}"
device = "{device}"
warmup = 3
iterations = {iters}
[gpu]
preflight = "never"
''')
    t = time.time()
    subprocess.run([tether, "baseline", "record"], cwd=proj, check=True, stdout=subprocess.DEVNULL)
    record_s = time.time() - t
    t = time.time()
    subprocess.run([tether, "baseline", "run"], cwd=proj, check=True, stdout=subprocess.DEVNULL)
    case_s = time.time() - t
    print(f"whole canary case through `tether baseline run` (export, worker, compare): {case_s:.2f} s "
          f"(record: {record_s:.2f} s)")
PY
