//! Error types. Every message of the crate is written in this module (and in
//! [`ParseError`](crate::ParseError)'s `Display` in `spec.rs`); `tests/messages.rs`
//! snapshot-tests all of them.

use std::fmt;
use std::io;
use std::os::fd::RawFd;

use crate::addr::SocketAddress;
use crate::info::{Family, FileKind, SockType, family_name, protocol_name};
use crate::spec::PfdSpec;

/// Longest piece of untrusted input echoed in a message.
const SHOWN_MAX: usize = 80;

/// Displays untrusted text escaped (control and non-ASCII characters) and truncated.
pub(crate) struct Shown<'a>(pub(crate) &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (count, ch) in self.0.chars().enumerate() {
            if count == SHOWN_MAX {
                return write!(f, "...({} bytes)", self.0.len());
            }
            if ch.is_ascii_graphic() || ch == ' ' {
                write!(f, "{ch}")?;
            } else {
                write!(f, "{}", ch.escape_default())?;
            }
        }
        Ok(())
    }
}

/// Whether `value` is a number written with a leading zero (`010`), which systemd's
/// `sd_listen_fds` parses as octal.
pub(crate) fn has_leading_zero(value: &str) -> bool {
    value.len() > 1 && value.starts_with('0') && value.bytes().all(|b| b.is_ascii_digit())
}

/// What a `LISTEN_*` number must look like; names the octal trap for `010`.
struct Expected<'a> {
    value: &'a str,
    what: &'static str,
}

impl fmt::Display for Expected<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}", self.what)?;
        if has_leading_zero(self.value) {
            write!(
                f,
                " without leading zeros: systemd's sd_listen_fds reads {} as octal, so the \
                 value is ambiguous",
                Shown(self.value)
            )?;
        }
        Ok(())
    }
}

pub(crate) fn stdio_name(fd: i32) -> &'static str {
    match fd {
        0 => "standard input",
        1 => "standard output",
        2 => "standard error",
        _ => "not a valid fd number",
    }
}

/// Why an fd is not a usable listening socket, in validation order (see
/// [`validate`](crate::validate)).
///
/// Messages describe the fd only ("not a socket: fd 5 is a regular file"); [`TakeError`]
/// prefixes them with the `pfd:` remote. Converts into [`io::Error`].
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
    /// A stream socket on which `listen` was never called (`SO_ACCEPTCONN` is 0).
    NotListening {
        /// The fd number.
        fd: RawFd,
        /// The address it is bound to; `None` when unbound.
        local: Option<SocketAddress>,
    },
    /// A listening stream socket of a family other than `AF_UNIX`, `AF_INET`, `AF_INET6`.
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
            | ValidateError::UnsupportedFamily { fd, .. }
            | ValidateError::UnsupportedProtocol { fd, .. }
            | ValidateError::Sys { fd, .. } => *fd,
        }
    }

    fn io_kind(&self) -> io::ErrorKind {
        match self {
            ValidateError::NotOpen { .. } => io::ErrorKind::NotFound,
            ValidateError::Sys { source, .. } => source.kind(),
            _ => io::ErrorKind::InvalidInput,
        }
    }
}

