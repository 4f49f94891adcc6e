//! date_out / timestamp_out / timestamptz_out (DateStyle ISO), time_out,
//! interval_out (IntervalStyle postgres) and the binary date_send / timestamp_send
//! values, byte-identical to `wire.text.date_text`, `wire.text.timestamp_text`,
//! `wire.text._time_of_day`, `wire.text.interval_text`,
//! `wire.binary.date_binary_days` and `wire.binary.timestamp_binary_usecs`.
//!
//! DuckDB's infinities are date32 +-(2^31 - 1) and int64 +-(2^63 - 1) in every time
//! unit. Arithmetic is in i128 where the reference's Python ints could leave i64
//! (seconds scaled to microseconds).

const USECS_PER_SEC: i128 = 1_000_000;
const USECS_PER_DAY: i128 = 86_400 * USECS_PER_SEC;
/// 2000-01-01 (PostgreSQL's epoch) in days after 1970-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
/// DuckDB's DATE +infinity (and, negated, -infinity).
pub const DATE_INFINITY: i64 = i32::MAX as i64;
/// DuckDB's TIMESTAMP* +infinity (and, negated, -infinity), in any unit.
pub const TIMESTAMP_INFINITY: i64 = i64::MAX;

/// An Arrow timestamp's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Second,
    Milli,
    Micro,
    Nano,
}

impl TimeUnit {
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "s" => Self::Second,
            "ms" => Self::Milli,
            "us" => Self::Micro,
            "ns" => Self::Nano,
            _ => return None,
        })
    }

    /// Microseconds of a value in this unit; nanoseconds are floored (`text.to_usecs`).
    pub fn to_usecs(self, value: i64) -> i128 {
        let value = i128::from(value);
        match self {
            Self::Second => value * USECS_PER_SEC,
            Self::Milli => value * 1000,
            Self::Micro => value,
            Self::Nano => value.div_euclid(1000),
        }
    }
}

