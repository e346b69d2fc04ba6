//! The threat model of issues 30 to 32 as a root daemon on a real Debian system: what a process
//! under the sandbox can still achieve, directly or through another process or the kernel.
//!
//! * `sandbox-proxy-spawn` (issue 30): a root unit under `seccomp_sets::apply` with
//!   `on,spawn=deny` tries the three proxy paths (ptrace, `process_vm_writev`, a write to
//!   `/proc/PID/mem`) against root services that were started before it; none of them runs a
//!   program. The same attacker without the sandbox makes each victim run one (so the
//!   scenario proves the rule, not a missing capability). The guest's Landlock ABI is noted.
//! * `sandbox-kernel-doors` (issue 31): as root, a sandboxed process cannot load the guest's
//!   real `dummy` module nor a BPF program; the same process without the sandbox can (and
//!   unloads and closes them).
//! * `sandbox-side-doors` (issue 32): each side door without the sandbox (it is real here),
//!   under the library's load, and in a service started from the systemd export for the
//!   suite's systemd version, with its unit settings. Everything touched is put back:
//!   `/sbin/request-key`, the cgroup v1 mount and its `release_agent`, the cpuset cgroup;
//!   `core_pattern` is only checked with `access(W_OK)`.

use std::io::Write;
use std::process::{Command, ExitCode};
use std::time::Duration;

use super::Scenario;
use super::ctx::{Ctx, UNIT_DIR, ensure, run, run_ok, tail};
use seccomp_sets::{Filter, Mode, Sandbox};

/// Where the victims publish their address and the attacker's program leaves its marker.
const VICTIM_DIR: &str = "/run/sx-victim";

/// The proxy paths, in the order the attacker tries them.
const PATHS: [&str; 3] = ["ptrace", "vm-write", "proc-mem"];

pub(crate) const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "sandbox-proxy-spawn",
        about: "a root unit under spawn=deny cannot make another root service run a program \
                through ptrace, process_vm_writev or /proc/PID/mem; without the sandbox it can",
        units: &[
            (
                "sx-victim@.service",
                "[Unit]\nDescription=an older root service (victim %i)\n\n[Service]\n\
                 ExecStart=/usr/local/bin/vm-guest victim %i\n",
            ),
            (
                "sx-attack@.service",
                "[Unit]\nDescription=a root unit trying spawn by proxy (%i)\n\n[Service]\n\
                 Type=oneshot\nExecStart=/usr/local/bin/vm-guest proxy-attack %i\n",
            ),
        ],
        timeout: Duration::from_secs(60),
        needs: &[],
        check: proxy_spawn,
    },
    Scenario {
        name: "sandbox-kernel-doors",
        about: "as root, elevateprivileges=deny refuses loading the real dummy module and a BPF \
                program, which the same process loads without the sandbox",
        units: &[],
        timeout: Duration::from_secs(60),
        needs: &[],
        check: kernel_doors,
    },
    Scenario {
        name: "sandbox-side-doors",
        about: "request_key's helper, release_agent, cpuset, core_pattern, user namespaces, \
                execve's capabilities, autogroup and AIO priority: open without the sandbox, \
                closed (or a recorded residual) under the library, closed under the exported unit",
        units: &[(
            "sx-door@.service",
            "[Unit]\nDescription=a side door under the systemd export (%i)\n\n[Service]\n\
             Type=oneshot\nExecStart=/usr/local/bin/vm-guest side-door %i unit\n",
        )],
        timeout: Duration::from_secs(120),
        needs: &[],
        check: side_doors,
    },
];

// ------------------------------------------------------------------ issue 30

