//! float4out / float8out: the text PostgreSQL 15 prints for a float with
//! extra_float_digits > 0 (the default), byte-identical to `wire.text.float_text`.
//!
//! The digits are those of PostgreSQL's copy of Ryu (src/common/d2s.c and f2s.c,
//! originally github.com/ulfjack/ryu by Ulf Adams, Apache-2.0 / Boost-1.0), ported
//! here with its two PostgreSQL-specific choices: `STRICTLY_SHORTEST` is off, so a
//! candidate must lie strictly inside the rounding interval (`acceptBounds` false),
//! and integers below 2^53 (2^24) take the "small int" path. The lookup tables are
//! not copied but computed once from their definition (`Tables::new`).
//!
//! Layout, as `float_text`: fixed point when the decimal exponent is in [-4, 15)
//! (float8) or [-4, 6) (float4), else `d.ddde+XX` with at least two exponent
//! digits; `NaN`, `Infinity`, `-Infinity`, and `-0` for negative zero.

use std::sync::LazyLock;

const DOUBLE_MANTISSA_BITS: u32 = 52;
const DOUBLE_BIAS: i32 = 1023;
const DOUBLE_POW5_INV_BITCOUNT: u32 = 122;
const DOUBLE_POW5_BITCOUNT: u32 = 121;
const FLOAT_MANTISSA_BITS: u32 = 23;
const FLOAT_BIAS: i32 = 127;
const FLOAT_POW5_INV_BITCOUNT: u32 = 59;
const FLOAT_POW5_BITCOUNT: u32 = 61;

/// Longest text either function writes ("-2.2250738585072014e-308" is 24 bytes).
pub const FLOAT_TEXT_MAX: usize = 32;

/// Ryu's multipliers: for q >= 0, floor(2^(bitlen(5^q) - 1 + INV_BITCOUNT) / 5^q) + 1
/// ("inverse" tables) and the top BITCOUNT bits of 5^i (truncated).
struct Tables {
    double_inv: Vec<u128>,
    double_pow: Vec<u128>,
    float_inv: Vec<u64>,
    float_pow: Vec<u64>,
}

static TABLES: LazyLock<Tables> = LazyLock::new(Tables::new);

/// A little-endian unsigned big integer, just enough to build the tables.
#[derive(Clone)]
struct Big(Vec<u64>);

impl Big {
    fn one() -> Self {
        Self(vec![1])
    }

    fn mul_small(&mut self, factor: u64) {
        let mut carry = 0u128;
        for limb in &mut self.0 {
            let product = u128::from(*limb) * u128::from(factor) + carry;
            *limb = product as u64;
            carry = product >> 64;
        }
        if carry != 0 {
            self.0.push(carry as u64);
        }
    }

    fn bit_len(&self) -> u32 {
        let top = self.0.iter().rposition(|&l| l != 0).unwrap_or(0);
        top as u32 * 64 + (64 - self.0[top].leading_zeros())
    }

    fn bit(&self, i: u32) -> bool {
        self.0
            .get((i / 64) as usize)
            .is_some_and(|limb| (limb >> (i % 64)) & 1 == 1)
    }

    /// floor(self / 2^shift) for a result below 2^128, or self * 2^-shift if negative.
    fn shifted(&self, shift: i64) -> u128 {
        if shift < 0 {
            let limb = |i: usize| u128::from(self.0.get(i).copied().unwrap_or(0));
            return (limb(0) | (limb(1) << 64)) << (-shift);
        }
        (0..128u32).fold(0u128, |acc, i| {
            acc | (u128::from(self.bit(i + shift as u32)) << i)
        })
    }

    fn shl1(&mut self) {
        let mut carry = 0;
        for limb in &mut self.0 {
            let next = *limb >> 63;
            *limb = (*limb << 1) | carry;
            carry = next;
        }
        if carry != 0 {
            self.0.push(carry);
        }
    }

