//! Socket activation with the real `systemd-socket-activate`: echod serves `pfd:3`, `pfd:NAME`
//! and TCP, never unlinks the inherited socket, and refuses a datagram socket.

use crate::common;

use common::*;
use nix::sys::signal::Signal;
use serde_json::json;

const SSA: &str = "systemd-socket-activate";

/// Starts `systemd-socket-activate SSA_ARGS -l LISTEN -- echod ECHOD_ARGS` in `dir`.
fn activate(dir: &TempDir, ssa_args: &[&str], listen: &str, echod_args: &[&str]) -> Proc {
    let mut args = ssa_args.to_vec();
    args.extend(["-l", listen, "--", echod_bin()]);
    args.extend_from_slice(echod_args);
    let ssa = program(SSA);
    Proc::spawn(dir, "ssa", ssa.to_str().expect("a UTF-8 path"), &args)
}

#[test]
fn pfd_number_on_unix_socket_answers_echo() {
    test_support::require_program!(SSA, "systemd");
    let dir = TempDir::new("ssa-unix");
    let sock = dir.join("echod.sock");
    let sock_s = sock.to_str().unwrap();
    let mut p = activate(&dir, &[], sock_s, &["--remote=pfd:3"]);
    wait_listening(&sock, &mut p);
    let mut c = connect_unix(&sock);
    c.echo(1, json!(["hello", {"nested": [1, 2.5, null]}]));
    c.echo(2, json!([]));
    let log = p.wait_log("serving 1 remote(s)");
    assert!(log.contains("pfd:3: AF_UNIX stream listener"), "{log}");
    // SIGTERM: exit 0, and the inherited socket (systemd's) is not unlinked.
    drop(c);
    p.signal(Signal::SIGTERM);
    let status = p.wait_exit();
    assert!(
        status.success(),
        "exit status {status:?}; stderr:\n{}",
        p.stderr_text()
    );
    assert!(sock.exists(), "echod unlinked the inherited pfd: socket");
}

#[test]
fn pfd_name_from_fdname_answers_echo() {
    test_support::require_program!(SSA, "systemd");
    let dir = TempDir::new("ssa-name");
    let sock = dir.join("named.sock");
    let mut p = activate(
        &dir,
        &["--fdname=web"],
        sock.to_str().unwrap(),
        &["--remote=pfd:web"],
    );
    wait_listening(&sock, &mut p);
    let mut c = connect_unix(&sock);
    c.echo(7, json!(["by name"]));
    let log = p.wait_log("serving 1 remote(s)");
    assert!(log.contains("pfd:web:"), "{log}");
}

#[test]
fn pfd_name_that_was_not_passed_is_a_clear_error() {
    test_support::require_program!(SSA, "systemd");
    let dir = TempDir::new("ssa-noname");
    let sock = dir.join("named.sock");
    let mut p = activate(
        &dir,
        &["--fdname=web"],
        sock.to_str().unwrap(),
        &["--remote=pfd:api"],
    );
    wait_listening(&sock, &mut p);
    // The first connection makes systemd-socket-activate exec echod, which refuses.
    std::os::unix::net::UnixStream::connect(&sock).expect("connect to the listening socket");
    let status = p.wait_exit();
    assert_eq!(status.code(), Some(1), "stderr:\n{}", p.stderr_text());
    let log = p.stderr_text();
    assert!(
        log.contains("echod: error: ") && log.contains("pfd:api"),
        "{log}"
    );
}

#[test]
fn pfd_on_tcp_socket_answers_echo() {
    test_support::require_program!(SSA, "systemd");
    let dir = TempDir::new("ssa-tcp");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut p = activate(&dir, &[], &addr, &["--remote=pfd:3"]);
    p.wait_log(&format!("Listening on {addr}"));
    let mut c = connect_tcp(&addr);
    c.echo(3, json!(["over tcp"]));
    let log = p.wait_log("serving 1 remote(s)");
    assert!(
        log.contains(&format!("pfd:3: AF_INET TCP listener on {addr}")),
        "{log}"
    );
}

#[test]
fn datagram_socket_makes_echod_exit_with_the_stream_socket_error() {
    test_support::require_program!(SSA, "systemd");
    let dir = TempDir::new("ssa-dgram");
    let sock = dir.join("dgram.sock");
    let mut p = activate(
        &dir,
        &["--datagram"],
        sock.to_str().unwrap(),
        &["--remote=pfd:3"],
    );
    wait_bound(&sock, &mut p);
    // A datagram makes systemd-socket-activate exec echod.
    test_support::wait::send_datagram(&sock, b"{}");
    let status = p.wait_exit();
    let log = p.stderr_text();
    assert!(
        !status.success() && status.code() == Some(1),
        "{status:?}; stderr:\n{log}"
    );
    assert!(
        log.contains("echod: error: pfd:3: not a stream socket") && log.contains("SOCK_DGRAM"),
        "missing the stream-socket error:\n{log}"
    );
    assert!(
        !log.contains("serving"),
        "echod served a datagram socket:\n{log}"
    );
}
