//! Named time zones for timestamptz text: TZif files (RFC 8536, versions 1 to 4)
//! read, and UTC offsets looked up, exactly as `wire.text._utc_offset_seconds` gets
//! them from Python's zoneinfo.
//!
//! Python hands over the very file `zoneinfo.ZoneInfo(name)` loads
//! (`wire.text.zone_tzif`). It is read as CPython's `zoneinfo._common.load_data`
//! reads it (the 64-bit section of a v2+ file, its footer's POSIX rule for instants
//! after the last transition, `tzrule`), and an instant's offset is what
//! `instant.astimezone(zone).utcoffset()` gives: `fromutc` picks the local time and
//! its fold from the UTC transitions, then `utcoffset` looks that local time up again
//! in the wall-clock transitions (`Modules/_zoneinfo.c`). Both steps are mirrored,
//! probe for probe: where transitions crowd each other the two lookups can disagree,
//! and the reference's answer is the second's. Outside Python's years the instant
//! first moves by whole 400-year cycles, as the reference does.
//!
//! Every count and length is checked against the file before anything is read or
//! allocated (at most a few times the file's size, which is capped); a file that
//! the reference could read differently (an offset of a day or more, transitions
//! near the ends of an i64, a type index past the types) is refused, and its zone
//! is left to Python.

use std::fmt;

use crate::datetime::civil_from_days;
use crate::rows::fixed;
use crate::tzrule::{Rule, RuleError};

/// The largest TZif file read (the tz database's are a few kilobytes).
pub const MAX_TZIF_LEN: usize = 1 << 20;
/// The largest offset taken, in seconds either way: under a day, as Python's
/// datetime requires of `utcoffset()` (the reference raises where a zone gives more).
const MAX_OFFSET: i64 = 86_399;
/// The largest transition time taken, either way: zic's "big bang" is -2^59, and
/// adding an offset must not overflow.
const MAX_TRANSITION: u64 = 1 << 62;

const USECS_PER_SEC: i128 = 1_000_000;
const USECS_PER_DAY: i128 = 86_400 * USECS_PER_SEC;
/// 400 Gregorian years: the calendar, and so every zone's rule, repeats.
const CYCLE_USECS: i128 = 146_097 * USECS_PER_DAY;
/// `text._MIN_LOOKUP` and `text._MAX_LOOKUP`: 0002-01-01 and 9998-12-31, in
/// microseconds since 1970 (Python's datetime years, a year inside).
const MIN_LOOKUP: i128 = -718_797 * USECS_PER_DAY;
const MAX_LOOKUP: i128 = 2_932_531 * USECS_PER_DAY;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TzifError {
    TooLong,
    Truncated,
    BadMagic,
    BadVersion(u8),
    NegativeCount,
    NoTypes,
    BadTypeIndex,
    OffsetOutOfRange,
    TransitionOutOfRange,
    BadFooter,
    Rule(RuleError),
}

impl fmt::Display for TzifError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong => write!(f, "TZif file over {MAX_TZIF_LEN} bytes"),
            Self::Truncated => f.write_str("TZif file truncated"),
            Self::BadMagic => f.write_str("invalid TZif file: magic not found"),
            Self::BadVersion(v) => write!(f, "TZif version byte {v:#04x} not supported"),
            Self::NegativeCount => f.write_str("TZif header has a negative count"),
            Self::NoTypes => f.write_str("no time zone information found"),
            Self::BadTypeIndex => f.write_str("invalid transition index in TZif file"),
            Self::OffsetOutOfRange => f.write_str("TZif UTC offset out of range"),
            Self::TransitionOutOfRange => f.write_str("TZif transition time out of range"),
            Self::BadFooter => f.write_str("TZif footer not newline-delimited"),
            Self::Rule(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for TzifError {}

/// A zone's offsets: its transitions, then its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// Transition times, UTC seconds, in file order.
    utc: Times,
    /// The same as local wall-clock seconds, for fold 0 (the larger of the offsets
    /// either side) and fold 1 (the smaller): C's `trans_list_wall`.
    wall: [Times; 2],
    /// The offset each transition switches to.
    offsets: Vec<i64>,
    /// The offset before the first transition: the first standard-time type's.
    before: i64,
    /// After the last transition.
    after: Rule,
}