impl fmt::Display for ValidateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
            ValidateError::NotSocket { fd, kind } => write!(
                f,
                "not a socket: fd {fd} is {kind}; pfd: needs a listening stream socket \
                 (systemd ListenStream=)"
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
                "not a listening socket: fd {fd} is a stream socket bound to {local}, but \
                 listen() was never called on it"
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

/// Why [`ListenFds::take`](crate::ListenFds::take) refused a `pfd:` remote. Every message
/// starts with the remote (`pfd:3: ...`).
///
/// ```
/// use stream_pfd::{ListenFds, PfdSpec, TakeError};
///
/// // Not socket-activated in a doctest: names cannot be resolved.
/// let mut fds = ListenFds::builder().ignore_env().build()?;
/// let err = fds.take(&"pfd:web".parse()?).unwrap_err();
/// assert!(matches!(err, TakeError::NotActivated { .. }));
/// assert!(err.to_string().starts_with("pfd:web: no fd named web: LISTEN_FDS is not set"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum TakeError {
    /// fd 0, 1, 2 (or a negative number): standard streams are never inherited sockets.
    StdioFd {
        /// The remote.
        spec: PfdSpec,
        /// The fd number.
        fd: RawFd,
    },
    /// `LISTEN_FDS` is set and the number is outside the passed range.
    NotPassed {
        /// The remote.
        spec: PfdSpec,
        /// The fd number.
        fd: RawFd,
        /// `LISTEN_FDS` (fds `3..3 + count` were passed).
        count: usize,
    },
    /// `LISTEN_FDS` is not set and the fd was not open when [`ListenFds`](crate::ListenFds)
    /// was created, so it was not inherited (this process opened it later).
    NotInherited {
        /// The remote.
        spec: PfdSpec,
        /// The fd number.
        fd: RawFd,
    },
    /// The fd number now refers to a different file than at start-up: the inherited socket
    /// was closed and the number reused.
    Replaced {
        /// The remote.
        spec: PfdSpec,
        /// The fd number.
        fd: RawFd,
    },
    /// A name, but `LISTEN_FDS` is not set, so there are no names.
    NotActivated {
        /// The remote.
        spec: PfdSpec,
    },
    /// A name that is not in `LISTEN_FDNAMES`.
    NoSuchName {
        /// The remote.
        spec: PfdSpec,
        /// The passed fds and their names.
        available: Vec<(RawFd, String)>,
    },
    /// A name that several passed fds share.
    AmbiguousName {
        /// The remote.
        spec: PfdSpec,
        /// The fds with that name.
        fds: Vec<RawFd>,
    },
    /// The socket was already taken (possibly through another fd number or a name).
    AlreadyTaken {
        /// The remote.
        spec: PfdSpec,
        /// The fd number it resolved to.
        fd: RawFd,
        /// The remote it was first taken as.
        taken_as: String,
    },
    /// The fd is not a usable listening socket.
    Invalid {
        /// The remote.
        spec: PfdSpec,
        /// Why.
        source: ValidateError,
    },
    /// Making the fd non-blocking and close-on-exec failed; the fd was left as it was.
    Setup {
        /// The remote.
        spec: PfdSpec,
        /// The fd number.
        fd: RawFd,
        /// The error.
        source: io::Error,
    },
}

/// The error of [`ListenFds::take`](crate::ListenFds::take) (an alias of [`TakeError`]).
pub type Error = TakeError;

impl TakeError {
    /// The remote the error is about.
    ///
    /// ```
    /// # use stream_pfd::ListenFds;
    /// # let mut fds = ListenFds::builder().ignore_env().build()?;
    /// let spec = "pfd:web".parse()?;
    /// assert_eq!(fds.take(&spec).unwrap_err().spec(), &spec);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spec(&self) -> &PfdSpec {
        match self {
            TakeError::StdioFd { spec, .. }
            | TakeError::NotPassed { spec, .. }
            | TakeError::NotInherited { spec, .. }
            | TakeError::Replaced { spec, .. }
            | TakeError::NotActivated { spec }
            | TakeError::NoSuchName { spec, .. }
            | TakeError::AmbiguousName { spec, .. }
            | TakeError::AlreadyTaken { spec, .. }
            | TakeError::Invalid { spec, .. }
            | TakeError::Setup { spec, .. } => spec,
        }
    }

    fn io_kind(&self) -> io::ErrorKind {
        match self {
            TakeError::NotPassed { .. }
            | TakeError::NotActivated { .. }
            | TakeError::NoSuchName { .. } => io::ErrorKind::NotFound,
            TakeError::AlreadyTaken { .. } => io::ErrorKind::AlreadyExists,
            TakeError::Invalid { source, .. } => source.io_kind(),
            TakeError::Setup { source, .. } => source.kind(),
            _ => io::ErrorKind::InvalidInput,
        }
    }
}

fn spec_name(spec: &PfdSpec) -> String {
    match spec {
        PfdSpec::Number(n) => n.to_string(),
        PfdSpec::Name(name) => Shown(name).to_string(),
    }
}

