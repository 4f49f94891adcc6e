//! `duckgres_trio._native`: thin PyO3 bindings over the pure-Rust codec crate.
//!
//! All logic lives in `duckgres_codec`; this file only converts arguments, results
//! and errors, so the classes here are drop-in twins of the Python reference ones.

use std::cell::RefCell;

use duckgres_codec::backend::{self as enc, BackendError, ErrorFields, FieldDescription};
use duckgres_codec::{
    Column, CopyError, CopyFormat, CopyOptions, DEFAULT_MAX_MESSAGE, FrameError, Framer,
    JsonColumn, Kind, Labels, ListColumn, ListOffsets, MAX_STARTUP_PACKET, MapNode, NativeColumn,
    Node, RowsError, StructNode, TimeUnit, Tz, UnionNode, Values, ViewBuffers, Zone,
};
use pyo3::buffer::{PyBuffer, PyUntypedBuffer};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyInt, PyList, PyString, PyTuple, PyType};

/// `duckgres_trio.errors.ProtocolViolation`, imported on first use: both codecs must
/// raise the very same class so callers catch one type whichever is active.
static PROTOCOL_VIOLATION: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn protocol_violation(py: Python<'_>, err: FrameError) -> PyErr {
    match PROTOCOL_VIOLATION.import(py, "duckgres_trio.errors", "ProtocolViolation") {
        Ok(cls) => PyErr::from_type(cls.clone(), err.to_string()),
        Err(import_failed) => import_failed,
    }
}

/// A size limit argument. Python ints are unbounded and the reference only
/// range-checks them, so an int that does not fit a `u32` is clamped to a value
/// `Framer::new` rejects, giving the same ValueError; non-ints stay TypeErrors.
struct Limit(u32);

impl<'a, 'py> FromPyObject<'a, 'py> for Limit {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        match obj.extract::<i64>() {
            Ok(v) => Ok(Self(v.clamp(0, u32::MAX.into()) as u32)),
            Err(_) if obj.is_instance_of::<PyInt>() => Ok(Self(u32::MAX)),
            Err(err) => Err(err),
        }
    }
}

/// Cuts a frontend byte stream into packets; feed bytes, pull messages.
#[pyclass(module = "duckgres_trio._native")]
struct FrameDecoder {
    framer: Framer,
}

#[pymethods]
impl FrameDecoder {
    #[new]
    #[pyo3(signature = (
        max_message_size = Limit(DEFAULT_MAX_MESSAGE),
        max_startup_size = Limit(MAX_STARTUP_PACKET),
    ))]
    fn new(max_message_size: Limit, max_startup_size: Limit) -> PyResult<Self> {
        let framer = Framer::new(max_message_size.0, max_startup_size.0)
            .map_err(|err| PyValueError::new_err(err.to_string()))?;
        Ok(Self { framer })
    }

    #[getter]
    fn max_message_size(&self) -> u32 {
        self.framer.max_message_size()
    }

    #[getter]
    fn max_startup_size(&self) -> u32 {
        self.framer.max_startup_size()
    }

    /// Bytes received but not yet returned as a message.
    #[getter]
    fn buffered(&self) -> usize {
        self.framer.buffered()
    }

    /// Accepts bytes, and like the reference's `bytearray +=`, any byte buffer.
    fn feed(&mut self, data: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Ok(bytes) = data.cast::<PyBytes>() {
            self.framer.feed(bytes.as_bytes());
        } else {
            let buffer = PyBuffer::<u8>::get(data)?;
            self.framer.feed(&buffer.to_vec(data.py())?);
        }
        Ok(())
    }

    /// One startup-phase packet (the bytes after its length word), or None.
    fn next_startup<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        match self.framer.next_startup() {
            Ok(packet) => Ok(packet.map(|body| PyBytes::new(py, body))),
            Err(err) => Err(protocol_violation(py, err)),
        }
    }

    /// One typed message as (type byte, body), or None if incomplete.
    fn next_message<'py>(
        &mut self,
        py: Python<'py>,
    ) -> PyResult<Option<(u8, Bound<'py, PyBytes>)>> {
        match self.framer.next_message() {
            Ok(message) => Ok(message.map(|(t, body)| (t, PyBytes::new(py, body)))),
            Err(err) => Err(protocol_violation(py, err)),
        }
    }
}

