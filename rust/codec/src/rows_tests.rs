//! Unit tests of `rows` (DataRow assembly and the native kinds).

use super::*;
use crate::array::{ListColumn, ListOffsets};

fn text(value: i64) -> String {
    let mut buf = [0u8; 20];
    String::from_utf8(format_i64(value, &mut buf).to_vec()).unwrap()
}

#[test]
fn formats_integers_like_int8out() {
    for v in [
        0,
        1,
        -1,
        9,
        10,
        -10,
        12345,
        i64::MAX,
        i64::MIN,
        i64::from(i32::MIN),
    ] {
        assert_eq!(text(v), v.to_string());
    }
}

#[test]
fn reads_signed_and_unsigned_little_endian() {
    assert_eq!(read_int(&[0xff], true), -1);
    assert_eq!(read_int(&[0xff], false), 255);
    assert_eq!(read_int(&[0x00, 0x80], true), -32768);
    assert_eq!(read_int(&[0xff, 0xff, 0xff, 0xff], false), 4_294_967_295);
    assert_eq!(read_int(&i64::MIN.to_le_bytes(), true), i64::MIN);
}

#[test]
fn assembles_encoded_values_and_nulls() {
    let col = Column::Encoded(vec![Some(&b"ab"[..]), None]);
    let out = encode_data_rows(&[col], 2).unwrap();
    let mut expected = Vec::new();
    expected.extend_from_slice(b"D\0\0\0\x0c\0\x01\0\0\0\x02ab");
    expected.extend_from_slice(b"D\0\0\0\x0a\0\x01\xff\xff\xff\xff");
    assert_eq!(out, expected);
}

#[test]
fn zero_columns_still_make_rows() {
    let out = encode_data_rows(&[], 2).unwrap();
    assert_eq!(out, b"D\0\0\0\x06\0\0D\0\0\0\x06\0\0");
}

#[test]
fn integers_text_and_announced_width_binary() {
    let data: Vec<u8> = [-5i16, 300].iter().flat_map(|v| v.to_le_bytes()).collect();
    let values = Values::Int {
        data: &data,
        width: 2,
        signed: true,
    };
    let text_col = NativeColumn::new(Kind::Int2, false, values, None, 0, 2).unwrap();
    let bin_col = NativeColumn::new(Kind::Int2, true, values, None, 1, 1).unwrap();
    let out = encode_data_rows(&[Column::Native(text_col)], 2).unwrap();
    assert_eq!(
        out,
        b"D\0\0\0\x0c\0\x01\0\0\0\x02-5D\0\0\0\x0d\0\x01\0\0\0\x03300"
    );
    let out = encode_data_rows(&[Column::Native(bin_col)], 1).unwrap();
    assert_eq!(out, b"D\0\0\0\x0c\0\x01\0\0\0\x02\x01\x2c");
    // uint8 255 announced as int2 is two bytes; uint32 max as int8 is eight.
    let values = Values::Int {
        data: &[0xff],
        width: 1,
        signed: false,
    };
    let col = NativeColumn::new(Kind::Int2, true, values, None, 0, 1).unwrap();
    assert_eq!(
        &encode_data_rows(&[Column::Native(col)], 1).unwrap()[11..],
        b"\0\xff"
    );
    let values = Values::Int {
        data: &[0xff; 4],
        width: 4,
        signed: false,
    };
    let col = NativeColumn::new(Kind::Int8, true, values, None, 0, 1).unwrap();
    let out = encode_data_rows(&[Column::Native(col)], 1).unwrap();
    assert_eq!(&out[11..], b"\0\0\0\0\xff\xff\xff\xff");
}

#[test]
fn unsigned_needs_a_wider_kind() {
    let values = Values::Int {
        data: &[0; 4],
        width: 4,
        signed: false,
    };
    let err = NativeColumn::new(Kind::Int4, false, values, None, 0, 1).unwrap_err();
    assert_eq!(err, RowsError::KindMismatch(Kind::Int4));
}

#[test]
fn bools_with_validity_and_offset() {
    // values 1,0,1 ; validity: row 1 null; sliced from element 1.
    let bits = [0b101u8];
    let validity = [0b101u8];
    let values = Values::Bool { bits: &bits };
    let col = NativeColumn::new(Kind::Bool, false, values, Some(&validity), 1, 2).unwrap();
    let out = encode_data_rows(&[Column::Native(col)], 2).unwrap();
    assert_eq!(
        out,
        b"D\0\0\0\x0a\0\x01\xff\xff\xff\xffD\0\0\0\x0b\0\x01\0\0\0\x01t"
    );
}

