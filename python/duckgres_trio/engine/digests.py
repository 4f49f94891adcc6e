"""SHA-2 digests DuckDB 1.5.5 lacks (sha224, sha384, sha512 of bytea), as scalar
functions registered through the C API and computed by hashlib.

DuckDB has sha1, sha256 and md5 only, and its crypto extension cannot be installed
offline. pg_catalog's pg_sha224 / pg_sha384 / pg_sha512 macros call these
(``duckgres_sha224(BLOB) -> BLOB``...); a database gets them once, when it is opened
(``statement.open_database``), in the standalone process and in each worker alike.
DuckDB calls the callback once per vector (up to 2048 rows) from its own threads;
ctypes takes the GIL for it, and hashlib releases it for large inputs.
"""

from __future__ import annotations

import ctypes as C
import hashlib

from duckgres_trio.engine import duckdb_capi as capi

_vp = C.c_void_p
_idx = C.c_uint64
_TYPE_BLOB = 18  # DUCKDB_TYPE_BLOB

#: The algorithms, by the SQL function's name.
ALGORITHMS = {"duckgres_sha224": "sha224", "duckgres_sha384": "sha384",
              "duckgres_sha512": "sha512"}


class _StringT(C.Structure):
    # duckdb_string_t: length, then 12 inlined bytes, or a 4-byte prefix and a pointer
    _fields_ = [("length", C.c_uint32), ("prefix", C.c_char * 4), ("pointer", C.c_void_p)]


assert C.sizeof(_StringT) == 16

_CALLBACK = C.CFUNCTYPE(None, _vp, _vp, _vp)
_create = capi._fn("duckdb_create_scalar_function", _vp)
_set_name = capi._fn("duckdb_scalar_function_set_name", None, _vp, C.c_char_p)
_add_parameter = capi._fn("duckdb_scalar_function_add_parameter", None, _vp, _vp)
_set_return_type = capi._fn("duckdb_scalar_function_set_return_type", None, _vp, _vp)
_set_function = capi._fn("duckdb_scalar_function_set_function", None, _vp, _CALLBACK)
_register = capi._fn("duckdb_register_scalar_function", C.c_int, _vp, _vp)
_destroy = capi._fn("duckdb_destroy_scalar_function", None, C.POINTER(_vp))
_create_type = capi._fn("duckdb_create_logical_type", _vp, C.c_int)
_destroy_type = capi._fn("duckdb_destroy_logical_type", None, C.POINTER(_vp))
_chunk_size = capi._fn("duckdb_data_chunk_get_size", _idx, _vp)
_chunk_vector = capi._fn("duckdb_data_chunk_get_vector", _vp, _vp, _idx)
_vector_data = capi._fn("duckdb_vector_get_data", _vp, _vp)
_vector_validity = capi._fn("duckdb_vector_get_validity", C.POINTER(C.c_uint64), _vp)
_ensure_validity = capi._fn("duckdb_vector_ensure_validity_writable", None, _vp)
_row_is_valid = capi._fn("duckdb_validity_row_is_valid", C.c_bool, C.POINTER(C.c_uint64),
                         _idx)
_set_invalid = capi._fn("duckdb_validity_set_row_invalid", None, C.POINTER(C.c_uint64), _idx)
_assign = capi._fn("duckdb_vector_assign_string_element_len", None, _vp, _idx, C.c_char_p,
                   _idx)
_set_error = capi._fn("duckdb_scalar_function_set_error", None, _vp, C.c_char_p)


def _blob(item: _StringT) -> bytes:
    if item.length <= 12:
        return C.string_at(C.addressof(item) + 4, item.length)
    return C.string_at(item.pointer, item.length)


def _callback(algorithm: str):
    def digest(info, chunk, output) -> None:
        try:
            rows = _chunk_size(chunk)
            vector = _chunk_vector(chunk, 0)
            items = C.cast(_vector_data(vector), C.POINTER(_StringT))
            validity = _vector_validity(vector)
            for row in range(rows):
                if validity and not _row_is_valid(validity, row):
                    _ensure_validity(output)
                    _set_invalid(_vector_validity(output), row)
                    continue
                value = hashlib.new(algorithm, _blob(items[row])).digest()
                _assign(output, row, value, len(value))
        except BaseException as exc:  # noqa: BLE001 - never unwind through DuckDB's frames
            _set_error(info, f"{algorithm}: {exc}".encode())
    return _CALLBACK(digest)


#: The callbacks live as long as the process: DuckDB keeps pointers to them.
_CALLBACKS = {name: _callback(algorithm) for name, algorithm in ALGORITHMS.items()}


def register(conn: capi.Connection) -> None:
    """Add the functions to the database behind ``conn`` (DuckDB's system catalog, so
    every connection sees them). Idempotent: a second registration is refused by DuckDB
    and ignored here."""
    blob = _vp(_create_type(_TYPE_BLOB))
    try:
        for name, callback in _CALLBACKS.items():
            function = _vp(_create())
            try:
                _set_name(function, name.encode())
                _add_parameter(function, blob)
                _set_return_type(function, blob)
                _set_function(function, callback)
                _register(conn._handle, function)
            finally:
                _destroy(C.byref(function))
    finally:
        _destroy_type(C.byref(blob))
