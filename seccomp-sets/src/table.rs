//! The one data table of syscall sets: [`TABLE`], one [`Rule`] per row.
//!
//! The rows start from QEMU 9.x `system/qemu-seccomp.c` (`denylist[]`); every
//! row that differs from QEMU says how in [`Rule::origin`] and why in
//! [`Rule::note`]. Summary of the deviations:
//!
//! * **Actions decided per row.** QEMU leaves `execveat`, `setns` and
//!   `unshare` without an action, which C turns into `0` =
//!   `SCMP_ACT_KILL_THREAD`: only the calling thread dies and the daemon limps
//!   on. Here `default`, `obsolete` and `privileged` kill the whole process,
//!   `spawn` and `resourcecontrol` fail with `EPERM` (so a daemon can log the
//!   refusal and keep serving), and `clone3` fails with `ENOSYS` (so libc
//!   falls back to `clone`, whose flags seccomp can read).
//! * **Names that do not exist on an ABI** (libseccomp drops them silently)
//!   have a [`Rule::if_missing`] saying which other row blocks the same effect
//!   there, or why nothing needs to; `umount2` is added because x86-64 and
//!   aarch64 have no `umount` at all (QEMU's `mount` set never stopped
//!   unmounting there).
//! * **Sibling doors closed:** the new mount API and `pivot_root`,
//!   `kexec_file_load`, the 32-bit uid calls, `setgroups`, `capset`,
//!   `sched_setattr`, `nice` and `ioprio_set`.
//! * **`clone` is checked on `CLONE_THREAD`** instead of QEMU's nine-flag
//!   pthread fingerprint: the kernel refuses `CLONE_THREAD` without
//!   `CLONE_SIGHAND` and `CLONE_SIGHAND` without `CLONE_VM`, so `CLONE_THREAD`
//!   alone decides "thread, not process"; the shorter filter is cheaper and
//!   lets runtimes that create threads without `CLONE_SETTLS` and friends (Go)
//!   keep working.
//! * **Foreign ABIs** (i386 `int 0x80`, x32) are not a way around the filter:
//!   the filter's bad-arch action kills the process (see [`crate::Filter`]).

use sandbox_opts::Set;

/// What a row does to a matching call (before the [`crate::Mode`] is applied).
///
/// ```
/// use seccomp_sets::Action;
/// assert_eq!(Action::Eperm.errno(), Some(libc::EPERM));
/// assert_eq!(Action::Kill.errno(), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Kill the whole process: `SCMP_ACT_KILL_PROCESS` when the kernel has it
    /// (`SECCOMP_GET_ACTION_AVAIL`), else `SCMP_ACT_TRAP` (SIGSYS).
    Kill,
    /// Fail with `EPERM`.
    Eperm,
    /// Fail with `ENOSYS` ("not implemented": callers fall back).
    Enosys,
}

impl Action {
    /// The errno this action returns, if it returns one.
    pub const fn errno(self) -> Option<i32> {
        match self {
            Action::Kill => None,
            Action::Eperm => Some(libc::EPERM),
            Action::Enosys => Some(libc::ENOSYS),
        }
    }

    /// Short lowercase name: `kill`, `EPERM`, `ENOSYS`.
    ///
    /// ```
    /// assert_eq!(seccomp_sets::Action::Enosys.name(), "ENOSYS");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Action::Kill => "kill",
            Action::Eperm => "EPERM",
            Action::Enosys => "ENOSYS",
        }
    }
}

/// Which syscall argument a comparison reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arg {
    /// The argument at this zero-based index on every ABI.
    Index(u32),
    /// clone(2)'s `flags`: argument 0, except 1 on s390/s390x.
    CloneFlags,
}

