//! `vm-guest forge-fdstore`: puts entries in the service manager's fd store that no echod
//! wrote, as any process of the unit may (`NotifyAccess=all`), to show that the next echod
//! treats the store as input: each forged session is closed with a warning and removed, the
//! real sessions beside them resume, and echod starts.
//!
//! Three sessions under a pid no echod has (`echod-p999999-N`), each a connected socket whose
//! pending-bytes entry (`echod-b999999-N`) is wrong in its own way: a sealed memfd of 64 GiB (a
//! hole, nothing written: it would be allocated whole by a reader that trusts its size), a pipe
//! (not a memfd), and an empty sealed memfd. Every entry has `FDPOLL=0`, so that systemd keeps
//! the sockets although their peers close when this process exits.

use nix::fcntl::{FcntlArg, SealFlag, fcntl};
use nix::sys::memfd::{MFdFlags, memfd_create};
use std::os::fd::{AsFd, OwnedFd};
use stream_pfd::notify::{Notifier, State};

/// The forged names' pid part.
pub const FORGED_PID: u32 = 999_999;

/// Sends the three forged sessions to `NOTIFY_SOCKET`; returns what was sent, one line each.
pub fn forge() -> Result<String, String> {
    let notifier = Notifier::from_env()
        .map_err(|e| e.to_string())?
        .ok_or("NOTIFY_SOCKET is not set (run from a unit with NotifyAccess=all)")?;
    let huge = sealed_memfd(64 << 30)?;
    let (pipe_read, _pipe_write) = nix::unistd::pipe().map_err(|e| format!("pipe: {e}"))?;
    let empty = sealed_memfd(0)?;
    let mut sent = Vec::new();
    for (n, (bytes, what)) in [
        (huge, "a sealed 64 GiB memfd"),
        (pipe_read, "a pipe"),
        (empty, "an empty sealed memfd"),
    ]
    .into_iter()
    .enumerate()
    {
        let (conn, _peer) =
            std::os::unix::net::UnixStream::pair().map_err(|e| format!("socketpair: {e}"))?;
        let bytes_name = format!("echod-b{FORGED_PID}-{n}");
        let conn_name = format!("echod-p{FORGED_PID}-{n}");
        store(&notifier, &bytes_name, bytes.as_fd())?;
        store(&notifier, &conn_name, conn.as_fd())?;
        sent.push(format!("{conn_name} with {bytes_name}: {what}"));
    }
    Ok(sent.join("\n"))
}

fn store(notifier: &Notifier, name: &str, fd: std::os::fd::BorrowedFd<'_>) -> Result<(), String> {
    notifier
        .send_with_fds(&[State::FdStore { name, poll: false }], &[fd])
        .map_err(|e| format!("FDSTORE {name}: {e}"))
}

/// A memfd of `len` bytes (a hole: nothing is written), sealed as echod seals its own.
fn sealed_memfd(len: i64) -> Result<OwnedFd, String> {
    let fd = memfd_create(
        c"forged-pending",
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    )
    .map_err(|e| format!("memfd_create: {e}"))?;
    nix::unistd::ftruncate(&fd, len).map_err(|e| format!("ftruncate: {e}"))?;
    let seals = SealFlag::F_SEAL_SEAL
        | SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_WRITE;
    fcntl(&fd, FcntlArg::F_ADD_SEALS(seals)).map_err(|e| format!("F_ADD_SEALS: {e}"))?;
    Ok(fd)
}
