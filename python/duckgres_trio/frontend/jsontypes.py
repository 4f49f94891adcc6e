"""json or jsonb: the type a JSON result column is announced with.

DuckDB has one JSON type for both and keeps no alias in a result's types, so the
engine follows a JSON column back to the table columns it reads (engine/jsonb_typing.py),
and the translator tells what the statement's text decides (``Statement.json_types``:
``x::json``, jsonb_build_object(...), which DuckDB's renamed functions no longer say).
This module applies the latter to a result's schema and batches.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

import pyarrow as pa

from duckgres_trio.engine.base import Executor, Result
from duckgres_trio.wire.types import JSONB_IDENTITY, PG_TYPE_KEY, classify

_JSONB_VALUE = " ".join(JSONB_IDENTITY).encode()
_COLUMN = "column:"
_PARAM = "param:"
_JSONB_OID = int(JSONB_IDENTITY[0])
_JSON_OIDS = (114, _JSONB_OID)


async def resolve(executor: Executor, json_types: tuple[tuple[int, str], ...],
                  param_oids: tuple[int, ...] = ()) -> dict[int, bool]:
    """Result column -> whether it is jsonb, for the statement's ``json_types``. A
    "param:<n>" kind is jsonb when ``param_oids`` (the extended protocol's) makes $n
    jsonb. (Columns the engine follows to their tables: engine/jsonb_typing.py.)"""
    del executor  # (kept for the callers: a kind may yet need the catalog)
    resolved = {}
    for index, kind in json_types:
        if kind.startswith(_PARAM):
            number = int(kind[len(_PARAM):])
            if 0 < number <= len(param_oids) and param_oids[number - 1] in _JSON_OIDS:
                resolved[index] = param_oids[number - 1] == _JSONB_OID
        elif not kind.startswith(_COLUMN):
            resolved[index] = kind == "jsonb"
    return resolved


def retyped_result(result: Result, resolved: dict[int, bool]) -> Result:
    """``result`` with ``retyped`` applied to its schema and batches."""
    if not resolved or result.schema is None:
        return result
    schema = retyped(result.schema, resolved)
    return Result(schema, result.rowcount, retyped_batches(result.batches(), schema))


def retyped(schema: pa.Schema, resolved: dict[int, bool]) -> pa.Schema:
    """``schema`` with each JSON column ``resolved`` names marked jsonb or not."""
    for index, is_jsonb in resolved.items():
        if index >= len(schema):
            continue
        field = schema.field(index)
        if classify(field) not in ("json", "jsonb"):
            continue  # DuckDB's function gave something else (jsonb_typeof: text)
        metadata = {k: v for k, v in (field.metadata or {}).items() if k != PG_TYPE_KEY}
        if is_jsonb:
            metadata[PG_TYPE_KEY] = _JSONB_VALUE
        schema = schema.set(index, field.with_metadata(metadata))
    return schema


async def retyped_batches(batches: AsyncIterator[pa.RecordBatch], schema: pa.Schema
                          ) -> AsyncIterator[pa.RecordBatch]:
    """The batches with ``schema`` (the encoders read each batch's own fields)."""
    async with aclosing(batches) as stream:
        async for batch in stream:
            yield pa.RecordBatch.from_arrays(batch.columns, schema=schema)
