//! `duckgres_trio._native`: thin PyO3 bindings over the pure-Rust codec crate.
//!
//! All logic lives in `duckgres_codec`; this file only converts arguments, results
//! and errors, so the classes here are drop-in twins of the Python reference ones.

use duckgres_codec::{DEFAULT_MAX_MESSAGE, FrameError, Framer, MAX_STARTUP_PACKET};
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyInt, PyType};

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

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<FrameDecoder>()
}
