//! Bounded waits for real readiness.
//!
//! A socket file exists as soon as `bind()` ran, before `listen()`: waiting for the path and then
//! connecting once is a race. These helpers retry the real operation (the connect, the send)
//! until it succeeds or the deadline passes, and then fail with what they waited for and the
//! last error.

use std::fmt::Display;
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant};

/// The deadline of every wait in the tests: generous, since a loaded 2-core machine can be slow,
/// yet bounded, so that a test never hangs.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// How long to sleep between attempts.
const POLL: Duration = Duration::from_millis(10);

/// Calls `attempt` until it returns `Ok`, at most [`TIMEOUT`]; then panics with
/// `timed out after 20 s waiting for WHAT; last error: E`.
pub fn until<T, E: Display>(what: &str, attempt: impl FnMut() -> Result<T, E>) -> T {
    until_within(what, TIMEOUT, attempt)
}

/// [`until`] with a deadline of `timeout`.
pub fn until_within<T, E: Display>(
    what: &str,
    timeout: Duration,
    mut attempt: impl FnMut() -> Result<T, E>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match attempt() {
            Ok(v) => return v,
            Err(e) if Instant::now() >= deadline => panic!(
                "timed out after {:.0} s waiting for {what}; last error: {e}",
                timeout.as_secs_f64()
            ),
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// Waits until `cond` holds (see [`until`]).
pub fn until_true(what: &str, mut cond: impl FnMut() -> bool) {
    until(what, || if cond() { Ok(()) } else { Err("not yet") })
}

/// Connects to the Unix stream socket at `path`, retrying while it does not exist or does not
/// listen yet; the stream gets read and write timeouts of [`TIMEOUT`].
pub fn connect_unix(path: &Path) -> UnixStream {
    let stream = until(
        &format!("a listener on {} (connect)", path.display()),
        || UnixStream::connect(path),
    );
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and(stream.set_write_timeout(Some(TIMEOUT)))
        .expect("setting socket timeouts");
    stream
}

/// Connects to a TCP address, retrying while nothing listens; with timeouts as
/// [`connect_unix`].
pub fn connect_tcp(addr: impl ToSocketAddrs + Display) -> TcpStream {
    let stream = until(&format!("a listener on {addr} (connect)"), || {
        TcpStream::connect(&addr)
    });
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and(stream.set_write_timeout(Some(TIMEOUT)))
        .expect("setting socket timeouts");
    stream
}

/// Whether a Unix stream socket bound at `path` is listening, read from `/proc/net/unix`
/// (`__SO_ACCEPTCON` in its flags), without connecting: a probe connection would take a slot of
/// a server that limits its connections. `None` when `/proc/net/unix` cannot be read.
pub fn unix_listening(path: &Path) -> Option<bool> {
    let table = std::fs::read_to_string("/proc/net/unix").ok()?;
    let want = path.to_str()?;
    Some(table.lines().skip(1).any(|line| {
        // Num RefCount Protocol Flags Type St Inode Path
        let words: Vec<&str> = line.split_whitespace().collect();
        let listening = words
            .get(3)
            .and_then(|f| u32::from_str_radix(f, 16).ok())
            .is_some_and(|f| f & 0x0001_0000 != 0);
        listening && words.get(4) == Some(&"0001") && words.get(7) == Some(&want)
    }))
}

/// Sends `bytes` to the Unix datagram socket at `path`, retrying while it is not bound yet.
pub fn send_datagram(path: &Path, bytes: &[u8]) {
    let client = UnixDatagram::unbound().expect("datagram socket");
    until(
        &format!("a datagram socket bound at {} (send)", path.display()),
        || client.send_to(bytes, path),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_returns_the_first_success() {
        let mut n = 0;
        let v = until("the third attempt", || {
            n += 1;
            if n == 3 { Ok(n) } else { Err("not yet") }
        });
        assert_eq!(v, 3);
    }

    #[test]
    #[should_panic(expected = "timed out after 0 s waiting for nothing; last error: never")]
    fn until_fails_with_what_it_waited_for() {
        until_within("nothing", Duration::from_millis(30), || {
            Err::<(), _>("never")
        });
    }

    #[test]
    fn a_bound_but_not_listening_socket_is_not_ready() {
        // bind() creates the file; only listen() makes a connect succeed.
        let dir = crate::TempDir::new("test-support-wait");
        let path = dir.join("s.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        assert!(path.exists());
        // A bound std listener already listens; the connect succeeds.
        assert_eq!(unix_listening(&path), Some(true));
        drop(connect_unix(&path));
        drop(listener);
        // A child that another test forked before the drop holds a copy until it execs (fds
        // tests do fork): wait for that, bounded, rather than assert at once.
        until_true("the closed listener to leave /proc/net/unix", || {
            unix_listening(&path) == Some(false)
        });
        // Closed: the file is still there, but nothing listens any more.
        let refused = std::panic::catch_unwind(|| {
            until_within("a closed listener", Duration::from_millis(50), || {
                UnixStream::connect(&path)
            })
        });
        assert!(refused.is_err(), "connect to a closed socket succeeded");
    }
}
