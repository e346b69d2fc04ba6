//! The incremental JSON syntax checker behind [`Decoder`](super::Decoder): a pushdown automaton
//! that looks at every byte once, however the stream is split into reads, and finds where each
//! top-level object ends.
//!
//! It checks the whole JSON grammar (RFC 8259) as bytes arrive, so a syntax error is reported as
//! soon as the byte that makes it is read, not when (if ever) the braces balance; and a read that
//! ends anywhere, inside a number or a `\u` escape included, just waits for the next. Two checks
//! are left to the final parse of a complete message: UTF-8 inside strings, and what a key's
//! escapes decode to.

use std::fmt;

/// Where the scanner is in the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between messages: whitespace, or `{` to start one.
    Idle,
    /// Just after `{`: a key or `}`.
    KeyOrEnd,
    /// After `,` in an object: a key.
    Key,
    /// After a key: `:`.
    Colon,
    /// Just after `[`: a value or `]`.
    ValueOrEnd,
    /// After `:` or `,` in an array: a value.
    Value,
    /// After a value inside a container: `,` or the closing bracket.
    AfterValue,
    /// Inside a string (`key`: an object key, followed by `:`).
    Str { key: bool },
    /// After `\` in a string.
    Escape { key: bool },
    /// Inside `\uXXXX`, `left` hex digits to go.
    Unicode { key: bool, left: u8 },
    /// Inside a number.
    Number(Num),
    /// Inside `true`, `false` or `null`: where the next byte expected is in [`LITERALS`].
    Literal(u8),
}

/// The states of a number (`-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Num {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    Exp,
    ExpSign,
    ExpDigits,
}

impl Num {
    /// Whether a number may end here.
    fn complete(self) -> bool {
        matches!(self, Num::Zero | Num::Int | Num::Frac | Num::ExpDigits)
    }

    /// The next state on `b`, `None` if `b` cannot continue the number.
    fn next(self, b: u8) -> Option<Num> {
        Some(match (self, b) {
            (Num::Minus, b'0') => Num::Zero,
            (Num::Minus, b'1'..=b'9') => Num::Int,
            (Num::Int, b'0'..=b'9') => Num::Int,
            (Num::Zero | Num::Int, b'.') => Num::Dot,
            (Num::Dot | Num::Frac, b'0'..=b'9') => Num::Frac,
            (Num::Zero | Num::Int | Num::Frac, b'e' | b'E') => Num::Exp,
            (Num::Exp, b'+' | b'-') => Num::ExpSign,
            (Num::Exp | Num::ExpSign | Num::ExpDigits, b'0'..=b'9') => Num::ExpDigits,
            _ => return None,
        })
    }
}

/// A byte that breaks the JSON grammar: where, which byte, and what was expected instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Offset of the byte within its message.
    pub(crate) offset: usize,
    /// The byte.
    pub(crate) found: u8,
    /// What the grammar allows there.
    pub(crate) expected: &'static str,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.found;
        let found = if b.is_ascii_graphic() {
            format!("'{}'", b as char)
        } else {
            format!("byte 0x{b:02x}")
        };
        write!(
            f,
            "expected {}, found {found} at byte {} of the message",
            self.expected, self.offset
        )
    }
}

/// What [`Scanner::scan`] stopped at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scanned {
    /// Every byte was consumed; no message ended.
    More,
    /// A message ended: the bytes consumed (up to its closing `}`), and its length.
    End {
        /// Bytes of the input consumed, the message's last byte included.
        consumed: usize,
        /// The message's length (its last `len` bytes of what was consumed so far).
        len: usize,
    },
}

/// The scanner's state between reads. Its memory is the nesting stack: one byte per open
/// bracket, bounded by the message size limit.
#[derive(Debug, Clone)]
pub(crate) struct Scanner {
    state: State,
    /// The open brackets (`{` or `[`), innermost last.
    stack: Vec<u8>,
    /// Bytes of the current message scanned so far.
    len: usize,
}

impl Scanner {
    pub(crate) fn new() -> Scanner {
        Scanner {
            state: State::Idle,
            stack: Vec::new(),
            len: 0,
        }
    }

    /// True when inside a message.
    #[inline]
    pub(crate) fn in_message(&self) -> bool {
        self.state != State::Idle
    }

    /// Between messages, frees a nesting stack that grew past `keep` bytes (a deeply nested
    /// message).
    pub(crate) fn shrink_idle(&mut self, keep: usize) {
        if self.state == State::Idle && self.stack.capacity() > keep {
            self.stack = Vec::new();
        }
    }

    /// Bytes of the current message scanned so far (0 between messages).
    #[inline]
    pub(crate) fn message_len(&self) -> usize {
        self.len
    }

