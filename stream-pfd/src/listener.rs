//! [`Listener`]: an owned, validated, non-blocking, close-on-exec listening socket, and its
//! conversions into std (and tokio) listeners.

use std::fmt;
use std::io;
use std::net::TcpListener;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};

use crate::addr::SocketAddress;
use crate::info::{Family, SocketInfo};
use crate::spec::PfdSpec;
use crate::validate::{ValidateError, validate};

/// An owned listening stream socket that passed [`validate`], made non-blocking and
/// close-on-exec.
///
/// Get one from [`ListenFds::take`](crate::ListenFds::take) (inherited sockets) or
/// [`Listener::try_from_fd`] (a socket you already own).
///
/// ```
/// use stream_pfd::Listener;
/// use stream_pfd::info::Family;
///
/// let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let listener = Listener::try_from_fd(std_listener.into())?;
/// assert_eq!(listener.info().family(), Family::Inet);
/// let tcp = listener.into_tcp_listener()?;
/// assert!(tcp.accept().is_err()); // non-blocking: WouldBlock
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Listener {
    fd: OwnedFd,
    info: SocketInfo,
    spec: Option<PfdSpec>,
    name: Option<String>,
}

/// An fd's status flags and fd flags as they were before [`set_flags`] changed them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SavedFlags {
    status: OFlag,
    fd_flags: FdFlag,
}

impl SavedFlags {
    /// Puts the flags back (best effort: used to undo a change when a later step fails).
    pub(crate) fn restore(self, fd: BorrowedFd<'_>) {
        let _ = fcntl(fd, FcntlArg::F_SETFL(self.status));
        let _ = fcntl(fd, FcntlArg::F_SETFD(self.fd_flags));
    }
}

/// Sets `FD_CLOEXEC` and, with `nonblocking`, `O_NONBLOCK`; on failure, restores the flags it
/// changed. Returns the flags as they were.
pub(crate) fn set_flags(fd: BorrowedFd<'_>, nonblocking: bool) -> io::Result<SavedFlags> {
    let saved = SavedFlags {
        status: OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?),
        fd_flags: FdFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFD)?),
    };
    if nonblocking {
        fcntl(fd, FcntlArg::F_SETFL(saved.status | OFlag::O_NONBLOCK))?;
    }
    if let Err(err) = fcntl(fd, FcntlArg::F_SETFD(saved.fd_flags | FdFlag::FD_CLOEXEC)) {
        saved.restore(fd);
        return Err(err.into());
    }
    Ok(saved)
}

/// Sets `O_NONBLOCK` and `FD_CLOEXEC`; on failure, restores the flags it changed.
pub(crate) fn make_nonblocking_cloexec(fd: BorrowedFd<'_>) -> io::Result<()> {
    set_flags(fd, true).map(drop)
}

impl Listener {
    pub(crate) fn new(
        fd: OwnedFd,
        info: SocketInfo,
        spec: Option<PfdSpec>,
        name: Option<String>,
    ) -> Listener {
        Listener {
            fd,
            info,
            spec,
            name,
        }
    }