#[test]
fn strings_and_bad_offsets() {
    let offsets: Vec<u8> = [0i32, 0, 3].iter().flat_map(|v| v.to_le_bytes()).collect();
    let values = Values::Utf8 {
        offsets: &offsets,
        data: "héj".as_bytes(),
        large: false,
    };
    let col = NativeColumn::new(Kind::Text, true, values, None, 0, 2).unwrap();
    let out = encode_data_rows(&[Column::Native(col)], 2).unwrap();
    assert_eq!(
        out,
        "D\0\0\0\x0a\0\x01\0\0\0\0D\0\0\0\x0d\0\x01\0\0\0\x03hé".as_bytes()
    );
    let values = Values::Utf8 {
        offsets: &offsets,
        data: b"ab",
        large: false,
    };
    let col = NativeColumn::new(Kind::Text, true, values, None, 0, 2).unwrap();
    let err = encode_data_rows(&[Column::Native(col)], 2).unwrap_err();
    assert_eq!(err, RowsError::BadOffsets);
}

#[test]
fn short_buffers_and_lengths_are_errors() {
    let values = Values::Int {
        data: &[0; 7],
        width: 8,
        signed: true,
    };
    let err = NativeColumn::new(Kind::Int8, false, values, None, 0, 1).unwrap_err();
    assert_eq!(err, RowsError::BufferTooShort);
    let err = encode_data_rows(&[Column::Encoded(vec![None])], 2).unwrap_err();
    assert_eq!(
        err,
        RowsError::LengthMismatch {
            column: 0,
            len: 1,
            rows: 2
        }
    );
}

/// The values of a one-column batch: each DataRow's single value, None for NULL.
fn cells(col: NativeColumn<'_>, rows: usize) -> Vec<Option<Vec<u8>>> {
    column_cells(Column::Native(col), rows)
}

/// The values of a batch of one column of any form (also used by `json_tests`).
pub(crate) fn column_cells(col: Column<'_>, rows: usize) -> Vec<Option<Vec<u8>>> {
    let out = encode_data_rows(&[col], rows).unwrap();
    let mut cells = Vec::new();
    let mut at = 0;
    while at < out.len() {
        let len = i32::from_be_bytes(out[at + 7..at + 11].try_into().unwrap());
        cells.push((len >= 0).then(|| out[at + 11..at + 11 + len as usize].to_vec()));
        at += 1 + u32::from_be_bytes(out[at + 1..at + 5].try_into().unwrap()) as usize;
    }
    cells
}

fn some(text: &str) -> Option<Vec<u8>> {
    Some(text.as_bytes().to_vec())
}

#[test]
fn floats_text_and_binary() {
    let nan = f64::from_bits(0xfff8_0000_0000_0001);
    let data: Vec<u8> = [1.5, -0.0, nan, f64::NEG_INFINITY, 1e-7]
        .iter()
        .flat_map(|v: &f64| v.to_le_bytes())
        .collect();
    let values = Values::Float {
        data: &data,
        double: true,
    };
    let validity = [0b1_1101u8]; // row 1 (-0.0) is NULL
    let col = NativeColumn::new(Kind::Float8, false, values, None, 0, 5).unwrap();
    let expected = ["1.5", "-0", "NaN", "-Infinity", "1e-07"].map(some);
    assert_eq!(cells(col, 5), expected);
    let col = NativeColumn::new(Kind::Float8, true, values, Some(&validity), 1, 2).unwrap();
    assert_eq!(
        cells(col, 2),
        [None, Some(0x7ff8_0000_0000_0000u64.to_be_bytes().to_vec())]
    );
    let data: Vec<u8> = [f32::from_bits(0xffc0_0001), 0.1f32]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let values = Values::Float {
        data: &data,
        double: false,
    };
    let col = NativeColumn::new(Kind::Float4, true, values, None, 0, 2).unwrap();
    let expected = [0x7fc0_0000u32, 0.1f32.to_bits()].map(|b| Some(b.to_be_bytes().to_vec()));
    assert_eq!(cells(col, 2), expected);
    let col = NativeColumn::new(Kind::Float4, false, values, None, 1, 1).unwrap();
    assert_eq!(cells(col, 1), [some("0.1")]);
    let err = NativeColumn::new(Kind::Float8, false, values, None, 0, 1).unwrap_err();
    assert_eq!(err, RowsError::KindMismatch(Kind::Float8));
}

