use super::*;
use crate::rows::tests::column_cells as cells;
use crate::rows::{Column, Values, encode_data_rows};

fn le32(values: &[i32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn be32(values: &[i32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn texts(col: Column<'_>, rows: usize) -> Vec<Option<String>> {
    cells(col, rows)
        .into_iter()
        .map(|cell| cell.map(|bytes| String::from_utf8(bytes).unwrap()))
        .collect()
}

fn ints<'a>(data: &'a [u8], validity: Option<&'a [u8]>, binary: bool) -> Node<'a> {
    let values = Values::Int {
        data,
        width: 4,
        signed: true,
    };
    let len = data.len() / 4;
    Node::Scalar(NativeColumn::new(Kind::Int4, binary, values, validity, 0, len).unwrap())
}

fn strings<'a>(offsets: &'a [u8], data: &'a [u8], kind: Kind) -> Node<'a> {
    let values = Values::Utf8 {
        offsets,
        data,
        large: false,
    };
    let len = offsets.len() / 4 - 1;
    Node::Scalar(NativeColumn::new(kind, false, values, None, 0, len).unwrap())
}

fn floats(data: &[u8]) -> Node<'_> {
    let values = Values::Float { data, double: true };
    Node::Scalar(NativeColumn::new(Kind::Float8, false, values, None, 0, data.len() / 8).unwrap())
}

fn list<'a>(
    offsets: &'a [u8],
    validity: Option<&'a [u8]>,
    binary: bool,
    element: Node<'a>,
) -> Node<'a> {
    let len = offsets.len() / 4 - 1;
    let offsets = ListOffsets::Variable {
        offsets,
        large: false,
    };
    Node::List(Box::new(
        ListColumn::nested(offsets, validity, 0, len, binary, element).unwrap(),
    ))
}

fn array_column(node: Node<'_>) -> Column<'_> {
    match node {
        Node::List(list) => Column::List(*list),
        _ => panic!("not a list"),
    }
}

fn json_column(node: Node<'_>) -> Column<'_> {
    Column::Json(JsonColumn::new(node).unwrap())
}

#[test]
fn json_strings_escape_like_escape_json() {
    let mut out = Vec::new();
    write_json_string(b"a\"b\\c\x08\x0c\n\r\t\x00\x01\x1f\x7f \xc3\xa9/", &mut out);
    assert_eq!(
        out,
        b"\"a\\\"b\\\\c\\b\\f\\n\\r\\t\\u0000\\u0001\\u001f\x7f \xc3\xa9/\"".to_vec()
    );
    out.clear();
    write_json_string(b"", &mut out);
    assert_eq!(out, b"\"\"");
    assert!(!needs_escape(b"plain \x7f \xc3\xa9"));
    assert!(needs_escape(b"x\x1f") && needs_escape(b"\"") && needs_escape(b"\\"));
}

/// STRUCT(a INT, "b\"" VARCHAR, c DOUBLE, j JSON): numbers bare, NaN and Infinity as
/// strings, text escaped, json embedded, NULL fields null, a NULL struct NULL.
#[test]
fn structs_are_json_objects() {
    let a = le32(&[1, -2, 3]);
    let a_valid = [0b101u8];
    let (b_offsets, b_data) = (le32(&[0, 1, 3, 3]), b"x\n\"".to_vec());
    let c: Vec<u8> = [f64::NAN, f64::NEG_INFINITY, 0.5]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let (j_offsets, j_data) = (le32(&[0, 2, 6, 9]), b"{}null[1]".to_vec());
    let fields = vec![
        ints(&a, Some(&a_valid), false),
        strings(&b_offsets, &b_data, Kind::Text),
        floats(&c),
        strings(&j_offsets, &j_data, Kind::Json),
    ];
    let validity = [0b011u8];
    let node = StructNode::new(&["a", "b\"", "c", "j"], fields, Some(&validity), 0, 3).unwrap();
    let expected = [
        Some(r#"{"a":1,"b\"":"x","c":"NaN","j":{}}"#.to_owned()),
        Some(r#"{"a":null,"b\"":"\n\"","c":"-Infinity","j":null}"#.to_owned()),
        None,
    ];
    assert_eq!(
        texts(json_column(Node::Struct(Box::new(node))), 3),
        expected
    );
}

#[test]
fn struct_fields_must_be_text_and_as_long() {
    let a = le32(&[1, 2]);
    let binary = ints(&a, None, true);
    let err = StructNode::new(&["a"], vec![binary], None, 0, 2).unwrap_err();
    assert_eq!(
        err,
        RowsError::MalformedNested("json member in binary form")
    );
    let err = StructNode::new(&["a"], vec![ints(&a, None, false)], None, 0, 3).unwrap_err();
    assert_eq!(
        err,
        RowsError::MalformedNested("struct field of another length")
    );
    let err = StructNode::new(&["a", "b"], vec![ints(&a, None, false)], None, 0, 2).unwrap_err();
    assert_eq!(
        err,
        RowsError::MalformedNested("struct names do not match its fields")
    );
    assert!(JsonColumn::new(ints(&a, None, false)).is_err());
}

/// MAP(VARCHAR, INT): keys by their text, escaped; a NULL key is an error.
#[test]
fn maps_are_objects_keyed_by_text() {
    let (k_offsets, k_data) = (le32(&[0, 1, 3, 4]), b"a\"bc".to_vec());
    let items = le32(&[1, 2, 3]);
    let items_valid = [0b101u8];
    let offsets = le32(&[0, 2, 2, 3, 3]);
    let validity = [0b1011u8];
    let node = MapNode::new(
        &offsets,
        Some(&validity),
        0,
        4,
        strings(&k_offsets, &k_data, Kind::Text),
        ints(&items, Some(&items_valid), false),
    )
    .unwrap();
    let expected = [
        Some(r#"{"a":1,"\"b":null}"#.to_owned()),
        Some("{}".to_owned()),
        None,
        Some("{}".to_owned()),
    ];
    assert_eq!(texts(json_column(Node::Map(Box::new(node))), 4), expected);
    let key_valid = [0b110u8];
    let keys = ints(&items, Some(&key_valid), false);
    let node = MapNode::new(&offsets, None, 0, 1, keys, ints(&items, None, false)).unwrap();
    let err = encode_data_rows(&[json_column(Node::Map(Box::new(node)))], 1).unwrap_err();
    assert_eq!(err, RowsError::MalformedNested("NULL map key"));
}

/// UNION(i INT = code 5, s VARCHAR = code 0), sparse and dense: the active member's
/// JSON; a NULL member makes the value NULL.
#[test]
fn unions_are_their_active_member() {
    let i = le32(&[7, 8, 9]);
    let i_valid = [0b011u8];
    let (s_offsets, s_data) = (le32(&[0, 1, 2, 3]), b"xyz".to_vec());
    let members = || {
        vec![
            ints(&i, Some(&i_valid), false),
            strings(&s_offsets, &s_data, Kind::Text),
        ]
    };
    let type_ids = [5u8, 0, 5];
    let sparse = UnionNode::new(&[5, 0], &type_ids, None, 0, 3, members()).unwrap();
    let expected = [Some("7".to_owned()), Some("\"y\"".to_owned()), None];
    assert_eq!(
        texts(json_column(Node::Union(Box::new(sparse))), 3),
        expected
    );
    let dense_offsets = le32(&[2, 0, 1]);
    let dense = UnionNode::new(&[5, 0], &type_ids, Some(&dense_offsets), 0, 3, members()).unwrap();
    let expected = [None, Some("\"x\"".to_owned()), Some("8".to_owned())];
    assert_eq!(
        texts(json_column(Node::Union(Box::new(dense))), 3),
        expected
    );
}

#[test]
fn malformed_unions_are_errors() {
    let i = le32(&[7, 8]);
    let members = || vec![ints(&i, None, false)];
    let err = UnionNode::new(&[1], &[1, 2], None, 0, 2, members()).unwrap_err();
    assert_eq!(
        err,
        RowsError::MalformedNested("union type id without a member")
    );
    // A negative type id (0xff) names no member either.
    assert!(UnionNode::new(&[1], &[1, 0xff], None, 0, 2, members()).is_err());
    let err = UnionNode::new(&[-1], &[1], None, 0, 1, members()).unwrap_err();
    assert_eq!(err, RowsError::MalformedNested("bad union type code"));
    assert!(
        UnionNode::new(
            &[1, 1],
            &[1],
            None,
            0,
            1,
            vec![ints(&i, None, false), ints(&i, None, false)]
        )
        .is_err()
    );
    assert!(UnionNode::new(&[1, 2], &[1], None, 0, 1, members()).is_err());
    let err = UnionNode::new(&[1], &[1], None, 0, 2, members()).unwrap_err();
    assert_eq!(err, RowsError::BufferTooShort);
    // Dense offsets past the member, negative, or missing.
    for offsets in [le32(&[0, 2]), le32(&[0, -1]), le32(&[0])] {
        assert!(UnionNode::new(&[1], &[1, 1], Some(&offsets), 0, 2, members()).is_err());
    }
    // Sparse: the member must have every row.
    let err = UnionNode::new(&[1], &[1, 1, 1], None, 0, 3, members()).unwrap_err();
    assert_eq!(err, RowsError::BadOffsets);
    // Only the union's own rows are checked: a slice skips a bad id before it.
    assert!(UnionNode::new(&[1], &[9, 1, 1], None, 1, 2, members()).is_ok());
}

/// INT[][]: [[1,2],[3,NULL]], [[]], [[1],[2,3]] (ragged), [[1],NULL], [], NULL, [[]]x2.
#[test]
fn two_dimensional_arrays_text_and_binary() {
    let elements = le32(&[1, 2, 3, 0, 1, 2, 3, 1]);
    let element_valid = [0b1111_0111u8];
    let inner_offsets = le32(&[0, 2, 4, 4, 5, 7, 8, 8, 8, 8]);
    let inner_valid = [0b1011_1111u8, 0b1];
    let outer_offsets = le32(&[0, 2, 3, 5, 7, 7, 7, 9]);
    let outer_valid = [0b101_1111u8];
    let column = |binary: bool, rows: std::ops::Range<usize>| {
        let inner = list(
            &inner_offsets,
            Some(&inner_valid),
            binary,
            ints(&elements, Some(&element_valid), binary),
        );
        let offsets = ListOffsets::Variable {
            offsets: &outer_offsets,
            large: false,
        };
        let outer = ListColumn::nested(
            offsets,
            Some(&outer_valid),
            rows.start,
            rows.len(),
            binary,
            inner,
        );
        Column::List(outer.unwrap())
    };
    let expected = [
        Some("{{1,2},{3,NULL}}"),
        Some("{{}}"),
        Some("{{1},{2,3}}"),
        Some("{{1},NULL}"),
        Some("{}"),
        None,
        Some("{{},{}}"),
    ];
    let expected: Vec<Option<String>> = expected.iter().map(|t| t.map(str::to_owned)).collect();
    assert_eq!(texts(column(false, 0..7), 7), expected);

    let mut first = be32(&[2, 1, 23, 2, 1, 2, 1]);
    first.extend(be32(&[4, 1, 4, 2, 4, 3, -1]));
    let empty = be32(&[0, 0, 23]);
    let rows = [0, 1, 4, 5, 6];
    let binary: Vec<_> = rows
        .iter()
        .map(|&row| cells(column(true, row..row + 1), 1).remove(0))
        .collect();
    assert_eq!(
        binary,
        [
            Some(first),
            Some(empty.clone()),
            Some(empty.clone()),
            None,
            Some(empty)
        ]
    );
    for row in [2, 3] {
        let err = encode_data_rows(&[column(true, row..row + 1)], 1).unwrap_err();
        assert_eq!(err, RowsError::RaggedArray);
    }
}

/// VARCHAR[][][] of one row [[["a b"]],[["x"]]] and a STRUCT[] in binary.
#[test]
fn deeper_arrays_and_arrays_of_json() {
    let (s_offsets, s_data) = (le32(&[0, 3, 4]), b"a bx".to_vec());
    let one_each = le32(&[0, 1, 2]);
    let two = le32(&[0, 2]);
    let build = |binary: bool| {
        let leaf_values = Values::Utf8 {
            offsets: &s_offsets,
            data: &s_data,
            large: false,
        };
        let leaf = NativeColumn::new(Kind::Text, binary, leaf_values, None, 0, 2).unwrap();
        let level3 = list(&one_each, None, binary, Node::Scalar(leaf));
        let level2 = list(&one_each, None, binary, level3);
        array_column(list(&two, None, binary, level2))
    };
    assert_eq!(
        texts(build(false), 1),
        [Some(r#"{{{"a b"}},{{x}}}"#.to_owned())]
    );
    let mut expected = be32(&[3, 0, 25, 2, 1, 1, 1, 1, 1, 3]);
    expected.extend(b"a b");
    expected.extend(be32(&[1]));
    expected.extend(b"x");
    assert_eq!(cells(build(true), 1), [Some(expected)]);

    // STRUCT(a INT)[]: [{"a":1}, NULL] in binary: _json elements, the JSON text.
    let a = le32(&[1, 2]);
    let validity = [0b01u8];
    let structs =
        StructNode::new(&["a"], vec![ints(&a, None, false)], Some(&validity), 0, 2).unwrap();
    let column = array_column(list(
        &two,
        None,
        true,
        Node::Struct(Box::new(structs.clone())),
    ));
    let mut expected = be32(&[1, 1, 114, 2, 1, 7]);
    expected.extend(b"{\"a\":1}");
    expected.extend(be32(&[-1]));
    assert_eq!(cells(column, 1), [Some(expected)]);
    let column = array_column(list(&two, None, false, Node::Struct(Box::new(structs))));
    assert_eq!(texts(column, 1), [Some(r#"{"{\"a\":1}",NULL}"#.to_owned())]);
}

#[test]
fn list_elements_share_the_list_format() {
    let a = le32(&[1]);
    let offsets = le32(&[0, 1]);
    let offsets = ListOffsets::Variable {
        offsets: &offsets,
        large: false,
    };
    let err = ListColumn::nested(offsets, None, 0, 1, true, ints(&a, None, false)).unwrap_err();
    assert_eq!(
        err,
        RowsError::MalformedNested("list elements in another format")
    );
}

/// Nesting deeper than MAX_DEPTH is refused when the tree is built, so the writers'
/// recursion stays bounded.
#[test]
fn nesting_is_bounded() {
    let a = le32(&[1]);
    let mut node = ints(&a, None, false);
    for depth in 1..=MAX_DEPTH + 1 {
        let built = StructNode::new(&["x"], vec![node.clone()], None, 0, 1);
        if depth > MAX_DEPTH {
            assert_eq!(
                built.unwrap_err(),
                RowsError::MalformedNested("nested too deep")
            );
            break;
        }
        node = Node::Struct(Box::new(built.unwrap()));
    }
    let text = texts(json_column(node.clone()), 1).remove(0).unwrap();
    assert_eq!(
        text,
        format!("{}1{}", r#"{"x":"#.repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH))
    );
    let offsets = le32(&[0, 1]);
    let offsets = ListOffsets::Variable {
        offsets: &offsets,
        large: false,
    };
    let err = ListColumn::nested(offsets, None, 0, 1, false, node).unwrap_err();
    assert_eq!(err, RowsError::MalformedNested("nested too deep"));
}

/// Offsets past the elements, decreasing or unreadable are errors, in every path.
#[test]
fn bad_offsets_are_errors() {
    let a = le32(&[1, 2]);
    for bad in [le32(&[0, 3]), le32(&[2, 1]), le32(&[0, -1])] {
        for binary in [false, true] {
            let column = array_column(list(&bad, None, binary, ints(&a, None, binary)));
            assert_eq!(
                encode_data_rows(&[column], 1).unwrap_err(),
                RowsError::BadOffsets
            );
        }
        let inner = list(&bad, None, false, ints(&a, None, false));
        let node = StructNode::new(&["l"], vec![inner], None, 0, 1).unwrap();
        let err = encode_data_rows(&[json_column(Node::Struct(Box::new(node)))], 1).unwrap_err();
        assert_eq!(err, RowsError::BadOffsets);
        let map = MapNode::new(
            &bad,
            None,
            0,
            1,
            ints(&a, None, false),
            ints(&a, None, false),
        );
        let err = encode_data_rows(&[json_column(Node::Map(Box::new(map.unwrap())))], 1);
        assert_eq!(err.unwrap_err(), RowsError::BadOffsets);
    }
    let short = le32(&[0]);
    let map = MapNode::new(
        &short,
        None,
        0,
        1,
        ints(&a, None, false),
        ints(&a, None, false),
    );
    assert_eq!(map.unwrap_err(), RowsError::BufferTooShort);
}

/// STRUCT(e ENUM, n VARINT, b BIT, t TIMETZ, h FLOAT16): an ENUM label, a BIT and a
/// TIMETZ are strings, a VARINT and a float16 numbers (`text._JSON_NUMBER_KINDS`);
/// a NULL label is null.
#[test]
fn enum_varint_bit_timetz_half_members_follow_json_rules() {
    use crate::rows::Labels;
    let label_offsets = le32(&[0, 2, 2]);
    let label_validity = [0b01u8];
    let labels = Labels {
        offsets: &label_offsets,
        data: b"a\"",
        large: false,
        validity: Some(&label_validity),
        offset: 0,
        len: 2,
    };
    let indices = [0u8, 1];
    let enums = Values::Dictionary {
        indices: &indices,
        width: 1,
        signed: false,
        labels,
    };
    // VARINT -1 (header and magnitude inverted) and 258.
    let (n_offsets, n_data) = (
        le32(&[0, 4, 9]),
        b"\x7f\xff\xfe\xfe\x80\x00\x02\x01\x02".to_vec(),
    );
    // BIT '101' (5 padding bits set) and '' (a lone padding byte).
    let (b_offsets, b_data) = (le32(&[0, 2, 3]), b"\x05\xfd\x00".to_vec());
    // TIMETZ 00:00:01+01 and 00:00:00+00: micros << 24 | (57599 - offset east).
    let t_data: Vec<u8> = [1_000_000u64 << 24 | (57599 - 3600), 57599]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let h_data: Vec<u8> = [0x3e00u16, 0x7c00]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let scalar =
        |kind, values| Node::Scalar(NativeColumn::new(kind, false, values, None, 0, 2).unwrap());
    let binary = |offsets, data| Values::Binary {
        offsets,
        data,
        large: false,
    };
    let fields = vec![
        scalar(Kind::Enum, enums),
        scalar(Kind::Bignum, binary(&n_offsets, &n_data)),
        scalar(Kind::Varbit, binary(&b_offsets, &b_data)),
        scalar(
            Kind::Timetz,
            Values::FixedBinary {
                data: &t_data,
                width: 8,
            },
        ),
        scalar(Kind::Float4, Values::Half { data: &h_data }),
    ];
    let node = StructNode::new(&["e", "n", "b", "t", "h"], fields, None, 0, 2).unwrap();
    let expected = [
        Some(r#"{"e":"a\"","n":-1,"b":"101","t":"00:00:01+01","h":1.5}"#.to_owned()),
        Some(r#"{"e":null,"n":258,"b":"","t":"00:00:00+00","h":"Infinity"}"#.to_owned()),
    ];
    assert_eq!(
        texts(json_column(Node::Struct(Box::new(node))), 2),
        expected
    );
}
