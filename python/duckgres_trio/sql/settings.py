"""PostgreSQL run-time parameters the server itself owns (GUCs), and startup options.

The parameters PostgreSQL reports to the client (ParameterStatus) live in the session,
not in DuckDB: DuckDB has no DateStyle or application_name. This module knows their
canonical names, which values are acceptable, and how ``options=-c k=v`` is parsed.
Only TimeZone also has to reach DuckDB, which the session does.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from functools import lru_cache

from duckgres_trio.errors import PgError, SqlState


def _invalid(name: str, value: str, detail: str | None = None) -> PgError:
    return PgError(SqlState.INVALID_PARAMETER_VALUE,
                   f'invalid value for parameter "{name}": "{value}"', detail=detail)


#: PostgreSQL's encoding names (pg_encname_tbl) by clean_encoding_name's spelling.
_ENCODINGS = {
    **{name.replace("_", ""): name for name in (
        "SQL_ASCII", "UTF8", "EUC_JP", "EUC_CN", "EUC_KR", "EUC_TW", "EUC_JIS_2004",
        "MULE_INTERNAL", "KOI8R", "KOI8U", "WIN866", "WIN874", "BIG5", "GBK", "GB18030",
        "JOHAB", "SJIS", "SHIFT_JIS_2004", "UHC", "ISO_8859_5", "ISO_8859_6",
        "ISO_8859_7", "ISO_8859_8", *(f"LATIN{n}" for n in range(1, 11)),
        *(f"WIN{n}" for n in range(1250, 1259)))},
    "UNICODE": "UTF8", "ALT": "WIN866", "KOI8": "KOI8R", "MSKANJI": "SJIS",
    "SHIFTJIS": "SJIS", "WIN": "WIN1251", "TCVN": "WIN1258", "TCVN5712": "WIN1258",
    "VSCII": "WIN1258", "ABC": "WIN1258",
    **{f"ISO8859{n}": f"LATIN{i}" for i, n in enumerate((1, 2, 3, 4, 9, 10, 13, 14, 15, 16), 1)},
    **{f"WINDOWS{n}": f"WIN{n}" for n in (866, 874, *range(1250, 1259))},
}


def _client_encoding(value: str) -> str:
    """A client encoding as PostgreSQL names it; only those that need no conversion
    from UTF8 are accepted (SQL_ASCII: UTF-8 bytes go out as they are, as in
    PostgreSQL). The others are PostgreSQL's 0A000 for a conversion it lacks."""
    # clean_encoding_name: only letters and digits count, so asyncpg's quoted
    # "'utf-8'" is UTF8 too.
    encoding = _ENCODINGS.get("".join(c for c in value.upper() if c.isalnum()))
    if encoding is None:
        raise _invalid("client_encoding", value)
    if encoding not in ("UTF8", "SQL_ASCII"):
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                      f'invalid value for parameter "client_encoding": "{value}"',
                      detail=f"Conversion between {encoding} and UTF8 is not supported.",
                      hint="Supported client encodings: UTF8, SQL_ASCII.")
    return value if value == "UNICODE" else encoding  # kept as given, as check_client_encoding does


def _standard_conforming_strings(value: str) -> str:
    flag = parse_bool(value)
    if flag is None:
        raise PgError(SqlState.INVALID_PARAMETER_VALUE,
                      'parameter "standard_conforming_strings" requires a Boolean value')
    if not flag:
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                      f'invalid value for parameter "standard_conforming_strings": "{value}"',
                      detail="Only on is supported: a backslash in '...' is a character, "
                      "not an escape.", hint="Write escapes in E'...' strings.")
    return "on"


_DATE_STYLES = {"ISO": "ISO", "SQL": "SQL", "POSTGRES": "Postgres", "GERMAN": "German"}
_DATE_ORDERS = {"YMD": "YMD", "DMY": "DMY", "EURO": "DMY", "EUROPEAN": "DMY", "MDY": "MDY",
                "US": "MDY", "NONEURO": "MDY", "NONEUROPEAN": "MDY"}


