//! The POSIX TZ string of a TZif footer (RFC 8536 §3.3): the rule a zone follows
//! after its last transition, e.g. `EST5EDT,M3.2.0,M11.1.0` or
//! `<+1030>-10:30<+11>-11,M10.1.0,M4.1.0`.
//!
//! `wire.text` asks Python's zoneinfo for offsets, so the rule is parsed and applied
//! exactly as CPython's `Modules/_zoneinfo.c` does (`parse_tz_str`,
//! `find_tzrule_ttinfo_fromutc`, `find_tzrule_ttinfo`), its quirks included: the
//! fromutc year is the UTC one, `Jn` counts February 29 from day 59 on, a 0-based
//! day `n` lands one day early. Grammar: CPython 3.12+ (and late 3.11): transition
//! hours -167..=167 (RFC 8536's v3 extension), offset hours -24..=24; older
//! CPythons accept a subset of it with the same meaning, so whatever zoneinfo
//! accepts and this parser too means the same to both. Anything else is an error
//! (the caller then leaves the zone to Python).

use std::fmt;
use std::ops::Range;

/// 0001-01-01 as a day count from 1970-01-01's ordinal: C's `EPOCHORDINAL`.
const EPOCH_ORDINAL: i64 = 719_163;
const DAYS_IN_MONTH: [i64; 13] = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const DAYS_BEFORE_MONTH: [i64; 13] = [0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

/// Why a TZ string was refused (CPython's messages, or where it differs, ours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    StdFormat,
    StdOffset,
    DstFormat,
    DstOffset,
    MissingRules,
    MalformedRule,
    Extraneous,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::StdFormat => "invalid STD format in TZ string",
            Self::StdOffset => "invalid STD offset in TZ string",
            Self::DstFormat => "invalid DST format in TZ string",
            Self::DstOffset => "invalid DST offset in TZ string",
            Self::MissingRules => "missing transition rules in TZ string",
            Self::MalformedRule => "malformed transition rule in TZ string",
            Self::Extraneous => "extraneous characters at end of TZ string",
        })
    }
}

/// A zone's offsets after its last transition, in seconds east of UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Standard time only (also a TZif file without a footer: its last type).
    Fixed(i64),
    Dst(Dst),
}

/// Standard and daylight time, switching at `start` (to `dst`) and `end` (back to
/// `std`) each year, both in local wall time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dst {
    std: i64,
    dst: i64,
    start: Switch,
    end: Switch,
    /// The switches of `CACHED_YEARS`: each lookup needs a year's twice, and the
    /// calendar arithmetic would cost more than the rest of it.
    cached: Box<[(i64, i64)]>,
}

/// Where most data falls (a slim TZif file has its rule take over in 2007).
const CACHED_YEARS: Range<i64> = 1900..2300;

/// When in a year a rule switches: a date and seconds after its midnight (which may
/// be negative or past a day in v3 files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switch {
    day: Day,
    seconds: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Day {
    /// `Mm.w.d`: weekday `weekday` (0 Sunday) of week `week` (5: the last) of `month`.
    Weekday { month: u8, week: u8, weekday: u8 },
    /// `Jn` (`julian`, 1..=365, February 29 not counted) or `n` (0..=365).
    YearDay { day: u16, julian: bool },
}

impl Rule {
    pub fn parse(tz: &[u8]) -> Result<Self, RuleError> {
        let mut p = Cursor { s: tz, at: 0 };
        p.abbreviation().ok_or(RuleError::StdFormat)?;
        let std = p.offset().ok_or(RuleError::StdOffset)?;
        if p.at_end() {
            return Ok(Self::Fixed(std));
        }
        p.abbreviation().ok_or(RuleError::DstFormat)?;
        // POSIX: without an offset, daylight time is an hour ahead of standard time.
        let dst = if p.peek() == b',' {
            std + 3600
        } else {
            p.offset().ok_or(RuleError::DstOffset)?
        };
        let mut switches = [None, None];
        for switch in &mut switches {
            if !p.eat(b',') {
                return Err(RuleError::MissingRules);
            }
            *switch = Some(p.switch().ok_or(RuleError::MalformedRule)?);
        }
        if !p.at_end() {
            return Err(RuleError::Extraneous);
        }
        let [Some(start), Some(end)] = switches else {
            return Err(RuleError::MissingRules);
        };
        Ok(Self::Dst(Dst::new(std, dst, start, end)))
    }

