//! [`NotifyError`] and [`NotifyErrorKind`]: what went wrong, in words that name the input.

use std::fmt;
use std::io;

use nix::errno::Errno;

use super::message::{CustomProblem, ERRNO_MAX, fd_name_problem};
use super::{MAX_FDS, MAX_MESSAGE_LEN, MAX_UNIX_ADDR_LEN, NOTIFY_SOCKET};
use crate::spec::MAX_NAME_LEN;
use crate::text::Shown;

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
    /// The address is longer than [`MAX_UNIX_ADDR_LEN`] bytes.
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
    /// More than [`MAX_FDS`] fds.
    TooManyFds {
        /// How many.
        fds: usize,
    },
    /// A message longer than [`MAX_MESSAGE_LEN`] bytes.
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

/// The address as the error names it: `NOTIFY_SOCKET="..."`, or `"..."` as given to
/// [`Notifier::new`].
struct Who<'a>(&'a Option<(String, bool)>);

impl fmt::Display for Who<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some((addr, true)) => write!(f, "{NOTIFY_SOCKET}=\"{}\"", Shown(addr)),
            Some((addr, false)) => write!(f, "\"{}\"", Shown(addr)),
            None => f.write_str("the notification socket"),
        }
    }
}

const ADDRESS_FORMS: &str = "expected an absolute path (/run/systemd/notify), @ and an abstract \
                             name, or vsock:CID:PORT";

