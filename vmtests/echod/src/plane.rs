//! What every data-plane task shares ([`DataPlane`]): the [`Limits`], the connection counters,
//! the shutdown signal and the warning rate limiter; and [`Overrides`], the settings the command
//! line fixed. Nothing here knows about remotes or spawns a task; the data plane never waits for
//! the supervisor's lock, only for this.

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
}

/// State shared by every data-plane task.
#[derive(Debug)]
pub(crate) struct DataPlane {
    /// Current `--max-message-size`.
    pub(crate) max_message_size: AtomicUsize,
    /// Current `--max-connections`.
    pub(crate) max_connections: AtomicUsize,
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
    }
}

impl DataPlane {
    /// The data plane of a daemon with `limits`, whose warnings share the budget of
    /// `warn_limit` (the remote set's limiter).
    pub(crate) fn new(
        limits: Limits,
        warn_limit: SharedRateLimiter,
        timeouts: Timeouts,
    ) -> Arc<DataPlane> {
        Arc::new(DataPlane {
            max_message_size: AtomicUsize::new(limits.max_message_size),
            max_connections: AtomicUsize::new(limits.max_connections),
            active: AtomicUsize::new(0),
            control_active: AtomicUsize::new(0),
            accepting: AtomicUsize::new(0),
            shutdown: watch::channel(false).0,
            warn_limit,
            timeouts,
            sessions: OnceLock::new(),
            watchdog_stalled: AtomicBool::new(false),
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

    /// Reserves a client connection slot (at most `--max-connections`); the guard releases it.
    pub(crate) fn try_reserve(self: &Arc<Self>) -> Option<ConnGuard> {
        let max = self.max_connections.load(Ordering::Relaxed);
        self.try_count(Counter::Client, max)
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