impl Arg {
    /// The argument index on `arch`.
    ///
    /// ```
    /// use seccomp_sets::{Arch, Arg};
    /// assert_eq!(Arg::CloneFlags.index(Arch::S390x), 1);
    /// assert_eq!(Arg::Index(1).index(Arch::S390x), 1);
    /// ```
    pub const fn index(self, arch: crate::Arch) -> u32 {
        match self {
            Arg::Index(i) => i,
            Arg::CloneFlags => arch.clone_flags_arg(),
        }
    }
}

/// A comparison operator with its operands (a subset of libseccomp's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `arg != value`.
    Ne(u64),
    /// `arg & mask == value`.
    MaskedEq {
        /// Bits to keep.
        mask: u64,
        /// Expected value of the kept bits.
        value: u64,
    },
}

/// One argument comparison: the row matches only when it holds.
///
/// ```
/// use seccomp_sets::{Arg, ArgCmp, CmpOp};
/// let c = ArgCmp { arg: Arg::Index(1), op: CmpOp::Ne(5) };
/// assert!(c.matches(3) && !c.matches(5));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArgCmp {
    /// The argument compared.
    pub arg: Arg,
    /// How it is compared.
    pub op: CmpOp,
}

impl ArgCmp {
    /// Whether an argument value satisfies the comparison (64-bit).
    pub const fn matches(self, value: u64) -> bool {
        match self.op {
            CmpOp::Ne(v) => value != v,
            CmpOp::MaskedEq { mask, value: v } => value & mask == v,
        }
    }
}

/// Where a row comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Exactly QEMU's row (name, set, arguments), with its action resolved as
    /// QEMU's `qemu_seccomp_update_action` does.
    Qemu,
    /// QEMU has the row but we changed its action or arguments (see the note).
    Changed,
    /// Not in QEMU: a sibling door we close (see the note).
    Added,
}

impl Origin {
    /// `qemu`, `changed` or `added`.
    pub const fn name(self) -> &'static str {
        match self {
            Origin::Qemu => "qemu",
            Origin::Changed => "changed",
            Origin::Added => "added",
        }
    }
}

/// What happens on an ABI where the row's syscall name does not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IfMissing {
    /// The call exists on every supported ABI; a miss is a table bug (tested).
    Everywhere,
    /// Nothing to block there, for the given reason (never implemented, or an
    /// old interface that ABI never had).
    Nothing(&'static str),
    /// The same effect goes through these calls there; they are rows of the
    /// same set (tested: at least one of them resolves wherever this one
    /// does not).
    CoveredBy(&'static [&'static str]),
}

/// One row of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    /// Syscall name as libseccomp knows it.
    pub syscall: &'static str,
    /// The set the row belongs to.
    pub set: Set,
    /// What a matching call gets (in [`crate::Mode::Enforce`]).
    pub action: Action,
    /// Argument comparisons, all of which must hold (empty: every call).
    /// Rows of the same syscall are alternatives (any matching row applies).
    pub args: &'static [ArgCmp],
    /// QEMU's row, changed, or added.
    pub origin: Origin,
    /// Why the row is there or differs from QEMU (empty for plain QEMU rows).
    pub note: &'static str,
    /// What blocks the effect on ABIs without this name.
    pub if_missing: IfMissing,
}

const NEVER_IMPLEMENTED: IfMissing =
    IfMissing::Nothing("never implemented by Linux (ENOSYS where it exists)");
const OLD_ABI_ONLY: IfMissing = IfMissing::Nothing(
    "obsolete interface this ABI never had; its modern replacement is not obsolete",
);

const fn row(syscall: &'static str, set: Set, action: Action) -> Rule {
    Rule {
        syscall,
        set,
        action,
        args: &[],
        origin: Origin::Qemu,
        note: "",
        if_missing: IfMissing::Everywhere,
    }
}

const fn qemu(syscall: &'static str, set: Set, action: Action, if_missing: IfMissing) -> Rule {
    Rule {
        if_missing,
        ..row(syscall, set, action)
    }
}

