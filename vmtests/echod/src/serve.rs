//! The data plane: accepting client connections on a listener, connecting out to `unix:`/`tcp:`
//! remotes, and serving JSON-RPC on each connection. Each function here runs as (or in) a task
//! that the supervisor spawns; none of them knows about the remote set.

use super::jsonrpc::{Decoder, FrameError};
use super::plane::{ConnGuard, DataPlane};
use super::protocol;
use remote_policy::Remote;
use std::os::fd::AsFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stream_pfd::{TokioListener, TokioStream};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Reconnection backoff for `unix:`/`tcp:` remotes: first and largest delay.
const BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(8));
/// The read buffer's size while a peer sends small messages, and its largest size, reached
/// by doubling while reads fill it (a large message); it shrinks back once the connection has
/// nothing half-way.
const READ_MIN: usize = 4 * 1024;
const READ_MAX: usize = 64 * 1024;

/// The most reply-buffer capacity an idle connection keeps.
const OUT_KEEP: usize = 16 * 1024;

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
    T: AsyncRead + AsyncWrite + AsFd + Unpin + Send + 'static,
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
    S: AsyncRead + AsyncWrite + AsFd + Unpin + Send + 'static,
{
    let plane = plane.clone();
    let label = label.to_owned();
    tokio::spawn(async move {
        // Released when the connection ends.
        let _slot = slot;
        serve_client(stream, &plane, &label, source).await;
    });
}

/// How long a connection that has not yet had an answer (or holds half a message) may still
/// send its request once shutdown begins: a client that connected just before SIGTERM still
/// gets its reply instead of a closed connection.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// The `echo` request sent to a silent client (`ovsdb-server`'s inactivity probe).
const PROBE: &[u8] = br#"{"id":"echo","method":"echo","params":[]}"#;

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
async fn serve_client<S>(mut stream: S, plane: &DataPlane, label: &str, source: ConnectionSource)
where
    S: AsyncRead + AsyncWrite + AsFd + Unpin,
{
    use tokio::time::Instant;
    let timeouts = plane.timeouts;
    let mut dec = Decoder::new(plane.max_message_size.load(Ordering::Relaxed));
    let mut buf = vec![0u8; READ_MIN];
    let mut out = Vec::new();
    // This connection's half-received message in the memory budget.
    let mut share = plane.buffer_share();
    let mut answered_any = false;
    let mut drain_until: Option<Instant> = None;
    let mut last_byte = Instant::now();
    let mut partial_since: Option<Instant> = None;
    let mut probed = false;
    let can_hand_over = !matches!(source, ConnectionSource::Outgoing);
    if let ConnectionSource::Resumed(pending) = source {
        answered_any = true;
        if !pending.is_empty() {
            // Only ever a message's first part (every complete one was answered before the
            // handover): scanned now, so that the decoder holds it as pending again, should
            // echod stop before the client sends the rest.
            dec.feed(&pending);
            match dec.next_message() {
                Ok(None) if dec.has_partial() => partial_since = Some(Instant::now()),
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
        }
    }
    loop {
        // The next moment something must have happened.
        let stall = match (partial_since, timeouts.inactivity_probe) {
            (Some(since), _) => Some(since + timeouts.message),
            (None, Some(probe)) => Some(last_byte + if probed { probe * 2 } else { probe }),
            (None, None) => None,
        };
        let deadline = match (drain_until, stall) {
            (Some(d), Some(s)) => Some(d.min(s)),
            (d, s) => d.or(s),
        };
        let timed_read = async {
            match deadline {
                Some(d) => tokio::time::timeout_at(d, stream.read(&mut buf)).await.ok(),
                None => Some(stream.read(&mut buf).await),
            }
        };
        let n = if drain_until.is_some() {
            timed_read.await
        } else {
            tokio::select! {
                biased;
                r = timed_read => r,
                _ = plane.stopped() => {
                    if can_hand_over {
                        if let Some(store) = plane.sessions.get() {
                            match store.hand_over(stream.as_fd(), dec.pending()).await {
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
                    if answered_any && !dec.has_partial() {
                        break;
                    }
                    drain_until = Some(Instant::now() + STOP_GRACE);
                    continue;
                }
            }
        };
        let Some(n) = n else {
            // A deadline passed with nothing read.
            if drain_until.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            if partial_since.is_some() {
                plane.warn_limited(format!(
                    "{label}: closing connection: a message was not complete {} ms after its \
                     first byte (--message-timeout)",
                    timeouts.message.as_millis()
                ));
                break;
            }
            if probed {
                plane.warn_limited(format!(
                    "{label}: closing connection: no answer to the inactivity probe \
                     (--inactivity-probe)"
                ));
                break;
            }
            probed = true;
            if stream.write_all(PROBE).await.is_err() {
                break;
            }
            continue;
        };
        match n {
            Ok(0) => {
                if dec.has_partial() {
                    log::debug!("{label}: peer closed the connection in the middle of a message");
                }
                break;
            }
            Ok(n) => {
                last_byte = Instant::now();
                probed = false;
                dec.feed(&buf[..n]);
                if n == buf.len() && buf.len() < READ_MAX {
                    buf.resize(buf.len() * 2, 0);
                }
            }
            Err(e) => {
                log::debug!("{label}: read failed: {e}");
                break;
            }
        }
        let decoded = loop {
            match dec.next_message() {
                Ok(Some(m)) => protocol::answer(m, &mut out),
                Ok(None) => match share.set(dec.pending_len()) {
                    Ok(()) => break Ok(()),
                    Err(budget) => break Err(FrameError::NoMemory { budget }),
                },
                Err(e) => break Err(e),
            }
        };
        if let Err(e) = decoded {
            plane.warn_limited(format!("{label}: closing connection: {e}"));
            out.extend_from_slice(&e.to_reply());
            let _ = stream.write_all(&out).await;
            let _ = stream.shutdown().await;
            break;
        }
        partial_since = match (dec.has_partial(), partial_since) {
            (false, _) => None,
            (true, None) => Some(last_byte),
            (true, since) => since,
        };
        if !out.is_empty() {
            if let Err(e) = stream.write_all(&out).await {
                log::debug!("{label}: write failed: {e}");
                break;
            }
            out.clear();
            if out.capacity() > OUT_KEEP {
                out = Vec::new();
            }
            answered_any = true;
        }
        if !dec.has_partial() {
            dec.shrink_idle();
            if buf.len() > READ_MIN {
                buf = vec![0u8; READ_MIN];
            }
        }
        if drain_until.is_some() && answered_any && !dec.has_partial() {
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
