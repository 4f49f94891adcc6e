//! Backend (server -> client) messages, one encoder per message: the Rust twins of
//! `duckgres_trio.wire.backend`, byte for byte.
//!
//! Strings are written as the reference's `_cstr` writes them: UTF-8, each NUL
//! replaced by the two bytes `\0` (a NUL would end the C string early and
//! desynchronise the client), then a NUL terminator. Where the reference's
//! `struct.pack` would fail (a count over `i16::MAX`, a message over `i32::MAX`
//! bytes) these return a `BackendError`, which the binding raises as `struct.error`.

use std::fmt;

/// A value the wire format cannot hold, where the reference raises `struct.error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendError {
    /// A count written as an int16 (columns, fields, parameters) over 32767.
    CountTooLarge(usize),
    /// A message whose length word (which counts itself) is over `i32::MAX`.
    MessageTooLong(usize),
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::CountTooLarge(_) => f.write_str("'h' format requires -32768 <= number <= 32767"),
            Self::MessageTooLong(_) => {
                f.write_str("'i' format requires -2147483648 <= number <= 2147483647")
            }
        }
    }
}

impl std::error::Error for BackendError {}

/// One column of a RowDescription: (name, type oid, typlen, typmod, format code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDescription<'a> {
    pub name: &'a str,
    pub type_oid: u32,
    pub typlen: i16,
    pub typmod: i32,
    pub format: i16,
}

/// The fields of an ErrorResponse or NoticeResponse. `detail` and `hint` are sent
/// only when present and non-empty, as the reference's `if err.detail:` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorFields<'a> {
    pub severity: &'a str,
    pub sqlstate: &'a str,
    pub message: &'a str,
    pub detail: Option<&'a str>,
    pub hint: Option<&'a str>,
}

/// A message being built: the type byte and a length word patched by `finish`.
struct Message(Vec<u8>);

impl Message {
    fn new(kind: u8, body_hint: usize) -> Self {
        let mut buf = Vec::with_capacity(5 + body_hint);
        buf.push(kind);
        buf.extend_from_slice(&[0; 4]);
        Self(buf)
    }

    fn bytes(&mut self, data: &[u8]) -> &mut Self {
        self.0.extend_from_slice(data);
        self
    }

    fn i16(&mut self, value: i16) -> &mut Self {
        self.bytes(&value.to_be_bytes())
    }

    fn i32(&mut self, value: i32) -> &mut Self {
        self.bytes(&value.to_be_bytes())
    }

    fn u32(&mut self, value: u32) -> &mut Self {
        self.bytes(&value.to_be_bytes())
    }

    /// `_cstr`: UTF-8, each NUL written as `\0`, then the terminator.
    fn cstr(&mut self, text: &str) -> &mut Self {
        let bytes = text.as_bytes();
        if bytes.contains(&0) {
            for &byte in bytes {
                if byte == 0 {
                    self.0.extend_from_slice(b"\\0");
                } else {
                    self.0.push(byte);
                }
            }
        } else {
            self.0.extend_from_slice(bytes);
        }
        self.0.push(0);
        self
    }

    fn finish(self) -> Result<Vec<u8>, BackendError> {
        let mut buf = self.0;
        let length = buf.len() - 1;
        let word = i32::try_from(length).map_err(|_| BackendError::MessageTooLong(length))?;
        buf[1..5].copy_from_slice(&word.to_be_bytes());
        Ok(buf)
    }

    /// For messages whose size is bounded far below `i32::MAX`.
    fn done(self) -> Vec<u8> {
        self.finish().expect("a small message fits its length word")
    }
}

fn count(n: usize) -> Result<i16, BackendError> {
    i16::try_from(n).map_err(|_| BackendError::CountTooLarge(n))
}

fn empty(kind: u8) -> Vec<u8> {
    Message::new(kind, 0).done()
}

fn auth(code: i32, data: &[u8]) -> Result<Vec<u8>, BackendError> {
    let mut m = Message::new(b'R', 4 + data.len());
    m.i32(code).bytes(data);
    m.finish()
}

pub fn authentication_ok() -> Vec<u8> {
    let mut m = Message::new(b'R', 4);
    m.i32(0);
    m.done()
}

pub fn authentication_cleartext_password() -> Vec<u8> {
    let mut m = Message::new(b'R', 4);
    m.i32(3);
    m.done()
}

