//! JSON-RPC 1.0 as OVSDB frames it: a byte stream of concatenated JSON objects, no length prefix
//! and no delimiter.
//!
//! [`Decoder`] finds message boundaries with an incremental scanner that checks the JSON grammar
//! as bytes arrive (`scan.rs`), so every byte is looked at once however the stream is split into
//! reads, a syntax error is reported at its byte, and the buffered size is bounded: a message that
//! grows past the limit is an error before it is parsed.
//! Each complete object is then parsed with `serde_json` and checked against the JSON-RPC 1.0 shapes
//! OVS enforces (`lib/jsonrpc.c`: a request has `method`, `params` and `id`; a notification has
//! `method` and `params` with a null `id`; a reply has `result` and `id`; an error has `error` and
//! `id`; `params` is an array; no other members).
//!
//! Member values are kept as the exact JSON text the peer sent ([`Json`]): `echo` must return its
//! params unchanged, and a parsed number would not be (`1.0e2` would come back as `100.0`,
//! `123456789012345678901234567890` as a float, `1e400` would be refused as out of range). Only the
//! method name is decoded; a consumer that needs typed params parses them with [`Json::parse`].
//!
//! The data plane uses the borrowed forms: [`Decoder::decode`] parses messages where they lie in
//! the bytes just read (only an incomplete message is copied, into the decoder), as
//! [`MessageRef`]s whose members point into those bytes, and [`encode_reply_raw`] writes a reply
//! from member texts. No member is copied or allocated for an `echo`.

use serde::de::{DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

#[path = "jsonrpc/scan.rs"]
mod scan;

use scan::{Scanned, Scanner};

/// A JSON value kept as the text it was received as (validated, without surrounding whitespace).
/// Two values are equal when their texts are.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(transparent)]
pub struct Json(Box<RawValue>);

impl Json {
    /// The JSON text.
    pub fn text(&self) -> &str {
        self.0.get()
    }

    /// Decodes the value as `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(self.text())
    }

    /// The JSON text of `value` (serialising a `Value` cannot fail).
    #[cfg(test)]
    pub fn of(value: &Value) -> Json {
        Json(serde_json::value::to_raw_value(value).unwrap_or_default())
    }

    fn null() -> Json {
        Json(RawValue::NULL.to_owned())
    }
}

impl Eq for Json {}

impl PartialEq for Json {
    fn eq(&self, other: &Json) -> bool {
        self.text() == other.text()
    }
}

impl Serialize for Json {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// One JSON-RPC 1.0 message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// `{"method":M,"params":[...],"id":I}` with a non-null id: must be answered.
    Request {
        /// The method name.
        method: String,
        /// The parameters (always a JSON array), as sent.
        params: Json,
        /// The request id, echoed in the reply as sent.
        id: Json,
    },
    /// `{"method":M,"params":[...],"id":null}`: never answered.
    Notify {
        /// The method name.
        method: String,
        /// The parameters (a JSON array), as sent.
        params: Json,
    },
    /// `{"result":R,"error":null,"id":I}`.
    Reply {
        /// The result.
        result: Json,
        /// The id of the request this answers.
        id: Json,
    },
    /// `{"result":null,"error":E,"id":I}`.
    Error {
        /// The error.
        error: Json,
        /// The id of the request this answers.
        id: Json,
    },
}

impl Message {
    /// The same message, its members borrowed.
    pub fn as_ref(&self) -> MessageRef<'_> {
        match self {
            Message::Request { method, params, id } => MessageRef::Request {
                method: Cow::Borrowed(method),
                params: &params.0,
                id: &id.0,
            },
            Message::Notify { method, params } => MessageRef::Notify {
                method: Cow::Borrowed(method),
                params: &params.0,
            },
            Message::Reply { result, id } => MessageRef::Reply {
                result: &result.0,
                id: &id.0,
            },
            Message::Error { error, id } => MessageRef::Error {
                error: &error.0,
                id: &id.0,
            },
        }
    }
}

