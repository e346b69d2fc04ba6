//! The fault-injection suite: every hostile client at once against one echod, while a
//! well-behaved client keeps echoing and checks every reply. The hostile side: slowloris
//! (a message that never completes), dribbled valid messages, partial messages held open, an
//! oversized message, garbage, a flood of idle connections on the data plane and on the control
//! socket, a remotes file replaced by a FIFO and by a link to `/dev/zero`, echod run under
//! `umask 000` (and, as root, a second user at its control socket), and finally a full backlog
//! at SIGTERM.
//!
//! What must hold: the good client loses no request; every hostile connection is closed by echod
//! within its timeout; the control socket keeps answering; echod's memory stays bounded; at
//! SIGTERM every queued request is answered and echod exits 0. Every wait is bounded, so a hang
//! is a failure, not a stuck run.

mod common;

use common::*;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use vmtests::scenarios::ctx;

const MESSAGE_TIMEOUT_MS: u64 = 2000;
const PROBE_MS: u64 = 1000;
const CONTROL_TIMEOUT_MS: u64 = 1000;
const MAX_MESSAGE: usize = 65536;
/// echod's resident memory may not grow past this, whatever the clients hold.
const RSS_LIMIT_KB: u64 = 128 * 1024;
/// How long echod may take to close a hostile connection past its own timeout.
const SLACK: Duration = Duration::from_secs(5);

fn rss_kb(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Waits until echod closes `s` (EOF or reset), reading and discarding what it sends; returns
/// how long that took, or `None` if it stayed open for `limit`.
fn time_to_close(s: &mut UnixStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 4096];
    while start.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return Some(start.elapsed()),
        }
    }
    None
}

/// A hostile client's thread: `Ok(what happened)` or `Err(what went wrong)`.
type Hostile = JoinHandle<Result<String, String>>;

/// `n` connections, each driven by `act` on its own thread.
fn spawn_clients(
    what: &'static str,
    n: usize,
    sock: &Path,
    act: impl Fn(usize, UnixStream) -> Result<(), String> + Send + Sync + 'static,
) -> Hostile {
    let sock = sock.to_owned();
    let act = Arc::new(act);
    std::thread::spawn(move || {
        let threads: Vec<_> = (0..n)
            .map(|i| {
                let s = UnixStream::connect(&sock).map_err(|e| format!("{what} {i}: {e}"));
                let act = act.clone();
                std::thread::spawn(move || act(i, s?))
            })
            .collect();
        let mut errors = Vec::new();
        for t in threads {
            match t.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => errors.push(e),
                Err(_) => errors.push(format!("{what}: a client thread panicked")),
            }
        }
        if errors.is_empty() {
            Ok(format!("{what}: {n} clients as expected"))
        } else {
            Err(format!("{what}: {errors:?}"))
        }
    })
}

/// A connection echod must close within `limit`.
fn closed_within(what: &str, i: usize, mut s: UnixStream, limit: Duration) -> Result<(), String> {
    match time_to_close(&mut s, limit) {
        Some(_) => Ok(()),
        None => Err(format!("{what} {i}: still open after {limit:?}")),
    }
}

/// Sends `request` (whole, or a byte a write) and returns the reply with `id`, answering the
/// inactivity probes echod may send meanwhile, as a real OVSDB client does (a thread the
/// scheduler holds back long enough is probed; that is not a fault).
fn round_trip(
    c: &mut ctx::Client,
    request: &Value,
    dribble: bool,
    id: &Value,
) -> Result<Value, String> {
    let bytes = request.to_string();
    if dribble {
        for b in bytes.as_bytes() {
            c.send_raw(&[*b]).map_err(|e| format!("write: {e}"))?;
            std::thread::sleep(Duration::from_millis(1));
        }
    } else {
        c.send_raw(bytes.as_bytes())
            .map_err(|e| format!("write: {e}"))?;
    }
    loop {
        match c.recv() {
            Ok(Some(v)) if v["method"] == "echo" && v["id"] == "echo" => {
                c.send(&json!({"id": "echo", "result": v["params"], "error": null}))
                    .map_err(|e| format!("answering a probe: {e}"))?;
            }
            Ok(Some(v)) if &v["id"] == id => return Ok(v),
            Ok(Some(v)) => return Err(format!("unexpected {v}")),
            Ok(None) => return Err("connection closed".into()),
            Err(e) => return Err(format!("{e:?}")),
        }
    }
}

