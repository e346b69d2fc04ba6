//! What every data-plane task shares ([`DataPlane`]): the [`Limits`], the connection counters,
//! the shutdown signal, the warning rate limiter and the threads that serve the connections
//! ([`Shards`]); and [`Overrides`], the settings the command line fixed. Nothing here knows
//! about remotes or spawns a task; the data plane never waits for the supervisor's lock, only
//! for this.

use super::shards::Shards;
use remote_policy::ratelimit::{RateLimitedWarning, SharedRateLimiter};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::watch;

/// Which settings came from the command line (and so ignore the config file).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Overrides {
    /// `--max-message-size` was given.
    pub(crate) max_message_size: bool,
    /// `--max-connections` was given.
    pub(crate) max_connections: bool,
    /// `--sandbox` was given.
    pub(crate) sandbox: bool,
}

/// `--max-message-size` and `--max-connections`, as decided at start-up (command line, then
/// config file, then the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// The largest message a client may send, in bytes.
    pub(crate) max_message_size: usize,
    /// The most client connections served at once.
    pub(crate) max_connections: usize,
    /// The most bytes of half-received messages held by all connections together.
    pub(crate) max_buffered_bytes: usize,
    /// The most client connections the fd limit leaves room for (see
    /// [`Limits::fit_to_fd_limit`]); `--max-connections` never goes above it.
    pub(crate) fd_connection_cap: usize,
}

impl Limits {
    /// fds echod keeps for itself beyond those open at start-up and the client connections,
    /// under an fd limit of `nofile`: 16 for the notify socket, a reload's two files, hand-over
    /// memfds, accepts in flight and the runtime's own, and room for control connections (at
    /// most 64, fewer under a low limit: they then share what is left).
    fn fd_reserve(nofile: u64) -> usize {
        16 + usize::try_from(nofile / 8).unwrap_or(usize::MAX).min(64)
    }

    /// Lowers `max_connections` to what an fd limit of `nofile` leaves room for, `open` fds
    /// being in use already: past it, accepts fail with EMFILE and the watchdog, the control
    /// socket and a reload have no fd left. Returns the cap.
    pub(crate) fn fit_to_fd_limit(&mut self, nofile: u64, open: usize) -> usize {
        let reserve = Self::fd_reserve(nofile);
        let room = usize::try_from(nofile)
            .unwrap_or(usize::MAX)
            .saturating_sub(open + reserve)
            .max(1);
        self.fd_connection_cap = room;
        if self.max_connections > room {
            log::warn!(
                "--max-connections lowered from {} to {room}: the fd limit (RLIMIT_NOFILE) is \
                 {nofile}, {open} fds are open (the data-plane threads' among them) and echod \
                 keeps {reserve} for its control socket, notifications and reloads (raise \
                 LimitNOFILE= to serve more)",
                self.max_connections,
            );
            self.max_connections = room;
        }
        room
    }
}

/// A half-received message this small always fits the memory budget.
pub(crate) const SMALL_MESSAGE: usize = 64 * 1024;

/// State shared by every data-plane task.
#[derive(Debug)]
pub(crate) struct DataPlane {
    /// Current `--max-message-size`.
    pub(crate) max_message_size: AtomicUsize,
    /// Current `--max-connections` (never above `fd_connection_cap`).
    pub(crate) max_connections: AtomicUsize,
    /// What the fd limit leaves room for ([`Limits::fit_to_fd_limit`]).
    fd_connection_cap: usize,
    /// `--max-buffered-bytes`.
    max_buffered: usize,
    /// Bytes of half-received messages held by all connections now.
    buffered: AtomicUsize,
    active: AtomicUsize,
    control_active: AtomicUsize,
    /// Accept loops still running. A loop may have accepted a connection that it has not yet
    /// counted in `active`: [`DataPlane::drain`] waits for every loop to stop first, so that such a
    /// connection is served instead of dropped with its request unread (a reset for the client).
    accepting: AtomicUsize,
    shutdown: watch::Sender<bool>,
    /// The remote set's warning rate limiter: one budget for every warning echod logs.
    warn_limit: SharedRateLimiter,
    /// How long connections may stay silent or half-way.
    pub(crate) timeouts: Timeouts,
    /// Where sessions go at shutdown (`--keep-sessions` with a service manager).
    pub(crate) sessions: OnceLock<super::sessions::SessionStore>,
    /// The watchdog pings are stopped (`echod/stall-watchdog`, a test hook).
    pub(crate) watchdog_stalled: AtomicBool,
    /// The threads that serve the connections.
    pub(crate) shards: Arc<Shards>,
    /// Woken when a client connection ends (an accept loop at the limit waits for it).
    slot_freed: tokio::sync::Notify,
}