/// A pyarrow array's layout, read from `str(array.type)`: integer width and
/// signedness, bool, utf8 or binary with 32- or 64-bit offsets, string or binary
/// views, fixed-size binary, float, double or halffloat, date32 or date64, a
/// timestamp's unit and zone, decimal128's scale, a time's or duration's unit,
/// month_day_nano_interval, a list's offsets (32-bit, 64-bit, fixed size), a
/// dictionary's index type and string values, a struct, a map, or a sparse or dense
/// union. The zone, scale, list size and dictionary types are read from the type's
/// attributes afterwards.
#[derive(Clone, Copy)]
enum Layout {
    Int(usize, bool),
    Bool,
    Utf8(bool),
    Binary(bool),
    /// string_view or binary_view (the kind tells them apart).
    View,
    FixedBinary(usize),
    Float(bool),
    Half,
    Date32,
    Date64,
    Duration(TimeUnit),
    /// A named zone is `Tz::Other` here; the column's `TimeZone`, if any, replaces it.
    Timestamp(TimeUnit, Tz<'static>),
    Decimal128(u16),
    Time(TimeUnit),
    Interval,
    List(ListLayout),
    /// Index width and signedness, and whether the labels are large_utf8.
    Dictionary {
        width: usize,
        signed: bool,
        large: bool,
    },
    Struct,
    Map,
    /// `true`: dense (type ids and int32 offsets), else sparse (type ids).
    Union(bool),
}

impl Layout {
    /// How many of `array.buffers()` are the array's own (the children's follow).
    fn own_buffers(self) -> usize {
        match self {
            Self::Struct | Self::List(ListLayout::Fixed(_)) => 1,
            Self::Utf8(_) | Self::Binary(_) | Self::Union(true) => 3,
            // Any number of data buffers; a view array has no children.
            Self::View => usize::MAX,
            // A dictionary's are its indices' (the labels are an array apart).
            _ => 2,
        }
    }
}

#[derive(Clone, Copy)]
enum ListLayout {
    Variable(bool),
    Fixed(usize),
}

fn layout(type_name: &str) -> Option<Layout> {
    Some(match type_name {
        "int8" => Layout::Int(1, true),
        "int16" => Layout::Int(2, true),
        "int32" => Layout::Int(4, true),
        "int64" => Layout::Int(8, true),
        "uint8" => Layout::Int(1, false),
        "uint16" => Layout::Int(2, false),
        "uint32" => Layout::Int(4, false),
        "uint64" => Layout::Int(8, false),
        "bool" => Layout::Bool,
        "string" => Layout::Utf8(false),
        "large_string" => Layout::Utf8(true),
        "binary" => Layout::Binary(false),
        "large_binary" => Layout::Binary(true),
        "string_view" | "binary_view" => Layout::View,
        "float" => Layout::Float(false),
        "double" => Layout::Float(true),
        "halffloat" => Layout::Half,
        "date32[day]" => Layout::Date32,
        "date64[ms]" => Layout::Date64,
        "time32[s]" => Layout::Time(TimeUnit::Second),
        "time32[ms]" => Layout::Time(TimeUnit::Milli),
        "time64[us]" => Layout::Time(TimeUnit::Micro),
        "time64[ns]" => Layout::Time(TimeUnit::Nano),
        "month_day_nano_interval" => Layout::Interval,
        _ if type_name.starts_with("decimal128(") => Layout::Decimal128(0),
        _ if type_name.starts_with("list<") => Layout::List(ListLayout::Variable(false)),
        _ if type_name.starts_with("large_list<") => Layout::List(ListLayout::Variable(true)),
        _ if type_name.starts_with("fixed_size_list<") => Layout::List(ListLayout::Fixed(0)),
        _ if type_name.starts_with("struct<") => Layout::Struct,
        _ if type_name.starts_with("map<") => Layout::Map,
        _ if type_name.starts_with("sparse_union<") => Layout::Union(false),
        _ if type_name.starts_with("dense_union<") => Layout::Union(true),
        _ if type_name.starts_with("dictionary<") => Layout::Dictionary {
            width: 0,
            signed: false,
            large: false,
        },
        _ => {
            if let Some(width) = type_name
                .strip_prefix("fixed_size_binary[")
                .and_then(|rest| rest.strip_suffix(']'))
            {
                return width.parse().ok().map(Layout::FixedBinary);
            }
            if let Some(unit) = type_name
                .strip_prefix("duration[")
                .and_then(|rest| rest.strip_suffix(']'))
            {
                return TimeUnit::from_name(unit).map(Layout::Duration);
            }
            // "timestamp[us]" or "timestamp[us, tz=...]": the zone is read separately.
            let rest = type_name.strip_prefix("timestamp[")?;
            let unit = rest.split([',', ']']).next()?;
            return TimeUnit::from_name(unit).map(|unit| Layout::Timestamp(unit, Tz::Naive));
        }
    })
}

/// A dictionary type's layout: integer indices (read by `layout` from the index type)
/// into utf8 or large_utf8 labels; any other value type is only known to Python.
fn dictionary_layout(arrow_type: &Bound<'_, PyAny>, type_name: &str) -> PyResult<Layout> {
    let not_native =
        || PyTypeError::new_err(format!("Arrow type {type_name} is not encoded natively"));
    let index_type = arrow_type.getattr("index_type")?.str()?.to_string();
    let value_type = arrow_type.getattr("value_type")?.str()?.to_string();
    match (layout(&index_type), layout(&value_type)) {
        (Some(Layout::Int(width, signed)), Some(Layout::Utf8(large))) => Ok(Layout::Dictionary {
            width,
            signed,
            large,
        }),
        _ => Err(not_native()),
    }
}

/// The zone of a timestamp type's `tz`, as `wire.text._zone` reads it: "UTC" and
/// "+HH:MM" / "-HH:MM" (ASCII digits, under 24 hours, as `datetime.timezone` needs)
/// are fixed offsets; any other zone's offsets come with the column (`TimeZone`).
fn zone_of(tz: &str) -> Tz<'static> {
    if tz == "UTC" {
        return Tz::Fixed(0);
    }
    let bytes = tz.as_bytes();
    let digit = |i: usize| {
        bytes[i]
            .is_ascii_digit()
            .then(|| i32::from(bytes[i] - b'0'))
    };
    if bytes.len() == 6 && matches!(bytes[0], b'+' | b'-') && bytes[3] == b':' {
        if let (Some(h1), Some(h2), Some(m1), Some(m2)) = (digit(1), digit(2), digit(4), digit(5)) {
            let minutes = (h1 * 10 + h2) * 60 + m1 * 10 + m2;
            if minutes < 24 * 60 {
                let sign = if bytes[0] == b'-' { -1 } else { 1 };
                return Tz::Fixed(sign * minutes * 60);
            }
        }
    }
    Tz::Other
}

/// A named time zone's offsets, read from the TZif file `zoneinfo.ZoneInfo(name)`
/// loads (`wire.text.zone_tzif`): made once per zone (`wire.rows._rust_zone` keeps
/// it) and passed with each column whose timestamptz text is printed in that zone.
#[pyclass(module = "duckgres_trio._native", frozen)]
struct TimeZone {
    name: String,
    zone: Zone,
}

#[pymethods]
impl TimeZone {
    /// ValueError for a file the codec does not read as zoneinfo would.
    #[new]
    fn new(name: String, tzif: &[u8]) -> PyResult<Self> {
        let zone = Zone::from_tzif(tzif)
            .map_err(|err| PyValueError::new_err(format!("time zone {name:?}: {err}")))?;
        Ok(Self { name, zone })
    }

    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    fn __repr__(&self) -> String {
        format!("TimeZone({:?})", self.name)
    }
}

/// The `TimeZone` passed with a column, which must be the zone of its timestamps.
fn fitting_zone(
    zone: &Bound<'_, TimeZone>,
    arrow_type: &Bound<'_, PyAny>,
    layout: Layout,
) -> PyResult<Py<TimeZone>> {
    let name = &zone.get().name;
    if let Layout::Timestamp(_, Tz::Other) = layout {
        let tz: Option<String> = arrow_type.getattr("tz")?.extract()?;
        if tz.as_ref() == Some(name) {
            return Ok(zone.clone().unbind());
        }
    }
    Err(PyValueError::new_err(format!(
        "time zone {name:?} does not fit Arrow type {}",
        arrow_type.str()?
    )))
}

/// A column the Rust side encodes, as `encode_data_rows` takes it (a scalar, a legacy
/// 1-D list, or a tree of arrays for lists, STRUCT, MAP and UNION; a timestamptz
/// column or leaf with the `TimeZone` its text is printed in if that is a named zone),
/// with every array's own buffers held open (pyarrow buffers are immutable) while they
/// are read.
struct ArrowColumn {
    /// None for a container (list, struct, map, union): its leaves have the kinds;
    /// and for a dictionary's labels.
    kind: Option<Kind>,
    binary: bool,
    layout: Layout,
    buffers: Vec<Option<PyUntypedBuffer>>,
    offset: usize,
    len: usize,
    /// A list's elements; a struct's fields; a map's keys and items; a union's members.
    children: Vec<ArrowColumn>,
    /// A struct's field names.
    names: Vec<String>,
    /// A union's type code of each member.
    type_codes: Vec<i8>,
    /// A dictionary's labels (an array of their own).
    labels: Option<Box<ArrowColumn>>,
    /// A named zone's offsets, for a timestamp column's text.
    zone: Option<Py<TimeZone>>,
}

