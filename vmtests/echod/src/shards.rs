//! The data plane's threads: single-threaded tokio runtimes, four per CPU echod may use by
//! default ([`count`]), each with its own epoll and timers, serving the connections given to
//! it for their whole life.
//!
//! Why not tokio's multi-thread runtime, which echod used before (issue 27, 2 CPUs, clients
//! doing blocking round trips as in `benches/peer.rs`): its workers share one epoll and steal
//! each other's tasks, so a connection's reads move between threads and a worker that runs out
//! of work parks while others still have some; at 64 clients it left 5 % of the CPU time idle.
//! Measured side by side (interleaved rounds as in `benches/peer.rs`, with a temporary A/B
//! line; two shards / the multi-thread runtime): 1.05 at 4 and 16 clients, 1.02 at 64, with no
//! CPU time left idle.
//!
//! What a shard does not do is move a busy connection to an idle thread: a connection stays on
//! the shard, among those in use, that had the fewest connections when it came (ties go round
//! the shards), like ovsdb-server's one thread keeps all of them. Every connection of echod is
//! a short request answered at once, so a shard's share of the work follows its share of the
//! connections.
//!
//! Not every shard takes connections from the start: the shards in use are the first
//! `max(`[`min_in_use`]`, ceil(connections / `[`CONNECTIONS_PER_SHARD`]`))`, at most all of
//! them, counting the connection being placed ([`Shards::spawn`]): two per CPU at first, and
//! once those hold four connections each, one more shard for every four more. A shard serving
//! a handful of busy connections more often finds a request waiting when it looks for one, so
//! it sleeps and is woken less often than one serving one or two. Measured on 2 CPUs at 16
//! clients (issue 27; interleaved A/B rounds as in `benches/peer.rs`), four shards of four
//! connections / eight of two: 1.06, 1.02, 1.06, 1.02, 1.05, 1.12, 1.02 and 1.08 (an earlier
//! session measured 0.99 and 1.04); whole-machine context switches per round trip (`ctxt` in
//! `/proc/stat`, 1 s windows) 1.44 to 1.72 with four of four, 1.55 to 2.0 with eight of two,
//! 2.1 to 2.3 with sixteen of one. Where both arms place connections alike (4 clients, or 64
//! on eight shards), the same A/B gave 1.00, 0.98, 1.00 and 1.01: the noise of the method.
//!
//! Each shard thread is started after the sandbox was prepared (it inherits the Landlock domain
//! and the capabilities) and before the filter is loaded, which reaches every thread (TSYNC).

use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::watch;

