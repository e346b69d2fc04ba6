//! Tokio listeners and streams from taken sockets (feature `tokio`).

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::addr::SocketAddress;
use crate::connection::{Connection, StdStream};
use crate::listener::{Listener, StdListener};

/// A tokio listener, by family.
///
/// ```
/// use stream_pfd::{Listener, TokioListener};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let addr = std_listener.local_addr()?;
/// let listener = Listener::try_from_fd(std_listener.into())?.into_tokio()?;
/// let client = tokio::net::TcpStream::connect(addr).await?;
/// let (_stream, peer) = listener.accept().await?;
/// assert_eq!(peer.to_string(), client.local_addr()?.to_string());
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub enum TokioListener {
    /// An `AF_UNIX` listener.
    Unix(tokio::net::UnixListener),
    /// An `AF_INET`/`AF_INET6` listener.
    Tcp(tokio::net::TcpListener),
}

/// An accepted tokio stream, by family. Implements `AsyncRead` and `AsyncWrite`.
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let addr = std_listener.local_addr()?;
/// let listener = stream_pfd::Listener::try_from_fd(std_listener.into())?.into_tokio()?;
/// let mut client = tokio::net::TcpStream::connect(addr).await?;
/// let (mut stream, _) = listener.accept().await?;
/// stream.write_all(b"hi").await?;
/// let mut buf = [0; 2];
/// client.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"hi");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub enum TokioStream {
    /// An `AF_UNIX` stream.
    Unix(tokio::net::UnixStream),
    /// A TCP stream.
    Tcp(tokio::net::TcpStream),
}

impl Listener {
    /// A tokio listener. Must be called within a tokio runtime with IO enabled; without a
    /// runtime this returns an error instead of panicking.
    ///
    /// # Panics
    ///
    /// If the current runtime was built without IO (`enable_io`), like tokio's `from_std`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let listener = stream_pfd::Listener::try_from_fd(std_listener.into())?.into_tokio()?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub fn into_tokio(self) -> io::Result<TokioListener> {
        TokioListener::from_std(self.into_std())
    }
}

/// The error for a conversion outside a tokio runtime (instead of tokio's panic).
fn require_runtime(what: &str) -> io::Result<()> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(io::Error::other(format!(
            "cannot make a tokio {what} outside a tokio runtime (call it from async code or \
             inside Runtime::enter)"
        )));
    }
    Ok(())
}

impl Connection {
    /// A tokio stream. Must be called within a tokio runtime with IO enabled; without a
    /// runtime this returns an error instead of panicking.
    ///
    /// # Panics
    ///
    /// If the current runtime was built without IO (`enable_io`), like tokio's `from_std`.
    ///
    /// ```
    /// use std::os::fd::IntoRawFd;
    /// use tokio::io::AsyncWriteExt;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (ours, _peer) = std::os::unix::net::UnixStream::pair()?;
    /// let spec = stream_pfd::PfdSpec::from_number(ours.into_raw_fd())?;
    /// let mut fds = stream_pfd::ListenFds::builder().ignore_env().build()?;
    /// let mut stream = fds.take_connection(&spec)?.into_tokio()?;
    /// stream.write_all(b"hello\n").await?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub fn into_tokio(self) -> io::Result<TokioStream> {
        TokioStream::from_std(self.into_std())
    }
}

impl TokioStream {
    /// Wraps a non-blocking std stream (see [`Connection::into_tokio`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// a.set_nonblocking(true)?;
    /// let stream = stream_pfd::TokioStream::from_std(stream_pfd::StdStream::Unix(a))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_std(stream: StdStream) -> io::Result<TokioStream> {
        require_runtime("stream")?;
        Ok(match stream {
            StdStream::Unix(s) => TokioStream::Unix(tokio::net::UnixStream::from_std(s)?),
            StdStream::Tcp(s) => TokioStream::Tcp(tokio::net::TcpStream::from_std(s)?),
        })
    }
}

impl TokioStream {
    /// The peer's address.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let addr = std_listener.local_addr()?;
    /// let listener = stream_pfd::Listener::try_from_fd(std_listener.into())?.into_tokio()?;
    /// let client = tokio::net::TcpStream::connect(addr).await?;
    /// let (stream, peer) = listener.accept().await?;
    /// assert_eq!(stream.peer_addr()?, peer);
    /// # Ok(())
    /// # }
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddress> {
        Ok(match self {
            TokioStream::Unix(s) => {
                SocketAddress::from(&std::os::unix::net::SocketAddr::from(s.peer_addr()?))
            }
            TokioStream::Tcp(s) => SocketAddress::Inet(s.peer_addr()?),
        })
    }
}

