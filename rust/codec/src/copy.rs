//! COPY TO STDOUT: columns of values in, concatenated CopyData messages out, one per
//! row, in PostgreSQL's text, CSV or binary COPY format.
//!
//! The values are rendered by the DataRow encoder (`rows`: the very same per-kind
//! encoders, or values encoded in Python), then framed the way PostgreSQL's
//! `copyto.c` frames them. A binary COPY row is byte for byte a DataRow body (int16
//! field count, then int32 length / -1 and bytes per field), so binary output is the
//! DataRows with their type byte changed; text and CSV rows are read back from the
//! DataRows and escaped / quoted. The bytes must equal those of the pure-Python
//! reference, `duckgres_trio.wire.copy.copy_rows`, each row wrapped as CopyData.

use std::fmt;

use crate::rows::{Column, RowsError, encode_data_rows_into};

/// The COPY format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    Text,
    Csv,
    Binary,
}

impl CopyFormat {
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "text" => Self::Text,
            "csv" => Self::Csv,
            "binary" => Self::Binary,
            _ => return None,
        })
    }
}

/// COPY options as the row framing needs them. `delimiter`, `quote` and `escape` are
/// single ASCII bytes (PostgreSQL: single one-byte characters); `null` is any text.
#[derive(Debug, Clone, Copy)]
pub struct CopyOptions<'a> {
    pub format: CopyFormat,
    pub delimiter: u8,
    pub null: &'a [u8],
    pub quote: u8,
    pub escape: u8,
    /// CSV FORCE_QUOTE, one flag per column (empty: no column forced).
    pub forced: &'a [bool],
}

impl Default for CopyOptions<'_> {
    fn default() -> Self {
        Self {
            format: CopyFormat::Text,
            delimiter: b'\t',
            null: b"\\N",
            quote: b'"',
            escape: b'"',
            forced: &[],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyError {
    /// Rendering the values failed.
    Rows(RowsError),
    /// A text or CSV value is not UTF-8 (the reference decodes every value).
    InvalidUtf8,
    /// Options the framing here does not reproduce exactly.
    Options(&'static str),
    /// A row over PostgreSQL's int32 message length.
    TooLarge,
}

impl fmt::Display for CopyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rows(err) => err.fmt(f),
            Self::InvalidUtf8 => f.write_str("invalid UTF-8 in a COPY value"),
            Self::Options(what) => f.write_str(what),
            Self::TooLarge => f.write_str("COPY row too large"),
        }
    }
}

impl std::error::Error for CopyError {}

impl From<RowsError> for CopyError {
    fn from(err: RowsError) -> Self {
        Self::Rows(err)
    }
}

/// The escape letters of text COPY (CopyAttributeOutText), by byte; 0: copied as is.
fn text_escapes(delimiter: u8) -> Result<[u8; 256], CopyError> {
    let mut table = [0u8; 256];
    for (byte, letter) in [
        (b'\\', b'\\'),
        (0x08, b'b'),
        (0x0c, b'f'),
        (b'\n', b'n'),
        (b'\r', b'r'),
        (b'\t', b't'),
        (0x0b, b'v'),
    ] {
        table[usize::from(byte)] = letter;
    }
    // The reference escapes the delimiter after the control characters, so a
    // delimiter that is itself an escape letter would be escaped twice.
    if matches!(delimiter, b'b' | b'f' | b'n' | b'r' | b't' | b'v') {
        return Err(CopyError::Options("COPY delimiter is a text escape letter"));
    }
    if table[usize::from(delimiter)] == 0 {
        table[usize::from(delimiter)] = delimiter;
    }
    Ok(table)
}

fn check_utf8(value: &[u8], seen: u8) -> Result<(), CopyError> {
    if seen & 0x80 != 0 && std::str::from_utf8(value).is_err() {
        return Err(CopyError::InvalidUtf8);
    }
    Ok(())
}

/// Whether some byte of `word` is below 0x0e (the control characters text COPY
/// escapes are 0x08 to 0x0d), has its high bit set (non-ASCII), or equals `splat`'s
/// bytes (a backslash, the delimiter): a conservative test, exact ones follow.
fn word_needs_care(word: u64, backslash: u64, delimiter: u64) -> bool {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(LOW) & !x & HIGH;
    let below = word.wrapping_sub(LOW * 0x0e) & !word & HIGH;
    (below | word & HIGH | zero_byte(word ^ backslash) | zero_byte(word ^ delimiter)) != 0
}