def datestyle(value: str, current: str = "ISO, MDY") -> str:
    """DateStyle as check_datestyle reads it: an output style and/or a field order
    (or DEFAULT), the half not given kept from ``current``; German alone means DMY.
    Conflicting styles or orders are refused."""
    style = order = None
    for word in (w.strip().upper() for w in value.split(",")):
        for part in word.split():
            if part in _DATE_STYLES:
                new_style, new_order = _DATE_STYLES[part], None
            elif part in _DATE_ORDERS:
                new_style, new_order = None, _DATE_ORDERS[part]
            elif part == "DEFAULT":
                new_style, new_order = "ISO", "MDY"
            else:
                raise PgError(SqlState.INVALID_PARAMETER_VALUE,
                              f'invalid value for parameter "DateStyle": "{value}"',
                              detail=f'Unrecognized key word: "{part.lower()}".')
            if new_style and style and new_style != style or \
                    new_order and order and new_order != order:
                raise PgError(SqlState.INVALID_PARAMETER_VALUE,
                              f'invalid value for parameter "DateStyle": "{value}"',
                              detail="Conflicting \"datestyle\" specifications.")
            style, order = style or new_style, order or new_order
    old_style, old_order = (p.strip() for p in current.split(","))
    if style == "German" and order is None:
        order = "DMY"
    return f"{style or old_style}, {order or old_order}"


INTERVAL_STYLES = ("postgres", "postgres_verbose", "sql_standard", "iso_8601")


def _intervalstyle(value: str) -> str:
    if value.strip().lower() not in INTERVAL_STYLES:
        raise PgError(SqlState.INVALID_PARAMETER_VALUE,
                      f'invalid value for parameter "IntervalStyle": "{value}"',
                      hint=f"Available values: {', '.join(INTERVAL_STYLES)}.")
    return value.strip().lower()


def parse_bool(value: str) -> bool | None:
    """PostgreSQL's parse_bool: on, off (or "of"), 1, 0, and true/false/yes/no or any
    prefix of them, in any case; None if it is none of these."""
    text = value.strip().lower()
    if text in ("on", "1"):
        return True
    if text in ("off", "of", "0"):
        return False
    if text and ("true".startswith(text) or "yes".startswith(text)):
        return True
    if text and ("false".startswith(text) or "no".startswith(text)):
        return False
    return None


