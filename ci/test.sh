#!/usr/bin/env bash
# Install, then run every test: Rust unit tests and clippy, then the Python suite twice:
# control-plane mode (workers) with the Rust codec, and standalone mode (DuckDB in the
# server) with the pure-Python reference codec. Every server-backed test runs in both
# modes, and every codec test under both codecs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/install.sh

cargo test --workspace --quiet
cargo clippy --workspace --quiet -- -D warnings

for run in controlplane:rust standalone:python; do
    mode=${run%%:*} codec=${run##*:}
    echo "=== pytest with DUCKGRES_MODE=$mode DUCKGRES_CODEC=$codec"
    DUCKGRES_MODE=$mode DUCKGRES_CODEC=$codec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
done
