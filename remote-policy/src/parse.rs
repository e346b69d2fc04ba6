//! Parsing remotes: `impl FromStr for Remote` and [`ParseError`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::kind::{RemoteKind, UnknownKind, join_names};
use crate::remote::{
    DEFAULT_PORT, DbColumn, Endpoint, Host, HostName, Listen, MAX_UNIX_PATH_LEN, Remote, Scope,
    ScopeRepr, UnixPath,
};

/// Why a remote string was rejected by the parser.
///
/// Every message names the part that is wrong and ends with the accepted form
/// of the remote and an example. The messages are listed (and snapshot-tested)
/// in `tests/snapshots/errors__parse_errors.snap`.
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
            ParseError::Empty | ParseError::MissingKind { .. } | ParseError::UnknownKind(_) => None,
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
            ParseError::MissingKind { input } => {
                return match input.parse::<RemoteKind>() {
                    Ok(kind) => write!(
                        f,
                        "{input:?} has no ':' after the kind; expected {}, e.g. {}",
                        kind.syntax(),
                        example(kind)
                    ),
                    Err(_) => write!(
                        f,
                        "{input:?} has no KIND: prefix; expected one of {}",
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

impl FromStr for Remote {
    type Err = ParseError;

    /// Parses a remote. The kind prefix is case-sensitive and nothing is
    /// trimmed: ` pfd:3` and `PFD:3` are errors, as in Open vSwitch.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.is_empty() {
            return Err(ParseError::Empty);
        }
        let Some((kind_text, rest)) = input.split_once(':') else {
            return Err(ParseError::MissingKind {
                input: input.to_owned(),
            });
        };
        let kind: RemoteKind = kind_text.parse().map_err(ParseError::UnknownKind)?;
        match kind {
            RemoteKind::Unix => parse_path(kind, rest).map(Remote::Unix),
            RemoteKind::Punix => parse_path(kind, rest).map(Remote::Punix),
            RemoteKind::Tcp => parse_active(kind, rest).map(Remote::Tcp),
            RemoteKind::Ssl => parse_active(kind, rest).map(Remote::Ssl),
            RemoteKind::Ptcp => parse_passive(kind, rest).map(Remote::Ptcp),
            RemoteKind::Pssl => parse_passive(kind, rest).map(Remote::Pssl),
            // The full string, prefix included, goes to stream-pfd's parser:
            // there is exactly one pfd: grammar in the workspace.
            RemoteKind::Pfd => input
                .parse::<stream_pfd::PfdSpec>()
                .map(Remote::Pfd)
                .map_err(ParseError::Pfd),
            RemoteKind::Db => parse_db(rest).map(Remote::Db),
        }
    }
}

fn parse_path(kind: RemoteKind, path: &str) -> Result<UnixPath, ParseError> {
    if path.is_empty() {
        Err(ParseError::EmptyPath { kind })
    } else if path.contains('\0') {
        Err(ParseError::NulInPath { kind })
    } else if path.len() > MAX_UNIX_PATH_LEN {
        Err(ParseError::PathTooLong {
            kind,
            len: path.len(),
        })
    } else {
        Ok(UnixPath(path.to_owned()))
    }
}

/// `HOST[:PORT]`.
fn parse_active(kind: RemoteKind, rest: &str) -> Result<Endpoint, ParseError> {
    if rest.is_empty() {
        return Err(ParseError::MissingHost { kind });
    }
    let (host, port_text) = if rest.starts_with('[') {
        let (ip, scope, after) = parse_bracketed(kind, rest)?;
        let host = match ip {
            IpAddr::V4(a) => Host::Ipv4(a),
            IpAddr::V6(a) => Host::Ipv6(a, scope),
        };
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => {
                return Err(ParseError::TrailingText {
                    kind,
                    text: after.to_owned(),
                });
            }
        }
    } else {
        let colons = rest.matches(':').count();
        if colons > 1 {
            return Err(unbracketed_or_bad(kind, rest, |addr, port| {
                let port = port.map_or_else(|| DEFAULT_PORT.to_string(), str::to_owned);
                format!("{kind}:[{addr}]:{port}")
            }));
        }
        let (host_text, port_text) = match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        };
        if host_text.is_empty() {
            return Err(ParseError::MissingHost { kind });
        }
        (parse_host(kind, host_text)?, port_text)
    };
    let port = match port_text {
        None | Some("") => DEFAULT_PORT,
        Some(text) => match parse_port(text) {
            Some(port) if port != 0 => port,
            _ => {
                return Err(ParseError::BadPort {
                    kind,
                    port: text.to_owned(),
                });
            }
        },
    };
    Ok(Endpoint { host, port })
}

