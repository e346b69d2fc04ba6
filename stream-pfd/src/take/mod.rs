//! Taking inherited fds: [`ListenFds::take`] (a listener), [`take_connection`],
//! [`take_unvalidated`], [`take_all`] and [`take_named`], one claim path for all, and their
//! [`TakeError`].
//!
//! [`take_connection`]: ListenFds::take_connection
//! [`take_unvalidated`]: ListenFds::take_unvalidated
//! [`take_all`]: ListenFds::take_all
//! [`take_named`]: ListenFds::take_named

use std::os::fd::{AsFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};

use nix::sys::stat::FileStat;

use crate::connection::Connection;
use crate::env::{Mode, PassedFd};
use crate::info::{ConnectionInfo, SocketId, SocketInfo};
use crate::listen_fds::ListenFds;
use crate::listener::{Listener, SavedFlags, set_flags};
use crate::registry::{self, Taken, taken};
use crate::spec::{FIRST_FD, Inner, PfdSpec};
use crate::sys;
use crate::validate::{ValidateError, fstat, validate_connection_stat, validate_stat};

mod error;
pub use error::TakeError;

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
        let target = self.resolve(spec)?;
        let (fd, info, target) = claim_one(target, Claim::Nonblocking, check_listener)?;
        Ok(Listener::new(fd, info, Some(target.spec), target.name))
    }

    /// Like [`take`](ListenFds::take), for a connected stream socket instead of a listener:
    /// what systemd passes with `Accept=yes` (one connection per service instance, named
    /// `connection`), what `systemd-socket-activate --accept` passes, and a connection that a
    /// service kept in systemd's fd store. The fd is validated by
    /// [`validate_connection`](crate::validate_connection), then made non-blocking and
    /// close-on-exec; the take-once, ownership and identity rules are those of `take`.
    ///
    /// A listening socket is refused ([`ValidateError::Listening`]), as `take` refuses a
    /// connection.
    ///
    /// ```
    /// use std::os::fd::IntoRawFd;
    /// use stream_pfd::{ListenFds, PfdSpec};
    ///
    /// // An inherited connection (here: one end of a socket pair, handed over by its owner).
    /// let (ours, _peer) = std::os::unix::net::UnixStream::pair()?;
    /// let spec = PfdSpec::from_number(ours.into_raw_fd())?;
    /// let mut fds = ListenFds::builder().ignore_env().build()?;
    /// let connection = fds.take_connection(&spec)?;
    /// assert_eq!(connection.peer_addr().to_string(), "(unnamed)");
    /// assert!(fds.take_connection(&spec).is_err()); // once
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn take_connection(&mut self, spec: &PfdSpec) -> Result<Connection, TakeError> {
        let target = self.resolve(spec)?;
        let (fd, info, target) = claim_one(target, Claim::Nonblocking, check_connection)?;
        Ok(Connection::new(fd, info, Some(target.spec), target.name))
    }

    /// Takes the fd `spec` names **without validating it**: for an fd-store entry that is not
    /// a socket (a memfd holding state, a pipe, a device), which systemd passes back like a
    /// socket, under the name it was stored with.
    ///
    /// Only the take-once and identity rules of [`take`](ListenFds::take) apply (the fd must be
    /// open, the passed or inherited file, and not taken before); what the fd is, is the
    /// caller's to check. It is made close-on-exec and otherwise left as it is (no
    /// `O_NONBLOCK`). Use `take` or [`take_connection`](ListenFds::take_connection) for
    /// sockets: they check what this does not.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::os::fd::IntoRawFd;
    /// use stream_pfd::{ListenFds, PfdSpec};
    ///
    /// // An inherited file (here: a pipe, handed over by its owner).
    /// let (reader, writer) = std::io::pipe()?;
    /// let spec = PfdSpec::from_number(reader.into_raw_fd())?;
    /// let mut fds = ListenFds::builder().ignore_env().build()?;
    /// let fd = fds.take_unvalidated(&spec)?;
    /// drop(writer);
    /// let mut rest = Vec::new();
    /// std::fs::File::from(fd).read_to_end(&mut rest)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn take_unvalidated(&mut self, spec: &PfdSpec) -> Result<OwnedFd, TakeError> {
        let target = self.resolve(spec)?;
        let (fd, (), _) = claim_one(target, Claim::CloexecOnly, |_, _, _| Ok(()))?;
        Ok(fd)
    }

    /// Takes every passed socket, in fd order, as [`Listener`]s named `pfd:N` (their numbers),
    /// all or nothing: if one fails (not a listening socket, taken before, or a second number
    /// of a socket in the list), none is taken and the error names that fd. Empty when
    /// `LISTEN_FDS` is not set (check [`is_activated`](ListenFds::is_activated)), or is 0.
    ///
    /// ```
    /// let mut fds = stream_pfd::ListenFds::builder().ignore_env().build()?;
    /// assert!(fds.take_all()?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn take_all(&mut self) -> Result<Vec<Listener>, TakeError> {
        let targets = self
            .passed()
            .iter()
            .map(|p| {
                // Passed fds are numbered from FIRST_FD, so the number is a valid spec.
                let spec = PfdSpec::from_number(p.fd()).expect("passed fds start at fd 3");
                Target::passed(spec, p)
            })
            .collect();
        take_listeners(targets)
    }

    /// Takes every passed socket that `spec` names, in fd order: for `pfd:NAME`, every fd
    /// named `NAME` (a socket unit's `ListenStream=` lines all share its
    /// `FileDescriptorName=`, such as one IPv4 and one IPv6 address), for `pfd:N` the one fd.
    /// All or nothing, like [`take_all`](ListenFds::take_all); the listeners record `spec`.
    /// Unlike [`take`](ListenFds::take), a name several fds share is not ambiguous here; a
    /// name no fd has is [`TakeError::NoSuchName`] (never an empty list).
    ///
    /// ```
    /// use stream_pfd::{ListenFds, TakeError};
    ///
    /// let mut fds = ListenFds::builder().ignore_env().build()?;
    /// let err = fds.take_named(&"pfd:web".parse()?).unwrap_err();
    /// assert!(matches!(err, TakeError::NotActivated { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn take_named(&mut self, spec: &PfdSpec) -> Result<Vec<Listener>, TakeError> {
        let targets = match (spec.inner(), self.mode()) {
            (Inner::Name(name), Mode::Activated { passed, named }) => {
                let found: Vec<Target> = passed
                    .iter()
                    .filter(|p| p.name() == name)
                    .map(|p| Target::passed(spec.clone(), p))
                    .collect();
                if found.is_empty() {
                    return Err(no_such_name(spec, passed, *named));
                }
                found
            }
            _ => vec![self.resolve(spec)?],
        };
        take_listeners(targets)
    }

    /// The fd number, name and recorded identity `spec` refers to.
    fn resolve(&self, spec: &PfdSpec) -> Result<Target, TakeError> {
        let target = |fd, name, expected| Target {
            spec: spec.clone(),
            fd,
            name,
            expected,
        };
        match (spec.inner(), self.mode()) {
            (Inner::Number(fd), Mode::Activated { passed, .. }) => {
                // `PfdSpec` numbers are FIRST_FD or more, so the index is never negative.
                let passed_fd = usize::try_from(fd - FIRST_FD)
                    .ok()
                    .and_then(|index| passed.get(index));
                match passed_fd {
                    Some(p) => Ok(Target::passed(spec.clone(), p)),
                    None => Err(TakeError::NotPassed {
                        spec: spec.clone(),
                        fd: *fd,
                        count: passed.len(),
                    }),
                }
            }
            (Inner::Number(fd), Mode::Inherited { snapshot: None }) => Ok(target(*fd, None, None)),
            (
                Inner::Number(fd),
                Mode::Inherited {
                    snapshot: Some(snapshot),
                },
            ) => {
                match snapshot.get(fd) {
                    Some(id) => Ok(target(*fd, None, Some(*id))),
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
            (Inner::Name(name), Mode::Activated { passed, named }) => {
                let matching: Vec<&PassedFd> = passed.iter().filter(|p| p.name() == name).collect();
                match matching.as_slice() {
                    [p] => Ok(Target::passed(spec.clone(), p)),
                    [] => Err(no_such_name(spec, passed, *named)),
                    many => Err(TakeError::AmbiguousName {
                        spec: spec.clone(),
                        fds: many.iter().map(|p| p.fd()).collect(),
                    }),
                }
            }
        }
    }
}

/// What a spec resolved to: the fd number, its name and the identity recorded when the
/// environment was read (`None` without `/proc` in inherited mode).
#[derive(Debug)]
struct Target {
    spec: PfdSpec,
    fd: RawFd,
    name: Option<String>,
    expected: Option<SocketId>,
}

impl Target {
    fn passed(spec: PfdSpec, p: &PassedFd) -> Target {
        Target {
            spec,
            fd: p.fd(),
            name: Some(p.name().to_owned()),
            expected: Some(p.id()),
        }
    }
}

/// The error for a name no passed fd has: [`TakeError::NoFdNames`] when systemd named no fd
/// (`LISTEN_FDNAMES` unset, every name `unknown`), [`TakeError::NoSuchName`] otherwise.
fn no_such_name(spec: &PfdSpec, passed: &[PassedFd], named: bool) -> TakeError {
    if !named && !passed.is_empty() {
        return TakeError::NoFdNames {
            spec: spec.clone(),
            fds: passed.iter().map(PassedFd::fd).collect(),
        };
    }
    TakeError::NoSuchName {
        spec: spec.clone(),
        available: passed
            .iter()
            .map(|p| (p.fd(), p.name().to_owned()))
            .collect(),
    }
}

/// Which flags a take sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Claim {
    /// `O_NONBLOCK` and `FD_CLOEXEC` (sockets).
    Nonblocking,
    /// `FD_CLOEXEC` only ([`ListenFds::take_unvalidated`]).
    CloexecOnly,
}

