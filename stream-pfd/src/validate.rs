//! Read-only validation of a candidate fd: [`validate`] and its [`ValidateError`].

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use nix::sys::stat::FileStat;

use crate::addr::{SocketAddress, family_name};
use crate::info::{
    ConnectionInfo, Family, FileKind, IPPROTO_MPTCP, SockType, SocketId, SocketInfo, protocol_name,
};
use crate::sys;

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
    let st = fstat(fd).map_err(ConnectionError)?;
    validate_connection_stat(fd, &st).map_err(ConnectionError)
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

/// Why an fd is not a usable listening socket, in validation order (see [`validate`]); also
/// what [`ConnectionError`] holds for a connection (see [`validate_connection`]).
///
/// Messages describe the fd only ("not a socket: fd 5 is a regular file");
/// [`TakeError`](crate::TakeError) prefixes them with the `pfd:` remote. Converts into
/// [`io::Error`].
///
/// ```
/// use std::os::fd::AsFd;
/// use stream_pfd::ValidateError;
///
/// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
/// let err = stream_pfd::validate(a.as_fd()).unwrap_err();
/// assert!(matches!(err, ValidateError::Connected { .. }));
/// assert!(err.to_string().contains("Accept=yes"));
/// assert_eq!(std::io::Error::from(err).kind(), std::io::ErrorKind::InvalidInput);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ValidateError {
    /// The fd is not open (`EBADF`).
    NotOpen {
        /// The fd number.
        fd: RawFd,
        /// The soft `RLIMIT_NOFILE` when the number is at or beyond it (so it cannot be open).
        open_limit: Option<u64>,
    },
    /// Open, but not a socket (`fstat`).
    NotSocket {
        /// The fd number.
        fd: RawFd,
        /// What it is instead.
        kind: FileKind,
    },
    /// A socket, but not `SOCK_STREAM` (`SO_TYPE`).
    NotStream {
        /// The fd number.
        fd: RawFd,
        /// Its type.
        sock_type: SockType,
    },
    /// A connected stream socket rather than a listener: what systemd passes with
    /// `Accept=yes` (and what `accept` returns).
    Connected {
        /// The fd number.
        fd: RawFd,
        /// Its local address, if it could be read.
        local: Option<SocketAddress>,
        /// Its peer's address.
        peer: SocketAddress,
    },
    /// An `O_PATH` descriptor of a socket file (from `open(path, O_PATH)`): it names the file,
    /// it is not the socket.
    PathOnly {
        /// The fd number.
        fd: RawFd,
    },
    /// A stream socket that is not listening (`SO_ACCEPTCONN` is 0): `listen` was never called
    /// on it, or it was shut down (which the kernel does not tell apart for TCP).
    NotListening {
        /// The fd number.
        fd: RawFd,
        /// The address it is bound to; `None` when unbound.
        local: Option<SocketAddress>,
    },
    /// A listening stream socket where a connection was wanted: what systemd passes with
    /// `Accept=no`, the default. Only [`validate_connection`] returns it.
    Listening {
        /// The fd number.
        fd: RawFd,
        /// The address it listens on, if it could be read.
        local: Option<SocketAddress>,
    },
    /// A stream socket that is neither connected nor listening, where a connection was wanted.
    /// Only [`validate_connection`] returns it.
    NotConnected {
        /// The fd number.
        fd: RawFd,
        /// The address it is bound to; `None` when unbound.
        local: Option<SocketAddress>,
    },
    /// A stream socket of a family other than `AF_UNIX`, `AF_INET`, `AF_INET6`.
    UnsupportedFamily {
        /// The fd number.
        fd: RawFd,
        /// Its `SO_DOMAIN`.
        family: i32,
    },
    /// An IP stream socket whose protocol is neither TCP nor MPTCP (such as SCTP).
    UnsupportedProtocol {
        /// The fd number.
        fd: RawFd,
        /// Its family.
        family: Family,
        /// Its `SO_PROTOCOL`.
        protocol: i32,
    },
    /// A system call needed for the checks failed unexpectedly.
    Sys {
        /// The fd number.
        fd: RawFd,
        /// The call that failed.
        call: &'static str,
        /// The error.
        source: io::Error,
    },
}

