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
