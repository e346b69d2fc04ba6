//! The OCI export (feature `serde`) with a real consumer: Debian's `runc` runs a static busybox
//! under the `linux.seccomp` profile of every `-sandbox on` configuration, and probes that each
//! call into one set show the profile's verdict (allowed, `EPERM`, or killed by SIGSYS) from
//! inside the container.
//!
//! Needs root, `runc` (Debian package runc) and a static `/bin/busybox` (busybox-static); skips
//! loudly without them (fails under `HARDEN_TEST_STRICT=1`).

use std::fs::File;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use seccomp_sets::{Effect, Filter, Sandbox, Set};
use serde_json::{Value, json};
use test_support::TempDir;

/// What runc reports for a container whose process died of SIGSYS (128 + 31): both kill actions
/// (`SCMP_ACT_KILL_PROCESS`, and `SCMP_ACT_TRAP` on kernels without it) end the process by SIGSYS.
const KILLED_BY_SIGSYS: i32 = 128 + libc::SIGSYS;

/// The result a probe must give: runc's exit status, the exact stdout, and stderr (`None`: empty;
/// `Some(s)`: contains `s`).
#[derive(Clone, Copy, Debug)]
struct Want {
    status: i32,
    stdout: &'static str,
    stderr: Option<&'static str>,
}

/// A container process killed by the profile prints nothing, and runc says nothing either.
const KILLED: Want = Want {
    status: KILLED_BY_SIGSYS,
    stdout: "",
    stderr: None,
};

/// One command run in its own container.
#[derive(Debug)]
struct Probe {
    name: &'static str,
    args: &'static [&'static str],
    /// The set the probe's first call from the table belongs to, and that call (`None`: the probe
    /// makes no call of the table).
    call: Option<(Set, &'static str)>,
    /// The result when the profile allows the call.
    allowed: Want,
    /// The result when the call fails with `EPERM` (sets whose action is `EPERM`).
    refused: Option<Want>,
}

/// The container starts, and a plain program runs.
const WORK: Probe = Probe {
    name: "work",
    args: &["/bin/busybox", "echo", "ok"],
    call: None,
    allowed: Want {
        status: 0,
        stdout: "ok\n",
        stderr: None,
    },
    refused: None,
};

/// The default set (always denied while the sandbox is on): `swapoff`. Without the profile the
/// call reaches the kernel, which refuses it (the container lacks CAP_SYS_ADMIN): the probe is
/// about being killed or not.
const DEFAULT: Probe = Probe {
    name: "default",
    args: &["/bin/busybox", "swapoff", "/x"],
    call: Some((Set::Default, "swapoff")),
    allowed: Want {
        status: 1,
        stdout: "",
        stderr: Some("swapoff: /x: Operation not permitted"),
    },
    refused: None,
};

/// The obsolete set: no busybox applet makes an obsolete call, so a tiny static program of our
/// own (see [`sysfs_program`]) calls `sysfs(3)` (x86_64 only: the other ABIs need their own
/// machine code).
#[cfg(target_arch = "x86_64")]
const OBSOLETE: Probe = Probe {
    name: "obsolete",
    args: &["/bin/sysfs"],
    call: Some((Set::Obsolete, "sysfs")),
    allowed: Want {
        status: 0,
        stdout: "",
        stderr: None,
    },
    refused: None,
};

/// The spawn set: the shell forks (static glibc: `clone` without `CLONE_THREAD`) to run a
/// program and prints its status. Under spawn=deny the profile is exec-tolerant (the workload
/// starts), and the fork fails with EPERM.
const SPAWN: Probe = Probe {
    name: "spawn",
    args: &["/bin/busybox", "sh", "-c", "/bin/busybox true; echo rc=$?"],
    call: Some((Set::Spawn, "clone")),
    allowed: Want {
        status: 0,
        stdout: "rc=0\n",
        stderr: None,
    },
    refused: Some(Want {
        status: 2,
        stdout: "",
        // busybox 1.35 (bookworm) says `sh: can't fork: ...`, 1.37 (sid) `sh: line 0: can't
        // fork: ...`: the refusal itself is the part both say.
        stderr: Some("can't fork: Operation not permitted"),
    }),
};