impl ValidateError {
    /// The fd number the error is about.
    ///
    /// ```
    /// # use std::os::fd::{AsFd, AsRawFd};
    /// let file = std::fs::File::open("/dev/null")?;
    /// let err = stream_pfd::validate(file.as_fd()).unwrap_err();
    /// assert_eq!(err.fd(), file.as_raw_fd());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn fd(&self) -> RawFd {
        match self {
            ValidateError::NotOpen { fd, .. }
            | ValidateError::NotSocket { fd, .. }
            | ValidateError::NotStream { fd, .. }
            | ValidateError::Connected { fd, .. }
            | ValidateError::NotListening { fd, .. }
            | ValidateError::Listening { fd, .. }
            | ValidateError::NotConnected { fd, .. }
            | ValidateError::PathOnly { fd }
            | ValidateError::UnsupportedFamily { fd, .. }
            | ValidateError::UnsupportedProtocol { fd, .. }
            | ValidateError::Sys { fd, .. } => *fd,
        }
    }

    pub(crate) fn io_kind(&self) -> io::ErrorKind {
        match self {
            ValidateError::NotOpen { .. } => io::ErrorKind::NotFound,
            ValidateError::Sys { source, .. } => source.kind(),
            _ => io::ErrorKind::InvalidInput,
        }
    }
}

/// What the caller wanted the fd to be: the messages say what would be right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wanted {
    Listener,
    Connection,
}

impl fmt::Display for ValidateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.describe(f, Wanted::Listener)
    }
}

impl ValidateError {
    /// The message, for a fd that was wanted as `wanted`.
    fn describe(&self, f: &mut fmt::Formatter<'_>, wanted: Wanted) -> fmt::Result {
        let connection = wanted == Wanted::Connection;
        match self {
            ValidateError::NotOpen {
                fd,
                open_limit: None,
            } => write!(f, "bad file descriptor: fd {fd} is not open (EBADF)"),
            ValidateError::NotOpen {
                fd,
                open_limit: Some(limit),
            } => write!(
                f,
                "bad file descriptor: fd {fd} is not open (EBADF): it is beyond this process's \
                 open-file limit (RLIMIT_NOFILE {limit}), so it cannot have been inherited"
            ),
            ValidateError::NotSocket { fd, kind } if connection => write!(
                f,
                "not a socket: fd {fd} is {kind}; a connection must be a connected stream \
                 socket (systemd Accept=yes)"
            ),
            ValidateError::NotSocket { fd, kind } => write!(
                f,
                "not a socket: fd {fd} is {kind}; pfd: needs a listening stream socket \
                 (systemd ListenStream=)"
            ),
            ValidateError::NotStream { fd, sock_type } if connection => write!(
                f,
                "not a stream socket: fd {fd} is {sock_type}; a connection must be a connected \
                 SOCK_STREAM socket (systemd ListenStream= with Accept=yes)"
            ),
            ValidateError::NotStream { fd, sock_type } => write!(
                f,
                "not a stream socket: fd {fd} is {sock_type}; pfd: needs a listening \
                 SOCK_STREAM socket (systemd ListenStream=, not ListenDatagram= or \
                 ListenSequentialPacket=)"
            ),
            ValidateError::Connected { fd, local, peer } => {
                write!(
                    f,
                    "not a listening socket: fd {fd} is a connected stream socket ("
                )?;
                if let Some(local) = local {
                    write!(f, "local {local}, ")?;
                }
                write!(
                    f,
                    "peer {peer}), which is what systemd passes with Accept=yes; use Accept=no \
                     (the default) so that the service receives the listening socket"
                )
            }
            ValidateError::NotListening { fd, local: None } => write!(
                f,
                "not a listening socket: fd {fd} is an unbound stream socket (neither bind() nor \
                 listen() was called on it)"
            ),
            ValidateError::NotListening {
                fd,
                local: Some(local),
            } => write!(
                f,
                "not a listening socket: fd {fd} is a stream socket bound to {local} that is not \
                 listening (listen() was never called on it, or it was shut down)"
            ),
            ValidateError::PathOnly { fd } if connection => write!(
                f,
                "not a socket: fd {fd} is an O_PATH reference to a socket file, not the socket \
                 itself; a connection must be a connected stream socket (systemd Accept=yes)"
            ),
            ValidateError::PathOnly { fd } => write!(
                f,
                "not a socket: fd {fd} is an O_PATH reference to a socket file, not the socket \
                 itself; pfd: needs a listening stream socket (systemd ListenStream=)"
            ),
            ValidateError::Listening { fd, local } => {
                write!(f, "not a connection: fd {fd} is a listening stream socket")?;
                if let Some(local) = local {
                    write!(f, " on {local}")?;
                }
                f.write_str(
                    ", which is what systemd passes with Accept=no (the default); take it as a \
                     listener, or use Accept=yes to receive one connection per service instance",
                )
            }
            ValidateError::NotConnected { fd, local: None } => write!(
                f,
                "not a connection: fd {fd} is an unbound stream socket that is neither connected \
                 nor listening"
            ),
            ValidateError::NotConnected {
                fd,
                local: Some(local),
            } => write!(
                f,
                "not a connection: fd {fd} is a stream socket bound to {local} that is neither \
                 connected nor listening"
            ),
            ValidateError::UnsupportedFamily { fd, family } if connection => write!(
                f,
                "unsupported address family: fd {fd} is a connected {} stream socket (family \
                 {family}); connections are supported over AF_UNIX, AF_INET and AF_INET6",
                family_name(*family)
            ),
            ValidateError::UnsupportedFamily { fd, family } => write!(
                f,
                "unsupported address family: fd {fd} is a listening {} stream socket \
                 (family {family}); pfd: supports AF_UNIX, AF_INET and AF_INET6",
                family_name(*family)
            ),
            ValidateError::UnsupportedProtocol {
                fd,
                family,
                protocol,
            } if connection => write!(
                f,
                "unsupported protocol: fd {fd} is a connected {family} stream socket of protocol \
                 {protocol} ({}); connections are supported over TCP and MPTCP",
                protocol_name(*protocol)
            ),
            ValidateError::UnsupportedProtocol {
                fd,
                family,
                protocol,
            } => write!(
                f,
                "unsupported protocol: fd {fd} is a listening {family} stream socket of protocol \
                 {protocol} ({}); pfd: supports TCP and MPTCP over IP",
                protocol_name(*protocol)
            ),
            ValidateError::Sys { fd, call, source } => {
                write!(f, "cannot inspect fd {fd}: {call} failed: {source}")
            }
        }
    }
}

