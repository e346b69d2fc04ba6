//! Unix socket files a process creates itself ([`bind_socket_file`]): binding one where a stale
//! socket file may be left from an earlier run, by one rule for every caller, and removing it
//! again ([`SocketFile`]) only while it is still the socket that was bound; with
//! [`SocketFileError`].
//!
//! The rule, checked under an exclusive `flock` on the socket's directory (held from the first
//! look at the path until the new socket listens):
//!
//! * nothing at the path: bind;
//! * a socket file that refuses connections (nobody listens on it) and belongs to this
//!   process's effective user: remove it, then bind ([`BoundSocketFile::removed_stale`]);
//! * a socket somebody listens on (a full backlog counts), a socket of another user, a socket
//!   that cannot be probed, or any file that is not a socket: leave it, and fail.
//!
//! Guarantee: two processes that both bind through this module never remove each other's live
//! socket, because the one that binds first holds the directory lock until it listens (a bound
//! socket refuses connections until `listen()`, and would otherwise look stale). A process that
//! does not take the lock can still race: its socket could be bound between the probe and the
//! removal. The window is narrowed by checking, right before the removal, that the path is still
//! the file that was probed (device and inode); it cannot be closed without the other process's
//! cooperation. When the directory cannot be opened for the lock (no read permission), binding
//! goes on with that narrower guarantee only.

use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::socket::{AddressFamily, Backlog, SockFlag, SockType, UnixAddr, connect, socket};

use crate::info::FileKind;

/// How long [`bind_socket_file`] waits for another process's lock on the directory: binding
/// holds it for microseconds, so a lock held this long is a stuck or hostile process.
#[cfg(not(test))]
const LOCK_WAIT: Duration = Duration::from_secs(5);
#[cfg(test)]
const LOCK_WAIT: Duration = Duration::from_millis(300);

/// A unix socket file this process bound; dropping it removes the file, but only if the path
/// still holds the same file (device and inode): a path taken over by someone else since is
/// left alone. [`SocketFile::keep`] leaves the file in place.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("stream-pfd-doc-sf-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("app.sock");
/// let bound = stream_pfd::bind_socket_file(&path, None)?;
/// assert!(path.exists());
/// drop(bound);
/// assert!(!path.exists());
/// # std::fs::remove_dir(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
    remove: bool,
}

impl SocketFile {
    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Leaves the file in place when this is dropped (the next bind finds it stale and
    /// replaces it), and returns its path.
    pub fn keep(mut self) -> PathBuf {
        self.remove = false;
        std::mem::take(&mut self.path)
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if !self.remove {
            return;
        }
        match std::fs::symlink_metadata(&self.path) {
            Ok(m) if m.dev() == self.dev && m.ino() == self.ino => {
                // Nothing to report to: a drop cannot fail. A file left behind is found stale
                // and replaced by the next bind.
                let _ = std::fs::remove_file(&self.path);
            }
            _ => {}
        }
    }
}

/// What [`bind_socket_file`] returns: the listening socket and the file's guard.
#[derive(Debug)]
#[non_exhaustive]
pub struct BoundSocketFile {
    /// The listening socket: non-blocking, close-on-exec, backlog `SOMAXCONN`.
    pub listener: UnixListener,
    /// The file; dropping it removes the path (see [`SocketFile`]).
    pub file: SocketFile,
    /// Whether a stale socket file (nobody listened on it, owned by this user) was removed
    /// first.
    pub removed_stale: bool,
}

/// Binds a listening unix stream socket at `path`, replacing a stale socket file by the
/// module's rule (see the [module docs](crate::socket_file)) and never anything else. With
/// `mode`, the file gets that mode before the socket listens, whatever the umask (e.g. `0o700`
/// for a control socket: until `listen()` every connect is refused, so nobody gets in through
/// the umask's mode in between).
///
/// ```
/// use std::os::unix::net::UnixStream;
///
/// # let dir = std::env::temp_dir().join(format!("stream-pfd-doc-bsf-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("ctl.sock");
/// let first = stream_pfd::bind_socket_file(&path, Some(0o700))?;
/// // A second bind while the first listens is refused, and the first keeps its socket.
/// let err = stream_pfd::bind_socket_file(&path, None).unwrap_err();
/// assert_eq!(std::io::Error::from(err).kind(), std::io::ErrorKind::AddrInUse);
/// UnixStream::connect(&path)?;
/// # drop(first);
/// # std::fs::remove_dir(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn bind_socket_file(
    path: &Path,
    mode: Option<u32>,
) -> Result<BoundSocketFile, SocketFileError> {
    let failed = |call, source| SocketFileError::Bind {
        path: path.to_owned(),
        call,
        source,
    };
    let _lock = lock_directory(path)?;
    let removed_stale = remove_stale(path)?;
    #[cfg(feature = "log")]
    if removed_stale {
        log::info!(
            "removed the stale socket file {} (no process listened on it) before binding",
            path.display()
        );
    }
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )
    .map_err(|e| failed("socket", e.into()))?;
    let addr = UnixAddr::new(path).map_err(|e| failed("bind", e.into()))?;
    nix::sys::socket::bind(fd.as_raw_fd(), &addr).map_err(|e| {
        let mut error = io::Error::from(e);
        if e == Errno::ENOENT {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                if !dir.exists() {
                    error = io::Error::new(
                        error.kind(),
                        format!(
                            "{error}: the directory {} does not exist (create it first)",
                            dir.display()
                        ),
                    );
                }
            }
        }
        failed("bind", error)
    })?;
    // From here on the file exists: the guard removes it again if listening fails.
    let meta = std::fs::symlink_metadata(path).map_err(|e| failed("lstat", e))?;
    let file = SocketFile {
        path: path.to_owned(),
        dev: meta.dev(),
        ino: meta.ino(),
        remove: true,
    };
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| failed("chmod", e))?;
    }
    nix::sys::socket::listen(&fd, Backlog::MAXCONN).map_err(|e| failed("listen", e.into()))?;
    Ok(BoundSocketFile {
        listener: UnixListener::from(fd),
        file,
        removed_stale,
    })
}