    /// The offset at UTC second `ts` of UTC year `year`, and whether the local time
    /// it gives is the second of two (CPython's `find_tzrule_ttinfo_fromutc`).
    pub fn at_utc(&self, ts: i64, year: i64) -> (i64, bool) {
        match self {
            Self::Fixed(std) => (*std, false),
            Self::Dst(rule) => rule.at_utc(ts, year),
        }
    }

    /// The offset at local wall-clock second `ts` of local year `year`, the second
    /// of two repeated times if `fold` (CPython's `find_tzrule_ttinfo`).
    pub fn at_local(&self, ts: i64, fold: bool, year: i64) -> i64 {
        match self {
            Self::Fixed(std) => *std,
            Self::Dst(rule) => rule.at_local(ts, fold, year),
        }
    }

    /// Every offset the rule can give, for range checks.
    pub fn offsets(&self) -> [i64; 2] {
        match self {
            Self::Fixed(std) => [*std, *std],
            Self::Dst(rule) => [rule.std, rule.dst],
        }
    }
}

impl Dst {
    fn new(std: i64, dst: i64, start: Switch, end: Switch) -> Self {
        let cached = CACHED_YEARS
            .map(|year| (start.local_seconds(year), end.local_seconds(year)))
            .collect();
        Self {
            std,
            dst,
            start,
            end,
            cached,
        }
    }

    /// Local seconds since 1970 of the year's start and end of DST.
    fn switches(&self, year: i64) -> (i64, i64) {
        usize::try_from(year - CACHED_YEARS.start)
            .ok()
            .and_then(|i| self.cached.get(i).copied())
            .unwrap_or_else(|| (self.start.local_seconds(year), self.end.local_seconds(year)))
    }

    fn at_utc(&self, ts: i64, year: i64) -> (i64, bool) {
        let (start, end) = self.switches(year);
        let (start, end) = (start - self.std, end - self.dst);
        let diff = self.dst - self.std;
        // Positive DST repeats `diff` after its end, negative DST before its start.
        let (ambiguous_from, ambiguous_to) = if diff > 0 {
            (end, end + diff)
        } else {
            (start, start - diff)
        };
        let fold = ts >= ambiguous_from && ts < ambiguous_to;
        let offset = if in_dst(ts, start, end) {
            self.dst
        } else {
            self.std
        };
        (offset, fold)
    }

    fn at_local(&self, ts: i64, fold: bool, year: i64) -> i64 {
        let (mut start, mut end) = self.switches(year);
        let diff = self.dst - self.std;
        // fold XOR positive DST: which end of the switch the smaller offset owns.
        if fold == (diff >= 0) {
            end -= diff;
        } else {
            start += diff;
        }
        if in_dst(ts, start, end) {
            self.dst
        } else {
            self.std
        }
    }
}

/// DST runs from `start` to `end`, across the new year if `end` comes first.
fn in_dst(ts: i64, start: i64, end: i64) -> bool {
    if start < end {
        ts >= start && ts < end
    } else {
        ts < end || ts >= start
    }
}

