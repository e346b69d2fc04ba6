//! The unit settings the systemd export adds per denied set, and the consequences it states
//! for what a unit cannot express: data the export reads, one row per setting.

use sandbox_opts::Set;

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

pub(super) fn systemd_group(set: Set) -> &'static str {
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

pub(super) fn unexpressible_consequence(syscall: &str, set: Set) -> &'static str {
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
