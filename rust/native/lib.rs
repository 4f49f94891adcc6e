//! `duckgres_trio._native`: thin PyO3 bindings over the pure-Rust codec crate.
//!
//! All logic lives in `duckgres_codec`; this file only converts arguments, results
//! and errors, so the classes here are drop-in twins of the Python reference ones.

use std::cell::RefCell;

use duckgres_codec::{
    Column, CopyFormat, CopyOptions, DEFAULT_MAX_MESSAGE, FrameError, Framer, Kind,
    MAX_STARTUP_PACKET, NativeColumn, TimeUnit, Tz, Values,
};
use pyo3::buffer::{PyBuffer, PyUntypedBuffer};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyInt, PyList, PyTuple, PyType};

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
/// signedness, bool, utf8 or binary with 32- or 64-bit offsets, fixed-size binary,
/// float or double, date32, or a timestamp's unit and zone.
enum Layout {
    Int(usize, bool),
    Bool,
    Utf8(bool),
    Binary(bool),
    FixedBinary(usize),
    Float(bool),
    Date32,
    Timestamp(TimeUnit, Tz),
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
        "bool" => Layout::Bool,
        "string" => Layout::Utf8(false),
        "large_string" => Layout::Utf8(true),
        "binary" => Layout::Binary(false),
        "large_binary" => Layout::Binary(true),
        "float" => Layout::Float(false),
        "double" => Layout::Float(true),
        "date32[day]" => Layout::Date32,
        _ => {
            if let Some(width) = type_name
                .strip_prefix("fixed_size_binary[")
                .and_then(|rest| rest.strip_suffix(']'))
            {
                return width.parse().ok().map(Layout::FixedBinary);
            }
            // "timestamp[us]" or "timestamp[us, tz=...]": the zone is read separately.
            let rest = type_name.strip_prefix("timestamp[")?;
            let unit = rest.split([',', ']']).next()?;
            return TimeUnit::from_name(unit).map(|unit| Layout::Timestamp(unit, Tz::Naive));
        }
    })
}

/// The zone of a timestamp type's `tz`, as `wire.text._zone` reads it: "UTC" and
/// "+HH:MM" / "-HH:MM" (ASCII digits, under 24 hours, as `datetime.timezone` needs)
/// are fixed offsets; any other zone is only known to Python.
fn zone(tz: &str) -> Tz {
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

/// A column the Rust side encodes: (pyarrow array, format, kind), the array's
/// buffers held open (pyarrow buffers are immutable) while they are read.
struct ArrowColumn {
    kind: Kind,
    binary: bool,
    layout: Layout,
    buffers: Vec<Option<PyUntypedBuffer>>,
    offset: usize,
    len: usize,
}

impl ArrowColumn {
    fn extract(spec: &Bound<'_, PyTuple>) -> PyResult<Self> {
        let (array, format, kind): (Bound<'_, PyAny>, u8, String) = spec.extract()?;
        let kind = Kind::from_name(&kind).ok_or_else(|| {
            PyValueError::new_err(format!("kind {kind:?} is not encoded natively"))
        })?;
        let binary = match format {
            0 => false,
            1 => true,
            _ => {
                return Err(PyValueError::new_err(format!(
                    "invalid format code {format}"
                )));
            }
        };
        let arrow_type = array.getattr("type")?;
        let type_name = arrow_type.str()?.to_string();
        let mut layout = layout(&type_name).ok_or_else(|| {
            PyTypeError::new_err(format!("Arrow type {type_name} is not encoded natively"))
        })?;
        if let Layout::Timestamp(unit, _) = layout {
            let tz: Option<String> = arrow_type.getattr("tz")?.extract()?;
            layout = Layout::Timestamp(unit, tz.as_deref().map_or(Tz::Naive, zone));
        }
        let mut buffers = Vec::new();
        for buffer in array.call_method0("buffers")?.try_iter()? {
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
        Ok(Self {
            kind,
            binary,
            layout,
            buffers,
            offset,
            len,
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

    fn native(&self) -> PyResult<NativeColumn<'_>> {
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
            Layout::FixedBinary(width) => Values::FixedBinary {
                data: self.buffer(1),
                width,
            },
            Layout::Float(double) => Values::Float {
                data: self.buffer(1),
                double,
            },
            Layout::Date32 => Values::Date32 {
                data: self.buffer(1),
            },
            Layout::Timestamp(unit, tz) => Values::Timestamp {
                data: self.buffer(1),
                unit,
                tz,
            },
        };
        let validity = self
            .buffers
            .first()
            .and_then(Option::as_ref)
            .map(|_| self.buffer(0));
        NativeColumn::new(
            self.kind,
            self.binary,
            values,
            validity,
            self.offset,
            self.len,
        )
        .map_err(|err| PyValueError::new_err(err.to_string()))
    }
}

/// DataRow messages for `row_count` rows. Each column is a list of `bytes | None`
/// (values already encoded) or a tuple (pyarrow array, format 0/1, kind) encoded
/// here; kinds are "int2", "int4", "int8", "bool", "text", "json", "float4",
/// "float8", "bytea", "uuid", "date", "timestamp" and "timestamptz" (the text form
/// of the last only for a UTC or fixed-offset zone).
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
            .map_err(|err| PyValueError::new_err(err.to_string()));
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
                plan.push(Column::Native(arrow_column.native()?));
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
            let result = encoded
                .map(|()| PyBytes::new(py, out))
                .map_err(|err| PyValueError::new_err(err.to_string()));
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

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<FrameDecoder>()?;
    m.add_function(wrap_pyfunction!(encode_data_rows, m)?)?;
    m.add_function(wrap_pyfunction!(encode_copy_data, m)?)
}
