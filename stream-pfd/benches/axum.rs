//! Benchmark (not a timed test), run with `cargo bench -p stream-pfd --all-features --bench axum`.
//!
//! `stream-pfd/axum`: HTTP requests, each on a new connection (accept, one `GET /`, close),
//! served by `axum::serve` through the stream-pfd integration (a TCP socket placed at fd 3 of a
//! child process with `LISTEN_FDS=1`, taken through `ListenFds`, `TokioListener` as
//! `axum::serve::Listener`) versus `axum::serve` on a `tokio::net::TcpListener` bound in the
//! same child. The two servers and the client share one current-thread runtime; rounds
//! alternate which goes first, and the figure is the median of the per-round ratios.

use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use axum::{Router, routing::get};
use stream_pfd::{ListenFds, PfdSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MODE: &str = "STREAM_PFD_BENCH_CHILD";
const ROUNDS: usize = 15;
const REQUESTS: usize = 1500;
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
const BODY: &str = "hello from stream-pfd\n";

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    if std::env::var(MODE).as_deref() == Ok("axum") {
        child();
        return;
    }
    let exe = std::env::current_exe().expect("current_exe");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let out = test_support::fds::socket_activated(&exe, &[listener.as_fd()])
        .env(MODE, "axum")
        .output()
        .expect("run the bench child");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the bench child failed");
}

fn app() -> Router {
    Router::new().route("/", get(|| async { BODY }))
}

fn child() {
    let mut fds = ListenFds::from_env().expect("LISTEN_*");
    let taken = fds
        .take(&PfdSpec::from_number(3).expect("pfd:3"))
        .expect("take pfd:3");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pfd = taken.into_tokio().unwrap();
        let pfd_addr = pfd.local_addr().unwrap().to_string();
        let pfd_addr: SocketAddr = pfd_addr.parse().unwrap();
        let local = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let local_addr = local.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(pfd, app()).await });
        tokio::spawn(async move { axum::serve(local, app()).await });
        // Warm up both.
        run(pfd_addr, 300).await;
        run(local_addr, 300).await;
        let (mut ratios, mut pfd_rates, mut local_rates) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            // Alternate the order so that drift affects both alike.
            let (pfd_time, local_time) = if round % 2 == 0 {
                let p = run(pfd_addr, REQUESTS).await;
                (p, run(local_addr, REQUESTS).await)
            } else {
                let l = run(local_addr, REQUESTS).await;
                (run(pfd_addr, REQUESTS).await, l)
            };
            pfd_rates.push(rate(pfd_time));
            local_rates.push(rate(local_time));
            ratios.push(local_time.as_secs_f64() / pfd_time.as_secs_f64());
        }
        println!(
            "stream-pfd/axum: pfd {:.0} req/s, in-process {:.0} req/s, ratio {:.3} (median of \
             {ROUNDS} interleaved rounds of {REQUESTS} requests, one connection each; goal >= 0.98)",
            median(pfd_rates),
            median(local_rates),
            median(ratios)
        );
    });
}

fn rate(elapsed: Duration) -> f64 {
    REQUESTS as f64 / elapsed.as_secs_f64()
}

/// `requests` requests to `addr`, one connection each, every response checked.
async fn run(addr: SocketAddr, requests: usize) -> Duration {
    let start = Instant::now();
    let mut response = Vec::with_capacity(256);
    for _ in 0..requests {
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client.write_all(REQUEST).await.unwrap();
        response.clear();
        client.read_to_end(&mut response).await.unwrap();
        assert!(
            response.starts_with(b"HTTP/1.1 200 OK\r\n") && response.ends_with(BODY.as_bytes()),
            "{}",
            String::from_utf8_lossy(&response)
        );
    }
    start.elapsed()
}