/// `vm-guest victim NAME`: publishes `PID ADDRESS-OF-MARKER` in `VICTIM_DIR/NAME.addr`, then
/// polls the marker for two minutes; when it reads the attacker's magic word it executes
/// `/bin/sh -c 'echo ran > VICTIM_DIR/NAME.ran'`: the program the attacker chose.
pub fn victim_main(name: &str) -> ExitCode {
    let _ = std::fs::create_dir_all(VICTIM_DIR);
    let addr = format!("{VICTIM_DIR}/{name}.addr");
    let line = format!("{} {}\n", std::process::id(), calls::marker_addr());
    if let Err(e) = std::fs::write(&addr, line) {
        eprintln!("victim {name}: writing {addr}: {e}");
        return ExitCode::FAILURE;
    }
    for _ in 0..1200 {
        if calls::marker_set() {
            let err = std::os::unix::process::CommandExt::exec(
                Command::new("/bin/sh")
                    .args(["-c", &format!("echo ran > {VICTIM_DIR}/{name}.ran")]),
            );
            eprintln!("victim {name}: exec: {err}");
            return ExitCode::FAILURE;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    ExitCode::SUCCESS
}

/// `vm-guest proxy-attack held|base`: under `on,spawn=deny` (held) or no sandbox (base), tries
/// each path against the victim `NAME-PATH`, one journal line each.
pub fn attack_main(name: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "landlock: {}", seccomp_sets::landlock_status());
    if name == "held" {
        let sandbox: Sandbox = "on,spawn=deny".parse().expect("a valid sandbox");
        match seccomp_sets::apply(&sandbox, Mode::Enforce) {
            Ok(seccomp_sets::Applied::Loaded(l)) => {
                for s in &l.steps {
                    let _ = writeln!(out, "step {s}");
                }
            }
            Ok(seccomp_sets::Applied::Off) => {}
            Err(e) => {
                let _ = writeln!(out, "cannot load the sandbox: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    for path in PATHS {
        let victim = format!("{name}-{path}");
        let text =
            std::fs::read_to_string(format!("{VICTIM_DIR}/{victim}.addr")).unwrap_or_default();
        let mut words = text.split_whitespace();
        let (Some(pid), Some(addr)) = (
            words.next().and_then(|w| w.parse::<i32>().ok()),
            words.next().and_then(|w| w.parse::<u64>().ok()),
        ) else {
            let _ = writeln!(out, "path {path}: no victim address");
            continue;
        };
        let result = match path {
            "ptrace" => calls::ptrace_poke(pid, addr),
            "vm-write" => calls::vm_write(pid, addr),
            _ => calls::proc_mem_write(pid, addr),
        };
        let line = match result {
            Ok(()) => "written".to_owned(),
            Err(e) => format!("refused {}", nix::errno::Errno::from_raw(e)),
        };
        let _ = writeln!(out, "path {path}: {line}");
        let _ = out.flush();
    }
    ExitCode::SUCCESS
}

fn proxy_spawn(cx: &mut Ctx) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(VICTIM_DIR);
    std::fs::create_dir_all(VICTIM_DIR).map_err(|e| format!("mkdir {VICTIM_DIR}: {e}"))?;
    let mut victims = Vec::new();
    for name in ["base", "held"] {
        for path in PATHS {
            let unit = format!("sx-victim@{name}-{path}.service");
            cx.systemctl(&["start", &unit])?;
            cx.units.push(unit);
            victims.push(format!("{name}-{path}"));
        }
    }
    for v in &victims {
        let addr = format!("{VICTIM_DIR}/{v}.addr");
        cx.wait_until(&addr, Duration::from_secs(10), || {
            Ok(std::path::Path::new(&addr).exists())
        })?;
    }
    let mut landlock = String::new();
    for name in ["held", "base"] {
        let unit = format!("sx-attack@{name}.service");
        cx.units.push(unit.clone());
        cx.systemctl(&["start", &unit])?;
        let journal = cx.wait_journal(&unit, "path proc-mem: ")?;
        if name == "held" {
            landlock = journal
                .lines()
                .find_map(|l| l.strip_prefix("landlock: "))
                .unwrap_or("not reported")
                .to_owned();
            ensure(journal.contains("step landlock: "), || {
                format!("the attacker's load did not report its landlock step:\n{journal}")
            })?;
        }
        for path in PATHS {
            let ran = format!("{VICTIM_DIR}/{name}-{path}.ran");
            let line = journal
                .lines()
                .find(|l| l.starts_with(&format!("path {path}: ")))
                .unwrap_or("(no line)")
                .to_owned();
            if name == "base" {
                cx.wait_until(&ran, Duration::from_secs(5), || {
                    Ok(std::path::Path::new(&ran).exists())
                })
                .map_err(|e| {
                    format!(
                        "without the sandbox the {path} injection should make the victim run \
                         a program ({line}): {e}"
                    )
                })?;
            } else {
                std::thread::sleep(Duration::from_millis(300));
                ensure(
                    !std::path::Path::new(&ran).exists() && line.contains("refused"),
                    || {
                        format!(
                            "under spawn=deny the {path} path ran a program in another root \
                             service: {line}\n{}",
                            tail(&journal, 20)
                        )
                    },
                )?;
                cx.note(format!("proxy {path} under spawn=deny: {line}"));
            }
        }
    }
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    cx.note(format!("Landlock on kernel {}: {landlock}", kernel.trim()));
    let _ = std::fs::remove_dir_all(VICTIM_DIR);
    Ok(())
}

// ------------------------------------------------------------------ issue 31

/// `vm-guest kernel-doors off|on,elevateprivileges=deny`: a BPF program, then the guest's
/// dummy module (which ends the process by SIGSYS when the sandbox kills the call).
pub fn kernel_doors_main(sandbox: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    if sandbox != "off" {
        let s: Sandbox = match sandbox.parse() {
            Ok(s) => s,
            Err(e) => {
                let _ = writeln!(out, "bad sandbox: {e}");
                return ExitCode::FAILURE;
            }
        };
        if let Err(e) = seccomp_sets::apply(&s, Mode::Enforce) {
            let _ = writeln!(out, "cannot load the sandbox: {e}");
            return ExitCode::FAILURE;
        }
    }
    let _ = writeln!(out, "bpf: {}", calls::describe(calls::bpf_socket_filter()));
    let _ = out.flush();
    let Some((path, compressed)) = dummy_module() else {
        let _ = writeln!(out, "module: no dummy module in /lib/modules");
        return ExitCode::FAILURE;
    };
    let _ = writeln!(out, "module: loading {path}");
    let _ = out.flush();
    let loaded = calls::finit_module(&path, compressed);
    let _ = writeln!(out, "module: {}", calls::describe(loaded));
    if loaded.is_ok() {
        let _ = writeln!(
            out,
            "module unload: {}",
            calls::describe(calls::delete_module("dummy"))
        );
    }
    ExitCode::SUCCESS
}

/// The running kernel's `dummy` module file, and whether it is compressed.
fn dummy_module() -> Option<(String, bool)> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    let dir = format!("/lib/modules/{}/kernel/drivers/net", release.trim());
    for (name, compressed) in [
        ("dummy.ko", false),
        ("dummy.ko.xz", true),
        ("dummy.ko.zst", true),
    ] {
        let path = format!("{dir}/{name}");
        if std::path::Path::new(&path).exists() {
            return Some((path, compressed));
        }
    }
    None
}

fn module_loaded(name: &str) -> bool {
    std::fs::read_to_string("/proc/modules")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().next() == Some(name))
}

fn kernel_doors(cx: &mut Ctx) -> Result<(), String> {
    if module_loaded("dummy") {
        run_ok("rmmod", &["dummy"])?;
    }
    let me = "/usr/local/bin/vm-guest";
    let base = run(me, &["kernel-doors", "off"])?;
    ensure(
        base.code == 0
            && base.stdout.contains("bpf: ok")
            && base.stdout.contains("module: ok")
            && base.stdout.contains("module unload: ok"),
        || {
            format!(
                "without the sandbox, root should load a BPF program and the dummy module: {}",
                base.both()
            )
        },
    )?;
    ensure(!module_loaded("dummy"), || "dummy stayed loaded".into())?;
    let held = run(me, &["kernel-doors", "on,elevateprivileges=deny"])?;
    ensure(
        held.stdout.contains("bpf: refused EPERM")
            && held.stdout.contains("module: loading")
            && !held.stdout.contains("module: ok")
            && held.code == -1,
        || {
            format!(
                "under elevateprivileges=deny the BPF load must get EPERM and finit_module must \
                 kill the process (SIGSYS): exit {}, {}",
                held.code,
                held.both()
            )
        },
    )?;
    ensure(!module_loaded("dummy"), || {
        "the sandboxed process loaded dummy".into()
    })?;
    cx.note(format!(
        "kernel doors: without the sandbox {}; under elevateprivileges=deny BPF EPERM, \
         finit_module SIGSYS",
        base.stdout
            .lines()
            .filter(|l| l.starts_with("bpf:") || l.starts_with("module:"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(())
}

// ------------------------------------------------------------------ issue 32

/// One side door: its name, the key it goes around, and what each of the three runs must show
/// (a prefix of the probe's `door NAME: ...` line).
struct Door {
    name: &'static str,
    sandbox: &'static str,
    /// Without any sandbox: the door is real on this guest.
    open: &'static [&'static str],
    /// Under the library's load.
    library: &'static [&'static str],
    /// Under the unit from the systemd export.
    unit: &'static [&'static str],
}

const DOORS: &[Door] = &[
    Door {
        name: "request-key",
        sandbox: "on,spawn=deny",
        open: &["helper ran"],
        library: &["refused EPERM, helper did not run"],
        unit: &["refused EPERM, helper did not run; helper file read-only"],
    },
    Door {
        name: "release-agent",
        sandbox: "on,spawn=deny",
        open: &["agent ran"],
        library: &["refused EPERM"],
        unit: &["refused EPERM"],
    },
    Door {
        name: "core-pattern",
        sandbox: "on,spawn=deny",
        open: &["writable"],
        // Plain file permissions for uid 0: the library cannot close it (recorded residual).
        library: &["writable"],
        unit: &["refused EROFS"],
    },
    Door {
        name: "cpuset",
        sandbox: "on,resourcecontrol=deny",
        open: &["moved, affinity now 1 "],
        // Plain cgroup file writes for uid 0 (recorded residual), sched_setaffinity refused.
        library: &["moved, affinity now 1 "],
        unit: &["refused EROFS", "refused ENOENT"],
    },
    Door {
        name: "userns",
        sandbox: "on,elevateprivileges=deny",
        open: &["full capabilities"],
        library: &["refused EPERM"],
        unit: &["refused EPERM"],
    },
    Door {
        name: "exec-caps",
        sandbox: "on,elevateprivileges=deny",
        open: &["restored"],
        library: &["not restored"],
        unit: &["bounded"],
    },
    Door {
        name: "autogroup",
        sandbox: "on,resourcecontrol=deny",
        open: &["raised"],
        library: &["refused EPERM"],
        unit: &["refused EPERM"],
    },
    Door {
        name: "aio-rt",
        sandbox: "on,resourcecontrol=deny",
        open: &["submitted"],
        library: &["refused EPERM"],
        unit: &["refused EPERM"],
    },
];

const REQUEST_KEY: &str = "/sbin/request-key";
const RK_MARKER: &str = "/run/sx-rk-ran";
const CG_V1: &str = "/run/sx-cg";
const RA_AGENT: &str = "/run/sx-ra-agent";
const RA_MARKER: &str = "/run/sx-ra-ran";
const CPUSET: &str = "/sys/fs/cgroup/sx-cpuset";

/// `vm-guest side-door DOOR off|library|unit`: tries one door, prints `door DOOR: VERDICT`.
pub fn side_door_main(door: &str, mode: &str) -> ExitCode {
    let Some(d) = DOORS.iter().find(|d| d.name == door) else {
        println!("door {door}: unknown door");
        return ExitCode::FAILURE;
    };
    if door == "exec-caps" && mode != "unit" {
        // A root daemon that cleared its effective set and kept its permitted set.
        if let Err(e) = calls::clear_effective_caps() {
            println!("door {door}: set-up failed: capset {e}");
            return ExitCode::FAILURE;
        }
    }
    if mode == "library" {
        let s: Sandbox = d.sandbox.parse().expect("a valid sandbox");
        if let Err(e) = seccomp_sets::apply(&s, Mode::Enforce) {
            println!("door {door}: cannot load the sandbox: {e}");
            return ExitCode::FAILURE;
        }
    }
    let verdict = match door {
        "request-key" => request_key_door(mode),
        "release-agent" => release_agent_door(),
        "core-pattern" => writable("/proc/sys/kernel/core_pattern"),
        "cpuset" => cpuset_door(),
        "userns" => match calls::unshare_newuser() {
            Ok(()) => format!("full capabilities (CapEff {:x})", calls::cap_eff()),
            Err(e) => refused(e),
        },
        "exec-caps" => {
            let err = std::os::unix::process::CommandExt::exec(
                Command::new("/usr/local/bin/vm-guest").args(["caps-report", mode]),
            );
            format!("exec failed: {err}")
        }
        "autogroup" => match std::fs::write("/proc/self/autogroup", "-15") {
            Ok(()) => "raised".to_owned(),
            Err(e) => refused(e.raw_os_error().unwrap_or(0)),
        },
        _ => match calls::aio_rt_read() {
            Ok(()) => "submitted".to_owned(),
            Err(e) => refused(e),
        },
    };
    println!("door {door}: {verdict}");
    ExitCode::SUCCESS
}

/// `vm-guest caps-report MODE`: the capabilities an exec gave (door exec-caps).
pub fn caps_report_main(mode: &str) -> ExitCode {
    let eff = calls::cap_eff();
    let verdict = match mode {
        // Under the unit: no capability the export bounds came back.
        "unit" if eff & BOUNDED == 0 => format!("bounded (CapEff {eff:x})"),
        "unit" => format!("a bounded capability came back (CapEff {eff:x})"),
        _ if eff == 0 => "not restored (CapEff 0)".to_owned(),
        _ => format!("restored (CapEff {eff:x})"),
    };
    println!("door exec-caps: {verdict}");
    ExitCode::SUCCESS
}

/// CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SETUID, CAP_SETGID, CAP_SETPCAP: capabilities the
/// elevateprivileges export removes from the bounding set.
const BOUNDED: u64 = (1 << 16) | (1 << 17) | (1 << 7) | (1 << 6) | (1 << 8);

fn refused(errno: i32) -> String {
    format!("refused {}", nix::errno::Errno::from_raw(errno))
}

fn writable(path: &str) -> String {
    match calls::access_w(path) {
        Ok(()) => "writable".to_owned(),
        Err(e) => refused(e),
    }
}

fn wait_for(path: &str, limit: Duration) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if std::path::Path::new(path).exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Door 1: a key that does not exist, with callout information: the kernel starts
/// `/sbin/request-key` (the check installed one that leaves a marker).
fn request_key_door(mode: &str) -> String {
    let description = format!("sx:{mode}:{}", std::process::id());
    let verdict = match calls::request_key_with_callout(&description) {
        Err(libc::EPERM) => "refused EPERM".to_owned(),
        _ if wait_for(RK_MARKER, Duration::from_secs(3)) => return "helper ran".to_owned(),
        Ok(_) => "returned".to_owned(),
        Err(e) => format!("failed {}", nix::errno::Errno::from_raw(e)),
    };
    let ran = wait_for(RK_MARKER, Duration::from_millis(1500));
    let mut v = format!(
        "{verdict}, helper {}",
        if ran { "ran" } else { "did not run" }
    );
    if mode == "unit" && calls::access_w(REQUEST_KEY) == Err(libc::EROFS) {
        v.push_str("; helper file read-only");
    }
    v
}

/// Door 2: the v1 hierarchy's release_agent, then this process moves into a child cgroup with
/// notify_on_release and exits (the check waits for the agent's marker).
fn release_agent_door() -> String {
    if let Err(e) = std::fs::write(format!("{CG_V1}/release_agent"), RA_AGENT) {
        return refused(e.raw_os_error().unwrap_or(0));
    }
    let child = format!("{CG_V1}/x");
    let _ = std::fs::create_dir(&child);
    let steps = std::fs::write(format!("{child}/notify_on_release"), "1").and_then(|()| {
        std::fs::write(
            format!("{child}/cgroup.procs"),
            std::process::id().to_string(),
        )
    });
    match steps {
        // The agent runs when this process exits (the cgroup then empties).
        Ok(()) => "agent set".to_owned(),
        Err(e) => format!("set-up failed: {e}"),
    }
}

/// Door 6: move this process into a cgroup with `cpuset.cpus=1`, read the affinity it got,
/// then ask for the same affinity with sched_setaffinity (refused under resourcecontrol=deny).
/// (Calling sched_setaffinity first would make the affinity a user request, which Linux 6.12
/// then keeps across the move.)
fn cpuset_door() -> String {
    if let Err(e) = std::fs::write(
        format!("{CPUSET}/cgroup.procs"),
        std::process::id().to_string(),
    ) {
        return refused(e.raw_os_error().unwrap_or(0));
    }
    std::thread::sleep(Duration::from_millis(100));
    let affinity = calls::affinity();
    let setaffinity = calls::set_affinity_same().err();
    format!(
        "moved, affinity now {affinity} (sched_setaffinity: {})",
        setaffinity.map_or("allowed".to_owned(), refused)
    )
}

/// The line `door NAME: ...` in `text`, without its prefix.
fn door_line<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("door {name}: ");
    text.lines().find_map(|l| l.strip_prefix(prefix.as_str()))
}

/// The set-ups the doors need, undone by [`teardown`] whatever happens.
fn setup(cx: &mut Ctx) -> Result<(bool, bool), String> {
    // Door 1: a request-key helper that leaves a marker (the image has none: keyutils is not
    // installed; a real one is kept aside and put back).
    if std::path::Path::new(REQUEST_KEY).exists() {
        std::fs::rename(REQUEST_KEY, format!("{REQUEST_KEY}.sx-saved"))
            .map_err(|e| format!("saving {REQUEST_KEY}: {e}"))?;
    }
    write_script(REQUEST_KEY, &format!("#!/bin/sh\necho ran > {RK_MARKER}\n"))?;
    // Door 2: a named cgroup v1 hierarchy of our own.
    write_script(RA_AGENT, &format!("#!/bin/sh\necho ran > {RA_MARKER}\n"))?;
    std::fs::create_dir_all(CG_V1).map_err(|e| format!("mkdir {CG_V1}: {e}"))?;
    let v1 = run(
        "mount",
        &["-t", "cgroup", "-o", "none,name=sxprobe", "cgroup", CG_V1],
    )?;
    let have_v1 = v1.code == 0;
    if !have_v1 {
        cx.note(format!(
            "release_agent: this kernel refuses a cgroup v1 mount ({}): the door does not exist here",
            v1.both().trim()
        ));
    }
    // Door 6: a cpuset cgroup on CPU 1 (the guest has two); see `cpuset_setup`.
    let had_cpuset = std::fs::read_to_string(SUBTREE_CONTROL)
        .unwrap_or_default()
        .split_whitespace()
        .any(|c| c == "cpuset");
    std::fs::create_dir_all(CPUSET).map_err(|e| format!("mkdir {CPUSET}: {e}"))?;
    Ok((have_v1, had_cpuset))
}

const SUBTREE_CONTROL: &str = "/sys/fs/cgroup/cgroup.subtree_control";

/// The cpuset controller for the root's children and `cpuset.cpus=1` on ours, right before
/// each run of door 6: systemd (257) takes the controller back out of the root's
/// `subtree_control` when it realizes a unit's cgroup that does not ask for it.
fn cpuset_setup() -> Result<(), String> {
    std::fs::write(SUBTREE_CONTROL, "+cpuset").map_err(|e| format!("enabling cpuset: {e}"))?;
    std::fs::write(format!("{CPUSET}/cpuset.cpus"), "1")
        .map_err(|e| format!("{CPUSET}/cpuset.cpus: {e}"))
}

fn write_script(path: &str, text: &str) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).map_err(|e| format!("writing {path}: {e}"))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("chmod {path}: {e}"))
}

