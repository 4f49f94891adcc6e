"""DuckDB's C API, through ctypes, from the library the duckdb wheel already ships.

Why not DuckDB's Python API: the extended query protocol needs a statement's parameter
types and result columns *before* it runs (Describe), and the Python API offers
neither; the C API does (``duckdb_param_logical_type``,
``duckdb_prepared_statement_column_*``). It is also about twice as fast per statement
(measured: 480 us vs 1,050 us for a primary-key lookup returned as Arrow; see
docs/benchmarks.md). The wheel's extension module exports the whole C API, so no second
copy of DuckDB is needed. ctypes releases the GIL during every call.

Never open a database file through this module and DuckDB's Python API in the same
process: that would be two DatabaseInstances writing one file.

Ownership rules are the C API's: every handle returned here is destroyed by the object
that holds it; strings DuckDB allocates for us are copied and freed at once.
"""

from __future__ import annotations

import ctypes as C
import itertools
import json
from collections.abc import Sequence

import _duckdb
import pyarrow as pa

from duckgres_trio.engine.literals import UnbindableValue, bind_form

lib = C.CDLL(_duckdb.__file__)

_vp = C.c_void_p
_idx = C.c_uint64
_state = C.c_int  # 0: success
_P = C.POINTER


class _Result(C.Structure):
    # duckdb_result: five deprecated fields and internal_data (48 bytes); passed by value
    # to duckdb_fetch_chunk and by pointer elsewhere.
    _fields_ = [("column_count", _idx), ("row_count", _idx), ("rows_changed", _idx),
                ("columns", _vp), ("error_message", C.c_char_p), ("internal_data", _vp)]


class _Progress(C.Structure):
    _fields_ = [("percentage", C.c_double), ("rows_processed", C.c_uint64),
                ("total_rows_to_process", C.c_uint64)]


class _ArrowStream(C.Structure):
    _fields_ = [("get_schema", _vp), ("get_next", _vp), ("get_last_error", _vp),
                ("release", _vp), ("private_data", _vp)]


class _ArrowSchema(C.Structure):
    _fields_ = [("format", C.c_char_p), ("name", C.c_char_p), ("metadata", C.c_char_p),
                ("flags", C.c_int64), ("n_children", C.c_int64), ("children", _vp),
                ("dictionary", _vp), ("release", _vp), ("private_data", _vp)]


class _ArrowArray(C.Structure):
    _fields_ = [("length", C.c_int64), ("null_count", C.c_int64), ("offset", C.c_int64),
                ("n_buffers", C.c_int64), ("n_children", C.c_int64), ("buffers", _vp),
                ("children", _vp), ("dictionary", _vp), ("release", _vp), ("private_data", _vp)]


assert C.sizeof(_Result) == 48 and C.sizeof(_ArrowSchema) == 72 and C.sizeof(_ArrowArray) == 80


