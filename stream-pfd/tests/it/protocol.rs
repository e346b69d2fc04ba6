//! The LISTEN_* protocol and take-once ownership, in child processes (the `pfd-info` example)
//! with real sockets placed at fds 3, 4, ... . This process never closes or dup2s over fds.

use crate::common;

use std::net::{TcpListener, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;

use common::{abstract_listener, abstract_name, line, lines, pfd_info, run_pfd_info, set_nonblock};
use stream_pfd::spec::ParseErrorKind;
use stream_pfd::{EnvError, ListenFds, PfdSpec, TakeError};

fn activated<'a>(count: &'a str, names: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![("LISTEN_FDS", count)];
    if let Some(names) = names {
        env.push(("LISTEN_FDNAMES", names));
    }
    env
}

#[test]
fn takes_passed_fds_by_number_and_name() {
    let Some(prog) = pfd_info("takes_passed_fds_by_number_and_name") else {
        return;
    };
    let name = abstract_name("web");
    let unix = abstract_listener(&name);
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    set_nonblock(tcp.as_fd(), false);
    let port = tcp.local_addr().unwrap().port();
    let (code, out) = run_pfd_info(
        &prog,
        &["pfd:admin", "pfd:003"],
        &[unix.as_fd(), tcp.as_fd()],
        &activated("2", Some("web:admin")),
        true,
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(line(&out, "activated"), "activated yes passed=2");
    assert_eq!(
        line(&out, "took pfd:admin"),
        format!(
            "took pfd:admin fd=4 name=admin family=AF_INET local=127.0.0.1:{port} nonblock=yes cloexec=yes"
        )
    );
    assert_eq!(
        line(&out, "took pfd:3"),
        format!("took pfd:3 fd=3 name=web family=AF_UNIX local=@{name} nonblock=yes cloexec=yes")
    );
    assert!(!out.contains("unclaimed"), "{out}");
}

#[test]
fn a_socket_is_taken_once_whatever_the_number_or_name() {
    let Some(prog) = pfd_info("a_socket_is_taken_once_whatever_the_number_or_name") else {
        return;
    };
    let unix = abstract_listener(&abstract_name("once"));
    // The same socket passed twice (fds 3 and 4): identity is the socket, not the number.
    let (code, out) = run_pfd_info(
        &prog,
        &["pfd:web", "pfd:03", "pfd:3", "pfd:4", "pfd:again"],
        &[unix.as_fd(), unix.as_fd()],
        &activated("2", Some("web:again")),
        true,
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("took pfd:web fd=3 name=web"), "{out}");
    let errors = lines(&out, "error: ");
    assert_eq!(
        errors,
        [
            "error: pfd:3: already taken: fd 3 is the socket already taken as pfd:web; each socket can be taken once",
            "error: pfd:3: already taken: fd 3 is the socket already taken as pfd:web; each socket can be taken once",
            "error: pfd:4: already taken: fd 4 is the socket already taken as pfd:web; each socket can be taken once",
            "error: pfd:again: already taken: fd 4 is the socket already taken as pfd:web; each socket can be taken once",
        ],
        "{out}"
    );
}

#[test]
fn absent_fdnames_mean_unknown() {
    let Some(prog) = pfd_info("absent_fdnames_mean_unknown") else {
        return;
    };
    let unix = abstract_listener(&abstract_name("unknown"));
    let (code, out) = run_pfd_info(
        &prog,
        &["pfd:unknown"],
        &[unix.as_fd()],
        &activated("1", None),
        true,
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("took pfd:unknown fd=3 name=unknown family=AF_UNIX"),
        "{out}"
    );
}

#[test]
fn unknown_ambiguous_and_out_of_range_specs_are_refused() {
    let Some(prog) = pfd_info("unknown_ambiguous_and_out_of_range_specs_are_refused") else {
        return;
    };
    let a = abstract_listener(&abstract_name("a"));
    let b = abstract_listener(&abstract_name("b"));
    let c = abstract_listener(&abstract_name("c"));
    let (code, out) = run_pfd_info(
        &prog,
        &["pfd:nope", "pfd:web", "pfd:6", "pfd:2", "pfd:0x3", "pfd: 3"],
        &[a.as_fd(), b.as_fd(), c.as_fd()],
        &activated("3", Some("web:web:admin")),
        true,
    );
    assert_eq!(code, 1, "{out}");
    let errors = lines(&out, "error: ");
    assert_eq!(
        errors,
        [
            "error: pfd:nope: no fd named nope: LISTEN_FDNAMES has web (fd 3), web (fd 4), admin (fd 5)",
            "error: pfd:web: ambiguous name: fds 3, 4 are all named web; take them by number (e.g. pfd:3)",
            "error: pfd:6: fd 6 was not passed by systemd: LISTEN_FDS=3 passed fds 3 to 5",
            "error: pfd:2: bad file descriptor: fd 2 is standard error, not an inherited socket; inherited sockets start at fd 3 (where systemd passes them)",
            "error: pfd:0x3: bad file descriptor: only decimal fd numbers are allowed, not hexadecimal, octal or binary (e.g. pfd:3)",
            "error: pfd: 3: bad file descriptor: whitespace (at byte 0 after \"pfd:\") is not allowed in an fd number or name",
        ],
        "{out}"
    );
    // Nothing was taken: all three are reported, then closed on drop (OnDrop::Close).
    assert_eq!(lines(&out, "unclaimed: ").len(), 3, "{out}");
    for fd in 3..=5 {
        assert!(out.contains(&format!("after-drop fd={fd} closed")), "{out}");
    }
}

/// The same socket passed twice (fd 4 is a duplicate of fd 3): taking fd 3 leaves fd 4
/// unclaimed; it is reported, and closed on drop instead of leaking into children.
#[test]
fn a_duplicate_of_a_taken_socket_is_unclaimed_and_closed() {
    let Some(prog) = pfd_info("a_duplicate_of_a_taken_socket_is_unclaimed_and_closed") else {
        return;
    };
    let name = abstract_name("dup");
    let sock = abstract_listener(&name);
    let fds = [sock.as_fd(), sock.as_fd()];
    let (code, out) = run_pfd_info(&prog, &["pfd:3"], &fds, &activated("2", None), true);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        lines(&out, "unclaimed: "),
        [format!(
            "unclaimed: fd 4 (name unknown): AF_UNIX stream listener on @{name}"
        )],
        "{out}"
    );
    assert!(
        out.contains("after-drop fd=3 nonblock=yes cloexec=yes"),
        "{out}"
    );
    assert!(
        out.contains("after-drop fd=4 closed"),
        "the duplicate leaked: {out}"
    );
}

