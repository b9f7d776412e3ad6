#!/usr/bin/env bash
# Installs what building and testing tether needs on a fresh Debian machine:
# git, python3 (with venv), pkg-config and OpenSSL headers (for git2's https
# transport), then libtorch through scripts/install-torch.sh (torch==2.11.0
# from PyPI, for the tether-gpu worker). With --browser also Chromium from
# the distribution's packages (Debian's `chromium` is a real package; the
# HTML report test runs it headless); with --slurm also Slurm and munge
# (scripts/slurm-dev.sh install) for the slurm executor's tests. Idempotent:
# installs only what is missing. Used by demo.sh, test.sh (with --browser
# --slurm) and CI (through test.sh).
set -euo pipefail

missing=()
browser=0
slurm=0
for arg in "$@"; do
  case "$arg" in
    --browser) browser=1 ;;
    --slurm) slurm=1 ;;
    *) echo "setup: unknown option $arg (known: --browser --slurm)" >&2; exit 2 ;;
  esac
done
if [ "$browser" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
fi
command -v git >/dev/null 2>&1 || missing+=(git)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v cc >/dev/null 2>&1 || missing+=(build-essential)
pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev)
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
fi
if [ "$slurm" = 1 ]; then
  "$(dirname "$0")/slurm-dev.sh" install
fi
command -v cargo >/dev/null 2>&1 || { echo "setup: cargo not found; install Rust (https://rustup.rs)" >&2; exit 1; }
"$(dirname "$0")/install-torch.sh"
