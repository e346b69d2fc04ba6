//! [`Connection`]: an owned, validated, non-blocking, close-on-exec connected stream socket
//! (what systemd passes with `Accept=yes`), and its conversion into std (and tokio) streams.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use crate::addr::SocketAddress;
use crate::info::{ConnectionInfo, Family};
use crate::listener::StdListener;
use crate::spec::PfdSpec;
use crate::validate::{ConnectionError, ValidateError, validate_connection};

/// An owned connected stream socket that passed
/// [`validate_connection`], made non-blocking and close-on-exec,
/// with its peer's address.
///
/// Get one from [`ListenFds::take_connection`](crate::ListenFds::take_connection): the
/// connection systemd passes to each instance of an `Accept=yes` service, or one a service
/// keeps in systemd's fd store. The take rules are those of
/// [`ListenFds::take`](crate::ListenFds::take): once per socket, ownership only after
/// validation, the fd left as it was on failure.
///
/// ```
/// use stream_pfd::ListenFds;
///
/// let mut fds = ListenFds::builder().ignore_env().build()?;
/// let err = fds.take_connection(&"pfd:connection".parse()?).unwrap_err();
/// assert!(err.to_string().starts_with("pfd:connection: no fd named connection"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Connection {
    fd: OwnedFd,
    info: ConnectionInfo,
    spec: Option<PfdSpec>,
    name: Option<String>,
}

impl Connection {
    pub(crate) fn new(
        fd: OwnedFd,
        info: ConnectionInfo,
        spec: Option<PfdSpec>,
        name: Option<String>,
    ) -> Connection {
        Connection {
            fd,
            info,
            spec,
            name,
        }
    }

    /// What validation found (family, both addresses, identity).
    pub fn info(&self) -> &ConnectionInfo {
        &self.info
    }

    /// This end's address: for an accepted connection, the listening address it came in on.
    pub fn local_addr(&self) -> &SocketAddress {
        self.info.local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> &SocketAddress {
        self.info.peer_addr()
    }

    /// The `pfd:` remote it was taken as (`None` for [`Connection::take_stdio`]).
    pub fn spec(&self) -> Option<&PfdSpec> {
        self.spec.as_ref()
    }

    /// Takes the connection an inetd-style service manager passes on standard input and
    /// output (`systemd-socket-activate --inetd --accept`, `Accept=yes` with
    /// `StandardInput=socket` in a unit, inetd's `nowait` services).
    ///
    /// Fd 0 must be a connected stream socket (checked like
    /// [`validate_connection`], read-only; on failure nothing changes). The connection is then
    /// moved to a new close-on-exec, non-blocking fd (3 or above), and standard input, standard
    /// output and standard error, each when it is the same socket (inetd and
    /// `StandardInput=socket` put it on all three by default), are pointed at `/dev/null`: a
    /// stray `println!` or log line can no longer write into the client's stream, nor a read of
    /// stdin steal its bytes. Log to the journal (`StandardError=journal`) or a file instead. A
    /// second call finds `/dev/null` on fd 0 and fails, so the connection is taken once; call it
    /// from one thread, before any other takes fd 0.
    ///
    /// `pfd:` cannot name this socket (fds 0 to 2 are refused on purpose): this is the one way
    /// to take it.
    ///
    /// ```no_run
    /// // no_run: needs `systemd-socket-activate --inetd --accept -l ... -- this-program`.
    /// use std::io::Write;
    /// let conn = stream_pfd::Connection::take_stdio()?;
    /// eprintln!("serving {}", conn.peer_addr());
    /// let mut stream = conn.into_std();
    /// stream.set_nonblocking(false)?;
    /// stream.write_all(b"hello\n")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn take_stdio() -> Result<Connection, ConnectionError> {
        let stdin = io::stdin();
        let fd0 = stdin.as_fd();
        let info = validate_connection(fd0)?;
        let sys = |call: &'static str, source: io::Error| {
            ConnectionError::from(ValidateError::Sys {
                fd: 0,
                call,
                source,
            })
        };
        let fd = fd0
            .try_clone_to_owned()
            .map_err(|e| sys("fcntl(F_DUPFD_CLOEXEC)", e))?;
        // O_NONBLOCK first: the last step that can fail, so that a failure leaves stdio as it
        // was (the flag is on the shared file description: harmless once stdio is redirected).
        let nonblocking = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_GETFL).and_then(|f| {
            let flags = nix::fcntl::OFlag::from_bits_retain(f) | nix::fcntl::OFlag::O_NONBLOCK;
            nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFL(flags))
        });
        nonblocking.map_err(|e| sys("fcntl(F_SETFL, O_NONBLOCK)", e.into()))?;
        let devnull = std::fs::File::open("/dev/null").map_err(|e| sys("open(/dev/null)", e))?;
        let identity = |fd: BorrowedFd<'_>| {
            nix::sys::stat::fstat(fd)
                .ok()
                .map(|st| (st.st_dev, st.st_ino))
        };
        let ours = identity(fd.as_fd());
        let same = |other: BorrowedFd<'_>| ours.is_some() && identity(other) == ours;
        // Errors from here on are reported after the connection is already ours: dup2 onto an
        // open fd with /dev/null cannot fail but for EINTR/EBUSY, which Linux does not return.
        if same(io::stdout().as_fd()) {
            nix::unistd::dup2_stdout(&devnull).map_err(|e| sys("dup2(/dev/null, 1)", e.into()))?;
        }
        if same(io::stderr().as_fd()) {
            nix::unistd::dup2_stderr(&devnull).map_err(|e| sys("dup2(/dev/null, 2)", e.into()))?;
        }
        nix::unistd::dup2_stdin(&devnull).map_err(|e| sys("dup2(/dev/null, 0)", e.into()))?;
        Ok(Connection::new(fd, info, None, None))
    }

    /// Its `LISTEN_FDNAMES` name when it was passed by systemd (`connection` for an
    /// `Accept=yes` socket unit, `unknown` when systemd gave no names).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The owned fd.
    pub fn into_owned_fd(self) -> OwnedFd {
        self.fd
    }

    /// A std stream of the right kind (non-blocking, like the fd: call `set_nonblocking(false)`
    /// for blocking reads and writes).
    pub fn into_std(self) -> StdStream {
        match self.info.family() {
            Family::Unix => StdStream::Unix(UnixStream::from(self.fd)),
            Family::Inet | Family::Inet6 => StdStream::Tcp(TcpStream::from(self.fd)),
        }
    }
}