    fn ge(&self, other: &Self) -> bool {
        let len = self.0.len().max(other.0.len());
        for i in (0..len).rev() {
            let (a, b) = (
                self.0.get(i).copied().unwrap_or(0),
                other.0.get(i).copied().unwrap_or(0),
            );
            if a != b {
                return a > b;
            }
        }
        true
    }

    fn sub(&mut self, other: &Self) {
        let mut borrow = false;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let b = other.0.get(i).copied().unwrap_or(0);
            let (d1, o1) = limb.overflowing_sub(b);
            let (d2, o2) = d1.overflowing_sub(u64::from(borrow));
            *limb = d2;
            borrow = o1 || o2;
        }
    }
}

/// floor(2^(bitlen(p) - 1 + bits) / p) + 1, the quotient below 2^(bits + 1).
fn inverse(p: &Big, bits: u32) -> u128 {
    let len = p.bit_len();
    if len == 1 {
        return (1u128 << bits) + 1;
    }
    // Long division of 2^(len - 1 + bits): the quotient has at most bits + 1 bits, so
    // start from the remainder 2^(len - 2) (< p) and bring in bits + 1 zero bits.
    let mut rem = Big::one();
    for _ in 0..len - 2 {
        rem.shl1();
    }
    let mut quotient = 0u128;
    for _ in 0..=bits {
        rem.shl1();
        quotient <<= 1;
        if rem.ge(p) {
            rem.sub(p);
            quotient |= 1;
        }
    }
    quotient + 1
}

impl Tables {
    fn new() -> Self {
        let mut double_inv = Vec::new();
        let mut double_pow = Vec::new();
        let mut float_inv = Vec::new();
        let mut float_pow = Vec::new();
        let mut pow5 = Big::one();
        for i in 0..326 {
            let len = i64::from(pow5.bit_len());
            if i < 292 {
                double_inv.push(inverse(&pow5, DOUBLE_POW5_INV_BITCOUNT));
            }
            double_pow.push(pow5.shifted(len - i64::from(DOUBLE_POW5_BITCOUNT)));
            if i < 31 {
                float_inv.push(inverse(&pow5, FLOAT_POW5_INV_BITCOUNT) as u64);
            }
            if i < 48 {
                float_pow.push(pow5.shifted(len - i64::from(FLOAT_POW5_BITCOUNT)) as u64);
            }
            pow5.mul_small(5);
        }
        Self {
            double_inv,
            double_pow,
            float_inv,
            float_pow,
        }
    }
}

/// e == 0 ? 1 : ceil(log2(5^e)), for 0 <= e <= 3528.
fn pow5bits(e: u32) -> u32 {
    ((e * 1_217_359) >> 19) + 1
}

/// floor(log10(2^e)), for 0 <= e <= 1650.
fn log10_pow2(e: u32) -> u32 {
    (e * 78_913) >> 18
}

/// floor(log10(5^e)), for 0 <= e <= 2620.
fn log10_pow5(e: u32) -> u32 {
    (e * 732_923) >> 20
}

fn pow5_factor(mut value: u64) -> u32 {
    let mut count = 0;
    while value % 5 == 0 {
        value /= 5;
        count += 1;
    }
    count
}

fn multiple_of_pow5(value: u64, p: u32) -> bool {
    pow5_factor(value) >= p
}

fn multiple_of_pow2(value: u64, p: u32) -> bool {
    value & ((1u64 << p) - 1) == 0
}

/// (m * mul) >> j for j >= 64, of a 55-bit m and a 124-bit mul.
fn mul_shift64(m: u64, mul: u128, j: u32) -> u64 {
    let b0 = u128::from(m) * (mul as u64 as u128);
    let b2 = u128::from(m) * (mul >> 64);
    (((b0 >> 64) + b2) >> (j - 64)) as u64
}

