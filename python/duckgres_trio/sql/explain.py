"""EXPLAIN: PostgreSQL's statement in, DuckDB's EXPLAIN out, its plan back in
PostgreSQL's shape.

PostgreSQL answers EXPLAIN with one ``QUERY PLAN`` column: text (a row per line),
json (one row, OID 114), YAML or XML (one row). DuckDB answers with two columns
(``explain_key``, ``explain_value``) holding box art. So the options are read here as
``explain.c`` reads them (the same errors), DuckDB is asked for its plan as JSON
(``EXPLAIN (FORMAT json)``; with ANALYZE, ``EXPLAIN (ANALYZE, FORMAT json)``, which
runs the statement, as PostgreSQL does), and the plan tree is rendered in the format
asked for: nodes named as DuckDB names its operators, with their details, children
under ``->`` as PostgreSQL indents them. Options DuckDB has nothing for (VERBOSE,
BUFFERS, SETTINGS, WAL) are accepted and change nothing; COSTS shows DuckDB's row
estimate, TIMING and SUMMARY its measured times.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from xml.sax.saxutils import escape as _xml_escape

import pyarrow as pa
from pglast import parse_sql
from pglast.keywords import RESERVED_KEYWORDS
from pglast.parser import ParseError

from duckgres_trio.errors import PgError, SqlState
from duckgres_trio.sql.lexer import Kind, Token

_BOOLEAN_OPTIONS = ("analyze", "verbose", "costs", "settings", "buffers", "wal", "timing",
                    "summary")
_FORMATS = ("text", "json", "yaml", "xml")


@dataclass(frozen=True, slots=True)
class Explain:
    """The options of an EXPLAIN, with PostgreSQL's defaults (``timing`` and
    ``summary`` follow ``analyze`` unless given); ``command``: the explained
    statement's command, shown as the plan when DuckDB profiled none (it does not for
    INSERT/UPDATE/DELETE under ANALYZE)."""

    format: str = "text"
    analyze: bool = False
    costs: bool = True
    timing: bool = False
    summary: bool = False
    command: str = ""


def parse_explain(text: str, tokens: list[Token]) -> tuple[Explain, int]:
    """The options of ``EXPLAIN ...`` (``tokens`` start with EXPLAIN) and the index of
    the explained statement's first token. Errors as ``ExplainQuery`` raises them."""
    pos = 1
    if pos < len(tokens) and tokens[pos].kind is Kind.PUNCT and tokens[pos].value == "(" \
            and not _query_start(tokens[pos + 1:pos + 2]):
        options, pos = _option_list(text, tokens, pos + 1)
    else:  # EXPLAIN [ANALYZE] [VERBOSE] statement
        options = {}
        if pos < len(tokens) and tokens[pos].kind is Kind.WORD \
                and tokens[pos].value in ("ANALYZE", "ANALYSE"):
            options["analyze"], pos = True, pos + 1
        if pos < len(tokens) and tokens[pos].kind is Kind.WORD and tokens[pos].value == "VERBOSE":
            pos += 1
    if pos >= len(tokens):
        raise PgError(SqlState.SYNTAX_ERROR, "syntax error at end of input")
    analyze = options.get("analyze", False)
    if options.get("wal") and not analyze:
        raise PgError(SqlState.INVALID_PARAMETER_VALUE, "EXPLAIN option WAL requires ANALYZE")
    timing = options.get("timing", analyze)
    if timing and not analyze:
        raise PgError(SqlState.INVALID_PARAMETER_VALUE, "EXPLAIN option TIMING requires ANALYZE")
    return Explain(options.get("format", "text"), analyze, options.get("costs", True), timing,
                   options.get("summary", analyze)), pos


def _query_start(tokens: list[Token]) -> bool:
    """Whether ``(`` opens a parenthesized query, not options: a reserved word that
    starts a query cannot name an option."""
    return bool(tokens) and (tokens[0].value in ("SELECT", "VALUES", "WITH", "TABLE", "(")
                             and tokens[0].kind in (Kind.WORD, Kind.PUNCT))


