//! Socket addresses for logs: [`SocketAddress`], [`UnixAddress`], and the names of address
//! families.

use std::fmt;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::PathBuf;

use nix::sys::socket::{SockaddrLike, SockaddrStorage};

/// The address of an `AF_UNIX` socket.
///
/// ```
/// use stream_pfd::addr::UnixAddress;
///
/// assert_eq!(UnixAddress::Path("/run/app.sock".into()).to_string(), "/run/app.sock");
/// assert_eq!(UnixAddress::Abstract(b"echod\n".to_vec()).to_string(), "@echod\\n");
/// assert_eq!(UnixAddress::Unnamed.to_string(), "(unnamed)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UnixAddress {
    /// A filesystem path.
    Path(PathBuf),
    /// A name in Linux's abstract namespace (without the leading NUL byte); shown as `@name`.
    Abstract(Vec<u8>),
    /// No address (an unbound socket, or one end of a `socketpair`).
    Unnamed,
}

impl fmt::Display for UnixAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnixAddress::Path(path) => write!(f, "{}", path.display()),
            UnixAddress::Abstract(name) => write!(f, "@{}", name.escape_ascii()),
            UnixAddress::Unnamed => f.write_str("(unnamed)"),
        }
    }
}

/// A socket's local or peer address, as reported for logs.
///
/// ```
/// use stream_pfd::addr::SocketAddress;
///
/// let tcp = SocketAddress::Inet("[::1]:8080".parse().unwrap());
/// assert_eq!(tcp.to_string(), "[::1]:8080");
/// assert!(!tcp.is_unbound());
/// assert!(SocketAddress::Inet("0.0.0.0:0".parse().unwrap()).is_unbound());
/// assert_eq!(SocketAddress::Other { family: libc::AF_VSOCK }.to_string(), "(an AF_VSOCK address)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SocketAddress {
    /// An `AF_UNIX` address.
    Unix(UnixAddress),
    /// An `AF_INET` or `AF_INET6` address.
    Inet(SocketAddr),
    /// An address of another family (not decoded).
    Other {
        /// The address family (`AF_*`).
        family: i32,
    },
}

impl SocketAddress {
    /// Whether this is the address of a socket that was never bound: an unnamed `AF_UNIX`
    /// address, or an unspecified IP address with port 0.
    ///
    /// ```
    /// use stream_pfd::addr::{SocketAddress, UnixAddress};
    /// assert!(SocketAddress::Unix(UnixAddress::Unnamed).is_unbound());
    /// ```
    pub fn is_unbound(&self) -> bool {
        match self {
            SocketAddress::Unix(addr) => *addr == UnixAddress::Unnamed,
            SocketAddress::Inet(addr) => addr.port() == 0 && addr.ip().is_unspecified(),
            SocketAddress::Other { .. } => false,
        }
    }

    pub(crate) fn from_storage(storage: &SockaddrStorage, domain: i32) -> SocketAddress {
        if let Some(unix) = storage.as_unix_addr() {
            return SocketAddress::Unix(if let Some(path) = unix.path() {
                UnixAddress::Path(path.to_owned())
            } else if let Some(name) = unix.as_abstract() {
                UnixAddress::Abstract(name.to_vec())
            } else {
                UnixAddress::Unnamed
            });
        }
        if let Some(v4) = storage.as_sockaddr_in() {
            return SocketAddress::Inet(SocketAddr::from(*v4));
        }
        if let Some(v6) = storage.as_sockaddr_in6() {
            return SocketAddress::Inet(SocketAddr::from(*v6));
        }
        SocketAddress::Other {
            family: storage.family().map_or(domain, |f| f as i32),
        }
    }

    /// The local address of `fd` (`getsockname`); `domain` is its `SO_DOMAIN`.
    pub(crate) fn local_of(fd: BorrowedFd<'_>, domain: i32) -> std::io::Result<SocketAddress> {
        let storage: SockaddrStorage = nix::sys::socket::getsockname(fd.as_raw_fd())?;
        Ok(SocketAddress::from_storage(&storage, domain))
    }

    /// The peer address of `fd` (`getpeername`); `None` if it is not connected.
    pub(crate) fn peer_of(fd: BorrowedFd<'_>, domain: i32) -> Option<SocketAddress> {
        let storage: SockaddrStorage = nix::sys::socket::getpeername(fd.as_raw_fd()).ok()?;
        Some(SocketAddress::from_storage(&storage, domain))
    }
}

impl fmt::Display for SocketAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketAddress::Unix(addr) => addr.fmt(f),
            SocketAddress::Inet(addr) => addr.fmt(f),
            SocketAddress::Other { family } => {
                write!(f, "(an {} address)", family_name(*family))
            }
        }
    }
}

impl From<SocketAddr> for SocketAddress {
    fn from(addr: SocketAddr) -> SocketAddress {
        SocketAddress::Inet(addr)
    }
}

impl From<&std::os::unix::net::SocketAddr> for SocketAddress {
    fn from(addr: &std::os::unix::net::SocketAddr) -> SocketAddress {
        use std::os::linux::net::SocketAddrExt;
        SocketAddress::Unix(if let Some(path) = addr.as_pathname() {
            UnixAddress::Path(path.to_owned())
        } else if let Some(name) = addr.as_abstract_name() {
            UnixAddress::Abstract(name.to_vec())
        } else {
            UnixAddress::Unnamed
        })
    }
}

/// The `AF_*` name of an address family, for messages.
pub(crate) fn family_name(family: i32) -> &'static str {
    match family {
        libc::AF_UNSPEC => "AF_UNSPEC",
        libc::AF_UNIX => "AF_UNIX",
        libc::AF_INET => "AF_INET",
        libc::AF_INET6 => "AF_INET6",
        libc::AF_NETLINK => "AF_NETLINK",
        libc::AF_PACKET => "AF_PACKET",
        libc::AF_VSOCK => "AF_VSOCK",
        libc::AF_BLUETOOTH => "AF_BLUETOOTH",
        libc::AF_TIPC => "AF_TIPC",
        libc::AF_ALG => "AF_ALG",
        libc::AF_CAN => "AF_CAN",
        41 => "AF_KCM",
        42 => "AF_QIPCRTR",
        libc::AF_RDS => "AF_RDS",
        libc::AF_XDP => "AF_XDP",
        43 => "AF_SMC",
        45 => "AF_MCTP",
        _ => "an unknown address family",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The family names are a table: a reviewer sees every change in the snapshot.
    #[test]
    fn family_names() {
        let table: Vec<String> = (0..=50)
            .map(|f| format!("{f:2} {}", family_name(f)))
            .collect();
        insta::assert_snapshot!(table.join("\n"));
    }

    #[test]
    fn only_the_unspecified_address_with_port_0_is_unbound() {
        let inet = |s: &str| SocketAddress::Inet(s.parse().unwrap());
        assert!(inet("0.0.0.0:0").is_unbound());
        assert!(inet("[::]:0").is_unbound());
        assert!(!inet("0.0.0.0:80").is_unbound());
        assert!(!inet("127.0.0.1:0").is_unbound());
        assert!(!SocketAddress::Unix(UnixAddress::Path("/s".into())).is_unbound());
        assert!(!SocketAddress::Unix(UnixAddress::Abstract(b"a".to_vec())).is_unbound());
        assert!(
            !SocketAddress::Other {
                family: libc::AF_PACKET
            }
            .is_unbound()
        );
    }
}
