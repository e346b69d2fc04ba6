//! Thin, checked wrappers around the kernel calls libseccomp does not expose
//! the way we need: `SECCOMP_GET_ACTION_AVAIL`, `PR_SET_NO_NEW_PRIVS` and
//! `seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC)`.
#![allow(unsafe_code)]

use std::sync::OnceLock;

use nix::errno::Errno;

use crate::Error;

/// `SECCOMP_RET_LOG` (Linux 4.14).
const SECCOMP_RET_LOG: u32 = 0x7ffc_0000;

/// Whether `seccomp(SECCOMP_GET_ACTION_AVAIL)` accepts `action`.
fn action_avail(action: u32) -> bool {
    // SAFETY: SECCOMP_GET_ACTION_AVAIL reads one u32 through the pointer,
    // which points to a live local for the duration of the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_GET_ACTION_AVAIL,
            0,
            &action as *const u32,
        )
    };
    rc == 0
}

/// Whether the running kernel has `SECCOMP_RET_KILL_PROCESS` (Linux 4.14),
/// asked once per process like QEMU's `qemu_seccomp_update_action`.
pub(crate) fn kill_process_available() -> bool {
    static AVAIL: OnceLock<bool> = OnceLock::new();
    *AVAIL.get_or_init(|| action_avail(libc::SECCOMP_RET_KILL_PROCESS))
}

/// Whether the running kernel has `SECCOMP_RET_LOG` (needed by audit mode).
pub(crate) fn log_available() -> bool {
    static AVAIL: OnceLock<bool> = OnceLock::new();
    *AVAIL.get_or_init(|| action_avail(SECCOMP_RET_LOG))
}

/// Whether the calling thread has CAP_SYS_ADMIN in its user namespace, which
/// lets it load a filter without no_new_privs. Unknown counts as "no".
pub(crate) fn has_cap_sys_admin() -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    let Ok(status) = std::fs::read_to_string("/proc/thread-self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_ADMIN) != 0)
}

/// `prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)`.
pub(crate) fn set_no_new_privs() -> Result<(), Error> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::NoNewPrivs(Errno::last()))
    }
}

/// `prctl(PR_GET_NO_NEW_PRIVS)`.
pub(crate) fn no_new_privs() -> bool {
    // SAFETY: PR_GET_NO_NEW_PRIVS takes integer arguments only.
    unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 }
}

/// Decodes libseccomp's BPF export (`struct sock_filter[]` in native byte
/// order, 8 bytes each).
pub(crate) fn decode_bpf(bpf: &[u8]) -> Vec<libc::sock_filter> {
    bpf.chunks_exact(8)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}

/// Loads a BPF program with `SECCOMP_FILTER_FLAG_TSYNC`, so that every thread
/// of the process gets it. Returns the TSYNC culprit's thread id as
/// [`Error::Tsync`] (libseccomp 2.5 turns it into a bare `-ESRCH`, which is why
/// we make the call ourselves).
pub(crate) fn load_tsync(bpf: &[u8]) -> Result<(), Error> {
    let mut insns = decode_bpf(bpf);
    let len = u16::try_from(insns.len()).map_err(|_| Error::Load {
        errno: Errno::EINVAL,
        hint: "the BPF program is longer than 65535 instructions",
    })?;
    let prog = libc::sock_fprog {
        len,
        filter: insns.as_mut_ptr(),
    };
    // SAFETY: `prog` points to `len` initialised instructions that live until
    // the call returns; the kernel copies them.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_TSYNC,
            &prog as *const libc::sock_fprog,
        )
    };
    load_outcome(rc, Errno::last())
}

