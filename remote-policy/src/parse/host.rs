//! Hosts, ports and IPv6 scopes inside `tcp:`, `ssl:`, `ptcp:` and `pssl:` remotes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::ParseError;
use crate::kind::RemoteKind;
use crate::remote::{Host, HostName, Remote, Scope, ScopeRepr};

pub(super) fn looks_like_ipv6(text: &str) -> bool {
    let addr = text.split_once('%').map_or(text, |(a, _)| a);
    addr.parse::<Ipv6Addr>().is_ok()
}

/// Error for a host part with several colons outside brackets.
/// `bracketed(addr, port)` writes the remote with `addr` in brackets and the
/// given port text (`None`: the default).
pub(super) fn unbracketed_or_bad(
    kind: RemoteKind,
    text: &str,
    bracketed: impl Fn(&str, Option<&str>) -> String,
) -> ParseError {
    // Candidates: "ADDR:PORT" with an unbracketed IPv6 ADDR (only for active remotes, where the
    // port comes last), and the whole text as one address. Only those that parse are kept, which
    // leaves exactly the IPv6 addresses (a bracket holds an IP address, and one with a ':' is
    // IPv6) with a valid port.
    let mut suggestions = Vec::new();
    if !kind.is_passive() {
        if let Some((addr, port)) = text.rsplit_once(':') {
            suggestions.push(bracketed(addr, Some(port)));
        }
    }
    suggestions.push(bracketed(text, None));
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
pub(super) fn parse_bracketed(
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

pub(super) fn parse_port(text: &str) -> Option<u16> {
    parse_decimal(text).and_then(|n| u16::try_from(n).ok())
}

/// An unbracketed host: IPv4 address or host name.
pub(super) fn parse_host(kind: RemoteKind, text: &str) -> Result<Host, ParseError> {
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