def _boolean(name: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        flag = parse_bool(value)
        if flag is None:
            raise PgError(SqlState.INVALID_PARAMETER_VALUE,
                          f'parameter "{name}" requires a Boolean value')
        return "on" if flag else "off"

    return check


ISOLATION_LEVELS = ("serializable", "repeatable read", "read committed", "read uncommitted")


def _isolation(name: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value.strip().lower() not in ISOLATION_LEVELS:
            raise PgError(SqlState.INVALID_PARAMETER_VALUE,
                          f'invalid value for parameter "{name}": "{value}"',
                          hint=f"Available values: {', '.join(ISOLATION_LEVELS)}.")
        return value.strip().lower()

    return check


#: The characteristics of the running transaction; each starts as its default_ twin.
TRANSACTION_MODES = ("transaction_isolation", "transaction_read_only",
                     "transaction_deferrable")


def _extra_float_digits(value: str) -> str:
    try:
        digits = int(value)
    except ValueError:
        raise _invalid("extra_float_digits", value) from None
    if not -15 <= digits <= 3:
        raise _invalid("extra_float_digits", value, "Must be between -15 and 3.")
    return str(digits)


def _any_text(value: str) -> str:
    # PostgreSQL truncates application_name to NAMEDATALEN - 1 bytes.
    return value.encode()[:63].decode(errors="ignore")


_TIME_UNITS = {"": 1, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}


def _timeout(name: str) -> Callable[[str], str]:
    """A PostgreSQL time setting: an integer (milliseconds) or with a unit (500ms, 5s,
    1min, 2h, 1d); shown the way PostgreSQL shows it ("5s", "1min", "0")."""

    def check(value: str) -> str:
        text = value.strip().replace(" ", "")
        number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
        unit = text[len(number):]
        if unit not in _TIME_UNITS or not number.isdigit():
            raise _invalid(name, value)
        return format_milliseconds(int(number) * _TIME_UNITS[unit])

    return check


def search_path_schemas(value: str) -> list[str]:
    """The schemas of a PostgreSQL search_path value, in DuckDB's names: identifiers
    folded to lower case unless quoted, "$user" dropped, public as main."""
    schemas = []
    for item in _split_list(value):
        if item.startswith('"') and item.endswith('"') and len(item) >= 2:
            name = item[1:-1].replace('""', '"')
        else:
            name = item.lower()
        if name and name != "$user":
            schemas.append("main" if name == "public" else name)
    return schemas


@lru_cache(maxsize=64)
def search_path_key(value: str) -> tuple[str, ...]:
    """``search_path_schemas`` as a tuple, worked out once per value: the frontend
    reads it at every statement (result columns' origins, char(n) columns)."""
    return tuple(search_path_schemas(value))


def _split_list(value: str) -> list[str]:
    items, current, quoted = [], [], False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    items.append("".join(current).strip())
    return items


def format_milliseconds(ms: int) -> str:
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1000)):
        if ms and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms" if ms else "0"


def milliseconds(value: str) -> int:
    """The milliseconds of a value normalised by a time setting's validator."""
    number = value.rstrip("abcdefghijklmnopqrstuvwxyz")
    return int(number) * _TIME_UNITS[value[len(number):]]


def _timezone(value: str) -> str:
    """TimeZone as PostgreSQL's check_timezone reads it, shown as PostgreSQL shows it:
    INTERVAL '...' and a plain number of hours (east) become a fixed offset named as
    pg_tzset_offset names it ("<+05:30>-05:30"); a time zone database name is spelled
    as the database spells it; else a POSIX zone ("UTC+3", "<+03>-3", "+02:00": hours
    WEST of UTC) as typed. Which of them DuckDB can follow: ``duckdb_timezone``."""
    text = value.strip()
    if text[:8].lower() == "interval":
        return _offset_name(-_interval_seconds(value, text[8:].strip()))
    try:
        hours = float(text)
    except ValueError:
        pass
    else:
        if text.lower() not in ("nan", "inf", "+inf", "-inf", "infinity", "+infinity",
                                "-infinity"):
            return _offset_name(round(-hours * 3600))
    named = _zone_names().get(value.lower())
    if named is not None:
        return named
    if _POSIX.fullmatch(value) or _POSIX_DST.fullmatch(value):
        return value
    raise _invalid("TimeZone", value)


#: A POSIX zone with a standard time only: [name] offset, offset = hours WEST [:mm[:ss]].
_POSIX = re.compile(r"(?:<[A-Za-z0-9+-]{3,}>|[A-Za-z]{3,})?[+-]?\d{1,3}(?::\d{1,2}(?::\d{1,2})?)?")
#: ... with a daylight-saving part after it, which DuckDB cannot follow.
_POSIX_DST = re.compile(_POSIX.pattern + r"(?:<[A-Za-z0-9+-]{3,}>|[A-Za-z]{3,}).*")


def _offset_name(west: int) -> str:
    """pg_tzset_offset's name for a fixed offset, ``west`` seconds west of UTC."""
    seconds = abs(west)
    text = f"{seconds // 3600:02d}"
    if seconds % 3600:
        text += f":{seconds % 3600 // 60:02d}"
        if seconds % 60:
            text += f":{seconds % 60:02d}"
    return f"<-{text}>+{text}" if west > 0 else f"<+{text}>-{text}"