/// Takes the exclusive `flock` of `path`'s directory, waiting at most [`LOCK_WAIT`]. `None`
/// when the directory cannot be opened (no read permission): binding goes on unlocked.
fn lock_directory(path: &Path) -> Result<Option<Flock<File>>, SocketFileError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(mut handle) = File::open(dir) else {
        return Ok(None);
    };
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match Flock::lock(handle, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(Some(lock)),
            Err((back, Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                handle = back;
                std::thread::sleep(Duration::from_millis(2));
            }
            Err((_, Errno::EWOULDBLOCK)) => {
                return Err(SocketFileError::Locked {
                    path: path.to_owned(),
                    dir: dir.to_owned(),
                });
            }
            // A file system without flock: the narrower guarantee only.
            Err(_) => return Ok(None),
        }
    }
}

/// Makes way for a socket at `path`: nothing there is fine; a stale socket file of this user is
/// removed (`true`); anything else is an error.
fn remove_stale(path: &Path) -> Result<bool, SocketFileError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => {
            return Err(SocketFileError::Bind {
                path: path.to_owned(),
                call: "lstat",
                source: e,
            });
        }
    };
    if !meta.file_type().is_socket() {
        return Err(SocketFileError::NotSocket {
            path: path.to_owned(),
            kind: FileKind::from_mode(meta.mode()),
        });
    }
    match probe(path) {
        // Refused: nobody listens on it.
        Err(Errno::ECONNREFUSED) => {}
        // Removed in the meantime.
        Err(Errno::ENOENT) => return Ok(false),
        // Connected, or in progress (a full backlog): a process listens on it.
        Ok(()) | Err(Errno::EAGAIN | Errno::EINPROGRESS) => {
            return Err(SocketFileError::InUse {
                path: path.to_owned(),
            });
        }
        Err(errno) => {
            return Err(SocketFileError::Unprobeable {
                path: path.to_owned(),
                source: errno.into(),
            });
        }
    }
    let euid = nix::unistd::geteuid().as_raw();
    if meta.uid() != euid {
        return Err(SocketFileError::OtherOwner {
            path: path.to_owned(),
            uid: meta.uid(),
            euid,
        });
    }
    // The narrowest window left against a process that does not take the lock: the path must
    // still be the file that was probed.
    match std::fs::symlink_metadata(path) {
        Ok(now) if now.dev() == meta.dev() && now.ino() == meta.ino() => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        _ => {
            return Err(SocketFileError::Replaced {
                path: path.to_owned(),
            });
        }
    }
    std::fs::remove_file(path).map_err(|e| SocketFileError::Bind {
        path: path.to_owned(),
        call: "removing the stale socket file",
        source: e,
    })?;
    Ok(true)
}

/// A non-blocking stream connect to `path` (a listener with a full backlog cannot block it),
/// closed at once.
fn probe(path: &Path) -> Result<(), Errno> {
    let fd: OwnedFd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    connect(fd.as_raw_fd(), &UnixAddr::new(path)?)
}

