//! The systemd export as a real consumer runs it: for every `-sandbox on` configuration, the
//! lines `seccomp_sets::Filter::to_systemd` writes become a drop-in of a real service, and the
//! service runs a probe (`vm-guest seccomp-probe`) that makes one call per set. What the probe
//! printed (the journal) and how it ended (`systemctl show`) must match the configuration: allowed
//! work runs, EPERM sets fail with EPERM, kill sets end the service with SIGSYS, and the service
//! always starts (spawn=deny exports are the exec-tolerant variant, as `export` requires).
//!
//! systemd has no argument filters, so `clone` stays allowed under the export (its comment says
//! so): the `spawn-clone` probe (glibc's fork) is expected to run, the raw `fork` to fail.

use super::Scenario;
use super::ctx::{Ctx, UNIT_DIR, ensure, run_ok, tail};
use sandbox_opts::{Sandbox, Set};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use calls::{
    getppid, glibc_fork, obsolete_call, raw_spawn, setpriority_same, setresuid_unchanged,
    swapoff_nowhere,
};

const TEMPLATE: &str = "sx-probe@.service";

pub(crate) const SCENARIOS: &[Scenario] = &[Scenario {
    name: "seccomp-systemd-export",
    about: "every on configuration's systemd export, as a drop-in of a real service, blocks \
            exactly its sets (EPERM or SIGSYS) and lets the service start",
    units: &[(
        TEMPLATE,
        "[Unit]\nDescription=seccomp-sets systemd export, configuration %i\n\n[Service]\n\
         Type=oneshot\nExecStart=/usr/local/bin/vm-guest seccomp-probe\n",
    )],
    timeout: Duration::from_secs(60),
    needs: &[],
    check,
}];

/// How a probe's call is refused when its set is denied.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Eperm,
    Sigsys,
    /// systemd cannot express the rule: the call stays allowed under the export.
    NotUnderSystemd,
    /// Fails with ENOSYS (clone3: libc falls back to clone).
    Enosys,
}

/// One probe: a call that is harmless when allowed (the service runs as root).
struct Probe {
    name: &'static str,
    set: Option<Set>,
    /// Another set whose rows refuse the same call the same way (`None`: only `set`'s).
    also: Option<Set>,
    refusal: Refusal,
    call: fn() -> Result<i64, i32>,
}

/// In the order the probe runs them: the EPERM ones first, then the kill ones (the first denied
/// kill ends the process; `default` is denied in every `on` configuration).
const PROBES: &[Probe] = &[
    Probe {
        name: "work",
        set: None,
        also: None,
        refusal: Refusal::Eperm,
        call: getppid,
    },
    SPAWN_RAW,
    Probe {
        name: "spawn-clone",
        set: Some(Set::Spawn),
        also: None,
        refusal: Refusal::NotUnderSystemd,
        call: glibc_fork,
    },
    Probe {
        name: "resourcecontrol",
        set: Some(Set::ResourceControl),
        also: None,
        refusal: Refusal::Eperm,
        call: setpriority_same,
    },
    Probe {
        name: "obsolete",
        set: Some(Set::Obsolete),
        also: None,
        refusal: Refusal::Sigsys,
        call: obsolete_call,
    },
    Probe {
        name: "privileged",
        set: Some(Set::Privileged),
        also: None,
        refusal: Refusal::Sigsys,
        call: setresuid_unchanged,
    },
    Probe {
        name: "default",
        set: Some(Set::Default),
        also: None,
        refusal: Refusal::Sigsys,
        call: swapoff_nowhere,
    },
];

/// The raw process-creating call the exports refuse by name: `fork` where the ABI has it. aarch64
/// has no `fork` (nor `vfork`; `seccomp_sets::Arch::coverage` lists what each ABI lacks), so
/// there it is `clone3`, the other name of spawn's "create a process" that a name alone refuses
/// (ENOSYS, so that libc falls back to `clone`). The privileged set refuses clone3 the same way
/// (its flags, CLONE_NEWUSER among them, sit in memory no filter can read), which the arm64
/// guest's first run showed: the x86-64 probe, `fork`, never met that row.
#[cfg(target_arch = "x86_64")]
const SPAWN_RAW: Probe = Probe {
    name: "spawn-fork",
    set: Some(Set::Spawn),
    also: None,
    refusal: Refusal::Eperm,
    call: raw_spawn,
};
#[cfg(not(target_arch = "x86_64"))]
const SPAWN_RAW: Probe = Probe {
    name: "spawn-clone3",
    set: Some(Set::Spawn),
    also: Some(Set::Privileged),
    refusal: Refusal::Enosys,
    call: raw_spawn,
};

/// The probe's calls: raw syscalls, each harmless when allowed.
#[allow(unsafe_code)]
mod calls {
    fn errno() -> i32 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    fn rc(r: libc::c_long) -> Result<i64, i32> {
        if r < 0 { Err(errno()) } else { Ok(r) }
    }