#[test]
fn unclaimed_fds_are_reported_and_closed_or_left() {
    let Some(prog) = pfd_info("unclaimed_fds_are_reported_and_closed_or_left") else {
        return;
    };
    let name_c = abstract_name("c");
    let a = abstract_listener(&abstract_name("a"));
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let c = abstract_listener(&name_c);
    let fds = [a.as_fd(), udp.as_fd(), c.as_fd()];
    let env = activated("3", Some("a:b:c"));

    let (code, out) = run_pfd_info(&prog, &["pfd:a"], &fds, &env, true);
    assert_eq!(code, 0, "{out}");
    let unclaimed = lines(&out, "unclaimed: ");
    assert_eq!(
        unclaimed,
        [
            "unclaimed: fd 4 (name b): not a stream socket: fd 4 is a datagram socket (SOCK_DGRAM); pfd: needs a listening SOCK_STREAM socket (systemd ListenStream=, not ListenDatagram= or ListenSequentialPacket=)".to_owned(),
            format!("unclaimed: fd 5 (name c): AF_UNIX stream listener on @{name_c}"),
        ],
        "{out}"
    );
    assert_eq!(
        lines(&out, "unclaimed-fd "),
        [
            "unclaimed-fd 4 name=b usable=no",
            "unclaimed-fd 5 name=c usable=yes"
        ],
        "{out}"
    );
    assert!(
        out.contains("after-drop fd=3 nonblock=yes cloexec=yes"),
        "taken one stays: {out}"
    );
    assert!(out.contains("after-drop fd=4 closed"), "{out}");
    assert!(out.contains("after-drop fd=5 closed"), "{out}");

    let (code, out) = run_pfd_info(&prog, &["--leave-unclaimed", "pfd:a"], &fds, &env, true);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("after-drop fd=4 nonblock=no cloexec=no"),
        "left untouched: {out}"
    );
    assert!(
        out.contains("after-drop fd=5 nonblock=no cloexec=no"),
        "{out}"
    );
}

