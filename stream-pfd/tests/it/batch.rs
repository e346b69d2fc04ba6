//! `take_all` and `take_named`: every passed socket, or every socket of one name, in one call,
//! all or nothing. In child processes (the `pfd-info` example) with real sockets at fds 3, 4,
//! ... and `LISTEN_*` set.

use crate::common;

use std::net::{TcpListener, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd};

use common::{abstract_listener, abstract_name, line, lines, pfd_info, run_pfd_info};
use stream_pfd::ListenFds;

fn activated<'a>(count: &'a str, names: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("LISTEN_FDS", count), ("LISTEN_FDNAMES", names)]
}

fn run(test: &str, args: &[&str], fds: &[BorrowedFd<'_>], names: &str) -> Option<(i32, String)> {
    let prog = pfd_info(test)?;
    let count = fds.len().to_string();
    Some(run_pfd_info(
        &prog,
        args,
        fds,
        &activated(&count, names),
        true,
    ))
}

#[test]
fn take_all_takes_every_passed_socket_in_fd_order() {
    let name_a = abstract_name("all-a");
    let a = abstract_listener(&name_a);
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_addr = tcp.local_addr().unwrap();
    let Some((code, out)) = run(
        "take_all_takes_every_passed_socket_in_fd_order",
        &["--all"],
        &[a.as_fd(), tcp.as_fd()],
        "a:web",
    ) else {
        return;
    };
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        lines(&out, "took "),
        [
            format!(
                "took pfd:3 fd=3 name=a family=AF_UNIX local=@{name_a} nonblock=yes cloexec=yes"
            ),
            format!(
                "took pfd:4 fd=4 name=web family=AF_INET local={tcp_addr} nonblock=yes cloexec=yes"
            ),
        ],
        "{out}"
    );
    assert!(!out.contains("unclaimed"), "{out}");
}

/// One fd that is not a listening socket: nothing is taken, not even the valid fds before it,
/// whose flags stay as they were; the error names the fd.
#[test]
fn take_all_is_all_or_nothing() {
    let a = abstract_listener(&abstract_name("aon-a"));
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let c = abstract_listener(&abstract_name("aon-c"));
    let Some((code, out)) = run(
        "take_all_is_all_or_nothing",
        &["--all"],
        &[a.as_fd(), udp.as_fd(), c.as_fd()],
        "a:b:c",
    ) else {
        return;
    };
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("took "), "{out}");
    assert_eq!(
        line(&out, "error:"),
        "error: pfd:4: not a stream socket: fd 4 is a datagram socket (SOCK_DGRAM); pfd: needs a \
         listening SOCK_STREAM socket (systemd ListenStream=, not ListenDatagram= or \
         ListenSequentialPacket=)"
    );
    assert_eq!(
        lines(&out, "after-error"),
        [
            "after-error fd=3 nonblock=no cloexec=no",
            "after-error fd=4 nonblock=no cloexec=no",
            "after-error fd=5 nonblock=no cloexec=no",
        ],
        "{out}"
    );
    assert_eq!(lines(&out, "unclaimed: ").len(), 3, "{out}");
}

/// The same socket passed twice is refused in one batch (two owners of one socket), and
/// nothing is taken.
#[test]
fn take_all_refuses_the_same_socket_twice() {
    let sock = abstract_listener(&abstract_name("twice"));
    let Some((code, out)) = run(
        "take_all_refuses_the_same_socket_twice",
        &["--all"],
        &[sock.as_fd(), sock.as_fd()],
        "a:b",
    ) else {
        return;
    };
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        line(&out, "error:"),
        "error: pfd:4: already taken: fd 4 is the socket already taken as pfd:3 (fd 3) in the \
         same call; each socket can be taken once"
    );
    assert_eq!(
        line(&out, "after-error fd=3"),
        "after-error fd=3 nonblock=no cloexec=no"
    );
    assert!(!out.contains("took "), "{out}");
}

