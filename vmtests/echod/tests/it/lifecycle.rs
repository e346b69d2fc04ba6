//! Start-up order (READY=1 only after listeners, control socket and sandbox), graceful stop,
//! and outgoing `unix:`/`tcp:` remotes with reconnection.

use crate::common;

use common::*;
use nix::sys::signal::Signal;
use serde_json::json;
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::time::Duration;

fn recv_notify(sock: &UnixDatagram) -> Option<String> {
    let mut buf = [0u8; 256];
    match sock.recv(&mut buf) {
        Ok(n) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
        Err(_) => None,
    }
}

fn status_field(pid: i32, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("")
        .to_string()
}

#[test]
fn ready_comes_after_listeners_control_socket_and_sandbox_then_stopping() {
    let dir = TempDir::new("life-ready");
    let (notify, notify_path) = notify_socket(&dir);
    let sock = dir.join("s.sock");
    let ctl = dir.join("echod.ctl");
    let mut p = Proc::echod_notifying(
        &dir,
        &[
            &format!("--remote=punix:{}", sock.display()),
            &format!("--unixctl={}", ctl.display()),
            "--sandbox=on,spawn=deny",
        ],
        &notify_path,
    );
    let msg =
        recv_notify(&notify).unwrap_or_else(|| panic!("no READY=1; stderr:\n{}", p.stderr_text()));
    assert_eq!(msg, "READY=1");
    assert_eq!(
        recv_notify(&notify).as_deref(),
        Some("STATUS=serving 1 remote(s)")
    );
    // At READY=1 everything is in place: listener, control socket, sandbox.
    assert!(sock.exists() && ctl.exists());
    assert_eq!(
        status_field(p.pid(), "Seccomp:"),
        "2",
        "READY=1 before the sandbox was loaded"
    );
    assert_eq!(
        status_field(p.pid(), "NoNewPrivs:"),
        "1",
        "no_new_privs not set with the sandbox"
    );
    connect_unix(&sock).echo(1, json!(["ready"]));
    p.signal(Signal::SIGTERM);
    assert_eq!(
        recv_notify(&notify).as_deref(),
        Some("STOPPING=1\nSTATUS=stopping: finishing in-flight replies")
    );
    assert!(p.wait_exit().success());
}

#[test]
fn no_ready_when_start_up_fails() {
    let dir = TempDir::new("life-noready");
    let (notify, notify_path) = notify_socket(&dir);
    notify
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let taken = dir.join("taken");
    std::fs::write(&taken, "a regular file").unwrap();
    let mut p = Proc::echod_notifying(
        &dir,
        &[&format!("--remote=punix:{}", taken.display())],
        &notify_path,
    );
    assert_eq!(p.wait_exit().code(), Some(1));
    let log = p.stderr_text();
    assert!(
        log.contains("it exists and is a regular file, not a socket; it was left in place"),
        "{log}"
    );
    assert_eq!(
        std::fs::read_to_string(&taken).unwrap(),
        "a regular file",
        "echod clobbered a file"
    );
    assert_eq!(
        recv_notify(&notify),
        None,
        "READY=1 sent although start-up failed"
    );
}

#[test]
fn stale_socket_is_replaced_but_a_live_one_is_not() {
    let dir = TempDir::new("life-stale");
    let sock = dir.join("s.sock");
    // Stale: bound, then its listener closed (shut down first, see stale_unix_socket).
    test_support::stale_unix_socket(&sock);
    let mut p = Proc::echod(&dir, &[&format!("--remote=punix:{}", sock.display())]);
    p.wait_log("removed a stale socket file nobody listened on");
    connect_unix(&sock).echo(1, json!([]));
    // Live: a second echod on the same path refuses to start.
    let mut q = Proc::spawn(
        &dir,
        "second",
        echod_bin(),
        &[&format!("--remote=punix:{}", sock.display())],
    );
    assert_eq!(q.wait_exit().code(), Some(1));
    assert!(
        q.stderr_text().contains("another process listens on it"),
        "{}",
        q.stderr_text()
    );
    connect_unix(&sock).echo(2, json!(["first still serves"]));
}

/// Polls `accept` (on a non-blocking listener) until echod connects, at most [`TIMEOUT`].
fn accept_retrying<S>(what: &str, accept: impl FnMut() -> std::io::Result<S>) -> S {
    test_support::wait::until(what, accept)
}

fn accept_unix(l: &UnixListener) -> std::os::unix::net::UnixStream {
    l.set_nonblocking(true).unwrap();
    let (s, _) = accept_retrying("echod never connected", || l.accept());
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s
}