/// The kinds of containers: their children have the kinds of their leaves.
const CONTAINERS: [&str; 4] = ["list", "struct", "map", "union"];

/// The container kind a layout holds, None for a scalar layout.
fn container_of(layout: Layout) -> Option<&'static str> {
    Some(match layout {
        Layout::List(_) => "list",
        Layout::Struct => "struct",
        Layout::Map => "map",
        Layout::Union(_) => "union",
        _ => return None,
    })
}

fn value_error(err: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(err.to_string())
}

impl ArrowColumn {
    /// (array, format, kind) for a scalar; (array, format, kind, children) for a
    /// container, each child (array, kind) or (array, kind, children); or the 1-D list
    /// shorthand (list array, format, "list", element array, element kind). A scalar or
    /// the shorthand may be followed by the `TimeZone` of its (element) timestamps'
    /// text, and so may a leaf child: (array, kind, TimeZone).
    fn extract(spec: &Bound<'_, PyTuple>) -> PyResult<Self> {
        // A trailing TimeZone: the rest is a column spec as without one.
        let zone = match spec.len() {
            4.. => spec
                .get_item(spec.len() - 1)?
                .cast::<TimeZone>()
                .ok()
                .cloned(),
            _ => None,
        };
        let spec = match zone {
            Some(_) => spec.get_slice(0, spec.len() - 1),
            None => spec.clone(),
        };
        let zone = zone.as_ref();
        if spec.len() == 5 {
            let (array, format, kind, elements, element_kind): (
                Bound<'_, PyAny>,
                u8,
                String,
                Bound<'_, PyAny>,
                String,
            ) = spec.extract()?;
            if kind != "list" {
                return Err(PyValueError::new_err(format!(
                    "only a list has an element kind, not {kind:?}"
                )));
            }
            let binary = binary_format(format)?;
            // A scalar kind: a nested list needs the (array, format, kind, children) form.
            let element = Self::node(&elements, binary, &element_kind, None, zone, 1)?;
            let mut list = Self::from_array(&array, binary, None, None)?;
            if !matches!(list.layout, Layout::List(_)) {
                return Err(PyValueError::new_err(
                    "Arrow array layout does not fit kind list",
                ));
            }
            list.children.push(element);
            return Ok(list);
        }
        let (array, format, kind) = (spec.get_item(0)?, spec.get_item(1)?, spec.get_item(2)?);
        let children = match spec.len() {
            4 => Some(spec.get_item(3)?.cast_into::<PyTuple>()?),
            _ => None,
        };
        let kind: String = kind.extract()?;
        Self::node(
            &array,
            binary_format(format.extract()?)?,
            &kind,
            children.as_ref(),
            zone,
            0,
        )
    }

    /// One array of a column at `depth` (0: the column) and, for a container, its
    /// children, depth first: a list's elements in its format, every other member in
    /// text (json holds text). `zone`: a timestamptz leaf's named zone.
    fn node(
        array: &Bound<'_, PyAny>,
        binary: bool,
        kind: &str,
        children: Option<&Bound<'_, PyTuple>>,
        zone: Option<&Bound<'_, TimeZone>>,
        depth: usize,
    ) -> PyResult<Self> {
        let container = CONTAINERS.contains(&kind);
        match (container, children) {
            (false, Some(_)) => {
                return Err(PyValueError::new_err(format!(
                    "kind {kind:?} has no children"
                )));
            }
            (true, None) => {
                return Err(PyValueError::new_err(format!(
                    "kind {kind:?} is not encoded natively without its children"
                )));
            }
            _ => {}
        }
        let mut column = Self::from_array(array, binary, (!container).then_some(kind), zone)?;
        if container_of(column.layout) != container.then_some(kind) {
            return Err(PyValueError::new_err(format!(
                "Arrow array layout does not fit kind {kind}"
            )));
        }
        let Some(children) = children else {
            return Ok(column);
        };
        if depth >= duckgres_codec::MAX_DEPTH {
            return Err(value_error(RowsError::MalformedNested("nested too deep")));
        }
        let arrow_type = array.getattr("type")?;
        let expected = match column.layout {
            Layout::List(_) => 1,
            Layout::Map => 2,
            Layout::Struct => {
                column.names = arrow_type.getattr("names")?.extract()?;
                column.names.len()
            }
            _ => {
                column.type_codes = arrow_type.getattr("type_codes")?.extract()?;
                column.type_codes.len()
            }
        };
        if children.len() != expected {
            return Err(PyValueError::new_err(format!(
                "kind {kind} needs {expected} children, not {}",
                children.len()
            )));
        }
        let child_binary = binary && matches!(column.layout, Layout::List(_));
        for child in children.iter() {
            let child = child.cast_into::<PyTuple>()?;
            // (array, kind), (array, kind, children) or (array, kind, TimeZone).
            let third = match child.len() {
                3 => Some(child.get_item(2)?),
                _ => None,
            };
            let zone = third
                .as_ref()
                .and_then(|item| item.cast::<TimeZone>().ok().cloned());
            let grandchildren = match third {
                Some(item) if zone.is_none() => Some(item.cast_into::<PyTuple>()?),
                _ => None,
            };
            let (array, kind) = (child.get_item(0)?, child.get_item(1)?);
            let kind: String = kind.extract()?;
            column.children.push(Self::node(
                &array,
                child_binary,
                &kind,
                grandchildren.as_ref(),
                zone.as_ref(),
                depth + 1,
            )?);
        }
        Ok(column)
    }

