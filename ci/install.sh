#!/usr/bin/env bash
# Install everything duckgres-trio needs on a fresh Debian 12 machine, idempotently:
# system packages (PostgreSQL 15 for psql and differential tests, a Rust toolchain is
# assumed present), the virtualenv in .venv, and the package itself with its Rust
# extension built by maturin.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
command -v psql >/dev/null || missing+=(postgresql-client-15)
[ -f /usr/share/java/postgresql.jar ] || missing+=(libpostgresql-jdbc-java)
command -v javac >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v cargo >/dev/null || { echo "cargo (Rust) is required" >&2; exit 1; }
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q "${missing[@]}"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -U pip
# Editable install: maturin builds duckgres_trio._native (release profile) in place.
.venv/bin/pip install -q -e '.[test]'
.venv/bin/python -c 'import duckgres_trio._native'
