//! The development fallback: take the passed socket when socket-activated, bind an address
//! otherwise ([`listen_or_bind`], [`ListenFds::take_or_bind`]), saying which happened
//! ([`Origin`]), and its [`ListenOrBindError`].

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, connect, socket};

use crate::bind::{BindAddress, BindAddressError};
use crate::env::EnvError;
use crate::info::FileKind;
use crate::listen_fds::ListenFds;
use crate::listener::Listener;
use crate::spec::PfdSpec;
use crate::take::TakeError;

/// Where the listener of [`listen_or_bind`] came from.
///
/// ```
/// use stream_pfd::Origin;
///
/// assert_eq!(Origin::Activated.to_string(), "socket-activated");
/// assert!(!Origin::Bound { removed_stale: false }.is_activated());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Origin {
    /// Taken from the sockets systemd passed (`LISTEN_FDS` was set).
    Activated,
    /// Bound to the fallback address (`LISTEN_FDS` was not set).
    Bound {
        /// Whether a stale socket file at the fallback path (one no process listened on, left
        /// by an earlier run) was removed first.
        removed_stale: bool,
    },
}

impl Origin {
    /// Whether the listener is the socket systemd passed.
    ///
    /// ```
    /// assert!(stream_pfd::Origin::Activated.is_activated());
    /// ```
    pub fn is_activated(self) -> bool {
        self == Origin::Activated
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Activated => f.write_str("socket-activated"),
            Origin::Bound {
                removed_stale: false,
            } => f.write_str("bound: not socket-activated"),
            Origin::Bound {
                removed_stale: true,
            } => f.write_str(
                "bound: not socket-activated; removed a stale socket file no process listened on",
            ),
        }
    }
}

/// Takes the socket `spec` names when the process was socket-activated, and otherwise binds
/// `fallback` (syntax: [`BindAddress`]): one call for a daemon that runs under systemd in
/// production and from a shell in development.
///
/// It never binds when activation was expected: when a `LISTEN_*` variable is set, a broken
/// environment ([`ListenOrBindError::Env`]) or a `spec` that cannot be taken (not passed,
/// not a listening stream socket: [`ListenOrBindError::Take`]) is an error, and nothing is
/// bound. The fallback address is checked first, activated or not, so that a typo shows up
/// in development and production alike.
///
/// Binding a unix path never removes a file that is not a socket
/// ([`ListenOrBindError::NotSocket`]), nor a socket a process listens on
/// ([`ListenOrBindError::InUse`]); a socket file that refuses connections (left by an earlier
/// run) is removed and bound again, and [`Origin::Bound`] says so.
///
/// This builds [`ListenFds`] with the defaults and drops it before returning, which closes
/// every other passed fd ([`OnDrop::Close`](crate::OnDrop)): a daemon with several sockets
/// builds its own `ListenFds` and calls [`ListenFds::take_or_bind`] for each.
///
/// ```
/// use stream_pfd::{Origin, PfdSpec};
///
/// // Not socket-activated here, so the fallback is bound.
/// # for var in stream_pfd::env::ENV_VARS { assert!(std::env::var_os(var).is_none()); }
/// let (listener, origin) = stream_pfd::listen_or_bind(&"pfd:web".parse()?, "127.0.0.1:0")?;
/// assert_eq!(origin, Origin::Bound { removed_stale: false });
/// println!("listening on {} ({origin})", listener.local_addr());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn listen_or_bind(
    spec: &PfdSpec,
    fallback: &str,
) -> Result<(Listener, Origin), ListenOrBindError> {
    let fallback: BindAddress = fallback.parse().map_err(ListenOrBindError::Address)?;
    let mut fds = ListenFds::from_env().map_err(ListenOrBindError::Env)?;
    fds.take_or_bind_address(spec, fallback)
}

impl ListenFds {
    /// [`listen_or_bind`] on this `ListenFds`: takes `spec` when `LISTEN_FDS` was set (and
    /// then never binds), binds `fallback` otherwise.
    ///
    /// An fd inherited without `LISTEN_FDS` (Open vSwitch's `pfd:` by plain `exec`) is not
    /// looked at: without `LISTEN_FDS` this always binds. Use [`take`](ListenFds::take) for
    /// such fds.
    ///
    /// ```
    /// use stream_pfd::{ListenFds, Origin};
    ///
    /// let mut fds = ListenFds::builder().ignore_env().build()?;
    /// let (listener, origin) = fds.take_or_bind(&"pfd:web".parse()?, "127.0.0.1:0")?;
    /// assert!(!origin.is_activated());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn take_or_bind(
        &mut self,
        spec: &PfdSpec,
        fallback: &str,
    ) -> Result<(Listener, Origin), ListenOrBindError> {
        let fallback = fallback.parse().map_err(ListenOrBindError::Address)?;
        self.take_or_bind_address(spec, fallback)
    }

    fn take_or_bind_address(
        &mut self,
        spec: &PfdSpec,
        fallback: BindAddress,
    ) -> Result<(Listener, Origin), ListenOrBindError> {
        if self.is_activated() {
            return match self.take(spec) {
                Ok(listener) => Ok((listener, Origin::Activated)),
                Err(error) => Err(ListenOrBindError::Take(error)),
            };
        }
        let (fd, removed_stale) = bind(&fallback)?;
        let listener = Listener::try_from_fd(fd).map_err(|rejected| ListenOrBindError::Bind {
            address: fallback.clone(),
            call: "validating the bound socket",
            source: rejected.into(),
        })?;
        Ok((listener, Origin::Bound { removed_stale }))
    }
}

