//! The data plane: accepting client connections on a listener, connecting out to `unix:`/`tcp:`
//! remotes, and serving JSON-RPC on each connection. Each function here runs as (or in) a task
//! that the supervisor spawns; none of them knows about the remote set.

use super::jsonrpc::{Decoder, FrameError};
use super::plane::{BufferShare, ConnGuard, DataPlane};
use super::protocol;
use super::transport::Transport;
use remote_policy::Remote;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use stream_pfd::{TokioListener, TokioStream};
use tokio::io::{AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Reconnection backoff for `unix:`/`tcp:` remotes: first and largest delay.
const BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(8));
/// The most reply-buffer capacity a runtime thread keeps after a large reply.
const OUT_KEEP: usize = 64 * 1024;

/// Accepts connections on `listener` until shutdown or until the remote is removed (the task is
/// aborted).
///
/// A connection slot (`--max-connections`) is reserved before each accept: at the limit, new
/// connections wait in the listen queue (with one rate-limited warning) instead of being
/// accepted and dropped with their requests unread, and go on as soon as a connection closes.
///
/// At shutdown a listener echod bound (`drain_queue`) is drained first: every connection
/// already queued is accepted and served within the stop grace, because closing the listener
/// would reset them. An inherited listener is not: systemd keeps it, and the connections
/// queued on it wait for the next instance.
pub(crate) async fn accept_loop(
    listener: TokioListener,
    plane: Arc<DataPlane>,
    label: String,
    drain_queue: bool,
) {
    let _accepting = plane.accept_loop_running();
    loop {
        let slot = tokio::select! {
            biased;
            _ = plane.stopped() => break,
            slot = plane.reserve_slot(&label) => slot,
        };
        let accepted = tokio::select! {
            biased;
            _ = plane.stopped() => break,
            r = listener.accept() => r,
        };
        // Each family is served by its own instance of `serve_client` (no per-read dispatch).
        match accepted {
            Ok((stream, _)) => {
                spawn_stream(&plane, stream, &label, ConnectionSource::Accepted, slot)
            }
            Err(e) => {
                let raw = e.raw_os_error();
                if raw == Some(libc::ECONNABORTED) || raw == Some(libc::EINTR) {
                    continue;
                }
                plane.warn_limited(format!("{label}: accept failed: {e}"));
                // EMFILE/ENFILE/ENOBUFS: back off briefly instead of spinning.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    if drain_queue {
        drain(listener, &plane, &label).await;
    }
}

/// How long the shutdown drain keeps trying to accept while no connection slot or no fd is
/// free (`EMFILE`, `ENFILE`): connections being answered free theirs meanwhile. Below the
/// daemon's stop grace, so that what is accepted late is still answered.
const DRAIN_WAIT: Duration = Duration::from_secs(4);

/// Accepts, without waiting for new ones, every connection queued on `listener` and serves each.
async fn drain(listener: TokioListener, plane: &Arc<DataPlane>, label: &str) {
    match listener {
        TokioListener::Unix(l) => {
            if let Ok(l) = l.into_std() {
                drain_std(
                    || l.accept().map(|(s, _)| s),
                    tokio::net::UnixStream::from_std,
                    plane,
                    label,
                )
                .await;
            }
        }
        TokioListener::Tcp(l) => {
            if let Ok(l) = l.into_std() {
                drain_std(
                    || l.accept().map(|(s, _)| s),
                    tokio::net::TcpStream::from_std,
                    plane,
                    label,
                )
                .await;
            }
        }
    }
}

/// Calls `accept` (non-blocking) until the queue is empty, serving each stream through tokio.
/// Without a free connection slot or fd it waits and tries again (at most [`DRAIN_WAIT`]):
/// stopping there would reset the clients still queued, their requests unread.
async fn drain_std<S, T>(
    accept: impl Fn() -> std::io::Result<S>,
    to_tokio: impl Fn(S) -> std::io::Result<T>,
    plane: &Arc<DataPlane>,
    label: &str,
) where
    S: std::os::fd::AsFd,
    T: Transport + Send + 'static,
{
    let deadline = tokio::time::Instant::now() + DRAIN_WAIT;
    loop {
        let slot = match tokio::time::timeout_at(deadline, plane.reserve_slot(label)).await {
            Ok(slot) => slot,
            Err(_) => {
                plane.warn_limited(format!(
                    "{label}: no connection slot freed within {} s at shutdown; the \
                     connections still queued are closed",
                    DRAIN_WAIT.as_secs()
                ));
                return;
            }
        };
        let s = loop {
            match accept() {
                Ok(s) => break s,
                Err(e)
                    if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
                        && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
                Err(e) => {
                    if e.kind() != std::io::ErrorKind::WouldBlock {
                        plane.warn_limited(format!("{label}: draining the queue at shutdown: {e}"));
                    }
                    return;
                }
            }
        };
        // Accepted streams do not inherit O_NONBLOCK; tokio needs it.
        let nonblocking = nix::fcntl::fcntl(&s, nix::fcntl::FcntlArg::F_GETFL).and_then(|f| {
            let flags = nix::fcntl::OFlag::from_bits_retain(f) | nix::fcntl::OFlag::O_NONBLOCK;
            nix::fcntl::fcntl(&s, nix::fcntl::FcntlArg::F_SETFL(flags))
        });
        if nonblocking.is_ok() {
            if let Ok(s) = to_tokio(s) {
                spawn_client(plane, s, label, ConnectionSource::Accepted, slot);
            }
        }
    }
}

/// How a connection came to be served.
#[derive(Debug)]
pub(crate) enum ConnectionSource {
    /// Accepted on one of echod's listeners.
    Accepted,
    /// Taken back from the fd store, with the bytes of a half-received message.
    Resumed(Vec<u8>),
    /// Made by echod to a `unix:`/`tcp:` remote (never handed over: the next instance
    /// reconnects).
    Outgoing,
}

/// Serves a tokio stream of either family (TCP without Nagle), in the connection slot `slot`.
pub(crate) fn spawn_stream(
    plane: &Arc<DataPlane>,
    stream: TokioStream,
    label: &str,
    source: ConnectionSource,
    slot: ConnGuard,
) {
    match stream {
        TokioStream::Unix(s) => spawn_client(plane, s, label, source, slot),
        TokioStream::Tcp(s) => {
            let _ = s.set_nodelay(true);
            spawn_client(plane, s, label, source, slot)
        }
    }
}

fn spawn_client<S>(
    plane: &Arc<DataPlane>,
    stream: S,
    label: &str,
    source: ConnectionSource,
    slot: ConnGuard,
) where
    S: Transport + Send + 'static,
{
    let plane = plane.clone();
    let label = label.to_owned();
    // The stream leaves this runtime's epoll here and joins its shard's there.
    let fd = match stream.into_fd() {
        Ok(fd) => fd,
        Err(e) => {
            plane.warn_limited(format!(
                "{label}: cannot hand the connection to a data-plane thread: {e}"
            ));
            return;
        }
    };
    let shards = plane.shards.clone();
    shards.spawn(move || async move {
        // Released when the connection ends.
        let _slot = slot;
        match S::from_fd(fd) {
            Ok(stream) => serve_client(stream, &plane, &label, source).await,
            Err(e) => plane.warn_limited(format!("{label}: cannot serve the connection: {e}")),
        }
    });
}

/// How long a connection that has not yet had an answer (or holds half a message) may still
/// send its request once shutdown begins: a client that connected just before SIGTERM still
/// gets its reply instead of a closed connection.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// The `echo` request sent to a silent client (`ovsdb-server`'s inactivity probe).
const PROBE: &[u8] = br#"{"id":"echo","method":"echo","params":[]}"#;

/// Each runtime thread's buffers for the data plane: a connection reads into `read`, answers
/// every complete message it read into `out` and writes `out`, all in one poll, so that only
/// what must outlive the poll stays with the connection: the start of an incomplete message
/// (in its decoder) and replies the socket did not take at once (its `unsent`). An idle
/// connection holds no buffer.
struct Scratch {
    read: Box<[u8]>,
    out: Vec<u8>,
}

/// The most bytes one read takes.
const READ_SIZE: usize = 64 * 1024;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch {
        read: vec![0u8; READ_SIZE].into_boxed_slice(),
        out: Vec::new(),
    });
}

