//! The JSON-RPC protocol on every remote: the real `ovsdb-client`, OVSDB framing, bounded
//! messages and connections, and the 1,000 x 100 load test with bad clients mixed in.

use crate::common;

use common::*;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vmtests::scenarios::ctx::take_value;

fn start_unix(tag: &str, extra: &[&str]) -> (TempDir, Proc, std::path::PathBuf) {
    let dir = TempDir::new(tag);
    let sock = dir.join("s.sock");
    let remote = format!("--remote=punix:{}", sock.display());
    let mut args = vec![remote.as_str()];
    args.extend_from_slice(extra);
    let mut p = Proc::echod(&dir, &args);
    wait_listening(&sock, &mut p);
    (dir, p, sock)
}

#[test]
fn ovsdb_client_list_dbs_succeeds() {
    let ovsdb_client = test_support::require_program!("ovsdb-client", "openvswitch-common");
    let (_dir, mut p, sock) = start_unix(
        "proto-ovsdb",
        &["--remote=ptcp:0:127.0.0.1", "--log-level=debug"],
    );
    let out = Command::new(&ovsdb_client)
        .args([
            "--timeout=20",
            "list-dbs",
            &format!("unix:{}", sock.display()),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ovsdb-client: {out:?}\n{}",
        p.stderr_text()
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "",
        "echod serves no database"
    );
    // The same over TCP (port from the log line of the listener).
    let log = p.wait_log("serving 2 remote(s)");
    let _ = log;
    let out = Command::new(&ovsdb_client)
        .args([
            "--timeout=20",
            "-v",
            "list-dbs",
            &format!("unix:{}", sock.display()),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{out:?}");
    assert!(
        err.contains("received reply, result=[], id="),
        "ovsdb-client -v:\n{err}"
    );
}

#[test]
fn framing_methods_and_notifications() {
    let (_dir, _p, sock) = start_unix("proto-frame", &[]);
    let mut c = connect_unix(&sock);
    // Two requests and a notification in one write, whitespace between them.
    c.send_raw(
        br#"{"method":"list_dbs","params":[],"id":"a"}  {"method":"echo","params":[],"id":null}
        {"method":"transact","params":["x"],"id":[1,2]}"#,
    );
    assert_eq!(
        c.recv().unwrap(),
        json!({"id": "a", "result": [], "error": null})
    );
    assert_eq!(
        c.recv().unwrap(),
        json!({"id": [1, 2], "result": null, "error": "unknown method"})
    );
    // One request split into single bytes.
    let req = json!({"method": "echo", "params": ["sp{l}it \" \\ ü"], "id": 9}).to_string();
    for b in req.as_bytes() {
        c.send_raw(&[*b]);
    }
    assert_eq!(
        c.recv().unwrap(),
        json!({"id": 9, "result": ["sp{l}it \" \\ ü"], "error": null})
    );
    // A reply from the client is not answered (echod sends nothing unsolicited).
    c.send(&json!({"result": [], "error": null, "id": "echo"}));
    c.echo(10, json!([1]));
}

#[test]
fn malformed_invalid_and_oversized_messages_close_only_their_connection() {
    let (_dir, mut p, sock) = start_unix("proto-bad", &["--max-message-size=1024"]);
    let mut good = connect_unix(&sock);
    good.echo(1, json!(["before"]));

    let mut bad = connect_unix(&sock);
    bad.send_raw(b"{\"method\":\"echo\",\"params\":[1,],\"id\":1}");
    let r = bad.recv().expect("error reply");
    assert_eq!(r["id"], Value::Null);
    assert_eq!(r["result"], Value::Null);
    assert_eq!(r["error"]["error"], json!("syntax error"), "{r}");
    assert!(bad.closed(), "connection not closed after a syntax error");

    let mut bad = connect_unix(&sock);
    bad.send_raw(b"hello");
    assert_eq!(bad.recv().unwrap()["error"]["error"], json!("syntax error"));
    assert!(bad.closed());

    let mut bad = connect_unix(&sock);
    bad.send(&json!({"method": "echo", "params": {"not": "an array"}, "id": 5}));
    let r = bad.recv().unwrap();
    assert_eq!(r["id"], json!(5));
    assert_eq!(r["error"]["error"], json!("invalid message"));
    assert!(
        r["error"]["details"]
            .as_str()
            .unwrap()
            .contains("\"params\" must be JSON array"),
        "{r}"
    );
    assert!(bad.closed());

    let mut big = connect_unix(&sock);
    big.echo(2, json!(["x".repeat(900)]));
    big.send(&json!({"method": "echo", "params": ["x".repeat(2000)], "id": 3}));
    let r = big.recv().unwrap();
    assert_eq!(r["error"]["error"], json!("message too long"), "{r}");
    assert!(
        r["error"]["details"]
            .as_str()
            .unwrap()
            .contains("at most 1024 bytes"),
        "{r}"
    );
    assert!(big.closed());

    good.echo(4, json!(["after"]));
    assert!(p.is_running());
    let log = p.stderr_text();
    assert!(log.contains("closing connection: syntax error"), "{log}");
    assert!(
        log.contains("closing connection: message too long"),
        "{log}"
    );
}

/// At the limit a new connection waits in the listen queue, its request unread but not lost,
/// and is served as soon as a connection closes.
#[test]
fn connection_limit_queues_extra_connections_until_one_closes() {
    let (_dir, mut p, sock) = start_unix("proto-limit", &["--max-connections=2"]);
    let mut a = connect_unix(&sock);
    let mut b = connect_unix(&sock);
    a.echo(1, json!([]));
    b.echo(2, json!([]));
    let mut c = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    c.write_all(br#"{"method":"echo","params":["c"],"id":3}"#)
        .unwrap();
    p.wait_log("new ones wait in the listen queue");
    c.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let unanswered = c.read(&mut [0; 64]);
    assert!(
        matches!(&unanswered, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a third connection was served with --max-connections=2: {unanswered:?}"
    );
    a.echo(4, json!([]));
    drop(b);
    // The slot is released when echod sees the close: the queued request is answered.
    c.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut c = Client::new(c);
    assert_eq!(
        c.recv().expect("the queued request")["result"],
        json!(["c"])
    );
}

fn raise_nofile(want: u64) -> bool {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if hard < want {
        return false;
    }
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok()
}

async fn recv_value(s: &mut tokio::net::UnixStream, buf: &mut Vec<u8>) -> Option<Value> {
    loop {
        match take_value(buf) {
            Ok(Some(v)) => return Some(v),
            Ok(None) => {}
            Err(e) => panic!("invalid JSON from echod: {e}"),
        }
        let mut chunk = [0u8; 16384];
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn connect_retry(path: &std::path::Path) -> tokio::net::UnixStream {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        match tokio::net::UnixStream::connect(path).await {
            Ok(s) => return s,
            Err(e) if tokio::time::Instant::now() >= deadline => {
                panic!(
                    "timed out waiting for a listener on {}: {e}",
                    path.display()
                )
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

/// 1,000 concurrent connections x 100 echoes (pipelined 10 at a time), every reply checked, while 20 other connections
/// send malformed JSON or an oversized message and are closed.
#[test]
fn load_1000_connections_x_100_echoes_with_bad_clients() {
    const CONNS: usize = 1000;
    const ECHOES: usize = 100;
    const PIPELINE: usize = 10;
    test_support::require!(
        raise_nofile(2 * CONNS as u64 + 200),
        "RLIMIT_NOFILE hard limit below {}",
        2 * CONNS + 200
    );
    let (_dir, mut p, sock) = start_unix(
        "proto-load",
        &["--max-connections=1100", "--max-message-size=4096"],
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let (good, bad) = rt.block_on(async {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(CONNS + 20));
        let mut tasks = Vec::new();
        for conn in 0..CONNS {
            let path = sock.clone();
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                let mut s = connect_retry(&path).await;
                barrier.wait().await;
                let mut buf = Vec::new();
                // Batches of PIPELINE requests per write, then their replies, in order.
                for batch in (0..ECHOES).step_by(PIPELINE) {
                    let ids = batch..(batch + PIPELINE).min(ECHOES);
                    let mut out = String::new();
                    for i in ids.clone() {
                        out.push_str(
                            &json!({"method": "echo", "params": [conn, i, "payload"], "id": i})
                                .to_string(),
                        );
                    }
                    s.write_all(out.as_bytes()).await.unwrap();
                    for i in ids {
                        let reply = tokio::time::timeout(TIMEOUT, recv_value(&mut s, &mut buf))
                            .await
                            .expect("reply timed out")
                            .expect("connection closed early");
                        assert_eq!(
                            reply,
                            json!({"id": i, "result": [conn, i, "payload"], "error": null})
                        );
                    }
                }
                1usize
            }));
        }
        let mut bad_tasks = Vec::new();
        for k in 0..20usize {
            let path = sock.clone();
            let barrier = barrier.clone();
            bad_tasks.push(tokio::spawn(async move {
                let mut s = connect_retry(&path).await;
                barrier.wait().await;
                let (bytes, want) = if k % 2 == 0 {
                    (
                        b"{\"method\":\"echo\",\"params\":[}".to_vec(),
                        "syntax error",
                    )
                } else {
                    let big = json!({"method": "echo", "params": ["y".repeat(10_000)], "id": 1});
                    (big.to_string().into_bytes(), "message too long")
                };
                // The server may close before reading everything: ignore write errors.
                let _ = s.write_all(&bytes).await;
                let mut buf = Vec::new();
                let reply = tokio::time::timeout(TIMEOUT, recv_value(&mut s, &mut buf))
                    .await
                    .expect("error reply timed out")
                    .expect("no error reply");
                assert_eq!(reply["error"]["error"], json!(want), "{reply}");
                assert!(
                    recv_value(&mut s, &mut buf).await.is_none(),
                    "bad connection not closed"
                );
                1usize
            }));
        }
        let mut good = 0;
        for t in tasks {
            good += t.await.expect("client task failed");
        }
        let mut bad = 0;
        for t in bad_tasks {
            bad += t.await.expect("bad client task failed");
        }
        (good, bad)
    });
    assert_eq!((good, bad), (CONNS, 20));
    assert!(p.is_running(), "echod died:\n{}", p.stderr_text());
    eprintln!("load: {CONNS} x {ECHOES} echoes in {:?}", started.elapsed());
}

#[test]
fn a_connection_accepted_just_before_sigterm_still_gets_its_reply() {
    let (_dir, mut p, sock) = start_unix("proto-stop-grace", &[]);
    // Accepted (the served connection proves echod's accept loop has it) but silent when
    // SIGTERM arrives, as a client caught between connect() and write() during a restart.
    let mut served = connect_unix(&sock);
    served.echo(1, json!(["warm"]));
    let mut late = connect_unix(&sock);
    let mut answered_before = connect_unix(&sock);
    answered_before.echo(2, json!(["before"]));
    std::thread::sleep(Duration::from_millis(100));
    p.signal(nix::sys::signal::Signal::SIGTERM);
    std::thread::sleep(Duration::from_millis(200));
    late.send(&json!({"method": "echo", "params": ["late"], "id": 3}));
    let reply = late
        .recv()
        .expect("the late request got no reply: the connection was closed");
    assert_eq!(reply["result"], json!(["late"]));
    assert_eq!(reply["id"], json!(3));
    // A connection already answered and idle is closed at once, and echod exits 0.
    assert!(answered_before.closed());
    let status = p.wait_exit();
    assert!(status.success(), "echod exited with {status}");
}

/// A read that ends inside a number (`-`, `1.`, `2e`, `3e+`) waits for the rest of the message:
/// each request is sent in two writes, 100 ms apart, cut right after the number's prefix.
#[test]
fn a_message_cut_inside_a_number_is_served() {
    let (_dir, _p, sock) = start_unix("proto-number-cut", &[]);
    let mut c = connect_unix(&sock);
    for (id, (head, tail, value)) in [
        ("-", "1", json!(-1)),
        ("1.", "5", json!(1.5)),
        ("2e", "3", json!(2e3)),
        ("3e+", "2", json!(3e2)),
        ("-4.", "25E-1", json!(-0.425)),
    ]
    .into_iter()
    .enumerate()
    {
        c.send_raw(format!(r#"{{"method":"echo","params":[{head}"#).as_bytes());
        std::thread::sleep(Duration::from_millis(100));
        c.send_raw(format!(r#"{tail}],"id":{id}}}"#).as_bytes());
        let reply = c.recv().expect("a reply, not a closed connection");
        assert_eq!(reply, json!({"id": id, "result": [value], "error": null}));
    }
}

/// `echo` returns its params and id byte for byte: numbers that a parse would alter (`1.0e2`,
/// integers past 64 bits, `-0.0`) or refuse (`1e400`), escapes and spacing all come back as sent.
#[test]
fn echo_returns_params_unchanged() {
    use std::io::{Read, Write};
    let (_dir, _p, sock) = start_unix("proto-echo-raw", &[]);
    let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let params =
        r#"[123456789012345678901234567890, 1.0e2, 1e400, -0.0, "\u00e9\n", {"b":1, "a":[ ]}]"#;
    let id = "18446744073709551616";
    s.write_all(format!(r#"{{"method":"echo", "params":{params}, "id":{id}}}"#).as_bytes())
        .unwrap();
    let want = format!(r#"{{"id":{id},"result":{params},"error":null}}"#);
    let mut got = vec![0u8; want.len()];
    s.read_exact(&mut got).expect("the whole reply");
    assert_eq!(String::from_utf8_lossy(&got), want);
}

/// A client blocked waiting for its reply is woken once, by the reply: echod takes a request
/// off a Unix socket only after writing its reply, so the kernel's write-space wake-up (taking
/// bytes off the socket wakes whatever sleeps on the sender's) never comes first, with nothing
/// to read. Watched with an edge-triggered epoll on the client's socket, which reports each
/// wake-up with what the socket then holds: the first after a request must find the reply
/// there. Each round waits until echod took the request, so that no request is ever read
/// together with the one before it.
#[test]
fn a_unix_client_is_first_woken_by_its_reply() {
    use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
    let (_dir, p, sock) = start_unix("proto-wakeups", &[]);
    let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).unwrap();
    let watched = EpollFlags::EPOLLIN | EpollFlags::EPOLLOUT | EpollFlags::EPOLLET;
    epoll.add(&s, EpollEvent::new(watched, 0)).unwrap();
    let request = br#"{"method":"echo","params":["w"],"id":1}"#;
    let reply = br#"{"id":1,"result":["w"],"error":null}"#;
    let mut events = [EpollEvent::empty(); 1];
    let mut buf = [0u8; 256];
    let mut woken_empty = 0;
    const ROUNDS: usize = 300;
    for _ in 0..ROUNDS {
        // What came before this round (the last wake-up of echod's read of the request before
        // may trail SIOCOUTQ by a moment) is reported now, not as this round's first.
        while epoll.wait(&mut events, EpollTimeout::from(1u8)).unwrap() > 0 {}
        s.write_all(request).unwrap();
        let n = epoll
            .wait(&mut events, EpollTimeout::from(10_000u16))
            .unwrap();
        assert_eq!(n, 1, "no reply within 10 s: {}", p.stderr_text());
        if !events[0].events().contains(EpollFlags::EPOLLIN) {
            woken_empty += 1;
        }
        let mut got = 0;
        while got < reply.len() {
            let n = s.read(&mut buf[got..]).unwrap();
            assert!(n > 0, "echod closed the connection: {}", p.stderr_text());
            got += n;
        }
        assert_eq!(&buf[..got], reply);
        super::sessions::wait_read_by_echod(&s);
    }
    assert_eq!(
        woken_empty, 0,
        "{woken_empty} of {ROUNDS} requests woke the client before their reply was there"
    );
}