/// The shard threads (see the module docs).
#[derive(Debug)]
pub(crate) struct Shards {
    shards: Box<[Shard]>,
    /// How many shards take connections however few there are ([`min_in_use`]; at least one,
    /// at most all).
    min_in_use: usize,
    /// Where the next tie-break starts.
    next: AtomicUsize,
    stop: watch::Sender<bool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

#[derive(Debug)]
struct Shard {
    handle: Handle,
    /// Connections being served on this shard.
    live: Arc<AtomicUsize>,
}

/// Connections per shard in use before one more shard takes connections ([`Shards::spawn`]).
const CONNECTIONS_PER_SHARD: usize = 4;

/// How many shards take connections however few there are, for `cpus` CPUs: two per CPU, so
/// that a few busy clients keep every CPU busy.
pub(crate) fn min_in_use(cpus: usize) -> usize {
    2 * cpus
}

/// How many shards by default for `cpus` CPUs (the ones this process may run on: its affinity
/// mask and its cgroup's CPU quota, as `std::thread::available_parallelism` reads them): four
/// per CPU, at most [`MAX_DEFAULT`] (and fewer under a low fd limit: [`choose`]).
///
/// Why more threads than CPUs (measured on 2 CPUs, interleaved A/B rounds as in
/// `benches/peer.rs`, every shard taking connections from the start): four shards / two, 1.16
/// to 1.29 at 4 clients, 1.03 to 1.09 at 16, 1.01 to 1.05 at 64; eight / four, 1.06 and 1.08
/// at 64 clients (1.06 and 1.02 in a later session); sixteen / four, 1.08 and 1.12 at 64;
/// sixteen / eight with the shards in use growing with the connections ([`Shards::spawn`]),
/// 1.01, 1.01 and 0.99 at 64. A thread that has not run ahead of its share of the CPU is not
/// preempted by the client its reply wakes (the scheduler lets a woken task preempt only one
/// that has), so many connections need more than one thread per CPU; how many of the threads a
/// few connections use is [`Shards::spawn`]'s rule.
fn count(cpus: usize) -> usize {
    (4 * cpus).clamp(1, MAX_DEFAULT)
}

/// The most shards started by default, whatever the number of CPUs: past it, a thread's event
/// loop and buffers (up to 128 KiB once used) cost more than what more threads bring.
const MAX_DEFAULT: usize = 64;

/// How many shards to start: `wanted` (`--threads`), else the default ([`count`] for `cpus`)
/// lowered so that the shards hold at most a quarter of the `free` fds (the fd limit less the
/// fds open), so that the connections keep the rest. `Err` says why `wanted` does not fit: its
/// shards would hold more than half of the `free` fds.
pub(crate) fn choose(wanted: Option<usize>, cpus: usize, free: usize) -> Result<usize, String> {
    match wanted {
        None => Ok(count(cpus).min(free / 4 / fds(1)).max(1)),
        Some(n) if fds(n) <= free / 2 => Ok(n),
        Some(n) => Err(format!(
            "{n} threads need {} fds, more than half of the {free} that the fd limit \
             (RLIMIT_NOFILE) leaves free (lower --threads or raise LimitNOFILE=)",
            fds(n)
        )),
    }
}

/// The fds `n` shards hold: four for each runtime (two epoll fds, its waker's eventfd and its
/// copy of tokio's signal socket, which every runtime with I/O has; as /proc/PID/fd shows them,
/// counted by `shard_fds_are_counted_right`).
pub(crate) fn fds(n: usize) -> usize {
    4 * n
}

impl Shards {
    /// Starts `n` shard threads (at least one), named `echod-shard<i>`, and returns once each
    /// runs; `min_in_use` of them ([`min_in_use`]) take connections however few there are.
    /// On an error the threads started so far end (their stop sender is gone).
    pub(crate) fn start(n: usize, min_in_use: usize) -> io::Result<Shards> {
        let stop = watch::channel(false).0;
        let mut shards = Vec::new();
        let mut threads = Vec::new();
        let (running, started) = std::sync::mpsc::channel();
        for i in 0..n.max(1) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let handle = runtime.handle().clone();
            let mut stopped = stop.subscribe();
            let running = running.clone();
            let thread = std::thread::Builder::new()
                .name(format!("echod-shard{i}"))
                .spawn(move || {
                    let _ = running.send(());
                    runtime.block_on(async {
                        // Err: the sender is gone, which is a stop as well.
                        let _ = stopped.wait_for(|s| *s).await;
                    });
                    // Drops the tasks still there (the data plane drained before the stop);
                    // waits up to 500 ms for a blocking call of theirs (a vsock notification).
                    runtime.shutdown_timeout(Duration::from_millis(500));
                })?;
            shards.push(Shard {
                handle,
                live: Arc::new(AtomicUsize::new(0)),
            });
            threads.push(thread);
        }
        // Each thread has its name and runs before start-up goes on.
        for _ in 0..threads.len() {
            started
                .recv()
                .map_err(|_| io::Error::other("a data-plane thread ended at its start"))?;
        }
        Ok(Shards {
            min_in_use: min_in_use.clamp(1, shards.len()),
            shards: shards.into_boxed_slice(),
            next: AtomicUsize::new(0),
            stop,
            threads: Mutex::new(threads),
        })
    }

