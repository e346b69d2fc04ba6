//! The crate's error type: [`Error`].

use std::fmt;
use std::io;

use nix::errno::Errno;

/// Everything that can go wrong building, exporting or loading a filter.
///
/// Each variant names the step that failed; convert to [`std::io::Error`]
/// with `?` or `.into()`.
///
/// ```
/// use seccomp_sets::Error;
///
/// let err = "sparc".parse::<seccomp_sets::Arch>().unwrap_err();
/// assert!(matches!(err, Error::UnknownArch(ref a) if a == "sparc"));
/// assert!(err.to_string().contains("x86_64"));
/// let io: std::io::Error = err.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A libseccomp call failed; `what` says which step (e.g. "adding the
    /// clone rule").
    Libseccomp {
        /// The step that failed.
        what: String,
        /// libseccomp's error.
        source: libseccomp::error::SeccompError,
    },
    /// The kernel lacks a seccomp action the chosen mode needs (e.g.
    /// `SECCOMP_RET_LOG` for [`crate::Mode::Audit`], Linux 4.14+).
    ActionUnavailable {
        /// The kernel action's name, e.g. `SECCOMP_RET_LOG`.
        action: &'static str,
    },
    /// Writing an export (BPF or PFC) to memory failed.
    Export {
        /// `bpf` or `pfc`.
        format: &'static str,
        /// The I/O error.
        source: io::Error,
    },
    /// `prctl(PR_SET_NO_NEW_PRIVS, 1)` failed.
    NoNewPrivs(Errno),
    /// [`Builder::no_new_privs`](crate::Builder::no_new_privs)`(false)` for a sandbox with
    /// `elevateprivileges=children`, which asks for no_new_privs by name.
    NoNewPrivsRequired {
        /// The sandbox, in its canonical form.
        sandbox: String,
    },
    /// Installing the report-mode SIGSYS handler failed.
    SignalHandler(Errno),
    /// `seccomp(SECCOMP_SET_MODE_FILTER)` refused the filter.
    Load {
        /// The kernel's errno.
        errno: Errno,
        /// What that errno means here.
        hint: &'static str,
    },
    /// `SECCOMP_FILTER_FLAG_TSYNC` could not synchronise a thread (it runs
    /// under a different, incompatible filter or is being set up); nothing was
    /// loaded.
    Tsync {
        /// The thread id the kernel reported.
        tid: i32,
    },
    /// An architecture name that is not one of [`crate::Arch::ALL`].
    UnknownArch(String),
    /// A loader step's kernel call failed (a real failure, not a missing feature).
    Step {
        /// The step's name (`Step::name`).
        step: &'static str,
        /// The call.
        what: &'static str,
        /// The kernel's errno.
        errno: Errno,
    },
    /// Entering the Landlock domain failed (the `landlock` crate's error, as text).
    Landlock {
        /// The call.
        what: &'static str,
        /// What the crate said.
        source: String,
    },
    /// Under [`Builder::strict`](crate::Builder::strict), a step the kernel or the process
    /// state does not allow (e.g. a kernel without Landlock).
    StepUnavailable {
        /// The step's name (`Step::name`).
        step: &'static str,
        /// Why, and what stays open.
        why: String,
    },
    /// [`Filter::prepare`](crate::Filter::prepare) in a process that already runs threads:
    /// capabilities and the Landlock domain would cover the calling thread only.
    ThreadsRunning {
        /// How many threads run.
        count: usize,
    },
    /// A relaxation name that is not one of [`table::RELAXATIONS`](crate::table::RELAXATIONS).
    UnknownRelaxation {
        /// The name given.
        name: String,
        /// The names there are, comma-separated.
        known: String,
    },
    /// [`Filter::load`](crate::Filter::load) on a filter built for another ABI
    /// ([`Builder::arch`](crate::Builder::arch)), which this process cannot load.
    ForeignArch {
        /// The filter's ABI (its name, as `Arch::name` gives it).
        arch: &'static str,
        /// This process's ABI.
        native: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Libseccomp { what, source } => write!(f, "libseccomp: {what} failed: {source}"),
            Error::ActionUnavailable { action } => write!(
                f,
                "the kernel does not support the seccomp action {action} \
                 (SECCOMP_GET_ACTION_AVAIL said no); use another mode"
            ),
            Error::Export { format, source } => {
                write!(f, "exporting the filter as {format} failed: {source}")
            }
            Error::NoNewPrivs(e) => write!(f, "prctl(PR_SET_NO_NEW_PRIVS, 1) failed: {e}"),
            Error::NoNewPrivsRequired { sandbox } => write!(
                f,
                "\"{sandbox}\" asks for no_new_privs (elevateprivileges=children), so it cannot \
                 be turned off; use elevateprivileges=deny to opt out"
            ),
            Error::SignalHandler(e) => {
                write!(f, "installing the report-mode SIGSYS handler failed: {e}")
            }
            Error::Load { errno, hint } => write!(
                f,
                "seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC) failed: {errno}: {hint}"
            ),
            Error::Tsync { tid } => write!(
                f,
                "seccomp TSYNC could not apply the filter to thread {tid} (it has an \
                 incompatible seccomp filter); no filter was loaded"
            ),
            Error::ForeignArch { arch, native } => write!(
                f,
                "this filter is built for {arch}, so this {native} process cannot load it; \
                 export it (BPF, PFC, OCI) for a loader on {arch} instead"
            ),
            Error::Step { step, what, errno } => {
                write!(f, "loader step {step}: {what} failed: {errno}")
            }
            Error::Landlock { what, source } => {
                write!(f, "loader step landlock: {what} failed: {source}")
            }
            Error::StepUnavailable { step, why } => write!(
                f,
                "loader step {step} is unavailable and the sandbox is strict: {why}"
            ),
            Error::ThreadsRunning { count } => write!(
                f,
                "cannot prepare the sandbox: {count} threads already run, and capabilities and \
                 the Landlock domain belong to each thread; call prepare before starting any \
                 thread (before building a multi-threaded runtime), or use apply, which then \
                 reports those steps as unavailable"
            ),
            Error::UnknownRelaxation { name, known } => {
                write!(f, "unknown relaxation {name:?}: expected one of {known}")
            }
            Error::UnknownArch(a) => write!(
                f,
                "unknown architecture {a:?}: expected one of native, x86_64, aarch64, i386, x32, \
                 arm, riscv64, s390x, ppc64le"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Libseccomp { source, .. } => Some(source),
            Error::Export { source, .. } => Some(source),
            Error::NoNewPrivs(e) | Error::SignalHandler(e) => Some(e),
            Error::Step { errno, .. } => Some(errno),
            Error::Load { errno, .. } => Some(errno),
            _ => None,
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match &e {
            Error::UnknownArch(_)
            | Error::ForeignArch { .. }
            | Error::NoNewPrivsRequired { .. }
            | Error::UnknownRelaxation { .. } => io::ErrorKind::InvalidInput,
            Error::ActionUnavailable { .. } | Error::StepUnavailable { .. } => {
                io::ErrorKind::Unsupported
            }
            Error::ThreadsRunning { .. } => io::ErrorKind::ResourceBusy,
            Error::Step { errno, .. } => match errno {
                Errno::EACCES | Errno::EPERM => io::ErrorKind::PermissionDenied,
                _ => io::ErrorKind::Other,
            },
            Error::Landlock { .. } => io::ErrorKind::Other,
            Error::Export { source, .. } => source.kind(),
            Error::Load { errno, .. } | Error::NoNewPrivs(errno) => match errno {
                Errno::EACCES | Errno::EPERM => io::ErrorKind::PermissionDenied,
                Errno::EINVAL | Errno::EFAULT => io::ErrorKind::InvalidInput,
                Errno::ENOSYS => io::ErrorKind::Unsupported,
                Errno::ENOMEM => io::ErrorKind::OutOfMemory,
                _ => io::ErrorKind::Other,
            },
            Error::Tsync { .. } => io::ErrorKind::ResourceBusy,
            Error::Libseccomp { .. } | Error::SignalHandler(_) => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}

pub(crate) fn scmp(
    what: impl Into<String>,
) -> impl FnOnce(libseccomp::error::SeccompError) -> Error {
    let what = what.into();
    move |source| Error::Libseccomp { what, source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    fn load(errno: Errno) -> Error {
        Error::Load { errno, hint: "h" }
    }

    /// Every error that wraps a cause hands it on, and each maps to the io::ErrorKind a caller
    /// would match on.
    #[test]
    fn causes_and_io_kinds() {
        let export = Error::Export {
            format: "bpf",
            source: io::Error::from(io::ErrorKind::StorageFull),
        };
        assert!(export.source().unwrap().is::<io::Error>());
        assert_eq!(io::Error::from(export).kind(), io::ErrorKind::StorageFull);
        for e in [
            Error::NoNewPrivs(Errno::EPERM),
            Error::SignalHandler(Errno::EINVAL),
            load(Errno::EACCES),
        ] {
            let cause = e.source().unwrap_or_else(|| panic!("{e:?} has no source"));
            assert!(cause.is::<Errno>(), "{e:?}");
        }
        let libseccomp = Error::Libseccomp {
            what: "adding a rule".into(),
            source: libseccomp::ScmpSyscall::from_name("no_such_syscall").unwrap_err(),
        };
        assert!(libseccomp.source().is_some());
        assert!(Error::Tsync { tid: 1 }.source().is_none());
        for (errno, kind) in [
            (Errno::EACCES, io::ErrorKind::PermissionDenied),
            (Errno::EPERM, io::ErrorKind::PermissionDenied),
            (Errno::EINVAL, io::ErrorKind::InvalidInput),
            (Errno::EFAULT, io::ErrorKind::InvalidInput),
            (Errno::ENOSYS, io::ErrorKind::Unsupported),
            (Errno::ENOMEM, io::ErrorKind::OutOfMemory),
            (Errno::EIO, io::ErrorKind::Other),
        ] {
            assert_eq!(io::Error::from(load(errno)).kind(), kind, "{errno}");
        }
        assert_eq!(
            io::Error::from(Error::NoNewPrivs(Errno::EPERM)).kind(),
            io::ErrorKind::PermissionDenied
        );
        assert_eq!(
            io::Error::from(Error::Tsync { tid: 1 }).kind(),
            io::ErrorKind::ResourceBusy
        );
    }
}
