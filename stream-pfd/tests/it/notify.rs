//! `sd_notify` against real receivers: `AF_UNIX` datagram sockets at a path and at an abstract
//! name (as systemd's), fds passed with `SCM_RIGHTS` and used on the other side, refusals that
//! send nothing, and the environment (`NOTIFY_SOCKET`, `WATCHDOG_*`) read in child processes
//! (this test binary, re-executed), since the harness's own environment is never changed.

use std::ffi::OsStr;
use std::io::{IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
use stream_pfd::notify::{
    MAX_FDS, MAX_MESSAGE_LEN, Notifier, NotifyError, NotifyErrorKind, State, watchdog_from_vars,
};
use test_support::TempDir;

/// A receiver standing in for the service manager.
struct Receiver {
    sock: UnixDatagram,
    addr: String,
    _dir: Option<TempDir>,
}

fn unique(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "stream-pfd-notify-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

impl Receiver {
    /// At a path in a fresh directory.
    fn at_path() -> Receiver {
        let dir = TempDir::new("notify");
        let path = dir.join("notify.sock");
        let sock = UnixDatagram::bind(&path).unwrap();
        Receiver::ready(sock, path.to_str().unwrap().to_owned(), Some(dir))
    }

    /// At an abstract name.
    fn at_abstract() -> Receiver {
        let name = unique("abstract");
        let sock =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(&name).unwrap()).unwrap();
        Receiver::ready(sock, format!("@{name}"), None)
    }

    fn both() -> [Receiver; 2] {
        [Receiver::at_path(), Receiver::at_abstract()]
    }

    fn ready(sock: UnixDatagram, addr: String, dir: Option<TempDir>) -> Receiver {
        Receiver {
            sock,
            addr,
            _dir: dir,
        }
    }

    fn notifier(&self) -> Notifier {
        Notifier::new(&self.addr).unwrap()
    }

    /// The next datagram, which must carry no fds.
    fn recv(&self) -> String {
        let (text, fds) = self.recv_with_fds();
        assert!(fds.is_empty(), "{text:?} came with {} fds", fds.len());
        text
    }

    /// The next datagram and the fds it carries, owned here. Never waits: a datagram is
    /// queued at the receiver by the time the sender's `sendmsg` returns (and a child that sent
    /// one has exited), so a missing one fails at once.
    fn recv_with_fds(&self) -> (String, Vec<OwnedFd>) {
        let mut buf = vec![0u8; 2 * MAX_MESSAGE_LEN];
        let mut cmsg = nix::cmsg_space!([RawFd; MAX_FDS]);
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(
            self.sock.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC | MsgFlags::MSG_DONTWAIT,
        )
        .unwrap_or_else(|e| panic!("expected a datagram queued at {}: {e}", self.addr));
        assert!(!msg.flags.contains(MsgFlags::MSG_TRUNC), "truncated");
        let mut raw = Vec::new();
        for cmsg in msg.cmsgs().expect("control data not truncated") {
            if let ControlMessageOwned::ScmRights(fds) = cmsg {
                raw.extend(fds);
            }
        }
        let len = msg.bytes;
        let fds = raw
            .into_iter()
            // SAFETY: recvmsg just installed these fds in this process's table; nothing else
            // knows them, so each gets exactly one owner.
            .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
            .collect();
        (String::from_utf8(buf[..len].to_vec()).unwrap(), fds)
    }

    /// Nothing is queued (a datagram sent before this call would be).
    fn assert_empty(&self) {
        self.sock.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 64];
        let got = self.sock.recv(&mut buf);
        self.sock.set_nonblocking(false).unwrap();
        match got {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!(
                "expected nothing at {}, got {:?}",
                self.addr,
                other.map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
            ),
        }
    }
}

fn monotonic_usec() -> u64 {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).unwrap();
    now.tv_sec() as u64 * 1_000_000 + now.tv_nsec() as u64 / 1_000
}