fn teardown(have_v1: bool, had_cpuset: bool) {
    let _ = std::fs::remove_file(REQUEST_KEY);
    let saved = format!("{REQUEST_KEY}.sx-saved");
    if std::path::Path::new(&saved).exists() {
        let _ = std::fs::rename(&saved, REQUEST_KEY);
    }
    if have_v1 {
        let _ = std::fs::remove_dir(format!("{CG_V1}/x"));
        let _ = run("umount", &[CG_V1]);
    }
    let _ = std::fs::remove_dir(CG_V1);
    let _ = std::fs::remove_dir(CPUSET);
    if !had_cpuset {
        let _ = std::fs::write(SUBTREE_CONTROL, "-cpuset");
    }
    for f in [RA_AGENT, RA_MARKER, RK_MARKER] {
        let _ = std::fs::remove_file(f);
    }
}

fn side_doors(cx: &mut Ctx) -> Result<(), String> {
    let (systemd, _) = super::ctx::systemd_version()?;
    // One drop-in per door: the systemd export of its key for this suite's systemd.
    for d in DOORS {
        let s: Sandbox = d
            .sandbox
            .parse()
            .map_err(|e| format!("{}: {e}", d.sandbox))?;
        let filter = Filter::builder(&s)
            .exec_tolerant(true)
            .build()
            .map_err(|e| format!("-sandbox {s}: {e}"))?;
        let dir = format!("{UNIT_DIR}/sx-door@{}.service.d", d.name);
        std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {dir}: {e}"))?;
        std::fs::write(format!("{dir}/export.conf"), filter.to_systemd_for(systemd))
            .map_err(|e| format!("writing {dir}/export.conf: {e}"))?;
    }
    run_ok("systemctl", &["daemon-reload"])?;
    let (have_v1, had_cpuset) = setup(cx)?;
    let result = try_doors(cx, have_v1, systemd);
    teardown(have_v1, had_cpuset);
    result
}