    /// An array to encode as `kind` (None: a container, whose leaves have kinds), its
    /// timestamps' text in `zone` if given.
    fn from_array(
        array: &Bound<'_, PyAny>,
        binary: bool,
        kind: Option<&str>,
        zone: Option<&Bound<'_, TimeZone>>,
    ) -> PyResult<Self> {
        let kind = kind
            .map(|kind| {
                Kind::from_name(kind).ok_or_else(|| {
                    PyValueError::new_err(format!("kind {kind:?} is not encoded natively"))
                })
            })
            .transpose()?;
        let arrow_type = array.getattr("type")?;
        let type_name = arrow_type.str()?.to_string();
        let mut layout = layout(&type_name).ok_or_else(|| {
            PyTypeError::new_err(format!("Arrow type {type_name} is not encoded natively"))
        })?;
        match layout {
            Layout::Timestamp(unit, _) => {
                let tz: Option<String> = arrow_type.getattr("tz")?.extract()?;
                layout = Layout::Timestamp(unit, tz.as_deref().map_or(Tz::Naive, zone_of));
            }
            Layout::Decimal128(_) => {
                // A negative scale has no dscale (the caller keeps it in Python).
                let scale: i64 = arrow_type.getattr("scale")?.extract()?;
                let scale = u16::try_from(scale).map_err(|_| {
                    PyTypeError::new_err(format!("Arrow type {type_name} is not encoded natively"))
                })?;
                layout = Layout::Decimal128(scale);
            }
            Layout::List(ListLayout::Fixed(_)) => {
                let size = arrow_type.getattr("list_size")?.extract()?;
                layout = Layout::List(ListLayout::Fixed(size));
            }
            Layout::Dictionary { .. } => layout = dictionary_layout(&arrow_type, &type_name)?,
            _ => {}
        }
        let zone = zone
            .map(|zone| fitting_zone(zone, &arrow_type, layout))
            .transpose()?;
        // `buffers()` lists the children's buffers after the array's own: export only
        // the array's own.
        let mut buffers = Vec::new();
        for buffer in array
            .call_method0("buffers")?
            .try_iter()?
            .take(layout.own_buffers())
        {
            let buffer = buffer?;
            buffers.push(if buffer.is_none() {
                None
            } else {
                Some(PyUntypedBuffer::get(&buffer)?)
            });
        }
        if buffers.iter().flatten().any(|b| !b.is_c_contiguous()) {
            return Err(PyValueError::new_err("Arrow buffer is not contiguous"));
        }
        let offset = array.getattr("offset")?.extract()?;
        let len = array.len()?;
        // A dictionary's buffers are its indices'; the labels are an array apart.
        let labels = match layout {
            Layout::Dictionary { .. } => Some(Box::new(Self::from_array(
                &array.getattr("dictionary")?,
                binary,
                None,
                None,
            )?)),
            _ => None,
        };
        Ok(Self {
            kind,
            binary,
            layout,
            buffers,
            offset,
            len,
            children: Vec::new(),
            names: Vec::new(),
            type_codes: Vec::new(),
            labels,
            zone,
        })
    }

    fn buffer(&self, i: usize) -> &[u8] {
        match self.buffers.get(i) {
            Some(Some(buffer)) if buffer.len_bytes() > 0 => {
                // SAFETY: a C-contiguous exported buffer of len_bytes bytes, alive (and,
                // for pyarrow, immutable) as long as `self` holds the export.
                unsafe {
                    std::slice::from_raw_parts(buffer.buf_ptr().cast::<u8>(), buffer.len_bytes())
                }
            }
            _ => &[],
        }
    }

    fn validity(&self) -> Option<&[u8]> {
        self.buffers
            .first()
            .and_then(Option::as_ref)
            .map(|_| self.buffer(0))
    }

    /// The column as the codec reads it: a scalar, an array, or json.
    fn column(&self) -> PyResult<Column<'_>> {
        Ok(match self.layout {
            Layout::List(_) => Column::List(self.list()?),
            Layout::Struct | Layout::Map | Layout::Union(_) => {
                Column::Json(JsonColumn::new(self.node_of()?).map_err(value_error)?)
            }
            _ => Column::Native(self.native()?),
        })
    }

    /// A list: its offsets over its element node.
    fn list(&self) -> PyResult<ListColumn<'_>> {
        let Layout::List(list) = self.layout else {
            return Err(PyValueError::new_err("not a list"));
        };
        let offsets = match list {
            ListLayout::Variable(large) => ListOffsets::Variable {
                offsets: self.buffer(1),
                large,
            },
            ListLayout::Fixed(size) => ListOffsets::Fixed { size },
        };
        let element = match self.children.as_slice() {
            [element] => element.node_of()?,
            _ => return Err(PyValueError::new_err("a list needs its elements")),
        };
        ListColumn::nested(
            offsets,
            self.validity(),
            self.offset,
            self.len,
            self.binary,
            element,
        )
        .map_err(value_error)
    }

    /// This array and its children as a tree the codec reads.
    fn node_of(&self) -> PyResult<Node<'_>> {
        let children =
            || -> PyResult<Vec<Node<'_>>> { self.children.iter().map(Self::node_of).collect() };
        let (validity, offset, len) = (self.validity(), self.offset, self.len);
        let node = match self.layout {
            Layout::List(_) => Node::List(Box::new(self.list()?)),
            Layout::Struct => {
                let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
                let node = StructNode::new(&names, children()?, validity, offset, len);
                Node::Struct(Box::new(node.map_err(value_error)?))
            }
            Layout::Map => {
                let [keys, items] = <[Node<'_>; 2]>::try_from(children()?)
                    .map_err(|_| PyValueError::new_err("a map needs its keys and items"))?;
                let node = MapNode::new(self.buffer(1), validity, offset, len, keys, items);
                Node::Map(Box::new(node.map_err(value_error)?))
            }
            Layout::Union(dense) => {
                let value_offsets = dense.then(|| self.buffer(2));
                let node = UnionNode::new(
                    &self.type_codes,
                    self.buffer(1),
                    value_offsets,
                    offset,
                    len,
                    children()?,
                );
                Node::Union(Box::new(node.map_err(value_error)?))
            }
            _ => Node::Scalar(self.native()?),
        };
        Ok(node)
    }

    fn native(&self) -> PyResult<NativeColumn<'_>> {
        let kind = self
            .kind
            .ok_or_else(|| PyValueError::new_err("a container needs its children"))?;
        let values = match self.layout {
            Layout::Int(width, signed) => Values::Int {
                data: self.buffer(1),
                width,
                signed,
            },
            Layout::Bool => Values::Bool {
                bits: self.buffer(1),
            },
            Layout::Utf8(large) => Values::Utf8 {
                offsets: self.buffer(1),
                data: self.buffer(2),
                large,
            },
            Layout::Binary(large) => Values::Binary {
                offsets: self.buffer(1),
                data: self.buffer(2),
                large,
            },
            Layout::View => Values::View {
                views: self.buffer(1),
                buffers: self,
            },
            Layout::FixedBinary(width) => Values::FixedBinary {
                data: self.buffer(1),
                width,
            },
            Layout::Float(double) => Values::Float {
                data: self.buffer(1),
                double,
            },
            Layout::Half => Values::Half {
                data: self.buffer(1),
            },
            Layout::Date32 => Values::Date32 {
                data: self.buffer(1),
            },
            Layout::Date64 => Values::Date64 {
                data: self.buffer(1),
            },
            Layout::Duration(unit) => Values::Duration {
                data: self.buffer(1),
                unit,
            },
            Layout::Timestamp(unit, tz) => Values::Timestamp {
                data: self.buffer(1),
                unit,
                // `fitting_zone` checked that the layout's is the named zone.
                tz: self
                    .zone
                    .as_ref()
                    .map_or(tz, |zone| Tz::Zone(&zone.get().zone)),
            },
            Layout::Decimal128(scale) => Values::Decimal128 {
                data: self.buffer(1),
                scale,
            },
            Layout::Time(unit) => Values::Time {
                data: self.buffer(1),
                unit,
            },
            Layout::Interval => Values::Interval {
                data: self.buffer(1),
            },
            Layout::List(_) | Layout::Struct | Layout::Map | Layout::Union(_) => {
                return Err(PyValueError::new_err("a container needs its children"));
            }
            Layout::Dictionary {
                width,
                signed,
                large,
            } => {
                let labels = self
                    .labels
                    .as_deref()
                    .ok_or_else(|| PyValueError::new_err("a dictionary needs its labels"))?;
                Values::Dictionary {
                    indices: self.buffer(1),
                    width,
                    signed,
                    labels: Labels {
                        offsets: labels.buffer(1),
                        data: labels.buffer(2),
                        large,
                        validity: labels.validity(),
                        offset: labels.offset,
                        len: labels.len,
                    },
                }
            }
        };
        NativeColumn::new(
            kind,
            self.binary,
            values,
            self.validity(),
            self.offset,
            self.len,
        )
        .map_err(value_error)
    }
}

