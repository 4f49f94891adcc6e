#!/usr/bin/env bash
# Install what running the server needs (ci/install.sh serve: no PostgreSQL server, no
# JDK, no test or benchmark packages), say how to connect, then start the server in the
# foreground (extra arguments go to duckgres-trio). Ctrl-C drains, Ctrl-C again stops now.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/install.sh serve
line=$(.venv/bin/python -c 'import sys; from duckgres_trio.cli import connect_line; print(connect_line(sys.argv[1:]))' "$@")
[ -z "$line" ] || echo "connect with: $line"
exec .venv/bin/duckgres-trio "$@"
