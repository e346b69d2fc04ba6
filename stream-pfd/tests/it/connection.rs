//! `take_connection` and `take_unvalidated` on real sockets and files.
//!
//! In this process, an fd is "inherited" the way `ListenFds` sees it without `LISTEN_FDS`: it
//! is open when `ListenFds` is built (the start-up snapshot), and its owner gives it up
//! (`into_raw_fd`) before it is taken. Refused fds keep their owner: a failed take claims
//! nothing. The `LISTEN_FDS` cases run the `pfd-info` example with the fds placed at 3, 4, ...

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};

use common::{
    TempDir, abstract_name, bound_not_listening_tcp, flags, line, pfd_info, run_pfd_info,
};
use stream_pfd::addr::{SocketAddress, UnixAddress};
use stream_pfd::info::{Family, SockType};
use stream_pfd::{Connection, ListenFds, PfdSpec, StdStream, TakeError, ValidateError};

fn spec_of(fd: &impl AsRawFd) -> PfdSpec {
    PfdSpec::from_number(fd.as_raw_fd()).unwrap()
}

/// `ListenFds` without `LISTEN_FDS`: every fd open now can be taken by number.
fn inherited() -> ListenFds {
    ListenFds::builder().ignore_env().build().unwrap()
}

/// Hands `fd` over (its owner gives it up) and takes it as a connection.
fn take_connection(fd: impl Into<OwnedFd>) -> Connection {
    let spec = PfdSpec::from_number(fd.into().into_raw_fd()).unwrap();
    inherited().take_connection(&spec).expect("take_connection")
}

#[test]
fn a_connected_unix_socket_is_taken_with_its_peer() {
    let dir = TempDir::new("stream-pfd-conn-unix");
    let path = dir.join("s.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let mut client = UnixStream::connect(&path).unwrap();
    let (server, _) = listener.accept().unwrap();
    let fd = server.as_raw_fd();
    let connection = take_connection(server);

    assert_eq!(connection.as_raw_fd(), fd);
    assert_eq!(connection.spec(), Some(&PfdSpec::from_number(fd).unwrap()));
    assert_eq!(connection.name(), None);
    assert_eq!(connection.info().family(), Family::Unix);
    assert_eq!(connection.info().protocol(), 0);
    assert_eq!(connection.info().fd(), fd);
    assert_eq!(
        connection.local_addr(),
        &SocketAddress::Unix(UnixAddress::Path(path.clone()))
    );
    assert_eq!(
        connection.peer_addr(),
        &SocketAddress::Unix(UnixAddress::Unnamed)
    );
    assert_eq!(
        connection.info().to_string(),
        format!(
            "AF_UNIX stream connection on {} from (unnamed)",
            path.display()
        )
    );
    assert_eq!(flags(connection.as_fd()), (true, true), "nonblock, cloexec");

    let StdStream::Unix(mut stream) = connection.into_std() else {
        panic!("an AF_UNIX connection gives a UnixStream");
    };
    stream.set_nonblocking(false).unwrap();
    stream.write_all(b"ping").unwrap();
    let mut got = [0; 4];
    client.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"ping");
}

#[test]
fn a_connected_abstract_unix_socket_names_its_peer() {
    use std::os::linux::net::SocketAddrExt;
    let name = abstract_name("conn");
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
    let listener = UnixListener::bind_addr(&addr).unwrap();
    // A client bound to a name of its own, so the peer address is not unnamed.
    let client_name = abstract_name("client");
    let client_sock = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Unix,
        nix::sys::socket::SockType::Stream,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    let unix_addr = |n: &str| nix::sys::socket::UnixAddr::new_abstract(n.as_bytes()).unwrap();
    nix::sys::socket::bind(client_sock.as_raw_fd(), &unix_addr(&client_name)).unwrap();
    nix::sys::socket::connect(client_sock.as_raw_fd(), &unix_addr(&name)).unwrap();
    let (server, _) = listener.accept().unwrap();
    let connection = take_connection(server);
    assert_eq!(
        connection.peer_addr(),
        &SocketAddress::Unix(UnixAddress::Abstract(client_name.into_bytes()))
    );
    assert_eq!(
        connection.local_addr(),
        &SocketAddress::Unix(UnixAddress::Abstract(name.into_bytes()))
    );
}