impl fmt::Display for NotifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = Who(&self.address);
        match &self.kind {
            NotifyErrorKind::NotUnicode { var } => write!(
                f,
                "{var} is not valid UTF-8; the service manager writes it in ASCII, so it was set \
                 by something else"
            ),
            NotifyErrorKind::NotAnAddress => {
                write!(
                    f,
                    "{who} is not a notification socket address: {ADDRESS_FORMS}"
                )
            }
            NotifyErrorKind::AddressTooShort => {
                let what = match self.address() {
                    Some("@") => "an abstract name must follow \"@\"",
                    _ => "a path must follow \"/\"",
                };
                write!(f, "{who} names no socket: {what}")
            }
            NotifyErrorKind::AddressTooLong { len } => write!(
                f,
                "{who} is {len} bytes long: a Unix socket address holds at most \
                 {MAX_UNIX_ADDR_LEN} bytes (sun_path, with its terminating NUL); use a shorter \
                 path"
            ),
            NotifyErrorKind::AddressNul { pos } => write!(
                f,
                "{who} contains a NUL byte at byte {pos}: an address is text without NUL bytes"
            ),
            NotifyErrorKind::MissingVsockPort => {
                write!(
                    f,
                    "{who} has no port: expected vsock:CID:PORT (e.g. vsock:2:9999)"
                )
            }
            NotifyErrorKind::BadVsockCid { cid } => write!(
                f,
                "{who} has a bad vsock CID \"{}\": expected a specific CID: a decimal number \
                 from 0 to 4294967294, or hypervisor, local or host",
                Shown(cid)
            ),
            NotifyErrorKind::BadVsockPort { port } => write!(
                f,
                "{who} has a bad vsock port \"{}\": expected a decimal number from 0 to \
                 4294967294",
                Shown(port)
            ),
            NotifyErrorKind::NoStates => f.write_str(
                "no state to send: a notification carries at least one (e.g. State::Ready)",
            ),
            NotifyErrorKind::BadStatus { value, pos, ch } => {
                let (what, why) = if *ch == '\0' {
                    (
                        "a NUL byte",
                        "systemd drops notifications with NUL bytes; remove it",
                    )
                } else {
                    (
                        "a newline",
                        "each line of a notification is one assignment, so a status is one \
                         line; replace the newline (e.g. with a space)",
                    )
                };
                write!(
                    f,
                    "STATUS=\"{}\" contains {what} at byte {pos}: {why}",
                    Shown(value)
                )
            }
            NotifyErrorKind::BadFdName { name } => write!(
                f,
                "FDNAME=\"{}\" is not a valid fd name ({}): a name is 1 to {MAX_NAME_LEN} \
                 characters of printable ASCII (space included) without ':'",
                Shown(name),
                fd_name_problem(name).unwrap_or_default()
            ),
            NotifyErrorKind::BadCustom { field, problem } => {
                write!(f, "custom field \"{}\" ", Shown(field))?;
                let name = field.split_once('=').map_or(field.as_str(), |(n, _)| n);
                match problem {
                    CustomProblem::NoEquals => {
                        f.write_str("has no '=': a field is NAME=value (e.g. X_MYAPP_PHASE=warm)")
                    }
                    CustomProblem::EmptyName => f.write_str(
                        "has no name before '=': a field is NAME=value (e.g. X_MYAPP_PHASE=warm)",
                    ),
                    CustomProblem::NameChar { pos, ch } => write!(
                        f,
                        "has '{}' at byte {pos} of its name: a name is A-Z, 0-9 and _, not \
                         starting with a digit (e.g. X_MYAPP_PHASE)",
                        ch.escape_default()
                    ),
                    CustomProblem::Reserved => match name {
                        "BARRIER" | "MAINPIDFDID" => write!(
                            f,
                            "uses the name {name}, which goes with an fd in the same message \
                             (a pipe for BARRIER, a pidfd for MAINPIDFDID) and is not sent \
                             through State::Custom{}",
                            if name == "MAINPIDFDID" {
                                "; use State::MainPid"
                            } else {
                                ""
                            }
                        ),
                        _ => write!(
                            f,
                            "uses the name {name}, which {} sends with its checks; use it \
                             instead",
                            reserved_variant(name)
                        ),
                    },
                    CustomProblem::ValueChar { pos, ch } => write!(
                        f,
                        "contains {} at byte {pos}: {}",
                        if *ch == '\0' {
                            "a NUL byte"
                        } else {
                            "a newline"
                        },
                        if *ch == '\0' {
                            "systemd drops notifications with NUL bytes; remove it"
                        } else {
                            "each line of a notification is one field; send one State::Custom \
                             per field"
                        }
                    ),
                }
            }
            NotifyErrorKind::ErrnoOutOfRange { errno } => write!(
                f,
                "ERRNO={errno} is out of range: systemd accepts an errno value from 0 to \
                 {ERRNO_MAX} (e.g. libc::EIO)"
            ),
            NotifyErrorKind::BadMainPid { pid } => write!(
                f,
                "MAINPID={pid} is not a process id: expected a number from 1 to {}",
                i32::MAX
            ),
            NotifyErrorKind::SeveralFdStoreStates => f.write_str(
                "more than one FdStore or FdStoreRemove state in one message: systemd reads only \
                 the first FDNAME=; send one message per name",
            ),
            NotifyErrorKind::FdStoreWithoutFds => f.write_str(
                "FDSTORE=1 without fds: pass the fds to store along with it (send_with_fds or \
                 notify_with_fds)",
            ),
            NotifyErrorKind::FdStoreRemoveWithFds { fds } => write!(
                f,
                "FDSTOREREMOVE=1 takes no fds, but {fds} {} given: it removes the stored fds of \
                 its name; send new fds in their own message with FdStore",
                if *fds == 1 { "was" } else { "were" }
            ),
            NotifyErrorKind::FdsWithoutFdStore { fds } => write!(
                f,
                "{fds} fd{} given without an FdStore state: systemd closes fds that come without \
                 FDSTORE=1; add State::FdStore {{ name, poll }}",
                if *fds == 1 { "" } else { "s" }
            ),
            NotifyErrorKind::TooManyFds { fds } => write!(
                f,
                "{fds} fds in one message: the kernel passes at most {MAX_FDS} at once; send \
                 them in several messages"
            ),
            NotifyErrorKind::MessageTooLong { len } => write!(
                f,
                "the message is {len} bytes long: systemd reads at most {MAX_MESSAGE_LEN} bytes \
                 of a notification and drops longer ones; shorten it (STATUS=)"
            ),
            NotifyErrorKind::BadWatchdogUsec { value } => write!(
                f,
                "WATCHDOG_USEC=\"{}\" is not a valid watchdog timeout: expected a decimal number \
                 of microseconds from 1 to {}, without sign, spaces or leading zeros",
                Shown(value),
                u64::MAX - 1
            ),
            NotifyErrorKind::BadWatchdogPid { value } => write!(
                f,
                "WATCHDOG_PID=\"{}\" is not a valid process id: expected a decimal number from 1 \
                 to {}, without sign, spaces or leading zeros",
                Shown(value),
                i32::MAX
            ),
            NotifyErrorKind::Busy { waited } => write!(
                f,
                "sending to {who} gave up after {} ms: the service manager's queue stayed full \
                 (it is busy or not reading its notification socket); nothing was sent",
                waited.as_millis()
            ),
            NotifyErrorKind::Io { op, sock_type } => {
                write!(f, "sending to {who} failed: {op}")?;
                if !sock_type.is_empty() {
                    write!(f, " ({sock_type})")?;
                }
                if let Some(io) = &self.io {
                    write!(f, ": {io}")?;
                    if matches!(
                        io.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
                    ) {
                        f.write_str(" (is the service manager listening there?)")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// The [`State`](super::State) variant that sends the reserved field `name`.
fn reserved_variant(name: &str) -> &'static str {
    match name {
        "READY" => "State::Ready",
        "RELOADING" | "MONOTONIC_USEC" => "State::Reloading",
        "STOPPING" => "State::Stopping",
        "STATUS" => "State::Status",
        "ERRNO" => "State::Errno",
        "EXTEND_TIMEOUT_USEC" => "State::ExtendTimeout",
        "MAINPID" => "State::MainPid",
        "WATCHDOG" => "State::Watchdog (or State::WatchdogTrigger)",
        "WATCHDOG_USEC" => "State::WatchdogUsec",
        "FDSTOREREMOVE" => "State::FdStoreRemove",
        _ => "State::FdStore",
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
