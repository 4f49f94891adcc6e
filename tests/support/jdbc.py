"""pgjdbc (Debian's libpostgresql-jdbc-java) for the tests that check what JDBC tools see.

A test's program (tests/java/*.java) is compiled with javac into a temporary directory
and run with the driver's jar on the class path. A missing JDK or jar is a failure, not
a skip: `ci/install.sh test` installs both.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

JAR = Path("/usr/share/java/postgresql.jar")


def compile_java(source: Path, classes: Path) -> Path:
    """Compile ``source`` into the directory ``classes``; return it."""
    javac = shutil.which("javac")
    missing = [what for what, ok in (("java", shutil.which("java")), ("javac", javac),
                                     (str(JAR), JAR.exists())) if not ok]
    if missing:
        pytest.fail(f"pgjdbc tests need {', '.join(missing)} (apt: openjdk-17-jdk-headless "
                    "libpostgresql-jdbc-java)", pytrace=False)
    compiled = subprocess.run([javac, "-encoding", "UTF-8", "-cp", str(JAR), "-d", str(classes),
                               str(source)], capture_output=True, text=True, timeout=300)
    if compiled.returncode != 0:
        pytest.fail(f"javac {source.name} failed:\n{compiled.stdout}\n{compiled.stderr}",
                    pytrace=False)
    return classes


def jdbc_url(dsn: str) -> str:
    """The JDBC URL for a libpq keyword DSN: ours (TLS and a password) or PostgreSQL's."""
    parts = dict(re.findall(r"(\w+)=(\S+)", dsn))
    url = (f"jdbc:postgresql://{parts['host']}:{parts['port']}/{parts['dbname']}"
           f"?user={parts['user']}")
    if "password" in parts:
        url += f"&password={parts['password']}"
    if parts.get("sslmode") == "require":
        url += "&sslmode=require"
    return url