    /// Validates a socket you own and makes it non-blocking and close-on-exec.
    ///
    /// On failure the fd is returned untouched inside [`RejectedFd`]: never lost.
    ///
    /// ```
    /// use stream_pfd::{Listener, ValidateError};
    ///
    /// let udp = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let rejected = Listener::try_from_fd(udp.into()).unwrap_err();
    /// assert!(matches!(rejected.error(), ValidateError::NotStream { .. }));
    /// let udp = std::net::UdpSocket::from(rejected.into_fd()); // still usable
    /// # drop(udp);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_from_fd(fd: OwnedFd) -> Result<Listener, RejectedFd> {
        let info = match validate(fd.as_fd()) {
            Ok(info) => info,
            Err(error) => return Err(RejectedFd { fd, error }),
        };
        if let Err(source) = make_nonblocking_cloexec(fd.as_fd()) {
            let error = ValidateError::Sys {
                fd: fd.as_raw_fd(),
                call: "fcntl(O_NONBLOCK, FD_CLOEXEC)",
                source,
            };
            return Err(RejectedFd { fd, error });
        }
        Ok(Listener::new(fd, info, None, None))
    }

    /// What validation found (family, local address, identity).
    ///
    /// ```
    /// # let l = stream_pfd::Listener::try_from_fd(std::net::TcpListener::bind("127.0.0.1:0")?.into())?;
    /// println!("listening: {}", l.info());
    /// assert!(l.info().to_string().starts_with("AF_INET TCP listener on 127.0.0.1:"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn info(&self) -> &SocketInfo {
        &self.info
    }

    /// The local address (for logs).
    ///
    /// ```
    /// # let std_l = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let addr = std_l.local_addr()?;
    /// let l = stream_pfd::Listener::try_from_fd(std_l.into())?;
    /// assert_eq!(l.local_addr(), &stream_pfd::addr::SocketAddress::Inet(addr));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_addr(&self) -> &SocketAddress {
        self.info.local_addr()
    }

    /// The `pfd:` remote it was taken as (`None` for [`Listener::try_from_fd`]).
    ///
    /// ```
    /// # let l = stream_pfd::Listener::try_from_fd(std::net::TcpListener::bind("127.0.0.1:0")?.into())?;
    /// assert_eq!(l.spec(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spec(&self) -> Option<&PfdSpec> {
        self.spec.as_ref()
    }

    /// Its `LISTEN_FDNAMES` name when it was passed by systemd (`unknown` when systemd gave
    /// no names).
    ///
    /// ```
    /// # let l = stream_pfd::Listener::try_from_fd(std::net::TcpListener::bind("127.0.0.1:0")?.into())?;
    /// assert_eq!(l.name(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The owned fd.
    ///
    /// ```
    /// # let l = stream_pfd::Listener::try_from_fd(std::net::TcpListener::bind("127.0.0.1:0")?.into())?;
    /// let fd: std::os::fd::OwnedFd = l.into_owned_fd();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_owned_fd(self) -> OwnedFd {
        self.fd
    }

    /// A std listener of the right kind (non-blocking, like the fd).
    ///
    /// ```
    /// use stream_pfd::StdListener;
    /// # let l = stream_pfd::Listener::try_from_fd(std::net::TcpListener::bind("127.0.0.1:0")?.into())?;
    /// match l.into_std() {
    ///     StdListener::Tcp(tcp) => println!("tcp on {}", tcp.local_addr()?),
    ///     StdListener::Unix(unix) => println!("unix on {:?}", unix.local_addr()?),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_std(self) -> StdListener {
        match self.info.family() {
            Family::Unix => StdListener::Unix(UnixListener::from(self.fd)),
            Family::Inet | Family::Inet6 => StdListener::Tcp(TcpListener::from(self.fd)),
        }
    }

    /// A std `UnixListener`, or an error (holding the listener) for an IP socket.
    ///
    /// ```
    /// # let l = stream_pfd::Listener::try_from_fd(std::net::TcpListener::bind("127.0.0.1:0")?.into())?;
    /// let err = l.into_unix_listener().unwrap_err();
    /// assert!(err.to_string().contains("is an AF_INET socket, not AF_UNIX"));
    /// let l = err.into_listener(); // not lost
    /// # drop(l);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_unix_listener(self) -> Result<UnixListener, FamilyMismatch> {
        match self.info.family() {
            Family::Unix => Ok(UnixListener::from(self.fd)),
            _ => Err(FamilyMismatch {
                listener: Box::new(self),
                wanted: "AF_UNIX",
            }),
        }
    }

    /// A std `TcpListener`, or an error (holding the listener) for an `AF_UNIX` socket.
    ///
    /// ```
    /// # let l = stream_pfd::Listener::try_from_fd(std::net::TcpListener::bind("127.0.0.1:0")?.into())?;
    /// let tcp = l.into_tcp_listener()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_tcp_listener(self) -> Result<TcpListener, FamilyMismatch> {
        match self.info.family() {
            Family::Inet | Family::Inet6 => Ok(TcpListener::from(self.fd)),
            Family::Unix => Err(FamilyMismatch {
                listener: Box::new(self),
                wanted: "AF_INET or AF_INET6",
            }),
        }
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Listener {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<Listener> for OwnedFd {
    fn from(listener: Listener) -> OwnedFd {
        listener.fd
    }
}

/// A std listener, by family. See [`Listener::into_std`].
///
/// ```
/// use std::os::fd::AsFd;
/// # let l = stream_pfd::Listener::try_from_fd(std::net::TcpListener::bind("127.0.0.1:0")?.into())?;
/// let std_listener = l.into_std();
/// let _borrowed = std_listener.as_fd();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub enum StdListener {
    /// An `AF_UNIX` listener.
    Unix(UnixListener),
    /// An `AF_INET`/`AF_INET6` listener.
    Tcp(TcpListener),
}

