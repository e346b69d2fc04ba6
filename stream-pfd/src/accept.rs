//! Accepting for the framework integrations (features `axum`, `hyper`, `tonic`): an error that
//! concerns one connection is skipped at once, any other (out of fds: `EMFILE`) is retried
//! after [`BACKOFF`]; neither is returned, since a server loop has nobody to return it to.
//! With the `log` feature each is logged.

use std::io;
use std::time::Duration;
#[cfg(feature = "tonic")]
use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

#[cfg(any(feature = "axum", feature = "hyper"))]
use crate::addr::SocketAddress;
use crate::tokio_listener::{TokioListener, TokioStream};

/// How long accepting waits after an error that is not about one connection (out of fds or
/// memory), before it tries again: the time for connections to close.
pub(crate) const BACKOFF: Duration = Duration::from_secs(1);

/// Whether an `accept` error concerns one connection only, so that the next `accept` can
/// follow at once: the peer gave up (`ECONNABORTED`, `ECONNRESET`), or one of the network
/// errors that Linux's accept(2) reports for a pending connection and asks to treat like
/// `EAGAIN`.
pub(crate) fn concerns_one_connection(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(
            libc::ECONNABORTED
                | libc::ECONNRESET
                | libc::ECONNREFUSED
                | libc::ENETDOWN
                | libc::EPROTO
                | libc::ENOPROTOOPT
                | libc::EHOSTDOWN
                | libc::ENONET
                | libc::EHOSTUNREACH
                | libc::EOPNOTSUPP
                | libc::ENETUNREACH
        )
    )
}

/// Logs an accept error (feature `log`): one connection's at debug level, others as warnings.
fn log_accept_error(error: &io::Error, one_connection: bool) {
    #[cfg(feature = "log")]
    if one_connection {
        log::debug!("accept failed for one connection (skipped): {error}");
    } else {
        log::warn!(
            "accept failed: {error}; trying again in {} ms",
            BACKOFF.as_millis()
        );
    }
    #[cfg(not(feature = "log"))]
    let _ = (error, one_connection);
}

/// Waits before the next `accept` after `error`: not at all for an error that concerns one
/// connection, [`BACKOFF`] for any other.
#[cfg(any(feature = "axum", feature = "hyper"))]
pub(crate) async fn after_accept_error(error: &io::Error) {
    let one = concerns_one_connection(error);
    log_accept_error(error, one);
    if !one {
        tokio::time::sleep(BACKOFF).await;
    }
}

impl TokioListener {
    /// The next connection, after as many failed accepts as it takes (see the module docs).
    #[cfg(any(feature = "axum", feature = "hyper"))]
    pub(crate) async fn accept_retrying(&self) -> (TokioStream, SocketAddress) {
        loop {
            match self.accept().await {
                Ok(accepted) => return accepted,
                Err(error) => after_accept_error(&error).await,
            }
        }
    }

    /// `accept` as a poll, for [`Incoming`](crate::Incoming).
    #[cfg(feature = "tonic")]
    pub(crate) fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<TokioStream>> {
        Poll::Ready(Ok(match self {
            TokioListener::Unix(l) => TokioStream::Unix(ready!(l.poll_accept(cx))?.0),
            TokioListener::Tcp(l) => TokioStream::Tcp(ready!(l.poll_accept(cx))?.0),
        }))
    }
}

/// A pause after a failed accept, for poll-based accepting.
#[cfg(feature = "tonic")]
#[derive(Debug, Default)]
pub(crate) struct Backoff(Option<Pin<Box<tokio::time::Sleep>>>);

#[cfg(feature = "tonic")]
impl Backoff {
    /// Ready when no pause is running (or it is over).
    pub(crate) fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(sleep) = &mut self.0 {
            ready!(sleep.as_mut().poll(cx));
            self.0 = None;
        }
        Poll::Ready(())
    }

    /// After `error`: a pause of [`BACKOFF`] unless it concerns one connection.
    pub(crate) fn after(&mut self, error: &io::Error) {
        let one = concerns_one_connection(error);
        log_accept_error(error, one);
        if !one {
            self.0 = Some(Box::pin(tokio::time::sleep(BACKOFF)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn per_connection_errors_are_told_apart_from_others() {
        let per_connection = [
            libc::ECONNABORTED,
            libc::ECONNRESET,
            libc::ECONNREFUSED,
            libc::ENETDOWN,
            libc::EPROTO,
            libc::ENOPROTOOPT,
            libc::EHOSTDOWN,
            libc::ENONET,
            libc::EHOSTUNREACH,
            libc::EOPNOTSUPP,
            libc::ENETUNREACH,
        ];
        for errno in per_connection {
            let error = io::Error::from_raw_os_error(errno);
            assert!(concerns_one_connection(&error), "{error}");
        }
        for errno in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
            let error = io::Error::from_raw_os_error(errno);
            assert!(!concerns_one_connection(&error), "{error}");
        }
        assert!(!concerns_one_connection(&io::Error::other("no errno")));
    }

    #[cfg(any(feature = "axum", feature = "hyper"))]
    #[test]
    fn the_async_pause_is_none_after_one_connections_error_and_a_second_after_others() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let start = Instant::now();
        rt.block_on(after_accept_error(&io::Error::from_raw_os_error(
            libc::ECONNABORTED,
        )));
        assert!(start.elapsed() < BACKOFF / 2, "{:?}", start.elapsed());
        let start = Instant::now();
        rt.block_on(after_accept_error(&io::Error::from_raw_os_error(
            libc::EMFILE,
        )));
        assert!(start.elapsed() >= BACKOFF, "{:?}", start.elapsed());
    }

    #[cfg(feature = "tonic")]
    #[test]
    fn the_poll_based_pause_follows_the_same_rule() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // The poll-based pause: none after one connection's error, BACKOFF after another.
        let start = Instant::now();
        rt.block_on(async {
            let mut backoff = Backoff::default();
            backoff.after(&io::Error::from_raw_os_error(libc::ECONNRESET));
            std::future::poll_fn(|cx| backoff.poll_wait(cx)).await;
            assert!(start.elapsed() < BACKOFF / 2, "{:?}", start.elapsed());
            backoff.after(&io::Error::from_raw_os_error(libc::EMFILE));
            std::future::poll_fn(|cx| backoff.poll_wait(cx)).await;
        });
        assert!(start.elapsed() >= BACKOFF, "{:?}", start.elapsed());
    }
}
