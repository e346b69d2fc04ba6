//! JSON-RPC 1.0 as OVSDB frames it: a byte stream of concatenated JSON objects, no length prefix
//! and no delimiter.
//!
//! [`Decoder`] finds message boundaries with an incremental scanner (brace depth, strings and
//! escapes), so every byte is looked at once however the stream is split into reads, and the
//! buffered size is bounded: a message that grows past the limit is an error before it is parsed.
//! Each complete object is then parsed with `serde_json` and checked against the JSON-RPC 1.0 shapes
//! OVS enforces (`lib/jsonrpc.c`: a request has `method`, `params` and `id`; a notification has
//! `method` and `params` with a null `id`; a reply has `result` and `id`; an error has `error` and
//! `id`; `params` is an array; no other members).

use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// One JSON-RPC 1.0 message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Message {
    /// `{"method":M,"params":[...],"id":I}` with a non-null id: must be answered.
    Request {
        /// The method name.
        method: String,
        /// The parameters (always a JSON array).
        params: Vec<Value>,
        /// The request id, echoed in the reply.
        id: Value,
    },
    /// `{"method":M,"params":[...],"id":null}`: never answered.
    Notify {
        /// The method name.
        method: String,
        /// The parameters.
        params: Vec<Value>,
    },
    /// `{"result":R,"error":null,"id":I}`.
    Reply {
        /// The result.
        result: Value,
        /// The id of the request this answers.
        id: Value,
    },
    /// `{"result":null,"error":E,"id":I}`.
    Error {
        /// The error.
        error: Value,
        /// The id of the request this answers.
        id: Value,
    },
}

/// Why a byte stream is not a valid sequence of JSON-RPC messages. Each variant is answered with
/// an error reply (see [`FrameError::to_reply`]) and the connection is then closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// The bytes are not JSON (or a JSON value other than an object starts the message).
    Syntax {
        /// What is wrong, with the byte offset where known.
        details: String,
    },
    /// A message is longer than the configured limit.
    TooLong {
        /// The limit in bytes (`--max-message-size`).
        limit: usize,
    },
    /// Valid JSON that is not a JSON-RPC 1.0 message.
    Invalid {
        /// What is wrong (the texts of OVS's `jsonrpc_msg_is_valid`).
        details: String,
        /// The message's `id` if it had one, so that the error reply can name it.
        id: Value,
    },
}

impl FrameError {
    /// The short error name used in the reply's `error` member (RFC 7047 error object style).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            FrameError::Syntax { .. } => "syntax error",
            FrameError::TooLong { .. } => "message too long",
            FrameError::Invalid { .. } => "invalid message",
        }
    }

    /// The error reply sent before the connection is closed:
    /// `{"id":ID,"result":null,"error":{"error":KIND,"details":TEXT}}`.
    pub(crate) fn to_reply(&self) -> Vec<u8> {
        let id = match self {
            FrameError::Invalid { id, .. } => id.clone(),
            _ => Value::Null,
        };
        let error = serde_json::json!({"error": self.kind(), "details": self.to_string()});
        let mut out = Vec::new();
        encode_error(&mut out, &error, &id);
        out
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Syntax { details } => write!(f, "syntax error: {details}"),
            FrameError::TooLong { limit } => write!(
                f,
                "message too long: a JSON-RPC message may be at most {limit} bytes \
                 (see --max-message-size)"
            ),
            FrameError::Invalid { details, .. } => {
                write!(f, "invalid JSON-RPC message: {details}")
            }
        }
    }
}

impl std::error::Error for FrameError {}

impl From<FrameError> for std::io::Error {
    fn from(e: FrameError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}

/// Incremental, bounded splitter and parser of a JSON-RPC byte stream.
#[derive(Debug)]
pub(crate) struct Decoder {
    buf: Vec<u8>,
    /// Start of the message being scanned (everything before it is consumed).
    start: usize,
    /// Next byte to scan.
    pos: usize,
    depth: u32,
    in_string: bool,
    escape: bool,
    max: usize,
    /// Length of the partial message when its syntax was last checked: the next check waits
    /// until it has doubled, so checking costs at most twice the message's size in all.
    checked: usize,
    /// How many times a partial message was syntax-checked (for the linearity test).
    checks: usize,
}

impl Decoder {
    /// A decoder that rejects messages longer than `max_message_size` bytes.
    pub(crate) fn new(max_message_size: usize) -> Decoder {
        Decoder {
            buf: Vec::new(),
            start: 0,
            pos: 0,
            depth: 0,
            in_string: false,
            escape: false,
            max: max_message_size.max(2),
            checked: 0,
            checks: 0,
        }
    }