fn binary_format(format: u8) -> PyResult<bool> {
    match format {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(PyValueError::new_err(format!(
            "invalid format code {format}"
        ))),
    }
}

/// `duckgres_trio.wire.binary.RaggedArrayError`, imported on first use: a ragged or
/// NULL sub-list in binary must fail with the reference's own PgError (2202E).
static RAGGED_ARRAY_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// An encoding error as the Python encoders raise it: RaggedArrayError for a ragged
/// binary array (`ragged`), ValueError for the rest (malformed input the reference
/// never sees).
fn encode_error(py: Python<'_>, err: impl std::fmt::Display, ragged: bool) -> PyErr {
    if !ragged {
        return value_error(err);
    }
    match RAGGED_ARRAY_ERROR.import(py, "duckgres_trio.wire.binary", "RaggedArrayError") {
        Ok(cls) => match cls.call0() {
            Ok(instance) => PyErr::from_value(instance),
            Err(err) => err,
        },
        Err(import_failed) => import_failed,
    }
}

/// A view array's data buffers follow its validity and views.
impl ViewBuffers for ArrowColumn {
    fn data_buffer(&self, index: usize) -> Option<&[u8]> {
        let at = index.checked_add(2)?;
        (at < self.buffers.len()).then(|| self.buffer(at))
    }
}

/// DataRow messages for `row_count` rows. Each column is a list of `bytes | None`
/// (values already encoded), a tuple (pyarrow array, format 0/1, kind) encoded here,
/// (list array, format, "list", element array, element kind) for a 1-D array, either
/// followed by a `TimeZone` for timestamptz text in a named zone, or (array, format,
/// kind, children) for a container: kind "list" (an array, of one dimension per list
/// level), "struct", "map" or "union" (json), each child (array, kind), (array, kind,
/// TimeZone) for a timestamptz leaf's text in a named zone, or (array, kind,
/// children): a list's elements, a struct's fields as `StructArray.field` slices them,
/// a map's keys and items, a union's members as `UnionArray.field` gives them, in type
/// order. Scalar kinds are "int2", "int4", "int8", "oid", "bool", "text", "json",
/// "dictionary" (ENUM: a dictionary of strings), "float4", "float8", "bytea", "uuid",
/// "varbit", "date", "time", "timetz", "timestamp", "timestamptz" (the text form in
/// UTC, a fixed offset or the `TimeZone` given), "interval", and the numeric kinds
/// "decimal", "uint64", "hugeint", "uhugeint" and "bignum". A ragged or NULL sub-list
/// of a binary array raises `wire.binary.RaggedArrayError`, as the Python encoder
/// does.
#[pyfunction]
fn encode_data_rows<'py>(
    py: Python<'py>,
    columns: Vec<Bound<'py, PyAny>>,
    row_count: usize,
) -> PyResult<Bound<'py, PyBytes>> {
    // Hold every Python object first, then borrow bytes from them, then encode with
    // the GIL released: nothing below touches a Python object.
    let held = HeldColumns::hold(columns)?;
    let plan = held.plan()?;
    OUTPUT.with_borrow_mut(|out| {
        out.clear();
        let encoded = py.detach(|| duckgres_codec::encode_data_rows_into(&plan, row_count, out));
        let result = encoded
            .map(|()| PyBytes::new(py, out))
            .map_err(|err| encode_error(py, &err, err == RowsError::RaggedArray));
        if out.capacity() > KEEP_OUTPUT {
            *out = Vec::new();
        }
        out.clear();
        result
    })
}

/// The Python columns of a batch, held while their bytes are borrowed: the items of
/// each list of encoded values, and each Arrow array's exported buffers.
struct HeldColumns<'py> {
    columns: Vec<Bound<'py, PyAny>>,
    encoded_items: Vec<Vec<Bound<'py, PyAny>>>,
    arrow: Vec<ArrowColumn>,
}

impl<'py> HeldColumns<'py> {
    /// Each column a list of `bytes | None` or an (array, format, kind) tuple.
    fn hold(columns: Vec<Bound<'py, PyAny>>) -> PyResult<Self> {
        let mut encoded_items = Vec::new();
        let mut arrow = Vec::new();
        for column in &columns {
            if let Ok(list) = column.cast::<PyList>() {
                encoded_items.push(list.iter().collect());
            } else if let Ok(spec) = column.cast::<PyTuple>() {
                arrow.push(ArrowColumn::extract(spec)?);
            } else {
                return Err(PyTypeError::new_err(
                    "a column must be a list or an (array, format, kind) tuple",
                ));
            }
        }
        Ok(Self {
            columns,
            encoded_items,
            arrow,
        })
    }

