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
//! Names in the store: `echod-s<pid>-<n>` (a connection without pending bytes), or
//! `echod-p<pid>-<n>` (a connection whose pending bytes are in `echod-b<pid>-<n>`, stored first).
//! A `p` session whose bytes are missing is closed, never resumed without them. The new instance
//! removes the names it took back (`FDSTOREREMOVE=1`), so the store never holds a session twice;
//! a session whose removal fails is closed rather than resumed.
//!
//! The store's size: systemd 254 and later say it in `$FDSTORE`, and echod then hands over only
//! as many sessions as fit (two slots for one with pending bytes); the rest are closed as without
//! `--keep-sessions`. Older systemd does not say, and silently closes what does not fit:
//! `FileDescriptorStoreMax=` should then be at least twice the sessions expected.

use nix::fcntl::{FcntlArg, SealFlag, fcntl};
use std::fmt;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use stream_pfd::info::FileKind;
use stream_pfd::notify::{Notifier, State};
use stream_pfd::{Connection, ListenFds, PfdSpec};

const SOCKET_PREFIX: &str = "echod-s";
const SOCKET_WITH_BYTES_PREFIX: &str = "echod-p";
const BYTES_PREFIX: &str = "echod-b";

/// Where sessions go at SIGTERM: the service manager's fd store.
#[derive(Debug)]
pub(crate) struct SessionStore {
    notifier: Notifier,
    pid: u32,
    next: AtomicU64,
    handed: AtomicUsize,
    /// Slots left in the store (`$FDSTORE`), when systemd says.
    slots: Option<AtomicUsize>,
}

impl SessionStore {
    /// A store reached through `notifier` (from `NOTIFY_SOCKET`), with `slots` fds of room
    /// (`$FDSTORE`) when known.
    pub(crate) fn new(notifier: Notifier, slots: Option<usize>) -> SessionStore {
        SessionStore {
            notifier,
            pid: std::process::id(),
            next: AtomicU64::new(0),
            handed: AtomicUsize::new(0),
            slots: slots.map(AtomicUsize::new),
        }
    }