#[test]
fn failed_take_leaves_the_fd_as_it_was() {
    let Some(prog) = pfd_info("failed_take_leaves_the_fd_as_it_was") else {
        return;
    };
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    for nonblock in [false, true] {
        set_nonblock(udp.as_fd(), nonblock);
        let (code, out) = run_pfd_info(
            &prog,
            &["--leave-unclaimed", "pfd:3"],
            &[udp.as_fd()],
            &activated("1", None),
            true,
        );
        assert_eq!(code, 1, "{out}");
        assert!(
            line(&out, "error: ")
                .starts_with("error: pfd:3: not a stream socket: fd 3 is a datagram socket"),
            "{out}"
        );
        let yes_no = if nonblock { "yes" } else { "no" };
        assert_eq!(
            line(&out, "after-error"),
            format!("after-error fd=3 nonblock={yes_no} cloexec=no")
        );
    }
}

#[test]
fn every_kind_of_passed_fd_gets_its_own_error() {
    let Some(prog) = pfd_info("every_kind_of_passed_fd_gets_its_own_error") else {
        return;
    };
    let (pair_a, _pair_b) = UnixStream::pair().unwrap();
    let (pipe_r, _pipe_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let null = std::fs::File::open("/dev/null").unwrap();
    let unbound = common::raw_socket(
        nix::sys::socket::AddressFamily::Inet6,
        nix::sys::socket::SockType::Stream,
    );
    let bound = common::bound_not_listening_tcp();
    let fds: [BorrowedFd<'_>; 5] = [
        pair_a.as_fd(),
        pipe_r.as_fd(),
        null.as_fd(),
        unbound.as_fd(),
        bound.as_fd(),
    ];
    let (code, out) = run_pfd_info(
        &prog,
        &["pfd:3", "pfd:4", "pfd:5", "pfd:6", "pfd:7"],
        &fds,
        &activated("5", None),
        true,
    );
    assert_eq!(code, 1, "{out}");
    let errors = lines(&out, "error: ");
    assert_eq!(errors.len(), 5, "{out}");
    assert!(errors[0].starts_with("error: pfd:3: not a listening socket: fd 3 is a connected stream socket (local (unnamed), peer (unnamed)), which is what systemd passes with Accept=yes"), "{out}");
    assert!(
        errors[1].starts_with("error: pfd:4: not a socket: fd 4 is a pipe or FIFO"),
        "{out}"
    );
    assert!(
        errors[2].starts_with("error: pfd:5: not a socket: fd 5 is a character device"),
        "{out}"
    );
    assert_eq!(
        errors[3],
        "error: pfd:6: not a listening socket: fd 6 is an unbound stream socket (neither bind() nor listen() was called on it)"
    );
    assert!(
        errors[4].starts_with(
            "error: pfd:7: not a listening socket: fd 7 is a stream socket bound to 127.0.0.1:"
        ),
        "{out}"
    );
}

#[test]
fn wrong_or_missing_listen_pid_is_refused() {
    let Some(prog) = pfd_info("wrong_or_missing_listen_pid_is_refused") else {
        return;
    };
    let unix = abstract_listener(&abstract_name("pid"));
    let mut env = activated("1", None);
    env.push(("LISTEN_PID", "1"));
    let (code, out) = run_pfd_info(&prog, &["pfd:3"], &[unix.as_fd()], &env, false);
    assert_eq!(code, 2, "{out}");
    assert!(
        line(&out, "env-error").starts_with("env-error: LISTEN_PID=1 but this process is "),
        "{out}"
    );

    let (code, out) = run_pfd_info(
        &prog,
        &["pfd:3"],
        &[unix.as_fd()],
        &activated("1", None),
        false,
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        line(&out, "env-error").starts_with("env-error: LISTEN_FDS is set but LISTEN_PID is not"),
        "{out}"
    );

    // 0 and numbers past i32::MAX are not pids at all (not just another process's).
    for bad in ["0", "2147483648", "4294967296"] {
        let mut env = activated("1", None);
        env.push(("LISTEN_PID", bad));
        let (code, out) = run_pfd_info(&prog, &["pfd:3"], &[unix.as_fd()], &env, false);
        assert_eq!(code, 2, "{out}");
        let error = line(&out, "env-error");
        assert!(
            error
                == format!(
                    "env-error: LISTEN_PID=\"{bad}\" is not a valid process id (expected a \
                     decimal number from 1 to 2147483647)"
                ),
            "{error}"
        );
    }

    // The documented development opt-out.
    let (code, out) = run_pfd_info(
        &prog,
        &["--no-pid-check", "pfd:3"],
        &[unix.as_fd()],
        &env,
        false,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("took pfd:3 fd=3"), "{out}");
}

#[test]
fn listen_pidfdid_is_checked() {
    let Some(prog) = pfd_info("listen_pidfdid_is_checked") else {
        return;
    };
    test_support::require!(
        own_pidfd_inode().is_some(),
        "no pidfs (Linux < 6.9): LISTEN_PIDFDID cannot be verified"
    );
    let unix = abstract_listener(&abstract_name("pidfd"));
    let mut env = activated("1", None);
    env.push(("LISTEN_PIDFDID", "1"));
    let (code, out) = run_pfd_info(&prog, &["pfd:3"], &[unix.as_fd()], &env, true);
    assert_eq!(code, 2, "{out}");
    assert!(
        line(&out, "env-error")
            .starts_with("env-error: LISTEN_PIDFDID=1 but this process's pidfd inode id is "),
        "{out}"
    );

    env.pop();
    env.push(("LISTEN_PIDFDID", "x1"));
    let (code, out) = run_pfd_info(&prog, &["pfd:3"], &[unix.as_fd()], &env, true);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("env-error: LISTEN_PIDFDID=\"x1\" is not a valid pidfd inode id"),
        "{out}"
    );
}