    /// The columns as the codec reads them, borrowing from `self`.
    fn plan(&self) -> PyResult<Vec<Column<'_>>> {
        let (mut encoded, mut native) = (self.encoded_items.iter(), self.arrow.iter());
        let mut plan = Vec::with_capacity(self.columns.len());
        for column in &self.columns {
            if column.is_instance_of::<PyList>() {
                let items = encoded.next().map_or(&[][..], Vec::as_slice);
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(if item.is_none() {
                        None
                    } else {
                        Some(item.cast::<PyBytes>()?.as_bytes())
                    });
                }
                plan.push(Column::Encoded(values));
            } else if let Some(arrow_column) = native.next() {
                plan.push(arrow_column.column()?);
            }
        }
        Ok(plan)
    }
}

/// One single-byte COPY option character; the caller keeps other ones in Python.
fn copy_char(value: &str, name: &str) -> PyResult<u8> {
    match value.as_bytes() {
        [byte] => Ok(*byte),
        _ => Err(PyValueError::new_err(format!(
            "COPY {name} must be a single ASCII character"
        ))),
    }
}

/// CopyData messages, one per row, of `row_count` rows in COPY `format` ("text",
/// "csv" or "binary"). The columns are those of `encode_data_rows`, in text form
/// (format 0) for text and CSV, binary form (1) for binary COPY. `delimiter`, `quote`
/// and `escape` are single ASCII characters; `forced` holds CSV FORCE_QUOTE per
/// column (empty: none).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (columns, row_count, format, delimiter="\t", null="\\N", quote="\"", escape="\"", forced=Vec::new()))]
fn encode_copy_data<'py>(
    py: Python<'py>,
    columns: Vec<Bound<'py, PyAny>>,
    row_count: usize,
    format: &str,
    delimiter: &str,
    null: &str,
    quote: &str,
    escape: &str,
    forced: Vec<bool>,
) -> PyResult<Bound<'py, PyBytes>> {
    let format = CopyFormat::from_name(format)
        .ok_or_else(|| PyValueError::new_err(format!("COPY format {format:?} not recognized")))?;
    let options = CopyOptions {
        format,
        delimiter: copy_char(delimiter, "delimiter")?,
        null: null.as_bytes(),
        quote: copy_char(quote, "quote")?,
        escape: copy_char(escape, "escape")?,
        forced: &forced,
    };
    let held = HeldColumns::hold(columns)?;
    let plan = held.plan()?;
    OUTPUT.with_borrow_mut(|out| {
        COPY_SCRATCH.with_borrow_mut(|scratch| {
            out.clear();
            let encoded = py.detach(|| {
                duckgres_codec::encode_copy_data_into(&plan, row_count, &options, scratch, out)
            });
            let result = encoded.map(|()| PyBytes::new(py, out)).map_err(|err| {
                encode_error(py, &err, err == CopyError::Rows(RowsError::RaggedArray))
            });
            for buffer in [&mut *out, &mut *scratch] {
                if buffer.capacity() > KEEP_OUTPUT {
                    *buffer = Vec::new();
                }
                buffer.clear();
            }
            result
        })
    })
}

thread_local! {
    /// The DataRows a text or CSV COPY batch is framed from, kept like `OUTPUT`.
    static COPY_SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

thread_local! {
    /// The DataRows of the batch being encoded, before they are copied into the
    /// returned bytes: kept from batch to batch so its pages are already mapped.
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The largest output buffer kept for the next batch.
const KEEP_OUTPUT: usize = 64 << 20;

// ---- Backend messages: the twins of `duckgres_trio.wire.backend` ----
//
// Each takes the reference's arguments and fails where it fails, with the same
// exception class: `struct.error` for an integer `struct.pack` rejects (not an int, or
// out of range) and for a count or length over the wire's limits, AttributeError for
// a string argument that is not a str (the reference calls `.encode()` on it),
// UnicodeEncodeError for lone surrogates, TypeError for bytes arguments that are not
// bytes-like, and ValueError for a RowDescription field that is not a 5-item iterable.

/// `struct.error`, imported on first use.
static STRUCT_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn struct_error(py: Python<'_>, message: String) -> PyErr {
    match STRUCT_ERROR.import(py, "struct", "error") {
        Ok(cls) => PyErr::from_type(cls.clone(), message),
        Err(import_failed) => import_failed,
    }
}

fn encoded<'py>(
    py: Python<'py>,
    result: Result<Vec<u8>, BackendError>,
) -> PyResult<Bound<'py, PyBytes>> {
    match result {
        Ok(bytes) => Ok(PyBytes::new(py, &bytes)),
        Err(err) => Err(struct_error(py, err.to_string())),
    }
}

/// An integer as `struct.pack` takes it (an int or an `__index__` object) for a
/// format whose range is `lo..=hi`.
fn pack_int(obj: &Bound<'_, PyAny>, format: char, lo: i64, hi: i64) -> PyResult<i64> {
    let py = obj.py();
    let range = || {
        struct_error(
            py,
            format!("'{format}' format requires {lo} <= number <= {hi}"),
        )
    };
    match obj.extract::<i64>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        Ok(_) => Err(range()),
        Err(err) if err.is_instance_of::<PyOverflowError>(py) => Err(range()),
        Err(err) if err.is_instance_of::<PyTypeError>(py) => Err(struct_error(
            py,
            "required argument is not an integer".to_owned(),
        )),
        Err(err) => Err(err),
    }
}

/// A string argument, as the reference's `_cstr` reads it with `text.encode()`.
fn text_arg(obj: &Bound<'_, PyAny>) -> PyResult<PyBackedStr> {
    if obj.is_instance_of::<PyString>() {
        return obj.extract();
    }
    // Not a str: the reference's `.encode()` raises (AttributeError, as a rule).
    obj.call_method0("encode")?;
    Err(PyTypeError::new_err(format!(
        "expected str, not {}",
        obj.get_type().name()?
    )))
}

/// A bytes argument: bytes as is, any other object as `b"" + obj` makes it (a
/// TypeError for what is not bytes-like). `sized`: the reference takes its `len()`.
fn bytes_arg(obj: &Bound<'_, PyAny>, sized: bool) -> PyResult<PyBackedBytes> {
    if let Ok(bytes) = obj.cast::<PyBytes>() {
        return Ok(bytes.clone().into());
    }
    if sized {
        obj.len()?;
    }
    let joined = PyBytes::new(obj.py(), b"").add(obj)?;
    Ok(joined.cast_into::<PyBytes>()?.into())
}

/// The items of `obj` when it unpacks into exactly `N` names, as `a, b, c = obj`.
fn unpack<'py, const N: usize>(obj: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let mut items = Vec::with_capacity(N);
    for item in obj.try_iter()? {
        if items.len() == N {
            return Err(PyValueError::new_err(format!(
                "too many values to unpack (expected {N})"
            )));
        }
        items.push(item?);
    }
    if items.len() < N {
        return Err(PyValueError::new_err(format!(
            "not enough values to unpack (expected {N}, got {})",
            items.len()
        )));
    }
    Ok(items)
}