const fn added(
    syscall: &'static str,
    set: Set,
    action: Action,
    note: &'static str,
    if_missing: IfMissing,
) -> Rule {
    Rule {
        origin: Origin::Added,
        note,
        if_missing,
        ..row(syscall, set, action)
    }
}

const fn changed(
    syscall: &'static str,
    set: Set,
    action: Action,
    note: &'static str,
    if_missing: IfMissing,
) -> Rule {
    Rule {
        origin: Origin::Changed,
        note,
        if_missing,
        ..row(syscall, set, action)
    }
}

/// clone(2) flag bits used by the `spawn` rows (`<linux/sched.h>`).
pub mod clone_flags {
    /// Share the address space.
    pub const CLONE_VM: u64 = 0x0000_0100;
    /// Share signal handlers.
    pub const CLONE_SIGHAND: u64 = 0x0000_0800;
    /// Return a pidfd.
    pub const CLONE_PIDFD: u64 = 0x0000_1000;
    /// Let the tracer trace the child too.
    pub const CLONE_PTRACE: u64 = 0x0000_2000;
    /// Suspend the parent until the child execs or exits.
    pub const CLONE_VFORK: u64 = 0x0000_4000;
    /// Same parent as the caller.
    pub const CLONE_PARENT: u64 = 0x0000_8000;
    /// Same thread group: a thread, not a process.
    pub const CLONE_THREAD: u64 = 0x0001_0000;
    /// New mount namespace.
    pub const CLONE_NEWNS: u64 = 0x0002_0000;
    /// Tracer cannot force CLONE_PTRACE.
    pub const CLONE_UNTRACED: u64 = 0x0080_0000;
    /// New cgroup namespace.
    pub const CLONE_NEWCGROUP: u64 = 0x0200_0000;
    /// New UTS namespace.
    pub const CLONE_NEWUTS: u64 = 0x0400_0000;
    /// New IPC namespace.
    pub const CLONE_NEWIPC: u64 = 0x0800_0000;
    /// New user namespace.
    pub const CLONE_NEWUSER: u64 = 0x1000_0000;
    /// New PID namespace.
    pub const CLONE_NEWPID: u64 = 0x2000_0000;
    /// New network namespace.
    pub const CLONE_NEWNET: u64 = 0x4000_0000;
    /// Share the I/O context.
    pub const CLONE_IO: u64 = 0x8000_0000;
}

use clone_flags::*;

/// `SCHED_IDLE` (`<sched.h>`): the one policy `resourcecontrol=deny` allows.
pub const SCHED_IDLE: u64 = 5;

macro_rules! clone_forbid {
    ($flag:ident) => {
        Rule {
            args: &[ArgCmp {
                arg: Arg::CloneFlags,
                op: CmpOp::MaskedEq {
                    mask: $flag,
                    value: $flag,
                },
            }],
            note: concat!(
                "QEMU's FORBID_CLONE_FLAG(",
                stringify!($flag),
                ") row; EPERM instead of kill like the rest of spawn"
            ),
            ..changed("clone", Spawn, Eperm, "", IfMissing::Everywhere)
        }
    };
}

use Action::{Enosys, Eperm, Kill};
use Set::{Default as Dflt, Obsolete, Privileged, ResourceControl, Spawn};

const NEW_MOUNT_API: &str = "new mount API (Linux 5.2+): mounts and remounts without mount(2)";
const KILL_NOT_THREAD: &str = "QEMU leaves the action unset, which C turns into SCMP_ACT_KILL_THREAD \
     (only the calling thread dies, the daemon limps on); EPERM like the rest of spawn";
const SPAWN_EPERM: &str =
    "QEMU kills; EPERM lets the daemon log the refusal and keep serving (spawn is all-EPERM)";
const UID32: &str =
    "32-bit uid/gid variant (i386, arm): glibc uses it there, QEMU's name misses it";

