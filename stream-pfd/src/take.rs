//! Taking an inherited socket: [`ListenFds::take`] and its [`TakeError`].

use std::fmt;
use std::io;
use std::os::fd::RawFd;

use crate::env::{Mode, PassedFd};
use crate::info::SocketId;
use crate::listen_fds::ListenFds;
use crate::listener::{Listener, make_nonblocking_cloexec};
use crate::registry::{Taken, taken};
use crate::spec::{FIRST_FD, Inner, PfdSpec};
use crate::sys;
use crate::text::Shown;
use crate::validate::{ValidateError, fstat, validate_stat};

impl ListenFds {
    /// Resolves `spec`, validates the fd, and takes ownership of it as a non-blocking,
    /// close-on-exec [`Listener`]. See [`ListenFds`] for the rules. An fd that fails is left
    /// as it was (what happens to it when `ListenFds` is dropped is [`OnDrop`](crate::OnDrop)'s choice).
    ///
    /// `O_NONBLOCK` is a property of the socket's open file description, so it also applies to
    /// every duplicate of the fd (another passed number of the same socket, or a copy in
    /// another process); `FD_CLOEXEC` is set on this fd number only.
    ///
    /// ```
    /// use stream_pfd::{ListenFds, TakeError};
    ///
    /// let mut fds = ListenFds::builder().ignore_env().build()?;
    /// let err = fds.take(&"pfd:web".parse()?).unwrap_err();
    /// assert!(matches!(err, TakeError::NotActivated { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn take(&mut self, spec: &PfdSpec) -> Result<Listener, TakeError> {
        let (fd, name, expected) = self.resolve(spec)?;
        let not_open = || TakeError::Invalid {
            spec: spec.clone(),
            source: ValidateError::NotOpen {
                fd,
                open_limit: beyond_open_limit(fd),
            },
        };
        sys::with_borrowed(fd, |borrowed| {
            let invalid = |source| TakeError::Invalid {
                spec: spec.clone(),
                source,
            };
            let st = fstat(borrowed).map_err(invalid)?;
            let id = SocketId::from_stat(&st);
            if expected.is_some_and(|expected| expected != id) {
                return Err(TakeError::Replaced {
                    spec: spec.clone(),
                    fd,
                });
            }
            let mut registry = taken();
            if let Some(earlier) = registry.get(&id) {
                return Err(TakeError::AlreadyTaken {
                    spec: spec.clone(),
                    fd,
                    taken_as: earlier.taken_as.clone(),
                });
            }
            let info = validate_stat(borrowed, &st).map_err(invalid)?;
            make_nonblocking_cloexec(borrowed).map_err(|source| TakeError::Setup {
                spec: spec.clone(),
                fd,
                source,
            })?;
            let owned = sys::claim(borrowed);
            registry.insert(
                id,
                Taken {
                    fd,
                    taken_as: spec.to_string(),
                },
            );
            Ok(Listener::new(owned, info, Some(spec.clone()), name))
        })
        .unwrap_or_else(|| Err(not_open()))
    }

    /// The fd number, name and recorded identity `spec` refers to.
    fn resolve(
        &self,
        spec: &PfdSpec,
    ) -> Result<(RawFd, Option<String>, Option<SocketId>), TakeError> {
        match (spec.inner(), self.mode()) {
            (Inner::Number(fd), Mode::Activated { passed }) => {
                // `PfdSpec` numbers are FIRST_FD or more, so the index is never negative.
                let passed_fd = usize::try_from(fd - FIRST_FD)
                    .ok()
                    .and_then(|index| passed.get(index));
                match passed_fd {
                    Some(p) => Ok((p.fd(), Some(p.name().to_owned()), Some(p.id()))),
                    None => Err(TakeError::NotPassed {
                        spec: spec.clone(),
                        fd: *fd,
                        count: passed.len(),
                    }),
                }
            }
            (Inner::Number(fd), Mode::Inherited { snapshot: None }) => Ok((*fd, None, None)),
            (
                Inner::Number(fd),
                Mode::Inherited {
                    snapshot: Some(snapshot),
                },
            ) => {
                match snapshot.get(fd) {
                    Some(id) => Ok((*fd, None, Some(*id))),
                    // Not in the start-up snapshot: never claimed, even if another thread opens
                    // the number before `take` would look at it. Not open: EBADF (with the
                    // rlimit hint); open: opened by this process after start-up.
                    None if !sys::is_open(*fd) => Err(TakeError::Invalid {
                        spec: spec.clone(),
                        source: ValidateError::NotOpen {
                            fd: *fd,
                            open_limit: beyond_open_limit(*fd),
                        },
                    }),
                    None => Err(TakeError::NotInherited {
                        spec: spec.clone(),
                        fd: *fd,
                    }),
                }
            }
            (Inner::Name(_), Mode::Inherited { .. }) => {
                Err(TakeError::NotActivated { spec: spec.clone() })
            }
            (Inner::Name(name), Mode::Activated { passed }) => {
                let matching: Vec<&PassedFd> = passed.iter().filter(|p| p.name() == name).collect();
                match matching.as_slice() {
                    [p] => Ok((p.fd(), Some(p.name().to_owned()), Some(p.id()))),
                    [] => Err(TakeError::NoSuchName {
                        spec: spec.clone(),
                        available: passed
                            .iter()
                            .map(|p| (p.fd(), p.name().to_owned()))
                            .collect(),
                    }),
                    many => Err(TakeError::AmbiguousName {
                        spec: spec.clone(),
                        fds: many.iter().map(|p| p.fd()).collect(),
                    }),
                }
            }
        }
    }
}

/// The soft `RLIMIT_NOFILE` if `fd` is at or beyond it.
fn beyond_open_limit(fd: RawFd) -> Option<u64> {
    let (soft, _) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).ok()?;
    (u64::try_from(fd).ok()? >= soft).then_some(soft)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::FileKind;
    use std::error::Error as _;

    /// A refused take keeps its cause, and its io::Error kind is the cause's.
    #[test]
    fn invalid_and_setup_keep_their_cause_and_its_kind() {
        let spec: PfdSpec = "pfd:3".parse().unwrap();
        let invalid = TakeError::Invalid {
            spec: spec.clone(),
            source: ValidateError::NotOpen {
                fd: 3,
                open_limit: None,
            },
        };
        let cause = invalid.source().expect("the validation error");
        assert!(cause.is::<ValidateError>(), "{cause:?}");
        assert_eq!(invalid.io_kind(), io::ErrorKind::NotFound);
        let not_socket = TakeError::Invalid {
            spec: spec.clone(),
            source: ValidateError::NotSocket {
                fd: 3,
                kind: FileKind::Regular,
            },
        };
        assert_eq!(not_socket.io_kind(), io::ErrorKind::InvalidInput);

        let setup = TakeError::Setup {
            spec,
            fd: 3,
            source: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        let cause = setup.source().expect("the fcntl error");
        assert!(cause.is::<io::Error>(), "{cause:?}");
        assert_eq!(setup.io_kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(
            io::Error::from(setup).kind(),
            io::ErrorKind::PermissionDenied
        );
    }
}
