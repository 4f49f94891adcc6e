//! TZif reading and offset lookup. Python's zoneinfo is the reference (compared in
//! tests/test_rust_rows.py over every zone of the tz database); these pin down the
//! file layout, the lookup's edges, and that hostile files are refused, not obeyed.

use super::*;

const HOUR: i64 = 3600;
const USECS: i128 = 1_000_000;

/// A TZif file: each transition's UTC second and type; each type's offset and
/// is-DST; the footer's TZ string (None: a version 1 file).
struct Tzif<'a> {
    transitions: &'a [(i64, u8)],
    types: &'a [(i32, bool)],
    footer: Option<&'a [u8]>,
    /// Extra leap-second records and indicators, which must be skipped.
    leaps: usize,
}

impl Tzif<'_> {
    fn bytes(&self) -> Vec<u8> {
        let Some(footer) = self.footer else {
            return self.block(b'\0', 4);
        };
        let mut out = self.block(b'2', 4);
        out.extend(self.block(b'2', 8));
        out.push(b'\n');
        out.extend_from_slice(footer);
        out.push(b'\n');
        out
    }

    fn block(&self, version: u8, time_size: usize) -> Vec<u8> {
        let mut out = b"TZif".to_vec();
        out.push(version);
        out.extend([0; 15]);
        let counts = [
            self.leaps,
            self.leaps,
            self.leaps,
            self.transitions.len(),
            self.types.len(),
            4,
        ];
        for count in counts {
            out.extend((count as i32).to_be_bytes());
        }
        for &(t, _) in self.transitions {
            if time_size == 4 {
                out.extend((t as i32).to_be_bytes());
            } else {
                out.extend(t.to_be_bytes());
            }
        }
        out.extend(self.transitions.iter().map(|&(_, i)| i));
        for &(offset, dst) in self.types {
            out.extend(offset.to_be_bytes());
            out.extend([u8::from(dst), 0]);
        }
        out.extend(b"LMT\0");
        // Leap records (time and correction), then both indicator arrays.
        out.extend(vec![0x55; self.leaps * (time_size + 4) + 2 * self.leaps]);
        out
    }
}

/// New York from 2007 as zic writes it: LMT, two transitions, then the rule.
fn new_york() -> Vec<u8> {
    Tzif {
        transitions: &[(-2_717_650_800, 2), (1_173_596_400, 1), (1_194_156_000, 2)],
        types: &[(-17_762, false), (-14_400, true), (-18_000, false)],
        footer: Some(b"EST5EDT,M3.2.0,M11.1.0"),
        leaps: 2,
    }
    .bytes()
}

fn offset(zone: &Zone, ts: i64) -> i64 {
    i64::from(zone.utc_offset(i128::from(ts) * USECS))
}

/// Seconds since 1970 of a UTC date and hour.
fn utc(year: i64, month: i64, day: i64, hour: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * 86_400 + hour * HOUR
}

#[test]
fn transitions_then_the_rule() {
    let zone = Zone::from_tzif(&new_york()).unwrap();
    let first = -2_717_650_800;
    assert_eq!(offset(&zone, first - 1), -17_762); // local mean time
    assert_eq!(offset(&zone, first), -18_000);
    assert_eq!(offset(&zone, 1_173_596_400 - 1), -18_000);
    assert_eq!(offset(&zone, 1_173_596_400), -14_400);
    assert_eq!(offset(&zone, 1_194_156_000), -18_000);
    // After the last transition: the footer's rule, at its switches.
    let spring = utc(2024, 3, 10, 7);
    let autumn = utc(2024, 11, 3, 6);
    assert_eq!(offset(&zone, spring - 1), -18_000);
    assert_eq!(offset(&zone, spring), -14_400);
    assert_eq!(offset(&zone, autumn - 1), -14_400);
    assert_eq!(offset(&zone, autumn), -18_000);
    // Sub-second instants take the second they are in.
    assert_eq!(zone.utc_offset(i128::from(spring) * USECS - 1), -18_000);
    assert_eq!(
        zone.utc_offset(i128::from(spring) * USECS + 999_999),
        -14_400
    );
}