#[test]
fn bytea_and_uuid() {
    let offsets: Vec<u8> = [0i64, 0, 2, 18]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let data = b"\x00\xffthe 17 byte tail";
    let values = Values::Binary {
        offsets: &offsets,
        data,
        large: true,
    };
    let col = NativeColumn::new(Kind::Bytea, false, values, None, 0, 3).unwrap();
    let expected = ["\\x", "\\x00ff", "\\x7468652031372062797465207461696c"].map(some);
    assert_eq!(cells(col, 3), expected);
    let col = NativeColumn::new(Kind::Bytea, true, values, None, 1, 2).unwrap();
    assert_eq!(
        cells(col, 2),
        [Some(b"\x00\xff".to_vec()), Some(data[2..].to_vec())]
    );
    let uuid: Vec<u8> = (0u8..32).collect();
    let values = Values::FixedBinary {
        data: &uuid,
        width: 16,
    };
    let col = NativeColumn::new(Kind::Uuid, false, values, None, 1, 1).unwrap();
    assert_eq!(
        cells(col, 1),
        [some("10111213-1415-1617-1819-1a1b1c1d1e1f")]
    );
    let col = NativeColumn::new(Kind::Uuid, true, values, None, 0, 1).unwrap();
    assert_eq!(cells(col, 1), [Some(uuid[..16].to_vec())]);
    let col = NativeColumn::new(Kind::Bytea, false, values, None, 1, 1).unwrap();
    assert_eq!(cells(col, 1), [some("\\x101112131415161718191a1b1c1d1e1f")]);
    let values = Values::FixedBinary {
        data: &uuid,
        width: 8,
    };
    let err = NativeColumn::new(Kind::Uuid, false, values, None, 0, 1).unwrap_err();
    assert_eq!(err, RowsError::KindMismatch(Kind::Uuid));
    let err = NativeColumn::new(Kind::Bytea, false, values, None, 0, 5).unwrap_err();
    assert_eq!(err, RowsError::BufferTooShort);
}

#[test]
fn strings_short_long_and_at_the_end_of_data() {
    // The fixed-size copy of short strings must not read past a string's end.
    let texts = ["a", "exactly sixteen!", "seventeen bytes!!", "", "tail"];
    let mut offsets = vec![0i32];
    let mut data = Vec::new();
    for text in texts {
        data.extend_from_slice(text.as_bytes());
        offsets.push(data.len() as i32);
    }
    let offsets: Vec<u8> = offsets.iter().flat_map(|v| v.to_le_bytes()).collect();
    let values = Values::Utf8 {
        offsets: &offsets,
        data: &data,
        large: false,
    };
    let col = NativeColumn::new(Kind::Json, true, values, None, 0, 5).unwrap();
    assert_eq!(cells(col, 5), texts.map(some));
}

#[test]
fn dates_and_timestamps() {
    let days: Vec<u8> = [0i32, i32::MAX, -719_163]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let values = Values::Date32 { data: &days };
    let col = NativeColumn::new(Kind::Date, false, values, None, 0, 3).unwrap();
    assert_eq!(
        cells(col, 3),
        ["1970-01-01", "infinity", "0001-12-31 BC"].map(some)
    );
    let col = NativeColumn::new(Kind::Date, true, values, None, 0, 2).unwrap();
    let expected = [-10_957i32, i32::MAX].map(|d| Some(d.to_be_bytes().to_vec()));
    assert_eq!(cells(col, 2), expected);
    let data: Vec<u8> = [1_500i64, -i64::MAX]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let at = |tz| Values::Timestamp {
        data: &data,
        unit: TimeUnit::Milli,
        tz,
    };
    let col = NativeColumn::new(Kind::Timestamp, false, at(Tz::Naive), None, 0, 2).unwrap();
    assert_eq!(
        cells(col, 2),
        ["1970-01-01 00:00:01.5", "-infinity"].map(some)
    );
    let col = NativeColumn::new(Kind::Timestamptz, false, at(Tz::Fixed(-9000)), None, 0, 1);
    assert_eq!(
        cells(col.unwrap(), 1),
        [some("1969-12-31 21:30:01.5-02:30")]
    );
    let col = NativeColumn::new(Kind::Timestamptz, true, at(Tz::Other), None, 0, 2).unwrap();
    let expected = [1_500_000 - 946_684_800_000_000i64, i64::MIN];
    assert_eq!(
        cells(col, 2),
        expected.map(|v| Some(v.to_be_bytes().to_vec()))
    );
    // A named zone without its offsets has no native text form; naive is not
    // tz-aware; a named zone is not naive.
    let zone = crate::tzif::Zone::from_tzif(&footer_only_tzif(b"EST5EDT,M3.2.0,M11.1.0")).unwrap();
    for (kind, tz) in [
        (Kind::Timestamptz, Tz::Other),
        (Kind::Timestamptz, Tz::Naive),
        (Kind::Timestamp, Tz::Fixed(0)),
        (Kind::Timestamp, Tz::Zone(&zone)),
    ] {
        let err = NativeColumn::new(kind, false, at(tz), None, 0, 1).unwrap_err();
        assert_eq!(err, RowsError::KindMismatch(kind));
    }
}

/// A version 2 TZif file with no transitions or types, only its footer's rule.
fn footer_only_tzif(rule: &[u8]) -> Vec<u8> {
    let header = [&b"TZif2"[..], &[0; 39]].concat();
    [&header[..], &header, b"\n", rule, b"\n"].concat()
}

