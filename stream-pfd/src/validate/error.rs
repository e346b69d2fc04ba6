//! [`ValidateError`] and [`ConnectionError`]: why an fd is not a usable listener or connection.

use std::fmt;
use std::io;
use std::os::fd::RawFd;

use crate::addr::{SocketAddress, family_name};
use crate::info::{Family, FileKind, SockType, protocol_name};

/// Why an fd is not a usable listening socket, in validation order (see [`validate`](crate::validate)); also
/// what [`ConnectionError`] holds for a connection (see [`validate_connection`](crate::validate_connection)).
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
    /// `Accept=no`, the default. Only [`validate_connection`](crate::validate_connection) returns it.
    Listening {
        /// The fd number.
        fd: RawFd,
        /// The address it listens on, if it could be read.
        local: Option<SocketAddress>,
    },
    /// A stream socket that is neither connected nor listening, where a connection was wanted.
    /// Only [`validate_connection`](crate::validate_connection) returns it.
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

/// Why an fd is not a usable connection (see [`validate_connection`](crate::validate_connection)): what is wrong with it
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
