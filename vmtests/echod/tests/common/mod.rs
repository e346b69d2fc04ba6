//! Test support for the echod host tests (`tests/it` and `tests/echod_faults.rs`, and by
//! `#[path]` the benches): temp dirs, a child-process guard that kills echod on
//! failure, skip/strict handling for missing Debian programs, and the JSON-RPC client the
//! scenarios use (serde_json's stream parser, not echod's decoder).

#![allow(dead_code, unreachable_pub)]

use serde_json::{Value, json};
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use vmtests::scenarios::ctx::{self, RecvError};

/// Upper bound for any single wait in these tests.
pub const TIMEOUT: Duration = test_support::wait::TIMEOUT;

pub use test_support::TempDir;

/// The echod binary under test: the one cargo built for these tests, claimed out of the
/// shared target directory (the VM suite's `cargo build` re-links `target/debug/echod`).
pub fn echod_bin() -> &'static str {
    static CLAIMED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CLAIMED.get_or_init(|| {
        test_support::bin::claim(Path::new(env!("CARGO_BIN_EXE_echod")))
            .to_str()
            .expect("a UTF-8 target directory")
            .to_owned()
    })
}

/// A running process (echod, or systemd-socket-activate running echod) whose stderr goes to a
/// file; killed on drop.
pub struct Proc {
    pub child: Child,
    pub stderr: PathBuf,
    status: Option<ExitStatus>,
}

impl Proc {
    /// Spawns `program args` with stderr to `dir/<name>.stderr` and stdout discarded.
    pub fn spawn(dir: &TempDir, name: &str, program: &str, args: &[&str]) -> Proc {
        Proc::spawn_env(dir, name, program, args, &[])
    }

