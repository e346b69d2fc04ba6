//! Tests of the framing: splits, limits, OVS shape rules, and properties.

use super::*;
use serde_json::json;

fn j(v: Value) -> Json {
    Json::of(&v)
}

fn all(dec: &mut Decoder) -> Result<Vec<Message>, FrameError> {
    let mut v = Vec::new();
    while let Some(m) = dec.next_message()? {
        v.push(m);
    }
    Ok(v)
}

#[test]
fn concatenated_and_split_messages() {
    let stream = br#"{"method":"echo","params":["a{b}\"c"],"id":1} {"method":"list_dbs","params":[],"id":"x"}{"result":[],"error":null,"id":7}"#;
    for split in 0..stream.len() {
        let mut dec = Decoder::new(1024);
        dec.feed(&stream[..split]);
        let mut got = all(&mut dec).unwrap();
        dec.feed(&stream[split..]);
        got.extend(all(&mut dec).unwrap());
        assert_eq!(got.len(), 3, "split at {split}");
        assert_eq!(
            got[0],
            Message::Request {
                method: "echo".into(),
                params: j(json!(["a{b}\"c"])),
                id: j(json!(1))
            }
        );
        assert!(!dec.has_partial());
    }
}

#[test]
fn garbage_is_a_syntax_error() {
    let mut dec = Decoder::new(1024);
    dec.feed(b"hello");
    let e = dec.next_message().unwrap_err();
    assert_eq!(e.kind(), "syntax error");
    assert!(e.to_string().contains("found 'h'"), "{e}");
    let mut dec = Decoder::new(1024);
    dec.feed(b"{\"method\": nope}");
    assert_eq!(dec.next_message().unwrap_err().kind(), "syntax error");
    // Errors in an incomplete message are reported at once.
    for partial in [&b"{\"params\":[}"[..], b"{\"a\" x", b"{\"a\":1]"] {
        let mut dec = Decoder::new(1024);
        dec.feed(partial);
        assert_eq!(
            dec.next_message().unwrap_err().kind(),
            "syntax error",
            "{partial:?}"
        );
    }
    // ... but a valid prefix just waits for more.
    for partial in [
        &b"{\"a\":[1,"[..],
        b"{\"s\":\"\\u00",
        b"{\"n\":12",
        b"{\"s\":\"\xc3",
    ] {
        let mut dec = Decoder::new(1024);
        dec.feed(partial);
        assert_eq!(dec.next_message(), Ok(None), "{partial:?}");
    }
}

#[test]
fn oversized_message_is_rejected_before_it_completes() {
    let mut dec = Decoder::new(100);
    dec.feed(b"{\"method\":\"echo\",\"params\":[\"");
    assert_eq!(dec.next_message().unwrap(), None);
    dec.feed(&[b'x'; 200]);
    assert_eq!(
        dec.next_message().unwrap_err(),
        FrameError::TooLong { limit: 100 }
    );
}

#[test]
fn an_error_ends_the_stream_and_every_later_call_returns_it() {
    // Each error, reached every way in, then more bytes every way in (the rest of the
    // oversized message, a valid message, the start of one). Before, a later call went on from
    // wherever the error had left the scanner and the buffer.
    let cases: [(&str, &[&[u8]], &str); 4] = [
        (
            "an oversized message",
            &[b"{\"method\":\"echo\",\"params\":[\"", &[b'x'; 200]],
            "message too long",
        ),
        ("a syntax error", &[b"{\"method\":", b"]"], "syntax error"),
        (
            "a message that is not JSON-RPC",
            &[b"{\"method\":1,\"params\":[],\"id\":1}"],
            "invalid message",
        ),
        (
            "a message that is not JSON-RPC, in two reads",
            &[b"{\"method\":1,", b"\"params\":[],\"id\":1}"],
            "invalid message",
        ),
    ];
    let later: &[&[u8]] = &[
        b"\"]}",
        b"{\"method\":\"echo\",\"params\":[],\"id\":2}",
        b"{",
    ];
    for (name, pieces, kind) in cases {
        for way in ["decode", "feed + next_message", "feed + decode"] {
            let what = format!("{name}, via {way}");
            let mut dec = Decoder::new(100);
            let mut first = None;
            for piece in pieces {
                let r = match way {
                    "decode" => dec.decode(piece, |_| {}).map(|()| None),
                    "feed + next_message" => {
                        dec.feed(piece);
                        dec.next_message()
                    }
                    _ => {
                        // Fed bytes not decoded yet: `decode` takes them first.
                        dec.feed(piece);
                        dec.decode(&[], |_| {}).map(|()| None)
                    }
                };
                if let Err(e) = r {
                    first = Some(e);
                    break;
                }
            }
            let first = first.unwrap_or_else(|| panic!("{what}: no error"));
            assert_eq!(first.kind(), kind, "{what}: {first}");
            for piece in later {
                let mut handed = 0;
                assert_eq!(
                    dec.decode(piece, |_| handed += 1),
                    Err(first.clone()),
                    "{what}"
                );
                assert_eq!(handed, 0, "{what}");
                dec.feed(piece);
                assert_eq!(dec.next_message(), Err(first.clone()), "{what}");
            }
            assert!(!dec.has_partial(), "{what}");
        }
    }
}