/// This process's pidfd inode id, if the kernel has pidfs.
fn own_pidfd_inode() -> Option<u64> {
    // SAFETY: pidfd_open takes two integers and accesses no memory.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, std::process::id() as libc::pid_t, 0) };
    if raw < 0 {
        return None;
    }
    // SAFETY: the kernel just returned this fd; nothing else owns it.
    let pidfd =
        unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw as i32) };
    let fs = nix::sys::statfs::fstatfs(&pidfd).ok()?;
    #[allow(clippy::unnecessary_cast)]
    if fs.filesystem_type().0 as i64 != 0x5049_4446 {
        return None;
    }
    Some(nix::sys::stat::fstat(&pidfd).ok()?.st_ino)
}

#[test]
fn matching_pidfdid_is_accepted() {
    // In-process, with explicit variables and LISTEN_FDS=0: nothing is claimed.
    let Some(ours) = own_pidfd_inode() else {
        test_support::skip!("no pidfs (Linux < 6.9)");
    };
    let pid = std::process::id().to_string();
    let id = ours.to_string();
    let fds = ListenFds::builder()
        .vars([
            ("LISTEN_FDS", "0"),
            ("LISTEN_PID", pid.as_str()),
            ("LISTEN_PIDFDID", id.as_str()),
        ])
        .build()
        .unwrap();
    assert!(fds.is_activated());
    assert!(fds.passed().is_empty());
    let wrong = (ours + 1).to_string();
    let err = ListenFds::builder()
        .vars([
            ("LISTEN_FDS", "0"),
            ("LISTEN_PID", pid.as_str()),
            ("LISTEN_PIDFDID", wrong.as_str()),
        ])
        .build()
        .unwrap_err();
    assert!(matches!(err, EnvError::PidFdIdMismatch { .. }), "{err:?}");
}