/// Why [`bind_socket_file`] bound nothing. Whatever was at the path is still there (except for
/// a stale socket file the message says was removed). Converts into [`io::Error`].
#[derive(Debug)]
#[non_exhaustive]
pub enum SocketFileError {
    /// The path holds a file that is not a socket.
    NotSocket {
        /// The path.
        path: PathBuf,
        /// What is there.
        kind: FileKind,
    },
    /// A process listens on the socket at the path.
    InUse {
        /// The path.
        path: PathBuf,
    },
    /// Nobody listens on the socket at the path, but it belongs to another user.
    OtherOwner {
        /// The path.
        path: PathBuf,
        /// The socket file's owner.
        uid: u32,
        /// This process's effective user.
        euid: u32,
    },
    /// The socket at the path could not be probed (permission denied, ...).
    Unprobeable {
        /// The path.
        path: PathBuf,
        /// The connect error.
        source: io::Error,
    },
    /// The stale socket file was replaced by another file while it was checked.
    Replaced {
        /// The path.
        path: PathBuf,
    },
    /// Another process held the directory's lock for longer than binding takes.
    Locked {
        /// The path.
        path: PathBuf,
        /// The directory.
        dir: PathBuf,
    },
    /// A system call failed.
    Bind {
        /// The path.
        path: PathBuf,
        /// The step that failed (`socket`, `bind`, `listen`, `lstat`, ...).
        call: &'static str,
        /// The error.
        source: io::Error,
    },
}

impl SocketFileError {
    /// The path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            SocketFileError::NotSocket { path, .. }
            | SocketFileError::InUse { path }
            | SocketFileError::OtherOwner { path, .. }
            | SocketFileError::Unprobeable { path, .. }
            | SocketFileError::Replaced { path }
            | SocketFileError::Locked { path, .. }
            | SocketFileError::Bind { path, .. } => path,
        }
    }

    /// The [`io::ErrorKind`] the error converts into (`AddrInUse` for a path in use,
    /// `AlreadyExists` for a file that is not a socket, ...), without converting it.
    pub fn io_kind(&self) -> io::ErrorKind {
        match self {
            SocketFileError::NotSocket { .. } => io::ErrorKind::AlreadyExists,
            SocketFileError::InUse { .. }
            | SocketFileError::OtherOwner { .. }
            | SocketFileError::Unprobeable { .. }
            | SocketFileError::Replaced { .. } => io::ErrorKind::AddrInUse,
            SocketFileError::Locked { .. } => io::ErrorKind::WouldBlock,
            SocketFileError::Bind { source, .. } => source.kind(),
        }
    }
}

impl fmt::Display for SocketFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot bind {}: ", self.path().display())?;
        match self {
            SocketFileError::NotSocket { kind, .. } => {
                write!(
                    f,
                    "it exists and is {kind}, not a socket; it was left in place"
                )
            }
            SocketFileError::InUse { .. } => f.write_str("another process listens on it"),
            SocketFileError::OtherOwner { uid, euid, .. } => write!(
                f,
                "a socket file nobody listens on, but owned by uid {uid} (this process runs as \
                 uid {euid}), so it was left in place; remove it as its owner or choose another \
                 path"
            ),
            SocketFileError::Unprobeable { source, .. } => write!(
                f,
                "a socket file that cannot be probed ({source}), so it was left in place"
            ),
            SocketFileError::Replaced { .. } => f.write_str(
                "the stale socket file was replaced by another file while it was checked (a \
                 second process binding the same path?); it was left in place",
            ),
            SocketFileError::Locked { dir, .. } => write!(
                f,
                "another process has held the lock of {} for more than {} s (binding takes \
                 microseconds: is it stuck?)",
                dir.display(),
                LOCK_WAIT.as_secs()
            ),
            SocketFileError::Bind { call, source, .. } => write!(f, "{call} failed: {source}"),
        }
    }
}

impl std::error::Error for SocketFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SocketFileError::Unprobeable { source, .. } | SocketFileError::Bind { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}

