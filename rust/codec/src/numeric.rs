//! numeric_out / numeric_send of an exact decimal: the sign and magnitude of an
//! unscaled integer and a scale (DECIMAL's, 0 for UBIGINT / HUGEINT / UHUGEINT /
//! VARINT), byte-identical to `wire.text._decimal_texts` / `_int_texts` /
//! `_hugeint_texts` / `_bignum_texts` and `wire.binary.numeric_binary`.
//!
//! Both forms work from the decimal digits, so no scaling can overflow. The
//! magnitude is a u128 (UHUGEINT's 2^128 - 1 fits as well as every decimal128), or
//! for DuckDB's VARINT a big-endian byte string of any length, whose digits come
//! from `big_digits`.

/// numeric sign words (numeric.c); DuckDB has no numeric NaN or infinities.
const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;

/// The most decimal digits a numeric holds before its point (numeric.c: weight, in
/// base-10000 digits, is at most INT16_MAX). A VARINT's digits are computed only up
/// to this many, which bounds the (quadratic) base conversion.
pub const NUMERIC_MAX_DIGITS: usize = 4 * (i16::MAX as usize + 1);

/// A value with more digits than PostgreSQL's numeric holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfRange;

/// The decimal digits of `magnitude` at the end of `buf` (u128 max has 39).
fn digits(magnitude: u128, buf: &mut [u8; 39]) -> &[u8] {
    let mut rest = magnitude;
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    &buf[at..]
}

/// Base-10^9 limbs: each a u32 below 10^9, so a limb times 2^32 plus a carry fits a u64.
const LIMB: u64 = 1_000_000_000;
const LIMB_DIGITS: usize = 9;

/// The decimal digits (ASCII, no leading zeros; "0" for zero) of a big-endian
/// unsigned magnitude of any length, appended to `out`; `OutOfRange` (and nothing
/// appended) past `max_digits`. Schoolbook conversion, 32 bits at a time into
/// base-10^9 limbs: quadratic in the length, which the digit limit bounds (some 10^8
/// limb steps for `NUMERIC_MAX_DIGITS`).
pub fn big_digits(
    magnitude: &[u8],
    max_digits: usize,
    out: &mut Vec<u8>,
) -> Result<(), OutOfRange> {
    let first = magnitude.iter().position(|&b| b != 0);
    let magnitude = &magnitude[first.unwrap_or(magnitude.len())..];
    // b bytes, the first nonzero, are at least 256^(b-1): more than (b-1) * 2.4
    // digits (log10(256) = 2.408), so this refuses only values over the limit.
    if magnitude.len().saturating_sub(1).saturating_mul(12) > max_digits.saturating_mul(5) {
        return Err(OutOfRange);
    }
    // Least significant limb first.
    let mut limbs: Vec<u32> = Vec::with_capacity(magnitude.len() * 12 / 40 + 1);
    // The first chunk takes the odd bytes, so every later one is 32 bits.
    let head = magnitude.len() % 4;
    let chunks = std::iter::once(&magnitude[..head])
        .filter(|chunk| !chunk.is_empty())
        .chain(magnitude[head..].chunks_exact(4));
    for chunk in chunks {
        let shift = 8 * chunk.len() as u32;
        let mut carry = chunk.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
        for limb in &mut limbs {
            let value = (u64::from(*limb) << shift) + carry;
            *limb = (value % LIMB) as u32;
            carry = value / LIMB;
        }
        while carry > 0 {
            limbs.push((carry % LIMB) as u32);
            carry /= LIMB;
        }
    }
    let start = out.len();
    let mut buf = [0u8; 39];
    match limbs.split_last() {
        None => out.push(b'0'),
        Some((top, rest)) => {
            out.extend_from_slice(digits(u128::from(*top), &mut buf));
            for limb in rest.iter().rev() {
                let limb_digits = digits(u128::from(*limb), &mut buf);
                out.resize(out.len() + LIMB_DIGITS - limb_digits.len(), b'0');
                out.extend_from_slice(limb_digits);
            }
        }
    }
    if out.len() - start > max_digits {
        out.truncate(start);
        return Err(OutOfRange);
    }
    Ok(())
}

