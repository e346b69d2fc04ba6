//! The development fallback: take the passed socket when socket-activated, bind an address
//! otherwise ([`ListenFds::take_or_bind`]), saying which happened ([`ListenSource`]), and its
//! [`ListenOrBindError`].

use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;

use crate::bind::{BindAddress, BindAddressError};
use crate::listen_fds::ListenFds;
use crate::listener::Listener;
use crate::socket_file::{SocketFileError, bind_socket_file};
use crate::spec::PfdSpec;
use crate::take::TakeError;

/// Where the listener of [`ListenFds::take_or_bind`] came from.
///
/// ```
/// use stream_pfd::ListenSource;
///
/// assert_eq!(ListenSource::Activated.to_string(), "socket-activated");
/// assert!(!ListenSource::Bound { removed_stale: false }.is_activated());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListenSource {
    /// Taken from the sockets systemd passed (`LISTEN_FDS` was set).
    Activated,
    /// Bound to the fallback address (`LISTEN_FDS` was not set).
    Bound {
        /// Whether a stale socket file at the fallback path (one no process listened on, left
        /// by an earlier run) was removed first.
        removed_stale: bool,
    },
}

impl ListenSource {
    /// Whether the listener is the socket systemd passed.
    ///
    /// ```
    /// assert!(stream_pfd::ListenSource::Activated.is_activated());
    /// ```
    pub fn is_activated(self) -> bool {
        self == ListenSource::Activated
    }
}

impl fmt::Display for ListenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenSource::Activated => f.write_str("socket-activated"),
            ListenSource::Bound {
                removed_stale: false,
            } => f.write_str("bound: not socket-activated"),
            ListenSource::Bound {
                removed_stale: true,
            } => f.write_str(
                "bound: not socket-activated; removed a stale socket file no process listened on",
            ),
        }
    }
}

impl ListenFds {
    /// Takes the socket `spec` names when the process was socket-activated (`LISTEN_FDS` is
    /// set), and binds `fallback` otherwise (syntax: [`BindAddress`]): one call for a daemon
    /// that runs under systemd in production and from a shell in development. Returns the
    /// listener and where it came from ([`ListenSource`]).
    ///
    /// It never binds when activation was meant: when `LISTEN_FDS` is set, a `spec` that
    /// cannot be taken (not passed, not a listening stream socket:
    /// [`ListenOrBindError::Take`]) is an error, and nothing is bound (a broken `LISTEN_*`
    /// environment already failed [`build`](crate::ListenFdsBuilder::build)). The fallback
    /// address is checked first, activated or not, so that a typo shows up in development and
    /// production alike.
    ///
    /// A unix path is bound by [`bind_socket_file`]'s rule: a stale socket file of this user
    /// (left by an earlier run) is removed and bound again, and [`ListenSource::Bound`] says
    /// so; a file that is not a socket, a socket a process listens on, or one of another user
    /// is never removed ([`ListenOrBindError::SocketFile`]). The file stays at exit, for the
    /// next run to replace.
    ///
    /// An fd inherited without `LISTEN_FDS` (Open vSwitch's `pfd:` by plain `exec`) is not
    /// looked at: without `LISTEN_FDS` this always binds. Use [`take`](ListenFds::take) for
    /// such fds.
    ///
    /// This is the one call for "take it, or bind in development": build the `ListenFds` as
    /// for [`take`](ListenFds::take) (with [`unset_env`](crate::ListenFdsBuilder::unset_env),
    /// and report [`unclaimed`](ListenFds::unclaimed) fds), then call this for each socket.
    ///
    /// ```
    /// use stream_pfd::{ListenFds, ListenSource};
    ///
    /// // Not socket-activated here (the environment is ignored), so the fallback is bound.
    /// let mut fds = ListenFds::builder().ignore_env().build()?;
    /// let (listener, source) = fds.take_or_bind(&"pfd:3".parse()?, "127.0.0.1:0")?;
    /// assert_eq!(source, ListenSource::Bound { removed_stale: false });
    /// println!("listening on {} ({source})", listener.local_addr());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn take_or_bind(
        &mut self,
        spec: &PfdSpec,
        fallback: &str,
    ) -> Result<(Listener, ListenSource), ListenOrBindError> {
        let fallback = fallback.parse().map_err(ListenOrBindError::Address)?;
        self.take_or_bind_address(spec, fallback)
    }

    fn take_or_bind_address(
        &mut self,
        spec: &PfdSpec,
        fallback: BindAddress,
    ) -> Result<(Listener, ListenSource), ListenOrBindError> {
        if self.is_activated() {
            return match self.take(spec) {
                Ok(listener) => Ok((listener, ListenSource::Activated)),
                Err(error) => Err(ListenOrBindError::Take(error)),
            };
        }
        let (fd, removed_stale) = bind(&fallback)?;
        let listener = Listener::try_from_fd(fd).map_err(|rejected| ListenOrBindError::Bind {
            address: fallback.clone(),
            call: "validating the bound socket",
            source: rejected.into(),
        })?;
        Ok((listener, ListenSource::Bound { removed_stale }))
    }
}

