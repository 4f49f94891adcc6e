//! DataRow assembly: columns of values in, concatenated DataRow messages out.
//!
//! A column is either values already encoded elsewhere (the Python encoders), an
//! Arrow array of a kind encoded here (integers, bool, text/json, ENUM, float4/float8,
//! numeric including VARINT, bytea, uuid, varbit, date, time, timetz, timestamp,
//! timestamptz, interval), read straight from its buffers, an array (`array`: lists,
//! multi-dimensional for nested lists, of such values or of json), or a STRUCT / MAP /
//! UNION sent as json (`json`), whose members are any of these. timestamptz text is
//! printed in UTC, a fixed offset, or a named zone whose TZif file Python handed over
//! (`tzif`); its binary form is UTC in any zone. The bytes must equal those of the
//! pure-Python reference, `duckgres_trio.wire.rows.encode_rows` with `wire.text` /
//! `wire.binary`.

use std::fmt;

use crate::array::ListColumn;
use crate::datetime::{self, TimeUnit};
use crate::float::{self, FLOAT_TEXT_MAX};
use crate::json::JsonColumn;
use crate::numeric::{self, OutOfRange};
use crate::tzif::Zone;
use crate::varbit;

/// The NaN bit patterns PostgreSQL sends (C's NAN), whatever NaN the array holds.
const FLOAT8_NAN_BITS: u64 = 0x7FF8_0000_0000_0000;
const FLOAT4_NAN_BITS: u32 = 0x7FC0_0000;

/// The PostgreSQL type a native column is announced as (`wire.types.classify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int2,
    Int4,
    Int8,
    /// oid: DuckDB's UINTEGER, 4 bytes unsigned (the catalog's OIDs are UINTEGER).
    Oid,
    Bool,
    Text,
    /// arrow.json: its text, in both formats, like text.
    Json,
    Float4,
    Float8,
    Bytea,
    Uuid,
    Date,
    Timestamp,
    Timestamptz,
    /// numeric: DECIMAL (decimal128) and UBIGINT (uint64), dscale the Arrow scale.
    Numeric,
    /// numeric from DuckDB's HUGEINT: 16 bytes, little-endian two's complement.
    Hugeint,
    /// numeric from DuckDB's UHUGEINT: 16 bytes, little-endian unsigned.
    Uhugeint,
    Time,
    Interval,
    /// text from DuckDB's ENUM: an Arrow dictionary of strings, the label in both
    /// formats.
    Enum,
    /// varbit from DuckDB's BIT (`varbit`).
    Varbit,
    /// timetz from DuckDB's TIMETZ: 8 bytes, a little-endian u64 (`datetime::timetz_parts`).
    Timetz,
    /// numeric from DuckDB's VARINT: a 3-byte header, then the big-endian magnitude,
    /// every byte inverted if negative (`text.bignum_value`).
    Bignum,
}

impl Kind {
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "int2" => Self::Int2,
            "int4" => Self::Int4,
            "int8" => Self::Int8,
            "oid" => Self::Oid,
            "bool" => Self::Bool,
            "text" => Self::Text,
            "json" => Self::Json,
            "float4" => Self::Float4,
            "float8" => Self::Float8,
            "bytea" => Self::Bytea,
            "uuid" => Self::Uuid,
            "date" => Self::Date,
            "timestamp" => Self::Timestamp,
            "timestamptz" => Self::Timestamptz,
            "decimal" | "uint64" => Self::Numeric,
            "hugeint" => Self::Hugeint,
            "uhugeint" => Self::Uhugeint,
            "time" => Self::Time,
            "interval" => Self::Interval,
            "dictionary" => Self::Enum,
            "varbit" => Self::Varbit,
            "timetz" => Self::Timetz,
            "bignum" => Self::Bignum,
            _ => return None,
        })
    }

    /// The OID of the PostgreSQL type announced for a value of this kind
    /// (`wire.types._SCALARS`): an array's element type.
    pub fn oid(self) -> u32 {
        match self {
            Self::Bool => 16,
            Self::Bytea => 17,
            Self::Int8 => 20,
            Self::Int2 => 21,
            Self::Int4 => 23,
            Self::Text | Self::Enum => 25,
            Self::Oid => 26,
            Self::Json => 114,
            Self::Float4 => 700,
            Self::Float8 => 701,
            Self::Date => 1082,
            Self::Time => 1083,
            Self::Timestamp => 1114,
            Self::Timestamptz => 1184,
            Self::Interval => 1186,
            Self::Timetz => 1266,
            Self::Varbit => 1562,
            Self::Numeric | Self::Hugeint | Self::Uhugeint | Self::Bignum => 1700,
            Self::Uuid => 2950,
        }
    }

    /// Width in bytes of an integer kind's binary form.
    fn int_width(self) -> Option<usize> {
        match self {
            Self::Int2 => Some(2),
            Self::Int4 | Self::Oid => Some(4),
            Self::Int8 => Some(8),
            _ => None,
        }
    }
}