    pub(super) fn getppid() -> Result<i64, i32> {
        // SAFETY: getppid takes no arguments.
        rc(unsafe { libc::syscall(libc::SYS_getppid) })
    }

    /// Waits for a child that exits at once.
    fn reap(pid: libc::c_long) -> Result<i64, i32> {
        if pid == 0 {
            // SAFETY: in the child: leave at once, without running any parent state's destructors.
            unsafe { libc::_exit(0) }
        }
        let pid = rc(pid)?;
        let mut status = 0;
        // SAFETY: `status` is a valid out pointer; `pid` is our child.
        unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
        Ok(pid)
    }

    /// fork(2) itself, not glibc's (which is clone).
    #[cfg(target_arch = "x86_64")]
    pub(super) fn raw_spawn() -> Result<i64, i32> {
        // SAFETY: the probe is single-threaded; the child only calls _exit.
        reap(unsafe { libc::syscall(libc::SYS_fork) })
    }

    /// clone3 as fork: no flags, SIGCHLD at exit, no new stack (the child runs on its copy).
    #[cfg(not(target_arch = "x86_64"))]
    pub(super) fn raw_spawn() -> Result<i64, i32> {
        /// `struct clone_args` as of Linux 5.3 (`CLONE_ARGS_SIZE_VER0`, 64 bytes).
        #[repr(C)]
        #[derive(Default)]
        struct CloneArgs {
            flags: u64,
            pidfd: u64,
            child_tid: u64,
            parent_tid: u64,
            exit_signal: u64,
            stack: u64,
            stack_size: u64,
            tls: u64,
        }
        let args = CloneArgs {
            exit_signal: libc::SIGCHLD as u64,
            ..CloneArgs::default()
        };
        // SAFETY: `args` is a live clone_args of the size passed; the probe is single-threaded
        // and the child only calls _exit.
        reap(unsafe {
            libc::syscall(
                libc::SYS_clone3,
                &args as *const CloneArgs,
                std::mem::size_of::<CloneArgs>(),
            )
        })
    }

    pub(super) fn glibc_fork() -> Result<i64, i32> {
        // SAFETY: as above (glibc's fork goes through clone without CLONE_THREAD).
        reap(libc::c_long::from(unsafe { libc::fork() }))
    }

    pub(super) fn setpriority_same() -> Result<i64, i32> {
        // SAFETY: reads this process's nice value, then sets it unchanged.
        let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        // SAFETY: as above.
        rc(libc::c_long::from(unsafe {
            libc::setpriority(libc::PRIO_PROCESS, 0, nice)
        }))
    }

    /// ustat(2) where the ABI has it (device 0 does not exist: EINVAL when allowed).
    #[cfg(target_arch = "x86_64")]
    pub(super) fn obsolete_call() -> Result<i64, i32> {
        // SAFETY: device 0 does not exist; the kernel fails before touching the (null) buffer.
        rc(unsafe { libc::syscall(libc::SYS_ustat, 0, std::ptr::null_mut::<u8>()) })
    }

    /// aarch64 has none of QEMU's obsolete names: lookup_dcookie is the set's one call there
    /// (ENOSYS when allowed, since Linux 5.12).
    #[cfg(not(target_arch = "x86_64"))]
    pub(super) fn obsolete_call() -> Result<i64, i32> {
        // SAFETY: a zero cookie and a NULL buffer of length 0: nothing is written.
        rc(unsafe {
            libc::syscall(
                libc::SYS_lookup_dcookie,
                0u64,
                std::ptr::null_mut::<u8>(),
                0usize,
            )
        })
    }

    pub(super) fn setresuid_unchanged() -> Result<i64, i32> {
        // SAFETY: -1 leaves every id unchanged.
        rc(unsafe { libc::syscall(libc::SYS_setresuid, -1, -1, -1) })
    }

    pub(super) fn swapoff_nowhere() -> Result<i64, i32> {
        let path = c"/nonexistent/seccomp-probe";
        // SAFETY: a valid C string; the file does not exist.
        rc(unsafe { libc::syscall(libc::SYS_swapoff, path.as_ptr()) })
    }
}

/// `vm-guest seccomp-probe`: makes every probe's call in order, one journal line each.
pub fn probe_main() -> ExitCode {
    let mut out = std::io::stdout().lock();
    for p in PROBES {
        let _ = writeln!(out, "probe {}: calling", p.name);
        let _ = out.flush();
        let line = match (p.call)() {
            Err(libc::EPERM) => "EPERM".to_string(),
            Err(libc::ENOSYS) if p.refusal == Refusal::Enosys => "ENOSYS".to_string(),
            Ok(_) => "allowed".to_string(),
            Err(e) => format!("allowed (errno {e})"),
        };
        let _ = writeln!(out, "probe {}: {line}", p.name);
        let _ = out.flush();
    }
    let _ = writeln!(out, "probe done");
    ExitCode::SUCCESS
}

