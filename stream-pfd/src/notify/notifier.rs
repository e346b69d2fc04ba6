//! [`Notifier`]: where notifications go, and sending them there.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::addr::{Dest, parse_addr};
use super::error::{NotifyError, NotifyErrorKind};
use super::message::message;
use super::send::{Failure, type_name, unix_send, unix_socket, vsock_send};
use super::{NOTIFY_SOCKET, State, env_var, lookup};

/// How long a send waits, by default, for a service manager whose queue is full
/// ([`Notifier::with_send_timeout`]).
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest pause between two attempts while the receiver's queue is full.
const MAX_RETRY_PAUSE: Duration = Duration::from_millis(50);

/// Where notifications go: a parsed `NOTIFY_SOCKET` address, and for a unix address the one
/// socket every send goes through (opened here, kept for the `Notifier`'s life and shared by
/// its clones: the watchdog still pings when the process has used every fd its limit allows).
///
/// A send never blocks for long: when the service manager's queue is full (busy, or not
/// reading), it is tried again for at most the send timeout ([`DEFAULT_SEND_TIMEOUT`], see
/// [`with_send_timeout`](Notifier::with_send_timeout)), then fails with
/// [`NotifyErrorKind::Busy`] and nothing sent. The async variants
/// ([`send_async`](Notifier::send_async), feature `tokio`) wait on tokio's timer instead of
/// the calling thread. vsock addresses use a new socket per send, with the timeout as its
/// send and receive timeouts.
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
    /// For a unix address: the socket every send goes through.
    unix: Option<Arc<OwnedFd>>,
    send_timeout: Duration,
}

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
        Notifier::build(addr, true).map(Some)
    }

    fn build(addr: String, from_env: bool) -> Result<Notifier, NotifyError> {
        let dest = match parse_addr(&addr) {
            Ok(dest) => dest,
            Err(kind) => return Err(NotifyError::from(kind).with_address(&addr, from_env)),
        };
        let unix = match dest {
            Dest::Unix(_) => {
                Some(Arc::new(unix_socket().map_err(|failure| {
                    failure.into_error().with_address(&addr, from_env)
                })?))
            }
            Dest::Vsock { .. } => None,
        };
        Ok(Notifier {
            addr,
            dest,
            from_env,
            unix,
            send_timeout: DEFAULT_SEND_TIMEOUT,
        })
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
        Notifier::build(addr.to_owned(), false)
    }

    /// This notifier with sends that give up after `timeout` while the service manager's queue
    /// is full (default [`DEFAULT_SEND_TIMEOUT`]; zero tries once).
    ///
    /// ```
    /// use std::time::Duration;
    /// let n = stream_pfd::notify::Notifier::new("/run/systemd/notify")?
    ///     .with_send_timeout(Duration::from_millis(100));
    /// assert_eq!(n.send_timeout(), Duration::from_millis(100));
    /// # Ok::<(), stream_pfd::notify::NotifyError>(())
    /// ```
    #[must_use]
    pub fn with_send_timeout(mut self, timeout: Duration) -> Notifier {
        self.send_timeout = timeout;
        self
    }

    /// How long a send waits while the service manager's queue is full.
    pub fn send_timeout(&self) -> Duration {
        self.send_timeout
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
    /// most [`MAX_FDS`](super::MAX_FDS). The fds stay open here: systemd receives duplicates.
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
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match self.attempt(text.as_bytes(), &fds) {
                Retry::Done(result) => return result,
                Retry::Again => match self.next_pause(started, &mut pause) {
                    Some(p) => std::thread::sleep(p),
                    None => return Err(self.busy(started.elapsed())),
                },
            }
        }
    }

    /// [`send`](Notifier::send) without blocking the calling thread: while the service
    /// manager's queue is full, it waits on tokio's timer (at most the send timeout). vsock
    /// addresses are sent on tokio's blocking pool. Must be called within a tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use stream_pfd::notify::{Notifier, State};
    /// let notifier = Notifier::new("@stream-pfd-doc-nobody-listens")?;
    /// assert!(notifier.send_async(&[State::Ready]).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn send_async(&self, states: &[State<'_>]) -> Result<(), NotifyError> {
        self.send_with_fds_async(states, &[]).await
    }

    /// [`send_with_fds`](Notifier::send_with_fds) without blocking the calling thread (see
    /// [`send_async`](Notifier::send_async)).
    #[cfg(feature = "tokio")]
    pub async fn send_with_fds_async(
        &self,
        states: &[State<'_>],
        fds: &[BorrowedFd<'_>],
    ) -> Result<(), NotifyError> {
        let text = message(states, fds.len())?;
        if let Dest::Vsock { .. } = self.dest {
            // Blocking connect/recv, bounded by the socket timeouts: off the runtime's workers.
            let this = self.clone();
            let fds: Vec<OwnedFd> = fds
                .iter()
                .map(|fd| fd.try_clone_to_owned())
                .collect::<Result<_, _>>()
                .map_err(|e| {
                    NotifyError::from(NotifyErrorKind::Io {
                        op: "dup",
                        sock_type: "",
                    })
                    .with_address(&self.addr, self.from_env)
                    .with_io(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EMFILE)))
                })?;
            return tokio::task::spawn_blocking(move || {
                let raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
                match this.attempt(text.as_bytes(), &raw) {
                    Retry::Done(result) => result,
                    Retry::Again => Err(this.busy(this.send_timeout)),
                }
            })
            .await
            .unwrap_or_else(|_| {
                Err(NotifyError::from(NotifyErrorKind::Io {
                    op: "spawn_blocking",
                    sock_type: "",
                })
                .with_address(&self.addr, self.from_env))
            });
        }
        let fds: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match self.attempt(text.as_bytes(), &fds) {
                Retry::Done(result) => return result,
                Retry::Again => match self.next_pause(started, &mut pause) {
                    Some(p) => tokio::time::sleep(p).await,
                    None => return Err(self.busy(started.elapsed())),
                },
            }
        }
    }

    /// One try: done (sent, or failed for good), or again (the receiver's queue is full).
    fn attempt(&self, msg: &[u8], fds: &[RawFd]) -> Retry {
        let sent = match (&self.dest, &self.unix) {
            (Dest::Unix(addr), Some(sock)) => unix_send(sock, addr, msg, fds),
            (Dest::Vsock { addr, ty }, _) => vsock_send(addr, *ty, msg, fds, self.send_timeout),
            // A unix address always has its socket (opened in `build`).
            (Dest::Unix(_), None) => Err(Failure {
                op: "socket",
                ty: nix::sys::socket::SockType::Datagram,
                errno: Errno::EBADF,
            }),
        };
        match sent {
            Ok(()) => Retry::Done(Ok(())),
            // A unix receiver's queue is full: try again. vsock already waited its timeout.
            Err(f) if f.errno == Errno::EAGAIN && self.unix.is_some() => Retry::Again,
            Err(f) if f.errno == Errno::EAGAIN => Retry::Done(Err(self.busy(self.send_timeout))),
            Err(f) => Retry::Done(Err(f.into_error().with_address(&self.addr, self.from_env))),
        }
    }

    /// The pause before the next try (doubling up to [`MAX_RETRY_PAUSE`]), or `None` when the
    /// send timeout has run out.
    fn next_pause(&self, started: Instant, pause: &mut Duration) -> Option<Duration> {
        let left = self.send_timeout.checked_sub(started.elapsed())?;
        if left.is_zero() {
            return None;
        }
        let p = (*pause).min(left);
        *pause = (*pause * 2).min(MAX_RETRY_PAUSE);
        Some(p)
    }

    fn busy(&self, waited: Duration) -> NotifyError {
        NotifyError::from(NotifyErrorKind::Busy { waited }).with_address(&self.addr, self.from_env)
    }
}