#[test]
fn a_connected_tcp_socket_is_taken_with_its_peer() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, peer) = listener.accept().unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    let connection = take_connection(server);

    assert_eq!(connection.info().family(), Family::Inet);
    assert_eq!(connection.info().protocol(), libc::IPPROTO_TCP);
    assert_eq!(
        connection.peer_addr(),
        &SocketAddress::Inet(client.local_addr().unwrap())
    );
    assert_eq!(
        connection.local_addr(),
        &SocketAddress::Inet(listener.local_addr().unwrap())
    );
    assert_eq!(
        connection.info().to_string(),
        format!(
            "AF_INET TCP connection on {} from {}",
            listener.local_addr().unwrap(),
            client.local_addr().unwrap()
        )
    );
    let id = connection.info().id();
    let owned = OwnedFd::from(connection);
    assert_eq!(
        stream_pfd::validate_connection(owned.as_fd()).unwrap().id(),
        id
    );
    let mut stream = StdStream::Tcp(TcpStream::from(owned));
    stream.set_nonblocking(false).unwrap();
    stream.write_all(b"pong").unwrap();
    stream.flush().unwrap();
    let mut got = [0; 4];
    client.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"pong");
    client.write_all(b"back").unwrap();
    stream.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"back");
}

#[test]
fn a_connected_tcp6_socket_is_taken_with_its_peer() {
    let Ok(listener) = TcpListener::bind("[::1]:0") else {
        test_support::skip_kernel!("no IPv6 loopback ([::1]) on this machine");
    };
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    let connection = take_connection(server);
    assert_eq!(connection.info().family(), Family::Inet6);
    assert_eq!(
        connection.peer_addr(),
        &SocketAddress::Inet(client.local_addr().unwrap())
    );
    let StdStream::Tcp(_) = connection.into_std() else {
        panic!("an AF_INET6 connection gives a TcpStream");
    };
}

#[test]
fn a_listening_socket_is_not_a_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let spec = spec_of(&listener);
    let before = flags(listener.as_fd());
    let err = inherited().take_connection(&spec).unwrap_err();
    let TakeError::InvalidConnection { source, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(
        matches!(source.error(), ValidateError::Listening { local: Some(l), .. } if *l == SocketAddress::Inet(addr))
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{spec}: not a connection: fd {fd} is a listening stream socket on {addr}, which is \
             what systemd passes with Accept=no (the default); take it as a listener, or use \
             Accept=yes to receive one connection per service instance",
            fd = listener.as_raw_fd()
        )
    );
    assert_eq!(
        std::io::Error::from(err).kind(),
        std::io::ErrorKind::InvalidInput
    );
    // Left as it was, and still a listener that can be taken as one.
    assert_eq!(flags(listener.as_fd()), before);
    let taken = inherited()
        .take(&spec)
        .expect("the listener is still there");
    let _still_ours = taken.into_owned_fd().into_raw_fd(); // `listener` owns it
}