fn try_doors(cx: &mut Ctx, have_v1: bool, systemd: u32) -> Result<(), String> {
    let me = "/usr/local/bin/vm-guest";
    let mut table = Vec::new();
    for d in DOORS {
        if d.name == "release-agent" && !have_v1 {
            table.push(format!("{}: n/a (no cgroup v1 on this kernel)", d.name));
            continue;
        }
        let mut got = Vec::new();
        for mode in ["off", "library"] {
            for marker in [RK_MARKER, RA_MARKER] {
                let _ = std::fs::remove_file(marker);
            }
            if d.name == "cpuset" {
                cpuset_setup()?;
            }
            // setsid: the probe is a session leader of its own (its own autogroup).
            let ran = run("setsid", &["-w", me, "side-door", d.name, mode])?;
            let mut line = door_line(&ran.stdout, d.name)
                .unwrap_or("(no verdict)")
                .to_owned();
            if d.name == "release-agent" && line == "agent set" {
                line = if wait_for(RA_MARKER, Duration::from_secs(5)) {
                    "agent ran".to_owned()
                } else {
                    "agent set, did not run".to_owned()
                };
            }
            got.push((mode, line, ran.both()));
        }
        let unit = format!("sx-door@{}.service", d.name);
        cx.units.push(unit.clone());
        let _ = std::fs::remove_file(RK_MARKER);
        if d.name == "cpuset" {
            cpuset_setup()?;
        }
        let started = cx.systemctl(&["start", &unit]);
        let journal = cx.journal(&unit).unwrap_or_default();
        let line = door_line(&journal, d.name)
            .unwrap_or("(no verdict)")
            .to_owned();
        got.push(("unit", line, format!("{started:?}\n{}", tail(&journal, 10))));
        for ((mode, line, output), want) in got.iter().zip([d.open, d.library, d.unit]) {
            ensure(want.iter().any(|w| line.starts_with(w)), || {
                format!(
                    "door {} ({mode}, -sandbox {}): expected {}, got {line:?}\n{output}",
                    d.name,
                    d.sandbox,
                    want.join(" or ")
                )
            })?;
        }
        table.push(format!(
            "{} ({}): open: {}; library: {}; unit (systemd {systemd}): {}",
            d.name, d.sandbox, got[0].1, got[1].1, got[2].1
        ));
    }
    for line in table {
        cx.note(format!("side door {line}"));
    }
    Ok(())
}

