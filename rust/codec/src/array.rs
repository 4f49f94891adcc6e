//! PostgreSQL arrays: Arrow list, large_list and fixed_size_list columns in
//! array_out's text form and array_send's binary form, byte-identical to
//! `wire.text._list_texts` and `wire.binary._list_values`. Nested lists are the
//! dimensions of one multi-dimensional array (`{{1,2},{3,4}}`). The innermost
//! elements are any `Node`: a natively encoded scalar (`rows::NativeColumn`), read
//! exactly as the same value in a column of its own, or a STRUCT / MAP / UNION sent as
//! json (`json`).

use std::ops::Range;

use crate::json::{MAX_DEPTH, Node};
use crate::rows::{
    NativeColumn, RowsError, average_len, bit, read_offset, write_fixed, write_text,
};

/// Where each list's elements are in the element array.
#[derive(Debug, Clone, Copy)]
pub enum ListOffsets<'a> {
    /// list (`large` false: int32 offsets) or large_list (int64); a map's are int32.
    Variable { offsets: &'a [u8], large: bool },
    /// fixed_size_list: list `i` is elements `i * size .. (i + 1) * size`.
    Fixed { size: usize },
}

impl ListOffsets<'_> {
    /// Whether lists `0..end` have their offsets (each list's span is checked
    /// against the elements when it is read).
    pub(crate) fn cover(&self, end: usize) -> bool {
        match *self {
            Self::Variable { offsets, large } => (end + 1)
                .checked_mul(if large { 8 } else { 4 })
                .is_some_and(|n| n <= offsets.len()),
            Self::Fixed { size } => end.checked_mul(size).is_some(),
        }
    }

    /// The element range of list `i`, checked against the `elements` there are.
    pub(crate) fn span(&self, i: usize, elements: usize) -> Result<(usize, usize), RowsError> {
        let (start, end) = match *self {
            Self::Fixed { size } => (i * size, (i + 1) * size),
            Self::Variable { offsets, large } => {
                match (
                    read_offset(offsets, i, large),
                    read_offset(offsets, i + 1, large),
                ) {
                    (Some(a), Some(b)) => (a, b),
                    _ => return Err(RowsError::BadOffsets),
                }
            }
        };
        if start > end || end > elements {
            return Err(RowsError::BadOffsets);
        }
        Ok((start, end))
    }

    /// Roughly the elements per list of lists `offset..offset + len`.
    pub(crate) fn average(&self, offset: usize, len: usize) -> usize {
        match *self {
            Self::Fixed { size } => size,
            Self::Variable { offsets, large } => average_len(offsets, large, offset, len),
        }
    }
}

/// A list column or a list level of a nested value (`offset` and `len` in lists, as
/// pyarrow reports them) whose elements, an array of their own with its own offset,
/// are `element`; in text (`binary` false) or binary form.
#[derive(Debug, Clone)]
pub struct ListColumn<'a> {
    offsets: ListOffsets<'a>,
    validity: Option<&'a [u8]>,
    offset: usize,
    len: usize,
    binary: bool,
    element: Node<'a>,
    /// The element array's length, which every list's span must stay within.
    elements: usize,
    /// The OID of the innermost elements (array_send's element type).
    oid: u32,
    /// List levels and containers below and including this one.
    depth: usize,
}

impl<'a> ListColumn<'a> {
    /// A 1-D array of native elements, in the elements' format.
    pub fn new(
        offsets: ListOffsets<'a>,
        validity: Option<&'a [u8]>,
        offset: usize,
        len: usize,
        element: NativeColumn<'a>,
    ) -> Result<Self, RowsError> {
        let binary = element.binary();
        let element = Node::Scalar(element);
        Self::nested(offsets, validity, offset, len, binary, element)
    }

