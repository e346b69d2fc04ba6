//! [`NotifyError`] and [`NotifyErrorKind`]: what went wrong, in words that name the input.

use std::io;

use nix::errno::Errno;

use super::message::CustomProblem;

mod display;

/// What is wrong, in a [`NotifyError`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotifyErrorKind {
    /// A variable (`NOTIFY_SOCKET`, `WATCHDOG_USEC`, `WATCHDOG_PID`) is not valid UTF-8.
    NotUnicode {
        /// The variable.
        var: &'static str,
    },
    /// The address is neither an absolute path, `@` and a name, nor `vsock:CID:PORT`.
    NotAnAddress,
    /// The address is `/` or `@` alone.
    AddressTooShort,
    /// The address is longer than [`MAX_UNIX_ADDR_LEN`](super::MAX_UNIX_ADDR_LEN) bytes.
    AddressTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The address contains a NUL byte.
    AddressNul {
        /// Its byte offset.
        pos: usize,
    },
    /// A `vsock` address without `:` between CID and port.
    MissingVsockPort,
    /// A `vsock` CID that is not a 32-bit number (nor `hypervisor`, `local`, `host`), or is
    /// empty or `VMADDR_CID_ANY`: systemd needs a specific CID.
    BadVsockCid {
        /// The CID as given.
        cid: String,
    },
    /// A `vsock` port that is not a 32-bit number, or is `VMADDR_PORT_ANY`.
    BadVsockPort {
        /// The port as given.
        port: String,
    },
    /// No state to send.
    NoStates,
    /// `STATUS=` with a newline or a NUL byte.
    BadStatus {
        /// The status.
        value: String,
        /// The byte offset of the character.
        pos: usize,
        /// The character (`'\n'` or `'\0'`).
        ch: char,
    },
    /// An `FDNAME=` systemd would not accept (or the empty name).
    BadFdName {
        /// The name.
        name: String,
    },
    /// A [`State::Custom`](super::State::Custom) field that would break the protocol or
    /// bypass a check.
    BadCustom {
        /// The field as given.
        field: String,
        /// What is wrong.
        problem: CustomProblem,
    },
    /// `ERRNO=` outside 0 to 4095.
    ErrnoOutOfRange {
        /// The value.
        errno: i32,
    },
    /// `MAINPID=` outside 1 to 2147483647.
    BadMainPid {
        /// The value.
        pid: u32,
    },
    /// More than one [`State::FdStore`](super::State::FdStore) or [`State::FdStoreRemove`](super::State::FdStoreRemove) in one message.
    SeveralFdStoreStates,
    /// [`State::FdStore`](super::State::FdStore) without fds.
    FdStoreWithoutFds,
    /// [`State::FdStoreRemove`](super::State::FdStoreRemove) with fds.
    FdStoreRemoveWithFds {
        /// How many.
        fds: usize,
    },
    /// fds without [`State::FdStore`](super::State::FdStore).
    FdsWithoutFdStore {
        /// How many.
        fds: usize,
    },
    /// More than [`MAX_FDS`](super::MAX_FDS) fds.
    TooManyFds {
        /// How many.
        fds: usize,
    },
    /// A message longer than [`MAX_MESSAGE_LEN`](super::MAX_MESSAGE_LEN) bytes.
    MessageTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// `WATCHDOG_USEC` is not a decimal number from 1 to `u64::MAX - 1`.
    BadWatchdogUsec {
        /// Its value.
        value: String,
    },
    /// `WATCHDOG_PID` is not a decimal number from 1 to 2147483647.
    BadWatchdogPid {
        /// Its value.
        value: String,
    },
    /// The service manager's queue stayed full for the whole send timeout (it is busy or not
    /// reading): nothing was sent.
    Busy {
        /// How long the send waited.
        waited: std::time::Duration,
    },
    /// A system call failed while sending ([`NotifyError::io_error`] says how).
    Io {
        /// The call (`socket`, `bind`, `connect`, `sendmsg`, `shutdown`, `recv`).
        op: &'static str,
        /// The socket type (`SOCK_DGRAM`, `SOCK_SEQPACKET`, `SOCK_STREAM`), or empty.
        sock_type: &'static str,
    },
}

/// A notification that could not be sent: names the input, says what is wrong and what would
/// be right.
///
/// Converts into [`std::io::Error`]: kind [`InvalidInput`](io::ErrorKind::InvalidInput) for a
/// bad address, state, fd set or variable, the OS error's kind when a system call failed.
///
/// ```
/// use stream_pfd::notify::{Notifier, NotifyErrorKind, State};
///
/// let notifier = Notifier::new("/run/systemd/notify")?;
/// let err = notifier.send(&[State::Errno(-1)]).unwrap_err();
/// assert_eq!(err.kind(), &NotifyErrorKind::ErrnoOutOfRange { errno: -1 });
/// assert_eq!(
///     err.to_string(),
///     "ERRNO=-1 is out of range: systemd accepts an errno value from 0 to 4095 (e.g. \
///      libc::EIO)"
/// );
/// assert_eq!(std::io::Error::from(err).kind(), std::io::ErrorKind::InvalidInput);
/// # Ok::<(), stream_pfd::notify::NotifyError>(())
/// ```
#[derive(Debug)]
pub struct NotifyError {
    kind: NotifyErrorKind,
    address: Option<(String, bool)>,
    io: Option<io::Error>,
}

impl NotifyError {
    /// What is wrong.
    pub fn kind(&self) -> &NotifyErrorKind {
        &self.kind
    }

    /// The address the error is about: the one that did not parse, or the one sending to
    /// failed. `None` for errors about the states, fds or watchdog variables.
    pub fn address(&self) -> Option<&str> {
        self.address.as_ref().map(|(addr, _)| addr.as_str())
    }

    /// The OS error, for [`NotifyErrorKind::Io`].
    pub fn io_error(&self) -> Option<&io::Error> {
        self.io.as_ref()
    }

    pub(super) fn with_address(mut self, addr: &str, from_env: bool) -> NotifyError {
        self.address = Some((addr.to_owned(), from_env));
        self
    }

    pub(super) fn with_io(mut self, errno: Errno) -> NotifyError {
        self.io = Some(io::Error::from(errno));
        self
    }
}

impl From<NotifyErrorKind> for NotifyError {
    fn from(kind: NotifyErrorKind) -> NotifyError {
        NotifyError {
            kind,
            address: None,
            io: None,
        }
    }
}

impl std::error::Error for NotifyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.io.as_ref().map(|io| io as _)
    }
}

impl From<NotifyError> for io::Error {
    fn from(err: NotifyError) -> io::Error {
        let kind = match (&err.kind, &err.io) {
            (NotifyErrorKind::Busy { .. }, _) => io::ErrorKind::TimedOut,
            (_, Some(io)) => io.kind(),
            (_, None) => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, err)
    }
}
