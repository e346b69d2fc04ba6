//! The one data table of syscall sets: [`TABLE`], one [`Rule`] per row.
//!
//! The rows start from QEMU 9.x `system/qemu-seccomp.c` (`denylist[]`); every
//! row that differs from QEMU says how in [`Rule::provenance`] and why in
//! [`Rule::note`], and the notes name the QEMU releases they describe. The
//! host checks hold the table to the real `qemu-system-x86_64`
//! (`tests/qemu_conformance.rs`, checked with QEMU 7.2 and 10.0): they read
//! the filter QEMU installs for each of the 24 `on` configurations and fail on
//! any verdict that differs where no `changed` or `added` row declares it.
//! Summary of the deviations:
//!
//! * **Actions decided per row.** QEMU leaves `execveat`, `setns` and
//!   `unshare` without an action (7.2 to 10.0), which C turns into `0` =
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
/// use seccomp_sets::table::Action;
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
    /// assert_eq!(seccomp_sets::table::Action::Enosys.name(), "ENOSYS");
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
    /// use seccomp_sets::Arch;
    /// use seccomp_sets::table::Arg;
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
/// use seccomp_sets::table::{Arg, ArgCmp, CmpOp};
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

/// Where a row comes from: QEMU's table, changed from it, or added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Provenance {
    /// Exactly QEMU's row (name, set, arguments), with its action resolved as
    /// QEMU's `qemu_seccomp_update_action` does.
    Qemu,
    /// QEMU has the row but we changed its action or arguments (see the note).
    Changed,
    /// Not in QEMU: a sibling door we close (see the note).
    Added,
}

impl Provenance {
    /// `qemu`, `changed` or `added`.
    pub const fn name(self) -> &'static str {
        match self {
            Provenance::Qemu => "qemu",
            Provenance::Changed => "changed",
            Provenance::Added => "added",
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
    pub provenance: Provenance,
    /// Why the row is there or differs from QEMU (empty for plain QEMU rows).
    pub note: &'static str,
    /// What blocks the effect on ABIs without this name.
    pub if_missing: IfMissing,
}

/// The call exists on every supported ABI.
const ALWAYS: IfMissing = IfMissing::Everywhere;
const NEVER_IMPLEMENTED: IfMissing =
    IfMissing::Nothing("never implemented by Linux (ENOSYS where it exists)");
const OLD_ABI_ONLY: IfMissing = IfMissing::Nothing(
    "obsolete interface this ABI never had; its modern replacement is not obsolete",
);

/// Where the name is missing, these calls of the same set do the same.
const fn covered(by: &'static [&'static str]) -> IfMissing {
    IfMissing::CoveredBy(by)
}

/// One row of [`TABLE`], matching every call (see [`Rule::with_args`]).
const fn rule(
    syscall: &'static str,
    set: Set,
    action: Action,
    provenance: Provenance,
    if_missing: IfMissing,
    note: &'static str,
) -> Rule {
    Rule {
        syscall,
        set,
        action,
        args: &[],
        provenance,
        note,
        if_missing,
    }
}

impl Rule {
    /// The row, matching only calls whose arguments pass every comparison in `args`.
    const fn with_args(self, args: &'static [ArgCmp]) -> Rule {
        Rule { args, ..self }
    }
}