/// What the journal must show for `sandbox`, and whether the service dies with SIGSYS.
fn expected(sandbox: &Sandbox) -> (Vec<String>, bool) {
    expected_lines(sandbox, false)
}

/// What the probe prints under `sandbox`'s export, and whether it dies with SIGSYS. With
/// `args_filtered`, the export carries argument filters (OCI, the container engines' profile),
/// so clone without thread flags (glibc's fork) is refused with EPERM too.
pub(crate) fn expected_lines(sandbox: &Sandbox, args_filtered: bool) -> (Vec<String>, bool) {
    let denied = sandbox.denied_sets();
    let mut lines = Vec::new();
    for p in PROBES {
        lines.push(format!("probe {}: calling", p.name));
        let refused = [p.set, p.also]
            .into_iter()
            .flatten()
            .any(|s| denied.contains(s));
        match (refused, p.refusal) {
            (true, Refusal::Sigsys) => return (lines, true),
            (true, Refusal::Eperm) => lines.push(format!("probe {}: EPERM", p.name)),
            (true, Refusal::Enosys) => lines.push(format!("probe {}: ENOSYS", p.name)),
            (true, Refusal::NotUnderSystemd) if args_filtered => {
                lines.push(format!("probe {}: EPERM", p.name))
            }
            _ => lines.push(format!("probe {}: allowed", p.name)),
        }
    }
    lines.push("probe done".to_string());
    (lines, false)
}

pub(crate) fn configurations() -> Vec<Sandbox> {
    Sandbox::all().filter(|s| s.enabled).collect()
}

fn check(cx: &mut Ctx) -> Result<(), String> {
    let configs = configurations();
    ensure(configs.len() == 24, || {
        format!("{} on configurations, not 24", configs.len())
    })?;
    for (i, sandbox) in configs.iter().enumerate() {
        let filter = seccomp_sets::Filter::builder(sandbox)
            .exec_tolerant(true)
            .build()
            .map_err(|e| format!("-sandbox {sandbox}: {e}"))?;
        let dir = format!("{UNIT_DIR}/sx-probe@{i}.service.d");
        std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {dir}: {e}"))?;
        std::fs::write(format!("{dir}/export.conf"), filter.to_systemd())
            .map_err(|e| format!("writing {dir}/export.conf: {e}"))?;
    }
    run_ok("systemctl", &["daemon-reload"])?;
    let mut killed = 0;
    for (i, sandbox) in configs.iter().enumerate() {
        let unit = format!("sx-probe@{i}.service");
        cx.units.push(unit.clone());
        // A oneshot that dies by SIGSYS makes `systemctl start` fail: that is checked below.
        let _ = cx.systemctl(&["start", &unit]);
        let (want, dies) = expected(sandbox);
        let last = want.last().expect("at least one line");
        let journal = cx.wait_journal(&unit, last)?;
        // An allowed call's own errno (`allowed (errno 22)`) is the kernel's, not the filter's.
        let got: Vec<&str> = journal
            .lines()
            .filter(|l| l.starts_with("probe "))
            .map(|l| l.split(" (errno").next().unwrap_or(l))
            .collect();
        ensure(got == want, || {
            format!(
                "-sandbox {sandbox} (systemd export as a drop-in of {unit}): the probe printed\n  \
                 {}\nbut the export should give\n  {}\njournal:\n{}",
                got.join("\n  "),
                want.join("\n  "),
                tail(&journal, 20)
            )
        })?;
        let status = cx.prop(&unit, "ExecMainStatus")?;
        let want_status = if dies { "31" } else { "0" };
        ensure(status == want_status, || {
            format!(
                "-sandbox {sandbox}: {unit} ended with ExecMainStatus={status}, expected \
                 {want_status} ({})",
                if dies { "SIGSYS" } else { "exit 0" }
            )
        })?;
        killed += usize::from(dies);
    }
    eprintln!(
        "seccomp-systemd-export: {} configurations, {} probes each; {killed} ended by SIGSYS at \
         their first kill set, all as their export says",
        configs.len(),
        PROBES.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_on_configuration_dies_at_the_default_set_at_the_latest() {
        for s in configurations() {
            let (lines, dies) = expected(&s);
            assert!(dies, "{s}: the default set is always denied");
            assert!(lines.last().unwrap().ends_with(": calling"), "{s}");
        }
        let (lines, _) = expected(&"on,obsolete=allow".parse().unwrap());
        assert!(lines.contains(&"probe obsolete: allowed".to_string()));
        assert!(lines.contains(&"probe spawn-clone: allowed".to_string()));
    }
}
