//! A hyper server loop over a taken or bound listener (feature `hyper`):
//! [`serve`] accepts connections on a [`TokioListener`] and serves HTTP/1.1 on each with
//! hyper's connection builder and hyper-util's tokio glue, in one call.
//!
//! ```no_run
//! // no_run: serves until the process is stopped.
//! use std::convert::Infallible;
//! use hyper::{Request, Response, body::Incoming, service::service_fn};
//!
//! async fn hello(_: Request<Incoming>) -> Result<Response<String>, Infallible> {
//!     Ok(Response::new("hello\n".to_owned()))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut fds = stream_pfd::ListenFds::from_env()?;
//! let (listener, _) = fds.take_or_bind(&"pfd:3".parse()?, "127.0.0.1:8080")?;
//! stream_pfd::hyper::serve(listener.into_tokio()?, service_fn(hello)).await?;
//! # Ok(())
//! # }
//! ```

use std::error::Error as StdError;
use std::io;

use ::hyper::body::{Body, Incoming};
use ::hyper::server::conn::http1;
use ::hyper::service::Service;
use ::hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use crate::tokio_listener::TokioListener;

/// Serves HTTP/1.1 with `service` on every connection `listener` accepts, each on its own
/// tokio task, until the future is dropped: the loop hyper-util's examples write by hand.
///
/// An accept error is never returned: one that concerns one connection is skipped, any other
/// (out of fds) is retried after a second, as `axum::serve` does (with the `log` feature, each
/// is logged). A connection that fails (the peer resets it, sends garbage) ends that
/// connection only. Although the future resolves to `io::Result<()>` (so that it fits
/// `?` beside `axum::serve`), it never completes; stop it by dropping it, e.g. in
/// `tokio::select!` with a signal.
///
/// ```
/// use std::convert::Infallible;
/// use hyper::{Request, Response, body::Incoming, service::service_fn};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let addr = std_listener.local_addr()?;
/// let listener = stream_pfd::Listener::try_from_fd(std_listener.into())?.into_tokio()?;
/// let service = service_fn(|_: Request<Incoming>| async {
///     Ok::<_, Infallible>(Response::new("hello\n".to_owned()))
/// });
/// tokio::spawn(stream_pfd::hyper::serve(listener, service));
///
/// let mut client = tokio::net::TcpStream::connect(addr).await?;
/// client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await?;
/// let mut response = String::new();
/// client.read_to_string(&mut response).await?;
/// assert!(response.starts_with("HTTP/1.1 200 OK") && response.ends_with("\r\n\r\nhello\n"));
/// # Ok(())
/// # }
/// ```
pub async fn serve<S, B>(listener: TokioListener, service: S) -> io::Result<()>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    loop {
        let (stream, _peer) = listener.accept_retrying().await;
        let service = service.clone();
        tokio::spawn(async move {
            let served = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
            #[cfg(feature = "log")]
            if let Err(error) = served {
                log::debug!("connection from {_peer}: {error}");
            }
            #[cfg(not(feature = "log"))]
            drop(served);
        });
    }
}