/// The physical layout of an Arrow array's value buffers.
#[derive(Debug, Clone, Copy)]
pub enum Values<'a> {
    /// Fixed-width little-endian integers of `width` bytes (1, 2, 4 or 8).
    Int {
        data: &'a [u8],
        width: usize,
        signed: bool,
    },
    /// Arrow boolean: bit-packed, LSB first.
    Bool { bits: &'a [u8] },
    /// Arrow utf8 (`large` false: int32 offsets) or large_utf8 (int64 offsets).
    Utf8 {
        offsets: &'a [u8],
        data: &'a [u8],
        large: bool,
    },
    /// Arrow binary or large_binary: the layout of utf8, any bytes.
    Binary {
        offsets: &'a [u8],
        data: &'a [u8],
        large: bool,
    },
    /// Arrow string_view / binary_view: 16-byte views (int32 length, then the bytes
    /// inline up to 12, else a 4-byte prefix, int32 buffer index and int32 offset)
    /// into any number of data buffers.
    View {
        views: &'a [u8],
        buffers: &'a dyn ViewBuffers,
    },
    /// Arrow fixed_size_binary(width).
    FixedBinary { data: &'a [u8], width: usize },
    /// Arrow float (`double` false) or double: little-endian IEEE 754.
    Float { data: &'a [u8], double: bool },
    /// Arrow halffloat: little-endian IEEE binary16, sent as float4.
    Half { data: &'a [u8] },
    /// Arrow date32: int32 days since 1970-01-01.
    Date32 { data: &'a [u8] },
    /// Arrow date64: int64 milliseconds since 1970-01-01 (floored to days).
    Date64 { data: &'a [u8] },
    /// Arrow timestamp: int64 `unit`s since 1970-01-01 00:00 (UTC if `tz` is set).
    Timestamp {
        data: &'a [u8],
        unit: TimeUnit,
        tz: Tz<'a>,
    },
    /// Arrow decimal128(p, `scale`): 16-byte little-endian two's complement unscaled
    /// integers (a negative scale is left to Python: PostgreSQL's dscale cannot be).
    Decimal128 { data: &'a [u8], scale: u16 },
    /// Arrow time32 (`unit` s or ms, int32) or time64 (us or ns, int64): since midnight.
    Time { data: &'a [u8], unit: TimeUnit },
    /// Arrow month_day_nano_interval: int32 months, int32 days, int64 nanoseconds.
    Interval { data: &'a [u8] },
    /// Arrow duration (`unit` us or ns: microseconds fit an i64), an interval of
    /// microseconds only.
    Duration { data: &'a [u8], unit: TimeUnit },
    /// Arrow dictionary of strings: integer `indices` (`width` bytes, 1 to 8) into
    /// `labels`, an array of its own.
    Dictionary {
        indices: &'a [u8],
        width: usize,
        signed: bool,
        labels: Labels<'a>,
    },
}

/// The data buffers of a string_view / binary_view array, by the index a view holds:
/// their number varies from array to array, so the reader hands them out (Sync: the
/// encoding runs without the GIL, possibly on another thread).
pub trait ViewBuffers: Sync {
    fn data_buffer(&self, index: usize) -> Option<&[u8]>;
}

impl fmt::Debug for dyn ViewBuffers + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ViewBuffers")
    }
}

/// The bytes of view `i`, checked against its buffer (a view out of range is an
/// error, as a bad offset is).
fn view_slice<'a>(
    views: &'a [u8],
    buffers: &'a dyn ViewBuffers,
    i: usize,
) -> Result<&'a [u8], RowsError> {
    let view = fixed::<16>(views, i);
    let word = |at: usize| i32::from_le_bytes(fixed::<4>(&view, at));
    let len = usize::try_from(word(0)).map_err(|_| RowsError::BadOffsets)?;
    if len <= 12 {
        return Ok(&views[i * 16 + 4..i * 16 + 4 + len]);
    }
    let (Ok(index), Ok(start)) = (usize::try_from(word(2)), usize::try_from(word(3))) else {
        return Err(RowsError::BadOffsets);
    };
    buffers
        .data_buffer(index)
        .and_then(|data| data.get(start..start.checked_add(len)?))
        .ok_or(RowsError::BadOffsets)
}

/// A dictionary's values: an Arrow utf8 / large_utf8 array with its own validity,
/// offset and length (`offset` and `len` in elements, as pyarrow reports them).
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    pub offsets: &'a [u8],
    pub data: &'a [u8],
    pub large: bool,
    pub validity: Option<&'a [u8]>,
    pub offset: usize,
    pub len: usize,
}

impl<'a> Labels<'a> {
    /// Whether the offsets and validity cover every label.
    fn covered(&self) -> bool {
        let Some(end) = self.offset.checked_add(self.len) else {
            return false;
        };
        let size = if self.large { 8 } else { 4 };
        (end + 1)
            .checked_mul(size)
            .is_some_and(|n| n <= self.offsets.len())
            && self
                .validity
                .is_none_or(|bits| end.div_ceil(8) <= bits.len())
    }

    /// Label `index` (checked against the dictionary's length), None if it is NULL.
    fn get(&self, index: usize) -> Result<Option<&'a [u8]>, RowsError> {
        if index >= self.len {
            return Err(RowsError::BadIndex);
        }
        let i = self.offset + index;
        if self.validity.is_some_and(|bits| !bit(bits, i)) {
            return Ok(None);
        }
        var_slice(self.offsets, self.data, self.large, i).map(Some)
    }
}

impl Values<'_> {
    /// Bytes per element of a fixed-width layout; None for the variable-width ones.
    fn fixed_width(&self) -> Option<usize> {
        Some(match *self {
            Self::Int { width, .. } | Self::FixedBinary { width, .. } => width,
            Self::Float { double, .. } => {
                if double {
                    8
                } else {
                    4
                }
            }
            Self::Half { .. } => 2,
            Self::Date32 { .. } => 4,
            Self::Timestamp { .. } | Self::Date64 { .. } | Self::Duration { .. } => 8,
            Self::Decimal128 { .. } | Self::Interval { .. } => 16,
            Self::Time { unit, .. } => time_width(unit),
            Self::Dictionary { width, .. } => width,
            Self::View { .. } => 16,
            Self::Bool { .. } | Self::Utf8 { .. } | Self::Binary { .. } => return None,
        })
    }
}

/// Arrow's time32 holds seconds and milliseconds, time64 micro- and nanoseconds.
fn time_width(unit: TimeUnit) -> usize {
    match unit {
        TimeUnit::Second | TimeUnit::Milli => 4,
        TimeUnit::Micro | TimeUnit::Nano => 8,
    }
}

/// An Arrow timestamp type's time zone, as far as the text form needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tz<'a> {
    /// No time zone: timestamp without time zone.
    Naive,
    /// "UTC" or a fixed "+HH:MM": this many seconds east of UTC at every instant.
    Fixed(i32),
    /// A named zone whose TZif data Python handed over: its offset at each instant.
    Zone(&'a Zone),
    /// Any other zone: its offsets are not known here, so only the binary form
    /// (UTC microseconds) is encoded natively.
    Other,
}

impl Tz<'_> {
    /// Seconds east of UTC at an instant (microseconds since 1970), None if naive.
    fn offset_at(self, usecs: i128) -> Result<Option<i32>, RowsError> {
        Ok(match self {
            Self::Naive => None,
            Self::Fixed(east) => Some(east),
            Self::Zone(zone) => Some(zone.utc_offset(usecs)),
            Self::Other => return Err(RowsError::KindMismatch(Kind::Timestamptz)),
        })
    }
}

/// An Arrow array (`offset` and `len` in elements, as pyarrow reports them) to be
/// encoded as `kind` in text (`binary` false) or binary format.
#[derive(Debug, Clone, Copy)]
pub struct NativeColumn<'a> {
    kind: Kind,
    binary: bool,
    values: Values<'a>,
    validity: Option<&'a [u8]>,
    offset: usize,
    len: usize,
}

