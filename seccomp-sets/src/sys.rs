//! Thin, checked wrappers around the kernel calls libseccomp does not expose
//! the way we need: `SECCOMP_GET_ACTION_AVAIL`, `PR_SET_NO_NEW_PRIVS` and
//! `seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC)`; and those of the loader's
//! steps beyond seccomp: capabilities (`capget`, `capset`, the bounding and ambient sets),
//! resource limits, and asking the kernel for its Landlock ABI (the domain itself is made by
//! the `landlock` crate).
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

/// The three capability sets of the calling thread (`capget`, version 3), as 64-bit masks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Caps {
    pub(crate) effective: u64,
    pub(crate) permitted: u64,
    pub(crate) inheritable: u64,
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAP_VERSION_3: u32 = 0x2008_0522;

/// `capget(2)` of the calling thread.
pub(crate) fn caps() -> Result<Caps, Errno> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: version 3 writes exactly two CapData entries; `header` and `data` are live,
    // writable locals for the duration of the call.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &raw mut header, data.as_mut_ptr()) };
    if rc != 0 {
        return Err(Errno::last());
    }
    let join = |f: fn(&CapData) -> u32| u64::from(f(&data[0])) | (u64::from(f(&data[1])) << 32);
    Ok(Caps {
        effective: join(|d| d.effective),
        permitted: join(|d| d.permitted),
        inheritable: join(|d| d.inheritable),
    })
}

/// `capset(2)` of the calling thread (lowering needs no privilege; raising the effective set
/// needs the bit in the permitted set).
pub(crate) fn set_caps(c: Caps) -> Result<(), Errno> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let split = |v: u64| [v as u32, (v >> 32) as u32];
    let (e, p, i) = (split(c.effective), split(c.permitted), split(c.inheritable));
    let data = [0, 1].map(|w| CapData {
        effective: e[w],
        permitted: p[w],
        inheritable: i[w],
    });
    // SAFETY: version 3 reads exactly two CapData entries, which live for the call.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &raw mut header, data.as_ptr()) };
    if rc == 0 { Ok(()) } else { Err(Errno::last()) }
}

/// `prctl(PR_CAPBSET_READ, cap)`: whether `cap` is in the bounding set.
pub(crate) fn in_bounding_set(cap: u32) -> bool {
    // SAFETY: integer arguments only.
    unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(cap), 0, 0, 0) == 1 }
}

/// `prctl(PR_CAPBSET_DROP, cap)` (needs CAP_SETPCAP in the effective set).
pub(crate) fn drop_from_bounding_set(cap: u32) -> Result<(), Errno> {
    // SAFETY: integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0) };
    if rc == 0 { Ok(()) } else { Err(Errno::last()) }
}

/// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)` (Linux 4.3; needs no privilege).
pub(crate) fn clear_ambient() -> Result<(), Errno> {
    // SAFETY: integer arguments only.
    let rc = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    match rc {
        0 => Ok(()),
        // A kernel older than 4.3 has no ambient set to clear.
        _ if Errno::last() == Errno::EINVAL => Ok(()),
        _ => Err(Errno::last()),
    }
}

/// The highest capability this kernel knows (`/proc/sys/kernel/cap_last_cap`; 40 if unknown,
/// CAP_CHECKPOINT_RESTORE, Linux 5.9).
pub(crate) fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// `setrlimit(resource, {0, 0})`: lowering needs no privilege.
pub(crate) fn zero_rlimit(resource: libc::__rlimit_resource_t) -> Result<(), Errno> {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `zero` is a valid rlimit that lives for the call.
    let rc = unsafe { libc::setrlimit(resource, &zero) };
    if rc == 0 { Ok(()) } else { Err(Errno::last()) }
}

/// How many threads the process runs (`Threads:` of `/proc/self/status`; 0 if unknown).
pub(crate) fn thread_count() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Landlock on this kernel: `Ok(abi)`, or the errno of `landlock_create_ruleset(NULL, 0,
/// LANDLOCK_CREATE_RULESET_VERSION)`: ENOSYS (not built) or EOPNOTSUPP (built, not enabled at
/// boot). Asks only; creates nothing.
pub(crate) fn landlock_abi() -> Result<u32, Errno> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a NULL attribute, size 0 and the VERSION flag the kernel reads no memory
    // and only returns the ABI version.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if rc < 0 {
        Err(Errno::last())
    } else {
        Ok(u32::try_from(rc).unwrap_or(0))
    }
}
