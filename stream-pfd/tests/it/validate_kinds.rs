//! `validate` (read-only) and `Listener::try_from_fd` on every kind of fd, with real kernel
//! objects created in this process. Nothing here touches fds it did not create.

use crate::common;

use std::io::Write;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};

use common::{TempDir, abstract_listener, abstract_name, flags, raw_socket, set_nonblock};
use nix::sys::socket::{AddressFamily, Backlog, SockType as NixSockType, UnixAddr, bind, listen};
use stream_pfd::addr::{SocketAddress, UnixAddress};
use stream_pfd::info::{Family, FileKind, SockType};
use stream_pfd::{Listener, ValidateError, validate};

/// Validates `fd` in both O_NONBLOCK states and checks its flags are untouched each time.
fn check(fd: &impl AsFd) -> Result<stream_pfd::SocketInfo, ValidateError> {
    let fd = fd.as_fd();
    let original = flags(fd).0;
    let mut last = None;
    for nonblock in [false, true] {
        set_nonblock(fd, nonblock);
        let before = flags(fd);
        let result = validate(fd);
        assert_eq!(flags(fd), before, "validate changed the fd's flags");
        last = Some(result);
    }
    set_nonblock(fd, original);
    last.unwrap()
}

#[test]
fn unix_path_listener_is_valid() {
    let dir = TempDir::new("stream-pfd-kinds");
    let path = dir.join("l.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let info = check(&listener).unwrap();
    assert_eq!(info.family(), Family::Unix);
    assert_eq!(info.protocol(), 0);
    assert_eq!(
        info.local_addr(),
        &SocketAddress::Unix(UnixAddress::Path(path.clone()))
    );
    assert_eq!(
        info.to_string(),
        format!("AF_UNIX stream listener on {}", path.display())
    );
}

#[test]
fn unix_abstract_listener_is_valid() {
    let name = abstract_name("abs");
    let fd = abstract_listener(&name);
    let info = check(&fd).unwrap();
    assert_eq!(
        info.local_addr(),
        &SocketAddress::Unix(UnixAddress::Abstract(name.clone().into_bytes()))
    );
    assert_eq!(info.local_addr().to_string(), format!("@{name}"));
}

#[test]
fn unix_autobound_listener_is_valid() {
    // bind() with only the family autobinds to a kernel-chosen abstract name.
    let fd = raw_socket(AddressFamily::Unix, NixSockType::Stream);
    let autobind = UnixAddr::new_unnamed();
    bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &autobind).unwrap();
    listen(&fd, Backlog::new(4).unwrap()).unwrap();
    let info = check(&fd).unwrap();
    match info.local_addr() {
        SocketAddress::Unix(UnixAddress::Abstract(name)) => assert_eq!(name.len(), 5),
        other => panic!("autobind gave {other:?}"),
    }
}

#[test]
fn tcp_v4_listener_is_valid() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let info = check(&listener).unwrap();
    assert_eq!(info.family(), Family::Inet);
    assert_eq!(info.protocol(), libc::IPPROTO_TCP);
    assert_eq!(
        info.local_addr(),
        &SocketAddress::Inet(listener.local_addr().unwrap())
    );
}

#[test]
fn tcp_v6_listener_is_valid() {
    let listener = match TcpListener::bind("[::1]:0") {
        Ok(l) => l,
        Err(err) => {
            test_support::skip!("no IPv6 loopback: {err}");
        }
    };
    let info = check(&listener).unwrap();
    assert_eq!(info.family(), Family::Inet6);
    assert_eq!(
        info.local_addr(),
        &SocketAddress::Inet(listener.local_addr().unwrap())
    );
    assert!(
        info.to_string()
            .starts_with("AF_INET6 TCP listener on [::1]:")
    );
}

#[test]
fn mptcp_listener_is_valid() {
    // SAFETY: socket() takes integers only.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 262) };
    if raw < 0 {
        let err = std::io::Error::last_os_error();
        test_support::skip_kernel!("no MPTCP in this kernel: {err}");
    }
    // SAFETY: `raw` was just returned by socket() and is owned by nobody else.
    let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) };
    bind(raw, &nix::sys::socket::SockaddrIn::new(127, 0, 0, 1, 0)).unwrap();
    listen(&fd, Backlog::new(4).unwrap()).unwrap();
    let info = check(&fd).unwrap();
    assert_eq!(info.protocol(), 262);
    assert!(
        info.to_string()
            .starts_with("AF_INET MPTCP listener on 127.0.0.1:")
    );
}

#[test]
fn unbound_sockets_are_not_listening() {
    for family in [AddressFamily::Unix, AddressFamily::Inet] {
        let fd = raw_socket(family, NixSockType::Stream);
        let err = check(&fd).unwrap_err();
        assert!(
            matches!(err, ValidateError::NotListening { local: None, .. }),
            "{family:?}: {err:?}"
        );
        assert!(
            err.to_string().contains("is an unbound stream socket"),
            "{err}"
        );
    }
}

