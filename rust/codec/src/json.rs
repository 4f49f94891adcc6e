//! Nested columns: the tree of Arrow arrays a value is read from (`Node`), and the
//! json that STRUCT, MAP and UNION values are sent as, in both formats (json's binary
//! form is its text), byte-identical to `wire.text.json_values`.
//!
//! JSON rules (docs/types.md): NULL is `null`; bool `true` / `false`; integers,
//! numeric and floats their PostgreSQL text as a number, except NaN / Infinity /
//! -Infinity, which are strings; json embedded as it is; lists `[...]`; a STRUCT an
//! object in field order; a MAP an object keyed by each key's PostgreSQL text; a UNION
//! its active member's value (a NULL member makes the union NULL); every other kind a
//! string of its PostgreSQL text, escaped like PostgreSQL's escape_json. Members are
//! rendered by the very encoders of their kind (`rows::NativeColumn` in text form).

use crate::array::{Elements, ListColumn, ListOffsets, MAX_ESTIMATE, unframe, write_framed};
use crate::rows::{Kind, NativeColumn, RowsError, bit};

/// The most levels of lists and containers a nested value may have: the writers
/// recurse once per level, so this bounds their stack.
pub const MAX_DEPTH: usize = 32;

/// json's OID: the element type of STRUCT[], MAP[] and UNION[] (`_json`).
const JSON_OID: u32 = 114;

/// One array of a nested column: a natively encoded scalar, a list level, or a
/// container sent as json. Row `i` of a node is element `i` of its array (the array's
/// own offset added, as pyarrow reports it).
#[derive(Debug, Clone)]
pub enum Node<'a> {
    Scalar(NativeColumn<'a>),
    List(Box<ListColumn<'a>>),
    Struct(Box<StructNode<'a>>),
    Map(Box<MapNode<'a>>),
    Union(Box<UnionNode<'a>>),
}

/// A STRUCT: its fields' arrays, each sliced like the struct (`StructArray.field`),
/// so row `i` of the struct is row `i` of every field.
#[derive(Debug, Clone)]
pub struct StructNode<'a> {
    /// Each field's `"name":`, escaped once.
    keys: Vec<Vec<u8>>,
    fields: Vec<Node<'a>>,
    validity: Option<&'a [u8]>,
    offset: usize,
    len: usize,
    depth: usize,
}

/// A MAP: int32 offsets into its keys and items (`MapArray.keys` / `.items`).
#[derive(Debug, Clone)]
pub struct MapNode<'a> {
    offsets: ListOffsets<'a>,
    validity: Option<&'a [u8]>,
    offset: usize,
    len: usize,
    keys: Node<'a>,
    items: Node<'a>,
    depth: usize,
}

/// A UNION (no validity of its own): int8 type ids and, if dense, int32 offsets into
/// the members; a sparse union's members are sliced like it (`UnionArray.field`).
#[derive(Debug, Clone)]
pub struct UnionNode<'a> {
    type_ids: &'a [u8],
    value_offsets: Option<&'a [u8]>,
    /// The member of each type code (0..=127), `NO_MEMBER` where none has it.
    members_by_code: [u8; 128],
    members: Vec<Node<'a>>,
    offset: usize,
    len: usize,
    depth: usize,
}

const NO_MEMBER: u8 = u8::MAX;

/// A STRUCT, MAP or UNION column, sent as json.
#[derive(Debug, Clone)]
pub struct JsonColumn<'a> {
    node: Node<'a>,
}