/// d2d: the shortest decimal strictly inside the rounding interval, nearest first,
/// as (digits, exponent of the last digit).
fn d2d(ieee_mantissa: u64, ieee_exponent: u32) -> (u64, i32) {
    let tables = &*TABLES;
    let (e2, m2) = if ieee_exponent == 0 {
        (
            1 - DOUBLE_BIAS - DOUBLE_MANTISSA_BITS as i32 - 2,
            ieee_mantissa,
        )
    } else {
        (
            ieee_exponent as i32 - DOUBLE_BIAS - DOUBLE_MANTISSA_BITS as i32 - 2,
            (1u64 << DOUBLE_MANTISSA_BITS) | ieee_mantissa,
        )
    };
    let mv = 4 * m2;
    let mm_shift = u64::from(ieee_mantissa != 0 || ieee_exponent <= 1);
    let (mut vr, mut vp, mut vm, e10);
    let mut vr_trailing_zeros = false;
    if e2 >= 0 {
        let e2 = e2 as u32;
        let q = log10_pow2(e2) - u32::from(e2 > 3);
        e10 = q as i32;
        let k = DOUBLE_POW5_INV_BITCOUNT + pow5bits(q) - 1;
        let i = k + q - e2;
        let mul = tables.double_inv[q as usize];
        vr = mul_shift64(4 * m2, mul, i);
        vp = mul_shift64(4 * m2 + 2, mul, i);
        vm = mul_shift64(4 * m2 - 1 - mm_shift, mul, i);
        if q <= 21 {
            // Only one of mp, mv and mm can be a multiple of 5, if any.
            if mv % 5 == 0 {
                vr_trailing_zeros = multiple_of_pow5(mv, q);
            } else {
                vp -= u64::from(multiple_of_pow5(mv + 2, q));
            }
        }
    } else {
        let minus_e2 = (-e2) as u32;
        let q = log10_pow5(minus_e2) - u32::from(minus_e2 > 1);
        e10 = q as i32 + e2;
        let i = minus_e2 - q;
        let k = pow5bits(i) as i32 - DOUBLE_POW5_BITCOUNT as i32;
        let j = (q as i32 - k) as u32;
        let mul = tables.double_pow[i as usize];
        vr = mul_shift64(4 * m2, mul, j);
        vp = mul_shift64(4 * m2 + 2, mul, j);
        vm = mul_shift64(4 * m2 - 1 - mm_shift, mul, j);
        if q <= 1 {
            // mv = 4 * m2 has at least two trailing zero bits; mp = mv + 2 one.
            vr_trailing_zeros = true;
            vp -= 1;
        } else if q < 63 {
            // As PostgreSQL's copy has it (q - 1, not q).
            vr_trailing_zeros = multiple_of_pow2(mv, q - 1);
        }
    }
    let mut removed = 0i32;
    let output;
    if vr_trailing_zeros {
        let exact = remove_digits_exact(vr, vp, vm, 0);
        removed = exact.removed;
        output = exact.output;
    } else {
        let mut round_up = false;
        if vp / 100 > vm / 100 {
            round_up = vr % 100 >= 50;
            vr /= 100;
            vp /= 100;
            vm /= 100;
            removed += 2;
        }
        while vp / 10 > vm / 10 {
            round_up = vr % 10 >= 5;
            vr /= 10;
            vp /= 10;
            vm /= 10;
            removed += 1;
        }
        output = vr + u64::from(vr == vm || round_up);
    }
    (output, e10 + removed)
}

/// (m * factor) >> shift for shift > 32, of a 26-bit m and a 61-bit factor.
fn mul_shift32(m: u32, factor: u64, shift: u32) -> u32 {
    let bits0 = u64::from(m) * (factor & 0xffff_ffff);
    let bits1 = u64::from(m) * (factor >> 32);
    (((bits0 >> 32) + bits1) >> (shift - 32)) as u32
}

