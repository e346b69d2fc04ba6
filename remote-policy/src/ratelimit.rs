//! A small token-bucket [`RateLimiter`] for warnings, with an injectable
//! [`Clock`] so that tests never sleep, and [`SharedRateLimiter`], one budget for
//! several producers (a daemon's own warnings and its [`RemoteSet`](crate::RemoteSet)'s).

use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A source of monotonic time.
pub trait Clock {
    /// The current time.
    fn now(&self) -> Instant;
}

/// The real clock ([`Instant::now`]).
///
/// ```
/// use remote_policy::ratelimit::{Clock, SystemClock};
/// let a = SystemClock.now();
/// assert!(SystemClock.now() >= a);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that only moves when told to; clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use remote_policy::ratelimit::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let t0 = clock.now();
/// clock.clone().advance(Duration::from_secs(60));
/// assert_eq!(clock.now() - t0, Duration::from_secs(60));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    base: Instant,
    offset_nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock stopped at the current time.
    pub fn new() -> Self {
        ManualClock {
            base: Instant::now(),
            offset_nanos: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Moves the clock (and every clone of it) forward by `by`.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // fetch_update with a saturating add never fails.
        let _ = self
            .offset_nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(nanos))
            });
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.base + Duration::from_nanos(self.offset_nanos.load(Ordering::SeqCst))
    }
}

/// A token bucket: up to `burst` events at once, then one more every
/// `interval`. Events over the limit are counted, and the count is handed out
/// with the next admitted event.
///
/// [`RateLimiter::ovs_default`] is Open vSwitch's `VLOG_RATE_LIMIT_INIT(1, 5)`:
/// a burst of 5, then at most one per minute.
///
/// ```
/// use std::time::Duration;
/// use remote_policy::ratelimit::{ManualClock, RateLimiter};
///
/// let clock = ManualClock::new();
/// let mut rl = RateLimiter::ovs_default_with_clock(clock.clone());
/// for _ in 0..5 {
///     assert!(rl.admit().is_some());
/// }
/// assert!(rl.admit().is_none()); // 6th within the minute: suppressed
/// assert!(rl.admit().is_none());
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(rl.admit().unwrap().suppressed_before, 2);
/// ```
#[derive(Debug, Clone)]
pub struct RateLimiter<C = SystemClock> {
    clock: C,
    interval: Duration,
    capacity: Duration,
    credit: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

/// An event let through by a [`RateLimiter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admitted {
    /// How many events were suppressed since the previous admitted one.
    pub suppressed_before: u64,
}

impl RateLimiter<SystemClock> {
    /// A limiter on the real clock: `burst` events at once, then one per
    /// `interval` (a zero `interval` means no limit).
    ///
    /// ```
    /// use std::{num::NonZeroU32, time::Duration};
    /// let mut rl = remote_policy::ratelimit::RateLimiter::new(NonZeroU32::MIN, Duration::from_secs(3600));
    /// assert!(rl.admit().is_some());
    /// assert!(rl.admit().is_none());
    /// ```
    pub fn new(burst: NonZeroU32, interval: Duration) -> Self {
        RateLimiter::with_clock(burst, interval, SystemClock)
    }

    /// Open vSwitch's `VLOG_RATE_LIMIT_INIT(1, 5)` on the real clock: a burst
    /// of 5, then one per minute.
    pub fn ovs_default() -> Self {
        RateLimiter::ovs_default_with_clock(SystemClock)
    }
}

impl Default for RateLimiter<SystemClock> {
    fn default() -> Self {
        RateLimiter::ovs_default()
    }
}

/// Burst of the default limiter.
pub const DEFAULT_BURST: u32 = 5;
/// Refill interval of the default limiter (one warning per minute).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

impl<C: Clock> RateLimiter<C> {
    /// A limiter on `clock`: `burst` events at once, then one per `interval`.
    pub fn with_clock(burst: NonZeroU32, interval: Duration, clock: C) -> Self {
        let capacity = interval.checked_mul(burst.get()).unwrap_or(Duration::MAX);
        RateLimiter {
            clock,
            interval,
            capacity,
            credit: capacity,
            last: None,
            suppressed: 0,
        }
    }

    /// [`RateLimiter::ovs_default`] on `clock`.
    pub fn ovs_default_with_clock(clock: C) -> Self {
        let burst = NonZeroU32::new(DEFAULT_BURST).unwrap_or(NonZeroU32::MIN);
        RateLimiter::with_clock(burst, DEFAULT_INTERVAL, clock)
    }