impl<'a> Node<'a> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Scalar(col) => col.len(),
            Self::List(list) => list.len(),
            Self::Struct(node) => node.len,
            Self::Map(node) => node.len,
            Self::Union(node) => node.len,
        }
    }

    /// Levels of lists and containers, this one included (0 for a scalar).
    pub(crate) fn depth(&self) -> usize {
        match self {
            Self::Scalar(_) => 0,
            Self::List(list) => list.depth(),
            Self::Struct(node) => node.depth,
            Self::Map(node) => node.depth,
            Self::Union(node) => node.depth,
        }
    }

    pub(crate) fn is_json(&self) -> bool {
        matches!(self, Self::Struct(_) | Self::Map(_) | Self::Union(_))
    }

    /// Whether a scalar or list is in binary form; json is text in both formats.
    pub(crate) fn binary(&self) -> bool {
        match self {
            Self::Scalar(col) => col.binary(),
            Self::List(list) => list.binary(),
            _ => false,
        }
    }

    /// The PostgreSQL type OID of an array element of this node (a list's: its
    /// innermost elements').
    pub(crate) fn oid(&self) -> u32 {
        match self {
            Self::Scalar(col) => col.kind().oid(),
            Self::List(list) => list.oid(),
            _ => JSON_OID,
        }
    }

    /// Roughly the bytes a value takes (its length word aside), at most MAX_ESTIMATE.
    pub(crate) fn estimated_width(&self) -> usize {
        let width = match self {
            Self::Scalar(col) => col.estimated_width(),
            Self::List(list) => list.estimated_width(),
            Self::Struct(node) => node
                .fields
                .iter()
                .zip(&node.keys)
                .fold(2usize, |sum, (field, key)| {
                    sum.saturating_add(key.len() + 1 + field.estimated_width())
                }),
            Self::Map(node) => {
                let entry = 4 + node.keys.estimated_width() + node.items.estimated_width();
                let entries = node.offsets.average(node.offset, node.len);
                entries.saturating_mul(entry).saturating_add(2)
            }
            Self::Union(node) => node
                .members
                .iter()
                .map(Node::estimated_width)
                .max()
                .unwrap_or(4),
        };
        width.min(MAX_ESTIMATE)
    }

    /// Appends the PostgreSQL text of row `row` (not NULL), without a length word:
    /// a scalar's text, a list's array_out, a container's json.
    pub(crate) fn write_text(&self, row: usize, out: &mut Vec<u8>) -> Result<(), RowsError> {
        match self {
            Self::Scalar(col) => {
                let at = out.len();
                col.write_value(row, out)?;
                unframe(out, at);
                Ok(())
            }
            Self::List(list) => list.write_array_text(row, out),
            _ => self.write_json(row, out),
        }
    }

    /// Appends the JSON of row `row` (`null` for NULL).
    pub(crate) fn write_json(&self, row: usize, out: &mut Vec<u8>) -> Result<(), RowsError> {
        if self.is_null(row) {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        match self {
            Self::Scalar(col) => write_scalar_json(col, row, out),
            Self::List(list) => list.write_json(row, out),
            Self::Struct(node) => node.write_json(row, out),
            Self::Map(node) => node.write_json(row, out),
            Self::Union(node) => {
                let (member, member_row) = node.slot(row);
                node.members[member].write_json(member_row, out)
            }
        }
    }
}

impl Elements for Node<'_> {
    fn is_null(&self, row: usize) -> bool {
        match self {
            Self::Scalar(col) => col.is_null(row),
            Self::List(list) => list.is_null(row),
            Self::Struct(node) => is_null(node.validity, node.offset + row),
            Self::Map(node) => is_null(node.validity, node.offset + row),
            Self::Union(node) => {
                let (member, member_row) = node.slot(row);
                node.members[member].is_null(member_row)
            }
        }
    }

    /// Row `row` as a column of its own would have it: int32 length and bytes (json:
    /// its text), or -1 for NULL.
    fn write_value(&self, row: usize, out: &mut Vec<u8>) -> Result<(), RowsError> {
        match self {
            Self::Scalar(col) => col.write_value(row, out),
            Self::List(list) => list.write_value(row, out),
            _ if self.is_null(row) => {
                out.extend_from_slice(&(-1i32).to_be_bytes());
                Ok(())
            }
            _ => write_framed(out, |out| self.write_json(row, out)),
        }
    }

    fn quotable(&self) -> bool {
        !matches!(self, Self::List(_))
    }
}

fn is_null(validity: Option<&[u8]>, i: usize) -> bool {
    validity.is_some_and(|bits| !bit(bits, i))
}

/// Checks what every container needs: validity covering `offset + len` rows, members
/// in text form (json holds text), and a depth within `MAX_DEPTH`; returns the depth.
fn checked_depth(
    validity: Option<&[u8]>,
    offset: usize,
    len: usize,
    members: &[&Node<'_>],
) -> Result<usize, RowsError> {
    let end = offset.checked_add(len).ok_or(RowsError::BufferTooShort)?;
    if validity.is_some_and(|bits| end.div_ceil(8) > bits.len()) {
        return Err(RowsError::BufferTooShort);
    }
    if members.iter().any(|member| member.binary()) {
        return Err(RowsError::MalformedNested("json member in binary form"));
    }
    let depth = 1 + members
        .iter()
        .map(|member| member.depth())
        .max()
        .unwrap_or(0);
    if depth > MAX_DEPTH {
        return Err(RowsError::MalformedNested("nested too deep"));
    }
    Ok(depth)
}

impl<'a> StructNode<'a> {
    /// `names` and `fields` in the struct type's order; each field `len` rows long.
    pub fn new(
        names: &[&str],
        fields: Vec<Node<'a>>,
        validity: Option<&'a [u8]>,
        offset: usize,
        len: usize,
    ) -> Result<Self, RowsError> {
        if names.len() != fields.len() {
            return Err(RowsError::MalformedNested(
                "struct names do not match its fields",
            ));
        }
        if fields.iter().any(|field| field.len() != len) {
            return Err(RowsError::MalformedNested("struct field of another length"));
        }
        let members: Vec<&Node<'_>> = fields.iter().collect();
        let depth = checked_depth(validity, offset, len, &members)?;
        let keys = names
            .iter()
            .map(|name| {
                let mut key = Vec::with_capacity(name.len() + 3);
                write_json_string(name.as_bytes(), &mut key);
                key.push(b':');
                key
            })
            .collect();
        Ok(Self {
            keys,
            fields,
            validity,
            offset,
            len,
            depth,
        })
    }

    /// `{"name":value,...}` in field order.
    fn write_json(&self, row: usize, out: &mut Vec<u8>) -> Result<(), RowsError> {
        out.push(b'{');
        for (i, (key, field)) in self.keys.iter().zip(&self.fields).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            field.write_json(row, out)?;
        }
        out.push(b'}');
        Ok(())
    }
}

