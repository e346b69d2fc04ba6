//! Exports that need no serde: raw BPF, libseccomp PFC and systemd unit lines.

use std::fmt::Write as _;

use sandbox_opts::Set;

use crate::memfd::export_via_memfd;
use crate::resolve::describe_args;
use crate::table::{Action, IfMissing};
use crate::{Effect, Error, Filter, Mode};

impl Filter {
    /// The filter as libseccomp's pseudo filter code (PFC), human-readable.
    ///
    /// ```
    /// let f = seccomp_sets::Filter::new(&"on".parse()?, seccomp_sets::Mode::Enforce)?;
    /// assert!(f.export_pfc()?.contains("reboot"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn export_pfc(&self) -> Result<String, Error> {
        let bytes = export_via_memfd(&self.context()?, "pfc", |ctx, fd| ctx.export_pfc(fd))?;
        String::from_utf8(bytes).map_err(|e| Error::Export {
            format: "pfc",
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })
    }

    /// The closest systemd unit configuration (`[Service]` lines) for systemd
    /// [`DEFAULT_SYSTEMD_VERSION`] (Debian bookworm's 252): see [`Filter::to_systemd_for`].
    ///
    /// ```
    /// let f = seccomp_sets::Filter::new(&"on,spawn=deny".parse()?, seccomp_sets::Mode::Enforce)?;
    /// let unit = f.to_systemd();
    /// assert!(unit.contains("SystemCallArchitectures=native"));
    /// assert!(unit.contains("SystemCallFilter=~"));
    /// assert!(unit.contains("execve:EPERM"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_systemd(&self) -> String {
        self.to_systemd_for(DEFAULT_SYSTEMD_VERSION)
    }

    /// The closest systemd unit configuration (`[Service]` lines) for systemd `version`:
    /// the filter as `SystemCallFilter=` lines, with comments saying what systemd cannot
    /// express (argument rules, the `SCHED_IDLE` exception, report mode), then the unit
    /// settings that close the doors a filter cannot see (cgroupfs and kernel tunables
    /// read-only, namespaces restricted, capabilities bounded, a private PID namespace...),
    /// one comment per line naming the door. A setting newer than `version` is written
    /// commented out, with the version it needs. The loader's own steps (Landlock,
    /// capabilities, rlimits) are not in a unit: these settings stand in for them.
    ///
    /// ```
    /// let f = seccomp_sets::Filter::builder(&"on,spawn=deny".parse()?).exec_tolerant(true).build()?;
    /// assert!(f.to_systemd_for(257).lines().any(|l| l == "PrivatePIDs=yes"));
    /// assert!(f.to_systemd_for(252).lines().any(|l| l == "#PrivatePIDs=yes"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_systemd_for(&self, version: u32) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# seccomp-sets: -sandbox {} ({} mode) for {}, systemd {version}",
            self.label(),
            self.mode(),
            self.arch()
        );
        let _ = writeln!(out, "[Service]");
        if self.is_empty() {
            let _ = writeln!(out, "# the sandbox denies nothing: no system call filter");
            return out;
        }
        if self.bad_arch_effect() == Effect::Log {
            // SystemCallArchitectures= blocks; this filter only logs.
            let _ = writeln!(
                out,
                "# Foreign ABIs (i386 int 0x80, x32) are logged and allowed by this filter; \
                 systemd cannot log them, so SystemCallArchitectures= is left unset."
            );
        } else {
            let _ = writeln!(
                out,
                "# Foreign ABIs (i386 int 0x80, x32) are refused as by our bad-arch action."
            );
            let _ = writeln!(out, "SystemCallArchitectures=native");
        }
        if self.requires_no_new_privs() {
            let _ = writeln!(
                out,
                "# no_new_privs, as loading this filter sets it (QEMU's -sandbox does too)"
            );
            let _ = writeln!(out, "NoNewPrivileges=yes");
        }
        if self.is_exec_tolerant() {
            let _ = writeln!(
                out,
                "# exec-tolerant: execve and execveat are left allowed so that systemd can start \
                 the program; fork, vfork, clone3 and clone without thread flags stay denied"
            );
        }
        for r in self.relaxations_in_effect() {
            let _ = writeln!(
                out,
                "# relaxed by name: {} (allows {}): {}",
                r.name,
                r.removes.join(", "),
                r.why
            );
        }
        match self.mode() {
            Mode::Audit => {
                let _ = writeln!(
                    out,
                    "# audit mode: log the calls instead of blocking them (systemd 247+)."
                );
            }
            Mode::Report => {
                let _ = writeln!(
                    out,
                    "# report mode cannot be expressed: systemd kills with SIGSYS and the \
                     journal records the core dump, but nothing names the call; kill rows \
                     are emitted as in enforce mode."
                );
            }
            Mode::Enforce => {}
        }
        for set in self.sets() {
            let rows: Vec<_> = self.planned().iter().filter(|p| p.via == set).collect();
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "# set {set} (closest systemd group: {})",
                systemd_group(set)
            );
            let mut names: Vec<String> = Vec::new();
            // Rows with argument conditions, one comment per call (clone has 14 of them).
            let mut conditional: Vec<(&str, Vec<String>, Effect)> = Vec::new();
            for p in &rows {
                if !p.rule.args.is_empty() {
                    let when = describe_args(p.rule, self.arch());
                    match conditional
                        .iter_mut()
                        .find(|(c, _, _)| *c == p.rule.syscall)
                    {
                        Some((_, conditions, _)) => conditions.push(when),
                        None => conditional.push((p.rule.syscall, vec![when], p.effect)),
                    }
                    continue;
                }
                let entry = match (self.mode(), p.rule.action) {
                    (Mode::Audit, _) | (_, Action::Kill) => p.rule.syscall.to_owned(),
                    (_, a) => std::format!("{}:{}", p.rule.syscall, a.name()),
                };
                if !names.contains(&entry) {
                    names.push(entry);
                }
            }
            for (call, conditions, effect) in &conditional {
                let _ = writeln!(
                    out,
                    "# cannot express: {call} only when {} ({effect}); {}",
                    conditions.join(", or "),
                    unexpressible_consequence(call, set),
                );
            }
            if names.is_empty() {
                continue;
            }
            let key = if self.mode() == Mode::Audit {
                "SystemCallLog="
            } else {
                "SystemCallFilter=~"
            };
            let _ = writeln!(out, "{key}{}", names.join(" "));
        }
        let missing: Vec<_> = self
            .missing()
            .iter()
            .map(|r| match r.if_missing {
                IfMissing::CoveredBy(subs) => {
                    std::format!("{} (covered by {})", r.syscall, subs.join(", "))
                }
                _ => r.syscall.to_owned(),
            })
            .collect();
        if !missing.is_empty() {
            let _ = writeln!(
                out,
                "# not on {} (systemd ignores them too): {}",
                self.arch(),
                missing.join(" ")
            );
        }
        if self
            .planned()
            .iter()
            .any(|p| p.effect == Effect::KillProcess || p.effect == Effect::Trap)
        {
            let _ = writeln!(
                out,
                "# names without :ERRNO kill the process with SIGSYS, as in this filter."
            );
        }
        if self.mode() != Mode::Audit {
            self.write_unit_settings(&mut out, version);
        }
        out
    }

    /// The unit settings of [`UNIT_SETTINGS`] that the denied sets call for, one comment per
    /// line naming the door; one `CapabilityBoundingSet=~` line, the union of the keys'
    /// capabilities; one `RestrictNamespaces=` line.
    fn write_unit_settings(&self, out: &mut String, version: u32) {
        let sets = self.sets();
        let wanted = |s: &UnitSetting| s.sets.iter().any(|k| sets.contains(*k));
        let settings: Vec<&UnitSetting> = UNIT_SETTINGS.iter().filter(|s| wanted(s)).collect();
        let caps: Vec<(&str, &str)> = BOUNDED_CAPS
            .iter()
            .filter(|(set, _, _)| sets.contains(*set))
            .map(|(_, cap, door)| (*cap, *door))
            .collect();
        if settings.is_empty() && caps.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "# Beyond the filter: what seccomp_sets::apply's loader does in-process (Landlock, \
             capabilities, rlimits) is not carried by a unit; these settings close the doors \
             a system-call filter cannot see, for systemd {version}."
        );
        let namespaces = if sets.contains(Set::Spawn) {
            Some((
                "yes",
                "every namespace flag of clone/unshare/setns (clone3 gets ENOSYS): the spawn \
                 set's namespace rows",
            ))
        } else if sets.contains(Set::Privileged) {
            Some((
                "~user",
                "a new or joined user namespace (uid 0 with every capability inside it): the \
                 elevateprivileges user-namespace rows; other namespaces stay allowed",
            ))
        } else {
            None
        };
        if let Some((value, door)) = namespaces {
            let _ = writeln!(out, "# closes {door}");
            let _ = writeln!(out, "RestrictNamespaces={value}");
        }
        if !caps.is_empty() {
            for (cap, door) in &caps {
                let _ = writeln!(out, "# {cap}: {door}");
            }
            let list: Vec<&str> = caps.iter().map(|(c, _)| *c).collect();
            let _ = writeln!(out, "CapabilityBoundingSet=~{}", list.join(" "));
        }
        for s in settings {
            if s.commented {
                let _ = writeln!(out, "# opt in: closes {}", s.door);
            } else {
                let _ = writeln!(out, "# closes {}", s.door);
            }
            if s.commented {
                let _ = writeln!(out, "#{}", s.line);
            } else if version < s.since {
                let _ = writeln!(
                    out,
                    "# (needs systemd {}; this unit is for {version})",
                    s.since
                );
                let _ = writeln!(out, "#{}", s.line);
                if let Some(fallback) = s.before {
                    let _ = writeln!(out, "{fallback}");
                }
            } else {
                let _ = writeln!(out, "{}", s.line);
            }
        }
    }
}

