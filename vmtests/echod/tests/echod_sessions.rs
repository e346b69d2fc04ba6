//! `--keep-sessions`: at SIGTERM every open session goes to the service manager's fd store
//! (here the test stands in for systemd: it receives the `FDSTORE=1` datagrams and their fds),
//! and the next instance, started with those fds in `LISTEN_FDS`, serves the same connections
//! on. A request half sent before the restart is completed after it and answered once.

mod common;

use common::{Proc, TempDir, connect_unix, echod_with_fds, notify_socket, wait_listening};
use nix::sys::signal::Signal;
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
use serde_json::json;
use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixDatagram;

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

#[test]
fn sessions_survive_a_restart_through_the_fd_store() {
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
    assert!(ready.starts_with("READY=1"), "{ready:?}");
    wait_listening(&sock, &mut first);
    let mut clients: Vec<_> = (0..3).map(|_| connect_unix(&sock)).collect();
    for (c, client) in clients.iter_mut().enumerate() {
        client.echo(c as u64, json!([format!("before {c}")]));
    }
    let request =
        serde_json::to_vec(&json!({"id": 77, "method": "echo", "params": ["split"]})).unwrap();
    let (head, tail) = request.split_at(request.len() / 2);
    clients[0].send_raw(head);
    std::thread::sleep(std::time::Duration::from_millis(200));
    first.signal(Signal::SIGTERM);

    // What systemd would store: one socket per session, and the half request beside client 0's.
    let mut stored: Vec<(String, OwnedFd)> = Vec::new();
    loop {
        let (msg, mut fds) = recv_with_fds(&notify)
            .unwrap_or_else(|| panic!("no more notifications; stderr:\n{}", first.stderr_text()));
        if msg.starts_with("STOPPING=1") {
            continue;
        }
        assert_eq!(field(&msg, "FDSTORE="), Some("1"), "{msg:?}");
        let name = field(&msg, "FDNAME=").expect("FDNAME").to_owned();
        assert_eq!(fds.len(), 1, "{msg:?}");
        stored.push((name, fds.remove(0)));
        if stored
            .iter()
            .filter(|(n, _)| n.starts_with("echod-s"))
            .count()
            == 3
        {
            break;
        }
    }
    assert!(first.wait_exit().success(), "{}", first.stderr_text());
    let log = first.stderr_text();
    assert!(log.contains("3 session(s) handed to the fd store"), "{log}");
    let bytes: Vec<_> = stored
        .iter()
        .filter(|(n, _)| n.starts_with("echod-b"))
        .collect();
    assert_eq!(bytes.len(), 1, "one session had half a message: {stored:?}");

    // The next instance: the stored fds in LISTEN_FDS, as systemd passes them.
    let fds: Vec<(RawFd, &str)> = stored
        .iter()
        .map(|(n, fd)| (fd.as_raw_fd(), n.as_str()))
        .collect();
    let sock2 = dir.join("s2.sock");
    let mut second = echod_with_fds(
        &dir,
        "second",
        &fds,
        &notify_path,
        &[
            &format!("--remote=punix:{}", sock2.display()),
            "--keep-sessions",
            "--inactivity-probe=0",
        ],
    );
    let mut removed = Vec::new();
    loop {
        let (msg, _) = recv_with_fds(&notify)
            .unwrap_or_else(|| panic!("no READY=1; stderr:\n{}", second.stderr_text()));
        if let Some(name) = field(&msg, "FDNAME=") {
            assert_eq!(field(&msg, "FDSTOREREMOVE="), Some("1"), "{msg:?}");
            removed.push(name.to_owned());
        }
        if msg.starts_with("READY=1") {
            assert!(msg.contains("3 session(s) resumed"), "{msg:?}");
            break;
        }
    }
    removed.sort();
    let mut names: Vec<String> = stored.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    assert_eq!(removed, names, "every taken name leaves the store");
    drop(stored);

    clients[0].send_raw(tail);
    assert_eq!(
        clients[0].recv(),
        Some(json!({"id": 77, "result": ["split"], "error": null})),
        "the half request, completed after the restart; stderr:\n{}",
        second.stderr_text()
    );
    for (c, client) in clients.iter_mut().enumerate() {
        client.echo(10 + c as u64, json!([format!("after {c}")]));
    }
    second.signal(Signal::SIGTERM);
    assert!(second.wait_exit().success());
}
