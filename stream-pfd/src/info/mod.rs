//! What an fd is: [`SocketInfo`] (what [`validate`](crate::validate) found),
//! [`ConnectionInfo`] (what [`validate_connection`](crate::validate_connection) found) and the
//! kinds of things an fd can be instead ([`FileKind`], [`SockType`]), with their names for
//! messages.

use std::fmt;
use std::os::fd::RawFd;

use nix::sys::stat::FileStat;

use crate::addr::SocketAddress;

mod kind;
pub(crate) use kind::protocol_name;
pub use kind::{Family, FileKind, SockType};

/// `IPPROTO_MPTCP` (Multipath TCP), accepted like TCP.
pub(crate) const IPPROTO_MPTCP: i32 = 262;

/// The identity of a socket: the device and inode of the object behind the fd (`fstat`).
///
/// Two fd numbers with the same identity are the same socket (`dup`ed or inherited twice), so
/// taking ownership of both would close it twice; the take-once registry is keyed by this.
///
/// ```
/// use std::os::fd::AsFd;
/// use std::os::unix::net::UnixListener;
///
/// let dir = std::env::temp_dir().join(format!("stream-pfd-doc-id-{}", std::process::id()));
/// # let _ = std::fs::remove_file(&dir);
/// let listener = UnixListener::bind(&dir)?;
/// let copy = listener.try_clone()?; // a second fd number, the same socket
/// let a = stream_pfd::validate(listener.as_fd())?;
/// let b = stream_pfd::validate(copy.as_fd())?;
/// assert_eq!(a.id(), b.id());
/// assert_ne!(a.fd(), b.fd());
/// # std::fs::remove_file(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId {
    dev: u64,
    ino: u64,
}

impl SocketId {
    pub(crate) fn from_stat(st: &FileStat) -> SocketId {
        SocketId {
            dev: st.st_dev,
            ino: st.st_ino,
        }
    }

    /// The device number (`st_dev`).
    ///
    /// ```
    /// use std::os::fd::{AsFd, AsRawFd};
    /// use std::os::unix::fs::MetadataExt;
    /// # let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let info = stream_pfd::validate(l.as_fd())?;
    /// // The same identity as stat(2) through /proc gives.
    /// let st = std::fs::metadata(format!("/proc/self/fd/{}", l.as_raw_fd()))?;
    /// assert_eq!((info.id().dev(), info.id().ino()), (st.dev(), st.ino()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dev(&self) -> u64 {
        self.dev
    }

    /// The inode number (`st_ino`); for sockets, what `/proc/PID/fd` shows as `socket:[INO]`.
    ///
    /// ```
    /// # use std::os::fd::AsFd;
    /// # let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let info = stream_pfd::validate(l.as_fd())?;
    /// assert!(info.id().ino() > 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ino(&self) -> u64 {
        self.ino
    }
}

impl fmt::Display for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "socket:[{}]", self.ino)
    }
}

/// What validation found: a listening stream socket of a supported family.
///
/// ```
/// use std::os::fd::AsFd;
/// use stream_pfd::addr::SocketAddress;
/// use stream_pfd::info::Family;
///
/// let tcp = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let info = stream_pfd::validate(tcp.as_fd())?;
/// assert_eq!(info.family(), Family::Inet);
/// assert_eq!(info.local_addr(), &SocketAddress::Inet(tcp.local_addr()?));
/// assert!(info.to_string().starts_with("AF_INET TCP listener on 127.0.0.1:"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketInfo {
    fd: RawFd,
    family: Family,
    protocol: i32,
    local: SocketAddress,
    id: SocketId,
}

impl SocketInfo {
    pub(crate) fn new(
        fd: RawFd,
        family: Family,
        protocol: i32,
        local: SocketAddress,
        id: SocketId,
    ) -> SocketInfo {
        SocketInfo {
            fd,
            family,
            protocol,
            local,
            id,
        }
    }

    /// The fd number at validation time (for logs; ownership is only ever passed as
    /// `OwnedFd`/`BorrowedFd`).
    ///
    /// ```
    /// # use std::os::fd::{AsFd, AsRawFd};
    /// # let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// assert_eq!(stream_pfd::validate(l.as_fd())?.fd(), l.as_raw_fd());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fd(&self) -> RawFd {
        self.fd
    }

    /// The address family.
    ///
    /// ```
    /// # use std::os::fd::AsFd;
    /// # let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// assert_eq!(stream_pfd::validate(l.as_fd())?.family(), stream_pfd::info::Family::Inet);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn family(&self) -> Family {
        self.family
    }

    /// The protocol (`SO_PROTOCOL`): 0 for `AF_UNIX`, `IPPROTO_TCP` or `IPPROTO_MPTCP` (262)
    /// for IP.
    ///
    /// ```
    /// # use std::os::fd::AsFd;
    /// # let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// assert_eq!(stream_pfd::validate(l.as_fd())?.protocol(), libc::IPPROTO_TCP);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn protocol(&self) -> i32 {
        self.protocol
    }

    /// The local address the socket listens on (`getsockname`).
    ///
    /// ```
    /// # use std::os::fd::AsFd;
    /// # let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let addr = stream_pfd::validate(l.as_fd())?.local_addr().to_string();
    /// assert_eq!(addr, l.local_addr()?.to_string());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_addr(&self) -> &SocketAddress {
        &self.local
    }

    /// The socket's identity (device and inode).
    ///
    /// ```
    /// # use std::os::fd::AsFd;
    /// # let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let id = stream_pfd::validate(l.as_fd())?.id();
    /// assert_eq!(id.to_string(), format!("socket:[{}]", id.ino()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id(&self) -> SocketId {
        self.id
    }
}