impl StdListener {
    /// Sets or clears `O_NONBLOCK` (shared with every duplicate of the socket). A taken socket
    /// is non-blocking, for async runtimes; a blocking `accept` loop clears it first.
    ///
    /// ```
    /// # let l = stream_pfd::Listener::try_from_fd(std::net::TcpListener::bind("127.0.0.1:0")?.into())?;
    /// let std_listener = l.into_std();
    /// std_listener.set_nonblocking(false)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> std::io::Result<()> {
        match self {
            StdListener::Unix(l) => l.set_nonblocking(nonblocking),
            StdListener::Tcp(l) => l.set_nonblocking(nonblocking),
        }
    }
}

impl AsFd for StdListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            StdListener::Unix(l) => l.as_fd(),
            StdListener::Tcp(l) => l.as_fd(),
        }
    }
}

impl From<StdListener> for OwnedFd {
    fn from(listener: StdListener) -> OwnedFd {
        match listener {
            StdListener::Unix(l) => l.into(),
            StdListener::Tcp(l) => l.into(),
        }
    }
}

/// [`Listener::into_unix_listener`] or [`Listener::into_tcp_listener`] on the wrong family.
/// Holds the listener, so nothing is lost.
///
/// ```
/// # let l = stream_pfd::Listener::try_from_fd(std::net::TcpListener::bind("127.0.0.1:0")?.into())?;
/// let err = l.into_unix_listener().unwrap_err();
/// let io: std::io::Error = err.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FamilyMismatch {
    listener: Box<Listener>,
    wanted: &'static str,
}

impl FamilyMismatch {
    /// The listener, unchanged.
    ///
    /// ```
    /// # let l = stream_pfd::Listener::try_from_fd(std::net::TcpListener::bind("127.0.0.1:0")?.into())?;
    /// let l = l.into_unix_listener().unwrap_err().into_listener();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_listener(self) -> Listener {
        *self.listener
    }
}

impl fmt::Display for FamilyMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let subject = match &self.listener.spec {
            Some(spec) => spec.to_string(),
            None => format!("fd {}", self.listener.fd.as_raw_fd()),
        };
        write!(
            f,
            "{subject}: wrong address family: it is an {} socket, not {} (listening on {})",
            self.listener.info.family(),
            self.wanted,
            self.listener.info.local_addr()
        )
    }
}

impl std::error::Error for FamilyMismatch {}

impl From<FamilyMismatch> for io::Error {
    fn from(err: FamilyMismatch) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, err)
    }
}

/// [`Listener::try_from_fd`] refused the fd. Holds it, untouched.
///
/// ```
/// let file = std::fs::File::open("/dev/null")?;
/// let rejected = stream_pfd::Listener::try_from_fd(file.into()).unwrap_err();
/// assert!(rejected.to_string().starts_with("not a socket: fd "));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct RejectedFd {
    fd: OwnedFd,
    error: ValidateError,
}

