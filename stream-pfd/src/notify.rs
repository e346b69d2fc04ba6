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

use std::fmt;
use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{
    self, AddressFamily, ControlMessage, MsgFlags, Shutdown, SockFlag, SockType, SockaddrLike,
    UnixAddr, VsockAddr,
};

use crate::spec::{MAX_NAME_LEN, NameRules, ParseErrorKind, check_fd_name};
use crate::text::{Shown, parse_decimal};

/// The variable that names the notification socket.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// The longest message systemd reads (`NOTIFY_BUFFER_MAX`, `PIPE_BUF`); it drops longer ones.
pub const MAX_MESSAGE_LEN: usize = 4096;

/// The most fds one message can carry (the kernel's `SCM_MAX_FD`).
pub const MAX_FDS: usize = 253;

/// The longest `AF_UNIX` address, `/` or `@` included: `sun_path` holds 108 bytes and systemd
/// insists on a terminating NUL.
pub const MAX_UNIX_ADDR_LEN: usize = 107;

/// The largest `ERRNO=` value systemd accepts (`ERRNO_MAX`).
const ERRNO_MAX: i32 = 4095;

/// The shortest watchdog period [`spawn_watchdog`] pings at.
#[cfg(feature = "tokio")]
const MIN_PING_PERIOD: Duration = Duration::from_millis(1);

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
    /// `WATCHDOG=1`: the daemon is alive (see [`watchdog`] and `spawn_watchdog`).
    Watchdog,
    /// `WATCHDOG=trigger`: the daemon knows it is stuck; systemd acts as on a missed ping.
    WatchdogTrigger,
    /// `WATCHDOG_USEC=n`: a new watchdog timeout, from now on.
    WatchdogUsec(Duration),
    /// `FDSTORE=1` and `FDNAME=name` (and `FDPOLL=0` when `poll` is false: systemd then does not
    /// watch the fds for errors or hang-ups): keep the fds sent with this message
    /// ([`Notifier::send_with_fds`], [`notify_with_fds`]) under `name`. systemd passes them back
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
        };
        Ok(())
    }
}