/// The raw calls of the probes (the only unsafe code of this module).
#[allow(unsafe_code)]
mod calls {
    use std::ffi::CString;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// What the attacker writes into [`MARKER`].
    const MAGIC: u64 = 0x5eed_ca11_0bad_f00d;

    /// The word a victim polls.
    static MARKER: AtomicU64 = AtomicU64::new(0);

    pub(super) fn marker_addr() -> u64 {
        MARKER.as_ptr() as u64
    }

    pub(super) fn marker_set() -> bool {
        MARKER.load(Ordering::SeqCst) == MAGIC
    }

    fn errno() -> i32 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    fn rc(r: libc::c_long) -> Result<libc::c_long, i32> {
        if r < 0 { Err(errno()) } else { Ok(r) }
    }

    pub(super) fn describe<T>(r: Result<T, i32>) -> String {
        match r {
            Ok(_) => "ok".to_owned(),
            Err(e) => format!("refused {}", nix::errno::Errno::from_raw(e)),
        }
    }

    /// ptrace: attach, poke [`MAGIC`] at `addr` in `pid`, detach.
    pub(super) fn ptrace_poke(pid: i32, addr: u64) -> Result<(), i32> {
        // SAFETY: integer requests on a process we attach to; POKEDATA writes one word at
        // an address the victim published as mapped (its marker).
        unsafe {
            rc(libc::ptrace(libc::PTRACE_ATTACH, pid, 0usize, 0usize))?;
            let mut status = 0;
            libc::waitpid(pid, &mut status, libc::__WALL);
            rc(libc::ptrace(
                libc::PTRACE_POKEDATA,
                pid,
                addr as usize,
                MAGIC as usize,
            ))?;
            rc(libc::ptrace(libc::PTRACE_DETACH, pid, 0usize, 0usize)).map(|_| ())
        }
    }