    /// How many shards there are.
    pub(crate) fn len(&self) -> usize {
        self.shards.len()
    }

    /// Runs `task` to its end on the shard in use with the fewest connections. `task` is
    /// called on that shard's thread, so the streams it registers (`from_std`) join that
    /// shard's epoll.
    ///
    /// The shards in use are the first ones: enough for [`CONNECTIONS_PER_SHARD`] connections
    /// each, counting this one, and never fewer than [`min_in_use`].
    pub(crate) fn spawn<F, T>(&self, task: F)
    where
        F: FnOnce() -> T + Send + 'static,
        T: Future<Output = ()> + Send + 'static,
    {
        let total: usize = self
            .shards
            .iter()
            .map(|s| s.live.load(Ordering::Relaxed))
            .sum();
        let in_use = (total + 1)
            .div_ceil(CONNECTIONS_PER_SHARD)
            .clamp(self.min_in_use, self.shards.len());
        let start = self.next.fetch_add(1, Ordering::Relaxed) % in_use;
        let shard = (0..in_use)
            .map(|k| &self.shards[(start + k) % in_use])
            .min_by_key(|s| s.live.load(Ordering::Relaxed))
            .expect("at least one shard");
        let live = Live::count(&shard.live);
        shard.handle.spawn(async move {
            let _live = live;
            task().await;
        });
    }

    /// Connections being served on each shard.
    #[cfg(test)]
    fn live(&self) -> Vec<usize> {
        self.shards
            .iter()
            .map(|s| s.live.load(Ordering::Relaxed))
            .collect()
    }

    /// Stops every shard (the connections still served are closed) and waits for their
    /// threads. Called once, after the data plane drained.
    pub(crate) fn stop(&self) {
        let _ = self.stop.send(true);
        let threads = match self.threads.lock() {
            Ok(mut t) => std::mem::take(&mut *t),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        };
        for t in threads {
            if t.join().is_err() {
                log::warn!("a data-plane thread panicked");
            }
        }
    }
}

/// One connection in a shard's count, taken back when the task ends (or is dropped unrun).
struct Live(Arc<AtomicUsize>);

