//! Binary COPY FROM STDIN: the rows of PGCOPY data, each field a span of the input
//! (or NULL), as `copyfrom.c` frames them. The twin of the pure-Python reference
//! `duckgres_trio.wire.copy.BinaryCopyInParser._rows`: the same rows, the same
//! errors (texts included), the same bytes left for the next call.

/// One field of a row: `(start, len)` in the input, or `None` for NULL.
pub type Field = Option<(usize, usize)>;

/// What one call found: how many complete rows, their fields row after row; how
/// many bytes they (and the trailer, if `done`) took; whether the trailer (-1) came.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BinaryRows {
    pub rows: usize,
    pub fields: Vec<Field>,
    pub consumed: usize,
    pub done: bool,
}

/// Malformed binary COPY data: the message the reference raises as CopyFormatError.
#[derive(Debug, PartialEq, Eq)]
pub struct BinaryCopyError(pub String);

/// The complete rows at the start of `data` (the header already taken away), each of
/// exactly `columns` fields of at most `max_field` bytes. A row cut short waits in
/// `data[consumed..]` for more. An error drops the rows found before it, as the
/// reference does.
pub fn split_binary_copy(
    data: &[u8],
    columns: usize,
    max_field: usize,
) -> Result<BinaryRows, BinaryCopyError> {
    let mut out = BinaryRows::default();
    let mut pos = 0;
    'rows: while data.len() - pos >= 2 {
        let count = i16::from_be_bytes([data[pos], data[pos + 1]]);
        if count == -1 {
            out.consumed = pos + 2;
            out.done = true;
            return Ok(out);
        }
        if usize::try_from(count).ok() != Some(columns) {
            return Err(BinaryCopyError(format!(
                "row field count is {count}, expected {columns}"
            )));
        }
        let row_start = out.fields.len();
        let mut at = pos + 2;
        for _ in 0..columns {
            let Some(word) = data.get(at..at + 4) else {
                out.fields.truncate(row_start);
                break 'rows;
            };
            let size = i32::from_be_bytes([word[0], word[1], word[2], word[3]]);
            at += 4;
            if size == -1 {
                out.fields.push(None);
                continue;
            }
            let size = match usize::try_from(size) {
                Ok(size) if size <= max_field => size,
                _ => return Err(BinaryCopyError("invalid field size".into())),
            };
            if data.len() - at < size {
                out.fields.truncate(row_start);
                break 'rows;
            }
            out.fields.push(Some((at, size)));
            at += size;
        }
        out.rows += 1;
        pos = at;
    }
    out.consumed = pos;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(fields: &[Option<&[u8]>]) -> Vec<u8> {
        let mut out = (fields.len() as i16).to_be_bytes().to_vec();
        for field in fields {
            match field {
                None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(bytes) => {
                    out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                    out.extend_from_slice(bytes);
                }
            }
        }
        out
    }

    #[test]
    fn rows_then_trailer() {
        let mut data = row(&[Some(b"ab"), None]);
        data.extend(row(&[Some(b""), Some(b"x")]));
        data.extend((-1i16).to_be_bytes());
        data.extend(b"ignored");
        let got = split_binary_copy(&data, 2, 10).unwrap();
        assert_eq!(
            got.fields,
            vec![Some((6, 2)), None, Some((18, 0)), Some((22, 1))]
        );
        assert!(got.done);
        assert_eq!(got.rows, 2);
        assert_eq!(got.consumed, data.len() - 7);
        // Rows of no fields are rows all the same.
        let mut empty = row(&[]);
        empty.extend(row(&[]));
        assert_eq!(split_binary_copy(&empty, 0, 10).unwrap().rows, 2);
    }

    #[test]
    fn a_cut_row_waits_at_every_cut() {
        let mut data = row(&[Some(b"abc"), Some(b"de")]);
        let first = data.len();
        data.extend(row(&[None, Some(b"fgh")]));
        for cut in 0..data.len() {
            let got = split_binary_copy(&data[..cut], 2, 10).unwrap();
            let rows = if cut >= first { 1 } else { 0 };
            assert_eq!(got.fields.len(), 2 * rows, "cut {cut}");
            assert_eq!(got.consumed, if rows == 1 { first } else { 0 });
            assert!(!got.done);
        }
    }

    #[test]
    fn errors_match_the_reference() {
        let wrong = row(&[Some(b"a")]);
        assert_eq!(
            split_binary_copy(&wrong, 2, 10),
            Err(BinaryCopyError("row field count is 1, expected 2".into()))
        );
        let mut big = 1i16.to_be_bytes().to_vec();
        big.extend(11i32.to_be_bytes());
        assert_eq!(
            split_binary_copy(&big, 1, 10),
            Err(BinaryCopyError("invalid field size".into()))
        );
        let mut negative = 1i16.to_be_bytes().to_vec();
        negative.extend((-2i32).to_be_bytes());
        assert_eq!(
            split_binary_copy(&negative, 1, 10),
            Err(BinaryCopyError("invalid field size".into()))
        );
        // A size past the limit is refused before anything waits for its bytes; one
        // within it waits (nothing is allocated for it here).
        let mut huge = 1i16.to_be_bytes().to_vec();
        huge.extend((1i32 << 30).to_be_bytes());
        assert!(
            split_binary_copy(&huge, 1, 1 << 30)
                .unwrap()
                .fields
                .is_empty()
        );
        assert!(split_binary_copy(&huge, 1, (1 << 30) - 1).is_err());
    }
}