impl Zone {
    pub fn from_tzif(data: &[u8]) -> Result<Self, TzifError> {
        if data.len() > MAX_TZIF_LEN {
            return Err(TzifError::TooLong);
        }
        let block = Block::read(data)?;
        let types = block.types()?;
        let utc = block.transitions()?;
        let indices = block.indices(types.len())?;
        let after = after_rule(block.footer, &types, &indices)?;
        if !after.offsets().into_iter().all(offset_in_range) {
            return Err(TzifError::OffsetOutOfRange);
        }
        let offsets: Vec<i64> = indices.iter().map(|&i| types[i].0).collect();
        let [wall0, wall1] = wall_times(&utc, &offsets, &types);
        let (utc, wall) = (Times::new(utc), [Times::new(wall0), Times::new(wall1)]);
        // The first standard-time type, else the first (zoneinfo's ttinfo_before).
        let before = types
            .iter()
            .find(|&&(_, dst)| !dst)
            .or(types.first())
            .map_or(0, |&(offset, _)| offset);
        Ok(Self {
            utc,
            wall,
            offsets,
            before,
            after,
        })
    }

    /// The UTC offset, in seconds east, at an instant in microseconds since 1970
    /// (`text._utc_offset_seconds`).
    pub fn utc_offset(&self, usecs: i128) -> i32 {
        let ts = python_seconds(usecs);
        let (offset, fold) = self.at_utc(ts);
        // Bounded by MAX_OFFSET.
        self.at_local(ts + offset, fold) as i32
    }

    /// The offset at UTC second `ts` and whether the local time it gives is the
    /// second of two: C's `zoneinfo_fromutc`.
    fn at_utc(&self, ts: i64) -> (i64, bool) {
        let n = self.utc.len();
        if n > 0 && ts < self.utc[0] {
            return (self.before, false);
        }
        if n == 0 || ts > self.utc[n - 1] {
            let (offset, mut fold) = self.after.at_utc(ts, year_of(ts));
            // Right after the last transition the fold is against the type before
            // it, not against the rule's other offset.
            if n > 0 {
                let previous = if n == 1 {
                    self.before
                } else {
                    self.offsets[n - 2]
                };
                let shift = previous - offset;
                fold |= shift > 0 && ts < self.utc[n - 1] + shift;
            }
            return (offset, fold);
        }
        // ts >= utc[0], so the search returns at least 1.
        let i = self.utc.bisect_right(ts);
        let (previous, offset) = if i >= 2 {
            (self.offsets[i - 2], self.offsets[i - 1])
        } else {
            (self.before, self.offsets[0])
        };
        (offset, previous - offset > ts - self.utc[i - 1])
    }

    /// The offset at local wall-clock second `ts`: C's `find_ttinfo`.
    fn at_local(&self, ts: i64, fold: bool) -> i64 {
        let wall = &self.wall[usize::from(fold)];
        let n = wall.len();
        if n > 0 && ts < wall[0] {
            self.before
        } else if n == 0 || ts > wall[n - 1] {
            self.after.at_local(ts, fold, year_of(ts))
        } else {
            self.offsets[wall.bisect_right(ts) - 1]
        }
    }
}

/// The data block zoneinfo reads (a v1 file's, else the 64-bit one) and the footer,
/// as raw bytes whose lengths the header gave and the file holds.
struct Block<'a> {
    time_size: usize,
    times: &'a [u8],
    indices: &'a [u8],
    types: &'a [u8],
    /// The TZ string; None in a version 1 file.
    footer: Option<&'a [u8]>,
}

impl<'a> Block<'a> {
    fn read(data: &'a [u8]) -> Result<Self, TzifError> {
        let mut file = Reader { data, at: 0 };
        let mut header = Header::read(&mut file)?;
        // Version 1 has 32-bit times only; 2+ repeat the data with 64-bit times.
        let time_size = if header.version == 1 { 4 } else { 8 };
        if header.version != 1 {
            file.take(header.v1_data_len()?)?;
            header = Header::read(&mut file)?;
        }
        let times = file.take_n(header.timecnt, time_size)?;
        let indices = file.take(header.timecnt)?;
        let types = file.take_n(header.typecnt, 6)?;
        file.take(header.charcnt)?;
        // zoneinfo looks for a footer by the second header's version.
        let footer = if header.version >= 2 {
            file.take(header.v2_tail_len()?)?;
            Some(file.footer()?)
        } else {
            None
        };
        Ok(Self {
            time_size,
            times,
            indices,
            types,
            footer,
        })
    }