/// A duration in whole microseconds, `u64::MAX` (systemd's infinity) when it does not fit.
fn usec(d: Duration) -> u64 {
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

/// The problem with fd name `name` (systemd's `fdname_is_valid`, and not empty), if any.
fn fd_name_problem(name: &str) -> Option<String> {
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
fn message(states: &[State<'_>], fds: usize) -> Result<String, NotifyError> {
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

/// What [`notify`] and [`notify_with_fds`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// The message was sent.
    Delivered,
    /// `NOTIFY_SOCKET` is not set (the process was not started by a service manager that
    /// listens): nothing was sent.
    NoSocket,
}

/// Where notifications go: a parsed `NOTIFY_SOCKET` address.
///
/// Each send opens a new socket, so a `Notifier` holds no fd and can be shared between threads.
/// Sending blocks only as long as the receiver's queue is full (systemd drains it as it comes).
///
/// ```
/// use stream_pfd::notify::{Notifier, NotifyErrorKind};
///
/// let notifier = Notifier::new("/run/systemd/notify")?;
/// assert_eq!(notifier.addr(), "/run/systemd/notify");
/// assert!(Notifier::new("@daemon/notify").is_ok());
/// assert!(Notifier::new("vsock:2:9999").is_ok());
/// let err = Notifier::new("run/notify").unwrap_err();
/// assert_eq!(err.kind(), &NotifyErrorKind::NotAnAddress);
/// # Ok::<(), stream_pfd::notify::NotifyError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Notifier {
    addr: String,
    dest: Dest,
    from_env: bool,
}

#[derive(Clone, Debug)]
enum Dest {
    Unix(UnixAddr),
    Vsock {
        addr: VsockAddr,
        /// The type the address names (`vsock-stream:` ...), or `None` for systemd's fallback.
        ty: Option<SockType>,
    },
}

/// The `vsock` prefixes and the socket type each one asks for.
const VSOCK_PREFIXES: [(&str, Option<SockType>); 4] = [
    ("vsock:", None),
    ("vsock-dgram:", Some(SockType::Datagram)),
    ("vsock-seqpacket:", Some(SockType::SeqPacket)),
    ("vsock-stream:", Some(SockType::Stream)),
];

impl Notifier {
    /// The notifier for `NOTIFY_SOCKET`, or `None` when it is not set.
    ///
    /// The environment is read at each call; nothing is cached or unset.
    ///
    /// ```
    /// # fn main() -> Result<(), stream_pfd::notify::NotifyError> {
    /// if let Some(notifier) = stream_pfd::notify::Notifier::from_env()? {
    ///     eprintln!("notifications go to {}", notifier.addr());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_env() -> Result<Option<Notifier>, NotifyError> {
        let addr = env_var(NOTIFY_SOCKET)?;
        Notifier::from_value(addr)
    }

    /// Like [`from_env`](Notifier::from_env), with `NOTIFY_SOCKET` looked up in `vars` instead
    /// of the process environment (for supervisors that pass it another way, and for tests);
    /// variables not in `vars` are absent.
    ///
    /// ```
    /// use stream_pfd::notify::Notifier;
    ///
    /// let notifier = Notifier::from_vars([("NOTIFY_SOCKET", "@notify")])?.unwrap();
    /// assert_eq!(notifier.addr(), "@notify");
    /// assert!(Notifier::from_vars([("HOME", "/root")])?.is_none());
    /// let err = Notifier::from_vars([("NOTIFY_SOCKET", "notify.sock")]).unwrap_err();
    /// assert!(err.to_string().starts_with("NOTIFY_SOCKET=\"notify.sock\" is not"));
    /// # Ok::<(), stream_pfd::notify::NotifyError>(())
    /// ```
    pub fn from_vars<I, K, V>(vars: I) -> Result<Option<Notifier>, NotifyError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let addr = lookup(vars, NOTIFY_SOCKET);
        Notifier::from_value(addr)
    }

    fn from_value(addr: Option<String>) -> Result<Option<Notifier>, NotifyError> {
        let Some(addr) = addr else {
            return Ok(None);
        };
        match parse_addr(&addr) {
            Ok(dest) => Ok(Some(Notifier {
                addr,
                dest,
                from_env: true,
            })),
            Err(kind) => Err(NotifyError::from(kind).with_address(&addr, true)),
        }
    }

    /// The notifier for address `addr`: `/abs/path`, `@abstract`, or `vsock:CID:PORT` (also
    /// `vsock-dgram:`, `vsock-seqpacket:` and `vsock-stream:`; CID a number or `hypervisor`,
    /// `local`, `host`), as in `NOTIFY_SOCKET`.
    ///
    /// ```
    /// use stream_pfd::notify::{Notifier, NotifyErrorKind};
    ///
    /// let err = Notifier::new("vsock::9999").unwrap_err();
    /// assert_eq!(err.kind(), &NotifyErrorKind::BadVsockCid { cid: String::new() });
    /// assert_eq!(err.address(), Some("vsock::9999"));
    /// ```
    pub fn new(addr: &str) -> Result<Notifier, NotifyError> {
        match parse_addr(addr) {
            Ok(dest) => Ok(Notifier {
                addr: addr.to_owned(),
                dest,
                from_env: false,
            }),
            Err(kind) => Err(NotifyError::from(kind).with_address(addr, false)),
        }
    }

    /// The address, as given.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends `states` as one message. Every state is checked first: on a [`NotifyError`] about
    /// the input, nothing was sent.
    ///
    /// ```
    /// use stream_pfd::notify::{Notifier, NotifyErrorKind, State};
    ///
    /// let notifier = Notifier::new("@stream-pfd-doc-nobody-listens")?;
    /// let err = notifier.send(&[]).unwrap_err();
    /// assert_eq!(err.kind(), &NotifyErrorKind::NoStates);
    /// // Nobody listens there: the error says where and which call failed.
    /// let err = notifier.send(&[State::Ready]).unwrap_err();
    /// assert_eq!(std::io::Error::from(err).kind(), std::io::ErrorKind::ConnectionRefused);
    /// # Ok::<(), stream_pfd::notify::NotifyError>(())
    /// ```
    pub fn send(&self, states: &[State<'_>]) -> Result<(), NotifyError> {
        self.send_with_fds(states, &[])
    }

    /// Sends `states` as one message with `fds` attached (`SCM_RIGHTS`). fds go with exactly
    /// one [`State::FdStore`]; none with [`State::FdStoreRemove`] or without an `FdStore`. At
    /// most [`MAX_FDS`]. The fds stay open here: systemd receives duplicates.
    ///
    /// ```
    /// use std::os::fd::AsFd;
    /// use stream_pfd::notify::{Notifier, NotifyErrorKind, State};
    ///
    /// let notifier = Notifier::new("@stream-pfd-doc-nobody-listens")?;
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let store = [State::FdStore { name: "web", poll: true }];
    /// let err = notifier.send_with_fds(&store, &[]).unwrap_err();
    /// assert_eq!(err.kind(), &NotifyErrorKind::FdStoreWithoutFds);
    /// let err = notifier.send_with_fds(&[State::Ready], &[listener.as_fd()]).unwrap_err();
    /// assert_eq!(err.kind(), &NotifyErrorKind::FdsWithoutFdStore { fds: 1 });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_with_fds(
        &self,
        states: &[State<'_>],
        fds: &[BorrowedFd<'_>],
    ) -> Result<(), NotifyError> {
        let text = message(states, fds.len())?;
        let fds: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        let sent = match &self.dest {
            Dest::Unix(addr) => unix_send(addr, text.as_bytes(), &fds),
            Dest::Vsock { addr, ty } => vsock_send(addr, *ty, text.as_bytes(), &fds),
        };
        sent.map_err(|failure| {
            NotifyError::from(NotifyErrorKind::Io {
                op: failure.op,
                sock_type: type_name(failure.ty),
            })
            .with_address(&self.addr, self.from_env)
            .with_io(failure.errno)
        })
    }

    /// Sends `WATCHDOG=1` every `interval / 2` (at least every millisecond), the first at once,
    /// on a tokio task (each send on tokio's blocking pool), until the task is aborted. Send
    /// errors are ignored (the next ping tries again) and nothing is logged. Must be called
    /// from within a tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// let notifier = stream_pfd::notify::Notifier::new("@stream-pfd-doc-nobody-listens")?;
    /// let pings = notifier.spawn_watchdog(Duration::from_secs(30));
    /// pings.abort();
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    pub fn spawn_watchdog(self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let period = (interval / 2).max(MIN_PING_PERIOD);
        let notifier = std::sync::Arc::new(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let notifier = std::sync::Arc::clone(&notifier);
                let _ =
                    tokio::task::spawn_blocking(move || notifier.send(&[State::Watchdog])).await;
            }
        })
    }
}