/// The privileged set: `su` changes the groups, gid and uid (the container gets CAP_SETUID and
/// CAP_SETGID for it, see [`Runc::run`]), then its shell prints the new uid without forking.
const PRIVILEGED: Probe = Probe {
    name: "privileged",
    args: &["/bin/busybox", "su", "nobody", "-c", "id -u"],
    call: Some((Set::Privileged, "setgroups")),
    allowed: Want {
        status: 0,
        stdout: "65534\n",
        stderr: None,
    },
    refused: None,
};

/// The resourcecontrol set: `renice` lowers its own priority (`setpriority`; pid 1 is itself).
const RESOURCE_CONTROL: Probe = Probe {
    name: "resourcecontrol",
    args: &["/bin/busybox", "renice", "-n", "1", "-p", "1"],
    call: Some((Set::ResourceControl, "setpriority")),
    allowed: Want {
        status: 0,
        stdout: "",
        stderr: None,
    },
    refused: Some(Want {
        status: 1,
        stdout: "",
        stderr: Some("renice: setpriority: Operation not permitted"),
    }),
};

/// Every probe, in set order.
const PROBES: &[Probe] = &[
    WORK,
    DEFAULT,
    #[cfg(target_arch = "x86_64")]
    OBSOLETE,
    SPAWN,
    PRIVILEGED,
    RESOURCE_CONTROL,
];

/// The effect of `filter`'s row for the probe's call (`None`: allowed; no filter: no profile).
fn effect(filter: Option<&Filter>, probe: &Probe) -> Option<Effect> {
    let (set, call) = probe.call?;
    // The probe's own set's rows: clone's CLONE_NEWUSER row also comes in with
    // elevateprivileges, and the spawn probe's fork does not match it.
    filter?
        .planned()
        .iter()
        .find(|p| p.rule.syscall == call && p.via == set)
        .map(|p| p.effect)
}

/// What the probe must give when its call gets `effect`.
fn want(probe: &Probe, effect: Option<Effect>) -> Want {
    match effect {
        None => probe.allowed,
        Some(Effect::KillProcess | Effect::Trap) => KILLED,
        Some(Effect::Errno(libc::EPERM)) => probe
            .refused
            .unwrap_or_else(|| panic!("probe {}: no EPERM expectation", probe.name)),
        Some(other) => panic!("probe {}: no expectation for {other}", probe.name),
    }
}

/// What a container run gave.
#[derive(Debug)]
struct Observed {
    /// runc's exit status (`None`: runc itself died of a signal).
    status: Option<i32>,
    stdout: String,
    /// The container's stderr, and the errors runc prints before it exits 1.
    stderr: String,
    /// runc's own log (`runc --log`): its warnings, which would otherwise mix with the
    /// container's stderr (e.g. a cgroup it removes only on a second try).
    log: String,
}

impl Observed {
    fn assert(&self, want: &Want, what: &str) {
        let stderr_ok = match want.stderr {
            None => self.stderr.is_empty(),
            Some(s) => self.stderr.contains(s),
        };
        assert!(
            self.status == Some(want.status) && self.stdout == want.stdout && stderr_ok,
            "{what}: expected {want:?}, got status {:?}, stdout {:?}, stderr {:?} (runc's log: {:?})",
            self.status,
            self.stdout,
            self.stderr,
            self.log
        );
    }
}

/// A runc with a state directory of its own (`runc --root`), a rootfs holding the static busybox,
/// and the config `runc spec` wrote, from which every container's config is made.
struct Runc {
    /// The runc program (Debian installs it in /usr/sbin).
    program: std::path::PathBuf,
    dir: TempDir,
    spec: Value,
    version: String,
    runs: AtomicUsize,
}

