//! The sandbox, shown working with `echod/probe` through the real `ovs-appctl`: `spawn=deny`
//! answers `fork` with EPERM and echod keeps serving; `elevateprivileges=deny` kills echod with
//! SIGSYS on `setuid`. Unsandboxed, every probe is allowed and harmless (also as root).

use crate::common;

use common::*;
use serde_json::json;

struct Daemon {
    _dir: TempDir,
    proc: Proc,
    ctl: std::path::PathBuf,
    sock: std::path::PathBuf,
}

/// Starts echod through `sh -c 'ulimit -c 0; exec echod ...'` (same pid, so the test sees the
/// signal) so that a SIGSYS never leaves a core file behind.
fn start(tag: &str, sandbox: &str) -> Daemon {
    let dir = TempDir::new(tag);
    let ctl = dir.join("echod.ctl");
    let sock = dir.join("s.sock");
    let remote = format!("--remote=punix:{}", sock.display());
    let unixctl = format!("--unixctl={}", ctl.display());
    let mut args = vec![
        "-c",
        "ulimit -c 0 && exec \"$0\" \"$@\"",
        echod_bin(),
        &remote,
        &unixctl,
        "--enable-probes",
    ];
    let sandbox_arg = format!("--sandbox={sandbox}");
    if !sandbox.is_empty() {
        args.push(&sandbox_arg);
    }
    let mut proc = Proc::spawn(&dir, "echod", "/bin/sh", &args);
    wait_listening(&ctl, &mut proc);
    proc.wait_log("serving ");
    Daemon {
        _dir: dir,
        proc,
        ctl,
        sock,
    }
}

fn seccomp_modes(pid: i32) -> Vec<String> {
    let mut modes = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let status =
            std::fs::read_to_string(task.unwrap().path().join("status")).unwrap_or_default();
        if let Some(l) = status.lines().find(|l| l.starts_with("Seccomp:")) {
            modes.push(l.split_whitespace().nth(1).unwrap_or("").to_string());
        }
    }
    modes
}

#[test]
fn spawn_deny_fork_probe_gets_eperm_and_echod_keeps_serving() {
    test_support::require_program!("ovs-appctl", "openvswitch-common");
    let mut d = start("sb-spawn", "on,spawn=deny");
    // TSYNC: every thread of echod (tokio workers included) is in filter mode.
    let modes = seccomp_modes(d.proc.pid());
    assert!(
        modes.len() > 1 && modes.iter().all(|m| m == "2"),
        "Seccomp modes per thread: {modes:?}"
    );
    connect_unix(&d.sock).echo(1, json!(["before"]));
    for probe in ["fork", "execve"] {
        let out = appctl(&d.ctl, &["echod/probe", probe]);
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(
            out.stdout,
            format!("{probe}: denied: EPERM (Operation not permitted)\n")
        );
    }
    // Not in the spawn set: allowed.
    let out = appctl(&d.ctl, &["echod/probe", "setpriority"]);
    assert!(out.stdout.starts_with("setpriority: allowed"), "{out:?}");
    let out = appctl(&d.ctl, &["echod/probe", "reboot"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.starts_with("unknown probe \"reboot\""),
        "{out:?}"
    );
    connect_unix(&d.sock).echo(2, json!(["after"]));
    // A remote added after the sandbox was loaded still works (socket/bind/listen allowed).
    assert_eq!(
        appctl(&d.ctl, &["echod/add-remote", "ptcp:0:127.0.0.1"]).code,
        0
    );
    assert!(d.proc.is_running());
}

#[test]
fn elevateprivileges_deny_setuid_probe_kills_echod_with_sigsys() {
    test_support::require_program!("ovs-appctl", "openvswitch-common");
    let mut d = start("sb-setuid", "on,elevateprivileges=deny");
    connect_unix(&d.sock).echo(1, json!(["before"]));
    let out = appctl(&d.ctl, &["echod/probe", "setuid"]);
    assert_ne!(out.code, 0, "the setuid probe returned: {out:?}");
    let status = d.proc.wait_exit();
    assert_eq!(
        signal_of(status),
        Some(libc::SIGSYS),
        "{status:?}\n{}",
        d.proc.stderr_text()
    );
}

#[test]
fn unsandboxed_probes_are_allowed_and_harmless() {
    test_support::require_program!("ovs-appctl", "openvswitch-common");
    let mut d = start("sb-off", "");
    assert_eq!(
        seccomp_modes(d.proc.pid())
            .iter()
            .filter(|m| *m != "0")
            .count(),
        0
    );
    let uid_before = std::fs::read_to_string(format!("/proc/{}/status", d.proc.pid())).unwrap();
    let uid_line = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .unwrap_or("")
            .to_string()
    };
    for (probe, want) in [
        ("fork", "fork: allowed: child "),
        (
            "execve",
            "execve: allowed: the kernel ran it and answered ENOENT",
        ),
        ("setuid", "setuid: allowed: returned 0"),
        ("setpriority", "setpriority: allowed: returned 0"),
        (
            "mount",
            "mount: allowed: the kernel ran it and answered ENOTDIR",
        ),
    ] {
        let out = appctl(&d.ctl, &["echod/probe", probe]);
        assert_eq!(out.code, 0, "{out:?}");
        assert!(out.stdout.starts_with(want), "{probe}: {out:?}");
    }
    let uid_after = std::fs::read_to_string(format!("/proc/{}/status", d.proc.pid())).unwrap();
    assert_eq!(uid_line(&uid_before), uid_line(&uid_after));
    connect_unix(&d.sock).echo(1, json!(["still here"]));
    assert!(d.proc.is_running());
}

