//! One notification message: the [`State`]s it assigns, each checked, joined into the text
//! systemd reads.

use std::fmt;
use std::time::Duration;

use super::error::{NotifyError, NotifyErrorKind};
use super::{MAX_FDS, MAX_MESSAGE_LEN};
use crate::spec::{NameRules, ParseErrorKind, check_fd_name};

/// The largest `ERRNO=` value systemd accepts (`ERRNO_MAX`).
pub(super) const ERRNO_MAX: i32 = 4095;

/// One assignment (or a fixed group of them) of a notification message.
///
/// Durations are sent in whole microseconds (rounded down); one too long for 64 bits is sent as
/// `u64::MAX`, which systemd reads as infinity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum State<'a> {
    /// `READY=1`: start-up is finished (`Type=notify`), or a reload is (`Type=notify-reload`).
    Ready,
    /// `RELOADING=1` with `MONOTONIC_USEC=` (now, on `CLOCK_MONOTONIC`), as `Type=notify-reload`
    /// requires; send [`State::Ready`] when the reload is done.
    Reloading,
    /// `STOPPING=1`: shutdown has begun.
    Stopping,
    /// `STATUS=...`: one line of free text for `systemctl status` (no newline, no NUL byte).
    Status(&'a str),
    /// `ERRNO=n`: the daemon failed with this errno (0 to 4095).
    Errno(i32),
    /// `EXTEND_TIMEOUT_USEC=n`: the current start-up, reload or stop needs this much longer.
    ExtendTimeout(Duration),
    /// `MAINPID=n`: the daemon's main process is this one (1 to 2147483647).
    MainPid(u32),
    /// `WATCHDOG=1`: the daemon is alive (see [`watchdog`](super::watchdog) and `spawn_watchdog`).
    Watchdog,
    /// `WATCHDOG=trigger`: the daemon knows it is stuck; systemd acts as on a missed ping.
    WatchdogTrigger,
    /// `WATCHDOG_USEC=n`: a new watchdog timeout, from now on.
    WatchdogUsec(Duration),
    /// `FDSTORE=1` and `FDNAME=name` (and `FDPOLL=0` when `poll` is false: systemd then does not
    /// watch the fds for errors or hang-ups): keep the fds sent with this message
    /// ([`Notifier::send_with_fds`](super::Notifier::send_with_fds), [`notify_with_fds`](super::notify_with_fds)) under `name`. systemd passes them back
    /// on the next start in `LISTEN_FDS` / `LISTEN_FDNAMES` (`FileDescriptorStoreMax=`), where
    /// `pfd:name` finds them.
    ///
    /// `name` is 1 to 255 characters of printable ASCII (space included) without `:`: systemd's
    /// rule, except that the empty name (which no `pfd:` remote can name) is refused too.
    FdStore {
        /// The name (`FDNAME=`).
        name: &'a str,
        /// Whether systemd watches the fds (`false` sends `FDPOLL=0`).
        poll: bool,
    },
    /// `FDSTOREREMOVE=1` and `FDNAME=name`: close and forget the stored fds of that name. Takes
    /// no fds.
    FdStoreRemove {
        /// The name (`FDNAME=`).
        name: &'a str,
    },
    /// A field of your own, `NAME=value`, sent as is: a field systemd reads that has no
    /// variant here (`BUSERROR=`, `EXIT_STATUS=`, `NOTIFYACCESS=`, `VARLINKERROR=`) or one for
    /// another reader of the socket (`X_MYAPP_PHASE=warm`). Like sd-notify's `Custom`.
    ///
    /// Checked like every other state, and refused before anything is sent when it would break
    /// the protocol or bypass a check: the name must be 1 or more of `A`-`Z`, `0`-`9` and `_`
    /// (not starting with a digit) followed by `=`; the value must not contain a newline (each
    /// line is one field) or a NUL byte (systemd drops the whole message); and the name must
    /// not be one that a variant above sends ([`RESERVED_FIELDS`](super::RESERVED_FIELDS):
    /// `READY`, `STATUS`, `FDSTORE`, ... are checked there, and `FDNAME`, `FDPOLL`,
    /// `MONOTONIC_USEC` only mean something beside them) or that needs an fd this message
    /// cannot pair (`BARRIER`, `MAINPIDFDID`).
    ///
    /// ```
    /// use stream_pfd::notify::{Notifier, NotifyErrorKind, State};
    ///
    /// let notifier = Notifier::new("/run/systemd/notify")?;
    /// // Refused before anything is sent:
    /// for bad in ["READY=1", "no_equals", "lower=case", "X=a\nREADY=1"] {
    ///     let err = notifier.send(&[State::Custom(bad)]).unwrap_err();
    ///     assert!(matches!(err.kind(), NotifyErrorKind::BadCustom { .. }), "{err}");
    /// }
    /// # Ok::<(), stream_pfd::notify::NotifyError>(())
    /// ```
    Custom(&'a str),
}

impl State<'_> {
    /// Appends this state's lines to `out`, after checking its value.
    fn write_to(&self, out: &mut String) -> Result<(), NotifyError> {
        use fmt::Write as _;
        // Writing into a String cannot fail.
        let _ = match *self {
            State::Ready => write!(out, "READY=1"),
            State::Reloading => write!(out, "RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()?),
            State::Stopping => write!(out, "STOPPING=1"),
            State::Status(text) => {
                if let Some((pos, ch)) = text.char_indices().find(|(_, c)| matches!(c, '\n' | '\0'))
                {
                    return Err(NotifyErrorKind::BadStatus {
                        value: text.to_owned(),
                        pos,
                        ch,
                    }
                    .into());
                }
                write!(out, "STATUS={text}")
            }
            State::Errno(errno) => {
                if !(0..=ERRNO_MAX).contains(&errno) {
                    return Err(NotifyErrorKind::ErrnoOutOfRange { errno }.into());
                }
                write!(out, "ERRNO={errno}")
            }
            State::ExtendTimeout(d) => write!(out, "EXTEND_TIMEOUT_USEC={}", usec(d)),
            State::MainPid(pid) => {
                if pid == 0 || i32::try_from(pid).is_err() {
                    return Err(NotifyErrorKind::BadMainPid { pid }.into());
                }
                write!(out, "MAINPID={pid}")
            }
            State::Watchdog => write!(out, "WATCHDOG=1"),
            State::WatchdogTrigger => write!(out, "WATCHDOG=trigger"),
            State::WatchdogUsec(d) => write!(out, "WATCHDOG_USEC={}", usec(d)),
            State::FdStore { name, poll } => {
                check_name(name)?;
                let nopoll = if poll { "" } else { "\nFDPOLL=0" };
                write!(out, "FDSTORE=1\nFDNAME={name}{nopoll}")
            }
            State::FdStoreRemove { name } => {
                check_name(name)?;
                write!(out, "FDSTOREREMOVE=1\nFDNAME={name}")
            }
            State::Custom(field) => {
                if let Some(problem) = custom_problem(field) {
                    return Err(NotifyErrorKind::BadCustom {
                        field: field.to_owned(),
                        problem,
                    }
                    .into());
                }
                out.push_str(field);
                Ok(())
            }
        };
        Ok(())
    }
}

/// A duration in whole microseconds, `u64::MAX` (systemd's infinity) when it does not fit.
pub(super) fn usec(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// `CLOCK_MONOTONIC` now, in microseconds.
fn monotonic_usec() -> Result<u64, NotifyError> {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).map_err(|errno| {
        NotifyError::from(NotifyErrorKind::Io {
            op: "clock_gettime(CLOCK_MONOTONIC)",
            sock_type: "",
        })
        .with_io(errno)
    })?;
    Ok(Duration::new(now.tv_sec() as u64, now.tv_nsec() as u32).as_micros() as u64)
}

/// The fields a [`State`] variant sends or needs beside it, and those that pair with an fd:
/// [`State::Custom`] refuses them.
pub const RESERVED_FIELDS: [&str; 16] = [
    "READY",
    "RELOADING",
    "MONOTONIC_USEC",
    "STOPPING",
    "STATUS",
    "ERRNO",
    "EXTEND_TIMEOUT_USEC",
    "MAINPID",
    "WATCHDOG",
    "WATCHDOG_USEC",
    "FDSTORE",
    "FDSTOREREMOVE",
    "FDNAME",
    "FDPOLL",
    "BARRIER",
    "MAINPIDFDID",
];

/// What is wrong with a [`State::Custom`] field, if anything.
fn custom_problem(field: &str) -> Option<CustomProblem> {
    let Some((name, value)) = field.split_once('=') else {
        return Some(CustomProblem::NoEquals);
    };
    if name.is_empty() {
        return Some(CustomProblem::EmptyName);
    }
    if let Some((pos, ch)) = name
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_uppercase() || c == '_' || (i > 0 && c.is_ascii_digit())))
    {
        return Some(CustomProblem::NameChar { pos, ch });
    }
    if RESERVED_FIELDS.contains(&name) {
        return Some(CustomProblem::Reserved);
    }
    if let Some((i, ch)) = value.char_indices().find(|(_, c)| matches!(c, '\n' | '\0')) {
        return Some(CustomProblem::ValueChar {
            pos: name.len() + 1 + i,
            ch,
        });
    }
    None
}

