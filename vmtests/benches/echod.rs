//! echod benchmark: echo round trips per second, baseline and candidate in the same run
//! (interleaved repetitions, medians):
//!
//! * sandboxed (every QEMU set denied) / unsandboxed, both on `punix:` (goal >= 0.98);
//! * `pfd:` listener (via the real `systemd-socket-activate`) / `punix:` listener (goal >= 0.98).
//!
//! Each measurement runs CLIENTS threads, each doing blocking request/reply round trips on its own
//! connection for 0.8 s; every reply is compared byte for byte with the expected one.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Proc, TempDir, echod_bin, wait_path};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const CLIENTS: usize = 4;

/// `cargo bench` passes `--bench`; without it (`cargo test --all-targets`) this is a quick smoke
/// run of the same code.
fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn window() -> Duration {
    if bench_mode() {
        Duration::from_millis(800)
    } else {
        Duration::from_millis(50)
    }
}

fn reps() -> usize {
    if bench_mode() { 5 } else { 1 }
}
const ALL_DENIED: &str = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";

/// Round trips per second against the Unix socket `path`, counted from the moment every client
/// is connected until the window closes (connect and join times excluded).
fn measure(path: &Path) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(Barrier::new(CLIENTS + 1));
    let mut threads = Vec::new();
    for t in 0..CLIENTS {
        let path = path.to_owned();
        let stop = stop.clone();
        let ready = ready.clone();
        threads.push(std::thread::spawn(move || {
            let mut s = UnixStream::connect(&path).expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let req = format!(r#"{{"method":"echo","params":["bench",{t}],"id":{t}}}"#);
            let want = format!(r#"{{"id":{t},"result":["bench",{t}],"error":null}}"#);
            let mut got = vec![0u8; want.len()];
            let mut n = 0u64;
            ready.wait();
            while !stop.load(Ordering::Relaxed) {
                s.write_all(req.as_bytes()).expect("write");
                s.read_exact(&mut got).expect("read");
                assert_eq!(got, want.as_bytes(), "wrong reply");
                n += 1;
            }
            n
        }));
    }
    ready.wait();
    let start = Instant::now();
    std::thread::sleep(window());
    stop.store(true, Ordering::Relaxed);
    let elapsed = start.elapsed();
    let total: u64 = threads
        .into_iter()
        .map(|t| t.join().expect("client thread"))
        .sum();
    total as f64 / elapsed.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[v.len() / 2]
}

fn compare(what: &str, names: (&str, &str), a: &Path, b: &Path) {
    // Warm up both.
    measure(a);
    measure(b);
    let (mut ra, mut rb) = (Vec::new(), Vec::new());
    for _ in 0..reps() {
        ra.push(measure(a));
        rb.push(measure(b));
    }
    let (ma, mb) = (median(ra), median(rb));
    let note = if bench_mode() {
        ""
    } else {
        " [smoke run: not a measurement, use cargo bench]"
    };
    println!(
        "{what}: {} {:.0} round trips/s, {} {:.0} round trips/s, ratio {:.3} (goal >= 0.98){note}",
        names.0,
        ma,
        names.1,
        mb,
        ma / mb
    );
}

fn start_punix(dir: &TempDir, name: &str, extra: &[&str]) -> (Proc, PathBuf) {
    let sock = dir.join(&format!("{name}.sock"));
    let remote = format!("--remote=punix:{}", sock.display());
    let mut args = vec![remote.as_str(), "--log-level=warn"];
    args.extend_from_slice(extra);
    let mut p = Proc::spawn(dir, name, echod_bin(), &args);
    wait_path(&sock, &mut p);
    (p, sock)
}

fn main() {
    let dir = TempDir::new("bench");
    let (_plain, plain_sock) = start_punix(&dir, "plain", &[]);
    let sandbox = format!("--sandbox={ALL_DENIED}");
    let (_boxed, boxed_sock) = start_punix(&dir, "boxed", &[&sandbox]);
    compare(
        "echod/echo",
        ("sandboxed", "unsandboxed"),
        &boxed_sock,
        &plain_sock,
    );

    if !common::require(
        "bench echod pfd/punix",
        "systemd-socket-activate",
        "systemd",
    ) {
        println!("echod/listener: skipped (systemd-socket-activate not found)");
        return;
    }
    let pfd_sock = dir.join("pfd.sock");
    let mut ssa = Proc::spawn(
        &dir,
        "pfd",
        "systemd-socket-activate",
        &[
            "-l",
            pfd_sock.to_str().unwrap(),
            "--",
            echod_bin(),
            "--remote=pfd:3",
            "--log-level=warn",
        ],
    );
    wait_path(&pfd_sock, &mut ssa);
    // The first connection starts echod; wait until it answers.
    let mut first = common::connect_unix(&pfd_sock);
    first.echo(0, serde_json::json!([]));
    drop(first);
    compare("echod/listener", ("pfd", "punix"), &pfd_sock, &plain_sock);
}
