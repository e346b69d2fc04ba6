//! Every `unsafe` block of the crate lives in this module, one small function each.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Whether fd number `fd` refers to an open file description, without touching it.
pub(crate) fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads the fd's flags; it accesses no memory and changes nothing, so
    // it is harmless for any integer, open or not (a closed or negative fd gives EBADF).
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// Runs `f` with a borrow of fd number `fd`, or returns `None` if it is not open.
///
/// The borrow cannot escape `f` (the closure is generic over its lifetime).
pub(crate) fn with_borrowed<T>(fd: RawFd, f: impl FnOnce(BorrowedFd<'_>) -> T) -> Option<T> {
    if !is_open(fd) {
        return None;
    }
    // SAFETY: `fd` was just checked to be open, and this crate never closes an fd that it
    // has not claimed with `claim` (which the caller does only after `f` returns), so it stays
    // open while `f` runs. The borrow is only used for read-only queries (fstat, getsockopt,
    // getsockname, getpeername) and does not outlive `f`.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    Some(f(borrowed))
}

/// Takes ownership of inherited fd number `fd`. This is the crate's one ownership claim.
///
/// Callers must have checked, in this order and with nothing in between that could close
/// or replace the fd: that it is open, that it is the very socket (same device and inode) that
/// was recorded when the process started (`ListenFds` snapshot), and that no other claim of
/// the same socket exists (the process-wide taken registry, held locked across the call).
pub(crate) fn claim(fd: BorrowedFd<'_>) -> OwnedFd {
    // SAFETY: ownership is sound because (1) the fd is open (we hold a valid borrow of it);
    // (2) it was inherited at exec time (LISTEN_FDS range or the start-up snapshot of open
    // fds, identity re-checked by device and inode just before this call), so no `OwnedFd`
    // or std/tokio object created by this process owns it; (3) the process-wide registry of
    // taken sockets (keyed by device and inode, locked by the caller) guarantees that this is
    // the only claim, even for `pfd:3`, `pfd:03` and a name that resolve to the same socket.
    unsafe { OwnedFd::from_raw_fd(fd.as_raw_fd()) }
}

/// `getsockopt(fd, level, name)` for an `int` option.
pub(crate) fn getsockopt_int(fd: BorrowedFd<'_>, level: i32, name: i32) -> io::Result<i32> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid, writable and live for the call; `len` holds the
    // size of `value`, so the kernel writes at most that many bytes.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw mut value).cast(),
            &raw mut len,
        )
    };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(value)
}

/// A pidfd for this process (`pidfd_open(getpid(), 0)`), close-on-exec.
pub(crate) fn pidfd_self() -> io::Result<OwnedFd> {
    let pid = std::process::id() as libc::pid_t;
    // SAFETY: pidfd_open takes two integers and accesses no memory of ours.
    let rc = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let raw = RawFd::try_from(rc).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
    // SAFETY: the kernel just returned this new fd to us; nothing else knows or owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Removes `vars` from the process environment.
///
/// The caller must have checked that the process has a single thread (so no other thread
/// can read or write the environment concurrently).
pub(crate) fn remove_env_single_threaded(vars: &[&str]) {
    for var in vars {
        // SAFETY: the caller checked (via /proc/self/task) that this process has exactly one
        // thread, so nothing can access the environment concurrently with this call.
        unsafe { std::env::remove_var(var) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn is_open_tells_open_from_closed_and_negative() {
        let file = std::fs::File::open("/dev/null").unwrap();
        let fd = file.as_raw_fd();
        assert!(is_open(fd));
        drop(file);
        assert!(!is_open(fd));
        assert!(!is_open(-1));
        assert!(!is_open(RawFd::MIN));
    }

    #[test]
    fn getsockopt_int_reads_a_socket_and_fails_on_a_file() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("stream-pfd-sys-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name).unwrap();
        let socket = std::os::unix::net::UnixListener::bind_addr(&addr).unwrap();
        let kind = getsockopt_int(socket.as_fd(), libc::SOL_SOCKET, libc::SO_TYPE).unwrap();
        assert_eq!(kind, libc::SOCK_STREAM);
        let listening =
            getsockopt_int(socket.as_fd(), libc::SOL_SOCKET, libc::SO_ACCEPTCONN).unwrap();
        assert_eq!(listening, 1);
        let file = std::fs::File::open("/dev/null").unwrap();
        let err = getsockopt_int(file.as_fd(), libc::SOL_SOCKET, libc::SO_TYPE).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOTSOCK));
    }
}
