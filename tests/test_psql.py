"""The real psql binary against the server: TLS + SCRAM, -c and -f scripts."""

from __future__ import annotations

import os
import subprocess


def psql(server, *args: str, dbname: str = "postgres", input: str | None = None):
    env = {**os.environ, "PGPASSWORD": "postgres", "PGSSLMODE": "require"}
    cmd = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(server.port),
           "-U", "postgres", "-d", dbname, *args]
    return subprocess.run(cmd, env=env, input=input, capture_output=True, text=True, timeout=60)


def test_select_42(server):
    result = psql(server, "-At", "-c", "SELECT 42")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "42\n"


def test_connection_is_tls_with_scram(server):
    result = psql(server, "-c", r"\conninfo")
    assert result.returncode == 0, result.stderr
    assert "SSL connection (protocol: TLSv1." in result.stdout


def test_multi_statement_command(server):
    result = psql(server, "-At", "-c", "SELECT 1; SELECT 'two'; SELECT 3.5::DECIMAL(4,1)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "two", "3.5"]


def test_script_file(server, tmp_path):
    script = tmp_path / "script.sql"
    script.write_text(
        """
        -- a psql script: DDL, DML, a transaction, a query
        CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR, price DECIMAL(10,2));
        INSERT INTO items VALUES (1, 'apple', 0.50), (2, 'pear', 0.75);
        BEGIN;
        UPDATE items SET price = price * 2 WHERE id = 2;
        INSERT INTO items VALUES (3, 'fig; with semicolon', 2.00);
        COMMIT;
        /* block comment */
        SELECT id, name, price FROM items ORDER BY id;
        SELECT count(*) AS n, sum(price) AS total FROM items;
        """
    )
    result = psql(server, "-At", "-F", "|", "-f", str(script), dbname="psqlscript")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == [
        "CREATE TABLE", "INSERT 0 2", "BEGIN", "UPDATE 1", "INSERT 0 1", "COMMIT",
        "1|apple|0.50", "2|pear|1.50", "3|fig; with semicolon|2.00",
        "3|4.00",
    ]


def test_script_error_stops_with_status_3(server, tmp_path):
    script = tmp_path / "bad.sql"
    script.write_text("SELECT 1;\nSELECT * FROM missing_table;\nSELECT 2;\n")
    result = psql(server, "-At", "-f", str(script))
    assert result.returncode == 3
    assert "missing_table" in result.stderr
    assert result.stdout.split() == ["1"]


def test_stdin_script_with_null_and_types(server):
    result = psql(server, "-At", "-F", ",", input="SELECT NULL::INTEGER, true, DATE '2024-01-02', [1,2];\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ",t,2024-01-02,{1,2}\n"
