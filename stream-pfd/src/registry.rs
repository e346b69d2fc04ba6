//! The process-wide take-once registry, keyed by socket identity (device and inode), and the
//! identity of fds by number.

use std::collections::BTreeMap;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::Mutex;

use crate::info::SocketId;
use crate::spec::FIRST_FD;
use crate::sys;
use crate::validate::fstat;

/// A socket that was claimed: through which fd number, and as what.
#[derive(Debug, Clone)]
pub(crate) struct Taken {
    /// The fd number claimed (a duplicate of the same socket at another number is not).
    pub(crate) fd: RawFd,
    /// The remote it was taken as, or why it was closed.
    pub(crate) taken_as: String,
}

/// Process-wide registry of taken sockets (identity -> how it was taken), shared by every
/// [`ListenFds`](crate::ListenFds), so no socket is ever claimed twice in this process.
static TAKEN: Mutex<BTreeMap<SocketId, Taken>> = Mutex::new(BTreeMap::new());

/// Locks the registry. A panic while it was held cannot leave it half-updated (each change is
/// one `insert`), so a poisoned lock is used as is.
pub(crate) fn taken() -> std::sync::MutexGuard<'static, BTreeMap<SocketId, Taken>> {
    TAKEN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The identity of every fd >= 3 open now, from `/proc/self/fd`; `None` without `/proc`.
pub(crate) fn snapshot_open_fds() -> Option<BTreeMap<RawFd, SocketId>> {
    // Collect the numbers first and close the directory, so its own fd is not recorded.
    let numbers: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd >= FIRST_FD)
        .collect();
    Some(
        numbers
            .into_iter()
            .filter_map(|fd| Some((fd, identity(fd)?)))
            .collect(),
    )
}

/// The identity of `fd` (`fstat`), without claiming it.
pub(crate) fn id_of(fd: BorrowedFd<'_>) -> Option<SocketId> {
    fstat(fd).ok().map(|st| SocketId::from_stat(&st))
}

/// The identity of fd number `fd`; `None` if it is not open (or `fstat` fails).
pub(crate) fn identity(fd: RawFd) -> Option<SocketId> {
    sys::with_borrowed(fd, id_of).flatten()
}
