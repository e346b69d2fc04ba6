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
/// value.
///
/// ```
/// use stream_pfd::PfdSpec;
///
/// let spec: PfdSpec = "pfd:003".parse()?;
/// assert_eq!(spec, PfdSpec::Number(3));
/// assert_eq!(spec.to_string(), "pfd:3");
///
/// let web: PfdSpec = "pfd:web".parse()?;
/// assert_eq!(web, PfdSpec::Name("web".to_owned()));
/// assert_eq!(web.to_string().parse::<PfdSpec>()?, web);
/// # Ok::<(), stream_pfd::ParseError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PfdSpec {
    /// An fd number (`pfd:3`). The parser only produces values of 3 or more.
    Number(i32),
    /// A name from `LISTEN_FDNAMES` (`pfd:web`). The parser only produces valid names
    /// (see the grammar in the [`PfdSpec`] docs).
    Name(String),
}

impl PfdSpec {
    /// Parses the part after `pfd:` (for callers that already split off the prefix).
    ///
    /// Errors name the full remote, `pfd:` included.
    ///
    /// ```
    /// use stream_pfd::PfdSpec;
    ///
    /// assert_eq!(PfdSpec::parse_suffix("4")?, PfdSpec::Number(4));
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
            parse_number(suffix).map(PfdSpec::Number).map_err(err)
        } else {
            check_fd_name(suffix, NameRules::Pfd)
                .map(|()| PfdSpec::Name(suffix.to_owned()))
                .map_err(err)
        }
    }

    /// The fd number, for [`PfdSpec::Number`].
    ///
    /// ```
    /// use stream_pfd::PfdSpec;
    /// assert_eq!("pfd:7".parse::<PfdSpec>()?.number(), Some(7));
    /// assert_eq!("pfd:web".parse::<PfdSpec>()?.number(), None);
    /// # Ok::<(), stream_pfd::ParseError>(())
    /// ```
    pub fn number(&self) -> Option<i32> {
        match self {
            PfdSpec::Number(n) => Some(*n),
            PfdSpec::Name(_) => None,
        }
    }

    /// The name, for [`PfdSpec::Name`].
    ///
    /// ```
    /// use stream_pfd::PfdSpec;
    /// assert_eq!("pfd:web".parse::<PfdSpec>()?.name(), Some("web"));
    /// # Ok::<(), stream_pfd::ParseError>(())
    /// ```
    pub fn name(&self) -> Option<&str> {
        match self {
            PfdSpec::Number(_) => None,
            PfdSpec::Name(name) => Some(name),
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
        match self {
            PfdSpec::Number(n) => write!(f, "{PREFIX}{n}"),
            PfdSpec::Name(name) => write!(f, "{PREFIX}{name}"),
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
    if s.len() > 1 && s.starts_with('0') && s[1..].starts_with(['x', 'X', 'o', 'O', 'b', 'B']) {
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
    /// A number with a sign (`pfd:+3`, `pfd:-1`).
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
    /// fd 0, 1 or 2: standard input, output or error.
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
    /// A name starting with a digit, `+` or `-` (only for `LISTEN_FDNAMES` entries: such a
    /// `pfd:` remote would be read as a number).
    NameLooksNumeric,
}

/// A `pfd:` remote that does not parse: names the input, says what is wrong and what would
/// be right.
///
/// Converts into [`std::io::Error`] with kind [`InvalidInput`](std::io::ErrorKind::InvalidInput).
///
/// ```
/// use stream_pfd::{PfdSpec, ParseErrorKind};
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
mod tests {
    use super::*;

    /// systemd's `fdname_is_valid`, written out as systemd states it (the reference).
    fn systemd_fdname_is_valid(name: &str) -> bool {
        name.len() <= MAX_NAME_LEN && name.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b':')
    }

    fn samples() -> Vec<String> {
        let chars = [
            'a', 'Z', '0', '9', '+', '-', ' ', ':', '\t', '\n', '\0', '\x7f', '~', '!', 'é',
            '\u{a0}', '\u{3000}',
        ];
        let mut out = vec![String::new()];
        for a in chars {
            out.push(a.to_string());
            for b in chars {
                out.push(format!("{a}{b}"));
                for c in chars {
                    out.push(format!("{a}{b}{c}"));
                }
            }
        }
        for len in [254, 255, 256] {
            out.push("n".repeat(len));
            out.push(format!("{} ", "n".repeat(len - 1)));
        }
        out
    }

    #[test]
    fn systemd_rules_are_fdname_is_valid() {
        for name in samples() {
            assert_eq!(
                check_fd_name(&name, NameRules::Systemd).is_ok(),
                systemd_fdname_is_valid(&name),
                "{name:?}"
            );
        }
    }

    #[test]
    fn pfd_rules_are_stricter_and_are_what_the_parser_accepts_as_names() {
        for name in samples() {
            let pfd = check_fd_name(&name, NameRules::Pfd).is_ok();
            if pfd {
                assert!(systemd_fdname_is_valid(&name), "{name:?}");
            }
            let parsed_as_name = PfdSpec::parse_suffix(&name).is_ok_and(|s| s.name().is_some());
            assert_eq!(pfd, parsed_as_name, "{name:?}");
        }
    }
}
