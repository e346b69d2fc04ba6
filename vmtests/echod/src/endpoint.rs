//! Opening a remote: binding a `punix:`/`ptcp:` listener (a stale socket file is replaced by
//! `stream-pfd`'s rule, never anything else), adopting the `pfd:` listener `stream-pfd` took at
//! start-up, or taking an outgoing `unix:`/`tcp:` remote as it is (it is connected when it is
//! served). Nothing is served here: the supervisor starts serving an [`Endpoint`] (at start-up,
//! only once the sandbox is loaded and `READY=1` is sent).

use remote_policy::Remote;
use std::fmt;
use std::io;
use std::path::Path;
use stream_pfd::addr::{SocketAddress, UnixAddress};
use stream_pfd::socket_file::SocketFile;
use stream_pfd::{SocketFileError, SocketInfo, TokioListener};

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
    /// A unix socket path could not be bound (in use, not a socket, another user's stale
    /// socket, a missing directory ...).
    SocketFile {
        /// The remote (or `control socket`).
        remote: String,
        /// Why, in `stream-pfd`'s words.
        error: SocketFileError,
    },
    /// `socket`/`bind`/`listen` of a TCP listener failed.
    Bind {
        /// The remote.
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
            OpenError::SocketFile { remote, error } => write!(f, "{remote}: {error}"),
            OpenError::Bind { remote, error } => write!(f, "{remote}: cannot listen: {error}"),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::SocketFile { error, .. } => Some(error),
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
            OpenError::SocketFile { error, .. } => error.io_kind(),
            OpenError::Bind { error, .. } => error.kind(),
        };
        io::Error::new(kind, e)
    }
}

/// Binds a listening unix socket at `path` (`label` names it in errors) by `stream-pfd`'s rule,
/// with `mode` when given (the control socket: 0700 whatever the umask). Returns the listener and
/// the guard that removes the path again.
pub(crate) fn bind_unix(
    path: &Path,
    label: &str,
    mode: Option<u32>,
) -> Result<(tokio::net::UnixListener, SocketFile), OpenError> {
    let bound =
        stream_pfd::bind_socket_file(path, mode).map_err(|error| OpenError::SocketFile {
            remote: label.to_owned(),
            error,
        })?;
    if bound.removed_stale {
        log::info!(
            "{}: removed a stale socket file nobody listened on",
            path.display()
        );
    }
    let listener =
        tokio::net::UnixListener::from_std(bound.listener).map_err(|error| OpenError::Bind {
            remote: label.to_owned(),
            error,
        })?;
    Ok((listener, bound.file))
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
        owner: ListenerOwner,
    },
    /// An outgoing connection to make (`unix:` / `tcp:`).
    Connect(Remote),
}

/// Who bound a listening [`Endpoint`].
#[derive(Debug)]
pub(crate) enum ListenerOwner {
    /// echod (`punix:`, `ptcp:`).
    Echod {
        /// For a `punix:` remote, the guard that removes the path when the remote goes away.
        _file: Option<SocketFile>,
    },
    /// The service manager (`pfd:`), with what `stream-pfd` found when it validated the socket.
    /// Never unlinked or shut down.
    ServiceManager(SocketInfo),
}

impl Endpoint {
    /// Its line in `echod/list-remotes` (a listener keeps it; an outgoing remote's line
    /// changes as it connects).
    pub(crate) fn status(&self) -> String {
        match self {
            Endpoint::Listen {
                listener,
                owner: ListenerOwner::Echod { .. },
            } => match listener.local_addr() {
                Ok(addr) => format!("listening on {}", describe(&addr)),
                Err(e) => format!("listening (address unknown: {e})"),
            },
            Endpoint::Listen {
                owner: ListenerOwner::ServiceManager(info),
                ..
            } => format!("listening on {} (inherited)", describe(info.local_addr())),
            Endpoint::Connect(_) => "not connected yet".into(),
        }
    }
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
            let (l, file) = bind_unix(path.as_path(), &label, None)?;
            Ok(Endpoint::Listen {
                listener: TokioListener::Unix(l),
                owner: ListenerOwner::Echod { _file: Some(file) },
            })
        }
        Remote::Ptcp(listen) => Ok(Endpoint::Listen {
            listener: TokioListener::Tcp(bind_tcp(listen, &label)?),
            owner: ListenerOwner::Echod { _file: None },
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
        owner: ListenerOwner::ServiceManager(info),
    })
}