/// One JSON-RPC 1.0 message whose members are borrowed from the bytes it was parsed from (each
/// member as its JSON text, exactly as received): what [`Decoder::decode`] hands out.
#[derive(Debug, Clone)]
pub enum MessageRef<'a> {
    /// A request: must be answered.
    Request {
        /// The method name (decoded: borrowed unless it has escapes).
        method: Cow<'a, str>,
        /// The parameters (a JSON array), as sent.
        params: &'a RawValue,
        /// The request id, as sent.
        id: &'a RawValue,
    },
    /// A notification: never answered.
    Notify {
        /// The method name.
        method: Cow<'a, str>,
        /// The parameters (a JSON array), as sent.
        params: &'a RawValue,
    },
    /// A reply.
    Reply {
        /// The result.
        result: &'a RawValue,
        /// The id of the request this answers.
        id: &'a RawValue,
    },
    /// An error reply.
    Error {
        /// The error.
        error: &'a RawValue,
        /// The id of the request this answers.
        id: &'a RawValue,
    },
}

impl MessageRef<'_> {
    /// The message with its members copied.
    pub fn to_owned_message(&self) -> Message {
        let own = |v: &RawValue| Json(v.to_owned());
        match self {
            MessageRef::Request { method, params, id } => Message::Request {
                method: method.to_string(),
                params: own(params),
                id: own(id),
            },
            MessageRef::Notify { method, params } => Message::Notify {
                method: method.to_string(),
                params: own(params),
            },
            MessageRef::Reply { result, id } => Message::Reply {
                result: own(result),
                id: own(id),
            },
            MessageRef::Error { error, id } => Message::Error {
                error: own(error),
                id: own(id),
            },
        }
    }
}

/// Why a byte stream is not a valid sequence of JSON-RPC messages. Each variant is answered with
/// an error reply (see [`FrameError::to_reply`]) and the connection is then closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
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
    /// Every connection's half-received messages together hold the whole memory budget, and
    /// this message is a large one.
    NoMemory {
        /// The budget in bytes (`--max-buffered-bytes`).
        budget: usize,
    },
    /// Valid JSON that is not a JSON-RPC 1.0 message.
    Invalid {
        /// What is wrong (the texts of OVS's `jsonrpc_msg_is_valid`).
        details: String,
        /// The message's `id` if it had one, so that the error reply can name it.
        id: Json,
    },
}

