//! [`TakeError`]: why a `pfd:` spec could not be taken.

use std::fmt;
use std::io;
use std::os::fd::RawFd;

use crate::spec::{Inner, PfdSpec};
use crate::text::Shown;
use crate::validate::{ConnectionError, ValidateError};

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
    /// A name, but `LISTEN_FDNAMES` is not set, so every passed fd is named `unknown`: what
    /// `systemd-socket-activate` without `--fdname` passes (a socket unit always sets
    /// `LISTEN_FDNAMES`: `FileDescriptorName=` defaults to the unit's name).
    NoFdNames {
        /// The remote.
        spec: PfdSpec,
        /// The passed fds (all named `unknown`).
        fds: Vec<RawFd>,
    },
    /// A name that is not in `LISTEN_FDNAMES` (which is set).
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
    /// The fd is not a usable connection
    /// ([`take_connection`](crate::ListenFds::take_connection)).
    InvalidConnection {
        /// The remote.
        spec: PfdSpec,
        /// Why.
        source: ConnectionError,
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
            TakeError::NotPassed { spec, .. }
            | TakeError::NotInherited { spec, .. }
            | TakeError::Replaced { spec, .. }
            | TakeError::NotActivated { spec }
            | TakeError::NoFdNames { spec, .. }
            | TakeError::NoSuchName { spec, .. }
            | TakeError::AmbiguousName { spec, .. }
            | TakeError::AlreadyTaken { spec, .. }
            | TakeError::Invalid { spec, .. }
            | TakeError::InvalidConnection { spec, .. }
            | TakeError::Setup { spec, .. } => spec,
        }
    }

    pub(crate) fn io_kind(&self) -> io::ErrorKind {
        match self {
            TakeError::NotPassed { .. }
            | TakeError::NotActivated { .. }
            | TakeError::NoFdNames { .. }
            | TakeError::NoSuchName { .. } => io::ErrorKind::NotFound,
            TakeError::AlreadyTaken { .. } => io::ErrorKind::AlreadyExists,
            TakeError::Invalid { source, .. } => source.io_kind(),
            TakeError::InvalidConnection { source, .. } => source.io_kind(),
            TakeError::Setup { source, .. } => source.kind(),
            _ => io::ErrorKind::InvalidInput,
        }
    }
}

fn spec_name(spec: &PfdSpec) -> String {
    match spec.inner() {
        Inner::Number(n) => n.to_string(),
        Inner::Name(name) => Shown(name).to_string(),
    }
}

impl fmt::Display for TakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let spec = Shown(&self.spec().to_string()).to_string();
        match self {
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
            TakeError::NoFdNames { spec: s, fds } => {
                let name = spec_name(s);
                write!(
                    f,
                    "{spec}: no fd named {name}: LISTEN_FDNAMES is not set, so systemd names \
                     every passed fd \"unknown\" ("
                )?;
                match fds.as_slice() {
                    [fd] => write!(f, "fd {fd}")?,
                    [first, .., last] => write!(f, "fds {first} to {last}")?,
                    [] => f.write_str("no fds")?,
                }
                write!(
                    f,
                    "); name the socket (FileDescriptorName={name} in its .socket unit, or \
                     systemd-socket-activate --fdname={name}) or take it by number (pfd:{})",
                    fds.first().copied().unwrap_or(3)
                )
            }
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
            TakeError::InvalidConnection { source, .. } => write!(f, "{spec}: {source}"),
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
            TakeError::InvalidConnection { source, .. } => Some(source),
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
