//! The systemd socket-activation protocol (`LISTEN_PID`, `LISTEN_PIDFDID`, `LISTEN_FDS`,
//! `LISTEN_FDNAMES`) and take-once ownership of inherited sockets: [`ListenFds`].

use std::collections::BTreeMap;
use std::fmt;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::Mutex;

use crate::error::{EnvError, TakeError, ValidateError};
use crate::info::{SocketId, SocketInfo, fstat, validate, validate_stat};
use crate::listener::{Listener, make_nonblocking_cloexec};
use crate::spec::{FIRST_FD, MAX_NAME_LEN, PfdSpec};
use crate::sys;

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

/// Process-wide registry of taken sockets (identity -> the remote it was taken as), shared by
/// every [`ListenFds`], so no socket is ever claimed twice in this process.
static TAKEN: Mutex<BTreeMap<SocketId, String>> = Mutex::new(BTreeMap::new());

fn taken() -> std::sync::MutexGuard<'static, BTreeMap<SocketId, String>> {
    TAKEN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What happens to passed fds that nobody took when [`ListenFds`] is dropped.
///
/// ```
/// use stream_pfd::{ListenFds, OnDrop};
/// let fds = ListenFds::builder().ignore_env().on_drop(OnDrop::Leave).build()?;
/// # Ok::<(), stream_pfd::EnvError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnDrop {
    /// Close them (the default). systemd keeps its own copy of every socket of a socket
    /// unit, so closing the service's copy loses nothing, while leaving it open would keep a
    /// listening socket that nobody serves and leak it into child processes. Only fds that
    /// are still the socket that was passed (same device and inode) are closed.
    #[default]
    Close,
    /// Leave them open and unchanged (for programs that hand them to something else).
    Leave,
}

/// Options for reading the environment. See [`ListenFds::builder`].
///
/// ```
/// use stream_pfd::ListenFds;
///
/// let fds = ListenFds::builder()
///     .require_pid_match(true) // the default
///     .unset_env(false)        // the default
///     .build()?;
/// # Ok::<(), stream_pfd::EnvError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ListenFdsBuilder {
    require_pid: bool,
    unset_env: bool,
    on_drop: OnDrop,
    vars: Option<Vec<(String, String)>>,
}

impl ListenFdsBuilder {
    /// Whether `LISTEN_PID` must equal this process's pid (and `LISTEN_PIDFDID`, when set,
    /// its pidfd inode id). Default `true`.
    ///
    /// **Development opt-out only**: `false` makes a process use fds that were passed to
    /// another process (for example when a wrapper forks before running the daemon), which
    /// systemd's protocol exists to prevent. Never turn it off in production.
    ///
    /// ```
    /// let fds = stream_pfd::ListenFds::builder().require_pid_match(false).ignore_env().build()?;
    /// # Ok::<(), stream_pfd::EnvError>(())
    /// ```
    pub fn require_pid_match(mut self, require: bool) -> ListenFdsBuilder {
        self.require_pid = require;
        self
    }

    /// Whether to remove the four `LISTEN_*` variables from the environment after reading
    /// them (whether or not they were valid), so that child processes do not see them.
    /// Default `false`.
    ///
    /// Changing the environment is only sound while the process has one thread, so
    /// [`build`](ListenFdsBuilder::build) checks `/proc/self/task` and fails with
    /// [`EnvError::UnsetNeedsSingleThread`] otherwise: build `ListenFds` at the start of
    /// `main`, before starting threads or a tokio runtime.
    ///
    /// ```no_run
    /// // no_run: doctests may run with several threads.
    /// let fds = stream_pfd::ListenFds::builder().unset_env(true).build()?;
    /// assert!(std::env::var_os("LISTEN_FDS").is_none());
    /// # Ok::<(), stream_pfd::EnvError>(())
    /// ```
    pub fn unset_env(mut self, unset: bool) -> ListenFdsBuilder {
        self.unset_env = unset;
        self
    }

