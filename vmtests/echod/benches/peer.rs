//! echod against its peer, the real ovsdb-server (goal: echod / ovsdb-server >= 1.25 at every
//! client count), and how echod's cost grows with the number of connections. One line each:
//!
//! * `echod/peer-ovsdb (N clients)`: echo round trips per second at 1, 4, 16 and 64 client
//!   connections, each doing blocking request/reply round trips;
//! * `echod/peer-ovsdb pipelined (16 clients x 8 in flight)`: the same with each client writing
//!   8 requests at once and then reading their 8 replies;
//! * `echod/idle-memory (10000 connections)`: RSS growth per idle connection, after each has
//!   done one small echo, echod's and ovsdb-server's (goals: echod <= 8 KiB, and echod /
//!   ovsdb-server <= 1.00);
//! * `echod/scale (16 clients, 10000 idle connections)`: echod's round trips per second at 16
//!   clients with 10,000 idle connections open / without them (goal >= 0.90).
//!
//! Where the time goes at 16 clients and more (profiled on 2 CPUs with `strace -c`, `perf record -e
//! cpu-clock -g` and each thread's `/proc/PID/task/*/schedstat`, issue 27): both servers are bound
//! by the kernel's work, not their own (decoding, answering and tokio are about 5 % of echod's CPU
//! time). About 30 % of either server's CPU time is its one wake-up of the client per round trip,
//! and with the context switches that wake-up causes (a woken client preempts the server thread
//! that woke it) about 45 % (ovsdb-server) to 60 % (echod). ovsdb-server wakes the client when it
//! takes the request off the socket (`unix_write_space`), before the reply exists; its clients
//! mostly find the reply written by the time they run (they sleep 1.01 to 1.15 times per round
//! trip, `getrusage` in 1 s windows). echod peeks, replies, and only then takes the request
//! (`src/transport.rs`), so that the client is woken by its reply (`sock_def_readable`): its
//! clients sleep 1.06 to 1.09 times per round trip, and 1.18 to 1.34 when echod takes first. The
//! peek's `recvfrom` costs about 4 % at 1 client and gains up to 10 % at 16 (A/B in interleaved
//! rounds as below, echod without the peek / with it: 0.90, 0.96 and 1.00 at 16 clients, 1.00 at 4,
//! 0.97 and 1.00 at 64, 1.04 and 1.05 at 1).
//!
//! Every line also gives the quartiles of the per-round ratios (how far one run's median can be
//! trusted) and, for each server, the whole machine's CPU time and context switches per round trip
//! and the share of CPU time left idle (medians of the rounds, from `/proc/stat`). From 16 clients
//! on, both servers cost about the same per round trip (14 to 18 us here), and echod's lead is the
//! CPU time that ovsdb-server's one thread leaves idle (12 to 16 %): per round trip echod's threads
//! take about as long as ovsdb-server's (1 s windows at 16 clients: echod's four busy shards 5.7 to
//! 10.7 us in all, a single shard 6 to 9 us, ovsdb-server 6.9 to 8.7 us). With tokio's multi-thread
//! runtime echod left 2 to 5 % idle and its threads were preempted by the clients their replies
//! woke about 0.7 times per round trip (`perf record -e sched:sched_switch`: ovsdb-server's thread
//! 0.3); its connections are now served by single-threaded runtimes, more of them taking
//! connections as connections grow (`src/shards.rs` gives the rule and its A/B figures).
//!
//! The peer is the newest ovsdb-server there is: `cargo xtask bench` builds (once, cached) a
//! Debian sid root with Open vSwitch in it and passes it as `HARDEN_OVSDB_ROOT`; ovsdb-server
//! and ovsdb-tool then run under `chroot`, on a directory inside that root whose Unix socket the
//! client reaches from outside. Without that root (`HARDEN_OVSDB_FALLBACK` says why, or plain
//! `cargo bench`) the host's ovsdb-server is used and every line says so.
//!
//! Both listen on `punix:` and are driven by the same client (`harness/`): N threads, each doing
//! blocking request/reply round trips on its own connection for 0.4 s, reading every reply until
//! it is one complete JSON value and checking that value (as JSON, not as bytes: ovsdb-server
//! re-serializes what it echoes, echod returns the params as received; for these requests both
//! happen to send the same bytes, `{"id":T,"result":["bench",T],"error":null}`). Every round
//! starts both daemons afresh (ovsdb-server on a new database made by `ovsdb-tool create` from a
//! one-table schema written here: Debian ships `vswitch.ovsschema` in openvswitch-switch, which
//! the host need not have), waits until each answers an echo, and measures them in alternating
//! order (AB, BA, ...); the ratio is the median of the per-round ratios. Read it against the A/A
//! noise floor printed by `benches/echod.rs`.
//!
//! ovsdb-server runs in the foreground (no `--detach`, killed with its `Proc` guard) and writes
//! only into its work directory: its control socket is `--unixctl=DIR/...`, no pidfile or log
//! file is asked for, console logging (stderr) is at `warn`, syslog is off with the `null`
//! method (not even a connect to `/dev/log`), and `OVS_RUNDIR`/`OVS_LOGDIR`/`OVS_DBDIR` point at
//! `DIR` in case a default path is used after all (checked with strace: besides `DIR` it only
//! reads, and opens one unnamed `O_TMPFILE` in /tmp). Without ovsdb-server or ovsdb-tool the
//! lines say `skipped (...)`; under `HARDEN_TEST_STRICT=1` that is a failure.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "harness/mod.rs"]
mod harness;