/// Binds and listens on `address`; for a unix path, first removes a stale socket file.
/// Returns the socket and whether a stale file was removed.
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
            let removed_stale = remove_stale(path)?;
            UnixListener::bind(path)
                .map(|l| (l.into(), removed_stale))
                .map_err(|e| failed("bind", e))
        }
    }
}

/// Makes way for a unix socket at `path`: nothing there is fine; a socket file nobody listens
/// on is removed (`true`); anything else is an error.
fn remove_stale(path: &Path) -> Result<bool, ListenOrBindError> {
    let failed = |call, source| ListenOrBindError::Bind {
        address: BindAddress::Path(path.to_owned()),
        call,
        source,
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(failed("lstat", e)),
    };
    if !meta.file_type().is_socket() {
        return Err(ListenOrBindError::NotSocket {
            path: path.to_owned(),
            kind: FileKind::from_mode(meta.mode()),
        });
    }
    match probe(path) {
        // Refused: a socket file with no listener behind it.
        Err(Errno::ECONNREFUSED) => {}
        // Removed in the meantime.
        Err(Errno::ENOENT) => return Ok(false),
        // Connected, or in progress (a full backlog): a process listens on it.
        Ok(()) | Err(Errno::EAGAIN | Errno::EINPROGRESS) => {
            return Err(ListenOrBindError::InUse {
                path: path.to_owned(),
            });
        }
        Err(errno) => {
            return Err(failed(
                "connect (is a process listening on it?)",
                errno.into(),
            ));
        }
    }
    std::fs::remove_file(path).map_err(|e| failed("removing the stale socket file", e))?;
    Ok(true)
}

/// A non-blocking stream connect to `path` (so a listener with a full backlog cannot block
/// it), closed at once.
fn probe(path: &Path) -> Result<(), Errno> {
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    connect(fd.as_raw_fd(), &UnixAddr::new(path)?)
}

/// Why [`listen_or_bind`] (or [`ListenFds::take_or_bind`]) gave no listener. Nothing was bound
/// unless the variant says so. Converts into [`io::Error`].
///
/// ```
/// use stream_pfd::ListenOrBindError;
///
/// let err = stream_pfd::listen_or_bind(&"pfd:web".parse()?, "localhost:80").unwrap_err();
/// assert!(matches!(err, ListenOrBindError::Address(_)));
/// assert_eq!(std::io::Error::from(err).kind(), std::io::ErrorKind::InvalidInput);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ListenOrBindError {
    /// The fallback address does not parse (checked first, activated or not).
    Address(BindAddressError),
    /// The `LISTEN_*` variables are set but wrong: socket activation was meant and is broken,
    /// so the fallback was not bound.
    Env(EnvError),
    /// Socket-activated, but `spec` could not be taken, so the fallback was not bound.
    Take(TakeError),
    /// Not socket-activated, and the fallback path holds a file that is not a socket: it is
    /// not removed.
    NotSocket {
        /// The path.
        path: PathBuf,
        /// What is there.
        kind: FileKind,
    },
    /// Not socket-activated, and a process listens on the fallback path.
    InUse {
        /// The path.
        path: PathBuf,
    },
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
            ListenOrBindError::Env(error) => error.io_kind(),
            ListenOrBindError::Take(error) => error.io_kind(),
            ListenOrBindError::NotSocket { .. } => io::ErrorKind::AlreadyExists,
            ListenOrBindError::InUse { .. } => io::ErrorKind::AddrInUse,
            ListenOrBindError::Bind { source, .. } => source.kind(),
        }
    }
}

impl fmt::Display for ListenOrBindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenOrBindError::Address(error) => error.fmt(f),
            ListenOrBindError::Env(error) => write!(
                f,
                "{error}; the socket-activation variables are set, so the fallback address was \
                 not bound"
            ),
            ListenOrBindError::Take(error) => write!(
                f,
                "{error}; the process was socket-activated (LISTEN_FDS is set), so the fallback \
                 address was not bound"
            ),
            ListenOrBindError::NotSocket { path, kind } => write!(
                f,
                "cannot bind {}: it exists and is {kind}, not a socket; it was left in place",
                path.display()
            ),
            ListenOrBindError::InUse { path } => write!(
                f,
                "cannot bind {}: another process listens on it",
                path.display()
            ),
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
            ListenOrBindError::Env(error) => Some(error),
            ListenOrBindError::Take(error) => Some(error),
            ListenOrBindError::Bind { source, .. } => Some(source),
            ListenOrBindError::NotSocket { .. } | ListenOrBindError::InUse { .. } => None,
        }
    }
}

impl From<ListenOrBindError> for io::Error {
    fn from(err: ListenOrBindError) -> io::Error {
        io::Error::new(err.io_kind(), err)
    }
}
