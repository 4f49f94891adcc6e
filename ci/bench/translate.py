"""What SQL translation costs per statement, and how the two candidate parsers did on
what real clients send.

    .venv/bin/python ci/bench/translate.py [--rounds N]

Per statement: the fast path (the lexer says nothing needs rewriting), a cache hit (the
statement split and its translation are cached by text) and a cache miss (parse,
rewrite, print). Then the client corpus (tests/corpus/clients.jsonl, captured from
PostgreSQL 15 by ci/corpus/capture.py) through pglast, the parser in use, and through
sqlglot's postgres -> duckdb transpiler when it is installed (``pip install sqlglot``):
how many statements each parses, and the time per statement.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from duckgres_trio.sql import statements
from duckgres_trio.sql.lexer import tokenize
from duckgres_trio.sql.translate import needs_translation, translate

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "corpus" / "clients.jsonl"

FAST = "SELECT abalance FROM pgbench_accounts WHERE aid = 42"
REWRITTEN = ("SELECT c.relname, n.nspname FROM pg_catalog.pg_class c JOIN "
             "pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname ~ '^t' "
             "AND pg_catalog.pg_table_is_visible(c.oid)")


def _per_call(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def _split_uncached(sql: str):
    return statements._split_cached.__wrapped__(sql)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    rows = []
    for label, fn, n in [
        ("fast path: lex + classify + token check (uncached)",
         lambda: _split_uncached(FAST), 2000),
        ("token check alone", lambda: needs_translation(tokenize(FAST)), 2000),
        ("cache hit (split_statements of a seen text)",
         lambda: statements.split_statements(REWRITTEN), 20000),
        ("cache miss: parse + rewrite + print (catalog query)",
         lambda: _split_uncached(REWRITTEN), 200),
    ]:
        samples = [_per_call(fn, n) for _ in range(args.rounds)]
        rows.append((label, statistics.median(samples)))
    print("| path | us per statement (median of %d) |" % args.rounds)
    print("|---|---|")
    for label, us in rows:
        print(f"| {label} | {us:.1f} |")

    corpus = [json.loads(line)["sql"] for line in CORPUS.read_text().splitlines()]
    print(f"\nclient corpus: {len(corpus)} statements ({CORPUS.name})")
    print("| parser | parsed | failed | us per statement (parse + print) |")
    print("|---|---|---|---|")
    start = time.perf_counter()
    failed = 0
    for sql in corpus:
        try:
            translate(sql)
        except Exception:  # noqa: BLE001 - counting, not handling
            failed += 1
    elapsed = (time.perf_counter() - start) / len(corpus) * 1e6
    from pglast import parse_sql
    from pglast.parser import ParseError
    unparsed = 0
    for sql in corpus:
        try:
            parse_sql(sql)
        except ParseError:
            unparsed += 1
    print(f"| pglast (translate) | {len(corpus) - unparsed} | {unparsed} (+{failed} errors) "
          f"| {elapsed:.0f} |")
    try:
        import sqlglot
    except ImportError:
        print("| sqlglot | not installed (pip install sqlglot to compare) | | |")
        return
    start = time.perf_counter()
    failed = 0
    for sql in corpus:
        try:
            sqlglot.transpile(sql, read="postgres", write="duckdb")
        except Exception:  # noqa: BLE001 - counting, not handling
            failed += 1
    elapsed = (time.perf_counter() - start) / len(corpus) * 1e6
    print(f"| sqlglot {sqlglot.__version__} (transpile) | {len(corpus) - failed} | {failed} "
          f"| {elapsed:.0f} |")


if __name__ == "__main__":
    main()