    pub fn spawn_env(
        dir: &TempDir,
        name: &str,
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Proc {
        let stderr = dir.join(&format!("{name}.stderr"));
        let file = std::fs::File::create(&stderr).expect("stderr file");
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
        Proc {
            child,
            stderr,
            status: None,
        }
    }

    /// Spawns echod itself.
    pub fn echod(dir: &TempDir, args: &[&str]) -> Proc {
        Proc::spawn(dir, "echod", echod_bin(), args)
    }

    /// Spawns echod under `prlimit --nofile=NOFILE:NOFILE` (the same process: prlimit execs
    /// it), with `env`. The test requires `prlimit` first (`test_support::require_program!`).
    pub fn echod_with_nofile(
        dir: &TempDir,
        name: &str,
        nofile: u64,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Proc {
        let prlimit = program("prlimit");
        let limit = format!("--nofile={nofile}:{nofile}");
        let mut all = vec![limit.as_str(), "--", echod_bin()];
        all.extend_from_slice(args);
        Proc::spawn_env(
            dir,
            name,
            prlimit.to_str().expect("a UTF-8 path"),
            &all,
            env,
        )
    }

    /// Spawns echod with `$NOTIFY_SOCKET` set to `notify` (see [`notify_socket`]).
    pub fn echod_notifying(dir: &TempDir, args: &[&str], notify: &Path) -> Proc {
        let notify = notify.to_str().expect("a UTF-8 notify socket path");
        Proc::spawn_env(
            dir,
            "echod",
            echod_bin(),
            args,
            &[("NOTIFY_SOCKET", notify)],
        )
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits for the process to exit, at most `timeout`.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if let Some(s) = self.status {
            return Some(s);
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                self.status = Some(s);
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for exit or panics with the stderr log.
    pub fn wait_exit(&mut self) -> ExitStatus {
        match self.wait_timeout(TIMEOUT) {
            Some(s) => s,
            None => panic!(
                "process did not exit within {TIMEOUT:?}; stderr:\n{}",
                self.stderr_text()
            ),
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.wait_timeout(Duration::ZERO).is_none()
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), sig);
    }

    /// Waits until stderr contains `needle`; fails at once, with the log, if the process exited
    /// without writing it.
    pub fn wait_log(&mut self, needle: &str) -> String {
        test_support::wait::until(&format!("{needle:?} in the stderr log"), || {
            let running = self.is_running();
            // Read after the liveness check: a line written just before the exit still counts.
            let text = self.stderr_text();
            if text.contains(needle) {
                return Ok(text);
            }
            assert!(
                running,
                "the process exited without writing {needle:?}; stderr:\n{text}"
            );
            Err(format!("stderr so far:\n{text}"))
        })
    }

    /// Panics with the stderr log unless the process still runs.
    pub fn assert_running(&mut self, before: &str) {
        assert!(
            self.is_running(),
            "the process exited before {before}; stderr:\n{}",
            self.stderr_text()
        );
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn signal_of(status: ExitStatus) -> Option<i32> {
    status.signal()
}

/// Waits until the Unix stream socket at `path` listens (`listen()` ran; the file alone appears
/// at `bind()`), without connecting (see [`test_support::wait::unix_listening`]), failing early
/// with the stderr log if `proc` exits.
pub fn wait_listening(path: &Path, proc: &mut Proc) {
    test_support::wait::until(&format!("a listener on {}", path.display()), || {
        proc.assert_running(&format!("{} listened", path.display()));
        match test_support::wait::unix_listening(path) {
            Some(true) => Ok(()),
            Some(false) => Err("not listening yet"),
            None => Err("/proc/net/unix is unreadable"),
        }
    });
}

/// Waits until the socket file `path` exists (for datagram sockets, which need no listen()).
pub fn wait_bound(path: &Path, proc: &mut Proc) {
    test_support::wait::until_true(&format!("a socket bound at {}", path.display()), || {
        proc.assert_running(&format!("binding {}", path.display()));
        path.exists()
    });
}

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Output of `ovs-appctl`.
#[derive(Debug)]
pub struct Appctl {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The path of `name`, a program the test required before (`test_support::require_program!`,
/// which skips the test when it is missing), so that a missing one here is a bug in the test.
pub fn program(name: &str) -> PathBuf {
    test_support::find_program(name).unwrap_or_else(|| {
        panic!(
            "`{name}` not found: the test must require it first (test_support::require_program!)"
        )
    })
}

/// Runs the real `ovs-appctl -t CTL ARGS...` (with a timeout).
pub fn appctl(ctl: &Path, args: &[&str]) -> Appctl {
    let out = Command::new(program("ovs-appctl"))
        .arg("--timeout=20")
        .arg("-t")
        .arg(ctl)
        .args(args)
        .output()
        .expect("run ovs-appctl");
    Appctl {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The blocking JSON-RPC client of the scenarios ([`ctx::Client`]), failing the test on I/O and
/// JSON errors; a reset connection counts as closed.
pub struct Client(ctx::Client);

/// Connects to `addr` (`unix:PATH` or `tcp:HOST:PORT`), retrying while echod starts, with both
/// timeouts set to [`TIMEOUT`].
fn connect_retrying(addr: &str) -> Client {
    Client(test_support::wait::until(
        &format!("a listener on {addr}"),
        || ctx::Client::connect(addr, TIMEOUT),
    ))
}

/// Connects to a Unix socket (retrying while echod starts).
pub fn connect_unix(path: &Path) -> Client {
    connect_retrying(&format!("unix:{}", path.display()))
}

/// Connects to TCP (retrying while echod starts).
pub fn connect_tcp(addr: &str) -> Client {
    connect_retrying(&format!("tcp:{addr}"))
}

impl Client {
    /// Wraps an already connected stream (e.g. one echod connected to).
    pub fn new(stream: impl Read + Write + 'static) -> Client {
        Client(ctx::Client::new(stream))
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.0.send_raw(bytes).expect("write");
    }

    /// Sends without failing: the server may already have closed the connection.
    pub fn try_send(&mut self, v: &Value) -> bool {
        self.0.send(v).is_ok()
    }

    pub fn send(&mut self, v: &Value) {
        self.0.send(v).expect("write");
    }

    /// The next JSON value from the server, or None at end of stream.
    pub fn recv(&mut self) -> Option<Value> {
        match self.0.recv() {
            Ok(v) => v,
            Err(RecvError::Read(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => None,
            Err(RecvError::Read(e)) => panic!("read: {e}"),
            Err(RecvError::NotJson(e)) => panic!("server sent invalid JSON: {e}"),
        }
    }

    /// Sends `echo` with `params` and checks the reply.
    pub fn echo(&mut self, id: u64, params: Value) {
        self.send(&json!({"method": "echo", "params": params.clone(), "id": id}));
        let reply = self.recv().expect("echo reply");
        assert_eq!(reply, json!({"id": id, "result": params, "error": null}));
    }

    /// True when the server closed the connection (EOF or reset).
    pub fn closed(&mut self) -> bool {
        self.recv().is_none()
    }
}

/// Spawns `echod ARGS` with `listener` passed as fd 3 the way systemd passes it (`LISTEN_FDS=1`,
/// `LISTEN_PID` = echod's pid, set by an `sh` wrapper that execs echod). `listener` stays open
/// here too, as systemd keeps its copy across restarts.
pub fn echod_with_listener(
    dir: &TempDir,
    name: &str,
    listener: &std::os::unix::net::UnixListener,
    args: &[&str],
) -> Proc {
    use std::os::fd::AsFd;
    spawn_with_fds(dir, name, &[listener.as_fd()], None, None, args)
}

/// Spawns `echod ARGS` with `fds` passed as fds 3, 4, ... the way systemd passes them
/// (`LISTEN_FDS`, `LISTEN_FDNAMES`, `LISTEN_PID` = echod's pid via an `sh` wrapper), with
/// `NOTIFY_SOCKET` = `notify`.
pub fn echod_with_fds(
    dir: &TempDir,
    name: &str,
    fds: &[(std::os::fd::BorrowedFd<'_>, &str)],
    notify: &Path,
    args: &[&str],
) -> Proc {
    let names: Vec<&str> = fds.iter().map(|(_, n)| *n).collect();
    let sources: Vec<std::os::fd::BorrowedFd<'_>> = fds.iter().map(|(fd, _)| *fd).collect();
    spawn_with_fds(dir, name, &sources, Some(&names), Some(notify), args)
}

/// `echod ARGS` with `sources` at fds 3, 4, ..., `LISTEN_FDNAMES` set from `names` (or unset),
/// and `NOTIFY_SOCKET` set to `notify` when given.
fn spawn_with_fds(
    dir: &TempDir,
    name: &str,
    sources: &[std::os::fd::BorrowedFd<'_>],
    names: Option<&[&str]>,
    notify: Option<&Path>,
    args: &[&str],
) -> Proc {
    let stderr = dir.join(&format!("{name}.stderr"));
    let file = std::fs::File::create(&stderr).expect("stderr file");
    let mut cmd = test_support::fds::socket_activated(echod_bin(), sources);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file);
    if let Some(names) = names {
        cmd.env("LISTEN_FDNAMES", names.join(":"));
    }
    if let Some(notify) = notify {
        cmd.env("NOTIFY_SOCKET", notify);
    }
    let child = cmd.spawn().expect("spawn echod with passed fds");
    Proc {
        child,
        stderr,
        status: None,
    }
}

/// echod with `first` then `extra` as arguments, once the Unix socket `path` listens.
fn echod_listening_on(
    dir: &TempDir,
    path: PathBuf,
    first: String,
    extra: &[&str],
) -> (Proc, PathBuf) {
    let mut args = vec![first.as_str()];
    args.extend_from_slice(extra);
    let mut p = Proc::echod(dir, &args);
    wait_listening(&path, &mut p);
    (p, path)
}

/// echod with `extra` args and its control socket at `DIR/echod.ctl`, once that listens.
pub fn echod_with_control(dir: &TempDir, extra: &[&str]) -> (Proc, PathBuf) {
    let ctl = dir.join("echod.ctl");
    let first = format!("--unixctl={}", ctl.display());
    echod_listening_on(dir, ctl, first, extra)
}

/// echod serving `punix:DIR/s.sock` with `extra` args, once that listens.
pub fn echod_on_punix(dir: &TempDir, extra: &[&str]) -> (Proc, PathBuf) {
    let sock = dir.join("s.sock");
    let first = format!("--remote=punix:{}", sock.display());
    echod_listening_on(dir, sock, first, extra)
}

/// Runs echod with `args`, which must make start-up fail: exit status 1. Returns the log.
pub fn start_failure(dir: &TempDir, args: &[&str]) -> String {
    let mut p = Proc::echod(dir, args);
    let status = p.wait_exit();
    let log = p.stderr_text();
    assert_eq!(status.code(), Some(1), "echod {args:?}:\n{log}");
    log
}

/// A datagram socket at `DIR/notify` to play systemd's `$NOTIFY_SOCKET` (reads time out after
/// [`TIMEOUT`]), and its path.
pub fn notify_socket(dir: &TempDir) -> (std::os::unix::net::UnixDatagram, PathBuf) {
    let path = dir.join("notify");
    let sock = std::os::unix::net::UnixDatagram::bind(&path).expect("bind the notify socket");
    sock.set_read_timeout(Some(TIMEOUT))
        .expect("set_read_timeout");
    (sock, path)
}
