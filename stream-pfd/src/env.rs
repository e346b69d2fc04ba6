//! The systemd socket-activation environment (`LISTEN_PID`, `LISTEN_PIDFDID`, `LISTEN_FDS`,
//! `LISTEN_FDNAMES`): reading and checking it, and its [`EnvError`].

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::os::fd::RawFd;

use crate::info::SocketId;
use crate::registry::{identity, snapshot_open_fds};
use crate::spec::{FIRST_FD, NameRules, check_fd_name};
use crate::sys;
use crate::text::{Expected, Shown, parse_decimal};

/// The four variables of the protocol, in the order they are unset.
pub const ENV_VARS: [&str; 4] = [
    "LISTEN_PID",
    "LISTEN_PIDFDID",
    "LISTEN_FDS",
    "LISTEN_FDNAMES",
];

/// The name systemd uses when it passes no `LISTEN_FDNAMES`.
pub const DEFAULT_NAME: &str = "unknown";

/// `PIDFS_MAGIC`: the filesystem of pidfds since Linux 6.9, whose inode numbers are the
/// process identities `LISTEN_PIDFDID` carries.
const PIDFS_MAGIC: i64 = 0x5049_4446;

type Getter<'a> = dyn Fn(&'static str) -> Result<Option<String>, EnvError> + 'a;

/// Reads and checks the protocol from `vars` (as given to
/// [`ListenFdsBuilder::vars`](crate::ListenFdsBuilder::vars)) or, when `None`, from the process
/// environment; records the identity of each passed fd (or, without `LISTEN_FDS`, of every fd
/// open now).
pub(crate) fn read_vars(
    vars: Option<&[(String, String)]>,
    require_pid: bool,
) -> Result<Mode, EnvError> {
    let get = |var: &'static str| -> Result<Option<String>, EnvError> {
        match vars {
            Some(vars) => Ok(vars.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone())),
            None => match std::env::var_os(var) {
                None => Ok(None),
                Some(value) => value
                    .into_string()
                    .map(Some)
                    .map_err(|_| EnvError::NotUnicode { var }),
            },
        }
    };
    read_protocol(&get, require_pid)
}

fn read_protocol(get: &Getter<'_>, require_pid: bool) -> Result<Mode, EnvError> {
    let Some(fds) = get("LISTEN_FDS")? else {
        for var in ["LISTEN_PID", "LISTEN_PIDFDID", "LISTEN_FDNAMES"] {
            if get(var)?.is_some() {
                return Err(EnvError::WithoutListenFds { var });
            }
        }
        return Ok(Mode::Inherited {
            snapshot: snapshot_open_fds(),
        });
    };
    if require_pid {
        let value = get("LISTEN_PID")?.ok_or(EnvError::MissingPid)?;
        let listen_pid = parse_decimal(&value)
            .and_then(|pid| u32::try_from(pid).ok())
            .filter(|pid| *pid > 0 && i32::try_from(*pid).is_ok())
            .ok_or(EnvError::BadPid { value })?;
        let our_pid = std::process::id();
        if listen_pid != our_pid {
            return Err(EnvError::PidMismatch {
                listen_pid,
                our_pid,
            });
        }
        if let Some(value) = get("LISTEN_PIDFDID")? {
            let listen_pidfdid = parse_decimal(&value).ok_or(EnvError::BadPidFdId { value })?;
            // Without pidfs (Linux < 6.9) the id cannot be computed; like systemd, the check
            // is then skipped and LISTEN_PID alone decides.
            if let Some(ours) = pidfd_inode_id_self() {
                if ours != listen_pidfdid {
                    return Err(EnvError::PidFdIdMismatch {
                        listen_pidfdid,
                        ours,
                    });
                }
            }
        }
    }
    let count = parse_decimal(&fds).ok_or(EnvError::BadFdCount { value: fds })?;
    if count > (i32::MAX - FIRST_FD + 1) as u64 {
        return Err(EnvError::TooManyFds { count });
    }
    let count = count as usize;
    let names: Option<Vec<String>> = match get("LISTEN_FDNAMES")? {
        None => None,
        Some(names) if names.is_empty() && count == 0 => Some(Vec::new()),
        Some(names) => {
            let names: Vec<String> = names.split(':').map(str::to_owned).collect();
            if names.len() != count {
                return Err(EnvError::NamesCountMismatch {
                    names: names.len(),
                    fds: count,
                });
            }
            if let Some(index) = names
                .iter()
                .position(|n| check_fd_name(n, NameRules::Systemd).is_err())
            {
                return Err(EnvError::BadName {
                    index,
                    name: names[index].clone(),
                });
            }
            Some(names)
        }
    };
    let mut passed = Vec::new();
    for index in 0..count {
        let fd = FIRST_FD + index as i32;
        let id = identity(fd).ok_or(EnvError::PassedFdNotOpen { fd, count })?;
        let name = match &names {
            Some(names) => names[index].clone(),
            None => DEFAULT_NAME.to_owned(),
        };
        passed.push(PassedFd { fd, name, id });
    }
    Ok(Mode::Activated {
        passed,
        named: names.is_some(),
    })
}