#[test]
fn connects_out_over_unix_and_tcp_and_reconnects() {
    let dir = TempDir::new("life-connect");
    let path = dir.join("peer.sock");
    let port = free_port();
    let mut p = Proc::echod(
        &dir,
        &[
            &format!("--remote=unix:{}", path.display()),
            &format!("--remote=tcp:127.0.0.1:{port}"),
        ],
    );
    // Nobody listens yet: echod retries with backoff.
    p.wait_log(&format!("unix:{}: connection failed", path.display()));
    let unix_listener = UnixListener::bind(&path).unwrap();
    let tcp_listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();

    let mut c = Client::new(accept_unix(&unix_listener));
    c.echo(1, json!(["echod connected to me"]));

    tcp_listener.set_nonblocking(true).unwrap();
    let (tcp, _) = accept_retrying("no tcp connection from echod", || tcp_listener.accept());
    tcp.set_nonblocking(false).unwrap();
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut t = Client::new(tcp);
    t.echo(2, json!(["over tcp"]));

    // The peer hangs up: echod reconnects and serves the new connection.
    drop(c);
    let mut c2 = Client::new(accept_unix(&unix_listener));
    c2.echo(3, json!(["again"]));
    assert!(p.is_running());
}

#[test]
fn ptcp_port_zero_is_logged_so_it_can_be_used_without_a_control_socket() {
    let dir = TempDir::new("life-port0");
    let mut p = Proc::echod(&dir, &["--unixctl=none", "--remote=ptcp:0:127.0.0.1"]);
    let log = p.wait_log("serving 1 remote(s)");
    let port = log
        .lines()
        .find_map(|l| l.strip_prefix("echod: info: ptcp:0:127.0.0.1: listening on 127.0.0.1:"))
        .unwrap_or_else(|| panic!("no bound address logged:\n{log}"));
    connect_tcp(&format!("127.0.0.1:{port}")).echo(1, json!(["port 0"]));
    p.signal(Signal::SIGTERM);
    assert!(p.wait_exit().success());
}

#[test]
fn start_up_errors_name_the_missing_directory_and_the_config_shape() {
    let dir = TempDir::new("life-errs");
    let sock = dir.join("no-such-dir/s.sock");
    let mut p = Proc::echod(&dir, &[&format!("--remote=punix:{}", sock.display())]);
    assert_eq!(p.wait_exit().code(), Some(1));
    let log = p.stderr_text();
    let want = format!(
        "the directory {} does not exist",
        dir.join("no-such-dir").display()
    );
    assert!(log.contains(&want), "{log}");

    // `[]` would deserialise as "no settings" through serde's sequence form of a struct.
    let cfg = dir.join("echod.json");
    std::fs::write(&cfg, "[]").unwrap();
    let mut p = Proc::echod(&dir, &[&format!("--config-file={}", cfg.display())]);
    assert_eq!(p.wait_exit().code(), Some(1));
    let log = p.stderr_text();
    assert!(
        log.contains("invalid type: sequence, expected a map"),
        "{log}"
    );

    // A sandbox string QEMU accepts but that does nothing is warned about, as with --sandbox.
    std::fs::write(&cfg, r#"{"sandbox": "off,spawn=deny"}"#).unwrap();
    let mut p = Proc::echod(
        &dir,
        &[
            "--unixctl=none",
            &format!("--config-file={}", cfg.display()),
        ],
    );
    let log = p.wait_log("serving 0 remote(s)");
    assert!(
        log.contains("echod.json: sandbox: spawn=deny has no effect while the sandbox is off"),
        "{log}"
    );
    p.signal(Signal::SIGTERM);
    assert!(p.wait_exit().success());
}

/// systemd keeps the listening socket while echod restarts: every request a client sends gets
/// its reply, from the old instance or the new one, whatever the moment of SIGTERM. Clients
/// make one connection per request, as in the VM's restart-under-load scenario.
#[test]
fn restarts_under_load_lose_no_request() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    const CLIENTS: usize = 4;
    const RESTARTS: usize = 30;
    let dir = TempDir::new("life-restart");
    let sock = dir.join("s.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (stop, answered, sock) = (stop.clone(), answered.clone(), sock.clone());
            std::thread::spawn(move || -> Result<usize, String> {
                let addr = format!("unix:{}", sock.display());
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let text = format!("client {c} request {n}");
                    let reply = vmtests::scenarios::ctx::echo_request(&addr, &text, TIMEOUT)
                        .map_err(|e| format!("client {c}, request {n}: {e}"))?;
                    vmtests::scenarios::ctx::check_echo_reply(&reply, &text)?;
                    n += 1;
                    answered.fetch_add(1, Ordering::Relaxed);
                }
                Ok(n)
            })
        })
        .collect();
    for r in 0..=RESTARTS {
        let mut p =
            echod_with_listener(&dir, &format!("echod-{r}"), &listener, &["--remote=pfd:3"]);
        let before = answered.load(Ordering::Relaxed);
        test_support::wait::until_true("replies from this instance", || {
            p.assert_running("serving");
            answered.load(Ordering::Relaxed) >= before + 5
        });
        p.signal(Signal::SIGTERM);
        let status = p.wait_exit();
        assert_eq!(status.code(), Some(0), "{}", p.stderr_text());
    }
    // The last instance has stopped; one more serves what is queued, then the clients stop.
    let last = echod_with_listener(&dir, "echod-last", &listener, &["--remote=pfd:3"]);
    let before = answered.load(Ordering::Relaxed);
    test_support::wait::until_true("replies after the last restart", || {
        answered.load(Ordering::Relaxed) >= before + 5
    });
    stop.store(true, Ordering::Relaxed);
    let errors: Vec<String> = workers
        .into_iter()
        .filter_map(|w| w.join().expect("client thread").err())
        .collect();
    last.signal(Signal::SIGTERM);
    assert!(
        errors.is_empty(),
        "requests lost across {RESTARTS} restarts: {errors:#?}"
    );
}

