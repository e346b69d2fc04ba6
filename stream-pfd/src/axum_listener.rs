//! `axum::serve::Listener` for [`TokioListener`] (feature `axum`): `axum::serve` over a taken
//! or bound unix or tcp listener, with the peer as a [`SocketAddress`].

use std::io;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;

use crate::addr::SocketAddress;
use crate::tokio_listener::{TokioListener, TokioStream};

/// `axum::serve(listener, app)` for a [`TokioListener`], whichever its family; the
/// connection's address is a [`SocketAddress`] (a unix peer, usually unnamed, or an IP one),
/// also as `ConnectInfo<SocketAddress>` with `into_make_service_with_connect_info`.
///
/// `accept` never fails, as the trait requires: an error that concerns one connection (the
/// peer reset it, or a network error Linux reports on `accept`) is skipped at once; any other
/// (out of fds: `EMFILE`) is retried after a second, which needs the tokio runtime's timer
/// (`enable_all`, as `#[tokio::main]` does). With the `log` feature the retried errors are
/// logged (one connection's at debug level, the others as warnings); without it, nothing is.
///
/// ```
/// use axum::{Router, routing::get};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut fds = stream_pfd::ListenFds::from_env()?;
/// let (listener, origin) = fds.take_or_bind(&"pfd:3".parse()?, "127.0.0.1:0")?;
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
        self.accept_retrying().await
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
/// let (listener, _) = stream_pfd::ListenFds::from_env()?.take_or_bind(&"pfd:3".parse()?, "127.0.0.1:0")?;
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
