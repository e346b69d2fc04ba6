//! `echod/probe ACTION` (only with `--enable-probes`): attempt one action the sandbox may forbid and
//! report what the kernel answered, so that the sandbox can be shown working.
//!
//! Every probe is harmless when echod is not sandboxed, even as root: it either changes nothing
//! (`setuid` to the current uid, `setpriority` to the current nice value), undoes itself at once
//! (`fork`: the child `_exit(0)`s immediately and is reaped), or is built to fail in the kernel
//! after the seccomp check (`execve` of the empty path: `ENOENT`; `mount` onto a path below
//! `/dev/null`: `ENOTDIR`). Each probe issues its syscall directly on the thread that serves the
//! control connection (a tokio worker thread): with TSYNC every thread carries the same filter,
//! so the answer is the same on any thread. A filter whose action is "kill" ends echod with
//! `SIGSYS`, which is the point of that probe.
#![allow(unsafe_code)]

use nix::errno::Errno;

/// One probe: its name, the syscall it makes and the answer that means "allowed".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Probe {
    /// The action name (`ovs-appctl -t CTL echod/probe NAME`).
    pub(crate) name: &'static str,
    /// The syscall attempted.
    pub(crate) syscall: &'static str,
    /// What the probe does, and what it returns when the sandbox allows it.
    pub(crate) what: &'static str,
}

/// Every probe (one table, snapshot-tested).
pub(crate) const PROBES: &[Probe] = &[
    Probe {
        name: "fork",
        syscall: "fork",
        what: "fork a child that calls _exit(0) at once, then reap it; allowed: exit status 0",
    },
    Probe {
        name: "execve",
        syscall: "execve",
        what: "execve the empty path (never runs anything); allowed: ENOENT",
    },
    Probe {
        name: "setuid",
        syscall: "setuid",
        what: "setuid to the current uid on this thread (no change); allowed: 0",
    },
    Probe {
        name: "setpriority",
        syscall: "setpriority",
        what: "setpriority of this thread to its current nice value (no change); allowed: 0",
    },
    Probe {
        name: "mount",
        syscall: "mount",
        what: "mount onto /dev/null/echod-probe (below a non-directory); allowed: ENOTDIR",
    },
    Probe {
        name: "sysfs",
        syscall: "sysfs",
        what: "obsolete sysfs, option 3: count filesystem types (x86_64 only); allowed: a count",
    },
];

/// The names of all probes, for error messages.
pub(crate) fn names() -> String {
    PROBES.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
}

/// Runs the probe `action` and describes the outcome in one line; an unknown action is an error.
pub(crate) fn run(action: &str) -> Result<String, String> {
    let outcome = match action {
        "fork" => probe_fork(),
        "execve" => expect_errno("execve", probe_execve(), Errno::ENOENT),
        "setuid" => expect_ok("setuid", probe_setuid()),
        "setpriority" => match current_nice() {
            Ok(nice) => expect_ok("setpriority", probe_setpriority(nice)),
            Err(e) => format!("setpriority: could not read the current nice value: {e}"),
        },
        "mount" => expect_errno("mount", probe_mount(), Errno::ENOTDIR),
        "sysfs" => probe_sysfs(),
        _ => {
            return Err(format!(
                "unknown probe \"{action}\" (valid probes: {})",
                names()
            ));
        }
    };
    Ok(outcome)
}

fn describe(e: Errno) -> String {
    format!("{e:?} ({})", e.desc())
}

fn denied_or_unexpected(syscall: &str, e: Errno) -> String {
    if e == Errno::EPERM {
        format!("{syscall}: denied: {}", describe(e))
    } else {
        format!("{syscall}: failed: {}", describe(e))
    }
}

fn expect_ok(syscall: &str, r: Result<(), Errno>) -> String {
    match r {
        Ok(()) => format!("{syscall}: allowed: returned 0"),
        Err(e) => denied_or_unexpected(syscall, e),
    }
}

fn expect_errno(syscall: &str, r: Result<(), Errno>, allowed: Errno) -> String {
    match r {
        Err(e) if e == allowed => format!(
            "{syscall}: allowed: the kernel ran it and answered {}",
            describe(e)
        ),
        Ok(()) => format!("{syscall}: allowed: returned 0"),
        Err(e) => denied_or_unexpected(syscall, e),
    }
}

