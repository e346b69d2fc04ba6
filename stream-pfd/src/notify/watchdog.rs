//! The watchdog: the timeout systemd expects pings within ([`watchdog`]) and, with the `tokio`
//! feature, a task that pings at half of it ([`spawn_watchdog`]).

use std::time::Duration;

use super::error::{NotifyError, NotifyErrorKind};
#[cfg(feature = "tokio")]
use super::{Notifier, State};
use super::{env_var, lookup};
use crate::text::parse_decimal;

/// The shortest period [`spawn_watchdog`] pings at: a timeout shorter than twice this is a
/// misconfiguration, and pinging faster would only burn CPU.
#[cfg(feature = "tokio")]
pub const MIN_PING_PERIOD: Duration = Duration::from_millis(10);

/// The full watchdog timeout systemd expects pings within (`WATCHDOG_USEC`, from
/// `WatchdogSec=`), when it is set and meant for this process (`WATCHDOG_PID` absent or this
/// process's pid); `None` otherwise. Ping at half of it ([`State::Watchdog`]), or hand it as it
/// is to `spawn_watchdog` (feature `tokio`), which halves it.
///
/// A malformed value is an error: `WATCHDOG_USEC` must be a decimal number of microseconds
/// from 1 to 18446744073709551614 (`u64::MAX` is infinity, which is no timeout),
/// `WATCHDOG_PID` a decimal process id; no sign, spaces or leading zeros, as systemd writes
/// them.
///
/// ```
/// # fn main() -> Result<(), stream_pfd::notify::NotifyError> {
/// if let Some(timeout) = stream_pfd::notify::watchdog()? {
///     eprintln!("watchdog: ping within {timeout:?}");
/// }
/// # Ok(())
/// # }
/// ```
pub fn watchdog() -> Result<Option<Duration>, NotifyError> {
    let usec = env_var("WATCHDOG_USEC")?;
    let pid = match usec {
        Some(_) => env_var("WATCHDOG_PID")?,
        None => None,
    };
    watchdog_from(usec, pid)
}

/// Like [`watchdog`], with `WATCHDOG_USEC` and `WATCHDOG_PID` looked up in `vars` instead of
/// the process environment; variables not in `vars` are absent.
///
/// ```
/// use std::time::Duration;
/// use stream_pfd::notify::watchdog_from_vars;
///
/// let pid = std::process::id().to_string();
/// let ours = [("WATCHDOG_USEC", "30000000"), ("WATCHDOG_PID", pid.as_str())];
/// assert_eq!(watchdog_from_vars(ours)?, Some(Duration::from_secs(30)));
/// let parents = [("WATCHDOG_USEC", "30000000"), ("WATCHDOG_PID", "1")];
/// assert_eq!(watchdog_from_vars(parents)?, None);
/// assert!(watchdog_from_vars([("WATCHDOG_USEC", "30s")]).is_err());
/// # Ok::<(), stream_pfd::notify::NotifyError>(())
/// ```
pub fn watchdog_from_vars<I, K, V>(vars: I) -> Result<Option<Duration>, NotifyError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let vars: Vec<(K, V)> = vars.into_iter().collect();
    let usec = lookup(vars.iter().map(|(k, v)| (k, v)), "WATCHDOG_USEC");
    let pid = lookup(vars.iter().map(|(k, v)| (k, v)), "WATCHDOG_PID");
    watchdog_from(usec, pid)
}

fn watchdog_from(
    usec: Option<String>,
    pid: Option<String>,
) -> Result<Option<Duration>, NotifyError> {
    let Some(value) = usec else {
        return Ok(None);
    };
    let usec = parse_decimal(&value)
        .filter(|u| *u > 0 && *u < u64::MAX)
        .ok_or(NotifyErrorKind::BadWatchdogUsec { value })?;
    if let Some(value) = pid {
        let pid = parse_decimal(&value)
            .filter(|p| *p > 0 && i32::try_from(*p).is_ok())
            .ok_or(NotifyErrorKind::BadWatchdogPid { value })?;
        if pid != u64::from(std::process::id()) {
            return Ok(None);
        }
    }
    Ok(Some(Duration::from_micros(usec)))
}