/// `[PORT][:IP]`.
fn parse_passive(kind: RemoteKind, rest: &str) -> Result<Listen, ParseError> {
    let wildcard = Listen {
        port: DEFAULT_PORT,
        ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        scope: None,
    };
    if rest.is_empty() {
        return Ok(wildcard);
    }
    if rest.starts_with('[') || looks_like_ipv6(rest) || rest.parse::<Ipv4Addr>().is_ok() {
        return Err(ParseError::AddressBeforePort {
            kind,
            address: rest.to_owned(),
        });
    }
    let (port_text, ip_text) = match rest.split_once(':') {
        Some((p, ip)) => (p, Some(ip)),
        None => (rest, None),
    };
    let port = if port_text.is_empty() {
        DEFAULT_PORT
    } else {
        parse_port(port_text).ok_or_else(|| ParseError::BadPort {
            kind,
            port: port_text.to_owned(),
        })?
    };
    let (ip, scope) = match ip_text {
        None => (wildcard.ip, None),
        Some("") => return Err(ParseError::EmptyIp { kind }),
        Some(text) if text.starts_with('[') => {
            let (ip, scope, after) = parse_bracketed(kind, text)?;
            if !after.is_empty() {
                return Err(ParseError::TrailingText {
                    kind,
                    text: after.to_owned(),
                });
            }
            (ip, scope)
        }
        Some(text) if text.contains(':') => {
            return Err(unbracketed_or_bad(kind, text, |addr, _| {
                format!("{kind}:{port}:[{addr}]")
            }));
        }
        Some(text) => match text.parse::<Ipv4Addr>() {
            Ok(a) => (IpAddr::V4(a), None),
            Err(_) => {
                return Err(ParseError::BadIp {
                    kind,
                    ip: text.to_owned(),
                });
            }
        },
    };
    Ok(Listen { port, ip, scope })
}

/// Whether `text` (possibly with a `%scope`) is an IPv6 address.
fn looks_like_ipv6(text: &str) -> bool {
    let addr = text.split_once('%').map_or(text, |(a, _)| a);
    addr.parse::<Ipv6Addr>().is_ok()
}

/// Error for a host part with several colons outside brackets.
/// `bracketed(addr, port)` writes the remote with `addr` in brackets and the
/// given port text (`None`: the default).
fn unbracketed_or_bad(
    kind: RemoteKind,
    text: &str,
    bracketed: impl Fn(&str, Option<&str>) -> String,
) -> ParseError {
    let mut suggestions = Vec::new();
    // "ADDR:PORT" with an unbracketed IPv6 ADDR (only for active remotes,
    // where the port comes last)?
    if !kind.is_passive() {
        if let Some((addr, port)) = text.rsplit_once(':') {
            if looks_like_ipv6(addr) && parse_port(port).is_some_and(|p| p != 0) {
                suggestions.push(bracketed(addr, Some(port)));
            }
        }
    }
    // The whole text is one address?
    if looks_like_ipv6(text) {
        suggestions.push(bracketed(text, None));
    }
    // Only suggest what would be accepted (`fe80::1%eth0:6640` is not one address with the
    // scope `eth0:6640`).
    suggestions.retain(|s| s.parse::<Remote>().is_ok());
    if !suggestions.is_empty() {
        return ParseError::UnbracketedIpv6 {
            kind,
            address: text.to_owned(),
            suggestion: suggestions.join(" or "),
        };
    }
    if kind.is_passive() {
        ParseError::BadIp {
            kind,
            ip: text.to_owned(),
        }
    } else {
        ParseError::BadHost {
            kind,
            host: text.to_owned(),
            problem: "too many ':' (write an IPv6 address in brackets)".to_owned(),
        }
    }
}