/// Binds and listens on `address`; a unix path by [`bind_socket_file`]'s rule, its file left in
/// place at exit (the next bind finds it stale). Returns the socket and whether a stale file
/// was removed.
fn bind(address: &BindAddress) -> Result<(OwnedFd, bool), ListenOrBindError> {
    let failed = |call, source| ListenOrBindError::Bind {
        address: address.clone(),
        call,
        source,
    };
    match address {
        BindAddress::Tcp(addr) => std::net::TcpListener::bind(addr)
            .map(|l| (l.into(), false))
            .map_err(|e| failed("bind", e)),
        BindAddress::Abstract(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)
                .map_err(|e| failed("bind", e))?;
            UnixListener::bind_addr(&addr)
                .map(|l| (l.into(), false))
                .map_err(|e| failed("bind", e))
        }
        BindAddress::Path(path) => {
            let bound = bind_socket_file(path, None).map_err(ListenOrBindError::SocketFile)?;
            bound.file.keep();
            Ok((bound.listener.into(), bound.removed_stale))
        }
    }
}

/// Why [`ListenFds::take_or_bind`] gave no listener. Nothing was bound unless the variant says
/// so. Converts into [`io::Error`].
///
/// ```
/// use stream_pfd::{ListenFds, ListenOrBindError};
///
/// let mut fds = ListenFds::builder().ignore_env().build()?;
/// let err = fds.take_or_bind(&"pfd:web".parse()?, "localhost:80").unwrap_err();
/// assert!(matches!(err, ListenOrBindError::Address(_)));
/// assert_eq!(std::io::Error::from(err).kind(), std::io::ErrorKind::InvalidInput);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ListenOrBindError {
    /// The fallback address does not parse (checked first, activated or not).
    Address(BindAddressError),
    /// Socket-activated, but `spec` could not be taken, so the fallback was not bound.
    Take(TakeError),
    /// Not socket-activated, and the fallback path could not be bound: it holds a file that is
    /// not a socket, a socket a process listens on, or one of another user
    /// ([`bind_socket_file`]'s rule; nothing there was removed).
    SocketFile(SocketFileError),
    /// Not socket-activated, and binding the fallback failed.
    Bind {
        /// The address.
        address: BindAddress,
        /// The step that failed.
        call: &'static str,
        /// The error.
        source: io::Error,
    },
}

impl ListenOrBindError {
    fn io_kind(&self) -> io::ErrorKind {
        match self {
            ListenOrBindError::Address(_) => io::ErrorKind::InvalidInput,
            ListenOrBindError::Take(error) => error.io_kind(),
            ListenOrBindError::SocketFile(error) => error.io_kind(),
            ListenOrBindError::Bind { source, .. } => source.kind(),
        }
    }
}

impl fmt::Display for ListenOrBindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenOrBindError::Address(error) => error.fmt(f),
            ListenOrBindError::Take(error) => write!(
                f,
                "{error}; the process was socket-activated (LISTEN_FDS is set), so the fallback \
                 address was not bound"
            ),
            ListenOrBindError::SocketFile(error) => error.fmt(f),
            ListenOrBindError::Bind {
                address,
                call,
                source,
            } => write!(f, "cannot bind {address}: {call} failed: {source}"),
        }
    }
}

impl std::error::Error for ListenOrBindError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // Shown as is: the address error is the whole message.
            ListenOrBindError::Address(_) => None,
            ListenOrBindError::Take(error) => Some(error),
            ListenOrBindError::Bind { source, .. } => Some(source),
            // Shown as is: the error is the whole message.
            ListenOrBindError::SocketFile(_) => None,
        }
    }
}

impl From<ListenOrBindError> for io::Error {
    fn from(err: ListenOrBindError) -> io::Error {
        io::Error::new(err.io_kind(), err)
    }
}