/// Proleptic Gregorian (year, month, day) of days since 1970-01-01; year 0 is 1 BC
/// (`text.civil_from_days`, floor division throughout).
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `value` in decimal, zero-padded to at least `width` digits (value >= 0).
fn put_padded(out: &mut Vec<u8>, value: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut at = buf.len();
    let mut rest = value;
    loop {
        at -= 1;
        buf[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    at = at.min(buf.len() - width);
    out.extend_from_slice(&buf[at..]);
}

fn put2(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(&[b'0' + (value / 10) as u8, b'0' + (value % 10) as u8]);
}

/// 'YYYY-MM-DD' (year at least 4 digits, BC years counted from 1); returns is-BC.
fn put_date(out: &mut Vec<u8>, days: i64) -> bool {
    let (year, month, day) = civil_from_days(days);
    let bc = year <= 0;
    put_padded(out, if bc { 1 - year } else { year }.unsigned_abs(), 4);
    out.push(b'-');
    put2(out, month);
    out.push(b'-');
    put2(out, day);
    bc
}

/// date_out of days since 1970-01-01: a date32, or a date64's days (wider: the
/// reference compares those with the date32 sentinels all the same).
pub fn date_text(days: i64, out: &mut Vec<u8>) {
    if days == DATE_INFINITY {
        out.extend_from_slice(b"infinity");
    } else if days == -DATE_INFINITY {
        out.extend_from_slice(b"-infinity");
    } else if put_date(out, days) {
        out.extend_from_slice(b" BC");
    }
}

/// date_send's int32: days since 2000-01-01, infinities as INT32_MAX / INT32_MIN,
/// saturating.
pub fn date_binary(days: i64) -> i32 {
    if days == DATE_INFINITY {
        return i32::MAX;
    }
    if days == -DATE_INFINITY {
        return i32::MIN;
    }
    // A date64's days are within +-2^47: no overflow.
    let shifted = days - PG_EPOCH_DAYS;
    shifted.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// EncodeTimezone: '+HH', '+HH:MM' or '+HH:MM:SS', as short as the offset allows.
fn put_offset(out: &mut Vec<u8>, seconds_east: i32) {
    out.push(if seconds_east >= 0 { b'+' } else { b'-' });
    let total = i64::from(seconds_east.unsigned_abs());
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    put_padded(out, hours as u64, 2);
    if minutes != 0 || seconds != 0 {
        out.push(b':');
        put2(out, minutes);
    }
    if seconds != 0 {
        out.push(b':');
        put2(out, seconds);
    }
}

/// 'HH:MM:SS[.ffffff]' of a non-negative microsecond count (`text._time_of_day`):
/// hours zero-padded to two digits but unbounded (interval times pass 24), the
/// fraction with trailing zeros removed (AppendSeconds).
fn put_clock(out: &mut Vec<u8>, usecs: u64) {
    let hours = usecs / USECS_PER_HOUR;
    if hours < 100 {
        put2(out, hours as i64); // every time of day: the fast path
    } else {
        put_padded(out, hours, 2);
    }
    put_minutes_seconds(out, usecs % USECS_PER_HOUR);
}

/// ':MM:SS[.ffffff]' of microseconds below an hour.
fn put_minutes_seconds(out: &mut Vec<u8>, usecs: u64) {
    let seconds = usecs / 1_000_000;
    out.push(b':');
    put2(out, (seconds / 60) as i64);
    out.push(b':');
    put2(out, (seconds % 60) as i64);
    let mut fraction = usecs % 1_000_000;
    if fraction != 0 {
        let mut width = 6;
        while fraction % 10 == 0 {
            fraction /= 10;
            width -= 1;
        }
        out.push(b'.');
        put_padded(out, fraction, width);
    }
}

const USECS_PER_HOUR: u64 = 3_600_000_000;

/// time_out of microseconds since midnight, 'HH:MM:SS[.ffffff]' (24:00:00 allowed).
/// A negative value (no DuckDB TIME has one) prints as the reference's floor
/// division and `{hours:02d}` print it: '-1:59:59.999999' for -1 us.
pub fn time_text(usecs: i64, out: &mut Vec<u8>) {
    if usecs >= 0 {
        put_clock(out, usecs as u64);
        return;
    }
    let hour = USECS_PER_HOUR as i64;
    out.push(b'-');
    put_padded(out, usecs.div_euclid(hour).unsigned_abs(), 1);
    put_minutes_seconds(out, usecs.rem_euclid(hour) as u64);
}

/// DuckDB's TIMETZ, a u64 (little-endian in Arrow): the local time's microseconds
/// since midnight above 24 bits of `57599 - offset` (seconds east of UTC), as
/// `text.timetz_parts` reads it. Returns (local microseconds, seconds east).
pub fn timetz_parts(bits: u64) -> (i64, i32) {
    // 40 bits of microseconds and 24 of offset: both fit with room to spare.
    ((bits >> 24) as i64, 57_599 - (bits & 0xFF_FFFF) as i32)
}

/// timetz_out: the local time ('HH:MM:SS[.ffffff]', `time_text`), then the offset
/// as EncodeTimezone prints it.
pub fn timetz_text(usecs: i64, seconds_east: i32, out: &mut Vec<u8>) {
    time_text(usecs, out);
    put_offset(out, seconds_east);
}

/// timetz_send: int64 local microseconds, then int32 zone in seconds *west* of UTC.
pub fn timetz_binary(usecs: i64, seconds_east: i32) -> [u8; 12] {
    let mut bytes = [0u8; 12];
    bytes[..8].copy_from_slice(&usecs.to_be_bytes());
    // DuckDB's offsets are within +-16 million seconds: negating cannot overflow.
    bytes[8..].copy_from_slice(&(-seconds_east).to_be_bytes());
    bytes
}

/// interval_out with IntervalStyle postgres (`text.interval_text`): 'N year(s)',
/// 'N mon(s)', 'N day(s)' for the nonzero fields ('s' unless exactly 1), a '+' on a
/// positive field right after a negative one, then the time when it is nonzero or
/// everything is zero, signed like its fields. C's truncating division splits
/// months into years and months, as interval2itm does.
pub fn interval_text(months: i32, days: i32, usecs: i64, out: &mut Vec<u8>) {
    let mut before_negative = false;
    let mut any = false;
    for (value, unit) in [
        (months / 12, &b"year"[..]),
        (months % 12, b"mon"),
        (days, b"day"),
    ] {
        if value == 0 {
            continue;
        }
        if any {
            out.push(b' ');
        }
        if before_negative && value > 0 {
            out.push(b'+');
        }
        if value < 0 {
            out.push(b'-');
        }
        put_padded(out, u64::from(value.unsigned_abs()), 1);
        out.push(b' ');
        out.extend_from_slice(unit);
        if value != 1 {
            out.push(b's');
        }
        before_negative = value < 0;
        any = true;
    }
    if !any || usecs != 0 {
        if any {
            out.push(b' ');
        }
        if usecs < 0 {
            out.push(b'-');
        } else if before_negative {
            out.push(b'+');
        }
        // |hours|, |minutes|, |seconds| of truncating division are those of |usecs|.
        put_clock(out, usecs.unsigned_abs());
    }
}

/// timestamp_out (`offset_east` None) or timestamptz_out in a zone at a fixed UTC
/// offset: 'YYYY-MM-DD HH:MM:SS[.ffffff][offset][ BC]', local time.
pub fn timestamp_text(value: i64, unit: TimeUnit, offset_east: Option<i32>, out: &mut Vec<u8>) {
    if value == TIMESTAMP_INFINITY {
        out.extend_from_slice(b"infinity");
        return;
    }
    if value == -TIMESTAMP_INFINITY {
        out.extend_from_slice(b"-infinity");
        return;
    }
    let mut usecs = unit.to_usecs(value);
    if let Some(east) = offset_east {
        usecs += i128::from(east) * USECS_PER_SEC;
    }
    // |usecs| < 2^63 * 10^6, so the day count fits an i64 comfortably.
    let days = usecs.div_euclid(USECS_PER_DAY) as i64;
    let time = usecs.rem_euclid(USECS_PER_DAY) as i64;
    let bc = put_date(out, days);
    out.push(b' ');
    put_clock(out, time as u64);
    if let Some(east) = offset_east {
        put_offset(out, east);
    }
    if bc {
        out.extend_from_slice(b" BC");
    }
}

/// timestamp_send's int64: microseconds since 2000-01-01 00:00 (UTC for timestamptz),
/// infinities as INT64_MAX / INT64_MIN, saturating.
pub fn timestamp_binary(value: i64, unit: TimeUnit) -> i64 {
    if value == TIMESTAMP_INFINITY {
        return i64::MAX;
    }
    if value == -TIMESTAMP_INFINITY {
        return i64::MIN;
    }
    let shifted = unit.to_usecs(value) - i128::from(PG_EPOCH_DAYS) * USECS_PER_DAY;
    shifted.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(days: i32) -> String {
        let mut out = Vec::new();
        date_text(days.into(), &mut out);
        String::from_utf8(out).unwrap()
    }

    fn ts(value: i64, unit: TimeUnit, zone: Option<i32>) -> String {
        let mut out = Vec::new();
        timestamp_text(value, unit, zone, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(19_782), "2024-02-29");
        assert_eq!(date(-719_162), "0001-01-01");
        assert_eq!(date(-719_163), "0001-12-31 BC");
        assert_eq!(date(-719_528), "0001-01-01 BC");
        assert_eq!(date(-719_529), "0002-12-31 BC");
        assert_eq!(date(-719_530), "0002-12-30 BC");
        assert_eq!(date(i32::MAX), "infinity");
        assert_eq!(date(-i32::MAX), "-infinity");
        assert_eq!(date(i32::MIN), "5877642-06-23 BC");
        assert_eq!(date(i32::MAX - 1), "5881580-07-10");
        // date64's days reach far past date32's.
        let mut out = Vec::new();
        date_text(i64::MIN.div_euclid(86_400_000), &mut out);
        assert_eq!(out, b"292275056-05-16 BC");
        assert_eq!(date_binary(i64::from(i32::MAX) + 10_958), i32::MAX);
        assert_eq!(date_binary(-(1 << 47)), i32::MIN);
        assert_eq!(date_binary(10_957), 0);
        assert_eq!(date_binary(i32::MAX.into()), i32::MAX);
        assert_eq!(date_binary((-i32::MAX).into()), i32::MIN);
        assert_eq!(date_binary(i32::MIN.into()), i32::MIN);
        assert_eq!(date_binary((i32::MAX - 1).into()), i32::MAX - 1 - 10_957);
    }

    fn time(usecs: i64) -> String {
        let mut out = Vec::new();
        time_text(usecs, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn interval(months: i32, days: i32, usecs: i64) -> String {
        let mut out = Vec::new();
        interval_text(months, days, usecs, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn times() {
        assert_eq!(time(0), "00:00:00");
        assert_eq!(time(86_399_999_999), "23:59:59.999999");
        assert_eq!(time(86_400_000_000), "24:00:00");
        assert_eq!(time(3_723_500_000), "01:02:03.5");
        assert_eq!(time(360_000_000_000), "100:00:00");
        assert_eq!(time(-1), "-1:59:59.999999");
        assert_eq!(time(-36_000_000_001), "-11:59:59.999999");
    }

    fn timetz(bits: u64) -> String {
        let (usecs, east) = timetz_parts(bits);
        let mut out = Vec::new();
        timetz_text(usecs, east, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn timetzs() {
        // As DuckDB 1.5 sends TIMETZ '01:02:03+05:30' and '23:59:59.999999-15:59:59'.
        let plus = u64::from_le_bytes(*b"\xa7\x93\x00\xc0\x78\xe8\xdd\x00");
        assert_eq!(timetz(plus), "01:02:03+05:30");
        assert_eq!(timetz_parts(plus), (3_723_000_000, 19_800));
        let mut binary = 3_723_000_000i64.to_be_bytes().to_vec();
        binary.extend_from_slice(&(-19_800i32).to_be_bytes());
        assert_eq!(timetz_binary(3_723_000_000, 19_800).to_vec(), binary);
        let minus = u64::from_le_bytes(*b"\xfe\xc1\x01\xff\x5f\xd7\x1d\x14");
        assert_eq!(timetz(minus), "23:59:59.999999-15:59:59");
        assert_eq!(timetz(57_599), "00:00:00+00");
        // Every bit pattern prints: 2^40 - 1 microseconds, offsets far past a day.
        assert_eq!(timetz(u64::MAX), "305:25:11.627775-4644:20:16");
        assert_eq!(timetz(0), "00:00:00+15:59:59");
        let (usecs, east) = timetz_parts(u64::MAX);
        assert_eq!(timetz_binary(usecs, east)[8..], 16_719_616i32.to_be_bytes());
    }

    #[test]
    fn intervals() {
        assert_eq!(interval(0, 0, 0), "00:00:00");
        assert_eq!(
            interval(14, -3, 14_706_789_000),
            "1 year 2 mons -3 days +04:05:06.789"
        );
        assert_eq!(interval(0, 0, -1), "-00:00:00.000001");
        assert_eq!(interval(1, 1, 0), "1 mon 1 day");
        assert_eq!(interval(-1, 0, 0), "-1 mons");
        assert_eq!(interval(-13, 0, 0), "-1 years -1 mons");
        assert_eq!(interval(-12, 5, 0), "-1 years +5 days");
        assert_eq!(interval(0, -1, 1), "-1 days +00:00:00.000001");
        assert_eq!(interval(12, 0, 0), "1 year");
        assert_eq!(
            interval(i32::MIN, i32::MIN, i64::MIN / 1000),
            "-178956970 years -8 mons -2147483648 days -2562047:47:16.854775"
        );
        assert_eq!(
            interval(i32::MAX, i32::MAX, i64::MAX),
            "178956970 years 7 mons 2147483647 days 2562047788:00:54.775807"
        );
    }

    #[test]
    fn timestamps() {
        use TimeUnit::*;
        assert_eq!(ts(0, Micro, None), "1970-01-01 00:00:00");
        assert_eq!(ts(1_500_000, Micro, None), "1970-01-01 00:00:01.5");
        assert_eq!(ts(-1, Micro, None), "1969-12-31 23:59:59.999999");
        assert_eq!(ts(-1, Nano, None), "1969-12-31 23:59:59.999999");
        assert_eq!(ts(1_001, Nano, None), "1970-01-01 00:00:00.000001");
        assert_eq!(ts(86_399, Second, None), "1970-01-01 23:59:59");
        assert_eq!(ts(-62_135_596_801, Second, None), "0001-12-31 23:59:59 BC");
        assert_eq!(ts(i64::MAX, Second, None), "infinity");
        assert_eq!(ts(-i64::MAX, Milli, None), "-infinity");
        assert_eq!(ts(i64::MIN, Micro, None), "290309-12-21 19:59:05.224192 BC");
        assert_eq!(
            ts(i64::MAX - 1, Second, None),
            "292277026596-12-04 15:30:06"
        );
        assert_eq!(ts(0, Micro, Some(0)), "1970-01-01 00:00:00+00");
        assert_eq!(ts(0, Micro, Some(19_800)), "1970-01-01 05:30:00+05:30");
        assert_eq!(ts(0, Micro, Some(-3600)), "1969-12-31 23:00:00-01");
        assert_eq!(ts(0, Micro, Some(-3661)), "1969-12-31 22:58:59-01:01:01");
        assert_eq!(timestamp_binary(946_684_800, Second), 0);
        assert_eq!(timestamp_binary(i64::MAX, Nano), i64::MAX);
        assert_eq!(timestamp_binary(-i64::MAX, Nano), i64::MIN);
        assert_eq!(timestamp_binary(i64::MAX - 1, Second), i64::MAX);
        assert_eq!(timestamp_binary(i64::MIN, Second), i64::MIN);
        assert_eq!(timestamp_binary(-1, Nano), -946_684_800_000_001);
    }
}