#[test]
fn each_state_has_its_wire_text_at_a_path_and_an_abstract_name() {
    let cases: [(State<'_>, &str); 16] = [
        (State::Ready, "READY=1"),
        // Free-form fields: sent as given.
        (State::Custom("X_MYAPP_PHASE=warm"), "X_MYAPP_PHASE=warm"),
        (
            State::Custom("BUSERROR=org.example.Failed"),
            "BUSERROR=org.example.Failed",
        ),
        (State::Custom("EXIT_STATUS=3"), "EXIT_STATUS=3"),
        (State::Custom("X_EMPTY="), "X_EMPTY="),
        (State::Stopping, "STOPPING=1"),
        (
            State::Status("serving 2 remotes"),
            "STATUS=serving 2 remotes",
        ),
        (State::Status(""), "STATUS="),
        (State::Errno(5), "ERRNO=5"),
        (
            State::ExtendTimeout(Duration::from_millis(1500)),
            "EXTEND_TIMEOUT_USEC=1500000",
        ),
        (State::MainPid(4242), "MAINPID=4242"),
        (State::Watchdog, "WATCHDOG=1"),
        (State::WatchdogTrigger, "WATCHDOG=trigger"),
        (
            State::WatchdogUsec(Duration::from_secs(30)),
            "WATCHDOG_USEC=30000000",
        ),
        (
            State::FdStoreRemove { name: "web" },
            "FDSTOREREMOVE=1\nFDNAME=web",
        ),
        (
            State::FdStoreRemove { name: "a name" },
            "FDSTOREREMOVE=1\nFDNAME=a name",
        ),
    ];
    for receiver in Receiver::both() {
        let notifier = receiver.notifier();
        assert_eq!(notifier.addr(), receiver.addr);
        for (state, text) in cases {
            notifier.send(&[state]).unwrap();
            assert_eq!(receiver.recv(), text, "{state:?} to {}", receiver.addr);
        }
        receiver.assert_empty();
    }
}

#[test]
fn the_boundaries_of_each_value_are_sent() {
    let longest = "n".repeat(255);
    let cases: Vec<(State<'_>, String)> = vec![
        (State::Errno(0), "ERRNO=0".into()),
        (State::Errno(4095), "ERRNO=4095".into()),
        (State::MainPid(1), "MAINPID=1".into()),
        (State::MainPid(i32::MAX as u32), "MAINPID=2147483647".into()),
        // Whole microseconds, rounded down; too long for 64 bits is infinity.
        (
            State::ExtendTimeout(Duration::from_nanos(1_999)),
            "EXTEND_TIMEOUT_USEC=1".into(),
        ),
        (
            State::ExtendTimeout(Duration::MAX),
            format!("EXTEND_TIMEOUT_USEC={}", u64::MAX),
        ),
        (
            State::WatchdogUsec(Duration::from_micros(u64::MAX)),
            format!("WATCHDOG_USEC={}", u64::MAX),
        ),
        (
            State::WatchdogUsec(Duration::from_nanos(999)),
            "WATCHDOG_USEC=0".into(),
        ),
        (
            State::FdStoreRemove { name: &longest },
            format!("FDSTOREREMOVE=1\nFDNAME={longest}"),
        ),
        (
            State::FdStoreRemove { name: " !~" },
            "FDSTOREREMOVE=1\nFDNAME= !~".into(),
        ),
    ];
    let receiver = Receiver::at_abstract();
    let notifier = receiver.notifier();
    for (state, text) in cases {
        notifier.send(&[state]).unwrap();
        assert_eq!(receiver.recv(), text, "{state:?}");
    }
    // The longest message systemd reads, exactly.
    let status = "s".repeat(MAX_MESSAGE_LEN - "STATUS=".len());
    notifier.send(&[State::Status(&status)]).unwrap();
    assert_eq!(receiver.recv().len(), MAX_MESSAGE_LEN);
    receiver.assert_empty();
}

#[test]
fn several_states_go_as_one_datagram() {
    for receiver in Receiver::both() {
        let notifier = receiver.notifier();
        notifier
            .send(&[
                State::Ready,
                State::Status("up"),
                State::MainPid(7),
                State::Watchdog,
            ])
            .unwrap();
        assert_eq!(receiver.recv(), "READY=1\nSTATUS=up\nMAINPID=7\nWATCHDOG=1");
        receiver.assert_empty();
    }
}

#[test]
fn reloading_carries_the_monotonic_clock() {
    let receiver = Receiver::at_path();
    let notifier = receiver.notifier();
    let before = monotonic_usec();
    notifier
        .send(&[State::Reloading, State::Status("reloading")])
        .unwrap();
    let after = monotonic_usec();
    let text = receiver.recv();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text:?}");
    assert_eq!(lines[0], "RELOADING=1");
    assert_eq!(lines[2], "STATUS=reloading");
    let usec: u64 = lines[1]
        .strip_prefix("MONOTONIC_USEC=")
        .unwrap_or_else(|| panic!("{text:?}"))
        .parse()
        .unwrap();
    assert!(
        before <= usec && usec <= after,
        "MONOTONIC_USEC={usec} is not between the receiver's readings {before} and {after}"
    );
}

#[test]
fn fds_go_with_fdstore_and_work_on_the_other_side() {
    let receiver = Receiver::at_path();
    let notifier = receiver.notifier();
    let (read_end, write_end) = nix::unistd::pipe().unwrap();
    notifier
        .send_with_fds(
            &[State::FdStore {
                name: "x",
                poll: false,
            }],
            &[write_end.as_fd()],
        )
        .unwrap();
    let (text, mut fds) = receiver.recv_with_fds();
    assert_eq!(text, "FDSTORE=1\nFDNAME=x\nFDPOLL=0");
    assert_eq!(fds.len(), 1);
    // The received fd is the only write end left: what it writes reaches our read end, and
    // closing it ends the pipe.
    drop(write_end);
    let mut received = std::fs::File::from(fds.remove(0));
    received.write_all(b"through systemd").unwrap();
    drop(received);
    let mut got = String::new();
    std::fs::File::from(read_end)
        .read_to_string(&mut got)
        .unwrap();
    assert_eq!(got, "through systemd");

    // Several fds, polled (no FDPOLL=), with other states, at an abstract name.
    let receiver = Receiver::at_abstract();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let file = std::fs::File::open("/dev/null").unwrap();
    receiver
        .notifier()
        .send_with_fds(
            &[
                State::Status("handing over"),
                State::FdStore {
                    name: "web",
                    poll: true,
                },
            ],
            &[listener.as_fd(), file.as_fd()],
        )
        .unwrap();
    let (text, fds) = receiver.recv_with_fds();
    assert_eq!(text, "STATUS=handing over\nFDSTORE=1\nFDNAME=web");
    assert_eq!(fds.len(), 2);
    let back = std::net::TcpListener::from(fds.into_iter().next().unwrap());
    assert_eq!(back.local_addr().unwrap().port(), port);
}