#[test]
fn bad_listen_fds_and_names_are_refused() {
    let Some(prog) = pfd_info("bad_listen_fds_and_names_are_refused") else {
        return;
    };
    let a = abstract_listener(&abstract_name("cnt-a"));
    let b = abstract_listener(&abstract_name("cnt-b"));
    let fds = [a.as_fd(), b.as_fd()];
    let cases: [(&[(&str, &str)], &str); 8] = [
        (
            &[("LISTEN_FDS", "2"), ("LISTEN_FDNAMES", "a")],
            "env-error: LISTEN_FDNAMES has 1 name but LISTEN_FDS=2; systemd passes exactly one name per fd",
        ),
        (
            &[("LISTEN_FDS", "1"), ("LISTEN_FDNAMES", "a:b")],
            "env-error: LISTEN_FDNAMES has 2 names but LISTEN_FDS=1; systemd passes exactly one name per fd",
        ),
        (
            &[("LISTEN_FDS", "3")],
            "env-error: LISTEN_FDS=3 says fds 3 to 5 were passed, but fd 5 is not open",
        ),
        (
            &[("LISTEN_FDS", "+2")],
            "env-error: LISTEN_FDS=\"+2\" is not a valid fd count (expected a decimal number)",
        ),
        (
            &[("LISTEN_FDS", " 2")],
            "env-error: LISTEN_FDS=\" 2\" is not a valid fd count (expected a decimal number)",
        ),
        (
            &[("LISTEN_FDS", "")],
            "env-error: LISTEN_FDS=\"\" is not a valid fd count (expected a decimal number)",
        ),
        (
            &[("LISTEN_FDS", "2147483646")],
            "env-error: LISTEN_FDS=2147483646 is too large: fds 3 to 2147483648 would pass the largest fd number 2147483647",
        ),
        (
            &[("LISTEN_FDS", "2"), ("LISTEN_FDNAMES", "a:b\tc")],
            "env-error: LISTEN_FDNAMES entry 1 (for fd 4) \"b\\tc\" is not a valid fd name: names are printable ASCII of at most 255 bytes",
        ),
    ];
    for (env, expected) in cases {
        let (code, out) = run_pfd_info(&prog, &[], &fds, env, true);
        assert_eq!(code, 2, "{env:?}: {out}");
        assert_eq!(line(&out, "env-error"), expected, "{env:?}");
    }
}

#[test]
fn leading_zeros_are_refused_not_read_as_decimal() {
    // systemd's sd_listen_fds reads LISTEN_FDS=010 as octal 8 (and LISTEN_PID=0123 as octal),
    // so reading them as decimal would claim (and close on drop) fds that were never passed.
    let pid = std::process::id().to_string();
    let zero_pid = format!("0{pid}");
    let cases: [(&[(&str, &str)], &str); 3] = [
        (
            &[("LISTEN_PID", pid.as_str()), ("LISTEN_FDS", "01")],
            "LISTEN_FDS=\"01\" is not a valid fd count (expected a decimal number without leading \
             zeros: systemd's sd_listen_fds reads 01 as octal, so the value is ambiguous)",
        ),
        (
            &[("LISTEN_PID", zero_pid.as_str()), ("LISTEN_FDS", "1")],
            "",
        ),
        (
            &[
                ("LISTEN_PID", pid.as_str()),
                ("LISTEN_PIDFDID", "0123"),
                ("LISTEN_FDS", "1"),
            ],
            "",
        ),
    ];
    for (vars, expected) in cases {
        let result = ListenFds::builder()
            .vars(vars.iter().copied())
            .on_drop(stream_pfd::OnDrop::Leave)
            .build();
        let err = result.expect_err(&format!("{vars:?} must be refused"));
        assert!(
            matches!(
                err,
                EnvError::BadFdCount { .. } | EnvError::BadPid { .. } | EnvError::BadPidFdId { .. }
            ),
            "{vars:?}: {err:?}"
        );
        assert!(err.to_string().contains("without leading zeros"), "{err}");
        if !expected.is_empty() {
            assert_eq!(err.to_string(), expected);
        }
    }
}