/// The number of threads of this process, from `/proc/self/task`.
pub(crate) fn thread_count() -> Option<usize> {
    std::fs::read_dir("/proc/self/task")
        .ok()
        .map(Iterator::count)
}

/// The inode id of a pidfd for this process, if pidfs is available.
fn pidfd_inode_id_self() -> Option<u64> {
    let pidfd = sys::pidfd_self().ok()?;
    let fs = nix::sys::statfs::fstatfs(&pidfd).ok()?;
    #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
    if fs.filesystem_type().0 as i64 != PIDFS_MAGIC {
        return None;
    }
    Some(nix::sys::stat::fstat(&pidfd).ok()?.st_ino)
}

/// What the environment said.
#[derive(Debug)]
pub(crate) enum Mode {
    /// `LISTEN_FDS` was set: these fds were passed; `named` when `LISTEN_FDNAMES` was set too
    /// (otherwise every name is [`DEFAULT_NAME`]).
    Activated { passed: Vec<PassedFd>, named: bool },
    /// `LISTEN_FDS` was not set: fds open at start-up (if `/proc` could be read).
    Inherited {
        snapshot: Option<BTreeMap<RawFd, SocketId>>,
    },
}

/// One fd passed by systemd: its number and `LISTEN_FDNAMES` name.
///
/// ```
/// let fds = stream_pfd::ListenFds::builder().ignore_env().build()?;
/// for passed in fds.passed() {
///     println!("fd {} is named {}", passed.fd(), passed.name());
/// }
/// // Not socket-activated (the environment is ignored): nothing was passed.
/// assert!(!fds.is_activated() && fds.passed().is_empty());
/// # Ok::<(), stream_pfd::EnvError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PassedFd {
    fd: RawFd,
    name: String,
    id: SocketId,
}

impl PassedFd {
    /// The fd number (3 and up).
    ///
    /// ```
    /// # let fds = stream_pfd::ListenFds::builder().ignore_env().build()?;
    /// assert!(fds.passed().iter().all(|p| p.fd() >= 3));
    /// # Ok::<(), stream_pfd::EnvError>(())
    /// ```
    pub fn fd(&self) -> RawFd {
        self.fd
    }

    /// The name (`unknown` when `LISTEN_FDNAMES` was not set).
    ///
    /// ```
    /// # let fds = stream_pfd::ListenFds::builder().ignore_env().build()?;
    /// assert!(fds.passed().iter().all(|p| !p.name().contains(':')));
    /// # Ok::<(), stream_pfd::EnvError>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its identity when the environment was read.
    pub(crate) fn id(&self) -> SocketId {
        self.id
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
    /// `LISTEN_PID` is not a decimal number from 1 to 2147483647.
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
                "LISTEN_PID=\"{}\" is not a valid process id ({})",
                Shown(value),
                Expected {
                    value,
                    what: "a decimal number from 1 to 2147483647",
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
                "LISTEN_PIDFDID=\"{}\" is not a valid pidfd inode id ({})",
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
                "LISTEN_FDS=\"{}\" is not a valid fd count ({})",
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
                "LISTEN_FDNAMES has {names} name{} but LISTEN_FDS={fds}; systemd passes \
                 exactly one name per fd",
                if *names == 1 { "" } else { "s" }
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

impl EnvError {
    pub(crate) fn io_kind(&self) -> io::ErrorKind {
        match self {
            EnvError::UnsetNeedsSingleThread { .. } => io::ErrorKind::Other,
            EnvError::PidMismatch { .. } | EnvError::PidFdIdMismatch { .. } => {
                io::ErrorKind::PermissionDenied
            }
            EnvError::PassedFdNotOpen { .. } => io::ErrorKind::NotFound,
            _ => io::ErrorKind::InvalidData,
        }
    }
}

impl From<EnvError> for io::Error {
    fn from(err: EnvError) -> io::Error {
        io::Error::new(err.io_kind(), err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_count_sees_another_thread() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || rx.recv());
        let n = thread_count().expect("/proc/self/task is readable");
        assert!(n >= 2, "{n} thread(s) counted with a second one running");
        tx.send(()).unwrap();
        other.join().unwrap().unwrap();
    }

    #[test]
    fn io_error_kinds() {
        let kind = |e: EnvError| io::Error::from(e).kind();
        assert_eq!(
            kind(EnvError::UnsetNeedsSingleThread { threads: Some(2) }),
            io::ErrorKind::Other
        );
        assert_eq!(
            kind(EnvError::PidMismatch {
                listen_pid: 1,
                our_pid: 2
            }),
            io::ErrorKind::PermissionDenied
        );
        assert_eq!(
            kind(EnvError::PidFdIdMismatch {
                listen_pidfdid: 1,
                ours: 2
            }),
            io::ErrorKind::PermissionDenied
        );
        assert_eq!(
            kind(EnvError::PassedFdNotOpen { fd: 3, count: 1 }),
            io::ErrorKind::NotFound
        );
        assert_eq!(kind(EnvError::MissingPid), io::ErrorKind::InvalidData);
    }
}
