//! Parsing remotes: `impl FromStr for Remote`, with [`ParseError`] (in `error.rs`) and the
//! host, port and scope grammar (in `host.rs`).

mod error;
mod host;

use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

pub(crate) use error::example;
pub use error::{MAX_REMOTE_LEN, ParseError};
use host::{looks_like_ipv6, parse_bracketed, parse_host, parse_port, unbracketed_or_bad};

use crate::kind::RemoteKind;
use crate::remote::{
    DEFAULT_PORT, DbColumn, Endpoint, Host, Listen, MAX_UNIX_PATH_LEN, Remote, UnixPath,
};

impl FromStr for Remote {
    type Err = ParseError;

    /// Parses a remote. The kind prefix is case-sensitive and nothing is
    /// trimmed: ` pfd:3` and `PFD:3` are errors, as in Open vSwitch.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.is_empty() {
            return Err(ParseError::Empty);
        }
        if input.len() > MAX_REMOTE_LEN {
            return Err(ParseError::TooLong {
                input: input.to_owned(),
            });
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