    /// What to do with unclaimed passed fds on drop (default [`OnDrop::Close`]).
    ///
    /// ```
    /// use stream_pfd::{ListenFds, OnDrop};
    /// let fds = ListenFds::builder().on_drop(OnDrop::Close).ignore_env().build()?;
    /// # Ok::<(), stream_pfd::EnvError>(())
    /// ```
    pub fn on_drop(mut self, on_drop: OnDrop) -> ListenFdsBuilder {
        self.on_drop = on_drop;
        self
    }

    /// Reads the `LISTEN_*` values from `vars` instead of the process environment (for
    /// supervisors that pass them another way, and for tests); variables not in `vars` are
    /// absent. [`unset_env`](ListenFdsBuilder::unset_env) then has no effect.
    ///
    /// ```
    /// let pid = std::process::id().to_string();
    /// let err = stream_pfd::ListenFds::builder()
    ///     .vars([("LISTEN_FDS", "x"), ("LISTEN_PID", pid.as_str())])
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.to_string(), "LISTEN_FDS=x is not a valid fd count (expected a decimal number)");
    /// ```
    pub fn vars<I, K, V>(mut self, vars: I) -> ListenFdsBuilder
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.vars = Some(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Ignores the process environment: as if no `LISTEN_*` variable were set (fds can
    /// still be taken by number if they were open when [`build`](ListenFdsBuilder::build)
    /// ran).
    ///
    /// ```
    /// let fds = stream_pfd::ListenFds::builder().ignore_env().build()?;
    /// assert!(!fds.is_activated());
    /// # Ok::<(), stream_pfd::EnvError>(())
    /// ```
    pub fn ignore_env(self) -> ListenFdsBuilder {
        self.vars(std::iter::empty::<(String, String)>())
    }

    /// Reads the variables, checks them and every passed fd (read-only), and records the
    /// identity of each passed fd (or, without `LISTEN_FDS`, of every fd open now).
    ///
    /// See [`ListenFds`] for the rules.
    ///
    /// ```
    /// let fds = stream_pfd::ListenFds::builder().ignore_env().build()?;
    /// assert!(fds.passed().is_empty());
    /// # Ok::<(), stream_pfd::EnvError>(())
    /// ```
    pub fn build(self) -> Result<ListenFds, EnvError> {
        let from_process = self.vars.is_none();
        if self.unset_env && from_process {
            match thread_count() {
                Some(1) => {}
                threads => return Err(EnvError::UnsetNeedsSingleThread { threads }),
            }
        }
        let vars = self.vars.as_deref();
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
        let result = read_protocol(&get, self.require_pid);
        if self.unset_env && from_process {
            sys::remove_env_single_threaded(&ENV_VARS);
        }
        Ok(ListenFds {
            mode: result?,
            on_drop: self.on_drop,
        })
    }
}

type Getter<'a> = dyn Fn(&'static str) -> Result<Option<String>, EnvError> + 'a;

/// Strict decimal: ASCII digits only, at least one, and no leading zero (systemd's
/// `sd_listen_fds` reads `010` as octal 8, so such a value is ambiguous, never guessed).
fn parse_decimal(value: &str) -> Option<u64> {
    if value.is_empty()
        || !value.bytes().all(|b| b.is_ascii_digit())
        || crate::error::has_leading_zero(value)
    {
        return None;
    }
    value.parse().ok()
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
            if let Some(index) = names.iter().position(|n| !systemd_fdname_is_valid(n)) {
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
    Ok(Mode::Activated { passed })
}

/// systemd's `fdname_is_valid`: printable ASCII (space included), no ':', at most 255 bytes.
/// Empty names are valid for systemd; they cannot be taken by name.
fn systemd_fdname_is_valid(name: &str) -> bool {
    name.len() <= MAX_NAME_LEN && name.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b':')
}

/// The number of threads of this process, from `/proc/self/task`.
fn thread_count() -> Option<usize> {
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

/// The identity of every fd >= 3 open now, from `/proc/self/fd`; `None` without `/proc`.
fn snapshot_open_fds() -> Option<BTreeMap<RawFd, SocketId>> {
    // Collect the numbers first and close the directory, so its own fd is not recorded.
    let numbers: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd >= FIRST_FD)
        .collect();
    Some(
        numbers
            .into_iter()
            .filter_map(|fd| Some((fd, identity(fd)?)))
            .collect(),
    )
}