/// f2d: as d2d, for float4.
fn f2d(ieee_mantissa: u32, ieee_exponent: u32) -> (u32, i32) {
    let tables = &*TABLES;
    let (e2, m2) = if ieee_exponent == 0 {
        (
            1 - FLOAT_BIAS - FLOAT_MANTISSA_BITS as i32 - 2,
            ieee_mantissa,
        )
    } else {
        (
            ieee_exponent as i32 - FLOAT_BIAS - FLOAT_MANTISSA_BITS as i32 - 2,
            (1u32 << FLOAT_MANTISSA_BITS) | ieee_mantissa,
        )
    };
    let mv = 4 * m2;
    let mp = 4 * m2 + 2;
    let mm_shift = u32::from(ieee_mantissa != 0 || ieee_exponent <= 1);
    let mm = 4 * m2 - 1 - mm_shift;
    let (mut vr, mut vp, mut vm, e10);
    let mut vr_trailing_zeros = false;
    let mut last_removed = 0u32;
    if e2 >= 0 {
        let e2 = e2 as u32;
        let q = log10_pow2(e2);
        e10 = q as i32;
        let k = FLOAT_POW5_INV_BITCOUNT + pow5bits(q) - 1;
        let i = k + q - e2;
        let mul = tables.float_inv[q as usize];
        vr = mul_shift32(mv, mul, i);
        vp = mul_shift32(mp, mul, i);
        vm = mul_shift32(mm, mul, i);
        if q != 0 && (vp - 1) / 10 <= vm / 10 {
            // One removed digit is needed even if the loop below removes none.
            let l = FLOAT_POW5_INV_BITCOUNT + pow5bits(q - 1) - 1;
            last_removed = mul_shift32(mv, tables.float_inv[q as usize - 1], l + q - 1 - e2) % 10;
        }
        if q <= 9 {
            if mv % 5 == 0 {
                vr_trailing_zeros = multiple_of_pow5(u64::from(mv), q);
            } else {
                vp -= u32::from(multiple_of_pow5(u64::from(mp), q));
            }
        }
    } else {
        let minus_e2 = (-e2) as u32;
        let q = log10_pow5(minus_e2);
        e10 = q as i32 + e2;
        let i = minus_e2 - q;
        let k = pow5bits(i) as i32 - FLOAT_POW5_BITCOUNT as i32;
        let j = (q as i32 - k) as u32;
        let mul = tables.float_pow[i as usize];
        vr = mul_shift32(mv, mul, j);
        vp = mul_shift32(mp, mul, j);
        vm = mul_shift32(mm, mul, j);
        if q != 0 && (vp - 1) / 10 <= vm / 10 {
            let j = (q as i32 - 1 - (pow5bits(i + 1) as i32 - FLOAT_POW5_BITCOUNT as i32)) as u32;
            last_removed = mul_shift32(mv, tables.float_pow[i as usize + 1], j) % 10;
        }
        if q <= 1 {
            vr_trailing_zeros = true;
            vp -= 1;
        } else if q < 31 {
            vr_trailing_zeros = multiple_of_pow2(u64::from(mv), q - 1);
        }
    }
    if vr_trailing_zeros {
        let exact = remove_digits_exact(
            u64::from(vr),
            u64::from(vp),
            u64::from(vm),
            u64::from(last_removed),
        );
        return (exact.output as u32, e10 + exact.removed);
    }
    let mut removed = 0i32;
    while vp / 10 > vm / 10 {
        last_removed = vr % 10;
        vr /= 10;
        vp /= 10;
        vm /= 10;
        removed += 1;
    }
    let output = vr + u32::from(vr == vm || last_removed >= 5);
    (output, e10 + removed)
}

struct Shortest {
    output: u64,
    removed: i32,
}