fn check_listener(
    fd: BorrowedFd<'_>,
    st: &FileStat,
    spec: &PfdSpec,
) -> Result<SocketInfo, TakeError> {
    validate_stat(fd, st).map_err(|source| TakeError::Invalid {
        spec: spec.clone(),
        source,
    })
}

fn check_connection(
    fd: BorrowedFd<'_>,
    st: &FileStat,
    spec: &PfdSpec,
) -> Result<ConnectionInfo, TakeError> {
    validate_connection_stat(fd, st).map_err(|source| TakeError::InvalidConnection {
        spec: spec.clone(),
        source: source.into(),
    })
}

fn take_listeners(targets: Vec<Target>) -> Result<Vec<Listener>, TakeError> {
    Ok(claim_all(targets, Claim::Nonblocking, check_listener)?
        .into_iter()
        .map(|(fd, info, target)| Listener::new(fd, info, Some(target.spec), target.name))
        .collect())
}

/// [`claim_all`] of one target.
fn claim_one<T>(
    target: Target,
    claim: Claim,
    check: impl Fn(BorrowedFd<'_>, &FileStat, &PfdSpec) -> Result<T, TakeError>,
) -> Result<(OwnedFd, T, Target), TakeError> {
    let mut claimed = claim_all(vec![target], claim, check)?;
    Ok(claimed.pop().expect("one target, one claim"))
}

/// Takes every target or none, holding the take-once registry throughout.
///
/// First each fd is checked, read-only: open, still the recorded file, not taken before (nor
/// earlier in `targets`), then `check`. Then each fd is claimed, in one borrow with a second
/// identity check and the flags; if one fails, those claimed so far get their flags back and
/// are handed back unclosed. Only when all are claimed are they recorded as taken. An error
/// leaves every fd as it was.
fn claim_all<T>(
    targets: Vec<Target>,
    claim: Claim,
    check: impl Fn(BorrowedFd<'_>, &FileStat, &PfdSpec) -> Result<T, TakeError>,
) -> Result<Vec<(OwnedFd, T, Target)>, TakeError> {
    let mut registry = taken();
    let mut checked: Vec<(SocketId, T)> = Vec::with_capacity(targets.len());
    for target in &targets {
        let spec = &target.spec;
        let found = sys::with_borrowed(target.fd, |borrowed| {
            let st = fstat(borrowed).map_err(|source| TakeError::Invalid {
                spec: spec.clone(),
                source,
            })?;
            let id = SocketId::from_stat(&st);
            if target.expected.is_some_and(|expected| expected != id) {
                return Err(TakeError::Replaced {
                    spec: spec.clone(),
                    fd: target.fd,
                });
            }
            let earlier = registry.get(&id).map(|t| t.taken_as.clone()).or_else(|| {
                checked.iter().position(|(other, _)| *other == id).map(|i| {
                    format!(
                        "{} (fd {}) in the same call",
                        targets[i].spec, targets[i].fd
                    )
                })
            });
            if let Some(taken_as) = earlier {
                return Err(TakeError::AlreadyTaken {
                    spec: spec.clone(),
                    fd: target.fd,
                    taken_as,
                });
            }
            Ok((id, check(borrowed, &st, spec)?))
        });
        checked.push(found.unwrap_or_else(|| Err(not_open(spec, target.fd)))?);
    }
    // Claim each fd (identity checked again in the same borrow, then the flags set); on a
    // failure, hand back those already claimed, with their flags as they were.
    let mut claimed: Vec<(OwnedFd, SavedFlags)> = Vec::with_capacity(targets.len());
    for (target, (id, _)) in targets.iter().zip(&checked) {
        let claim_one = sys::with_borrowed(target.fd, |borrowed| {
            if registry::id_of(borrowed) != Some(*id) {
                return Err(TakeError::Replaced {
                    spec: target.spec.clone(),
                    fd: target.fd,
                });
            }
            let saved = set_flags(borrowed, claim == Claim::Nonblocking).map_err(|source| {
                TakeError::Setup {
                    spec: target.spec.clone(),
                    fd: target.fd,
                    source,
                }
            })?;
            // Open, the recorded file, and unclaimed (the registry is locked since the check).
            Ok((sys::claim(borrowed), saved))
        })
        .unwrap_or_else(|| Err(not_open(&target.spec, target.fd)));
        match claim_one {
            Ok(one) => claimed.push(one),
            Err(err) => {
                for (owned, saved) in claimed {
                    saved.restore(owned.as_fd());
                    // Not ours after all: give the number back without closing it.
                    let _ = owned.into_raw_fd();
                }
                return Err(err);
            }
        }
    }
    Ok(targets
        .into_iter()
        .zip(checked)
        .zip(claimed)
        .map(|((target, (id, found)), (owned, _))| {
            registry.insert(
                id,
                Taken {
                    fd: target.fd,
                    taken_as: target.spec.to_string(),
                },
            );
            (owned, found, target)
        })
        .collect())
}

fn not_open(spec: &PfdSpec, fd: RawFd) -> TakeError {
    TakeError::Invalid {
        spec: spec.clone(),
        source: ValidateError::NotOpen {
            fd,
            open_limit: beyond_open_limit(fd),
        },
    }
}

/// The soft `RLIMIT_NOFILE` if `fd` is at or beyond it.
fn beyond_open_limit(fd: RawFd) -> Option<u64> {
    let (soft, _) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).ok()?;
    (u64::try_from(fd).ok()? >= soft).then_some(soft)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::FileKind;
    use std::error::Error as _;
    use std::io;

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