/// A text COPY value: backslash escapes of backslash, the delimiter and \b \f \n \r
/// \t \v.
fn write_text_value(
    value: &[u8],
    table: &[u8; 256],
    delimiter: u8,
    out: &mut Vec<u8>,
) -> Result<(), CopyError> {
    // Most values hold nothing to escape and are ASCII: checked eight bytes at a time.
    let (backslash, delimiter) = (
        0x0101_0101_0101_0101 * u64::from(b'\\'),
        0x0101_0101_0101_0101 * u64::from(delimiter),
    );
    let mut words = value.chunks_exact(8);
    let mut clean = words.all(|chunk| {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        !word_needs_care(u64::from_le_bytes(word), backslash, delimiter)
    });
    if clean {
        clean = words
            .remainder()
            .iter()
            .all(|&byte| byte < 0x80 && table[usize::from(byte)] == 0);
    }
    if clean {
        out.extend_from_slice(value);
        return Ok(());
    }
    let mut seen = 0u8;
    let mut start = 0;
    for (i, &byte) in value.iter().enumerate() {
        seen |= byte;
        let letter = table[usize::from(byte)];
        if letter != 0 {
            out.extend_from_slice(&value[start..i]);
            out.push(b'\\');
            out.push(letter);
            start = i + 1;
        }
    }
    out.extend_from_slice(&value[start..]);
    check_utf8(value, seen)
}

/// A CSV COPY value: quoted if forced, if it equals the NULL text, holds the
/// delimiter, the quote, CR or LF, or is `\.`; inside quotes the quote and escape
/// characters are preceded by the escape character.
fn write_csv_value(
    value: &[u8],
    force: bool,
    options: &CopyOptions<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CopyError> {
    let mut seen = 0u8;
    let mut special = false;
    for &byte in value {
        seen |= byte;
        special |=
            byte == options.delimiter || byte == options.quote || byte == b'\r' || byte == b'\n';
    }
    check_utf8(value, seen)?;
    if !(force || special || value == options.null || value == b"\\.") {
        out.extend_from_slice(value);
        return Ok(());
    }
    out.push(options.quote);
    let mut start = 0;
    for (i, &byte) in value.iter().enumerate() {
        if byte == options.quote || byte == options.escape {
            out.extend_from_slice(&value[start..i]);
            out.push(options.escape);
            start = i;
        }
    }
    out.extend_from_slice(&value[start..]);
    out.push(options.quote);
    Ok(())
}

fn read_i32(bytes: &[u8], at: usize) -> i32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    i32::from_be_bytes(word)
}