use common::{Proc, TempDir, wait_listening};
use harness::{
    Check, Comparison, IdleClients, Target, compare, compare_by, idle_count, measure,
    measure_pipelined, raise_nofile, rss, start_echod,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const CLIENT_COUNTS: [usize; 4] = [1, 4, 16, 64];

/// The pipelined figure: clients, and requests each keeps in flight.
const PIPELINED: (usize, usize) = (16, 8);

/// The scale figure's active clients.
const SCALE_CLIENTS: usize = 16;

/// The smallest schema ovsdb-server accepts: one table, one column. Echo never touches it.
const SCHEMA: &str =
    r#"{"name":"Bench","version":"1.0.0","tables":{"T":{"columns":{"x":{"type":"integer"}}}}}"#;

/// The real ovsdb-server: the host's, or one in a root directory run under `chroot`.
#[derive(Debug)]
struct Ovsdb {
    server: PathBuf,
    tool: PathBuf,
    /// `Some((chroot, root))`: the programs are paths inside `root`, run with `chroot`.
    chroot: Option<(PathBuf, PathBuf)>,
    /// The work directory as the server sees it, and as this process does.
    inner: PathBuf,
    outer: PathBuf,
    /// `ovsdb-server (Open vSwitch) X.Y.Z` and where it comes from.
    describe: String,
}

impl Ovsdb {
    /// The command line that runs `program` (a path as the peer sees it) with `args`.
    fn command_line(&self, program: &Path, args: &[String]) -> (String, Vec<String>) {
        let program = program.to_str().expect("a UTF-8 program path").to_string();
        match &self.chroot {
            Some((chroot, root)) => {
                let mut all = vec![root.to_str().expect("a UTF-8 root").to_string(), program];
                all.extend_from_slice(args);
                (chroot.to_str().expect("a UTF-8 path").to_string(), all)
            }
            None => (program, args.to_vec()),
        }
    }

    /// A fresh database `NAME.db` and ovsdb-server serving it on `punix:NAME.sock` in the work
    /// directory, once it answers an echo.
    fn start(&self, dir: &TempDir, name: &str) -> Target {
        let inner = |f: &str| self.inner.join(f).to_str().expect("UTF-8").to_string();
        let (db, sock, ctl) = (
            format!("{name}.db"),
            format!("{name}.sock"),
            format!("{name}.ctl"),
        );
        for stale in [&db, &sock, &ctl] {
            let _ = std::fs::remove_file(self.outer.join(stale));
        }
        let (program, args) = self.command_line(
            &self.tool,
            &["create".into(), inner(&db), inner("bench.ovsschema")],
        );
        let out = Command::new(program)
            .args(args)
            .output()
            .expect("run ovsdb-tool");
        assert!(out.status.success(), "ovsdb-tool create: {out:?}");
        let work = inner("");
        let (program, args) = self.command_line(
            &self.server,
            &[
                "--no-chdir".into(),
                format!("--unixctl={}", inner(&ctl)),
                format!("--remote=punix:{}", inner(&sock)),
                "-vconsole:warn".into(),
                "-vsyslog:off".into(),
                "-vfile:off".into(),
                "--syslog-method=null".into(),
                inner(&db),
            ],
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut p = Proc::spawn_env(
            dir,
            name,
            &program,
            &args,
            &[
                ("OVS_RUNDIR", &work),
                ("OVS_LOGDIR", &work),
                ("OVS_DBDIR", &work),
            ],
        );
        // /proc/net/unix names the socket as it was bound: inside the root for the chroot's.
        wait_listening(&self.inner.join(&sock), &mut p);
        let sock = self.outer.join(&sock);
        ready(&sock);
        Target {
            procs: vec![p],
            sock,
            idle: None,
        }
    }
}

/// The work directory inside the peer's root, removed when dropped.
struct RootWork(PathBuf);

impl Drop for RootWork {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Waits until the server at `sock` answers an echo (checked as JSON).
fn ready(sock: &Path) {
    common::connect_unix(sock).echo(0, serde_json::json!(["ready"]));
}

/// The first line of `program --version`, run as the peer runs.
fn version(o: &Ovsdb) -> String {
    let (program, args) = o.command_line(&o.server, &["--version".into()]);
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "ovsdb-server (version unknown)".into())
}

/// The peer: sid's in `HARDEN_OVSDB_ROOT`, else the host's (with the loud note), or the name of
/// the first program missing. The work directory is `dir` for the host's, one inside the root
/// (returned, to be removed) for the chroot's.
fn find_ovsdb(dir: &TempDir) -> Result<(Ovsdb, Option<RootWork>), String> {
    if let Some(root) = std::env::var_os("HARDEN_OVSDB_ROOT").filter(|r| !r.is_empty()) {
        let root = PathBuf::from(root);
        let chroot = test_support::find_program("chroot").ok_or("chroot not found")?;
        let inner = PathBuf::from(format!("/tmp/echod-peer-bench-{}", std::process::id()));
        let real = root.join(inner.strip_prefix("/").expect("absolute"));
        std::fs::create_dir_all(&real).map_err(|e| format!("creating {}: {e}", real.display()))?;
        let work = RootWork(real.clone());
        // The clients reach it through a short link: a socket path longer than 107 bytes
        // cannot be connected to.
        let outer = dir.join("peer-root-work");
        std::os::unix::fs::symlink(&real, &outer)
            .map_err(|e| format!("linking {}: {e}", outer.display()))?;
        std::fs::write(outer.join("bench.ovsschema"), SCHEMA).expect("write the schema");
        let mut o = Ovsdb {
            server: "/usr/sbin/ovsdb-server".into(),
            tool: "/usr/bin/ovsdb-tool".into(),
            chroot: Some((chroot, root.clone())),
            inner,
            outer,
            describe: String::new(),
        };
        o.describe = format!(
            "{}, Debian sid, in the root {}",
            version(&o),
            root.display()
        );
        return Ok((o, Some(work)));
    }
    // Debian puts ovsdb-server in /usr/sbin, which find_program searches after PATH.
    let server = test_support::find_program("ovsdb-server").ok_or("ovsdb-server not found")?;
    let tool = test_support::find_program("ovsdb-tool").ok_or("ovsdb-tool not found")?;
    std::fs::write(dir.join("bench.ovsschema"), SCHEMA).expect("write the schema");
    let mut o = Ovsdb {
        server,
        tool,
        chroot: None,
        inner: dir.path().to_owned(),
        outer: dir.path().to_owned(),
        describe: String::new(),
    };
    let why = std::env::var("HARDEN_OVSDB_FALLBACK")
        .unwrap_or_else(|_| "HARDEN_OVSDB_ROOT is not set (cargo xtask bench sets it)".into());
    o.describe = format!(
        "{} -- THE HOST'S, NOT THE NEWEST (Debian sid's): {why}",
        version(&o)
    );
    Ok((o, None))
}

/// RSS growth per connection of the server `t` (its first process) when [`idle_count`]
/// connections are opened, each after one small echo.
fn idle_memory(t: &Target) -> f64 {
    let pid = t.procs[0].pid();
    let before = rss(pid);
    let idle = IdleClients::open(&t.sock, idle_count());
    // Whatever the server does lazily after a reply (none expected) has happened.
    std::thread::sleep(Duration::from_millis(200));
    let after = rss(pid);
    after.saturating_sub(before) as f64 / idle.len() as f64
}

fn main() {
    let dir = TempDir::new("peer");
    let (ovsdb, _work) = match find_ovsdb(&dir) {
        Ok(o) => o,
        Err(missing) => {
            let reason = format!("{missing}; install openvswitch-common");
            // Panics under HARDEN_TEST_STRICT=1.
            test_support::skip("echod/peer-ovsdb", &reason);
            println!("echod/peer-ovsdb: skipped ({reason})");
            return;
        }
    };
    println!("echod/peer-ovsdb: the peer is {}", ovsdb.describe);
    let nofile = raise_nofile();
    let max_conn = format!("--max-connections={}", idle_count() + 1000);
    // The idle clients never answer an inactivity probe, and ovsdb-server does not probe Unix
    // socket clients: echod does not either here.
    let echod = |d: &TempDir, name: &str| {
        let t = start_echod(d, name, &[&max_conn, "--inactivity-probe=0"]);
        ready(&t.sock);
        t
    };
    for clients in CLIENT_COUNTS {
        let plural = if clients == 1 { "" } else { "s" };
        let what = format!("echod/peer-ovsdb ({clients} client{plural})");
        compare(
            Comparison {
                what: &what,
                goal: "goal >= 1.25",
                names: ("echod", "ovsdb-server"),
                clients,
                // ovsdb-server's bytes need not be echod's: the same JSON check for both.
                check: Check::Json,
            },
            &dir,
            |d, r| echod(d, &format!("echod-c{clients}-r{r}")),
            |d, r| ovsdb.start(d, &format!("ovsdb-c{clients}-r{r}")),
        );
    }
    let (clients, depth) = PIPELINED;
    let what = format!("echod/peer-ovsdb pipelined ({clients} clients x {depth} in flight)");
    compare_by(
        Comparison {
            what: &what,
            goal: "goal >= 1.25",
            names: ("echod", "ovsdb-server"),
            clients,
            check: Check::Json,
        },
        &dir,
        |d, r| echod(d, &format!("echod-p-r{r}")),
        |d, r| ovsdb.start(d, &format!("ovsdb-p-r{r}")),
        |t, w| measure_pipelined(&t.sock, clients, depth, w),
    );
    let n = idle_count();
    // Both servers and this client hold every idle connection's fd.
    if nofile < (n as u64) + 1000 {
        println!(
            "echod/idle-memory: skipped (RLIMIT_NOFILE is {nofile}, {} needed)",
            n + 1000
        );
        return;
    }
    let (e, o) = {
        let e = idle_memory(&echod(&dir, "echod-idle"));
        let o = idle_memory(&ovsdb.start(&dir, "ovsdb-idle"));
        (e, o)
    };
    let note = if harness::bench_mode() {
        ""
    } else {
        " [smoke run: not a measurement, use cargo bench]"
    };
    println!(
        "echod/idle-memory ({n} connections): echod {:.2} KiB per connection, ovsdb-server \
         {:.2} KiB per connection, ratio {:.3} (goals: echod <= 8 KiB, ratio <= 1.00){note}",
        e / 1024.0,
        o / 1024.0,
        e / o.max(1.0)
    );
    compare_by(
        Comparison {
            what: &format!("echod/scale ({SCALE_CLIENTS} clients, {n} idle connections)"),
            goal: "goal >= 0.90",
            names: ("with idle", "without"),
            clients: SCALE_CLIENTS,
            check: Check::Exact,
        },
        &dir,
        |d, r| {
            let mut t = echod(d, &format!("echod-idle-r{r}"));
            t.idle = Some(IdleClients::open(&t.sock, n));
            t
        },
        |d, r| echod(d, &format!("echod-bare-r{r}")),
        |t, w| measure(&t.sock, SCALE_CLIENTS, Check::Exact, w),
    );
}
