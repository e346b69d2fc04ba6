//! Placing fds at given numbers in a child process: how systemd passes sockets (3, 4, ...), and
//! how a test hands a daemon any fd at any number.
//!
//! [`place`] first moves every source that is not already above the highest target above it,
//! and only then `dup2`s each one into place, so a source that sits at another source's target
//! (a swap, a cycle, a source at 3 that goes to 4) is never overwritten before it is copied.
//! `dup2` clears close-on-exec on the new number; the moved copies are close-on-exec, and so
//! should the sources be (as every fd that std, tokio and nix's `SOCK_CLOEXEC` open), so that the
//! program gets exactly the targets.
//!
//! This module holds the crate's only `unsafe` code: the hook that runs in the child between
//! `fork` and `exec` (`install`).
#![allow(unsafe_code)]

use std::ffi::OsStr;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// The first fd number systemd passes (`SD_LISTEN_FDS_START`).
pub const FIRST: RawFd = 3;

/// Makes the child that `cmd` spawns have each `(source, target)` source at fd number `target`,
/// without close-on-exec. The sources move into `cmd` and stay open as long as it lives (each
/// spawn of `cmd` places them again).
///
/// Panics, naming the placement, on a target below 3 (standard input, output and error are
/// set with [`Command::stdin`] and its siblings, which run before this placement) and on two
/// sources for one target. A target the child cannot have (at or beyond its `RLIMIT_NOFILE`)
/// makes the spawn fail with the `dup2` or `fcntl` error.
pub fn place(cmd: &mut Command, fds: Vec<(OwnedFd, RawFd)>) -> &mut Command {
    let mut targets: Vec<RawFd> = fds.iter().map(|&(_, target)| target).collect();
    for &(ref source, target) in &fds {
        assert!(
            target >= FIRST,
            "fd placement: fd {} cannot go to fd {target}: fds 0 to 2 are standard input, \
             output and error (use Command::stdin, stdout or stderr)",
            source.as_raw_fd()
        );
    }
    targets.sort_unstable();
    if let Some(twice) = targets.windows(2).find(|w| w[0] == w[1]) {
        panic!(
            "fd placement: two sources for fd {}: {:?}",
            twice[0],
            fds.iter()
                .map(|(source, target)| (source.as_raw_fd(), *target))
                .collect::<Vec<_>>()
        );
    }
    let Some(&highest) = targets.last() else {
        return cmd;
    };
    let (sources, targets): (Vec<OwnedFd>, Vec<RawFd>) = fds.into_iter().unzip();
    install(cmd, sources, targets, highest.saturating_add(1));
    cmd
}

