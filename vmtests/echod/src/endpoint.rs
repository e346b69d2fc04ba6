//! Opening a remote: binding a `punix:`/`ptcp:` listener (replacing a stale socket, never
//! anything else), adopting the `pfd:` listener `stream-pfd` took at start-up, or taking an
//! outgoing `unix:`/`tcp:` remote as it is (it is connected when it is served). Nothing is served
//! here: the supervisor starts serving an [`Endpoint`] (at start-up, only once the sandbox is
//! loaded and `READY=1` is sent).

use super::text::describe_file_type;
use remote_policy::Remote;
use std::fmt;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use stream_pfd::addr::{SocketAddress, UnixAddress};
use stream_pfd::{SocketInfo, TokioListener};

/// Why a remote cannot be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// `ssl:`, `pssl:` and `db:` remotes.
    Unsupported {
        /// The remote.
        remote: String,
        /// What to use instead.
        hint: &'static str,
    },
    /// A `pfd:` remote whose listener was not taken at start-up.
    PfdNotTaken {
        /// The remote.
        remote: String,
    },
    /// The path exists and is not a stale socket.
    PathInUse {
        /// The path.
        path: PathBuf,
        /// What is there.
        what: String,
    },
    /// `socket`/`bind`/`listen` failed.
    Bind {
        /// The remote (or the control socket path).
        remote: String,
        /// The OS error.
        error: io::Error,
    },
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Unsupported { remote, hint } => {
                write!(f, "{remote}: not supported by echod ({hint})")
            }
            OpenError::PfdNotTaken { remote } => write!(
                f,
                "{remote}: no such inherited listener (pfd: remotes are opened only at start-up, \
                 from the command line)"
            ),
            OpenError::PathInUse { path, what } => write!(
                f,
                "{}: cannot listen: the path is in use ({what}); remove it or choose another path",
                path.display()
            ),
            OpenError::Bind { remote, error } => write!(f, "{remote}: cannot listen: {error}"),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Bind { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl From<OpenError> for io::Error {
    fn from(e: OpenError) -> Self {
        let kind = match &e {
            OpenError::Unsupported { .. } => io::ErrorKind::Unsupported,
            OpenError::PfdNotTaken { .. } => io::ErrorKind::NotFound,
            OpenError::PathInUse { .. } => io::ErrorKind::AddrInUse,
            OpenError::Bind { error, .. } => error.kind(),
        };
        io::Error::new(kind, e)
    }
}

/// A Unix socket path echod created; dropping it removes the path, but only if it is still the
/// same socket (device and inode), so a path taken over by someone else is left alone.
#[derive(Debug)]
pub(crate) struct SocketPath {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl SocketPath {
    fn record(path: &Path) -> io::Result<SocketPath> {
        let m = std::fs::symlink_metadata(path)?;
        Ok(SocketPath {
            path: path.to_owned(),
            dev: m.dev(),
            ino: m.ino(),
        })
    }
}

impl Drop for SocketPath {
    fn drop(&mut self) {
        match std::fs::symlink_metadata(&self.path) {
            Ok(m) if m.dev() == self.dev && m.ino() == self.ino => {
                if let Err(e) = std::fs::remove_file(&self.path) {
                    log::warn!("cannot remove {}: {e}", self.path.display());
                } else {
                    log::debug!("removed {}", self.path.display());
                }
            }
            _ => log::debug!(
                "not removing {}: it is no longer the socket echod created",
                self.path.display()
            ),
        }
    }
}

/// Binds a listening Unix socket at `path`, replacing a stale socket (one nobody accepts on)
/// but never anything else. With `mode`, the socket file gets that mode before it listens,
/// whatever the umask (the control socket: 0700). Returns the listener and the guard that
/// removes the path.
///
/// A socket already at `path` is probed without blocking (a full backlog means it is alive),
/// and removed only when it refuses connections and belongs to this process's user: a socket
/// of another user is never unlinked.
pub(crate) fn bind_unix(
    path: &Path,
    label: &str,
    mode: Option<u32>,
) -> Result<(tokio::net::UnixListener, SocketPath), OpenError> {
    let bind_err = |error| OpenError::Bind {
        remote: label.to_owned(),
        error,
    };
    let in_use = |what: String| OpenError::PathInUse {
        path: path.to_owned(),
        what,
    };
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => match probe_unix(path) {
            Ok(()) => {
                return Err(in_use(
                    "a listening socket accepts connections on it".into(),
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                let euid = nix::unistd::geteuid().as_raw();
                if m.uid() != euid {
                    return Err(in_use(format!(
                        "a socket nobody listens on, but owned by uid {} (echod runs as uid \
                         {euid}), so echod does not remove it",
                        m.uid()
                    )));
                }
                log::info!("{}: removing stale socket", path.display());
                std::fs::remove_file(path).map_err(bind_err)?;
            }
            Err(e) => {
                return Err(in_use(format!("a socket that cannot be probed: {e}")));
            }
        },
        Ok(m) => {
            return Err(in_use(format!(
                "not a socket but {}",
                describe_file_type(m.file_type())
            )));
        }
        Err(_) => {}
    }
    let std_listener = unix_listen(path, mode).map_err(|error| match path.parent() {
        Some(dir)
            if error.kind() == io::ErrorKind::NotFound
                && !dir.as_os_str().is_empty()
                && !dir.exists() =>
        {
            bind_err(io::Error::new(
                error.kind(),
                format!(
                    "{error}: the directory {} does not exist (create it first)",
                    dir.display()
                ),
            ))
        }
        _ => bind_err(error),
    })?;
    let guard = SocketPath::record(path).map_err(bind_err)?;
    let listener = tokio::net::UnixListener::from_std(std_listener).map_err(bind_err)?;
    Ok((listener, guard))
}

/// A non-blocking, close-on-exec `AF_UNIX` stream socket.
fn unix_stream_socket() -> nix::Result<std::os::fd::OwnedFd> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
    socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )
}

/// Connects to the Unix socket at `path` without blocking: `Ok` when something listens
/// (also when its backlog is full, `EAGAIN`), the connect error otherwise.
fn probe_unix(path: &Path) -> io::Result<()> {
    use nix::sys::socket::{UnixAddr, connect};
    use std::os::fd::AsRawFd;
    let fd = unix_stream_socket()?;
    match connect(fd.as_raw_fd(), &UnixAddr::new(path)?) {
        Ok(()) | Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINPROGRESS) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn bind_tcp(
    listen: &remote_policy::remote::Listen,
    label: &str,
) -> Result<tokio::net::TcpListener, OpenError> {
    let bind_err = |error| OpenError::Bind {
        remote: label.to_owned(),
        error,
    };
    let addr = match listen.ip() {
        std::net::IpAddr::V4(ip) => std::net::SocketAddr::from((ip, listen.port())),
        std::net::IpAddr::V6(ip) => {
            let scope_id = match listen.scope() {
                None => 0,
                Some(s) => match (s.index(), s.interface()) {
                    (Some(i), _) => i,
                    (None, Some(name)) => nix::net::if_::if_nametoindex(name)
                        .map_err(|e| bind_err(io::Error::from(e)))?,
                    (None, None) => 0,
                },
            };
            std::net::SocketAddr::V6(std::net::SocketAddrV6::new(ip, listen.port(), 0, scope_id))
        }
    };
    let std_listener = tcp_listen(addr).map_err(bind_err)?;
    tokio::net::TcpListener::from_std(std_listener).map_err(bind_err)
}

/// A non-blocking listening Unix socket at `path` with the largest backlog (`SOMAXCONN`).
fn unix_listen(path: &Path, mode: Option<u32>) -> io::Result<std::os::unix::net::UnixListener> {
    use nix::sys::socket::{Backlog, UnixAddr, bind, listen};
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::PermissionsExt;
    let fd = unix_stream_socket()?;
    bind(fd.as_raw_fd(), &UnixAddr::new(path)?)?;
    // Before listen(): until then every connect is refused, so nobody gets in through the
    // umask's mode in between.
    if let Some(mode) = mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    listen(&fd, Backlog::MAXCONN)?;
    Ok(std::os::unix::net::UnixListener::from(fd))
}

/// A non-blocking listening TCP socket with `SO_REUSEADDR` and the largest backlog
/// (`SOMAXCONN`), so that bursts of connections are queued rather than dropped.
fn tcp_listen(addr: std::net::SocketAddr) -> io::Result<std::net::TcpListener> {
    use nix::sys::socket::{
        AddressFamily, Backlog, SockFlag, SockType, SockaddrStorage, bind, listen, setsockopt,
        socket, sockopt,
    };
    use std::os::fd::AsRawFd;
    let family = if addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let fd = socket(
        family,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    bind(fd.as_raw_fd(), &SockaddrStorage::from(addr))?;
    listen(&fd, Backlog::MAXCONN)?;
    Ok(std::net::TcpListener::from(fd))
}

/// An opened remote, ready to be served.
#[derive(Debug)]
pub(crate) enum Endpoint {
    /// A listening socket.
    Listen {
        /// The socket.
        listener: TokioListener,
        /// Who bound it.
        source: Source,
    },
    /// An outgoing connection to make (`unix:` / `tcp:`).
    Connect(Remote),
}

/// Who bound a listening [`Endpoint`].
#[derive(Debug)]
pub(crate) enum Source {
    /// echod (`punix:`, `ptcp:`).
    Bound {
        /// For a `punix:` remote, the guard that removes the path when the remote goes away.
        _path: Option<SocketPath>,
    },
    /// The service manager (`pfd:`), with what `stream-pfd` found when it validated the socket.
    /// Never unlinked or shut down.
    Inherited(SocketInfo),
}

impl Endpoint {
    /// Its line in `echod/list-remotes` (a listener keeps it; an outgoing remote's line
    /// changes as it connects).
    pub(crate) fn status(&self) -> String {
        match self {
            Endpoint::Listen {
                listener,
                source: Source::Bound { .. },
            } => format!("listening on {}", bound_address(listener)),
            Endpoint::Listen {
                source: Source::Inherited(info),
                ..
            } => format!("listening on {} (inherited)", describe(info.local_addr())),
            Endpoint::Connect(_) => "not connected yet".into(),
        }
    }
}

/// The address of a listener echod bound, for `echod/list-remotes`.
fn bound_address(listener: &TokioListener) -> String {
    let addr = match listener {
        TokioListener::Unix(u) => match u.local_addr() {
            Ok(a) => SocketAddress::Unix(match a.as_pathname() {
                Some(p) => UnixAddress::Path(p.to_owned()),
                None => UnixAddress::Unnamed,
            }),
            Err(e) => return format!("unix socket (address unknown: {e})"),
        },
        TokioListener::Tcp(t) => match t.local_addr() {
            Ok(a) => SocketAddress::Inet(a),
            Err(e) => return format!("tcp (address unknown: {e})"),
        },
    };
    describe(&addr)
}

/// A listening address, for `echod/list-remotes`.
fn describe(addr: &SocketAddress) -> String {
    match addr {
        SocketAddress::Unix(UnixAddress::Path(p)) => format!("unix socket {}", p.display()),
        SocketAddress::Unix(UnixAddress::Abstract(_) | UnixAddress::Unnamed) => {
            "unix socket (unnamed or abstract)".into()
        }
        SocketAddress::Inet(a) => a.to_string(),
        // Never for a listener stream-pfd validated (AF_UNIX, AF_INET or AF_INET6 only).
        SocketAddress::Other { .. } => addr.to_string(),
    }
}

/// Opens `remote`: binds a `punix:`/`ptcp:` listener, or takes an outgoing `unix:`/`tcp:`
/// remote as it is. A `pfd:` remote is only ever [`adopt`]ed: its listener is taken at start-up.
pub(crate) fn open(remote: &Remote) -> Result<Endpoint, OpenError> {
    let label = remote.to_string();
    match remote {
        Remote::Punix(path) => {
            let (l, guard) = bind_unix(path.as_path(), &label, None)?;
            Ok(Endpoint::Listen {
                listener: TokioListener::Unix(l),
                source: Source::Bound { _path: Some(guard) },
            })
        }
        Remote::Ptcp(listen) => Ok(Endpoint::Listen {
            listener: TokioListener::Tcp(bind_tcp(listen, &label)?),
            source: Source::Bound { _path: None },
        }),
        Remote::Pfd(_) => Err(OpenError::PfdNotTaken { remote: label }),
        Remote::Unix(_) | Remote::Tcp(_) => Ok(Endpoint::Connect(remote.clone())),
        Remote::Ssl(_) | Remote::Pssl(_) => Err(OpenError::Unsupported {
            remote: label,
            hint: "echod has no TLS; use tcp: or ptcp:",
        }),
        Remote::Db(_) => Err(OpenError::Unsupported {
            remote: label,
            hint: "echod has no database; list remotes in --remotes-file instead",
        }),
    }
}

/// Adopts `listener`, the one `stream-pfd` took at start-up for the `pfd:` remote `remote`
/// (already validated and made non-blocking): it keeps the [`SocketInfo`] found then.
pub(crate) fn adopt(
    remote: &Remote,
    listener: stream_pfd::Listener,
) -> Result<Endpoint, OpenError> {
    let info = listener.info().clone();
    let listener = listener.into_tokio().map_err(|error| OpenError::Bind {
        remote: remote.to_string(),
        error,
    })?;
    Ok(Endpoint::Listen {
        listener,
        source: Source::Inherited(info),
    })
}