/// One column of a batch.
#[derive(Debug, Clone)]
pub enum Column<'a> {
    /// One value per row, already encoded; None is SQL NULL.
    Encoded(Vec<Option<&'a [u8]>>),
    Native(NativeColumn<'a>),
    /// An array of native or json elements, of one dimension per list level.
    List(ListColumn<'a>),
    /// A STRUCT, MAP or UNION, as json.
    Json(JsonColumn<'a>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowsError {
    /// The Arrow layout cannot hold values of the announced kind.
    KindMismatch(Kind),
    /// A buffer is shorter than `offset + len` elements need.
    BufferTooShort,
    /// A string's offsets are decreasing or point past the data.
    BadOffsets,
    /// A column's length differs from the row count.
    LengthMismatch {
        column: usize,
        len: usize,
        rows: usize,
    },
    /// More than 32767 columns, or a value or row over PostgreSQL's int32 lengths.
    TooLarge,
    /// A dictionary index that is negative or past the dictionary.
    BadIndex,
    /// A value DuckDB never sends: a BIT or VARINT without its header, a BIT whose
    /// padding is longer than its bits.
    Malformed(Kind),
    /// A VARINT with more digits than PostgreSQL's numeric holds.
    OutOfRange(Kind),
    /// A NULL or ragged sub-list in a binary multi-dimensional array (PostgreSQL's
    /// 2202E, `wire.binary.RaggedArrayError`).
    RaggedArray,
    /// A nested column's arrays do not fit together (lengths, type ids, depth).
    MalformedNested(&'static str),
}

impl fmt::Display for RowsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KindMismatch(kind) => write!(f, "Arrow array layout does not fit kind {kind:?}"),
            Self::BufferTooShort => f.write_str("Arrow buffer shorter than the array"),
            Self::BadOffsets => f.write_str("Arrow string offsets out of range"),
            Self::LengthMismatch { column, len, rows } => {
                write!(f, "column {column} has {len} values, expected {rows}")
            }
            Self::TooLarge => f.write_str("DataRow too large"),
            Self::BadIndex => f.write_str("Arrow dictionary index out of range"),
            Self::Malformed(kind) => write!(f, "malformed {kind:?} value"),
            Self::OutOfRange(kind) => {
                write!(f, "{kind:?} value out of range for PostgreSQL numeric")
            }
            Self::RaggedArray => f.write_str(
                "multidimensional arrays must have array expressions with matching dimensions",
            ),
            Self::MalformedNested(what) => write!(f, "malformed nested Arrow array: {what}"),
        }
    }
}

impl std::error::Error for RowsError {}

impl<'a> NativeColumn<'a> {
    /// Checks that `values` can be read as `kind` and that every buffer covers
    /// `offset + len` elements, so encoding cannot index out of range.
    pub fn new(
        kind: Kind,
        binary: bool,
        values: Values<'a>,
        validity: Option<&'a [u8]>,
        offset: usize,
        len: usize,
    ) -> Result<Self, RowsError> {
        let end = offset.checked_add(len).ok_or(RowsError::BufferTooShort)?;
        let bits_fit = |bits: &[u8]| end.div_ceil(8) <= bits.len();
        let fits = match (kind, values) {
            (Kind::Int2 | Kind::Int4 | Kind::Int8, Values::Int { width, signed, .. }) => {
                // Unsigned values go one size up (types._INT_KIND): always exact.
                let announced = kind.int_width().unwrap_or(0);
                matches!(width, 1 | 2 | 4 | 8)
                    && (width < announced || (signed && width == announced))
            }
            (Kind::Bool, Values::Bool { .. }) => true,
            // arrow.bool8: int8 storage, nonzero is true.
            (Kind::Bool, Values::Int { width: 1, .. }) => true,
            (
                Kind::Oid,
                Values::Int {
                    width: 4,
                    signed: false,
                    ..
                },
            ) => true,
            (Kind::Text | Kind::Json, Values::Utf8 { .. } | Values::View { .. }) => true,
            (Kind::Float4, Values::Float { double: false, .. } | Values::Half { .. }) => true,
            (Kind::Float8, Values::Float { double: true, .. }) => true,
            (
                Kind::Bytea,
                Values::Binary { .. } | Values::FixedBinary { .. } | Values::View { .. },
            ) => true,
            (Kind::Uuid, Values::FixedBinary { width: 16, .. }) => true,
            (Kind::Date, Values::Date32 { .. } | Values::Date64 { .. }) => true,
            (Kind::Timestamp, Values::Timestamp { tz: Tz::Naive, .. }) => true,
            (
                Kind::Timestamptz,
                Values::Timestamp {
                    tz: Tz::Fixed(_) | Tz::Zone(_),
                    ..
                },
            ) => true,
            // The binary form is UTC microseconds, whatever the zone.
            (Kind::Timestamptz, Values::Timestamp { tz: Tz::Other, .. }) => binary,
            (Kind::Numeric, Values::Decimal128 { .. } | Values::Int { .. }) => true,
            (Kind::Hugeint | Kind::Uhugeint, Values::FixedBinary { width: 16, .. }) => true,
            (Kind::Time, Values::Time { .. }) => true,
            (Kind::Interval, Values::Interval { .. }) => true,
            // Seconds or milliseconds can pass i64 microseconds: left to Python.
            (
                Kind::Interval,
                Values::Duration {
                    unit: TimeUnit::Micro | TimeUnit::Nano,
                    ..
                },
            ) => true,
            (Kind::Enum, Values::Dictionary { width, .. }) => matches!(width, 1 | 2 | 4 | 8),
            (Kind::Varbit | Kind::Bignum, Values::Binary { .. }) => true,
            (Kind::Timetz, Values::FixedBinary { width: 8, .. }) => true,
            _ => false,
        };
        if !fits {
            return Err(RowsError::KindMismatch(kind));
        }
        let fixed_fit =
            |data: &[u8], width: usize| end.checked_mul(width).is_some_and(|n| n <= data.len());
        let covered = match values {
            Values::Int { data, .. }
            | Values::FixedBinary { data, .. }
            | Values::Float { data, .. }
            | Values::Half { data }
            | Values::Date32 { data }
            | Values::Date64 { data }
            | Values::Duration { data, .. }
            | Values::Timestamp { data, .. }
            | Values::Decimal128 { data, .. }
            | Values::Time { data, .. }
            | Values::Interval { data }
            | Values::View { views: data, .. } => {
                fixed_fit(data, values.fixed_width().unwrap_or(0))
            }
            Values::Dictionary {
                indices,
                width,
                labels,
                ..
            } => fixed_fit(indices, width) && labels.covered(),
            Values::Bool { bits } => bits_fit(bits),
            Values::Utf8 { offsets, large, .. } | Values::Binary { offsets, large, .. } => {
                let size = if large { 8 } else { 4 };
                (end + 1)
                    .checked_mul(size)
                    .is_some_and(|n| n <= offsets.len())
            }
        };
        if !covered || validity.is_some_and(|bits| !bits_fit(bits)) {
            return Err(RowsError::BufferTooShort);
        }
        Ok(Self {
            kind,
            binary,
            values,
            validity,
            offset,
            len,
        })
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    pub(crate) fn binary(&self) -> bool {
        self.binary
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Roughly the most bytes a value takes (its length word aside).
    pub(crate) fn estimated_width(&self) -> usize {
        let average =
            |offsets: &[u8], large: bool| average_len(offsets, large, self.offset, self.len);
        // (binary, text); text: the longest int8out, float8out, date_out, ... forms.
        let (in_binary, in_text) = match self.values {
            // numeric: an 8-byte header and up to 5 base-10000 digits; 20 digits.
            Values::Int { .. } if self.kind == Kind::Numeric => (18, 20),
            Values::Int { width, .. } => (width, 4 + 2 * width),
            Values::Bool { .. } => (1, 1),
            Values::Utf8 { offsets, large, .. } => {
                let n = average(offsets, large);
                (n, n)
            }
            Values::Binary { offsets, large, .. } => {
                let n = average(offsets, large);
                match self.kind {
                    // varbit: 8 bits a byte; numeric: about 2.4 digits a byte.
                    Kind::Varbit => (4 + n, 8 * n),
                    Kind::Bignum => (8 + n, 3 * n),
                    _ => (n, 2 + 2 * n),
                }
            }
            // The lengths are in the views: a guess.
            Values::View { .. } => (24, 24),
            Values::FixedBinary { .. } if self.kind == Kind::Timetz => (12, 32),
            Values::FixedBinary { width, .. } => (width, 4 + 2 * width),
            Values::Float { double, .. } => (if double { 8 } else { 4 }, FLOAT_TEXT_MAX),
            Values::Half { .. } => (4, FLOAT_TEXT_MAX),
            Values::Date32 { .. } => (4, 16),
            Values::Date64 { .. } => (4, 24),
            Values::Duration { .. } => (16, 32),
            Values::Timestamp { .. } => (8, 32),
            // numeric: 8-byte header and up to 11 base-10000 digits; about 40 digits.
            Values::Decimal128 { .. } => (30, 42),
            Values::Time { .. } => (8, 15),
            Values::Interval { .. } => (16, 48),
            Values::Dictionary { labels, .. } => {
                let n = average_len(labels.offsets, labels.large, labels.offset, labels.len);
                (n, n)
            }
        };
        if self.binary { in_binary } else { in_text }
    }

    /// Whether row `row` is NULL: by the validity, or for an ENUM a NULL label (a bad
    /// index is not NULL: `write_value` reports it).
    pub(crate) fn is_null(&self, row: usize) -> bool {
        if self
            .validity
            .is_some_and(|bits| !bit(bits, self.offset + row))
        {
            return true;
        }
        matches!(self.values, Values::Dictionary { .. })
            && matches!(self.label(self.offset + row), Ok(None))
    }

    /// The label of element `i` of a dictionary column (None: NULL, or not one).
    fn label(&self, i: usize) -> Result<Option<&'a [u8]>, RowsError> {
        let Values::Dictionary {
            indices,
            width,
            signed,
            labels,
        } = self.values
        else {
            return Ok(None);
        };
        let index = read_int(&indices[i * width..(i + 1) * width], signed);
        // u64 indices past i64::MAX read as negative: out of range all the same.
        let index = usize::try_from(index).map_err(|_| RowsError::BadIndex)?;
        labels.get(index)
    }

    /// Appends row `row`'s value: its int32 length then its bytes, or -1 for NULL.
    pub(crate) fn write_value(&self, row: usize, out: &mut Vec<u8>) -> Result<(), RowsError> {
        if self.is_null(row) {
            out.extend_from_slice(&(-1i32).to_be_bytes());
            return Ok(());
        }
        let i = self.offset + row;
        match self.values {
            Values::Int {
                data,
                width,
                signed,
            } => {
                let value = read_int(&data[i * width..(i + 1) * width], signed);
                if self.kind == Kind::Numeric {
                    // UBIGINT: its bits as a u64, as it may not fit an i64.
                    let (negative, magnitude) = if signed {
                        (value < 0, u128::from(value.unsigned_abs()))
                    } else {
                        (false, u128::from(value as u64))
                    };
                    return self.write_numeric(negative, magnitude, 0, out);
                }
                if self.kind == Kind::Bool {
                    write_bool(value != 0, self.binary, out);
                } else if self.binary {
                    // The announced width's low bytes, big-endian: first in `be`.
                    let w = self.kind.int_width().unwrap_or(8);
                    let be = ((value as u64) << (64 - 8 * w as u32)).to_be_bytes();
                    write_short(&be, w, out);
                } else {
                    let mut digits = [0u8; 20];
                    let len = format_i64(value, &mut digits).len();
                    // Left-align the digits so that a fixed-size copy carries them.
                    digits.copy_within(20 - len.., 0);
                    write_short(&digits, len, out);
                }
            }
            Values::Bool { bits } => write_bool(bit(bits, i), self.binary, out),
            Values::Utf8 {
                offsets,
                data,
                large,
            } => {
                let (start, end) = var_bounds(offsets, data, large, i)?;
                let chunk = data.get(start..start + SHORT);
                match chunk.and_then(|chunk| <&[u8; SHORT]>::try_from(chunk).ok()) {
                    // A short string followed by enough data: one fixed-size copy.
                    Some(chunk) if end - start <= SHORT => write_short(chunk, end - start, out),
                    _ => write_len_value(&data[start..end], out)?,
                }
            }
            Values::Binary {
                offsets,
                data,
                large,
            } => {
                let bytes = var_slice(offsets, data, large, i)?;
                match self.kind {
                    Kind::Varbit => self.write_varbit(bytes, out)?,
                    Kind::Bignum => self.write_bignum(bytes, out)?,
                    _ => self.write_bytes(bytes, out)?,
                }
            }
            Values::View { views, buffers } => {
                let bytes = view_slice(views, buffers, i)?;
                match self.kind {
                    Kind::Bytea => self.write_bytes(bytes, out)?,
                    _ => write_len_value(bytes, out)?,
                }
            }
            Values::FixedBinary { data, width } => {
                let bytes = &data[i * width..(i + 1) * width];
                match self.kind {
                    Kind::Uuid if !self.binary => write_uuid_text(bytes, out),
                    Kind::Timetz => {
                        let (usecs, east) =
                            datetime::timetz_parts(u64::from_le_bytes(fixed::<8>(data, i)));
                        if self.binary {
                            write_fixed(&datetime::timetz_binary(usecs, east), out);
                        } else {
                            write_text(out, |out| datetime::timetz_text(usecs, east, out))?;
                        }
                    }
                    Kind::Hugeint => {
                        let value = i128::from_le_bytes(fixed::<16>(data, i));
                        self.write_numeric(value < 0, value.unsigned_abs(), 0, out)?;
                    }
                    Kind::Uhugeint => {
                        let value = u128::from_le_bytes(fixed::<16>(data, i));
                        self.write_numeric(false, value, 0, out)?;
                    }
                    _ => self.write_bytes(bytes, out)?,
                }
            }
            Values::Float { data, double: true } => {
                let value = f64::from_le_bytes(fixed::<8>(data, i));
                if self.binary {
                    let bits = if value.is_nan() {
                        FLOAT8_NAN_BITS
                    } else {
                        value.to_bits()
                    };
                    write_fixed(&bits.to_be_bytes(), out);
                } else {
                    let mut text = [0u8; FLOAT_TEXT_MAX];
                    let len = float::format_f64(value, &mut text);
                    write_short(&text, len, out);
                }
            }
            Values::Float {
                data,
                double: false,
            } => self.write_f32(f32::from_le_bytes(fixed::<4>(data, i)), out),
            Values::Half { data } => {
                let value = float::half_to_f32(u16::from_le_bytes(fixed::<2>(data, i)));
                self.write_f32(value, out);
            }
            Values::Date32 { data } => {
                self.write_date(i32::from_le_bytes(fixed::<4>(data, i)).into(), out)?;
            }
            Values::Date64 { data } => {
                let millis = i64::from_le_bytes(fixed::<8>(data, i));
                self.write_date(millis.div_euclid(86_400_000), out)?;
            }
            Values::Timestamp { data, unit, tz } => {
                let value = i64::from_le_bytes(fixed::<8>(data, i));
                if self.binary {
                    write_fixed(&datetime::timestamp_binary(value, unit).to_be_bytes(), out);
                } else {
                    // An infinity needs no offset; the lookup is harmless all the same.
                    let offset = tz.offset_at(unit.to_usecs(value))?;
                    write_text(out, |out| {
                        datetime::timestamp_text(value, unit, offset, out)
                    })?;
                }
            }
            Values::Decimal128 { data, scale } => {
                let value = i128::from_le_bytes(fixed::<16>(data, i));
                self.write_numeric(value < 0, value.unsigned_abs(), scale, out)?;
            }
            Values::Time { data, unit } => {
                let raw = if time_width(unit) == 4 {
                    i64::from(i32::from_le_bytes(fixed::<4>(data, i)))
                } else {
                    i64::from_le_bytes(fixed::<8>(data, i))
                };
                // Seconds or milliseconds of an int32, or a floored int64: fits an i64.
                let usecs = unit.to_usecs(raw) as i64;
                if self.binary {
                    write_fixed(&usecs.to_be_bytes(), out);
                } else {
                    write_text(out, |out| datetime::time_text(usecs, out))?;
                }
            }
            Values::Interval { data } => {
                let value = &data[i * 16..(i + 1) * 16];
                let months = i32::from_le_bytes(fixed::<4>(value, 0));
                let days = i32::from_le_bytes(fixed::<4>(value, 1));
                // Truncated toward zero (`text.nanos_to_usecs`).
                let usecs = i64::from_le_bytes(fixed::<8>(value, 1)) / 1000;
                self.write_interval(months, days, usecs, out)?;
            }
            Values::Duration { data, unit } => {
                // Floored, as `text.to_usecs` does; us and ns only, so it fits.
                let usecs = unit.to_usecs(i64::from_le_bytes(fixed::<8>(data, i))) as i64;
                self.write_interval(0, 0, usecs, out)?;
            }
            // enum_out / enum_send: the label's text in both formats.
            Values::Dictionary { .. } => match self.label(i)? {
                Some(label) => write_len_value(label, out)?,
                None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            },
        }
        Ok(())
    }

    /// float4out, or float4send's bits (every NaN as PostgreSQL's one NaN).
    fn write_f32(&self, value: f32, out: &mut Vec<u8>) {
        if self.binary {
            let bits = if value.is_nan() {
                FLOAT4_NAN_BITS
            } else {
                value.to_bits()
            };
            write_fixed(&bits.to_be_bytes(), out);
        } else {
            let mut text = [0u8; FLOAT_TEXT_MAX];
            let len = float::format_f32(value, &mut text);
            write_short(&text, len, out);
        }
    }

    /// date_out or date_send of days since 1970-01-01.
    fn write_date(&self, days: i64, out: &mut Vec<u8>) -> Result<(), RowsError> {
        if self.binary {
            write_fixed(&datetime::date_binary(days).to_be_bytes(), out);
            Ok(())
        } else {
            write_text(out, |out| datetime::date_text(days, out))
        }
    }

    /// interval_out, or interval_send: int64 microseconds, int32 days, int32 months.
    fn write_interval(
        &self,
        months: i32,
        days: i32,
        usecs: i64,
        out: &mut Vec<u8>,
    ) -> Result<(), RowsError> {
        if self.binary {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&usecs.to_be_bytes());
            bytes[8..12].copy_from_slice(&days.to_be_bytes());
            bytes[12..].copy_from_slice(&months.to_be_bytes());
            write_fixed(&bytes, out);
            Ok(())
        } else {
            write_text(out, |out| datetime::interval_text(months, days, usecs, out))
        }
    }

    /// varbit_out's '0'/'1' digits, or varbit_send: int32 bit count, then the bits.
    fn write_varbit(&self, value: &[u8], out: &mut Vec<u8>) -> Result<(), RowsError> {
        let malformed = |_| RowsError::Malformed(self.kind);
        let length = varbit::bit_length(value).map_err(malformed)?;
        let mut result = Ok(());
        write_text(out, |out| {
            result = if self.binary {
                // Over i32::MAX bits the value itself is over PostgreSQL's lengths.
                match i32::try_from(length) {
                    Ok(length) => {
                        out.extend_from_slice(&length.to_be_bytes());
                        varbit::varbit_binary(value, out).map_err(malformed)
                    }
                    Err(_) => Err(RowsError::TooLarge),
                }
            } else {
                varbit::varbit_text(value, out).map_err(malformed)
            };
        })?;
        result
    }

    /// numeric_out / numeric_send (dscale 0) of a DuckDB VARINT: 3 header bytes, the
    /// first's top bit set for a value >= 0, then the big-endian magnitude; a negative
    /// value has every byte inverted. As `text.bignum_value`, the header is not
    /// checked further (fewer than 3 bytes: zero).
    fn write_bignum(&self, value: &[u8], out: &mut Vec<u8>) -> Result<(), RowsError> {
        let first = *value.first().ok_or(RowsError::Malformed(self.kind))?;
        let negative = first & 0x80 == 0;
        let body = value.get(3..).unwrap_or_default();
        let inverted: Vec<u8>;
        let magnitude = if negative {
            inverted = body.iter().map(|byte| !byte).collect();
            &inverted[..]
        } else {
            body
        };
        let mut digits = Vec::new();
        let out_of_range = |_: OutOfRange| RowsError::OutOfRange(self.kind);
        numeric::big_digits(magnitude, numeric::NUMERIC_MAX_DIGITS, &mut digits)
            .map_err(out_of_range)?;
        // -0 is 0 (Python ints have no negative zero).
        let negative = negative && digits != b"0";
        let mut result = Ok(());
        write_text(out, |out| {
            if self.binary {
                result = numeric::digits_binary(negative, &digits, 0, out).map_err(out_of_range);
            } else {
                numeric::digits_text(negative, &digits, 0, out);
            }
        })?;
        result
    }

    /// numeric_out or numeric_send of sign, magnitude and scale.
    fn write_numeric(
        &self,
        negative: bool,
        magnitude: u128,
        scale: u16,
        out: &mut Vec<u8>,
    ) -> Result<(), RowsError> {
        write_text(out, |out| {
            if self.binary {
                numeric::numeric_binary(negative, magnitude, scale, out);
            } else {
                numeric::numeric_text(negative, magnitude, scale, out);
            }
        })
    }

    /// bytea: byteaout's hex text (`\x` then lowercase digits) or byteasend's bytes.
    fn write_bytes(&self, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), RowsError> {
        if self.binary {
            return write_len_value(bytes, out);
        }
        let len = bytes
            .len()
            .checked_mul(2)
            .and_then(|n| n.checked_add(2))
            .and_then(|n| i32::try_from(n).ok())
            .ok_or(RowsError::TooLarge)?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(b"\\x");
        let start = out.len();
        out.resize(start + 2 * bytes.len(), 0);
        for (pair, byte) in out[start..].chunks_exact_mut(2).zip(bytes) {
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 15)];
        }
        Ok(())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// uuid_out: lowercase 8-4-4-4-12 hex digits of the 16 bytes.
fn write_uuid_text(bytes: &[u8], out: &mut Vec<u8>) {
    let mut text = [0u8; 36];
    let mut at = 0;
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            text[at] = b'-';
            at += 1;
        }
        text[at] = HEX[usize::from(byte >> 4)];
        text[at + 1] = HEX[usize::from(byte & 15)];
        at += 2;
    }
    write_fixed(&text, out);
}