impl FrameError {
    /// The short error name used in the reply's `error` member (RFC 7047 error object style).
    pub fn kind(&self) -> &'static str {
        match self {
            FrameError::Syntax { .. } => "syntax error",
            FrameError::TooLong { .. } => "message too long",
            FrameError::NoMemory { .. } => "server busy",
            FrameError::Invalid { .. } => "invalid message",
        }
    }

    /// The error reply sent before the connection is closed:
    /// `{"id":ID,"result":null,"error":{"error":KIND,"details":TEXT}}`.
    pub fn to_reply(&self) -> Vec<u8> {
        let id = match self {
            FrameError::Invalid { id, .. } => id.clone(),
            _ => Json::null(),
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
            FrameError::NoMemory { budget } => write!(
                f,
                "server busy: half-received messages already hold the {budget} bytes echod \
                 keeps for them (see --max-buffered-bytes); send the message again later"
            ),
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
pub struct Decoder {
    /// The current message's bytes from its `{` (or bytes not scanned yet).
    buf: Vec<u8>,
    /// How much of `buf` is scanned.
    scanned: usize,
    scanner: Scanner,
    max: usize,
    /// The error that ended the stream, returned again by every later call ([`Decoder::fail`]).
    failed: Option<Box<FrameError>>,
    /// Bytes the scanner looked at in all (for the linearity test).
    #[cfg(test)]
    looked: usize,
}

impl Decoder {
    /// A decoder that rejects messages longer than `max_message_size` bytes.
    pub fn new(max_message_size: usize) -> Decoder {
        Decoder {
            buf: Vec::new(),
            scanned: 0,
            scanner: Scanner::new(),
            max: max_message_size.max(2),
            failed: None,
            #[cfg(test)]
            looked: 0,
        }
    }

    /// Appends bytes read from the stream. (After an error, bytes fed are kept but never
    /// decoded: the caller closes the stream.)
    #[inline]
    pub fn feed(&mut self, data: &[u8]) {
        // A peer that dribbles sends one byte per read: push it without a memcpy call.
        match data {
            [b] => self.buf.push(*b),
            _ => self.buf.extend_from_slice(data),
        }
    }

    /// True when bytes of an incomplete message are buffered (at end of stream that is an error).
    #[inline]
    pub fn has_partial(&self) -> bool {
        self.scanner.in_message()
    }

    /// The bytes of the incomplete message, once [`Decoder::next_message`] returned `Ok(None)`
    /// (empty between messages). Fed to a fresh decoder, they put it in the same state: what
    /// `--keep-sessions` hands to the next instance.
    pub fn pending(&self) -> &[u8] {
        if !self.has_partial() {
            return &[];
        }
        let len = self.scanner.message_len().min(self.buf.len());
        &self.buf[self.buf.len() - len..]
    }

    /// How many bytes of an incomplete message are buffered (what the memory budget counts).
    pub fn pending_len(&self) -> usize {
        self.pending().len()
    }

    /// Gives memory back once a large message is done: when every byte fed was decoded and no
    /// message is half-way, a buffer that grew past [`Decoder::KEEP`] is freed (the next
    /// message starts a new one), and so is the nesting stack of a deeply nested message.
    pub fn shrink_idle(&mut self) {
        if !self.has_partial() && self.scanned == self.buf.len() {
            if self.buf.capacity() > Self::KEEP {
                self.buf = Vec::new();
                self.scanned = 0;
            }
            self.scanner.shrink_idle(Self::KEEP);
        }
    }

    /// The most buffer capacity an idle decoder keeps.
    pub const KEEP: usize = 8 * 1024;

    /// The buffer capacity the decoder holds now (what an idle connection keeps).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// The next complete message, `Ok(None)` if more bytes are needed, or the error that ends
    /// this connection (and is returned again by every later call). Every byte is scanned once;
    /// a syntax error is reported as soon as its byte has been fed.
    #[inline]
    pub fn next_message(&mut self) -> Result<Option<Message>, FrameError> {
        if let Some(e) = &self.failed {
            return Err((**e).clone());
        }
        self.next_unchecked().map_err(|e| self.fail(e))
    }

    /// [`Decoder::next_message`] of a decoder that has not failed.
    #[inline]
    fn next_unchecked(&mut self) -> Result<Option<Message>, FrameError> {
        let scanned =
            self.scanner
                .scan(&self.buf[self.scanned..])
                .map_err(|e| FrameError::Syntax {
                    details: e.to_string(),
                })?;
        match scanned {
            Scanned::End { consumed, len } => {
                #[cfg(test)]
                {
                    self.looked += consumed;
                }
                if len > self.max {
                    return Err(FrameError::TooLong { limit: self.max });
                }
                let end = self.scanned + consumed;
                self.scanned = end;
                Message::from_slice(&self.buf[end - len..end]).map(Some)
            }
            Scanned::More => {
                #[cfg(test)]
                {
                    self.looked += self.buf.len() - self.scanned;
                }
                let len = self.scanner.message_len();
                if len > self.max {
                    return Err(FrameError::TooLong { limit: self.max });
                }
                // Keep only the partial message: the buffer holds at most one.
                if len < self.buf.len() {
                    self.buf.drain(..self.buf.len() - len);
                }
                self.scanned = self.buf.len();
                Ok(None)
            }
        }
    }

    /// Decodes `data`, the next bytes of the stream, handing each message that completes to
    /// `each` in order, then returns; the first error ends it (the messages before it were
    /// handed out). The same messages and error as [`Decoder::feed`] and
    /// [`Decoder::next_message`] until `Ok(None)`, however the stream is split, but without a
    /// copy: a message that lies wholly in `data` is parsed there, and only the bytes of a
    /// message still incomplete at the end of `data` are kept (in the decoder's buffer, which
    /// the next call completes). An error ends the stream: every later call returns it again.
    ///
    /// Always inlined, and only its common case: a read inside a message (each of a dribbling
    /// peer's reads) costs a scan and a few branches, not a call (`benches/decode.rs`); the
    /// rest is in functions of its own.
    #[inline(always)]
    pub fn decode(
        &mut self,
        data: &[u8],
        each: impl FnMut(MessageRef<'_>),
    ) -> Result<(), FrameError> {
        if self.scanned == self.buf.len() && self.has_partial() {
            // The buffer holds the start of a message: scan on where it stopped. (A failed
            // decoder holds none: see `Decoder::fail`.)
            match self.scan(data)? {
                Scanned::More => {
                    self.feed(data);
                    self.scanned = self.buf.len();
                    Ok(())
                }
                Scanned::End { consumed, len } => self.complete(data, consumed, len, each),
            }
        } else {
            self.decode_slow(data, each)
        }
    }

    /// [`Decoder::decode`] when the buffered message ends after `consumed` bytes of `data`:
    /// hands it out, then decodes the rest of `data`.
    #[inline(never)]
    fn complete(
        &mut self,
        data: &[u8],
        consumed: usize,
        len: usize,
        mut each: impl FnMut(MessageRef<'_>),
    ) -> Result<(), FrameError> {
        self.buf.extend_from_slice(&data[..consumed]);
        let start = self.buf.len() - len;
        if let Err(e) = MessageRef::from_slice(&self.buf[start..]).map(&mut each) {
            return Err(self.fail(e));
        }
        self.buf.clear();
        self.scanned = 0;
        self.decode_in_place(&data[consumed..], each)
    }

    /// [`Decoder::decode`] when no message is half-way, or bytes fed with [`Decoder::feed`]
    /// are not decoded yet, or the decoder failed.
    #[inline(never)]
    fn decode_slow(
        &mut self,
        data: &[u8],
        mut each: impl FnMut(MessageRef<'_>),
    ) -> Result<(), FrameError> {
        if let Some(e) = &self.failed {
            return Err((**e).clone());
        }
        if self.scanned < self.buf.len() {
            // Bytes fed and not decoded yet (mixed use with `feed`): decode them first, in
            // the buffer.
            self.feed(data);
            while let Some(m) = self.next_message()? {
                each(m.as_ref());
            }
            return Ok(());
        }
        self.decode_in_place(data, each)
    }

    /// Ends the stream on `e`: keeps it, to be returned again by every later call, and drops
    /// the buffered bytes, which no later call reads (the scanner is left between messages,
    /// so that [`Decoder::decode`] takes the path that checks).
    #[cold]
    #[inline(never)]
    fn fail(&mut self, e: FrameError) -> FrameError {
        self.failed = Some(Box::new(e.clone()));
        self.buf = Vec::new();
        self.scanned = 0;
        self.scanner = Scanner::new();
        e
    }

    /// Decodes `rest` with no message half-way: the messages that lie wholly in it are parsed
    /// where they are, and the bytes of one left incomplete are kept.
    fn decode_in_place(
        &mut self,
        mut rest: &[u8],
        mut each: impl FnMut(MessageRef<'_>),
    ) -> Result<(), FrameError> {
        loop {
            match self.scan(rest)? {
                Scanned::End { consumed, len } => {
                    let m = MessageRef::from_slice(&rest[consumed - len..consumed]);
                    each(m.map_err(|e| self.fail(e))?);
                    rest = &rest[consumed..];
                }
                Scanned::More => {
                    let len = self.scanner.message_len();
                    self.buf.extend_from_slice(&rest[rest.len() - len..]);
                    self.scanned = self.buf.len();
                    return Ok(());
                }
            }
        }
    }

    /// Scans `bytes` on from the scanner's state, with the size limit checked (see
    /// [`Decoder::decode`]). Inlined, so that its result stays in registers (see
    /// [`Scanner::scan`]).
    #[inline(always)]
    fn scan(&mut self, bytes: &[u8]) -> Result<Scanned, FrameError> {
        let scanned = match self.scanner.scan(bytes) {
            Ok(scanned) => scanned,
            Err(e) => {
                return Err(self.fail(FrameError::Syntax {
                    details: e.to_string(),
                }));
            }
        };
        #[cfg(test)]
        {
            self.looked += match scanned {
                Scanned::End { consumed, .. } => consumed,
                Scanned::More => bytes.len(),
            };
        }
        let len = match scanned {
            Scanned::End { len, .. } => len,
            Scanned::More => self.scanner.message_len(),
        };
        if len > self.max {
            return Err(self.fail(FrameError::TooLong { limit: self.max }));
        }
        Ok(scanned)
    }
}

/// The members of a JSON-RPC message object, borrowed from its text: the five that OVS knows
/// (the last of each name wins, as a map's insert would) and the smallest other name, if any.
#[derive(Debug, Default)]
struct Members<'a> {
    method: Option<&'a RawValue>,
    params: Option<&'a RawValue>,
    result: Option<&'a RawValue>,
    error: Option<&'a RawValue>,
    id: Option<&'a RawValue>,
    /// The member name OVS does not know that sorts first.
    unexpected: Option<String>,
}

/// A member name: borrowed from the text unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut m = Members::default();
                while let Some(Key(key)) = map.next_key()? {
                    // Every value is read as its raw text (checked as such, UTF-8 included),
                    // known member or not.
                    let value: &'de RawValue = map.next_value()?;
                    let slot = match &*key {
                        "method" => &mut m.method,
                        "params" => &mut m.params,
                        "result" => &mut m.result,
                        "error" => &mut m.error,
                        "id" => &mut m.id,
                        _ => {
                            if m.unexpected.as_deref().is_none_or(|u| *key < *u) {
                                m.unexpected = Some(key.into_owned());
                            }
                            continue;
                        }
                    };
                    *slot = Some(value);
                }
                Ok(m)
            }
        }
        d.deserialize_map(MembersVisitor)
    }
}

/// A member's value unless it is `null` (OVS treats a null member as an absent one).
fn nonnull(v: Option<&RawValue>) -> Option<&RawValue> {
    v.filter(|v| v.get() != "null")
}

/// The string a JSON string text holds; `None` if the text is not a string.
fn string_text(raw: &RawValue) -> Option<Cow<'_, str>> {
    let t = raw.get();
    match t.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        // Valid JSON: without a backslash, what is between the quotes is the string.
        Some(inner) if !inner.contains('\\') => Some(Cow::Borrowed(inner)),
        _ => serde_json::from_str::<String>(t).ok().map(Cow::Owned),
    }
}