/// systemd's version when [`Filter::to_systemd`] is given none: Debian bookworm's (252), the
/// oldest the VM suite runs.
pub const DEFAULT_SYSTEMD_VERSION: u32 = 252;

/// A unit setting the systemd export adds for the denied sets.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UnitSetting {
    /// The keys that call for it (any of them).
    pub(crate) sets: &'static [Set],
    /// The line.
    pub(crate) line: &'static str,
    /// The systemd version that knows it.
    pub(crate) since: u32,
    /// What to write instead on an older systemd.
    pub(crate) before: Option<&'static str>,
    /// Written commented out whatever the version (it breaks common daemons: opt in).
    pub(crate) commented: bool,
    /// The door it closes (or why it is commented out).
    pub(crate) door: &'static str,
}

const fn setting(
    sets: &'static [Set],
    line: &'static str,
    since: u32,
    door: &'static str,
) -> UnitSetting {
    UnitSetting {
        sets,
        line,
        since,
        before: None,
        commented: false,
        door,
    }
}

/// Every unit setting of the systemd export, in the order written (one table, snapshot-tested
/// through the export's text). Versions from systemd's NEWS; the VM suite starts the export
/// under systemd 252, 257 and 262.
pub(crate) static UNIT_SETTINGS: &[UnitSetting] = &[
    setting(
        &[Set::Default],
        "ProtectKernelLogs=yes",
        244,
        "the kernel log's file doors (/dev/kmsg, /proc/kmsg) that syslog's row cannot see",
    ),
    setting(
        &[Set::Spawn, Set::ResourceControl],
        "ProtectKernelTunables=yes",
        232,
        "kernel tunables that are plain root file writes: /proc/sys/kernel/core_pattern's \
         |program and kernel.modprobe (programs the kernel runs as root: a spawn by proxy), \
         /sys/kernel/uevent_helper, the scheduler's sysctls",
    ),
    UnitSetting {
        sets: &[Set::Spawn, Set::ResourceControl],
        line: "ProtectControlGroups=strict",
        since: 257,
        before: Some("ProtectControlGroups=yes"),
        commented: false,
        door: "cgroup file writes: a v1 release_agent (a program the kernel runs as root), \
               moving itself into a cgroup with other cpuset.cpus or cpu.weight while \
               sched_setaffinity and setpriority are refused (strict: a private cgroup \
               namespace, read-only; yes before systemd 257: /sys/fs/cgroup read-only)",
    },
    setting(
        &[Set::Spawn],
        "ProtectSystem=full",
        214,
        "files other processes run: /usr/sbin/request-key, /usr/sbin/modprobe, \
         /etc/request-key.d, /etc/systemd, /etc/cron.d become read-only (ProtectSystem=strict \
         with ReadWritePaths= closes the rest of /var)",
    ),
    setting(
        &[Set::Spawn],
        "PrivatePIDs=yes",
        257,
        "ptrace access (/proc/PID/mem, process_vm_writev, pidfd_getfd) to every process \
         outside the unit, which the loader's Landlock domain closes in-process; the daemon \
         runs as PID 1 of its own namespace (it must handle SIGTERM and reap). ProtectProc= \
         does not replace it for root: it hides other users' processes, and every target of \
         a root service is root",
    ),
    UnitSetting {
        sets: &[Set::Spawn],
        line: "InaccessiblePaths=-/run/dbus/system_bus_socket -/run/systemd/private",
        since: 231,
        before: None,
        commented: true,
        door: "asking the service manager to start a unit over D-Bus or its private socket, \
               which no filter sees; /run/systemd/notify stays reachable (off by default: a \
               daemon that talks to D-Bus needs the socket)",
    },
    setting(
        &[Set::Privileged],
        "ProtectKernelModules=yes",
        232,
        "module files (/usr/lib/modules inaccessible) and explicit module loading, beside the \
         init_module/finit_module rows",
    ),
    setting(
        &[Set::Privileged],
        "RestrictSUIDSGID=yes",
        242,
        "creating set-user-ID or set-group-ID files that another process would run with \
         their owner's privileges",
    ),
    UnitSetting {
        sets: &[Set::Privileged],
        line: "PrivateDevices=yes",
        since: 209,
        before: None,
        commented: true,
        door: "/dev/mem, /dev/port, raw disks, /dev/userfaultfd: privileged doors that are \
               files (off by default: it breaks daemons that use devices)",
    },
    UnitSetting {
        sets: &[Set::Privileged],
        line: "ProtectClock=yes",
        since: 245,
        before: None,
        commented: true,
        door: "every clock setter and /dev/rtc (off by default: it also refuses adjtimex's \
               read-only form, which ntp_gettime uses)",
    },
    setting(
        &[Set::ResourceControl],
        "RestrictRealtime=yes",
        231,
        "real-time scheduling however it is asked for",
    ),
    setting(
        &[Set::ResourceControl],
        "LimitNICE=0",
        209,
        "the rlimit path of raising its own priority without CAP_SYS_NICE (the loader's \
         rlimits step)",
    ),
    setting(
        &[Set::ResourceControl],
        "LimitRTPRIO=0",
        209,
        "the rlimit path of real-time priorities (the loader's rlimits step)",
    ),
];