impl fmt::Display for TakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let spec = Shown(&self.spec().to_string()).to_string();
        match self {
            TakeError::StdioFd { fd, .. } => write!(
                f,
                "{spec}: bad file descriptor: fd {fd} is {}, not an inherited socket; \
                 inherited sockets start at fd 3 (where systemd passes them)",
                stdio_name(*fd)
            ),
            TakeError::NotPassed { fd, count: 0, .. } => write!(
                f,
                "{spec}: fd {fd} was not passed by systemd: LISTEN_FDS=0 passed no fds"
            ),
            TakeError::NotPassed { fd, count: 1, .. } => write!(
                f,
                "{spec}: fd {fd} was not passed by systemd: LISTEN_FDS=1 passed only fd 3"
            ),
            TakeError::NotPassed { fd, count, .. } => write!(
                f,
                "{spec}: fd {fd} was not passed by systemd: LISTEN_FDS={count} passed fds 3 to {}",
                *count as i64 + 2
            ),
            TakeError::NotInherited { fd, .. } => write!(
                f,
                "{spec}: fd {fd} was not inherited: it was not open when ListenFds was created \
                 (LISTEN_FDS is not set, so only fds open at start-up can be taken; create \
                 ListenFds before opening anything else)"
            ),
            TakeError::Replaced { fd, .. } => write!(
                f,
                "{spec}: fd {fd} is no longer the inherited socket: it was closed and the number \
                 reused after ListenFds was created"
            ),
            TakeError::NotActivated { spec: s } => write!(
                f,
                "{spec}: no fd named {}: LISTEN_FDS is not set (this process was not \
                 socket-activated), so there are no LISTEN_FDNAMES names; use pfd:N for an fd \
                 inherited by other means",
                spec_name(s)
            ),
            TakeError::NoSuchName {
                spec: s, available, ..
            } => {
                write!(f, "{spec}: no fd named {}: ", spec_name(s))?;
                if available.is_empty() {
                    return f.write_str("LISTEN_FDS=0 passed no fds");
                }
                f.write_str("LISTEN_FDNAMES has ")?;
                for (i, (fd, name)) in available.iter().enumerate() {
                    if i == 16 {
                        return write!(f, ", ... ({} fds in all)", available.len());
                    }
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{} (fd {fd})", Shown(name))?;
                }
                Ok(())
            }
            TakeError::AmbiguousName { spec: s, fds } => {
                write!(f, "{spec}: ambiguous name: fds ")?;
                for (i, fd) in fds.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{fd}")?;
                }
                write!(
                    f,
                    " are all named {}; take them by number (e.g. pfd:{})",
                    spec_name(s),
                    fds.first().copied().unwrap_or(3)
                )
            }
            TakeError::AlreadyTaken { fd, taken_as, .. } => write!(
                f,
                "{spec}: already taken: fd {fd} is the socket already taken as {taken_as}; \
                 each socket can be taken once"
            ),
            TakeError::Invalid { source, .. } => write!(f, "{spec}: {source}"),
            TakeError::Setup { fd, source, .. } => write!(
                f,
                "{spec}: cannot make fd {fd} non-blocking and close-on-exec: {source}; the fd \
                 was left as it was"
            ),
        }
    }
}