    /// An array of any element: a scalar, a list (one more dimension) or json. A
    /// scalar or list element must be in the list's own format.
    pub fn nested(
        offsets: ListOffsets<'a>,
        validity: Option<&'a [u8]>,
        offset: usize,
        len: usize,
        binary: bool,
        element: Node<'a>,
    ) -> Result<Self, RowsError> {
        let end = offset.checked_add(len).ok_or(RowsError::BufferTooShort)?;
        if !offsets.cover(end) || validity.is_some_and(|bits| end.div_ceil(8) > bits.len()) {
            return Err(RowsError::BufferTooShort);
        }
        if !element.is_json() && element.binary() != binary {
            return Err(RowsError::MalformedNested(
                "list elements in another format",
            ));
        }
        let depth = element.depth() + 1;
        if depth > MAX_DEPTH {
            return Err(RowsError::MalformedNested("nested too deep"));
        }
        Ok(Self {
            offsets,
            validity,
            offset,
            len,
            binary,
            oid: element.oid(),
            elements: element.len(),
            element,
            depth,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn binary(&self) -> bool {
        self.binary
    }

    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    pub(crate) fn oid(&self) -> u32 {
        self.oid
    }

    pub(crate) fn is_null(&self, row: usize) -> bool {
        self.validity
            .is_some_and(|bits| !bit(bits, self.offset + row))
    }

    /// Roughly the bytes a value takes: its elements, their length words or
    /// separators, and the array header.
    pub(crate) fn estimated_width(&self) -> usize {
        // The span of these lists only: the element array is the whole column's.
        let per_list = self.offsets.average(self.offset, self.len);
        let elements = per_list.saturating_mul(4 + self.element.estimated_width());
        elements.saturating_add(20).min(MAX_ESTIMATE)
    }

    /// The element range of list `row`, checked against the element array.
    pub(crate) fn span(&self, row: usize) -> Result<(usize, usize), RowsError> {
        self.offsets.span(self.offset + row, self.elements)
    }

    /// Appends list `row`: its int32 length then its text or binary form, or -1.
    pub(crate) fn write_value(&self, row: usize, out: &mut Vec<u8>) -> Result<(), RowsError> {
        if self.is_null(row) {
            out.extend_from_slice(&(-1i32).to_be_bytes());
            return Ok(());
        }
        if self.binary {
            self.write_array_binary(row, out)
        } else {
            write_framed(out, |out| self.write_array_text(row, out))
        }
    }

    /// array_out of list `row` (not NULL): '{a,b}', NULL elements spelled NULL, a
    /// sub-list as its own '{...}' (NULL if NULL, ragged as it is), every other element
    /// as its own text, quoted where array_out quotes it.
    pub(crate) fn write_array_text(&self, row: usize, out: &mut Vec<u8>) -> Result<(), RowsError> {
        let (start, end) = self.span(row)?;
        match &self.element {
            Node::Scalar(col) => write_array_out(col, start..end, out),
            element => write_array_out(element, start..end, out),
        }
    }

    /// array_send of list `row` (not NULL): int32 ndim, int32 has-NULL flag, int32
    /// element OID, int32 length and int32 lower bound 1 per dimension, then the
    /// innermost elements in row-major order as int32 length and bytes or -1. No
    /// elements at any depth is PostgreSQL's empty array (ndim 0, flag 0, the OID);
    /// a NULL or ragged sub-list has no binary form (`wire.binary._array_binary`).
    fn write_array_binary(&self, row: usize, out: &mut Vec<u8>) -> Result<(), RowsError> {
        let (start, end) = self.span(row)?;
        let dims = [end - start];
        match &self.element {
            Node::Scalar(col) => write_array_send(col, self.oid, &dims, start..end, out),
            Node::List(_) => self.write_dimensions(start, end, out),
            element => write_array_send(element, self.oid, &dims, start..end, out),
        }
    }

    /// array_send of a multi-dimensional array whose first dimension is elements
    /// `start..end`, each a sub-list of the same length, and so on down each level.
    fn write_dimensions(
        &self,
        mut start: usize,
        mut end: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), RowsError> {
        let mut dims = [0usize; MAX_DEPTH];
        dims[0] = end - start;
        let mut ndim = 1;
        let mut level = &self.element;
        while let Node::List(sub) = level {
            if start == end {
                break;
            }
            let (first, mut last) = sub.rectangular_span(start)?;
            let length = last - first;
            for j in start + 1..end {
                let (from, to) = sub.rectangular_span(j)?;
                if to - from != length {
                    return Err(RowsError::RaggedArray);
                }
                last = to;
            }
            // Consecutive lists' spans are adjacent: the next level is one range.
            dims[ndim] = length;
            ndim += 1;
            (start, end, level) = (first, last, &sub.element);
        }
        let dims = &dims[..ndim];
        match level {
            Node::Scalar(col) => write_array_send(col, self.oid, dims, start..end, out),
            level => write_array_send(level, self.oid, dims, start..end, out),
        }
    }

    /// The span of sub-list `row` of a multi-dimensional array, which must not be NULL.
    fn rectangular_span(&self, row: usize) -> Result<(usize, usize), RowsError> {
        if self.is_null(row) {
            return Err(RowsError::RaggedArray);
        }
        self.span(row)
    }

    /// The JSON array of list `row` (not NULL): each element's JSON, NULL as null.
    pub(crate) fn write_json(&self, row: usize, out: &mut Vec<u8>) -> Result<(), RowsError> {
        let (start, end) = self.span(row)?;
        out.push(b'[');
        for j in start..end {
            if j > start {
                out.push(b',');
            }
            self.element.write_json(j, out)?;
        }
        out.push(b']');
        Ok(())
    }
}

/// An array's innermost elements, read through a scalar column itself (the common
/// case: the loops below are then compiled for it, without a `Node` dispatch per
/// element) or through any node.
pub(crate) trait Elements {
    fn is_null(&self, row: usize) -> bool;
    /// Row `row` with its int32 length, or -1 for NULL.
    fn write_value(&self, row: usize, out: &mut Vec<u8>) -> Result<(), RowsError>;
    /// Whether array_out may quote it: every element but a sub-array.
    fn quotable(&self) -> bool {
        true
    }
}

impl Elements for NativeColumn<'_> {
    fn is_null(&self, row: usize) -> bool {
        NativeColumn::is_null(self, row)
    }

    fn write_value(&self, row: usize, out: &mut Vec<u8>) -> Result<(), RowsError> {
        NativeColumn::write_value(self, row, out)
    }
}

/// array_out of elements `rows`: '{a,b}', NULL elements spelled NULL, a sub-array as
/// its own '{...}' (NULL if NULL, ragged as it is), every other element as its own
/// text, quoted where array_out quotes it.
fn write_array_out(
    elements: &impl Elements,
    rows: Range<usize>,
    out: &mut Vec<u8>,
) -> Result<(), RowsError> {
    out.push(b'{');
    let start = rows.start;
    for j in rows {
        if j > start {
            out.push(b',');
        }
        if elements.is_null(j) {
            out.extend_from_slice(b"NULL");
            continue;
        }
        // The element's text lands after its length word; drop the word, and quote
        // the text where needed.
        let at = out.len();
        elements.write_value(j, out)?;
        if elements.quotable() && needs_quotes(&out[at + 4..]) {
            let text = out.split_off(at + 4);
            out.truncate(at);
            write_quoted(&text, out);
        } else {
            unframe(out, at);
        }
    }
    out.push(b'}');
    Ok(())
}

/// array_send of elements `rows`, the innermost of an array of dimensions `dims`:
/// the header, then each element (PostgreSQL's empty array if there are none).
fn write_array_send(
    elements: &impl Elements,
    oid: u32,
    dims: &[usize],
    rows: Range<usize>,
    out: &mut Vec<u8>,
) -> Result<(), RowsError> {
    let oid = oid.to_be_bytes();
    if rows.is_empty() {
        let mut empty = [0u8; 12];
        empty[8..].copy_from_slice(&oid);
        write_fixed(&empty, out);
        return Ok(());
    }
    let has_null = rows.clone().any(|j| elements.is_null(j));
    write_framed(out, |out| {
        // At most MAX_DEPTH dimensions.
        out.extend_from_slice(&(dims.len() as i32).to_be_bytes());
        out.extend_from_slice(&i32::from(has_null).to_be_bytes());
        out.extend_from_slice(&oid);
        for &length in dims {
            let length = i32::try_from(length).map_err(|_| RowsError::TooLarge)?;
            out.extend_from_slice(&length.to_be_bytes());
            out.extend_from_slice(&1i32.to_be_bytes());
        }
        rows.into_iter()
            .try_for_each(|j| elements.write_value(j, out))
    })
}

/// The most a nested value's estimated width says: estimates multiply from level to
/// level, and the rows' buffer is reserved from them.
pub(crate) const MAX_ESTIMATE: usize = 1 << 16;

/// A value written in place by `write`, preceded by its int32 length.
pub(crate) fn write_framed(
    out: &mut Vec<u8>,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), RowsError>,
) -> Result<(), RowsError> {
    let mut result = Ok(());
    write_text(out, |out| result = write(out))?;
    result
}

/// Drops the int32 length word of the value written at `at`, keeping its bytes.
pub(crate) fn unframe(out: &mut Vec<u8>, at: usize) {
    out.copy_within(at + 4.., at);
    out.truncate(out.len() - 4);
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
