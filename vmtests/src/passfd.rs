//! `vm-guest pass-fd KIND PATH -- PROGRAM [ARG...]`: execs PROGRAM as if socket-activated, with
//! one fd that systemd never passes from a `.socket` unit, so that a daemon's check of the fd
//! can be tried under real systemd (the same process, so `LISTEN_PID` matches):
//!
//! - `unlistened`: a unix stream socket bound to PATH that is not listening;
//! - `file`: PATH opened read-only (a file, not a socket).

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl, open};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, bind, socket};
use nix::sys::stat::Mode;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// The kinds of fd `pass-fd` can pass.
pub const KINDS: &[&str] = &["unlistened", "file"];

/// Makes the fd, puts it on fd 3 (without close-on-exec), sets `LISTEN_FDS=1` and
/// `LISTEN_PID` to this process, and execs `program`. Returns only on failure.
pub fn exec_with_fd(kind: &str, path: &str, program: &str, args: &[String]) -> String {
    let fd: OwnedFd = match make(kind, path) {
        Ok(fd) => fd,
        Err(e) => return e,
    };
    // It must end up on fd 3 (systemd's SD_LISTEN_FDS_START), inherited across exec.
    if fd.as_raw_fd() == 3 {
        if let Err(e) = fcntl(&fd, FcntlArg::F_SETFD(FdFlag::empty())) {
            return format!("clearing close-on-exec on fd 3: {e}");
        }
        // Kept open for the program exec'd below.
        let _ = fd.into_raw_fd();
    } else {
        // The lowest free fd from 3, without close-on-exec: it must be 3 itself.
        match fcntl(&fd, FcntlArg::F_DUPFD(3)) {
            Ok(3) => {}
            Ok(n) => return format!("fd 3 is already open (the copy landed on fd {n})"),
            Err(e) => return format!("duplicating fd {} onto 3: {e}", fd.as_raw_fd()),
        }
    }
    let err = Command::new(program)
        .args(args)
        .env("LISTEN_FDS", "1")
        .env("LISTEN_PID", std::process::id().to_string())
        .env_remove("LISTEN_FDNAMES")
        .env_remove("LISTEN_PIDFDID")
        .exec();
    format!("exec {program}: {err}")
}

fn make(kind: &str, path: &str) -> Result<OwnedFd, String> {
    match kind {
        "unlistened" => {
            let s = socket(
                AddressFamily::Unix,
                SockType::Stream,
                SockFlag::SOCK_CLOEXEC,
                None,
            )
            .map_err(|e| format!("socket: {e}"))?;
            let _ = std::fs::remove_file(path);
            let addr = UnixAddr::new(path).map_err(|e| format!("address {path}: {e}"))?;
            bind(s.as_raw_fd(), &addr).map_err(|e| format!("bind {path}: {e}"))?;
            Ok(s)
        }
        "file" => open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| format!("open {path}: {e}")),
        other => Err(format!(
            "unknown kind `{other}`; expected one of {}",
            KINDS.join(", ")
        )),
    }
}
