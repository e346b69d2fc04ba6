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
        "vserver" => {
            // SAFETY: vserver is unimplemented: ENOSYS when allowed.
            rc(unsafe { libc::syscall(libc::SYS_vserver) })
        }
        "_sysctl" => {
            // SAFETY: _sysctl was removed from Linux (ENOSYS) and a NULL
            // argument is rejected anyway.
            rc(unsafe { libc::syscall(libc::SYS__sysctl, 0usize) })
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
        other => panic!("unknown probe action {other:?}"),
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
                bpf::load(&f.export_bpf().unwrap());
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
    match mode {
        "off" => {}
        "prctl" => {
            let f = Filter::builder(&sandbox)
                .kill_action(KillAction::detect())
                .build()
                .unwrap();
            bpf::load(&f.export_bpf().unwrap());
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
    if early.is_some() {
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
}

struct Case {
    name: &'static str,
    sandbox: &'static str,
    mode: &'static str,
    action: &'static str,
    expect: Expect,
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
    }
}

use Expect::*;

const SPAWN: &str = "on,spawn=deny";
const RES: &str = "on,resourcecontrol=deny";
const PRIV: &str = "on,elevateprivileges=deny";

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
        case("default_vserver_killed", "on", "enforce", "vserver", Sigsys),
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
        // obsolete.
        case("obsolete_sysctl_killed", "on", "enforce", "_sysctl", Sigsys),
        case(
            "obsolete_allow_sysctl_enosys",
            "on,obsolete=allow",
            "enforce",
            "_sysctl",
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
    if cfg!(target_arch = "x86_64") {
        v.extend([
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

struct Run {
    signal: Option<i32>,
    code: Option<i32>,
    result: Option<String>,
    stderr: String,
}

fn run_probe(sandbox: &str, mode: &str, action: &str) -> Run {
    let exe = std::env::current_exe().expect("current_exe");
    let out = Command::new(exe)
        .args(["probe", sandbox, mode, action])
        .output()
        .expect("starting the probe");
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

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("probe") {
        return probe(&args[1], &args[2], &args[3]);
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
    println!(
        "running {} enforcement cases, each in its own process",
        cases.len()
    );
    let mut failed = Vec::new();
    for c in &cases {
        if c.action == "i386-getppid" && !ia32 {
            test_support::skip(c.name, "the kernel has no IA32 emulation (int 0x80 faults)");
            println!("test {} ... skipped", c.name);
            continue;
        }
        let run = run_probe(c.sandbox, c.mode, c.action);
        match check(c.expect, &run) {
            Ok(()) => println!("test {} ... ok", c.name),
            Err(why) => {
                println!("test {} ... FAILED\n    {why}", c.name);
                failed.push(c.name);
            }
        }
    }
    if failed.is_empty() {
        println!("test result: ok. {} passed", cases.len());
        ExitCode::SUCCESS
    } else {
        println!("test result: FAILED. {} failed: {failed:?}", failed.len());
        ExitCode::FAILURE
    }
}