/// Makes the child that `cmd` spawns have copies of `sources` at fds 3, 4, ... in order, the way
/// systemd passes sockets; the same source may come twice. See [`place`]; the copies
/// (close-on-exec duplicates made here) live as long as `cmd`.
pub fn place_from_3<'a>(cmd: &'a mut Command, sources: &[BorrowedFd<'_>]) -> &'a mut Command {
    let fds = sources
        .iter()
        .zip(FIRST..)
        .map(|(source, target)| {
            let copy = source.try_clone_to_owned().unwrap_or_else(|e| {
                panic!("fd placement: duplicating fd {}: {e}", source.as_raw_fd())
            });
            (copy, target)
        })
        .collect();
    place(cmd, fds)
}

/// A command that runs `program` the way systemd starts a socket-activated service: `fds` at 3,
/// 4, ... (see [`place_from_3`]), `LISTEN_FDS` their count, `LISTEN_PID` the program's own pid
/// (set by an `sh` that then execs the program, which keeps the pid), and neither
/// `LISTEN_FDNAMES` nor `LISTEN_PIDFDID` inherited from this process. Add arguments with
/// [`Command::arg`]; they go to the program.
pub fn socket_activated(program: impl AsRef<OsStr>, fds: &[BorrowedFd<'_>]) -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg("LISTEN_PID=$$; export LISTEN_PID; exec \"$0\" \"$@\"")
        .arg(program)
        .env("LISTEN_FDS", fds.len().to_string())
        .env_remove("LISTEN_FDNAMES")
        .env_remove("LISTEN_PIDFDID");
    place_from_3(&mut cmd, fds);
    cmd
}

/// Installs the hook that places `sources[i]` at `targets[i]` in the child (`above` is greater
/// than every target). The caller checked that the targets are distinct and at least 3.
fn install(cmd: &mut Command, sources: Vec<OwnedFd>, targets: Vec<RawFd>, above: RawFd) {
    // Where each source is in the child once moved; allocated here because the hook must not
    // allocate (another thread of this process may have held the allocator's lock at fork).
    let mut moved: Vec<RawFd> = vec![-1; sources.len()];
    let hook = move || {
        for (source, moved) in sources.iter().zip(moved.iter_mut()) {
            *moved = source.as_raw_fd();
            // A source above every target is never overwritten by the dup2s below.
            if *moved < above {
                // SAFETY: fcntl(F_DUPFD_CLOEXEC) is async-signal-safe, reads no memory and only
                // adds an fd to the table of this forked child, which is about to exec.
                *moved = unsafe { libc::fcntl(*moved, libc::F_DUPFD_CLOEXEC, above) };
                if *moved < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
        }
        for (&moved, &target) in moved.iter().zip(&targets) {
            // SAFETY: dup2 is async-signal-safe and reads no memory; it replaces fd `target` of
            // this child only. `moved` is above every target, so no later dup2 overwrites it.
            if unsafe { libc::dup2(moved, target) } < 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    };
    // SAFETY: the hook runs in the child between fork and exec, where only async-signal-safe
    // calls are allowed: it calls fcntl and dup2, writes into memory allocated before the
    // fork, and builds an io::Error from errno (no allocation). `sources` stay open inside the
    // hook for as long as `cmd` lives.
    unsafe {
        cmd.pre_exec(hook);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    /// What `fd` is in this process: `socket:[INODE]`.
    fn what_is(fd: impl AsFd) -> String {
        let n = fd.as_fd().as_raw_fd();
        let link = std::fs::read_link(format!("/proc/self/fd/{n}"))
            .unwrap_or_else(|e| panic!("/proc/self/fd/{n}: {e}"));
        link.to_string_lossy().into_owned()
    }

    /// What each of `fds` is in a child spawned with `cmd`'s placement (`readlink` of
    /// `/proc/self/fd/N`, run by `sh`, which inherits them; `closed` if it is not open there),
    /// or the spawn error.
    fn in_child(mut cmd: Command, fds: &[RawFd]) -> std::io::Result<Vec<String>> {
        let script: String = fds
            .iter()
            .map(|n| format!("readlink /proc/self/fd/{n} || echo closed; "))
            .collect();
        let out = cmd.arg("-c").arg(script).output()?;
        assert!(out.status.success(), "{out:?}");
        Ok(String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect())
    }

    /// `n` sockets (one end of a pair each; the other ends are returned too, to keep them open).
    fn sockets(n: usize) -> (Vec<OwnedFd>, Vec<UnixStream>) {
        (0..n)
            .map(|_| {
                let (a, b) = UnixStream::pair().unwrap();
                (OwnedFd::from(a), b)
            })
            .unzip()
    }

    #[test]
    fn sources_at_each_others_targets_are_swapped_not_lost() {
        // A goes where B is, and B where A is: the overlap a plain dup2 loop gets wrong (it
        // would give both numbers the same socket).
        let (fds, _peers) = sockets(2);
        let is: Vec<String> = fds.iter().map(what_is).collect();
        let n: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        let mut fds = fds.into_iter();
        let (a, b) = (fds.next().unwrap(), fds.next().unwrap());
        let mut cmd = Command::new("/bin/sh");
        place(&mut cmd, vec![(a, n[1]), (b, n[0])]);
        assert_eq!(in_child(cmd, &n).unwrap(), [is[1].as_str(), &is[0]]);
    }

    #[test]
    fn a_cycle_of_three_and_a_source_at_its_own_target() {
        let (fds, _peers) = sockets(4);
        let is: Vec<String> = fds.iter().map(what_is).collect();
        let n: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        // 0 -> 1 -> 2 -> 0, and 3 stays where it is (its close-on-exec cleared).
        let targets = [n[1], n[2], n[0], n[3]];
        let mut cmd = Command::new("/bin/sh");
        place(&mut cmd, fds.into_iter().zip(targets).collect());
        assert_eq!(
            in_child(cmd, &n).unwrap(),
            [is[2].as_str(), &is[0], &is[1], &is[3]]
        );
    }

    #[test]
    fn from_3_in_order_with_a_source_twice_and_nothing_else_inherited() {
        let (mine, mut peer) = UnixStream::pair().unwrap();
        let (other, _other_peer) = UnixStream::pair().unwrap();
        let (mine_is, other_is) = (what_is(&mine), what_is(&other));
        let mut cmd = Command::new("/bin/sh");
        place_from_3(&mut cmd, &[mine.as_fd(), other.as_fd(), mine.as_fd()]);
        // The copies made for the child are close-on-exec here: fd 6 is not open there.
        assert_eq!(
            in_child(cmd, &[3, 4, 5, 6]).unwrap(),
            [mine_is.as_str(), &other_is, &mine_is, "closed"]
        );
        // The caller's socket is untouched, and still works.
        peer.write_all(b"x").unwrap();
        drop(peer);
        let mut got = String::new();
        (&mine).read_to_string(&mut got).unwrap();
        assert_eq!(got, "x");
    }

    #[test]
    fn socket_activated_sets_listen_fds_and_the_programs_own_pid() {
        let (fds, _peers) = sockets(2);
        let is: Vec<String> = fds.iter().map(what_is).collect();
        let borrowed: Vec<BorrowedFd<'_>> = fds.iter().map(|fd| fd.as_fd()).collect();
        let script = "echo $LISTEN_FDS $LISTEN_PID $$ ${LISTEN_PIDFDID-unset} $LISTEN_FDNAMES; \
                      readlink /proc/self/fd/3 /proc/self/fd/4";
        // What the caller sets afterwards wins (here the names systemd would pass).
        let out = socket_activated("/bin/sh", &borrowed)
            .env("LISTEN_FDNAMES", "web:admin")
            .args(["-c", script])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let words: Vec<&str> = lines[0].split(' ').collect();
        assert_eq!(words[0], "2", "{text}");
        assert_eq!(
            words[1], words[2],
            "LISTEN_PID is the program's pid: {text}"
        );
        assert_eq!(words[3..], ["unset", "web:admin"], "{text}");
        assert_eq!(lines[1..], [is[0].as_str(), &is[1]]);
    }

    #[test]
    #[should_panic(expected = "fd placement: two sources for fd 7")]
    fn two_sources_for_one_target_panic() {
        let (fds, _peers) = sockets(2);
        place(
            &mut Command::new("/bin/true"),
            fds.into_iter().zip([7, 7]).collect(),
        );
    }

    #[test]
    #[should_panic(expected = "cannot go to fd 2: fds 0 to 2 are standard input, output and error")]
    fn a_standard_stream_target_panics() {
        let (fds, _peers) = sockets(1);
        place(
            &mut Command::new("/bin/true"),
            fds.into_iter().zip([2]).collect(),
        );
    }

    #[test]
    fn a_target_the_child_cannot_have_fails_the_spawn() {
        // Far beyond any RLIMIT_NOFILE: moving the source above it fails (EINVAL), loudly.
        let (fds, _peers) = sockets(1);
        let mut cmd = Command::new("/bin/true");
        place(&mut cmd, fds.into_iter().zip([RawFd::MAX]).collect());
        let err = cmd.status().expect_err("the spawn must fail");
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
    }
}