/// Why a [`State::Custom`] field was refused (in
/// [`NotifyErrorKind::BadCustom`](super::NotifyErrorKind::BadCustom)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CustomProblem {
    /// No `=`: a field is `NAME=value`.
    NoEquals,
    /// Nothing before the `=`.
    EmptyName,
    /// A character of the name that is not `A`-`Z`, `_` or (after the first) `0`-`9`.
    NameChar {
        /// Its byte offset in the field.
        pos: usize,
        /// The character.
        ch: char,
    },
    /// A name that a [`State`] variant sends or that pairs with an fd
    /// ([`RESERVED_FIELDS`]).
    Reserved,
    /// A newline or NUL byte in the value.
    ValueChar {
        /// Its byte offset in the field.
        pos: usize,
        /// The character.
        ch: char,
    },
}

/// The problem with fd name `name` (systemd's `fdname_is_valid`, and not empty), if any.
pub(super) fn fd_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".to_owned());
    }
    match check_fd_name(name, NameRules::Systemd) {
        Ok(()) => None,
        Err(ParseErrorKind::NameColon { pos }) => Some(format!("':' at byte {pos}")),
        Err(ParseErrorKind::NameTooLong { len }) => Some(format!("it is {len} bytes long")),
        Err(ParseErrorKind::Whitespace { pos } | ParseErrorKind::NameChar { pos, .. }) => {
            let ch = name[pos..].chars().next().unwrap_or('?');
            Some(format!("'{}' at byte {pos}", ch.escape_default()))
        }
        Err(other) => Some(format!("{other:?}")),
    }
}

