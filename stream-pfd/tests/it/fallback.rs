//! The development fallback (`ListenFds::take_or_bind`): it binds when the
//! process was not socket-activated, says so, and never binds when activation was meant but is
//! broken. Real sockets; the broken environments run the `pfd-info` example in a child process.

use crate::common;

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};

use common::{TempDir, abstract_name};
use stream_pfd::addr::{SocketAddress, UnixAddress};
use stream_pfd::info::{Family, FileKind};
use stream_pfd::{
    BindAddress, ListenFds, ListenOrBindError, ListenSource, PfdSpec, SocketFileError, TakeError,
};

const BOUND: ListenSource = ListenSource::Bound {
    removed_stale: false,
};

fn web() -> PfdSpec {
    "pfd:web".parse().unwrap()
}

fn not_activated() -> ListenFds {
    ListenFds::builder().ignore_env().build().unwrap()
}

/// A connection to the bound unix listener goes through.
fn assert_serves_unix(listener: stream_pfd::Listener, connect: impl FnOnce() -> UnixStream) {
    let std_listener = listener.into_unix_listener().unwrap();
    std_listener.set_nonblocking(false).unwrap();
    let mut client = connect();
    let (mut server, _) = std_listener.accept().unwrap();
    server.write_all(b"ok").unwrap();
    let mut got = [0; 2];
    client.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"ok");
}

#[test]
fn without_activation_a_unix_path_is_bound() {
    let dir = TempDir::new("stream-pfd-fb-path");
    let path = dir.join("web.sock");
    let (listener, origin) = not_activated()
        .take_or_bind(&web(), path.to_str().unwrap())
        .unwrap();
    assert_eq!(origin, BOUND);
    assert_eq!(
        origin.to_string(),
        "bound: not socket-activated",
        "what a log line says"
    );
    assert_eq!(
        listener.local_addr(),
        &SocketAddress::Unix(UnixAddress::Path(path.clone()))
    );
    assert_eq!(listener.spec(), None);
    assert_eq!(
        common::flags(std::os::fd::AsFd::as_fd(&listener)),
        (true, true)
    );
    assert_serves_unix(listener, || UnixStream::connect(&path).unwrap());
}

#[test]
fn without_activation_an_abstract_name_is_bound() {
    let name = abstract_name("fb");
    let (listener, origin) = not_activated()
        .take_or_bind(&web(), &format!("@{name}"))
        .unwrap();
    assert_eq!(origin, BOUND);
    assert_eq!(
        listener.local_addr(),
        &SocketAddress::Unix(UnixAddress::Abstract(name.clone().into_bytes()))
    );
    assert_serves_unix(listener, || {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
        UnixStream::connect_addr(&addr).unwrap()
    });
}

#[test]
fn without_activation_tcp_v4_and_v6_are_bound() {
    let (listener, origin) = not_activated().take_or_bind(&web(), "127.0.0.1:0").unwrap();
    assert_eq!(origin, BOUND);
    assert_eq!(listener.info().family(), Family::Inet);
    let tcp = listener.into_tcp_listener().unwrap();
    let addr = tcp.local_addr().unwrap();
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
    std::net::TcpStream::connect(addr).expect("it listens");

    if std::net::TcpListener::bind("[::1]:0").is_err() {
        test_support::skip_kernel!("no IPv6 loopback ([::1]) on this machine");
    }
    let (listener, origin) = not_activated().take_or_bind(&web(), "[::1]:0").unwrap();
    assert_eq!(origin, BOUND);
    assert_eq!(listener.info().family(), Family::Inet6);
    let SocketAddress::Inet(addr) = listener.local_addr().clone() else {
        panic!("an IP address");
    };
    assert_eq!(addr.ip().to_string(), "::1");
    std::net::TcpStream::connect(addr).expect("it listens");
}

/// A socket file left by an earlier run (nobody listens) is replaced, and the origin says so.
#[test]
fn a_stale_socket_file_is_replaced_and_reported() {
    let dir = TempDir::new("stream-pfd-fb-stale");
    let path = dir.join("web.sock");
    test_support::stale_unix_socket(&path);
    assert!(path.exists(), "closing a listener leaves its file");
    let (listener, origin) = not_activated()
        .take_or_bind(&web(), path.to_str().unwrap())
        .unwrap();
    assert_eq!(
        origin,
        ListenSource::Bound {
            removed_stale: true
        }
    );
    assert_eq!(
        origin.to_string(),
        "bound: not socket-activated; removed a stale socket file no process listened on"
    );
    assert_serves_unix(listener, || UnixStream::connect(&path).unwrap());
}

