//! What the echod benchmarks that count echo round trips share: the blocking client, the
//! measurement window, and the comparison of two daemons in interleaved rounds (median and
//! quartiles of the per-round ratios, with what the machine's CPUs did in each window: CPU
//! time, context switches and idle share per round trip). `cargo bench` passes `--bench`;
//! without it (`cargo test --all-targets`) each comparison is a quick smoke run of the same
//! code, replies still checked.

#![allow(dead_code)]

use crate::common::TempDir;
use serde_json::Value;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// `cargo bench` passes `--bench`; without it (`cargo test --all-targets`) this is a quick smoke
/// run of the same code.
pub(crate) fn bench_mode() -> bool {
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

/// How the client checks each reply. Either way it reads until it holds one complete JSON value
/// (serde_json decides where the value ends; no fixed byte count), and that value must equal
/// `{"id":ID,"result":PARAMS,"error":null}`; nothing but whitespace may follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Equal as JSON values: for comparing with another implementation, whose bytes may differ
    /// (ovsdb-server re-serializes the params; echod echoes them as received).
    Json,
    /// Also byte for byte equal to echod's serialization (`{"id":..,"result":..,"error":null}`,
    /// nothing after it): for echod against itself.
    Exact,
}

/// One blocking JSON-RPC client connection doing `echo` round trips.
#[derive(Debug)]
pub(crate) struct EchoClient {
    stream: UnixStream,
    request: Vec<u8>,
    want: Value,
    want_bytes: Vec<u8>,
    check: Check,
    buf: Vec<u8>,
}

