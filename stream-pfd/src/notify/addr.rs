//! The addresses `NOTIFY_SOCKET` names: a path, an abstract name, or a vsock address.

use nix::sys::socket::{SockType, UnixAddr, VsockAddr};

use super::MAX_UNIX_ADDR_LEN;
use super::error::NotifyErrorKind;
use crate::text::parse_decimal;

#[derive(Clone, Debug)]
pub(super) enum Dest {
    Unix(UnixAddr),
    Vsock {
        addr: VsockAddr,
        /// The type the address names (`vsock-stream:` ...), or `None` for systemd's fallback.
        ty: Option<SockType>,
    },
}

/// The `vsock` prefixes and the socket type each one asks for.
const VSOCK_PREFIXES: [(&str, Option<SockType>); 4] = [
    ("vsock:", None),
    ("vsock-dgram:", Some(SockType::Datagram)),
    ("vsock-seqpacket:", Some(SockType::SeqPacket)),
    ("vsock-stream:", Some(SockType::Stream)),
];

/// Parses a `NOTIFY_SOCKET` address.
pub(super) fn parse_addr(addr: &str) -> Result<Dest, NotifyErrorKind> {
    if addr.starts_with('/') || addr.starts_with('@') {
        if addr.len() < 2 {
            return Err(NotifyErrorKind::AddressTooShort);
        }
        if let Some(pos) = addr.find('\0') {
            return Err(NotifyErrorKind::AddressNul { pos });
        }
        if addr.len() > MAX_UNIX_ADDR_LEN {
            return Err(NotifyErrorKind::AddressTooLong { len: addr.len() });
        }
        let unix = match addr.strip_prefix('@') {
            Some(name) => UnixAddr::new_abstract(name.as_bytes()),
            None => UnixAddr::new(addr),
        };
        // Checked above: neither NUL nor too long, so nix has nothing to refuse.
        return unix
            .map(Dest::Unix)
            .map_err(|_| NotifyErrorKind::NotAnAddress);
    }
    for (prefix, ty) in VSOCK_PREFIXES {
        if let Some(rest) = addr.strip_prefix(prefix) {
            let (cid, port) = rest
                .split_once(':')
                .ok_or(NotifyErrorKind::MissingVsockPort)?;
            let bad_port = || NotifyErrorKind::BadVsockPort {
                port: port.to_owned(),
            };
            let port = parse_decimal(port)
                .and_then(|p| u32::try_from(p).ok())
                .filter(|p| *p != libc::VMADDR_PORT_ANY)
                .ok_or_else(bad_port)?;
            let cid = match cid {
                "hypervisor" => libc::VMADDR_CID_HYPERVISOR,
                "local" => libc::VMADDR_CID_LOCAL,
                "host" => libc::VMADDR_CID_HOST,
                number => parse_decimal(number)
                    .and_then(|c| u32::try_from(c).ok())
                    .filter(|c| *c != libc::VMADDR_CID_ANY)
                    .ok_or_else(|| NotifyErrorKind::BadVsockCid {
                        cid: number.to_owned(),
                    })?,
            };
            return Ok(Dest::Vsock {
                addr: VsockAddr::new(cid, port),
                ty,
            });
        }
    }
    Err(NotifyErrorKind::NotAnAddress)
}