#[test]
fn the_most_fds_the_kernel_passes_go_in_one_message() {
    let receiver = Receiver::at_abstract();
    let file = std::fs::File::open("/dev/null").unwrap();
    let fds: Vec<BorrowedFd<'_>> = vec![file.as_fd(); MAX_FDS];
    let store = [State::FdStore {
        name: "many",
        poll: true,
    }];
    receiver.notifier().send_with_fds(&store, &fds).unwrap();
    let (text, got) = receiver.recv_with_fds();
    assert_eq!(text, "FDSTORE=1\nFDNAME=many");
    assert_eq!(got.len(), MAX_FDS);
    drop(got);

    let one_more: Vec<BorrowedFd<'_>> = vec![file.as_fd(); MAX_FDS + 1];
    let err = receiver
        .notifier()
        .send_with_fds(&store, &one_more)
        .unwrap_err();
    assert_eq!(
        err.kind(),
        &NotifyErrorKind::TooManyFds { fds: MAX_FDS + 1 }
    );
    receiver.assert_empty();
}

/// Sends `states` with `fds` and expects `kind`, with nothing received.
fn refused(
    receiver: &Receiver,
    states: &[State<'_>],
    fds: &[BorrowedFd<'_>],
    kind: NotifyErrorKind,
) {
    let err = receiver
        .notifier()
        .send_with_fds(states, fds)
        .expect_err(&format!("{states:?} with {} fds", fds.len()));
    assert_eq!(err.kind(), &kind, "{states:?}: {err}");
    assert_eq!(err.address(), None, "{err}");
    assert!(err.io_error().is_none());
    assert!(std::error::Error::source(&err).is_none());
    assert_eq!(
        std::io::Error::from(err).kind(),
        std::io::ErrorKind::InvalidInput
    );
    receiver.assert_empty();
}

#[test]
fn bad_states_are_refused_and_nothing_is_sent() {
    let receiver = Receiver::at_path();
    let file = std::fs::File::open("/dev/null").unwrap();
    let fd = [file.as_fd()];
    let long_name = "n".repeat(256);
    let store = |name| State::FdStore { name, poll: true };
    refused(&receiver, &[], &[], NotifyErrorKind::NoStates);
    refused(
        &receiver,
        &[State::Ready, State::Status("one\ntwo")],
        &[],
        NotifyErrorKind::BadStatus {
            value: "one\ntwo".into(),
            pos: 3,
            ch: '\n',
        },
    );
    refused(
        &receiver,
        &[State::Status("nul\0")],
        &[],
        NotifyErrorKind::BadStatus {
            value: "nul\0".into(),
            pos: 3,
            ch: '\0',
        },
    );
    for name in [
        "",
        "a:b",
        long_name.as_str(),
        "caf\u{e9}",
        "tab\there",
        "new\nline",
        "\u{7f}",
    ] {
        let kind = NotifyErrorKind::BadFdName { name: name.into() };
        refused(&receiver, &[store(name)], &fd, kind.clone());
        refused(&receiver, &[State::FdStoreRemove { name }], &[], kind);
    }
    refused(
        &receiver,
        &[store("web")],
        &[],
        NotifyErrorKind::FdStoreWithoutFds,
    );
    refused(
        &receiver,
        &[State::FdStoreRemove { name: "web" }],
        &fd,
        NotifyErrorKind::FdStoreRemoveWithFds { fds: 1 },
    );
    refused(
        &receiver,
        &[State::Ready],
        &[fd[0], fd[0]],
        NotifyErrorKind::FdsWithoutFdStore { fds: 2 },
    );
    refused(
        &receiver,
        &[store("a"), store("b")],
        &fd,
        NotifyErrorKind::SeveralFdStoreStates,
    );
    refused(
        &receiver,
        &[State::FdStoreRemove { name: "a" }, store("b")],
        &fd,
        NotifyErrorKind::SeveralFdStoreStates,
    );
    refused(
        &receiver,
        &[store("a"), State::FdStoreRemove { name: "b" }],
        &fd,
        NotifyErrorKind::SeveralFdStoreStates,
    );
    for errno in [-1, 4096, i32::MIN] {
        refused(
            &receiver,
            &[State::Errno(errno)],
            &[],
            NotifyErrorKind::ErrnoOutOfRange { errno },
        );
    }
    for pid in [0, i32::MAX as u32 + 1, u32::MAX] {
        refused(
            &receiver,
            &[State::MainPid(pid)],
            &[],
            NotifyErrorKind::BadMainPid { pid },
        );
    }
    let status = "s".repeat(MAX_MESSAGE_LEN - "STATUS=".len() + 1);
    refused(
        &receiver,
        &[State::Status(&status)],
        &[],
        NotifyErrorKind::MessageTooLong {
            len: MAX_MESSAGE_LEN + 1,
        },
    );
    // The separating newline counts too.
    let status = "s".repeat(MAX_MESSAGE_LEN - "STATUS=".len() - "READY=1".len());
    refused(
        &receiver,
        &[State::Ready, State::Status(&status)],
        &[],
        NotifyErrorKind::MessageTooLong {
            len: MAX_MESSAGE_LEN + 1,
        },
    );
    // A state after a bad one does not matter: the first problem is reported.
    refused(
        &receiver,
        &[State::Errno(-1), State::MainPid(0)],
        &[],
        NotifyErrorKind::ErrnoOutOfRange { errno: -1 },
    );
}

#[test]
fn addresses_parse_like_systemds() {
    for good in [
        "/run/systemd/notify",
        "/a",
        "@a",
        "@/org/example/notify",
        "vsock:2:9999",
        "vsock:0:0",
        "vsock:hypervisor:1",
        "vsock:local:1",
        "vsock:host:1",
        "vsock:4294967294:4294967294",
        "vsock-dgram:3:1",
        "vsock-seqpacket:3:1",
        "vsock-stream:3:1",
    ] {
        let notifier = Notifier::new(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        assert_eq!(notifier.addr(), good);
    }
    let longest = format!("/{}", "p".repeat(106));
    assert!(Notifier::new(&longest).is_ok());
    assert!(Notifier::new(&format!("@{}", "p".repeat(106))).is_ok());

    let bad = |addr: &str, kind: NotifyErrorKind| {
        let err = Notifier::new(addr).expect_err(addr);
        assert_eq!(err.kind(), &kind, "{addr}: {err}");
        assert_eq!(err.address(), Some(addr));
        assert!(err.io_error().is_none());
        assert_eq!(
            std::io::Error::from(err).kind(),
            std::io::ErrorKind::InvalidInput
        );
    };
    for addr in [
        "",
        "notify.sock",
        "./notify",
        "~/notify",
        "unix:/run/notify",
        "VSOCK:2:1",
        "vsock",
    ] {
        bad(addr, NotifyErrorKind::NotAnAddress);
    }
    bad("/", NotifyErrorKind::AddressTooShort);
    bad("@", NotifyErrorKind::AddressTooShort);
    bad(
        &format!("{longest}p"),
        NotifyErrorKind::AddressTooLong { len: 108 },
    );
    bad(
        &format!("@{}", "p".repeat(107)),
        NotifyErrorKind::AddressTooLong { len: 108 },
    );
    bad("/run/a\0b", NotifyErrorKind::AddressNul { pos: 6 });
    bad("@\0", NotifyErrorKind::AddressNul { pos: 1 });
    bad("vsock:2", NotifyErrorKind::MissingVsockPort);
    bad("vsock:", NotifyErrorKind::MissingVsockPort);
    for cid in [
        "",
        "any",
        "-1",
        "4294967295",
        "4294967296",
        "02",
        "+2",
        " 2",
        "Host",
    ] {
        bad(
            &format!("vsock:{cid}:1"),
            NotifyErrorKind::BadVsockCid { cid: cid.into() },
        );
    }
    for port in ["", "x", "4294967295", "4294967296", "01", "1:2", "-1"] {
        bad(
            &format!("vsock-stream:2:{port}"),
            NotifyErrorKind::BadVsockPort { port: port.into() },
        );
    }
}

#[test]
fn from_vars_reads_notify_socket() {
    assert!(Notifier::from_vars([("HOME", "/root")]).unwrap().is_none());
    assert!(
        Notifier::from_vars(Vec::<(String, String)>::new())
            .unwrap()
            .is_none()
    );
    let receiver = Receiver::at_abstract();
    let notifier = Notifier::from_vars([("LISTEN_FDS", "1"), ("NOTIFY_SOCKET", &receiver.addr)])
        .unwrap()
        .unwrap();
    assert_eq!(notifier.addr(), receiver.addr);
    notifier.send(&[State::Ready]).unwrap();
    assert_eq!(receiver.recv(), "READY=1");

    let err = Notifier::from_vars([("NOTIFY_SOCKET", "notify.sock")]).unwrap_err();
    assert_eq!(err.kind(), &NotifyErrorKind::NotAnAddress);
    assert_eq!(err.address(), Some("notify.sock"));
    assert!(
        err.to_string()
            .starts_with("NOTIFY_SOCKET=\"notify.sock\" is not"),
        "{err}"
    );
}

#[test]
fn send_failures_name_the_address_and_keep_the_os_error() {
    let cases = [
        (
            "/nonexistent-stream-pfd/notify.sock",
            std::io::ErrorKind::NotFound,
        ),
        (
            "@stream-pfd-notify-nobody-listens-here",
            std::io::ErrorKind::ConnectionRefused,
        ),
    ];
    for (addr, io_kind) in cases {
        let err = Notifier::new(addr)
            .unwrap()
            .send(&[State::Ready])
            .unwrap_err();
        assert_eq!(
            err.kind(),
            &NotifyErrorKind::Io {
                op: "sendmsg",
                sock_type: "SOCK_DGRAM"
            }
        );
        assert_eq!(err.address(), Some(addr));
        assert_eq!(err.io_error().map(std::io::Error::kind), Some(io_kind));
        assert!(std::error::Error::source(&err).is_some());
        assert_eq!(std::io::Error::from(err).kind(), io_kind);
    }
}

#[test]
fn vsock_without_a_listener_fails_with_the_call_that_failed() {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
    // Nobody listens at this port, so a connection fails, whatever this kernel's vsock support
    // (none, no datagrams as here, a loopback transport), and the error says at which call. A
    // datagram to nowhere may count as sent, so `vsock:` (which tries datagrams first) is only
    // tried where the kernel has no vsock datagrams.
    let port = 40_000 + std::process::id() % 20_000;
    let mut addrs = vec![format!("vsock-seqpacket:local:{port}")];
    if socket(
        AddressFamily::Vsock,
        SockType::Datagram,
        SockFlag::empty(),
        None,
    )
    .is_err()
    {
        addrs.push(format!("vsock:1:{port}"));
    }
    for addr in addrs {
        let err = Notifier::new(&addr)
            .unwrap()
            .send(&[State::Ready])
            .unwrap_err();
        let NotifyErrorKind::Io { op, sock_type } = err.kind() else {
            panic!("{addr}: {err}");
        };
        // Connected types: the connection fails (or the socket cannot be made) before anything
        // is sent.
        assert_ne!(*sock_type, "SOCK_DGRAM", "{addr}: {err}");
        assert!(["socket", "bind", "connect"].contains(op), "{addr}: {err}");
        assert_eq!(err.address(), Some(addr.as_str()));
        assert!(err.io_error().is_some(), "{addr}: {err}");
        if addr.starts_with("vsock-seqpacket:") {
            assert_eq!(*sock_type, "SOCK_SEQPACKET", "{err}");
        }
    }
}

#[test]
fn vsock_delivers_over_the_loopback_transport() {
    use nix::sys::socket::{
        AddressFamily, Backlog, SockFlag, SockType, VsockAddr, accept, bind, listen, recv, socket,
    };
    let Ok(listener) = socket(
        AddressFamily::Vsock,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    ) else {
        test_support::skip_kernel!("no AF_VSOCK sequenced-packet sockets");
    };
    let port = 20_000 + std::process::id() % 20_000;
    if bind(
        listener.as_raw_fd(),
        &VsockAddr::new(libc::VMADDR_CID_LOCAL, port),
    )
    .is_err()
    {
        test_support::skip_kernel!("no vsock loopback transport (vsock_loopback) for CID 1");
    }
    listen(&listener, Backlog::new(1).unwrap()).unwrap();
    let manager = std::thread::spawn(move || {
        let conn = accept(listener.as_raw_fd()).unwrap();
        // SAFETY: accept just returned this new fd; nothing else owns it.
        let conn = unsafe { OwnedFd::from_raw_fd(conn) };
        let mut buf = [0u8; 4096];
        let n = recv(conn.as_raw_fd(), &mut buf, MsgFlags::empty()).unwrap();
        let eof = recv(conn.as_raw_fd(), &mut buf, MsgFlags::empty()).unwrap();
        (String::from_utf8_lossy(&buf[..n]).into_owned(), eof)
    });
    let notifier = Notifier::new(&format!("vsock-seqpacket:local:{port}")).unwrap();
    notifier
        .send(&[State::Ready, State::Status("over vsock")])
        .unwrap();
    let (text, eof) = manager.join().unwrap();
    assert_eq!(text, "READY=1\nSTATUS=over vsock");
    assert_eq!(eof, 0, "the sender shuts its side down after the message");
}

#[test]
fn watchdog_from_vars_reads_usec_and_pid() {
    let ours = std::process::id().to_string();
    let some = |vars: &[(&str, &str)]| watchdog_from_vars(vars.iter().copied());
    assert_eq!(some(&[]).unwrap(), None);
    assert_eq!(some(&[("WATCHDOG_PID", &ours)]).unwrap(), None);
    assert_eq!(
        some(&[("WATCHDOG_USEC", "250000")]).unwrap(),
        Some(Duration::from_millis(250))
    );
    assert_eq!(
        some(&[("WATCHDOG_USEC", "1"), ("WATCHDOG_PID", &ours)]).unwrap(),
        Some(Duration::from_micros(1))
    );
    assert_eq!(
        some(&[("WATCHDOG_USEC", "18446744073709551614")]).unwrap(),
        Some(Duration::from_micros(u64::MAX - 1))
    );
    // For another process (a parent's variables, inherited).
    let other = (std::process::id() + 1).to_string();
    for pid in ["1", other.as_str(), "2147483647"] {
        assert_eq!(
            some(&[("WATCHDOG_USEC", "250000"), ("WATCHDOG_PID", pid)]).unwrap(),
            None,
            "{pid}"
        );
    }
    for value in [
        "",
        "0",
        "18446744073709551615",
        "18446744073709551616",
        "30s",
        "-1",
        "+5",
        " 5",
        "05",
        "1e6",
    ] {
        let err = some(&[("WATCHDOG_USEC", value)]).unwrap_err();
        assert_eq!(
            err.kind(),
            &NotifyErrorKind::BadWatchdogUsec {
                value: value.into()
            }
        );
        assert_eq!(
            std::io::Error::from(err).kind(),
            std::io::ErrorKind::InvalidInput
        );
    }
    for value in ["", "0", "2147483648", "x", "-1", "01", "1 "] {
        let err = some(&[("WATCHDOG_USEC", "5"), ("WATCHDOG_PID", value)]).unwrap_err();
        assert_eq!(
            err.kind(),
            &NotifyErrorKind::BadWatchdogPid {
                value: value.into()
            }
        );
    }
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_watchdog_pings_at_half_the_interval() {
    let receiver = Receiver::at_abstract();
    let pings = receiver
        .notifier()
        .spawn_watchdog(Duration::from_millis(200));
    let count = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        let mut count = 0;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            receiver
                .sock
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            let mut buf = [0u8; 64];
            match receiver.sock.recv(&mut buf) {
                Ok(n) => {
                    assert_eq!(&buf[..n], b"WATCHDOG=1");
                    count += 1;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        count
    })
    .await
    .unwrap();
    pings.abort();
    // Every 100 ms, the first at once: about 10 in a second. Generous bounds: the machine may
    // be busy.
    assert!((5..=20).contains(&count), "{count} pings in 1 s");
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn spawn_watchdog_keeps_going_when_nobody_listens() {
    let notifier = Notifier::new("@stream-pfd-notify-nobody-listens-here").unwrap();
    let pings = notifier.spawn_watchdog(Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!pings.is_finished(), "the task ended after failed sends");
    pings.abort();
    assert!(pings.await.unwrap_err().is_cancelled());
}

#[test]
fn error_messages() {
    let mut text = String::new();
    let mut line = |err: NotifyError| {
        text.push_str(&err.to_string());
        text.push('\n');
    };
    for addr in [
        "notify.sock",
        "",
        "/",
        "@",
        &format!("/{}", "p".repeat(107)),
        "/run/a\0b",
        "vsock:2",
        "vsock::1",
        "vsock:any:1",
        "vsock:2:4294967295",
    ] {
        line(Notifier::new(addr).unwrap_err());
    }
    line(Notifier::from_vars([("NOTIFY_SOCKET", "run/notify")]).unwrap_err());
    let n = Notifier::new("@stream-pfd-notify-nobody-listens-here").unwrap();
    let file = std::fs::File::open("/dev/null").unwrap();
    let fd = file.as_fd();
    let long_name = "n".repeat(256);
    let long_status = "s".repeat(MAX_MESSAGE_LEN);
    let store = |name| State::FdStore { name, poll: true };
    let refusals: Vec<(Vec<State<'_>>, Vec<BorrowedFd<'_>>)> = vec![
        (vec![], vec![]),
        (vec![State::Status("line one\nline two")], vec![]),
        (vec![State::Status("nul\0")], vec![]),
        (vec![store("")], vec![fd]),
        (vec![store("a:b")], vec![fd]),
        (vec![store(&long_name)], vec![fd]),
        (vec![store("caf\u{e9}")], vec![fd]),
        (vec![State::FdStoreRemove { name: "tab\t" }], vec![]),
        (vec![State::Errno(-1)], vec![]),
        (vec![State::MainPid(0)], vec![]),
        (vec![store("a"), store("b")], vec![fd]),
        (vec![store("a")], vec![]),
        (vec![State::FdStoreRemove { name: "a" }], vec![fd]),
        (vec![State::FdStoreRemove { name: "a" }], vec![fd, fd]),
        (vec![State::Ready], vec![fd]),
        (vec![State::Ready], vec![fd, fd]),
        (vec![store("a")], vec![fd; MAX_FDS + 1]),
        (vec![State::Status(&long_status)], vec![]),
        // Free-form fields that would break the protocol or bypass a variant's checks.
        (vec![State::Custom("X_PHASE")], vec![]),
        (vec![State::Custom("=warm")], vec![]),
        (vec![State::Custom("x_phase=warm")], vec![]),
        (vec![State::Custom("1X=warm")], vec![]),
        (vec![State::Custom("X PHASE=warm")], vec![]),
        (vec![State::Custom("X_PHASE=warm\nREADY=1")], vec![]),
        (vec![State::Custom("X_PHASE=wa\0rm")], vec![]),
        (vec![State::Custom("READY=1")], vec![]),
        (vec![State::Custom("FDSTORE=1")], vec![fd]),
        (vec![State::Custom("MONOTONIC_USEC=1")], vec![]),
        (vec![State::Custom("BARRIER=1")], vec![]),
        (vec![State::Custom("MAINPIDFDID=1")], vec![]),
        (vec![State::Custom("WATCHDOG=1")], vec![]),
    ];
    for (states, fds) in refusals {
        line(n.send_with_fds(&states, &fds).unwrap_err());
    }
    for vars in [
        [("WATCHDOG_USEC", "0"), ("WATCHDOG_PID", "1")],
        [("WATCHDOG_USEC", "1"), ("WATCHDOG_PID", "01")],
    ] {
        line(watchdog_from_vars(vars).unwrap_err());
    }
    line(n.send(&[State::Ready]).unwrap_err());
    line(
        Notifier::new("/nonexistent-stream-pfd/notify.sock")
            .unwrap()
            .send(&[State::Ready])
            .unwrap_err(),
    );
    insta::assert_snapshot!("notify_errors", text);
}

// --- The process environment, in child processes -------------------------------------------

/// The variable that makes [`child_process_entry`] run a case in a child process.
const CHILD: &str = "STREAM_PFD_NOTIFY_TEST_CHILD";

/// In a child process started by [`child`], runs the case named by `CHILD` and prints
/// `RESULT ...` lines; in the test run itself, does nothing.
#[test]
fn child_process_entry() {
    let Some(case) = std::env::var_os(CHILD) else {
        return;
    };
    use stream_pfd::notify::{notify, notify_with_fds, watchdog};
    match case.to_str().unwrap() {
        "notify" => println!("RESULT {}", shown(notify(&[State::Ready]))),
        "notify-bad-state" => println!("RESULT {}", shown(notify(&[State::Status("a\nb")]))),
        "notify-with-fds" => {
            let (_read, write) = nix::unistd::pipe().unwrap();
            let store = [State::FdStore {
                name: "pipe",
                poll: true,
            }];
            println!(
                "RESULT {}",
                shown(notify_with_fds(&store, &[write.as_fd()]))
            );
        }
        "from-env" => println!(
            "RESULT {}",
            shown(Notifier::from_env().map(|n| n.map(|n| n.addr().to_owned())))
        ),
        "watchdog" => println!("RESULT {}", shown(watchdog())),
        #[cfg(feature = "tokio")]
        "spawn-watchdog" => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                match stream_pfd::notify::spawn_watchdog(Duration::from_millis(200)) {
                    Err(e) => println!("RESULT Err({e})"),
                    Ok(None) => println!("RESULT no socket"),
                    Ok(Some(pings)) => {
                        match tokio::time::timeout(Duration::from_millis(500), pings).await {
                            Ok(done) => println!("RESULT finished {}", done.is_ok()),
                            Err(_) => println!("RESULT still pinging"),
                        }
                    }
                }
            });
        }
        other => panic!("unknown child case {other}"),
    }
}

fn shown<T: std::fmt::Debug>(result: Result<T, NotifyError>) -> String {
    match result {
        Ok(value) => format!("Ok({value:?})"),
        Err(err) => format!("Err({err})"),
    }
}

/// [`child_process_entry`] as libtest names it: `notify::child_process_entry` (the module path
/// without the crate, which is this test binary).
fn child_test_name() -> String {
    let module = module_path!()
        .split_once("::")
        .map_or("", |(_crate, path)| path);
    format!("{module}::child_process_entry")
}

/// This test binary, to run `case` in [`child_process_entry`] (and no other test), with no
/// `NOTIFY_SOCKET` or `WATCHDOG_*` but those in `env`. With `watchdog_pid_self`,
/// `WATCHDOG_PID` is the child's own pid (set by `sh`, which then `exec`s the binary under the
/// same pid).
fn child(case: &str, env: &[(&str, &OsStr)], watchdog_pid_self: bool) -> String {
    let exe = std::env::current_exe().unwrap();
    let entry = child_test_name();
    let args = ["--exact", &entry, "--nocapture", "--test-threads=1"];
    let mut cmd = if watchdog_pid_self {
        let mut sh = Command::new("/bin/sh");
        sh.args(["-c", "WATCHDOG_PID=$$ exec \"$0\" \"$@\""])
            .arg(&exe)
            .args(args);
        sh
    } else {
        let mut cmd = Command::new(&exe);
        cmd.args(args);
        cmd
    };
    for var in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
        cmd.env_remove(var);
    }
    cmd.env(CHILD, case).envs(env.iter().copied());
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child {case}: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<&str> = stdout
        .lines()
        // libtest prints "test notify::child_process_entry ... " before the test's own output.
        .filter_map(|l| l.split_once("RESULT ").map(|(_, result)| result))
        .collect();
    assert_eq!(results.len(), 1, "child {case}: {stdout}");
    results[0].to_owned()
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

#[test]
fn without_notify_socket_nothing_is_sent() {
    assert_eq!(child("notify", &[], false), "Ok(NoSocket)");
    assert_eq!(child("notify-with-fds", &[], false), "Ok(NoSocket)");
    assert_eq!(child("from-env", &[], false), "Ok(None)");
    // A bad message is an error with or without a service manager.
    assert!(
        child("notify-bad-state", &[], false)
            .starts_with("Err(STATUS=\"a\\nb\" contains a newline"),
    );
}

#[test]
fn notify_sends_to_notify_socket() {
    for receiver in Receiver::both() {
        let env = [("NOTIFY_SOCKET", os(&receiver.addr))];
        assert_eq!(child("notify", &env, false), "Ok(Delivered)");
        assert_eq!(receiver.recv(), "READY=1");
        assert_eq!(
            child("from-env", &env, false),
            format!("Ok(Some({:?}))", receiver.addr)
        );
        assert_eq!(child("notify-with-fds", &env, false), "Ok(Delivered)");
        let (text, fds) = receiver.recv_with_fds();
        assert_eq!(text, "FDSTORE=1\nFDNAME=pipe");
        assert_eq!(fds.len(), 1);
        let stat = nix::sys::stat::fstat(&fds[0]).unwrap();
        assert_eq!(stat.st_mode & libc::S_IFMT, libc::S_IFIFO);
        receiver.assert_empty();
    }
}

#[test]
fn a_bad_notify_socket_is_an_error_naming_it() {
    let env = [("NOTIFY_SOCKET", os("notify.sock"))];
    let result = child("notify", &env, false);
    assert!(
        result
            .starts_with("Err(NOTIFY_SOCKET=\"notify.sock\" is not a notification socket address"),
        "{result}"
    );
    let env = [("NOTIFY_SOCKET", OsStr::from_bytes(b"/run/\xff"))];
    assert_eq!(
        child("notify", &env, false),
        "Err(NOTIFY_SOCKET is not valid UTF-8; the service manager writes it in ASCII, so it \
         was set by something else)"
    );
}

#[test]
fn watchdog_reads_the_environment() {
    assert_eq!(child("watchdog", &[], false), "Ok(None)");
    let usec = [("WATCHDOG_USEC", os("250000"))];
    assert_eq!(child("watchdog", &usec, false), "Ok(Some(250ms))");
    assert_eq!(child("watchdog", &usec, true), "Ok(Some(250ms))");
    let parents = [("WATCHDOG_USEC", os("250000")), ("WATCHDOG_PID", os("1"))];
    assert_eq!(child("watchdog", &parents, false), "Ok(None)");
    // Only with WATCHDOG_USEC is WATCHDOG_PID read.
    let pid_only = [("WATCHDOG_PID", os("garbage"))];
    assert_eq!(child("watchdog", &pid_only, false), "Ok(None)");
    let garbage = [("WATCHDOG_USEC", os("garbage"))];
    assert!(child("watchdog", &garbage, false).starts_with("Err(WATCHDOG_USEC=\"garbage\" is not"),);
    let bad_pid = [("WATCHDOG_USEC", os("5")), ("WATCHDOG_PID", os("me"))];
    assert!(child("watchdog", &bad_pid, false).starts_with("Err(WATCHDOG_PID=\"me\" is not"));
    let not_utf8 = [("WATCHDOG_USEC", OsStr::from_bytes(b"\xff"))];
    assert!(
        child("watchdog", &not_utf8, false).starts_with("Err(WATCHDOG_USEC is not valid UTF-8")
    );
    let not_utf8 = [
        ("WATCHDOG_USEC", os("5")),
        ("WATCHDOG_PID", OsStr::from_bytes(b"\xff")),
    ];
    assert!(child("watchdog", &not_utf8, false).starts_with("Err(WATCHDOG_PID is not valid UTF-8"));
}

#[cfg(feature = "tokio")]
#[test]
fn spawn_watchdog_follows_notify_socket() {
    assert_eq!(child("spawn-watchdog", &[], false), "no socket");
    // Set but not an address: an error naming it, not a watchdog that never pings.
    let bad = [("NOTIFY_SOCKET", os("notify.sock"))];
    let got = child("spawn-watchdog", &bad, false);
    assert!(
        got.starts_with("Err(") && got.contains("notify.sock"),
        "{got}"
    );
    let receiver = Receiver::at_path();
    let env = [("NOTIFY_SOCKET", os(&receiver.addr))];
    assert_eq!(child("spawn-watchdog", &env, false), "still pinging");
    // Every 100 ms for 500 ms, the first at once.
    for _ in 0..3 {
        assert_eq!(receiver.recv(), "WATCHDOG=1");
    }
}
