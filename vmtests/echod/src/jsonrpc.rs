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

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
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

    fn is_null(&self) -> bool {
        self.text() == "null"
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
            #[cfg(test)]
            looked: 0,
        }
    }

    /// Appends bytes read from the stream.
    pub fn feed(&mut self, data: &[u8]) {
        // A peer that dribbles sends one byte per read: push it without a memcpy call.
        match data {
            [b] => self.buf.push(*b),
            _ => self.buf.extend_from_slice(data),
        }
    }

    /// True when bytes of an incomplete message are buffered (at end of stream that is an error).
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
    /// message starts a new one).
    pub fn shrink_idle(&mut self) {
        if !self.has_partial() && self.scanned == self.buf.len() && self.buf.capacity() > Self::KEEP
        {
            self.buf = Vec::new();
            self.scanned = 0;
        }
    }

    /// The most buffer capacity an idle decoder keeps.
    pub const KEEP: usize = 8 * 1024;

    /// The next complete message, `Ok(None)` if more bytes are needed, or the error that ends
    /// this connection. Every byte is scanned once; a syntax error is reported as soon as its
    /// byte has been fed.
    pub fn next_message(&mut self) -> Result<Option<Message>, FrameError> {
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
}

fn take_nonnull(map: &mut BTreeMap<String, Json>, key: &str) -> Option<Json> {
    map.remove(key).filter(|v| !v.is_null())
}

impl Message {
    /// Parses one complete JSON text and checks it against the JSON-RPC 1.0 message shapes.
    pub fn from_slice(bytes: &[u8]) -> Result<Message, FrameError> {
        let syntax = |e: serde_json::Error| FrameError::Syntax {
            details: format!("{e} (line/column within the message)"),
        };
        // One parse: a value that is not an object fails it with a type (data) error.
        let mut map: BTreeMap<String, Json> = serde_json::from_slice(bytes).map_err(|e| {
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
        // The id is taken first so that an error reply can name it; it is cloned only then.
        let id = take_nonnull(&mut map, "id");
        let invalid = |details: String| FrameError::Invalid {
            details,
            id: id.clone().unwrap_or_else(Json::null),
        };
        let method = match map.remove("method") {
            None => None,
            Some(m) => match m.parse::<String>() {
                Ok(s) => Some(s),
                Err(_) => return Err(invalid("method is not a JSON string".into())),
            },
        };
        let params = take_nonnull(&mut map, "params");
        let result = take_nonnull(&mut map, "result");
        let error = take_nonnull(&mut map, "error");
        if let Some(name) = map.keys().next() {
            let name = super::text::escape_controls(name, false);
            return Err(invalid(format!("message has unexpected member \"{name}\"")));
        }
        if params.as_ref().is_some_and(|p| !p.text().starts_with('[')) {
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
        let id = id.unwrap_or_else(Json::null);
        Ok(match type_name {
            "reply" => Message::Reply {
                result: result.unwrap_or_else(Json::null),
                id,
            },
            "error" => Message::Error {
                error: error.unwrap_or_else(Json::null),
                id,
            },
            "request" => Message::Request {
                method: method.unwrap_or_default(),
                params: params.unwrap_or_else(Json::null),
                id,
            },
            _ => Message::Notify {
                method: method.unwrap_or_default(),
                params: params.unwrap_or_else(Json::null),
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

// An explicit path, so that the decoder bench (which compiles this file by path) finds it too.
#[cfg(test)]
#[path = "jsonrpc/tests.rs"]
mod tests;