impl From<SocketFileError> for io::Error {
    fn from(err: SocketFileError) -> io::Error {
        io::Error::new(err.io_kind(), err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;
    use test_support::TempDir;

    /// A socket file nobody listens on: bound, then closed.
    fn stale_socket(path: &Path) {
        drop(UnixListener::bind(path).unwrap());
    }

    fn id(path: &Path) -> (u64, u64) {
        let m = std::fs::symlink_metadata(path).unwrap();
        (m.dev(), m.ino())
    }

    #[test]
    fn a_stale_socket_of_this_user_is_replaced_with_the_mode_asked_for() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("spfd-sf-stale");
        let path = dir.join("s.sock");
        stale_socket(&path);
        let bound = bind_socket_file(&path, Some(0o700)).unwrap();
        assert!(bound.removed_stale);
        let mode = std::fs::symlink_metadata(&path)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        UnixStream::connect(&path).unwrap();
        drop(bound);
        assert!(!path.exists(), "the guard removes the file it bound");
    }

    /// echod's rule, now the library's: a socket of another user is never unlinked, even by
    /// root, even when nobody listens on it.
    #[test]
    fn a_stale_socket_of_another_user_is_never_removed() {
        if !nix::unistd::geteuid().is_root() {
            test_support::skip!("needs root to give a socket file to another user");
        }
        let dir = TempDir::new("spfd-sf-owner");
        let path = dir.join("s.sock");
        stale_socket(&path);
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
        let before = id(&path);
        let err = bind_socket_file(&path, None).unwrap_err();
        assert!(
            matches!(
                err,
                SocketFileError::OtherOwner {
                    uid: 65534,
                    euid: 0,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "cannot bind {}: a socket file nobody listens on, but owned by uid 65534 (this \
                 process runs as uid 0), so it was left in place; remove it as its owner or \
                 choose another path",
                path.display()
            )
        );
        assert_eq!(id(&path), before, "the file is the same one");
    }

    /// Two binders of one path: the first has bound but not yet listened (its socket refuses
    /// connections, like a stale one) when the second looks. Under the directory lock the
    /// second waits, then sees a live socket; without the lock it would unlink the first's
    /// socket and leave it listening on a path nobody can reach.
    #[test]
    fn a_socket_bound_but_not_yet_listening_under_the_lock_is_never_removed() {
        let dir = TempDir::new("spfd-sf-race");
        let path = dir.join("s.sock");
        // The first binder, by hand, at the moment between bind() and listen().
        let lock = Flock::lock(File::open(dir.path()).unwrap(), FlockArg::LockExclusive).unwrap();
        let first = socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .unwrap();
        nix::sys::socket::bind(first.as_raw_fd(), &UnixAddr::new(&path).unwrap()).unwrap();
        let first_id = id(&path);
        let second = {
            let path = path.clone();
            std::thread::spawn(move || bind_socket_file(&path, None))
        };
        // However long the second binder ran before this, it cannot have looked yet.
        std::thread::sleep(Duration::from_millis(50));
        nix::sys::socket::listen(&first, Backlog::new(8).unwrap()).unwrap();
        drop(lock);
        let err = second.join().unwrap().unwrap_err();
        assert!(matches!(err, SocketFileError::InUse { .. }), "{err:?}");
        assert_eq!(
            id(&path),
            first_id,
            "the first binder's socket is still there"
        );
        UnixStream::connect(&path).unwrap();
    }

    #[test]
    fn a_lock_held_too_long_is_an_error_naming_the_directory() {
        let dir = TempDir::new("spfd-sf-locked");
        let path = dir.join("s.sock");
        let _lock = Flock::lock(File::open(dir.path()).unwrap(), FlockArg::LockExclusive).unwrap();
        let err = bind_socket_file(&path, None).unwrap_err();
        assert!(matches!(err, SocketFileError::Locked { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&dir.path().display().to_string()),
            "{err}"
        );
        assert_eq!(io::Error::from(err).kind(), io::ErrorKind::WouldBlock);
        assert!(!path.exists(), "nothing was bound");
    }

    #[test]
    fn the_guard_leaves_a_path_taken_over_by_another_file() {
        let dir = TempDir::new("spfd-sf-guard");
        let path = dir.join("s.sock");
        let bound = bind_socket_file(&path, None).unwrap();
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "someone else's").unwrap();
        drop(bound);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "someone else's");
        // keep() leaves the file even when it is still ours.
        std::fs::remove_file(&path).unwrap();
        let bound = bind_socket_file(&path, None).unwrap();
        assert_eq!(bound.file.keep(), path);
        assert!(path.exists());
    }

    #[test]
    fn a_missing_directory_is_named() {
        let dir = TempDir::new("spfd-sf-nodir");
        let path = dir.join("missing/s.sock");
        let err = bind_socket_file(&path, None).unwrap_err();
        assert!(
            err.to_string().contains("the directory") && err.to_string().contains("does not exist"),
            "{err}"
        );
    }
}
