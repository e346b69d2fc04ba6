//! The `pfd:` remote syntax: [`PfdSpec`] and its [`ParseError`].
//!
//! See [`PfdSpec`] for the grammar.

use std::fmt;
use std::str::FromStr;

use crate::text::{Shown, stdio_name};

/// The prefix every spec starts with.
pub const PREFIX: &str = "pfd:";

/// The longest name systemd accepts in `LISTEN_FDNAMES` (`FDNAME_MAX`).
pub const MAX_NAME_LEN: usize = 255;

/// The first fd number systemd passes (`SD_LISTEN_FDS_START`).
pub const FIRST_FD: i32 = 3;

/// Where a `pfd:` remote's socket comes from: an fd number or a `LISTEN_FDNAMES` name.
///
/// # Grammar
///
/// A spec is the lowercase prefix `pfd:` followed by either
///
/// * a **number**: when the first character after `pfd:` is an ASCII digit, `+`, `-` or
///   whitespace, the rest must be plain decimal digits (`pfd:3`, `pfd:003`). Signs,
///   whitespace, `0x` hex and trailing garbage (`pfd:3a`) are errors, never names. Leading
///   zeros name the same fd (`pfd:003` is `pfd:3`). Values past `i32::MAX` are errors, and so
///   are 0, 1 and 2 (standard input, output and error are never inherited sockets).
/// * a **name** from systemd's `LISTEN_FDNAMES` (`FileDescriptorName=`, `--fdname=`):
///   systemd's rules (printable ASCII, no `:`, at most 255 bytes) made stricter: it must not be
///   empty and must not contain whitespace (so a space can never silently become part of a
///   name). The names systemd assigns by default (`unknown`, `stored`, `connection`) are
///   ordinary names.
///
/// Parse the full remote with [`str::parse`] (or [`PfdSpec::parse_suffix`] for the part after
/// `pfd:`); [`Display`](fmt::Display) gives the canonical form, which parses back to the same
/// value. [`PfdSpec::from_number`] and [`PfdSpec::from_name`] build one from its parts, with
/// the same checks: every `PfdSpec` that exists is valid.
///
/// ```
/// use stream_pfd::PfdSpec;
///
/// let spec: PfdSpec = "pfd:003".parse()?;
/// assert_eq!(spec, PfdSpec::from_number(3)?);
/// assert_eq!(spec.to_string(), "pfd:3");
///
/// let web: PfdSpec = "pfd:web".parse()?;
/// assert_eq!(web, PfdSpec::from_name("web")?);
/// assert_eq!(web.to_string().parse::<PfdSpec>()?, web);
/// # Ok::<(), stream_pfd::ParseError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PfdSpec(Inner);

/// The two forms of a [`PfdSpec`], private so that only checked values can be built.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Inner {
    /// An fd number (`pfd:3`), 3 or more.
    Number(i32),
    /// A name from `LISTEN_FDNAMES` (`pfd:web`) that passes [`NameRules::Pfd`].
    Name(String),
}

impl fmt::Debug for PfdSpec {
    /// `Number(3)` or `Name("web")`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl PfdSpec {
    /// Parses the part after `pfd:` (for callers that already split off the prefix).
    ///
    /// Errors name the full remote, `pfd:` included.
    ///
    /// ```
    /// use stream_pfd::PfdSpec;
    ///
    /// assert_eq!(PfdSpec::parse_suffix("4")?, PfdSpec::from_number(4)?);
    /// let err = PfdSpec::parse_suffix("0x4").unwrap_err();
    /// assert!(err.to_string().starts_with("pfd:0x4: bad file descriptor"));
    /// # Ok::<(), stream_pfd::ParseError>(())
    /// ```
    pub fn parse_suffix(suffix: &str) -> Result<PfdSpec, ParseError> {
        let err = |kind| ParseError {
            input: format!("{PREFIX}{suffix}"),
            kind,
        };
        let Some(first) = suffix.chars().next() else {
            return Err(err(ParseErrorKind::Empty));
        };
        if first.is_ascii_digit() || first == '+' || first == '-' || first.is_whitespace() {
            parse_number(suffix)
                .map(|fd| PfdSpec(Inner::Number(fd)))
                .map_err(err)
        } else {
            check_fd_name(suffix, NameRules::Pfd)
                .map(|()| PfdSpec(Inner::Name(suffix.to_owned())))
                .map_err(err)
        }
    }