pub fn authentication_md5_password(salt: &[u8]) -> Result<Vec<u8>, BackendError> {
    auth(5, salt)
}

/// AuthenticationSASL: each mechanism name as a C string, then an empty one.
pub fn authentication_sasl<S: AsRef<str>>(mechanisms: &[S]) -> Result<Vec<u8>, BackendError> {
    let mut m = Message::new(b'R', 16);
    m.i32(10);
    for mechanism in mechanisms {
        m.cstr(mechanism.as_ref());
    }
    m.bytes(&[0]);
    m.finish()
}

pub fn authentication_sasl_continue(data: &[u8]) -> Result<Vec<u8>, BackendError> {
    auth(11, data)
}

pub fn authentication_sasl_final(data: &[u8]) -> Result<Vec<u8>, BackendError> {
    auth(12, data)
}

pub fn parameter_status(name: &str, value: &str) -> Result<Vec<u8>, BackendError> {
    let mut m = Message::new(b'S', name.len() + value.len() + 2);
    m.cstr(name).cstr(value);
    m.finish()
}

pub fn backend_key_data(pid: i32, secret: u32) -> Vec<u8> {
    let mut m = Message::new(b'K', 8);
    m.i32(pid).u32(secret);
    m.done()
}

/// ReadyForQuery; `status` is b"I", b"T" or b"E", written as given.
pub fn ready_for_query(status: &[u8]) -> Result<Vec<u8>, BackendError> {
    let mut m = Message::new(b'Z', status.len());
    m.bytes(status);
    m.finish()
}

