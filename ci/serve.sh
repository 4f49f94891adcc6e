#!/usr/bin/env bash
# Install, then start the server in the foreground (extra arguments go to duckgres-trio).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/install.sh
exec .venv/bin/duckgres-trio "$@"
