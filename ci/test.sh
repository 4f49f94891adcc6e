#!/usr/bin/env bash
# Install, then run every test: Rust unit tests and clippy, then the Python suite once
# per wire codec (Rust, then the pure-Python reference).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/install.sh

cargo test --workspace --quiet
cargo clippy --workspace --quiet -- -D warnings

for codec in rust python; do
    echo "=== pytest with DUCKGRES_CODEC=$codec"
    DUCKGRES_CODEC=$codec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
done