#[pyfunction]
fn authentication_ok(py: Python<'_>) -> Bound<'_, PyBytes> {
    PyBytes::new(py, &enc::authentication_ok())
}

#[pyfunction]
fn authentication_cleartext_password(py: Python<'_>) -> Bound<'_, PyBytes> {
    PyBytes::new(py, &enc::authentication_cleartext_password())
}

#[pyfunction]
fn authentication_md5_password<'py>(
    py: Python<'py>,
    salt: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let salt = bytes_arg(salt, false)?;
    encoded(py, enc::authentication_md5_password(&salt))
}

#[pyfunction]
fn authentication_sasl<'py>(
    py: Python<'py>,
    mechanisms: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut names = Vec::new();
    for mechanism in mechanisms.try_iter()? {
        names.push(text_arg(&mechanism?)?);
    }
    encoded(py, enc::authentication_sasl(&names))
}

#[pyfunction]
fn authentication_sasl_continue<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let data = bytes_arg(data, false)?;
    encoded(py, enc::authentication_sasl_continue(&data))
}

#[pyfunction]
fn authentication_sasl_final<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let data = bytes_arg(data, false)?;
    encoded(py, enc::authentication_sasl_final(&data))
}

#[pyfunction]
fn parameter_status<'py>(
    py: Python<'py>,
    name: &Bound<'py, PyAny>,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let (name, value) = (text_arg(name)?, text_arg(value)?);
    encoded(py, enc::parameter_status(&name, &value))
}

#[pyfunction]
fn backend_key_data<'py>(
    py: Python<'py>,
    pid: &Bound<'py, PyAny>,
    secret: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let pid = pack_int(pid, 'i', i32::MIN.into(), i32::MAX.into())?;
    let secret = pack_int(secret, 'I', 0, u32::MAX.into())?;
    // Both in range: checked above.
    let (pid, secret) = (pid as i32, secret as u32);
    Ok(PyBytes::new(py, &enc::backend_key_data(pid, secret)))
}

/// ``status`` is b"I" (idle), b"T" (in a transaction) or b"E" (failed transaction).
#[pyfunction]
fn ready_for_query<'py>(
    py: Python<'py>,
    status: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let status = bytes_arg(status, true)?;
    encoded(py, enc::ready_for_query(&status))
}

/// ``fields``: (name, type oid, typlen, typmod, format code) per column.
#[pyfunction]
fn row_description<'py>(
    py: Python<'py>,
    fields: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut held = Vec::new();
    for field in fields.try_iter()? {
        let items = unpack::<5>(&field?)?;
        let name = text_arg(&items[0])?;
        let oid = pack_int(&items[1], 'I', 0, u32::MAX.into())?;
        let typlen = pack_int(&items[2], 'h', i16::MIN.into(), i16::MAX.into())?;
        let typmod = pack_int(&items[3], 'i', i32::MIN.into(), i32::MAX.into())?;
        let format = pack_int(&items[4], 'h', i16::MIN.into(), i16::MAX.into())?;
        // All in range: checked above.
        held.push((
            name,
            oid as u32,
            typlen as i16,
            typmod as i32,
            format as i16,
        ));
    }
    let descriptions: Vec<FieldDescription<'_>> = held
        .iter()
        .map(
            |(name, type_oid, typlen, typmod, format)| FieldDescription {
                name,
                type_oid: *type_oid,
                typlen: *typlen,
                typmod: *typmod,
                format: *format,
            },
        )
        .collect();
    encoded(py, enc::row_description(&descriptions))
}

#[pyfunction]
fn data_row<'py>(py: Python<'py>, values: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let count = values.len()?;
    if i16::try_from(count).is_err() {
        return Err(struct_error(
            py,
            BackendError::CountTooLarge(count).to_string(),
        ));
    }
    let mut held = Vec::with_capacity(count);
    for value in values.try_iter()? {
        let value = value?;
        held.push(if value.is_none() {
            None
        } else {
            Some(bytes_arg(&value, true)?)
        });
    }
    let borrowed: Vec<Option<&[u8]>> = held.iter().map(|v| v.as_deref()).collect();
    encoded(py, enc::data_row(&borrowed))
}

#[pyfunction]
fn command_complete<'py>(
    py: Python<'py>,
    tag: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let tag = text_arg(tag)?;
    encoded(py, enc::command_complete(&tag))
}