    /// The spec for fd number `fd` (`pfd:FD`).
    ///
    /// Fails, like parsing `pfd:FD` would, for 0, 1 and 2
    /// ([`ParseErrorKind::StdioFd`]) and negative numbers ([`ParseErrorKind::Sign`]).
    ///
    /// ```
    /// use stream_pfd::PfdSpec;
    /// use stream_pfd::spec::ParseErrorKind;
    ///
    /// assert_eq!(PfdSpec::from_number(3)?.to_string(), "pfd:3");
    /// let err = PfdSpec::from_number(1).unwrap_err();
    /// assert_eq!(err.kind(), &ParseErrorKind::StdioFd { fd: 1 });
    /// assert_eq!(Err(err), "pfd:1".parse::<PfdSpec>());
    /// # Ok::<(), stream_pfd::ParseError>(())
    /// ```
    pub fn from_number(fd: i32) -> Result<PfdSpec, ParseError> {
        if fd >= FIRST_FD {
            return Ok(PfdSpec(Inner::Number(fd)));
        }
        Err(ParseError {
            input: format!("{PREFIX}{fd}"),
            kind: if fd < 0 {
                ParseErrorKind::Sign
            } else {
                ParseErrorKind::StdioFd { fd }
            },
        })
    }

    /// The spec for `LISTEN_FDNAMES` name `name` (`pfd:NAME`).
    ///
    /// Fails, with the error parsing `pfd:NAME` gives, for a name that breaks the rules in
    /// the grammar above, and with [`ParseErrorKind::NameLooksNumeric`] for a name starting
    /// with a digit, `+` or `-` (which `pfd:` would read as a number).
    ///
    /// ```
    /// use stream_pfd::PfdSpec;
    /// use stream_pfd::spec::ParseErrorKind;
    ///
    /// assert_eq!(PfdSpec::from_name("web")?.name(), Some("web"));
    /// let err = PfdSpec::from_name("80").unwrap_err();
    /// assert_eq!(err.kind(), &ParseErrorKind::NameLooksNumeric);
    /// assert_eq!(PfdSpec::from_name("a:b").unwrap_err().kind(), &ParseErrorKind::NameColon { pos: 1 });
    /// # Ok::<(), stream_pfd::ParseError>(())
    /// ```
    pub fn from_name(name: &str) -> Result<PfdSpec, ParseError> {
        match check_fd_name(name, NameRules::Pfd) {
            Ok(()) => Ok(PfdSpec(Inner::Name(name.to_owned()))),
            Err(kind) => Err(ParseError {
                input: format!("{PREFIX}{name}"),
                kind,
            }),
        }
    }

    /// The two forms, for matching inside the crate.
    pub(crate) fn inner(&self) -> &Inner {
        &self.0
    }

    /// The fd number, for a `pfd:FD` spec.
    ///
    /// ```
    /// use stream_pfd::PfdSpec;
    /// assert_eq!("pfd:7".parse::<PfdSpec>()?.number(), Some(7));
    /// assert_eq!("pfd:web".parse::<PfdSpec>()?.number(), None);
    /// # Ok::<(), stream_pfd::ParseError>(())
    /// ```
    pub fn number(&self) -> Option<i32> {
        match &self.0 {
            Inner::Number(n) => Some(*n),
            Inner::Name(_) => None,
        }
    }

    /// The name, for a `pfd:NAME` spec.
    ///
    /// ```
    /// use stream_pfd::PfdSpec;
    /// assert_eq!("pfd:web".parse::<PfdSpec>()?.name(), Some("web"));
    /// # Ok::<(), stream_pfd::ParseError>(())
    /// ```
    pub fn name(&self) -> Option<&str> {
        match &self.0 {
            Inner::Number(_) => None,
            Inner::Name(name) => Some(name),
        }
    }
}

impl FromStr for PfdSpec {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<PfdSpec, ParseError> {
        match s.strip_prefix(PREFIX) {
            Some(suffix) => PfdSpec::parse_suffix(suffix),
            None => Err(ParseError {
                input: s.to_owned(),
                kind: ParseErrorKind::MissingPrefix,
            }),
        }
    }
}

impl fmt::Display for PfdSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Number(n) => write!(f, "{PREFIX}{n}"),
            Inner::Name(name) => write!(f, "{PREFIX}{name}"),
        }
    }
}

