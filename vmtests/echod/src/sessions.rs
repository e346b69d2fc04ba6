//! Sessions that survive a restart (`--keep-sessions`).
//!
//! At SIGTERM, every accepted client connection is handed to systemd's fd store
//! (`FDSTORE=1`, `FileDescriptorStoreMax=` in the unit) instead of being closed. Replies to every
//! request already read have been written by then; the bytes of a message that was half
//! received travel beside the socket in a memfd. systemd passes both back to the next instance
//! in `LISTEN_FDS`, which takes them as connections (`stream-pfd`'s connection API), feeds the
//! half message to a fresh decoder and serves on: the client sees no disconnect and no request
//! is lost or answered twice. A client that hangs up while echod is down is dropped by systemd
//! (it polls stored sockets).
//!
//! Names in the store: `echod-s<pid>-<n>` (the connection) and `echod-b<pid>-<n>` (its pending
//! bytes, only when there are some). The new instance removes the names it took back
//! (`FDSTOREREMOVE=1`), so the store never holds a session twice.

use std::fmt;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use stream_pfd::notify::{Notifier, State};
use stream_pfd::{Connection, ListenFds, PfdSpec};

const SOCKET_PREFIX: &str = "echod-s";
const BYTES_PREFIX: &str = "echod-b";

/// Where sessions go at SIGTERM: the service manager's fd store.
#[derive(Debug)]
pub(crate) struct SessionStore {
    notifier: Notifier,
    pid: u32,
    next: AtomicU64,
    handed: AtomicUsize,
}

impl SessionStore {
    /// A store reached through `notifier` (from `NOTIFY_SOCKET`).
    pub(crate) fn new(notifier: Notifier) -> SessionStore {
        SessionStore {
            notifier,
            pid: std::process::id(),
            next: AtomicU64::new(0),
            handed: AtomicUsize::new(0),
        }
    }

    /// Sessions handed over so far.
    pub(crate) fn handed(&self) -> usize {
        self.handed.load(Ordering::Acquire)
    }

    /// Hands one connection, with the bytes of its half-received message, to the fd store.
    /// Returns the session's name; on error nothing of it is in the store and the caller
    /// closes the connection.
    pub(crate) fn hand_over(&self, conn: BorrowedFd<'_>, pending: &[u8]) -> Result<String, String> {
        let id = format!("{}-{}", self.pid, self.next.fetch_add(1, Ordering::Relaxed));
        let bytes_name = format!("{BYTES_PREFIX}{id}");
        if !pending.is_empty() {
            let memfd = memfd_with(pending).map_err(|e| format!("memfd for pending bytes: {e}"))?;
            self.notifier
                .send_with_fds(
                    &[State::FdStore {
                        name: &bytes_name,
                        poll: false,
                    }],
                    &[memfd.as_fd()],
                )
                .map_err(|e| e.to_string())?;
        }
        let name = format!("{SOCKET_PREFIX}{id}");
        let sent = self.notifier.send_with_fds(
            &[State::FdStore {
                name: &name,
                poll: true,
            }],
            &[conn],
        );
        if let Err(e) = sent {
            if !pending.is_empty() {
                let _ = self
                    .notifier
                    .send(&[State::FdStoreRemove { name: &bytes_name }]);
            }
            return Err(e.to_string());
        }
        self.handed.fetch_add(1, Ordering::AcqRel);
        Ok(name)
    }
}

/// A memfd holding `bytes`.
fn memfd_with(bytes: &[u8]) -> std::io::Result<OwnedFd> {
    let fd =
        nix::sys::memfd::memfd_create(c"echod-pending", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)?;
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes)?;
    Ok(file.into())
}

/// A session taken back from the fd store.
#[derive(Debug)]
pub(crate) struct Resumed {
    /// The connection, validated as a connected stream socket.
    pub(crate) conn: Connection,
    /// The bytes of the message the previous instance had half received.
    pub(crate) pending: Vec<u8>,
    /// Its name in the store.
    pub(crate) name: String,
}

/// What [`take_back`] found.
#[derive(Debug, Default)]
pub(crate) struct TakenBack {
    pub(crate) sessions: Vec<Resumed>,
    /// Every name to remove from the store (sessions taken, and leftovers).
    pub(crate) names: Vec<String>,
    /// What could not be taken, one line each.
    pub(crate) problems: Vec<String>,
}

impl fmt::Display for Resumed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (peer {}", self.name, self.conn.peer_addr())?;
        if !self.pending.is_empty() {
            write!(f, ", {} bytes of a message pending", self.pending.len())?;
        }
        f.write_str(")")
    }
}

/// Takes every session a previous instance left in the fd store (start-up, single-threaded).
pub(crate) fn take_back(fds: &mut ListenFds) -> TakenBack {
    let names: Vec<String> = fds.passed().iter().map(|p| p.name().to_owned()).collect();
    let mut out = TakenBack::default();
    for name in &names {
        let Some(id) = name.strip_prefix(SOCKET_PREFIX) else {
            continue;
        };
        out.names.push(name.clone());
        let conn = match PfdSpec::from_name(name)
            .map_err(|e| e.to_string())
            .and_then(|spec| fds.take_connection(&spec).map_err(|e| e.to_string()))
        {
            Ok(conn) => conn,
            Err(e) => {
                out.problems.push(format!("{name}: {e}"));
                continue;
            }
        };
        let bytes_name = format!("{BYTES_PREFIX}{id}");
        let pending = if names.contains(&bytes_name) {
            out.names.push(bytes_name.clone());
            match read_pending(fds, &bytes_name) {
                Ok(p) => p,
                Err(e) => {
                    // Without its pending bytes the session would lose a request: close it.
                    out.problems
                        .push(format!("{bytes_name}: {e}; closing {name}"));
                    continue;
                }
            }
        } else {
            Vec::new()
        };
        out.sessions.push(Resumed {
            conn,
            pending,
            name: name.clone(),
        });
    }
    // Pending bytes whose connection systemd dropped (the client hung up): remove them too.
    for name in &names {
        if name.starts_with(BYTES_PREFIX) && !out.names.contains(name) {
            out.names.push(name.clone());
            if let Ok(spec) = PfdSpec::from_name(name) {
                drop(fds.take_unvalidated(&spec));
            }
        }
    }
    out
}

fn read_pending(fds: &mut ListenFds, name: &str) -> Result<Vec<u8>, String> {
    let spec = PfdSpec::from_name(name).map_err(|e| e.to_string())?;
    let fd = fds.take_unvalidated(&spec).map_err(|e| e.to_string())?;
    let file = std::fs::File::from(fd);
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut buf = vec![0; usize::try_from(len).map_err(|e| e.to_string())?];
    file.read_exact_at(&mut buf, 0).map_err(|e| e.to_string())?;
    Ok(buf)
}

/// Tells the service manager to drop `names` from its store (they are this instance's now).
pub(crate) fn forget(notifier: &Notifier, names: &[String]) {
    for name in names {
        if let Err(e) = notifier.send(&[State::FdStoreRemove { name }]) {
            log::warn!("cannot remove {name} from the fd store: {e}");
        }
    }
}