_INTERVAL_UNITS = {"year": (12, 0, 0), "yr": (12, 0, 0), "mon": (1, 0, 0),
                   "month": (1, 0, 0), "week": (0, 7, 0), "day": (0, 1, 0),
                   "hour": (0, 0, 3600), "hr": (0, 0, 3600), "h": (0, 0, 3600),
                   "minute": (0, 0, 60), "min": (0, 0, 60), "m": (0, 0, 60),
                   "second": (0, 0, 1), "sec": (0, 0, 1), "s": (0, 0, 1)}


def _interval_seconds(value: str, literal: str) -> int:
    """The seconds of INTERVAL '...' as a time zone: [+-]hh[:mm[:ss]] and amounts of
    years to seconds; days or months are refused as PostgreSQL refuses them, naming
    the interval as interval_out spells it."""
    if len(literal) < 2 or literal[0] != "'" or literal[-1] != "'":
        raise _invalid("TimeZone", value)
    body = literal[1:-1].replace("''", "'").strip().lower()
    months = days = seconds = 0
    for piece in re.findall(r"[+-]?\d+(?::\d+){1,2}|[+-]?\d+\s*[a-z]+|\S+", body):
        clock = re.fullmatch(r"([+-]?)(\d+):(\d+)(?::(\d+))?", piece)
        amount = re.fullmatch(r"([+-]?\d+)\s*([a-z]+?)s?", piece)
        if clock:
            sign = -1 if clock[1] == "-" else 1
            seconds += sign * (int(clock[2]) * 3600 + int(clock[3]) * 60 + int(clock[4] or 0))
        elif amount and amount[2] in _INTERVAL_UNITS:
            unit = _INTERVAL_UNITS[amount[2]]
            months += int(amount[1]) * unit[0]
            days += int(amount[1]) * unit[1]
            seconds += int(amount[1]) * unit[2]
        elif re.fullmatch(r"[+-]?\d+", piece) and body == piece:
            seconds += int(piece)  # a bare number is seconds
        else:
            raise PgError(SqlState.INVALID_DATETIME_FORMAT,
                          f'invalid input syntax for type interval: "{literal[1:-1]}"')
    shown = f"INTERVAL '{_interval_out(months, days, seconds)}'"
    if months:
        raise _invalid("TimeZone", shown, "Cannot specify months in time zone interval.")
    if days:
        raise _invalid("TimeZone", shown, "Cannot specify days in time zone interval.")
    return seconds


def _interval_out(months: int, days: int, seconds: int) -> str:
    """interval_out in the postgres style, for whole seconds."""
    parts = []
    for count, unit in ((months // 12 if months >= 0 else -(-months // 12), "year"),
                        (months % 12 if months >= 0 else -(-months % 12), "mon"), (days, "day")):
        if count:
            parts.append(f"{count} {unit}{'s' if abs(count) != 1 else ''}")
    if seconds or not parts:
        sign = "-" if seconds < 0 else ("+" if parts and (months < 0 or days < 0) else "")
        value = abs(seconds)
        parts.append(f"{sign}{value // 3600:02d}:{value % 3600 // 60:02d}:{value % 60:02d}")
    return " ".join(parts)


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    """The time zone database's names by their lower case (PostgreSQL matches them
    without regard to case and shows the database's spelling)."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def posix_zone(zone: str) -> str | None:
    """For AT TIME ZONE 'zone': the DuckDB zone of a POSIX zone string ('UTC+3', '+03',
    '<+03>-3': hours west), as ``duckdb_timezone`` gives it; None for anything else
    (zone names, abbreviations), which DuckDB reads as PostgreSQL does."""
    if zone.lower() in _zone_names() or not (_POSIX.fullmatch(zone)
                                             or _POSIX_DST.fullmatch(zone)):
        return None
    return duckdb_timezone(zone)


def duckdb_timezone(shown: str) -> str:
    """The zone DuckDB is set to for a TimeZone value ``_timezone`` let through: a name
    as it is; a fixed offset as Etc/GMT-N (whole hours east, the Etc names' sign being
    POSIX's). 0A000 for what DuckDB has no zone for: offsets that are not whole hours
    or beyond Etc's -12..+14, and POSIX zones with daylight-saving rules."""
    if shown.lower() in _zone_names():
        return shown
    posix = re.fullmatch(r"(?:<[^>]*>|[A-Za-z]*)([+-]?)(\d+)(?::(\d+)(?::(\d+))?)?", shown)
    if posix is None:
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                      f'time zone "{shown}" is not supported: daylight-saving rules in a '
                      "POSIX time zone are not supported; use a time zone name")
    west = (-1 if posix[1] == "-" else 1) * (
        int(posix[2]) * 3600 + int(posix[3] or 0) * 60 + int(posix[4] or 0))
    if west % 3600 or not -14 * 3600 <= west <= 12 * 3600:
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                      f'time zone "{shown}" is not supported: only fixed offsets of whole '
                      "hours, from 12 hours west to 14 hours east of UTC, are supported")
    return "Etc/GMT" if west == 0 else f"Etc/GMT{west // 3600:+d}"


