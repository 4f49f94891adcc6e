//! varbit_out / varbit_send of DuckDB's BIT, byte-identical to `wire.text._bit_string`
//! and `wire.binary.varbit_binary`.
//!
//! DuckDB stores a BIT as one byte counting the padding bits, then the bits, most
//! significant first, the padding (set to 1) at the very start: `0101` is `04 f5`.
//! PostgreSQL's varbit pads at the end instead, with zeros.

/// A BIT value without its padding byte, or whose padding is longer than its bits
/// (DuckDB pads with 0 to 7 bits; the reference fails on both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// The bits after the padding: (padding, data bytes), checked.
fn split(value: &[u8]) -> Result<(usize, &[u8]), Malformed> {
    let (&padding, bits) = value.split_first().ok_or(Malformed)?;
    let padding = usize::from(padding);
    if padding > 8 * bits.len() {
        return Err(Malformed);
    }
    Ok((padding, bits))
}

/// The number of bits of a DuckDB BIT value.
pub fn bit_length(value: &[u8]) -> Result<usize, Malformed> {
    let (padding, bits) = split(value)?;
    Ok(8 * bits.len() - padding)
}

/// varbit_out: one '0' or '1' per bit, the first bit first.
pub fn varbit_text(value: &[u8], out: &mut Vec<u8>) -> Result<(), Malformed> {
    let (padding, bits) = split(value)?;
    out.reserve(8 * bits.len() - padding);
    for (k, byte) in bits.iter().enumerate() {
        // Only the first byte holds padding (any byte, when the padding is longer).
        let skip = padding.saturating_sub(8 * k).min(8);
        for shift in (0..8 - skip).rev() {
            out.push(b'0' + (byte >> shift & 1));
        }
    }
    Ok(())
}

/// varbit_send without its int32 bit count (`bit_length`): the bits from the first,
/// packed most significant first, the last byte padded with zero bits.
pub fn varbit_binary(value: &[u8], out: &mut Vec<u8>) -> Result<(), Malformed> {
    let (padding, bits) = split(value)?;
    let length = 8 * bits.len() - padding;
    // Shift the whole string left by `padding` bits: output byte k is made of source
    // bits 8k + padding .. 8k + padding + 8, zero past the end.
    let (skip, shift) = (padding / 8, padding % 8);
    let source = &bits[skip..];
    for k in 0..length.div_ceil(8) {
        let high = source[k] << shift;
        let low = match source.get(k + 1) {
            Some(&next) if shift > 0 => next >> (8 - shift),
            _ => 0,
        };
        out.push(high | low);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &[u8]) -> Result<String, Malformed> {
        let mut out = Vec::new();
        varbit_text(value, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn binary(value: &[u8]) -> Result<(usize, Vec<u8>), Malformed> {
        let mut out = Vec::new();
        varbit_binary(value, &mut out)?;
        Ok((bit_length(value)?, out))
    }

    #[test]
    fn duckdb_values() {
        // As DuckDB 1.5 sends '0101', '1', '10101010', '10101010101'.
        assert_eq!(text(b"\x04\xf5").unwrap(), "0101");
        assert_eq!(binary(b"\x04\xf5").unwrap(), (4, vec![0x50]));
        assert_eq!(text(b"\x07\xff").unwrap(), "1");
        assert_eq!(binary(b"\x07\xff").unwrap(), (1, vec![0x80]));
        assert_eq!(text(b"\x00\xaa").unwrap(), "10101010");
        assert_eq!(binary(b"\x00\xaa").unwrap(), (8, vec![0xaa]));
        assert_eq!(text(b"\x05\xfd\x55").unwrap(), "10101010101");
        assert_eq!(binary(b"\x05\xfd\x55").unwrap(), (11, vec![0xaa, 0xa0]));
    }

    #[test]
    fn padding_bits_are_dropped_whatever_they_hold() {
        assert_eq!(text(b"\x04\x05").unwrap(), "0101");
        assert_eq!(binary(b"\x04\x05").unwrap(), (4, vec![0x50]));
        // Padding longer than a byte (DuckDB never sends it; the reference reads it).
        assert_eq!(text(b"\x09\xff\x7f\x80").unwrap(), "111111110000000");
        assert_eq!(binary(b"\x09\xff\x7f\x80").unwrap(), (15, vec![0xff, 0x00]));
    }

    #[test]
    fn empty_and_malformed() {
        assert_eq!(text(b"\x00").unwrap(), "");
        assert_eq!(binary(b"\x00").unwrap(), (0, vec![]));
        assert_eq!(text(b"\x08\xff").unwrap(), "");
        assert_eq!(binary(b"\x08\xff").unwrap(), (0, vec![]));
        assert_eq!(text(b""), Err(Malformed));
        assert_eq!(binary(b""), Err(Malformed));
        assert_eq!(text(b"\x01"), Err(Malformed));
        assert_eq!(binary(b"\x09\xff"), Err(Malformed));
        assert_eq!(bit_length(b"\xff"), Err(Malformed));
    }
}
