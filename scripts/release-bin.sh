# Sourced by the benchmark scripts (with ROOT set to the repository root):
# sets TETHER_BIN to an absolute path, building the release binaries (tether
# and tether-gpu beside it) when TETHER_BIN is not set.
if [[ -z "${TETHER_BIN:-}" ]]; then
    echo "== cargo build --release" >&2
    cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
    TETHER_BIN="$ROOT/target/release/tether"
fi
TETHER_BIN=$(realpath "$TETHER_BIN")
[[ -x "$TETHER_BIN" ]] || { echo "$(basename "$0"): no tether binary at $TETHER_BIN" >&2; exit 1; }