#: Settable parameters: canonical name -> validator/normaliser.
SETTABLE: dict[str, Callable[[str], str]] = {
    "client_encoding": _client_encoding,
    "DateStyle": datestyle,
    "IntervalStyle": _intervalstyle,
    "TimeZone": _timezone,
    "application_name": _any_text,
    "standard_conforming_strings": _standard_conforming_strings,
    # Accepted for drivers that set it (pgjdbc sends 3); output is always shortest-exact,
    # which is what PostgreSQL 12+ prints for any value > 0.
    "extra_float_digits": _extra_float_digits,
    "statement_timeout": _timeout("statement_timeout"),
    "idle_in_transaction_session_timeout": _timeout("idle_in_transaction_session_timeout"),
    "idle_session_timeout": _timeout("idle_session_timeout"),
    "lock_timeout": _timeout("lock_timeout"),  # bounds the wait for a write turn
    "transaction_isolation": _isolation("transaction_isolation"),
    "default_transaction_isolation": _isolation("default_transaction_isolation"),
    **{name: _boolean(name) for name in (
        "transaction_read_only", "default_transaction_read_only",
        "transaction_deferrable", "default_transaction_deferrable")},
}

#: PostgreSQL parameters that mean nothing to DuckDB but that clients and tools SET and
#: SHOW: remembered per session and shown back, never applied. Name -> default.
REMEMBERED: dict[str, str] = {
    "search_path": '"$user", public', "work_mem": "4MB", "maintenance_work_mem": "64MB",
    "lock_timeout": "0", "client_min_messages": "notice",
    "bytea_output": "hex", "row_security": "on", "synchronous_commit": "on", "jit": "off",
    "lc_messages": "C.UTF-8", "lc_monetary": "C.UTF-8", "lc_numeric": "C.UTF-8",
    "lc_time": "C.UTF-8", "xmloption": "content", "check_function_bodies": "on",
    "temp_buffers": "8MB", "effective_cache_size": "4GB", "random_page_cost": "4",
    "enable_seqscan": "on", "enable_indexscan": "on", "enable_bitmapscan": "on",
    "enable_hashjoin": "on", "enable_mergejoin": "on", "enable_nestloop": "on",
    "geqo": "on", "log_statement": "none", "log_min_duration_statement": "-1",
    "session_replication_role": "origin", "vacuum_cost_delay": "0",
    "default_tablespace": "", "array_nulls": "on", "escape_string_warning": "on",
    "gin_fuzzy_search_limit": "0", "plan_cache_mode": "auto",
}
SETTABLE.update({name: _any_text for name in REMEMBERED if name not in SETTABLE})