/// What `seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC)` returning `rc` (with
/// `errno` when it is negative) means.
fn load_outcome(rc: libc::c_long, errno: Errno) -> Result<(), Error> {
    match rc {
        0 => Ok(()),
        tid @ 1.. => Err(Error::Tsync {
            tid: i32::try_from(tid).unwrap_or(i32::MAX),
        }),
        _ => {
            let hint = match errno {
                Errno::EACCES => {
                    "the caller has neither no_new_privs nor CAP_SYS_ADMIN in its user namespace"
                }
                Errno::EINVAL => {
                    "the kernel rejected the program or the TSYNC flag (kernel older than 3.17?)"
                }
                Errno::ENOSYS => "this kernel has no seccomp(2) (CONFIG_SECCOMP_FILTER off?)",
                Errno::ENOMEM => "out of memory, or the filter stack exceeds 32768 instructions",
                Errno::EFAULT => "the kernel could not read the program",
                _ => "unexpected error from the kernel",
            };
            Err(Error::Load { errno, hint })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line of /proc/self/status (this test's thread has the same credentials).
    fn status(field: &str) -> String {
        std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix(field).map(|v| v.trim().to_owned()))
            .unwrap()
    }

    #[test]
    fn probes_agree_with_what_the_kernel_publishes() {
        let caps = u64::from_str_radix(&status("CapEff:"), 16).unwrap();
        assert_eq!(
            has_cap_sys_admin(),
            caps & (1 << 21) != 0,
            "CapEff {caps:x}"
        );
        assert_eq!(no_new_privs(), status("NoNewPrivs:") == "1");
        assert!(!action_avail(0x1234_5678), "an action that does not exist");
        // The kernel lists the actions it has (Linux 4.14+).
        let Ok(actions) = std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail") else {
            test_support::skip_kernel!("no /proc/sys/kernel/seccomp/actions_avail (Linux < 4.14)");
        };
        let has = |a: &str| actions.split_whitespace().any(|x| x == a);
        assert_eq!(kill_process_available(), has("kill_process"), "{actions}");
        assert_eq!(log_available(), has("log"), "{actions}");
    }

    /// The thread-level facts the probes read, changed in a thread of their own (both are
    /// per-thread and die with it): no_new_privs set, CAP_SYS_ADMIN dropped.
    #[test]
    fn probes_follow_this_threads_state() {
        std::thread::spawn(|| {
            set_no_new_privs().unwrap();
            assert!(no_new_privs());
            drop_effective_capabilities();
            assert!(!has_cap_sys_admin());
        })
        .join()
        .unwrap();
    }

    /// Clears this thread's effective capability set (`capset(2)`, version 3).
    fn drop_effective_capabilities() {
        #[repr(C)]
        struct Header {
            version: u32,
            pid: i32,
        }
        #[repr(C)]
        #[derive(Clone, Copy, Default)]
        struct Data {
            effective: u32,
            permitted: u32,
            inheritable: u32,
        }
        let mut header = Header {
            version: 0x2008_0522,
            pid: 0,
        };
        let mut data = [Data::default(); 2];
        // SAFETY: `header` and `data` are valid, writable and live for the call; version 3
        // reads and writes exactly two `Data` entries.
        let rc = unsafe { libc::syscall(libc::SYS_capget, &raw mut header, data.as_mut_ptr()) };
        assert_eq!(rc, 0, "capget: {}", std::io::Error::last_os_error());
        for d in &mut data {
            d.effective = 0;
        }
        // SAFETY: as above; capset only reads them.
        let rc = unsafe { libc::syscall(libc::SYS_capset, &raw mut header, data.as_ptr()) };
        assert_eq!(rc, 0, "capset: {}", std::io::Error::last_os_error());
    }

    #[test]
    fn load_outcomes() {
        assert!(load_outcome(0, Errno::UnknownErrno).is_ok());
        assert!(matches!(
            load_outcome(4242, Errno::UnknownErrno),
            Err(Error::Tsync { tid: 4242 })
        ));
        for (errno, hint) in [
            (Errno::EACCES, "neither no_new_privs nor CAP_SYS_ADMIN"),
            (Errno::EINVAL, "rejected the program"),
            (Errno::ENOSYS, "no seccomp(2)"),
            (Errno::ENOMEM, "out of memory"),
            (Errno::EFAULT, "could not read the program"),
            (Errno::EIO, "unexpected error"),
        ] {
            match load_outcome(-1, errno) {
                Err(Error::Load { errno: e, hint: h }) => {
                    assert_eq!(e, errno);
                    assert!(h.contains(hint), "{errno}: {h}");
                }
                other => panic!("{errno}: {other:?}"),
            }
        }
    }
}