/// `rows` CopyData messages (`d`, int32 length, one COPY row), concatenated.
pub fn encode_copy_data(
    columns: &[Column<'_>],
    rows: usize,
    options: &CopyOptions<'_>,
) -> Result<Vec<u8>, CopyError> {
    let (mut out, mut scratch) = (Vec::new(), Vec::new());
    encode_copy_data_into(columns, rows, options, &mut scratch, &mut out)?;
    Ok(out)
}

/// `encode_copy_data`, appended to `out`; `scratch` holds the rendered values of text
/// and CSV rows (both may be reused from batch to batch). The columns must be
/// `Column::Native` in binary form for binary COPY, in text form otherwise. On error
/// `out` holds part of the rows.
pub fn encode_copy_data_into(
    columns: &[Column<'_>],
    rows: usize,
    options: &CopyOptions<'_>,
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<(), CopyError> {
    if options.format == CopyFormat::Binary {
        // int16 count, int32 length / -1 and bytes per field: a DataRow body.
        let start = out.len();
        encode_data_rows_into(columns, rows, out)?;
        let mut at = start;
        while at < out.len() {
            out[at] = b'd';
            let length = usize::try_from(read_i32(out, at + 1)).map_err(|_| CopyError::TooLarge)?;
            at += 1 + length;
        }
        return Ok(());
    }
    if options.format == CopyFormat::Csv
        && !options.forced.is_empty()
        && options.forced.len() != columns.len()
    {
        return Err(CopyError::Options(
            "FORCE_QUOTE flags do not match the columns",
        ));
    }
    let table = match options.format {
        CopyFormat::Text => text_escapes(options.delimiter)?,
        _ => [0; 256],
    };
    scratch.clear();
    encode_data_rows_into(columns, rows, scratch)?;
    // A COPY row is smaller than its DataRow unless escapes or quotes grow it.
    out.reserve(scratch.len() + scratch.len() / 8);
    let data = &scratch[..];
    let mut at = 0;
    for _ in 0..rows {
        // 'D', int32 length, int16 column count: the count is that of `columns`.
        at += 7;
        let start = out.len();
        out.push(b'd');
        out.extend_from_slice(&[0; 4]);
        for column in 0..columns.len() {
            if column > 0 {
                out.push(options.delimiter);
            }
            let len = read_i32(data, at);
            at += 4;
            let Ok(len) = usize::try_from(len) else {
                out.extend_from_slice(options.null);
                continue;
            };
            let value = &data[at..at + len];
            at += len;
            match options.format {
                CopyFormat::Csv => {
                    let force = options.forced.get(column).copied().unwrap_or(false);
                    write_csv_value(value, force, options, out)?;
                }
                _ => write_text_value(value, &table, options.delimiter, out)?,
            }
        }
        out.push(b'\n');
        let length = i32::try_from(out.len() - start - 1).map_err(|_| CopyError::TooLarge)?;
        out[start + 1..start + 5].copy_from_slice(&length.to_be_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(values: Vec<Vec<Option<&[u8]>>>, rows: usize, options: &CopyOptions<'_>) -> Vec<u8> {
        let columns: Vec<Column<'_>> = values.into_iter().map(Column::Encoded).collect();
        encode_copy_data(&columns, rows, options).unwrap()
    }

    fn message(row: &[u8]) -> Vec<u8> {
        let mut out = vec![b'd'];
        out.extend_from_slice(&(row.len() as i32 + 4).to_be_bytes());
        out.extend_from_slice(row);
        out
    }

    #[test]
    fn text_escapes_controls_backslash_and_delimiter() {
        let options = CopyOptions {
            delimiter: b'|',
            ..CopyOptions::default()
        };
        let out = copy(
            vec![vec![Some(&b"a\tb\\c|d\n\x08\x0c\r\x0b"[..])], vec![None]],
            1,
            &options,
        );
        assert_eq!(out, message(b"a\\tb\\\\c\\|d\\n\\b\\f\\r\\v|\\N\n"));
    }

    #[test]
    fn word_checks_find_every_byte_to_escape_at_every_position() {
        for delimiter in [b'|', b'\t', b',', b'\\', 0x01] {
            let table = text_escapes(delimiter).unwrap();
            for byte in 0..=0x7fu8 {
                for at in 0..17 {
                    let mut value = vec![b'a'; 17];
                    value[at] = byte;
                    let mut out = Vec::new();
                    write_text_value(&value, &table, delimiter, &mut out).unwrap();
                    let mut expected = Vec::new();
                    for &b in &value {
                        match table[usize::from(b)] {
                            0 => expected.push(b),
                            letter => expected.extend_from_slice(&[b'\\', letter]),
                        }
                    }
                    assert_eq!(out, expected, "byte {byte:#x} at {at}");
                }
            }
        }
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        let forced = [false, true, false, false, false];
        let options = CopyOptions {
            format: CopyFormat::Csv,
            delimiter: b',',
            null: b"",
            escape: b'\\',
            forced: &forced,
            ..CopyOptions::default()
        };
        let out = copy(
            vec![
                vec![Some(&b"plain"[..])],
                vec![Some(&b"x"[..])],
                vec![Some(&b"a\"b\\c"[..])],
                vec![Some(&b""[..])],
                vec![None],
            ],
            1,
            &options,
        );
        assert_eq!(out, message(b"plain,\"x\",\"a\\\"b\\\\c\",\"\",\n"));
    }

    #[test]
    fn binary_rows_are_datarow_bodies() {
        let options = CopyOptions {
            format: CopyFormat::Binary,
            ..CopyOptions::default()
        };
        let out = copy(vec![vec![Some(&b"ab"[..]), None]], 2, &options);
        let mut expected = message(b"\x00\x01\x00\x00\x00\x02ab");
        expected.extend(message(b"\x00\x01\xff\xff\xff\xff"));
        assert_eq!(out, expected);
    }

    #[test]
    fn rows_without_columns_still_are_rows() {
        let out = copy(vec![], 2, &CopyOptions::default());
        assert_eq!(out, [message(b"\n"), message(b"\n")].concat());
    }

    #[test]
    fn rejects_invalid_utf8_and_escape_letter_delimiters() {
        let columns = [Column::Encoded(vec![Some(&b"\xff"[..])])];
        let err = encode_copy_data(&columns, 1, &CopyOptions::default());
        assert_eq!(err, Err(CopyError::InvalidUtf8));
        let options = CopyOptions {
            delimiter: b'n',
            ..CopyOptions::default()
        };
        assert!(matches!(
            encode_copy_data(&columns, 1, &options),
            Err(CopyError::Options(_))
        ));
    }
}