/// Parses `[ADDR]...` (text starts with `[`); returns the address, its scope
/// and the text after `]`.
fn parse_bracketed(
    kind: RemoteKind,
    text: &str,
) -> Result<(IpAddr, Option<Scope>, &str), ParseError> {
    let Some(close) = text.find(']') else {
        return Err(ParseError::BadBracketedAddress {
            kind,
            address: text.to_owned(),
            problem: "missing ']'".to_owned(),
        });
    };
    let inner = &text[1..close];
    let after = &text[close + 1..];
    let bad = |problem: &str| ParseError::BadBracketedAddress {
        kind,
        address: text[..=close].to_owned(),
        problem: problem.to_owned(),
    };
    let (addr_text, scope_text) = match inner.split_once('%') {
        Some((a, s)) => (a, Some(s)),
        None => (inner, None),
    };
    if addr_text.is_empty() {
        return Err(bad("the address is empty"));
    }
    if let Ok(a) = addr_text.parse::<Ipv6Addr>() {
        let scope = match scope_text {
            None => None,
            Some(s) => Some(parse_scope(s).ok_or_else(|| ParseError::BadScope {
                kind,
                scope: s.to_owned(),
            })?),
        };
        return Ok((IpAddr::V6(a), scope, after));
    }
    if scope_text.is_none() {
        if let Ok(a) = addr_text.parse::<Ipv4Addr>() {
            return Ok((IpAddr::V4(a), None, after));
        }
    }
    Err(bad(
        "not an IPv6 address (brackets hold an IP address, optionally with %SCOPE)",
    ))
}

fn parse_scope(text: &str) -> Option<Scope> {
    if text.is_empty() {
        return None;
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return parse_decimal(text)
            .and_then(|n| u32::try_from(n).ok())
            .map(|n| Scope(ScopeRepr::Index(n)));
    }
    // Linux dev_valid_name(): < IFNAMSIZ (16) bytes, not "." or "..", no '/',
    // ':' or white space. We also refuse '%', brackets and control characters,
    // which would make the remote ambiguous.
    let ok = text.len() <= 15
        && text != "."
        && text != ".."
        && text.chars().all(|c| {
            !(c.is_whitespace() || c.is_control() || matches!(c, '/' | ':' | '%' | '[' | ']'))
        });
    ok.then(|| Scope(ScopeRepr::Interface(text.to_owned())))
}

/// Digits only (no sign, no white space); leading zeros allowed. Returns
/// `None` on overflow past `u64` or on a non-digit.
fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.bytes().try_fold(0u64, |acc, b| {
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

fn parse_port(text: &str) -> Option<u16> {
    parse_decimal(text).and_then(|n| u16::try_from(n).ok())
}

/// An unbracketed host: IPv4 address or host name.
fn parse_host(kind: RemoteKind, text: &str) -> Result<Host, ParseError> {
    if let Ok(a) = text.parse::<Ipv4Addr>() {
        return Ok(Host::Ipv4(a));
    }
    let bad = |problem: String| ParseError::BadHost {
        kind,
        host: text.to_owned(),
        problem,
    };
    if text.len() > 253 {
        return Err(bad(format!(
            "a host name can be at most 253 bytes, this one is {}",
            text.len()
        )));
    }
    let labels: Vec<&str> = text.split('.').collect();
    for label in &labels {
        if label.is_empty() {
            return Err(bad(
                "a host name cannot have an empty label (\"..\", or a leading or trailing '.')"
                    .to_owned(),
            ));
        }
        if label.len() > 63 {
            return Err(bad(format!(
                "label {label:?} is {} bytes long; labels can be at most 63",
                label.len()
            )));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(bad(format!(
                "{c:?} is not allowed: a host name has letters, digits, '-' and '.', an IPv4 \
                 address is dotted decimal and an IPv6 address goes in brackets"
            )));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad(format!("label {label:?} starts or ends with '-'")));
        }
    }
    if labels
        .last()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad(
            "not a valid IPv4 address (four numbers from 0 to 255), and a host name cannot end \
             in an all-numeric label"
                .to_owned(),
        ));
    }
    Ok(Host::Name(HostName(text.to_ascii_lowercase())))
}

/// `DB,TABLE,COLUMN`.
fn parse_db(rest: &str) -> Result<DbColumn, ParseError> {
    let parts: Vec<&str> = rest.split(',').collect();
    if parts.len() != 3 {
        return Err(ParseError::DbPartCount { found: parts.len() });
    }
    for (part, value) in ["DB", "TABLE", "COLUMN"].into_iter().zip(&parts) {
        if !is_identifier(value) {
            return Err(ParseError::BadDbPart {
                part,
                value: (*value).to_owned(),
            });
        }
    }
    Ok(DbColumn {
        db: parts[0].to_owned(),
        table: parts[1].to_owned(),
        column: parts[2].to_owned(),
    })
}

/// An OVSDB `<id>`: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn is_identifier(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