impl std::error::Error for TakeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TakeError::Invalid { source, .. } => Some(source),
            TakeError::Setup { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<TakeError> for io::Error {
    fn from(err: TakeError) -> io::Error {
        io::Error::new(err.io_kind(), err)
    }
}

/// A problem with the systemd `LISTEN_*` environment variables, found when building
/// [`ListenFds`](crate::ListenFds).
///
/// ```
/// use stream_pfd::{EnvError, ListenFds};
///
/// let err = ListenFds::builder()
///     .vars([("LISTEN_FDS", "1"), ("LISTEN_PID", "1")])
///     .build()
///     .unwrap_err();
/// assert!(matches!(err, EnvError::PidMismatch { listen_pid: 1, .. }));
/// assert!(err.to_string().starts_with("LISTEN_PID=1 but this process is "));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum EnvError {
    /// A variable is not valid UTF-8.
    NotUnicode {
        /// The variable.
        var: &'static str,
    },
    /// Another `LISTEN_*` variable is set without `LISTEN_FDS`.
    WithoutListenFds {
        /// The variable that is set.
        var: &'static str,
    },
    /// `LISTEN_FDS` is set but `LISTEN_PID` is not (and the pid check is on).
    MissingPid,
    /// `LISTEN_PID` is not a positive decimal number.
    BadPid {
        /// Its value.
        value: String,
    },
    /// `LISTEN_PID` is not this process.
    PidMismatch {
        /// `LISTEN_PID`.
        listen_pid: u32,
        /// This process's pid.
        our_pid: u32,
    },
    /// `LISTEN_PIDFDID` is not a decimal number.
    BadPidFdId {
        /// Its value.
        value: String,
    },
    /// `LISTEN_PIDFDID` is not the inode id of this process's pidfd.
    PidFdIdMismatch {
        /// `LISTEN_PIDFDID`.
        listen_pidfdid: u64,
        /// This process's pidfd inode id.
        ours: u64,
    },
    /// `LISTEN_FDS` is not a decimal number.
    BadFdCount {
        /// Its value.
        value: String,
    },
    /// `LISTEN_FDS` would put fds past `i32::MAX`.
    TooManyFds {
        /// Its value.
        count: u64,
    },
    /// `LISTEN_FDNAMES` does not have one name per fd.
    NamesCountMismatch {
        /// Number of names.
        names: usize,
        /// `LISTEN_FDS`.
        fds: usize,
    },
    /// A `LISTEN_FDNAMES` entry breaks systemd's rules (printable ASCII, at most 255 bytes).
    BadName {
        /// Index in `LISTEN_FDNAMES` (0 for fd 3).
        index: usize,
        /// The entry.
        name: String,
    },
    /// A passed fd is not open.
    PassedFdNotOpen {
        /// The fd number.
        fd: RawFd,
        /// `LISTEN_FDS`.
        count: usize,
    },
    /// Unsetting the variables was requested but the process is not single-threaded (or its
    /// thread count could not be read), so it cannot be done safely.
    UnsetNeedsSingleThread {
        /// The number of threads, if known.
        threads: Option<usize>,
    },
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvError::NotUnicode { var } => write!(f, "{var} is not valid UTF-8"),
            EnvError::WithoutListenFds { var } => write!(
                f,
                "{var} is set but LISTEN_FDS is not; systemd sets them together, so these \
                 variables are left over from something else"
            ),
            EnvError::MissingPid => f.write_str(
                "LISTEN_FDS is set but LISTEN_PID is not, so the fds cannot be proven to be meant \
                 for this process (systemd always sets LISTEN_PID; the pid check can be turned \
                 off for development only)",
            ),
            EnvError::BadPid { value } => write!(
                f,
                "LISTEN_PID={} is not a valid process id ({})",
                Shown(value),
                Expected {
                    value,
                    what: "a positive decimal number"
                }
            ),
            EnvError::PidMismatch {
                listen_pid,
                our_pid,
            } => write!(
                f,
                "LISTEN_PID={listen_pid} but this process is {our_pid}: the LISTEN_* variables \
                 were meant for another process (probably inherited from a socket-activated \
                 parent), so the fds are not ours to take"
            ),
            EnvError::BadPidFdId { value } => write!(
                f,
                "LISTEN_PIDFDID={} is not a valid pidfd inode id ({})",
                Shown(value),
                Expected {
                    value,
                    what: "a decimal number"
                }
            ),
            EnvError::PidFdIdMismatch {
                listen_pidfdid,
                ours,
            } => write!(
                f,
                "LISTEN_PIDFDID={listen_pidfdid} but this process's pidfd inode id is {ours}: \
                 the LISTEN_* variables were meant for an earlier process with the same pid"
            ),
            EnvError::BadFdCount { value } => write!(
                f,
                "LISTEN_FDS={} is not a valid fd count ({})",
                Shown(value),
                Expected {
                    value,
                    what: "a decimal number"
                }
            ),
            EnvError::TooManyFds { count } => write!(
                f,
                "LISTEN_FDS={count} is too large: fds 3 to {} would pass the largest fd number \
                 {}",
                u128::from(*count) + 2,
                i32::MAX
            ),
            EnvError::NamesCountMismatch { names, fds } => write!(
                f,
                "LISTEN_FDNAMES has {names} names but LISTEN_FDS={fds}; systemd passes exactly \
                 one name per fd"
            ),
            EnvError::BadName { index, name } => write!(
                f,
                "LISTEN_FDNAMES entry {index} (for fd {}) \"{}\" is not a valid fd name: names \
                 are printable ASCII of at most 255 bytes",
                index + 3,
                Shown(name)
            ),
            EnvError::PassedFdNotOpen { fd, count } => write!(
                f,
                "LISTEN_FDS={count} says fds 3 to {} were passed, but fd {fd} is not open",
                *count as i64 + 2
            ),
            EnvError::UnsetNeedsSingleThread { threads: Some(n) } => write!(
                f,
                "cannot unset the LISTEN_* variables: the process has {n} threads, and changing \
                 the environment is only safe with one; create ListenFds before starting threads \
                 (e.g. before the tokio runtime)"
            ),
            EnvError::UnsetNeedsSingleThread { threads: None } => f.write_str(
                "cannot unset the LISTEN_* variables: the thread count could not be read from \
                 /proc/self/task, and changing the environment is only safe with one thread",
            ),
        }
    }
}

impl std::error::Error for EnvError {}

impl From<EnvError> for io::Error {
    fn from(err: EnvError) -> io::Error {
        let kind = match err {
            EnvError::UnsetNeedsSingleThread { .. } => io::ErrorKind::Other,
            EnvError::PidMismatch { .. } | EnvError::PidFdIdMismatch { .. } => {
                io::ErrorKind::PermissionDenied
            }
            EnvError::PassedFdNotOpen { .. } => io::ErrorKind::NotFound,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, err)
    }
}