impl Message {
    /// Parses one complete JSON text and checks it against the JSON-RPC 1.0 message shapes.
    pub fn from_slice(bytes: &[u8]) -> Result<Message, FrameError> {
        MessageRef::from_slice(bytes).map(|m| m.to_owned_message())
    }
}

impl<'a> MessageRef<'a> {
    /// Parses one complete JSON text and checks it against the JSON-RPC 1.0 message shapes,
    /// borrowing the members from `bytes`.
    pub fn from_slice(bytes: &'a [u8]) -> Result<MessageRef<'a>, FrameError> {
        let syntax = |e: serde_json::Error| FrameError::Syntax {
            details: format!("{e} (line/column within the message)"),
        };
        // One parse: a value that is not an object fails it with a type (data) error.
        let m: Members<'a> = serde_json::from_slice(bytes).map_err(|e| {
            let object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
            if e.is_data() && !object {
                FrameError::Invalid {
                    details: "message is not a JSON object".into(),
                    id: Json::null(),
                }
            } else {
                syntax(e)
            }
        })?;
        // The id is taken first so that an error reply can name it; it is copied only then.
        let id = nonnull(m.id);
        let invalid = |details: String| FrameError::Invalid {
            details,
            id: id.map_or_else(Json::null, |id| Json(id.to_owned())),
        };
        let method = match m.method {
            None => None,
            Some(raw) => match string_text(raw) {
                Some(s) => Some(s),
                None => return Err(invalid("method is not a JSON string".into())),
            },
        };
        let params = nonnull(m.params);
        let result = nonnull(m.result);
        let error = nonnull(m.error);
        if let Some(name) = &m.unexpected {
            let name = super::text::escape_controls(name, false);
            return Err(invalid(format!("message has unexpected member \"{name}\"")));
        }
        if params.is_some_and(|p| !p.get().starts_with('[')) {
            return Err(invalid("\"params\" must be JSON array".into()));
        }
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
        // The pattern checks guarantee each member used below (`None` is unreachable).
        let null = RawValue::NULL;
        Ok(match type_name {
            "reply" => MessageRef::Reply {
                result: result.unwrap_or(null),
                id: id.unwrap_or(null),
            },
            "error" => MessageRef::Error {
                error: error.unwrap_or(null),
                id: id.unwrap_or(null),
            },
            "request" => MessageRef::Request {
                method: method.unwrap_or_default(),
                params: params.unwrap_or(null),
                id: id.unwrap_or(null),
            },
            _ => MessageRef::Notify {
                method: method.unwrap_or_default(),
                params: params.unwrap_or(null),
            },
        })
    }
}