/// Every row, grouped by set in canonical set order.
///
/// ```
/// use seccomp_sets::{TABLE, Action};
/// use sandbox_opts::Set;
///
/// let reboot = TABLE.iter().find(|r| r.syscall == "reboot").unwrap();
/// assert_eq!((reboot.set, reboot.action), (Set::Default, Action::Kill));
/// assert!(TABLE.iter().filter(|r| r.syscall == "clone").count() > 1);
/// ```
pub static TABLE: &[Rule] = &[
    // ---- default ----------------------------------------------------------
    qemu("reboot", Dflt, Kill, IfMissing::Everywhere),
    qemu("swapon", Dflt, Kill, IfMissing::Everywhere),
    qemu("swapoff", Dflt, Kill, IfMissing::Everywhere),
    Rule {
        note: "the kernel log also reads through /dev/kmsg, which is a file (use file permissions)",
        ..row("syslog", Dflt, Kill)
    },
    qemu("mount", Dflt, Kill, IfMissing::Everywhere),
    qemu("umount", Dflt, Kill, IfMissing::CoveredBy(&["umount2"])),
    added(
        "umount2",
        Dflt,
        Kill,
        "QEMU lists only umount, which x86_64 and aarch64 do not have: libseccomp drops it there \
         and unmounting stayed allowed",
        IfMissing::Everywhere,
    ),
    added("fsopen", Dflt, Kill, NEW_MOUNT_API, IfMissing::Everywhere),
    added("fsconfig", Dflt, Kill, NEW_MOUNT_API, IfMissing::Everywhere),
    added("fsmount", Dflt, Kill, NEW_MOUNT_API, IfMissing::Everywhere),
    added("fspick", Dflt, Kill, NEW_MOUNT_API, IfMissing::Everywhere),
    added(
        "move_mount",
        Dflt,
        Kill,
        NEW_MOUNT_API,
        IfMissing::Everywhere,
    ),
    added(
        "open_tree",
        Dflt,
        Kill,
        NEW_MOUNT_API,
        IfMissing::Everywhere,
    ),
    added(
        "mount_setattr",
        Dflt,
        Kill,
        NEW_MOUNT_API,
        IfMissing::Everywhere,
    ),
    added(
        "pivot_root",
        Dflt,
        Kill,
        "swaps the root mount: changes the mount table without mount(2)",
        IfMissing::Everywhere,
    ),
    qemu("kexec_load", Dflt, Kill, IfMissing::Everywhere),
    added(
        "kexec_file_load",
        Dflt,
        Kill,
        "loads a new kernel from an fd: kexec_load by another door",
        IfMissing::CoveredBy(&["kexec_load"]),
    ),
    qemu("afs_syscall", Dflt, Kill, NEVER_IMPLEMENTED),
    qemu("break", Dflt, Kill, NEVER_IMPLEMENTED),
    qemu("ftime", Dflt, Kill, NEVER_IMPLEMENTED),
    qemu("getpmsg", Dflt, Kill, NEVER_IMPLEMENTED),
    qemu("gtty", Dflt, Kill, NEVER_IMPLEMENTED),
    qemu("lock", Dflt, Kill, NEVER_IMPLEMENTED),
    qemu("mpx", Dflt, Kill, NEVER_IMPLEMENTED),
    qemu("prof", Dflt, Kill, NEVER_IMPLEMENTED),
    qemu("profil", Dflt, Kill, NEVER_IMPLEMENTED),
    qemu("putpmsg", Dflt, Kill, NEVER_IMPLEMENTED),
    qemu("security", Dflt, Kill, NEVER_IMPLEMENTED),
    qemu("stty", Dflt, Kill, NEVER_IMPLEMENTED),
    qemu("tuxcall", Dflt, Kill, NEVER_IMPLEMENTED),
    qemu("ulimit", Dflt, Kill, NEVER_IMPLEMENTED),
    qemu("vserver", Dflt, Kill, NEVER_IMPLEMENTED),
    // ---- obsolete ---------------------------------------------------------
    qemu("readdir", Obsolete, Kill, OLD_ABI_ONLY),
    qemu("_sysctl", Obsolete, Kill, OLD_ABI_ONLY),
    qemu("bdflush", Obsolete, Kill, OLD_ABI_ONLY),
    qemu("create_module", Obsolete, Kill, OLD_ABI_ONLY),
    qemu("get_kernel_syms", Obsolete, Kill, OLD_ABI_ONLY),
    qemu("query_module", Obsolete, Kill, OLD_ABI_ONLY),
    qemu("sgetmask", Obsolete, Kill, OLD_ABI_ONLY),
    qemu("ssetmask", Obsolete, Kill, OLD_ABI_ONLY),
    qemu("sysfs", Obsolete, Kill, OLD_ABI_ONLY),
    qemu("uselib", Obsolete, Kill, OLD_ABI_ONLY),
    qemu("ustat", Obsolete, Kill, OLD_ABI_ONLY),
    // ---- privileged -------------------------------------------------------
    qemu("setuid", Privileged, Kill, IfMissing::Everywhere),
    qemu("setgid", Privileged, Kill, IfMissing::Everywhere),
    qemu("setpgid", Privileged, Kill, IfMissing::Everywhere),
    qemu("setsid", Privileged, Kill, IfMissing::Everywhere),
    qemu("setreuid", Privileged, Kill, IfMissing::Everywhere),
    qemu("setregid", Privileged, Kill, IfMissing::Everywhere),
    qemu("setresuid", Privileged, Kill, IfMissing::Everywhere),
    qemu("setresgid", Privileged, Kill, IfMissing::Everywhere),
    qemu("setfsuid", Privileged, Kill, IfMissing::Everywhere),
    qemu("setfsgid", Privileged, Kill, IfMissing::Everywhere),
    added(
        "setuid32",
        Privileged,
        Kill,
        UID32,
        IfMissing::CoveredBy(&["setuid"]),
    ),
    added(
        "setgid32",
        Privileged,
        Kill,
        UID32,
        IfMissing::CoveredBy(&["setgid"]),
    ),
    added(
        "setreuid32",
        Privileged,
        Kill,
        UID32,
        IfMissing::CoveredBy(&["setreuid"]),
    ),
    added(
        "setregid32",
        Privileged,
        Kill,
        UID32,
        IfMissing::CoveredBy(&["setregid"]),
    ),
    added(
        "setresuid32",
        Privileged,
        Kill,
        UID32,
        IfMissing::CoveredBy(&["setresuid"]),
    ),
    added(
        "setresgid32",
        Privileged,
        Kill,
        UID32,
        IfMissing::CoveredBy(&["setresgid"]),
    ),
    added(
        "setfsuid32",
        Privileged,
        Kill,
        UID32,
        IfMissing::CoveredBy(&["setfsuid"]),
    ),
    added(
        "setfsgid32",
        Privileged,
        Kill,
        UID32,
        IfMissing::CoveredBy(&["setfsgid"]),
    ),
    added(
        "setgroups",
        Privileged,
        Kill,
        "changes the supplementary groups: gains group rights without any set*gid call",
        IfMissing::Everywhere,
    ),
    added(
        "setgroups32",
        Privileged,
        Kill,
        UID32,
        IfMissing::CoveredBy(&["setgroups"]),
    ),
    added(
        "capset",
        Privileged,
        Kill,
        "raises effective capabilities from the permitted set: elevation without a uid change",
        IfMissing::Everywhere,
    ),
    // ---- spawn --------------------------------------------------------------
    changed(
        "fork",
        Spawn,
        Eperm,
        SPAWN_EPERM,
        IfMissing::CoveredBy(&["clone"]),
    ),
    changed(
        "vfork",
        Spawn,
        Eperm,
        SPAWN_EPERM,
        IfMissing::CoveredBy(&["clone"]),
    ),
    changed("execve", Spawn, Eperm, SPAWN_EPERM, IfMissing::Everywhere),
    changed(
        "execveat",
        Spawn,
        Eperm,
        KILL_NOT_THREAD,
        IfMissing::Everywhere,
    ),
    Rule {
        args: &[ArgCmp {
            arg: Arg::CloneFlags,
            op: CmpOp::MaskedEq {
                mask: CLONE_THREAD,
                value: 0,
            },
        }],
        note: "replaces QEMU's nine REQUIRE_CLONE_FLAG rows and its no-flags row: without \
               CLONE_THREAD clone makes a process; with it, the kernel already insists on \
               CLONE_SIGHAND and CLONE_VM. Fewer BPF instructions, and thread creators that skip \
               CLONE_SETTLS and friends (the Go runtime) keep working",
        ..changed("clone", Spawn, Eperm, "", IfMissing::Everywhere)
    },
    clone_forbid!(CLONE_PIDFD),
    clone_forbid!(CLONE_PTRACE),
    clone_forbid!(CLONE_VFORK),
    clone_forbid!(CLONE_PARENT),
    clone_forbid!(CLONE_NEWNS),
    clone_forbid!(CLONE_UNTRACED),
    clone_forbid!(CLONE_NEWCGROUP),
    clone_forbid!(CLONE_NEWUTS),
    clone_forbid!(CLONE_NEWIPC),
    clone_forbid!(CLONE_NEWUSER),
    clone_forbid!(CLONE_NEWPID),
    clone_forbid!(CLONE_NEWNET),
    clone_forbid!(CLONE_IO),
    Rule {
        note: "clone3's flags are in memory seccomp cannot read; ENOSYS makes glibc fall back to \
               clone, whose flags the rows above check (as QEMU)",
        ..row("clone3", Spawn, Enosys)
    },
    changed(
        "setns",
        Spawn,
        Eperm,
        KILL_NOT_THREAD,
        IfMissing::Everywhere,
    ),
    changed(
        "unshare",
        Spawn,
        Eperm,
        KILL_NOT_THREAD,
        IfMissing::Everywhere,
    ),
    // ---- resourcecontrol ----------------------------------------------------
    qemu("setpriority", ResourceControl, Eperm, IfMissing::Everywhere),
    added(
        "nice",
        ResourceControl,
        Eperm,
        "old priority call (i386, arm, s390x): setpriority by another door",
        IfMissing::CoveredBy(&["setpriority"]),
    ),
    qemu(
        "sched_setparam",
        ResourceControl,
        Eperm,
        IfMissing::Everywhere,
    ),
    Rule {
        args: &[ArgCmp {
            arg: Arg::Index(1),
            op: CmpOp::Ne(SCHED_IDLE),
        }],
        note: "allowed for SCHED_IDLE only (policy, argument 1), as QEMU",
        ..row("sched_setscheduler", ResourceControl, Eperm)
    },
    qemu(
        "sched_setaffinity",
        ResourceControl,
        Eperm,
        IfMissing::Everywhere,
    ),
    added(
        "sched_setattr",
        ResourceControl,
        Eperm,
        "sets policy, priority and nice from a struct seccomp cannot read: the door around \
         sched_setscheduler and setpriority (glibc's SCHED_IDLE path uses sched_setscheduler)",
        IfMissing::Everywhere,
    ),
    added(
        "ioprio_set",
        ResourceControl,
        Eperm,
        "I/O scheduling priority: setpriority's twin for the block layer",
        IfMissing::Everywhere,
    ),
];

/// The rows of one set.
///
/// ```
/// use sandbox_opts::Set;
/// assert!(seccomp_sets::rules_of(Set::Spawn).any(|r| r.syscall == "execveat"));
/// ```
pub fn rules_of(set: Set) -> impl Iterator<Item = &'static Rule> {
    TABLE.iter().filter(move |r| r.set == set)
}
