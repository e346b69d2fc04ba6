//! The probes of the threat model (issues 30, 31, 32) for `tests/enforce.rs`: the spawn-by-proxy
//! injections into an older unfiltered sibling, one call per table row added for the kernel's
//! doors, and the side doors a root daemon could take around a key (user namespaces, `execve`
//! restoring capabilities, autogroup, AIO real-time priority).
//!
//! Every call is harmless when allowed, also as root: invalid arguments, nonexistent paths and
//! pids, settings equal to the current ones, or state that dies with the probe (its own user
//! namespace, its own session's autogroup). Nothing here writes a system file, loads a module,
//! mounts or moves a process between cgroups: those doors are tried only inside the VM guests
//! (`vmtests/src/scenarios/doors.rs`).

#![allow(dead_code)]

use std::ffi::CString;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A call's outcome: the return value or the errno.
pub(crate) type Outcome = Result<i64, i32>;

pub(crate) fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

pub(crate) fn rc(r: libc::c_long) -> Outcome {
    if r < 0 { Err(errno()) } else { Ok(r) }
}

fn rc_int(r: libc::c_int) -> Outcome {
    rc(libc::c_long::from(r))
}

// ------------------------------------------------------------ spawn by proxy

/// The word the victim watches. The attacker is the victim's parent (a fork of the same
/// program), so the variable has the same address in both.
pub(crate) static MARKER: AtomicU64 = AtomicU64::new(0);

/// What the attacker writes into [`MARKER`]: "run the marker program".
pub(crate) const MAGIC: u64 = 0x5eed_ca11_0bad_f00d;

/// A victim forked before the sandbox is loaded: an older process of the same user, not
/// under the filter and outside any Landlock domain.
pub(crate) struct Victim {
    pub(crate) pid: libc::pid_t,
    /// The file the marker program creates when the victim runs it.
    pub(crate) ran: std::path::PathBuf,
}

/// A pipe end the victim holds as fd 100, for `pidfd_getfd`.
pub(crate) const VICTIM_FD: i32 = 100;

/// Forks the victim: it polls [`MARKER`] every 2 ms for 3 s; when it reads [`MAGIC`] it
/// executes this program as `marker RAN` (which creates the file `RAN`: "the victim ran a
/// program the attacker chose"), and otherwise exits 0.
pub(crate) fn fork_victim() -> Victim {
    let ran = std::env::temp_dir().join(format!("seccomp-sets-victim-ran-{}", std::process::id()));
    let _ = std::fs::remove_file(&ran);
    let exe = CString::new(
        std::env::current_exe()
            .expect("current_exe")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .unwrap();
    let arg0 = CString::new("enforce").unwrap();
    let arg1 = CString::new("marker").unwrap();
    let arg2 = CString::new(ran.clone().into_os_string().into_encoded_bytes()).unwrap();
    // SAFETY: the probe is single-threaded when it forks; the child only reads an atomic,
    // sleeps, dup2s, execs or _exits, all async-signal-safe, with the strings built above.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe writes.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } == 0 {
            // SAFETY: plain descriptor numbers.
            unsafe { libc::dup2(fds[1], VICTIM_FD) };
        }
        let argv = [
            arg0.as_ptr(),
            arg1.as_ptr(),
            arg2.as_ptr(),
            std::ptr::null(),
        ];
        for _ in 0..1500 {
            if MARKER.load(Ordering::SeqCst) == MAGIC {
                // SAFETY: NULL-terminated argv of valid C strings.
                unsafe { libc::execv(exe.as_ptr(), argv.as_ptr()) };
                // SAFETY: leave at once if the exec failed.
                unsafe { libc::_exit(3) };
            }
            // SAFETY: plain sleep.
            unsafe { libc::usleep(2000) };
        }
        // SAFETY: leave without running the parent's destructors.
        unsafe { libc::_exit(0) };
    }
    assert!(pid > 0, "fork: {}", std::io::Error::last_os_error());
    Victim { pid, ran }
}

