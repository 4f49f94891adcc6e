//! DataRow assembly: columns of values in, concatenated DataRow messages out.
//!
//! A column is either values already encoded elsewhere (the Python encoders) or an
//! Arrow array of one of the simplest kinds, read straight from its buffers and
//! encoded here. The bytes must equal those of the pure-Python reference,
//! `duckgres_trio.wire.rows.encode_rows` with `wire.text` / `wire.binary`.

use std::fmt;

/// The PostgreSQL type a native column is announced as (`wire.types.classify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int2,
    Int4,
    Int8,
    Bool,
    Text,
}

impl Kind {
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "int2" => Self::Int2,
            "int4" => Self::Int4,
            "int8" => Self::Int8,
            "bool" => Self::Bool,
            "text" => Self::Text,
            _ => return None,
        })
    }

    /// Width in bytes of an integer kind's binary form.
    fn int_width(self) -> Option<usize> {
        match self {
            Self::Int2 => Some(2),
            Self::Int4 => Some(4),
            Self::Int8 => Some(8),
            Self::Bool | Self::Text => None,
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
            (Kind::Text, Values::Utf8 { .. }) => true,
            _ => false,
        };
        if !fits {
            return Err(RowsError::KindMismatch(kind));
        }
        let covered = match values {
            Values::Int { data, width, .. } => {
                end.checked_mul(width).is_some_and(|n| n <= data.len())
            }
            Values::Bool { bits } => bits_fit(bits),
            Values::Utf8 { offsets, large, .. } => {
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

    fn is_null(&self, row: usize) -> bool {
        self.validity
            .is_some_and(|bits| !bit(bits, self.offset + row))
    }

    /// Appends row `row`'s value: its int32 length then its bytes, or -1 for NULL.
    fn write_value(&self, row: usize, out: &mut Vec<u8>) -> Result<(), RowsError> {
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
                if self.kind == Kind::Bool {
                    write_bool(value != 0, self.binary, out);
                } else if self.binary {
                    let w = self.kind.int_width().unwrap_or(8);
                    out.extend_from_slice(&(w as i32).to_be_bytes());
                    out.extend_from_slice(&value.to_be_bytes()[8 - w..]);
                } else {
                    let mut digits = [0u8; 20];
                    let text = format_i64(value, &mut digits);
                    out.extend_from_slice(&(text.len() as i32).to_be_bytes());
                    out.extend_from_slice(text);
                }
            }
            Values::Bool { bits } => write_bool(bit(bits, i), self.binary, out),
            Values::Utf8 {
                offsets,
                data,
                large,
            } => {
                let bounds = (
                    read_offset(offsets, i, large),
                    read_offset(offsets, i + 1, large),
                );
                let text = match bounds {
                    (Some(a), Some(b)) if a <= b => data.get(a..b),
                    _ => None,
                }
                .ok_or(RowsError::BadOffsets)?;
                write_len_value(text, out)?;
            }
        }
        Ok(())
    }
}