    /// Takes `n` slots of the store, if it has them (always, when its size is unknown).
    fn reserve(&self, n: usize) -> bool {
        let Some(slots) = &self.slots else {
            return true;
        };
        slots
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                left.checked_sub(n)
            })
            .is_ok()
    }

    /// Sessions handed over so far.
    pub(crate) fn handed(&self) -> usize {
        self.handed.load(Ordering::Acquire)
    }

    /// Hands one connection, with the bytes of its half-received message, to the fd store.
    /// Returns the session's name; on error nothing of it is in the store and the caller
    /// closes the connection.
    pub(crate) async fn hand_over(
        &self,
        conn: BorrowedFd<'_>,
        pending: &[u8],
    ) -> Result<String, String> {
        let needed = if pending.is_empty() { 1 } else { 2 };
        if !self.reserve(needed) {
            return Err("the fd store is full ($FDSTORE)".to_owned());
        }
        let id = format!("{}-{}", self.pid, self.next.fetch_add(1, Ordering::Relaxed));
        let bytes_name = format!("{BYTES_PREFIX}{id}");
        if !pending.is_empty() {
            let memfd = memfd_with(pending).map_err(|e| format!("memfd for pending bytes: {e}"))?;
            self.notifier
                .send_with_fds_async(
                    &[State::FdStore {
                        name: &bytes_name,
                        poll: false,
                    }],
                    &[memfd.as_fd()],
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        let prefix = if pending.is_empty() {
            SOCKET_PREFIX
        } else {
            SOCKET_WITH_BYTES_PREFIX
        };
        let name = format!("{prefix}{id}");
        let sent = self
            .notifier
            .send_with_fds_async(
                &[State::FdStore {
                    name: &name,
                    poll: true,
                }],
                &[conn],
            )
            .await;
        if let Err(e) = sent {
            if !pending.is_empty() {
                let _ = self
                    .notifier
                    .send_async(&[State::FdStoreRemove { name: &bytes_name }])
                    .await;
            }
            return Err(e.to_string());
        }
        self.handed.fetch_add(1, Ordering::AcqRel);
        Ok(name)
    }
}

/// The seals a pending-bytes memfd carries: nobody can change its contents or size after
/// echod wrote them, so the next instance can trust what it reads back.
const SEALS: SealFlag = SealFlag::F_SEAL_SEAL
    .union(SealFlag::F_SEAL_SHRINK)
    .union(SealFlag::F_SEAL_GROW)
    .union(SealFlag::F_SEAL_WRITE);

/// A sealed memfd holding `bytes`.
fn memfd_with(bytes: &[u8]) -> std::io::Result<OwnedFd> {
    use nix::sys::memfd::{MFdFlags, memfd_create};
    let fd = memfd_create(
        c"echod-pending",
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    )?;
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes)?;
    fcntl(&file, FcntlArg::F_ADD_SEALS(SEALS))?;
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
/// The store is input, not trust: a pending-bytes entry must be a sealed memfd of 1 to
/// `max_message_size` bytes (checked before anything is allocated), or its session is closed,
/// never resumed without its bytes; every name found is removed from the store.
pub(crate) fn take_back(fds: &mut ListenFds, max_message_size: usize) -> TakenBack {
    let names: Vec<String> = fds.passed().iter().map(|p| p.name().to_owned()).collect();
    let mut out = TakenBack::default();
    for name in &names {
        let (id, has_bytes) = match (
            name.strip_prefix(SOCKET_PREFIX),
            name.strip_prefix(SOCKET_WITH_BYTES_PREFIX),
        ) {
            (Some(id), _) => (id, false),
            (_, Some(id)) => (id, true),
            _ => continue,
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
        let pending = if has_bytes {
            if !names.contains(&bytes_name) {
                // Without its pending bytes the session would lose a request: close it.
                out.problems.push(format!(
                    "{name}: its pending bytes ({bytes_name}) were not passed back (was the fd \
                     store full?); closing the session"
                ));
                continue;
            }
            out.names.push(bytes_name.clone());
            match read_pending(fds, &bytes_name, max_message_size) {
                Ok(p) => p,
                Err(e) => {
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

/// The bytes of the pending-bytes entry `name`: a sealed memfd of 1 to `max` bytes.
fn read_pending(fds: &mut ListenFds, name: &str, max: usize) -> Result<Vec<u8>, String> {
    let spec = PfdSpec::from_name(name).map_err(|e| e.to_string())?;
    let fd = fds.take_unvalidated(&spec).map_err(|e| e.to_string())?;
    let meta = nix::sys::stat::fstat(&fd).map_err(|e| format!("fstat: {e}"))?;
    let kind = FileKind::from_mode(meta.st_mode);
    let seals = match fcntl(&fd, FcntlArg::F_GET_SEALS) {
        Ok(bits) => SealFlag::from_bits_truncate(bits),
        Err(_) => return Err(format!("not a memfd but {kind}")),
    };
    if !seals.contains(SEALS) {
        return Err(
            "a memfd that is not sealed (echod seals what it writes; this one could have been \
             changed since)"
                .to_owned(),
        );
    }
    let len = u64::try_from(meta.st_size).unwrap_or(0);
    if len == 0 {
        return Err("an empty memfd (a session with pending bytes has at least one)".to_owned());
    }
    if len > max as u64 {
        return Err(format!("{len} bytes, more than --max-message-size ({max})"));
    }
    let mut buf = vec![0; len as usize];
    std::fs::File::from(fd)
        .read_exact_at(&mut buf, 0)
        .map_err(|e| e.to_string())?;
    Ok(buf)
}

/// Tells the service manager to drop `names` from its store (they are this instance's now).
/// Returns the names it could not remove.
pub(crate) async fn forget(notifier: &Notifier, names: &[String]) -> Vec<String> {
    let mut failed = Vec::new();
    for name in names {
        if let Err(e) = notifier.send_async(&[State::FdStoreRemove { name }]).await {
            log::warn!("cannot remove {name} from the fd store: {e}");
            failed.push(name.clone());
        }
    }
    failed
}

/// `$FDSTORE`: the store's size, which systemd 254 and later pass.
pub(crate) fn store_size() -> Option<usize> {
    std::env::var("FDSTORE").ok()?.parse().ok()
}