/// clone(2) flag bits used by the `spawn` rows (`<linux/sched.h>`).
mod clone_flags {
    /// Return a pidfd.
    pub(super) const CLONE_PIDFD: u64 = 0x0000_1000;
    /// Let the tracer trace the child too.
    pub(super) const CLONE_PTRACE: u64 = 0x0000_2000;
    /// Suspend the parent until the child execs or exits.
    pub(super) const CLONE_VFORK: u64 = 0x0000_4000;
    /// Same parent as the caller.
    pub(super) const CLONE_PARENT: u64 = 0x0000_8000;
    /// Same thread group: a thread, not a process.
    pub(super) const CLONE_THREAD: u64 = 0x0001_0000;
    /// New mount namespace.
    pub(super) const CLONE_NEWNS: u64 = 0x0002_0000;
    /// Tracer cannot force CLONE_PTRACE.
    pub(super) const CLONE_UNTRACED: u64 = 0x0080_0000;
    /// New cgroup namespace.
    pub(super) const CLONE_NEWCGROUP: u64 = 0x0200_0000;
    /// New UTS namespace.
    pub(super) const CLONE_NEWUTS: u64 = 0x0400_0000;
    /// New IPC namespace.
    pub(super) const CLONE_NEWIPC: u64 = 0x0800_0000;
    /// New user namespace.
    pub(super) const CLONE_NEWUSER: u64 = 0x1000_0000;
    /// New PID namespace.
    pub(super) const CLONE_NEWPID: u64 = 0x2000_0000;
    /// New network namespace.
    pub(super) const CLONE_NEWNET: u64 = 0x4000_0000;
    /// Share the I/O context.
    pub(super) const CLONE_IO: u64 = 0x8000_0000;
}

use clone_flags::*;

/// `SCHED_IDLE` (`<sched.h>`): the one policy `resourcecontrol=deny` allows.
const SCHED_IDLE: u64 = 5;

/// QEMU's `FORBID_CLONE_FLAG(flag)` row: no clone with `flag` set.
macro_rules! clone_forbid {
    ($flag:ident) => {
        rule(
            "clone",
            Spawn,
            Eperm,
            Changed,
            ALWAYS,
            concat!(
                "QEMU's FORBID_CLONE_FLAG(",
                stringify!($flag),
                ") row; EPERM instead of kill like the rest of spawn"
            ),
        )
        .with_args(&[ArgCmp {
            arg: Arg::CloneFlags,
            op: CmpOp::MaskedEq {
                mask: $flag,
                value: $flag,
            },
        }])
    };
}

/// clone without `CLONE_THREAD`: a new process, not a thread.
const NOT_A_THREAD: &[ArgCmp] = &[ArgCmp {
    arg: Arg::CloneFlags,
    op: CmpOp::MaskedEq {
        mask: CLONE_THREAD,
        value: 0,
    },
}];

/// `sched_setscheduler` with a policy (argument 1) other than `SCHED_IDLE`.
const POLICY_NOT_IDLE: &[ArgCmp] = &[ArgCmp {
    arg: Arg::Index(1),
    op: CmpOp::Ne(SCHED_IDLE),
}];

use Action::{Enosys, Eperm, Kill};
use Provenance::{Added, Changed, Qemu};
use Set::{Default as Dflt, Obsolete, Privileged, ResourceControl, Spawn};

