//! The messages of [`NotifyError`]: what failed, the input, what would be right.

use std::fmt;
use std::io;

use crate::notify::message::{CustomProblem, ERRNO_MAX, fd_name_problem};
use crate::notify::{MAX_FDS, MAX_MESSAGE_LEN, MAX_UNIX_ADDR_LEN, NOTIFY_SOCKET};
use crate::spec::MAX_NAME_LEN;
use crate::text::Shown;

use super::{NotifyError, NotifyErrorKind};

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