impl RejectedFd {
    /// Why it was refused.
    ///
    /// ```
    /// # let file = std::fs::File::open("/dev/null")?;
    /// let rejected = stream_pfd::Listener::try_from_fd(file.into()).unwrap_err();
    /// assert!(matches!(rejected.error(), stream_pfd::ValidateError::NotSocket { .. }));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn error(&self) -> &ValidateError {
        &self.error
    }

    /// The fd, unchanged.
    ///
    /// ```
    /// # let file = std::fs::File::open("/dev/null")?;
    /// let fd = stream_pfd::Listener::try_from_fd(file.into()).unwrap_err().into_fd();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }
}

impl fmt::Display for RejectedFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for RejectedFd {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.error)
    }
}

impl From<RejectedFd> for io::Error {
    fn from(err: RejectedFd) -> io::Error {
        err.error.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
    use std::os::fd::AsFd;

    fn flags(fd: BorrowedFd<'_>) -> (bool, bool) {
        let status = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL).unwrap());
        let fd_flags = FdFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFD).unwrap());
        (
            status.contains(OFlag::O_NONBLOCK),
            fd_flags.contains(FdFlag::FD_CLOEXEC),
        )
    }

    /// The flags a take changes are put back exactly by `restore` (how a batch take that
    /// fails part-way leaves every fd as it was), and `set_flags` without `nonblocking` sets
    /// close-on-exec alone.
    #[test]
    fn saved_flags_restore_what_set_flags_changed() {
        for nonblocking in [false, true] {
            let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
            fcntl(a.as_fd(), FcntlArg::F_SETFD(FdFlag::empty())).unwrap();
            assert_eq!(flags(a.as_fd()), (false, false));
            let saved = set_flags(a.as_fd(), nonblocking).unwrap();
            assert_eq!(flags(a.as_fd()), (nonblocking, true));
            saved.restore(a.as_fd());
            assert_eq!(
                flags(a.as_fd()),
                (false, false),
                "nonblocking {nonblocking}"
            );
        }
    }

    /// Whatever the flags before (a socket passed already non-blocking, or without
    /// close-on-exec), both are set after, and setting them twice changes nothing.
    #[test]
    fn nonblocking_and_cloexec_are_set_from_any_state() {
        for (nonblocking, cloexec) in [(false, false), (true, false), (false, true), (true, true)] {
            let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
            a.set_nonblocking(nonblocking).unwrap();
            let fd_flags = if cloexec {
                FdFlag::FD_CLOEXEC
            } else {
                FdFlag::empty()
            };
            fcntl(a.as_fd(), FcntlArg::F_SETFD(fd_flags)).unwrap();
            assert_eq!(flags(a.as_fd()), (nonblocking, cloexec));
            make_nonblocking_cloexec(a.as_fd()).unwrap();
            assert_eq!(
                flags(a.as_fd()),
                (true, true),
                "from {nonblocking}, {cloexec}"
            );
            make_nonblocking_cloexec(a.as_fd()).unwrap();
            assert_eq!(flags(a.as_fd()), (true, true));
        }
    }
}

#[cfg(test)]
mod rejected_tests {
    use super::*;
    use std::error::Error as _;

    /// A rejected fd shows its validation error and chains that error's own cause (a failed
    /// system call), whose kind its io::Error keeps.
    #[test]
    fn rejected_fd_chains_the_system_error() {
        let fd = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        let rejected = RejectedFd {
            fd,
            error: ValidateError::Sys {
                fd: 7,
                call: "getsockopt(SO_TYPE)",
                source: io::Error::from_raw_os_error(libc::EACCES),
            },
        };
        assert_eq!(rejected.to_string(), rejected.error().to_string());
        let cause = rejected.source().expect("the system error");
        let io_err = cause.downcast_ref::<io::Error>().expect("an io::Error");
        assert_eq!(io_err.raw_os_error(), Some(libc::EACCES));
        assert!(rejected.error().source().is_some());
        let as_io = io::Error::from(rejected);
        assert_eq!(as_io.kind(), io::ErrorKind::PermissionDenied);
    }
}
