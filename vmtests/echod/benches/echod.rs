//! echod benchmark: echo round trips per second, baseline and candidate in the same run
//! (interleaved repetitions, medians):
//!
//! * sandboxed (every QEMU set denied) / unsandboxed, both on `punix:` (goal >= 0.98);
//! * `pfd:` listener (via the real `systemd-socket-activate`) / `punix:` listener (goal >= 0.98);
//! * and first, the same daemon against itself (A/A), which shows this machine's noise floor.
//!
//! Each measurement runs CLIENTS threads, each doing blocking request/reply round trips on its own
//! connection for 0.4 s; every reply is compared byte for byte with the expected one. Rounds
//! alternate the order (AB, BA, ...) so that drift on a noisy machine cancels out, and the figure
//! reported is the median of the per-round ratios.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Proc, TempDir, echod_bin, wait_listening};
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
        Duration::from_millis(400)
    } else {
        Duration::from_millis(50)
    }
}

fn warmup() -> Duration {
    window() / 4
}

fn reps() -> usize {
    if bench_mode() { 15 } else { 1 }
}
const ALL_DENIED: &str = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";

/// Round trips per second against the Unix socket `path`, counted from the moment every client
/// is connected until the window closes (connect and join times excluded).
fn measure(path: &Path, window: Duration) -> f64 {
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
    std::thread::sleep(window);
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

/// One daemon under test: its process (killed on drop) and the socket to measure.
struct Target {
    _procs: Vec<Proc>,
    sock: PathBuf,
}

/// Measures `a` against `b`. Every round starts both daemons afresh (so that where the scheduler
/// happened to put one process's threads does not decide the result), warms them up, and measures
/// them in alternating order (AB, BA, ...) so that drift cancels out; the figure is the median of
/// the per-round ratios.
fn compare(
    what: &str,
    goal: &str,
    names: (&str, &str),
    dir: &TempDir,
    make_a: impl Fn(&TempDir, usize) -> Target,
    make_b: impl Fn(&TempDir, usize) -> Target,
) {
    let (mut ra, mut rb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..reps() {
        let a = make_a(dir, round);
        let b = make_b(dir, round);
        let (x, y) = if round % 2 == 0 {
            measure(&a.sock, warmup());
            measure(&b.sock, warmup());
            let x = measure(&a.sock, window());
            (x, measure(&b.sock, window()))
        } else {
            measure(&b.sock, warmup());
            measure(&a.sock, warmup());
            let y = measure(&b.sock, window());
            (measure(&a.sock, window()), y)
        };
        ra.push(x);
        rb.push(y);
        ratios.push(x / y);
    }
    let (ma, mb, ratio) = (median(ra), median(rb), median(ratios));
    let note = if bench_mode() {
        ""
    } else {
        " [smoke run: not a measurement, use cargo bench]"
    };
    println!(
        "{what}: {} {:.0} round trips/s, {} {:.0} round trips/s, median per-round ratio {:.3} ({goal}){note}",
        names.0, ma, names.1, mb, ratio
    );
}

fn start_punix(dir: &TempDir, name: &str, extra: &[&str]) -> Target {
    let sock = dir.join(&format!("{name}.sock"));
    let remote = format!("--remote=punix:{}", sock.display());
    let mut args = vec![remote.as_str(), "--log-level=warn"];
    args.extend_from_slice(extra);
    let _ = std::fs::remove_file(&sock);
    let mut p = Proc::spawn(dir, name, echod_bin(), &args);
    wait_listening(&sock, &mut p);
    Target {
        _procs: vec![p],
        sock,
    }
}

fn start_pfd(dir: &TempDir, name: &str) -> Target {
    let sock = dir.join(&format!("{name}.sock"));
    let _ = std::fs::remove_file(&sock);
    let mut ssa = Proc::spawn(
        dir,
        name,
        "systemd-socket-activate",
        &[
            "-l",
            sock.to_str().unwrap(),
            "--",
            echod_bin(),
            "--remote=pfd:3",
            "--log-level=warn",
        ],
    );
    wait_listening(&sock, &mut ssa);
    // The first connection makes systemd-socket-activate exec echod; wait until it answers.
    let mut first = common::connect_unix(&sock);
    first.echo(0, serde_json::json!([]));
    Target {
        _procs: vec![ssa],
        sock,
    }
}

fn main() {
    let dir = TempDir::new("bench");
    // A/A: two identical daemons. How far this ratio strays from 1.000 is the noise floor of this
    // machine; read the two ratios below against it.
    compare(
        "echod/noise-floor (A/A)",
        "noise floor: ideally 1.000",
        ("unsandboxed", "unsandboxed"),
        &dir,
        |d, r| start_punix(d, &format!("a{r}"), &[]),
        |d, r| start_punix(d, &format!("b{r}"), &[]),
    );
    let sandbox = format!("--sandbox={ALL_DENIED}");
    compare(
        "echod/echo",
        "goal >= 0.98",
        ("sandboxed", "unsandboxed"),
        &dir,
        |d, r| start_punix(d, &format!("boxed{r}"), &[&sandbox]),
        |d, r| start_punix(d, &format!("plain{r}"), &[]),
    );

    if !test_support::on_path("systemd-socket-activate") {
        println!("echod/listener: skipped (systemd-socket-activate not found)");
        return;
    }
    compare(
        "echod/listener",
        "goal >= 0.98",
        ("pfd", "punix"),
        &dir,
        |d, r| start_pfd(d, &format!("pfd{r}")),
        |d, r| start_punix(d, &format!("punix{r}"), &[]),
    );
}