#[test]
fn timestamps_in_a_named_zone() {
    let zone = crate::tzif::Zone::from_tzif(&footer_only_tzif(b"EST5EDT,M3.2.0,M11.1.0")).unwrap();
    // 2024-01-01 and 2024-07-01 12:00 UTC, in seconds; DuckDB's infinity.
    let data = le_bytes(
        &[1_704_110_400i64, 1_719_835_200, i64::MAX],
        i64::to_le_bytes,
    );
    let values = Values::Timestamp {
        data: &data,
        unit: TimeUnit::Second,
        tz: Tz::Zone(&zone),
    };
    let col = NativeColumn::new(Kind::Timestamptz, false, values, None, 0, 3).unwrap();
    assert_eq!(
        cells(col, 3),
        [
            "2024-01-01 07:00:00-05",
            "2024-07-01 08:00:00-04",
            "infinity"
        ]
        .map(some)
    );
    // Binary is UTC, whatever the zone.
    let col = NativeColumn::new(Kind::Timestamptz, true, values, None, 1, 1).unwrap();
    let expected = (1_719_835_200i64 - 946_684_800) * 1_000_000;
    assert_eq!(cells(col, 1), [Some(expected.to_be_bytes().to_vec())]);
}

fn le_bytes<const N: usize, T: Copy>(values: &[T], to: fn(T) -> [u8; N]) -> Vec<u8> {
    values.iter().flat_map(|&v| to(v)).collect()
}

/// numeric_send's header words and base-10000 digits, big-endian.
fn numeric(words: &[i16]) -> Option<Vec<u8>> {
    Some(le_bytes(words, i16::to_be_bytes))
}

#[test]
fn decimals_and_wide_integers_as_numeric() {
    let data = le_bytes(&[150i128, -1, 0, i128::MIN], i128::to_le_bytes);
    let values = Values::Decimal128 {
        data: &data,
        scale: 2,
    };
    let col = NativeColumn::new(Kind::Numeric, false, values, None, 0, 4).unwrap();
    let expected = [
        "1.50",
        "-0.01",
        "0.00",
        "-1701411834604692317316873037158841057.28",
    ];
    assert_eq!(cells(col, 4), expected.map(some));
    let col = NativeColumn::new(Kind::Numeric, true, values, None, 0, 3).unwrap();
    assert_eq!(
        cells(col, 3),
        [
            numeric(&[2, 0, 0, 2, 1, 5000]),
            numeric(&[1, -1, 0x4000, 2, 100]),
            numeric(&[0, 0, 0, 2]),
        ]
    );
    // UBIGINT max does not fit an i64; UHUGEINT max does not fit an i128.
    let values = Values::Int {
        data: &[0xff; 8],
        width: 8,
        signed: false,
    };
    let col = NativeColumn::new(Kind::Numeric, false, values, None, 0, 1).unwrap();
    assert_eq!(cells(col, 1), [some("18446744073709551615")]);
    let values = Values::FixedBinary {
        data: &[0xff; 16],
        width: 16,
    };
    let col = NativeColumn::new(Kind::Uhugeint, false, values, None, 0, 1).unwrap();
    assert_eq!(cells(col, 1), [some(&u128::MAX.to_string())]);
    let col = NativeColumn::new(Kind::Hugeint, false, values, None, 0, 1).unwrap();
    assert_eq!(cells(col, 1), [some("-1")]);
    let col = NativeColumn::new(Kind::Hugeint, true, values, None, 0, 1).unwrap();
    assert_eq!(cells(col, 1), [numeric(&[1, 0, 0x4000, 0, 1])]);
    let err = NativeColumn::new(Kind::Numeric, false, values, None, 0, 1).unwrap_err();
    assert_eq!(err, RowsError::KindMismatch(Kind::Numeric));
}

#[test]
fn times_in_every_unit() {
    let micros = le_bytes(&[0i64, 86_399_999_999, 86_400_000_000], i64::to_le_bytes);
    let values = Values::Time {
        data: &micros,
        unit: TimeUnit::Micro,
    };
    let col = NativeColumn::new(Kind::Time, false, values, None, 0, 3).unwrap();
    let expected = ["00:00:00", "23:59:59.999999", "24:00:00"];
    assert_eq!(cells(col, 3), expected.map(some));
    let col = NativeColumn::new(Kind::Time, true, values, None, 1, 1).unwrap();
    assert_eq!(
        cells(col, 1),
        [Some(86_399_999_999i64.to_be_bytes().to_vec())]
    );
    let nanos = le_bytes(&[1_999i64, -1], i64::to_le_bytes);
    let values = Values::Time {
        data: &nanos,
        unit: TimeUnit::Nano,
    };
    let col = NativeColumn::new(Kind::Time, false, values, None, 0, 2).unwrap();
    assert_eq!(
        cells(col, 2),
        ["00:00:00.000001", "-1:59:59.999999"].map(some)
    );
    let seconds = le_bytes(&[3_723i32, 86_400], i32::to_le_bytes);
    let values = Values::Time {
        data: &seconds,
        unit: TimeUnit::Second,
    };
    let col = NativeColumn::new(Kind::Time, true, values, None, 0, 2).unwrap();
    let expected = [3_723_000_000i64, 86_400_000_000];
    assert_eq!(
        cells(col, 2),
        expected.map(|v| Some(v.to_be_bytes().to_vec()))
    );
    // time32 holds four bytes a value: three values need twelve.
    let err = NativeColumn::new(Kind::Time, true, values, None, 0, 3).unwrap_err();
    assert_eq!(err, RowsError::BufferTooShort);
}

