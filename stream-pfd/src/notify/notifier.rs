//! [`Notifier`]: where notifications go, and sending them there.

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use super::addr::{Dest, parse_addr};
use super::error::{NotifyError, NotifyErrorKind};
use super::message::message;
use super::send::{type_name, unix_send, vsock_send};
use super::{NOTIFY_SOCKET, State, env_var, lookup};

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
}