#[test]
fn outside_pythons_years_whole_cycles_apply() {
    let zone = Zone::from_tzif(&new_york()).unwrap();
    let cycle = 146_097 * 86_400;
    // Year 10000 and later: the rule, 400 years earlier.
    for k in [1, 2, 1000, 700_000] {
        let spring = utc(2024, 3, 10, 7) + k * cycle;
        assert_eq!(offset(&zone, spring - 1), -18_000, "{k}");
        assert_eq!(offset(&zone, spring), -14_400, "{k}");
    }
    // Before year 2: the local mean time of the first cycle.
    assert_eq!(offset(&zone, utc(1, 6, 1, 0)), -17_762);
    assert_eq!(offset(&zone, utc(-290_308, 1, 1, 0)), -17_762);
    // The ends of an int64 of seconds, in microseconds.
    assert_eq!(zone.utc_offset(i128::from(i64::MIN) * USECS), -17_762);
    assert!([-14_400, -18_000].contains(&zone.utc_offset(i128::from(i64::MAX) * USECS)));
}

#[test]
fn folds_after_the_last_transition() {
    // The last transition lowers the offset by 2 h onto a fixed rule. The rule
    // alone sees no fold, but the two hours after the transition repeat local
    // times, and without fold 1 their lookup would land before the transition.
    let zone = Zone::from_tzif(
        &Tzif {
            transitions: &[(0, 1), (1000 * HOUR, 0)],
            types: &[(0, false), (2 * HOUR as i32, true)],
            footer: Some(b"<+00>0"),
            leaps: 0,
        }
        .bytes(),
    )
    .unwrap();
    assert_eq!(offset(&zone, 1000 * HOUR - 1), 2 * HOUR);
    assert_eq!(offset(&zone, 1000 * HOUR), 0);
    assert_eq!(offset(&zone, 1001 * HOUR), 0);
    assert_eq!(offset(&zone, 1002 * HOUR), 0);
    assert_eq!(offset(&zone, -1), 0);
}

#[test]
fn version_1_and_footerless_files() {
    // Version 1: 32-bit times, no footer; after the last transition, its type.
    let v1 = Tzif {
        transitions: &[(-1_000_000, 1), (1_000_000, 0)],
        types: &[(3600, false), (7200, true)],
        footer: None,
        leaps: 1,
    };
    let zone = Zone::from_tzif(&v1.bytes()).unwrap();
    assert_eq!(offset(&zone, -1_000_001), 3600);
    assert_eq!(offset(&zone, 0), 7200);
    assert_eq!(offset(&zone, 2_000_000_000_000), 3600);
    // An empty footer is no footer.
    let empty = Tzif {
        footer: Some(b""),
        ..v1
    };
    assert_eq!(Zone::from_tzif(&empty.bytes()).unwrap(), zone);
    // No transitions: the last type for good.
    let types_only = Tzif {
        transitions: &[],
        types: &[(3600, false), (-7200, true)],
        footer: None,
        leaps: 0,
    };
    let zone = Zone::from_tzif(&types_only.bytes()).unwrap();
    assert_eq!(offset(&zone, 0), -7200);
    // A footer alone is enough; nothing at all is not.
    let footer_only = Tzif {
        transitions: &[],
        types: &[],
        footer: Some(b"<+0545>-5:45"),
        leaps: 0,
    };
    let zone = Zone::from_tzif(&footer_only.bytes()).unwrap();
    assert_eq!(offset(&zone, 0), 20_700);
    let nothing = Tzif {
        footer: Some(b""),
        ..footer_only
    };
    assert_eq!(Zone::from_tzif(&nothing.bytes()), Err(TzifError::NoTypes));
}

#[test]
fn version_3_rules() {
    // America/Nuuk: switches at -01:00 and 00:00 local time.
    let zone = Zone::from_tzif(
        &Tzif {
            transitions: &[(0, 0)],
            types: &[(-7200, false)],
            footer: Some(b"<-02>2<-01>,M3.5.0/-1,M10.5.0/0"),
            leaps: 0,
        }
        .bytes(),
    )
    .unwrap();
    // 2024-03-30 (Saturday) 23:00 local, -02: 2024-03-31 01:00 UTC.
    let spring = utc(2024, 3, 31, 1);
    assert_eq!(offset(&zone, spring - 1), -7200);
    assert_eq!(offset(&zone, spring), -3600);
}