fn parse_number(s: &str) -> Result<i32, ParseErrorKind> {
    if let Some(pos) = s.find(char::is_whitespace) {
        return Err(ParseErrorKind::Whitespace { pos });
    }
    if s.starts_with(['+', '-']) {
        return Err(ParseErrorKind::Sign);
    }
    if s.strip_prefix('0')
        .is_some_and(|r| r.starts_with(['x', 'X', 'o', 'O', 'b', 'B']))
    {
        return Err(ParseErrorKind::Radix);
    }
    if let Some(pos) = s.find(|c: char| !c.is_ascii_digit()) {
        return Err(ParseErrorKind::NotDecimal { pos });
    }
    // `s` is one or more ASCII digits here (leading zeros are fine), so only overflow can fail.
    let fd: i32 = s.parse().map_err(|_| ParseErrorKind::Overflow)?;
    if fd < FIRST_FD {
        return Err(ParseErrorKind::StdioFd { fd });
    }
    Ok(fd)
}

/// Which rules an fd name is held to by [`check_fd_name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NameRules {
    /// systemd's `fdname_is_valid`, for `LISTEN_FDNAMES` entries: printable ASCII (space
    /// included), no `:`, at most 255 bytes. Empty names are valid for systemd (they cannot be
    /// taken by name).
    Systemd,
    /// `pfd:NAME` (see the grammar in the [`PfdSpec`] docs): systemd's rules, and also not
    /// empty, no whitespace at all, and not starting with a digit, `+` or `-` (which `pfd:`
    /// reads as a number).
    Pfd,
}

/// Checks an fd name: the one place where the name rules live, for `pfd:NAME` and for
/// `LISTEN_FDNAMES` entries alike.
///
/// Under [`NameRules::Pfd`] the error says what is wrong (checked in this order: empty, then
/// the first whitespace, `:` or other character outside printable ASCII, then the length,
/// then a numeric first character). Under [`NameRules::Systemd`] only validity matters: the
/// caller reports the whole entry.
pub(crate) fn check_fd_name(name: &str, rules: NameRules) -> Result<(), ParseErrorKind> {
    let pfd = rules == NameRules::Pfd;
    if pfd && name.is_empty() {
        return Err(ParseErrorKind::Empty);
    }
    for (pos, ch) in name.char_indices() {
        if ch == ' ' && !pfd {
            continue;
        }
        if ch.is_whitespace() {
            return Err(ParseErrorKind::Whitespace { pos });
        }
        if ch == ':' {
            return Err(ParseErrorKind::NameColon { pos });
        }
        if !ch.is_ascii_graphic() {
            return Err(ParseErrorKind::NameChar { pos, ch });
        }
    }
    if name.len() > MAX_NAME_LEN {
        return Err(ParseErrorKind::NameTooLong { len: name.len() });
    }
    if pfd && name.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-') {
        return Err(ParseErrorKind::NameLooksNumeric);
    }
    Ok(())
}

/// Why a `pfd:` remote did not parse. See [`ParseError::kind`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The input does not start with the lowercase prefix `pfd:`.
    MissingPrefix,
    /// Nothing after `pfd:`.
    Empty,
    /// A number with a sign (`pfd:+3`, `pfd:-1`), or a negative number given to
    /// [`PfdSpec::from_number`].
    Sign,
    /// Whitespace at byte `pos` of the part after `pfd:` (`pfd: 3`, `pfd:a b`).
    Whitespace {
        /// Byte offset after `pfd:`.
        pos: usize,
    },
    /// A number written with a radix prefix (`pfd:0x3`, `pfd:0o3`, `pfd:0b1`).
    Radix,
    /// A number followed by something that is not a digit (`pfd:3a`), at byte `pos`.
    NotDecimal {
        /// Byte offset after `pfd:`.
        pos: usize,
    },
    /// A number larger than `i32::MAX`.
    Overflow,
    /// fd 0, 1 or 2: standard input, output or error (parsed, or given to
    /// [`PfdSpec::from_number`]).
    StdioFd {
        /// The fd number given.
        fd: i32,
    },
    /// A name containing `:` (the `LISTEN_FDNAMES` separator) at byte `pos`.
    NameColon {
        /// Byte offset after `pfd:`.
        pos: usize,
    },
    /// A name containing a control or non-ASCII character.
    NameChar {
        /// Byte offset after `pfd:`.
        pos: usize,
        /// The character.
        ch: char,
    },
    /// A name longer than 255 bytes.
    NameTooLong {
        /// The name's length in bytes.
        len: usize,
    },
    /// A name starting with a digit, `+` or `-` given to [`PfdSpec::from_name`] (`pfd:` would
    /// read it as a number; the parser reads such input as a number, so it never returns this).
    NameLooksNumeric,
}