#[derive(Serialize)]
struct ReplyOut<'a, R: Serialize + ?Sized, E: Serialize + ?Sized> {
    id: &'a Json,
    result: &'a R,
    error: &'a E,
}

/// Appends `{"id":ID,"result":RESULT,"error":null}` to `out`.
pub fn encode_reply<R: Serialize + ?Sized>(out: &mut Vec<u8>, result: &R, id: &Json) {
    let msg = ReplyOut {
        id,
        result,
        error: &Value::Null,
    };
    // Serialising a `Value`, a `Json` or a string into a Vec cannot fail.
    serde_json::to_writer(&mut *out, &msg).unwrap_or(());
}

/// Appends `{"id":ID,"result":null,"error":ERROR}` to `out`.
pub fn encode_error<E: Serialize + ?Sized>(out: &mut Vec<u8>, error: &E, id: &Json) {
    let msg = ReplyOut {
        id,
        result: &Value::Null,
        error,
    };
    serde_json::to_writer(&mut *out, &msg).unwrap_or(());
}

/// Appends `{"id":ID,"result":RESULT,"error":null}` to `out`, `result` being JSON text (valid,
/// as received): the bytes [`encode_reply`] writes for the same values, without serde.
pub fn encode_reply_raw(out: &mut Vec<u8>, result: &str, id: &RawValue) {
    out.extend_from_slice(b"{\"id\":");
    out.extend_from_slice(id.get().as_bytes());
    out.extend_from_slice(b",\"result\":");
    out.extend_from_slice(result.as_bytes());
    out.extend_from_slice(b",\"error\":null}");
}

/// Appends `{"id":ID,"result":null,"error":ERROR}` to `out`, `error` being JSON text: the bytes
/// [`encode_error`] writes for the same values, without serde.
pub fn encode_error_raw(out: &mut Vec<u8>, error: &str, id: &RawValue) {
    out.extend_from_slice(b"{\"id\":");
    out.extend_from_slice(id.get().as_bytes());
    out.extend_from_slice(b",\"result\":null,\"error\":");
    out.extend_from_slice(error.as_bytes());
    out.push(b'}');
}

// An explicit path, so that the decoder bench (which compiles this file by path) finds it too.
#[cfg(test)]
#[path = "jsonrpc/tests.rs"]
mod tests;