/// What ended a wait of [`serve_client`].
enum Event {
    /// Bytes were read and decoded, and their replies written or queued in `unsent`; `Err`
    /// when they held a bad message (its error reply is queued after the others).
    Read(Result<(), FrameError>),
    /// The peer closed the connection.
    Closed,
    /// Reading or writing failed.
    Failed(std::io::Error),
    /// The deadline passed with nothing read.
    Deadline,
    /// Shutdown began.
    Stop,
}

/// One connection's state between reads (besides its stream).
struct Conn<'p> {
    dec: Decoder,
    /// This connection's half-received message in the memory budget.
    share: BufferShare<'p>,
    /// Replies the socket did not take yet (empty, and without capacity, while idle).
    unsent: Vec<u8>,
    answered_any: bool,
    last_byte: Instant,
    partial_since: Option<Instant>,
    probed: bool,
}

impl Conn<'_> {
    /// Reads what `stream` has into the thread's buffer, answers every complete message and
    /// writes the replies, as far as the socket takes them without waiting (the rest goes to
    /// `unsent`). `Pending` when there is nothing to read.
    ///
    /// Between messages a stream that can be peeked at ([`Transport::poll_peek`]) is answered
    /// first and read after: the bytes are taken off the socket once their replies are written,
    /// with whatever came meanwhile (answered in the same poll).
    fn poll_read_answer<S: Transport>(
        &mut self,
        cx: &mut Context<'_>,
        stream: &mut S,
    ) -> Poll<Event> {
        let polled = SCRATCH.try_with(|scratch| {
            let Scratch { read, out } = &mut *scratch.borrow_mut();
            let mut answered = 0;
            let mut decoded = Ok(());
            if !self.dec.has_partial() {
                match stream.poll_peek(cx, read) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => return Poll::Ready(Event::Failed(e)),
                    Poll::Ready(Ok(Some(0))) => return Poll::Ready(Event::Closed),
                    Poll::Ready(Ok(Some(n))) => {
                        decoded = self.answer(&read[..n], out);
                        if let Some(failed) = self.write_out(cx, stream, out, decoded.is_ok()) {
                            return Poll::Ready(failed);
                        }
                        answered = n;
                    }
                    Poll::Ready(Ok(None)) => {}
                }
            }
            let mut rb = ReadBuf::new(read);
            let taken = match Pin::new(&mut *stream).poll_read(cx, &mut rb) {
                Poll::Pending if answered == 0 => return Poll::Pending,
                Poll::Pending => Err(std::io::Error::other(
                    "the bytes peeked at were not there to read",
                )),
                Poll::Ready(r) => r,
            };
            let data = rb.filled();
            let event = match taken {
                // The connection is closed after a bad message: its error counts.
                _ if decoded.is_err() => Event::Read(decoded),
                Err(e) => Event::Failed(e),
                Ok(()) if data.is_empty() && answered == 0 => Event::Closed,
                Ok(()) if data.len() < answered => Event::Failed(std::io::Error::other(
                    "fewer bytes to read than were peeked at",
                )),
                Ok(()) if data.len() == answered => Event::Read(decoded),
                Ok(()) => {
                    let decoded = self.answer(&data[answered..], out);
                    match self.write_out(cx, stream, out, decoded.is_ok()) {
                        Some(failed) => failed,
                        None => Event::Read(decoded),
                    }
                }
            };
            Poll::Ready(event)
        });
        polled.unwrap_or_else(|_| {
            Poll::Ready(Event::Failed(std::io::Error::other(
                "the runtime thread is exiting",
            )))
        })
    }

    /// Decodes `data` and appends the replies to every complete message to `out` (an error
    /// reply last for a bad message).
    fn answer(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
        self.last_byte = Instant::now();
        self.probed = false;
        let decoded = self
            .dec
            .decode(data, |m| protocol::answer(&m, out))
            .and_then(|()| {
                self.share
                    .set(self.dec.pending_len())
                    .map_err(|budget| FrameError::NoMemory { budget })
            });
        if let Err(e) = &decoded {
            out.extend_from_slice(&e.to_reply());
        }
        decoded
    }

    /// Writes `out` (after `unsent`, if any) as far as the socket takes it without waiting and
    /// keeps the rest in `unsent`; `out` is empty after. `Some` when the write failed and
    /// `fail` says that ends the wait (not after a bad message, whose error is the event).
    fn write_out<S: Transport>(
        &mut self,
        cx: &mut Context<'_>,
        stream: &mut S,
        out: &mut Vec<u8>,
        fail: bool,
    ) -> Option<Event> {
        let mut failed = None;
        if !self.unsent.is_empty() {
            self.unsent.extend_from_slice(out);
        } else if !out.is_empty() {
            match write_now(cx, stream, out) {
                Ok(n) if n == out.len() => self.answered_any = true,
                // The rest waits for the socket, in the connection's own buffer.
                Ok(n) => self.unsent.extend_from_slice(&out[n..]),
                Err(e) if fail => failed = Some(Event::Failed(e)),
                Err(_) => {}
            }
        }
        out.clear();
        if out.capacity() > OUT_KEEP {
            *out = Vec::new();
        }
        failed
    }
}

