#!/usr/bin/env bash
# Install, then run every test: Rust unit tests and clippy, a bounded fuzzing run, then
# the Python suite twice, side by side:
# control-plane mode (workers) with the Rust codec, and standalone mode (DuckDB in the
# server) with the pure-Python reference codec. Every server-backed test runs in both
# modes, and every codec test under both codecs; a test that would run the same twice
# (controlplane_only: it starts control-plane servers or workers itself;
# mode_independent: no server, neither mode nor codec) runs in the control-plane run
# only (tests/conftest.py deselects it from the other, and says so).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/install.sh test

cargo test --workspace --quiet
cargo clippy --workspace --quiet -- -D warnings

# Coverage-guided fuzzing of every byte reader (both frame codecs in parity, message,
# statement-path, COPY and Bind parsers), bounded; a finding fails the run.
echo "=== atheris: fuzz/atheris_codec.py for 60 s"
.venv/bin/python fuzz/atheris_codec.py -max_total_time=60 -print_final_stats=1 2>&1 | tail -n 12

# The benchmark harness end to end at tiny scales (about a minute, no thresholds): every
# system it can start, so it keeps working; buenavista may be "unavailable", but an
# exception or PostgreSQL without a number fails the run.
echo "=== benchmark harness: ci/bench/harness.py --smoke"
.venv/bin/python ci/bench/harness.py --smoke

# The two runs go side by side: much of a test's time is waiting on servers and clients,
# so two pytest processes share the two cores well (CI went past 45 minutes with the runs
# one after the other). The control-plane run prints as it goes; the standalone run is
# logged and printed when both are done. Each has its own --basetemp.
run_suite() {
    local mode=$1 codec=$2
    shift 2
    if [ "$mode" = standalone ]; then
        # The protocol fuzzing is among the longest tests; the second run (other codec)
        # repeats it at half length, and the Rust-vs-Python parity tests (independent of
        # mode and codec) at a quarter. (The worker-kill run is controlplane_only.)
        export FUZZ_EXAMPLES=30 EXAMPLES_SCALE=0.25
    fi
    echo "=== pytest with DUCKGRES_MODE=$mode DUCKGRES_CODEC=$codec"
    DUCKGRES_MODE=$mode DUCKGRES_CODEC=$codec .venv/bin/python -m pytest -q \
        -p no:cacheprovider --basetemp="$tmp/$mode" --durations=40 "$@"
}
tmp=$(mktemp -d /tmp/duckgres-ci.XXXXXX)
run_suite standalone python "$@" >"$tmp/standalone.log" 2>&1 &
standalone=$!
status=0
run_suite controlplane rust "$@" || status=$?
wait "$standalone" || status=$?
cat "$tmp/standalone.log"
rm -rf "$tmp"
exit "$status"