impl<'a> MapNode<'a> {
    /// `offsets`: int32, for `offset + len` maps; `keys` and `items` equally long.
    pub fn new(
        offsets: &'a [u8],
        validity: Option<&'a [u8]>,
        offset: usize,
        len: usize,
        keys: Node<'a>,
        items: Node<'a>,
    ) -> Result<Self, RowsError> {
        let depth = checked_depth(validity, offset, len, &[&keys, &items])?;
        let offsets = ListOffsets::Variable {
            offsets,
            large: false,
        };
        if !offsets.cover(offset + len) {
            return Err(RowsError::BufferTooShort);
        }
        if keys.len() != items.len() {
            return Err(RowsError::MalformedNested(
                "map keys and items of other lengths",
            ));
        }
        Ok(Self {
            offsets,
            validity,
            offset,
            len,
            keys,
            items,
            depth,
        })
    }

    /// `{"<key text>":value,...}` in entry order.
    fn write_json(&self, row: usize, out: &mut Vec<u8>) -> Result<(), RowsError> {
        let (start, end) = self.offsets.span(self.offset + row, self.keys.len())?;
        out.push(b'{');
        for j in start..end {
            if j > start {
                out.push(b',');
            }
            if self.keys.is_null(j) {
                // The reference fails on it too (json_string(None)); DuckDB has none.
                return Err(RowsError::MalformedNested("NULL map key"));
            }
            let at = out.len();
            self.keys.write_text(j, out)?;
            quote_tail(out, at);
            out.push(b':');
            self.items.write_json(j, out)?;
        }
        out.push(b'}');
        Ok(())
    }
}

impl<'a> UnionNode<'a> {
    /// `type_codes[i]` is the code of `members[i]`. Every row's type id must name a
    /// member and its row (dense: `value_offsets`) be inside that member; checked here,
    /// once, so reading a row cannot fail.
    pub fn new(
        type_codes: &[i8],
        type_ids: &'a [u8],
        value_offsets: Option<&'a [u8]>,
        offset: usize,
        len: usize,
        members: Vec<Node<'a>>,
    ) -> Result<Self, RowsError> {
        let refs: Vec<&Node<'_>> = members.iter().collect();
        let depth = checked_depth(None, offset, len, &refs)?;
        if type_codes.len() != members.len() {
            return Err(RowsError::MalformedNested(
                "union codes do not match its members",
            ));
        }
        let mut members_by_code = [NO_MEMBER; 128];
        for (member, &code) in type_codes.iter().enumerate() {
            let slot = usize::try_from(code)
                .ok()
                .and_then(|code| members_by_code.get_mut(code))
                .filter(|slot| **slot == NO_MEMBER)
                .ok_or(RowsError::MalformedNested("bad union type code"))?;
            // At most 128 distinct codes, so the member index fits.
            *slot = member as u8;
        }
        let end = offset + len;
        if type_ids.len() < end || value_offsets.is_some_and(|offsets| offsets.len() / 4 < end) {
            return Err(RowsError::BufferTooShort);
        }
        let node = Self {
            type_ids,
            value_offsets,
            members_by_code,
            members,
            offset,
            len,
            depth,
        };
        for row in 0..len {
            node.checked_slot(row)?;
        }
        Ok(node)
    }

    /// The member and member row of row `row`, checked.
    fn checked_slot(&self, row: usize) -> Result<(usize, usize), RowsError> {
        let i = self.offset + row;
        let code = usize::from(self.type_ids[i]);
        let member = *self.members_by_code.get(code).unwrap_or(&NO_MEMBER);
        if member == NO_MEMBER {
            return Err(RowsError::MalformedNested("union type id without a member"));
        }
        let member_row = match self.value_offsets {
            None => Some(row),
            Some(offsets) => {
                let word = offsets[i * 4..i * 4 + 4].try_into().unwrap_or([0xff; 4]);
                usize::try_from(i32::from_le_bytes(word)).ok()
            }
        };
        let member = usize::from(member);
        match member_row {
            Some(member_row) if member_row < self.members[member].len() => Ok((member, member_row)),
            _ => Err(RowsError::BadOffsets),
        }
    }