/// Writes `out` to `stream` as far as it takes it without waiting; the number of bytes written.
fn write_now<S: AsyncWrite + Unpin>(
    cx: &mut Context<'_>,
    stream: &mut S,
    out: &[u8],
) -> std::io::Result<usize> {
    let mut n = 0;
    while n < out.len() {
        match Pin::new(&mut *stream).poll_write(cx, &out[n..]) {
            Poll::Ready(Ok(0)) => return Err(std::io::ErrorKind::WriteZero.into()),
            Poll::Ready(Ok(k)) => n += k,
            Poll::Ready(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => break,
        }
    }
    Ok(n)
}

/// A deadline kept in one timer for the connection's life, moved lazily: it is set again when
/// the deadline comes earlier than the timer, or when the timer fires before the deadline (a
/// read meanwhile pushed the deadline later). So a round trip, which pushes the deadline later,
/// touches no timer.
fn poll_deadline(
    cx: &mut Context<'_>,
    mut sleep: Pin<&mut Sleep>,
    armed: &mut bool,
    deadline: Option<Instant>,
) -> Poll<()> {
    let Some(d) = deadline else {
        // A timer set before may still fire: one spurious wake-up.
        return Poll::Pending;
    };
    if !*armed || sleep.deadline() > d {
        sleep.as_mut().reset(d);
        *armed = true;
    }
    loop {
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        if sleep.deadline() >= d {
            return Poll::Ready(());
        }
        sleep.as_mut().reset(d);
    }
}

/// Serves JSON-RPC on one connection until the peer closes, a bad message arrives, the peer
/// stalls, or shutdown begins while the connection is idle (requests already read are always
/// answered; a connection that has not been answered yet, or holds half a message, gets
/// [`STOP_GRACE`] to finish).
///
/// Stalls ([`Timeouts`](super::plane::Timeouts)): a message must be complete within the
/// message timeout of its first byte; a client silent for the inactivity probe interval gets an
/// `echo` request, and is disconnected if it stays silent as long again.
///
/// At shutdown under `--keep-sessions`, an accepted or resumed connection is handed to the
/// service manager's fd store instead (see [`super::sessions`]), with every reply written.
///
/// Cost and memory: each wait polls the read, then the deadline, then shutdown, in one
/// `poll_fn`; a read is decoded and answered from the thread's buffers ([`Scratch`]) and the
/// replies written in the same poll: one `send` per round trip, and one `recv` (TCP) or a peek
/// and a `recv` (Unix, taken after the reply: see [`super::transport`]). The deadline's
/// timer and the shutdown future are made once per connection, not per read. Between
/// messages a connection keeps no buffer: its decoder's (freed after a large message), and
/// `unsent` only while the peer does not read its replies.
async fn serve_client<S>(mut stream: S, plane: &DataPlane, label: &str, source: ConnectionSource)
where
    S: Transport,
{
    let timeouts = plane.timeouts;
    let mut c = Conn {
        dec: Decoder::new(plane.max_message_size.load(Ordering::Relaxed)),
        share: plane.buffer_share(),
        unsent: Vec::new(),
        answered_any: false,
        last_byte: Instant::now(),
        partial_since: None,
        probed: false,
    };
    let mut drain_until: Option<Instant> = None;
    let can_hand_over = !matches!(source, ConnectionSource::Outgoing);
    if let ConnectionSource::Resumed(pending) = source {
        c.answered_any = true;
        if !pending.is_empty() {
            // Only ever a message's first part (every complete one was answered before the
            // handover): scanned now, so that the decoder holds it as pending again, should
            // echod stop before the client sends the rest.
            c.dec.feed(&pending);
            match c.dec.next_message() {
                Ok(None) if c.dec.has_partial() => c.partial_since = Some(Instant::now()),
                other => {
                    plane.warn_limited(format!(
                        "{label}: closing the resumed session: its pending bytes are not the \
                         start of one message ({})",
                        match other {
                            Err(e) => e.to_string(),
                            Ok(Some(_)) => "a complete message".to_owned(),
                            Ok(None) => "no message at all".to_owned(),
                        }
                    ));
                    return;
                }
            }
            // Counted like any half message.
            let _ = c.share.set(c.dec.pending_len());
        }
    }
    let stopped = plane.stopped();
    tokio::pin!(stopped);
    let mut stop_seen = false;
    let sleep = tokio::time::sleep_until(Instant::now());
    tokio::pin!(sleep);
    let mut armed = false;
    loop {
        // The next moment something must have happened.
        let stall = match (c.partial_since, timeouts.inactivity_probe) {
            (Some(since), _) => Some(since + timeouts.message),
            (None, Some(probe)) => Some(c.last_byte + if c.probed { probe * 2 } else { probe }),
            (None, None) => None,
        };
        let deadline = match (drain_until, stall) {
            (Some(d), Some(s)) => Some(d.min(s)),
            (d, s) => d.or(s),
        };
        let event = std::future::poll_fn(|cx| {
            if let Poll::Ready(e) = c.poll_read_answer(cx, &mut stream) {
                return Poll::Ready(e);
            }
            if poll_deadline(cx, sleep.as_mut(), &mut armed, deadline).is_ready() {
                return Poll::Ready(Event::Deadline);
            }
            if !stop_seen && stopped.as_mut().poll(cx).is_ready() {
                stop_seen = true;
                return Poll::Ready(Event::Stop);
            }
            Poll::Pending
        })
        .await;
        let decoded = match event {
            Event::Read(decoded) => decoded,
            Event::Closed => {
                if c.dec.has_partial() {
                    log::debug!("{label}: peer closed the connection in the middle of a message");
                }
                break;
            }
            Event::Failed(e) => {
                log::debug!("{label}: read or write failed: {e}");
                break;
            }
            Event::Stop => {
                if can_hand_over {
                    if let Some(store) = plane.sessions.get() {
                        // Every reply written first: the next instance answers only what
                        // comes after.
                        if !c.unsent.is_empty() && stream.write_all(&c.unsent).await.is_err() {
                            break;
                        }
                        c.unsent = Vec::new();
                        // Boxed: a rare path, kept out of every connection's future.
                        match Box::pin(store.hand_over(stream.as_fd(), c.dec.pending())).await {
                            Ok(name) => {
                                log::debug!("{label}: session handed to the fd store as {name}");
                                return;
                            }
                            Err(e) => plane.warn_limited(format!(
                                "{label}: cannot hand the session to the fd store ({e}); \
                                 closing it"
                            )),
                        }
                    }
                }
                if c.answered_any && !c.dec.has_partial() {
                    break;
                }
                drain_until = Some(Instant::now() + STOP_GRACE);
                continue;
            }
            Event::Deadline => {
                if drain_until.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                if c.partial_since.is_some() {
                    plane.warn_limited(format!(
                        "{label}: closing connection: a message was not complete {} ms after \
                         its first byte (--message-timeout)",
                        timeouts.message.as_millis()
                    ));
                    break;
                }
                if c.probed {
                    plane.warn_limited(format!(
                        "{label}: closing connection: no answer to the inactivity probe \
                         (--inactivity-probe)"
                    ));
                    break;
                }
                c.probed = true;
                if stream.write_all(PROBE).await.is_err() {
                    break;
                }
                continue;
            }
        };
        if let Err(e) = decoded {
            plane.warn_limited(format!("{label}: closing connection: {e}"));
            let _ = stream.write_all(&c.unsent).await;
            let _ = stream.shutdown().await;
            break;
        }
        c.partial_since = match (c.dec.has_partial(), c.partial_since) {
            (false, _) => None,
            (true, None) => Some(c.last_byte),
            (true, since) => since,
        };
        if !c.unsent.is_empty() {
            // The peer is slow to read: no more is read from it until it has taken these.
            if let Err(e) = stream.write_all(&c.unsent).await {
                log::debug!("{label}: write failed: {e}");
                break;
            }
            c.unsent = Vec::new();
            c.answered_any = true;
        }
        if !c.dec.has_partial() {
            c.dec.shrink_idle();
        }
        if drain_until.is_some() && c.answered_any && !c.dec.has_partial() {
            break;
        }
    }
}

/// Connects to a `unix:`/`tcp:` remote and serves that connection; reconnects with backoff.
/// `status` is the remote's line in `echod/list-remotes`.
pub(crate) async fn connect_loop(
    remote: Remote,
    plane: Arc<DataPlane>,
    status: Arc<Mutex<String>>,
) {
    let label = remote.to_string();
    let set_status = |s: String| {
        if let Ok(mut g) = status.lock() {
            *g = s;
        }
    };
    let mut backoff = BACKOFF.0;
    loop {
        set_status("connecting".into());
        let connected = tokio::select! {
            biased;
            _ = plane.stopped() => return,
            r = tokio::time::timeout(Duration::from_secs(10), connect(&remote)) => match r {
                Ok(r) => r,
                Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "connection timed out")),
            },
        };
        match connected {
            Ok((stream, peer)) => {
                log::info!("{label}: connected to {peer}");
                set_status(format!("connected to {peer}"));
                backoff = BACKOFF.0;
                let _counted = plane.count_outgoing();
                match stream {
                    TokioStream::Unix(s) => {
                        serve_client(s, &plane, &label, ConnectionSource::Outgoing).await
                    }
                    TokioStream::Tcp(s) => {
                        serve_client(s, &plane, &label, ConnectionSource::Outgoing).await
                    }
                }
                log::info!("{label}: connection closed");
            }
            Err(e) => {
                plane.warn_limited(format!("{label}: connection failed: {e}"));
                set_status(format!(
                    "connection failed ({e}); retrying in {} s",
                    backoff.as_secs()
                ));
            }
        }
        tokio::select! {
            _ = plane.stopped() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(BACKOFF.1);
    }
}

async fn connect(remote: &Remote) -> std::io::Result<(TokioStream, String)> {
    match remote {
        Remote::Unix(path) => {
            let s = tokio::net::UnixStream::connect(path.as_path()).await?;
            Ok((TokioStream::Unix(s), path.to_string()))
        }
        Remote::Tcp(ep) => {
            let s = match ep.host().ip() {
                Some(ip) => tokio::net::TcpStream::connect((ip, ep.port())).await?,
                None => tokio::net::TcpStream::connect((ep.host().to_string(), ep.port())).await?,
            };
            s.set_nodelay(true)?;
            let peer = s
                .peer_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| ep.to_string());
            Ok((TokioStream::Tcp(s), peer))
        }
        other => Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!("{other} is not an outgoing remote"),
        )),
    }
}