#: Read-only parameters the client may SHOW but not SET.
READ_ONLY = ("server_version", "server_version_num", "server_encoding", "integer_datetimes",
             "is_superuser", "session_authorization", "in_hot_standby", "max_identifier_length",
             "block_size", "lc_collate", "lc_ctype", "max_connections")

#: Parameters sent as ParameterStatus at startup and whenever they change.
REPORTED = ("server_version", "server_encoding", "client_encoding", "DateStyle",
            "IntervalStyle", "TimeZone", "integer_datetimes", "standard_conforming_strings",
            "application_name", "is_superuser", "session_authorization",
            "default_transaction_read_only", "in_hot_standby")

_CANONICAL = {name.lower(): name for name in (*SETTABLE, *READ_ONLY)}
_CANONICAL["timezone"] = "TimeZone"


def canonical(name: str) -> str | None:
    """The canonical spelling of a parameter this module owns, or None. Custom
    parameters (``myapp.setting``, a dot in the name) are the session's too."""
    lowered = name.lower()
    return _CANONICAL.get(lowered) or (lowered if "." in lowered else None)


def is_session_parameter(name: str | None) -> bool:
    """Whether a SET/SHOW/RESET of ``name`` is answered by the session, not DuckDB."""
    return name is not None and canonical(name) is not None


#: Set only in the startup packet (PostgreSQL's PGC_BACKEND): a worker profile sizes
#: the worker a session was opened on (engine.profiles), which a SET cannot change.
AT_START_ONLY = frozenset({"duckgres.worker_cpu", "duckgres.worker_memory",
                           "duckgres.worker_ttl"})


def validate(name: str, value: str, *, at_start: bool = False) -> tuple[str, str]:
    """(canonical name, normalised value) for a SET of ``name`` (``at_start``: in the
    startup packet); PgError if refused."""
    canon = canonical(name)
    if canon is None:
        raise PgError(SqlState.UNDEFINED_OBJECT, f'unrecognized configuration parameter "{name}"')
    if canon in READ_ONLY:
        raise PgError("55P02", f'parameter "{canon}" cannot be changed')
    if canon in AT_START_ONLY and not at_start:
        raise PgError("55P02", f'parameter "{canon}" cannot be set after connection start')
    try:
        return canon, SETTABLE.get(canon, _any_text)(value)
    except PgError as err:
        # the enum and Boolean checks name the parameter as the statement spelled it
        if canon in _NAMED_AS_GIVEN:
            err.message = err.message.replace(f'"{canon}"', f'"{name}"', 1)
            err.args = (err.message,)
        raise


_NAMED_AS_GIVEN = frozenset({"IntervalStyle", *TRANSACTION_MODES,
                             *(f"default_{mode}" for mode in TRANSACTION_MODES)})


def parse_options(options: str) -> list[tuple[str, str]]:
    """The settings in a startup ``options`` string, as libpq and PostgreSQL read it.

    Arguments are split on whitespace, a backslash escapes the next character, and each
    setting is ``-c name=value``, ``-cname=value`` or ``--name=value``.
    """
    args = _split_args(options)
    settings = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "-c":
            if i + 1 >= len(args):
                raise _bad_option(arg)
            pair = args[i + 1]
            i += 2
        elif arg.startswith("-c"):
            pair = arg[2:]
            i += 1
        elif arg.startswith("--"):
            pair = arg[2:]
            i += 1
        else:
            raise _bad_option(arg)
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise _bad_option(pair)
        settings.append((name.replace("-", "_"), value))
    return settings


def _bad_option(arg: str) -> PgError:
    return PgError(SqlState.INVALID_PARAMETER_VALUE, f'invalid command-line argument: "{arg}"',
                   severity="FATAL")


def _split_args(text: str) -> list[str]:
    args: list[str] = []
    current: list[str] = []
    escaped = False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch.isspace():
            if current:
                args.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        args.append("".join(current))
    return args