#[test]
fn leftover_variables_without_listen_fds_are_refused() {
    let Some(prog) = pfd_info("leftover_variables_without_listen_fds_are_refused") else {
        return;
    };
    let (code, out) = run_pfd_info(&prog, &[], &[], &[("LISTEN_FDNAMES", "web")], true);
    assert_eq!(code, 2, "{out}");
    assert!(
        line(&out, "env-error").starts_with("env-error: LISTEN_PID is set but LISTEN_FDS is not"),
        "{out}"
    );
    let (code, out) = run_pfd_info(&prog, &[], &[], &[("LISTEN_FDNAMES", "web")], false);
    assert_eq!(code, 2, "{out}");
    assert!(
        line(&out, "env-error")
            .starts_with("env-error: LISTEN_FDNAMES is set but LISTEN_FDS is not"),
        "{out}"
    );
}

#[test]
fn unset_env_removes_all_four_variables() {
    let Some(prog) = pfd_info("unset_env_removes_all_four_variables") else {
        return;
    };
    let unix = abstract_listener(&abstract_name("unset"));
    let env = activated("1", Some("web"));
    let (code, out) = run_pfd_info(
        &prog,
        &["--print-env", "pfd:web"],
        &[unix.as_fd()],
        &env,
        true,
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(line(&out, "env LISTEN_FDS"), "env LISTEN_FDS=1");
    assert_eq!(line(&out, "env LISTEN_FDNAMES"), "env LISTEN_FDNAMES=web");
    assert!(line(&out, "env LISTEN_PID=").len() > "env LISTEN_PID=".len());

    let (code, out) = run_pfd_info(
        &prog,
        &["--unset-env", "--print-env", "pfd:web"],
        &[unix.as_fd()],
        &env,
        true,
    );
    assert_eq!(code, 0, "{out}");
    for var in stream_pfd::env::ENV_VARS {
        assert_eq!(
            line(&out, &format!("env {var}")),
            format!("env {var} unset")
        );
    }
    assert!(out.contains("took pfd:web fd=3"), "{out}");
}

#[test]
fn inherited_fds_work_without_listen_fds() {
    let Some(prog) = pfd_info("inherited_fds_work_without_listen_fds") else {
        return;
    };
    let name = abstract_name("ovs");
    let unix = abstract_listener(&name);
    let (code, out) = run_pfd_info(
        &prog,
        &["pfd:3", "pfd:web", "pfd:9", "pfd:2147483647"],
        &[unix.as_fd()],
        &[],
        false,
    );
    assert_eq!(code, 1, "{out}");
    assert_eq!(line(&out, "activated"), "activated no passed=0");
    assert_eq!(
        line(&out, "took"),
        format!("took pfd:3 fd=3 name=- family=AF_UNIX local=@{name} nonblock=yes cloexec=yes")
    );
    let errors = lines(&out, "error: ");
    assert_eq!(
        errors[0],
        "error: pfd:web: no fd named web: LISTEN_FDS is not set (this process was not socket-activated), so there are no LISTEN_FDNAMES names; use pfd:N for an fd inherited by other means"
    );
    assert_eq!(
        errors[1],
        "error: pfd:9: bad file descriptor: fd 9 is not open (EBADF)"
    );
    assert!(errors[2].starts_with("error: pfd:2147483647: bad file descriptor: fd 2147483647 is not open (EBADF): it is beyond this process's open-file limit (RLIMIT_NOFILE "), "{out}");
}

#[test]
fn fd_numbers_past_a_low_open_limit() {
    let Some(prog) = pfd_info("fd_numbers_past_a_low_open_limit") else {
        return;
    };
    // `sh` lowers the limit (soft and hard) and execs pfd-info, which keeps it.
    let prog = prog.to_str().expect("a UTF-8 path");
    let script = "ulimit -n 64 && exec \"$0\" \"$@\"";
    let args = ["-c", script, prog, "pfd:64", "pfd:100"];
    let sh = std::path::Path::new("/bin/sh");
    let out = common::command_with_fds(sh, &args, &[], &[], false)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("error: pfd:64: bad file descriptor: fd 64 is not open (EBADF): it is beyond this process's open-file limit (RLIMIT_NOFILE 64), so it cannot have been inherited"), "{stdout}");
    assert!(
        stdout.contains(
            "error: pfd:100: bad file descriptor: fd 100 is not open (EBADF): it is beyond"
        ),
        "{stdout}"
    );
}

