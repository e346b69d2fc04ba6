//! Inherited sockets of this process: [`ListenFds`], built once from the environment
//! ([`ListenFdsBuilder`]), and what happens to the passed fds nobody took.

use std::fmt;
use std::os::fd::RawFd;

use crate::env::{ENV_VARS, EnvError, Mode, PassedFd, read_vars, thread_count};
use crate::info::SocketInfo;
use crate::registry::{Taken, id_of, taken};
use crate::sys;
use crate::text::Shown;
use crate::validate::{ValidateError, validate};

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
    /// listening socket that nobody serves and leak it into child processes. This closes
    /// every passed fd nobody took, whether or not it passed validation (a datagram socket
    /// passed by mistake is closed too), and a second fd number of a socket taken through
    /// the first. Only fds that are still the socket that was passed (same device and inode)
    /// are closed.
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
    /// assert_eq!(err.to_string(), "LISTEN_FDS=\"x\" is not a valid fd count (expected a decimal number)");
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
        let result = read_vars(self.vars.as_deref(), self.require_pid);
        if self.unset_env && from_process {
            sys::remove_env_single_threaded(&ENV_VARS);
        }
        Ok(ListenFds {
            mode: result?,
            on_drop: self.on_drop,
        })
    }
}

/// A passed fd that nobody took, with what it is. See [`ListenFds::unclaimed`].
///
/// ```
/// let fds = stream_pfd::ListenFds::builder().ignore_env().build()?;
/// for unclaimed in fds.unclaimed() {
///     eprintln!("warning: unused socket-activation fd: {unclaimed}");
/// }
/// // Not socket-activated (the environment is ignored): nothing to claim.
/// assert!(fds.unclaimed().is_empty());
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
    /// assert_eq!(usable, 0); // nothing was passed to a doc test
    /// # Ok::<(), stream_pfd::EnvError>(())
    /// ```
    pub fn status(&self) -> Result<&SocketInfo, &ValidateError> {
        self.status.as_ref()
    }
}

impl fmt::Display for Unclaimed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fd {} (name {}): ", self.fd, Shown(&self.name))?;
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
/// * `pfd:0`, `pfd:1`, `pfd:2` are always refused: they are not valid
///   [`PfdSpec`](crate::PfdSpec)s, so they never reach [`take`](ListenFds::take).
/// * Every socket can be taken once per process, whatever the number or name used to reach it
///   (identity is the socket's device and inode); the second take fails with
///   [`TakeError::AlreadyTaken`]. A failed take leaves the fd exactly as it was.
/// * On drop, passed fds that were not taken are closed ([`OnDrop::Close`], the default) or
///   left alone ([`OnDrop::Leave`]); log [`unclaimed`](ListenFds::unclaimed) first (with the
///   `log` feature, each one closed is logged as a warning).
///
/// [`TakeError::NotPassed`]: crate::TakeError::NotPassed
/// [`TakeError::NotActivated`]: crate::TakeError::NotActivated
/// [`TakeError::AlreadyTaken`]: crate::TakeError::AlreadyTaken
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
///     let listener = fds.take(&PfdSpec::from_number(3)?)?.into_std();
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
            Mode::Activated { passed, .. } => passed,
            Mode::Inherited { .. } => &[],
        }
    }

    /// What the environment said (for [`take`](ListenFds::take)).
    pub(crate) fn mode(&self) -> &Mode {
        &self.mode
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
            // A duplicate of a taken socket at another number is still unclaimed.
            .filter(|p| registry.get(&p.id()).is_none_or(|t| t.fd != p.fd()))
            .map(|p| Unclaimed {
                fd: p.fd(),
                name: p.name().to_owned(),
                status: sys::with_borrowed(p.fd(), validate).unwrap_or(Err(
                    ValidateError::NotOpen {
                        fd: p.fd(),
                        open_limit: None,
                    },
                )),
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
        let Mode::Activated { passed, .. } = &self.mode else {
            return;
        };
        #[cfg(feature = "log")]
        if log::log_enabled!(log::Level::Warn) {
            for unclaimed in self.unclaimed() {
                log::warn!("closing a passed fd that nothing took: {unclaimed}");
            }
        }
        let mut registry = taken();
        for p in passed {
            // Skip the fd number through which the socket was taken; a duplicate of it at
            // another number is closed like any other unclaimed fd.
            if registry.get(&p.id()).is_some_and(|t| t.fd == p.fd()) {
                continue;
            }
            let owned = sys::with_borrowed(p.fd(), |b| {
                (id_of(b) == Some(p.id())).then(|| sys::claim(b))
            });
            if let Some(Some(owned)) = owned {
                registry.entry(p.id()).or_insert(Taken {
                    fd: p.fd(),
                    taken_as: "an unclaimed fd (closed when ListenFds was dropped)".into(),
                });
                drop(owned);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only unsetting the process environment needs a single thread: building from the
    /// process environment without unsetting it works with other threads running.
    #[test]
    fn other_threads_only_matter_when_unsetting() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || rx.recv());
        let fds = ListenFds::builder()
            .on_drop(OnDrop::Leave)
            .build()
            .expect("no unsetting, so other threads are fine");
        drop(fds);
        let err = ListenFds::builder()
            .on_drop(OnDrop::Leave)
            .unset_env(true)
            .build()
            .unwrap_err();
        assert!(
            matches!(err, EnvError::UnsetNeedsSingleThread { threads: Some(n) } if n >= 2),
            "{err:?}"
        );
        // Given variables are not the process environment: nothing to unset.
        ListenFds::builder()
            .ignore_env()
            .unset_env(true)
            .build()
            .expect("ignore_env never touches the environment");
        tx.send(()).unwrap();
        other.join().unwrap().unwrap();
    }
}