/// numeric_out: the digits with exactly `scale` of them after the point (a leading
/// `0.` and zeros when the value is below 1), never exponent notation; `-` if
/// negative. What Python's `format(Decimal, "f")` prints for a decimal of exponent
/// -scale.
pub fn numeric_text(negative: bool, magnitude: u128, scale: u16, out: &mut Vec<u8>) {
    let mut buf = [0u8; 39];
    digits_text(negative, digits(magnitude, &mut buf), scale, out);
}

/// numeric_out of decimal digits (ASCII, without leading zeros): see `numeric_text`.
pub fn digits_text(negative: bool, digits: &[u8], scale: u16, out: &mut Vec<u8>) {
    let scale = usize::from(scale);
    if negative {
        out.push(b'-');
    }
    if scale == 0 {
        out.extend_from_slice(digits);
    } else if digits.len() > scale {
        let point = digits.len() - scale;
        out.extend_from_slice(&digits[..point]);
        out.push(b'.');
        out.extend_from_slice(&digits[point..]);
    } else {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + scale - digits.len(), b'0');
        out.extend_from_slice(digits);
    }
}

/// numeric_send: int16 ndigits, int16 weight, uint16 sign, int16 dscale (= `scale`),
/// then the base-10000 digits, grouped from the decimal point, leading and trailing
/// zero groups left out; zero is no digits, weight 0, positive.
pub fn numeric_binary(negative: bool, magnitude: u128, scale: u16, out: &mut Vec<u8>) {
    let mut buf = [0u8; 39];
    // At most 39 digits: 11 groups, whatever the scale.
    let fits = digits_binary(negative, digits(magnitude, &mut buf), scale, out);
    debug_assert!(fits.is_ok());
}

