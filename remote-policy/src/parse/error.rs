//! [`ParseError`]: why a remote string was rejected, and the texts its messages are made of.

use std::fmt;

use crate::kind::{RemoteKind, UnknownKind, join_names};
use crate::quote::Quoted;
use crate::remote::{DEFAULT_PORT, MAX_UNIX_PATH_LEN};

/// The longest remote string the parser reads: far more than any remote needs (a unix socket
/// path is at most 107 bytes, a host name 253), so that an error message never repeats more.
pub const MAX_REMOTE_LEN: usize = 1024;

/// Why a remote string was rejected by the parser.
///
/// Every message names the part that is wrong and ends with the accepted form
/// of the remote and an example. The messages are listed (and snapshot-tested)
/// in `tests/it/snapshots/it__errors__parse_errors.snap`.
///
/// ```
/// use remote_policy::{ParseError, Remote};
///
/// let err = "tcp:192.0.2.1:70000".parse::<Remote>().unwrap_err();
/// assert!(matches!(err, ParseError::BadPort { .. }));
/// assert_eq!(
///     err.to_string(),
///     "tcp: bad port \"70000\": must be a number from 1 to 65535; \
///      expected tcp:HOST[:PORT], e.g. tcp:192.0.2.1:6640",
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The string is empty.
    Empty,
    /// The string is longer than [`MAX_REMOTE_LEN`] bytes (no remote is; a file that is not a
    /// remotes file may be).
    TooLong {
        /// The whole input (messages show only its start).
        input: String,
    },
    /// There is no `KIND:` prefix.
    MissingKind {
        /// The whole input.
        input: String,
    },
    /// The prefix before the first `:` is not a known kind.
    UnknownKind(UnknownKind),
    /// `unix:` / `punix:` with nothing after the colon.
    EmptyPath {
        /// `unix` or `punix`.
        kind: RemoteKind,
    },
    /// The Unix socket path contains a NUL byte.
    NulInPath {
        /// `unix` or `punix`.
        kind: RemoteKind,
    },
    /// The Unix socket path does not fit in `sun_path`.
    PathTooLong {
        /// `unix` or `punix`.
        kind: RemoteKind,
        /// The path length in bytes.
        len: usize,
    },
    /// `tcp:` / `ssl:` without a host.
    MissingHost {
        /// `tcp` or `ssl`.
        kind: RemoteKind,
    },
    /// The host is neither an IPv4 address, a bracketed IPv6 address, nor a
    /// valid host name.
    BadHost {
        /// The remote's kind.
        kind: RemoteKind,
        /// The host as written.
        host: String,
        /// What is wrong with it.
        problem: String,
    },
    /// An IPv6 address was written without brackets (which makes its colons
    /// ambiguous with the port separator).
    UnbracketedIpv6 {
        /// The remote's kind.
        kind: RemoteKind,
        /// The host (or IP) part as written.
        address: String,
        /// The same remote written correctly (two readings joined by " or "
        /// when the last `:NUMBER` could be a port or part of the address).
        suggestion: String,
    },
    /// The text between `[` and `]` is not an IPv6 (or IPv4) address, or the
    /// `]` is missing.
    BadBracketedAddress {
        /// The remote's kind.
        kind: RemoteKind,
        /// The address as written, with brackets.
        address: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The IPv6 scope after `%` is neither an interface index nor a valid
    /// interface name.
    BadScope {
        /// The remote's kind.
        kind: RemoteKind,
        /// The scope as written.
        scope: String,
    },
    /// Text after the closing `]` that is not `:PORT`.
    TrailingText {
        /// The remote's kind.
        kind: RemoteKind,
        /// The unexpected text.
        text: String,
    },
    /// The port is not a number in the accepted range.
    BadPort {
        /// The remote's kind.
        kind: RemoteKind,
        /// The port as written.
        port: String,
    },
    /// A passive remote (`ptcp:`, `pssl:`) whose port part is an address: the
    /// port comes first.
    AddressBeforePort {
        /// The remote's kind.
        kind: RemoteKind,
        /// The address as written.
        address: String,
    },
    /// A passive remote (`ptcp:`, `pssl:`) with a `:` but no IP after it.
    EmptyIp {
        /// The remote's kind.
        kind: RemoteKind,
    },
    /// A passive remote (`ptcp:`, `pssl:`) whose IP is not an IP address
    /// (host names are not accepted for listening).
    BadIp {
        /// The remote's kind.
        kind: RemoteKind,
        /// The IP as written.
        ip: String,
    },
    /// `db:` without exactly three comma-separated parts.
    DbPartCount {
        /// How many parts were found.
        found: usize,
    },
    /// One part of `db:DB,TABLE,COLUMN` is not an identifier.
    BadDbPart {
        /// `DB`, `TABLE` or `COLUMN`.
        part: &'static str,
        /// The part as written.
        value: String,
    },
    /// `stream_pfd` rejected a `pfd:` remote.
    Pfd(stream_pfd::ParseError),
}