/// The well-behaved client: echo round trips until `stop`, every reply checked.
fn good_client(sock: PathBuf, stop: Arc<AtomicBool>, done: Arc<AtomicU64>) -> Hostile {
    std::thread::spawn(move || {
        let mut c = ctx::Client::connect(&format!("unix:{}", sock.display()), TIMEOUT)
            .map_err(|e| format!("good client: {e}"))?;
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let params = json!([n, "good", -1.5e-3]);
            let req = json!({"method": "echo", "params": params, "id": n});
            let reply = round_trip(&mut c, &req, false, &json!(n))
                .map_err(|e| format!("good client: request {n}: {e}"))?;
            if reply != json!({"id": n, "result": params, "error": null}) {
                return Err(format!("good client: reply {n}: {reply}"));
            }
            n += 1;
            done.store(n, Ordering::Relaxed);
            // A request every 20 ms leaves the CPU to the other clients.
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(format!("good client: {n} round trips"))
    })
}

/// Runs `ovs-appctl` until it answers (at most `limit`): idle control connections may hold
/// every slot for up to the control timeout.
fn appctl_within(ctl: &Path, args: &[&str], limit: Duration) -> Result<String, String> {
    let start = Instant::now();
    loop {
        let out = appctl(ctl, args);
        if out.code == 0 {
            return Ok(out.stdout);
        }
        if start.elapsed() > limit {
            return Err(format!("ovs-appctl {args:?} failed for {limit:?}: {out:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn every_hostile_client_at_once_loses_no_good_request() {
    test_support::require_program!("ovs-appctl", "openvswitch-common");
    let started = Instant::now();
    let dir = TempDir::new("faults");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let sock = dir.join("data.sock");
    let extra = dir.join("extra.sock");
    let ctl = dir.join("echod.ctl");
    let remotes = dir.join("remotes");
    let remotes_text = format!("punix:{}\n", extra.display());
    std::fs::write(&remotes, &remotes_text).unwrap();
    let args = [
        format!("--remote=punix:{}", sock.display()),
        format!("--remotes-file={}", remotes.display()),
        format!("--unixctl={}", ctl.display()),
        format!("--message-timeout={MESSAGE_TIMEOUT_MS}"),
        format!("--inactivity-probe={PROBE_MS}"),
        format!("--control-timeout={CONTROL_TIMEOUT_MS}"),
        format!("--max-message-size={MAX_MESSAGE}"),
        "--max-connections=400".to_string(),
    ];
    let mut sh_args = vec!["-c", "umask 000; exec \"$0\" \"$@\"", echod_bin()];
    sh_args.extend(args.iter().map(String::as_str));
    let mut p = Proc::spawn(&dir, "echod", "/bin/sh", &sh_args);
    wait_listening(&sock, &mut p);
    wait_listening(&ctl, &mut p);
    wait_listening(&extra, &mut p);
    let pid = p.pid();

    let stop = Arc::new(AtomicBool::new(false));
    let good_done = Arc::new(AtomicU64::new(0));
    let good = good_client(sock.clone(), stop.clone(), good_done.clone());
    let message_limit = Duration::from_millis(MESSAGE_TIMEOUT_MS) + SLACK;
    let probe_limit = Duration::from_millis(2 * PROBE_MS) + SLACK;
    let mut hostile: Vec<Hostile> = Vec::new();

    // Slowloris: a byte every 100 ms of a message that never completes.
    hostile.push(spawn_clients("slowloris", 20, &sock, move |i, mut s| {
        s.write_all(br#"{"method":"echo","params":[""#)
            .map_err(|e| e.to_string())?;
        s.set_nonblocking(true).unwrap();
        let start = Instant::now();
        while start.elapsed() < message_limit {
            std::thread::sleep(Duration::from_millis(100));
            let mut probe = [0u8; 1];
            match s.read(&mut probe) {
                Ok(0) => return Ok(()),
                Err(e) if e.kind() != std::io::ErrorKind::WouldBlock => return Ok(()),
                _ => {}
            }
            if s.write_all(b"x").is_err() {
                return Ok(());
            }
        }
        Err(format!("slowloris {i}: still open after {message_limit:?}"))
    }));

    // Dribblers: valid requests one byte at a time are all answered.
    hostile.push(spawn_clients("dribbler", 4, &sock, |i, s| {
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut c = ctx::Client::new(s);
        for k in 0..3 {
            let params = json!([i, k, -2.5e+2, "d\u{e9}"]);
            let req = json!({"method": "echo", "params": params, "id": k});
            let reply = round_trip(&mut c, &req, true, &json!(k))
                .map_err(|e| format!("dribbler {i}, request {k}: {e}"))?;
            if reply != json!({"id": k, "result": params, "error": null}) {
                return Err(format!("dribbler {i}: {reply}"));
            }
        }
        Ok(())
    }));

    // Partial holders: most of the size limit, then silence.
    hostile.push(spawn_clients(
        "partial holder",
        20,
        &sock,
        move |i, mut s| {
            let mut msg = br#"{"method":"echo","params":[""#.to_vec();
            msg.resize(MAX_MESSAGE - 100, b'p');
            s.write_all(&msg).map_err(|e| e.to_string())?;
            closed_within("partial holder", i, s, message_limit)
        },
    ));

    // Oversized and garbage: an error reply, then the close.
    hostile.push(spawn_clients("oversized", 2, &sock, move |i, mut s| {
        let mut msg = br#"{"method":"echo","params":[""#.to_vec();
        msg.resize(2 * MAX_MESSAGE, b'o');
        // echod may close before it has read everything: a failed write is fine.
        let _ = s.write_all(&msg);
        closed_within("oversized", i, s, SLACK)
    }));
    hostile.push(spawn_clients("garbage", 4, &sock, |i, mut s| {
        let junk: Vec<u8> = (0..512u32).map(|k| (k * 7919 + i as u32) as u8).collect();
        let _ = s.write_all(&junk);
        closed_within("garbage", i, s, SLACK)
    }));

    // Idle: probed, then closed.
    hostile.push(spawn_clients("idle", 100, &sock, move |i, s| {
        closed_within("idle", i, s, probe_limit)
    }));

    // Idle control connections: closed after the control timeout; ovs-appctl gets through.
    let control_limit = Duration::from_millis(CONTROL_TIMEOUT_MS) + SLACK;
    hostile.push(spawn_clients("idle control", 70, &ctl, move |i, s| {
        closed_within("idle control", i, s, control_limit)
    }));

    // The remotes file becomes a FIFO, then a link to /dev/zero: refused, nothing hangs, the
    // remote from it stays, memory stays bounded.
    std::fs::remove_file(&remotes).unwrap();
    nix::unistd::mkfifo(&remotes, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    p.wait_log("not a regular file but a pipe or FIFO");
    let listed = appctl_within(&ctl, &["echod/list-remotes"], control_limit).unwrap();
    assert!(
        listed.contains(&format!("punix:{}", extra.display())),
        "{listed}"
    );
    std::fs::remove_file(&remotes).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &remotes).unwrap();
    p.wait_log("a symbolic link; echod does not follow links to its files");
    let err = appctl(&ctl, &["echod/reload"]);
    assert_ne!(err.code, 0, "a reload from /dev/zero must fail: {err:?}");
    connect_unix(&extra).echo(1, json!(["the remote from the file stays"]));
    std::fs::remove_file(&remotes).unwrap();
    std::fs::write(&remotes, &remotes_text).unwrap();

    // Under umask 000 the control socket is still 0700; as root, a second user is refused.
    let mode = std::fs::metadata(&ctl).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "control socket mode {mode:o} under umask 000");
    if nix::unistd::geteuid().is_root() {
        use std::os::unix::process::CommandExt;
        std::fs::set_permissions(&ctl, std::fs::Permissions::from_mode(0o777)).unwrap();
        let out = std::process::Command::new(program("ovs-appctl"))
            .args(["--timeout=10", "-t"])
            .arg(&ctl)
            .args(["echod/add-remote", "ptcp:80"])
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap();
        assert!(!out.status.success(), "uid 65534 drove echod: {out:?}");
        std::fs::set_permissions(&ctl, std::fs::Permissions::from_mode(0o700)).unwrap();
    } else {
        eprintln!(
            "faults: not root, so the second-user part is left to the security tests (tests/it/security.rs)"
        );
    }

    let mut errors = Vec::new();
    let mut peak_rss = 0;
    for h in hostile {
        peak_rss = peak_rss.max(rss_kb(pid));
        match h.join() {
            Ok(Ok(line)) => eprintln!("faults: {line}"),
            Ok(Err(e)) => errors.push(e),
            Err(_) => errors.push("a hostile client panicked".into()),
        }
    }
    let version = appctl_within(&ctl, &["version"], control_limit);
    stop.store(true, Ordering::Relaxed);
    match good.join() {
        Ok(Ok(line)) => eprintln!("faults: {line}"),
        Ok(Err(e)) => errors.push(e),
        Err(_) => errors.push("the good client panicked".into()),
    }
    assert!(errors.is_empty(), "{errors:#?}\n{}", p.stderr_text());
    assert!(version.is_ok(), "{version:?}");
    assert!(
        good_done.load(Ordering::Relaxed) > 0,
        "the good client made no round trip"
    );
    assert!(
        peak_rss > 0 && peak_rss < RSS_LIMIT_KB,
        "echod's resident memory peaked at {peak_rss} kB"
    );
    assert!(p.is_running(), "{}", p.stderr_text());

    // A full backlog at SIGTERM: every queued request is answered, then a clean exit.
    let request = json!({"method": "echo", "params": ["queued"], "id": 7}).to_string();
    let mut queued = Vec::new();
    for _ in 0..200 {
        let mut c = UnixStream::connect(&sock).unwrap();
        c.write_all(request.as_bytes()).unwrap();
        queued.push(c);
    }
    p.signal(nix::sys::signal::Signal::SIGTERM);
    let mut lost = 0;
    for mut c in queued {
        c.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut reply = String::new();
        if c.read_to_string(&mut reply).is_err() || !reply.contains(r#""result":["queued"]"#) {
            lost += 1;
        }
    }
    assert_eq!(p.wait_exit().code(), Some(0), "{}", p.stderr_text());
    assert_eq!(lost, 0, "{lost} of 200 queued requests lost at SIGTERM");
    assert!(!sock.exists() && !ctl.exists(), "sockets left behind");
    eprintln!(
        "faults: done in {:.1} s, peak RSS {peak_rss} kB",
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// A hostile environment rather than hostile clients: a service manager that stops reading, a
// forged fd store, a low fd limit, memory held by idle connections, a watchdog interval of
// one microsecond. Each of these froze, crashed, starved or flooded echod before.

/// A datagram socket at `DIR/NAME` that plays a service manager; `fill` sends to it until its
/// queue is full, as when the manager stops reading.
fn manager_socket(dir: &TempDir, name: &str) -> (std::os::unix::net::UnixDatagram, PathBuf) {
    let path = dir.join(name);
    let sock = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    (sock, path)
}

fn fill(path: &Path) {
    let sender = std::os::unix::net::UnixDatagram::unbound().unwrap();
    sender.set_nonblocking(true).unwrap();
    let mut sent = 0;
    while sender.send_to(b"STATUS=filler", path).is_ok() {
        sent += 1;
        assert!(sent < 1_000_000, "the manager's queue never filled");
    }
}

/// The datagrams received within `within`, as text.
fn received(sock: &std::os::unix::net::UnixDatagram, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match sock.recv(&mut buf) {
            Ok(n) => out.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(_) => break,
        }
    }
    out
}

/// Fault 1: every notification was a blocking send, so a manager that stopped reading froze
/// the watchdog task (a runtime worker), then new clients, the control socket and SIGTERM.
#[test]
fn a_notify_reader_that_stops_reading_never_freezes_echod() {
    let dir = TempDir::new("hostile-notify");
    let (_manager, notify) = manager_socket(&dir, "notify");
    fill(&notify);
    let sock = dir.join("s.sock");
    let ctl = dir.join("ctl");
    let mut p = Proc::spawn_env(
        &dir,
        "echod",
        echod_bin(),
        &[
            &format!("--remote=punix:{}", sock.display()),
            &format!("--unixctl={}", ctl.display()),
        ],
        &[
            ("NOTIFY_SOCKET", notify.to_str().unwrap()),
            ("WATCHDOG_USEC", "200000"),
        ],
    );
    wait_listening(&sock, &mut p);
    p.wait_log("the service manager's queue stayed full");
    // Clients and the control socket are served while every notification gives up.
    let started = Instant::now();
    for i in 0..20 {
        connect_unix(&sock).echo(i, json!([format!("client {i}")]));
    }
    assert!(
        appctl_within(&ctl, &["echod/list-remotes"], Duration::from_secs(10)).is_ok(),
        "the control socket froze"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "20 echoes and a control command took {:?}",
        started.elapsed()
    );
    // Reloads framed by notifications, then SIGTERM: each notification waits at most its send
    // timeout, so echod stops in seconds.
    for _ in 0..6 {
        p.signal(nix::sys::signal::Signal::SIGHUP);
        std::thread::sleep(Duration::from_millis(200));
    }
    p.signal(nix::sys::signal::Signal::SIGTERM);
    let status = p
        .wait_timeout(Duration::from_secs(30))
        .expect("echod ignored SIGTERM behind a notify reader that stopped reading");
    assert!(status.success(), "{status:?}:\n{}", p.stderr_text());
}

/// A sealed memfd of `len` bytes (a hole: nothing written), or unsealed with `bytes` in it.
fn memfd(len: i64, bytes: &[u8], seal: bool) -> std::os::fd::OwnedFd {
    use nix::fcntl::{FcntlArg, SealFlag, fcntl};
    use nix::sys::memfd::{MFdFlags, memfd_create};
    let fd = memfd_create(
        c"forged",
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    )
    .unwrap();
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes).unwrap();
    nix::unistd::ftruncate(&file, len.max(bytes.len() as i64)).unwrap();
    if seal {
        let seals = SealFlag::F_SEAL_SEAL
            | SealFlag::F_SEAL_SHRINK
            | SealFlag::F_SEAL_GROW
            | SealFlag::F_SEAL_WRITE;
        fcntl(&file, FcntlArg::F_ADD_SEALS(seals)).unwrap();
    }
    file.into()
}

/// Faults 2 and 3: a pending-bytes entry was read whole at its size (a 64 GiB hole aborted every
/// start), and a session whose entry was empty, a pipe or /dev/null was resumed without its half
/// message (the client's continuation then read as a new message: a syntax error, a lost
/// request). Now each such session is closed, both names leave the store, and the healthy
/// session beside them resumes.
#[test]
fn a_forged_fd_store_neither_crashes_echod_nor_resumes_a_session_without_its_bytes() {
    use std::os::fd::{AsFd, OwnedFd};
    let dir = TempDir::new("hostile-store");
    let (manager, notify) = manager_socket(&dir, "notify");
    let (healthy, healthy_peer) = UnixStream::pair().unwrap();
    let (pipe_read, _pipe_write) = nix::unistd::pipe().unwrap();
    let devnull: OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
    let forged: Vec<(&str, OwnedFd)> = vec![
        ("a sealed 64 GiB hole", memfd(64 << 30, b"", true)),
        ("a pipe", pipe_read),
        ("/dev/null", devnull),
        ("an empty sealed memfd", memfd(0, b"", true)),
        ("an unsealed memfd", memfd(0, br#"{"id":1,"#, false)),
    ];
    let mut conns = Vec::new();
    let mut peers = Vec::new();
    for _ in &forged {
        let (c, peer) = UnixStream::pair().unwrap();
        conns.push(c);
        peers.push(peer);
    }
    let mut names = vec!["echod-s1-0".to_owned()];
    let mut fds: Vec<(std::os::fd::BorrowedFd<'_>, String)> =
        vec![(healthy.as_fd(), "echod-s1-0".to_owned())];
    for (n, ((_, bytes), conn)) in forged.iter().zip(&conns).enumerate() {
        let n = n + 1;
        fds.push((bytes.as_fd(), format!("echod-b1-{n}")));
        fds.push((conn.as_fd(), format!("echod-p1-{n}")));
        names.push(format!("echod-b1-{n}"));
        names.push(format!("echod-p1-{n}"));
    }
    let fds: Vec<(std::os::fd::BorrowedFd<'_>, &str)> =
        fds.iter().map(|(fd, n)| (*fd, n.as_str())).collect();
    let mut p = echod_with_fds(
        &dir,
        "echod",
        &fds,
        &notify,
        &["--keep-sessions", "--unixctl=none", "--inactivity-probe=0"],
    );
    p.wait_log("resuming session echod-s1-0");
    p.assert_running("after taking the forged store back");
    for reason in [
        "echod-b1-1: 68719476736 bytes, more than --max-message-size",
        "echod-b1-2: not a memfd but a pipe or FIFO",
        "echod-b1-3: not a memfd but a character device",
        "echod-b1-4: an empty memfd",
        "echod-b1-5: a memfd that is not sealed",
    ] {
        p.wait_log(reason);
    }
    // Every name found leaves the store, the refused ones too; then the store lets go of its
    // copies, as systemd does at FDSTOREREMOVE.
    let removed: Vec<String> = received(&manager, Duration::from_secs(2))
        .iter()
        .filter(|m| m.contains("FDSTOREREMOVE=1"))
        .filter_map(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("FDNAME="))
                .map(str::to_owned)
        })
        .collect();
    for name in &names {
        assert!(
            removed.contains(name),
            "{name} was not removed: {removed:?}"
        );
    }
    drop(fds);
    drop((healthy, conns, forged));
    healthy_peer.set_read_timeout(Some(TIMEOUT)).unwrap();
    Client::new(healthy_peer).echo(1, json!(["healthy"]));
    for (n, mut peer) in peers.into_iter().enumerate() {
        // The rest of a message the session supposedly had half sent: never answered.
        let _ = peer.write_all(br#""method":"echo","params":[]}"#);
        peer.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut got = Vec::new();
        let _ = peer.read_to_end(&mut got);
        assert!(
            got.is_empty(),
            "the session echod-p1-{} was resumed without its bytes: it answered {:?}",
            n + 1,
            String::from_utf8_lossy(&got)
        );
    }
    p.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(p.wait_exit().success());
}

/// Faults 4 and 5: under a low fd limit, clients took every fd (the watchdog then could not open
/// its socket: no pings, and systemd would kill a daemon that serves), and the shutdown drain
/// stopped at the first EMFILE, resetting clients with their requests unread. Now
/// --max-connections is lowered to what the limit leaves room for, the connections beyond it
/// wait in the listen queue, the watchdog keeps pinging, and at SIGTERM every queued request is
/// answered.
#[test]
fn at_the_fd_limit_nothing_queued_is_lost_and_the_watchdog_keeps_pinging() {
    test_support::require_program!("prlimit", "util-linux");
    const CLIENTS: usize = 120;
    let dir = TempDir::new("hostile-nofile");
    let (manager, notify) = manager_socket(&dir, "notify");
    let sock = dir.join("s.sock");
    let remote = format!("--remote=punix:{}", sock.display());
    let mut p = Proc::echod_with_nofile(
        &dir,
        "echod",
        64,
        &[&remote, "--unixctl=none"],
        &[
            ("NOTIFY_SOCKET", notify.to_str().unwrap()),
            ("WATCHDOG_USEC", "200000"),
        ],
    );
    wait_listening(&sock, &mut p);
    p.wait_log("--max-connections lowered from 1024 to");
    let clients: Vec<UnixStream> = (0..CLIENTS)
        .map(|i| {
            let mut c = UnixStream::connect(&sock).unwrap();
            c.write_all(
                json!({"method": "echo", "params": [format!("client {i}")], "id": i})
                    .to_string()
                    .as_bytes(),
            )
            .unwrap();
            c
        })
        .collect();
    // Every connection slot taken, the rest queued: the watchdog still pings (every 100 ms).
    let pings = received(&manager, Duration::from_secs(3))
        .iter()
        .filter(|m| m.contains("WATCHDOG=1"))
        .count();
    eprintln!("faults: {pings} watchdog pings in 3 s with every connection slot taken");
    assert!(
        pings >= 10,
        "{pings} watchdog pings in 3 s with every slot taken"
    );
    p.signal(nix::sys::signal::Signal::SIGTERM);
    let mut lost = Vec::new();
    for (i, c) in clients.into_iter().enumerate() {
        c.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut client = Client::new(c);
        match client.recv() {
            Some(reply) if reply["result"] == json!([format!("client {i}")]) => {}
            other => lost.push(format!("client {i}: {other:?}")),
        }
    }
    assert!(lost.is_empty(), "{} requests lost: {lost:?}", lost.len());
    let status = p.wait_exit();
    assert!(status.success(), "{status:?}:\n{}", p.stderr_text());
}

/// Fault 8: idle connections kept their peak buffers (100 idle clients after one 1 MB echo each
/// held 207 MiB), and nothing bounded the half-received messages of all connections together.
#[test]
fn idle_connections_give_memory_back_and_a_budget_bounds_half_messages() {
    let dir = TempDir::new("hostile-memory");
    let (mut p, sock) = echod_on_punix(&dir, &["--unixctl=none"]);
    connect_unix(&sock).echo(0, json!(["warm up"]));
    let before = rss_kb(p.pid());
    let big = "x".repeat(1_000_000);
    let idle: Vec<Client> = (0..100)
        .map(|i| {
            let mut c = connect_unix(&sock);
            c.echo(i, json!([big]));
            c
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let grown = rss_kb(p.pid()).saturating_sub(before);
    eprintln!("faults: 100 idle connections hold {grown} KiB after one 1 MB echo each");
    assert!(
        grown < 40 * 1024,
        "100 idle connections hold {grown} KiB after one 1 MB echo each"
    );
    drop(idle);
    p.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(p.wait_exit().success());

    // The budget: 1 MiB for every half-received message together.
    let dir = TempDir::new("hostile-budget");
    let (mut p, sock) = echod_on_punix(&dir, &["--unixctl=none", "--max-buffered-bytes=1048576"]);
    let head = format!(
        r#"{{"method":"echo","id":1,"params":["{}"#,
        "y".repeat(600_000)
    );
    let mut first = connect_unix(&sock);
    first.send_raw(head.as_bytes());
    std::thread::sleep(Duration::from_millis(300));
    for i in 2..4 {
        let mut raw = UnixStream::connect(&sock).unwrap();
        // echod may answer and close before the whole head is written (EPIPE): what counts is
        // the reply it sent.
        let _ = raw.write_all(head.as_bytes());
        raw.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut late = Client::new(raw);
        let reply = late.recv().expect("an error reply");
        assert_eq!(
            reply["error"]["error"],
            json!("server busy"),
            "client {i}: {reply}"
        );
        assert!(late.closed(), "client {i} stayed open past the budget");
    }
    // Small messages always fit, and the first large one completes.
    connect_unix(&sock).echo(5, json!(["small"]));
    first.send_raw(br#""]}"#);
    let reply = first.recv().expect("the first client's reply");
    assert_eq!(reply["id"], json!(1));
    assert_eq!(reply["result"][0].as_str().map(str::len), Some(600_000));
    p.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(p.wait_exit().success());
}

/// CPU time (user + system) of `pid`, in clock ticks.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after ") S".
    fields
        .get(11)
        .and_then(|u| u.parse::<u64>().ok())
        .unwrap_or(0)
        + fields
            .get(12)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
}

/// Fault 9: echod's own watchdog loop had no minimum period and logged every failure:
/// WATCHDOG_USEC=1 with an unreachable socket took 0.96 of a core and wrote 208,504 lines in
/// 2 s.
#[test]
fn a_one_microsecond_watchdog_costs_no_cpu_and_floods_no_log() {
    let dir = TempDir::new("hostile-wdog");
    let sock = dir.join("s.sock");
    let nobody = dir.join("nobody-reads-here");
    let mut p = Proc::spawn_env(
        &dir,
        "echod",
        echod_bin(),
        &[
            &format!("--remote=punix:{}", sock.display()),
            "--unixctl=none",
        ],
        &[
            ("NOTIFY_SOCKET", nobody.to_str().unwrap()),
            ("WATCHDOG_USEC", "1"),
        ],
    );
    wait_listening(&sock, &mut p);
    let before = cpu_ticks(p.pid());
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_ticks(p.pid()).saturating_sub(before);
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    eprintln!("faults: {used} ticks ({per_second}/s) of CPU in 2 s with WATCHDOG_USEC=1");
    assert!(
        used * 10 < 2 * per_second * 3,
        "{used} ticks ({per_second}/s) of CPU in 2 s pinging a 1 µs watchdog"
    );
    p.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(p.wait_exit().success());
    let log = p.stderr_text();
    let lines = log.lines().filter(|l| l.contains("watchdog")).count();
    eprintln!("faults: {lines} watchdog log lines in 2 s with WATCHDOG_USEC=1");
    assert!(lines < 20, "{lines} watchdog lines in 2 s:\n{log}");
}