/// How long a peer may keep a connection without making progress.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// After this long without a byte from a client, echod sends it an `echo` request (as
    /// `ovsdb-server` does); after as long again without a byte, it closes the connection.
    /// `None`: never.
    pub(crate) inactivity_probe: Option<std::time::Duration>,
    /// A message must be complete this long after its first byte arrived.
    pub(crate) message: std::time::Duration,
    /// A control connection is closed after this long without a byte.
    pub(crate) control_idle: std::time::Duration,
}

/// One connection's bytes of a half-received message in the memory budget
/// (`--max-buffered-bytes`), given back when it is dropped.
#[derive(Debug)]
pub(crate) struct BufferShare<'a> {
    plane: &'a DataPlane,
    held: usize,
}

impl BufferShare<'_> {
    /// The connection now holds `bytes` of a half-received message; `Err` with the budget when
    /// they do not fit (see [`DataPlane::account_buffered`]).
    pub(crate) fn set(&mut self, bytes: usize) -> Result<(), usize> {
        self.plane.account_buffered(&mut self.held, bytes)
    }
}

impl Drop for BufferShare<'_> {
    fn drop(&mut self) {
        let _ = self.plane.account_buffered(&mut self.held, 0);
    }
}

/// Logs a warning the rate limiter let through, after the count of those it suppressed.
pub(crate) fn log_warning(w: &RateLimitedWarning) {
    if let Some(d) = w.dropped_line() {
        log::warn!("{d}");
    }
    log::warn!("{}", w.message);
}

/// The counters a [`ConnGuard`] can hold a unit of.
#[derive(Debug, Clone, Copy)]
enum Counter {
    /// Client connections (`DataPlane::active`).
    Client,
    /// Control connections (`DataPlane::control_active`).
    Control,
    /// Accept loops (`DataPlane::accepting`).
    AcceptLoop,
}

/// Counts one connection (or one running accept loop) while it lives.
#[derive(Debug)]
pub(crate) struct ConnGuard {
    plane: Arc<DataPlane>,
    counter: Counter,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.plane
            .counter(self.counter)
            .fetch_sub(1, Ordering::AcqRel);
        if let Counter::Client = self.counter {
            self.plane.slot_freed.notify_waiters();
        }
    }
}

impl DataPlane {
    /// The data plane of a daemon with `limits`, whose warnings share the budget of
    /// `warn_limit` (the remote set's limiter).
    pub(crate) fn new(
        limits: Limits,
        warn_limit: SharedRateLimiter,
        timeouts: Timeouts,
        shards: Arc<Shards>,
    ) -> Arc<DataPlane> {
        Arc::new(DataPlane {
            max_message_size: AtomicUsize::new(limits.max_message_size),
            max_connections: AtomicUsize::new(limits.max_connections),
            fd_connection_cap: limits.fd_connection_cap,
            max_buffered: limits.max_buffered_bytes,
            buffered: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            control_active: AtomicUsize::new(0),
            accepting: AtomicUsize::new(0),
            shutdown: watch::channel(false).0,
            warn_limit,
            timeouts,
            sessions: OnceLock::new(),
            watchdog_stalled: AtomicBool::new(false),
            shards,
            slot_freed: tokio::sync::Notify::new(),
        })
    }

    fn counter(&self, counter: Counter) -> &AtomicUsize {
        match counter {
            Counter::Client => &self.active,
            Counter::Control => &self.control_active,
            Counter::AcceptLoop => &self.accepting,
        }
    }

    /// Adds one to `counter`; the guard takes it away again.
    fn count(self: &Arc<Self>, counter: Counter) -> ConnGuard {
        self.counter(counter).fetch_add(1, Ordering::AcqRel);
        ConnGuard {
            plane: self.clone(),
            counter,
        }
    }