/// SIGTERM while hundreds of connections, each with its request sent, still wait in a
/// `punix:` listener's queue: every one is accepted and answered before echod exits, none
/// is reset by the listener closing.
#[test]
fn sigterm_serves_the_connections_already_queued() {
    use std::io::{Read, Write};
    const CLIENTS: usize = 300;
    let dir = TempDir::new("life-queue");
    let (mut p, sock) = echod_on_punix(&dir, &["--unixctl=none"]);
    let request = json!({"method": "echo", "params": ["queued"], "id": 7}).to_string();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let mut c = std::os::unix::net::UnixStream::connect(&sock).unwrap();
        c.write_all(request.as_bytes()).unwrap();
        clients.push(c);
    }
    p.signal(Signal::SIGTERM);
    let mut lost = Vec::new();
    for (i, mut c) in clients.into_iter().enumerate() {
        c.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut reply = String::new();
        match c.read_to_string(&mut reply) {
            Ok(_) if reply.contains("\"result\":[\"queued\"]") => {}
            Ok(_) => lost.push(format!("{i}: closed without a reply ({reply:?})")),
            Err(e) => lost.push(format!("{i}: {e}")),
        }
    }
    assert_eq!(p.wait_exit().code(), Some(0), "{}", p.stderr_text());
    assert!(
        lost.is_empty(),
        "{} of {CLIENTS} lost: {lost:?}",
        lost.len()
    );
}

/// The threads named `echod-shard<i>` of process `pid`.
fn shard_threads(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.starts_with("echod-shard"))
        .count()
}

#[test]
fn threads_option_sets_how_many_threads_serve_the_connections() {
    test_support::require_program!("prlimit", "util-linux");
    let dir = TempDir::new("life-threads");
    let sock = dir.join("t.sock");
    let remote = format!("--remote=punix:{}", sock.display());
    let mut p = Proc::echod(&dir, &["--unixctl=none", &remote, "--threads=3"]);
    p.wait_log("serving 1 remote(s)");
    assert!(
        p.stderr_text()
            .contains("serving connections on 3 thread(s)")
    );
    assert_eq!(shard_threads(p.pid()), 3);
    // More connections than threads, all open at once and each answered in turn.
    let mut clients: Vec<_> = (0..7).map(|_| connect_unix(&sock)).collect();
    for round in 0..3 {
        for (i, c) in clients.iter_mut().enumerate() {
            c.echo(round * 10 + i as u64, json!(["threads", i]));
        }
    }
    p.signal(Signal::SIGTERM);
    assert!(p.wait_exit().success());

    // By default: four per CPU this process may use (echod inherits its affinity), at most 64.
    let cpus = std::thread::available_parallelism().unwrap().get();
    let mut p = Proc::echod(&dir, &["--unixctl=none", "--remote=ptcp:0:127.0.0.1"]);
    p.wait_log("serving 1 remote(s)");
    assert_eq!(shard_threads(p.pid()), (4 * cpus).min(64));
    p.signal(Signal::SIGTERM);
    assert!(p.wait_exit().success());

    let mut p = Proc::echod(&dir, &["--unixctl=none", "--threads=0"]);
    assert_eq!(p.wait_exit().code(), Some(2), "usage errors exit 2");
    assert!(p.stderr_text().contains("--threads"), "{}", p.stderr_text());

    // Under a low fd limit the default shrinks: the threads (4 fds each) hold at most a
    // quarter of the 32 fds, so 2 at most where 4 per CPU would be 4 or more.
    let mut p = Proc::echod_with_nofile(
        &dir,
        "echod-low",
        32,
        &["--unixctl=none", "--remote=ptcp:0:127.0.0.1"],
        &[],
    );
    let log = p.wait_log("serving 1 remote(s)");
    let threads: usize = log
        .lines()
        .find_map(|l| l.strip_prefix("echod: info: serving connections on "))
        .and_then(|l| l.strip_suffix(" thread(s)"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no thread count logged:\n{log}"));
    assert!((1..=2).contains(&threads), "{threads} threads under 32 fds");
    assert_eq!(shard_threads(p.pid()), threads);
    p.signal(Signal::SIGTERM);
    assert!(p.wait_exit().success());
    let mut p = Proc::echod_with_nofile(
        &dir,
        "echod-refused",
        32,
        &["--unixctl=none", "--threads=20"],
        &[],
    );
    assert_eq!(p.wait_exit().code(), Some(1));
    let log = p.stderr_text();
    assert!(
        log.contains("echod: error: --threads: 20 threads need 80 fds"),
        "{log}"
    );
}