impl Live {
    fn count(live: &Arc<AtomicUsize>) -> Live {
        live.fetch_add(1, Ordering::Relaxed);
        Live(live.clone())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn open_fds() -> usize {
        std::fs::read_dir("/proc/self/fd").unwrap().count()
    }

    /// The fd budget ([`fds`]) counts what starting shards opens. Other tests of this binary
    /// may open or close fds meanwhile: one of a few tries must see exactly the figure.
    #[test]
    fn shard_fds_are_counted_right() {
        let seen: Vec<usize> = (0..5)
            .map(|_| {
                let before = open_fds();
                let shards = Shards::start(3, 3).unwrap();
                let grown = open_fds().wrapping_sub(before);
                shards.stop();
                grown
            })
            .collect();
        assert!(
            seen.contains(&fds(3)),
            "3 shards opened {seen:?} fds, not {}",
            fds(3)
        );
    }

    #[test]
    fn the_default_count_leaves_the_fds_to_the_connections() {
        // Four per CPU, at most 64.
        assert_eq!(choose(None, 2, 1 << 20), Ok(8));
        assert_eq!(choose(None, 96, 1 << 20), Ok(64));
        // A low fd limit (64, 12 open): a quarter of the 52 free fds, 3 threads.
        assert_eq!(choose(None, 2, 52), Ok(3));
        assert_eq!(choose(None, 16, 52), Ok(3));
        // Always one.
        assert_eq!(choose(None, 2, 0), Ok(1));
        // --threads is taken as it is while it holds at most half of the free fds.
        assert_eq!(choose(Some(8), 2, 64), Ok(8));
        let e = choose(Some(9), 2, 64).unwrap_err();
        assert!(e.starts_with("9 threads need 36 fds"), "{e}");
        assert!(e.contains("the 64 that the fd limit"), "{e}");
    }

    /// Places `k` connections that stay open until their sender (pushed to `ends`) goes.
    fn hold(shards: &Shards, k: usize, ends: &mut Vec<tokio::sync::oneshot::Sender<()>>) {
        for _ in 0..k {
            let (end, wait) = tokio::sync::oneshot::channel::<()>();
            ends.push(end);
            shards.spawn(move || async move {
                let _ = wait.await;
            });
        }
    }

    /// Two shards per CPU take connections from the start; once they hold
    /// [`CONNECTIONS_PER_SHARD`] each, one more joins for every [`CONNECTIONS_PER_SHARD`] more.
    #[test]
    fn shards_join_as_connections_grow() {
        let shards = Shards::start(8, min_in_use(2)).expect("start eight shards");
        let mut ends = Vec::new();
        hold(&shards, 3, &mut ends);
        assert_eq!(shards.live(), [1, 1, 1, 0, 0, 0, 0, 0]);
        hold(&shards, 13, &mut ends);
        assert_eq!(shards.live(), [4, 4, 4, 4, 0, 0, 0, 0]);
        hold(&shards, 5, &mut ends);
        assert_eq!(shards.live(), [4, 4, 4, 4, 4, 1, 0, 0]);
        hold(&shards, 100, &mut ends);
        let mut spread = shards.live();
        spread.sort();
        assert_eq!(spread, [15, 15, 15, 15, 15, 15, 15, 16]);
        // One CPU: two shards at first, the third from the ninth connection on.
        let one_cpu = Shards::start(3, min_in_use(1)).expect("start three shards");
        hold(&one_cpu, 8, &mut ends);
        assert_eq!(one_cpu.live(), [4, 4, 0]);
        hold(&one_cpu, 1, &mut ends);
        assert_eq!(one_cpu.live(), [4, 4, 1]);
        one_cpu.stop();
        shards.stop();
        assert_eq!(shards.live(), [0; 8]);
    }

    /// Each connection goes to the shard with the fewest, and leaves its count when it ends
    /// (every shard in use from the start: `min_in_use` is all three).
    #[test]
    fn connections_go_to_the_least_loaded_shard_and_leave_it() {
        let shards = Shards::start(3, 3).expect("start three shards");
        assert_eq!(shards.len(), 3);
        let mut ends = Vec::new();
        let (started, on) = mpsc::channel();
        for _ in 0..6 {
            let (end, wait) = tokio::sync::oneshot::channel::<()>();
            ends.push(end);
            let started = started.clone();
            shards.spawn(move || async move {
                started
                    .send(std::thread::current().name().map(str::to_owned))
                    .unwrap();
                let _ = wait.await;
            });
        }
        let mut names: Vec<_> = (0..6).map(|_| on.recv().unwrap().unwrap()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "echod-shard0",
                "echod-shard0",
                "echod-shard1",
                "echod-shard1",
                "echod-shard2",
                "echod-shard2"
            ]
        );
        assert_eq!(shards.live(), [2, 2, 2]);
        // Two connections of one shard end: the next two go there.
        drop((ends.remove(0), ends.remove(2)));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while shards.live().iter().sum::<usize>() != 4 {
            assert!(std::time::Instant::now() < deadline, "{:?}", shards.live());
            std::thread::sleep(Duration::from_millis(1));
        }
        // Both were shard 0's (the 1st and the 4th: ties go round the shards).
        assert_eq!(shards.live(), [0, 2, 2]);
        hold(&shards, 2, &mut ends);
        assert_eq!(shards.live(), [2, 2, 2]);
        shards.stop();
        // Stopped: every task was dropped, and its count with it.
        assert_eq!(shards.live(), [0, 0, 0]);
    }
}
