//! Real filters, each case in its own process.
//!
//! A loaded filter cannot be removed and fork() inside a multi-threaded test
//! harness is unsafe, so this test binary has no libtest harness: run without
//! arguments it is the runner, and for each case it starts itself as a probe
//! (`enforce probe <sandbox> <mode> <action>`) with `std::process::Command`.
//! The probe loads the filter, makes one call and prints `RESULT ok <value>`
//! or `RESULT errno <n>`; the runner checks that line, the exit status and
//! the terminating signal.
//!
//! Every call is harmless when allowed (tests run as root in CI): invalid
//! magic numbers, nonexistent paths, invalid fds, or settings equal to the
//! current ones.
//!
//! Usage: `cargo test -p seccomp-sets --test enforce [-- FILTER]`; `--list`
//! lists the cases.

#[path = "common/bpf.rs"]
mod bpf;
#[path = "common/doors.rs"]
mod doors;
#[path = "common/qemu.rs"]
mod qemu;

use std::ffi::CString;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitCode};
use std::sync::mpsc;

use seccomp_sets::{Error, Filter, KillAction, Mode, Sandbox};

// ---------------------------------------------------------------- probe side

/// A call's outcome: the return value or the errno.
type Outcome = Result<i64, i32>;

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn rc(r: libc::c_long) -> Outcome {
    if r < 0 { Err(errno()) } else { Ok(r) }
}

fn rc_int(r: libc::c_int) -> Outcome {
    rc(libc::c_long::from(r))
}

const NOWHERE: &str = "/nonexistent/seccomp-sets-probe";

fn nowhere() -> CString {
    CString::new(NOWHERE).unwrap()
}

/// `clone` flags of a thread plus `extra`; the kernel rejects the
/// combinations used here with EINVAL, so no thread is ever created.
fn raw_clone_invalid(extra: u64) -> Outcome {
    let flags = libc::CLONE_VM | libc::CLONE_SIGHAND | libc::CLONE_THREAD | libc::CLONE_FS;
    let flags = flags as u64 | extra;
    // SAFETY: the flag combinations passed here (CLONE_THREAD with
    // CLONE_NEWUSER, or CLONE_FS with CLONE_NEWNS) are invalid, so the kernel
    // returns EINVAL before creating anything; when the filter blocks, the
    // call does not happen at all. No stack is needed either way.
    rc(unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) })
}

fn reboot_bad_magic() -> Outcome {
    // SAFETY: invalid magic numbers: the kernel returns EINVAL (or EPERM
    // without CAP_SYS_BOOT) and never reboots.
    rc(unsafe { libc::syscall(libc::SYS_reboot, 0, 0, 0, 0usize) })
}

#[cfg(target_arch = "x86_64")]
fn i386_getppid() -> Outcome {
    let ret: i64;
    // SAFETY: `int 0x80` with eax = 64 is the i386 getppid, which takes no
    // arguments and touches no memory; the clobbers cover what the kernel's
    // compat entry may change.
    unsafe {
        std::arch::asm!("int 0x80", inlateout("rax") 64i64 => ret,
            lateout("r8") _, lateout("r9") _, lateout("r10") _, lateout("r11") _,
            options(nostack));
    }
    if ret < 0 { Err(-ret as i32) } else { Ok(ret) }
}

#[cfg(target_arch = "x86_64")]
fn x32_getppid() -> Outcome {
    // SAFETY: x32 getppid (0x40000000 | 110) takes no arguments.
    rc(unsafe { libc::syscall(0x4000_0000 | 110) })
}

fn sched_attr_batch() -> Outcome {
    // struct sched_attr, SCHED_ATTR_SIZE_VER0 = 48 bytes.
    #[repr(C)]
    struct SchedAttr {
        size: u32,
        policy: u32,
        flags: u64,
        nice: i32,
        priority: u32,
        runtime: u64,
        deadline: u64,
        period: u64,
    }
    let attr = SchedAttr {
        size: 48,
        policy: libc::SCHED_BATCH as u32,
        flags: 0,
        nice: 0,
        priority: 0,
        runtime: 0,
        deadline: 0,
        period: 0,
    };
    // SAFETY: `attr` is a valid, initialised sched_attr of the stated size;
    // SCHED_BATCH is an unprivileged, non-realtime policy for this probe only.
    rc(unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) })
}

fn sched_policy(policy: libc::c_int) -> Outcome {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is valid; SCHED_IDLE/SCHED_BATCH are non-realtime
    // policies applied to this probe process only.
    rc_int(unsafe { libc::sched_setscheduler(0, policy, &param) })
}

fn posix_spawn_true() -> Outcome {
    let prog = CString::new("/bin/true").unwrap();
    let argv = [prog.as_ptr(), std::ptr::null()];
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];
    let mut pid: libc::pid_t = 0;
    // SAFETY: argv/envp are NULL-terminated arrays of valid C strings that
    // outlive the call; no file actions or attributes are passed.
    let r = unsafe {
        libc::posix_spawn(
            &mut pid,
            prog.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            argv.as_ptr() as *const *mut libc::c_char,
            envp.as_ptr() as *const *mut libc::c_char,
        )
    };
    if r != 0 {
        return Err(r);
    }
    let mut status = 0;
    // SAFETY: waiting for the child we just spawned.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    Ok(i64::from(status))
}

fn fork_and_wait() -> Outcome {
    // SAFETY: the probe is single-threaded here; the child only calls
    // _exit, which is async-signal-safe.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(errno()),
        0 => {
            // SAFETY: immediate exit of the forked child.
            unsafe { libc::_exit(0) }
        }
        child => {
            let mut status = 0;
            // SAFETY: waiting for our own child.
            unsafe { libc::waitpid(child, &mut status, 0) };
            Ok(i64::from(status))
        }
    }
}

fn tokio_runtime() -> Outcome {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.raw_os_error().unwrap_or(-1))?;
    let sum = rt.block_on(async {
        let mut handles = Vec::new();
        for i in 0..8i64 {
            handles.push(tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                i
            }));
        }
        let blocking = tokio::task::spawn_blocking(|| 100i64).await.unwrap_or(0);
        let mut sum = blocking;
        for h in handles {
            sum += h.await.unwrap_or(0);
        }
        sum
    });
    Ok(sum)
}

