//! Running the real QEMU for the conformance test and the filter benchmark:
//! finding the binary, starting it with nothing to run, and reading the
//! seccomp filter it installed (`PTRACE_SECCOMP_GET_FILTER`, root only).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long one QEMU run may take before it counts as hung.
pub(crate) const QEMU_DEADLINE: Duration = Duration::from_secs(30);

pub(crate) struct Qemu {
    pub(crate) path: PathBuf,
    pub(crate) version: String,
}

pub(crate) fn find_qemu() -> Result<Qemu, String> {
    let path = match std::env::var_os("HARDEN_QEMU") {
        Some(p) => PathBuf::from(p),
        None => test_support::find_program("qemu-system-x86_64").ok_or(
            "qemu-system-x86_64 is not on PATH, in /usr/sbin or /sbin (Debian package \
             qemu-system-x86)",
        )?,
    };
    let out = Command::new(&path)
        .arg("--version")
        .output()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text
        .split_whitespace()
        .skip_while(|w| *w != "version")
        .nth(1)
        .ok_or_else(|| format!("{}: no version in {text:?}", path.display()))?
        .to_owned();
    Ok(Qemu { path, version })
}

/// Starts QEMU with nothing to run: no machine, no devices, paused, with its
/// monitor on stdio.
pub(crate) fn spawn_qemu(qemu: &Qemu, sandbox: &str) -> Child {
    Command::new(&qemu.path)
        .args(["-sandbox", sandbox])
        .args(["-machine", "none", "-nodefaults", "-display", "none", "-S"])
        .args(["-monitor", "stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", qemu.path.display()))
}

/// Waits for `child`, killing it (and failing) after [`QEMU_DEADLINE`].
pub(crate) fn wait_bounded(child: &mut Child, what: &str) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > QEMU_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("QEMU did not exit within {QEMU_DEADLINE:?}: {what}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Reads QEMU's seccomp filters (newest first) with PTRACE_SECCOMP_GET_FILTER.
pub(crate) fn installed_filters(pid: libc::pid_t) -> Result<Vec<Vec<libc::sock_filter>>, String> {
    const PTRACE_SECCOMP_GET_FILTER: libc::c_uint = 0x420c;
    let os = || std::io::Error::last_os_error();
    // SAFETY: integer-only ptrace request on a child we started.
    if unsafe { libc::ptrace(libc::PTRACE_ATTACH, pid, 0usize, 0usize) } != 0 {
        return Err(format!("PTRACE_ATTACH {pid}: {}", os()));
    }
    let mut status = 0;
    // SAFETY: `status` is a valid out pointer.
    if unsafe { libc::waitpid(pid, &mut status, libc::__WALL) } != pid {
        return Err(format!("waitpid {pid}: {}", os()));
    }
    let mut filters = Vec::new();
    let result = (0usize..).try_for_each(|index| {
        // SAFETY: with a null buffer the request only returns the length.
        let len = unsafe {
            libc::ptrace(
                PTRACE_SECCOMP_GET_FILTER,
                pid,
                index,
                std::ptr::null_mut::<u8>(),
            )
        };
        if len < 0 {
            let e = os();
            return if e.raw_os_error() == Some(libc::ENOENT) {
                Err(Ok(()))
            } else {
                Err(Err(format!(
                    "PTRACE_SECCOMP_GET_FILTER {pid} #{index}: {e}"
                )))
            };
        }
        let mut prog = vec![
            libc::sock_filter {
                code: 0,
                jt: 0,
                jf: 0,
                k: 0
            };
            usize::try_from(len).unwrap()
        ];
        // SAFETY: `prog` has room for the `len` instructions the kernel copies.
        let got = unsafe { libc::ptrace(PTRACE_SECCOMP_GET_FILTER, pid, index, prog.as_mut_ptr()) };
        if got != len {
            return Err(Err(format!(
                "PTRACE_SECCOMP_GET_FILTER {pid} #{index}: {}",
                os()
            )));
        }
        filters.push(prog);
        Ok(())
    });
    // SAFETY: integer-only ptrace request; the tracee is in a ptrace-stop.
    unsafe { libc::ptrace(libc::PTRACE_DETACH, pid, 0usize, 0usize) };
    match result {
        Err(Err(e)) => Err(e),
        _ => Ok(filters),
    }
}

pub(crate) fn proc_status(pid: libc::pid_t, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// What a running QEMU installed.
pub(crate) struct Installed {
    pub(crate) filters: Vec<Vec<libc::sock_filter>>,
    pub(crate) no_new_privs: bool,
}

pub(crate) fn qemu_installed(qemu: &Qemu, sandbox: &str) -> Installed {
    let mut child = spawn_qemu(qemu, sandbox);
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    // The monitor's prompt means the main loop runs: the filter is in place.
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 512];
        while let Ok(n @ 1..) = stdout.read(&mut buf) {
            seen.extend_from_slice(&buf[..n]);
            if seen.windows(6).any(|w| w == b"(qemu)") {
                let _ = tx.send(());
            }
        }
    });
    if rx.recv_timeout(QEMU_DEADLINE).is_err() {
        let _ = child.kill();
        let mut err = String::new();
        let _ = child.stderr.take().unwrap().read_to_string(&mut err);
        panic!("QEMU -sandbox {sandbox} never showed its monitor: {err}");
    }
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let no_new_privs = proc_status(pid, "NoNewPrivs") == "1";
    let filters = installed_filters(pid).unwrap_or_else(|e| {
        let _ = child.kill();
        panic!("reading the filter of QEMU -sandbox {sandbox}: {e}")
    });
    let _ = child.stdin.take().unwrap().write_all(b"quit\n");
    let status = wait_bounded(&mut child, &format!("quit with -sandbox {sandbox}"));
    assert!(
        status.success(),
        "QEMU -sandbox {sandbox} quit with {status}"
    );
    Installed {
        filters,
        no_new_privs,
    }
}
