"""``duckgres-trio admin`` for tests that need organisations and users in a config
store (a database of the reference PostgreSQL 15, e.g. from ``pg15.fresh_database``)."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys

from duckgres_trio.tenancy import admin as admin_command


def admin(dsn: str, *args: str, password: str | None = None,
          separate_process: bool = False) -> subprocess.CompletedProcess:
    """``duckgres-trio admin --config-store dsn args``: in this process (the parsing,
    the store and the output are the same; a process costs a second here), or as a
    separate process, the way an operator runs it. In-process it runs its own trio.run:
    from an async test, call it through ``trio.to_thread.run_sync``."""
    argv = ["--config-store", dsn, *args]
    stdin = "" if password is None else password + "\n"
    if separate_process:
        return subprocess.run([sys.executable, "-m", "duckgres_trio", "admin", *argv],
                              input=stdin, capture_output=True, text=True, timeout=60)
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = admin_command.main(argv)
            except SystemExit as exc:  # argparse
                code = exc.code
    finally:
        sys.stdin = saved
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def ok(result: subprocess.CompletedProcess) -> str:
    """The output of a command that must succeed."""
    assert result.returncode == 0, result.stderr
    return result.stdout


def fails(result: subprocess.CompletedProcess, message: str) -> None:
    """A command that must fail as the operator sees it: status 1, one clear line."""
    assert result.returncode == 1, result
    assert result.stderr.startswith("duckgres-trio admin: ") and message in result.stderr, \
        result.stderr
    assert "Traceback" not in result.stderr