    /// (UTC offset, is DST) of each local time type (its abbreviation is not needed).
    fn types(&self) -> Result<Vec<(i64, bool)>, TzifError> {
        let types: Vec<(i64, bool)> = self
            .types
            .chunks_exact(6)
            .map(|record| {
                let offset = i32::from_be_bytes(fixed::<4>(record, 0));
                (i64::from(offset), record[4] != 0)
            })
            .collect();
        if types.iter().all(|&(offset, _)| offset_in_range(offset)) {
            Ok(types)
        } else {
            Err(TzifError::OffsetOutOfRange)
        }
    }

    /// Transition times, UTC seconds, in file order.
    fn transitions(&self) -> Result<Vec<i64>, TzifError> {
        let utc: Vec<i64> = self
            .times
            .chunks_exact(self.time_size)
            .map(|bytes| match bytes.len() {
                4 => i64::from(i32::from_be_bytes(fixed::<4>(bytes, 0))),
                _ => i64::from_be_bytes(fixed::<8>(bytes, 0)),
            })
            .collect();
        if utc.iter().all(|t| t.unsigned_abs() <= MAX_TRANSITION) {
            Ok(utc)
        } else {
            Err(TzifError::TransitionOutOfRange)
        }
    }

    /// The type of each transition, each below `types`.
    fn indices(&self, types: usize) -> Result<Vec<usize>, TzifError> {
        self.indices
            .iter()
            .map(|&i| (usize::from(i) < types).then_some(usize::from(i)))
            .collect::<Option<Vec<_>>>()
            .ok_or(TzifError::BadTypeIndex)
    }
}

fn offset_in_range(offset: i64) -> bool {
    offset.abs() <= MAX_OFFSET
}

/// A TZif header: the version, and the counts that size the data block after it.
struct Header {
    version: u8,
    isutcnt: usize,
    isstdcnt: usize,
    leapcnt: usize,
    timecnt: usize,
    typecnt: usize,
    charcnt: usize,
}

impl Header {
    fn read(file: &mut Reader<'_>) -> Result<Self, TzifError> {
        if file.take(4)? != b"TZif" {
            return Err(TzifError::BadMagic);
        }
        // zoneinfo: NUL is version 1, else the byte's digit ('0' would be read
        // as a version with neither layout's rules, so it is refused).
        let version = match file.take(1)?[0] {
            0 => 1,
            v @ b'1'..=b'9' => v - b'0',
            v => return Err(TzifError::BadVersion(v)),
        };
        file.take(15)?;
        let mut counts = [0usize; 6];
        for count in &mut counts {
            let value = i32::from_be_bytes(fixed::<4>(file.take(4)?, 0));
            *count = usize::try_from(value).map_err(|_| TzifError::NegativeCount)?;
        }
        let [isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt] = counts;
        Ok(Self {
            version,
            isutcnt,
            isstdcnt,
            leapcnt,
            timecnt,
            typecnt,
            charcnt,
        })
    }

    /// Bytes of a version 1 data block (32-bit times, 8-byte leap records).
    fn v1_data_len(&self) -> Result<usize, TzifError> {
        checked_sum(&[
            self.timecnt.checked_mul(5),
            self.typecnt.checked_mul(6),
            Some(self.charcnt),
            self.leapcnt.checked_mul(8),
            Some(self.isstdcnt),
            Some(self.isutcnt),
        ])
    }

    /// Bytes between the abbreviations and the footer of a v2+ block (12-byte leap
    /// records, then the indicators).
    fn v2_tail_len(&self) -> Result<usize, TzifError> {
        checked_sum(&[
            self.leapcnt.checked_mul(12),
            Some(self.isstdcnt),
            Some(self.isutcnt),
        ])
    }
}

/// A sum of byte counts, any of which may have overflowed already (None).
fn checked_sum(parts: &[Option<usize>]) -> Result<usize, TzifError> {
    parts
        .iter()
        .try_fold(0usize, |sum, &n| sum.checked_add(n?))
        .ok_or(TzifError::Truncated)
}