impl Switch {
    /// Local seconds since 1970-01-01 of the switch in `year` (1..=9999): CPython's
    /// `calendarrule_year_to_timestamp` / `dayrule_year_to_timestamp`.
    fn local_seconds(self, year: i64) -> i64 {
        let days = match self.day {
            Day::Weekday {
                month,
                week,
                weekday,
            } => {
                let month = usize::from(month);
                let first = ymd_to_ord(year, month, 1);
                // 0 = Monday, as C's (ordinal + 6) % 7.
                let first_weekday = (first + 6) % 7;
                let mut length = DAYS_IN_MONTH[month];
                if month == 2 && is_leap(year) {
                    length += 1;
                }
                let mut day = (i64::from(weekday) - (first_weekday + 1)).rem_euclid(7) + 1;
                day += (i64::from(week) - 1) * 7;
                if day > length {
                    day -= 7; // week 5: the last such weekday
                }
                first + day - 1 - EPOCH_ORDINAL
            }
            Day::YearDay { day, julian } => {
                let before_year = ymd_to_ord(year, 1, 1) - EPOCH_ORDINAL - 1;
                let mut day = i64::from(day);
                // CPython's test (>= 59, not 60): J59 is February 29 in a leap year.
                if julian && day >= 59 && is_leap(year) {
                    day += 1;
                }
                before_year + day
            }
        };
        days * 86_400 + self.seconds
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days from 0001-01-00 (proleptic Gregorian), C's `ymd_to_ord` for years >= 1.
fn ymd_to_ord(year: i64, month: usize, day: i64) -> i64 {
    let y = year - 1;
    let mut days = y * 365 + y / 4 - y / 100 + y / 400 + DAYS_BEFORE_MONTH[month];
    if month > 2 && is_leap(year) {
        days += 1;
    }
    days + day
}

/// A parser over the TZ string; past its end it reads NUL, as the C one does.
struct Cursor<'a> {
    s: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> u8 {
        self.s.get(self.at).copied().unwrap_or(0)
    }

    fn at_end(&self) -> bool {
        self.at >= self.s.len()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == byte && !self.at_end();
        self.at += usize::from(found);
        found
    }

    /// `min..=max` decimal digits (C's `parse_digits`).
    fn digits(&mut self, min: usize, max: usize) -> Option<i64> {
        let mut value = 0;
        for i in 0..max {
            let byte = self.peek();
            if !byte.is_ascii_digit() {
                return (i >= min).then_some(value);
            }
            value = value * 10 + i64::from(byte - b'0');
            self.at += 1;
        }
        Some(value)
    }

    /// `<...>` (ASCII letters, digits, '+', '-') or one or more ASCII letters.
    fn abbreviation(&mut self) -> Option<()> {
        if self.eat(b'<') {
            while !self.eat(b'>') {
                let byte = self.peek();
                if !(byte.is_ascii_alphanumeric() || byte == b'+' || byte == b'-') {
                    return None;
                }
                self.at += 1;
            }
            return Some(());
        }
        let start = self.at;
        while self.peek().is_ascii_alphabetic() {
            self.at += 1;
        }
        (self.at > start).then_some(())
    }

    /// `[+-]h[hh][:mm[:ss]]` in seconds, the sign applying to every field.
    fn time(&mut self) -> Option<(i64, i64)> {
        let sign = if self.eat(b'-') {
            -1
        } else {
            self.eat(b'+');
            1
        };
        let hours = self.digits(1, 3)?;
        let mut rest = 0;
        if self.eat(b':') {
            rest += self.digits(2, 2)? * 60;
            if self.eat(b':') {
                rest += self.digits(2, 2)?;
            }
        }
        Some((sign * hours, sign * (hours * 3600 + rest)))
    }

    /// A UTC offset, hours within a day; POSIX counts west, so it is negated.
    fn offset(&mut self) -> Option<i64> {
        let (hours, seconds) = self.time()?;
        (hours.abs() <= 24).then_some(-seconds)
    }

    /// `Mm.w.d[/time]`, `Jn[/time]` or `n[/time]`; the time defaults to 02:00.
    fn switch(&mut self) -> Option<Switch> {
        let day = if self.eat(b'M') {
            let month = self.digits(1, 2)?;
            let week = self.dot_digit()?;
            let weekday = self.dot_digit()?;
            if !(1..=12).contains(&month) || !(1..=5).contains(&week) || weekday > 6 {
                return None;
            }
            Day::Weekday {
                month: month as u8,
                week: week as u8,
                weekday: weekday as u8,
            }
        } else {
            let julian = self.eat(b'J');
            let day = self.digits(1, 3)?;
            if day < i64::from(julian) || day > 365 {
                return None;
            }
            Day::YearDay {
                day: day as u16,
                julian,
            }
        };
        let (hours, seconds) = if self.eat(b'/') {
            self.time()?
        } else {
            (2, 7200)
        };
        (hours.abs() <= 167).then_some(Switch { day, seconds })
    }

    fn dot_digit(&mut self) -> Option<i64> {
        if self.eat(b'.') {
            self.digits(1, 1)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weekday(month: u8, week: u8, weekday: u8, seconds: i64) -> Switch {
        Switch {
            day: Day::Weekday {
                month,
                week,
                weekday,
            },
            seconds,
        }
    }

    /// Local seconds of a civil date-time (days from `ymd_to_ord`).
    fn at(year: i64, month: usize, day: i64, seconds: i64) -> i64 {
        (ymd_to_ord(year, month, day) - EPOCH_ORDINAL) * 86_400 + seconds
    }

    #[test]
    fn parses_the_tz_database_forms() {
        assert_eq!(Rule::parse(b"UTC0"), Ok(Rule::Fixed(0)));
        assert_eq!(Rule::parse(b"<+0530>-5:30"), Ok(Rule::Fixed(19_800)));
        assert_eq!(Rule::parse(b"<-00>0"), Ok(Rule::Fixed(0)));
        assert_eq!(Rule::parse(b"HST10"), Ok(Rule::Fixed(-36_000)));
        assert_eq!(
            Rule::parse(b"EST5EDT,M3.2.0,M11.1.0"),
            Ok(Rule::Dst(Dst::new(
                -18_000,
                -14_400,
                weekday(3, 2, 0, 7200),
                weekday(11, 1, 0, 7200),
            )))
        );
        // Europe/Dublin: negative DST (winter is the daylight type).
        assert_eq!(
            Rule::parse(b"IST-1GMT0,M10.5.0,M3.5.0/1"),
            Ok(Rule::Dst(Dst::new(
                3600,
                0,
                weekday(10, 5, 0, 7200),
                weekday(3, 5, 0, 3600),
            )))
        );
        // Australia/Lord_Howe: half-hour DST, explicit offsets with minutes.
        let Ok(Rule::Dst(Dst { std, dst, .. })) =
            Rule::parse(b"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0")
        else {
            panic!("Lord_Howe")
        };
        assert_eq!((std, dst), (37_800, 39_600));
        // America/Nuuk and Asia/Jerusalem (v3): negative and over-24h times.
        let Ok(Rule::Dst(Dst { start, end, .. })) = Rule::parse(b"<-02>2<-01>,M3.5.0/-1,M10.5.0/0")
        else {
            panic!("Nuuk")
        };
        assert_eq!((start.seconds, end.seconds), (-3600, 0));
        let Ok(Rule::Dst(Dst { start, .. })) = Rule::parse(b"IST-2IDT,M3.4.4/26,M10.5.0") else {
            panic!("Jerusalem")
        };
        assert_eq!(start.seconds, 26 * 3600);
        let Ok(Rule::Dst(Dst { start, end, .. })) = Rule::parse(b"A3B,J60/-167,300/1:02:03") else {
            panic!("day rules")
        };
        assert_eq!(
            start,
            Switch {
                day: Day::YearDay {
                    day: 60,
                    julian: true
                },
                seconds: -167 * 3600
            }
        );
        assert_eq!(end.seconds, 3723);
        assert_eq!(
            end.day,
            Day::YearDay {
                day: 300,
                julian: false
            }
        );
        // A missing DST offset is an hour ahead of standard time.
        let Ok(Rule::Dst(Dst { dst, .. })) = Rule::parse(b"<+03>-3<+04>,0/0,J365/25") else {
            panic!("implicit offset")
        };
        assert_eq!(dst, 14_400);
    }

    #[test]
    fn refuses_what_cpython_refuses() {
        let bad: &[(&[u8], RuleError)] = &[
            (b"", RuleError::StdFormat),
            (b"5", RuleError::StdFormat),
            (b"<EST5", RuleError::StdFormat),
            (b"<E T>5", RuleError::StdFormat),
            (b"E\xc3\xa9T5", RuleError::StdOffset),
            (b"EST", RuleError::StdOffset),
            (b"EST25", RuleError::StdOffset),
            (b"EST5:3", RuleError::StdOffset),
            (b"EST1234", RuleError::StdOffset),
            (b"EST5,M3.2.0,M11.1.0", RuleError::DstFormat),
            (b"EST5EDT", RuleError::DstOffset),
            (b"EST5EDT4", RuleError::MissingRules),
            (b"EST5EDT,M3.2.0", RuleError::MissingRules),
            (b"EST5EDT,M13.2.0,M11.1.0", RuleError::MalformedRule),
            (b"EST5EDT,M3.6.0,M11.1.0", RuleError::MalformedRule),
            (b"EST5EDT,M3.0.0,M11.1.0", RuleError::MalformedRule),
            (b"EST5EDT,M3.2.7,M11.1.0", RuleError::MalformedRule),
            (b"EST5EDT,M3.2,M11.1.0", RuleError::MalformedRule),
            (b"EST5EDT,M3.2.0/168,M11.1.0", RuleError::MalformedRule),
            (b"EST5EDT,M3.2.0/1:5,M11.1.0", RuleError::MalformedRule),
            (b"EST5EDT,J0,J365", RuleError::MalformedRule),
            (b"EST5EDT,0,366", RuleError::MalformedRule),
            (b"EST5EDT,M3.2.0,M11.1.0,", RuleError::Extraneous),
            (b"EST5EDT,M3.2.0,M11.1.0/2:00:00:00", RuleError::Extraneous),
        ];
        for (tz, err) in bad {
            assert_eq!(
                Rule::parse(tz),
                Err(*err),
                "{}",
                String::from_utf8_lossy(tz)
            );
        }
        assert!(Rule::parse(b"<>0").is_ok()); // CPython takes an empty quoted name
        assert!(Rule::parse(b"A-024").is_ok());
    }

    #[test]
    fn switch_dates() {
        let new_york = Rule::parse(b"EST5EDT,M3.2.0,M11.1.0").unwrap();
        let Rule::Dst(Dst { start, end, .. }) = new_york else {
            panic!()
        };
        assert_eq!(start.local_seconds(2024), at(2024, 3, 10, 7200));
        assert_eq!(end.local_seconds(2024), at(2024, 11, 3, 7200));
        // Week 5 is the last: March 2024 has five Sundays, February 2026 four.
        assert_eq!(weekday(3, 5, 0, 0).local_seconds(2024), at(2024, 3, 31, 0));
        assert_eq!(weekday(2, 5, 0, 0).local_seconds(2026), at(2026, 2, 22, 0));
        assert_eq!(weekday(2, 5, 4, 0).local_seconds(2024), at(2024, 2, 29, 0));
        let julian = |day, year| {
            Switch {
                day: Day::YearDay { day, julian: true },
                seconds: 0,
            }
            .local_seconds(year)
        };
        assert_eq!(julian(1, 2023), at(2023, 1, 1, 0));
        assert_eq!(julian(59, 2023), at(2023, 2, 28, 0));
        assert_eq!(julian(59, 2024), at(2024, 2, 29, 0)); // CPython's quirk
        assert_eq!(julian(60, 2024), at(2024, 3, 1, 0));
        assert_eq!(julian(365, 2024), at(2024, 12, 31, 0));
        let zero_based = Switch {
            day: Day::YearDay {
                day: 0,
                julian: false,
            },
            seconds: 0,
        };
        assert_eq!(zero_based.local_seconds(2024), at(2023, 12, 31, 0)); // likewise
    }

    #[test]
    fn cached_switches_are_the_computed_ones() {
        let Ok(Rule::Dst(rule)) = Rule::parse(b"A3B,J59/-30,M2.5.4/167") else {
            panic!()
        };
        let edges = [1, 1899, 1900, 1901, 2024, 2299, 2300, 9999];
        for year in CACHED_YEARS.chain(edges) {
            let computed = (rule.start.local_seconds(year), rule.end.local_seconds(year));
            assert_eq!(rule.switches(year), computed, "{year}");
        }
    }

    #[test]
    fn offsets_and_folds() {
        let new_york = Rule::parse(b"EST5EDT,M3.2.0,M11.1.0").unwrap();
        // 2024-03-10 07:00 UTC: 02:00 EST becomes 03:00 EDT.
        let spring = at(2024, 3, 10, 7 * 3600);
        assert_eq!(new_york.at_utc(spring - 1, 2024), (-18_000, false));
        assert_eq!(new_york.at_utc(spring, 2024), (-14_400, false));
        // 2024-11-03 06:00 UTC: 02:00 EDT becomes 01:00 EST, 01:00-02:00 repeats.
        let autumn = at(2024, 11, 3, 6 * 3600);
        assert_eq!(new_york.at_utc(autumn - 1, 2024), (-14_400, false));
        assert_eq!(new_york.at_utc(autumn, 2024), (-18_000, true));
        assert_eq!(new_york.at_utc(autumn + 3599, 2024), (-18_000, true));
        assert_eq!(new_york.at_utc(autumn + 3600, 2024), (-18_000, false));
        let local = at(2024, 11, 3, 3600 + 1800);
        assert_eq!(new_york.at_local(local, false, 2024), -14_400);
        assert_eq!(new_york.at_local(local, true, 2024), -18_000);
        // Dublin's negative DST starts in autumn: the hour after its start repeats.
        let dublin = Rule::parse(b"IST-1GMT0,M10.5.0,M3.5.0/1").unwrap();
        let autumn = at(2024, 10, 27, 3600);
        assert_eq!(dublin.at_utc(autumn - 1, 2024), (3600, false));
        assert_eq!(dublin.at_utc(autumn, 2024), (0, true));
        assert_eq!(dublin.at_utc(autumn + 3600, 2024), (0, false));
        let repeated = at(2024, 10, 27, 3600 + 1800);
        assert_eq!(dublin.at_local(repeated, false, 2024), 3600);
        assert_eq!(dublin.at_local(repeated, true, 2024), 0);
        assert_eq!(Rule::Fixed(-3600).at_utc(0, 1970), (-3600, false));
        assert_eq!(Rule::Fixed(-3600).at_local(0, true, 1970), -3600);
    }
}
