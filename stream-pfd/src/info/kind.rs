//! The kinds an fd can be: address families, file kinds, socket types and protocol names.

use super::IPPROTO_MPTCP;

use std::fmt;

use crate::addr::family_name;

/// A supported address family.
///
/// ```
/// use stream_pfd::info::Family;
/// assert_eq!(Family::Inet6.to_string(), "AF_INET6");
/// assert_eq!(Family::Unix.raw(), libc::AF_UNIX);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// `AF_UNIX`: a path, abstract or unnamed socket.
    Unix,
    /// `AF_INET`: IPv4 (TCP or MPTCP).
    Inet,
    /// `AF_INET6`: IPv6 (TCP or MPTCP).
    Inet6,
}

impl Family {
    /// The `AF_*` constant.
    ///
    /// ```
    /// assert_eq!(stream_pfd::info::Family::Inet.raw(), libc::AF_INET);
    /// ```
    pub fn raw(self) -> i32 {
        match self {
            Family::Unix => libc::AF_UNIX,
            Family::Inet => libc::AF_INET,
            Family::Inet6 => libc::AF_INET6,
        }
    }

    /// The family for an `AF_*` constant, if supported.
    ///
    /// ```
    /// use stream_pfd::info::Family;
    /// assert_eq!(Family::from_raw(libc::AF_INET6), Some(Family::Inet6));
    /// assert_eq!(Family::from_raw(libc::AF_VSOCK), None);
    /// ```
    pub fn from_raw(raw: i32) -> Option<Family> {
        match raw {
            libc::AF_UNIX => Some(Family::Unix),
            libc::AF_INET => Some(Family::Inet),
            libc::AF_INET6 => Some(Family::Inet6),
            _ => None,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(family_name(self.raw()))
    }
}

/// The name of an IP protocol number, for messages.
pub(crate) fn protocol_name(protocol: i32) -> &'static str {
    match protocol {
        libc::IPPROTO_TCP => "TCP",
        IPPROTO_MPTCP => "MPTCP",
        libc::IPPROTO_SCTP => "SCTP",
        libc::IPPROTO_UDP => "UDP",
        _ => "unknown",
    }
}

/// What a non-socket fd is (from `fstat`'s file type).
///
/// ```
/// use stream_pfd::ValidateError;
/// use stream_pfd::info::FileKind;
///
/// let null = std::fs::File::open("/dev/null")?;
/// match stream_pfd::validate(std::os::fd::AsFd::as_fd(&null)) {
///     Err(ValidateError::NotSocket { kind, .. }) => assert_eq!(kind, FileKind::CharDevice),
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A character device such as `/dev/null` or a terminal.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A pipe or FIFO.
    Fifo,
    /// A symbolic link (opened with `O_PATH`).
    Symlink,
    /// An anonymous inode: eventfd, epoll, timerfd, signalfd and the like.
    AnonInode,
    /// Any other file type, with its `st_mode`.
    Other(u32),
}

impl FileKind {
    /// The kind for an `st_mode` value.
    ///
    /// ```
    /// use stream_pfd::info::FileKind;
    /// assert_eq!(FileKind::from_mode(libc::S_IFIFO | 0o600), FileKind::Fifo);
    /// ```
    pub fn from_mode(mode: u32) -> FileKind {
        match mode & libc::S_IFMT {
            libc::S_IFREG => FileKind::Regular,
            libc::S_IFDIR => FileKind::Directory,
            libc::S_IFCHR => FileKind::CharDevice,
            libc::S_IFBLK => FileKind::BlockDevice,
            libc::S_IFIFO => FileKind::Fifo,
            libc::S_IFLNK => FileKind::Symlink,
            0 => FileKind::AnonInode,
            _ => FileKind::Other(mode),
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileKind::Regular => f.write_str("a regular file"),
            FileKind::Directory => f.write_str("a directory"),
            FileKind::CharDevice => f.write_str("a character device (like /dev/null or a tty)"),
            FileKind::BlockDevice => f.write_str("a block device"),
            FileKind::Fifo => f.write_str("a pipe or FIFO"),
            FileKind::Symlink => f.write_str("a symbolic link"),
            FileKind::AnonInode => {
                f.write_str("an anonymous inode (eventfd, epoll, timerfd, signalfd or similar)")
            }
            FileKind::Other(mode) => write!(f, "a file of unknown type (mode {mode:#o})"),
        }
    }
}

/// The type of a socket that is not `SOCK_STREAM` (`SO_TYPE`).
///
/// ```
/// use stream_pfd::info::SockType;
/// assert_eq!(SockType::from_raw(libc::SOCK_DGRAM), SockType::Datagram);
/// assert_eq!(SockType::Datagram.to_string(), "a datagram socket (SOCK_DGRAM)");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SockType {
    /// `SOCK_STREAM`.
    Stream,
    /// `SOCK_DGRAM` (systemd `ListenDatagram=`, `systemd-socket-activate --datagram`).
    Datagram,
    /// `SOCK_SEQPACKET` (systemd `ListenSequentialPacket=`).
    SeqPacket,
    /// `SOCK_RAW`.
    Raw,
    /// `SOCK_RDM`.
    Rdm,
    /// Another value.
    Other(i32),
}

impl SockType {
    /// The type for an `SO_TYPE` value.
    ///
    /// ```
    /// use stream_pfd::info::SockType;
    /// assert_eq!(SockType::from_raw(libc::SOCK_SEQPACKET), SockType::SeqPacket);
    /// ```
    pub fn from_raw(raw: i32) -> SockType {
        match raw {
            libc::SOCK_STREAM => SockType::Stream,
            libc::SOCK_DGRAM => SockType::Datagram,
            libc::SOCK_SEQPACKET => SockType::SeqPacket,
            libc::SOCK_RAW => SockType::Raw,
            libc::SOCK_RDM => SockType::Rdm,
            other => SockType::Other(other),
        }
    }
}

impl fmt::Display for SockType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SockType::Stream => f.write_str("a stream socket (SOCK_STREAM)"),
            SockType::Datagram => f.write_str("a datagram socket (SOCK_DGRAM)"),
            SockType::SeqPacket => f.write_str("a sequential-packet socket (SOCK_SEQPACKET)"),
            SockType::Raw => f.write_str("a raw socket (SOCK_RAW)"),
            SockType::Rdm => f.write_str("a reliably-delivered-message socket (SOCK_RDM)"),
            SockType::Other(raw) => write!(f, "a socket of unknown type {raw}"),
        }
    }
}
