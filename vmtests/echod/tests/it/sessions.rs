//! `--keep-sessions`: at SIGTERM every open session goes to the service manager's fd store
//! (here the test stands in for systemd: it receives the `FDSTORE=1` datagrams and their fds),
//! and the next instance, started with those fds in `LISTEN_FDS`, serves the same connections
//! on. A request half sent before a restart survives two restarts, is completed after them and
//! is answered once.

use crate::common;

use common::{Proc, TempDir, echod_with_fds, notify_socket, wait_listening};
use nix::sys::signal::Signal;
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
use serde_json::json;
use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant};

/// The next notification and the fds it carries.
fn recv_with_fds(sock: &UnixDatagram) -> Option<(String, Vec<OwnedFd>)> {
    let mut buf = vec![0u8; 8192];
    let mut cmsg = nix::cmsg_space!([RawFd; 16]);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .ok()?;
    let mut fds = Vec::new();
    for c in msg.cmsgs().expect("control data not truncated") {
        if let ControlMessageOwned::ScmRights(raw) = c {
            // SAFETY: recvmsg just installed these fds in this process; each gets one owner.
            fds.extend(
                raw.into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    let len = msg.bytes;
    Some((String::from_utf8_lossy(&buf[..len]).into_owned(), fds))
}

fn field<'a>(msg: &'a str, key: &str) -> Option<&'a str> {
    msg.lines().find_map(|l| l.strip_prefix(key))
}

/// Bytes `stream` sent that its peer has not read yet (`SIOCOUTQ`).
fn unread_by_peer(stream: &UnixStream) -> i32 {
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCOUTQ (TIOCOUTQ) writes one int to `n`, a valid out pointer.
    let r = unsafe { libc::ioctl(stream.as_raw_fd(), libc::TIOCOUTQ, &mut n) };
    assert_eq!(r, 0, "SIOCOUTQ: {}", std::io::Error::last_os_error());
    n
}

/// Waits until echod has read everything `stream` sent.
pub(crate) fn wait_read_by_echod(stream: &UnixStream) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while unread_by_peer(stream) > 0 {
        assert!(
            Instant::now() < deadline,
            "echod did not read the bytes sent"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// SIGTERMs `echod` and collects what it stores: `(name, fd)` for `sessions` sessions.
fn stop_and_collect(
    echod: &mut Proc,
    notify: &UnixDatagram,
    sessions: usize,
) -> Vec<(String, OwnedFd)> {
    echod.signal(Signal::SIGTERM);
    let mut stored: Vec<(String, OwnedFd)> = Vec::new();
    let is_session = |n: &str| n.starts_with("echod-s") || n.starts_with("echod-p");
    while stored.iter().filter(|(n, _)| is_session(n)).count() < sessions {
        let (msg, mut fds) = recv_with_fds(notify)
            .unwrap_or_else(|| panic!("no more notifications; stderr:\n{}", echod.stderr_text()));
        if msg.starts_with("STOPPING=1") || msg.starts_with("STATUS=") {
            continue;
        }
        assert_eq!(field(&msg, "FDSTORE="), Some("1"), "{msg:?}");
        let name = field(&msg, "FDNAME=").expect("FDNAME").to_owned();
        assert_eq!(fds.len(), 1, "{msg:?}");
        stored.push((name, fds.remove(0)));
    }
    assert!(echod.wait_exit().success(), "{}", echod.stderr_text());
    let log = echod.stderr_text();
    assert!(
        log.contains(&format!("{sessions} session(s) handed to the fd store")),
        "{log}"
    );
    stored
}

/// Starts echod with `stored` in `LISTEN_FDS` and checks that it removes every name from the
/// store and resumes `sessions` sessions.
fn resume(
    dir: &TempDir,
    name: &str,
    notify: &UnixDatagram,
    notify_path: &Path,
    stored: &[(String, OwnedFd)],
    sessions: usize,
) -> Proc {
    let fds: Vec<(BorrowedFd<'_>, &str)> = stored
        .iter()
        .map(|(n, fd)| (fd.as_fd(), n.as_str()))
        .collect();
    let sock = dir.join(&format!("{name}.sock"));
    let echod = echod_with_fds(
        dir,
        name,
        &fds,
        notify_path,
        &[
            &format!("--remote=punix:{}", sock.display()),
            "--keep-sessions",
            "--inactivity-probe=0",
        ],
    );
    let mut removed = Vec::new();
    loop {
        let (msg, _) = recv_with_fds(notify)
            .unwrap_or_else(|| panic!("no READY=1; stderr:\n{}", echod.stderr_text()));
        if let Some(name) = field(&msg, "FDNAME=") {
            assert_eq!(field(&msg, "FDSTOREREMOVE="), Some("1"), "{msg:?}");
            removed.push(name.to_owned());
        }
        if msg == "READY=1" {
            break;
        }
    }
    let (status, _) = recv_with_fds(notify).expect("STATUS=");
    assert_eq!(
        status,
        format!("STATUS=serving 1 remote(s); {sessions} session(s) resumed from the fd store")
    );
    removed.sort();
    let mut names: Vec<String> = stored.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    assert_eq!(removed, names, "every taken name leaves the store");
    echod
}

#[test]
fn sessions_survive_restarts_through_the_fd_store() {
    let dir = TempDir::new("sessions");
    let (notify, notify_path) = notify_socket(&dir);
    let sock = dir.join("s.sock");
    let mut first = Proc::echod_notifying(
        &dir,
        &[
            &format!("--remote=punix:{}", sock.display()),
            "--keep-sessions",
            "--inactivity-probe=0",
        ],
        &notify_path,
    );
    let (ready, _) = recv_with_fds(&notify).expect("READY=1");
    assert_eq!(ready, "READY=1");
    wait_listening(&sock, &mut first);
    let raw: Vec<UnixStream> = (0..3)
        .map(|_| UnixStream::connect(&sock).unwrap())
        .collect();
    let peeks: Vec<UnixStream> = raw.iter().map(|s| s.try_clone().unwrap()).collect();
    let mut clients: Vec<_> = raw.into_iter().map(common::Client::new).collect();
    for (c, client) in clients.iter_mut().enumerate() {
        client.echo(c as u64, json!([format!("before {c}")]));
    }
    let request =
        serde_json::to_vec(&json!({"id": 77, "method": "echo", "params": ["split"]})).unwrap();
    let (head, tail) = request.split_at(request.len() / 2);
    clients[0].send_raw(head);
    wait_read_by_echod(&peeks[0]);

    // What systemd would store: one socket per session, the half request beside client 0's.
    let stored = stop_and_collect(&mut first, &notify, 3);
    let names: Vec<&str> = stored.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names.iter().filter(|n| n.starts_with("echod-b")).count(),
        1,
        "one session had half a message: {names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| n.starts_with("echod-p")).count(),
        1,
        "its socket says so: {names:?}"
    );

    // The second instance resumes them; stopped before client 0 sends the rest, it hands the
    // half request over again.
    let mut second = resume(&dir, "second", &notify, &notify_path, &stored, 3);
    drop(stored);
    for (c, client) in clients.iter_mut().enumerate().skip(1) {
        client.echo(10 + c as u64, json!([format!("second {c}")]));
    }
    let stored = stop_and_collect(&mut second, &notify, 3);
    assert_eq!(
        stored
            .iter()
            .filter(|(n, _)| n.starts_with("echod-b"))
            .count(),
        1,
        "the half request was handed over again: {:?}",
        stored.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );

    let mut third = resume(&dir, "third", &notify, &notify_path, &stored, 3);
    drop(stored);
    clients[0].send_raw(tail);
    assert_eq!(
        clients[0].recv(),
        Some(json!({"id": 77, "result": ["split"], "error": null})),
        "the half request, completed after two restarts; stderr:\n{}",
        third.stderr_text()
    );
    for (c, client) in clients.iter_mut().enumerate() {
        client.echo(20 + c as u64, json!([format!("third {c}")]));
    }
    third.signal(Signal::SIGTERM);
    assert!(third.wait_exit().success());
}
