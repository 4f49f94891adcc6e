//! PostgreSQL frontend wire framing: bytes in, whole messages out; and DataRow
//! assembly with the encoding of the simplest column kinds (`rows`).
//!
//! This is the logic behind `duckgres_trio._native.FrameDecoder`, kept free of PyO3 so
//! it can be unit-tested and fuzzed without an interpreter. It must behave exactly like
//! the pure-Python reference, `duckgres_trio.wire.framing`, down to the error texts.

mod error;
mod framer;
mod pyrepr;
mod rows;

pub use error::{FrameError, LimitError};
pub use framer::{DEFAULT_MAX_MESSAGE, Framer, MAX_MESSAGE_LIMIT, MAX_STARTUP_PACKET};
pub use rows::{Column, Kind, NativeColumn, RowsError, Values, encode_data_rows, format_i64};