    /// Adds one to `counter` unless it already holds `max`.
    fn try_count(self: &Arc<Self>, counter: Counter, max: usize) -> Option<ConnGuard> {
        let prev = self.counter(counter).fetch_add(1, Ordering::AcqRel);
        if prev >= max {
            self.counter(counter).fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(ConnGuard {
            plane: self.clone(),
            counter,
        })
    }

    /// Starts the graceful shutdown (idempotent).
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Resolves when shutdown begins.
    pub(crate) async fn stopped(&self) {
        let mut rx = self.shutdown.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// Number of client connections being served.
    pub(crate) fn active_connections(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    /// Logs a rate-limited warning (burst 5, then one per minute, shared with the remote
    /// set's refusal warnings).
    pub(crate) fn warn_limited(&self, message: String) {
        if let Some(w) = self.warn_limit.warn(message) {
            log_warning(&w);
        }
    }

    /// Counts a running accept loop until the guard is dropped (see [`DataPlane::drain`]).
    pub(crate) fn accept_loop_running(self: &Arc<Self>) -> ConnGuard {
        self.count(Counter::AcceptLoop)
    }

    /// Reserves a client connection slot (at most `--max-connections`), waiting until one is
    /// free; the guard releases it. The first wait of a run of them is logged (rate-limited):
    /// the connections meanwhile wait in `label`'s listen queue.
    pub(crate) async fn reserve_slot(self: &Arc<Self>, label: &str) -> ConnGuard {
        let mut warned = false;
        loop {
            // Registered before the check, so that a slot freed in between is not missed.
            let freed = self.slot_freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let max = self.max_connections.load(Ordering::Relaxed);
            if let Some(slot) = self.try_count(Counter::Client, max) {
                return slot;
            }
            if !warned {
                warned = true;
                self.warn_limited(format!(
                    "{label}: {max} connections already (--max-connections): new ones wait in \
                     the listen queue until one closes"
                ));
            }
            freed.await;
        }
    }

    /// Counts a session taken back from the fd store (it was served before the restart, so it
    /// is served whatever `--max-connections` says now) until the guard is dropped.
    pub(crate) fn count_resumed(self: &Arc<Self>) -> ConnGuard {
        self.count(Counter::Client)
    }

    /// Sets `--max-connections` (a reload), never above what the fd limit leaves room for;
    /// returns the value set.
    pub(crate) fn set_max_connections(&self, wanted: usize) -> usize {
        let v = wanted.min(self.fd_connection_cap);
        if v < wanted {
            log::warn!(
                "max_connections {wanted} lowered to {v}: the fd limit (RLIMIT_NOFILE) leaves \
                 room for no more"
            );
        }
        self.max_connections.store(v, Ordering::Relaxed);
        v
    }

    /// One connection's share of the memory budget for half-received messages.
    pub(crate) fn buffer_share(&self) -> BufferShare<'_> {
        BufferShare {
            plane: self,
            held: 0,
        }
    }

    /// Moves one connection's count of half-received bytes from `held` to `now`. `Err` with
    /// the budget when the bytes would take all connections together past it and `now` is a
    /// large message (more than [`SMALL_MESSAGE`]): small ones always fit, so a full budget
    /// never stalls ordinary requests. On `Err` nothing is counted for the new bytes.
    fn account_buffered(&self, held: &mut usize, now: usize) -> Result<(), usize> {
        // The common case, nothing half-received before or after a read: no shared write.
        if now == *held {
            return Ok(());
        }
        if now < *held {
            self.buffered.fetch_sub(*held - now, Ordering::AcqRel);
            *held = now;
            return Ok(());
        }
        let grow = now - *held;
        let total = self.buffered.fetch_add(grow, Ordering::AcqRel) + grow;
        if total > self.max_buffered && now > SMALL_MESSAGE {
            self.buffered.fetch_sub(grow, Ordering::AcqRel);
            return Err(self.max_buffered);
        }
        *held = now;
        Ok(())
    }

    /// Counts an outgoing client connection (not bounded by `--max-connections`) until the
    /// guard is dropped.
    pub(crate) fn count_outgoing(self: &Arc<Self>) -> ConnGuard {
        self.count(Counter::Client)
    }

    /// Reserves a control connection slot (at most `max`); the guard releases it.
    pub(crate) fn try_reserve_control(self: &Arc<Self>, max: usize) -> Option<ConnGuard> {
        self.try_count(Counter::Control, max)
    }

    /// Waits until every accept loop has stopped and every connection has finished its
    /// in-flight replies, at most `grace`.
    pub(crate) async fn drain(&self, grace: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + grace;
        // `accepting` first: a loop counts what it accepted in `active` before it stops.
        while self.accepting.load(Ordering::Acquire) > 0
            || self.active.load(Ordering::Acquire) > 0
            || self.control_active.load(Ordering::Acquire) > 0
        {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::Limits;

    fn limits(max_connections: usize) -> Limits {
        Limits {
            max_message_size: 1 << 20,
            max_connections,
            max_buffered_bytes: 1 << 28,
            fd_connection_cap: usize::MAX,
        }
    }

    #[test]
    fn connections_fit_below_the_fd_limit_with_room_for_echod_itself() {
        // A low limit: 64 fds, 12 open, 16 + 8 kept.
        let mut l = limits(1024);
        assert_eq!(l.fit_to_fd_limit(64, 12), 28);
        assert_eq!(l.max_connections, 28);
        // systemd's usual limit: nothing to lower.
        let mut l = limits(1024);
        assert_eq!(l.fit_to_fd_limit(524_288, 12), 524_288 - 12 - 80);
        assert_eq!(l.max_connections, 1024);
        // A limit below what echod keeps still leaves one connection.
        let mut l = limits(1024);
        assert_eq!(l.fit_to_fd_limit(20, 12), 1);
    }
}