    /// Records one event; returns `Some` if it may be reported now, `None` if
    /// it is suppressed.
    pub fn admit(&mut self) -> Option<Admitted> {
        let now = self.clock.now();
        if let Some(last) = self.last {
            let elapsed = now.saturating_duration_since(last);
            self.credit = self.credit.saturating_add(elapsed).min(self.capacity);
        }
        self.last = Some(now);
        if self.credit >= self.interval {
            self.credit -= self.interval;
            Some(Admitted {
                suppressed_before: std::mem::take(&mut self.suppressed),
            })
        } else {
            self.suppressed = self.suppressed.saturating_add(1);
            None
        }
    }

    /// Records a warning; returns it if it may be logged now.
    ///
    /// ```
    /// let mut rl = remote_policy::ratelimit::RateLimiter::ovs_default();
    /// let w = rl.warn("disk on fire".to_owned()).unwrap();
    /// assert_eq!(w.message, "disk on fire");
    /// assert_eq!(w.suppressed_before, 0);
    /// ```
    pub fn warn(&mut self, message: String) -> Option<RateLimitedWarning> {
        self.admit().map(|a| RateLimitedWarning {
            message,
            suppressed_before: a.suppressed_before,
        })
    }

    /// Events suppressed since the last admitted one.
    pub fn suppressed(&self) -> u64 {
        self.suppressed
    }
}

/// A warning for the caller to log.
///
/// `Display` prints [`RateLimitedWarning::message`] only; when `suppressed_before` is not
/// zero, log [`RateLimitedWarning::dropped_line`] too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitedWarning {
    /// The text to log, e.g.
    /// `pfd: remotes can only be specified on the command line; ignoring "pfd:3" from database`.
    pub message: String,
    /// How many warnings the rate limiter suppressed before this one.
    pub suppressed_before: u64,
}

impl RateLimitedWarning {
    /// A line reporting the suppressed warnings, if any.
    ///
    /// ```
    /// let w = remote_policy::ratelimit::RateLimitedWarning { message: "x".into(), suppressed_before: 3 };
    /// assert_eq!(w.dropped_line().unwrap(), "dropped 3 similar warnings due to excessive rate");
    /// ```
    pub fn dropped_line(&self) -> Option<String> {
        (self.suppressed_before > 0).then(|| {
            format!(
                "dropped {} similar warning{} due to excessive rate",
                self.suppressed_before,
                if self.suppressed_before == 1 { "" } else { "s" }
            )
        })
    }
}

impl fmt::Display for RateLimitedWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A [`RateLimiter`] whose clones share one budget: a daemon's own warnings and the
/// [`RemoteSet`](crate::RemoteSet)'s refusal warnings (see [`crate::RemoteSet::limiter`]) are
/// limited together, the way Open vSwitch limits a module's log lines. Each call holds a
/// lock only for the arithmetic, never while anything is logged.
///
/// ```
/// use remote_policy::ratelimit::{ManualClock, RateLimiter, SharedRateLimiter};
///
/// let a = SharedRateLimiter::from(RateLimiter::ovs_default_with_clock(ManualClock::new()));
/// let b = a.clone();
/// for _ in 0..3 {
///     assert!(a.warn("from a".into()).is_some());
/// }
/// assert!(b.warn("from b".into()).is_some());
/// assert!(b.warn("from b".into()).is_some());
/// assert!(a.warn("one too many".into()).is_none()); // the burst of 5 is shared
/// ```
#[derive(Debug, Clone)]
pub struct SharedRateLimiter<C = SystemClock>(Arc<Mutex<RateLimiter<C>>>);

impl<C: Clock> SharedRateLimiter<C> {
    /// Records a warning; returns it if it may be logged now (see [`RateLimiter::warn`]).
    pub fn warn(&self, message: String) -> Option<RateLimitedWarning> {
        // A panic elsewhere while holding the lock leaves a consistent counter: keep using it.
        let mut limiter = self.0.lock().unwrap_or_else(|p| p.into_inner());
        limiter.warn(message)
    }
}

impl<C> From<RateLimiter<C>> for SharedRateLimiter<C> {
    fn from(limiter: RateLimiter<C>) -> Self {
        SharedRateLimiter(Arc::new(Mutex::new(limiter)))
    }
}