#[test]
fn fds_opened_after_start_up_cannot_be_claimed() {
    // In-process and safe: the take fails before any ownership claim.
    let mut fds = ListenFds::builder().ignore_env().build().unwrap();
    // A number no other test thread holds: the lowest free number could have been open (by
    // another test) when the snapshot was taken, which `take` rightly calls Replaced instead.
    let bound = TcpListener::bind("127.0.0.1:0").unwrap();
    let (soft, _) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
    let high = soft.saturating_sub(16).min(900) as i32;
    let raw =
        nix::fcntl::fcntl(bound.as_fd(), nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(high)).unwrap();
    // SAFETY: F_DUPFD_CLOEXEC just returned this new fd; nothing else owns it.
    let later = TcpListener::from(unsafe {
        <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw)
    });
    drop(bound);
    let number = std::os::fd::AsRawFd::as_raw_fd(&later);
    assert!(number >= high, "{number}");
    let err = fds
        .take(&PfdSpec::from_number(number).unwrap())
        .unwrap_err();
    assert!(
        matches!(err, TakeError::NotInherited { fd, .. } if fd == number),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("was not inherited: it was not open when ListenFds was created"),
        "{err}"
    );
    // The listener is untouched and still ours.
    assert!(later.local_addr().is_ok());
    assert!(stream_pfd::validate(later.as_fd()).is_ok());
}

#[test]
fn stdio_numbers_cannot_reach_take() {
    // pfd:0, pfd:1, pfd:2 (and negative numbers) are not valid specs, so `take` never sees
    // them.
    for n in [-1, 0, 1, 2] {
        let err = PfdSpec::from_number(n).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ParseErrorKind::StdioFd { .. } | ParseErrorKind::Sign
            ),
            "{err:?}"
        );
        assert_eq!(
            std::io::Error::from(err).kind(),
            std::io::ErrorKind::InvalidInput
        );
    }
}

/// A value that is a decimal number but does not fit is called too large, not "not a decimal
/// number"; values are quoted, so that a trailing space shows.
#[test]
fn too_large_and_spaced_values_are_named_as_such() {
    let pid = std::process::id().to_string();
    let err = ListenFds::builder()
        .vars([
            ("LISTEN_PID", pid.as_str()),
            ("LISTEN_FDS", "99999999999999999999999"),
        ])
        .on_drop(stream_pfd::OnDrop::Leave)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "LISTEN_FDS=\"99999999999999999999999\" is not a valid fd count (expected a decimal \
         number that fits in 64 bits; this one is too large)"
    );
    let err = ListenFds::builder()
        .vars([("LISTEN_PID", "1 "), ("LISTEN_FDS", "1")])
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "LISTEN_PID=\"1 \" is not a valid process id (expected a decimal number from 1 to 2147483647)"
    );
}

/// The exact bounds of the protocol: the largest LISTEN_FDS that fits below INT_MAX is read
/// (and fails only on the fds that are not open), one more is too large; an empty
/// LISTEN_FDNAMES is no name for LISTEN_FDS=0 and one empty name for LISTEN_FDS=1.
#[test]
fn listen_fds_and_fdnames_at_their_exact_bounds() {
    let Some(prog) = pfd_info("listen_fds_and_fdnames_at_their_exact_bounds") else {
        return;
    };
    let a = abstract_listener(&abstract_name("bound-a"));
    let b = abstract_listener(&abstract_name("bound-b"));
    let fds = [a.as_fd(), b.as_fd()];
    let (code, out) = run_pfd_info(&prog, &[], &fds, &activated("2147483645", None), true);
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        line(&out, "env-error"),
        "env-error: LISTEN_FDS=2147483645 says fds 3 to 2147483647 were passed, but fd 5 is not open"
    );
    let (code, out) = run_pfd_info(&prog, &[], &[], &activated("0", Some("")), true);
    assert_eq!(code, 0, "LISTEN_FDS=0 with an empty LISTEN_FDNAMES: {out}");
    let (code, out) = run_pfd_info(
        &prog,
        &["pfd:3"],
        &fds[..1],
        &activated("1", Some("")),
        true,
    );
    assert_eq!(code, 0, "one fd with one empty name: {out}");
    assert!(
        out.contains("took pfd:3 fd=3 name= family=AF_UNIX"),
        "{out}"
    );
}