impl Victim {
    /// Whether the victim ran the marker program (waits up to 1.5 s for the file).
    fn ran_the_marker(&self) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(1500) {
            if self.ran.exists() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    /// Kills and reaps the victim, removes the marker file.
    fn finish(&self) {
        // SAFETY: our own child.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        let mut status = 0;
        // SAFETY: `status` is a valid out pointer.
        unsafe { libc::waitpid(self.pid, &mut status, libc::__WALL) };
        let _ = std::fs::remove_file(&self.ran);
    }

    /// `Ok(1)`: the victim ran the attacker's program (an escape); `Ok(0)`: the injection's
    /// calls went through but nothing ran; `Err(errno)`: the first refused call.
    fn verdict(&self, injected: Outcome) -> Outcome {
        let outcome = match injected {
            Ok(_) => Ok(i64::from(self.ran_the_marker())),
            Err(e) => {
                // Refused, and nothing ran either.
                if self.ran.exists() { Ok(1) } else { Err(e) }
            }
        };
        self.finish();
        outcome
    }
}

fn marker_addr() -> u64 {
    MARKER.as_ptr() as u64
}

/// ptrace: seize, interrupt, poke [`MAGIC`] into the victim's [`MARKER`], detach.
fn ptrace_poke(pid: libc::pid_t) -> Outcome {
    const PTRACE_SEIZE: libc::c_uint = 0x4206;
    const PTRACE_INTERRUPT: libc::c_uint = 0x4207;
    // SAFETY: integer-only requests on our child; POKEDATA writes one word at an address
    // that is mapped in the victim (the same program image).
    unsafe {
        rc(libc::ptrace(PTRACE_SEIZE, pid, 0usize, 0usize))?;
        rc(libc::ptrace(PTRACE_INTERRUPT, pid, 0usize, 0usize))?;
        let mut status = 0;
        libc::waitpid(pid, &mut status, libc::__WALL);
        rc(libc::ptrace(
            libc::PTRACE_POKEDATA,
            pid,
            marker_addr() as usize,
            MAGIC as usize,
        ))?;
        rc(libc::ptrace(libc::PTRACE_DETACH, pid, 0usize, 0usize))
    }
}

/// process_vm_writev of [`MAGIC`] into the victim's [`MARKER`].
fn vm_write(pid: libc::pid_t) -> Outcome {
    let value = MAGIC;
    let local = libc::iovec {
        iov_base: &value as *const u64 as *mut libc::c_void,
        iov_len: 8,
    };
    let remote = libc::iovec {
        iov_base: marker_addr() as *mut libc::c_void,
        iov_len: 8,
    };
    // SAFETY: both iovecs describe 8 bytes; the local one is a live u64; the remote address is
    // only interpreted in the victim.
    rc(unsafe {
        libc::syscall(
            libc::SYS_process_vm_writev,
            pid,
            &local,
            1usize,
            &remote,
            1usize,
            0usize,
        )
    })
}

/// open("/proc/PID/mem", O_RDWR) and pwrite [`MAGIC`] at [`MARKER`]'s address.
fn proc_mem_write(pid: libc::pid_t) -> Outcome {
    let path = CString::new(format!("/proc/{pid}/mem")).unwrap();
    // SAFETY: a valid C string.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(errno());
    }
    let value = MAGIC;
    // SAFETY: writes 8 bytes from a live u64 through our own fd.
    let n = unsafe {
        libc::pwrite(
            fd,
            &value as *const u64 as *const libc::c_void,
            8,
            marker_addr() as libc::off_t,
        )
    };
    let e = errno();
    // SAFETY: our own fd.
    unsafe { libc::close(fd) };
    if n < 0 { Err(e) } else { Ok(n as i64) }
}

/// pidfd_getfd of the victim's fd [`VICTIM_FD`] (a pipe's write end): `Ok(1)` when the copy
/// worked (an escape of another kind: the victim's files are ours), else the errno.
fn pidfd_getfd(pid: libc::pid_t) -> Outcome {
    // SAFETY: integer arguments.
    let pidfd = rc(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: integer arguments.
    let got = rc(unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, VICTIM_FD, 0) });
    // SAFETY: our own fds.
    unsafe {
        libc::close(pidfd as i32);
        if let Ok(fd) = got {
            libc::close(fd as i32);
        }
    }
    got.map(|_| 1)
}