impl fmt::Display for SocketInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.family {
            Family::Unix => write!(f, "AF_UNIX stream listener on {}", self.local),
            Family::Inet | Family::Inet6 => write!(
                f,
                "{} {} listener on {}",
                self.family,
                protocol_name(self.protocol),
                self.local
            ),
        }
    }
}

/// What connection validation found: a connected stream socket of a supported family, with
/// both ends' addresses.
///
/// ```
/// use std::os::fd::AsFd;
/// use stream_pfd::addr::SocketAddress;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let client = std::net::TcpStream::connect(listener.local_addr()?)?;
/// let (server, _) = listener.accept()?;
/// let info = stream_pfd::validate_connection(server.as_fd())?;
/// assert_eq!(info.peer_addr(), &SocketAddress::Inet(client.local_addr()?));
/// assert_eq!(info.local_addr(), &SocketAddress::Inet(listener.local_addr()?));
/// assert!(info.to_string().starts_with("AF_INET TCP connection on 127.0.0.1:"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    socket: SocketInfo,
    peer: SocketAddress,
}

impl ConnectionInfo {
    pub(crate) fn new(socket: SocketInfo, peer: SocketAddress) -> ConnectionInfo {
        ConnectionInfo { socket, peer }
    }

    /// The fd number at validation time (for logs).
    ///
    /// ```
    /// # use std::os::fd::{AsFd, AsRawFd};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// assert_eq!(stream_pfd::validate_connection(a.as_fd())?.fd(), a.as_raw_fd());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fd(&self) -> RawFd {
        self.socket.fd()
    }

    /// The address family.
    ///
    /// ```
    /// # use std::os::fd::AsFd;
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let info = stream_pfd::validate_connection(a.as_fd())?;
    /// assert_eq!(info.family(), stream_pfd::info::Family::Unix);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn family(&self) -> Family {
        self.socket.family()
    }

    /// The protocol (`SO_PROTOCOL`): 0 for `AF_UNIX`, `IPPROTO_TCP` or `IPPROTO_MPTCP` (262)
    /// for IP.
    ///
    /// ```
    /// # use std::os::fd::AsFd;
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// assert_eq!(stream_pfd::validate_connection(a.as_fd())?.protocol(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn protocol(&self) -> i32 {
        self.socket.protocol()
    }

    /// This end's address (`getsockname`): for an accepted connection, the address of the
    /// listener it came through.
    ///
    /// ```
    /// # use std::os::fd::AsFd;
    /// use stream_pfd::addr::{SocketAddress, UnixAddress};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let info = stream_pfd::validate_connection(a.as_fd())?;
    /// assert_eq!(info.local_addr(), &SocketAddress::Unix(UnixAddress::Unnamed));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_addr(&self) -> &SocketAddress {
        self.socket.local_addr()
    }

    /// The peer's address (`getpeername`).
    ///
    /// ```
    /// # use std::os::fd::AsFd;
    /// use stream_pfd::addr::{SocketAddress, UnixAddress};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let info = stream_pfd::validate_connection(a.as_fd())?;
    /// assert_eq!(info.peer_addr(), &SocketAddress::Unix(UnixAddress::Unnamed));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn peer_addr(&self) -> &SocketAddress {
        &self.peer
    }

    /// The socket's identity (device and inode).
    ///
    /// ```
    /// # use std::os::fd::AsFd;
    /// let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// let (ia, ib) = (stream_pfd::validate_connection(a.as_fd())?, stream_pfd::validate_connection(b.as_fd())?);
    /// assert_ne!(ia.id(), ib.id()); // two ends, two sockets
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id(&self) -> SocketId {
        self.socket.id()
    }
}

impl fmt::Display for ConnectionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let socket = &self.socket;
        match socket.family() {
            Family::Unix => f.write_str("AF_UNIX stream")?,
            Family::Inet | Family::Inet6 => write!(
                f,
                "{} {}",
                socket.family(),
                protocol_name(socket.protocol())
            )?,
        }
        write!(
            f,
            " connection on {} from {}",
            socket.local_addr(),
            self.peer
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The protocol names and file kinds are tables: a reviewer sees every change.
    #[test]
    fn protocol_names_and_file_kinds() {
        let mut table: Vec<String> = [
            libc::IPPROTO_IP,
            libc::IPPROTO_TCP,
            libc::IPPROTO_UDP,
            libc::IPPROTO_SCTP,
            IPPROTO_MPTCP,
            libc::IPPROTO_RAW,
        ]
        .iter()
        .map(|p| format!("protocol {p:3}: {}", protocol_name(*p)))
        .collect();
        for mode in [
            libc::S_IFREG,
            libc::S_IFDIR,
            libc::S_IFCHR,
            libc::S_IFBLK,
            libc::S_IFIFO,
            libc::S_IFLNK,
            libc::S_IFSOCK,
            0,
        ] {
            let kind = FileKind::from_mode(mode | 0o644);
            table.push(format!("mode {mode:06o}: {kind:?}: {kind}"));
        }
        insta::assert_snapshot!(table.join("\n"));
    }
}