/// Parses a `NOTIFY_SOCKET` address.
fn parse_addr(addr: &str) -> Result<Dest, NotifyErrorKind> {
    if addr.starts_with('/') || addr.starts_with('@') {
        if addr.len() < 2 {
            return Err(NotifyErrorKind::AddressTooShort);
        }
        if let Some(pos) = addr.find('\0') {
            return Err(NotifyErrorKind::AddressNul { pos });
        }
        if addr.len() > MAX_UNIX_ADDR_LEN {
            return Err(NotifyErrorKind::AddressTooLong { len: addr.len() });
        }
        let unix = match addr.strip_prefix('@') {
            Some(name) => UnixAddr::new_abstract(name.as_bytes()),
            None => UnixAddr::new(addr),
        };
        // Checked above: neither NUL nor too long, so nix has nothing to refuse.
        return unix
            .map(Dest::Unix)
            .map_err(|_| NotifyErrorKind::NotAnAddress);
    }
    for (prefix, ty) in VSOCK_PREFIXES {
        if let Some(rest) = addr.strip_prefix(prefix) {
            let (cid, port) = rest
                .split_once(':')
                .ok_or(NotifyErrorKind::MissingVsockPort)?;
            let bad_port = || NotifyErrorKind::BadVsockPort {
                port: port.to_owned(),
            };
            let port = parse_decimal(port)
                .and_then(|p| u32::try_from(p).ok())
                .filter(|p| *p != libc::VMADDR_PORT_ANY)
                .ok_or_else(bad_port)?;
            let cid = match cid {
                "hypervisor" => libc::VMADDR_CID_HYPERVISOR,
                "local" => libc::VMADDR_CID_LOCAL,
                "host" => libc::VMADDR_CID_HOST,
                number => parse_decimal(number)
                    .and_then(|c| u32::try_from(c).ok())
                    .filter(|c| *c != libc::VMADDR_CID_ANY)
                    .ok_or_else(|| NotifyErrorKind::BadVsockCid {
                        cid: number.to_owned(),
                    })?,
            };
            return Ok(Dest::Vsock {
                addr: VsockAddr::new(cid, port),
                ty,
            });
        }
    }
    Err(NotifyErrorKind::NotAnAddress)
}