fn month_day_nano(months: i32, days: i32, nanos: i64) -> Vec<u8> {
    [
        &months.to_le_bytes()[..],
        &days.to_le_bytes(),
        &nanos.to_le_bytes(),
    ]
    .concat()
}

#[test]
fn intervals_text_and_binary() {
    let data = [
        month_day_nano(14, -3, 14_706_789_000_999),
        month_day_nano(0, 0, -1_999),
        month_day_nano(0, 0, 0),
    ]
    .concat();
    let values = Values::Interval { data: &data };
    let col = NativeColumn::new(Kind::Interval, false, values, None, 0, 3).unwrap();
    let expected = [
        "1 year 2 mons -3 days +04:05:06.789",
        "-00:00:00.000001",
        "00:00:00",
    ];
    assert_eq!(cells(col, 3), expected.map(some));
    let col = NativeColumn::new(Kind::Interval, true, values, None, 0, 2).unwrap();
    let binary = |usecs: i64, days: i32, months: i32| {
        Some(
            [
                &usecs.to_be_bytes()[..],
                &days.to_be_bytes(),
                &months.to_be_bytes(),
            ]
            .concat(),
        )
    };
    assert_eq!(
        cells(col, 2),
        [binary(14_706_789_000, -3, 14), binary(-1, 0, 0)]
    );
}

/// A list<int32> column: [1, NULL], NULL, [], [-3], sliced from its second list.
#[test]
fn int_lists_text_and_binary() {
    let elements = le_bytes(&[9i32, 1, 0, -3], i32::to_le_bytes);
    let element_validity = [0b1011u8];
    let offsets = le_bytes(&[0i32, 1, 3, 3, 3, 4], i32::to_le_bytes);
    let validity = [0b11011u8];
    let list = |binary: bool| {
        let values = Values::Int {
            data: &elements,
            width: 4,
            signed: true,
        };
        let element =
            NativeColumn::new(Kind::Int4, binary, values, Some(&element_validity), 0, 4).unwrap();
        let offsets = ListOffsets::Variable {
            offsets: &offsets,
            large: false,
        };
        Column::List(ListColumn::new(offsets, Some(&validity), 1, 4, element).unwrap())
    };
    let expected = [some("{1,NULL}"), None, some("{}"), some("{-3}")];
    assert_eq!(column_cells(list(false), 4), expected);
    let header = |has_null: i32, len: i32| le_bytes(&[1, has_null, 23, len, 1], i32::to_be_bytes);
    let mut first = header(1, 2);
    first.extend(le_bytes(&[4, 1, -1], i32::to_be_bytes));
    let mut last = header(0, 1);
    last.extend(le_bytes(&[4, -3], i32::to_be_bytes));
    let empty = le_bytes(&[0, 0, 23], i32::to_be_bytes);
    assert_eq!(
        column_cells(list(true), 4),
        [Some(first), None, Some(empty), Some(last)]
    );
}

#[test]
fn text_lists_quote_like_array_out() {
    let texts = [
        "", "NuLL", "a b", "x\"y\\z", "{}", "a,b", "é", "plain", "\u{b}",
    ];
    let mut ends = vec![0i32];
    let mut data = Vec::new();
    for text in texts {
        data.extend_from_slice(text.as_bytes());
        ends.push(data.len() as i32);
    }
    let element_offsets = le_bytes(&ends, i32::to_le_bytes);
    let values = Values::Utf8 {
        offsets: &element_offsets,
        data: &data,
        large: false,
    };
    let element = NativeColumn::new(Kind::Text, false, values, None, 0, texts.len()).unwrap();
    let offsets = ListOffsets::Fixed { size: 3 };
    let col = Column::List(ListColumn::new(offsets, None, 0, 3, element).unwrap());
    let expected = [
        r#"{"","NuLL","a b"}"#,
        r#"{"x\"y\\z","{}","a,b"}"#,
        "{é,plain,\"\u{b}\"}",
    ];
    assert_eq!(column_cells(col, 3), expected.map(some));
    // Offsets past the elements are an error, not a read out of bounds.
    let offsets = ListOffsets::Fixed { size: 4 };
    let col = Column::List(ListColumn::new(offsets, None, 0, 3, element).unwrap());
    let err = encode_data_rows(&[col], 3).unwrap_err();
    assert_eq!(err, RowsError::BadOffsets);
}

