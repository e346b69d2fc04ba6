//! `sd_notify(3)`: telling the service manager that the daemon is ready, reloading or
//! stopping, what its status is, that it is alive (the watchdog), and handing it fds to keep
//! (the fd store). Feature `notify`.
//!
//! A message is one or more [`State`]s, sent together as **one** datagram to the socket that
//! `NOTIFY_SOCKET` names:
//!
//! * `/path`: an `AF_UNIX` socket in the file system (`SOCK_DGRAM`);
//! * `@name`: an `AF_UNIX` socket in the abstract namespace (`SOCK_DGRAM`);
//! * `vsock:CID:PORT` (or `vsock-dgram:`, `vsock-seqpacket:`, `vsock-stream:`): an `AF_VSOCK`
//!   socket, as systemd's `sd_notify` does it: `SOCK_DGRAM` first, then `SOCK_SEQPACKET`, then
//!   `SOCK_STREAM` when the kernel has no support for the type tried; a privileged source port
//!   when allowed; connected types are connected, and the end of the message is signalled by
//!   shutting down the sending side and waiting for the receiver to close. The CID is a number
//!   or `hypervisor`, `local` or `host`.
//!
//! Every state is checked before anything is sent: a value that would break the protocol
//! (a newline in `STATUS=`, an fd name systemd would not accept, fds without `FDSTORE=1`, a
//! message longer than systemd reads) is a [`NotifyError`] and **nothing** is sent.
//!
//! No `SCM_CREDENTIALS` are sent: the kernel attaches this process's pid, uid and gid itself,
//! which is what `sd_notify` would send (it adds them only to speak for another pid).
//!
//! ```
//! use std::os::linux::net::SocketAddrExt;
//! use std::os::unix::net::{SocketAddr, UnixDatagram};
//! use stream_pfd::notify::{Notifier, State};
//!
//! // A receiver standing in for the service manager, at an abstract name.
//! let name = format!("stream-pfd-doc-notify-{}", std::process::id());
//! let manager = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(&name)?)?;
//!
//! let notifier = Notifier::new(&format!("@{name}"))?;
//! notifier.send(&[State::Ready, State::Status("serving 2 remotes")])?;
//!
//! let mut buf = [0; 4096];
//! let n = manager.recv(&mut buf)?;
//! assert_eq!(&buf[..n], b"READY=1\nSTATUS=serving 2 remotes");
//!
//! // Refused before anything is sent: STATUS= is one line.
//! let err = notifier.send(&[State::Status("one\ntwo")]).unwrap_err();
//! assert!(err.to_string().starts_with("STATUS=\"one\\ntwo\" contains a newline"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A daemon usually calls the free functions, which read `NOTIFY_SOCKET` each time and do
//! nothing when it is not set:
//!
//! ```no_run
//! // no_run: with NOTIFY_SOCKET set this really tells the service manager.
//! use stream_pfd::notify::{self, Sent, State};
//!
//! # fn main() -> Result<(), stream_pfd::notify::NotifyError> {
//! match notify::notify(&[State::Ready])? {
//!     Sent::Delivered => {}
//!     Sent::NoSocket => eprintln!("not started by systemd with Type=notify"),
//! }
//! # Ok(())
//! # }
//! ```

// One module per concept, each using only those before it: error -> message -> addr -> send
// -> notifier -> watchdog.
mod addr;
mod error;
mod message;
mod notifier;
mod send;
mod watchdog;

use std::os::fd::BorrowedFd;

use message::message;

pub use error::{NotifyError, NotifyErrorKind};
pub use message::{CustomProblem, RESERVED_FIELDS, State};
pub use notifier::{DEFAULT_SEND_TIMEOUT, Notifier};
#[cfg(feature = "tokio")]
pub use watchdog::{MIN_PING_PERIOD, spawn_watchdog};
pub use watchdog::{watchdog, watchdog_from_vars};

/// The variable that names the notification socket.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// The longest message systemd reads (`NOTIFY_BUFFER_MAX`, `PIPE_BUF`); it drops longer ones.
pub const MAX_MESSAGE_LEN: usize = 4096;

/// The most fds one message can carry (the kernel's `SCM_MAX_FD`).
pub const MAX_FDS: usize = 253;

/// The longest `AF_UNIX` address, `/` or `@` included: `sun_path` holds 108 bytes and systemd
/// insists on a terminating NUL.
pub const MAX_UNIX_ADDR_LEN: usize = 107;

/// What [`notify`] and [`notify_with_fds`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// The message was sent.
    Delivered,
    /// `NOTIFY_SOCKET` is not set (the process was not started by a service manager that
    /// listens): nothing was sent.
    NoSocket,
}

/// A variable of the process environment, `None` when unset.
fn env_var(var: &'static str) -> Result<Option<String>, NotifyError> {
    match std::env::var_os(var) {
        None => Ok(None),
        Some(value) => value
            .into_string()
            .map(Some)
            .map_err(|_| NotifyErrorKind::NotUnicode { var }.into()),
    }
}

/// The first value of `var` in `vars`.
fn lookup<I, K, V>(vars: I, var: &str) -> Option<String>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    vars.into_iter()
        .find(|(k, _)| k.as_ref() == var)
        .map(|(_, v)| v.as_ref().to_owned())
}

/// Sends `states` to `NOTIFY_SOCKET` ([`Notifier::from_env`], then [`Notifier::send`]), or
/// nothing when it is not set.
///
/// ```no_run
/// // no_run: with NOTIFY_SOCKET set this really tells the service manager.
/// use stream_pfd::notify::{notify, State};
/// notify(&[State::Ready, State::Status("serving")])?;
/// // ... later, at shutdown:
/// notify(&[State::Stopping])?;
/// # Ok::<(), stream_pfd::notify::NotifyError>(())
/// ```
pub fn notify(states: &[State<'_>]) -> Result<Sent, NotifyError> {
    notify_with_fds(states, &[])
}

/// Sends `states` with `fds` to `NOTIFY_SOCKET` ([`Notifier::send_with_fds`]), or nothing when
/// it is not set.
///
/// ```no_run
/// // no_run: with NOTIFY_SOCKET set this really hands the socket to the service manager.
/// use std::os::fd::AsFd;
/// use stream_pfd::notify::{notify_with_fds, State};
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:8080")?;
/// // Kept by systemd across restarts (FileDescriptorStoreMax=1); back as pfd:web.
/// notify_with_fds(&[State::FdStore { name: "web", poll: true }], &[listener.as_fd()])?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn notify_with_fds(states: &[State<'_>], fds: &[BorrowedFd<'_>]) -> Result<Sent, NotifyError> {
    // The states are checked even when there is nowhere to send them: a bad message is a bug
    // that should show without a service manager too.
    message(states, fds.len())?;
    match Notifier::from_env()? {
        None => Ok(Sent::NoSocket),
        Some(notifier) => notifier
            .send_with_fds(states, fds)
            .map(|()| Sent::Delivered),
    }
}