/// A `pfd:` remote that does not parse: names the input, says what is wrong and what would
/// be right.
///
/// Converts into [`std::io::Error`] with kind [`InvalidInput`](std::io::ErrorKind::InvalidInput).
///
/// ```
/// use stream_pfd::PfdSpec;
/// use stream_pfd::spec::ParseErrorKind;
///
/// let err = "pfd:+3".parse::<PfdSpec>().unwrap_err();
/// assert_eq!(err.input(), "pfd:+3");
/// assert_eq!(err.kind(), &ParseErrorKind::Sign);
/// assert!(err.to_string().starts_with("pfd:+3: bad file descriptor: "));
/// let io: std::io::Error = err.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    input: String,
    kind: ParseErrorKind,
}

impl ParseError {
    /// The input as given (with `pfd:`).
    pub fn input(&self) -> &str {
        &self.input
    }

    /// What is wrong.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let input = Shown(&self.input);
        if self.kind == ParseErrorKind::MissingPrefix {
            return write!(
                f,
                "{input}: not a pfd: remote: it must start with lowercase \"pfd:\" followed by \
                 an fd number or a LISTEN_FDNAMES name (e.g. pfd:3 or pfd:web)"
            );
        }
        write!(f, "{input}: bad file descriptor: ")?;
        let suffix = Shown(self.input.get(PREFIX.len()..).unwrap_or(""));
        match &self.kind {
            ParseErrorKind::MissingPrefix => Ok(()),
            ParseErrorKind::Empty => f.write_str(
                "nothing after \"pfd:\"; expected a decimal fd number (pfd:3) or a \
                 LISTEN_FDNAMES name (pfd:web)",
            ),
            ParseErrorKind::Sign => f.write_str(
                "a sign is not allowed; write the fd number as plain decimal digits (e.g. pfd:3)",
            ),
            ParseErrorKind::Whitespace { pos } => write!(
                f,
                "whitespace (at byte {pos} after \"pfd:\") is not allowed in an fd number or name"
            ),
            ParseErrorKind::Radix => f.write_str(
                "only decimal fd numbers are allowed, not hexadecimal, octal or binary \
                 (e.g. pfd:3)",
            ),
            ParseErrorKind::NotDecimal { pos } => write!(
                f,
                "\"{suffix}\" is not a decimal fd number (unexpected character at byte {pos}); \
                 names must not start with a digit"
            ),
            ParseErrorKind::Overflow => write!(
                f,
                "\"{suffix}\" is larger than the largest fd number ({})",
                i32::MAX
            ),
            ParseErrorKind::StdioFd { fd } => write!(
                f,
                "fd {fd} is {}, not an inherited socket; inherited sockets start at fd 3 \
                 (where systemd passes them)",
                stdio_name(*fd)
            ),
            ParseErrorKind::NameColon { pos } => write!(
                f,
                "':' (at byte {pos} after \"pfd:\") is not allowed in a name; it separates \
                 LISTEN_FDNAMES entries"
            ),
            ParseErrorKind::NameChar { pos, ch } => write!(
                f,
                "character {ch:?} (at byte {pos} after \"pfd:\") is not allowed in a name; \
                 names are printable ASCII without ':' or whitespace"
            ),
            ParseErrorKind::NameTooLong { len } => write!(
                f,
                "the name is {len} bytes long; LISTEN_FDNAMES names are at most \
                 {MAX_NAME_LEN} bytes"
            ),
            ParseErrorKind::NameLooksNumeric => f.write_str(
                "a name must not start with a digit, '+' or '-' (pfd: would read it as a number)",
            ),
        }
    }
}

impl std::error::Error for ParseError {}

impl From<ParseError> for std::io::Error {
    fn from(err: ParseError) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, err)
    }
}

#[cfg(test)]
mod tests;
