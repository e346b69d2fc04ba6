//! Interop with the real `systemd-socket-activate` (Debian's systemd package): it creates the
//! sockets, sets LISTEN_* and execs the `pfd-info` example, which takes and serves them (with
//! `--accept`, one connection per instance), or the `axum` example, which serves HTTP.

use crate::common;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

#[cfg(feature = "axum")]
use common::axum_example;
use common::{TempDir, pfd_info};
use test_support::wait::{self, connect_unix};

const TIMEOUT: Duration = wait::TIMEOUT;

/// A running `systemd-socket-activate` whose stdout (shared with the program it execs) is
/// collected line by line.
struct Activator {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Activator {
    /// `systemd-socket-activate ARGS pfd-info PFD_INFO_ARGS`.
    fn start(test: &str, args: &[&str], pfd_info_args: &[&str]) -> Option<Activator> {
        let activate = activator(test)?;
        let prog = pfd_info(test)?;
        Some(Activator::spawn(&activate, args, &prog, pfd_info_args))
    }

    /// `systemd-socket-activate ARGS axum AXUM_ARGS` (the `axum` example).
    #[cfg(feature = "axum")]
    fn start_axum(test: &str, args: &[&str], axum_args: &[&str]) -> Option<Activator> {
        let activate = activator(test)?;
        let prog = axum_example(test)?;
        Some(Activator::spawn(&activate, args, &prog, axum_args))
    }