def _option_list(text: str, tokens: list[Token], pos: int) -> tuple[dict, int]:
    """``name [value], ...)`` (utility_option_list), read as ExplainQuery reads it."""
    options: dict = {}
    while True:
        if pos >= len(tokens):
            raise PgError(SqlState.SYNTAX_ERROR, "syntax error at end of input")
        name_token = tokens[pos]
        if name_token.kind not in (Kind.WORD, Kind.QUOTED_IDENT) or _reserved(name_token) \
                and name_token.value not in ("ANALYZE", "ANALYSE"):
            raise syntax_error(text, name_token)
        name = name_token.value.lower() if name_token.kind is Kind.WORD else name_token.value
        if name_token.kind is Kind.WORD and name == "analyse":
            name = "analyze"  # the grammar's analyze_keyword
        pos += 1
        value: Token | None = None
        if pos < len(tokens) and not (tokens[pos].kind is Kind.PUNCT
                                      and tokens[pos].value in (",", ")")):
            value = tokens[pos]
            if value.kind is Kind.PUNCT and value.value in ("+", "-") and pos + 1 < len(tokens) \
                    and tokens[pos + 1].kind is Kind.NUMBER:
                value = Token(Kind.NUMBER, value.value + tokens[pos + 1].value, value.start,
                              tokens[pos + 1].end)
                pos += 1
            elif value.kind not in (Kind.WORD, Kind.QUOTED_IDENT, Kind.STRING, Kind.NUMBER) \
                    or _reserved(value) and value.value not in ("TRUE", "FALSE", "ON"):
                raise syntax_error(text, value)
            pos += 1
        if name == "format":
            options["format"] = _format(value, text)
        elif name in _BOOLEAN_OPTIONS:
            options[name] = _boolean(name, value, text)
        else:
            raise PgError(SqlState.SYNTAX_ERROR, f'unrecognized EXPLAIN option "{name}"')
        if pos >= len(tokens):
            raise PgError(SqlState.SYNTAX_ERROR, "syntax error at end of input")
        sep = tokens[pos]
        pos += 1
        if sep.kind is Kind.PUNCT and sep.value == ")":
            return options, pos
        if not (sep.kind is Kind.PUNCT and sep.value == ","):
            raise syntax_error(text, sep)


def _reserved(token: Token) -> bool:
    """A reserved keyword, which the grammar takes neither as an option name (but
    ANALYZE) nor as its value (but TRUE, FALSE, ON)."""
    return token.kind is Kind.WORD and token.value.lower() in RESERVED_KEYWORDS


def _value_text(token: Token, text: str) -> str:
    """An option's argument as defGetString sees it: words folded to lower case."""
    if token.kind is Kind.WORD:
        return token.value.lower()
    if token.kind is Kind.STRING:
        raw = text[token.start:token.end]
        return raw[1:-1].replace("''", "'") if raw.startswith("'") else raw
    if token.kind is Kind.QUOTED_IDENT:
        return token.value
    return text[token.start:token.end]


def _format(value: Token | None, text: str) -> str:
    if value is None:
        raise PgError(SqlState.SYNTAX_ERROR, "format requires a parameter")
    fmt = _value_text(value, text)
    if fmt not in _FORMATS:
        raise PgError(SqlState.INVALID_PARAMETER_VALUE,
                      f'unrecognized value for EXPLAIN option "format": "{fmt}"')
    return fmt


def _boolean(name: str, value: Token | None, text: str) -> bool:
    """defGetBoolean: no value is true; 0/1; true/false/on/off."""
    if value is None:
        return True
    word = _value_text(value, text)
    if value.kind is Kind.NUMBER:
        if word in ("0", "1"):
            return word == "1"
    elif word.lower() in ("true", "on"):
        return True
    elif word.lower() in ("false", "off"):
        return False
    raise PgError(SqlState.SYNTAX_ERROR, f"{name} requires a Boolean value")


#: Commands (as ``sql.statements`` names them) of the statements EXPLAIN takes:
#: PostgreSQL's ExplainableStmt (CREATE TABLE AS is "SELECT"), and DuckDB's
#: FROM-first / PIVOT / SUMMARIZE / DESCRIBE queries, which are "SELECT" too.
EXPLAINABLE = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "EXECUTE",
                         "CREATE MATERIALIZED VIEW", "REFRESH"})


def syntax_error(text: str, token: Token) -> PgError:
    """A syntax error as PostgreSQL reports it: its own parser's message, which points
    where its grammar gives up (``EXPLAIN CREATE TABLE t (a int)``: at "int"), else
    at ``token``."""
    try:
        parse_sql(text)
    except ParseError as err:
        return PgError(SqlState.SYNTAX_ERROR, str(err.args[0]))
    return PgError(SqlState.SYNTAX_ERROR,
                   f'syntax error at or near "{text[token.start:token.end]}"')