/// A bounds-checked cursor over the file.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// `count` records of `size` bytes.
    fn take_n(&mut self, count: usize, size: usize) -> Result<&'a [u8], TzifError> {
        self.take(count.checked_mul(size).ok_or(TzifError::Truncated)?)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], TzifError> {
        let end = self.at.checked_add(n).ok_or(TzifError::Truncated)?;
        let bytes = self.data.get(self.at..end).ok_or(TzifError::Truncated)?;
        self.at = end;
        Ok(bytes)
    }

    /// The footer's TZ string, between two newlines.
    fn footer(&mut self) -> Result<&'a [u8], TzifError> {
        if self.take(1)? != b"\n" {
            return Err(TzifError::BadFooter);
        }
        let rest = &self.data[self.at..];
        let len = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(TzifError::BadFooter)?;
        self.take(len + 1).map(|line| &line[..len])
    }
}

/// The rule after the last transition: the footer's TZ string (the C string up to
/// any NUL, as zoneinfo's C parser sees it), or without one the last transition's
/// type (the last type if there are no transitions), as a fixed offset.
fn after_rule(
    footer: Option<&[u8]>,
    types: &[(i64, bool)],
    indices: &[usize],
) -> Result<Rule, TzifError> {
    if let Some(tz) = footer.filter(|tz| !tz.is_empty()) {
        let tz = tz.split(|&b| b == 0).next().unwrap_or_default();
        return Rule::parse(tz).map_err(TzifError::Rule);
    }
    let last = indices.last().copied().or(types.len().checked_sub(1));
    last.map(|i| Rule::Fixed(types[i].0))
        .ok_or(TzifError::NoTypes)
}

/// Each transition in local wall-clock time at the larger (fold 0) and the smaller
/// (fold 1) of the offsets either side of it; before the first, C takes the first
/// type's offset, whatever `before` is.
fn wall_times(utc: &[i64], offsets: &[i64], types: &[(i64, bool)]) -> [Vec<i64>; 2] {
    let mut wall = [Vec::with_capacity(utc.len()), Vec::with_capacity(utc.len())];
    for (i, &t) in utc.iter().enumerate() {
        let previous = match i {
            0 if types.len() > 1 => types[0].0,
            0 => offsets[0],
            _ => offsets[i - 1],
        };
        wall[0].push(t + previous.max(offsets[i]));
        wall[1].push(t + previous.min(offsets[i]));
    }
    wall
}

/// Transition times, searched as C's `_bisect` (bisect_right) searches them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Times {
    values: Vec<i64>,
    sorted: bool,
}

impl Times {
    fn new(values: Vec<i64>) -> Self {
        let sorted = values.is_sorted();
        Self { values, sorted }
    }

    /// How many times come before the first one past `value`. In sorted times that
    /// place is unique, so the standard library's branch-free search finds it fast;
    /// times out of order (a hostile file, or crowded transitions in wall-clock
    /// time) are probed as C probes them, where any other search could land
    /// elsewhere.
    fn bisect_right(&self, value: i64) -> usize {
        if self.sorted {
            return self.values.partition_point(|&t| t <= value);
        }
        let (mut lo, mut hi) = (0, self.values.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.values[mid] > value {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        hi
    }
}

impl std::ops::Deref for Times {
    type Target = [i64];

    fn deref(&self) -> &[i64] {
        &self.values
    }
}

/// The instant as the reference looks it up: moved by whole 400-year cycles into
/// Python's years, in whole seconds (a datetime's fields floor the microseconds).
fn python_seconds(usecs: i128) -> i64 {
    let shifted = if usecs < MIN_LOOKUP {
        usecs - (usecs - MIN_LOOKUP).div_euclid(CYCLE_USECS) * CYCLE_USECS
    } else if usecs > MAX_LOOKUP {
        usecs + (MAX_LOOKUP - usecs).div_euclid(CYCLE_USECS) * CYCLE_USECS
    } else {
        usecs
    };
    // Within years 1..=9999 now: an i64, whose division is far cheaper.
    (shifted as i64).div_euclid(USECS_PER_SEC as i64)
}

/// The proleptic Gregorian year of a second since 1970 (a datetime's `year`).
fn year_of(ts: i64) -> i64 {
    civil_from_days(ts.div_euclid(86_400)).0
}

#[cfg(test)]
#[path = "tzif_tests.rs"]
mod tests;
