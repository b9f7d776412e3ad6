#!/usr/bin/env bash
# Makes libtorch 2.11.0 (the one tch 0.24 is built against) available to the
# build, idempotently. libtorch comes from PyPI's `torch` wheel:
#
#   1. an interpreter named by TETHER_TORCH_PYTHON (say, your Wan2GP venv's
#      python) is used when its torch is exactly 2.11.0, else this fails and says so;
#   2. else the project's .venv is reused when its torch is 2.11.0;
#   3. else .venv is created and `torch==2.11.0` installed into it from PyPI
#      (with its CUDA libraries, so the same build uses a GPU where one exists).
#
# It then points .libtorch/torch at that torch package and .libtorch/python at
# the interpreter. .cargo/config.toml reads LIBTORCH from there and the
# tether-gpu worker is linked with an rpath to .libtorch/torch/lib, so plain
# `cargo build` / `cargo test` and the built binaries need nothing exported.
set -euo pipefail
cd "$(dirname "$0")/.."

want="2.11.0"

torch_version() { # interpreter -> version (without +local), or nothing
  "$1" -c 'import torch, sys; sys.stdout.write(torch.__version__.split("+")[0])' 2>/dev/null || true
}

torch_dir() {
  "$1" -c 'import torch, os, sys; sys.stdout.write(os.path.dirname(torch.__file__))' 2>/dev/null
}

link_libtorch() { # interpreter
  local py dir
  py="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
  dir="$(torch_dir "$py")"
  mkdir -p .libtorch
  ln -sfn "$dir" .libtorch/torch
  # a script, not a symlink: a venv's python must be started by its own path
  rm -f .libtorch/python
  printf '#!/bin/sh\nexec "%s" "$@"\n' "$py" > .libtorch/python
  chmod +x .libtorch/python
  echo "install-torch: using torch $want from $dir" >&2
}

if [ -n "${TETHER_TORCH_PYTHON:-}" ]; then
  have="$(torch_version "$TETHER_TORCH_PYTHON")"
  if [ "$have" != "$want" ]; then
    echo "install-torch: $TETHER_TORCH_PYTHON has torch '${have:-none}', but tether needs torch==$want (tch 0.24)." >&2
    echo "  install it there with: $TETHER_TORCH_PYTHON -m pip install torch==$want" >&2
    echo "  or unset TETHER_TORCH_PYTHON to let this script make a project .venv with it" >&2
    exit 1
  fi
  link_libtorch "$TETHER_TORCH_PYTHON"
  exit 0
fi

if [ -x .venv/bin/python ] && [ "$(torch_version .venv/bin/python)" = "$want" ]; then
  if [ ! -e .libtorch/torch/lib/libtorch_cpu.so ] || [ -L .libtorch/python ] || [ ! -x .libtorch/python ]; then
    link_libtorch .venv/bin/python
  fi
  exit 0
fi

python="${PYTHON:-python3}"
command -v "$python" >/dev/null 2>&1 || { echo "install-torch: $python not found" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  echo "install-torch: creating .venv with $("$python" --version 2>&1)" >&2
  "$python" -m venv .venv || {
    echo "install-torch: '$python -m venv' failed; on Debian install python3-venv" >&2
    exit 1
  }
fi
# torch with its CUDA libraries takes about 5 GiB installed, and pip needs
# about as much again for the downloads while it works; say so up front
# rather than fail half way with ENOSPC. --no-cache-dir: a CI machine never
# reuses pip's cache, and keeping a copy of every wheel doubles the peak.
need_kib=$((10 * 1024 * 1024))
for dir in . "${TMPDIR:-/tmp}"; do
  free_kib="$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')"
  if [ -n "$free_kib" ] && [ "$free_kib" -lt "$need_kib" ]; then
    echo "install-torch: only $((free_kib / 1024)) MiB free under $dir; installing torch==$want needs about 10 GiB there" >&2
    echo "  free some space (or point TMPDIR at a larger disk) and run this again" >&2
    exit 1
  fi
done
echo "install-torch: installing torch==$want from PyPI into .venv (a few GB with its CUDA libraries)" >&2
.venv/bin/python -m pip install --quiet --no-cache-dir --disable-pip-version-check --no-input "torch==$want"
have="$(torch_version .venv/bin/python)"
if [ "$have" != "$want" ]; then
  echo "install-torch: .venv has torch '${have:-none}' after the install, expected $want" >&2
  exit 1
fi
link_libtorch .venv/bin/python
