//! The streams the data plane serves, and how a request is read off each of them.
//!
//! Why a Unix stream is peeked at first: taking bytes off a Unix stream socket's receive queue
//! frees the sender's buffer space, and the kernel then wakes every thread sleeping on the sender's
//! socket, whatever it waits for (`unix_write_space`: the wait of a blocking `read` is not filtered
//! by event). A client that writes a request and then blocks reading its reply is so woken before
//! the reply exists; if it runs before the reply is written, it finds nothing, sleeps again, and is
//! woken a second time by the reply, and each wake-up with its context switches costs more than the
//! request itself (issue 27: one wake-up is about 30 % of a server's CPU time at 16 clients, `perf
//! record -g`). So the data plane peeks at what is queued, answers it, writes the replies, and only
//! then takes the bytes off the queue: the client is woken by its reply. Measured on 2 CPUs at 16
//! clients (`getrusage`, 1 s windows), echod's clients sleep 1.06 to 1.09 times per round trip, and
//! 1.18 to 1.34 when the request is taken first. The price is one more `recv` per read: echod
//! without the peek / with it, interleaved rounds as in `benches/peer.rs`, 0.90, 0.96 and 1.00 at
//! 16 clients, 1.04 and 1.05 at 1 client. That is why a message that arrives in many reads (a large
//! one) is read without peeking.
//!
//! TCP does not need it: a TCP sender is woken for buffer space only once it ran out of it.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, Interest};

/// A stream the data plane serves.
pub(crate) trait Transport: AsyncRead + AsyncWrite + AsFd + Unpin {
    /// Waits until bytes are queued and copies them into `buf` without taking them off the
    /// stream (`Some(0)`: the peer closed its end). `None`: this kind of stream is not peeked
    /// at; read it with `poll_read`.
    fn poll_peek(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<Option<usize>>>;

    /// The socket, taken out of the runtime that registered it (to be served on another:
    /// [`super::shards`]).
    fn into_fd(self) -> io::Result<OwnedFd>;

    /// A stream of this kind on `fd` (non-blocking), registered with the current runtime.
    fn from_fd(fd: OwnedFd) -> io::Result<Self>
    where
        Self: Sized;
}

impl Transport for tokio::net::UnixStream {
    fn into_fd(self) -> io::Result<OwnedFd> {
        Ok(self.into_std()?.into())
    }

    fn from_fd(fd: OwnedFd) -> io::Result<Self> {
        Self::from_std(fd.into())
    }

    fn poll_peek(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<Option<usize>>> {
        use nix::sys::socket::{MsgFlags, recv};
        let fd = self.as_raw_fd();
        loop {
            ready!(self.poll_read_ready(cx))?;
            // Clears the readiness on `WouldBlock`, so that the next poll waits for more.
            match self.try_io(Interest::READABLE, || {
                recv(fd, buf, MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT).map_err(io::Error::from)
            }) {
                Ok(n) => return Poll::Ready(Ok(Some(n))),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl Transport for tokio::net::TcpStream {
    fn into_fd(self) -> io::Result<OwnedFd> {
        Ok(self.into_std()?.into())
    }

    fn from_fd(fd: OwnedFd) -> io::Result<Self> {
        Self::from_std(fd.into())
    }

    fn poll_peek(&mut self, _: &mut Context<'_>, _: &mut [u8]) -> Poll<io::Result<Option<usize>>> {
        Poll::Ready(Ok(None))
    }
}