/// Ryu's digit removal when vr may be exact (`vrIsTrailingZeros`, acceptBounds
/// false): drop digits while vp / 10 > vm / 10, round half up, but half to even if
/// every removed digit after the first 5 is 0; vr + 1 if vr is the excluded bound.
/// Removes four and two digits at a time while it can, which is the one-digit loop
/// unrolled: the condition only turns false once, and the removed digits are known.
fn remove_digits_exact(mut vr: u64, mut vp: u64, mut vm: u64, mut last_removed: u64) -> Shortest {
    let mut trailing_zeros = true;
    let mut removed = 0;
    while vp / 10_000 > vm / 10_000 {
        trailing_zeros &= last_removed == 0 && vr % 1000 == 0;
        last_removed = vr / 1000 % 10;
        vr /= 10_000;
        vp /= 10_000;
        vm /= 10_000;
        removed += 4;
    }
    while vp / 100 > vm / 100 {
        trailing_zeros &= last_removed == 0 && vr % 10 == 0;
        last_removed = vr / 10 % 10;
        vr /= 100;
        vp /= 100;
        vm /= 100;
        removed += 2;
    }
    while vp / 10 > vm / 10 {
        trailing_zeros &= last_removed == 0;
        last_removed = vr % 10;
        vr /= 10;
        vp /= 10;
        vm /= 10;
        removed += 1;
    }
    if trailing_zeros && last_removed == 5 && vr % 2 == 0 {
        // Round to even if the exact number is .....50..0.
        last_removed = 4;
    }
    Shortest {
        output: vr + u64::from(vr == vm || last_removed >= 5),
        removed,
    }
}

/// Shortest digits of a positive finite double: (digits, exponent of the last digit).
fn double_digits(bits: u64) -> (u64, i32) {
    let ieee_mantissa = bits & ((1u64 << DOUBLE_MANTISSA_BITS) - 1);
    let ieee_exponent = ((bits >> DOUBLE_MANTISSA_BITS) & 0x7ff) as u32;
    // Integers in [1, 2^53) are printed exactly (d2d_small_int).
    let e2 = ieee_exponent as i32 - DOUBLE_BIAS - DOUBLE_MANTISSA_BITS as i32;
    if (-(DOUBLE_MANTISSA_BITS as i32)..=0).contains(&e2)
        && ieee_mantissa & ((1u64 << -e2) - 1) == 0
    {
        return (((1u64 << DOUBLE_MANTISSA_BITS) | ieee_mantissa) >> -e2, 0);
    }
    d2d(ieee_mantissa, ieee_exponent)
}

fn float_digits(bits: u32) -> (u64, i32) {
    let ieee_mantissa = bits & ((1u32 << FLOAT_MANTISSA_BITS) - 1);
    let ieee_exponent = (bits >> FLOAT_MANTISSA_BITS) & 0xff;
    let e2 = ieee_exponent as i32 - FLOAT_BIAS - FLOAT_MANTISSA_BITS as i32;
    if (-(FLOAT_MANTISSA_BITS as i32)..=0).contains(&e2) && ieee_mantissa & ((1u32 << -e2) - 1) == 0
    {
        return (
            u64::from(((1u32 << FLOAT_MANTISSA_BITS) | ieee_mantissa) >> -e2),
            0,
        );
    }
    let (digits, exponent) = f2d(ieee_mantissa, ieee_exponent);
    (u64::from(digits), exponent)
}

/// float8out of `value` into `buf`; returns the length written.
pub fn format_f64(value: f64, buf: &mut [u8; FLOAT_TEXT_MAX]) -> usize {
    let bits = value.to_bits();
    let negative = bits >> 63 == 1;
    let magnitude = bits & !(1u64 << 63);
    if let Some(len) = special(
        value.is_nan(),
        value.is_infinite(),
        negative,
        magnitude == 0,
        buf,
    ) {
        return len;
    }
    let (digits, exponent) = double_digits(magnitude);
    layout(negative, digits, exponent, 15, buf)
}