    /// The member and member row of row `row` (checked by `new`).
    fn slot(&self, row: usize) -> (usize, usize) {
        // `new` checked every row: the fallback is never taken.
        self.checked_slot(row).unwrap_or((0, 0))
    }
}

impl<'a> JsonColumn<'a> {
    /// A STRUCT, MAP or UNION node as a column.
    pub fn new(node: Node<'a>) -> Result<Self, RowsError> {
        if !node.is_json() {
            return Err(RowsError::MalformedNested(
                "a json column must be a struct, map or union",
            ));
        }
        Ok(Self { node })
    }

    pub(crate) fn len(&self) -> usize {
        self.node.len()
    }

    pub(crate) fn estimated_width(&self) -> usize {
        self.node.estimated_width()
    }

    pub(crate) fn write_value(&self, row: usize, out: &mut Vec<u8>) -> Result<(), RowsError> {
        self.node.write_value(row, out)
    }
}

/// How a scalar kind's text goes into JSON. Exhaustive on purpose: a new kind must
/// say which it is (`wire.text._JSON_NUMBER_KINDS`).
enum JsonForm {
    Number,
    Bool,
    /// json: embedded as it is.
    Raw,
    String,
}

fn json_form(kind: Kind) -> JsonForm {
    match kind {
        Kind::Int2
        | Kind::Int4
        | Kind::Int8
        | Kind::Oid
        | Kind::Numeric
        | Kind::Hugeint
        | Kind::Uhugeint
        | Kind::Bignum
        | Kind::Float4
        | Kind::Float8 => JsonForm::Number,
        Kind::Bool => JsonForm::Bool,
        Kind::Json => JsonForm::Raw,
        Kind::Text
        | Kind::Bytea
        | Kind::Uuid
        | Kind::Date
        | Kind::Timestamp
        | Kind::Timestamptz
        | Kind::Time
        | Kind::Interval
        | Kind::Enum
        | Kind::Varbit
        | Kind::Timetz => JsonForm::String,
    }
}

/// The JSON of a scalar (not NULL): its text, written by its kind's text encoder
/// after a length word, then turned into JSON in place.
fn write_scalar_json(
    col: &NativeColumn<'_>,
    row: usize,
    out: &mut Vec<u8>,
) -> Result<(), RowsError> {
    let at = out.len();
    col.write_value(row, out)?;
    let text = &out[at + 4..];
    match json_form(col.kind()) {
        JsonForm::Bool => {
            let value: &[u8] = if text == b"t" { b"true" } else { b"false" };
            out.truncate(at);
            out.extend_from_slice(value);
        }
        JsonForm::Number if !matches!(text, b"NaN" | b"Infinity" | b"-Infinity") => {
            unframe(out, at);
        }
        JsonForm::Raw => unframe(out, at),
        JsonForm::Number | JsonForm::String => quote_framed(out, at),
    }
    Ok(())
}

/// The value written at `at` after its length word, as a JSON string.
fn quote_framed(out: &mut Vec<u8>, at: usize) {
    if needs_escape(&out[at + 4..]) {
        let text = out.split_off(at + 4);
        out.truncate(at);
        write_json_string(&text, out);
    } else {
        // The length word's last byte becomes the opening quote.
        out[at + 3] = b'"';
        out.copy_within(at + 3.., at);
        out.truncate(out.len() - 3);
        out.push(b'"');
    }
}

/// The text written from `at` on, as a JSON string.
fn quote_tail(out: &mut Vec<u8>, at: usize) {
    let text = out.split_off(at);
    write_json_string(&text, out);
}

fn needs_escape(text: &[u8]) -> bool {
    text.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// escape_json: `text` in double quotes; '"', '\', \b, \f, \n, \r, \t escaped with a
/// backslash, other control characters as \u00xx, every other byte as it is (UTF-8
/// sequences never hold a byte below 0x80, so bytes are characters here).
pub(crate) fn write_json_string(text: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(text.len() + 2);
    out.push(b'"');
    for &byte in text {
        let letter = match byte {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x0c => b'f',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0..0x20 => {
                let hex = [HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 15)]];
                out.extend_from_slice(b"\\u00");
                out.extend_from_slice(&hex);
                continue;
            }
            _ => {
                out.push(byte);
                continue;
            }
        };
        out.extend_from_slice(&[b'\\', letter]);
    }
    out.push(b'"');
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