    /// process_vm_writev of [`MAGIC`] at `addr` in `pid`.
    pub(super) fn vm_write(pid: i32, addr: u64) -> Result<(), i32> {
        let value = MAGIC;
        let local = libc::iovec {
            iov_base: &value as *const u64 as *mut libc::c_void,
            iov_len: 8,
        };
        let remote = libc::iovec {
            iov_base: addr as *mut libc::c_void,
            iov_len: 8,
        };
        // SAFETY: both iovecs describe 8 bytes; the local one is a live u64.
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
        .map(|_| ())
    }

    /// pwrite of [`MAGIC`] at `addr` through `/proc/PID/mem`.
    pub(super) fn proc_mem_write(pid: i32, addr: u64) -> Result<(), i32> {
        use std::os::unix::fs::FileExt;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(format!("/proc/{pid}/mem"))
            .map_err(|e| e.raw_os_error().unwrap_or(0))?;
        file.write_at(&MAGIC.to_ne_bytes(), addr)
            .map(|_| ())
            .map_err(|e| e.raw_os_error().unwrap_or(0))
    }

    /// `bpf(BPF_PROG_LOAD)` of a socket filter `r0 = 0; exit`, closed at once.
    pub(super) fn bpf_socket_filter() -> Result<(), i32> {
        // struct bpf_insn: code, dst:4|src:4, off, imm.
        let insns: [u64; 2] = [
            0xb7, // BPF_ALU64 | BPF_MOV | BPF_K: r0 = 0
            0x95, // BPF_JMP | BPF_EXIT
        ];
        let license = c"GPL";
        let mut attr = [0u8; 128];
        attr[0..4].copy_from_slice(&1u32.to_ne_bytes()); // BPF_PROG_TYPE_SOCKET_FILTER
        attr[4..8].copy_from_slice(&2u32.to_ne_bytes()); // insn_cnt
        attr[8..16].copy_from_slice(&(insns.as_ptr() as u64).to_ne_bytes());
        attr[16..24].copy_from_slice(&(license.as_ptr() as u64).to_ne_bytes());
        // SAFETY: `attr` is a zeroed bpf_attr of the size passed whose pointers refer to live
        // locals (two instructions, a C string).
        let fd = rc(unsafe { libc::syscall(libc::SYS_bpf, 5, attr.as_ptr(), attr.len()) })?;
        // SAFETY: the program fd we just got.
        unsafe { libc::close(fd as i32) };
        Ok(())
    }