/// A socket a process listens on is not taken over: an error, and the listener still works.
#[test]
fn a_socket_in_use_is_left_alone() {
    let dir = TempDir::new("stream-pfd-fb-inuse");
    let path = dir.join("web.sock");
    let live = UnixListener::bind(&path).unwrap();
    let err = not_activated()
        .take_or_bind(&web(), path.to_str().unwrap())
        .unwrap_err();
    assert!(
        matches!(&err, ListenOrBindError::SocketFile(SocketFileError::InUse { path: p }) if *p == path),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "cannot bind {}: another process listens on it",
            path.display()
        )
    );
    assert_eq!(
        std::io::Error::from(err).kind(),
        std::io::ErrorKind::AddrInUse
    );
    // The probe connection is in the queue; a real client still gets through.
    let _client = UnixStream::connect(&path).unwrap();
    let (_probe, _) = live.accept().unwrap();
    let (_client_conn, _) = live.accept().unwrap();
}

/// A file that is not a socket is never removed.
#[test]
fn a_file_that_is_not_a_socket_is_never_removed() {
    let dir = TempDir::new("stream-pfd-fb-file");
    let path = dir.join("web.sock");
    std::fs::write(&path, "precious").unwrap();
    let err = not_activated()
        .take_or_bind(&web(), path.to_str().unwrap())
        .unwrap_err();
    assert!(
        matches!(
            &err,
            ListenOrBindError::SocketFile(SocketFileError::NotSocket {
                kind: FileKind::Regular,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "cannot bind {}: it exists and is a regular file, not a socket; it was left in place",
            path.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
    // A symbolic link to a socket is not a socket either: left too.
    let link = dir.join("link.sock");
    let target = dir.join("target.sock");
    let _target = UnixListener::bind(&target).unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let err = not_activated()
        .take_or_bind(&web(), link.to_str().unwrap())
        .unwrap_err();
    assert!(
        matches!(
            &err,
            ListenOrBindError::SocketFile(SocketFileError::NotSocket {
                kind: FileKind::Symlink,
                ..
            })
        ),
        "{err:?}"
    );
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
}

#[test]
fn a_bind_failure_names_the_address_and_the_call() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let err = not_activated().take_or_bind(&web(), &addr).unwrap_err();
    assert!(
        matches!(&err, ListenOrBindError::Bind { address: BindAddress::Tcp(a), call: "bind", .. } if a.to_string() == addr),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("cannot bind {addr}: bind failed: ")),
        "{err}"
    );
    let cause = std::error::Error::source(&err).expect("the io error");
    assert!(cause.is::<std::io::Error>(), "{cause:?}");
    assert_eq!(
        std::io::Error::from(err).kind(),
        std::io::ErrorKind::AddrInUse
    );
    // A path through a regular file: lstat says so before anything else is tried.
    let dir = TempDir::new("stream-pfd-fb-notdir");
    std::fs::write(dir.join("file"), "").unwrap();
    let through = dir.join("file/web.sock");
    let err = not_activated()
        .take_or_bind(&web(), through.to_str().unwrap())
        .unwrap_err();
    assert!(
        matches!(
            &err,
            ListenOrBindError::SocketFile(SocketFileError::Bind { call: "lstat", .. })
        ),
        "{err:?}"
    );
    assert_eq!(
        std::io::Error::from(err).kind(),
        std::io::ErrorKind::NotADirectory
    );
    let dir = TempDir::new("stream-pfd-fb-nodir");
    let missing = dir.join("no/such/dir/web.sock");
    let err = not_activated()
        .take_or_bind(&web(), missing.to_str().unwrap())
        .unwrap_err();
    assert_eq!(
        std::io::Error::from(err).kind(),
        std::io::ErrorKind::NotFound
    );
}

/// LISTEN_FDS is set: the spec is taken or it is an error; the fallback is never bound.
#[test]
fn activated_but_not_passed_is_an_error_and_binds_nothing() {
    let dir = TempDir::new("stream-pfd-fb-activated");
    let path = dir.join("web.sock");
    let pid = std::process::id().to_string();
    let mut fds = ListenFds::builder()
        .vars([("LISTEN_FDS", "0"), ("LISTEN_PID", pid.as_str())])
        .build()
        .unwrap();
    for spec in ["pfd:web", "pfd:3"] {
        let err = fds
            .take_or_bind(&spec.parse().unwrap(), path.to_str().unwrap())
            .unwrap_err();
        let ListenOrBindError::Take(take) = &err else {
            panic!("{err:?}");
        };
        assert!(
            matches!(
                take,
                TakeError::NoSuchName { .. } | TakeError::NotPassed { .. }
            ),
            "{take:?}"
        );
        assert!(
            err.to_string().ends_with(
                "; the process was socket-activated (LISTEN_FDS is set), so the fallback \
                 address was not bound"
            ),
            "{err}"
        );
        assert!(!path.exists(), "the fallback was bound");
    }
    assert_eq!(
        fds.take_or_bind(&web(), path.to_str().unwrap())
            .unwrap_err()
            .to_string(),
        "pfd:web: no fd named web: LISTEN_FDS=0 passed no fds; the process was socket-activated \
         (LISTEN_FDS is set), so the fallback address was not bound"
    );
    let err = fds
        .take_or_bind(&web(), path.to_str().unwrap())
        .unwrap_err();
    let cause = std::error::Error::source(&err).expect("the take error");
    assert!(cause.is::<TakeError>(), "{cause:?}");
    // A bad fallback is reported first, activated or not; its message is the whole story.
    let err = fds.take_or_bind(&web(), "nope").unwrap_err();
    assert!(matches!(err, ListenOrBindError::Address(_)), "{err:?}");
    assert!(std::error::Error::source(&err).is_none());
}

#[test]
fn bind_addresses_parse_strictly_and_round_trip() {
    for text in [
        "/run/web.sock",
        "./web.sock",
        "rel/web.sock",
        "@web",
        "@a b",
        "127.0.0.1:8080",
        "0.0.0.0:0",
        "[::1]:8080",
        "[::]:0",
    ] {
        let addr: BindAddress = text.parse().unwrap();
        assert_eq!(addr.to_string(), text);
    }
    let long_path = format!("/{}", "p".repeat(107));
    let long_name = format!("@{}", "n".repeat(108));
    let errors: Vec<String> = [
        "",
        "@",
        "web.sock",
        "localhost:80",
        "127.0.0.1",
        "[::1]",
        "::1:80",
        "/a\0b",
        long_path.as_str(),
        long_name.as_str(),
    ]
    .iter()
    .map(|text| text.parse::<BindAddress>().unwrap_err().to_string())
    .collect();
    insta::assert_snapshot!("bind_address_errors", errors.join("\n"));
    // At the limit: 107 bytes.
    assert!(
        format!("/{}", "p".repeat(106))
            .parse::<BindAddress>()
            .is_ok()
    );
    assert!(
        format!("@{}", "n".repeat(107))
            .parse::<BindAddress>()
            .is_ok()
    );
}

/// `ListenFds::take_or_bind` in a child process whose environment says it was socket-activated, with
/// `fds` at 3, 4, ...: (exit code, stdout).
fn child(
    test: &str,
    fds: &[std::os::fd::BorrowedFd<'_>],
    env: &[(&str, &str)],
    args: &[&str],
) -> Option<(i32, String)> {
    let prog = common::pfd_info(test)?;
    Some(common::run_pfd_info(&prog, args, fds, env, true))
}

/// Passed fds, environment, spec, the expected error line (or its start).
type Case<'a> = (
    &'a [std::os::fd::BorrowedFd<'a>],
    Vec<(&'a str, &'a str)>,
    &'a str,
    String,
);

/// Activation meant but broken, in every way: an error, and the fallback path never appears.
#[test]
fn broken_activation_is_an_error_and_binds_nothing() {
    use std::os::fd::AsFd;
    let test = "broken_activation_is_an_error_and_binds_nothing";
    let dir = TempDir::new("stream-pfd-fb-broken");
    let path = dir.join("web.sock");
    let fallback = format!("--fallback={}", path.display());
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let listener = common::abstract_listener(&abstract_name("fb-broken"));
    let not_bound = "; the process was socket-activated (LISTEN_FDS is set), so the fallback \
                     address was not bound";
    let cases: [Case<'_>; 4] = [
        // The passed fd is not a listening stream socket.
        (
            &[udp.as_fd()],
            vec![("LISTEN_FDS", "1")],
            "pfd:3",
            format!(
                "error: pfd:3: not a stream socket: fd 3 is a datagram socket (SOCK_DGRAM); pfd: \
                 needs a listening SOCK_STREAM socket (systemd ListenStream=, not \
                 ListenDatagram= or ListenSequentialPacket=){not_bound}"
            ),
        ),
        // The name is not among the passed fds.
        (
            &[listener.as_fd()],
            vec![("LISTEN_FDS", "1"), ("LISTEN_FDNAMES", "admin")],
            "pfd:web",
            format!("error: pfd:web: no fd named web: LISTEN_FDNAMES has admin (fd 3){not_bound}"),
        ),
        // More fds announced than passed (far more: the child may inherit an fd or two of
        // the test runner's, such as cargo's jobserver pipe, right after the passed ones).
        (
            &[listener.as_fd()],
            vec![("LISTEN_FDS", "400")],
            "pfd:3",
            "error: LISTEN_FDS=400 says fds 3 to 402 were passed, but fd ".to_owned(),
        ),
        // A LISTEN_FDS that does not parse.
        (
            &[listener.as_fd()],
            vec![("LISTEN_FDS", "one")],
            "pfd:3",
            "error: LISTEN_FDS=\"one\" is not a valid fd count (expected a decimal number)"
                .to_owned(),
        ),
    ];
    for (fds, env, spec, expected) in cases {
        let Some((code, out)) = child(test, fds, &env, &[&fallback, spec]) else {
            return;
        };
        assert_eq!(code, 1, "{out}");
        let error = common::line(&out, "error:");
        assert!(error.starts_with(&expected), "{env:?}: {error}");
        assert!(!path.exists(), "the fallback was bound: {env:?}");
    }
    // LISTEN_PID of another process: also not ours to bind around.
    let prog = common::pfd_info(test).unwrap();
    let (code, out) = common::run_pfd_info(
        &prog,
        &[&fallback, "pfd:3"],
        &[listener.as_fd()],
        &[("LISTEN_FDS", "1"), ("LISTEN_PID", "1")],
        false,
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        common::line(&out, "error: LISTEN_PID=1 but this process is ")
            .ends_with("so the fds are not ours to take"),
        "{out}"
    );
    assert!(!path.exists());
}

/// Activated: the passed socket is taken and the fallback left alone; not activated: bound.
#[test]
fn the_child_takes_when_activated_and_binds_otherwise() {
    use std::os::fd::AsFd;
    let test = "the_child_takes_when_activated_and_binds_otherwise";
    let dir = TempDir::new("stream-pfd-fb-child");
    let path = dir.join("web.sock");
    let fallback = format!("--fallback={}", path.display());
    let name = abstract_name("fb-child");
    let listener = common::abstract_listener(&name);
    let env = [("LISTEN_FDS", "1"), ("LISTEN_FDNAMES", "web")];
    let Some((code, out)) = child(test, &[listener.as_fd()], &env, &[&fallback, "pfd:web"]) else {
        return;
    };
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        common::line(&out, "listening"),
        format!("listening @{name} (socket-activated)")
    );
    assert!(!path.exists());
    let prog = common::pfd_info(test).unwrap();
    let (code, out) = common::run_pfd_info(&prog, &[&fallback, "pfd:web"], &[], &[], false);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        common::line(&out, "listening"),
        format!("listening {} (bound: not socket-activated)", path.display())
    );
    assert!(path.exists());
}