/// A failed system call while sending.
#[derive(Debug)]
struct Failure {
    op: &'static str,
    ty: SockType,
    errno: Errno,
}

impl Failure {
    fn of(op: &'static str, ty: SockType) -> impl FnOnce(Errno) -> Failure {
        move |errno| Failure { op, ty, errno }
    }
}

fn type_name(ty: SockType) -> &'static str {
    match ty {
        SockType::Datagram => "SOCK_DGRAM",
        SockType::SeqPacket => "SOCK_SEQPACKET",
        _ => "SOCK_STREAM",
    }
}

fn new_socket(family: AddressFamily, ty: SockType) -> Result<OwnedFd, Failure> {
    socket::socket(family, ty, SockFlag::SOCK_CLOEXEC, None).map_err(Failure::of("socket", ty))
}

/// One `sendmsg` of all of `msg`, with `fds` as `SCM_RIGHTS` if there are any.
fn send_message<S: SockaddrLike>(
    sock: &OwnedFd,
    ty: SockType,
    to: Option<&S>,
    msg: &[u8],
    fds: &[RawFd],
) -> Result<(), Failure> {
    let iov = [IoSlice::new(msg)];
    let rights = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage<'_>] = if fds.is_empty() { &[] } else { &rights };
    let sent = socket::sendmsg(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, to)
        .map_err(Failure::of("sendmsg", ty))?;
    // Datagrams and sequenced packets go whole or not at all, and a blocking stream send
    // returns once all of it is queued; anything else is an error, never half a message.
    if sent != msg.len() {
        return Err(Failure::of("sendmsg", ty)(Errno::EIO));
    }
    Ok(())
}

fn unix_send(addr: &UnixAddr, msg: &[u8], fds: &[RawFd]) -> Result<(), Failure> {
    let sock = new_socket(AddressFamily::Unix, SockType::Datagram)?;
    send_message(&sock, SockType::Datagram, Some(addr), msg, fds)
}

fn vsock_send(
    addr: &VsockAddr,
    ty: Option<SockType>,
    msg: &[u8],
    fds: &[RawFd],
) -> Result<(), Failure> {
    let (sock, ty) = vsock_socket(ty)?;
    bind_privileged_port(&sock, ty)?;
    if ty == SockType::Datagram {
        return send_message(&sock, ty, Some(addr), msg, fds);
    }
    socket::connect(sock.as_raw_fd(), addr).map_err(Failure::of("connect", ty))?;
    send_connected(&sock, ty, msg, fds)
}