/// The outcome of one try.
enum Retry {
    Done(Result<(), NotifyError>),
    Again,
}

impl Failure {
    /// The error for a failed system call.
    pub(super) fn into_error(self) -> NotifyError {
        NotifyError::from(NotifyErrorKind::Io {
            op: self.op,
            sock_type: type_name(self.ty),
        })
        .with_io(self.errno)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};

    /// A service manager that never reads: its queue fills, and then every send gives up after
    /// the send timeout with `Busy`, instead of blocking the caller for ever.
    fn wedged_manager(tag: &str) -> (UnixDatagram, String) {
        let name = format!("stream-pfd-wedged-{tag}-{}", std::process::id());
        let sock =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(&name).unwrap()).unwrap();
        (sock, format!("@{name}"))
    }

    /// Runs `f` on a thread and fails (instead of hanging) if it takes longer than `limit`.
    fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(limit)
            .unwrap_or_else(|_| panic!("a send blocked for more than {limit:?}"))
    }

    #[test]
    fn a_manager_that_stops_reading_gets_busy_after_the_send_timeout() {
        let (_manager, addr) = wedged_manager("sync");
        let notifier = Notifier::new(&addr)
            .unwrap()
            .with_send_timeout(Duration::from_millis(100));
        let (sent, err, waited) = within(Duration::from_secs(20), move || {
            let mut sent = 0;
            loop {
                let t = Instant::now();
                match notifier.send(&[State::Watchdog]) {
                    Ok(()) => sent += 1,
                    Err(e) => return (sent, e, t.elapsed()),
                }
                assert!(sent < 100_000, "the queue never filled");
            }
        });
        assert!(sent > 0, "nothing went through before the queue filled");
        assert!(
            matches!(err.kind(), NotifyErrorKind::Busy { .. }),
            "{err} after {sent} sends"
        );
        assert!(
            waited >= Duration::from_millis(100) && waited < Duration::from_secs(2),
            "{waited:?}"
        );
        assert_eq!(io::Error::from(err).kind(), io::ErrorKind::TimedOut);
    }

    #[cfg(feature = "tokio")]
    #[test]
    fn an_async_send_to_a_wedged_manager_never_blocks_the_runtime() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (_manager, addr) = wedged_manager("async");
        let notifier = Notifier::new(&addr)
            .unwrap()
            .with_send_timeout(Duration::from_millis(300));
        // Fill the queue first.
        let quick = notifier.clone().with_send_timeout(Duration::ZERO);
        while quick.send(&[State::Watchdog]).is_ok() {}
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let ticks = std::sync::Arc::new(AtomicUsize::new(0));
        let counted = ticks.clone();
        let result = within(Duration::from_secs(20), move || {
            rt.block_on(async move {
                // On the one runtime thread: it only ticks if the send lets it run.
                let ticker = tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        counted.fetch_add(1, Ordering::Relaxed);
                    }
                });
                let r = notifier.send_async(&[State::Watchdog]).await;
                ticker.abort();
                r.map_err(|e| e.kind().clone())
            })
        });
        assert!(
            matches!(result, Err(NotifyErrorKind::Busy { .. })),
            "{result:?}"
        );
        assert!(
            ticks.load(Ordering::Relaxed) >= 10,
            "the runtime thread was blocked: {} ticks in 300 ms",
            ticks.load(Ordering::Relaxed)
        );
    }
}