def duckdb_explain(explain: Explain, statement: str) -> str:
    """The DuckDB statement whose answer ``plan_batch`` renders."""
    return f"EXPLAIN ({'ANALYZE, ' if explain.analyze else ''}FORMAT json) {statement}"


# -- the answer -------------------------------------------------------------------------

_TEXT = pa.schema([pa.field("QUERY PLAN", pa.string())])
_JSON = pa.schema([pa.field("QUERY PLAN", pa.json_(pa.string()))])


def plan_schema(explain: Explain) -> pa.Schema:
    """The result columns: ``QUERY PLAN``, json for FORMAT JSON, text otherwise."""
    return _JSON if explain.format == "json" else _TEXT


async def plan_batches(batches: AsyncIterator[pa.RecordBatch],
                       explain: Explain) -> AsyncIterator[pa.RecordBatch]:
    """DuckDB's answer (``explain_value`` column) as PostgreSQL's QUERY PLAN rows."""
    values: list[str] = []
    async with aclosing(batches) as stream:
        async for batch in stream:
            values.extend(v for v in batch.column(batch.num_columns - 1).to_pylist()
                          if v is not None)
    yield plan_batch(explain, values)


def plan_batch(explain: Explain, values: list[str]) -> pa.RecordBatch:
    """``values``: DuckDB's JSON plan (or profile, with ANALYZE)."""
    roots, latency = _plan_tree(values, explain.analyze)
    if not roots:
        roots = [_Node(explain.command, [], None, None, None, [])]
    if explain.format == "text":
        lines: list[str] = []
        for root in roots:
            _text_lines(root, explain, 0, lines)
        if explain.summary and latency is not None:
            lines.append(f"Execution Time: {latency * 1000:.3f} ms")
        column = pa.array(lines, pa.string())
    else:
        document = [_query_object(root, explain, latency) for root in roots]
        render = {"json": _json_text, "yaml": _yaml_text, "xml": _xml_text}[explain.format]
        column = pa.array([render(document)],
                          _JSON.field(0).type if explain.format == "json" else pa.string())
    return pa.record_batch([column], schema=plan_schema(explain))


@dataclass
class _Node:
    name: str
    details: list[tuple[str, object]]  # (key, str | list[str])
    estimate: int | None
    rows: int | None  # with ANALYZE: rows the operator produced
    seconds: float | None  # with ANALYZE: the operator's time
    children: list[_Node]


def _plan_tree(values: list[str], analyze: bool) -> tuple[list[_Node], float | None]:
    """DuckDB's plan nodes, and with ANALYZE the statement's latency (seconds)."""
    roots: list[_Node] = []
    latency = None
    for value in values:
        doc = json.loads(value)
        if analyze:
            if isinstance(doc, dict):
                latency = doc.get("latency", latency)
                for child in doc.get("children", []):
                    # the EXPLAIN_ANALYZE operator wraps the statement's plan
                    inner = child.get("children", []) \
                        if child.get("operator_type") == "EXPLAIN_ANALYZE" else [child]
                    roots.extend(_node(n, analyze=True) for n in inner)
        else:
            roots.extend(_node(n, analyze=False) for n in (doc if isinstance(doc, list) else [doc]))
    return roots, latency


def _node(raw: dict, *, analyze: bool) -> _Node:
    info = raw.get("extra_info") or {}
    details: list[tuple[str, object]] = []
    estimate = None
    for key, value in info.items():
        if key == "Estimated Cardinality":
            estimate = _int(value)
        elif isinstance(value, list):
            details.append((key, [str(v) for v in value]))
        elif str(value).strip():
            details.append((key, str(value)))
    name = raw.get("operator_name" if analyze else "name") or raw.get("operator_type") or "?"
    return _Node(name.strip(), details, estimate,
                 _int(raw.get("operator_cardinality")) if analyze else None,
                 raw.get("operator_timing") if analyze else None,
                 [_node(c, analyze=analyze) for c in raw.get("children", [])])