/// Runs the injection `how` against `victim` (forked before the sandbox).
pub(crate) fn inject(how: &str, victim: &Victim) -> Outcome {
    // Give the victim time to reach its loop.
    std::thread::sleep(Duration::from_millis(20));
    match how {
        "ptrace" => victim.verdict(ptrace_poke(victim.pid)),
        "vm-write" => victim.verdict(vm_write(victim.pid)),
        "proc-mem" => victim.verdict(proc_mem_write(victim.pid)),
        "pidfd-getfd" => {
            let got = pidfd_getfd(victim.pid);
            victim.finish();
            got
        }
        other => panic!("unknown injection {other:?}"),
    }
}

/// `enforce marker PATH`: the program the victim runs when told to.
pub(crate) fn marker_main(path: &str) -> std::process::ExitCode {
    let _ = std::fs::write(path, "ran\n");
    std::process::ExitCode::SUCCESS
}

// ------------------------------------------------------------ one call per row

/// A pid that does not exist (above the default pid_max of 4194304? no: just unused).
const NO_PID: libc::pid_t = 0x3fff_fff0;

/// The row probes: `Some(outcome)` for a known action.
pub(crate) fn row_call(action: &str) -> Option<Outcome> {
    let nowhere = CString::new("/nonexistent/seccomp-sets-probe").unwrap();
    let out = match action {
        // ptrace of a pid that does not exist: ESRCH when allowed.
        // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
        "ptrace-seize-nosuch" => rc(unsafe { libc::ptrace(0x4206, NO_PID, 0usize, 0usize) }),
        // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
        "process_vm_readv-nosuch" => rc(unsafe {
            libc::syscall(
                libc::SYS_process_vm_readv,
                NO_PID,
                0usize,
                0usize,
                0usize,
                0usize,
                0usize,
            )
        }),
        // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
        "process_vm_writev-nosuch" => rc(unsafe {
            libc::syscall(
                libc::SYS_process_vm_writev,
                NO_PID,
                0usize,
                0usize,
                0usize,
                0usize,
                0usize,
            )
        }),
        // An invalid pidfd: EBADF.
        // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
        "pidfd_getfd-badfd" => rc(unsafe { libc::syscall(libc::SYS_pidfd_getfd, -1, 0, 0) }),
        // kcmp of our own fd 0 with itself: 0 (kept allowed).
        "kcmp-self" => {
            // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
            let me = unsafe { libc::getpid() };
            // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
            rc(unsafe { libc::syscall(libc::SYS_kcmp, me, me, 0, 0, 0) })
        }
        // No callout information: the kernel never starts a helper; ENOKEY when allowed.
        "request_key-nocallout" => {
            let ty = CString::new("user").unwrap();
            let desc = CString::new("seccomp-sets:probe").unwrap();
            // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
            rc(unsafe {
                libc::syscall(
                    libc::SYS_request_key,
                    ty.as_ptr(),
                    desc.as_ptr(),
                    std::ptr::null::<libc::c_char>(),
                    -2, // KEY_SPEC_PROCESS_KEYRING
                )
            })
        }
        // A new user namespace for the probe alone (it dies with it).
        // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
        "unshare-newuser" => rc_int(unsafe { libc::unshare(libc::CLONE_NEWUSER) }),
        // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
        "setns-newuser-badfd" => rc_int(unsafe { libc::setns(-1, libc::CLONE_NEWUSER) }),
        // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
        "setns-newnet-badfd" => rc_int(unsafe { libc::setns(-1, libc::CLONE_NEWNET) }),
        // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
        "setns-any-badfd" => rc_int(unsafe { libc::setns(-1, 0) }),
        // A length too short for an ELF header: the kernel refuses it (nothing is loaded).
        "init_module-empty" => {
            let params = CString::new("").unwrap();
            // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
            rc(unsafe {
                libc::syscall(
                    libc::SYS_init_module,
                    std::ptr::null::<u8>(),
                    0usize,
                    params.as_ptr(),
                )
            })
        }
        "finit_module-badfd" => {
            let params = CString::new("").unwrap();
            // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
            rc(unsafe { libc::syscall(libc::SYS_finit_module, -1, params.as_ptr(), 0) })
        }
        "delete_module-nosuch" => {
            let name = CString::new("seccomp_sets_no_such_module").unwrap();
            // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
            rc(unsafe { libc::syscall(libc::SYS_delete_module, name.as_ptr(), libc::O_NONBLOCK) })
        }
        // An unknown command: EINVAL.
        // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
        "bpf-badcmd" => rc(unsafe { libc::syscall(libc::SYS_bpf, 0x7fff, 0usize, 0) }),
        // Invalid flags are checked first: EINVAL.
        "perf_event_open-badflags" => {
            let attr = [0u64; 16];
            // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
            rc(
                unsafe {
                    libc::syscall(libc::SYS_perf_event_open, attr.as_ptr(), 0, -1, -1, !0u64)
                },
            )
        }
        // An unknown flag: EINVAL.
        "userfaultfd-badflags" => {
            // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
            rc(unsafe { libc::syscall(libc::SYS_userfaultfd, 1 | (1 << 30)) })
        }
        // Zero entries: EINVAL.
        "io_uring_setup-zero" => {
            let params = [0u8; 120];
            // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
            rc(unsafe { libc::syscall(libc::SYS_io_uring_setup, 0, params.as_ptr()) })
        }
        "io_uring_enter-badfd" => {
            // SAFETY: an invalid fd and no pointers.
            rc(unsafe { libc::syscall(libc::SYS_io_uring_enter, -1, 0, 0, 0, 0usize, 0) })
        }
        "io_uring_register-badfd" => {
            // SAFETY: an invalid fd and a NULL argument.
            rc(unsafe { libc::syscall(libc::SYS_io_uring_register, -1, 0, 0usize, 0) })
        }
        "open_by_handle_at-badfd" => {
            let handle = [0u32; 4]; // handle_bytes 0
            // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
            rc(unsafe { libc::syscall(libc::SYS_open_by_handle_at, -1, handle.as_ptr(), 0) })
        }
        // Removed in Linux 5.12: ENOSYS when allowed.
        // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
        "lookup_dcookie" => rc(unsafe { libc::syscall(libc::SYS_lookup_dcookie, 0, 0usize, 0) }),
        // Read quota information of a path that does not exist: ENOENT.
        "quotactl-nowhere" => {
            let mut buf = [0u8; 64];
            // QCMD(Q_GETINFO = 0x800005, USRQUOTA = 0)
            // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
            rc(unsafe {
                libc::syscall(
                    libc::SYS_quotactl,
                    0x80_0005 << 8,
                    nowhere.as_ptr(),
                    0,
                    buf.as_mut_ptr(),
                )
            })
        }
        "quotactl_fd-badfd" => {
            let mut buf = [0u8; 64];
            // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
            rc(unsafe { libc::syscall(443, -1, 0x80_0005 << 8, 0, buf.as_mut_ptr()) })
        }
        // A path that does not exist (never NULL, which would turn accounting off): ENOENT.
        // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
        "acct-nowhere" => rc_int(unsafe { libc::acct(nowhere.as_ptr()) }),
        // Both NULL: changes nothing, returns 0.
        // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
        "settimeofday-null" => rc(unsafe { libc::syscall(libc::SYS_settimeofday, 0usize, 0usize) }),
        // The monotonic clock cannot be set by anyone: EINVAL.
        "clock_settime-monotonic" => {
            let ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
            rc_int(unsafe { libc::clock_settime(libc::CLOCK_MONOTONIC, &ts) })
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
        "iopl-4" => rc(unsafe { libc::syscall(libc::SYS_iopl, 4) }),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
        "ioperm-zero" => rc(unsafe { libc::syscall(libc::SYS_ioperm, 0, 0, 0) }),
        // The runner made the probe a session leader without a terminal: a no-op.
        // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
        "vhangup" => rc(unsafe { libc::syscall(libc::SYS_vhangup) }),
        // An AIO context, destroyed at once.
        "io_setup" => {
            let mut ctx: libc::c_ulong = 0;
            // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
            let r = rc(unsafe { libc::syscall(libc::SYS_io_setup, 1, &mut ctx) });
            if r.is_ok() {
                // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
                unsafe { libc::syscall(libc::SYS_io_destroy, ctx) };
            }
            r
        }
        // No such context: EINVAL.
        // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
        "io_submit-noctx" => rc(unsafe { libc::syscall(libc::SYS_io_submit, 0, 0, 0usize) }),
        "setrlimit-nice-same" => {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
            unsafe { libc::getrlimit(libc::RLIMIT_NICE, &mut lim) };
            // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
            rc(unsafe { libc::syscall(libc::SYS_setrlimit, libc::RLIMIT_NICE, &lim) })
        }
        "prlimit-rtprio-same" => {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
            unsafe { libc::getrlimit(libc::RLIMIT_RTPRIO, &mut lim) };
            // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
            rc(unsafe { libc::syscall(libc::SYS_prlimit64, 0, libc::RLIMIT_RTPRIO, &lim, 0usize) })
        }
        // Reading stays allowed.
        "prlimit-nice-read" => {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: integers, NULL, or pointers to live locals of the size the kernel reads.
            rc(unsafe {
                libc::syscall(libc::SYS_prlimit64, 0, libc::RLIMIT_NICE, 0usize, &mut lim)
            })
        }
        _ => return None,
    };
    Some(out)
}

// ------------------------------------------------------------ side doors (issue 32)

/// Door 3: a new user namespace; `Ok(CapEff)` inside it (full when the door is open).
pub(crate) fn userns_caps() -> Outcome {
    // SAFETY: integer argument; only this probe enters the namespace.
    rc_int(unsafe { libc::unshare(libc::CLONE_NEWUSER) })?;
    Ok(cap_eff() as i64)
}

/// This thread's effective capability set.
pub(crate) fn cap_eff() -> u64 {
    status_hex("CapEff:")
}

fn status_hex(field: &str) -> u64 {
    std::fs::read_to_string("/proc/thread-self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .unwrap_or(0)
}

/// capget/capset version 3: the two 32-bit halves of each set.
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

/// Door 4's set-up: a root daemon that cleared its effective set and kept its permitted set.
pub(crate) fn clear_effective_caps() {
    let mut header = CapHeader {
        version: 0x2008_0522,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: version 3 reads/writes exactly two CapData entries; both live for the calls.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &raw mut header, data.as_mut_ptr()) };
    assert_eq!(rc, 0, "capget: {}", std::io::Error::last_os_error());
    for d in &mut data {
        d.effective = 0;
    }
    // SAFETY: as above.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &raw mut header, data.as_ptr()) };
    assert_eq!(rc, 0, "capset: {}", std::io::Error::last_os_error());
}

/// Door 4: executes this program as `caps-report`, which prints its CapEff after the exec.
pub(crate) fn exec_caps_report() -> Outcome {
    let exe = CString::new(
        std::env::current_exe()
            .expect("current_exe")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .unwrap();
    let a0 = CString::new("enforce").unwrap();
    let a1 = CString::new("caps-report").unwrap();
    let argv = [a0.as_ptr(), a1.as_ptr(), std::ptr::null()];
    // SAFETY: NULL-terminated argv of valid C strings; on success this never returns.
    unsafe { libc::execv(exe.as_ptr(), argv.as_ptr()) };
    Err(errno())
}

/// `enforce caps-report`: the effective set this process got from the exec.
pub(crate) fn caps_report_main() -> std::process::ExitCode {
    println!("RESULT ok {}", cap_eff());
    std::process::ExitCode::SUCCESS
}

/// Door 5: `-15` into this session's autogroup (the runner made the probe a session leader,
/// so the autogroup is the probe's own and dies with it).
pub(crate) fn autogroup_raise() -> Outcome {
    std::fs::write("/proc/self/autogroup", "-15")
        .map(|()| 0)
        .map_err(|e| e.raw_os_error().unwrap_or(-1))
}

/// Door 7: one AIO read of a temporary file with the real-time I/O class
/// (`IOCB_FLAG_IOPRIO`, class 1 level 0); `Ok(1)` when it was submitted.
pub(crate) fn aio_rt_read() -> Outcome {
    #[repr(C)]
    #[derive(Default)]
    struct Iocb {
        aio_data: u64,
        aio_key: u32,
        aio_rw_flags: i32,
        aio_lio_opcode: u16,
        aio_reqprio: i16,
        aio_fildes: u32,
        aio_buf: u64,
        aio_nbytes: u64,
        aio_offset: i64,
        aio_reserved2: u64,
        aio_flags: u32,
        aio_resfd: u32,
    }
    let path = std::env::temp_dir().join(format!("seccomp-sets-aio-{}", std::process::id()));
    std::fs::write(&path, b"x").map_err(|e| e.raw_os_error().unwrap_or(-1))?;
    let file = std::fs::File::open(&path).map_err(|e| e.raw_os_error().unwrap_or(-1));
    let _ = std::fs::remove_file(&path);
    let file = file?;
    let mut ctx: libc::c_ulong = 0;
    // SAFETY: `ctx` is a valid out pointer.
    rc(unsafe { libc::syscall(libc::SYS_io_setup, 1, &mut ctx) })?;
    let mut buf = [0u8; 1];
    let cb = Iocb {
        aio_lio_opcode: 0,    // IOCB_CMD_PREAD
        aio_reqprio: 1 << 13, // IOPRIO_CLASS_RT << 13, level 0
        aio_fildes: std::os::fd::AsRawFd::as_raw_fd(&file) as u32,
        aio_buf: buf.as_mut_ptr() as u64,
        aio_nbytes: 1,
        aio_flags: 2, // IOCB_FLAG_IOPRIO
        ..Iocb::default()
    };
    let list = [&cb as *const Iocb];
    // SAFETY: one valid iocb whose buffer lives until the events are reaped below.
    let submitted = rc(unsafe { libc::syscall(libc::SYS_io_submit, ctx, 1i64, list.as_ptr()) });
    if submitted.is_ok() {
        let mut events = [0u64; 4];
        // SAFETY: room for one io_event (32 bytes); waits for the read to finish.
        unsafe {
            libc::syscall(
                libc::SYS_io_getevents,
                ctx,
                1i64,
                1i64,
                events.as_mut_ptr(),
                0usize,
            )
        };
    }
    // SAFETY: our own context.
    unsafe { libc::syscall(libc::SYS_io_destroy, ctx) };
    submitted
}

/// Door 2b: whether `path` is writable for us (`access(W_OK)`: writes nothing).
pub(crate) fn writable(path: &str) -> Outcome {
    let p = CString::new(path).unwrap();
    // SAFETY: a valid C string.
    rc_int(unsafe { libc::access(p.as_ptr(), libc::W_OK) })
}

// ------------------------------------------------------------ the held probes (issue 32)

/// Waits for a child a probe created when the call was allowed (`pid == 0`: we are the
/// child, which leaves at once).
fn reap(pid: libc::c_long) -> Outcome {
    if pid == 0 {
        // SAFETY: in the child: leave at once, without running any of the parent's destructors.
        unsafe { libc::_exit(0) }
    }
    let pid = rc(pid)?;
    let mut status = 0;
    // SAFETY: `status` is a valid out pointer; `pid` is our child.
    unsafe { libc::waitpid(pid as libc::pid_t, &mut status, libc::__WALL) };
    Ok(pid)
}

/// The calls of the held list that `enforce.rs`'s `act` does not have; each is harmless when
/// allowed (a child that exits at once, an id set to itself, an obsolete call's error).
pub(crate) fn held_call(action: &str) -> Option<Outcome> {
    let sigchld = libc::SIGCHLD as u64;
    let out = match action {
        // SAFETY: the probe is single-threaded; a child leaves at once through `reap`.
        #[cfg(target_arch = "x86_64")]
        "fork-raw" => reap(unsafe { libc::syscall(libc::SYS_fork) }),
        // SAFETY: as above; a vfork child only calls _exit (async-signal-safe, touches no
        // memory of the parent).
        #[cfg(target_arch = "x86_64")]
        "vfork-raw" => reap(unsafe { libc::syscall(libc::SYS_vfork) }),
        "clone-sigchld" => {
            // SAFETY: fork-like clone without a new stack: the child has its own copy and leaves.
            reap(unsafe { libc::syscall(libc::SYS_clone, sigchld, 0usize, 0usize, 0usize, 0usize) })
        }
        // SAFETY: as above, the parent waits for the child's exit (CLONE_VFORK without CLONE_VM).
        "clone-vfork" => reap(unsafe {
            libc::syscall(
                libc::SYS_clone,
                sigchld | libc::CLONE_VFORK as u64,
                0usize,
                0usize,
                0usize,
                0usize,
            )
        }),
        // Bit 32 set: the kernel reads only the low 32 bits, the filter compares all 64.
        "clone-bit32" => {
            // SAFETY: as clone-sigchld.
            reap(unsafe {
                libc::syscall(
                    libc::SYS_clone,
                    sigchld | (1u64 << 32),
                    0usize,
                    0usize,
                    0usize,
                    0usize,
                )
            })
        }
        // A real clone_args (fork-like, 64 bytes): the rows cannot read it, so ENOSYS.
        "clone3-fork" => {
            let mut args = [0u64; 8];
            args[4] = sigchld; // exit_signal
            // SAFETY: a valid, initialised clone_args of the size passed; fork-like (no stack).
            reap(unsafe { libc::syscall(libc::SYS_clone3, args.as_mut_ptr(), 64) })
        }
        // SAFETY: the current gid: nothing changes.
        "setgid-same" => rc_int(unsafe { libc::setgid(libc::getgid()) }),
        // SAFETY: -1 leaves every id unchanged.
        "setreuid-same" => rc(unsafe { libc::syscall(libc::SYS_setreuid, -1, -1) }),
        // SAFETY: as above.
        "setregid-same" => rc(unsafe { libc::syscall(libc::SYS_setregid, -1, -1) }),
        // SAFETY: as above.
        "setresuid-same" => rc(unsafe { libc::syscall(libc::SYS_setresuid, -1, -1, -1) }),
        // SAFETY: as above.
        "setresgid-same" => rc(unsafe { libc::syscall(libc::SYS_setresgid, -1, -1, -1) }),
        // SAFETY: -1 only reads the current fs id.
        "setfsuid-query" => rc(unsafe { libc::syscall(libc::SYS_setfsuid, -1) }),
        // SAFETY: as above.
        "setfsgid-query" => rc(unsafe { libc::syscall(libc::SYS_setfsgid, -1) }),
        // SAFETY: the process's own group, unchanged.
        "setpgid-same" => rc_int(unsafe { libc::setpgid(0, libc::getpgrp()) }),
        // SAFETY: a new session for the probe alone (it dies with it).
        "setsid" => rc_int(unsafe { libc::setsid() }),
        "capset-same" => {
            let mut header = CapHeader {
                version: 0x2008_0522,
                pid: 0,
            };
            let mut data = [CapData::default(); 2];
            // SAFETY: version 3 reads and writes two CapData entries, which live for the call.
            let got =
                unsafe { libc::syscall(libc::SYS_capget, &raw mut header, data.as_mut_ptr()) };
            if got != 0 {
                return Some(Err(errno()));
            }
            // SAFETY: as above; the same sets, so nothing changes.
            rc(unsafe { libc::syscall(libc::SYS_capset, &raw mut header, data.as_ptr()) })
        }
        "sched_setparam-same" => {
            let mut param = libc::sched_param { sched_priority: 0 };
            // SAFETY: `param` is a valid sched_param, read then written back unchanged.
            unsafe { libc::sched_getparam(0, &mut param) };
            // SAFETY: as above.
            rc_int(unsafe { libc::sched_setparam(0, &param) })
        }
        // SAFETY: device 0 does not exist; the kernel fails before touching the (null) buffer.
        #[cfg(target_arch = "x86_64")]
        "ustat" => rc(unsafe { libc::syscall(libc::SYS_ustat, 0, 0usize) }),
        // SAFETY: option 3 counts filesystem types; reads nothing.
        #[cfg(target_arch = "x86_64")]
        "sysfs" => rc(unsafe { libc::syscall(libc::SYS_sysfs, 3) }),
        #[cfg(target_arch = "x86_64")]
        "uselib-nowhere" => {
            let nowhere = CString::new("/nonexistent/seccomp-sets-probe").unwrap();
            // SAFETY: a path that does not exist.
            rc(unsafe { libc::syscall(libc::SYS_uselib, nowhere.as_ptr()) })
        }
        // x86_64's numbers (174, 177, 178): never implemented there (ENOSYS when allowed).
        // SAFETY: NULL arguments to a call the kernel does not implement.
        #[cfg(target_arch = "x86_64")]
        "create_module" => rc(unsafe { libc::syscall(174, 0usize, 0) }),
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        "get_kernel_syms" => rc(unsafe { libc::syscall(177, 0usize) }),
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        "query_module" => rc(unsafe { libc::syscall(178, 0usize, 0, 0usize, 0, 0usize) }),
        #[cfg(target_arch = "x86_64")]
        "i386-fork" => reap(i386_fork()),
        // SAFETY: x32 fork (0x40000000 | 57); a child leaves at once through `reap`.
        #[cfg(target_arch = "x86_64")]
        "x32-fork" => reap(unsafe { libc::syscall(0x4000_0000 | 57) }),
        _ => return None,
    };
    Some(out)
}

/// fork through the i386 entry (`int 0x80`, eax = 2): a raw return value.
#[cfg(target_arch = "x86_64")]
fn i386_fork() -> libc::c_long {
    let ret: i64;
    // SAFETY: i386 fork takes no arguments and touches no memory; a child leaves at once
    // (see `reap`); the clobbers cover what the compat entry may change.
    unsafe {
        std::arch::asm!("int 0x80", inlateout("rax") 2i64 => ret,
            lateout("r8") _, lateout("r9") _, lateout("r10") _, lateout("r11") _,
            options(nostack));
    }
    if ret < 0 {
        // The errno as libc::syscall reports it.
        // SAFETY: writes this thread's errno.
        unsafe { *libc::__errno_location() = -ret as i32 };
        -1
    } else {
        ret
    }
}

/// Drops to uid and gid 65534 (before the sandbox: the set-user-ID case of the held list).
pub(crate) fn become_nobody() {
    // SAFETY: integer arguments; the probe is single-threaded.
    unsafe {
        assert_eq!(libc::setgroups(0, std::ptr::null()), 0, "setgroups");
        assert_eq!(libc::setresgid(65534, 65534, 65534), 0, "setresgid");
        assert_eq!(libc::setresuid(65534, 65534, 65534), 0, "setresuid");
    }
}

/// Executes the set-user-ID-root copy at `path` as `euid-report`.
pub(crate) fn exec_euid_report(path: &str) -> Outcome {
    let exe = CString::new(path).unwrap();
    let a0 = CString::new("enforce").unwrap();
    let a1 = CString::new("euid-report").unwrap();
    let argv = [a0.as_ptr(), a1.as_ptr(), std::ptr::null()];
    // SAFETY: NULL-terminated argv of valid C strings; on success this never returns.
    unsafe { libc::execv(exe.as_ptr(), argv.as_ptr()) };
    Err(errno())
}

/// `enforce euid-report`: the effective uid the exec gave.
pub(crate) fn euid_report_main() -> std::process::ExitCode {
    // SAFETY: geteuid has no preconditions.
    println!("RESULT ok {}", unsafe { libc::geteuid() });
    std::process::ExitCode::SUCCESS
}