/// The capabilities the export's `CapabilityBoundingSet=~` removes, per key, with the door.
pub(crate) static BOUNDED_CAPS: &[(Set, &str, &str)] = &[
    (Set::Privileged, "CAP_SYS_MODULE", "module loading"),
    (
        Set::Privileged,
        "CAP_SYS_RAWIO",
        "raw I/O: iopl, ioperm, /dev/mem",
    ),
    (
        Set::Privileged,
        "CAP_SYS_TIME",
        "the clock, including adjtimex's writing form that the table leaves allowed",
    ),
    (Set::Privileged, "CAP_SYS_PACCT", "process accounting"),
    (Set::Privileged, "CAP_SYS_TTY_CONFIG", "vhangup"),
    (Set::Privileged, "CAP_BPF", "BPF programs"),
    (Set::Privileged, "CAP_PERFMON", "perf events"),
    (
        Set::Privileged,
        "CAP_SETUID",
        "changing uid (the set*id rows kill; this also bounds an exec)",
    ),
    (Set::Privileged, "CAP_SETGID", "changing gid"),
    (
        Set::Privileged,
        "CAP_SETPCAP",
        "changing capability sets and securebits (the loader's permitted-caps step)",
    ),
    (
        Set::Spawn,
        "CAP_SYS_PTRACE",
        "ptrace access to processes whose capabilities it does not cover (PID 1, every \
         full-capability root service)",
    ),
    (
        Set::Spawn,
        "CAP_SYS_ADMIN",
        "a cgroup v1 release_agent, which the kernel runs as a new root process (the loader's \
         cap-sys-admin step)",
    ),
    (
        Set::ResourceControl,
        "CAP_SYS_NICE",
        "raising its own priority without setpriority: autogroup, the real-time I/O class \
         (the loader's cap-sys-nice step)",
    ),
];