/// Pings the watchdog of `NOTIFY_SOCKET` ([`Notifier::spawn_watchdog`]): `WATCHDOG=1` at once
/// and then every `watchdog_timeout / 2`, on a tokio task, until the task is aborted.
///
/// **`watchdog_timeout` is the full watchdog timeout**, the time systemd waits for a ping before it
/// acts (`WatchdogSec=`, `WATCHDOG_USEC`): pass what [`watchdog`] returns as it is; the
/// halving is done here. It is not the ping period.
///
/// `Ok(None)` when `NOTIFY_SOCKET` is not set (nothing to ping); an error, the one
/// [`Notifier::from_env`] gives, when it is set but not valid, so that a watchdog that would
/// never be pinged is not started silently (systemd would kill the service one timeout later).
/// Must be called from within a tokio runtime. The task runs on when its handle is dropped.
///
/// ```no_run
/// // no_run: with NOTIFY_SOCKET set this really pings the service manager.
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use stream_pfd::notify::{spawn_watchdog, watchdog};
/// let pinger = match watchdog()? {
///     Some(timeout) => spawn_watchdog(timeout)?,
///     None => None,
/// };
/// // ... serve; at shutdown:
/// if let Some(pinger) = pinger {
///     pinger.abort();
/// }
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tokio")]
pub fn spawn_watchdog(
    watchdog_timeout: Duration,
) -> Result<Option<tokio::task::JoinHandle<()>>, NotifyError> {
    Ok(Notifier::from_env()?.map(|notifier| notifier.spawn_watchdog(watchdog_timeout)))
}

#[cfg(feature = "tokio")]
impl Notifier {
    /// Sends `WATCHDOG=1` every `watchdog_timeout / 2` (but not more often than every
    /// [`MIN_PING_PERIOD`]), the first at once, on a tokio task, until the task is aborted.
    ///
    /// **`watchdog_timeout` is the full watchdog timeout** systemd waits for a ping (`WatchdogSec=`,
    /// what [`watchdog`] returns), not the ping period: the halving is done here.
    ///
    /// A ping never blocks a runtime thread ([`send_async`](Notifier::send_async)), and a
    /// service manager that stops reading delays the next ping by at most the send timeout.
    /// Send errors are not returned (the next ping tries again); with the `log` feature the
    /// first failure after a success is logged as a warning and the recovery at info level.
    /// [`spawn_watchdog_with`](Notifier::spawn_watchdog_with) hands each error to the caller
    /// and can hold pings back. Must be called from within a tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// let notifier = stream_pfd::notify::Notifier::new("@stream-pfd-doc-nobody-listens")?;
    /// let pings = notifier.spawn_watchdog(Duration::from_secs(30));
    /// pings.abort();
    /// # Ok(())
    /// # }
    /// ```
    pub fn spawn_watchdog(self, watchdog_timeout: Duration) -> tokio::task::JoinHandle<()> {
        #[cfg(feature = "log")]
        {
            let mut failing = false;
            self.spawn_watchdog_inner(
                watchdog_timeout,
                || true,
                |_| {},
                move |result| {
                    match (result, failing) {
                        (Err(e), false) => log::warn!("watchdog ping failed: {e}"),
                        (Ok(()), true) => log::info!("watchdog pings are delivered again"),
                        _ => {}
                    }
                    failing = result.is_err();
                },
            )
        }
        #[cfg(not(feature = "log"))]
        self.spawn_watchdog_with(watchdog_timeout, || true, |_| {})
    }

    /// [`spawn_watchdog`](Notifier::spawn_watchdog), asking `alive` before each ping (a daemon
    /// that knows it is stuck returns `false`, and systemd restarts it when the timeout runs
    /// out) and telling `failed` about each ping that could not be sent (the next tick tries
    /// again; rate-limit what you log).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::time::Duration;
    ///
    /// let stuck = Arc::new(AtomicBool::new(false));
    /// let notifier = stream_pfd::notify::Notifier::new("@stream-pfd-doc-nobody-listens")?;
    /// let check = stuck.clone();
    /// let pings = notifier.spawn_watchdog_with(
    ///     Duration::from_secs(30),
    ///     move || !check.load(Ordering::Relaxed),
    ///     |e| eprintln!("watchdog: {e}"),
    /// );
    /// pings.abort();
    /// # Ok(())
    /// # }
    /// ```
    pub fn spawn_watchdog_with(
        self,
        watchdog_timeout: Duration,
        alive: impl FnMut() -> bool + Send + 'static,
        failed: impl FnMut(&NotifyError) + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        self.spawn_watchdog_inner(watchdog_timeout, alive, failed, |_| {})
    }

    /// The ping task; `sent` sees the result of every ping sent.
    fn spawn_watchdog_inner(
        self,
        watchdog_timeout: Duration,
        mut alive: impl FnMut() -> bool + Send + 'static,
        mut failed: impl FnMut(&NotifyError) + Send + 'static,
        mut sent: impl FnMut(&Result<(), NotifyError>) + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let period = (watchdog_timeout / 2).max(MIN_PING_PERIOD);
        let notifier = self;
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if !alive() {
                    continue;
                }
                let result = notifier.send_async(&[State::Watchdog]).await;
                if let Err(e) = &result {
                    failed(e);
                }
                sent(&result);
            }
        })
    }
}