pub fn row_description(fields: &[FieldDescription<'_>]) -> Result<Vec<u8>, BackendError> {
    let n = count(fields.len())?;
    let size: usize = fields.iter().map(|f| f.name.len() + 19).sum();
    let mut m = Message::new(b'T', 2 + size);
    m.i16(n);
    for field in fields {
        m.cstr(field.name)
            .u32(0)
            .i16(0)
            .u32(field.type_oid)
            .i16(field.typlen)
            .i32(field.typmod)
            .i16(field.format);
    }
    m.finish()
}

/// A DataRow: per value its length and bytes, or length -1 for NULL.
pub fn data_row(values: &[Option<&[u8]>]) -> Result<Vec<u8>, BackendError> {
    let n = count(values.len())?;
    let size: usize = values.iter().map(|v| 4 + v.map_or(0, <[u8]>::len)).sum();
    let mut m = Message::new(b'D', 2 + size);
    m.i16(n);
    for value in values {
        match value {
            None => m.i32(-1),
            Some(bytes) => {
                let length = i32::try_from(bytes.len())
                    .map_err(|_| BackendError::MessageTooLong(bytes.len()))?;
                m.i32(length).bytes(bytes)
            }
        };
    }
    m.finish()
}

pub fn command_complete(tag: &str) -> Result<Vec<u8>, BackendError> {
    let mut m = Message::new(b'C', tag.len() + 1);
    m.cstr(tag);
    m.finish()
}

pub fn empty_query_response() -> Vec<u8> {
    empty(b'I')
}

pub fn no_data() -> Vec<u8> {
    empty(b'n')
}

pub fn parse_complete() -> Vec<u8> {
    empty(b'1')
}

pub fn bind_complete() -> Vec<u8> {
    empty(b'2')
}

pub fn close_complete() -> Vec<u8> {
    empty(b'3')
}

pub fn portal_suspended() -> Vec<u8> {
    empty(b's')
}

pub fn parameter_description(oids: &[u32]) -> Result<Vec<u8>, BackendError> {
    let n = count(oids.len())?;
    let mut m = Message::new(b't', 2 + 4 * oids.len());
    m.i16(n);
    for &oid in oids {
        m.u32(oid);
    }
    m.finish()
}

/// The fields of `_error_fields`: S and V (both the severity), C, M, then D and H
/// when present and non-empty, then the terminating NUL.
fn error_fields(kind: u8, err: &ErrorFields<'_>) -> Result<Vec<u8>, BackendError> {
    let mut m = Message::new(kind, 0);
    m.bytes(b"S").cstr(err.severity);
    m.bytes(b"V").cstr(err.severity);
    m.bytes(b"C").cstr(err.sqlstate);
    m.bytes(b"M").cstr(err.message);
    if let Some(detail) = err.detail.filter(|d| !d.is_empty()) {
        m.bytes(b"D").cstr(detail);
    }
    if let Some(hint) = err.hint.filter(|h| !h.is_empty()) {
        m.bytes(b"H").cstr(hint);
    }
    m.bytes(&[0]);
    m.finish()
}

pub fn error_response(err: &ErrorFields<'_>) -> Result<Vec<u8>, BackendError> {
    error_fields(b'E', err)
}

/// A NoticeResponse; `err.severity` should be WARNING, NOTICE, INFO, ...
pub fn notice_response(err: &ErrorFields<'_>) -> Result<Vec<u8>, BackendError> {
    error_fields(b'N', err)
}

/// CopyOutResponse / CopyInResponse: the overall format code, the column count,
/// and the same format code for every column.
fn copy_response(kind: u8, format: i8, columns: usize) -> Result<Vec<u8>, BackendError> {
    let n = count(columns)?;
    let mut m = Message::new(kind, 3 + 2 * columns);
    m.bytes(&format.to_be_bytes()).i16(n);
    for _ in 0..columns {
        m.i16(i16::from(format));
    }
    m.finish()
}

pub fn copy_out_response(format: i8, columns: usize) -> Result<Vec<u8>, BackendError> {
    copy_response(b'H', format, columns)
}

pub fn copy_in_response(format: i8, columns: usize) -> Result<Vec<u8>, BackendError> {
    copy_response(b'G', format, columns)
}

pub fn copy_data(data: &[u8]) -> Result<Vec<u8>, BackendError> {
    let mut m = Message::new(b'd', data.len());
    m.bytes(data);
    m.finish()
}

pub fn copy_done() -> Vec<u8> {
    empty(b'c')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![kind];
        out.extend_from_slice(&(i32::try_from(body.len()).unwrap() + 4).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn bodiless_messages() {
        assert_eq!(empty_query_response(), b"I\0\0\0\x04");
        assert_eq!(no_data(), b"n\0\0\0\x04");
        assert_eq!(parse_complete(), b"1\0\0\0\x04");
        assert_eq!(bind_complete(), b"2\0\0\0\x04");
        assert_eq!(close_complete(), b"3\0\0\0\x04");
        assert_eq!(portal_suspended(), b"s\0\0\0\x04");
        assert_eq!(copy_done(), b"c\0\0\0\x04");
    }

    #[test]
    fn authentication() {
        assert_eq!(authentication_ok(), b"R\0\0\0\x08\0\0\0\0");
        assert_eq!(
            authentication_cleartext_password(),
            b"R\0\0\0\x08\0\0\0\x03"
        );
        assert_eq!(
            authentication_md5_password(b"salt").unwrap(),
            msg(b'R', b"\0\0\0\x05salt")
        );
        assert_eq!(
            authentication_sasl(&["SCRAM-SHA-256", "x\0y"]).unwrap(),
            msg(b'R', b"\0\0\0\x0aSCRAM-SHA-256\0x\\0y\0\0")
        );
        let none: [&str; 0] = [];
        assert_eq!(
            authentication_sasl(&none).unwrap(),
            msg(b'R', b"\0\0\0\x0a\0")
        );
        assert_eq!(
            authentication_sasl_continue(b"r=abc").unwrap(),
            msg(b'R', b"\0\0\0\x0br=abc")
        );
        assert_eq!(
            authentication_sasl_final(b"").unwrap(),
            msg(b'R', b"\0\0\0\x0c")
        );
    }

    #[test]
    fn strings_are_nul_terminated_with_nul_escaped() {
        assert_eq!(
            parameter_status("TimeZone", "Etc/UTC").unwrap(),
            msg(b'S', b"TimeZone\0Etc/UTC\0")
        );
        assert_eq!(parameter_status("", "").unwrap(), msg(b'S', b"\0\0"));
        assert_eq!(
            command_complete("a\0b\0").unwrap(),
            msg(b'C', b"a\\0b\\0\0")
        );
        assert_eq!(
            command_complete("é✓").unwrap(),
            msg(b'C', "é✓\0".as_bytes())
        );
    }

    #[test]
    fn key_data_and_ready() {
        assert_eq!(
            backend_key_data(-1, u32::MAX),
            msg(b'K', b"\xff\xff\xff\xff\xff\xff\xff\xff")
        );
        assert_eq!(
            backend_key_data(i32::MIN, 1),
            msg(b'K', b"\x80\0\0\0\0\0\0\x01")
        );
        assert_eq!(ready_for_query(b"I").unwrap(), b"Z\0\0\0\x05I");
        assert_eq!(ready_for_query(b"").unwrap(), b"Z\0\0\0\x04");
    }

    #[test]
    fn row_description_fields() {
        let fields = [
            FieldDescription {
                name: "a",
                type_oid: 23,
                typlen: 4,
                typmod: -1,
                format: 0,
            },
            FieldDescription {
                name: "",
                type_oid: u32::MAX,
                typlen: i16::MIN,
                typmod: i32::MAX,
                format: 1,
            },
        ];
        let mut body = b"\0\x02a\0\0\0\0\0\0\0\0\0\0\x17\0\x04\xff\xff\xff\xff\0\0".to_vec();
        body.extend_from_slice(b"\0\0\0\0\0\0\0\xff\xff\xff\xff\x80\0\x7f\xff\xff\xff\0\x01");
        assert_eq!(row_description(&fields).unwrap(), msg(b'T', &body));
        assert_eq!(row_description(&[]).unwrap(), msg(b'T', b"\0\0"));
        let many = vec![fields[0]; 32768];
        assert_eq!(
            row_description(&many),
            Err(BackendError::CountTooLarge(32768))
        );
        assert_eq!(row_description(&many[..32767]).unwrap()[5..7], [0x7f, 0xff]);
    }

    #[test]
    fn data_rows() {
        assert_eq!(
            data_row(&[None, Some(b""), Some(b"ab")]).unwrap(),
            msg(b'D', b"\0\x03\xff\xff\xff\xff\0\0\0\0\0\0\0\x02ab")
        );
        assert_eq!(data_row(&[]).unwrap(), msg(b'D', b"\0\0"));
        assert_eq!(
            data_row(&vec![None; 32768]),
            Err(BackendError::CountTooLarge(32768))
        );
    }

    #[test]
    fn parameter_descriptions() {
        assert_eq!(
            parameter_description(&[0, 25, u32::MAX]).unwrap(),
            msg(b't', b"\0\x03\0\0\0\0\0\0\0\x19\xff\xff\xff\xff")
        );
        assert_eq!(parameter_description(&[]).unwrap(), msg(b't', b"\0\0"));
        assert!(parameter_description(&vec![0; 40000]).is_err());
    }

    #[test]
    fn error_and_notice() {
        let mut err = ErrorFields {
            severity: "ERROR",
            sqlstate: "42601",
            message: "bad",
            detail: None,
            hint: Some(""),
        };
        assert_eq!(
            error_response(&err).unwrap(),
            msg(b'E', b"SERROR\0VERROR\0C42601\0Mbad\0\0")
        );
        err.severity = "WARNING";
        err.detail = Some("d\0");
        err.hint = Some("h");
        assert_eq!(
            notice_response(&err).unwrap(),
            msg(b'N', b"SWARNING\0VWARNING\0C42601\0Mbad\0Dd\\0\0Hh\0\0")
        );
    }

    #[test]
    fn copy_responses() {
        assert_eq!(
            copy_out_response(0, 2).unwrap(),
            msg(b'H', b"\0\0\x02\0\0\0\0")
        );
        assert_eq!(
            copy_in_response(1, 1).unwrap(),
            msg(b'G', b"\x01\0\x01\0\x01")
        );
        assert_eq!(
            copy_in_response(-1, 1).unwrap(),
            msg(b'G', b"\xff\0\x01\xff\xff")
        );
        assert_eq!(copy_out_response(1, 0).unwrap(), msg(b'H', b"\x01\0\0"));
        assert_eq!(
            copy_out_response(0, 32768),
            Err(BackendError::CountTooLarge(32768))
        );
        assert_eq!(copy_data(b"1\t2\n").unwrap(), msg(b'd', b"1\t2\n"));
        assert_eq!(copy_data(b"").unwrap(), msg(b'd', b""));
    }

    #[test]
    fn error_texts_are_struct_texts() {
        assert_eq!(
            BackendError::CountTooLarge(1 << 16).to_string(),
            "'h' format requires -32768 <= number <= 32767"
        );
        assert_eq!(
            BackendError::MessageTooLong(1 << 31).to_string(),
            "'i' format requires -2147483648 <= number <= 2147483647"
        );
    }
}