/// Why a row is there or differs from QEMU, one text per reason (the rows name them).
mod note {
    pub(super) const KMSG: &str =
        "the kernel log also reads through /dev/kmsg, which is a file (use file permissions)";
    pub(super) const UMOUNT_ONLY: &str = "QEMU lists only umount, which x86_64 and aarch64 do not \
        have: libseccomp drops it there and unmounting stayed allowed";
    pub(super) const NEW_MOUNT_API: &str =
        "new mount API (Linux 5.2+): mounts and remounts without mount(2)";
    pub(super) const PIVOT_ROOT: &str =
        "swaps the root mount: changes the mount table without mount(2)";
    pub(super) const KEXEC_FILE: &str = "loads a new kernel from an fd: kexec_load by another door";
    pub(super) const UID32: &str =
        "32-bit uid/gid variant (i386, arm): glibc uses it there, QEMU's name misses it";
    pub(super) const SETGROUPS: &str =
        "changes the supplementary groups: gains group rights without any set*gid call";
    pub(super) const CAPSET: &str =
        "raises effective capabilities from the permitted set: elevation without a uid change";
    pub(super) const SPAWN_EPERM: &str = "QEMU 7.2 to 9.x kill (SCMP_ACT_TRAP, made \
        KILL_PROCESS); QEMU 10.0 returns EPERM, as this row does (both read from the filter the \
        real QEMU installs); EPERM lets the daemon log the refusal and keep serving (spawn is \
        all-EPERM)";
    pub(super) const KILL_NOT_THREAD: &str = "QEMU 7.2 to 10.0 leave the action unset, which C \
        turns into SCMP_ACT_KILL_THREAD (only the calling thread dies, the daemon limps on; read \
        from the filter the real QEMU installs); EPERM like the rest of spawn";
    pub(super) const CLONE_PROCESS: &str = "replaces QEMU's nine REQUIRE_CLONE_FLAG rows and its \
        no-flags row: without CLONE_THREAD clone makes a process; with it, the kernel already \
        insists on CLONE_SIGHAND and CLONE_VM. Fewer BPF instructions, and thread creators that \
        skip CLONE_SETTLS and friends (the Go runtime) keep working";
    pub(super) const CLONE3: &str = "clone3's flags are in memory seccomp cannot read; ENOSYS \
        makes glibc fall back to clone, whose flags the rows above check (as QEMU)";
    pub(super) const NICE: &str =
        "old priority call (i386, arm, s390x): setpriority by another door";
    pub(super) const SCHED_IDLE_ONLY: &str =
        "allowed for SCHED_IDLE only (policy, argument 1), as QEMU";
    pub(super) const SCHED_SETATTR: &str = "sets policy, priority and nice from a struct seccomp \
        cannot read: the door around sched_setscheduler and setpriority (glibc's SCHED_IDLE path \
        uses sched_setscheduler)";
    pub(super) const IOPRIO: &str =
        "I/O scheduling priority: setpriority's twin for the block layer";
}