/// The identity of `fd` (`fstat`), without claiming it.
fn id_of(fd: BorrowedFd<'_>) -> Option<SocketId> {
    fstat(fd).ok().map(|st| SocketId::from_stat(&st))
}

/// The identity of fd number `fd`; `None` if it is not open (or `fstat` fails).
fn identity(fd: RawFd) -> Option<SocketId> {
    sys::with_borrowed(fd, id_of).flatten()
}

/// The soft `RLIMIT_NOFILE` if `fd` is at or beyond it.
fn beyond_open_limit(fd: RawFd) -> Option<u64> {
    let (soft, _) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).ok()?;
    (u64::try_from(fd).ok()? >= soft).then_some(soft)
}

#[derive(Debug)]
enum Mode {
    /// `LISTEN_FDS` was set: these fds were passed.
    Activated { passed: Vec<PassedFd> },
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
}

/// A passed fd that nobody took, with what it is. See [`ListenFds::unclaimed`].
///
/// ```
/// let fds = stream_pfd::ListenFds::builder().ignore_env().build()?;
/// for unclaimed in fds.unclaimed() {
///     eprintln!("warning: unused socket-activation fd: {unclaimed}");
/// }
/// # Ok::<(), stream_pfd::EnvError>(())
/// ```
#[derive(Debug)]
pub struct Unclaimed {
    fd: RawFd,
    name: String,
    status: Result<SocketInfo, ValidateError>,
}

impl Unclaimed {
    /// The fd number.
    ///
    /// ```
    /// # let fds = stream_pfd::ListenFds::builder().ignore_env().build()?;
    /// assert!(fds.unclaimed().iter().all(|u| u.fd() >= 3));
    /// # Ok::<(), stream_pfd::EnvError>(())
    /// ```
    pub fn fd(&self) -> RawFd {
        self.fd
    }

    /// Its `LISTEN_FDNAMES` name.
    ///
    /// ```
    /// # let fds = stream_pfd::ListenFds::builder().ignore_env().build()?;
    /// assert!(fds.unclaimed().iter().all(|u| !u.name().contains(':')));
    /// # Ok::<(), stream_pfd::EnvError>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it is: a usable listener, or why it is not one.
    ///
    /// ```
    /// # let fds = stream_pfd::ListenFds::builder().ignore_env().build()?;
    /// let usable = fds.unclaimed().iter().filter(|u| u.status().is_ok()).count();
    /// # Ok::<(), stream_pfd::EnvError>(())
    /// ```
    pub fn status(&self) -> Result<&SocketInfo, &ValidateError> {
        self.status.as_ref()
    }
}

impl fmt::Display for Unclaimed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fd {} (name {}): ",
            self.fd,
            crate::error::Shown(&self.name)
        )?;
        match &self.status {
            Ok(info) => write!(f, "{info}"),
            Err(err) => write!(f, "{err}"),
        }
    }
}

