//! Python's `repr(chr(b))` for one byte, so error texts match the reference exactly.

use std::fmt;

/// Formats a byte as Python 3 prints `repr(chr(byte))`: `chr` maps a byte to the
/// Latin-1 code point of the same value, and `repr` escapes what is not printable.
pub(crate) struct PyCharRepr(pub(crate) u8);

impl fmt::Display for PyCharRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            // repr switches to double quotes for a string holding only single quotes.
            b'\'' => f.write_str("\"'\""),
            b'\\' => f.write_str(r"'\\'"),
            b'\t' => f.write_str(r"'\t'"),
            b'\n' => f.write_str(r"'\n'"),
            b'\r' => f.write_str(r"'\r'"),
            b if is_printable(b) => write!(f, "'{}'", char::from(b)),
            b => write!(f, r"'\x{b:02x}'"),
        }
    }
}

/// `str.isprintable()` over U+0000..U+00FF: false for the C0 and C1 controls, DEL,
/// NO-BREAK SPACE (Zs other than space) and SOFT HYPHEN (Cf).
fn is_printable(b: u8) -> bool {
    !matches!(b, 0x00..=0x1f | 0x7f..=0xa0 | 0xad)
}

#[cfg(test)]
mod tests {
    use super::PyCharRepr;

    fn repr(b: u8) -> String {
        PyCharRepr(b).to_string()
    }

    #[test]
    fn matches_python_repr() {
        // Expected values are what CPython prints; the pytest suite checks all 256.
        assert_eq!(repr(b'Q'), "'Q'");
        assert_eq!(repr(b' '), "' '");
        assert_eq!(repr(b'"'), "'\"'");
        assert_eq!(repr(b'\''), "\"'\"");
        assert_eq!(repr(b'\\'), r"'\\'");
        assert_eq!(repr(0), r"'\x00'");
        assert_eq!(repr(b'\n'), r"'\n'");
        assert_eq!(repr(0x7f), r"'\x7f'");
        assert_eq!(repr(0xa0), r"'\xa0'");
        assert_eq!(repr(0xad), r"'\xad'");
        assert_eq!(repr(0xe9), "'é'");
        assert_eq!(repr(0xff), "'ÿ'");
    }
}
