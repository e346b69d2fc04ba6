//! tonic's `serve_with_incoming` over a taken or bound listener (feature `tonic`):
//! [`TokioListener::into_incoming`] is the stream of connections it takes, and each
//! [`TokioStream`] tells tonic its peer ([`Connected`], the peer as a [`SocketAddress`]).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use tonic::transport::server::Connected;

use crate::accept::Backoff;
use crate::addr::SocketAddress;
use crate::tokio_listener::{TokioListener, TokioStream};

/// The connections a [`TokioListener`] accepts, as a stream: what
/// `tonic::transport::Server::serve_with_incoming` takes
/// ([`TokioListener::into_incoming`]).
///
/// It never yields an error and never ends: an accept error that concerns one connection is
/// skipped, any other (out of fds) is retried after a second, as `axum::serve` does (with the
/// `log` feature, each is logged). The item is a `Result` because tonic's signature wants one.
#[derive(Debug)]
pub struct Incoming {
    listener: TokioListener,
    backoff: Backoff,
}

impl TokioListener {
    /// The stream of accepted connections, for
    /// `tonic::transport::Server::serve_with_incoming` (see [`Incoming`]): one call serves a
    /// gRPC service on the socket systemd passed or the development fallback.
    ///
    /// ```no_run
    /// // no_run: serves until the process is stopped.
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut fds = stream_pfd::ListenFds::from_env()?;
    /// let (listener, _) = fds.take_or_bind(&"pfd:3".parse()?, "127.0.0.1:50051")?;
    /// let (_reporter, health) = tonic_health::server::health_reporter();
    /// tonic::transport::Server::builder()
    ///     .add_service(health)
    ///     .serve_with_incoming(listener.into_tokio()?.into_incoming())
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_incoming(self) -> Incoming {
        Incoming {
            listener: self,
            backoff: Backoff::default(),
        }
    }
}

impl Stream for Incoming {
    type Item = io::Result<TokioStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            ready!(this.backoff.poll_wait(cx));
            match ready!(this.listener.poll_accept(cx)) {
                Ok(stream) => return Poll::Ready(Some(Ok(stream))),
                Err(error) => this.backoff.after(&error),
            }
        }
    }
}

/// The peer of a connection, in each request's extensions:
/// `request.extensions().get::<Option<SocketAddress>>()` (a unix peer is usually unnamed;
/// `None` when the peer was gone before it could be read).
impl Connected for TokioStream {
    type ConnectInfo = Option<SocketAddress>;

    fn connect_info(&self) -> Option<SocketAddress> {
        self.peer_addr().ok()
    }
}