/// Runs `action` (after the filter was loaded).
fn act(action: &str) -> Outcome {
    let path = nowhere();
    match action {
        "getppid" => {
            // SAFETY: getppid has no arguments.
            Ok(i64::from(unsafe { libc::getppid() }))
        }
        "reboot" => reboot_bad_magic(),
        // x86_64 has these names; aarch64 has neither (`seccomp-sets coverage --arch aarch64`).
        #[cfg(target_arch = "x86_64")]
        "vserver" => {
            // SAFETY: vserver is unimplemented: ENOSYS when allowed.
            rc(unsafe { libc::syscall(libc::SYS_vserver) })
        }
        #[cfg(target_arch = "x86_64")]
        "_sysctl" => {
            // SAFETY: _sysctl was removed from Linux (ENOSYS) and a NULL
            // argument is rejected anyway.
            rc(unsafe { libc::syscall(libc::SYS__sysctl, 0usize) })
        }
        // The obsolete set's one call on every ABI (aarch64 has none of QEMU's obsolete names).
        "lookup_dcookie" => {
            // SAFETY: a zero cookie and a NULL buffer of length 0: nothing is written; ENOSYS
            // when allowed since Linux 5.12.
            rc(unsafe { libc::syscall(libc::SYS_lookup_dcookie, 0u64, 0usize, 0usize) })
        }
        "umount2" => {
            // SAFETY: a nonexistent path: ENOENT when allowed.
            rc_int(unsafe { libc::umount2(path.as_ptr(), 0) })
        }
        "fsopen" => {
            let fs = CString::new("seccomp-sets-no-such-fs").unwrap();
            // SAFETY: an unknown filesystem type: ENODEV when allowed.
            rc(unsafe { libc::syscall(libc::SYS_fsopen, fs.as_ptr(), 0) })
        }
        "setuid-same" => {
            // SAFETY: setuid to the current uid changes nothing.
            rc_int(unsafe { libc::setuid(libc::getuid()) })
        }
        "setgroups-invalid" => {
            // SAFETY: a negative count is rejected with EINVAL.
            rc(unsafe { libc::syscall(libc::SYS_setgroups, -1i64, 0usize) })
        }
        "fork" => fork_and_wait(),
        "posix_spawn" => posix_spawn_true(),
        "execve-nowhere" => {
            let argv = [path.as_ptr(), std::ptr::null()];
            let envp: [*const libc::c_char; 1] = [std::ptr::null()];
            // SAFETY: valid NULL-terminated arrays; the path does not exist,
            // so the call returns ENOENT when allowed.
            rc_int(unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) })
        }
        "execveat-nowhere" => {
            let argv = [path.as_ptr(), std::ptr::null()];
            let envp: [*const libc::c_char; 1] = [std::ptr::null()];
            // SAFETY: as execve above, through execveat(AT_FDCWD).
            rc(unsafe {
                libc::syscall(
                    libc::SYS_execveat,
                    libc::AT_FDCWD,
                    path.as_ptr(),
                    argv.as_ptr(),
                    envp.as_ptr(),
                    0,
                )
            })
        }
        "clone3-null" => {
            // SAFETY: a NULL clone_args of size 0: EINVAL when allowed.
            rc(unsafe { libc::syscall(libc::SYS_clone3, 0usize, 0usize) })
        }
        "clone-newuser" => raw_clone_invalid(libc::CLONE_NEWUSER as u64),
        "clone-newns" => raw_clone_invalid(libc::CLONE_NEWNS as u64),
        "unshare-none" => {
            // SAFETY: unshare(0) unshares nothing.
            rc_int(unsafe { libc::unshare(0) })
        }
        "setns-badfd" => {
            // SAFETY: an invalid fd: EBADF when allowed.
            rc_int(unsafe { libc::setns(-1, 0) })
        }
        "thread" => std::thread::spawn(|| 7i64).join().map_err(|_| -1),
        "tokio" => tokio_runtime(),
        "setpriority-same" => {
            // SAFETY: reads then re-sets this process's own nice value.
            let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
            // SAFETY: as above.
            rc_int(unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) })
        }
        "sched-idle" => sched_policy(libc::SCHED_IDLE),
        "sched-batch" => sched_policy(libc::SCHED_BATCH),
        "sched_setattr-batch" => sched_attr_batch(),
        "sched_setaffinity-same" => {
            // SAFETY: a zeroed cpu_set_t is valid; it is filled by
            // sched_getaffinity and written back unchanged.
            let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
            let size = std::mem::size_of::<libc::cpu_set_t>();
            // SAFETY: `set` is a valid cpu_set_t of `size` bytes.
            if unsafe { libc::sched_getaffinity(0, size, &mut set) } != 0 {
                return Err(errno());
            }
            // SAFETY: as above.
            rc_int(unsafe { libc::sched_setaffinity(0, size, &set) })
        }
        "ioprio-same" => {
            // IOPRIO_WHO_PROCESS = 1.
            // SAFETY: reads this process's I/O priority then sets it unchanged.
            let prio = unsafe { libc::syscall(libc::SYS_ioprio_get, 1, 0) };
            if prio < 0 {
                return Err(errno());
            }
            // SAFETY: as above.
            rc(unsafe { libc::syscall(libc::SYS_ioprio_set, 1, 0, prio) })
        }
        "nnp" => {
            // SAFETY: PR_GET_NO_NEW_PRIVS takes no pointers.
            rc_int(unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) })
        }
        #[cfg(target_arch = "x86_64")]
        "i386-getppid" => i386_getppid(),
        #[cfg(target_arch = "x86_64")]
        "x32-getppid" => x32_getppid(),
        "userns-caps" => doors::userns_caps(),
        "exec-caps-report" => doors::exec_caps_report(),
        "autogroup-raise" => doors::autogroup_raise(),
        "aio-rt-read" => doors::aio_rt_read(),
        "core_pattern-writable" => doors::writable("/proc/sys/kernel/core_pattern"),
        other => doors::row_call(other)
            .or_else(|| doors::held_call(other))
            .unwrap_or_else(|| panic!("unknown probe action {other:?}")),
    }
}

fn print_outcome(o: Outcome) {
    match o {
        Ok(v) => println!("RESULT ok {v}"),
        Err(e) => println!("RESULT errno {e}"),
    }
}

