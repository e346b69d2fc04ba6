//! `axum::serve::Listener` for [`TokioListener`] (feature `axum`): `axum::serve` over a taken
//! or bound unix or tcp listener, with the peer as a [`SocketAddress`].

use std::io;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;

use crate::addr::SocketAddress;
use crate::tokio_listener::{TokioListener, TokioStream};

/// How long `accept` waits after an error that is not about one connection (out of fds or
/// memory), before it tries again: the time for connections to close.
const BACKOFF: Duration = Duration::from_secs(1);

/// `axum::serve(listener, app)` for a [`TokioListener`], whichever its family; the
/// connection's address is a [`SocketAddress`] (a unix peer, usually unnamed, or an IP one),
/// also as `ConnectInfo<SocketAddress>` with `into_make_service_with_connect_info`.
///
/// `accept` never fails, as the trait requires: an error that concerns one connection (the
/// peer reset it, or a network error Linux reports on `accept`) is skipped at once; any other
/// (out of fds: `EMFILE`) is retried after a second, which needs the tokio runtime's timer
/// (`enable_all`, as `#[tokio::main]` does). The errors are not logged: this crate logs
/// nothing.
///
/// ```
/// use axum::{Router, routing::get};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (listener, origin) = stream_pfd::listen_or_bind(&"pfd:web".parse()?, "127.0.0.1:0")?;
/// let app = Router::new().route("/", get(|| async { "hello\n" }));
/// let server = axum::serve(listener.into_tokio()?, app);
/// println!("serving on {} ({origin})", server.local_addr()?);
/// # drop(server);
/// # Ok(())
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl axum::serve::Listener for TokioListener {
    type Io = TokioStream;
    type Addr = SocketAddress;

    async fn accept(&mut self) -> (TokioStream, SocketAddress) {
        loop {
            match TokioListener::accept(self).await {
                Ok(accepted) => return accepted,
                Err(error) => after_accept_error(&error).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddress> {
        TokioListener::local_addr(self)
    }
}

/// The peer's address for `ConnectInfo<SocketAddress>`.
///
/// ```
/// use axum::{Router, extract::ConnectInfo, routing::get};
/// use stream_pfd::addr::SocketAddress;
///
/// async fn whoami(ConnectInfo(peer): ConnectInfo<SocketAddress>) -> String {
///     format!("you are {peer}\n")
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (listener, _) = stream_pfd::listen_or_bind(&"pfd:web".parse()?, "127.0.0.1:0")?;
/// let app = Router::new().route("/", get(whoami));
/// let server = axum::serve(
///     listener.into_tokio()?,
///     app.into_make_service_with_connect_info::<SocketAddress>(),
/// );
/// # drop(server);
/// # Ok(())
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl Connected<IncomingStream<'_, TokioListener>> for SocketAddress {
    fn connect_info(stream: IncomingStream<'_, TokioListener>) -> SocketAddress {
        stream.remote_addr().clone()
    }
}

/// Whether an `accept` error concerns one connection only, so that the next `accept` can
/// follow at once: the peer gave up (`ECONNABORTED`, `ECONNRESET`), or one of the network
/// errors that Linux's accept(2) reports for a pending connection and asks to treat like
/// `EAGAIN`.
fn concerns_one_connection(error: &io::Error) -> bool {
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

/// Waits before the next `accept` after `error`: not at all for an error that concerns one
/// connection, [`BACKOFF`] for any other.
async fn after_accept_error(error: &io::Error) {
    if !concerns_one_connection(error) {
        tokio::time::sleep(BACKOFF).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn per_connection_errors_are_retried_at_once_and_others_after_a_second() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
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
}