fn probe_fork() -> String {
    // SAFETY: in the child only `_exit` runs, which is async-signal-safe, so forking this
    // multi-threaded process cannot deadlock or corrupt state; the parent is unaffected.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return denied_or_unexpected("fork", Errno::last());
    }
    if pid == 0 {
        // SAFETY: `_exit` ends the child at once without running any of the parent's handlers.
        unsafe { libc::_exit(0) };
    }
    let child = nix::unistd::Pid::from_raw(pid);
    match nix::sys::wait::waitpid(child, None) {
        Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => {
            format!("fork: allowed: child {pid} exited with status {code}")
        }
        Ok(other) => format!("fork: allowed: child {pid} ended with {other:?}"),
        Err(e) => format!(
            "fork: allowed: child {pid} created, but waiting for it failed: {}",
            describe(e)
        ),
    }
}

fn probe_execve() -> Result<(), Errno> {
    let argv: [*const libc::c_char; 1] = [std::ptr::null()];
    // SAFETY: the path is empty, so the kernel fails the call with ENOENT after the seccomp
    // check; the process image is never replaced. All pointers are valid NUL-terminated arrays.
    let r = unsafe { libc::execve(c"".as_ptr(), argv.as_ptr(), argv.as_ptr()) };
    Errno::result(r).map(drop)
}

fn probe_setuid() -> Result<(), Errno> {
    let uid = nix::unistd::getuid().as_raw();
    // SAFETY: setting this thread's uid to the uid it already has changes nothing; the raw
    // syscall (not glibc's all-threads wrapper) issues exactly one setuid.
    let r = unsafe { libc::syscall(libc::SYS_setuid, uid as libc::c_long) };
    Errno::result(r).map(drop)
}

/// This thread's nice value, from `/proc/thread-self/stat` (field 19), so that reading it does
/// not itself need `getpriority`, which the sandbox may also forbid.
fn current_nice() -> Result<i64, String> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").map_err(|e| e.to_string())?;
    let after_comm = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or("no ')' in /proc/thread-self/stat")?;
    after_comm
        .split_whitespace()
        .nth(16)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| "no nice field in /proc/thread-self/stat".to_string())
}

fn probe_setpriority(nice: i64) -> Result<(), Errno> {
    // SAFETY: PRIO_PROCESS with who=0 is this thread; setting its current nice value changes
    // nothing.
    let r = unsafe {
        libc::syscall(
            libc::SYS_setpriority,
            libc::PRIO_PROCESS as libc::c_long,
            0 as libc::c_long,
            nice as libc::c_long,
        )
    };
    Errno::result(r).map(drop)
}

fn probe_mount() -> Result<(), Errno> {
    // SAFETY: the target lies below /dev/null, which is not a directory, so the kernel fails
    // the path lookup with ENOTDIR (after the seccomp check) and nothing is mounted. All strings
    // are valid C strings.
    let r = unsafe {
        libc::mount(
            c"none".as_ptr(),
            c"/dev/null/echod-probe".as_ptr(),
            c"tmpfs".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    Errno::result(r).map(drop)
}

#[cfg(target_arch = "x86_64")]
fn probe_sysfs() -> String {
    // SAFETY: sysfs option 3 only returns the number of filesystem types; no pointers.
    let r = unsafe { libc::syscall(libc::SYS_sysfs, 3 as libc::c_long) };
    match Errno::result(r) {
        Ok(n) => format!("sysfs: allowed: {n} filesystem types"),
        Err(e) => denied_or_unexpected("sysfs", e),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn probe_sysfs() -> String {
    "sysfs: not available on this architecture (no sysfs syscall)".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unsandboxed (this test process), every probe is allowed and harmless.
    #[test]
    fn unsandboxed_probes_are_allowed() {
        for p in PROBES {
            let out = run(p.name).unwrap();
            assert!(
                out.contains(": allowed:") || out.contains("not available"),
                "{}: {out}",
                p.name
            );
        }
        assert!(run("fork").unwrap().contains("exited with status 0"));
        assert!(run("execve").unwrap().contains("ENOENT"));
        assert!(run("mount").unwrap().contains("ENOTDIR"));
    }

    #[test]
    fn unknown_probe() {
        let e = run("reboot").unwrap_err();
        assert!(
            e.starts_with("unknown probe \"reboot\" (valid probes: fork, execve"),
            "{e}"
        );
    }

    #[test]
    fn probe_table_snapshot() {
        insta::assert_debug_snapshot!("probes", PROBES);
    }
}