/// Element `i` of a fixed-width buffer (the caller checked the bounds: for a
/// column, `NativeColumn::new`).
pub(crate) fn fixed<const N: usize>(data: &[u8], i: usize) -> [u8; N] {
    let mut value = [0u8; N];
    value.copy_from_slice(&data[i * N..(i + 1) * N]);
    value
}

/// Strings up to this long are copied as a fixed-size block.
const SHORT: usize = 16;

/// The byte range of element `i` of a utf8 / binary array, checked against `data`.
fn var_bounds(
    offsets: &[u8],
    data: &[u8],
    large: bool,
    i: usize,
) -> Result<(usize, usize), RowsError> {
    match (
        read_offset(offsets, i, large),
        read_offset(offsets, i + 1, large),
    ) {
        (Some(a), Some(b)) if a <= b && b <= data.len() => Ok((a, b)),
        _ => Err(RowsError::BadOffsets),
    }
}

/// The bytes of element `i` of a utf8 / binary array.
fn var_slice<'a>(
    offsets: &[u8],
    data: &'a [u8],
    large: bool,
    i: usize,
) -> Result<&'a [u8], RowsError> {
    let (start, end) = var_bounds(offsets, data, large, i)?;
    Ok(&data[start..end])
}

/// A value known to be short: its int32 length, then its bytes.
pub(crate) fn write_fixed(value: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(value.len() as i32).to_be_bytes());
    out.extend_from_slice(value);
}