    /// `finit_module` of `path` (`MODULE_INIT_COMPRESSED_FILE` for a compressed file).
    pub(super) fn finit_module(path: &str, compressed: bool) -> Result<(), i32> {
        let file = std::fs::File::open(path).map_err(|e| e.raw_os_error().unwrap_or(0))?;
        let params = c"";
        let flags = if compressed { 4 } else { 0 };
        // SAFETY: an open fd and a valid C string.
        rc(unsafe {
            libc::syscall(
                libc::SYS_finit_module,
                std::os::fd::AsRawFd::as_raw_fd(&file),
                params.as_ptr(),
                flags,
            )
        })
        .map(|_| ())
    }

    pub(super) fn delete_module(name: &str) -> Result<(), i32> {
        let name = CString::new(name).unwrap();
        // SAFETY: a valid C string.
        rc(unsafe { libc::syscall(libc::SYS_delete_module, name.as_ptr(), libc::O_NONBLOCK) })
            .map(|_| ())
    }

    /// `request_key("user", DESCRIPTION, "x", KEY_SPEC_SESSION_KEYRING)`: callout information
    /// makes the kernel start its helper when the key does not exist.
    pub(super) fn request_key_with_callout(description: &str) -> Result<libc::c_long, i32> {
        let ty = c"user";
        let desc = CString::new(description).unwrap();
        let callout = c"x";
        // SAFETY: valid C strings; -3 is KEY_SPEC_SESSION_KEYRING.
        rc(unsafe {
            libc::syscall(
                libc::SYS_request_key,
                ty.as_ptr(),
                desc.as_ptr(),
                callout.as_ptr(),
                -3,
            )
        })
    }

