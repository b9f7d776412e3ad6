#!/usr/bin/env bash
# README command one: builds tether and runs `tether demo`, which makes the
# demo project under outputs/demo-<time>/ (a Wan2GP-like upstream whose history
# breaks its wrapper three ways, and the wrapper embedding it as a submodule)
# and runs `tether update` on it end to end: stage, baseline, fix loop, promote.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --quiet --release
# the torch 2.11.0 interpreter of install-torch.sh: the demo then also has a
# generation canary (a TorchScript decoder run by tether through libtorch)
exec target/release/tether demo --python "$PWD/.libtorch/python" "$@"
