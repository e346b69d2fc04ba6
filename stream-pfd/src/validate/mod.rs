//! Read-only validation of a candidate fd: [`validate`] and its [`ValidateError`].

use std::os::fd::{AsRawFd, BorrowedFd};

use nix::sys::stat::FileStat;

use crate::addr::SocketAddress;
use crate::info::{
    ConnectionInfo, Family, FileKind, IPPROTO_MPTCP, SockType, SocketId, SocketInfo,
};
use crate::sys;

mod error;
pub use error::{ConnectionError, ValidateError};

/// Checks, without modifying it, that `fd` is a listening stream socket of a supported family.
///
/// The checks run in this order, each failure with its own [`ValidateError`] variant: open
/// ([`NotOpen`](ValidateError::NotOpen)), a socket ([`NotSocket`](ValidateError::NotSocket)),
/// the socket itself rather than an `O_PATH` reference to its file
/// ([`PathOnly`](ValidateError::PathOnly)), a stream socket ([`NotStream`](ValidateError::NotStream)), not a connected socket
/// ([`Connected`](ValidateError::Connected), what systemd's `Accept=yes` passes), listening
/// ([`NotListening`](ValidateError::NotListening)), `AF_UNIX`/`AF_INET`/`AF_INET6`
/// ([`UnsupportedFamily`](ValidateError::UnsupportedFamily)) and, for IP, TCP or MPTCP
/// ([`UnsupportedProtocol`](ValidateError::UnsupportedProtocol)).
///
/// Only `fstat`, `fcntl(F_GETFL)`, `getsockopt`, `getsockname` and `getpeername` are used:
/// the fd's flags and state are left exactly as they were.
///
/// One case passes although the socket is useless: a listening `AF_UNIX` socket on which
/// `shutdown()` was called keeps `SO_ACCEPTCONN` set, and the kernel shows its shut-down state
/// to no socket option, so it validates and then refuses every connection. (A shut-down TCP
/// listener is no longer listening and is reported as [`NotListening`](ValidateError::NotListening).)
///
/// ```
/// use std::os::fd::AsFd;
/// use stream_pfd::ValidateError;
/// use stream_pfd::info::SockType;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let info = stream_pfd::validate(listener.as_fd())?;
/// assert_eq!(info.local_addr().to_string(), listener.local_addr()?.to_string());
///
/// let udp = std::net::UdpSocket::bind("127.0.0.1:0")?;
/// let err = stream_pfd::validate(udp.as_fd()).unwrap_err();
/// assert!(matches!(err, ValidateError::NotStream { sock_type: SockType::Datagram, .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn validate(fd: BorrowedFd<'_>) -> Result<SocketInfo, ValidateError> {
    let st = fstat(fd)?;
    validate_stat(fd, &st)
}

/// `fstat` with errors mapped to [`ValidateError`] (`EBADF` is
/// [`NotOpen`](ValidateError::NotOpen)).
pub(crate) fn fstat(fd: BorrowedFd<'_>) -> Result<FileStat, ValidateError> {
    nix::sys::stat::fstat(fd).map_err(|errno| match errno {
        nix::errno::Errno::EBADF => ValidateError::NotOpen {
            fd: fd.as_raw_fd(),
            open_limit: None,
        },
        other => ValidateError::Sys {
            fd: fd.as_raw_fd(),
            call: "fstat",
            source: other.into(),
        },
    })
}

/// The checks after `fstat`, in order.
pub(crate) fn validate_stat(
    fd: BorrowedFd<'_>,
    st: &FileStat,
) -> Result<SocketInfo, ValidateError> {
    let raw = fd.as_raw_fd();
    let domain = stream_domain(fd, st)?;
    if sockopt(fd, libc::SO_ACCEPTCONN, "getsockopt(SO_ACCEPTCONN)")? == 0 {
        let local = SocketAddress::local_of(fd, domain).ok();
        if let Some(peer) = SocketAddress::peer_of(fd, domain) {
            return Err(ValidateError::Connected {
                fd: raw,
                local,
                peer,
            });
        }
        return Err(ValidateError::NotListening {
            fd: raw,
            local: local.filter(|addr| !addr.is_unbound()),
        });
    }
    socket_info(fd, st, domain)
}