#[test]
fn refuses_malformed_files() {
    let good = new_york();
    // Every truncation is an error, never a panic.
    for len in 0..good.len() {
        assert!(Zone::from_tzif(&good[..len]).is_err(), "{len}");
    }
    let with = |at: usize, bytes: &[u8]| {
        let mut file = good.clone();
        file[at..at + bytes.len()].copy_from_slice(bytes);
        Zone::from_tzif(&file)
    };
    assert_eq!(with(0, b"TZiF"), Err(TzifError::BadMagic));
    assert_eq!(with(4, b"0"), Err(TzifError::BadVersion(b'0')));
    assert_eq!(with(4, b" "), Err(TzifError::BadVersion(b' ')));
    assert_eq!(
        with(20, &(-1i32).to_be_bytes()),
        Err(TzifError::NegativeCount)
    );
    // Counts far beyond the file: refused before any allocation.
    assert_eq!(with(32, &i32::MAX.to_be_bytes()), Err(TzifError::Truncated));
    let v2 = second_header(&good);
    assert_eq!(
        with(v2 + 32, &i32::MAX.to_be_bytes()),
        Err(TzifError::Truncated)
    );
    assert_eq!(
        with(v2 + 36, &i32::MAX.to_be_bytes()),
        Err(TzifError::Truncated)
    );
    assert_eq!(
        with(v2 + 28, &i32::MAX.to_be_bytes()),
        Err(TzifError::Truncated)
    );
    // A type index past the types (zoneinfo's C takes one past the end).
    let indices = v2 + 44 + 3 * 8;
    assert_eq!(with(indices + 2, &[3]), Err(TzifError::BadTypeIndex));
    assert_eq!(with(indices + 2, &[255]), Err(TzifError::BadTypeIndex));
    // Offsets of a day or more, transitions near the ends of an i64.
    let types = indices + 3;
    assert_eq!(
        with(types, &86_400i32.to_be_bytes()),
        Err(TzifError::OffsetOutOfRange)
    );
    assert_eq!(
        with(types, &(-86_400i32).to_be_bytes()),
        Err(TzifError::OffsetOutOfRange)
    );
    assert!(with(types, &(-86_399i32).to_be_bytes()).is_ok());
    let footer_at = good.len() - b"EST5EDT,M3.2.0,M11.1.0\n".len();
    let mut day = good[..footer_at].to_vec();
    day.extend(b"A-24\n");
    assert_eq!(Zone::from_tzif(&day), Err(TzifError::OffsetOutOfRange));
    assert_eq!(
        with(v2 + 44, &i64::MIN.to_be_bytes()),
        Err(TzifError::TransitionOutOfRange)
    );
    // The footer: newline-delimited, a valid rule; C stops reading it at a NUL.
    let footer = good.len() - b"EST5EDT,M3.2.0,M11.1.0\n".len();
    assert_eq!(with(footer - 1, b"x"), Err(TzifError::BadFooter));
    assert_eq!(with(good.len() - 1, b"x"), Err(TzifError::BadFooter));
    assert_eq!(
        with(footer + 3, b","),
        Err(TzifError::Rule(RuleError::StdOffset))
    );
    let cut = with(footer + 4, b"\0").unwrap();
    assert_eq!(offset(&cut, utc(2024, 7, 1, 0)), -18_000);
    assert_eq!(
        with(footer, b"\0"),
        Err(TzifError::Rule(RuleError::StdFormat))
    );
    let mut long = good.clone();
    long.resize(MAX_TZIF_LEN + 1, 0);
    assert_eq!(Zone::from_tzif(&long), Err(TzifError::TooLong));
    // Trailing bytes after the footer are ignored, as zoneinfo does.
    let mut trailing = good.clone();
    trailing.extend(b"junk");
    assert!(Zone::from_tzif(&trailing).is_ok());
}

/// Where a v2 file's second header starts.
fn second_header(file: &[u8]) -> usize {
    let v1 = Header::read(&mut Reader { data: file, at: 0 }).unwrap();
    44 + v1.v1_data_len().unwrap()
}

#[test]
fn mutated_files_never_panic() {
    // A xorshift stream: deterministic, no dependency.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let good = new_york();
    let mut parsed = 0;
    for _ in 0..20_000 {
        let mut file = good.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() as usize) % file.len();
            file[at] = next() as u8;
        }
        if let Ok(zone) = Zone::from_tzif(&file) {
            parsed += 1;
            for ts in [i64::MIN, -1 << 40, 0, 1 << 40, i64::MAX] {
                let east = zone.utc_offset(i128::from(ts) * USECS);
                assert!(i64::from(east).abs() <= MAX_OFFSET);
            }
        }
    }
    assert!(parsed > 1000, "{parsed}");
}