/// A listener whose backlog is full is still in use: the check connects without blocking, so
/// it answers at once instead of waiting for an accept.
#[test]
fn a_listener_with_a_full_backlog_is_in_use() {
    use nix::sys::socket::{
        AddressFamily, Backlog, SockFlag, SockType, UnixAddr, bind, connect, listen, socket,
    };
    use std::os::fd::AsRawFd;
    let dir = TempDir::new("stream-pfd-fb-full");
    let path = dir.join("web.sock");
    let live = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    bind(live.as_raw_fd(), &UnixAddr::new(&path).unwrap()).unwrap();
    listen(&live, Backlog::new(0).unwrap()).unwrap();
    // Fill the queue: connect without blocking until the kernel says EAGAIN.
    let mut queued = Vec::new();
    loop {
        let client = socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            None,
        )
        .unwrap();
        match connect(client.as_raw_fd(), &UnixAddr::new(&path).unwrap()) {
            Ok(()) => queued.push(client),
            Err(nix::errno::Errno::EAGAIN) => break,
            Err(e) => panic!("connect: {e}"),
        }
        assert!(queued.len() < 64, "the backlog never filled");
    }
    let err = not_activated()
        .take_or_bind(&web(), path.to_str().unwrap())
        .unwrap_err();
    assert!(
        matches!(
            err,
            ListenOrBindError::SocketFile(SocketFileError::InUse { .. })
        ),
        "{err:?}"
    );
    assert!(std::error::Error::source(&err).is_none());
}