impl AsFd for Connection {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Connection {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<Connection> for OwnedFd {
    fn from(connection: Connection) -> OwnedFd {
        connection.fd
    }
}

/// A std stream, by family. See [`Connection::into_std`]. Reads and writes like the stream
/// it holds.
///
/// ```
/// use std::io::{Read, Write};
/// use stream_pfd::StdStream;
///
/// let (a, mut b) = std::os::unix::net::UnixStream::pair()?;
/// let mut stream = StdStream::Unix(a);
/// stream.write_all(b"hi")?;
/// let mut got = [0; 2];
/// b.read_exact(&mut got)?;
/// assert_eq!(&got, b"hi");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub enum StdStream {
    /// An `AF_UNIX` stream.
    Unix(UnixStream),
    /// A TCP stream.
    Tcp(TcpStream),
}

impl StdListener {
    /// Accepts a connection, whichever the family: the stream and the peer's address. Blocks
    /// only if the listener is blocking ([`set_nonblocking(false)`](StdListener::set_nonblocking));
    /// a taken listener is non-blocking, so without that this fails with `WouldBlock` when no
    /// connection is waiting.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// # let l = stream_pfd::Listener::try_from_fd(std::net::TcpListener::bind("127.0.0.1:0")?.into())?;
    /// # let addr = l.local_addr().to_string();
    /// let listener = l.into_std();
    /// listener.set_nonblocking(false)?;
    /// let mut client = std::net::TcpStream::connect(addr)?;
    /// let (mut stream, peer) = listener.accept()?;
    /// assert_eq!(peer.to_string(), client.local_addr()?.to_string());
    /// stream.write_all(b"hello\n")?;
    /// # drop(stream);
    /// let mut got = String::new();
    /// client.read_to_string(&mut got)?;
    /// assert_eq!(got, "hello\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn accept(&self) -> io::Result<(StdStream, SocketAddress)> {
        match self {
            StdListener::Unix(l) => {
                let (stream, addr) = l.accept()?;
                Ok((StdStream::Unix(stream), SocketAddress::from(&addr)))
            }
            StdListener::Tcp(l) => {
                let (stream, addr) = l.accept()?;
                Ok((StdStream::Tcp(stream), SocketAddress::Inet(addr)))
            }
        }
    }
}

impl StdStream {
    /// Sets or clears `O_NONBLOCK` (shared with every duplicate of the socket).
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// stream_pfd::StdStream::Unix(a).set_nonblocking(false)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        match self {
            StdStream::Unix(s) => s.set_nonblocking(nonblocking),
            StdStream::Tcp(s) => s.set_nonblocking(nonblocking),
        }
    }
}

impl Read for StdStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            StdStream::Unix(s) => s.read(buf),
            StdStream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for StdStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            StdStream::Unix(s) => s.write(buf),
            StdStream::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            StdStream::Unix(s) => s.flush(),
            StdStream::Tcp(s) => s.flush(),
        }
    }
}

impl AsFd for StdStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            StdStream::Unix(s) => s.as_fd(),
            StdStream::Tcp(s) => s.as_fd(),
        }
    }
}

impl From<StdStream> for OwnedFd {
    fn from(stream: StdStream) -> OwnedFd {
        match stream {
            StdStream::Unix(s) => s.into(),
            StdStream::Tcp(s) => s.into(),
        }
    }
}