#[test]
fn a_datagram_socket_is_not_a_connection() {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.connect("127.0.0.1:9").unwrap(); // connected, and still not a stream
    let spec = spec_of(&udp);
    let err = inherited().take_connection(&spec).unwrap_err();
    let TakeError::InvalidConnection { source, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(matches!(
        source.error(),
        ValidateError::NotStream {
            sock_type: SockType::Datagram,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        format!(
            "{spec}: not a stream socket: fd {} is a datagram socket (SOCK_DGRAM); a connection \
             must be a connected SOCK_STREAM socket (systemd ListenStream= with Accept=yes)",
            udp.as_raw_fd()
        )
    );
}

#[test]
fn a_stream_socket_that_is_neither_connected_nor_listening_is_not_a_connection() {
    let bound = bound_not_listening_tcp();
    let addr =
        nix::sys::socket::getsockname::<nix::sys::socket::SockaddrIn>(bound.as_raw_fd()).unwrap();
    let err = inherited().take_connection(&spec_of(&bound)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: not a connection: fd {} is a stream socket bound to {addr} that is neither \
             connected nor listening",
            spec_of(&bound),
            bound.as_raw_fd()
        )
    );
    let unbound = common::raw_socket(
        nix::sys::socket::AddressFamily::Unix,
        nix::sys::socket::SockType::Stream,
    );
    let err = inherited().take_connection(&spec_of(&unbound)).unwrap_err();
    assert!(
        err.to_string().ends_with(&format!(
            "fd {} is an unbound stream socket that is neither connected nor listening",
            unbound.as_raw_fd()
        )),
        "{err}"
    );
}

#[test]
fn take_still_refuses_a_connected_socket_with_its_message() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    let spec = spec_of(&server);
    let err = inherited().take(&spec).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{spec}: not a listening socket: fd {} is a connected stream socket (local {}, peer \
             {}), which is what systemd passes with Accept=yes; use Accept=no (the default) so \
             that the service receives the listening socket",
            server.as_raw_fd(),
            listener.local_addr().unwrap(),
            client.local_addr().unwrap()
        )
    );
    // Refused, so not taken: take_connection can have it.
    let connection = inherited().take_connection(&spec).unwrap();
    let _still_ours = connection.into_owned_fd().into_raw_fd(); // `server` owns it
}

#[test]
fn a_connection_is_taken_once_whatever_the_take() {
    let (a, _b) = UnixStream::pair().unwrap();
    let fd = a.into_raw_fd();
    let spec = PfdSpec::from_number(fd).unwrap();
    let mut fds = inherited();
    let connection = fds.take_connection(&spec).unwrap();
    for err in [
        fds.take_connection(&spec).unwrap_err(),
        fds.take(&spec).unwrap_err(),
        fds.take_unvalidated(&spec).unwrap_err(),
        inherited().take_connection(&spec).unwrap_err(),
    ] {
        assert_eq!(
            err.to_string(),
            format!(
                "{spec}: already taken: fd {fd} is the socket already taken as {spec}; each \
                 socket can be taken once"
            )
        );
    }
    drop(connection);
}

#[test]
fn non_sockets_are_not_connections() {
    let file = std::fs::File::open("/dev/null").unwrap();
    let err = inherited().take_connection(&spec_of(&file)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: not a socket: fd {} is a character device (like /dev/null or a tty); a \
             connection must be a connected stream socket (systemd Accept=yes)",
            spec_of(&file),
            file.as_raw_fd()
        )
    );
    let source = std::error::Error::source(&err).expect("the connection error");
    assert!(source.is::<stream_pfd::ConnectionError>(), "{source:?}");
}

#[test]
fn take_unvalidated_takes_any_file_once_and_sets_only_cloexec() {
    let (reader, mut writer) = std::io::pipe().unwrap();
    let fd = reader.as_raw_fd();
    assert_eq!(flags(reader.as_fd()), (false, true));
    let spec = PfdSpec::from_number(reader.into_raw_fd()).unwrap();
    let mut fds = inherited();
    let taken = fds.take_unvalidated(&spec).unwrap();
    assert_eq!(taken.as_raw_fd(), fd);
    assert_eq!(flags(taken.as_fd()), (false, true), "blocking, cloexec");
    let err = fds.take_unvalidated(&spec).unwrap_err();
    assert!(matches!(err, TakeError::AlreadyTaken { .. }), "{err:?}");
    writer.write_all(b"state").unwrap();
    drop(writer);
    let mut text = String::new();
    std::fs::File::from(taken)
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, "state");
}

fn activated<'a>(count: &'a str, names: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("LISTEN_FDS", count), ("LISTEN_FDNAMES", names)]
}