    pub(super) fn unshare_newuser() -> Result<(), i32> {
        // SAFETY: an integer flag; only this process enters the namespace.
        rc(libc::c_long::from(unsafe {
            libc::unshare(libc::CLONE_NEWUSER)
        }))
        .map(|_| ())
    }

    pub(super) fn cap_eff() -> u64 {
        std::fs::read_to_string("/proc/thread-self/status")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
            .unwrap_or(0)
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

    /// Clears the effective set, keeps the permitted set (capset version 3).
    pub(super) fn clear_effective_caps() -> Result<(), i32> {
        let mut header = CapHeader {
            version: 0x2008_0522,
            pid: 0,
        };
        let mut data = [CapData::default(); 2];
        // SAFETY: version 3 reads/writes two CapData entries, live for both calls.
        rc(unsafe { libc::syscall(libc::SYS_capget, &raw mut header, data.as_mut_ptr()) })?;
        for d in &mut data {
            d.effective = 0;
        }
        // SAFETY: as above.
        rc(unsafe { libc::syscall(libc::SYS_capset, &raw mut header, data.as_ptr()) }).map(|_| ())
    }

    pub(super) fn access_w(path: &str) -> Result<(), i32> {
        let p = CString::new(path).unwrap();
        // SAFETY: a valid C string.
        rc(libc::c_long::from(unsafe {
            libc::access(p.as_ptr(), libc::W_OK)
        }))
        .map(|_| ())
    }

    /// sched_setaffinity to the current affinity (changes nothing when allowed).
    pub(super) fn set_affinity_same() -> Result<(), i32> {
        // SAFETY: a zeroed cpu_set_t is valid; it is filled, then written back unchanged.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: `set` is a valid cpu_set_t of `size` bytes.
        rc(libc::c_long::from(unsafe {
            libc::sched_getaffinity(0, size, &mut set)
        }))?;
        // SAFETY: as above.
        rc(libc::c_long::from(unsafe {
            libc::sched_setaffinity(0, size, &set)
        }))
        .map(|_| ())
    }

    /// The CPUs this process may run on, as a list (`1`, `0,1`).
    pub(super) fn affinity() -> String {
        // SAFETY: a zeroed cpu_set_t is valid.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: `set` is a valid cpu_set_t of `size` bytes.
        if unsafe { libc::sched_getaffinity(0, size, &mut set) } != 0 {
            return "?".to_owned();
        }
        (0..64)
            // SAFETY: CPU_ISSET reads the set within its size.
            .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// One AIO read of a temporary file with the real-time I/O class (`IOCB_FLAG_IOPRIO`).
    pub(super) fn aio_rt_read() -> Result<(), i32> {
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
        let path = format!("/run/sx-aio-{}", std::process::id());
        std::fs::write(&path, b"x").map_err(|e| e.raw_os_error().unwrap_or(0))?;
        let file = std::fs::File::open(&path);
        let _ = std::fs::remove_file(&path);
        let file = file.map_err(|e| e.raw_os_error().unwrap_or(0))?;
        let mut ctx: libc::c_ulong = 0;
        // SAFETY: `ctx` is a valid out pointer.
        rc(unsafe { libc::syscall(libc::SYS_io_setup, 1, &mut ctx) })?;
        let mut buf = [0u8; 1];
        let cb = Iocb {
            aio_reqprio: 1 << 13, // IOPRIO_CLASS_RT, level 0
            aio_fildes: std::os::fd::AsRawFd::as_raw_fd(&file) as u32,
            aio_buf: buf.as_mut_ptr() as u64,
            aio_nbytes: 1,
            aio_flags: 2, // IOCB_FLAG_IOPRIO
            ..Iocb::default()
        };
        let list = [&cb as *const Iocb];
        // SAFETY: one valid iocb (IOCB_CMD_PREAD) whose buffer lives until it is reaped.
        let submitted = rc(unsafe { libc::syscall(libc::SYS_io_submit, ctx, 1i64, list.as_ptr()) });
        if submitted.is_ok() {
            let mut events = [0u64; 4];
            // SAFETY: room for one io_event; waits for the read.
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
        submitted.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_door_has_a_sandbox_and_three_expectations() {
        for d in DOORS {
            let s: Sandbox = d.sandbox.parse().unwrap();
            assert!(s.enabled, "{}", d.name);
            for want in [d.open, d.library, d.unit] {
                assert!(!want.is_empty(), "{}", d.name);
            }
        }
        assert_eq!(DOORS.len(), 8);
    }

    #[test]
    fn door_lines_are_found_by_name() {
        let text = "x\ndoor cpuset: refused EROFS\n";
        assert_eq!(door_line(text, "cpuset"), Some("refused EROFS"));
        assert_eq!(door_line(text, "userns"), None);
    }
}