/// The first `len` bytes of `text` with their int32 length. The copy is of the whole
/// (small, fixed-size) buffer, then cut back: cheaper than a variable-length copy.
fn write_short<const N: usize>(text: &[u8; N], len: usize, out: &mut Vec<u8>) {
    let at = out.len();
    out.extend_from_slice(&(len as i32).to_be_bytes());
    out.extend_from_slice(text);
    out.truncate(at + 4 + len);
}

/// A value written in place by `write`, preceded by its int32 length.
pub(crate) fn write_text(
    out: &mut Vec<u8>,
    write: impl FnOnce(&mut Vec<u8>),
) -> Result<(), RowsError> {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    write(out);
    let len = i32::try_from(out.len() - at - 4).map_err(|_| RowsError::TooLarge)?;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

pub(crate) fn bit(bits: &[u8], i: usize) -> bool {
    (bits[i / 8] >> (i % 8)) & 1 == 1
}

fn read_int(bytes: &[u8], signed: bool) -> i64 {
    let mut le = [0u8; 8];
    le[..bytes.len()].copy_from_slice(bytes);
    let negative = signed && bytes[bytes.len() - 1] & 0x80 != 0;
    if negative {
        le[bytes.len()..].fill(0xff);
    }
    i64::from_le_bytes(le)
}

/// Roughly the mean length (plus one) of elements `offset .. offset + len` of an
/// offsets buffer; 0 if the offsets do not say.
pub(crate) fn average_len(offsets: &[u8], large: bool, offset: usize, len: usize) -> usize {
    match (
        read_offset(offsets, offset, large),
        offset
            .checked_add(len)
            .and_then(|end| read_offset(offsets, end, large)),
    ) {
        (Some(a), Some(b)) if b > a => (b - a) / len.max(1) + 1,
        _ => 0,
    }
}

pub(crate) fn read_offset(offsets: &[u8], i: usize, large: bool) -> Option<usize> {
    let value = if large {
        i64::from_le_bytes(offsets[i * 8..i * 8 + 8].try_into().ok()?)
    } else {
        i64::from(i32::from_le_bytes(
            offsets[i * 4..i * 4 + 4].try_into().ok()?,
        ))
    };
    usize::try_from(value).ok()
}

/// boolout 't' / 'f'; boolsend one byte 1 / 0.
fn write_bool(value: bool, binary: bool, out: &mut Vec<u8>) {
    out.extend_from_slice(&1i32.to_be_bytes());
    out.push(match (binary, value) {
        (false, true) => b't',
        (false, false) => b'f',
        (true, v) => u8::from(v),
    });
}

fn write_len_value(value: &[u8], out: &mut Vec<u8>) -> Result<(), RowsError> {
    let len = i32::try_from(value.len()).map_err(|_| RowsError::TooLarge)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(value);
    Ok(())
}

/// Decimal digits of `value` with a leading '-' if negative (int8out), written
/// into the end of `buf`; returns the used part.
pub fn format_i64(value: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut magnitude = value.unsigned_abs();
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if value < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    &buf[at..]
}

/// `rows` DataRow messages ('D', int32 length, int16 column count, then per value
/// int32 length and bytes, or -1 for NULL), concatenated.
pub fn encode_data_rows(columns: &[Column<'_>], rows: usize) -> Result<Vec<u8>, RowsError> {
    let mut out = Vec::new();
    encode_data_rows_into(columns, rows, &mut out)?;
    Ok(out)
}

/// `encode_data_rows`, appended to `out` (which a caller may reuse from batch to batch:
/// memory already written to is cheaper than fresh pages). On error `out` holds part
/// of the rows.
pub fn encode_data_rows_into(
    columns: &[Column<'_>],
    rows: usize,
    out: &mut Vec<u8>,
) -> Result<(), RowsError> {
    let count = i16::try_from(columns.len()).map_err(|_| RowsError::TooLarge)?;
    for (column, col) in columns.iter().enumerate() {
        let len = match col {
            Column::Encoded(values) => values.len(),
            Column::Native(native) => native.len,
            Column::List(list) => list.len(),
            Column::Json(json) => json.len(),
        };
        if len != rows {
            return Err(RowsError::LengthMismatch { column, len, rows });
        }
    }
    // An estimate on the high side: a large allocation's untouched pages cost nothing,
    // while growing copies everything written so far.
    let per_row = columns.iter().map(|col| match col {
        Column::Encoded(values) => {
            values.iter().flatten().map(|v| v.len()).sum::<usize>() / rows.max(1) + 1
        }
        Column::Native(native) => native.estimated_width(),
        Column::List(list) => list.estimated_width(),
        Column::Json(json) => json.estimated_width(),
    });
    let row_size = 7 + per_row.map(|width| 4 + width).sum::<usize>();
    out.reserve(rows.saturating_mul(row_size));
    for row in 0..rows {
        let start = out.len();
        out.push(b'D');
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&count.to_be_bytes());
        for col in columns {
            match col {
                Column::Encoded(values) => match values[row] {
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(value) => write_len_value(value, out)?,
                },
                Column::Native(native) => native.write_value(row, out)?,
                Column::List(list) => list.write_value(row, out)?,
                Column::Json(json) => json.write_value(row, out)?,
            }
        }
        let length = i32::try_from(out.len() - start - 1).map_err(|_| RowsError::TooLarge)?;
        out[start + 1..start + 5].copy_from_slice(&length.to_be_bytes());
    }
    Ok(())
}

#[cfg(test)]
#[path = "rows_tests.rs"]
pub(crate) mod tests;