/// Inherited sockets of this process: the systemd socket-activation environment, or fds
/// inherited by other means, each of which can be taken once.
///
/// # Rules
///
/// * **`LISTEN_FDS` set** (socket activation): `LISTEN_PID` must be this process (unless
///   [turned off](ListenFdsBuilder::require_pid_match) for development), `LISTEN_PIDFDID`,
///   when set, must be this process's pidfd inode id (checked when the kernel has pidfs),
///   `LISTEN_FDS` must be a decimal count whose fds (3 and up) are all open (numbers are
///   plain decimal: no sign, spaces or leading zeros, which `sd_listen_fds` would read as
///   octal), and
///   `LISTEN_FDNAMES`, when set, must hold exactly one valid name per fd (absent: every name
///   is `unknown`). [`take`](ListenFds::take) accepts `pfd:N` only for passed fds
///   (others: [`TakeError::NotPassed`], naming the passed range) and `pfd:NAME` for a name
///   that exactly one passed fd has.
/// * **`LISTEN_FDS` not set** (an fd inherited through a plain `exec`, as Open vSwitch
///   allows): the other three variables must not be set either. `pfd:N` works for an fd
///   that was open when `ListenFds` was built (recorded from `/proc/self/fd`), so sockets
///   the program opens later can never be claimed by mistake (without a readable `/proc`,
///   any open fd of 3 or more is accepted after validation); names fail with
///   [`TakeError::NotActivated`].
/// * `pfd:0`, `pfd:1`, `pfd:2` are always refused.
/// * Every socket can be taken once per process, whatever the number or name used to reach it
///   (identity is the socket's device and inode); the second take fails with
///   [`TakeError::AlreadyTaken`]. A failed take leaves the fd exactly as it was.
/// * On drop, passed fds that were not taken are closed ([`OnDrop::Close`], the default) or
///   left alone ([`OnDrop::Leave`]); log [`unclaimed`](ListenFds::unclaimed) first.
///
/// Build it once, early in `main`, before the program opens files or starts threads.
///
/// ```
/// use stream_pfd::{ListenFds, PfdSpec};
///
/// let mut fds = ListenFds::from_env()?;
/// for passed in fds.passed() {
///     println!("systemd passed fd {} named {}", passed.fd(), passed.name());
/// }
/// if fds.is_activated() {
///     let listener = fds.take(&PfdSpec::Number(3))?.into_std();
/// }
/// for unused in fds.unclaimed() {
///     eprintln!("unused: {unused}");
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ListenFds {
    mode: Mode,
    on_drop: OnDrop,
}

impl ListenFds {
    /// A builder with the defaults: pid check on, environment left as is, unclaimed fds
    /// closed on drop.
    ///
    /// ```
    /// let fds = stream_pfd::ListenFds::builder().build()?;
    /// # Ok::<(), stream_pfd::EnvError>(())
    /// ```
    pub fn builder() -> ListenFdsBuilder {
        ListenFdsBuilder {
            require_pid: true,
            unset_env: false,
            on_drop: OnDrop::Close,
            vars: None,
        }
    }

    /// Reads the process environment with the defaults (`ListenFds::builder().build()`).
    ///
    /// ```
    /// let fds = stream_pfd::ListenFds::from_env()?;
    /// # Ok::<(), stream_pfd::EnvError>(())
    /// ```
    pub fn from_env() -> Result<ListenFds, EnvError> {
        ListenFds::builder().build()
    }

    /// Whether `LISTEN_FDS` was set.
    ///
    /// ```
    /// let fds = stream_pfd::ListenFds::builder().ignore_env().build()?;
    /// assert!(!fds.is_activated());
    /// # Ok::<(), stream_pfd::EnvError>(())
    /// ```
    pub fn is_activated(&self) -> bool {
        matches!(self.mode, Mode::Activated { .. })
    }

    /// The fds systemd passed (empty when not activated), taken or not.
    ///
    /// ```
    /// let fds = stream_pfd::ListenFds::builder().ignore_env().build()?;
    /// assert_eq!(fds.passed().len(), 0);
    /// # Ok::<(), stream_pfd::EnvError>(())
    /// ```
    pub fn passed(&self) -> &[PassedFd] {
        match &self.mode {
            Mode::Activated { passed } => passed,
            Mode::Inherited { .. } => &[],
        }
    }