/// An `AF_VSOCK` socket of type `ty`, or, when the address names none, systemd's order:
/// datagram, then sequenced packets, then stream, as long as the kernel does not support the
/// type tried.
fn vsock_socket(ty: Option<SockType>) -> Result<(OwnedFd, SockType), Failure> {
    let mut tried = ty.unwrap_or(SockType::Datagram);
    loop {
        match new_socket(AddressFamily::Vsock, tried) {
            Ok(sock) => return Ok((sock, tried)),
            Err(failure) => match vsock_fallback(tried, failure.errno, ty.is_some()) {
                Some(next) => tried = next,
                None => return Err(failure),
            },
        }
    }
}

/// The type to try after `socket(AF_VSOCK, tried)` failed with `errno`, as systemd's
/// `sd_notify` decides (never when the address named the type).
fn vsock_fallback(tried: SockType, errno: Errno, named: bool) -> Option<SockType> {
    // systemd's ERRNO_IS_NOT_SUPPORTED.
    let unsupported = matches!(
        errno,
        Errno::EOPNOTSUPP
            | Errno::ENOTTY
            | Errno::ENOSYS
            | Errno::EAFNOSUPPORT
            | Errno::EPFNOSUPPORT
            | Errno::EPROTONOSUPPORT
            | Errno::ESOCKTNOSUPPORT
            | Errno::ENOPROTOOPT
    );
    match tried {
        _ if named => None,
        // QEMU's vsock has no datagrams and says ENODEV.
        SockType::Datagram if unsupported || errno == Errno::ENODEV => Some(SockType::SeqPacket),
        SockType::SeqPacket if unsupported => Some(SockType::Stream),
        _ => None,
    }
}

/// Binds `sock` to the highest free privileged port (1023 down to 1), as `sd_notify` does, so
/// that the receiver can tell a privileged sender; without the privilege it stays unbound.
fn bind_privileged_port(sock: &OwnedFd, ty: SockType) -> Result<(), Failure> {
    for port in (1..=1023).rev() {
        match socket::bind(
            sock.as_raw_fd(),
            &VsockAddr::new(libc::VMADDR_CID_ANY, port),
        ) {
            Ok(()) | Err(Errno::EPERM | Errno::EACCES) => return Ok(()),
            Err(Errno::EADDRINUSE) => {}
            Err(errno) => return Err(Failure::of("bind", ty)(errno)),
        }
    }
    Err(Failure::of("bind", ty)(Errno::EADDRINUSE))
}