impl EchoClient {
    /// Connects to `path`; client number `t` sends `{"method":"echo","params":["bench",t],"id":t}`.
    pub(crate) fn connect(path: &Path, t: usize, check: Check) -> EchoClient {
        let stream = UnixStream::connect(path)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", path.display()));
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set_read_timeout");
        let request = format!(r#"{{"method":"echo","params":["bench",{t}],"id":{t}}}"#);
        let want_bytes = format!(r#"{{"id":{t},"result":["bench",{t}],"error":null}}"#);
        EchoClient {
            stream,
            request: request.into_bytes(),
            want: serde_json::from_str(&want_bytes).expect("the expected reply is JSON"),
            want_bytes: want_bytes.into_bytes(),
            check,
            buf: Vec::with_capacity(256),
        }
    }

    /// One request and its reply; panics on a wrong reply.
    pub(crate) fn round_trip(&mut self) {
        self.stream.write_all(&self.request).expect("write");
        let reply = self.read_value();
        if reply != self.want {
            panic!(
                "wrong reply: {}, expected {} (as JSON)",
                String::from_utf8_lossy(&self.buf),
                String::from_utf8_lossy(&self.want_bytes)
            );
        }
        if self.check == Check::Exact {
            assert_eq!(
                String::from_utf8_lossy(&self.buf),
                String::from_utf8_lossy(&self.want_bytes),
                "reply bytes"
            );
        }
    }

    /// Reads until `buf` holds one complete JSON value (and at most whitespace after it).
    fn read_value(&mut self) -> Value {
        self.buf.clear();
        let mut chunk = [0u8; 1024];
        loop {
            let n = self.stream.read(&mut chunk).expect("read a reply");
            assert!(
                n > 0,
                "the server closed the connection instead of replying"
            );
            self.buf.extend_from_slice(&chunk[..n]);
            let mut values = serde_json::Deserializer::from_slice(&self.buf).into_iter::<Value>();
            match values.next() {
                Some(Ok(v)) => {
                    let rest = &self.buf[values.byte_offset()..];
                    assert!(
                        rest.iter().all(u8::is_ascii_whitespace),
                        "more than one reply to one request: {:?}",
                        String::from_utf8_lossy(&self.buf)
                    );
                    return v;
                }
                // Only part of the value (or only whitespace) so far.
                Some(Err(e)) if e.is_eof() => {}
                None => {}
                Some(Err(e)) => panic!(
                    "the reply is not JSON ({e}): {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
            }
        }
    }
}

/// Round trips per second with `clients` connections to the Unix socket `path`, counted from
/// the moment every client is connected until the window closes (connect and join times
/// excluded).
pub(crate) fn measure(path: &Path, clients: usize, check: Check, window: Duration) -> Rate {
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(Barrier::new(clients + 1));
    let mut threads = Vec::new();
    for t in 0..clients {
        let path = path.to_owned();
        let stop = stop.clone();
        let ready = ready.clone();
        threads.push(std::thread::spawn(move || {
            let mut client = EchoClient::connect(&path, t, check);
            let mut n = 0u64;
            ready.wait();
            while !stop.load(Ordering::Relaxed) {
                client.round_trip();
                n += 1;
            }
            n
        }));
    }
    ready.wait();
    timed_window(window, &stop, threads)
}

/// Round trips per second in one window, and what the machine's CPUs did meanwhile: a ratio of
/// round trips alone does not say whether a server is faster because each round trip costs less
/// or because it keeps more of the CPUs busy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rate {
    pub(crate) per_sec: f64,
    /// CPU time used on the whole machine per round trip, in microseconds: every process
    /// (server, clients, anything else running) and the kernel's own work, from `/proc/stat`.
    pub(crate) cpu_us: f64,
    /// The share of the machine's CPU time that was idle, 0 to 1.
    pub(crate) idle: f64,
    /// Context switches on the whole machine per round trip (`ctxt` in `/proc/stat`, switches
    /// to and from the idle task included). With blocking clients about one is the clients'
    /// own (each sleeps until its reply; pipelined clients, fewer); the rest is a server thread
    /// sleeping or being preempted, which is where a server of the same CPU time per request
    /// loses its time.
    pub(crate) switches: f64,
}

/// The clients of a measurement are connected and waiting on the barrier: times `window`,
/// stops them, and counts their round trips.
fn timed_window(
    window: Duration,
    stop: &AtomicBool,
    threads: Vec<std::thread::JoinHandle<u64>>,
) -> Rate {
    let cpu = MachineCpu::now();
    let start = Instant::now();
    std::thread::sleep(window);
    stop.store(true, Ordering::Relaxed);
    let elapsed = start.elapsed();
    let cpu = MachineCpu::now().since(cpu);
    let total: u64 = threads
        .into_iter()
        .map(|t| t.join().expect("client thread"))
        .sum();
    Rate {
        per_sec: total as f64 / elapsed.as_secs_f64(),
        cpu_us: cpu.busy_secs() * 1e6 / total.max(1) as f64,
        idle: cpu.idle_share(),
        switches: cpu.switches as f64 / total.max(1) as f64,
    }
}

/// The machine's CPU time so far, in clock ticks (`/proc/stat`'s first line), and its context
/// switches (its `ctxt` line).
#[derive(Debug, Clone, Copy)]
struct MachineCpu {
    busy: u64,
    idle: u64,
    switches: u64,
}

impl MachineCpu {
    /// `USER_HZ`, the unit of `/proc/stat`: 100 on x86_64 and arm64, the machines this runs on.
    const TICKS_PER_SEC: f64 = 100.0;

    fn now() -> MachineCpu {
        let stat = std::fs::read_to_string("/proc/stat").expect("read /proc/stat");
        let line = stat.lines().next().expect("/proc/stat is empty");
        let ticks: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(|f| f.parse().expect("a tick count in /proc/stat"))
            .collect();
        // user nice system idle iowait irq softirq steal (guest time is inside user). Steal is
        // time the hypervisor gave to someone else: neither ours nor idle.
        let field = |i: usize| ticks.get(i).copied().unwrap_or(0);
        let switches = stat
            .lines()
            .find_map(|l| l.strip_prefix("ctxt "))
            .and_then(|n| n.trim().parse().ok())
            .expect("a ctxt line in /proc/stat");
        MachineCpu {
            busy: field(0) + field(1) + field(2) + field(5) + field(6),
            idle: field(3) + field(4),
            switches,
        }
    }

    fn since(self, before: MachineCpu) -> MachineCpu {
        // Idle and iowait are summed over the CPUs without a common lock and can step back a
        // tick between two reads.
        MachineCpu {
            busy: self.busy.saturating_sub(before.busy),
            idle: self.idle.saturating_sub(before.idle),
            switches: self.switches.saturating_sub(before.switches),
        }
    }

    fn busy_secs(self) -> f64 {
        self.busy as f64 / Self::TICKS_PER_SEC
    }

    fn idle_share(self) -> f64 {
        self.idle as f64 / (self.busy + self.idle).max(1) as f64
    }
}

/// Round trips per second with `clients` connections each keeping `depth` requests in flight:
/// a client writes `depth` requests at once, then reads until it holds their `depth` replies
/// (each checked as JSON, in order), and so on. Counted as in [`measure`].
pub(crate) fn measure_pipelined(
    path: &Path,
    clients: usize,
    depth: usize,
    window: Duration,
) -> Rate {
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(Barrier::new(clients + 1));
    let mut threads = Vec::new();
    for t in 0..clients {
        let path = path.to_owned();
        let stop = stop.clone();
        let ready = ready.clone();
        threads.push(std::thread::spawn(move || {
            let mut stream = UnixStream::connect(&path)
                .unwrap_or_else(|e| panic!("connect to {}: {e}", path.display()));
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("set_read_timeout");
            let mut batch = Vec::new();
            let mut wants = Vec::new();
            for k in 0..depth {
                let id = t * depth + k;
                batch.extend_from_slice(
                    format!(r#"{{"method":"echo","params":["bench",{id}],"id":{id}}}"#).as_bytes(),
                );
                wants.push(serde_json::json!({"id": id, "result": ["bench", id], "error": null}));
            }
            let mut buf = Vec::with_capacity(4096);
            let mut chunk = [0u8; 4096];
            let mut n = 0u64;
            ready.wait();
            while !stop.load(Ordering::Relaxed) {
                stream.write_all(&batch).expect("write");
                buf.clear();
                let mut got = 0;
                while got < depth {
                    let r = stream.read(&mut chunk).expect("read replies");
                    assert!(
                        r > 0,
                        "the server closed the connection instead of replying"
                    );
                    buf.extend_from_slice(&chunk[..r]);
                    let mut values =
                        serde_json::Deserializer::from_slice(&buf).into_iter::<Value>();
                    got = 0;
                    for v in values.by_ref() {
                        match v {
                            Ok(v) => {
                                assert_eq!(v, wants[got], "reply {got} of a pipelined batch");
                                got += 1;
                            }
                            Err(e) if e.is_eof() => break,
                            Err(e) => panic!("a reply is not JSON: {e}"),
                        }
                    }
                }
                n += depth as u64;
            }
            n
        }));
    }
    ready.wait();
    timed_window(window, &stop, threads)
}

/// Raises this process's soft `RLIMIT_NOFILE` to the hard limit (children inherit it): the
/// idle-connection figures hold thousands of connections. The soft limit after.
pub(crate) fn raise_nofile() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
    getrlimit(Resource::RLIMIT_NOFILE).map_or(0, |(soft, _)| soft)
}

/// `VmRSS` of process `pid`, in bytes.
pub(crate) fn rss(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/status: {e}"));
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/PID/status");
    kib * 1024
}

/// `count` connections to `path`, each after one small echo (its reply checked as JSON), kept
/// open while the value lives. Connected `batch` at a time, each batch's requests written
/// before its replies are read, so that the server's accept queue never overflows.
pub(crate) struct IdleClients(Vec<UnixStream>);

impl IdleClients {
    pub(crate) fn open(path: &Path, count: usize) -> IdleClients {
        const BATCH: usize = 64;
        let mut all = Vec::with_capacity(count);
        let mut chunk = [0u8; 256];
        while all.len() < count {
            let first = all.len();
            let n = BATCH.min(count - first);
            for k in 0..n {
                let id = first + k;
                let mut s = UnixStream::connect(path)
                    .unwrap_or_else(|e| panic!("idle connection {id} to {}: {e}", path.display()));
                s.set_read_timeout(Some(Duration::from_secs(30)))
                    .expect("set_read_timeout");
                s.write_all(format!(r#"{{"method":"echo","params":[{id}],"id":{id}}}"#).as_bytes())
                    .expect("write the idle connection's echo");
                all.push(s);
            }
            for (k, s) in all[first..].iter_mut().enumerate() {
                let id = first + k;
                let want = serde_json::json!({"id": id, "result": [id], "error": null});
                let mut buf = Vec::new();
                loop {
                    let r = s
                        .read(&mut chunk)
                        .expect("read the idle connection's reply");
                    assert!(r > 0, "the server closed idle connection {id}");
                    buf.extend_from_slice(&chunk[..r]);
                    match serde_json::from_slice::<Value>(&buf) {
                        Ok(v) => {
                            assert_eq!(v, want, "idle connection {id}'s reply");
                            break;
                        }
                        Err(e) if e.is_eof() => {}
                        Err(e) => panic!("idle connection {id}'s reply is not JSON: {e}"),
                    }
                }
            }
        }
        IdleClients(all)
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

/// The number of idle connections the idle figures hold (fewer in a smoke run).
pub(crate) fn idle_count() -> usize {
    if bench_mode() { 10_000 } else { 200 }
}

/// The median of `v`.
pub(crate) fn median(v: Vec<f64>) -> f64 {
    quantile(v, 0.5)
}

/// The value a share `q` (0 to 1) of `v` is at or below: the sorted values' element at
/// `q * (len - 1)`, rounded down below the median and up from it, so that the two quartiles
/// of an odd count lie as many values from the median (with an even count the median is the
/// upper middle value). `v` must not be empty.
pub(crate) fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let at = (v.len() - 1) as f64 * q;
    v[if q < 0.5 { at.floor() } else { at.ceil() } as usize]
}

/// One daemon under test: its processes (killed on drop) and the socket to measure.
pub(crate) struct Target {
    pub(crate) procs: Vec<crate::common::Proc>,
    pub(crate) sock: PathBuf,
    /// Idle connections held open while it is measured (the scale figure).
    pub(crate) idle: Option<IdleClients>,
}

/// How a comparison is run and printed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Comparison<'a> {
    /// The line's label, e.g. `echod/echo`.
    pub(crate) what: &'a str,
    /// Printed in parentheses after the ratio, e.g. `goal >= 0.98`.
    pub(crate) goal: &'a str,
    /// The names of A and B in the line.
    pub(crate) names: (&'a str, &'a str),
    /// Client connections, each its own thread.
    pub(crate) clients: usize,
    pub(crate) check: Check,
}

/// Measures `a` against `b` and prints one line: both medians in round trips per second, the
/// median and quartiles of the per-round ratios a/b, and for each the machine's CPU time,
/// context switches and idle share per round trip (medians). Every round starts both daemons
/// afresh (so that where the scheduler happened to put one process's threads does not decide
/// the result; `round` is passed to the constructors for unique file names), warms them up, and
/// measures them in alternating order (AB, BA, ...) so that drift cancels out.
pub(crate) fn compare(
    c: Comparison<'_>,
    dir: &TempDir,
    make_a: impl Fn(&TempDir, usize) -> Target,
    make_b: impl Fn(&TempDir, usize) -> Target,
) -> f64 {
    compare_by(c, dir, make_a, make_b, |t, w| {
        measure(&t.sock, c.clients, c.check, w)
    })
}

/// [`compare`] with another measurement (round trips per second of a target in a window),
/// e.g. [`measure_pipelined`]. Returns the median ratio.
pub(crate) fn compare_by(
    c: Comparison<'_>,
    dir: &TempDir,
    make_a: impl Fn(&TempDir, usize) -> Target,
    make_b: impl Fn(&TempDir, usize) -> Target,
    run: impl Fn(&Target, Duration) -> Rate,
) -> f64 {
    let (mut ra, mut rb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..reps() {
        let a = make_a(dir, round);
        let b = make_b(dir, round);
        let (x, y) = if round % 2 == 0 {
            run(&a, warmup());
            run(&b, warmup());
            let x = run(&a, window());
            (x, run(&b, window()))
        } else {
            run(&b, warmup());
            run(&a, warmup());
            let y = run(&b, window());
            (run(&a, window()), y)
        };
        ratios.push(x.per_sec / y.per_sec);
        ra.push(x);
        rb.push(y);
    }
    let of = |v: &[Rate], f: fn(&Rate) -> f64| median(v.iter().map(f).collect());
    // The quartiles say how far one run's median can be trusted: rounds in which one daemon
    // had the machine in a better state than the other spread them.
    let quartiles = (
        quantile(ratios.clone(), 0.25),
        quantile(ratios.clone(), 0.75),
    );
    let ratio = median(ratios);
    let note = if bench_mode() {
        ""
    } else {
        " [smoke run: not a measurement, use cargo bench]"
    };
    println!(
        "{}: {} {:.0} round trips/s, {} {:.0} round trips/s, median per-round ratio {:.3} ({}), \
         quartiles {:.3} to {:.3}; machine CPU per round trip {:.1} us and {:.1} us, context \
         switches per round trip {:.2} and {:.2}, idle {:.0} % and {:.0} %{note}",
        c.what,
        c.names.0,
        of(&ra, |r| r.per_sec),
        c.names.1,
        of(&rb, |r| r.per_sec),
        ratio,
        c.goal,
        quartiles.0,
        quartiles.1,
        of(&ra, |r| r.cpu_us),
        of(&rb, |r| r.cpu_us),
        of(&ra, |r| r.switches),
        of(&rb, |r| r.switches),
        of(&ra, |r| r.idle) * 100.0,
        of(&rb, |r| r.idle) * 100.0,
    );
    ratio
}

/// echod serving `punix:DIR/NAME.sock` with `extra` arguments, once it listens.
pub(crate) fn start_echod(dir: &TempDir, name: &str, extra: &[&str]) -> Target {
    let sock = dir.join(&format!("{name}.sock"));
    let remote = format!("--remote=punix:{}", sock.display());
    let mut args = vec![remote.as_str(), "--log-level=warn"];
    args.extend_from_slice(extra);
    let _ = std::fs::remove_file(&sock);
    let mut p = crate::common::Proc::spawn(dir, name, crate::common::echod_bin(), &args);
    crate::common::wait_listening(&sock, &mut p);
    Target {
        procs: vec![p],
        sock,
        idle: None,
    }
}
