"""pgjdbc (Debian's /usr/share/java/postgresql.jar) against a real server process.

tests/java/JdbcSuite.java is compiled with javac into a temporary directory and run
once per module (JVM start-up is slow) against a fresh server (TLS + SCRAM, the
defaults). It prints ``OK <check>`` or ``FAIL <check>: <reason>`` per check; each check
is one pytest test here. pgjdbc's own protocol trace (java.util.logging at FINEST:
every ``FE=>`` / ``<=BE`` message) and the server log are attached to failures.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ServerProcess

JAR = Path("/usr/share/java/postgresql.jar")
SOURCE = Path(__file__).parent / "java" / "JdbcSuite.java"
RUN_TIMEOUT = 600

# In the order JdbcSuite runs them.
CHECKS = [
    "select_42",
    "prepared_reuse_binary",
    "fetch_size_paging",
    "execute_batch",
    "types_roundtrip",
    "types_roundtrip_binary",
    "interval_read",
    "interval_setobject",
    "returning",
    "error_sqlstate",
    "transactions",
]

EXPECTED_FAILURES: dict[str, pytest.MarkDecorator] = {}

LINE = re.compile(r"^(OK|FAIL) ([A-Za-z0-9_]+)(?:: (.*))?$")

JUL_CONFIG = """\
handlers=java.util.logging.FileHandler
java.util.logging.FileHandler.pattern={path}
java.util.logging.FileHandler.limit=0
java.util.logging.FileHandler.formatter=java.util.logging.SimpleFormatter
java.util.logging.SimpleFormatter.format=%4$s %5$s%n
java.util.logging.FileHandler.level=FINEST
org.postgresql.level=FINEST
"""


@dataclass
class SuiteRun:
    results: dict[str, tuple[str, str]]
    returncode: int
    stdout: str
    stderr: str
    trace_path: Path
    server: ServerProcess

    def context(self, name: str) -> str:
        """Everything useful for a failing check: its stack trace, pgjdbc's trace of the
        failed exchanges, the server log."""
        parts = []
        block = re.search(rf"^---- {re.escape(name)}\n(.*?)(?=^---- |\Z)", self.stderr,
                          re.S | re.M)
        if block:
            parts.append("Java stack trace:\n" + block.group(1)[:4000])
        trace = self.trace_path.read_text(errors="replace") if self.trace_path.exists() else ""
        lines = trace.splitlines()
        errors = [i for i, line in enumerate(lines) if "<=BE ErrorMessage" in line]
        if errors:
            excerpts = []
            for i in errors[:5]:
                start = max(0, i - 8)
                excerpts.append("\n".join(lines[start:i + 4]))
            parts.append("pgjdbc protocol trace around ErrorResponses:\n"
                         + "\n...\n".join(excerpts))
        parts.append("server log (tail):\n" + self.server.log()[-4000:])
        return "\n\n".join(parts)


def _require_tools() -> tuple[str, str]:
    java, javac = shutil.which("java"), shutil.which("javac")
    missing = [what for what, ok in (("java", java), ("javac", javac), (str(JAR), JAR.exists()))
               if not ok]
    if missing:
        pytest.fail(f"JDBC test needs {', '.join(missing)} (apt: openjdk-17-jdk-headless "
                    "libpostgresql-jdbc-java)", pytrace=False)
    return java, javac


@pytest.fixture(scope="module")
def jdbc_run(tmp_path_factory) -> SuiteRun:
    java, javac = _require_tools()
    work = tmp_path_factory.mktemp("jdbc")
    classes = work / "classes"
    classes.mkdir()
    compiled = subprocess.run(
        [javac, "-encoding", "UTF-8", "-cp", str(JAR), "-d", str(classes), str(SOURCE)],
        capture_output=True, text=True, timeout=300)
    if compiled.returncode != 0:
        pytest.fail(f"javac failed:\n{compiled.stdout}\n{compiled.stderr}", pytrace=False)

    trace_path = work / "pgjdbc-trace.log"
    jul = work / "logging.properties"
    jul.write_text(JUL_CONFIG.format(path=str(trace_path)))

    server = ServerProcess(work / "data").start()  # fresh data directory
    try:
        proc = subprocess.run(
            [java, "-Duser.timezone=UTC", f"-Djava.util.logging.config.file={jul}",
             "-cp", f"{classes}:{JAR}", "JdbcSuite", str(server.port)],
            capture_output=True, text=True, timeout=RUN_TIMEOUT)
    finally:
        code = server.stop()
    results: dict[str, tuple[str, str]] = {}
    for line in proc.stdout.splitlines():
        match = LINE.match(line)
        if match:
            results[match.group(2)] = (match.group(1), match.group(3) or "")
    run = SuiteRun(results, proc.returncode, proc.stdout, proc.stderr, trace_path, server)
    assert code == 0, f"server exit code {code}:\n{server.log()[-4000:]}"
    return run


def test_suite_ran_every_check(jdbc_run):
    """The program ran to the end and its checks are exactly the ones tested here."""
    assert list(jdbc_run.results) == CHECKS, jdbc_run.stdout + jdbc_run.stderr[-4000:]
    failed = any(status == "FAIL" for status, _ in jdbc_run.results.values())
    assert jdbc_run.returncode == (1 if failed else 0), jdbc_run.stderr[-4000:]


@pytest.mark.parametrize(
    "check", [pytest.param(name, marks=EXPECTED_FAILURES.get(name, ())) for name in CHECKS])
def test_jdbc_check(jdbc_run, check):
    if check not in jdbc_run.results:
        pytest.fail(f"JdbcSuite printed no result for {check}:\nstdout:\n{jdbc_run.stdout}\n"
                    f"stderr:\n{jdbc_run.stderr[-4000:]}", pytrace=False)
    status, reason = jdbc_run.results[check]
    assert status == "OK", f"{check}: {reason}\n\n{jdbc_run.context(check)}"


def test_fetch_size_pages_through_a_suspended_portal(jdbc_run):
    """setFetchSize(1000) with autocommit off really paged: pgjdbc bound a named portal and
    the server answered each Execute(limit=1000) with PortalSuspended."""
    assert jdbc_run.results.get("fetch_size_paging", ("", ""))[0] == "OK"
    trace = jdbc_run.trace_path.read_text(errors="replace")
    executes = re.findall(r"FE=> Execute\(portal=C_\d+,limit=1[,.\u00a0\u202f]?000\)", trace)
    assert len(executes) >= 10, "pgjdbc did not page with a named portal"
    assert trace.count("<=BE PortalSuspended") >= 9