/// The float32 of IEEE binary16 bits, exactly (every half is a float32), as the
/// reference's cast of float16 to float32 makes it before printing or sending.
pub fn half_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits >> 15) << 31;
    let exponent = u32::from(bits >> 10 & 0x1f);
    let mantissa = u32::from(bits & 0x3ff);
    let magnitude = match exponent {
        // Zero and subnormals: mantissa * 2^-24, exact in a float32.
        0 => (mantissa as f32 * f32::from_bits((127 - 24) << 23)).to_bits(),
        // Infinities and NaNs (payload kept, though every NaN is sent alike).
        0x1f => 0x7f80_0000 | mantissa << 13,
        // Rebias the exponent (15 to 127), widen the mantissa (10 to 23 bits).
        _ => (exponent + 112) << 23 | mantissa << 13,
    };
    f32::from_bits(sign | magnitude)
}

/// float4out of `value` into `buf`; returns the length written.
pub fn format_f32(value: f32, buf: &mut [u8; FLOAT_TEXT_MAX]) -> usize {
    let bits = value.to_bits();
    let negative = bits >> 31 == 1;
    let magnitude = bits & !(1u32 << 31);
    if let Some(len) = special(
        value.is_nan(),
        value.is_infinite(),
        negative,
        magnitude == 0,
        buf,
    ) {
        return len;
    }
    let (digits, exponent) = float_digits(magnitude);
    layout(negative, digits, exponent, 6, buf)
}

fn special(
    nan: bool,
    infinite: bool,
    negative: bool,
    zero: bool,
    buf: &mut [u8; FLOAT_TEXT_MAX],
) -> Option<usize> {
    let text: &[u8] = match (nan, infinite, zero, negative) {
        (true, ..) => b"NaN",
        (_, true, _, false) => b"Infinity",
        (_, true, _, true) => b"-Infinity",
        (_, _, true, false) => b"0",
        (_, _, true, true) => b"-0",
        _ => return None,
    };
    buf[..text.len()].copy_from_slice(text);
    Some(text.len())
}

const DIGIT_PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849\
    5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