    /// Appends bytes read from the stream.
    pub(crate) fn feed(&mut self, data: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// True when bytes of an incomplete message are buffered (at end of stream that is an error).
    pub(crate) fn has_partial(&self) -> bool {
        self.depth > 0
    }

    /// The next complete message, `Ok(None)` if more bytes are needed, or the error that ends
    /// this connection.
    pub(crate) fn next_message(&mut self) -> Result<Option<Message>, FrameError> {
        match self.next_frame()? {
            None => Ok(None),
            Some((a, b)) => {
                let value: Value =
                    serde_json::from_slice(&self.buf[a..b]).map_err(|e| FrameError::Syntax {
                        details: format!("{e} (line/column within the message)"),
                    })?;
                Message::from_value(value).map(Some)
            }
        }
    }

    /// Finds the byte range of the next complete top-level object.
    fn next_frame(&mut self) -> Result<Option<(usize, usize)>, FrameError> {
        let buf = &self.buf;
        let mut i = self.pos;
        while i < buf.len() {
            let b = buf[i];
            if self.depth == 0 {
                if b.is_ascii_whitespace() {
                    i += 1;
                    self.start = i;
                    continue;
                }
                if b != b'{' {
                    return Err(FrameError::Syntax {
                        details: format!(
                            "expected '{{' to start a JSON-RPC message (a JSON object), found {}",
                            describe_byte(b)
                        ),
                    });
                }
                self.start = i;
                self.depth = 1;
            } else if self.in_string {
                if self.escape {
                    self.escape = false;
                } else if b == b'\\' {
                    self.escape = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
            } else {
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            let range = (self.start, i + 1);
                            if range.1 - range.0 > self.max {
                                return Err(FrameError::TooLong { limit: self.max });
                            }
                            self.pos = i + 1;
                            self.start = i + 1;
                            self.checked = 0;
                            return Ok(Some(range));
                        }
                    }
                    _ => {}
                }
            }
            i += 1;
            if self.depth > 0 && i - self.start > self.max {
                return Err(FrameError::TooLong { limit: self.max });
            }
        }
        self.pos = i;
        let partial = &self.buf[self.start..];
        if self.depth > 0 && partial.len() >= 2 * self.checked {
            // Incomplete: report a syntax error now rather than when (if ever) the braces
            // balance, e.g. `{"params":[}` or `{"a" x`. Checked again only once the partial
            // message has doubled, so that the checks stay linear in its size.
            self.checked = partial.len();
            self.checks += 1;
            if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(partial) {
                if !could_continue(&e, partial) {
                    return Err(FrameError::Syntax {
                        details: format!("{e} (line/column within the message)"),
                    });
                }
            }
        }
        // Drop consumed bytes so the buffer holds at most one partial message.
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.pos -= self.start;
            self.start = 0;
        }
        Ok(None)
    }
}

/// Whether `e`, from parsing the incomplete message `partial`, may go away with more bytes: the
/// end of input came too early, or a number stops at the very end (`-`, `1.`, `1e`, `1e+` are
/// prefixes of valid numbers that serde_json calls invalid).
fn could_continue(e: &serde_json::Error, partial: &[u8]) -> bool {
    if e.is_eof() {
        return true;
    }
    if !e.to_string().starts_with("invalid number") {
        return false;
    }
    // serde_json's line and column (1-based, in bytes) name the byte it stopped at.
    let line_start = if e.line() <= 1 {
        0
    } else {
        partial
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(e.line() - 2)
            .map_or(partial.len(), |(i, _)| i + 1)
    };
    line_start + e.column() >= partial.len()
}

fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

fn take_nonnull(map: &mut serde_json::Map<String, Value>, key: &str) -> Option<Value> {
    match map.remove(key) {
        None | Some(Value::Null) => None,
        Some(v) => Some(v),
    }
}