/// Sends `msg` on connected `sock`, then marks its end (shutdown of the sending side) and waits
/// for the receiver to close without answering.
fn send_connected(sock: &OwnedFd, ty: SockType, msg: &[u8], fds: &[RawFd]) -> Result<(), Failure> {
    send_message::<()>(sock, ty, None, msg, fds)?;
    socket::shutdown(sock.as_raw_fd(), Shutdown::Write).map_err(Failure::of("shutdown", ty))?;
    let mut byte = [0u8; 1];
    let read = socket::recv(sock.as_raw_fd(), &mut byte, MsgFlags::MSG_NOSIGNAL)
        .map_err(Failure::of("recv", ty))?;
    if read > 0 {
        return Err(Failure::of("recv", ty)(Errno::EPROTO));
    }
    Ok(())
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

/// The watchdog timeout systemd expects pings within (`WATCHDOG_USEC`), when it is set and
/// meant for this process (`WATCHDOG_PID` absent or this process's pid); `None` otherwise.
/// Ping at half of it ([`State::Watchdog`], or `spawn_watchdog` with the `tokio` feature).
///
/// A malformed value is an error: `WATCHDOG_USEC` must be a decimal number of microseconds
/// from 1 to 18446744073709551614 (`u64::MAX` is infinity, which is no timeout),
/// `WATCHDOG_PID` a decimal process id; no sign, spaces or leading zeros, as systemd writes
/// them.
///
/// ```
/// # fn main() -> Result<(), stream_pfd::notify::NotifyError> {
/// if let Some(timeout) = stream_pfd::notify::watchdog()? {
///     eprintln!("watchdog: ping within {timeout:?}");
/// }
/// # Ok(())
/// # }
/// ```
pub fn watchdog() -> Result<Option<Duration>, NotifyError> {
    let usec = env_var("WATCHDOG_USEC")?;
    let pid = match usec {
        Some(_) => env_var("WATCHDOG_PID")?,
        None => None,
    };
    watchdog_from(usec, pid)
}

/// Like [`watchdog`], with `WATCHDOG_USEC` and `WATCHDOG_PID` looked up in `vars` instead of
/// the process environment; variables not in `vars` are absent.
///
/// ```
/// use std::time::Duration;
/// use stream_pfd::notify::watchdog_from_vars;
///
/// let pid = std::process::id().to_string();
/// let ours = [("WATCHDOG_USEC", "30000000"), ("WATCHDOG_PID", pid.as_str())];
/// assert_eq!(watchdog_from_vars(ours)?, Some(Duration::from_secs(30)));
/// let parents = [("WATCHDOG_USEC", "30000000"), ("WATCHDOG_PID", "1")];
/// assert_eq!(watchdog_from_vars(parents)?, None);
/// assert!(watchdog_from_vars([("WATCHDOG_USEC", "30s")]).is_err());
/// # Ok::<(), stream_pfd::notify::NotifyError>(())
/// ```
pub fn watchdog_from_vars<I, K, V>(vars: I) -> Result<Option<Duration>, NotifyError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let vars: Vec<(K, V)> = vars.into_iter().collect();
    let usec = lookup(vars.iter().map(|(k, v)| (k, v)), "WATCHDOG_USEC");
    let pid = lookup(vars.iter().map(|(k, v)| (k, v)), "WATCHDOG_PID");
    watchdog_from(usec, pid)
}

fn watchdog_from(
    usec: Option<String>,
    pid: Option<String>,
) -> Result<Option<Duration>, NotifyError> {
    let Some(value) = usec else {
        return Ok(None);
    };
    let usec = parse_decimal(&value)
        .filter(|u| *u > 0 && *u < u64::MAX)
        .ok_or(NotifyErrorKind::BadWatchdogUsec { value })?;
    if let Some(value) = pid {
        let pid = parse_decimal(&value)
            .filter(|p| *p > 0 && i32::try_from(*p).is_ok())
            .ok_or(NotifyErrorKind::BadWatchdogPid { value })?;
        if pid != u64::from(std::process::id()) {
            return Ok(None);
        }
    }
    Ok(Some(Duration::from_micros(usec)))
}

/// Pings the watchdog of `NOTIFY_SOCKET` ([`Notifier::spawn_watchdog`]): `WATCHDOG=1` every
/// `interval / 2`, the first at once, until the task is aborted; usually with the interval
/// [`watchdog`] returns. `Ok(None)` when `NOTIFY_SOCKET` is not set (nothing to ping); an
/// error, the one [`Notifier::from_env`] gives, when it is set but not valid, so that a
/// watchdog that would never be pinged is not started silently (systemd would kill the
/// service one interval later). Must be called from within a tokio runtime.
///
/// ```no_run
/// // no_run: with NOTIFY_SOCKET set this really pings the service manager.
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use stream_pfd::notify::{spawn_watchdog, watchdog};
/// let pinger = match watchdog()? {
///     Some(interval) => spawn_watchdog(interval)?,
///     None => None,
/// };
/// // ... serve; at shutdown:
/// if let Some(pinger) = pinger {
///     pinger.abort();
/// }
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub fn spawn_watchdog(
    interval: Duration,
) -> Result<Option<tokio::task::JoinHandle<()>>, NotifyError> {
    Ok(Notifier::from_env()?.map(|notifier| notifier.spawn_watchdog(interval)))
}

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
    /// More than one [`State::FdStore`] or [`State::FdStoreRemove`] in one message.
    SeveralFdStoreStates,
    /// [`State::FdStore`] without fds.
    FdStoreWithoutFds,
    /// [`State::FdStoreRemove`] with fds.
    FdStoreRemoveWithFds {
        /// How many.
        fds: usize,
    },
    /// fds without [`State::FdStore`].
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

    fn with_address(mut self, addr: &str, from_env: bool) -> NotifyError {
        self.address = Some((addr.to_owned(), from_env));
        self
    }

    fn with_io(mut self, errno: Errno) -> NotifyError {
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

impl std::error::Error for NotifyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.io.as_ref().map(|io| io as _)
    }
}