def _fn(name: str, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


_library_version = _fn("duckdb_library_version", C.c_char_p)
_create_config = _fn("duckdb_create_config", _state, _P(_vp))
_set_config = _fn("duckdb_set_config", _state, _vp, C.c_char_p, C.c_char_p)
_destroy_config = _fn("duckdb_destroy_config", None, _P(_vp))
_open_ext = _fn("duckdb_open_ext", _state, C.c_char_p, _P(_vp), _vp, _P(_vp))
_close = _fn("duckdb_close", None, _P(_vp))
_connect = _fn("duckdb_connect", _state, _vp, _P(_vp))
_disconnect = _fn("duckdb_disconnect", None, _P(_vp))
_interrupt = _fn("duckdb_interrupt", None, _vp)
_free = _fn("duckdb_free", None, _vp)
_arrow_scan = _fn("duckdb_arrow_scan", _state, _vp, C.c_char_p, _vp)
_query_progress = _fn("duckdb_query_progress", _Progress, _vp)

_prepare = _fn("duckdb_prepare", _state, _vp, C.c_char_p, _P(_vp))
_prepare_error = _fn("duckdb_prepare_error", C.c_char_p, _vp)
_destroy_prepare = _fn("duckdb_destroy_prepare", None, _P(_vp))
_nparams = _fn("duckdb_nparams", _idx, _vp)
_param_logical_type = _fn("duckdb_param_logical_type", _vp, _vp, _idx)
_column_count_prepared = _fn("duckdb_prepared_statement_column_count", _idx, _vp)
_column_name_prepared = _fn("duckdb_prepared_statement_column_name", _vp, _vp, _idx)
_column_type_prepared = _fn("duckdb_prepared_statement_column_logical_type", _vp, _vp, _idx)
_clear_bindings = _fn("duckdb_clear_bindings", _state, _vp)
_bind_null = _fn("duckdb_bind_null", _state, _vp, _idx)
_bind_boolean = _fn("duckdb_bind_boolean", _state, _vp, _idx, C.c_bool)
_bind_int64 = _fn("duckdb_bind_int64", _state, _vp, _idx, C.c_int64)
_bind_double = _fn("duckdb_bind_double", _state, _vp, _idx, C.c_double)
_param_type_id = _fn("duckdb_param_type", C.c_int, _vp, _idx)
#: duckdb_type id -> (bind function, smallest value, largest value) for the integer and
#: float parameters a value is bound at its parameter's own width: a value of another
#: type makes DuckDB re-bind the statement with that type (an int4 parameter bound as
#: int64 turns chr($1) into chr(bigint), which does not exist).
_BIND_AT_WIDTH = {
    2: (_fn("duckdb_bind_int8", _state, _vp, _idx, C.c_int8), -(1 << 7), (1 << 7) - 1),
    3: (_fn("duckdb_bind_int16", _state, _vp, _idx, C.c_int16), -(1 << 15), (1 << 15) - 1),
    4: (_fn("duckdb_bind_int32", _state, _vp, _idx, C.c_int32), -(1 << 31), (1 << 31) - 1),
    6: (_fn("duckdb_bind_uint8", _state, _vp, _idx, C.c_uint8), 0, (1 << 8) - 1),
    7: (_fn("duckdb_bind_uint16", _state, _vp, _idx, C.c_uint16), 0, (1 << 16) - 1),
    8: (_fn("duckdb_bind_uint32", _state, _vp, _idx, C.c_uint32), 0, (1 << 32) - 1),
}
_TYPE_FLOAT = 10
_TYPE_UINTEGER = 8  # how the catalog holds oid
_bind_float = _fn("duckdb_bind_float", _state, _vp, _idx, C.c_float)
_bind_varchar = _fn("duckdb_bind_varchar_length", _state, _vp, _idx, C.c_char_p, _idx)
_bind_blob = _fn("duckdb_bind_blob", _state, _vp, _idx, C.c_char_p, _idx)
_execute_streaming = _fn("duckdb_execute_prepared_streaming", _state, _vp, _P(_Result))

_destroy_result = _fn("duckdb_destroy_result", None, _P(_Result))
_result_error = _fn("duckdb_result_error", C.c_char_p, _P(_Result))
_result_return_type = _fn("duckdb_result_return_type", C.c_int, _Result)
_column_count = _fn("duckdb_column_count", _idx, _P(_Result))
_column_name = _fn("duckdb_column_name", C.c_char_p, _P(_Result), _idx)
_column_type = _fn("duckdb_column_logical_type", _vp, _P(_Result), _idx)
_column_type_id = _fn("duckdb_column_type", C.c_int, _P(_Result), _idx)
_prepared_statement_type = _fn("duckdb_prepared_statement_type", C.c_int, _vp)
_decimal_width = _fn("duckdb_decimal_width", C.c_uint8, _vp)
_decimal_scale = _fn("duckdb_decimal_scale", C.c_uint8, _vp)
_fetch_chunk = _fn("duckdb_fetch_chunk", _vp, _Result)
_destroy_chunk = _fn("duckdb_destroy_data_chunk", None, _P(_vp))

_create_varchar = _fn("duckdb_create_varchar_length", _vp, C.c_char_p, _idx)
_get_type_id = _fn("duckdb_get_type_id", C.c_int, _vp)
_TYPE_INVALID = 0  # DUCKDB_TYPE_INVALID
_TYPE_ENUM, _TYPE_LIST, _TYPE_STRUCT, _TYPE_ARRAY = 23, 24, 25, 33
_enum_size = _fn("duckdb_enum_dictionary_size", C.c_uint32, _vp)
_enum_value = _fn("duckdb_enum_dictionary_value", _vp, _vp, _idx)
_list_child = _fn("duckdb_list_type_child_type", _vp, _vp)
_array_child = _fn("duckdb_array_type_child_type", _vp, _vp)
_destroy_logical_type = _fn("duckdb_destroy_logical_type", None, _P(_vp))
_type_alias = _fn("duckdb_logical_type_get_alias", _vp, _vp)

_error_message = _fn("duckdb_error_data_message", C.c_char_p, _vp)
_destroy_error = _fn("duckdb_destroy_error_data", None, _P(_vp))
_result_arrow_options = _fn("duckdb_result_get_arrow_options", _vp, _P(_Result))
_connection_arrow_options = _fn("duckdb_connection_get_arrow_options", None, _vp, _P(_vp))
_destroy_arrow_options = _fn("duckdb_destroy_arrow_options", None, _P(_vp))
_to_arrow_schema = _fn("duckdb_to_arrow_schema", _vp, _vp, _P(_vp), _P(C.c_char_p), _idx,
                       _P(_ArrowSchema))
_chunk_to_arrow = _fn("duckdb_data_chunk_to_arrow", _vp, _vp, _vp, _P(_ArrowArray))

VERSION = _library_version().decode()

# duckdb_type ids used here
_TYPE_INVALID = 0
# duckdb_result_type
RESULT_CHANGED_ROWS, RESULT_NOTHING, RESULT_QUERY = 1, 2, 3
# duckdb_statement_type values engine/statement.py tells apart
STATEMENT_SELECT, STATEMENT_INSERT, STATEMENT_UPDATE, STATEMENT_DELETE = 1, 2, 3, 5
STATEMENT_TRANSACTION, STATEMENT_MERGE_INTO = 10, 30

#: duckdb_type ids whose Arrow form the id alone decides (with the connection's
#: settings): every type without parameters (an alias aside).
_PLAIN_TYPE_IDS = frozenset({*range(1, 17), 20, 21, 22, 27, 29, 30, 31, 32, 35, 36, 39})
_TYPE_VARCHAR, _TYPE_BLOB, _TYPE_DECIMAL = 17, 18, 19


class DuckDBError(Exception):
    """An error DuckDB reported; ``str()`` is DuckDB's own message ("Catalog Error: ...")."""


def _take_string(pointer: int | None) -> str:
    """Copy a string DuckDB allocated for us, then free it."""
    if not pointer:
        return ""
    text = C.string_at(pointer).decode(errors="replace")
    _free(pointer)
    return text


def _check(error_data: int | None) -> None:
    if error_data:
        message = _error_message(error_data).decode(errors="replace")
        handle = _vp(error_data)
        _destroy_error(C.byref(handle))
        raise DuckDBError(_plain_message(message))


def _plain_message(message: str) -> str:
    """Error data carries DuckDB's JSON form ({"exception_type": ..., ...}); turn it into
    the "<Kind> Error: <message>" text every other C API error has."""
    if message.startswith("{"):
        try:
            data = json.loads(message)
            return f"{data['exception_type']} Error: {data['exception_message']}"
        except (ValueError, KeyError, TypeError):
            pass
    return message


def _destroy_types(types) -> None:
    for pointer in types:
        handle = pointer if isinstance(pointer, _vp) else _vp(pointer)
        _destroy_logical_type(C.byref(handle))


def _arrow_schema(options: int, types, names: Sequence[bytes]) -> pa.Schema:
    count = len(names)
    schema = _ArrowSchema()
    _check(_to_arrow_schema(options, (_vp * count)(*types), (C.c_char_p * count)(*names),
                            count, C.byref(schema)))
    return pa.Schema._import_from_c(C.addressof(schema))


def _enum_labels(handle: _vp) -> tuple[str, ...] | None:
    """An ENUM type's labels in order; None for any other type."""
    if not handle or _get_type_id(handle) != _TYPE_ENUM:
        return None
    return tuple(_take_string(_enum_value(handle, i)) for i in range(_enum_size(handle)))


def _holds_struct(handle: _vp) -> bool:
    type_id = _get_type_id(handle)
    if type_id == _TYPE_STRUCT:
        return True
    child_of = {_TYPE_LIST: _list_child, _TYPE_ARRAY: _array_child}.get(type_id)
    if child_of is None:
        return False
    child = _vp(child_of(handle))
    try:
        return _holds_struct(child)
    finally:
        _destroy_logical_type(C.byref(child))


class Database:
    """One DuckDB database file (or in-memory database) opened in this process."""

    #: Statements each session's connection runs first (``statement.connect``): a
    #: DuckLake database's ``USE`` (the default catalog is per connection).
    session_setup: tuple[str, ...] = ()

    def __init__(self, path: str | None, config: dict[str, str] | None = None) -> None:
        #: Bumped (``bump``) by engine/statement.py after any statement that may have
        #: changed the catalog or a connection's settings: what it keeps per prepared
        #: statement (result columns' identities and Arrow schema) is valid for one value.
        self.generation = 0
        self._generations = itertools.count(1)
        self._handle = _vp()
        cfg = _vp()
        _create_config(C.byref(cfg))
        try:
            for key, value in (config or {}).items():
                if _set_config(cfg, key.encode(), str(value).encode()) != 0:
                    raise DuckDBError(f"Invalid Input Error: unknown DuckDB setting {key!r}")
            error = _vp()
            if _open_ext(path.encode() if path else None, C.byref(self._handle), cfg,
                         C.byref(error)) != 0:
                raise DuckDBError(_take_string(error.value) or "IO Error: cannot open database")
        finally:
            _destroy_config(C.byref(cfg))

    def connect(self) -> Connection:
        return Connection(self)

    def bump(self) -> None:
        self.generation = next(self._generations)  # one bytecode: safe across threads

    def close(self) -> None:
        if self._handle:
            _close(C.byref(self._handle))


class Connection:
    """A DuckDB connection: one client session. Use from one thread at a time, except
    ``interrupt``, which is meant to be called from another thread."""

    def __init__(self, database: Database) -> None:
        self.database = database  # keeps it referenced while this connection lives
        #: engine/statement.py's transaction bookkeeping for Database.generation:
        #: whether this connection ran a statement that may change the catalog since its
        #: last transaction statement, the generation at that statement, and a count of
        #: the transaction ends that may have changed what this connection sees.
        self.catalog_dirty = False
        self.boundary_generation = database.generation
        self.snapshots = 0
        #: engine/jsonb_typing.py's catalog lookups, for one catalog state (statement.py)
        self.jsonb_catalog = None
        self._handle = _vp()
        if _connect(database._handle, C.byref(self._handle)) != 0:
            raise DuckDBError("Connection Error: cannot connect to the database")

    def prepare(self, sql: str) -> Prepared:
        return Prepared(self, sql)

    def run(self, sql: str) -> None:
        """Run one statement to completion, discarding any rows (setup, scripts)."""
        statement = self.prepare(sql)
        try:
            result = statement.execute()
            while result.fetch(1 << 20):
                pass
        finally:
            statement.close()

    def interrupt(self) -> None:
        _interrupt(self._handle)

    def register_arrow(self, name: str, batches: pa.RecordBatchReader) -> object:
        """Make the Arrow stream readable as the view ``name`` of this connection
        (read once; drop the view after use). DuckDB keeps a pointer to the stream
        struct: the caller must keep the returned object alive while the view exists."""
        stream = _ArrowStream()
        batches._export_to_c(C.addressof(stream))
        if _arrow_scan(self._handle, name.encode(), C.addressof(stream)) != 0:
            raise DuckDBError(f"Invalid Input Error: cannot scan the Arrow data as {name}")
        return stream

    def progress(self) -> tuple[float, int, int]:
        """The running query's progress: (percent or -1 if unknown, rows processed,
        total rows to process). Safe to call from another thread."""
        p = _query_progress(self._handle)
        return p.percentage, p.rows_processed, p.total_rows_to_process

    def arrow_options(self) -> _vp:
        options = _vp()
        _connection_arrow_options(self._handle, C.byref(options))
        return options

    def close(self) -> None:
        if self._handle:
            _disconnect(C.byref(self._handle))


class Prepared:
    """A prepared statement: its parameter and result types are known before it runs."""

    def __init__(self, connection: Connection, sql: str) -> None:
        self._connection = connection
        self._handle = _vp()
        if _prepare(connection._handle, sql.encode(), C.byref(self._handle)) != 0:
            message = _prepare_error(self._handle)
            _destroy_prepare(C.byref(self._handle))
            raise DuckDBError(message.decode(errors="replace") if message else "prepare failed")
        self.param_count = _nparams(self._handle)
        self.sql = sql
        self.statement_type = _prepared_statement_type(self._handle)
        #: engine/statement.py's memo for this statement (identities, result schema)
        self.memo = None
        self.sql = sql  # (what engine/jsonb_typing.py reads: jsonb has no type of its own)

    @property
    def connection(self) -> Connection:
        return self._connection

    def _param_type(self, index: int) -> _vp | None:
        """The logical type of parameter ``index`` (1-based), None if DuckDB could not
        infer it; the caller destroys a returned handle."""
        handle = _vp(_param_logical_type(self._handle, index))
        if handle and _get_type_id(handle) != _TYPE_INVALID:
            return handle
        if handle:
            _destroy_logical_type(C.byref(handle))
        return None

    def unresolved_params(self) -> list[int]:
        """1-based indexes of parameters whose type DuckDB could not infer."""
        unresolved = []
        for index in range(1, self.param_count + 1):
            handle = self._param_type(index)
            if handle is None:
                unresolved.append(index)
            else:
                _destroy_logical_type(C.byref(handle))
        return unresolved

    def param_schema(self) -> pa.Schema:
        """The parameters' types as an Arrow schema (fields "$1", "$2", ...); a parameter
        DuckDB could not type has the Arrow null type."""
        types = [self._param_type(i) for i in range(1, self.param_count + 1)]
        known = [(i, t) for i, t in enumerate(types) if t is not None]
        schema = self._schema([t for _, t in known], [f"${i + 1}".encode() for i, _ in known])
        fields = [pa.field(f"${i + 1}", pa.null()) for i in range(self.param_count)]
        for (i, _), field in zip(known, schema):
            fields[i] = field
        return pa.schema(fields)

    def result_schema(self) -> pa.Schema:
        """The result columns as DuckDB will produce them (DML: one "Count" column).

        Some statements DuckDB binds only when they run (a json function of a parameter):
        their columns are unknown here, given as one column of the Arrow null type."""
        count = _column_count_prepared(self._handle)
        types = [_column_type_prepared(self._handle, i) for i in range(count)]
        names = [_take_string(_column_name_prepared(self._handle, i)).encode()
                 for i in range(count)]
        if any(_get_type_id(t) == _TYPE_INVALID for t in types):
            _destroy_types(types)
            return pa.schema([pa.field(n.decode(), pa.null()) for n in names])
        return self._schema(types, names)

    def enum_columns(self) -> dict[int, tuple[tuple[str, ...], bool]]:
        """Result columns of an ENUM type, or a list / array of one: index -> (labels,
        is_array). DuckDB keeps no enum type's name in a result type (no alias either),
        and Arrow gets a plain dictionary: the labels are what identifies the type."""
        found = {}
        for i in range(_column_count_prepared(self._handle)):
            handle = _vp(_column_type_prepared(self._handle, i))
            try:
                labels = _enum_labels(handle)
                if labels is not None:
                    found[i] = (labels, False)
                    continue
                child_of = {_TYPE_LIST: _list_child, _TYPE_ARRAY: _array_child}.get(
                    _get_type_id(handle))
                if child_of is not None:
                    child = _vp(child_of(handle))
                    try:
                        labels = _enum_labels(child)
                    finally:
                        _destroy_logical_type(C.byref(child))
                    if labels is not None:
                        found[i] = (labels, True)
            finally:
                _destroy_logical_type(C.byref(handle))
        return found

    def has_struct_columns(self) -> bool:
        """Whether a result column is a STRUCT, or a list / array of one (nested lists
        included): only those can be of a composite type. C API type ids only, so a
        statement without any costs no Arrow schema."""
        for i in range(_column_count_prepared(self._handle)):
            handle = _vp(_column_type_prepared(self._handle, i))
            try:
                if _holds_struct(handle):
                    return True
            finally:
                _destroy_logical_type(C.byref(handle))
        return False

    def column_count(self) -> int:
        return _column_count_prepared(self._handle)

    def json_columns(self) -> dict[int, tuple[str, bool]]:
        """Result columns of DuckDB's JSON type (VARCHAR aliased JSON), or a list /
        array of it: index -> (name, is_array). DuckDB keeps no other alias (``CREATE
        TYPE jsonb AS JSON`` is JSON here), so json and jsonb both come out as these."""
        found = {}
        for i in range(_column_count_prepared(self._handle)):
            handle = _vp(_column_type_prepared(self._handle, i))
            try:
                is_array = False
                while handle:
                    child_of = {_TYPE_LIST: _list_child, _TYPE_ARRAY: _array_child}.get(
                        _get_type_id(handle))
                    if child_of is None:
                        break
                    child = _vp(child_of(handle))
                    _destroy_logical_type(C.byref(handle))
                    handle, is_array = child, True
                alias = _type_alias(handle) if handle else None
                if alias and _take_string(alias) == "JSON":
                    found[i] = (_take_string(_column_name_prepared(self._handle, i)), is_array)
            finally:
                _destroy_logical_type(C.byref(handle))
        return found

    def _schema(self, types: list, names: list[bytes]) -> pa.Schema:
        options = self._connection.arrow_options()
        try:
            return _arrow_schema(options, types, names)
        finally:
            _destroy_arrow_options(C.byref(options))
            _destroy_types(types)

    def bind(self, values: Sequence[object]) -> None:
        if len(values) != self.param_count:
            raise DuckDBError(
                f"Invalid Input Error: bind message supplies {len(values)} parameters, "
                f"but prepared statement requires {self.param_count}")
        _clear_bindings(self._handle)
        for index, value in enumerate(values, 1):
            if _bind(self._handle, index, value) != 0:
                raise DuckDBError(f"Conversion Error: cannot bind parameter ${index}")

    def execute(self, known: tuple[tuple, pa.Schema] | None = None) -> Result:
        """Run the bound statement. ``known`` is an earlier result's (``shape``,
        schema): the schema is reused when this result has that shape."""
        result = _Result()
        if _execute_streaming(self._handle, C.byref(result)) != 0:
            message = _result_error(C.byref(result))
            _destroy_result(C.byref(result))
            raise DuckDBError(message.decode(errors="replace") if message else "execute failed")
        return Result(result, known)

    def close(self) -> None:
        if self._handle:
            _destroy_prepare(C.byref(self._handle))


class Result:
    """A streaming result: Arrow record batches, chunk by chunk, on demand.

    ``shape`` is what the Arrow schema follows from besides the connection's settings
    (column names, type ids, and the parameters of the few types checked cheaply), or
    None when a column's type has parameters not checked here (ENUM, LIST, STRUCT, ...).
    A statement re-planned at each execution (DuckDB re-binds it with the parameter
    values: ``date_trunc($1, d)`` is a DATE or a TIMESTAMP) can change its result
    types, so a schema is reused only for the same shape; building one costs ~15 us,
    the shape a few C calls."""

    def __init__(self, result: _Result, known: tuple[tuple, pa.Schema] | None = None) -> None:
        self._result: _Result | None = result
        self.kind = _result_return_type(result)
        self._options = _vp(_result_arrow_options(C.byref(result)))
        self.shape = _shape(result)
        if known is not None and self.shape is not None and known[0] == self.shape:
            self.schema = known[1]
            return
        count = _column_count(C.byref(result))
        types = [_column_type(C.byref(result), i) for i in range(count)]
        names = [_column_name(C.byref(result), i) for i in range(count)]  # owned by result
        try:
            self.schema = _arrow_schema(self._options, types, names)
        finally:
            _destroy_types(types)

    @property
    def exhausted(self) -> bool:
        """True once the last chunk has been fetched (the result is then closed)."""
        return self._result is None

    def fetch(self, max_rows: int) -> list[pa.RecordBatch]:
        """Batches holding up to about ``max_rows`` rows; an empty list at the end."""
        batches: list[pa.RecordBatch] = []
        rows = 0
        while self._result is not None and rows < max_rows:
            chunk = _vp(_fetch_chunk(self._result))
            if not chunk:  # the end, or an error (interrupt, failure mid-stream)
                message = _result_error(C.byref(self._result))
                self.close()
                if message:
                    raise DuckDBError(message.decode(errors="replace"))
                break
            try:
                array = _ArrowArray()
                _check(_chunk_to_arrow(self._options, chunk, C.byref(array)))
                batch = pa.RecordBatch._import_from_c(C.addressof(array), self.schema)
            finally:
                _destroy_chunk(C.byref(chunk))
            batches.append(batch)
            rows += batch.num_rows
        return batches

    def close(self) -> None:
        if self._result is not None:
            _destroy_arrow_options(C.byref(self._options))
            _destroy_result(C.byref(self._result))
            self._result = None

    def __del__(self) -> None:
        self.close()


def _shape(result: _Result) -> tuple | None:
    """Result.shape: per column (name, type id, alias or DECIMAL width and scale)."""
    shape = []
    pointer = C.byref(result)
    for i in range(_column_count(pointer)):
        type_id = _column_type_id(pointer, i)
        detail = None
        if type_id not in _PLAIN_TYPE_IDS:
            if type_id not in (_TYPE_VARCHAR, _TYPE_BLOB, _TYPE_DECIMAL):
                return None
            handle = _vp(_column_type(pointer, i))
            try:
                if type_id == _TYPE_DECIMAL:
                    detail = (_decimal_width(handle), _decimal_scale(handle))
                else:  # JSON is VARCHAR with an alias, exported as arrow.json
                    alias = _type_alias(handle)
                    detail = _take_string(alias) if alias else None
            finally:
                _destroy_logical_type(C.byref(handle))
        shape.append((_column_name(pointer, i), type_id, detail))
    return tuple(shape)


# -- binding Python values --------------------------------------------------------------

def _bind(statement: _vp, index: int, value: object) -> int:
    try:
        value = bind_form(value)
    except UnbindableValue as exc:
        raise DuckDBError(str(exc)) from None
    if value is None:
        return _bind_null(statement, index)
    if isinstance(value, bool):
        return _bind_boolean(statement, index, value)
    if isinstance(value, int):
        type_id = _param_type_id(statement, index)
        if type_id == _TYPE_UINTEGER and -(1 << 31) <= value < 0:
            # an int4 for an oid (pgjdbc binds an OID past 2^31 as a negative int):
            # PostgreSQL's int4 -> oid cast keeps the bits
            value += 1 << 32
        at_width = _BIND_AT_WIDTH.get(type_id)
        if at_width is not None and at_width[1] <= value <= at_width[2]:
            return at_width[0](statement, index, value)
        return _bind_int64(statement, index, value)
    if isinstance(value, float):
        if _param_type_id(statement, index) == _TYPE_FLOAT:
            return _bind_float(statement, index, value)
        return _bind_double(statement, index, value)
    if isinstance(value, bytes):
        return _bind_blob(statement, index, value, len(value))
    data = value.encode()
    return _bind_varchar(statement, index, data, len(data))