    /// Scans `bytes` (the continuation of everything scanned before) until a message ends or the
    /// bytes run out. Leading whitespace between messages is skipped without counting; a message
    /// starts at its `{`.
    ///
    /// Always inlined into its callers, so that its result stays in registers, with the state
    /// and the length held in locals and the rare error boxed: it runs once per read, and as a
    /// call that returned its result through memory and kept the state there, it was most of
    /// what a dribbling peer's 1-byte read cost (`perf annotate` on `benches/decode.rs`).
    #[inline(always)]
    pub(crate) fn scan(&mut self, bytes: &[u8]) -> Result<Scanned, Box<SyntaxError>> {
        // Stored back on the way out.
        let (mut state, mut len) = (self.state, self.len);
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            // Runs of plain string bytes are the bulk of most messages: skip them in one loop.
            if let State::Str { .. } = state {
                let run = bytes[i..]
                    .iter()
                    .position(|&c| ENDS_RUN[usize::from(c)])
                    .unwrap_or(bytes.len() - i);
                if run > 0 {
                    i += run;
                    len += run;
                    continue;
                }
            }
            if state == State::Idle && is_ws(b) {
                i += 1;
                continue;
            }
            let err = |expected| SyntaxError {
                offset: len,
                found: b,
                expected,
            };
            state = match state {
                State::Idle => match b {
                    b'{' => self.open(b),
                    _ => {
                        return Err(self.stop(
                            state,
                            len,
                            err("'{' to start a JSON-RPC message (a JSON object)"),
                        ));
                    }
                },
                State::KeyOrEnd
                | State::Key
                | State::Colon
                | State::ValueOrEnd
                | State::Value
                | State::AfterValue
                    if is_ws(b) =>
                {
                    state
                }
                State::KeyOrEnd => match b {
                    b'"' => State::Str { key: true },
                    b'}' => self.close(),
                    _ => {
                        return Err(self.stop(
                            state,
                            len,
                            err("'\"' to start a member name, or '}'"),
                        ));
                    }
                },
                State::Key => match b {
                    b'"' => State::Str { key: true },
                    _ => return Err(self.stop(state, len, err("'\"' to start a member name"))),
                },
                State::Colon => match b {
                    b':' => State::Value,
                    _ => return Err(self.stop(state, len, err("':' after a member name"))),
                },
                State::ValueOrEnd if b == b']' => self.close(),
                State::ValueOrEnd | State::Value => match b {
                    b'{' | b'[' => self.open(b),
                    b'"' => State::Str { key: false },
                    b'-' => State::Number(Num::Minus),
                    b'0' => State::Number(Num::Zero),
                    b'1'..=b'9' => State::Number(Num::Int),
                    b't' => State::Literal(TRUE),
                    b'f' => State::Literal(FALSE),
                    b'n' => State::Literal(NULL),
                    _ => return Err(self.stop(state, len, err("a JSON value"))),
                },
                State::AfterValue => match (b, self.stack.last()) {
                    (b',', Some(b'{')) => State::Key,
                    (b',', _) => State::Value,
                    (b'}', Some(b'{')) | (b']', Some(b'[')) => self.close(),
                    (_, Some(b'{')) => {
                        return Err(self.stop(
                            state,
                            len,
                            err("',' or '}' after an object member"),
                        ));
                    }
                    _ => {
                        return Err(self.stop(
                            state,
                            len,
                            err("',' or ']' after an array element"),
                        ));
                    }
                },
                State::Str { key } => match b {
                    b'"' if key => State::Colon,
                    b'"' => State::AfterValue,
                    b'\\' => State::Escape { key },
                    _ => {
                        return Err(self.stop(
                            state,
                            len,
                            err("a control character escaped (e.g. \\n, \\u0001) in a string"),
                        ));
                    }
                },
                State::Escape { key } => match b {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => State::Str { key },
                    b'u' => State::Unicode { key, left: 4 },
                    _ => {
                        return Err(self.stop(
                            state,
                            len,
                            err("an escape: one of \" \\ / b f n r t u after '\\'"),
                        ));
                    }
                },
                State::Unicode { key, left } => match (b.is_ascii_hexdigit(), left) {
                    (true, 1) => State::Str { key },
                    (true, _) => State::Unicode {
                        key,
                        left: left - 1,
                    },
                    (false, _) => return Err(self.stop(state, len, err("4 hex digits after \\u"))),
                },
                State::Number(n) => match n.next(b) {
                    Some(n) => State::Number(n),
                    None if n.complete() => {
                        // The byte ends the number: look at it again as what follows a value.
                        state = State::AfterValue;
                        continue;
                    }
                    None => return Err(self.stop(state, len, err(expected_in_number(n)))),
                },
                State::Literal(at) => match &LITERALS[usize::from(at)..] {
                    [want, 0, ..] if b == *want => State::AfterValue,
                    [want, ..] if b == *want => State::Literal(at + 1),
                    _ => return Err(self.stop(state, len, err("true, false or null"))),
                },
            };
            i += 1;
            len += 1;
            if state == State::Idle {
                (self.state, self.len) = (state, 0);
                return Ok(Scanned::End { consumed: i, len });
            }
        }
        (self.state, self.len) = (state, len);
        Ok(Scanned::More)
    }

    /// Stores the state [`Scanner::scan`] stopped in, and returns `e`.
    #[cold]
    fn stop(&mut self, state: State, len: usize, e: SyntaxError) -> Box<SyntaxError> {
        (self.state, self.len) = (state, len);
        Box::new(e)
    }

    fn open(&mut self, b: u8) -> State {
        self.stack.push(b);
        if b == b'{' {
            State::KeyOrEnd
        } else {
            State::ValueOrEnd
        }
    }

    fn close(&mut self) -> State {
        self.stack.pop();
        if self.stack.is_empty() {
            State::Idle
        } else {
            State::AfterValue
        }
    }
}

/// The rest of each literal after its first byte, each ended by a 0. A [`State`] holds an
/// index into it, and so fits in two bytes; with a slice in it, it took 24, and every byte
/// scanned paid for storing them.
static LITERALS: &[u8] = b"rue\0alse\0ull\0";
const TRUE: u8 = 0;
const FALSE: u8 = 4;
const NULL: u8 = 9;

/// The bytes that end a run of plain string bytes: `"`, `\` and the control characters.
static ENDS_RUN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn expected_in_number(n: Num) -> &'static str {
    match n {
        Num::Minus => "a digit after '-'",
        Num::Dot => "a digit after the decimal point",
        Num::Exp => "a digit, '+' or '-' after the exponent's 'e'",
        Num::ExpSign => "a digit in the exponent",
        // Complete states never get here.
        Num::Zero | Num::Int | Num::Frac | Num::ExpDigits => "a number",
    }
}
