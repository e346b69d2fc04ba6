//! Peers that stall: a message that never completes (slowloris), a silent client (the
//! inactivity probe), a silent control connection. Short timeouts keep the tests quick; each
//! wait is bounded.

use crate::common;

use common::*;
use serde_json::json;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

fn start(tag: &str, extra: &[&str]) -> (TempDir, Proc, std::path::PathBuf) {
    let dir = TempDir::new(tag);
    let (p, sock) = echod_on_punix(&dir, extra);
    (dir, p, sock)
}

/// Reads until EOF (or the read timeout); returns what came and how long it took.
fn read_to_close(mut s: &UnixStream) -> (String, Duration) {
    let start = Instant::now();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    (String::from_utf8_lossy(&got).into_owned(), start.elapsed())
}

#[test]
fn a_message_that_never_completes_is_cut_off() {
    let (_dir, mut p, sock) = start(
        "to-slow",
        &[
            "--message-timeout=300",
            "--inactivity-probe=0",
            "--unixctl=none",
        ],
    );
    let mut c = UnixStream::connect(&sock).unwrap();
    c.write_all(br#"{"method":"echo","params":["never fin"#)
        .unwrap();
    let (_, took) = read_to_close(&c);
    assert!(took < Duration::from_secs(10), "closed only after {took:?}");
    p.wait_log("a message was not complete 300 ms after its first byte");
    // A client that keeps its messages whole is not affected.
    connect_unix(&sock).echo(1, json!(["whole"]));
}

#[test]
fn a_silent_client_is_probed_and_closed_and_an_answering_one_stays() {
    let (_dir, mut p, sock) = start("to-probe", &["--inactivity-probe=200", "--unixctl=none"]);
    // Silent: the probe comes, then the close.
    let silent = UnixStream::connect(&sock).unwrap();
    let (got, took) = read_to_close(&silent);
    let probe: serde_json::Value = serde_json::from_str(&got).expect("one echo request");
    assert_eq!(probe, json!({"id": "echo", "method": "echo", "params": []}));
    assert!(took < Duration::from_secs(10), "closed only after {took:?}");
    p.wait_log("no answer to the inactivity probe");
    // Answering: still served after several probe intervals.
    let mut c = connect_unix(&sock);
    for _ in 0..3 {
        let msg = c.recv().expect("a probe, not a close");
        assert_eq!(msg["method"], json!("echo"), "{msg}");
        c.send(&json!({"id": msg["id"], "result": [], "error": null}));
    }
    c.echo(9, json!(["still here after three probes"]));
}

#[test]
fn a_silent_control_connection_is_closed() {
    let dir = TempDir::new("to-ctl");
    let ctl = dir.join("echod.ctl");
    let mut p = Proc::echod(
        &dir,
        &[
            &format!("--unixctl={}", ctl.display()),
            "--control-timeout=300",
        ],
    );
    wait_listening(&ctl, &mut p);
    let c = UnixStream::connect(&ctl).unwrap();
    let (_, took) = read_to_close(&c);
    assert!(took < Duration::from_secs(10), "closed only after {took:?}");
    p.wait_log("control socket: closing a connection silent for 300 ms");
}