impl Message {
    /// Checks a parsed JSON value against the JSON-RPC 1.0 message shapes.
    pub(crate) fn from_value(value: Value) -> Result<Message, FrameError> {
        let Value::Object(mut map) = value else {
            return Err(FrameError::Invalid {
                details: "message is not a JSON object".into(),
                id: Value::Null,
            });
        };
        // The id is taken first so that an error reply can name it; it is cloned only then.
        let id = take_nonnull(&mut map, "id");
        let invalid = |details: String| FrameError::Invalid {
            details,
            id: id.clone().unwrap_or(Value::Null),
        };
        let method = match map.remove("method") {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(invalid("method is not a JSON string".into())),
        };
        let params = take_nonnull(&mut map, "params");
        let result = take_nonnull(&mut map, "result");
        let error = take_nonnull(&mut map, "error");
        if let Some(name) = map.keys().next() {
            return Err(invalid(format!("message has unexpected member \"{name}\"")));
        }
        let params = match params {
            None => None,
            Some(Value::Array(a)) => Some(a),
            Some(_) => return Err(invalid("\"params\" must be JSON array".into())),
        };
        // Type by precedence, then the members each type must and must not have.
        let (type_name, pattern): (&str, [bool; 5]) = if result.is_some() {
            ("reply", [false, false, true, false, true])
        } else if error.is_some() {
            ("error", [false, false, false, true, true])
        } else if id.is_some() {
            ("request", [true, true, false, false, true])
        } else {
            ("notification", [true, true, false, false, false])
        };
        let present = [
            method.is_some(),
            params.is_some(),
            result.is_some(),
            error.is_some(),
            id.is_some(),
        ];
        let names = ["method", "params", "result", "error", "id"];
        for k in 0..5 {
            if present[k] != pattern[k] {
                let not = if pattern[k] { "" } else { " not" };
                return Err(invalid(format!(
                    "{type_name} must{not} have \"{}\"",
                    names[k]
                )));
            }
        }
        Ok(match type_name {
            "reply" => Message::Reply {
                result: result.unwrap_or(Value::Null),
                id: id.unwrap_or(Value::Null),
            },
            "error" => Message::Error {
                error: error.unwrap_or(Value::Null),
                id: id.unwrap_or(Value::Null),
            },
            "request" => Message::Request {
                method: method.unwrap_or_default(),
                params: params.unwrap_or_default(),
                id: id.unwrap_or(Value::Null),
            },
            _ => Message::Notify {
                method: method.unwrap_or_default(),
                params: params.unwrap_or_default(),
            },
        })
    }
}

#[derive(Serialize)]
struct ReplyOut<'a> {
    id: &'a Value,
    result: &'a Value,
    error: &'a Value,
}

/// Appends `{"id":ID,"result":RESULT,"error":null}` to `out`.
pub(crate) fn encode_reply(out: &mut Vec<u8>, result: &Value, id: &Value) {
    let msg = ReplyOut {
        id,
        result,
        error: &Value::Null,
    };
    // Serialising a `Value` into a Vec cannot fail.
    serde_json::to_writer(&mut *out, &msg).unwrap_or(());
}

/// Appends `{"id":ID,"result":null,"error":ERROR}` to `out`.
pub(crate) fn encode_error(out: &mut Vec<u8>, error: &Value, id: &Value) {
    let msg = ReplyOut {
        id,
        result: &Value::Null,
        error,
    };
    serde_json::to_writer(&mut *out, &msg).unwrap_or(());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
                    params: vec![json!("a{b}\"c")],
                    id: json!(1)
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
            match Message::from_value(value.clone()) {
                Err(FrameError::Invalid { details, .. }) => assert_eq!(details, want, "{value}"),
                other => panic!("{value}: {other:?}"),
            }
        }
        assert_eq!(
            Message::from_value(json!({"method": "m", "params": [], "id": null})).unwrap(),
            Message::Notify {
                method: "m".into(),
                params: vec![]
            }
        );
    }

    #[test]
    fn error_reply_names_the_request_id() {
        let e = Message::from_value(json!({"method": "echo", "params": 3, "id": 42})).unwrap_err();
        let reply: Value = serde_json::from_slice(&e.to_reply()).unwrap();
        assert_eq!(reply["id"], json!(42));
        assert_eq!(reply["result"], Value::Null);
        assert_eq!(reply["error"]["error"], json!("invalid message"));
    }

    /// Every message and the kind of the error that ends the stream, feeding `stream` in
    /// pieces that end at `cuts`.
    fn decode_in_pieces(stream: &[u8], cuts: &[usize]) -> (Vec<Message>, Option<&'static str>) {
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
                    Err(e) => return (got, Some(e.kind())),
                }
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
                params: vec![json!(-1)],
                id: json!(1)
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
    fn partial_messages_are_checked_a_logarithmic_number_of_times() {
        // 1 MB sent 20 bytes at a time: the syntax check runs once per doubling, not per read.
        let body = "x".repeat(1 << 20);
        let msg = format!(r#"{{"method":"echo","params":["{body}"],"id":1}}"#);
        let mut dec = Decoder::new(2 << 20);
        for piece in msg.as_bytes().chunks(20) {
            dec.feed(piece);
            if let Some(m) = dec.next_message().unwrap() {
                assert!(matches!(m, Message::Request { .. }));
            }
        }
        assert!(dec.checks <= 22, "{} checks for 1 MB", dec.checks);
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
            proptest::prop_assert_eq!(whole.1, None);
            proptest::prop_assert_eq!(whole.0.len(), params.len());
            let cuts: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
            proptest::prop_assert_eq!(decode_in_pieces(&stream, &cuts), whole);
        }

        #[test]
        fn any_split_of_any_bytes_gives_the_same_messages_and_error(
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..256),
            cuts in proptest::collection::vec(0usize..256, 0..8),
        ) {
            let cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
            proptest::prop_assert_eq!(decode_in_pieces(&data, &cuts), decode_in_pieces(&data, &[]));
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
    }
}