fn check_name(name: &str) -> Result<(), NotifyError> {
    match fd_name_problem(name) {
        None => Ok(()),
        Some(_) => Err(NotifyErrorKind::BadFdName {
            name: name.to_owned(),
        }
        .into()),
    }
}

/// The message for `states` with `fds` fds, checked; nothing is sent yet.
pub(super) fn message(states: &[State<'_>], fds: usize) -> Result<String, NotifyError> {
    if states.is_empty() {
        return Err(NotifyErrorKind::NoStates.into());
    }
    if fds > MAX_FDS {
        return Err(NotifyErrorKind::TooManyFds { fds }.into());
    }
    let mut text = String::new();
    let mut store: Option<bool> = None;
    for state in states {
        let this = match state {
            State::FdStore { .. } => Some(true),
            State::FdStoreRemove { .. } => Some(false),
            _ => None,
        };
        if this.is_some() && store.is_some() {
            return Err(NotifyErrorKind::SeveralFdStoreStates.into());
        }
        store = store.or(this);
        if !text.is_empty() {
            text.push('\n');
        }
        state.write_to(&mut text)?;
    }
    match (store, fds) {
        (Some(true), 0) => return Err(NotifyErrorKind::FdStoreWithoutFds.into()),
        (Some(false), 1..) => return Err(NotifyErrorKind::FdStoreRemoveWithFds { fds }.into()),
        (None, 1..) => return Err(NotifyErrorKind::FdsWithoutFdStore { fds }.into()),
        _ => {}
    }
    if text.len() > MAX_MESSAGE_LEN {
        return Err(NotifyErrorKind::MessageTooLong { len: text.len() }.into());
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usec_rounds_down_and_saturates() {
        assert_eq!(usec(Duration::from_nanos(1_999)), 1);
        assert_eq!(usec(Duration::from_secs(2)), 2_000_000);
        assert_eq!(usec(Duration::from_micros(u64::MAX)), u64::MAX);
        assert_eq!(usec(Duration::MAX), u64::MAX);
    }
}
