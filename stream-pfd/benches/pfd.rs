//! Benchmarks (not timed tests), run with `cargo bench -p stream-pfd --all-features`.
//!
//! * `stream-pfd/accept`: connect+accept throughput of a tokio listener taken through
//!   `ListenFds` (socket placed at fd 3 of a child process, LISTEN_* set) versus one bound
//!   in-process, measured alternately in the same child, medians of several rounds.
//! * `stream-pfd/take`: cost of reading LISTEN_* and validating + taking 1 and 500 passed fds
//!   (fresh child process per round), per fd, and the ratio of the two per-fd costs (linear
//!   growth keeps it at or below ~1; quadratic growth would push it far above).

use std::os::fd::{AsFd, BorrowedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::time::{Duration, Instant};

use stream_pfd::addr::{SocketAddress, UnixAddress};
use stream_pfd::{ListenFds, PfdSpec};

const MODE: &str = "STREAM_PFD_BENCH_CHILD";
const ACCEPT_ROUNDS: usize = 9;
const ACCEPT_CONNS: usize = 4000;
const TAKE_ROUNDS: usize = 15;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    match std::env::var(MODE).as_deref() {
        Ok("accept") => accept_child(),
        Ok("take") => take_child(),
        _ => parent(),
    }
}

fn parent() {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = test_support::TempDir::new("stream-pfd-bench");

    // Accept throughput.
    let listener = UnixListener::bind(dir.join("pfd.sock")).unwrap();
    let out = test_support::fds::socket_activated(&exe, &[listener.as_fd()])
        .env(MODE, "accept")
        .env("BENCH_DIR", dir.path())
        .output()
        .expect("run accept child");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "accept child failed");

    // Take cost.
    // Listeners in the abstract namespace: no files to clean up.
    let sockets: Vec<UnixListener> = (0..500)
        .map(|i| {
            let name = format!("stream-pfd-bench-{}-{i}", std::process::id());
            let addr = SocketAddr::from_abstract_name(name).unwrap();
            UnixListener::bind_addr(&addr).unwrap()
        })
        .collect();
    let mut per_fd = Vec::new();
    for count in [1usize, 500] {
        let fds: Vec<BorrowedFd<'_>> = sockets[..count].iter().map(|s| s.as_fd()).collect();
        let mut samples = Vec::new();
        for _ in 0..TAKE_ROUNDS {
            let out = test_support::fds::socket_activated(&exe, &fds)
                .env(MODE, "take")
                .output()
                .expect("run take child");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "take child failed: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let nanos: f64 = text.trim().parse().expect("nanoseconds");
            samples.push(nanos / count as f64);
        }
        per_fd.push(median(samples));
    }
    println!(
        "stream-pfd/take: 1 fd {:.2} us/fd, 500 fds {:.2} us/fd, ratio {:.3} (goal <= 1.5: linear growth)",
        per_fd[0] / 1000.0,
        per_fd[1] / 1000.0,
        per_fd[1] / per_fd[0]
    );
}

fn take_child() {
    let start = Instant::now();
    let mut fds = ListenFds::from_env().expect("LISTEN_*");
    let count = fds.passed().len();
    let mut owned = Vec::with_capacity(count);
    for i in 0..count {
        let spec = PfdSpec::from_number(3 + i as i32).expect("fd 3 and up");
        owned.push(fds.take(&spec).expect("take").into_owned_fd());
    }
    let elapsed = start.elapsed();
    assert_eq!(owned.len(), count);
    println!("{}", elapsed.as_nanos());
}

fn accept_child() {
    let mut fds = ListenFds::from_env().expect("LISTEN_*");
    let listener = fds
        .take(&PfdSpec::from_number(3).expect("pfd:3"))
        .expect("take pfd:3");
    let SocketAddress::Unix(UnixAddress::Path(pfd_path)) = listener.local_addr().clone() else {
        panic!("expected a path socket");
    };
    let dir = std::path::PathBuf::from(std::env::var_os("BENCH_DIR").expect("BENCH_DIR"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pfd = listener.into_tokio().unwrap();
        let local_path = dir.join("local.sock");
        let local = tokio::net::UnixListener::bind(&local_path).unwrap();
        let run_pfd = |conns| run(&pfd_path, conns, || pfd.accept());
        let run_local = |conns| run(&local_path, conns, || local.accept());
        // Warm up both.
        run_pfd(500).await;
        run_local(500).await;
        let (mut pfd_rates, mut local_rates) = (Vec::new(), Vec::new());
        for round in 0..ACCEPT_ROUNDS {
            // Alternate the order so drift affects both equally.
            if round % 2 == 0 {
                pfd_rates.push(rate(run_pfd(ACCEPT_CONNS).await));
                local_rates.push(rate(run_local(ACCEPT_CONNS).await));
            } else {
                local_rates.push(rate(run_local(ACCEPT_CONNS).await));
                pfd_rates.push(rate(run_pfd(ACCEPT_CONNS).await));
            }
        }
        let (pfd_rate, local_rate) = (median(pfd_rates), median(local_rates));
        println!(
            "stream-pfd/accept: pfd {:.0} conn/s, in-process {:.0} conn/s, ratio {:.3} (goal >= 0.98)",
            pfd_rate,
            local_rate,
            pfd_rate / local_rate
        );
    });
}

fn rate(elapsed: Duration) -> f64 {
    ACCEPT_CONNS as f64 / elapsed.as_secs_f64()
}

/// Connects to `path` and accepts with `accept`, `conns` times.
async fn run<T, F: Future<Output = std::io::Result<T>>>(
    path: &std::path::Path,
    conns: usize,
    accept: impl Fn() -> F,
) -> Duration {
    let start = Instant::now();
    for _ in 0..conns {
        let client = tokio::net::UnixStream::connect(path).await.unwrap();
        let accepted = accept().await.unwrap();
        drop((client, accepted));
    }
    start.elapsed()
}