/// Probe: `probe <sandbox> <mode|off|prctl> <action>`.
fn probe(sandbox: &str, mode: &str, action: &str) -> ExitCode {
    let sandbox: Sandbox = sandbox.parse().expect("probe: bad sandbox");
    // Cases about thread coverage start a thread before the filter exists.
    let (to_thread, from_main) = mpsc::channel::<()>();
    let (to_main, from_thread) = mpsc::channel::<(i64, Outcome)>();
    let early = action.strip_prefix("early-thread:").map(|inner| {
        let inner = inner.to_owned();
        std::thread::spawn(move || {
            // SAFETY: gettid has no arguments.
            let tid = i64::from(unsafe { libc::gettid() });
            if inner == "own-filter" {
                // A thread with its own extra filter makes TSYNC fail.
                let f = Filter::builder_for_sets(Default::default())
                    .build()
                    .unwrap();
                bpf::load(&f.export_bpf());
            }
            to_main.send((tid, Ok(0))).unwrap();
            from_main.recv().unwrap();
            if inner != "own-filter" {
                to_main.send((tid, act(&inner))).unwrap();
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        })
    });
    let early_tid = early.as_ref().map(|_| from_thread.recv().unwrap().0);
    // Spawn by proxy: the victim is forked before the sandbox, so it is not under it.
    let victim = action.starts_with("inject:").then(doors::fork_victim);
    // A root daemon that cleared its effective capabilities and kept its permitted ones.
    if action == "exec-caps-report" {
        doors::clear_effective_caps();
    }
    // An unprivileged process that will execute a set-user-ID-root program.
    if action.starts_with("nnp-setuid:") {
        doors::become_nobody();
    }
    match mode {
        "off" => {}
        // The seccomp filter alone: every loader step beyond it skipped.
        "filter" => {
            if let Err(e) = Filter::builder(&sandbox)
                .filter_only()
                .build()
                .and_then(|f| f.load())
            {
                println!("RESULT load-error {e}");
                return ExitCode::FAILURE;
            }
        }
        // The full load, strict: an unavailable step is an error.
        "strict" => {
            if let Err(e) = Filter::builder(&sandbox)
                .strict(true)
                .build()
                .and_then(|f| f.load())
            {
                println!("RESULT load-error {e}");
                return ExitCode::SUCCESS;
            }
        }
        // The single-threaded half, which refuses a process that already runs threads.
        "prepare" => match seccomp_sets::prepare(&sandbox, Mode::Enforce).and_then(|p| p.load()) {
            Ok(_) => {}
            Err(e) => {
                println!("RESULT load-error {e}");
                return ExitCode::SUCCESS;
            }
        },
        m if m.starts_with("bpf:") => {
            let program = std::fs::read(&m[4..]).expect("probe: reading the BPF program");
            bpf::load(&program);
        }
        "prctl" => {
            let f = Filter::builder(&sandbox)
                .kill_action(KillAction::detect())
                .build()
                .unwrap();
            bpf::load(&f.export_bpf());
        }
        m => {
            let mode: Mode = m.parse().unwrap();
            match seccomp_sets::apply(&sandbox, mode) {
                Ok(_) => {}
                Err(Error::Tsync { tid }) => {
                    println!("RESULT tsync {}", i64::from(tid) == early_tid.unwrap_or(-1));
                    return ExitCode::SUCCESS;
                }
                Err(e) => {
                    println!("RESULT load-error {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    if let Some(victim) = &victim {
        print_outcome(doors::inject(&action["inject:".len()..], victim));
    } else if let Some(path) = action.strip_prefix("nnp-setuid:") {
        print_outcome(doors::exec_euid_report(path));
    } else if early.is_some() {
        to_thread.send(()).unwrap();
        let (_, outcome) = from_thread.recv().unwrap();
        print_outcome(outcome);
    } else {
        print_outcome(act(action));
    }
    ExitCode::SUCCESS
}

// ---------------------------------------------------------------- runner side

#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// Survives; the call returned this value.
    Returns(i64),
    /// Survives; the call returned some value (>= 0).
    Succeeds,
    /// Survives; the call failed with this errno.
    Errno(i32),
    /// Survives; the call failed with some errno other than the filter's EPERM.
    FailsNotEperm,
    /// Survives whatever the call did (an allowed kill row).
    Survives,
    /// Killed by SIGSYS.
    Sigsys,
    /// Killed by SIGSYS after the report-mode line naming the call.
    Reported(&'static str),
    /// Loading failed with TSYNC naming the early thread.
    TsyncNamesThread,
    /// Survives; the call did not fail with this errno (it returned or failed otherwise).
    Not(i32),
    /// Survives; the call returned a value other than 0.
    Nonzero,
    /// Survives; the victim ran the attacker's program (`RESULT ok 1`): a spawn by proxy.
    Escapes,
    /// Survives; loading refused with a message containing this text.
    LoadError(&'static str),
}

struct Case {
    name: &'static str,
    sandbox: &'static str,
    mode: &'static str,
    action: &'static str,
    expect: Expect,
    /// Needs root (skips loudly otherwise).
    root: bool,
    /// Runs as a session leader without a controlling terminal (vhangup, autogroup).
    setsid: bool,
}

impl Case {
    const fn root(self) -> Case {
        Case { root: true, ..self }
    }

    const fn setsid(self) -> Case {
        Case {
            setsid: true,
            ..self
        }
    }
}

const fn case(
    name: &'static str,
    sandbox: &'static str,
    mode: &'static str,
    action: &'static str,
    expect: Expect,
) -> Case {
    Case {
        name,
        sandbox,
        mode,
        action,
        expect,
        root: false,
        setsid: false,
    }
}

use Expect::*;

const SPAWN: &str = "on,spawn=deny";
const RES: &str = "on,resourcecontrol=deny";
const PRIV: &str = "on,elevateprivileges=deny";
/// Every set denied: the issues' "strictest sandbox".
const STRICTEST: &str = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";

fn cases() -> Vec<Case> {
    let mut v = vec![
        // default set: kill, neighbours live.
        case("default_reboot_killed", "on", "enforce", "reboot", Sigsys),
        case(
            "default_reboot_allowed_when_off",
            "off",
            "enforce",
            "reboot",
            Survives,
        ),
        case("default_umount2_killed", "on", "enforce", "umount2", Sigsys),
        case(
            "default_umount2_unblocked_baseline",
            "off",
            "off",
            "umount2",
            FailsNotEperm,
        ),
        case("default_fsopen_killed", "on", "enforce", "fsopen", Sigsys),
        case(
            "default_getppid_lives",
            "on",
            "enforce",
            "getppid",
            Succeeds,
        ),
        case(
            "default_setuid_allowed",
            "on",
            "enforce",
            "setuid-same",
            Survives,
        ),
        case("default_spawn_allowed", "on", "enforce", "fork", Succeeds),
        // obsolete: lookup_dcookie exists on every ABI (removed from Linux 5.12: ENOSYS).
        case(
            "obsolete_lookup_dcookie_killed",
            "on",
            "enforce",
            "lookup_dcookie",
            Sigsys,
        ),
        case(
            "obsolete_allow_lookup_dcookie_enosys",
            "on,obsolete=allow",
            "enforce",
            "lookup_dcookie",
            Errno(libc::ENOSYS),
        ),
        // privileged.
        case(
            "privileged_setuid_killed",
            PRIV,
            "enforce",
            "setuid-same",
            Sigsys,
        ),
        case(
            "privileged_setgroups_killed",
            PRIV,
            "enforce",
            "setgroups-invalid",
            Sigsys,
        ),
        case(
            "privileged_children_setuid_killed",
            "on,elevateprivileges=children",
            "enforce",
            "setuid-same",
            Sigsys,
        ),
        case(
            "privileged_children_sets_nnp",
            "on,elevateprivileges=children",
            "enforce",
            "nnp",
            Returns(1),
        ),
        case(
            "privileged_getppid_lives",
            PRIV,
            "enforce",
            "getppid",
            Succeeds,
        ),
        // spawn: EPERM, threads keep working.
        case(
            "spawn_fork_eperm",
            SPAWN,
            "enforce",
            "fork",
            Errno(libc::EPERM),
        ),
        case(
            "spawn_posix_spawn_eperm",
            SPAWN,
            "enforce",
            "posix_spawn",
            Errno(libc::EPERM),
        ),
        case(
            "spawn_posix_spawn_baseline",
            "on",
            "enforce",
            "posix_spawn",
            Returns(0),
        ),
        case(
            "spawn_execve_eperm",
            SPAWN,
            "enforce",
            "execve-nowhere",
            Errno(libc::EPERM),
        ),
        case(
            "spawn_execve_baseline_enoent",
            "on",
            "enforce",
            "execve-nowhere",
            Errno(libc::ENOENT),
        ),
        case(
            "spawn_execveat_eperm",
            SPAWN,
            "enforce",
            "execveat-nowhere",
            Errno(libc::EPERM),
        ),
        case(
            "spawn_execveat_baseline_enoent",
            "on",
            "enforce",
            "execveat-nowhere",
            Errno(libc::ENOENT),
        ),
        case(
            "spawn_clone3_enosys",
            SPAWN,
            "enforce",
            "clone3-null",
            Errno(libc::ENOSYS),
        ),
        case(
            "spawn_clone3_baseline_einval",
            "on",
            "enforce",
            "clone3-null",
            Errno(libc::EINVAL),
        ),
        case(
            "spawn_clone_newuser_eperm",
            SPAWN,
            "enforce",
            "clone-newuser",
            Errno(libc::EPERM),
        ),
        case(
            "spawn_clone_newuser_baseline_einval",
            "on",
            "enforce",
            "clone-newuser",
            Errno(libc::EINVAL),
        ),
        case(
            "spawn_clone_newns_eperm",
            SPAWN,
            "enforce",
            "clone-newns",
            Errno(libc::EPERM),
        ),
        case(
            "spawn_unshare_eperm",
            SPAWN,
            "enforce",
            "unshare-none",
            Errno(libc::EPERM),
        ),
        case(
            "spawn_setns_eperm",
            SPAWN,
            "enforce",
            "setns-badfd",
            Errno(libc::EPERM),
        ),
        case(
            "spawn_setns_baseline_ebadf",
            "on",
            "enforce",
            "setns-badfd",
            Errno(libc::EBADF),
        ),
        case("spawn_thread_works", SPAWN, "enforce", "thread", Returns(7)),
        case(
            "spawn_tokio_runtime_works",
            SPAWN,
            "enforce",
            "tokio",
            Returns(128),
        ),
        case(
            "spawn_early_thread_covered",
            SPAWN,
            "enforce",
            "early-thread:fork",
            Errno(libc::EPERM),
        ),
        case(
            "default_early_thread_killed",
            "on",
            "enforce",
            "early-thread:reboot",
            Sigsys,
        ),
        case(
            "tsync_failure_names_thread",
            "on",
            "enforce",
            "early-thread:own-filter",
            TsyncNamesThread,
        ),
        // resourcecontrol: EPERM, SCHED_IDLE allowed.
        case(
            "resource_setpriority_eperm",
            RES,
            "enforce",
            "setpriority-same",
            Errno(libc::EPERM),
        ),
        case(
            "resource_setpriority_baseline",
            "on",
            "enforce",
            "setpriority-same",
            Returns(0),
        ),
        case(
            "resource_sched_batch_eperm",
            RES,
            "enforce",
            "sched-batch",
            Errno(libc::EPERM),
        ),
        case(
            "resource_sched_idle_allowed",
            RES,
            "enforce",
            "sched-idle",
            Returns(0),
        ),
        case(
            "resource_sched_setattr_eperm",
            RES,
            "enforce",
            "sched_setattr-batch",
            Errno(libc::EPERM),
        ),
        case(
            "resource_sched_setaffinity_eperm",
            RES,
            "enforce",
            "sched_setaffinity-same",
            Errno(libc::EPERM),
        ),
        case(
            "resource_ioprio_eperm",
            RES,
            "enforce",
            "ioprio-same",
            Errno(libc::EPERM),
        ),
        case(
            "resource_ioprio_baseline",
            "on",
            "enforce",
            "ioprio-same",
            Returns(0),
        ),
        // modes.
        case(
            "audit_reboot_logged_not_killed",
            "on",
            "audit",
            "reboot",
            Survives,
        ),
        case(
            "audit_fork_logged_not_denied",
            SPAWN,
            "audit",
            "fork",
            Succeeds,
        ),
        case(
            "report_reboot_named",
            "on",
            "report",
            "reboot",
            Reported("reboot"),
        ),
        case(
            "report_spawn_still_eperm",
            SPAWN,
            "report",
            "fork",
            Errno(libc::EPERM),
        ),
        // the BPF export loaded with plain prctl behaves the same.
        case(
            "bpf_export_prctl_reboot_killed",
            "on",
            "prctl",
            "reboot",
            Sigsys,
        ),
        case(
            "bpf_export_prctl_getppid_lives",
            "on",
            "prctl",
            "getppid",
            Succeeds,
        ),
        case(
            "bpf_export_prctl_fork_eperm",
            SPAWN,
            "prctl",
            "fork",
            Errno(libc::EPERM),
        ),
    ];
    v.extend([
        // Capabilities belong to each thread: with a thread already running, the strict load
        // refuses (cap-sys-admin for root; Landlock too before ABI 8), prepare refuses, and
        // the plain load still covers the thread with the filter (spawn_early_thread_covered).
        case(
            "strict_unavailable_step_is_an_error",
            SPAWN,
            "strict",
            "early-thread:getppid",
            LoadError("is unavailable and the sandbox is strict"),
        )
        .root(),
        case(
            "prepare_refuses_running_threads",
            SPAWN,
            "prepare",
            "early-thread:getppid",
            LoadError("threads already run"),
        ),
        case(
            "prepare_then_load_single_threaded",
            SPAWN,
            "prepare",
            "fork",
            Errno(libc::EPERM),
        ),
    ]);
    v.extend(proxy_cases());
    v.extend(row_cases());
    v.extend(side_door_cases());
    v.extend(held_cases());
    if cfg!(target_arch = "x86_64") {
        v.extend([
            case("default_vserver_killed", "on", "enforce", "vserver", Sigsys),
            case("obsolete_sysctl_killed", "on", "enforce", "_sysctl", Sigsys),
            case(
                "obsolete_allow_sysctl_enosys",
                "on,obsolete=allow",
                "enforce",
                "_sysctl",
                Errno(libc::ENOSYS),
            ),
            case("badarch_x32_killed", "on", "enforce", "x32-getppid", Sigsys),
            case(
                "badarch_x32_report_named",
                "on",
                "report",
                "x32-getppid",
                Reported("getppid (1073741934) on x32"),
            ),
            case(
                "badarch_i386_killed",
                "on",
                "enforce",
                "i386-getppid",
                Sigsys,
            ),
            case(
                "badarch_i386_report_named",
                "on",
                "report",
                "i386-getppid",
                Reported("getppid (64) on i386"),
            ),
        ]);
    }
    v
}

/// Spawn by proxy (issue 30): an older unfiltered sibling made to run a program chosen by the
/// sandboxed process, per path, under the filter alone (`filter`), under the full load
/// (`enforce`: `seccomp_sets::apply`), with no sandbox (the baseline that shows the probe
/// works), and under the filter the real QEMU installs (a recorded comparison: QEMU lets them
/// through).
fn proxy_cases() -> Vec<Case> {
    let eperm = Errno(libc::EPERM);
    vec![
        case(
            "proxy_ptrace_baseline_escapes",
            "off",
            "off",
            "inject:ptrace",
            Escapes,
        ),
        case(
            "proxy_ptrace_filter_held",
            STRICTEST,
            "filter",
            "inject:ptrace",
            eperm,
        ),
        case(
            "proxy_ptrace_full_held",
            STRICTEST,
            "enforce",
            "inject:ptrace",
            eperm,
        ),
        case(
            "proxy_ptrace_spawn_only_held",
            SPAWN,
            "enforce",
            "inject:ptrace",
            eperm,
        ),
        case(
            "proxy_ptrace_qemu_escapes",
            STRICTEST,
            "qemu",
            "inject:ptrace",
            Escapes,
        ),
        case(
            "proxy_vm_write_baseline_escapes",
            "off",
            "off",
            "inject:vm-write",
            Escapes,
        ),
        case(
            "proxy_vm_write_filter_held",
            STRICTEST,
            "filter",
            "inject:vm-write",
            eperm,
        ),
        case(
            "proxy_vm_write_full_held",
            STRICTEST,
            "enforce",
            "inject:vm-write",
            eperm,
        ),
        case(
            "proxy_vm_write_qemu_escapes",
            STRICTEST,
            "qemu",
            "inject:vm-write",
            Escapes,
        ),
        case(
            "proxy_proc_mem_baseline_escapes",
            "off",
            "off",
            "inject:proc-mem",
            Escapes,
        ),
        // A system-call filter cannot see open() + pwrite() on /proc/PID/mem: recorded.
        case(
            "proxy_proc_mem_filter_alone_escapes",
            STRICTEST,
            "filter",
            "inject:proc-mem",
            Escapes,
        ),
        case(
            "proxy_proc_mem_full_held",
            STRICTEST,
            "enforce",
            "inject:proc-mem",
            Errno(libc::EACCES),
        ),
        case(
            "proxy_proc_mem_spawn_only_held",
            SPAWN,
            "enforce",
            "inject:proc-mem",
            Errno(libc::EACCES),
        ),
        case(
            "proxy_proc_mem_qemu_escapes",
            STRICTEST,
            "qemu",
            "inject:proc-mem",
            Escapes,
        ),
        case(
            "proxy_pidfd_getfd_baseline_copies",
            "off",
            "off",
            "inject:pidfd-getfd",
            Returns(1),
        ),
        case(
            "proxy_pidfd_getfd_filter_held",
            STRICTEST,
            "filter",
            "inject:pidfd-getfd",
            eperm,
        ),
        case(
            "proxy_pidfd_getfd_full_held",
            STRICTEST,
            "enforce",
            "inject:pidfd-getfd",
            eperm,
        ),
        case(
            "proxy_pidfd_getfd_qemu_copies",
            STRICTEST,
            "qemu",
            "inject:pidfd-getfd",
            Returns(1),
        ),
    ]
}

/// One probe per row added for issues 30 to 32: denied under the key the table puts it in,
/// allowed where the key is allowed (the same call, the kernel's own answer).
fn row_cases() -> Vec<Case> {
    let eperm = Errno(libc::EPERM);
    let enosys = Errno(libc::ENOSYS);
    let obsolete_allowed = "on,obsolete=allow";
    let mut v = vec![
        // spawn
        case(
            "row_ptrace_denied",
            SPAWN,
            "enforce",
            "ptrace-seize-nosuch",
            eperm,
        ),
        case(
            "row_ptrace_allowed",
            PRIV,
            "enforce",
            "ptrace-seize-nosuch",
            Errno(libc::ESRCH),
        ),
        case(
            "row_process_vm_readv_denied",
            SPAWN,
            "enforce",
            "process_vm_readv-nosuch",
            eperm,
        ),
        case(
            "row_process_vm_readv_allowed",
            "on",
            "enforce",
            "process_vm_readv-nosuch",
            Not(libc::EPERM),
        ),
        case(
            "row_process_vm_writev_denied",
            SPAWN,
            "enforce",
            "process_vm_writev-nosuch",
            eperm,
        ),
        case(
            "row_process_vm_writev_allowed",
            "on",
            "enforce",
            "process_vm_writev-nosuch",
            Not(libc::EPERM),
        ),
        case(
            "row_pidfd_getfd_denied",
            SPAWN,
            "enforce",
            "pidfd_getfd-badfd",
            eperm,
        ),
        case(
            "row_pidfd_getfd_allowed",
            "on",
            "enforce",
            "pidfd_getfd-badfd",
            Errno(libc::EBADF),
        ),
        case(
            "row_kcmp_kept_allowed",
            STRICTEST,
            "enforce",
            "kcmp-self",
            Returns(0),
        ),
        case(
            "row_request_key_denied",
            SPAWN,
            "enforce",
            "request_key-nocallout",
            eperm,
        ),
        case(
            "row_request_key_allowed",
            "on",
            "enforce",
            "request_key-nocallout",
            Not(libc::EPERM),
        ),
        // user namespaces: elevateprivileges as well as spawn
        case(
            "row_unshare_newuser_denied_by_privileged",
            PRIV,
            "enforce",
            "unshare-newuser",
            eperm,
        ),
        case(
            "row_unshare_newuser_denied_by_children",
            "on,elevateprivileges=children",
            "enforce",
            "unshare-newuser",
            eperm,
        ),
        case(
            "row_unshare_newuser_allowed",
            "on",
            "enforce",
            "unshare-newuser",
            Not(libc::EPERM),
        ),
        case(
            "row_clone_newuser_denied_by_privileged",
            PRIV,
            "enforce",
            "clone-newuser",
            eperm,
        ),
        case(
            "row_clone_newns_allowed_by_privileged",
            PRIV,
            "enforce",
            "clone-newns",
            Errno(libc::EINVAL),
        ),
        case(
            "row_clone3_enosys_by_privileged",
            PRIV,
            "enforce",
            "clone3-null",
            enosys,
        ),
        case(
            "row_setns_newuser_denied_by_privileged",
            PRIV,
            "enforce",
            "setns-newuser-badfd",
            eperm,
        ),
        case(
            "row_setns_any_denied_by_privileged",
            PRIV,
            "enforce",
            "setns-any-badfd",
            eperm,
        ),
        case(
            "row_setns_newnet_allowed_by_privileged",
            PRIV,
            "enforce",
            "setns-newnet-badfd",
            Errno(libc::EBADF),
        ),
        case(
            "row_fork_allowed_by_privileged",
            PRIV,
            "enforce",
            "fork",
            Succeeds,
        ),
        // elevateprivileges: the kernel's own privileged doors
        case(
            "row_init_module_killed",
            PRIV,
            "enforce",
            "init_module-empty",
            Sigsys,
        ),
        case(
            "row_init_module_allowed",
            "on",
            "enforce",
            "init_module-empty",
            Survives,
        ),
        case(
            "row_finit_module_killed",
            PRIV,
            "enforce",
            "finit_module-badfd",
            Sigsys,
        ),
        case(
            "row_finit_module_allowed",
            "on",
            "enforce",
            "finit_module-badfd",
            Survives,
        ),
        case(
            "row_delete_module_killed",
            PRIV,
            "enforce",
            "delete_module-nosuch",
            Sigsys,
        ),
        case(
            "row_delete_module_allowed",
            "on",
            "enforce",
            "delete_module-nosuch",
            Survives,
        ),
        case("row_bpf_denied", PRIV, "enforce", "bpf-badcmd", eperm),
        case(
            "row_bpf_allowed",
            "on",
            "enforce",
            "bpf-badcmd",
            Not(libc::EPERM),
        )
        .root(),
        case(
            "row_perf_event_open_denied",
            PRIV,
            "enforce",
            "perf_event_open-badflags",
            eperm,
        ),
        case(
            "row_perf_event_open_allowed",
            "on",
            "enforce",
            "perf_event_open-badflags",
            Not(libc::EPERM),
        ),
        case(
            "row_userfaultfd_denied",
            PRIV,
            "enforce",
            "userfaultfd-badflags",
            eperm,
        ),
        case(
            "row_userfaultfd_allowed",
            "on",
            "enforce",
            "userfaultfd-badflags",
            Not(libc::EPERM),
        ),
        case(
            "row_io_uring_setup_enosys",
            PRIV,
            "enforce",
            "io_uring_setup-zero",
            enosys,
        ),
        case(
            "row_io_uring_setup_enosys_by_resourcecontrol",
            RES,
            "enforce",
            "io_uring_setup-zero",
            enosys,
        ),
        case(
            "row_io_uring_setup_allowed",
            "on",
            "enforce",
            "io_uring_setup-zero",
            Not(libc::ENOSYS),
        ),
        case(
            "row_io_uring_enter_enosys",
            PRIV,
            "enforce",
            "io_uring_enter-badfd",
            enosys,
        ),
        case(
            "row_io_uring_enter_allowed",
            "on",
            "enforce",
            "io_uring_enter-badfd",
            Not(libc::ENOSYS),
        ),
        case(
            "row_io_uring_register_enosys",
            PRIV,
            "enforce",
            "io_uring_register-badfd",
            enosys,
        ),
        case(
            "row_io_uring_register_allowed",
            "on",
            "enforce",
            "io_uring_register-badfd",
            Not(libc::ENOSYS),
        ),
        case(
            "row_open_by_handle_at_denied",
            PRIV,
            "enforce",
            "open_by_handle_at-badfd",
            eperm,
        ),
        case(
            "row_open_by_handle_at_allowed",
            "on",
            "enforce",
            "open_by_handle_at-badfd",
            Not(libc::EPERM),
        )
        .root(),
        case(
            "row_quotactl_denied",
            PRIV,
            "enforce",
            "quotactl-nowhere",
            eperm,
        ),
        case(
            "row_quotactl_allowed",
            "on",
            "enforce",
            "quotactl-nowhere",
            Not(libc::EPERM),
        )
        .root(),
        case(
            "row_quotactl_fd_denied",
            PRIV,
            "enforce",
            "quotactl_fd-badfd",
            eperm,
        ),
        case(
            "row_quotactl_fd_allowed",
            "on",
            "enforce",
            "quotactl_fd-badfd",
            Not(libc::EPERM),
        )
        .root(),
        case("row_acct_denied", PRIV, "enforce", "acct-nowhere", eperm),
        case(
            "row_acct_allowed",
            "on",
            "enforce",
            "acct-nowhere",
            Not(libc::EPERM),
        )
        .root(),
        case(
            "row_settimeofday_denied",
            PRIV,
            "enforce",
            "settimeofday-null",
            eperm,
        ),
        case(
            "row_settimeofday_allowed",
            "on",
            "enforce",
            "settimeofday-null",
            Returns(0),
        )
        .root(),
        case(
            "row_clock_settime_denied",
            PRIV,
            "enforce",
            "clock_settime-monotonic",
            eperm,
        ),
        case(
            "row_clock_settime_allowed",
            "on",
            "enforce",
            "clock_settime-monotonic",
            Not(libc::EPERM),
        )
        .root(),
        case("row_vhangup_denied", PRIV, "enforce", "vhangup", eperm).setsid(),
        case(
            "row_vhangup_allowed",
            "on",
            "enforce",
            "vhangup",
            Returns(0),
        )
        .root()
        .setsid(),
        // obsolete
        case(
            "row_lookup_dcookie_killed",
            "on",
            "enforce",
            "lookup_dcookie",
            Sigsys,
        ),
        case(
            "row_lookup_dcookie_allowed",
            obsolete_allowed,
            "enforce",
            "lookup_dcookie",
            Not(libc::EPERM),
        ),
        // resourcecontrol
        case("row_io_setup_denied", RES, "enforce", "io_setup", eperm),
        case(
            "row_io_setup_allowed",
            "on",
            "enforce",
            "io_setup",
            Returns(0),
        ),
        case(
            "row_io_submit_denied",
            RES,
            "enforce",
            "io_submit-noctx",
            eperm,
        ),
        case(
            "row_io_submit_allowed",
            "on",
            "enforce",
            "io_submit-noctx",
            Not(libc::EPERM),
        ),
        case(
            "row_setrlimit_nice_denied",
            RES,
            "enforce",
            "setrlimit-nice-same",
            eperm,
        ),
        case(
            "row_setrlimit_nice_allowed",
            "on",
            "enforce",
            "setrlimit-nice-same",
            Returns(0),
        ),
        case(
            "row_prlimit_rtprio_denied",
            RES,
            "enforce",
            "prlimit-rtprio-same",
            eperm,
        ),
        case(
            "row_prlimit_rtprio_allowed",
            "on",
            "enforce",
            "prlimit-rtprio-same",
            Returns(0),
        ),
        case(
            "row_prlimit_read_allowed",
            RES,
            "enforce",
            "prlimit-nice-read",
            Returns(0),
        ),
    ];
    if cfg!(target_arch = "x86_64") {
        v.extend([
            case("row_iopl_denied", PRIV, "enforce", "iopl-4", eperm),
            case(
                "row_iopl_allowed",
                "on",
                "enforce",
                "iopl-4",
                Not(libc::EPERM),
            )
            .root(),
            case("row_ioperm_denied", PRIV, "enforce", "ioperm-zero", eperm),
            case(
                "row_ioperm_allowed",
                "on",
                "enforce",
                "ioperm-zero",
                Not(libc::EPERM),
            )
            .root(),
        ]);
    }
    v
}

/// The side doors of issue 32 that are safe on a development machine, each under the key it
/// goes around and with no sandbox (the baseline shows the door is real here). The others
/// (request_key's helper, release_agent, cpuset, module loading) run in the VM guests.
fn side_door_cases() -> Vec<Case> {
    vec![
        // 3: a new user namespace gives every capability inside it.
        case(
            "door3_userns_baseline_full_caps",
            "on",
            "enforce",
            "userns-caps",
            Nonzero,
        ),
        case(
            "door3_userns_held_by_privileged",
            PRIV,
            "enforce",
            "userns-caps",
            Errno(libc::EPERM),
        ),
        case(
            "door3_userns_held_by_children",
            "on,elevateprivileges=children",
            "enforce",
            "userns-caps",
            Errno(libc::EPERM),
        ),
        // 4: execve makes a root daemon's permitted-but-not-effective capabilities effective.
        case(
            "door4_exec_caps_baseline_restored",
            "on",
            "enforce",
            "exec-caps-report",
            Nonzero,
        )
        .root(),
        case(
            "door4_exec_caps_held_by_privileged",
            PRIV,
            "enforce",
            "exec-caps-report",
            Returns(0),
        )
        .root(),
        case(
            "door4_exec_caps_held_by_children",
            "on,elevateprivileges=children",
            "enforce",
            "exec-caps-report",
            Returns(0),
        )
        .root(),
        // 5: a negative autogroup nice value while setpriority is refused.
        case(
            "door5_autogroup_baseline_raises",
            "on",
            "enforce",
            "autogroup-raise",
            Returns(0),
        )
        .root()
        .setsid(),
        case(
            "door5_autogroup_held",
            RES,
            "enforce",
            "autogroup-raise",
            Errno(libc::EPERM),
        )
        .root()
        .setsid(),
        // 7: AIO with the real-time I/O class while ioprio_set is refused.
        case(
            "door7_aio_rt_baseline_submits",
            "on",
            "enforce",
            "aio-rt-read",
            Returns(1),
        )
        .root(),
        case(
            "door7_aio_rt_held",
            RES,
            "enforce",
            "aio-rt-read",
            Errno(libc::EPERM),
        )
        .root(),
        // 2b: the kernel tunables stay writable for uid 0 under the library's load (plain
        // file permissions): recorded as the residual the exported unit closes
        // (ProtectKernelTunables=, shown in the VM scenario).
        case(
            "door2b_core_pattern_residual_writable",
            STRICTEST,
            "enforce",
            "core_pattern-writable",
            Returns(0),
        )
        .root(),
    ]
}

/// The 43 probes that held before issues 30 to 32 and must keep holding (on x86_64; aarch64
/// lacks eleven of their names), plus lookup_dcookie, under the strictest
/// sandbox: every fork/vfork/clone/clone3 form (flag bits above 32 included), foreign-ABI
/// entries, every set*id/capset/setgroups, every scheduling and I/O priority call, the
/// obsolete calls, and a set-user-ID program under no_new_privs.
fn held_cases() -> Vec<Case> {
    let eperm = Errno(libc::EPERM);
    let mut v = vec![
        case("held_glibc_fork", STRICTEST, "enforce", "fork", eperm),
        case(
            "held_posix_spawn",
            STRICTEST,
            "enforce",
            "posix_spawn",
            eperm,
        ),
        case(
            "held_clone_sigchld",
            STRICTEST,
            "enforce",
            "clone-sigchld",
            eperm,
        ),
        case(
            "held_clone_vfork",
            STRICTEST,
            "enforce",
            "clone-vfork",
            eperm,
        ),
        case(
            "held_clone_bit32",
            STRICTEST,
            "enforce",
            "clone-bit32",
            eperm,
        ),
        case(
            "held_clone_thread_newuser",
            STRICTEST,
            "enforce",
            "clone-newuser",
            eperm,
        ),
        case(
            "held_clone_thread_newns",
            STRICTEST,
            "enforce",
            "clone-newns",
            eperm,
        ),
        case(
            "held_clone3_null",
            STRICTEST,
            "enforce",
            "clone3-null",
            Errno(libc::ENOSYS),
        ),
        case(
            "held_clone3_fork",
            STRICTEST,
            "enforce",
            "clone3-fork",
            Errno(libc::ENOSYS),
        ),
        case("held_execve", STRICTEST, "enforce", "execve-nowhere", eperm),
        case(
            "held_execveat",
            STRICTEST,
            "enforce",
            "execveat-nowhere",
            eperm,
        ),
        case("held_unshare", STRICTEST, "enforce", "unshare-none", eperm),
        case("held_setns", STRICTEST, "enforce", "setns-badfd", eperm),
        case("held_setuid", STRICTEST, "enforce", "setuid-same", Sigsys),
        case("held_setgid", STRICTEST, "enforce", "setgid-same", Sigsys),
        case(
            "held_setreuid",
            STRICTEST,
            "enforce",
            "setreuid-same",
            Sigsys,
        ),
        case(
            "held_setregid",
            STRICTEST,
            "enforce",
            "setregid-same",
            Sigsys,
        ),
        case(
            "held_setresuid",
            STRICTEST,
            "enforce",
            "setresuid-same",
            Sigsys,
        ),
        case(
            "held_setresgid",
            STRICTEST,
            "enforce",
            "setresgid-same",
            Sigsys,
        ),
        case(
            "held_setfsuid",
            STRICTEST,
            "enforce",
            "setfsuid-query",
            Sigsys,
        ),
        case(
            "held_setfsgid",
            STRICTEST,
            "enforce",
            "setfsgid-query",
            Sigsys,
        ),
        case(
            "held_setgroups",
            STRICTEST,
            "enforce",
            "setgroups-invalid",
            Sigsys,
        ),
        case("held_capset", STRICTEST, "enforce", "capset-same", Sigsys),
        case("held_setpgid", STRICTEST, "enforce", "setpgid-same", Sigsys),
        case("held_setsid", STRICTEST, "enforce", "setsid", Sigsys),
        case(
            "held_setpriority",
            STRICTEST,
            "enforce",
            "setpriority-same",
            eperm,
        ),
        case(
            "held_sched_setparam",
            STRICTEST,
            "enforce",
            "sched_setparam-same",
            eperm,
        ),
        case(
            "held_sched_setscheduler",
            STRICTEST,
            "enforce",
            "sched-batch",
            eperm,
        ),
        case(
            "held_sched_setaffinity",
            STRICTEST,
            "enforce",
            "sched_setaffinity-same",
            eperm,
        ),
        case(
            "held_sched_setattr",
            STRICTEST,
            "enforce",
            "sched_setattr-batch",
            eperm,
        ),
        case(
            "held_ioprio_set",
            STRICTEST,
            "enforce",
            "ioprio-same",
            eperm,
        ),
        case(
            "held_lookup_dcookie",
            STRICTEST,
            "enforce",
            "lookup_dcookie",
            Sigsys,
        ),
        // A set-user-ID-root program executed by uid 65534 (spawn allowed) keeps uid 65534.
        case(
            "held_setuid_binary_under_nnp",
            "on,obsolete=deny,elevateprivileges=deny,resourcecontrol=deny",
            "enforce",
            "nnp-setuid",
            Returns(65534),
        )
        .root(),
    ];
    // Names x86_64 has and aarch64 does not: there, clone and clone3 (above) are the only
    // ways to fork, and lookup_dcookie the only obsolete call.
    if cfg!(target_arch = "x86_64") {
        v.extend([
            case("held_fork_raw", STRICTEST, "enforce", "fork-raw", eperm),
            case("held_vfork_raw", STRICTEST, "enforce", "vfork-raw", eperm),
            case("held_sysctl", STRICTEST, "enforce", "_sysctl", Sigsys),
            case("held_ustat", STRICTEST, "enforce", "ustat", Sigsys),
            case("held_sysfs", STRICTEST, "enforce", "sysfs", Sigsys),
            case(
                "held_uselib",
                STRICTEST,
                "enforce",
                "uselib-nowhere",
                Sigsys,
            ),
            case(
                "held_create_module",
                STRICTEST,
                "enforce",
                "create_module",
                Sigsys,
            ),
            case(
                "held_get_kernel_syms",
                STRICTEST,
                "enforce",
                "get_kernel_syms",
                Sigsys,
            ),
            case(
                "held_query_module",
                STRICTEST,
                "enforce",
                "query_module",
                Sigsys,
            ),
            case("held_i386_fork", STRICTEST, "enforce", "i386-fork", Sigsys),
            case("held_x32_fork", STRICTEST, "enforce", "x32-fork", Sigsys),
        ]);
    }
    v
}

struct Run {
    signal: Option<i32>,
    code: Option<i32>,
    result: Option<String>,
    stderr: String,
}

fn run_probe(sandbox: &str, mode: &str, action: &str) -> Run {
    run_probe_as(sandbox, mode, action, false)
}

fn run_probe_as(sandbox: &str, mode: &str, action: &str, setsid: bool) -> Run {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new(exe);
    cmd.args(["probe", sandbox, mode, action]);
    if setsid {
        // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
    }
    let out = cmd.output().expect("starting the probe");
    let stdout = String::from_utf8_lossy(&out.stdout);
    Run {
        signal: out.status.signal(),
        code: out.status.code(),
        result: stdout
            .lines()
            .find_map(|l| l.strip_prefix("RESULT ").map(str::to_owned)),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn check(expect: Expect, run: &Run) -> Result<(), String> {
    let survived = run.signal.is_none() && run.code == Some(0);
    let res = run.result.as_deref().unwrap_or("");
    let value = |prefix: &str| res.strip_prefix(prefix).and_then(|v| v.parse::<i64>().ok());
    let ok = match expect {
        Returns(v) => survived && value("ok ") == Some(v),
        Succeeds => survived && value("ok ").is_some(),
        Errno(e) => survived && value("errno ") == Some(i64::from(e)),
        FailsNotEperm => survived && value("errno ").is_some_and(|e| e != i64::from(libc::EPERM)),
        Survives => survived && !res.is_empty(),
        Sigsys => run.signal == Some(libc::SIGSYS) && res.is_empty(),
        Reported(name) => {
            run.signal == Some(libc::SIGSYS)
                && run.stderr.contains("seccomp-sets: blocked system call ")
                && run.stderr.contains(name)
        }
        TsyncNamesThread => survived && res == "tsync true",
        Not(e) => survived && !res.is_empty() && value("errno ") != Some(i64::from(e)),
        Nonzero => survived && value("ok ").is_some_and(|v| v != 0),
        Escapes => survived && value("ok ") == Some(1),
        LoadError(text) => survived && res.starts_with("load-error ") && res.contains(text),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected {expect:?}, got signal {:?}, exit code {:?}, result {:?}, stderr {:?}",
            run.signal, run.code, run.result, run.stderr
        ))
    }
}

/// Whether the kernel runs i386 code (`int 0x80`) at all; without IA32
/// emulation the call faults before seccomp sees it.
fn ia32_available() -> bool {
    let run = run_probe("off", "off", "i386-getppid");
    run.signal.is_none() && run.result.as_deref().is_some_and(|r| r.starts_with("ok "))
}

/// The filter the real QEMU installs for the strictest sandbox ([`STRICTEST`]), written to a
/// file for the probes' `bpf:` mode: the recorded comparison of the spawn-by-proxy paths.
fn capture_qemu_filter() -> Result<test_support::TempDir, String> {
    let q = qemu::find_qemu()?;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("reading QEMU's filter with PTRACE_SECCOMP_GET_FILTER needs root".into());
    }
    let installed = qemu::qemu_installed(&q, STRICTEST);
    let [program] = installed.filters.as_slice() else {
        return Err(format!(
            "QEMU installed {} filters, not 1",
            installed.filters.len()
        ));
    };
    let bytes = bpf::encode(program);
    let dir = test_support::TempDir::new("sx-qemu-bpf");
    std::fs::write(dir.join("qemu.bpf"), bytes).map_err(|e| e.to_string())?;
    eprintln!(
        "QEMU {}: captured the filter of -sandbox {STRICTEST}",
        q.version
    );
    Ok(dir)
}

/// A set-user-ID-root copy of this program in a directory uid 65534 can reach.
fn setuid_copy() -> (test_support::TempDir, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = test_support::TempDir::new("sx-setuid");
    let path = dir.join("enforce-setuid");
    std::fs::copy(std::env::current_exe().unwrap(), &path).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o4755)).unwrap();
    (dir, path)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("probe") => return probe(&args[1], &args[2], &args[3]),
        Some("marker") => return doors::marker_main(&args[1]),
        Some("caps-report") => return doors::caps_report_main(),
        Some("euid-report") => return doors::euid_report_main(),
        _ => {}
    }
    let list = args.iter().any(|a| a == "--list");
    // libtest-style arguments: a positional filter, flags ignored.
    let filter = args.iter().find(|a| !a.starts_with('-')).cloned();
    let cases: Vec<Case> = cases()
        .into_iter()
        .filter(|c| filter.as_deref().is_none_or(|f| c.name.contains(f)))
        .collect();
    if list {
        for c in &cases {
            println!("{}: test", c.name);
        }
        return ExitCode::SUCCESS;
    }
    let ia32 = cfg!(target_arch = "x86_64") && ia32_available();
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    println!(
        "running {} enforcement cases, each in its own process",
        cases.len()
    );
    let mut qemu_filter: Option<Result<test_support::TempDir, String>> = None;
    let mut failed = Vec::new();
    let mut skipped = 0;
    for c in &cases {
        let mut skip = |why: &str| {
            test_support::skip(c.name, why);
            println!("test {} ... skipped", c.name);
            skipped += 1;
        };
        if matches!(c.action, "i386-getppid" | "i386-fork") && !ia32 {
            skip("the kernel has no IA32 emulation (int 0x80 faults)");
            continue;
        }
        if c.root && !root {
            skip("needs root (run the suite as root, as cargo xtask test does)");
            continue;
        }
        if c.action == "autogroup-raise" && !std::path::Path::new("/proc/self/autogroup").exists() {
            test_support::skip_kernel_feature(
                c.name,
                "no /proc/self/autogroup (CONFIG_SCHED_AUTOGROUP)",
            );
            println!("test {} ... skipped", c.name);
            continue;
        }
        let mut mode = c.mode.to_owned();
        if c.mode == "qemu" {
            let captured = qemu_filter.get_or_insert_with(capture_qemu_filter);
            match captured {
                Ok(dir) => mode = format!("bpf:{}", dir.join("qemu.bpf").display()),
                Err(why) => {
                    let why = why.clone();
                    skip(&why);
                    continue;
                }
            }
        }
        // The set-user-ID case: a set-user-ID-root copy of this program, run by uid 65534.
        let setuid_copy = (c.action == "nnp-setuid").then(setuid_copy);
        let action = match &setuid_copy {
            Some((_, path)) => format!("nnp-setuid:{}", path.display()),
            None => c.action.to_owned(),
        };
        let run = run_probe_as(c.sandbox, &mode, &action, c.setsid);
        drop(setuid_copy);
        match check(c.expect, &run) {
            Ok(()) => println!("test {} ... ok", c.name),
            Err(why) => {
                println!("test {} ... FAILED\n    {why}", c.name);
                failed.push(c.name);
            }
        }
    }
    if failed.is_empty() {
        println!(
            "test result: ok. {} passed; 0 failed; {skipped} skipped",
            cases.len() - skipped
        );
        ExitCode::SUCCESS
    } else {
        println!("test result: FAILED. {} failed: {failed:?}", failed.len());
        ExitCode::FAILURE
    }
}