#[pyfunction]
fn empty_query_response(py: Python<'_>) -> Bound<'_, PyBytes> {
    PyBytes::new(py, &enc::empty_query_response())
}

#[pyfunction]
fn no_data(py: Python<'_>) -> Bound<'_, PyBytes> {
    PyBytes::new(py, &enc::no_data())
}

#[pyfunction]
fn parse_complete(py: Python<'_>) -> Bound<'_, PyBytes> {
    PyBytes::new(py, &enc::parse_complete())
}

#[pyfunction]
fn bind_complete(py: Python<'_>) -> Bound<'_, PyBytes> {
    PyBytes::new(py, &enc::bind_complete())
}

#[pyfunction]
fn close_complete(py: Python<'_>) -> Bound<'_, PyBytes> {
    PyBytes::new(py, &enc::close_complete())
}

#[pyfunction]
fn portal_suspended(py: Python<'_>) -> Bound<'_, PyBytes> {
    PyBytes::new(py, &enc::portal_suspended())
}

#[pyfunction]
fn parameter_description<'py>(
    py: Python<'py>,
    oids: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    // As `struct.pack(f"!h{len(oids)}I", len(oids), *oids)`.
    let count = oids.len()?;
    let items: Vec<Bound<'py, PyAny>> = oids.try_iter()?.collect::<PyResult<_>>()?;
    if items.len() != count {
        return Err(struct_error(
            py,
            format!(
                "pack expected {} items for packing (got {})",
                count + 1,
                items.len() + 1
            ),
        ));
    }
    if i16::try_from(count).is_err() {
        return Err(struct_error(
            py,
            BackendError::CountTooLarge(count).to_string(),
        ));
    }
    let mut values = Vec::with_capacity(count);
    for item in &items {
        // In range: checked by pack_int.
        values.push(pack_int(item, 'I', 0, u32::MAX.into())? as u32);
    }
    encoded(py, enc::parameter_description(&values))
}

/// The attributes `_error_fields` reads, in its order: severity, sqlstate, message,
/// then detail and hint when truthy.
fn error_response_fields(err: &Bound<'_, PyAny>) -> PyResult<[Option<PyBackedStr>; 5]> {
    let severity = text_arg(&err.getattr("severity")?)?;
    let sqlstate = text_arg(&err.getattr("sqlstate")?)?;
    let message = text_arg(&err.getattr("message")?)?;
    let optional = |name: &str| -> PyResult<Option<PyBackedStr>> {
        let value = err.getattr(name)?;
        if value.is_truthy()? {
            text_arg(&value).map(Some)
        } else {
            Ok(None)
        }
    };
    let detail = optional("detail")?;
    let hint = optional("hint")?;
    Ok([Some(severity), Some(sqlstate), Some(message), detail, hint])
}

fn error_fields_of(held: &[Option<PyBackedStr>; 5]) -> ErrorFields<'_> {
    let [severity, sqlstate, message, detail, hint] = held;
    ErrorFields {
        severity: severity.as_deref().unwrap_or_default(),
        sqlstate: sqlstate.as_deref().unwrap_or_default(),
        message: message.as_deref().unwrap_or_default(),
        detail: detail.as_deref(),
        hint: hint.as_deref(),
    }
}

#[pyfunction]
fn error_response<'py>(py: Python<'py>, err: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let held = error_response_fields(err)?;
    encoded(py, enc::error_response(&error_fields_of(&held)))
}

/// A NoticeResponse; ``err.severity`` should be WARNING, NOTICE, INFO, ...
#[pyfunction]
fn notice_response<'py>(py: Python<'py>, err: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let held = error_response_fields(err)?;
    encoded(py, enc::notice_response(&error_fields_of(&held)))
}

/// The format code and column count of a copy response, as the reference's
/// `code = int(binary)` and `struct.pack(f"!bh{columns}h", code, columns, ...)`.
fn copy_response_args(
    binary: &Bound<'_, PyAny>,
    columns: &Bound<'_, PyAny>,
) -> PyResult<(i8, usize)> {
    let py = binary.py();
    let code = py.get_type::<PyInt>().call1((binary,))?;
    // `[code] * columns`: a TypeError for a non-integer, OverflowError for a huge one.
    let count: i64 = columns.extract()?;
    if columns.is_instance_of::<PyBool>() || count < 0 {
        // f"{columns}" is then "True", "False" or "-N": not a struct format.
        return Err(struct_error(py, "bad char in struct format".to_owned()));
    }
    let code = pack_int(&code, 'b', i8::MIN.into(), i8::MAX.into())?;
    if count > i16::MAX.into() {
        return Err(struct_error(
            py,
            "'h' format requires -32768 <= number <= 32767".to_owned(),
        ));
    }
    // Both in range: checked above.
    Ok((code as i8, count as usize))
}

#[pyfunction]
fn copy_out_response<'py>(
    py: Python<'py>,
    binary: &Bound<'py, PyAny>,
    columns: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let (code, count) = copy_response_args(binary, columns)?;
    encoded(py, enc::copy_out_response(code, count))
}

#[pyfunction]
fn copy_in_response<'py>(
    py: Python<'py>,
    binary: &Bound<'py, PyAny>,
    columns: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let (code, count) = copy_response_args(binary, columns)?;
    encoded(py, enc::copy_in_response(code, count))
}

#[pyfunction]
fn copy_data<'py>(py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let data = bytes_arg(data, true)?;
    encoded(py, enc::copy_data(&data))
}

#[pyfunction]
fn copy_done(py: Python<'_>) -> Bound<'_, PyBytes> {
    PyBytes::new(py, &enc::copy_done())
}

/// Binary COPY FROM data (the header already taken away): (rows, consumed, done) as
/// `duckgres_codec::split_binary_copy` finds them, each row a list of bytes / None;
/// ValueError with the reference's message for malformed data
/// (`wire.copy.BinaryCopyInParser` raises it as CopyFormatError).
#[pyfunction]
fn split_binary_copy<'py>(
    py: Python<'py>,
    data: &[u8],
    columns: usize,
    max_field: usize,
) -> PyResult<(Bound<'py, PyList>, usize, bool)> {
    let found = duckgres_codec::split_binary_copy(data, columns, max_field)
        .map_err(|err| PyValueError::new_err(err.0))?;
    let rows = PyList::empty(py);
    for index in 0..found.rows {
        let row = PyList::empty(py);
        for field in &found.fields[index * columns..(index + 1) * columns] {
            match field {
                Some((start, len)) => row.append(PyBytes::new(py, &data[*start..start + len]))?,
                None => row.append(py.None())?,
            }
        }
        rows.append(row)?;
    }
    Ok((rows, found.consumed, found.done))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<FrameDecoder>()?;
    m.add_class::<TimeZone>()?;
    m.add_function(wrap_pyfunction!(encode_data_rows, m)?)?;
    m.add_function(wrap_pyfunction!(authentication_ok, m)?)?;
    m.add_function(wrap_pyfunction!(authentication_cleartext_password, m)?)?;
    m.add_function(wrap_pyfunction!(authentication_md5_password, m)?)?;
    m.add_function(wrap_pyfunction!(authentication_sasl, m)?)?;
    m.add_function(wrap_pyfunction!(authentication_sasl_continue, m)?)?;
    m.add_function(wrap_pyfunction!(authentication_sasl_final, m)?)?;
    m.add_function(wrap_pyfunction!(parameter_status, m)?)?;
    m.add_function(wrap_pyfunction!(backend_key_data, m)?)?;
    m.add_function(wrap_pyfunction!(ready_for_query, m)?)?;
    m.add_function(wrap_pyfunction!(row_description, m)?)?;
    m.add_function(wrap_pyfunction!(data_row, m)?)?;
    m.add_function(wrap_pyfunction!(command_complete, m)?)?;
    m.add_function(wrap_pyfunction!(empty_query_response, m)?)?;
    m.add_function(wrap_pyfunction!(no_data, m)?)?;
    m.add_function(wrap_pyfunction!(parse_complete, m)?)?;
    m.add_function(wrap_pyfunction!(bind_complete, m)?)?;
    m.add_function(wrap_pyfunction!(close_complete, m)?)?;
    m.add_function(wrap_pyfunction!(portal_suspended, m)?)?;
    m.add_function(wrap_pyfunction!(parameter_description, m)?)?;
    m.add_function(wrap_pyfunction!(error_response, m)?)?;
    m.add_function(wrap_pyfunction!(notice_response, m)?)?;
    m.add_function(wrap_pyfunction!(copy_out_response, m)?)?;
    m.add_function(wrap_pyfunction!(copy_in_response, m)?)?;
    m.add_function(wrap_pyfunction!(copy_data, m)?)?;
    m.add_function(wrap_pyfunction!(copy_done, m)?)?;
    m.add_function(wrap_pyfunction!(encode_copy_data, m)?)?;
    m.add_function(wrap_pyfunction!(split_binary_copy, m)?)
}
