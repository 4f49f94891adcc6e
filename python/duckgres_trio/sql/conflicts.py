"""Which statements can conflict with another transaction's writes in DuckDB.

DuckDB aborts the second writer of a row (or of a catalog entry) with 40001; such
statements take their database's write turn first (frontend/turns.py). Appends cannot
conflict that way, so plain INSERT and COPY FROM stay concurrent; so do reads.
SELECT ... FOR UPDATE / SHARE takes the turn: a client says with it that it reads in
order to write, and PostgreSQL makes the next such reader wait too. So does LOCK TABLE
in a mode that makes PostgreSQL's writers wait (SHARE and stronger); ACCESS SHARE
(pg_dump's) and the ROW modes do not.
"""

from __future__ import annotations

import pglast

#: What an INSERT says at depth 0 when it may overwrite or skip existing rows
#: (PostgreSQL's ON CONFLICT, DuckDB's INSERT OR REPLACE / OR IGNORE).
_UPSERT_WORDS = frozenset({"CONFLICT"})
_TEMPORARY = frozenset({"TEMP", "TEMPORARY"})
_MODIFIERS = _TEMPORARY | {"OR", "REPLACE", "GLOBAL", "LOCAL", "UNLOGGED"}


def takes_turn(writes: str | None, words: list[str]) -> bool:
    """Whether a statement must wait for its database's write turn. ``writes``: its
    read-only-refusal name (``Statement.writes``); ``words``: its words at depth 0."""
    if writes is None or writes == "COPY FROM":
        return False
    if writes == "INSERT":
        return bool(_UPSERT_WORDS.intersection(words)) or words[1:2] == ["OR"]
    if words[:1] == ["CREATE"]:
        # the words before the object's kind (TABLE, VIEW, ...)
        kind = next((i for i, w in enumerate(words) if i and w not in _MODIFIERS), len(words))
        if _TEMPORARY.intersection(words[1:kind]):
            return False  # a temporary object is the session's own
    return True  # UPDATE, DELETE, MERGE, data-modifying WITH, DDL, SELECT FOR UPDATE


#: PostgreSQL's lock modes from SHARE (5) up conflict with ROW EXCLUSIVE, which every
#: UPDATE/DELETE/INSERT takes (lockdefs.h numbers them 1-8).
_SHARE_LOCK = 5


def lock_takes_turn(text: str) -> tuple[bool, bool]:
    """For LOCK TABLE: (whether it takes the write turn, NOWAIT)."""
    node = pglast.parse_sql(text)[0].stmt
    return node.mode >= _SHARE_LOCK, bool(node.nowait)
