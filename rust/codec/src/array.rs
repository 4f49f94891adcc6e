//! One-dimensional PostgreSQL arrays of a natively encoded element kind: Arrow list,
//! large_list and fixed_size_list columns in array_out's text form and array_send's
//! binary form, byte-identical to `wire.text._list_texts` and
//! `wire.binary._list_values` for one level of nesting. Each element is rendered by
//! the scalar encoder (`rows::NativeColumn`), so an element reads exactly as the same
//! value in a column of its own.

use crate::rows::{
    NativeColumn, RowsError, average_len, bit, read_offset, write_fixed, write_text,
};

/// Where each list's elements are in the element array.
#[derive(Debug, Clone, Copy)]
pub enum ListOffsets<'a> {
    /// list (`large` false: int32 offsets) or large_list (int64).
    Variable { offsets: &'a [u8], large: bool },
    /// fixed_size_list: list `i` is elements `i * size .. (i + 1) * size`.
    Fixed { size: usize },
}

/// A list column (`offset` and `len` in lists, as pyarrow reports them) whose
/// elements, an array of their own with its own offset, are encoded by `element`
/// in the list's format.
#[derive(Debug, Clone, Copy)]
pub struct ListColumn<'a> {
    offsets: ListOffsets<'a>,
    validity: Option<&'a [u8]>,
    offset: usize,
    len: usize,
    element: NativeColumn<'a>,
}

impl<'a> ListColumn<'a> {
    /// Checks that the offsets and validity cover `offset + len` lists; each list's
    /// span is checked against the elements when it is encoded.
    pub fn new(
        offsets: ListOffsets<'a>,
        validity: Option<&'a [u8]>,
        offset: usize,
        len: usize,
        element: NativeColumn<'a>,
    ) -> Result<Self, RowsError> {
        let end = offset.checked_add(len).ok_or(RowsError::BufferTooShort)?;
        let covered = match offsets {
            ListOffsets::Variable { offsets, large } => (end + 1)
                .checked_mul(if large { 8 } else { 4 })
                .is_some_and(|n| n <= offsets.len()),
            ListOffsets::Fixed { size } => end.checked_mul(size).is_some(),
        };
        if !covered || validity.is_some_and(|bits| end.div_ceil(8) > bits.len()) {
            return Err(RowsError::BufferTooShort);
        }
        Ok(Self {
            offsets,
            validity,
            offset,
            len,
            element,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Roughly the bytes a value takes: its elements, their length words or
    /// separators, and the array header.
    pub(crate) fn estimated_width(&self) -> usize {
        let per_list = match self.offsets {
            ListOffsets::Fixed { size } => size,
            // The span of these lists only: the element array is the whole column's.
            ListOffsets::Variable { offsets, large } => {
                average_len(offsets, large, self.offset, self.len)
            }
        };
        20 + per_list * (4 + self.element.estimated_width())
    }

    /// The element range of list `row`, checked against the element array.
    fn span(&self, row: usize) -> Result<(usize, usize), RowsError> {
        let i = self.offset + row;
        let (start, end) = match self.offsets {
            ListOffsets::Fixed { size } => (i * size, (i + 1) * size),
            ListOffsets::Variable { offsets, large } => {
                match (
                    read_offset(offsets, i, large),
                    read_offset(offsets, i + 1, large),
                ) {
                    (Some(a), Some(b)) => (a, b),
                    _ => return Err(RowsError::BadOffsets),
                }
            }
        };
        if start > end || end > self.element.len() {
            return Err(RowsError::BadOffsets);
        }
        Ok((start, end))
    }

    /// Appends list `row`: its int32 length then its text or binary form, or -1.
    pub(crate) fn write_value(&self, row: usize, out: &mut Vec<u8>) -> Result<(), RowsError> {
        if self
            .validity
            .is_some_and(|bits| !bit(bits, self.offset + row))
        {
            out.extend_from_slice(&(-1i32).to_be_bytes());
            return Ok(());
        }
        let (start, end) = self.span(row)?;
        if self.element.binary() {
            self.write_array_binary(start, end, out)
        } else {
            let mut result = Ok(());
            write_text(out, |out| result = self.write_array_text(start, end, out))?;
            result
        }
    }

    /// array_out: '{a,b}', NULL elements spelled NULL, each other element as its own
    /// text, quoted where array_out quotes it.
    fn write_array_text(
        &self,
        start: usize,
        end: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), RowsError> {
        out.push(b'{');
        for j in start..end {
            if j > start {
                out.push(b',');
            }
            if self.element.is_null(j) {
                out.extend_from_slice(b"NULL");
                continue;
            }
            // The element's text lands after its length word; drop the word, and
            // quote the text where needed.
            let at = out.len();
            self.element.write_value(j, out)?;
            if needs_quotes(&out[at + 4..]) {
                let text = out.split_off(at + 4);
                out.truncate(at);
                write_quoted(&text, out);
            } else {
                out.copy_within(at + 4.., at);
                out.truncate(out.len() - 4);
            }
        }
        out.push(b'}');
        Ok(())
    }

    /// array_send: int32 ndim 1, int32 has-NULL flag, int32 element OID, int32
    /// length and int32 lower bound 1, then each element as int32 length and bytes
    /// or -1; no elements is PostgreSQL's empty array (ndim 0, flag 0, the OID).
    fn write_array_binary(
        &self,
        start: usize,
        end: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), RowsError> {
        let oid = self.element.kind().oid().to_be_bytes();
        if start == end {
            let mut empty = [0u8; 12];
            empty[8..].copy_from_slice(&oid);
            write_fixed(&empty, out);
            return Ok(());
        }
        let count = i32::try_from(end - start).map_err(|_| RowsError::TooLarge)?;
        let has_null = (start..end).any(|j| self.element.is_null(j));
        let mut result = Ok(());
        write_text(out, |out| {
            out.extend_from_slice(&1i32.to_be_bytes());
            out.extend_from_slice(&i32::from(has_null).to_be_bytes());
            out.extend_from_slice(&oid);
            out.extend_from_slice(&count.to_be_bytes());
            out.extend_from_slice(&1i32.to_be_bytes());
            for j in start..end {
                if let Err(err) = self.element.write_value(j, out) {
                    result = Err(err);
                    return;
                }
            }
        })?;
        result
    }
}

/// array_out quotes an element that is empty, equals NULL in any (ASCII) case, or
/// holds a quote, backslash, brace, the delimiter ',' or white space (space, \t,
/// \n, \r, \v, \f).
fn needs_quotes(text: &[u8]) -> bool {
    text.is_empty()
        || text.eq_ignore_ascii_case(b"NULL")
        || text.iter().any(|byte| {
            matches!(
                byte,
                b'"' | b'\\' | b'{' | b'}' | b',' | b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c
            )
        })
}

/// `text` in double quotes, '"' and '\' backslash-escaped.
fn write_quoted(text: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &byte in text {
        if byte == b'"' || byte == b'\\' {
            out.push(b'\\');
        }
        out.push(byte);
    }
    out.push(b'"');
}