/// Deletes its container on drop (`runc delete -f`), whatever happened to the run.
struct Container<'a> {
    runc: &'a Runc,
    id: String,
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        // After a normal `runc run` the container is gone already, and this says so on stderr.
        let _ = self
            .runc
            .command()
            .args(["delete", "-f", &self.id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Reports a missing resource (see [`test_support::skip`]); the caller's test returns.
fn skip(reason: &str) -> Option<Runc> {
    test_support::skip(&test_support::current_test(), reason);
    None
}

impl Runc {
    /// The bundle parts, or `None` after a skip (not root, no runc, no static busybox, or runc
    /// cannot start a container here).
    fn setup() -> Option<Runc> {
        if !is_root() {
            return skip("needs root: runc runs the test containers as root");
        }
        let program = test_support::require_program(&test_support::current_test(), "runc", "runc")?;
        let Ok(busybox) = std::fs::read("/bin/busybox") else {
            return skip("/bin/busybox not found (Debian package busybox-static)");
        };
        match needs_interpreter(&busybox) {
            Some(false) => {}
            Some(true) => {
                return skip(
                    "/bin/busybox is dynamically linked (Debian package busybox): the containers \
                     hold no libraries; install busybox-static",
                );
            }
            None => return skip("/bin/busybox is no ELF program (Debian package busybox-static)"),
        }
        let dir = TempDir::new("runc");
        let rootfs = dir.join("rootfs");
        let etc = rootfs.join("etc");
        let bin = rootfs.join("bin");
        for d in [&etc, &bin, &dir.join("state")] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(bin.join("busybox"), &busybox).unwrap();
        std::fs::set_permissions(
            bin.join("busybox"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        // su runs the user's shell from /etc/passwd; the group file serves initgroups.
        std::os::unix::fs::symlink("busybox", bin.join("sh")).unwrap();
        std::fs::write(
            etc.join("passwd"),
            "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(etc.join("group"), "root:x:0:\nnogroup:x:65534:\n").unwrap();
        #[cfg(target_arch = "x86_64")]
        {
            let sysfs = bin.join("sysfs");
            std::fs::write(&sysfs, sysfs_program(syscall_number("sysfs"))).unwrap();
            std::fs::set_permissions(&sysfs, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
        }
        let out = Command::new(&program)
            .arg("spec")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "runc spec: {out:?}");
        let spec: Value =
            serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
        // Every run keeps this default: the profiles are made for no_new_privs.
        assert_eq!(
            spec["process"]["noNewPrivileges"], true,
            "runc spec: {spec}"
        );
        let out = Command::new(&program).arg("--version").output().unwrap();
        // "runc version 1.1.5+ds1" on its first line.
        let version = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .map_or("runc, version unknown".to_owned(), |l| {
                l.replacen("runc version", "runc", 1)
            });
        let runc = Runc {
            program,
            dir,
            spec,
            version,
            runs: AtomicUsize::new(0),
        };
        let plain = runc.run(None, true, WORK.args);
        if plain.status != Some(0) || plain.stdout != "ok\n" {
            return skip(&format!(
                "runc cannot start a container without a profile here: {plain:?}"
            ));
        }
        Some(runc)
    }

    /// `runc --root STATE`.
    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.arg("--root").arg(self.dir.join("state"));
        c
    }

    /// Runs `args` in a fresh container under `profile` (`None`: no `linux.seccomp`), with
    /// `process.noNewPrivileges` set to `no_new_privs`. The container gets CAP_SETUID and
    /// CAP_SETGID besides runc's defaults, so that whether the uid changes is the profile's
    /// decision, not the capabilities'. Killed after [`test_support::wait::TIMEOUT`].
    fn run(&self, profile: Option<&Value>, no_new_privs: bool, args: &[&str]) -> Observed {
        let n = self.runs.fetch_add(1, Ordering::Relaxed);
        let id = format!("seccomp-sets-{}-{n}", std::process::id());
        let bundle = self.dir.join(&format!("bundle-{n}"));
        std::fs::create_dir(&bundle).unwrap();
        let mut config = self.spec.clone();
        let process = &mut config["process"];
        process["terminal"] = json!(false);
        process["args"] = json!(args);
        process["noNewPrivileges"] = json!(no_new_privs);
        for set in ["bounding", "effective", "permitted"] {
            let caps = process["capabilities"][set].as_array_mut().unwrap();
            caps.extend([json!("CAP_SETUID"), json!("CAP_SETGID")]);
        }
        config["root"] = json!({"path": self.dir.join("rootfs"), "readonly": true});
        let linux = config["linux"].as_object_mut().unwrap();
        match profile {
            Some(p) => linux.insert("seccomp".to_owned(), p.clone()),
            None => linux.remove("seccomp"),
        };
        std::fs::write(
            bundle.join("config.json"),
            serde_json::to_vec_pretty(&config).unwrap(),
        )
        .unwrap();
        let (stdout, stderr, log) = (
            bundle.join("stdout"),
            bundle.join("stderr"),
            bundle.join("runc.log"),
        );
        let container = Container {
            runc: self,
            id: id.clone(),
        };
        let mut child = self
            .command()
            .arg("--log")
            .arg(&log)
            .args(["run", "--bundle"])
            .arg(&bundle)
            .arg(&id)
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).unwrap())
            .stderr(File::create(&stderr).unwrap())
            .spawn()
            .expect("starting runc run");
        let deadline = Instant::now() + test_support::wait::TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.command().args(["kill", &id, "KILL"]).status();
                let _ = child.kill();
                let _ = child.wait();
                drop(container);
                panic!(
                    "runc run {args:?} did not end within {:?}: killed",
                    test_support::wait::TIMEOUT
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        drop(container);
        Observed {
            status: status.code(),
            stdout: std::fs::read_to_string(&stdout).unwrap(),
            stderr: std::fs::read_to_string(&stderr).unwrap(),
            log: std::fs::read_to_string(&log).unwrap_or_default(),
        }
    }

    /// Ids of the containers runc still knows.
    fn containers(&self) -> Vec<String> {
        let out = self.command().args(["list", "-q"]).output().unwrap();
        assert!(out.status.success(), "runc list: {out:?}");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// Whether this process runs as root (effective uid 0), read from `/proc/self/status`.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

/// Whether the ELF program `elf` asks for a program interpreter (`PT_INTERP`: it is dynamically
/// linked); `None` when it is no ELF file.
fn needs_interpreter(elf: &[u8]) -> Option<bool> {
    const PT_INTERP: usize = 3;
    if elf.get(..4)? != b"\x7fELF" {
        return None;
    }
    let wide = *elf.get(4)? == 2;
    let little = *elf.get(5)? == 1;
    let int = |at: usize, len: usize| -> Option<usize> {
        let bytes = elf.get(at..at.checked_add(len)?)?;
        let fold = |v: u64, b: &u8| (v << 8) | u64::from(*b);
        let v = if little {
            bytes.iter().rev().fold(0, fold)
        } else {
            bytes.iter().fold(0, fold)
        };
        usize::try_from(v).ok()
    };
    // e_phoff, e_phentsize, e_phnum.
    let (phoff, phentsize, phnum) = if wide {
        (int(32, 8)?, int(54, 2)?, int(56, 2)?)
    } else {
        (int(28, 4)?, int(42, 2)?, int(44, 2)?)
    };
    (0..phnum).try_fold(false, |interp, i| {
        Some(interp || int(phoff.checked_add(i.checked_mul(phentsize)?)?, 4)? == PT_INTERP)
    })
}

/// The number of `syscall` on this ABI, as seccomp-sets resolves its table.
#[cfg(target_arch = "x86_64")]
fn syscall_number(syscall: &str) -> u32 {
    let nr = seccomp_sets::Arch::native()
        .resolve()
        .resolved()
        .find(|(r, _)| r.syscall == syscall)
        .unwrap_or_else(|| panic!("{syscall} is no row of the table on this ABI"))
        .1;
    u32::try_from(nr).unwrap()
}

/// A static x86_64 program of 143 bytes: one ELF header, one loadable segment, and code that
/// calls `sysfs(3, 0, 0)` (how many filesystem types the kernel knows) as syscall `nr`, then
/// `exit(0)` whatever it returned.
#[cfg(target_arch = "x86_64")]
fn sysfs_program(nr: u32) -> Vec<u8> {
    const BASE: u64 = 0x40_0000;
    const HEADERS: u64 = 64 + 56;
    let mut code = vec![0xb8]; // mov eax, nr
    code.extend(nr.to_le_bytes());
    code.extend([
        0xbf, 3, 0, 0, 0, // mov edi, 3
        0x31, 0xf6, // xor esi, esi
        0x31, 0xd2, // xor edx, edx
        0x0f, 0x05, // syscall
        0xb8, 60, 0, 0, 0, // mov eax, 60 (exit)
        0x31, 0xff, // xor edi, edi
        0x0f, 0x05, // syscall
    ]);
    let size = HEADERS + u64::try_from(code.len()).unwrap();
    // ELF64 header: 64-bit, little-endian, version 1, System V ABI.
    let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
    elf.resize(16, 0);
    elf.extend(2u16.to_le_bytes()); // ET_EXEC
    elf.extend(62u16.to_le_bytes()); // EM_X86_64
    elf.extend(1u32.to_le_bytes()); // EV_CURRENT
    elf.extend((BASE + HEADERS).to_le_bytes()); // entry: the code, after the headers
    elf.extend(64u64.to_le_bytes()); // program headers: right after this one
    elf.extend(0u64.to_le_bytes()); // no section headers
    elf.extend(0u32.to_le_bytes()); // flags
    // Header size, program header size and count, no section headers.
    for half in [64u16, 56, 1, 0, 0, 0] {
        elf.extend(half.to_le_bytes());
    }
    // The one PT_LOAD segment, readable and executable: the whole file, at BASE.
    elf.extend(1u32.to_le_bytes());
    elf.extend(5u32.to_le_bytes());
    for word in [0, BASE, BASE, size, size, 0x1000] {
        elf.extend(word.to_le_bytes());
    }
    elf.extend(code);
    elf
}

/// The profile of `sandbox` as `seccomp-sets export --format oci` makes it: exec-tolerant when
/// spawn is denied (the CLI refuses spawn=deny otherwise), the kill action this kernel has.
fn oci_profile(sandbox: &Sandbox) -> (Filter, Value) {
    let denies_spawn = sandbox.denied_sets().contains(Set::Spawn);
    let filter = Filter::builder(sandbox)
        .exec_tolerant(denies_spawn)
        .build()
        .unwrap();
    assert_eq!(filter.is_exec_tolerant(), denies_spawn, "{sandbox}");
    let profile = filter.to_oci();
    (filter, profile)
}

/// Every `-sandbox on` configuration (24), each probe in its own container: allowed work runs,
/// denied calls get the profile's action. The probes first run once without a profile, to show
/// that they do what they should when nothing filters them.
#[test]
fn every_sandbox_on_configuration_under_runc() {
    let Some(runc) = Runc::setup() else {
        return;
    };
    for probe in PROBES {
        runc.run(None, true, probe.args).assert(
            &want(probe, effect(None, probe)),
            &format!("no profile, probe {}", probe.name),
        );
    }
    let configurations: Vec<Sandbox> = Sandbox::all().filter(|s| s.enabled).collect();
    assert_eq!(configurations.len(), 24);
    let (mut ran, mut blocked) = (0, 0);
    for sandbox in &configurations {
        let (filter, profile) = oci_profile(sandbox);
        assert!(filter.requires_no_new_privs(), "{sandbox}");
        for probe in PROBES {
            let effect = effect(Some(&filter), probe);
            if let Some((set, call)) = probe.call {
                assert_eq!(
                    effect.is_some(),
                    sandbox.denied_sets().contains(set),
                    "-sandbox {sandbox}: {call} ({set} set) in the profile"
                );
            }
            runc.run(Some(&profile), true, probe.args).assert(
                &want(probe, effect),
                &format!("-sandbox {sandbox}, probe {}", probe.name),
            );
            if effect.is_some() {
                blocked += 1;
            } else {
                ran += 1;
            }
        }
    }
    assert_eq!(runc.containers(), Vec::<String>::new(), "containers left");
    eprintln!(
        "runc consumer: {} configurations x {} probes: {ran} ran, {blocked} blocked as expected ({})",
        configurations.len(),
        PROBES.len(),
        runc.version
    );
}

/// With `process.noNewPrivileges: false`, runc loads the profile before it sets the user
/// (seccomp without no_new_privs needs CAP_SYS_ADMIN, which runc then drops): its own
/// setgroups/setgid/setuid calls meet the privileged set, which kills runc's init, and the
/// workload never starts (runc 1.1: "runc run failed: container process is already dead",
/// exit status 1). The export says so (`seccomp-sets export --format oci` notes that the
/// profile is meant for no_new_privs). A profile that allows the privileged set starts fine.
#[test]
fn without_no_new_privs_the_privileged_set_kills_runc_init() {
    let Some(runc) = Runc::setup() else {
        return;
    };
    for sandbox in ["on,elevateprivileges=deny", "on,elevateprivileges=children"] {
        let (_, profile) = oci_profile(&sandbox.parse().unwrap());
        let got = runc.run(Some(&profile), false, WORK.args);
        assert!(
            got.status == Some(1)
                && got.stdout.is_empty()
                && got.stderr.contains("container process is already dead"),
            "-sandbox {sandbox} without noNewPrivileges: expected runc to fail before the \
             workload, got {got:?}"
        );
    }
    let (_, profile) = oci_profile(&"on".parse().unwrap());
    runc.run(Some(&profile), false, WORK.args)
        .assert(&WORK.allowed, "-sandbox on without noNewPrivileges");
    assert_eq!(runc.containers(), Vec::<String>::new(), "containers left");
}

/// spawn=deny needs the exec-tolerant profile: with `execve` denied, runc cannot execute the
/// workload after loading the profile (which is why the CLI refuses to export it); the CLI's
/// exec-tolerant export is the library's, and under runc it starts the workload and stops forks.
#[test]
fn spawn_deny_needs_the_exec_tolerant_profile() {
    let Some(runc) = Runc::setup() else {
        return;
    };
    let sandbox: Sandbox = "on,spawn=deny".parse().unwrap();
    let strict = Filter::builder(&sandbox).build().unwrap();
    assert!(strict.planned().iter().any(|p| p.rule.syscall == "execve"));
    let got = runc.run(Some(&strict.to_oci()), true, WORK.args);
    assert!(
        got.status == Some(1)
            && got.stdout.is_empty()
            && got.stderr.contains("/bin/busybox: operation not permitted"),
        "spawn=deny without exec-tolerance: expected runc to fail to execute, got {got:?}"
    );
    #[cfg(feature = "cli")]
    {
        let cli =
            test_support::bin::claim(std::path::Path::new(env!("CARGO_BIN_EXE_seccomp-sets")));
        let export = |extra: &[&str]| {
            Command::new(&cli)
                .args(["export", "--sandbox", "on,spawn=deny", "--format", "oci"])
                .args(extra)
                .output()
                .unwrap()
        };
        let refused = export(&[]);
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(
            !refused.status.success()
                && refused.stdout.is_empty()
                && err.contains("refusing to export")
                && err.contains("--exec-tolerant"),
            "{refused:?}"
        );
        let tolerant = export(&["--exec-tolerant"]);
        assert!(tolerant.status.success(), "{tolerant:?}");
        let profile: Value = serde_json::from_slice(&tolerant.stdout).unwrap();
        let (filter, library) = oci_profile(&sandbox);
        assert_eq!(profile, library, "the CLI's profile is the library's");
        let spawn_effect = effect(Some(&filter), &SPAWN);
        runc.run(Some(&profile), true, SPAWN.args).assert(
            &want(&SPAWN, spawn_effect),
            "the CLI's exec-tolerant profile",
        );
    }
    assert_eq!(runc.containers(), Vec::<String>::new(), "containers left");
}

/// The ELF reader on this machine's own programs and on the probe program.
#[test]
fn needs_interpreter_reads_elf_program_headers() {
    assert_eq!(needs_interpreter(b"#!/bin/sh\n"), None);
    assert_eq!(needs_interpreter(b"\x7fELF"), None);
    let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    assert_eq!(
        needs_interpreter(&me),
        Some(true),
        "test binaries are dynamic"
    );
    #[cfg(target_arch = "x86_64")]
    assert_eq!(needs_interpreter(&sysfs_program(139)), Some(false));
}