fn systemd_group(set: Set) -> &'static str {
    match set {
        Set::Default => "@mount @reboot @swap plus syslog and never-implemented calls",
        Set::Obsolete => "@obsolete plus lookup_dcookie",
        Set::Privileged => {
            "@setuid @module @raw-io, parts of @privileged @clock @debug @aio, plus capset, \
             userfaultfd and the user-namespace rows"
        }
        Set::Spawn => {
            "part of @process, plus ptrace, process_vm_*, pidfd_getfd (@debug, @ipc) and \
             request_key (@keyring)"
        }
        Set::ResourceControl => "part of @resources, plus @aio",
    }
}

fn unexpressible_consequence(syscall: &str, set: Set) -> &'static str {
    match syscall {
        "clone" if set == Set::Privileged => {
            "systemd has no argument filters: RestrictNamespaces= below refuses CLONE_NEWUSER \
             with the same rule"
        }
        "unshare" | "setns" => {
            "RestrictNamespaces= below refuses the same namespaces with the same rules"
        }
        "setrlimit" | "prlimit64" => {
            "systemd has no argument filters: the calls stay allowed; LimitNICE=0 and \
             LimitRTPRIO=0 below set the limits, and CapabilityBoundingSet= without \
             CAP_SYS_NICE keeps them from mattering"
        }
        "ptrace" => {
            "systemd has no argument filters: ptrace stays allowed; PrivatePIDs= and the \
             capability bounds below close its doors"
        }
        "clone" => {
            "systemd has no argument filters: denying clone would also deny threads, so it is \
             left allowed and fork()/posix_spawn() through clone stay possible under systemd"
        }
        "sched_setscheduler" => {
            "systemd has no argument filters: sched_setscheduler is left allowed (denying it \
             would also deny SCHED_IDLE)"
        }
        _ => "systemd has no argument filters: the call is left allowed",
    }
}
