//! PostgreSQL frontend wire framing: bytes in, whole messages out; and DataRow
//! assembly with the encoding of the common column kinds (`rows`, with `float` for
//! float4out/float8out, `numeric` for numeric, `datetime` for dates, times, timetz,
//! timestamps and intervals, `tzif` and `tzrule` for the offsets of named time zones,
//! `varbit` for BIT, `array` for arrays of those, multi-dimensional for nested lists,
//! and `json` for STRUCT / MAP / UNION as json); and COPY TO STDOUT rows in text, CSV
//! and binary format (`copy`), and the rows of binary COPY FROM data (`copy_in`); and
//! every backend message (`backend`), the twins of
//! `duckgres_trio.wire.backend`.
//!
//! This is the logic behind `duckgres_trio._native.FrameDecoder`, kept free of PyO3 so
//! it can be unit-tested and fuzzed without an interpreter. It must behave exactly like
//! the pure-Python reference, `duckgres_trio.wire.framing`, down to the error texts.

mod array;
pub mod backend;
mod copy;
mod copy_in;
mod datetime;
mod error;
mod float;
mod framer;
mod json;
mod numeric;
mod pyrepr;
mod rows;
mod tzif;
mod tzrule;
mod varbit;

pub use array::{ListColumn, ListOffsets};
pub use backend::{BackendError, ErrorFields, FieldDescription};
pub use copy::{CopyError, CopyFormat, CopyOptions, encode_copy_data, encode_copy_data_into};
pub use copy_in::{BinaryCopyError, BinaryRows, Field, split_binary_copy};
pub use datetime::TimeUnit;
pub use error::{FrameError, LimitError};
pub use float::{FLOAT_TEXT_MAX, format_f32, format_f64};
pub use framer::{DEFAULT_MAX_MESSAGE, Framer, MAX_MESSAGE_LIMIT, MAX_STARTUP_PACKET};
pub use json::{JsonColumn, MAX_DEPTH, MapNode, Node, StructNode, UnionNode};
pub use rows::{
    Column, Kind, Labels, NativeColumn, RowsError, Tz, Values, ViewBuffers, encode_data_rows,
    encode_data_rows_into, format_i64,
};
pub use tzif::{MAX_TZIF_LEN, TzifError, Zone};
pub use tzrule::RuleError;