/// A socket unit's sockets share its name: `pfd:web` takes both, in fd order, and leaves the
/// others.
#[test]
fn take_named_takes_every_socket_of_the_name() {
    let v4 = TcpListener::bind("127.0.0.1:0").unwrap();
    let v4_addr = v4.local_addr().unwrap();
    let admin_name = abstract_name("admin");
    let admin = abstract_listener(&admin_name);
    let name_b = abstract_name("web-b");
    let b = abstract_listener(&name_b);
    let Some((code, out)) = run(
        "take_named_takes_every_socket_of_the_name",
        &["--named", "pfd:web"],
        &[v4.as_fd(), admin.as_fd(), b.as_fd()],
        "web:admin:web",
    ) else {
        return;
    };
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        lines(&out, "took "),
        [
            format!(
                "took pfd:web fd=3 name=web family=AF_INET local={v4_addr} nonblock=yes cloexec=yes"
            ),
            format!(
                "took pfd:web fd=5 name=web family=AF_UNIX local=@{name_b} nonblock=yes cloexec=yes"
            ),
        ],
        "{out}"
    );
    assert_eq!(
        lines(&out, "unclaimed: "),
        [format!(
            "unclaimed: fd 4 (name admin): AF_UNIX stream listener on @{admin_name}"
        )],
        "{out}"
    );
}

#[test]
fn take_named_is_all_or_nothing_and_names_the_fd() {
    let a = abstract_listener(&abstract_name("named-a"));
    let (conn, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    let Some((code, out)) = run(
        "take_named_is_all_or_nothing_and_names_the_fd",
        &["--named", "pfd:web", "pfd:nope", "pfd:4"],
        &[a.as_fd(), conn.as_fd()],
        "web:web",
    ) else {
        return;
    };
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        lines(&out, "error:"),
        [
            "error: pfd:web: not a listening socket: fd 4 is a connected stream socket (local \
             (unnamed), peer (unnamed)), which is what systemd passes with Accept=yes; use \
             Accept=no (the default) so that the service receives the listening socket",
            "error: pfd:nope: no fd named nope: LISTEN_FDNAMES has web (fd 3), web (fd 4)",
            "error: pfd:4: not a listening socket: fd 4 is a connected stream socket (local \
             (unnamed), peer (unnamed)), which is what systemd passes with Accept=yes; use \
             Accept=no (the default) so that the service receives the listening socket",
        ],
        "{out}"
    );
    assert!(!out.contains("took "), "{out}");
    assert!(
        lines(&out, "after-error fd=3")
            .iter()
            .all(|l| *l == "after-error fd=3 nonblock=no cloexec=no"),
        "{out}"
    );
    assert_eq!(lines(&out, "unclaimed: ").len(), 2, "{out}");
}

/// A number names one fd; take_named gives it alone.
#[test]
fn take_named_by_number_takes_that_fd() {
    let a = abstract_listener(&abstract_name("num-a"));
    let b = abstract_listener(&abstract_name("num-b"));
    let Some((code, out)) = run(
        "take_named_by_number_takes_that_fd",
        &["--named", "pfd:4"],
        &[a.as_fd(), b.as_fd()],
        "web:web",
    ) else {
        return;
    };
    assert_eq!(code, 0, "{out}");
    let took = lines(&out, "took ");
    assert_eq!(took.len(), 1, "{out}");
    assert!(took[0].starts_with("took pfd:4 fd=4 name=web "), "{out}");
}

/// Without LISTEN_FDS nothing was passed: take_all has nothing to take, take_named no names.
#[test]
fn without_activation_take_all_is_empty() {
    let mut fds = ListenFds::builder().ignore_env().build().unwrap();
    assert!(fds.take_all().unwrap().is_empty());
    let pid = std::process::id().to_string();
    let mut none_passed = ListenFds::builder()
        .vars([("LISTEN_FDS", "0"), ("LISTEN_PID", pid.as_str())])
        .build()
        .unwrap();
    assert!(none_passed.take_all().unwrap().is_empty());
    let err = none_passed
        .take_named(&"pfd:web".parse().unwrap())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "pfd:web: no fd named web: LISTEN_FDS=0 passed no fds"
    );
}
