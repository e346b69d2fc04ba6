//! A stale Unix socket file, made so that no other test can keep it alive.

use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

/// Leaves a Unix stream socket file at `path` that nobody listens on, as a daemon that exited
/// leaves it: a connect to it is refused.
///
/// Binding a listener and closing it is not enough in a test process: a child that another test
/// forks meanwhile holds a copy of every fd of this process until it execs (close-on-exec acts
/// only then), and through that copy the socket still accepts. So the listener is shut down
/// first, which makes the kernel refuse connections to it whoever holds it.
pub fn stale_unix_socket(path: &Path) {
    let listener = UnixListener::bind(path)
        .unwrap_or_else(|e| panic!("binding a socket at {}: {e}", path.display()));
    shut_down(listener);
}

/// Shuts `listener` down and closes it.
fn shut_down(listener: UnixListener) {
    // std has no shutdown for listeners; this is the same shutdown(2) on the same fd.
    UnixStream::from(OwnedFd::from(listener))
        .shutdown(Shutdown::Both)
        .unwrap_or_else(|e| panic!("shutting a listener down: {e}"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::ErrorKind;

    #[test]
    fn a_copy_of_a_closed_listener_still_accepts_unless_it_was_shut_down() {
        let dir = crate::TempDir::new("test-support-stale");
        // What a forked child's copy does to a listener that is only closed.
        let closed = dir.join("closed.sock");
        let listener = UnixListener::bind(&closed).unwrap();
        let copy = listener.try_clone().unwrap();
        drop(listener);
        assert!(UnixStream::connect(&closed).is_ok(), "the copy accepts");
        drop(copy);
        // Shut down first: refused, whoever holds a copy.
        let shut = dir.join("shut.sock");
        let listener = UnixListener::bind(&shut).unwrap();
        let copy = listener.try_clone().unwrap();
        shut_down(listener);
        let err = UnixStream::connect(&shut).expect_err("a stale socket accepted");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        drop(copy);
    }

    #[test]
    fn the_stale_file_stays_and_refuses() {
        let dir = crate::TempDir::new("test-support-stale");
        let path = dir.join("s.sock");
        stale_unix_socket(&path);
        assert!(path.exists(), "closing a listener leaves its file");
        let err = UnixStream::connect(&path).expect_err("a stale socket accepted");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    }
}