/// numeric_send of decimal digits (ASCII, without leading zeros): see
/// `numeric_binary`. `OutOfRange` (and nothing written) when the digit count or the
/// weight does not fit numeric_send's int16 words.
pub fn digits_binary(
    negative: bool,
    digits: &[u8],
    scale: u16,
    out: &mut Vec<u8>,
) -> Result<(), OutOfRange> {
    // Digit k (from the left) stands for 10^e, e = len - 1 - k - scale; it belongs to
    // group floor(e / 4) at position e mod 4, and a group is complete at position 0.
    // With no leading zeros the first group is nonzero unless the value is zero;
    // trailing zero groups are cut off once all are written.
    let top = digits.len() as i64 - 1 - i64::from(scale);
    let at = out.len();
    out.extend_from_slice(&[0; 8]);
    let mut kept = out.len();
    let mut group = 0u16;
    for (k, &digit) in digits.iter().enumerate() {
        group = group * 10 + u16::from(digit - b'0');
        if (top - k as i64).rem_euclid(4) == 0 {
            out.extend_from_slice(&group.to_be_bytes());
            if group != 0 {
                kept = out.len();
            }
            group = 0;
        }
    }
    // A group the digits end inside still needs its lower positions: scale it up.
    let missing = (top - (digits.len() as i64 - 1)).rem_euclid(4);
    if missing != 0 {
        group *= 10u16.pow(missing as u32);
        out.extend_from_slice(&group.to_be_bytes());
        if group != 0 {
            kept = out.len();
        }
    }
    out.truncate(kept);
    let ndigits = (kept - at - 8) / 2;
    let (weight, sign) = match ndigits {
        0 => (0, NUMERIC_POS),
        _ if negative => (top.div_euclid(4), NUMERIC_NEG),
        _ => (top.div_euclid(4), NUMERIC_POS),
    };
    let (Ok(ndigits), Ok(weight)) = (i16::try_from(ndigits), i16::try_from(weight)) else {
        out.truncate(at);
        return Err(OutOfRange);
    };
    out[at..at + 2].copy_from_slice(&ndigits.to_be_bytes());
    out[at + 2..at + 4].copy_from_slice(&weight.to_be_bytes());
    out[at + 4..at + 6].copy_from_slice(&sign.to_be_bytes());
    out[at + 6..at + 8].copy_from_slice(&scale.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(negative: bool, magnitude: u128, scale: u16) -> String {
        let mut out = Vec::new();
        numeric_text(negative, magnitude, scale, &mut out);
        String::from_utf8(out).unwrap()
    }

    /// (ndigits, weight, sign, dscale, digits) of numeric_binary's output.
    fn binary(negative: bool, magnitude: u128, scale: u16) -> (i16, i16, u16, u16, Vec<u16>) {
        let mut out = Vec::new();
        numeric_binary(negative, magnitude, scale, &mut out);
        let word = |i: usize| u16::from_be_bytes([out[2 * i], out[2 * i + 1]]);
        let n = word(0) as i16;
        let groups = (0..n as usize).map(|i| word(4 + i)).collect();
        assert_eq!(out.len(), 8 + 2 * n as usize);
        (n, word(1) as i16, word(2), word(3), groups)
    }

    #[test]
    fn texts() {
        assert_eq!(text(false, 0, 0), "0");
        assert_eq!(text(false, 0, 2), "0.00");
        assert_eq!(text(false, 150, 2), "1.50");
        assert_eq!(text(true, 1, 2), "-0.01");
        assert_eq!(text(true, 1, 4), "-0.0001");
        assert_eq!(text(false, 12345, 5), "0.12345");
        assert_eq!(text(false, 12345, 4), "1.2345");
        assert_eq!(text(false, 0, 38), format!("0.{}", "0".repeat(38)));
        assert_eq!(text(false, u128::MAX, 0), u128::MAX.to_string());
        assert_eq!(
            text(true, 10u128.pow(38) - 1, 38),
            format!("-0.{}", "9".repeat(38))
        );
    }

    fn big(magnitude: &[u8]) -> Result<String, OutOfRange> {
        let mut out = b"x".to_vec();
        big_digits(magnitude, NUMERIC_MAX_DIGITS, &mut out)?;
        Ok(String::from_utf8(out[1..].to_vec()).unwrap())
    }

    #[test]
    fn big_magnitudes_to_digits() {
        assert_eq!(big(b"").unwrap(), "0");
        assert_eq!(big(&[0, 0, 0]).unwrap(), "0");
        assert_eq!(big(&[1]).unwrap(), "1");
        assert_eq!(big(&[0, 0, 1, 0]).unwrap(), "256");
        assert_eq!(big(&[0x3b, 0x9a, 0xca, 0x00]).unwrap(), "1000000000");
        assert_eq!(big(&[0x3b, 0x9a, 0xc9, 0xff]).unwrap(), "999999999");
        assert_eq!(big(&[0xff; 16]).unwrap(), u128::MAX.to_string());
        assert_eq!(big(&[0xff; 5]).unwrap(), ((1u64 << 40) - 1).to_string());
        for value in [
            1u128 << 64,
            10u128.pow(38),
            10u128.pow(18) - 1,
            12_345_678_901_234_567_890,
        ] {
            let bytes = value.to_be_bytes();
            assert_eq!(big(&bytes).unwrap(), value.to_string());
            assert_eq!(
                big(&bytes[bytes.iter().position(|&b| b != 0).unwrap()..]).unwrap(),
                value.to_string()
            );
        }
        // 2^1000: checked against Python's str(2**1000).
        let mut power = vec![1u8];
        power.resize(126, 0);
        let digits = big(&power).unwrap();
        let expected = "10715086071862673209484250490600018105614048117055336074437503883703\
            510511249361224931983788156958581275946729175531468251871452856923140435984577574\
            698574803934567774824230985421074605062371141877954182153046474983581941267398767\
            559165543946077062914571196477686542167660429831652624386837205668069376";
        assert_eq!(digits, expected);
    }

    #[test]
    fn big_digits_stop_at_the_limit() {
        let mut out = Vec::new();
        big_digits(&u64::MAX.to_be_bytes(), 20, &mut out).unwrap();
        assert_eq!(out, u64::MAX.to_string().as_bytes());
        let ten_pow_20 = 10u128.pow(20).to_be_bytes();
        assert_eq!(big_digits(&ten_pow_20, 20, &mut out), Err(OutOfRange));
        assert_eq!(out, u64::MAX.to_string().as_bytes(), "nothing appended");
        big_digits(&ten_pow_20, 21, &mut out).unwrap();
        // Ten bytes are over 2.4 * 9 digits: refused by length alone.
        assert_eq!(big_digits(&[1; 10], 21, &mut out), Err(OutOfRange));
        // Nine bytes may fit 21 digits; 2^72 - 1 has 22.
        assert_eq!(big_digits(&[0xff; 9], 21, &mut out), Err(OutOfRange));
        // Leading zero bytes do not count.
        let mut padded = vec![0u8; 1000];
        padded.push(7);
        out.clear();
        big_digits(&padded, 1, &mut out).unwrap();
        assert_eq!(out, b"7");
    }

    #[test]
    fn big_digits_at_numerics_limit() {
        // 256^54_000 - 1 has 130_045 digits; 256^54_500 - 1 has 131_250.
        let mut out = Vec::new();
        big_digits(&vec![0xff; 54_000], NUMERIC_MAX_DIGITS, &mut out).unwrap();
        assert_eq!(out.len(), 130_045);
        assert!(out.starts_with(b"9080") && out.ends_with(b"5"));
        let err = big_digits(&vec![0xff; 54_500], NUMERIC_MAX_DIGITS, &mut Vec::new());
        assert_eq!(err, Err(OutOfRange));
    }

    #[test]
    fn digits_binary_limits() {
        // 131_072 nines: 32_768 groups, one over numeric_send's int16 count.
        let nines = vec![b'9'; NUMERIC_MAX_DIGITS];
        let mut out = Vec::new();
        let err = digits_binary(false, &nines, 0, &mut out);
        assert_eq!((err, out.len()), (Err(OutOfRange), 0));
        // 10^131071 has 131_072 digits and a single group, 1000: weight 32_767 fits.
        let mut one = vec![b'0'; NUMERIC_MAX_DIGITS];
        one[0] = b'1';
        digits_binary(true, &one, 0, &mut out).unwrap();
        assert_eq!(out, [0, 1, 0x7f, 0xff, 0x40, 0, 0, 0, 0x03, 0xe8]);
        // One digit more: weight 32_768.
        one.push(b'0');
        assert_eq!(
            digits_binary(true, &one, 0, &mut Vec::new()),
            Err(OutOfRange)
        );
    }

    #[test]
    fn binaries() {
        // 12345.6 as numeric(?, 1): 1, 2345, 6000, weight 1.
        assert_eq!(binary(false, 123_456, 1), (3, 1, 0, 1, vec![1, 2345, 6000]));
        // 10000.0000: one digit 1, weight 1, dscale 4.
        assert_eq!(binary(false, 100_000_000, 4), (1, 1, 0, 4, vec![1]));
        assert_eq!(binary(true, 0, 3), (0, 0, 0, 3, vec![]));
        assert_eq!(binary(true, 1, 2), (1, -1, 0x4000, 2, vec![100]));
        assert_eq!(binary(false, 1, 4), (1, -1, 0, 4, vec![1]));
        assert_eq!(binary(false, 1, 5), (1, -2, 0, 5, vec![1000]));
        assert_eq!(binary(false, 5, 0), (1, 0, 0, 0, vec![5]));
        assert_eq!(binary(false, 10_000, 0), (1, 1, 0, 0, vec![1]));
        assert_eq!(binary(false, 1, 38), (1, -10, 0, 38, vec![100]));
        assert_eq!(
            binary(false, u128::MAX, 0),
            (
                10,
                9,
                0,
                0,
                vec![340, 2823, 6692, 938, 4634, 6337, 4607, 4317, 6821, 1455]
            )
        );
    }
}
