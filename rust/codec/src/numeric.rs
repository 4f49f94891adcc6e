//! numeric_out / numeric_send of an exact decimal: the sign and magnitude of an
//! unscaled integer and a scale (DECIMAL's, 0 for UBIGINT / HUGEINT / UHUGEINT),
//! byte-identical to `wire.text._decimal_texts` / `_int_texts` / `_hugeint_texts` and
//! `wire.binary.numeric_binary`.
//!
//! The magnitude is a u128 so that UHUGEINT's 2^128 - 1 fits as well as every
//! decimal128. Both forms work from the decimal digits, so no scaling can overflow.

/// numeric sign words (numeric.c); DuckDB has no numeric NaN or infinities.
const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;

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

/// numeric_out: the digits with exactly `scale` of them after the point (a leading
/// `0.` and zeros when the value is below 1), never exponent notation; `-` if
/// negative. What Python's `format(Decimal, "f")` prints for a decimal of exponent
/// -scale.
pub fn numeric_text(negative: bool, magnitude: u128, scale: u16, out: &mut Vec<u8>) {
    let mut buf = [0u8; 39];
    let digits = digits(magnitude, &mut buf);
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
    let digits = digits(magnitude, &mut buf);
    // Digit k (from the left) stands for 10^e, e = len - 1 - k - scale; it belongs to
    // group floor(e / 4) at position e mod 4. Groups run down without gaps, so a group
    // starts whenever the position returns to 3 (or at the first digit).
    let top = digits.len() as i32 - 1 - i32::from(scale);
    let mut groups = [0u16; 12];
    let mut count = 0;
    let weight = top.div_euclid(4);
    for (k, &digit) in digits.iter().enumerate() {
        let e = top - k as i32;
        if k == 0 || e.rem_euclid(4) == 3 {
            count += usize::from(k > 0);
        }
        groups[count] = groups[count] * 10 + u16::from(digit - b'0');
    }
    // A group the digits end inside still needs its lower positions: scale it up.
    let last_e = top - (digits.len() as i32 - 1);
    groups[count] *= 10u16.pow(last_e.rem_euclid(4) as u32);
    let groups = &groups[..=count];
    let first = groups.iter().position(|&g| g != 0);
    let (weight, sign, groups) = match first {
        None => (0, NUMERIC_POS, &groups[..0]),
        Some(first) => {
            let last = groups.iter().rposition(|&g| g != 0).unwrap_or(first);
            let sign = if negative { NUMERIC_NEG } else { NUMERIC_POS };
            (weight - first as i32, sign, &groups[first..=last])
        }
    };
    out.extend_from_slice(&(groups.len() as i16).to_be_bytes());
    out.extend_from_slice(&(weight as i16).to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&scale.to_be_bytes());
    for group in groups {
        out.extend_from_slice(&group.to_be_bytes());
    }
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