    fn spawn(activate: &Path, args: &[&str], prog: &Path, prog_args: &[&str]) -> Activator {
        let mut cmd = Command::new(activate);
        cmd.args(args).arg(prog).args(prog_args);
        for var in stream_pfd::env::ENV_VARS {
            cmd.env_remove(var);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn systemd-socket-activate");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Activator {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a stdout line starting with `prefix`.
    fn wait_line(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(line) = self.seen.iter().find(|l| l.starts_with(prefix)) {
                return line.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("no line starting with {prefix:?}; got {:#?}", self.seen),
            }
        }
    }

    /// Waits for the process to exit and returns its exit code.
    fn wait_exit(&mut self) -> i32 {
        let status = wait::until(
            "systemd-socket-activate and pfd-info to exit",
            || match self.child.try_wait() {
                Ok(Some(status)) => Ok(status),
                Ok(None) => Err(format!("still running; output so far {:#?}", self.seen)),
                Err(e) => panic!("waiting for the child: {e}"),
            },
        );
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(line);
        }
        status.code().unwrap_or(-1)
    }
}

impl Drop for Activator {
    fn drop(&mut self) {
        // Only the process we started, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `systemd-socket-activate`, or a loud skip.
fn activator(test: &str) -> Option<PathBuf> {
    test_support::require_program(test, "systemd-socket-activate", "systemd")
}

fn connect_tcp(port: u16) -> TcpStream {
    wait::connect_tcp(format!("127.0.0.1:{port}"))
}

fn read_all(mut stream: impl Read) -> String {
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("read greeting");
    text
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn sock(dir: &TempDir, name: &str) -> (PathBuf, String) {
    let path = dir.join(name);
    let text = path.to_str().unwrap().to_owned();
    (path, text)
}

#[test]
fn unix_socket_from_systemd_socket_activate() {
    let dir = TempDir::new("stream-pfd-sa-unix");
    let (path, text) = sock(&dir, "u.sock");
    let Some(mut act) = Activator::start(
        "unix_socket_from_systemd_socket_activate",
        &["-l", &text],
        &["--serve", "pfd:3"],
    ) else {
        return;
    };
    let client = connect_unix(&path);
    assert_eq!(read_all(client), "hello from pfd-info via pfd:3\n");
    assert_eq!(act.wait_exit(), 0, "{:#?}", act.seen);
    let took = act.wait_line("took");
    assert!(
        took.starts_with("took pfd:3 fd=3 name=")
            && took.ends_with(&format!(
                "family=AF_UNIX local={text} nonblock=yes cloexec=yes"
            )),
        "{took}"
    );
    assert_eq!(act.wait_line("activated"), "activated yes passed=1");
    assert!(
        act.wait_line("served")
            .starts_with("served pfd:3 peer=(unnamed)")
    );
}

#[test]
fn tcp_socket_from_systemd_socket_activate() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let Some(mut act) = Activator::start(
        "tcp_socket_from_systemd_socket_activate",
        &["-l", &addr, "--fdname=web"],
        &["--serve", "pfd:web"],
    ) else {
        return;
    };
    let client = connect_tcp(port);
    let client_addr = client.local_addr().unwrap();
    assert_eq!(read_all(client), "hello from pfd-info via pfd:web\n");
    assert_eq!(act.wait_exit(), 0, "{:#?}", act.seen);
    assert_eq!(
        act.wait_line("took"),
        format!("took pfd:web fd=3 name=web family=AF_INET local={addr} nonblock=yes cloexec=yes")
    );
    assert_eq!(
        act.wait_line("served"),
        format!("served pfd:web peer={client_addr}")
    );
}

#[test]
fn two_named_sockets_from_systemd_socket_activate() {
    let dir = TempDir::new("stream-pfd-sa-two");
    let (path_a, text_a) = sock(&dir, "a.sock");
    let (path_b, text_b) = sock(&dir, "b.sock");
    let Some(mut act) = Activator::start(
        "two_named_sockets_from_systemd_socket_activate",
        &["-l", &text_a, "-l", &text_b, "--fdname=a:b"],
        &["--serve", "pfd:b", "pfd:a"],
    ) else {
        return;
    };
    let client_a = connect_unix(&path_a);
    let client_b = connect_unix(&path_b);
    assert_eq!(read_all(client_b), "hello from pfd-info via pfd:b\n");
    assert_eq!(read_all(client_a), "hello from pfd-info via pfd:a\n");
    assert_eq!(act.wait_exit(), 0, "{:#?}", act.seen);
    assert_eq!(act.wait_line("activated"), "activated yes passed=2");
    assert_eq!(
        act.wait_line("took pfd:b"),
        format!("took pfd:b fd=4 name=b family=AF_UNIX local={text_b} nonblock=yes cloexec=yes")
    );
    assert_eq!(
        act.wait_line("took pfd:a"),
        format!("took pfd:a fd=3 name=a family=AF_UNIX local={text_a} nonblock=yes cloexec=yes")
    );
}

#[test]
fn unclaimed_socket_from_systemd_socket_activate_is_reported() {
    let dir = TempDir::new("stream-pfd-sa-unclaimed");
    let (path_a, text_a) = sock(&dir, "a.sock");
    let (_path_b, text_b) = sock(&dir, "b.sock");
    let Some(mut act) = Activator::start(
        "unclaimed_socket_from_systemd_socket_activate_is_reported",
        &["-l", &text_a, "-l", &text_b, "--fdname=a:b"],
        &["--serve", "pfd:a"],
    ) else {
        return;
    };
    let client_a = connect_unix(&path_a);
    assert_eq!(read_all(client_a), "hello from pfd-info via pfd:a\n");
    assert_eq!(act.wait_exit(), 0, "{:#?}", act.seen);
    assert_eq!(
        act.wait_line("unclaimed"),
        format!("unclaimed: fd 4 (name b): AF_UNIX stream listener on {text_b}")
    );
    assert_eq!(act.wait_line("after-drop fd=4"), "after-drop fd=4 closed");
}

#[test]
fn datagram_socket_from_systemd_socket_activate_is_rejected() {
    let dir = TempDir::new("stream-pfd-sa-dgram");
    let (path, text) = sock(&dir, "d.sock");
    let Some(mut act) = Activator::start(
        "datagram_socket_from_systemd_socket_activate_is_rejected",
        &["--datagram", "-l", &text],
        &["pfd:3"],
    ) else {
        return;
    };
    wait::send_datagram(&path, b"wake up");
    assert_eq!(act.wait_exit(), 1, "{:#?}", act.seen);
    assert_eq!(
        act.wait_line("error"),
        "error: pfd:3: not a stream socket: fd 3 is a datagram socket (SOCK_DGRAM); pfd: needs a listening SOCK_STREAM socket (systemd ListenStream=, not ListenDatagram= or ListenSequentialPacket=)"
    );
}

#[test]
fn accept_yes_connection_from_systemd_socket_activate_is_rejected() {
    let dir = TempDir::new("stream-pfd-sa-accept");
    let (path, text) = sock(&dir, "acc.sock");
    let Some(mut act) = Activator::start(
        "accept_yes_connection_from_systemd_socket_activate_is_rejected",
        &["--accept", "-l", &text],
        &["pfd:3"],
    ) else {
        return;
    };
    let _client = connect_unix(&path);
    let error = act.wait_line("error");
    assert!(
        error.starts_with(&format!(
            "error: pfd:3: not a listening socket: fd 3 is a connected stream socket (local {text}, peer (unnamed)), which is what systemd passes with Accept=yes; use Accept=no"
        )),
        "{error}"
    );
}

#[cfg(feature = "tokio")]
#[test]
fn tokio_listener_from_systemd_socket_activate() {
    let dir = TempDir::new("stream-pfd-sa-tokio");
    let (path, text) = sock(&dir, "t.sock");
    let Some(mut act) = Activator::start(
        "tokio_listener_from_systemd_socket_activate",
        &["-l", &text],
        &["--serve", "--tokio", "pfd:3"],
    ) else {
        return;
    };
    let client = connect_unix(&path);
    assert_eq!(read_all(client), "hello from pfd-info via pfd:3\n");
    assert_eq!(act.wait_exit(), 0, "{:#?}", act.seen);
    assert_eq!(
        act.wait_line("served"),
        "served pfd:3 peer=(unnamed) via=tokio"
    );
}

/// `--accept`: systemd-socket-activate accepts each connection itself and starts one
/// `pfd-info` per connection with the connected socket at fd 3 (LISTEN_FDS=1, the name given
/// with --fdname); `take_connection` takes it, with the peer's address, and serves it.
#[test]
fn accepted_connection_from_systemd_socket_activate_is_taken_and_served() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let Some(mut act) = Activator::start(
        "accepted_connection_from_systemd_socket_activate_is_taken_and_served",
        &["--accept", "-l", &addr, "--fdname=conn"],
        &["--connection", "--serve", "pfd:conn"],
    ) else {
        return;
    };
    let client = connect_tcp(port);
    let client_addr = client.local_addr().unwrap();
    assert_eq!(read_all(client), "hello from pfd-info via pfd:conn\n");
    assert_eq!(
        act.wait_line("took-connection"),
        format!(
            "took-connection pfd:conn fd=3 name=conn family=AF_INET local={addr} \
             peer={client_addr} nonblock=yes cloexec=yes"
        )
    );
    assert_eq!(
        act.wait_line("served"),
        format!("served pfd:conn peer={client_addr}")
    );
    // A second connection: a second instance, a second connection taken.
    let client = connect_tcp(port);
    let second = client.local_addr().unwrap();
    assert_eq!(read_all(client), "hello from pfd-info via pfd:conn\n");
    act.wait_line(&format!("served pfd:conn peer={second}"));
}

/// The same over a unix socket, served through tokio when the example has it.
#[test]
fn accepted_unix_connection_from_systemd_socket_activate_is_taken_and_served() {
    let dir = TempDir::new("stream-pfd-sa-accept-unix");
    let (path, text) = sock(&dir, "c.sock");
    let mut args = vec!["--connection", "--serve", "pfd:3"];
    if cfg!(feature = "tokio") {
        args.push("--tokio");
    }
    let Some(mut act) = Activator::start(
        "accepted_unix_connection_from_systemd_socket_activate_is_taken_and_served",
        &["--accept", "-l", &text],
        &args,
    ) else {
        return;
    };
    let client = connect_unix(&path);
    assert_eq!(read_all(client), "hello from pfd-info via pfd:3\n");
    assert_eq!(
        act.wait_line("took-connection"),
        format!(
            "took-connection pfd:3 fd=3 name=unknown family=AF_UNIX local={text} \
             peer=(unnamed) nonblock=yes cloexec=yes"
        )
    );
    let served = act.wait_line("served");
    assert!(
        served.starts_with("served pfd:3 peer=(unnamed)"),
        "{served}"
    );
}

/// A hand-written HTTP/1.1 request over `stream`; the whole response.
#[cfg(feature = "axum")]
fn http_get(mut stream: impl Read + std::io::Write) -> String {
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("write the request");
    read_all(stream)
}

#[cfg(feature = "axum")]
fn assert_hello(response: &str) {
    assert!(
        response.starts_with("HTTP/1.1 200 OK\r\n")
            && response.ends_with("\r\n\r\nhello from stream-pfd\n"),
        "{response:?}"
    );
}

#[cfg(feature = "axum")]
#[test]
fn axum_example_serves_http_over_an_activated_unix_socket() {
    let dir = TempDir::new("stream-pfd-sa-axum-unix");
    let (path, text) = sock(&dir, "web.sock");
    let Some(mut act) = Activator::start_axum(
        "axum_example_serves_http_over_an_activated_unix_socket",
        &["-l", &text, "--fdname=web"],
        &["--listen", "pfd:web", "--fallback", "127.0.0.1:1"],
    ) else {
        return;
    };
    // The first connection makes systemd-socket-activate exec the example.
    assert_hello(&http_get(connect_unix(&path)));
    assert_eq!(
        act.wait_line("serving on"),
        format!("serving on {text} (socket-activated)")
    );
    // And it keeps serving.
    assert_hello(&http_get(connect_unix(&path)));
}

#[cfg(feature = "axum")]
#[test]
fn axum_example_serves_http_over_activated_tcp_sockets() {
    let (port_a, port_b) = (free_port(), free_port());
    let (addr_a, addr_b) = (format!("127.0.0.1:{port_a}"), format!("127.0.0.1:{port_b}"));
    let Some(mut act) = Activator::start_axum(
        "axum_example_serves_http_over_activated_tcp_sockets",
        // Two sockets, the example's is the second.
        &["-l", &addr_a, "-l", &addr_b, "--fdname=admin:web"],
        &["--listen", "pfd:web"],
    ) else {
        return;
    };
    assert_hello(&http_get(connect_tcp(port_b)));
    assert_eq!(
        act.wait_line("serving on"),
        format!("serving on {addr_b} (socket-activated)")
    );
}

/// Without `--fdname`, systemd-socket-activate sets no `LISTEN_FDNAMES` and the fd is named
/// `unknown`: `pfd:web` fails and says so, naming the two ways out; with another name the
/// message lists the names that exist instead; `pfd:3` works either way.
#[test]
fn a_name_without_fdname_says_that_nothing_was_named() {
    let test = "a_name_without_fdname_says_that_nothing_was_named";
    let dir = TempDir::new("stream-pfd-sa-noname");
    let (path, text) = sock(&dir, "n.sock");
    let Some(mut act) = Activator::start(test, &["-l", &text], &["pfd:web"]) else {
        return;
    };
    let _client = connect_unix(&path); // wakes the activator, which execs pfd-info
    assert_eq!(act.wait_exit(), 1, "{:#?}", act.seen);
    assert_eq!(
        act.wait_line("error"),
        "error: pfd:web: no fd named web: LISTEN_FDNAMES is not set, so systemd names every \
         passed fd \"unknown\" (fd 3); name the socket (FileDescriptorName=web in its .socket \
         unit, or systemd-socket-activate --fdname=web) or take it by number (pfd:3)"
    );
    drop(act);

    let (path, text) = sock(&dir, "a.sock");
    let Some(mut act) = Activator::start(test, &["-l", &text, "--fdname=admin"], &["pfd:web"])
    else {
        return;
    };
    let _client = connect_unix(&path);
    assert_eq!(act.wait_exit(), 1, "{:#?}", act.seen);
    assert_eq!(
        act.wait_line("error"),
        "error: pfd:web: no fd named web: LISTEN_FDNAMES has admin (fd 3)"
    );
    drop(act);

    let (path, text) = sock(&dir, "d.sock");
    let Some(mut act) = Activator::start(test, &["-l", &text], &["--serve"]) else {
        return;
    };
    assert_eq!(
        read_all(connect_unix(&path)),
        "hello from pfd-info via pfd:3\n"
    );
    assert_eq!(act.wait_exit(), 0, "{:#?}", act.seen);
}

/// `--inetd --accept`: the connection arrives on stdin and stdout; `Connection::take_stdio` takes it
/// (fd 0 validated as a connected socket, moved to fd 3 or above, stdin and stdout pointed at
/// /dev/null so that a stray print cannot reach the client).
#[test]
fn inetd_connection_on_stdio_is_taken_and_served() {
    let test = "inetd_connection_on_stdio_is_taken_and_served";
    let (Some(activate), Some(prog)) = (activator(test), pfd_info(test)) else {
        return;
    };
    let dir = TempDir::new("stream-pfd-sa-inetd");
    let (path, text) = sock(&dir, "inetd.sock");
    let log = dir.join("stderr");
    let mut child = Command::new(&activate)
        .args(["--inetd", "--accept", "-l", &text, "--"])
        .arg(&prog)
        .arg("--stdio")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("spawn systemd-socket-activate");
    let client = connect_unix(&path);
    // Exactly the greeting: the stray println! after the take went to /dev/null.
    assert_eq!(read_all(client), "hello from pfd-info via stdin\n");
    wait::until_true("pfd-info to report the connection served", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("served stdio"))
    });
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let took = text
        .lines()
        .find(|l| l.starts_with("took-stdio"))
        .unwrap_or_else(|| panic!("no took-stdio line:\n{text}"));
    let fd: i32 = took["took-stdio fd=".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(fd >= 3, "{took}");
    assert!(
        took.contains(&format!("family=AF_UNIX local={}", path.display()))
            && took.ends_with("nonblock=yes cloexec=yes"),
        "{took}"
    );
    assert!(text.contains("served stdio peer="), "{text}");
}

/// Without a connection on stdin, `take_stdio` refuses and names fd 0 and what it is.
#[test]
fn take_stdio_refuses_a_pipe() {
    let Some(prog) = pfd_info("take_stdio_refuses_a_pipe") else {
        return;
    };
    let out = Command::new(&prog)
        .arg("--stdio")
        .stdin(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("stdio-error: ") && err.contains("fd 0") && err.contains("pipe"),
        "{err}"
    );
}

/// A connection that is already non-blocking on stdin stays non-blocking once taken (the flag
/// is added, never toggled), and the peer gets the greeting.
#[test]
fn take_stdio_keeps_a_nonblocking_connection_nonblocking() {
    let Some(prog) = pfd_info("take_stdio_keeps_a_nonblocking_connection_nonblocking") else {
        return;
    };
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    theirs.set_nonblocking(true).unwrap();
    let out = Command::new(&prog)
        .arg("--stdio")
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let took = err.lines().find(|l| l.starts_with("took-stdio")).unwrap();
    assert!(took.ends_with("nonblock=yes cloexec=yes"), "{took}");
    assert_eq!(read_all(ours), "hello from pfd-info via stdin\n");
}

/// inetd's default: the connection on stdin, stdout and stderr. After the take, neither the
/// stray println! nor the log lines on stderr reach the client: it reads exactly the greeting.
#[test]
fn take_stdio_keeps_prints_and_logs_out_of_the_stream() {
    let Some(prog) = pfd_info("take_stdio_keeps_prints_and_logs_out_of_the_stream") else {
        return;
    };
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let out = theirs.try_clone().unwrap();
    let err = theirs.try_clone().unwrap();
    let status = Command::new(&prog)
        .arg("--stdio")
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
        .stdout(Stdio::from(std::os::fd::OwnedFd::from(out)))
        .stderr(Stdio::from(std::os::fd::OwnedFd::from(err)))
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(read_all(ours), "hello from pfd-info via stdin\n");
}
