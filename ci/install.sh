#!/usr/bin/env bash
# Install duckgres-trio on a fresh Debian 12 machine, idempotently (a Rust toolchain is
# assumed present), for one of two purposes:
#
#   bash ci/install.sh serve   what running the server needs: psql to connect (the client
#                              only: PostgreSQL's server package would start its own
#                              cluster on 5432), .venv with the package's runtime
#                              dependencies, the Rust codec. (ci/serve.sh)
#   bash ci/install.sh test    everything the tests and the benchmark smoke run need too:
#                              PostgreSQL 15 (differential tests), a JDK and pgjdbc, the
#                              `test` and `bench` extras. (ci/test.sh)
#
# --dry-run prints what would be installed (apt packages, pip extras) and installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-test}
dry_run=0
[ "${2:-}" = --dry-run ] && dry_run=1
case $mode in
    serve) apt_packages=(postgresql-client-15); extras="" ;;
    test) apt_packages=(postgresql-client-15 postgresql-15 libpostgresql-jdbc-java
                        openjdk-17-jdk-headless); extras="test,bench" ;;
    *) echo "usage: bash ci/install.sh serve|test [--dry-run]" >&2; exit 2 ;;
esac
# The Python requirements (pyproject.toml's dependencies plus the extras), one a line.
requirements() {
    python3 -c '
import sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
wanted = list(project["dependencies"])
for extra in filter(None, sys.argv[1].split(",")):
    wanted += project["optional-dependencies"][extra]
print("\n".join(wanted))' "$extras"
}
if [ $dry_run = 1 ]; then
    echo "apt packages: ${apt_packages[*]}"
    echo "pip extras: ${extras:-none}"
    echo "pip requirements: $(requirements | tr '\n' ' ')"
    exit 0
fi

step() { echo "[$1/4] $2"; }

# A package counts as there when what the server or the tests use from it is.
present() {
    case $1 in
        postgresql-15) [ -x /usr/lib/postgresql/15/bin/initdb ] ;;
        postgresql-client-15) command -v psql >/dev/null ;;
        libpostgresql-jdbc-java) [ -f /usr/share/java/postgresql.jar ] ;;
        openjdk-17-jdk-headless) command -v javac >/dev/null ;;
    esac
}
missing=()
for package in "${apt_packages[@]}"; do
    present "$package" || missing+=("$package")
done
command -v cargo >/dev/null || { echo "cargo (Rust) is required" >&2; exit 1; }
if [ ${#missing[@]} -gt 0 ]; then
    step 1 "apt packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q "${missing[@]}"
else
    step 1 "apt packages: ${apt_packages[*]} (already installed)"
fi

step 2 "Python virtualenv .venv and the runtime dependencies${extras:+, extras $extras}"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -U pip
# The dependencies first (from pyproject.toml), so the next step is the Rust build alone.
mapfile -t wanted < <(requirements)
.venv/bin/pip install -q "${wanted[@]}"

step 3 "Rust codec (cargo build --release through maturin, about 60 s on 2 cores)"
# Editable install: maturin builds duckgres_trio._native in place.
.venv/bin/pip install -q --no-deps -e ".${extras:+[$extras]}"

step 4 "check: the package and its Rust codec import"
.venv/bin/python -c 'import duckgres_trio._native, duckgres_trio.cli'