/// Labels "x", "a", NULL, "very happy", "", seen from the second: "a", NULL,
/// "very happy", "".
fn labels<'a>(offsets: &'a [u8], validity: &'a [u8]) -> Labels<'a> {
    Labels {
        offsets,
        data: b"xavery happy",
        large: false,
        validity: Some(validity),
        offset: 1,
        len: 4,
    }
}

#[test]
fn enums_are_their_labels_in_both_formats() {
    let offsets = le_bytes(&[0i32, 1, 2, 2, 12, 12], i32::to_le_bytes);
    let label_validity = [0b11011u8];
    let indices = [0i8, 1, 2, 3, 0, 2];
    let indices = le_bytes(&indices, i8::to_le_bytes);
    let validity = [0b10_1111u8]; // row 4 NULL by its index
    for binary in [false, true] {
        let values = Values::Dictionary {
            indices: &indices,
            width: 1,
            signed: true,
            labels: labels(&offsets, &label_validity),
        };
        let col = NativeColumn::new(Kind::Enum, binary, values, Some(&validity), 0, 6).unwrap();
        let expected = [
            some("a"),
            None,
            some("very happy"),
            some(""),
            None,
            some("very happy"),
        ];
        assert_eq!(cells(col, 6), expected);
        let col = NativeColumn::new(Kind::Enum, binary, values, Some(&validity), 2, 2).unwrap();
        assert_eq!(cells(col, 2), [some("very happy"), some("")]);
    }
    assert_eq!(Kind::Enum.oid(), 25);
}

#[test]
fn enum_indices_out_of_range_are_errors() {
    let offsets = le_bytes(&[0i32, 1, 2, 2, 12, 12], i32::to_le_bytes);
    let label_validity = [0xffu8];
    let cases: [(&[u8], usize, bool); 4] = [
        (&[4], 1, false),       // one past the labels
        (&[0xff], 1, true),     // -1
        (&[0xff; 8], 8, false), // u64::MAX
        (&(1u64 << 63).to_le_bytes(), 8, false),
    ];
    for (indices, width, signed) in cases {
        let values = Values::Dictionary {
            indices,
            width,
            signed,
            labels: labels(&offsets, &label_validity),
        };
        let col = NativeColumn::new(Kind::Enum, false, values, None, 0, 1).unwrap();
        let err = encode_data_rows(&[Column::Native(col)], 1).unwrap_err();
        assert_eq!(err, RowsError::BadIndex);
    }
    // Labels whose offsets do not cover them, indices shorter than the rows, an index
    // width Arrow does not have, a dictionary announced as text.
    let short = Labels {
        len: 5,
        ..labels(&offsets, &label_validity)
    };
    let values = Values::Dictionary {
        indices: &[0],
        width: 1,
        signed: false,
        labels: short,
    };
    let err = NativeColumn::new(Kind::Enum, false, values, None, 0, 1).unwrap_err();
    assert_eq!(err, RowsError::BufferTooShort);
    let values = Values::Dictionary {
        indices: &[0],
        width: 2,
        signed: false,
        labels: labels(&offsets, &label_validity),
    };
    let err = NativeColumn::new(Kind::Enum, false, values, None, 0, 1).unwrap_err();
    assert_eq!(err, RowsError::BufferTooShort);
    let values = Values::Dictionary {
        indices: &[0; 3],
        width: 3,
        signed: false,
        labels: labels(&offsets, &label_validity),
    };
    let err = NativeColumn::new(Kind::Enum, false, values, None, 0, 1).unwrap_err();
    assert_eq!(err, RowsError::KindMismatch(Kind::Enum));
    let values = Values::Dictionary {
        indices: &[0],
        width: 1,
        signed: false,
        labels: labels(&offsets, &label_validity),
    };
    let err = NativeColumn::new(Kind::Text, false, values, None, 0, 1).unwrap_err();
    assert_eq!(err, RowsError::KindMismatch(Kind::Text));
}