impl TokioListener {
    /// Wraps a non-blocking std listener (see [`Listener::into_tokio`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let l = stream_pfd::Listener::try_from_fd(std::net::TcpListener::bind("127.0.0.1:0")?.into())?;
    /// let t = stream_pfd::TokioListener::from_std(l.into_std())?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_std(listener: StdListener) -> io::Result<TokioListener> {
        require_runtime("listener")?;
        Ok(match listener {
            StdListener::Unix(l) => TokioListener::Unix(tokio::net::UnixListener::from_std(l)?),
            StdListener::Tcp(l) => TokioListener::Tcp(tokio::net::TcpListener::from_std(l)?),
        })
    }

    /// Accepts a connection, yielding the stream and the peer's address.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let addr = std_listener.local_addr()?;
    /// # let listener = stream_pfd::Listener::try_from_fd(std_listener.into())?.into_tokio()?;
    /// # let _c = tokio::net::TcpStream::connect(addr).await?;
    /// let (stream, peer) = listener.accept().await?;
    /// println!("connection from {peer}");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn accept(&self) -> io::Result<(TokioStream, SocketAddress)> {
        match self {
            TokioListener::Unix(l) => {
                let (stream, addr) = l.accept().await?;
                let peer = SocketAddress::from(&std::os::unix::net::SocketAddr::from(addr));
                Ok((TokioStream::Unix(stream), peer))
            }
            TokioListener::Tcp(l) => {
                let (stream, addr) = l.accept().await?;
                Ok((TokioStream::Tcp(stream), SocketAddress::Inet(addr)))
            }
        }
    }
}

impl TokioListener {
    /// The address it listens on.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let addr = std_listener.local_addr()?;
    /// let listener = stream_pfd::Listener::try_from_fd(std_listener.into())?.into_tokio()?;
    /// assert_eq!(listener.local_addr()?, stream_pfd::addr::SocketAddress::Inet(addr));
    /// # Ok(())
    /// # }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddress> {
        Ok(match self {
            TokioListener::Unix(l) => {
                SocketAddress::from(&std::os::unix::net::SocketAddr::from(l.local_addr()?))
            }
            TokioListener::Tcp(l) => SocketAddress::Inet(l.local_addr()?),
        })
    }
}

impl AsFd for TokioListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            TokioListener::Unix(l) => l.as_fd(),
            TokioListener::Tcp(l) => l.as_fd(),
        }
    }
}

impl AsFd for TokioStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            TokioStream::Unix(s) => s.as_fd(),
            TokioStream::Tcp(s) => s.as_fd(),
        }
    }
}

impl AsyncRead for TokioStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            TokioStream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            TokioStream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for TokioStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            TokioStream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            TokioStream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            TokioStream::Unix(s) => Pin::new(s).poll_flush(cx),
            TokioStream::Tcp(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            TokioStream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            TokioStream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::{Read, Write};
    use std::os::fd::OwnedFd;
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Bytes go both ways through a `TokioStream`, over unix and tcp.
    #[test]
    fn accepted_streams_read_and_write() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let name = format!("stream-pfd-tokio-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name).unwrap();
        let unix = UnixListener::bind_addr(&addr).unwrap();
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp_addr = tcp.local_addr().unwrap();
        let timeout = Some(Duration::from_secs(10));
        // Each client as a plain fd (a File reads and writes any socket), with a read timeout.
        let unix_client = move || {
            let s = UnixStream::connect_addr(&addr).unwrap();
            s.set_read_timeout(timeout).unwrap();
            File::from(OwnedFd::from(s))
        };
        let tcp_client = move || {
            let s = std::net::TcpStream::connect(tcp_addr).unwrap();
            s.set_read_timeout(timeout).unwrap();
            File::from(OwnedFd::from(s))
        };
        // Both connect now: they wait in the listeners' queues until accepted.
        for (fd, mut client) in [
            (OwnedFd::from(unix), unix_client()),
            (OwnedFd::from(tcp), tcp_client()),
        ] {
            let listener = Listener::try_from_fd(fd).unwrap();
            client.write_all(b"ping").unwrap();
            rt.block_on(async {
                let listener = listener.into_tokio().unwrap();
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut got = [0u8; 4];
                stream.read_exact(&mut got).await.unwrap();
                assert_eq!(&got, b"ping");
                stream.write_all(b"pong").await.unwrap();
                stream.flush().await.unwrap();
                stream.shutdown().await.unwrap();
                // The stream is still open: the client sees the end only because of the
                // shutdown (a blocking read is fine here, the kernel does the work).
                let mut reply = Vec::new();
                client
                    .read_to_end(&mut reply)
                    .expect("EOF after the shutdown");
                assert_eq!(reply, b"pong");
                drop(stream);
            });
        }
    }
}