fn bit(bits: &[u8], i: usize) -> bool {
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

fn read_offset(offsets: &[u8], i: usize, large: bool) -> Option<usize> {
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
    let count = i16::try_from(columns.len()).map_err(|_| RowsError::TooLarge)?;
    for (column, col) in columns.iter().enumerate() {
        let len = match col {
            Column::Encoded(values) => values.len(),
            Column::Native(native) => native.len,
        };
        if len != rows {
            return Err(RowsError::LengthMismatch { column, len, rows });
        }
    }
    let mut out = Vec::with_capacity(rows.saturating_mul(7 + 8 * columns.len()));
    for row in 0..rows {
        let start = out.len();
        out.push(b'D');
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&count.to_be_bytes());
        for col in columns {
            match col {
                Column::Encoded(values) => match values[row] {
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(value) => write_len_value(value, &mut out)?,
                },
                Column::Native(native) => native.write_value(row, &mut out)?,
            }
        }
        let length = i32::try_from(out.len() - start - 1).map_err(|_| RowsError::TooLarge)?;
        out[start + 1..start + 5].copy_from_slice(&length.to_be_bytes());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: i64) -> String {
        let mut buf = [0u8; 20];
        String::from_utf8(format_i64(value, &mut buf).to_vec()).unwrap()
    }

    #[test]
    fn formats_integers_like_int8out() {
        for v in [
            0,
            1,
            -1,
            9,
            10,
            -10,
            12345,
            i64::MAX,
            i64::MIN,
            i64::from(i32::MIN),
        ] {
            assert_eq!(text(v), v.to_string());
        }
    }

    #[test]
    fn reads_signed_and_unsigned_little_endian() {
        assert_eq!(read_int(&[0xff], true), -1);
        assert_eq!(read_int(&[0xff], false), 255);
        assert_eq!(read_int(&[0x00, 0x80], true), -32768);
        assert_eq!(read_int(&[0xff, 0xff, 0xff, 0xff], false), 4_294_967_295);
        assert_eq!(read_int(&i64::MIN.to_le_bytes(), true), i64::MIN);
    }

    #[test]
    fn assembles_encoded_values_and_nulls() {
        let col = Column::Encoded(vec![Some(&b"ab"[..]), None]);
        let out = encode_data_rows(&[col], 2).unwrap();
        let mut expected = Vec::new();
        expected.extend_from_slice(b"D\0\0\0\x0c\0\x01\0\0\0\x02ab");
        expected.extend_from_slice(b"D\0\0\0\x0a\0\x01\xff\xff\xff\xff");
        assert_eq!(out, expected);
    }

    #[test]
    fn zero_columns_still_make_rows() {
        let out = encode_data_rows(&[], 2).unwrap();
        assert_eq!(out, b"D\0\0\0\x06\0\0D\0\0\0\x06\0\0");
    }

    #[test]
    fn integers_text_and_announced_width_binary() {
        let data: Vec<u8> = [-5i16, 300].iter().flat_map(|v| v.to_le_bytes()).collect();
        let values = Values::Int {
            data: &data,
            width: 2,
            signed: true,
        };
        let text_col = NativeColumn::new(Kind::Int2, false, values, None, 0, 2).unwrap();
        let bin_col = NativeColumn::new(Kind::Int2, true, values, None, 1, 1).unwrap();
        let out = encode_data_rows(&[Column::Native(text_col)], 2).unwrap();
        assert_eq!(
            out,
            b"D\0\0\0\x0c\0\x01\0\0\0\x02-5D\0\0\0\x0d\0\x01\0\0\0\x03300"
        );
        let out = encode_data_rows(&[Column::Native(bin_col)], 1).unwrap();
        assert_eq!(out, b"D\0\0\0\x0c\0\x01\0\0\0\x02\x01\x2c");
        // uint8 255 announced as int2 is two bytes; uint32 max as int8 is eight.
        let values = Values::Int {
            data: &[0xff],
            width: 1,
            signed: false,
        };
        let col = NativeColumn::new(Kind::Int2, true, values, None, 0, 1).unwrap();
        assert_eq!(
            &encode_data_rows(&[Column::Native(col)], 1).unwrap()[11..],
            b"\0\xff"
        );
        let values = Values::Int {
            data: &[0xff; 4],
            width: 4,
            signed: false,
        };
        let col = NativeColumn::new(Kind::Int8, true, values, None, 0, 1).unwrap();
        let out = encode_data_rows(&[Column::Native(col)], 1).unwrap();
        assert_eq!(&out[11..], b"\0\0\0\0\xff\xff\xff\xff");
    }

    #[test]
    fn unsigned_needs_a_wider_kind() {
        let values = Values::Int {
            data: &[0; 4],
            width: 4,
            signed: false,
        };
        let err = NativeColumn::new(Kind::Int4, false, values, None, 0, 1).unwrap_err();
        assert_eq!(err, RowsError::KindMismatch(Kind::Int4));
    }

    #[test]
    fn bools_with_validity_and_offset() {
        // values 1,0,1 ; validity: row 1 null; sliced from element 1.
        let bits = [0b101u8];
        let validity = [0b101u8];
        let values = Values::Bool { bits: &bits };
        let col = NativeColumn::new(Kind::Bool, false, values, Some(&validity), 1, 2).unwrap();
        let out = encode_data_rows(&[Column::Native(col)], 2).unwrap();
        assert_eq!(
            out,
            b"D\0\0\0\x0a\0\x01\xff\xff\xff\xffD\0\0\0\x0b\0\x01\0\0\0\x01t"
        );
    }

    #[test]
    fn strings_and_bad_offsets() {
        let offsets: Vec<u8> = [0i32, 0, 3].iter().flat_map(|v| v.to_le_bytes()).collect();
        let values = Values::Utf8 {
            offsets: &offsets,
            data: "héj".as_bytes(),
            large: false,
        };
        let col = NativeColumn::new(Kind::Text, true, values, None, 0, 2).unwrap();
        let out = encode_data_rows(&[Column::Native(col)], 2).unwrap();
        assert_eq!(
            out,
            "D\0\0\0\x0a\0\x01\0\0\0\0D\0\0\0\x0d\0\x01\0\0\0\x03hé".as_bytes()
        );
        let values = Values::Utf8 {
            offsets: &offsets,
            data: b"ab",
            large: false,
        };
        let col = NativeColumn::new(Kind::Text, true, values, None, 0, 2).unwrap();
        let err = encode_data_rows(&[Column::Native(col)], 2).unwrap_err();
        assert_eq!(err, RowsError::BadOffsets);
    }

    #[test]
    fn short_buffers_and_lengths_are_errors() {
        let values = Values::Int {
            data: &[0; 7],
            width: 8,
            signed: true,
        };
        let err = NativeColumn::new(Kind::Int8, false, values, None, 0, 1).unwrap_err();
        assert_eq!(err, RowsError::BufferTooShort);
        let err = encode_data_rows(&[Column::Encoded(vec![None])], 2).unwrap_err();
        assert_eq!(
            err,
            RowsError::LengthMismatch {
                column: 0,
                len: 1,
                rows: 2
            }
        );
    }
}