impl std::error::Error for ValidateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ValidateError::Sys { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<ValidateError> for io::Error {
    fn from(err: ValidateError) -> io::Error {
        io::Error::new(err.io_kind(), err)
    }
}

/// Why an fd is not a usable connection (see [`validate_connection`]): what is wrong with it
/// as a [`ValidateError`] ([`error`](ConnectionError::error)), with messages that say what a
/// connection needs. Converts into [`io::Error`].
///
/// ```
/// use std::os::fd::AsFd;
/// use stream_pfd::ValidateError;
///
/// let udp = std::net::UdpSocket::bind("127.0.0.1:0")?;
/// let err = stream_pfd::validate_connection(udp.as_fd()).unwrap_err();
/// assert!(matches!(err.error(), ValidateError::NotStream { .. }));
/// assert!(err.to_string().ends_with(
///     "a connection must be a connected SOCK_STREAM socket (systemd ListenStream= with Accept=yes)"
/// ));
/// assert_eq!(std::io::Error::from(err).kind(), std::io::ErrorKind::InvalidInput);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ConnectionError(ValidateError);

impl ConnectionError {
    /// What is wrong with the fd.
    ///
    /// ```
    /// # use std::os::fd::AsFd;
    /// let file = std::fs::File::open("/dev/null")?;
    /// let err = stream_pfd::validate_connection(file.as_fd()).unwrap_err();
    /// assert!(matches!(err.error(), stream_pfd::ValidateError::NotSocket { .. }));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn error(&self) -> &ValidateError {
        &self.0
    }

    /// The fd number the error is about.
    ///
    /// ```
    /// # use std::os::fd::{AsFd, AsRawFd};
    /// let file = std::fs::File::open("/dev/null")?;
    /// let err = stream_pfd::validate_connection(file.as_fd()).unwrap_err();
    /// assert_eq!(err.fd(), file.as_raw_fd());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn fd(&self) -> RawFd {
        self.0.fd()
    }

    pub(crate) fn io_kind(&self) -> io::ErrorKind {
        self.0.io_kind()
    }
}

/// The same error, told in connection terms.
///
/// ```
/// use stream_pfd::{ConnectionError, ValidateError};
///
/// let err = ConnectionError::from(ValidateError::PathOnly { fd: 3 });
/// assert!(err.to_string().ends_with("a connection must be a connected stream socket (systemd Accept=yes)"));
/// ```
impl From<ValidateError> for ConnectionError {
    fn from(error: ValidateError) -> ConnectionError {
        ConnectionError(error)
    }
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.describe(f, Wanted::Connection)
    }
}

impl std::error::Error for ConnectionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
    }
}

impl From<ConnectionError> for io::Error {
    fn from(err: ConnectionError) -> io::Error {
        io::Error::new(err.io_kind(), err)
    }
}