#[test]
fn bound_but_not_listening() {
    let tcp = common::bound_not_listening_tcp();
    let err = check(&tcp).unwrap_err();
    match &err {
        ValidateError::NotListening {
            local: Some(SocketAddress::Inet(addr)),
            ..
        } => {
            assert_eq!(addr.ip().to_string(), "127.0.0.1");
            assert_ne!(addr.port(), 0);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().contains(
            "that is not listening (listen() was never called on it, or it was shut down)"
        ),
        "{err}"
    );

    let dir = TempDir::new("stream-pfd-bound");
    let path = dir.join("bound.sock");
    let unix = raw_socket(AddressFamily::Unix, NixSockType::Stream);
    bind(
        std::os::fd::AsRawFd::as_raw_fd(&unix),
        &UnixAddr::new(&path).unwrap(),
    )
    .unwrap();
    let err = check(&unix).unwrap_err();
    assert!(
        matches!(&err, ValidateError::NotListening { local: Some(SocketAddress::Unix(UnixAddress::Path(p))), .. } if *p == path),
        "{err:?}"
    );
}

#[test]
fn connected_socketpair_is_rejected_with_accept_hint() {
    let (a, _b) = UnixStream::pair().unwrap();
    let err = check(&a).unwrap_err();
    match &err {
        ValidateError::Connected { peer, .. } => {
            assert_eq!(peer, &SocketAddress::Unix(UnixAddress::Unnamed));
        }
        other => panic!("{other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.starts_with("not a listening socket: fd "), "{msg}");
    assert!(
        msg.contains("which is what systemd passes with Accept=yes; use Accept=no"),
        "{msg}"
    );
}

#[test]
fn accepted_tcp_connection_is_rejected() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (accepted, peer) = listener.accept().unwrap();
    client.write_all(b"x").unwrap();
    let err = check(&accepted).unwrap_err();
    match &err {
        ValidateError::Connected {
            local: Some(local),
            peer: got,
            ..
        } => {
            assert_eq!(got, &SocketAddress::Inet(peer));
            assert_eq!(local, &SocketAddress::Inet(listener.local_addr().unwrap()));
        }
        other => panic!("{other:?}"),
    }
    // The client end is connected too.
    assert!(matches!(
        check(&client),
        Err(ValidateError::Connected { .. })
    ));
}

#[test]
fn accepted_unix_connection_is_rejected() {
    let dir = TempDir::new("stream-pfd-acc");
    let path = dir.join("a.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let _client = UnixStream::connect(&path).unwrap();
    let (accepted, _) = listener.accept().unwrap();
    let err = check(&accepted).unwrap_err();
    assert!(
        matches!(&err, ValidateError::Connected { local: Some(SocketAddress::Unix(UnixAddress::Path(p))), .. } if *p == path),
        "{err:?}"
    );
}

#[test]
fn datagram_sockets_are_not_stream() {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let unix = UnixDatagram::unbound().unwrap();
    for fd in [udp.as_fd(), unix.as_fd()] {
        let err = check(&fd).unwrap_err();
        assert!(
            matches!(
                err,
                ValidateError::NotStream {
                    sock_type: SockType::Datagram,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("is a datagram socket (SOCK_DGRAM)"),
            "{err}"
        );
    }
}

#[test]
fn seqpacket_listener_is_not_stream() {
    let fd = raw_socket(AddressFamily::Unix, NixSockType::SeqPacket);
    bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &UnixAddr::new_abstract(abstract_name("seq").as_bytes()).unwrap(),
    )
    .unwrap();
    listen(&fd, Backlog::new(4).unwrap()).unwrap();
    let err = check(&fd).unwrap_err();
    assert!(
        matches!(
            err,
            ValidateError::NotStream {
                sock_type: SockType::SeqPacket,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("ListenSequentialPacket="), "{err}");
}

#[test]
fn non_sockets_are_rejected_with_their_kind() {
    let (read_end, write_end) = nix::unistd::pipe().unwrap();
    let dir = TempDir::new("stream-pfd-files");
    let file = std::fs::File::create(dir.join("regular")).unwrap();
    let null = std::fs::File::open("/dev/null").unwrap();
    let directory = std::fs::File::open(dir.path()).unwrap();
    let cases: [(&dyn AsFd, FileKind, &str); 5] = [
        (&read_end, FileKind::Fifo, "a pipe or FIFO"),
        (&write_end, FileKind::Fifo, "a pipe or FIFO"),
        (&file, FileKind::Regular, "a regular file"),
        (&null, FileKind::CharDevice, "a character device"),
        (&directory, FileKind::Directory, "a directory"),
    ];
    for (fd, kind, text) in cases {
        let err = check(&fd.as_fd()).unwrap_err();
        match &err {
            ValidateError::NotSocket { kind: got, .. } => assert_eq!(*got, kind),
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().starts_with("not a socket: fd "), "{err}");
        assert!(err.to_string().contains(text), "{err}");
        let io: std::io::Error = err.into();
        assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
    }
}

#[test]
fn vsock_listener_is_unsupported_family() {
    let fd = match nix::sys::socket::socket(
        AddressFamily::Vsock,
        NixSockType::Stream,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    ) {
        Ok(fd) => fd,
        Err(err) => {
            test_support::skip_kernel!("no AF_VSOCK: {err}");
        }
    };
    let addr = nix::sys::socket::VsockAddr::new(libc::VMADDR_CID_ANY, libc::VMADDR_PORT_ANY);
    if let Err(err) = bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &addr)
        .and_then(|()| listen(&fd, Backlog::new(4).unwrap()))
    {
        test_support::skip_kernel!("cannot listen on AF_VSOCK: {err}");
    }
    let err = check(&fd).unwrap_err();
    assert!(
        matches!(
            err,
            ValidateError::UnsupportedFamily {
                family: libc::AF_VSOCK,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("AF_VSOCK"), "{err}");
}

#[test]
fn sctp_listener_is_unsupported_protocol() {
    let fd = match nix::sys::socket::socket(
        AddressFamily::Inet,
        NixSockType::Stream,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        nix::sys::socket::SockProtocol::Sctp,
    ) {
        Ok(fd) => fd,
        Err(err) => {
            test_support::skip_kernel!("no SCTP in this kernel: {err}");
        }
    };
    bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &nix::sys::socket::SockaddrIn::new(127, 0, 0, 1, 0),
    )
    .unwrap();
    listen(&fd, Backlog::new(4).unwrap()).unwrap();
    let err = check(&fd).unwrap_err();
    assert!(
        matches!(
            err,
            ValidateError::UnsupportedProtocol {
                protocol: libc::IPPROTO_SCTP,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn same_socket_has_same_identity() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let copy = listener.try_clone().unwrap();
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = validate(listener.as_fd()).unwrap();
    let b = validate(copy.as_fd()).unwrap();
    let c = validate(other.as_fd()).unwrap();
    assert_eq!(a.id(), b.id());
    assert_ne!(a.id(), c.id());
    assert_eq!(a.id().to_string(), format!("socket:[{}]", a.id().ino()));
}

#[test]
fn try_from_fd_makes_nonblocking_and_keeps_working() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    set_nonblock(listener.as_fd(), false);
    let taken = Listener::try_from_fd(listener.into()).unwrap();
    assert_eq!(flags(taken.as_fd()), (true, true));
    assert_eq!(taken.spec(), None);
    let tcp = taken.into_tcp_listener().unwrap();
    assert_eq!(
        tcp.accept().unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
    let _client = TcpStream::connect(addr).unwrap();
    // Poll until the connection is there (non-blocking listener).
    test_support::wait::until(
        "the connection in the non-blocking listener's queue",
        || tcp.accept(),
    );
}

#[test]
fn try_from_fd_failure_returns_the_fd_untouched() {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = udp.local_addr().unwrap();
    set_nonblock(udp.as_fd(), false);
    let before = flags(udp.as_fd());
    let rejected = Listener::try_from_fd(udp.into()).unwrap_err();
    assert!(matches!(rejected.error(), ValidateError::NotStream { .. }));
    let fd: OwnedFd = rejected.into_fd();
    assert_eq!(flags(fd.as_fd()), before);
    let udp = UdpSocket::from(fd);
    assert_eq!(udp.local_addr().unwrap(), addr);
}

#[test]
fn wrong_family_conversions_keep_the_listener() {
    let dir = TempDir::new("stream-pfd-fam");
    let unix =
        Listener::try_from_fd(UnixListener::bind(dir.join("f.sock")).unwrap().into()).unwrap();
    let err = unix.into_tcp_listener().unwrap_err();
    assert!(
        err.to_string()
            .contains("it is an AF_UNIX socket, not AF_INET or AF_INET6"),
        "{err}"
    );
    let unix = err.into_listener().into_unix_listener().unwrap();
    assert!(unix.local_addr().unwrap().as_pathname().is_some());

    let tcp = Listener::try_from_fd(TcpListener::bind("127.0.0.1:0").unwrap().into()).unwrap();
    match tcp.into_std() {
        stream_pfd::StdListener::Tcp(_) => {}
        other => panic!("{other:?}"),
    }
}

/// An O_PATH descriptor of a socket file stats as a socket; it is named for what it is.
#[test]
fn o_path_descriptor_of_a_socket_file_is_not_a_socket() {
    use std::os::fd::AsFd;
    let dir = TempDir::new("stream-pfd-opath");
    let path = dir.join("s.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let opath = nix::fcntl::open(
        &path,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .unwrap();
    let err = stream_pfd::validate(opath.as_fd()).unwrap_err();
    assert!(
        matches!(err, stream_pfd::ValidateError::PathOnly { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("is an O_PATH reference to a socket file, not the socket itself"),
        "{err}"
    );
}