const ACTIVE_PORT_RANGE: &str = "a number from 1 to 65535";
const PASSIVE_PORT_RANGE: &str = "a number from 0 to 65535 (0 lets the kernel choose)";

/// An example of each kind, for error messages and tables.
pub(crate) const fn example(kind: RemoteKind) -> &'static str {
    match kind {
        RemoteKind::Unix => "unix:/run/openvswitch/db.sock",
        RemoteKind::Tcp => "tcp:192.0.2.1:6640",
        RemoteKind::Ssl => "ssl:[2001:db8::1]:6640",
        RemoteKind::Punix => "punix:/run/openvswitch/db.sock",
        RemoteKind::Ptcp => "ptcp:6640:127.0.0.1",
        RemoteKind::Pssl => "pssl:6640",
        RemoteKind::Pfd => "pfd:3",
        RemoteKind::Db => "db:Open_vSwitch,Open_vSwitch,manager_options",
    }
}

fn all_syntaxes() -> String {
    join_names(RemoteKind::ALL.iter().map(|k| k.syntax()))
}

impl ParseError {
    /// The kind of remote the error is about, when the kind was recognised.
    ///
    /// ```
    /// let err = "punix:".parse::<remote_policy::Remote>().unwrap_err();
    /// assert_eq!(err.remote_kind(), Some(remote_policy::RemoteKind::Punix));
    /// ```
    pub fn remote_kind(&self) -> Option<RemoteKind> {
        match self {
            ParseError::Empty
            | ParseError::TooLong { .. }
            | ParseError::MissingKind { .. }
            | ParseError::UnknownKind(_) => None,
            ParseError::EmptyPath { kind }
            | ParseError::NulInPath { kind }
            | ParseError::PathTooLong { kind, .. }
            | ParseError::MissingHost { kind }
            | ParseError::BadHost { kind, .. }
            | ParseError::UnbracketedIpv6 { kind, .. }
            | ParseError::BadBracketedAddress { kind, .. }
            | ParseError::BadScope { kind, .. }
            | ParseError::TrailingText { kind, .. }
            | ParseError::BadPort { kind, .. }
            | ParseError::AddressBeforePort { kind, .. }
            | ParseError::EmptyIp { kind }
            | ParseError::BadIp { kind, .. } => Some(*kind),
            ParseError::DbPartCount { .. } | ParseError::BadDbPart { .. } => Some(RemoteKind::Db),
            ParseError::Pfd(_) => Some(RemoteKind::Pfd),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => {
                return write!(f, "empty remote: expected one of {}", all_syntaxes());
            }
            ParseError::TooLong { input } => {
                return write!(
                    f,
                    "{} is longer than a remote can be ({MAX_REMOTE_LEN} bytes at most)",
                    Quoted(input)
                );
            }
            ParseError::MissingKind { input } => {
                return match input.parse::<RemoteKind>() {
                    Ok(kind) => write!(
                        f,
                        "{} has no ':' after the kind; expected {}, e.g. {}",
                        Quoted(input),
                        kind.syntax(),
                        example(kind)
                    ),
                    Err(_) => write!(
                        f,
                        "{} has no KIND: prefix; expected one of {}",
                        Quoted(input),
                        all_syntaxes()
                    ),
                };
            }
            ParseError::UnknownKind(e) => return write!(f, "{e}"),
            ParseError::Pfd(e) => return write!(f, "{e}"),
            ParseError::EmptyPath { kind } => write!(f, "{kind}: the path is empty")?,
            ParseError::NulInPath { kind } => write!(f, "{kind}: the path contains a NUL byte")?,
            ParseError::PathTooLong { kind, len } => write!(
                f,
                "{kind}: the path is {len} bytes long, but a Unix socket path can be at most \
                 {MAX_UNIX_PATH_LEN} bytes (sun_path holds 108 including the terminating NUL)"
            )?,
            ParseError::MissingHost { kind } => write!(f, "{kind}: the host is missing")?,
            ParseError::BadHost {
                kind,
                host,
                problem,
            } => write!(f, "{kind}: bad host {host:?}: {problem}")?,
            ParseError::UnbracketedIpv6 {
                kind,
                address,
                suggestion,
            } => write!(
                f,
                "{kind}: IPv6 address in {address:?} must be in brackets: write {suggestion}"
            )?,
            ParseError::BadBracketedAddress {
                kind,
                address,
                problem,
            } => write!(f, "{kind}: bad address {address:?}: {problem}")?,
            ParseError::BadScope { kind, scope } => write!(
                f,
                "{kind}: bad IPv6 scope {scope:?}: must be an interface index or an interface \
                 name of 1 to 15 bytes without '/', ':', '%', brackets or white space"
            )?,
            ParseError::TrailingText { kind, text } if kind.is_passive() => write!(
                f,
                "{kind}: unexpected {text:?} after the address: nothing may follow ']' \
                 (the port comes first, as in {kind}:PORT:[IP])"
            )?,
            ParseError::TrailingText { kind, text } => write!(
                f,
                "{kind}: unexpected {text:?} after the address: only \":PORT\" may follow ']'"
            )?,
            ParseError::BadPort { kind, port } => {
                let range = if kind.is_passive() {
                    PASSIVE_PORT_RANGE
                } else {
                    ACTIVE_PORT_RANGE
                };
                write!(f, "{kind}: bad port {port:?}: must be {range}")?
            }
            ParseError::AddressBeforePort { kind, address } => {
                let shown = if address.contains(':') && !address.starts_with('[') {
                    format!("[{address}]")
                } else {
                    address.clone()
                };
                write!(
                    f,
                    "{kind}: {address:?} is an address, but the port comes first: write \
                     {kind}:PORT:{shown}, or {kind}::{shown} for the default port {DEFAULT_PORT}"
                )?
            }
            ParseError::EmptyIp { kind } => write!(
                f,
                "{kind}: the IP after ':' is empty; leave out the ':' to listen on 0.0.0.0"
            )?,
            ParseError::BadIp { kind, ip } => write!(
                f,
                "{kind}: bad IP {ip:?}: a listening address must be an IPv4 address or an \
                 IPv6 address in brackets (host names are not accepted)"
            )?,
            ParseError::DbPartCount { found } => write!(
                f,
                "db: expected 3 comma-separated parts (DB, TABLE, COLUMN), found {found}"
            )?,
            ParseError::BadDbPart { part, value } => {
                if value.is_empty() {
                    write!(f, "db: {part} is empty")?
                } else {
                    write!(
                        f,
                        "db: {part} {value:?} is not an identifier (a letter or '_', then \
                         letters, digits or '_')"
                    )?
                }
            }
        }
        // Every kind-specific message ends with the accepted form.
        if let Some(kind) = self.remote_kind() {
            write!(f, "; expected {}, e.g. {}", kind.syntax(), example(kind))?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ParseError::UnknownKind(e) => Some(e),
            ParseError::Pfd(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ParseError> for std::io::Error {
    fn from(err: ParseError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, err)
    }
}