impl From<NotifyError> for io::Error {
    fn from(err: NotifyError) -> io::Error {
        let kind = match &err.io {
            Some(io) => io.kind(),
            None => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn vsock_falls_back_like_sd_notify() {
        use SockType::{Datagram, SeqPacket, Stream};
        // Datagrams: not supported (any of systemd's errnos) or ENODEV (QEMU) -> packets.
        for errno in [
            Errno::ENODEV,
            Errno::ESOCKTNOSUPPORT,
            Errno::EOPNOTSUPP,
            Errno::ENOSYS,
        ] {
            assert_eq!(
                vsock_fallback(Datagram, errno, false),
                Some(SeqPacket),
                "{errno}"
            );
        }
        // Packets: only "not supported" -> stream; ENODEV is an answer.
        for errno in [
            Errno::EAFNOSUPPORT,
            Errno::EPFNOSUPPORT,
            Errno::EPROTONOSUPPORT,
            Errno::ENOTTY,
            Errno::ENOPROTOOPT,
        ] {
            assert_eq!(
                vsock_fallback(SeqPacket, errno, false),
                Some(Stream),
                "{errno}"
            );
        }
        assert_eq!(vsock_fallback(SeqPacket, Errno::ENODEV, false), None);
        // Other errors, the last type, and a type the address named end the search.
        assert_eq!(vsock_fallback(Datagram, Errno::EACCES, false), None);
        assert_eq!(vsock_fallback(Datagram, Errno::EMFILE, false), None);
        assert_eq!(vsock_fallback(Stream, Errno::ESOCKTNOSUPPORT, false), None);
        assert_eq!(vsock_fallback(Datagram, Errno::ENODEV, true), None);
        assert_eq!(vsock_fallback(SeqPacket, Errno::EOPNOTSUPP, true), None);
    }

    #[test]
    fn vsock_socket_tries_the_types_in_order() {
        let named = vsock_socket(Some(SockType::Datagram));
        match &named {
            Ok((_, ty)) => assert_eq!(*ty, SockType::Datagram),
            Err(failure) => {
                assert_eq!((failure.op, failure.ty), ("socket", SockType::Datagram));
            }
        }
        match (named, vsock_socket(None)) {
            // No AF_VSOCK at all (EAFNOSUPPORT is "not supported"): every type was tried.
            (Err(_), Err(failure)) => assert_eq!(failure.op, "socket"),
            (Ok(_), Ok((_, ty))) => assert_eq!(ty, SockType::Datagram),
            (Err(failure), Ok((sock, ty))) => {
                assert!(vsock_fallback(SockType::Datagram, failure.errno, false).is_some());
                assert_ne!(ty, SockType::Datagram);
                let kind = crate::sys::getsockopt_int(
                    std::os::fd::AsFd::as_fd(&sock),
                    libc::SOL_SOCKET,
                    libc::SO_TYPE,
                )
                .unwrap();
                assert_eq!(kind, ty as i32);
            }
            (Ok(_), Err(failure)) => panic!("datagrams work, but not without a type: {failure:?}"),
        }
    }

    #[test]
    fn bind_privileged_port_takes_the_highest_free_port() {
        let Ok((first, ty)) = vsock_socket(None) else {
            test_support::skip_kernel!("no AF_VSOCK sockets");
        };
        let (second, _) = vsock_socket(None).unwrap();
        bind_privileged_port(&first, ty).unwrap();
        bind_privileged_port(&second, ty).unwrap();
        let port = |sock: &OwnedFd| {
            socket::getsockname::<VsockAddr>(sock.as_raw_fd())
                .unwrap()
                .port()
        };
        // Binding a vsock port below 1024 takes CAP_NET_BIND_SERVICE (bit 10 of CapEff).
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let caps = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .unwrap();
        const CAP_NET_BIND_SERVICE: u32 = 10;
        if caps & (1 << CAP_NET_BIND_SERVICE) != 0 {
            // Privileged: the second found the first's port taken and went down.
            assert!((1..=1023).contains(&port(&first)), "{}", port(&first));
            assert!(
                port(&second) < port(&first),
                "{} {}",
                port(&second),
                port(&first)
            );
        } else {
            // Without the privilege both stay unbound.
            assert_eq!(port(&first), port(&second));
        }
    }

    /// A connected pair of `ty` sockets; the first is the sender's.
    fn pair(ty: SockType) -> (OwnedFd, OwnedFd) {
        socket::socketpair(AddressFamily::Unix, ty, None, SockFlag::SOCK_CLOEXEC).unwrap()
    }

    #[test]
    fn send_connected_ends_the_message_and_waits_for_the_receiver_to_close() {
        for ty in [SockType::SeqPacket, SockType::Stream] {
            let (ours, theirs) = pair(ty);
            let receiver = std::thread::spawn(move || {
                let mut buf = [0u8; 64];
                let n = socket::recv(theirs.as_raw_fd(), &mut buf, MsgFlags::empty()).unwrap();
                let end = socket::recv(theirs.as_raw_fd(), &mut buf, MsgFlags::empty()).unwrap();
                (buf[..n].to_vec(), end)
            });
            send_connected(&ours, ty, b"READY=1", &[]).unwrap();
            drop(ours);
            let (got, end) = receiver.join().unwrap();
            assert_eq!(got, b"READY=1");
            assert_eq!(end, 0, "the sending side was shut down");
        }
    }

    #[test]
    fn send_connected_refuses_an_answer() {
        let (ours, theirs) = pair(SockType::Stream);
        let theirs = UnixStream::from(theirs);
        let receiver = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let mut theirs = theirs;
            let mut got = Vec::new();
            theirs.read_to_end(&mut got).unwrap();
            theirs.write_all(b"?").unwrap();
            got
        });
        let failure = send_connected(&ours, SockType::Stream, b"READY=1", &[]);
        drop(ours);
        assert_eq!(receiver.join().unwrap(), b"READY=1");
        let failure = failure.unwrap_err();
        assert_eq!((failure.op, failure.errno), ("recv", Errno::EPROTO));
    }

    #[test]
    fn send_connected_reports_the_failing_call() {
        let (ours, theirs) = pair(SockType::SeqPacket);
        drop(theirs);
        let failure = send_connected(&ours, SockType::SeqPacket, b"READY=1", &[]).unwrap_err();
        assert_eq!((failure.op, failure.errno), ("sendmsg", Errno::EPIPE));
    }

    #[test]
    fn usec_rounds_down_and_saturates() {
        assert_eq!(usec(Duration::from_nanos(1_999)), 1);
        assert_eq!(usec(Duration::from_secs(2)), 2_000_000);
        assert_eq!(usec(Duration::from_micros(u64::MAX)), u64::MAX);
        assert_eq!(usec(Duration::MAX), u64::MAX);
    }
}