/// The first checks, shared by listeners and connections: a socket, not `O_PATH`, of type
/// `SOCK_STREAM`. Returns its `SO_DOMAIN`.
fn stream_domain(fd: BorrowedFd<'_>, st: &FileStat) -> Result<i32, ValidateError> {
    let raw = fd.as_raw_fd();
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(ValidateError::NotSocket {
            fd: raw,
            kind: FileKind::from_mode(st.st_mode),
        });
    }
    // An O_PATH fd of a socket file stats as a socket but is no socket: every socket call on
    // it fails with EBADF. Say what it is instead.
    let flags =
        nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFL).map_err(|e| ValidateError::Sys {
            fd: raw,
            call: "fcntl(F_GETFL)",
            source: e.into(),
        })?;
    if flags & libc::O_PATH != 0 {
        return Err(ValidateError::PathOnly { fd: raw });
    }
    let sock_type = sockopt(fd, libc::SO_TYPE, "getsockopt(SO_TYPE)")?;
    if sock_type != libc::SOCK_STREAM {
        return Err(ValidateError::NotStream {
            fd: raw,
            sock_type: SockType::from_raw(sock_type),
        });
    }
    sockopt(fd, libc::SO_DOMAIN, "getsockopt(SO_DOMAIN)")
}

/// A `SOL_SOCKET` option, its failure as [`ValidateError::Sys`].
fn sockopt(fd: BorrowedFd<'_>, name: i32, call: &'static str) -> Result<i32, ValidateError> {
    sys::getsockopt_int(fd, libc::SOL_SOCKET, name).map_err(|source| ValidateError::Sys {
        fd: fd.as_raw_fd(),
        call,
        source,
    })
}

/// The last checks, shared by listeners and connections: the family and protocol; then the
/// local address.
fn socket_info(
    fd: BorrowedFd<'_>,
    st: &FileStat,
    domain: i32,
) -> Result<SocketInfo, ValidateError> {
    let raw = fd.as_raw_fd();
    let Some(family) = Family::from_raw(domain) else {
        return Err(ValidateError::UnsupportedFamily {
            fd: raw,
            family: domain,
        });
    };
    let protocol = sockopt(fd, libc::SO_PROTOCOL, "getsockopt(SO_PROTOCOL)")?;
    let protocol_ok = match family {
        Family::Unix => true,
        Family::Inet | Family::Inet6 => protocol == libc::IPPROTO_TCP || protocol == IPPROTO_MPTCP,
    };
    if !protocol_ok {
        return Err(ValidateError::UnsupportedProtocol {
            fd: raw,
            family,
            protocol,
        });
    }
    let local = SocketAddress::local_of(fd, domain).map_err(|source| ValidateError::Sys {
        fd: raw,
        call: "getsockname",
        source,
    })?;
    Ok(SocketInfo::new(
        raw,
        family,
        protocol,
        local,
        SocketId::from_stat(st),
    ))
}

/// Checks, without modifying it, that `fd` is a connected stream socket of a supported family:
/// what systemd passes with `Accept=yes` (one connection per service instance), what
/// `systemd-socket-activate --accept` passes, and what a service may keep in systemd's fd store.
///
/// The checks and their order are those of [`validate`] (the error variants too), except in
/// the middle: where [`validate`] wants a listening socket, this wants a connected one, and
/// fails with [`Listening`](ValidateError::Listening) for a listener (what `Accept=no`
/// passes) and [`NotConnected`](ValidateError::NotConnected) for a socket that is neither.
/// The messages ([`ConnectionError`]'s `Display`) say what a connection needs.
///
/// Only `fstat`, `fcntl(F_GETFL)`, `getsockopt`, `getsockname` and `getpeername` are used.
///
/// ```
/// use std::os::fd::AsFd;
/// use stream_pfd::ValidateError;
///
/// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
/// let info = stream_pfd::validate_connection(a.as_fd())?;
/// assert_eq!(info.to_string(), "AF_UNIX stream connection on (unnamed) from (unnamed)");
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let err = stream_pfd::validate_connection(listener.as_fd()).unwrap_err();
/// assert!(matches!(err.error(), ValidateError::Listening { .. }));
/// assert!(err.to_string().contains("Accept=no"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn validate_connection(fd: BorrowedFd<'_>) -> Result<ConnectionInfo, ConnectionError> {
    let st = fstat(fd).map_err(ConnectionError::from)?;
    validate_connection_stat(fd, &st).map_err(ConnectionError::from)
}

/// [`validate_connection`]'s checks after `fstat`, in order.
pub(crate) fn validate_connection_stat(
    fd: BorrowedFd<'_>,
    st: &FileStat,
) -> Result<ConnectionInfo, ValidateError> {
    let raw = fd.as_raw_fd();
    let domain = stream_domain(fd, st)?;
    if sockopt(fd, libc::SO_ACCEPTCONN, "getsockopt(SO_ACCEPTCONN)")? != 0 {
        return Err(ValidateError::Listening {
            fd: raw,
            local: SocketAddress::local_of(fd, domain).ok(),
        });
    }
    let Some(peer) = SocketAddress::peer_of(fd, domain) else {
        return Err(ValidateError::NotConnected {
            fd: raw,
            local: SocketAddress::local_of(fd, domain)
                .ok()
                .filter(|addr| !addr.is_unbound()),
        });
    };
    Ok(ConnectionInfo::new(socket_info(fd, st, domain)?, peer))
}