#[test]
fn buffer_stays_bounded_over_many_messages() {
    let mut dec = Decoder::new(64);
    for i in 0..10_000 {
        dec.feed(format!("{{\"method\":\"echo\",\"params\":[{i}],\"id\":{i}}}").as_bytes());
        assert!(matches!(dec.next_message(), Ok(Some(_))));
        assert_eq!(dec.next_message(), Ok(None));
        assert!(dec.buf.len() < 64);
    }
}

#[test]
fn ovs_shape_rules() {
    let cases = [
        (json!([1]), "message is not a JSON object"),
        (
            json!({"method": 1, "params": [], "id": 1}),
            "method is not a JSON string",
        ),
        (
            json!({"method": "echo", "params": {}, "id": 1}),
            "\"params\" must be JSON array",
        ),
        (
            json!({"method": "echo", "id": 1}),
            "request must have \"params\"",
        ),
        (
            json!({"method": "echo", "params": [], "id": 1, "x": 2}),
            "message has unexpected member \"x\"",
        ),
        (
            json!({"params": [], "id": 1}),
            "request must have \"method\"",
        ),
        (
            json!({"result": 1, "method": "m", "id": 1}),
            "reply must not have \"method\"",
        ),
        (json!({"result": 1}), "reply must have \"id\""),
    ];
    for (value, want) in cases {
        match Message::from_slice(value.to_string().as_bytes()) {
            Err(FrameError::Invalid { details, .. }) => assert_eq!(details, want, "{value}"),
            other => panic!("{value}: {other:?}"),
        }
    }
    assert_eq!(
        Message::from_slice(br#"{"method": "m", "params": [], "id": null}"#).unwrap(),
        Message::Notify {
            method: "m".into(),
            params: j(json!([]))
        }
    );
}

#[test]
fn error_reply_names_the_request_id() {
    let e = Message::from_slice(br#"{"method": "echo", "params": 3, "id": 42}"#).unwrap_err();
    let reply: Value = serde_json::from_slice(&e.to_reply()).unwrap();
    assert_eq!(reply["id"], json!(42));
    assert_eq!(reply["result"], Value::Null);
    assert_eq!(reply["error"]["error"], json!("invalid message"));
}

/// Every message and the kind of the error that ends the stream, feeding `stream` in
/// pieces that end at `cuts`.
fn decode_in_pieces(stream: &[u8], cuts: &[usize]) -> (Vec<Message>, Option<String>) {
    let mut dec = Decoder::new(1 << 20);
    let mut got = Vec::new();
    let mut from = 0;
    let mut ends: Vec<usize> = cuts
        .iter()
        .map(|c| c.min(&stream.len()).to_owned())
        .collect();
    ends.sort_unstable();
    ends.push(stream.len());
    for end in ends {
        dec.feed(&stream[from..end]);
        from = end;
        loop {
            match dec.next_message() {
                Ok(Some(m)) => got.push(m),
                Ok(None) => break,
                Err(e) => return (got, Some(e.to_string())),
            }
        }
    }
    (got, None)
}

/// [`decode_in_pieces`] through [`Decoder::decode`], the data plane's borrowed path: each
/// piece handed over as one read.
fn decode_in_pieces_borrowed(stream: &[u8], cuts: &[usize]) -> (Vec<Message>, Option<String>) {
    let mut dec = Decoder::new(1 << 20);
    let mut got = Vec::new();
    let mut from = 0;
    let mut ends: Vec<usize> = cuts.iter().map(|c| *c.min(&stream.len())).collect();
    ends.sort_unstable();
    ends.push(stream.len());
    for end in ends {
        let piece = &stream[from..end];
        from = end;
        if let Err(e) = dec.decode(piece, |m| got.push(m.to_owned_message())) {
            return (got, Some(e.to_string()));
        }
    }
    (got, None)
}

#[test]
fn a_read_that_ends_inside_a_number_waits_for_the_rest() {
    // The reported repro: `-` at the end of one read, `1` at the start of the next.
    let (got, err) = decode_in_pieces(br#"{"method":"echo","params":[-1],"id":1}"#, &[28]);
    assert_eq!(err, None);
    assert_eq!(
        got,
        vec![Message::Request {
            method: "echo".into(),
            params: j(json!([-1])),
            id: j(json!(1))
        }]
    );
    // Every cut through every kind of number.
    let stream = br#"{"method":"echo","params":[-1.25e+3,0.5,-7E-2,3e9,-0,12],"id":-1}"#;
    let whole = decode_in_pieces(stream, &[]);
    assert_eq!(whole.1, None);
    for cut in 0..stream.len() {
        assert_eq!(decode_in_pieces(stream, &[cut]), whole, "cut at {cut}");
    }
}

#[test]
fn every_byte_is_scanned_once_however_the_stream_is_split() {
    // 1 MB sent 20 bytes at a time, and 1 byte at a time: decoding stays linear.
    let body = "x".repeat(1 << 20);
    let msg = format!(r#"{{"method":"echo","params":["{body}", -1.5e3],"id":1}} "#);
    for piece in [20, 1, msg.len()] {
        let mut dec = Decoder::new(2 << 20);
        let mut n = 0;
        for chunk in msg.as_bytes().chunks(piece) {
            dec.feed(chunk);
            while let Some(m) = dec.next_message().unwrap() {
                assert!(matches!(m, Message::Request { .. }));
                n += 1;
            }
        }
        assert_eq!(n, 1);
        assert_eq!(dec.looked, msg.len(), "pieces of {piece} bytes");
        assert!(dec.buf.is_empty(), "nothing kept after the message");
    }
}

#[test]
fn syntax_errors_name_the_byte_and_what_was_expected() {
    let cases: [(&[u8], &str); 9] = [
        (
            b"{\"a\" 1}",
            "expected ':' after a member name, found '1' at byte 5",
        ),
        (
            b"{\"a\":1 2}",
            "expected ',' or '}' after an object member, found '2' at byte 7",
        ),
        (
            b"{\"a\":[1}",
            "expected ',' or ']' after an array element, found '}' at byte 7",
        ),
        (
            b"{\"a\":-x}",
            "expected a digit after '-', found 'x' at byte 6",
        ),
        (
            b"{\"a\":1.}",
            "expected a digit after the decimal point, found '}' at byte 7",
        ),
        (
            b"{\"a\":01}",
            "expected ',' or '}' after an object member, found '1' at byte 6",
        ),
        (
            b"{\"a\":tru}",
            "expected true, false or null, found '}' at byte 8",
        ),
        (b"{\"a\":\"\\x\"}", "expected an escape"),
        (b"{\"a\":\"\n\"}", "expected a control character escaped"),
    ];
    for (input, want) in cases {
        let mut dec = Decoder::new(1024);
        dec.feed(input);
        let e = dec.next_message().unwrap_err();
        assert_eq!(e.kind(), "syntax error");
        assert!(
            e.to_string().contains(want),
            "{}: {e}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn deep_nesting_is_bounded_by_the_message_limit_only() {
    // No recursion: 100,000 nested arrays scan (and echo) without exhausting the stack.
    let depth = 100_000;
    let msg = format!(
        r#"{{"method":"echo","params":{}{},"id":1}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let mut dec = Decoder::new(1 << 20);
    dec.feed(msg.as_bytes());
    let m = dec.next_message().unwrap().unwrap();
    let Message::Request { params, .. } = m else {
        panic!("{m:?}")
    };
    assert_eq!(params.text().len(), 2 * depth);
}

/// JSON values with every kind of number, escapes and nesting.
fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        (-1e300f64..1e300).prop_map(|f| json!(f)),
        (-1e-300f64..1e-300).prop_map(|f| json!(f)),
        r#"[ -~\\"\x{80}-\x{10ffff}\n\t]{0,12}"#.prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(r#"[a-z"\\]{0,4}"#, inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    #[test]
    fn any_split_of_valid_messages_decodes_identically(
        params in proptest::collection::vec(proptest::collection::vec(json_value(), 0..4), 1..4),
        cuts in proptest::collection::vec(0usize..4096, 0..12),
    ) {
        let mut stream = Vec::new();
        for (i, p) in params.iter().enumerate() {
            stream.extend_from_slice(
                json!({"method": "echo", "params": p, "id": i}).to_string().as_bytes(),
            );
            stream.extend_from_slice(if i % 2 == 0 { b" " } else { b"\n" });
        }
        let whole = decode_in_pieces(&stream, &[]);
        proptest::prop_assert_eq!(&whole.1, &None);
        proptest::prop_assert_eq!(whole.0.len(), params.len());
        let cuts: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
        proptest::prop_assert_eq!(decode_in_pieces(&stream, &cuts), whole.clone());
        proptest::prop_assert_eq!(decode_in_pieces_borrowed(&stream, &cuts), whole);
    }

    #[test]
    fn any_split_of_any_bytes_gives_the_same_messages_and_error(
        data in proptest::collection::vec(proptest::num::u8::ANY, 0..256),
        cuts in proptest::collection::vec(0usize..256, 0..8),
    ) {
        let cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
        let whole = decode_in_pieces(&data, &[]);
        proptest::prop_assert_eq!(decode_in_pieces(&data, &cuts), whole.clone());
        proptest::prop_assert_eq!(decode_in_pieces_borrowed(&data, &cuts), whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..512), cut in 0usize..512) {
        let mut dec = Decoder::new(256);
        let cut = cut.min(data.len());
        dec.feed(&data[..cut]);
        let _ = all(&mut dec);
        dec.feed(&data[cut..]);
        let _ = all(&mut dec);
    }

    /// The scanner agrees with serde_json on every message a few edits away from a valid one:
    /// accepted, incomplete, or a syntax error.
    #[test]
    fn the_scanner_agrees_with_serde_json(
        params in proptest::collection::vec(json_value(), 0..4),
        edits in proptest::collection::vec(
            (0usize..4096, 0u8..3, proptest::sample::select(br#"{}[]":,\ -+.eE0123456789tfnrulsaxb/
"#.to_vec())),
            1..4,
        ),
    ) {
        let mut text = json!({"method": "echo", "params": params, "id": 1}).to_string().into_bytes();
        for (at, op, b) in edits {
            let at = at % (text.len() + 1);
            match op {
                0 => text.insert(at, b),
                1 if at < text.len() => { text.remove(at); }
                _ if at < text.len() => text[at] = b,
                _ => {}
            }
        }
        proptest::prop_assume!(text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'));
        // An edit inside a multi-byte character: serde's IgnoredAny skips strings without
        // checking UTF-8 (the decoder's final parse does check it).
        proptest::prop_assume!(std::str::from_utf8(&text).is_ok());
        let serde = serde_json::from_slice::<serde::de::IgnoredAny>(&text);
        let mut dec = Decoder::new(1 << 20);
        dec.feed(&text);
        let ours = dec.next_message();
        let shown = String::from_utf8_lossy(&text).into_owned();
        match serde {
            Ok(_) => {
                let ok = matches!(&ours, Ok(Some(_)) | Err(FrameError::Invalid { .. }));
                proptest::prop_assert!(ok, "serde accepts {shown}, we said {ours:?}");
                proptest::prop_assert!(!dec.has_partial());
            }
            Err(e) if e.is_eof() => {
                proptest::prop_assert_eq!(&ours, &Ok(None), "serde wants more of {}", shown);
                proptest::prop_assert!(dec.has_partial());
            }
            Err(e) if e.to_string().starts_with("trailing characters") => {}
            // A number cut off by the end of the input (`[-`, `1.`, `2e`): serde calls it
            // invalid, but one more digit makes it valid, so a stream decoder must wait.
            Err(e) if e.to_string().starts_with("invalid number")
                && (e.line(), e.column()) == last_byte_position(&text)
                && text.last().is_some_and(|b| b"0123456789-+.eE".contains(b)) =>
            {
                proptest::prop_assert_eq!(&ours, &Ok(None), "a number cut off at the end of {}", shown);
            }
            Err(e) => {
                let syntax = matches!(&ours, Err(FrameError::Syntax { .. }));
                proptest::prop_assert!(syntax, "serde: {e} in {shown}, we said {ours:?}");
            }
        }
    }
}

/// The (line, column) serde_json gives an error at the last byte of `text`: lines count from 1,
/// columns are 1-based bytes within the line.
fn last_byte_position(text: &[u8]) -> (usize, usize) {
    let Some(last) = text.len().checked_sub(1) else {
        return (1, 0);
    };
    let before = &text[..last];
    let line = 1 + before.iter().filter(|b| **b == b'\n').count();
    let column = match before.iter().rposition(|b| *b == b'\n') {
        Some(nl) => last - nl,
        None => last + 1,
    };
    (line, column)
}

#[test]
fn raw_encoders_write_the_bytes_the_serde_encoders_write() {
    let texts = [
        "1",
        "-0.5e3",
        r#""a\"b\u00e9""#,
        "[1,[2,{}]]",
        r#"{"x":[null,true]}"#,
        "null",
    ];
    for id_text in texts {
        let id: Json = serde_json::from_str(id_text).unwrap();
        let raw_id = RawValue::from_string(id_text.to_string()).unwrap();
        for result in texts {
            let value: Json = serde_json::from_str(result).unwrap();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            encode_reply(&mut a, &value, &id);
            encode_reply_raw(&mut b, result, &raw_id);
            assert_eq!(String::from_utf8(b).unwrap(), String::from_utf8(a).unwrap());
            let (mut a, mut b) = (Vec::new(), Vec::new());
            encode_error(&mut a, &value, &id);
            encode_error_raw(&mut b, result, &raw_id);
            assert_eq!(String::from_utf8(b).unwrap(), String::from_utf8(a).unwrap());
        }
    }
}