    /// Resolves `spec`, validates the fd, and takes ownership of it as a non-blocking,
    /// close-on-exec [`Listener`]. See [`ListenFds`] for the rules.
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
            if let Some(taken_as) = registry.get(&id) {
                return Err(TakeError::AlreadyTaken {
                    spec: spec.clone(),
                    fd,
                    taken_as: taken_as.clone(),
                });
            }
            let info = validate_stat(borrowed, &st).map_err(invalid)?;
            make_nonblocking_cloexec(borrowed).map_err(|source| TakeError::Setup {
                spec: spec.clone(),
                fd,
                source,
            })?;
            let owned = sys::claim(borrowed);
            registry.insert(id, spec.to_string());
            Ok(Listener::new(owned, info, Some(spec.clone()), name))
        })
        .unwrap_or_else(|| Err(not_open()))
    }

    /// The fd number, name and recorded identity `spec` refers to.
    fn resolve(
        &self,
        spec: &PfdSpec,
    ) -> Result<(RawFd, Option<String>, Option<SocketId>), TakeError> {
        match (spec, &self.mode) {
            (PfdSpec::Number(fd), _) if *fd < FIRST_FD => Err(TakeError::StdioFd {
                spec: spec.clone(),
                fd: *fd,
            }),
            (PfdSpec::Number(fd), Mode::Activated { passed }) => {
                let index = (*fd - FIRST_FD) as usize;
                match passed.get(index) {
                    Some(p) => Ok((p.fd, Some(p.name.clone()), Some(p.id))),
                    None => Err(TakeError::NotPassed {
                        spec: spec.clone(),
                        fd: *fd,
                        count: passed.len(),
                    }),
                }
            }
            (PfdSpec::Number(fd), Mode::Inherited { snapshot: None }) => Ok((*fd, None, None)),
            (
                PfdSpec::Number(fd),
                Mode::Inherited {
                    snapshot: Some(snapshot),
                },
            ) => {
                match snapshot.get(fd) {
                    Some(id) => Ok((*fd, None, Some(*id))),
                    // Not open at all: let `take` report EBADF (with the rlimit hint).
                    None if !sys::is_open(*fd) => Ok((*fd, None, None)),
                    None => Err(TakeError::NotInherited {
                        spec: spec.clone(),
                        fd: *fd,
                    }),
                }
            }
            (PfdSpec::Name(_), Mode::Inherited { .. }) => {
                Err(TakeError::NotActivated { spec: spec.clone() })
            }
            (PfdSpec::Name(name), Mode::Activated { passed }) => {
                let matching: Vec<&PassedFd> = passed.iter().filter(|p| p.name == *name).collect();
                match matching.as_slice() {
                    [p] => Ok((p.fd, Some(p.name.clone()), Some(p.id))),
                    [] => Err(TakeError::NoSuchName {
                        spec: spec.clone(),
                        available: passed.iter().map(|p| (p.fd, p.name.clone())).collect(),
                    }),
                    many => Err(TakeError::AmbiguousName {
                        spec: spec.clone(),
                        fds: many.iter().map(|p| p.fd).collect(),
                    }),
                }
            }
        }
    }

    /// Passed fds that no [`take`](ListenFds::take) in this process has claimed, with what
    /// each one is (read-only checks). Empty when not activated.
    ///
    /// ```
    /// let fds = stream_pfd::ListenFds::builder().ignore_env().build()?;
    /// assert!(fds.unclaimed().is_empty());
    /// # Ok::<(), stream_pfd::EnvError>(())
    /// ```
    pub fn unclaimed(&self) -> Vec<Unclaimed> {
        let registry = taken();
        self.passed()
            .iter()
            .filter(|p| !registry.contains_key(&p.id))
            .map(|p| Unclaimed {
                fd: p.fd,
                name: p.name.clone(),
                status: sys::with_borrowed(p.fd, validate).unwrap_or(Err(ValidateError::NotOpen {
                    fd: p.fd,
                    open_limit: None,
                })),
            })
            .collect()
    }
}

impl Drop for ListenFds {
    /// Closes unclaimed passed fds under [`OnDrop::Close`]; see [`OnDrop`].
    fn drop(&mut self) {
        if self.on_drop == OnDrop::Leave {
            return;
        }
        let Mode::Activated { passed } = &self.mode else {
            return;
        };
        let mut registry = taken();
        for p in passed {
            if registry.contains_key(&p.id) {
                continue;
            }
            let owned =
                sys::with_borrowed(p.fd, |b| (id_of(b) == Some(p.id)).then(|| sys::claim(b)));
            if let Some(Some(owned)) = owned {
                registry.insert(
                    p.id,
                    "an unclaimed fd (closed when ListenFds was dropped)".into(),
                );
                drop(owned);
            }
        }
    }
}