/// What systemd passes to an `Accept=yes` service: the connection at fd 3, named
/// `connection`. Taken by name, with the peer's address; a listener passed instead is refused.
#[test]
fn a_passed_connection_is_taken_by_name() {
    let Some(prog) = pfd_info("a_passed_connection_is_taken_by_name") else {
        return;
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut client = TcpStream::connect(addr).unwrap();
    let (server, _) = listener.accept().unwrap();
    let peer = client.local_addr().unwrap();
    let (code, out) = run_pfd_info(
        &prog,
        &["--connection", "--serve", "pfd:connection", "pfd:web"],
        &[server.as_fd(), listener.as_fd()],
        &activated("2", "connection:web"),
        true,
    );
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        line(&out, "took-connection"),
        format!(
            "took-connection pfd:connection fd=3 name=connection family=AF_INET local={addr} \
             peer={peer} nonblock=yes cloexec=yes"
        )
    );
    assert_eq!(
        line(&out, "error:"),
        format!(
            "error: pfd:web: not a connection: fd 4 is a listening stream socket on {addr}, \
             which is what systemd passes with Accept=no (the default); take it as a listener, \
             or use Accept=yes to receive one connection per service instance"
        )
    );
    assert_eq!(
        line(&out, "served"),
        format!("served pfd:connection peer={peer}")
    );
    let mut greeting = String::new();
    drop(server);
    client.read_to_string(&mut greeting).unwrap();
    assert_eq!(greeting, "hello from pfd-info via pfd:connection\n");
}

/// A memfd kept in systemd's fd store comes back like a socket, under its name; it is taken
/// without socket checks, and read.
#[test]
fn a_memfd_from_the_fd_store_is_taken_unvalidated() {
    let Some(prog) = pfd_info("a_memfd_from_the_fd_store_is_taken_unvalidated") else {
        return;
    };
    let memfd =
        nix::sys::memfd::memfd_create(c"state", nix::sys::memfd::MFdFlags::MFD_CLOEXEC).unwrap();
    let mut file = std::fs::File::from(memfd);
    file.write_all(b"counter=41").unwrap();
    // The reader's offset is the open file description's: rewind for the child.
    std::io::Seek::rewind(&mut file).unwrap();
    let (code, out) = run_pfd_info(
        &prog,
        &["--unvalidated", "--serve", "pfd:state"],
        &[file.as_fd()],
        &activated("1", "state"),
        true,
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        line(&out, "took-unvalidated"),
        "took-unvalidated pfd:state fd=3 nonblock=no cloexec=yes"
    );
    assert_eq!(line(&out, "read"), "read pfd:state counter=41");
    assert!(!out.contains("unclaimed"), "{out}");
}

/// `StdStream` forwards to the stream it holds, for either family: `O_NONBLOCK` both ways,
/// and reads and writes with their counts.
#[test]
fn std_streams_forward_blocking_reads_and_writes() {
    let tcp_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_client = TcpStream::connect(tcp_listener.local_addr().unwrap()).unwrap();
    let (tcp_server, _) = tcp_listener.accept().unwrap();
    let (unix_a, unix_b) = UnixStream::pair().unwrap();
    let pairs = [
        (StdStream::Tcp(tcp_server), StdStream::Tcp(tcp_client)),
        (StdStream::Unix(unix_a), StdStream::Unix(unix_b)),
    ];
    for (mut ours, mut theirs) in pairs {
        ours.set_nonblocking(true).unwrap();
        assert!(flags(ours.as_fd()).0, "{ours:?}");
        let mut buf = [0; 8];
        let err = ours.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock, "{ours:?}");
        ours.set_nonblocking(false).unwrap();
        assert!(!flags(ours.as_fd()).0, "{ours:?}");
        assert_eq!(ours.write(b"ping").unwrap(), 4);
        ours.flush().unwrap();
        let mut got = [0; 4];
        theirs.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"ping");
        theirs.write_all(b"pong").unwrap();
        assert_eq!(ours.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"pong");
        let _fd: OwnedFd = ours.into();
    }
}

/// Outside a tokio runtime the conversions fail with an error instead of tokio's panic.
#[cfg(feature = "tokio")]
#[test]
fn tokio_conversions_outside_a_runtime_are_errors() {
    let (a, _b) = UnixStream::pair().unwrap();
    let connection = take_connection(a);
    let err = connection.into_tokio().unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot make a tokio stream outside a tokio runtime (call it from async code or inside \
         Runtime::enter)"
    );
    let listener =
        stream_pfd::Listener::try_from_fd(TcpListener::bind("127.0.0.1:0").unwrap().into())
            .unwrap();
    let err = listener.into_tokio().unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot make a tokio listener outside a tokio runtime (call it from async code or inside \
         Runtime::enter)"
    );
}