#[test]
fn default_set_mount_probe_kills_echod() {
    test_support::require_program!("ovs-appctl", "openvswitch-common");
    // mount is in QEMU's default set, denied whenever the sandbox is on.
    let mut d = start("sb-mount", "on");
    let out = appctl(&d.ctl, &["echod/probe", "mount"]);
    assert_ne!(out.code, 0, "{out:?}");
    let status = d.proc.wait_exit();
    assert_eq!(signal_of(status), Some(libc::SIGSYS), "{status:?}");
}

/// A capability set of every thread of `pid` (`CapPrm:`, `CapEff:` ...), one mask per thread.
fn thread_caps(pid: i32, field: &str) -> Vec<u64> {
    let mut sets = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let status =
            std::fs::read_to_string(task.unwrap().path().join("status")).unwrap_or_default();
        if let Some(hex) = status.lines().find_map(|l| l.strip_prefix(field)) {
            sets.push(u64::from_str_radix(hex.trim(), 16).unwrap());
        }
    }
    sets
}

/// The strictest sandbox (issues 30 to 32): the loader's steps beyond seccomp run in `run()`
/// before the tokio runtime, so every runtime thread carries them (capabilities are per
/// thread): no thread keeps CAP_SYS_ADMIN (release_agent) or CAP_SYS_NICE (autogroup), each
/// step is logged, and echod keeps serving, reloading and adding remotes.
#[test]
fn strictest_sandbox_confines_every_thread_and_echod_keeps_working() {
    test_support::require_program!("ovs-appctl", "openvswitch-common");
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    test_support::require!(
        root,
        "the capability steps are visible only when echod runs as root"
    );
    let mut d = start(
        "sb-strict",
        "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
    );
    let log = d.proc.stderr_text();
    for step in ["rlimits", "permitted-caps", "cap-sys-nice", "cap-sys-admin"] {
        assert!(
            log.contains(&format!("sandbox: {step}: ")),
            "no line for step {step}:\n{log}"
        );
    }
    if seccomp_sets::landlock_status().starts_with("ABI ") {
        assert!(log.contains("sandbox: landlock: applied"), "{log}");
        assert!(log.contains(", Landlock ABI "), "{log}");
    } else {
        assert!(log.contains("sandbox: landlock: UNAVAILABLE"), "{log}");
    }
    let (admin, nice) = (1u64 << 21, 1u64 << 23);
    let permitted = thread_caps(d.proc.pid(), "CapPrm:");
    assert!(permitted.len() > 1, "threads: {permitted:?}");
    for caps in &permitted {
        assert_eq!(
            caps & (admin | nice),
            0,
            "a thread kept them: {permitted:x?}"
        );
    }
    for bounding in thread_caps(d.proc.pid(), "CapBnd:") {
        assert_eq!(bounding & (admin | nice), 0, "bounding set {bounding:x}");
    }
    assert!(seccomp_modes(d.proc.pid()).iter().all(|m| m == "2"));
    connect_unix(&d.sock).echo(1, json!(["strict"]));
    let out = appctl(&d.ctl, &["echod/reload"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        appctl(&d.ctl, &["echod/add-remote", "ptcp:0:127.0.0.1"]).code,
        0
    );
    let out = appctl(&d.ctl, &["echod/probe", "fork"]);
    assert_eq!(
        out.stdout,
        "fork: denied: EPERM (Operation not permitted)\n"
    );
    connect_unix(&d.sock).echo(2, json!(["still strict"]));
    assert!(d.proc.is_running());
}