/// A list<dictionary> column: a NULL label is a NULL element in both formats.
#[test]
fn enum_lists_spell_null_labels_null() {
    let offsets = le_bytes(&[0i32, 1, 2, 2, 12, 12], i32::to_le_bytes);
    let label_validity = [0b11011u8];
    let indices = le_bytes(&[3u16, 1, 2], u16::to_le_bytes);
    let list_offsets = le_bytes(&[0i32, 3], i32::to_le_bytes);
    let list = |binary: bool| {
        let values = Values::Dictionary {
            indices: &indices,
            width: 2,
            signed: false,
            labels: labels(&offsets, &label_validity),
        };
        let element = NativeColumn::new(Kind::Enum, binary, values, None, 0, 3).unwrap();
        let offsets = ListOffsets::Variable {
            offsets: &list_offsets,
            large: false,
        };
        Column::List(ListColumn::new(offsets, None, 0, 1, element).unwrap())
    };
    assert_eq!(
        column_cells(list(false), 1),
        [some(r#"{"",NULL,"very happy"}"#)]
    );
    let mut expected = le_bytes(&[1, 1, 25, 3, 1, 0, -1, 10], i32::to_be_bytes);
    expected.extend_from_slice(b"very happy");
    assert_eq!(column_cells(list(true), 1), [Some(expected)]);
}

/// utf8 / binary offsets of `values`, and their bytes.
fn var_values(values: &[&[u8]]) -> (Vec<u8>, Vec<u8>) {
    let mut ends = vec![0i32];
    let mut data = Vec::new();
    for value in values {
        data.extend_from_slice(value);
        ends.push(data.len() as i32);
    }
    (le_bytes(&ends, i32::to_le_bytes), data)
}

#[test]
fn bits_as_varbit() {
    // DuckDB's '0101', '1', '10101010101' and a padding-only value.
    let (offsets, data) = var_values(&[b"\x04\xf5", b"\x07\xff", b"\x05\xfd\x55", b"\x00"]);
    let values = Values::Binary {
        offsets: &offsets,
        data: &data,
        large: false,
    };
    let col = NativeColumn::new(Kind::Varbit, false, values, None, 0, 4).unwrap();
    assert_eq!(cells(col, 4), ["0101", "1", "10101010101", ""].map(some));
    let col = NativeColumn::new(Kind::Varbit, true, values, None, 0, 4).unwrap();
    let binary = |bits: i32, bytes: &[u8]| {
        let mut value = bits.to_be_bytes().to_vec();
        value.extend_from_slice(bytes);
        Some(value)
    };
    let expected = [
        binary(4, &[0x50]),
        binary(1, &[0x80]),
        binary(11, &[0xaa, 0xa0]),
        binary(0, &[]),
    ];
    assert_eq!(cells(col, 4), expected);
    assert_eq!(Kind::Varbit.oid(), 1562);
    let (offsets, data) = var_values(&[b"", b"\x09\xff"]);
    for (row, binary) in [(0, false), (0, true), (1, false), (1, true)] {
        let values = Values::Binary {
            offsets: &offsets,
            data: &data,
            large: false,
        };
        let col = NativeColumn::new(Kind::Varbit, binary, values, None, row, 1).unwrap();
        let err = encode_data_rows(&[Column::Native(col)], 1).unwrap_err();
        assert_eq!(err, RowsError::Malformed(Kind::Varbit));
    }
}

#[test]
fn varints_as_numeric() {
    let varints: [&[u8]; 8] = [
        b"\x80\x00\x01\x00",                                     // 0
        b"\x7f\xff\xfe\xfe",                                     // -1
        b"\x80\x00\x01\xff",                                     // 255
        b"\x7f\xff\xfd\xfe\xff",                                 // -256
        b"\x7f\xff\xf5\x2c\x3d\xe4\x31\x33\x12\x5f\x00\x00\x00", // -10^24 + 1
        b"\x7f\xff\xfe\xff",                                     // -0: every magnitude bit inverted
        b"\x80",                                                 // no magnitude: 0, as in Python
        b"\x00\x00",                                             // the same, negative
    ];
    let (offsets, data) = var_values(&varints);
    let values = Values::Binary {
        offsets: &offsets,
        data: &data,
        large: false,
    };
    let col = NativeColumn::new(Kind::Bignum, false, values, None, 0, 8).unwrap();
    let expected = [
        "0",
        "-1",
        "255",
        "-256",
        "-999999999999999999999999",
        "0",
        "0",
        "0",
    ];
    assert_eq!(cells(col, 8), expected.map(some));
    let col = NativeColumn::new(Kind::Bignum, true, values, None, 0, 5).unwrap();
    let expected = [
        numeric(&[0, 0, 0, 0]),
        numeric(&[1, 0, 0x4000, 0, 1]),
        numeric(&[1, 0, 0, 0, 255]),
        numeric(&[1, 0, 0x4000, 0, 256]),
        numeric(&[6, 5, 0x4000, 0, 9999, 9999, 9999, 9999, 9999, 9999]),
    ];
    assert_eq!(cells(col, 5), expected);
    let (offsets, data) = var_values(&[b""]);
    let values = Values::Binary {
        offsets: &offsets,
        data: &data,
        large: true,
    };
    let err = NativeColumn::new(Kind::Bignum, false, values, None, 0, 1).unwrap_err();
    assert_eq!(
        err,
        RowsError::BufferTooShort,
        "int32 offsets read as int64"
    );
    let values = Values::Binary {
        offsets: &offsets,
        data: &data,
        large: false,
    };
    let col = NativeColumn::new(Kind::Bignum, true, values, None, 0, 1).unwrap();
    let err = encode_data_rows(&[Column::Native(col)], 1).unwrap_err();
    assert_eq!(err, RowsError::Malformed(Kind::Bignum));
}

#[test]
fn huge_varints_are_out_of_range() {
    // 10^131072 - ... : 60_000 magnitude bytes, far over numeric's 131_072 digits.
    let mut varint = vec![0x80, 0, 0];
    varint.resize(60_003, 0x11);
    let (offsets, data) = var_values(&[&varint]);
    for binary in [false, true] {
        let values = Values::Binary {
            offsets: &offsets,
            data: &data,
            large: false,
        };
        let col = NativeColumn::new(Kind::Bignum, binary, values, None, 0, 1).unwrap();
        let err = encode_data_rows(&[Column::Native(col)], 1).unwrap_err();
        assert_eq!(err, RowsError::OutOfRange(Kind::Bignum));
    }
}

#[test]
fn timetz_text_and_binary() {
    // As DuckDB sends TIMETZ '01:02:03+05:30', and the largest bit pattern.
    let data = [
        0xa7, 0x93, 0x00, 0xc0, 0x78, 0xe8, 0xdd, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff,
    ];
    let values = Values::FixedBinary {
        data: &data,
        width: 8,
    };
    let col = NativeColumn::new(Kind::Timetz, false, values, None, 0, 2).unwrap();
    let expected = ["01:02:03+05:30", "305:25:11.627775-4644:20:16"];
    assert_eq!(cells(col, 2), expected.map(some));
    let col = NativeColumn::new(Kind::Timetz, true, values, None, 0, 1).unwrap();
    let mut expected = 3_723_000_000i64.to_be_bytes().to_vec();
    expected.extend_from_slice(&(-19_800i32).to_be_bytes());
    assert_eq!(cells(col, 1), [Some(expected)]);
    assert_eq!(Kind::Timetz.oid(), 1266);
    let values = Values::FixedBinary {
        data: &data,
        width: 16,
    };
    let err = NativeColumn::new(Kind::Timetz, false, values, None, 0, 1).unwrap_err();
    assert_eq!(err, RowsError::KindMismatch(Kind::Timetz));
}

/// Data buffers of a view array, for the tests.
struct TestBuffers(Vec<Vec<u8>>);

impl ViewBuffers for TestBuffers {
    fn data_buffer(&self, index: usize) -> Option<&[u8]> {
        self.0.get(index).map(Vec::as_slice)
    }
}

/// A view of `len` bytes: inline, or `offset` in buffer `index`.
fn view(len: i32, inline: &[u8], index: i32, offset: i32) -> Vec<u8> {
    let mut view = len.to_le_bytes().to_vec();
    if len <= 12 {
        view.extend_from_slice(inline);
        view.resize(16, 0);
    } else {
        view.extend_from_slice(&inline[..4]);
        view.extend_from_slice(&index.to_le_bytes());
        view.extend_from_slice(&offset.to_le_bytes());
    }
    view
}

#[test]
fn string_and_binary_views() {
    let buffers = TestBuffers(vec![b"xx13 bytes long!".to_vec(), b"twelve bytes".to_vec()]);
    let views = [
        view(12, b"twelve bytes", 0, 0),
        view(0, b"", 0, 0),
        view(14, b"13 b", 0, 2),
        view(13, b"13 b", 0, 2),
    ]
    .concat();
    let values = Values::View {
        views: &views,
        buffers: &buffers,
    };
    let col = NativeColumn::new(Kind::Text, false, values, None, 0, 4).unwrap();
    let expected = ["twelve bytes", "", "13 bytes long!", "13 bytes long"];
    assert_eq!(cells(col, 4), expected.map(some));
    let col = NativeColumn::new(Kind::Bytea, false, values, None, 1, 1).unwrap();
    assert_eq!(cells(col, 1), [some("\\x")]);
    let col = NativeColumn::new(Kind::Bytea, true, values, None, 3, 1).unwrap();
    assert_eq!(cells(col, 1), [some("13 bytes long")]);
    // A negative length, an index past the buffers, a range past the data.
    for bad in [
        view(-1, b"", 0, 0),
        view(13, b"abcd", 2, 0),
        view(13, b"abcd", 1, 0),
    ] {
        let values = Values::View {
            views: &bad,
            buffers: &buffers,
        };
        let col = NativeColumn::new(Kind::Text, false, values, None, 0, 1).unwrap();
        let err = encode_data_rows(&[Column::Native(col)], 1).unwrap_err();
        assert_eq!(err, RowsError::BadOffsets);
    }
    let err = NativeColumn::new(Kind::Text, false, values, None, 3, 2).unwrap_err();
    assert_eq!(err, RowsError::BufferTooShort);
    let err = NativeColumn::new(Kind::Uuid, false, values, None, 0, 1).unwrap_err();
    assert_eq!(err, RowsError::KindMismatch(Kind::Uuid));
}