/// Writes digits * 10^exponent (digits > 0) as `float_text` lays it out: fixed point
/// for a decimal exponent in [-4, fixed_below), else scientific.
fn layout(
    negative: bool,
    mut digits: u64,
    mut exponent: i32,
    fixed_below: i32,
    buf: &mut [u8; FLOAT_TEXT_MAX],
) -> usize {
    // Trailing zeros are not digits (only the small-integer path leaves them).
    while digits % 10 == 0 {
        digits /= 10;
        exponent += 1;
    }
    let count = digits.ilog10() as usize + 1; // at most 17
    let mut d = [0u8; 20];
    let mut end = count;
    while digits >= 100 {
        let pair = (digits % 100) as usize * 2;
        digits /= 100;
        end -= 2;
        d[end..end + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if digits >= 10 {
        let pair = digits as usize * 2;
        d[..2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        d[0] = b'0' + digits as u8;
    }
    // The decimal exponent of the first digit.
    let point = exponent + count as i32 - 1;
    let mut at = usize::from(negative);
    buf[0] = b'-';
    if (-4..fixed_below).contains(&point) {
        if point >= 0 {
            // Digits, then '.' after point + 1 of them, or zeros up to the point.
            let whole = point as usize + 1;
            for (k, &digit) in d[..count].iter().enumerate() {
                if k == whole {
                    buf[at] = b'.';
                    at += 1;
                }
                buf[at] = digit;
                at += 1;
            }
            for _ in count..whole {
                buf[at] = b'0';
                at += 1;
            }
        } else {
            let zeros = (-point) as usize; // "0." then zeros - 1 more
            buf[at..at + 6].copy_from_slice(b"0.0000");
            at += zeros + 1;
            for &digit in &d[..count] {
                buf[at] = digit;
                at += 1;
            }
        }
    } else {
        buf[at] = d[0];
        at += 1;
        if count > 1 {
            buf[at] = b'.';
            at += 1;
            for &digit in &d[1..count] {
                buf[at] = digit;
                at += 1;
            }
        }
        buf[at] = b'e';
        buf[at + 1] = if point < 0 { b'-' } else { b'+' };
        at += 2;
        let magnitude = point.unsigned_abs() as usize;
        if magnitude >= 100 {
            buf[at] = b'0' + (magnitude / 100) as u8;
            at += 1;
        }
        let pair = magnitude % 100 * 2;
        buf[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        at += 2;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_widen_exactly() {
        let cases: [(u16, f32); 10] = [
            (0x0000, 0.0),
            (0x3c00, 1.0),
            (0xc000, -2.0),
            (0x7bff, 65504.0),
            (0x0001, 5.960_464_5e-8),
            (0x03ff, 6.097_555e-5),
            (0x0400, 6.103_515_6e-5),
            (0x3555, 0.333_251_95),
            (0x7c00, f32::INFINITY),
            (0xfc00, f32::NEG_INFINITY),
        ];
        for (bits, value) in cases {
            assert_eq!(half_to_f32(bits).to_bits(), value.to_bits(), "{bits:#06x}");
        }
        assert_eq!(half_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
        assert!(half_to_f32(0x7e00).is_nan() && half_to_f32(0xfc01).is_nan());
        // Every finite half: (-1)^s * m * 2^-24 for exponent 0, else
        // (-1)^s * (1024 + m) * 2^(e - 25), computed apart in f64.
        for bits in 0..=u16::MAX {
            let (exponent, mantissa) = (i32::from(bits >> 10 & 0x1f), f64::from(bits & 0x3ff));
            if exponent == 0x1f {
                continue;
            }
            let magnitude = if exponent == 0 {
                mantissa * 2f64.powi(-24)
            } else {
                (1024.0 + mantissa) * 2f64.powi(exponent - 25)
            };
            let expected = if bits >> 15 == 1 {
                -magnitude
            } else {
                magnitude
            };
            assert_eq!(f64::from(half_to_f32(bits)), expected, "{bits:#06x}");
        }
    }

    fn f8(value: f64) -> String {
        let mut buf = [0u8; FLOAT_TEXT_MAX];
        let len = format_f64(value, &mut buf);
        String::from_utf8(buf[..len].to_vec()).unwrap()
    }

    fn f4(value: f32) -> String {
        let mut buf = [0u8; FLOAT_TEXT_MAX];
        let len = format_f32(value, &mut buf);
        String::from_utf8(buf[..len].to_vec()).unwrap()
    }

    #[test]
    fn tables_match_postgres() {
        // Spot checks against src/common/d2s_full_table.h and f2s.c.
        let t = &*TABLES;
        let pair = |v: u128| (v as u64, (v >> 64) as u64);
        assert_eq!(pair(t.double_inv[0]), (1, 288_230_376_151_711_744));
        assert_eq!(
            pair(t.double_inv[3]),
            (17_118_578_500_402_463_900, 147_573_952_589_676_412)
        );
        assert_eq!(
            pair(t.double_inv[291]),
            (14_258_051_472_207_991_719, 179_769_313_486_231_590)
        );
        assert_eq!(pair(t.double_pow[0]), (0, 72_057_594_037_927_936));
        assert_eq!(
            pair(t.double_pow[325]),
            (2_850_236_603_241_744_433, 111_253_692_925_360_069)
        );
        assert_eq!(t.float_inv[0], 576_460_752_303_423_489);
        assert_eq!(t.float_inv[30], 365_375_409_332_725_730);
        assert_eq!(t.float_pow[1], 1_441_151_880_758_558_720);
        assert_eq!(t.float_pow[46], 2_019_483_917_365_790_221);
    }

    #[test]
    fn float8_special_values() {
        assert_eq!(f8(f64::NAN), "NaN");
        assert_eq!(f8(-f64::NAN), "NaN");
        assert_eq!(f8(f64::INFINITY), "Infinity");
        assert_eq!(f8(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(f8(0.0), "0");
        assert_eq!(f8(-0.0), "-0");
    }

    #[test]
    fn float8_fixed_and_exponent_layouts() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000123, "0.000123"),
            (123456.789, "123456.789"),
            (1e14, "100000000000000"),
            (1e15, "1e+15"),
            (123456789012345.0, "123456789012345"),
            (1234567890123456.0, "1.234567890123456e+15"),
            (9007199254740993.0, "9.007199254740992e+15"),
            (1e16, "1e+16"),
            (1e100, "1e+100"),
            (1e-300, "1e-300"),
            (1e300, "1e+300"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.0 / 3.0, "0.3333333333333333"),
            (f64::from_bits(1), "5e-324"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (f64::MAX, "1.7976931348623157e+308"),
            (-f64::MAX, "-1.7976931348623157e+308"),
            // Strictly inside the interval: 17 digits where Python's repr has 16.
            (6.452_706_481_443_846e16, "6.4527064814438464e+16"),
            (999_999_999_999_999.0, "999999999999999"),
        ];
        for &(value, text) in cases {
            assert_eq!(f8(value), text, "{value:e}");
        }
    }

    #[test]
    fn float4_layouts() {
        let cases: &[(f32, &str)] = &[
            (1.0, "1"),
            (0.1, "0.1"),
            (-0.0, "-0"),
            (100_000.0, "100000"),
            (1_000_000.0, "1e+06"),
            (16_777_216.0, "1.6777216e+07"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (f32::MAX, "3.4028235e+38"),
            (f32::MIN_POSITIVE, "1.1754944e-38"),
            (f32::from_bits(1), "1e-45"),
            (1.0 / 3.0, "0.33333334"),
            (f32::NAN, "NaN"),
            (f32::NEG_INFINITY, "-Infinity"),
        ];
        for &(value, text) in cases {
            assert_eq!(f4(value), text, "{value:e}");
        }
    }

    /// The digit removal loop as d2s.c writes it, one digit at a time.
    fn remove_digits_one_by_one(
        mut vr: u64,
        mut vp: u64,
        mut vm: u64,
        mut last: u64,
    ) -> (u64, i32) {
        let (mut trailing_zeros, mut removed) = (true, 0);
        while vp / 10 > vm / 10 {
            trailing_zeros &= last == 0;
            last = vr % 10;
            vr /= 10;
            vp /= 10;
            vm /= 10;
            removed += 1;
        }
        if trailing_zeros && last == 5 && vr % 2 == 0 {
            last = 4;
        }
        (vr + u64::from(vr == vm || last >= 5), removed)
    }

    #[test]
    fn unrolled_digit_removal_is_the_loop() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..500_000u64 {
            // vm < vr < vp, with zero runs in vr and bounds close and far apart.
            let scale = 10u64.pow((next() % 18) as u32);
            let vr =
                (next() % 100_000_000_000_000_000) / scale * scale + (round % 3) * 5 * scale / 10;
            let width = next() % (10u64.pow((next() % 18) as u32) + 1);
            let (vm, vp) = (
                vr.saturating_sub(next() % (width + 1)),
                vr + next() % (width + 1),
            );
            let last = next() % 10 * u64::from(round % 2 == 0);
            let fast = remove_digits_exact(vr, vp, vm, last);
            assert_eq!(
                (fast.output, fast.removed),
                remove_digits_one_by_one(vr, vp, vm, last)
            );
        }
    }

    #[test]
    fn shortest_digits_read_back() {
        // Every output parses back to the same value (a cheap sweep over bit patterns).
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let d = f64::from_bits(x);
            if d.is_finite() {
                assert_eq!(f8(d).parse::<f64>().unwrap().to_bits(), d.to_bits());
            }
            let f = f32::from_bits(x as u32);
            if f.is_finite() {
                assert_eq!(f4(f).parse::<f32>().unwrap().to_bits(), f.to_bits());
            }
        }
    }
}