/// Every row, grouped by set in canonical set order.
///
/// ```
/// use seccomp_sets::table::{Action, TABLE};
/// use sandbox_opts::Set;
///
/// let reboot = TABLE.iter().find(|r| r.syscall == "reboot").unwrap();
/// assert_eq!((reboot.set, reboot.action), (Set::Default, Action::Kill));
/// assert!(TABLE.iter().filter(|r| r.syscall == "clone").count() > 1);
/// ```
#[rustfmt::skip]
pub static TABLE: &[Rule] = &[
    //   syscall               set              action  from     where missing              note
    // ---- default -----------------------------------------------------------------------------------
    rule("reboot",             Dflt,            Kill,   Qemu,    ALWAYS,                    ""),
    rule("swapon",             Dflt,            Kill,   Qemu,    ALWAYS,                    ""),
    rule("swapoff",            Dflt,            Kill,   Qemu,    ALWAYS,                    ""),
    rule("syslog",             Dflt,            Kill,   Qemu,    ALWAYS,                    note::KMSG),
    rule("mount",              Dflt,            Kill,   Qemu,    ALWAYS,                    ""),
    rule("umount",             Dflt,            Kill,   Qemu,    covered(&["umount2"]),     ""),
    rule("umount2",            Dflt,            Kill,   Added,   ALWAYS,                    note::UMOUNT_ONLY),
    rule("fsopen",             Dflt,            Kill,   Added,   ALWAYS,                    note::NEW_MOUNT_API),
    rule("fsconfig",           Dflt,            Kill,   Added,   ALWAYS,                    note::NEW_MOUNT_API),
    rule("fsmount",            Dflt,            Kill,   Added,   ALWAYS,                    note::NEW_MOUNT_API),
    rule("fspick",             Dflt,            Kill,   Added,   ALWAYS,                    note::NEW_MOUNT_API),
    rule("move_mount",         Dflt,            Kill,   Added,   ALWAYS,                    note::NEW_MOUNT_API),
    rule("open_tree",          Dflt,            Kill,   Added,   ALWAYS,                    note::NEW_MOUNT_API),
    rule("mount_setattr",      Dflt,            Kill,   Added,   ALWAYS,                    note::NEW_MOUNT_API),
    rule("pivot_root",         Dflt,            Kill,   Added,   ALWAYS,                    note::PIVOT_ROOT),
    rule("kexec_load",         Dflt,            Kill,   Qemu,    ALWAYS,                    ""),
    rule("kexec_file_load",    Dflt,            Kill,   Added,   covered(&["kexec_load"]),  note::KEXEC_FILE),
    rule("afs_syscall",        Dflt,            Kill,   Qemu,    NEVER_IMPLEMENTED,         ""),
    rule("break",              Dflt,            Kill,   Qemu,    NEVER_IMPLEMENTED,         ""),
    rule("ftime",              Dflt,            Kill,   Qemu,    NEVER_IMPLEMENTED,         ""),
    rule("getpmsg",            Dflt,            Kill,   Qemu,    NEVER_IMPLEMENTED,         ""),
    rule("gtty",               Dflt,            Kill,   Qemu,    NEVER_IMPLEMENTED,         ""),
    rule("lock",               Dflt,            Kill,   Qemu,    NEVER_IMPLEMENTED,         ""),
    rule("mpx",                Dflt,            Kill,   Qemu,    NEVER_IMPLEMENTED,         ""),
    rule("prof",               Dflt,            Kill,   Qemu,    NEVER_IMPLEMENTED,         ""),
    rule("profil",             Dflt,            Kill,   Qemu,    NEVER_IMPLEMENTED,         ""),
    rule("putpmsg",            Dflt,            Kill,   Qemu,    NEVER_IMPLEMENTED,         ""),
    rule("security",           Dflt,            Kill,   Qemu,    NEVER_IMPLEMENTED,         ""),
    rule("stty",               Dflt,            Kill,   Qemu,    NEVER_IMPLEMENTED,         ""),
    rule("tuxcall",            Dflt,            Kill,   Qemu,    NEVER_IMPLEMENTED,         ""),
    rule("ulimit",             Dflt,            Kill,   Qemu,    NEVER_IMPLEMENTED,         ""),
    rule("vserver",            Dflt,            Kill,   Qemu,    NEVER_IMPLEMENTED,         ""),
    // ---- obsolete ----------------------------------------------------------------------------------
    rule("readdir",            Obsolete,        Kill,   Qemu,    OLD_ABI_ONLY,              ""),
    rule("_sysctl",            Obsolete,        Kill,   Qemu,    OLD_ABI_ONLY,              ""),
    rule("bdflush",            Obsolete,        Kill,   Qemu,    OLD_ABI_ONLY,              ""),
    rule("create_module",      Obsolete,        Kill,   Qemu,    OLD_ABI_ONLY,              ""),
    rule("get_kernel_syms",    Obsolete,        Kill,   Qemu,    OLD_ABI_ONLY,              ""),
    rule("query_module",       Obsolete,        Kill,   Qemu,    OLD_ABI_ONLY,              ""),
    rule("sgetmask",           Obsolete,        Kill,   Qemu,    OLD_ABI_ONLY,              ""),
    rule("ssetmask",           Obsolete,        Kill,   Qemu,    OLD_ABI_ONLY,              ""),
    rule("sysfs",              Obsolete,        Kill,   Qemu,    OLD_ABI_ONLY,              ""),
    rule("uselib",             Obsolete,        Kill,   Qemu,    OLD_ABI_ONLY,              ""),
    rule("ustat",              Obsolete,        Kill,   Qemu,    OLD_ABI_ONLY,              ""),
    // ---- privileged --------------------------------------------------------------------------------
    rule("setuid",             Privileged,      Kill,   Qemu,    ALWAYS,                    ""),
    rule("setgid",             Privileged,      Kill,   Qemu,    ALWAYS,                    ""),
    rule("setpgid",            Privileged,      Kill,   Qemu,    ALWAYS,                    ""),
    rule("setsid",             Privileged,      Kill,   Qemu,    ALWAYS,                    ""),
    rule("setreuid",           Privileged,      Kill,   Qemu,    ALWAYS,                    ""),
    rule("setregid",           Privileged,      Kill,   Qemu,    ALWAYS,                    ""),
    rule("setresuid",          Privileged,      Kill,   Qemu,    ALWAYS,                    ""),
    rule("setresgid",          Privileged,      Kill,   Qemu,    ALWAYS,                    ""),
    rule("setfsuid",           Privileged,      Kill,   Qemu,    ALWAYS,                    ""),
    rule("setfsgid",           Privileged,      Kill,   Qemu,    ALWAYS,                    ""),
    rule("setuid32",           Privileged,      Kill,   Added,   covered(&["setuid"]),      note::UID32),
    rule("setgid32",           Privileged,      Kill,   Added,   covered(&["setgid"]),      note::UID32),
    rule("setreuid32",         Privileged,      Kill,   Added,   covered(&["setreuid"]),    note::UID32),
    rule("setregid32",         Privileged,      Kill,   Added,   covered(&["setregid"]),    note::UID32),
    rule("setresuid32",        Privileged,      Kill,   Added,   covered(&["setresuid"]),   note::UID32),
    rule("setresgid32",        Privileged,      Kill,   Added,   covered(&["setresgid"]),   note::UID32),
    rule("setfsuid32",         Privileged,      Kill,   Added,   covered(&["setfsuid"]),    note::UID32),
    rule("setfsgid32",         Privileged,      Kill,   Added,   covered(&["setfsgid"]),    note::UID32),
    rule("setgroups",          Privileged,      Kill,   Added,   ALWAYS,                    note::SETGROUPS),
    rule("setgroups32",        Privileged,      Kill,   Added,   covered(&["setgroups"]),   note::UID32),
    rule("capset",             Privileged,      Kill,   Added,   ALWAYS,                    note::CAPSET),
    // ---- spawn -------------------------------------------------------------------------------------
    rule("fork",               Spawn,           Eperm,  Changed, covered(&["clone"]),       note::SPAWN_EPERM),
    rule("vfork",              Spawn,           Eperm,  Changed, covered(&["clone"]),       note::SPAWN_EPERM),
    rule("execve",             Spawn,           Eperm,  Changed, ALWAYS,                    note::SPAWN_EPERM),
    rule("execveat",           Spawn,           Eperm,  Changed, ALWAYS,                    note::KILL_NOT_THREAD),
    rule("clone",              Spawn,           Eperm,  Changed, ALWAYS,                    note::CLONE_PROCESS).with_args(NOT_A_THREAD),
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
    rule("clone3",             Spawn,           Enosys, Qemu,    ALWAYS,                    note::CLONE3),
    rule("setns",              Spawn,           Eperm,  Changed, ALWAYS,                    note::KILL_NOT_THREAD),
    rule("unshare",            Spawn,           Eperm,  Changed, ALWAYS,                    note::KILL_NOT_THREAD),
    // ---- resourcecontrol ---------------------------------------------------------------------------
    rule("setpriority",        ResourceControl, Eperm,  Qemu,    ALWAYS,                    ""),
    rule("nice",               ResourceControl, Eperm,  Added,   covered(&["setpriority"]), note::NICE),
    rule("sched_setparam",     ResourceControl, Eperm,  Qemu,    ALWAYS,                    ""),
    rule("sched_setscheduler", ResourceControl, Eperm,  Qemu,    ALWAYS,                    note::SCHED_IDLE_ONLY).with_args(POLICY_NOT_IDLE),
    rule("sched_setaffinity",  ResourceControl, Eperm,  Qemu,    ALWAYS,                    ""),
    rule("sched_setattr",      ResourceControl, Eperm,  Added,   ALWAYS,                    note::SCHED_SETATTR),
    rule("ioprio_set",         ResourceControl, Eperm,  Added,   ALWAYS,                    note::IOPRIO),
];

/// The rows of one set.
///
/// ```
/// use sandbox_opts::Set;
/// assert!(seccomp_sets::table::rules_of(Set::Spawn).any(|r| r.syscall == "execveat"));
/// ```
pub fn rules_of(set: Set) -> impl Iterator<Item = &'static Rule> {
    TABLE.iter().filter(move |r| r.set == set)
}