def _int(value: object) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text_lines(node: _Node, explain: Explain, depth: int, lines: list[str]) -> None:
    """PostgreSQL's text layout: a child's line is "->  name" indented 2 + 6 * (depth - 1)
    spaces, each node's details 2 + 6 * depth."""
    head = node.name
    if explain.costs and node.estimate is not None:
        head += f"  (rows={node.estimate})"
    if explain.analyze and node.rows is not None:
        timing = f"time={node.seconds * 1000:.3f} " if explain.timing and node.seconds is not None \
            else ""
        head += f" (actual {timing}rows={node.rows} loops=1)"
    lines.append(head if depth == 0 else " " * (2 + 6 * (depth - 1)) + "->  " + head)
    pad = " " * (2 + 6 * depth)
    for key, value in node.details:
        text = ", ".join(value) if isinstance(value, list) else value
        lines.extend(f"{pad}{key}: {part}" if i == 0 else f"{pad}  {part}"
                     for i, part in enumerate(text.splitlines()))
    for child in node.children:
        _text_lines(child, explain, depth + 1, lines)


def _plan_object(node: _Node, explain: Explain) -> dict:
    """A node as PostgreSQL's structured formats show one ("Node Type", ..., "Plans")."""
    plan: dict = {"Node Type": node.name}
    plan.update(node.details)
    if explain.costs and node.estimate is not None:
        plan["Plan Rows"] = node.estimate
    if explain.analyze and node.rows is not None:
        if explain.timing and node.seconds is not None:
            plan["Actual Total Time"] = round(node.seconds * 1000, 3)
        plan["Actual Rows"] = node.rows
        plan["Actual Loops"] = 1
    if node.children:
        plan["Plans"] = [_plan_object(c, explain) for c in node.children]
    return plan


def _query_object(root: _Node, explain: Explain, latency: float | None) -> dict:
    query: dict = {"Plan": _plan_object(root, explain)}
    if explain.summary and latency is not None:
        query["Execution Time"] = round(latency * 1000, 3)
    return query


def _json_text(document: list[dict]) -> str:
    return json.dumps(document, indent=2)


def _yaml_text(document: list[dict]) -> str:
    """PostgreSQL's YAML: every string double-quoted, a space after each bare key."""
    lines: list[str] = []
    for query in document:
        _yaml_mapping(query, 0, lines, first_prefix="- ")
    return "\n".join(lines)


def _yaml_mapping(mapping: dict, indent: int, lines: list[str], first_prefix: str) -> None:
    for i, (key, value) in enumerate(mapping.items()):
        prefix = " " * indent + (first_prefix if i == 0 else " " * len(first_prefix))
        inner = indent + len(first_prefix) + 2
        if isinstance(value, dict):
            lines.append(f"{prefix}{key}: ")
            _yaml_mapping(value, inner, lines, first_prefix="")
        elif isinstance(value, list):
            lines.append(f"{prefix}{key}: ")
            for item in value:
                if isinstance(item, dict):
                    _yaml_mapping(item, inner, lines, first_prefix="- ")
                else:
                    lines.append(" " * inner + "- " + _yaml_scalar(item))
        else:
            lines.append(f"{prefix}{key}: {_yaml_scalar(value)}")


def _yaml_scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)


def _xml_text(document: list[dict]) -> str:
    """PostgreSQL's XML: keys with their spaces as hyphens, lists as Item elements."""
    lines = ['<explain xmlns="http://www.postgresql.org/2009/explain">']
    for query in document:
        lines.append("  <Query>")
        _xml_mapping(query, 4, lines)
        lines.append("  </Query>")
    lines.append("</explain>")
    return "\n".join(lines)


def _xml_mapping(mapping: dict, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for key, value in mapping.items():
        tag = "".join(c if c.isalnum() or c in "-_." else "-" for c in key.replace(" ", "-"))
        if isinstance(value, dict):
            lines.append(f"{pad}<{tag}>")
            _xml_mapping(value, indent + 2, lines)
            lines.append(f"{pad}</{tag}>")
        elif isinstance(value, list):
            lines.append(f"{pad}<{tag}>")
            for item in value:
                if isinstance(item, dict):
                    lines.append(f"{pad}  <Plan>")
                    _xml_mapping(item, indent + 4, lines)
                    lines.append(f"{pad}  </Plan>")
                else:
                    lines.append(f"{pad}  <Item>{_xml_escape(str(item))}</Item>")
            lines.append(f"{pad}</{tag}>")
        else:
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            lines.append(f"{pad}<{tag}>{_xml_escape(text)}</{tag}>")
