//! The one data table of syscall sets: [`TABLE`], one [`Rule`] per row.
//!
//! The rows start from QEMU's `system/qemu-seccomp.c` (`denylist[]`); every
//! row that differs from the newest QEMU checked says how in [`Rule::provenance`] and why in
//! [`Rule::note`], and every difference from any QEMU release is declared in
//! [`Rule::qemu_differs`] with the releases it holds for (the notes name them too). The
//! conformance tests hold the table to the real `qemu-system-x86_64`
//! (`tests/conformance/qemu_conformance.rs`, run on the host and in each VM suite's guest:
//! QEMU 7.2, 10.0 and 11.1 checked): they read the filter QEMU installs for each of the 24
//! `on` configurations and fail on any verdict that differs where no declaration covers that
//! release, and on any declaration for that release that no verdict shows (a stale one).
//! Summary of the deviations:
//!
//! * **Actions decided per row.** QEMU 7.2 to 10.0 leave `execveat`, `setns` and
//!   `unshare` without an action, which C turns into `0` =
//!   `SCMP_ACT_KILL_THREAD`: only the calling thread dies and the daemon limps
//!   on; QEMU 11.1 returns `EPERM` for them, as these rows do. QEMU 7.2 to 9.2 kill on the
//!   rest of `spawn` (fork, vfork, execve, the clone rows), 10.0 and later return `EPERM`
//!   there, as these rows do. Here `default`, `obsolete` and `privileged` kill the whole
//!   process, `spawn` and `resourcecontrol` fail with `EPERM` (so a daemon can log the
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
use sandbox_opts::release::{CHECKED, QEMU_7_2, QEMU_9_2, QEMU_10_0, QEMU_11_1, QemuReleases};

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

/// Where a row comes from: QEMU's table, changed from it, or added, as of the newest QEMU
/// release checked ([`sandbox_opts::release::CHECKED`]); how older releases differ is in
/// [`Rule::qemu_differs`] and the note.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Provenance {
    /// Exactly QEMU's row (name, set, arguments), with its action resolved as
    /// QEMU's `qemu_seccomp_update_action` does.
    Qemu,
    /// QEMU has the row but we changed its action, arguments or sets (see the note).
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

/// What the real QEMU's installed filter gives a call, in a declared difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QemuGives {
    /// The call is allowed: QEMU has no row for it in the configuration's sets.
    Allow,
    /// `SCMP_ACT_KILL_THREAD`: a row without an action, which C reads as `0`.
    KillThread,
    /// QEMU's `SCMP_ACT_TRAP`, which it makes `SCMP_ACT_KILL_PROCESS` where the kernel has
    /// that (every kernel since Linux 4.14): the whole process dies.
    Kill,
    /// `SCMP_ACT_ERRNO` with this errno.
    Errno(i32),
}

impl QemuGives {
    /// `allow`, `kill-thread`, `kill`, or the errno's name (`EPERM`, `ENOSYS`, or the number).
    pub fn name(self) -> String {
        match self {
            QemuGives::Allow => "allow".to_owned(),
            QemuGives::KillThread => "kill-thread".to_owned(),
            QemuGives::Kill => "kill".to_owned(),
            QemuGives::Errno(libc::EPERM) => "EPERM".to_owned(),
            QemuGives::Errno(libc::ENOSYS) => "ENOSYS".to_owned(),
            QemuGives::Errno(n) => std::format!("errno {n}"),
        }
    }
}

/// Which calls of a row a declared difference is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Calls {
    /// The calls the row matches (in the configurations whose sets bring it in).
    Matched,
    /// Calls of the row's syscall that no row of the table matches, which QEMU's rows refuse:
    /// the row replaces narrower QEMU rows (`clone`'s nine-flag pthread fingerprint).
    LetThrough,
}

/// One declared difference from the real QEMU: on `releases`, QEMU gives `qemu` to `calls`
/// of the row, where the row (or, for [`Calls::LetThrough`], the table) gives its own action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QemuDiffers {
    /// The QEMU releases it holds for.
    pub releases: QemuReleases,
    /// Which calls.
    pub calls: Calls,
    /// What QEMU gives them there.
    pub qemu: QemuGives,
}

/// QEMU has no such row, on any release checked: it allows what the row refuses (every
/// `added` row, unless it says otherwise).
const QEMU_ALLOWS: &[QemuDiffers] = &[QemuDiffers {
    releases: CHECKED,
    calls: Calls::Matched,
    qemu: QemuGives::Allow,
}];

/// QEMU 7.2 to 9.2 kill on the rest of spawn (`SCMP_ACT_TRAP`); 10.0 and later return EPERM.
const QEMU_KILLS_BEFORE_10: QemuDiffers = QemuDiffers {
    releases: QemuReleases::new(QEMU_7_2, QEMU_9_2),
    calls: Calls::Matched,
    qemu: QemuGives::Kill,
};

/// QEMU 7.2 to 10.0 leave the action of execveat, setns and unshare unset (kill-thread);
/// 11.1 returns EPERM.
const QEMU_KILLS_THREAD_BEFORE_11: &[QemuDiffers] = &[QemuDiffers {
    releases: QemuReleases::new(QEMU_7_2, QEMU_10_0),
    calls: Calls::Matched,
    qemu: QemuGives::KillThread,
}];

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
    /// Other sets that bring the row in too (empty for most rows): a user-namespace row is in
    /// QEMU's `spawn` set and also under `elevateprivileges`, whose meaning it enforces. The
    /// row keeps one [`Rule::set`] (QEMU's, for QEMU's calls) and one action, so a filter
    /// plans it once whichever of its sets are denied.
    pub also_in: &'static [Set],
    /// Every way the real QEMU's filter treats the row's calls otherwise, with the releases it
    /// holds for (empty: as QEMU on every release checked). The conformance tests fail on a
    /// difference no entry declares for the QEMU they run, and on an entry for that QEMU that
    /// no verdict shows.
    pub qemu_differs: &'static [QemuDiffers],
}

impl Rule {
    /// Whether denying `sets` brings this row in (its own set or one of [`Rule::also_in`]).
    ///
    /// ```
    /// use sandbox_opts::{Set, SetSelection};
    /// use seccomp_sets::table::TABLE;
    /// let clone3 = TABLE.iter().find(|r| r.syscall == "clone3").unwrap();
    /// assert!(clone3.denied_by(SetSelection::EMPTY.with(Set::Privileged)));
    /// ```
    pub fn denied_by(&self, sets: sandbox_opts::SetSelection) -> bool {
        self.via(sets).is_some()
    }

    /// The first of the row's sets (its own, then [`Rule::also_in`]) that `sets` denies.
    pub fn via(&self, sets: sandbox_opts::SetSelection) -> Option<Set> {
        std::iter::once(self.set)
            .chain(self.also_in.iter().copied())
            .find(|s| sets.contains(*s))
    }
}

/// The call exists on every supported ABI.
const ALWAYS: IfMissing = IfMissing::Everywhere;
const NEVER_IMPLEMENTED: IfMissing =
    IfMissing::Nothing("never implemented by Linux (ENOSYS where it exists)");
const OLD_ABI_ONLY: IfMissing = IfMissing::Nothing(
    "obsolete interface this ABI never had; its modern replacement is not obsolete",
);

const X86_ONLY: IfMissing =
    IfMissing::Nothing("x86 port I/O: other ABIs have no I/O ports to reach");

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
        also_in: &[],
        qemu_differs: match provenance {
            Provenance::Added => QEMU_ALLOWS,
            Provenance::Qemu | Provenance::Changed => &[],
        },
    }
}

impl Rule {
    /// The row, matching only calls whose arguments pass every comparison in `args`.
    const fn with_args(self, args: &'static [ArgCmp]) -> Rule {
        Rule { args, ..self }
    }

    /// The row, brought in by these sets too.
    const fn also_under(self, also_in: &'static [Set]) -> Rule {
        Rule { also_in, ..self }
    }

    /// The row, with these differences from QEMU (instead of the provenance's default).
    const fn differs(self, qemu_differs: &'static [QemuDiffers]) -> Rule {
        Rule {
            qemu_differs,
            ..self
        }
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
            Qemu,
            ALWAYS,
            concat!(
                "QEMU's FORBID_CLONE_FLAG(",
                stringify!($flag),
                ") row: QEMU 7.2 to 9.2 kill (SCMP_ACT_TRAP, made KILL_PROCESS), QEMU 10.0 to \
                 11.1 return EPERM, as this row does"
            ),
        )
        .differs(&[QEMU_KILLS_BEFORE_10])
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
pub(crate) const NOT_A_THREAD: &[ArgCmp] = &[ArgCmp {
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

/// clone with `CLONE_NEWUSER`.
pub(crate) const NEWUSER_CLONE_FLAG: &[ArgCmp] = &[ArgCmp {
    arg: Arg::CloneFlags,
    op: CmpOp::MaskedEq {
        mask: CLONE_NEWUSER,
        value: CLONE_NEWUSER,
    },
}];

/// unshare with `CLONE_NEWUSER` (flags, argument 0).
pub(crate) const NEWUSER_UNSHARE_FLAG: &[ArgCmp] = &[ArgCmp {
    arg: Arg::Index(0),
    op: CmpOp::MaskedEq {
        mask: CLONE_NEWUSER,
        value: CLONE_NEWUSER,
    },
}];

/// setns with `CLONE_NEWUSER` in nstype (argument 1).
pub(crate) const NEWUSER_NSTYPE: &[ArgCmp] = &[ArgCmp {
    arg: Arg::Index(1),
    op: CmpOp::MaskedEq {
        mask: CLONE_NEWUSER,
        value: CLONE_NEWUSER,
    },
}];

/// setns with nstype 0 ("any namespace"); the kernel reads nstype as a 32-bit `int`.
pub(crate) const ANY_NSTYPE: &[ArgCmp] = &[ArgCmp {
    arg: Arg::Index(1),
    op: CmpOp::MaskedEq {
        mask: 0xffff_ffff,
        value: 0,
    },
}];

/// `RLIMIT_NICE` and `RLIMIT_RTPRIO` (`<sys/resource.h>`, the same on every ABI the crate
/// supports).
const RLIMIT_NICE: u64 = 13;
const RLIMIT_RTPRIO: u64 = 14;

/// setrlimit of `RLIMIT_NICE` (resource, argument 0, a 32-bit `int`).
const RESOURCE_IS_NICE: &[ArgCmp] = &[ArgCmp {
    arg: Arg::Index(0),
    op: CmpOp::MaskedEq {
        mask: 0xffff_ffff,
        value: RLIMIT_NICE,
    },
}];

/// setrlimit of `RLIMIT_RTPRIO`.
const RESOURCE_IS_RTPRIO: &[ArgCmp] = &[ArgCmp {
    arg: Arg::Index(0),
    op: CmpOp::MaskedEq {
        mask: 0xffff_ffff,
        value: RLIMIT_RTPRIO,
    },
}];

/// prlimit64 setting (new limit, argument 2, not NULL) `RLIMIT_NICE` (resource, argument 1).
const PRLIMIT_SETS_NICE: &[ArgCmp] = &[
    ArgCmp {
        arg: Arg::Index(1),
        op: CmpOp::MaskedEq {
            mask: 0xffff_ffff,
            value: RLIMIT_NICE,
        },
    },
    ArgCmp {
        arg: Arg::Index(2),
        op: CmpOp::Ne(0),
    },
];

/// prlimit64 setting `RLIMIT_RTPRIO`.
const PRLIMIT_SETS_RTPRIO: &[ArgCmp] = &[
    ArgCmp {
        arg: Arg::Index(1),
        op: CmpOp::MaskedEq {
            mask: 0xffff_ffff,
            value: RLIMIT_RTPRIO,
        },
    },
    ArgCmp {
        arg: Arg::Index(2),
        op: CmpOp::Ne(0),
    },
];

use Action::{Enosys, Eperm, Kill};
use Provenance::{Added, Changed, Qemu};
use Set::{Default as Dflt, Obsolete, Privileged, ResourceControl, Spawn};

/// clone without `CLONE_THREAD` (processes): QEMU 7.2 to 9.2 kill them, as the rest of spawn;
/// threads without QEMU's nine-flag fingerprint: QEMU 7.2 to 9.2 kill them, 10.0 to 11.1 return
/// EPERM, and the table lets them through.
const CLONE_PROCESS_DIFFERS: &[QemuDiffers] = &[
    QEMU_KILLS_BEFORE_10,
    QemuDiffers {
        releases: QemuReleases::new(QEMU_7_2, QEMU_9_2),
        calls: Calls::LetThrough,
        qemu: QemuGives::Kill,
    },
    QemuDiffers {
        releases: QemuReleases::new(QEMU_10_0, QEMU_11_1),
        calls: Calls::LetThrough,
        qemu: QemuGives::Errno(libc::EPERM),
    },
];

/// clone with `CLONE_NEWUSER`: under spawn, QEMU 7.2 to 9.2 kill; under elevateprivileges
/// alone, QEMU allows it on every release.
const NEWUSER_CLONE_DIFFERS: &[QemuDiffers] = &[QEMU_KILLS_BEFORE_10, QEMU_ALLOWS[0]];

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
    pub(super) const CAPSET: &str = "raises effective capabilities from the permitted set: \
        elevation without a uid change; execve does the same for root without any call a filter \
        sees, which the loader's permitted-caps step closes";
    pub(super) const SPAWN_EPERM: &str = "QEMU's row: QEMU 7.2 to 9.2 kill (SCMP_ACT_TRAP, made \
        KILL_PROCESS), QEMU 10.0 to 11.1 return EPERM, as this row does (read from the filter \
        the real QEMU installs); EPERM lets the daemon log the refusal and keep serving (spawn \
        is all-EPERM)";
    pub(super) const KILL_NOT_THREAD: &str = "QEMU's row: QEMU 7.2 to 10.0 leave the action \
        unset, which C turns into SCMP_ACT_KILL_THREAD (only the calling thread dies, the \
        daemon limps on); QEMU 11.1 returns EPERM, as this row does like the rest of spawn \
        (both read from the filter the real QEMU installs)";
    pub(super) const CLONE_PROCESS: &str = "replaces QEMU's nine REQUIRE_CLONE_FLAG rows and its \
        no-flags row: without CLONE_THREAD clone makes a process; with it, the kernel already \
        insists on CLONE_SIGHAND and CLONE_VM. Fewer BPF instructions, and thread creators that \
        skip CLONE_SETTLS and friends (the Go runtime) keep working, where QEMU 7.2 to 9.2 kill \
        them and QEMU 10.0 to 11.1 return EPERM; processes get EPERM, which QEMU 7.2 to 9.2 \
        kill";
    pub(super) const NICE: &str =
        "old priority call (i386, arm, s390x): setpriority by another door";
    pub(super) const SCHED_IDLE_ONLY: &str =
        "allowed for SCHED_IDLE only (policy, argument 1), as QEMU";
    pub(super) const SCHED_SETATTR: &str = "sets policy, priority and nice from a struct seccomp \
        cannot read: the door around sched_setscheduler and setpriority (glibc's SCHED_IDLE path \
        uses sched_setscheduler)";
    pub(super) const IOPRIO: &str =
        "I/O scheduling priority: setpriority's twin for the block layer";
    // ---- spawn by proxy (issue 30) and usermode helpers (issue 32) ----
    pub(super) const PTRACE: &str = "spawn by proxy: PTRACE_POKEDATA and PTRACE_SETREGS rewrite an \
        older process of the same user that is not under the filter so that it executes a program \
        (for root: every root process, PID 1 included); every request, PTRACE_TRACEME too \
        (relaxation ptrace-traceme allows that one); the loader's Landlock domain also refuses \
        /proc/PID/mem. systemd @debug; Docker allows it on Linux >= 4.8, Podman always";
    pub(super) const VM_WRITEV: &str = "spawn by proxy: writes another process's memory (the kernel \
        checks ptrace access, which a root caller passes for every root process). systemd @ipc \
        (inside @system-service); Docker allows it on Linux >= 4.8, Podman always";
    pub(super) const VM_READV: &str = "the read half of process_vm_writev: another process's \
        secrets and the addresses an injection needs; no daemon under spawn=deny needs it, so \
        the pair is decided together. systemd @ipc; Docker and Podman as process_vm_writev";
    pub(super) const PIDFD_GETFD: &str = "copies a file descriptor out of another process (ptrace \
        access): its writable files, its sockets, its service-manager connection. systemd @debug; \
        Docker only with CAP_SYS_PTRACE; Podman allows it. The fd store and socket activation use \
        SCM_RIGHTS, not this call";
    pub(super) const REQUEST_KEY: &str = "spawn by proxy: asking for a key that does not exist, \
        with callout information, makes the kernel start /sbin/request-key as a new root process \
        with every capability and no filter (a usermode helper). keyctl and add_key start no \
        helper and stay allowed. systemd @keyring (inside @system-service); not in Docker's or \
        Podman's default profile (refused)";
    pub(super) const NEWUSER_CLONE: &str = "QEMU's FORBID_CLONE_FLAG(CLONE_NEWUSER) row, EPERM \
        like the rest of spawn (QEMU 7.2 to 9.2 kill, 10.0 and later EPERM); also under \
        elevateprivileges, where QEMU 7.2 to 11.1 allow it: a new user namespace makes uid \
        65534 uid 0 with every capability inside it (no_new_privs does not stop it). systemd \
        RestrictNamespaces=~user; Docker and Podman refuse namespace flags without CAP_SYS_ADMIN";
    pub(super) const NEWUSER_CLONE3: &str = "clone3's flags are in memory seccomp cannot read; \
        ENOSYS makes glibc fall back to clone, whose flags the rows check (as QEMU); also under \
        elevateprivileges, where QEMU 7.2 to 11.1 allow it, since those flags may hold \
        CLONE_NEWUSER (systemd's RestrictNamespaces= answers clone3 with ENOSYS too; Docker \
        without CAP_SYS_ADMIN too)";
    pub(super) const NEWUSER_UNSHARE: &str = "under elevateprivileges, where QEMU 7.2 to 11.1 \
        allow it: unshare(CLONE_NEWUSER) gives every capability in a new user namespace \
        (spawn=deny refuses every unshare); systemd RestrictNamespaces=~user has the same rule";
    pub(super) const NEWUSER_SETNS: &str = "under elevateprivileges, where QEMU 7.2 to 11.1 \
        allow it: joining a user namespace (nstype CLONE_NEWUSER, or a pidfd with the user bit) \
        gives the capabilities its owner holds there; systemd RestrictNamespaces=~user has the \
        same rule";
    pub(super) const SETNS_ANY: &str = "under elevateprivileges, where QEMU 7.2 to 11.1 allow \
        it: nstype 0 joins whatever namespace the fd is, a user namespace included (the kernel \
        reads nstype as a 32-bit int, hence the mask); systemd refuses setns(fd, 0) the same way";
    // ---- the kernel's privileged doors (issue 31) ----
    pub(super) const MODULE: &str = "loads or unloads kernel code: every other rule can be \
        undone from there; no daemon has a reason to try, so kill like the privileged set. \
        systemd @module; Docker only with CAP_SYS_MODULE, Podman EPERM without it";
    pub(super) const BPF: &str = "BPF programs write other processes' memory \
        (bpf_probe_write_user) and, with perf or kprobes, hook any kernel function; EPERM is the \
        kernel's own answer without CAP_BPF or CAP_SYS_ADMIN, so code that probes for BPF falls \
        back (relaxation bpf). systemd @privileged; Docker and Podman only with CAP_SYS_ADMIN or \
        CAP_BPF";
    pub(super) const PERF: &str = "tracing: reads other processes and kernel state, attaches \
        BPF to kprobes and tracepoints; EPERM is the kernel's answer without CAP_PERFMON \
        (relaxation perf). systemd @debug; Docker and Podman only with CAP_SYS_ADMIN or \
        CAP_PERFMON";
    pub(super) const USERFAULTFD: &str = "stalls the kernel's copies from user memory at a \
        chosen moment: the usual aid for winning kernel races (vm.unprivileged_userfaultfd=0 \
        limits unprivileged callers only; /dev/userfaultfd is a file, closed by PrivateDevices=). \
        QEMU's postcopy migration uses it (relaxation userfaultfd). systemd allows it \
        (@system-service); Docker refuses it (not listed), Podman EPERM";
    pub(super) const IO_URING: &str = "ring operations run without the system calls a filter \
        sees; IORING_REGISTER_PERSONALITY replays credentials registered earlier; a request's \
        ioprio reaches the real-time I/O class (hence also under resourcecontrol, as AIO). ENOSYS \
        reads as a kernel without io_uring, which every user handles (relaxation io-uring). \
        systemd @aio (inside @system-service); not in Docker's or Podman's default profile";
    pub(super) const OPEN_BY_HANDLE: &str = "opens any inode of a filesystem by its handle, \
        past path checks, mount namespaces, chroot and Landlock (the \"shocker\" container \
        escape; CAP_DAC_READ_SEARCH). name_to_handle_at only makes handles and stays allowed. \
        systemd @privileged; Docker and Podman only with CAP_DAC_READ_SEARCH";
    pub(super) const QUOTACTL: &str = "turns quotas off or changes limits (CAP_SYS_ADMIN \
        settings); EPERM as the kernel answers without it. systemd @privileged; Docker and \
        Podman only with CAP_SYS_ADMIN";
    pub(super) const ACCT: &str = "makes the kernel append a record per exiting process to a \
        file of the caller's choice, or turns the host's accounting off (CAP_SYS_PACCT). \
        systemd @privileged; Docker and Podman only with CAP_SYS_PACCT";
    pub(super) const CLOCK: &str = "sets the system clock (CAP_SYS_TIME): certificate validity, \
        one-time passwords and log order of every process follow it. adjtimex and clock_adjtime \
        stay allowed: their read-only form is how glibc's ntp_gettime reads the clock, seccomp \
        cannot read struct timex, and their writing form needs CAP_SYS_TIME (the systemd export \
        bounds it). systemd @clock; Docker and Podman only with CAP_SYS_TIME";
    pub(super) const CLOCK64: &str = "time64 variant (i386, arm): clock_settime by its 32-bit name";
    pub(super) const STIME: &str = "i386's old clock setter: settimeofday by another door";
    pub(super) const PORT_IO: &str = "x86 port I/O: reprograms hardware from user space \
        (CAP_SYS_RAWIO). systemd @raw-io; Docker and Podman only with CAP_SYS_RAWIO";
    pub(super) const VHANGUP: &str = "hangs up the terminal of the session (CAP_SYS_TTY_CONFIG). \
        systemd @privileged; Docker and Podman only with CAP_SYS_TTY_CONFIG";
    pub(super) const LOOKUP_DCOOKIE: &str = "oprofile's call, removed in Linux 5.12 (ENOSYS \
        since), CAP_SYS_ADMIN before: obsolete. systemd @debug; Docker and Podman only with \
        CAP_SYS_ADMIN";
    // ---- resourcecontrol's side doors (issue 32) ----
    pub(super) const AIO: &str = "io_submit accepts IOCB_FLAG_IOPRIO with the real-time I/O class \
        (CAP_SYS_NICE or CAP_SYS_ADMIN, in a struct seccomp cannot read) while ioprio_set is \
        refused. Trade-off: native AIO users (QEMU aio=native, databases) must fall back to \
        threads or use relaxation aio. systemd @aio (inside @system-service); Docker and Podman \
        allow it";
    pub(super) const AIO_SUBMIT: &str = "a context created before the filter still submits \
        without it; see io_setup";
    pub(super) const RLIMIT_NICE: &str = "raising RLIMIT_NICE or RLIMIT_RTPRIO lets a process \
        raise its own priority (autogroup, real-time) without CAP_SYS_NICE; the loader's rlimits \
        step sets both to 0 and these rows keep a root caller (CAP_SYS_RESOURCE) from raising \
        them back. Reading them stays allowed. systemd LimitNICE=, LimitRTPRIO=";
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
    rule("lookup_dcookie",     Obsolete,        Kill,   Added,   ALWAYS,                    note::LOOKUP_DCOOKIE),
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
    rule("init_module",        Privileged,      Kill,   Added,   ALWAYS,                    note::MODULE),
    rule("finit_module",       Privileged,      Kill,   Added,   ALWAYS,                    note::MODULE),
    rule("delete_module",      Privileged,      Kill,   Added,   ALWAYS,                    note::MODULE),
    rule("bpf",                Privileged,      Eperm,  Added,   ALWAYS,                    note::BPF),
    rule("perf_event_open",    Privileged,      Eperm,  Added,   ALWAYS,                    note::PERF),
    rule("userfaultfd",        Privileged,      Eperm,  Added,   ALWAYS,                    note::USERFAULTFD),
    rule("io_uring_setup",     Privileged,      Enosys, Added,   ALWAYS,                    note::IO_URING).also_under(&[ResourceControl]),
    rule("io_uring_enter",     Privileged,      Enosys, Added,   ALWAYS,                    note::IO_URING).also_under(&[ResourceControl]),
    rule("io_uring_register",  Privileged,      Enosys, Added,   ALWAYS,                    note::IO_URING).also_under(&[ResourceControl]),
    rule("open_by_handle_at",  Privileged,      Eperm,  Added,   ALWAYS,                    note::OPEN_BY_HANDLE),
    rule("quotactl",           Privileged,      Eperm,  Added,   ALWAYS,                    note::QUOTACTL),
    rule("quotactl_fd",        Privileged,      Eperm,  Added,   ALWAYS,                    note::QUOTACTL),
    rule("acct",               Privileged,      Eperm,  Added,   ALWAYS,                    note::ACCT),
    rule("settimeofday",       Privileged,      Eperm,  Added,   ALWAYS,                    note::CLOCK),
    rule("clock_settime",      Privileged,      Eperm,  Added,   ALWAYS,                    note::CLOCK),
    rule("clock_settime64",    Privileged,      Eperm,  Added,   covered(&["clock_settime"]), note::CLOCK64),
    rule("stime",              Privileged,      Eperm,  Added,   covered(&["settimeofday", "clock_settime"]), note::STIME),
    rule("iopl",               Privileged,      Eperm,  Added,   X86_ONLY,                  note::PORT_IO),
    rule("ioperm",             Privileged,      Eperm,  Added,   X86_ONLY,                  note::PORT_IO),
    rule("vhangup",            Privileged,      Eperm,  Added,   ALWAYS,                    note::VHANGUP),
    // ---- spawn -------------------------------------------------------------------------------------
    rule("fork",               Spawn,           Eperm,  Qemu,    covered(&["clone"]),       note::SPAWN_EPERM).differs(&[QEMU_KILLS_BEFORE_10]),
    rule("vfork",              Spawn,           Eperm,  Qemu,    covered(&["clone"]),       note::SPAWN_EPERM).differs(&[QEMU_KILLS_BEFORE_10]),
    rule("execve",             Spawn,           Eperm,  Qemu,    ALWAYS,                    note::SPAWN_EPERM).differs(&[QEMU_KILLS_BEFORE_10]),
    rule("execveat",           Spawn,           Eperm,  Qemu,    ALWAYS,                    note::KILL_NOT_THREAD).differs(QEMU_KILLS_THREAD_BEFORE_11),
    rule("clone",              Spawn,           Eperm,  Changed, ALWAYS,                    note::CLONE_PROCESS).with_args(NOT_A_THREAD).differs(CLONE_PROCESS_DIFFERS),
    clone_forbid!(CLONE_PIDFD),
    clone_forbid!(CLONE_PTRACE),
    clone_forbid!(CLONE_VFORK),
    clone_forbid!(CLONE_PARENT),
    clone_forbid!(CLONE_NEWNS),
    clone_forbid!(CLONE_UNTRACED),
    clone_forbid!(CLONE_NEWCGROUP),
    clone_forbid!(CLONE_NEWUTS),
    clone_forbid!(CLONE_NEWIPC),
    rule("clone",              Spawn,           Eperm,  Changed, ALWAYS,                    note::NEWUSER_CLONE).with_args(NEWUSER_CLONE_FLAG).also_under(&[Privileged]).differs(NEWUSER_CLONE_DIFFERS),
    clone_forbid!(CLONE_NEWPID),
    clone_forbid!(CLONE_NEWNET),
    clone_forbid!(CLONE_IO),
    rule("clone3",             Spawn,           Enosys, Changed, ALWAYS,                    note::NEWUSER_CLONE3).also_under(&[Privileged]).differs(QEMU_ALLOWS),
    rule("setns",              Spawn,           Eperm,  Qemu,    ALWAYS,                    note::KILL_NOT_THREAD).differs(QEMU_KILLS_THREAD_BEFORE_11),
    rule("setns",              Spawn,           Eperm,  Changed, ALWAYS,                    note::NEWUSER_SETNS).with_args(NEWUSER_NSTYPE).also_under(&[Privileged]).differs(QEMU_ALLOWS),
    rule("setns",              Spawn,           Eperm,  Changed, ALWAYS,                    note::SETNS_ANY).with_args(ANY_NSTYPE).also_under(&[Privileged]).differs(QEMU_ALLOWS),
    rule("unshare",            Spawn,           Eperm,  Qemu,    ALWAYS,                    note::KILL_NOT_THREAD).differs(QEMU_KILLS_THREAD_BEFORE_11),
    rule("unshare",            Spawn,           Eperm,  Changed, ALWAYS,                    note::NEWUSER_UNSHARE).with_args(NEWUSER_UNSHARE_FLAG).also_under(&[Privileged]).differs(QEMU_ALLOWS),
    rule("ptrace",             Spawn,           Eperm,  Added,   ALWAYS,                    note::PTRACE),
    rule("process_vm_writev",  Spawn,           Eperm,  Added,   ALWAYS,                    note::VM_WRITEV),
    rule("process_vm_readv",   Spawn,           Eperm,  Added,   ALWAYS,                    note::VM_READV),
    rule("pidfd_getfd",        Spawn,           Eperm,  Added,   ALWAYS,                    note::PIDFD_GETFD),
    rule("request_key",        Spawn,           Eperm,  Added,   ALWAYS,                    note::REQUEST_KEY),
    // ---- resourcecontrol ---------------------------------------------------------------------------
    rule("setpriority",        ResourceControl, Eperm,  Qemu,    ALWAYS,                    ""),
    rule("nice",               ResourceControl, Eperm,  Added,   covered(&["setpriority"]), note::NICE),
    rule("sched_setparam",     ResourceControl, Eperm,  Qemu,    ALWAYS,                    ""),
    rule("sched_setscheduler", ResourceControl, Eperm,  Qemu,    ALWAYS,                    note::SCHED_IDLE_ONLY).with_args(POLICY_NOT_IDLE),
    rule("sched_setaffinity",  ResourceControl, Eperm,  Qemu,    ALWAYS,                    ""),
    rule("sched_setattr",      ResourceControl, Eperm,  Added,   ALWAYS,                    note::SCHED_SETATTR),
    rule("ioprio_set",         ResourceControl, Eperm,  Added,   ALWAYS,                    note::IOPRIO),
    rule("io_setup",           ResourceControl, Eperm,  Added,   ALWAYS,                    note::AIO),
    rule("io_submit",          ResourceControl, Eperm,  Added,   ALWAYS,                    note::AIO_SUBMIT),
    rule("setrlimit",          ResourceControl, Eperm,  Added,   covered(&["prlimit64"]),   note::RLIMIT_NICE).with_args(RESOURCE_IS_NICE),
    rule("setrlimit",          ResourceControl, Eperm,  Added,   covered(&["prlimit64"]),   note::RLIMIT_NICE).with_args(RESOURCE_IS_RTPRIO),
    rule("prlimit64",          ResourceControl, Eperm,  Added,   ALWAYS,                    note::RLIMIT_NICE).with_args(PRLIMIT_SETS_NICE),
    rule("prlimit64",          ResourceControl, Eperm,  Added,   ALWAYS,                    note::RLIMIT_NICE).with_args(PRLIMIT_SETS_RTPRIO),
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

/// A row a daemon may allow by name, visibly: [`crate::Builder::relax`], `--relax NAME` on the
/// command line. `explain` and every export name the relaxations in force and the rows they
/// removed; a relaxation never touches a row of QEMU's table (tested).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Relaxation {
    /// The name (`io-uring`).
    pub name: &'static str,
    /// The calls whose rows it removes.
    pub removes: &'static [&'static str],
    /// Rows planned in their place (narrower ones), under the same sets.
    pub instead: &'static [Rule],
    /// Who needs it, and what it reopens.
    pub why: &'static str,
}

impl Relaxation {
    /// The relaxation called `name`.
    ///
    /// ```
    /// let r = seccomp_sets::table::Relaxation::find("io-uring").unwrap();
    /// assert!(r.removes.contains(&"io_uring_setup"));
    /// assert!(seccomp_sets::table::Relaxation::find("mount").is_none());
    /// ```
    pub fn find(name: &str) -> Option<&'static Relaxation> {
        RELAXATIONS.iter().find(|r| r.name == name)
    }

    /// Every name, comma-separated (for messages).
    pub fn names() -> String {
        RELAXATIONS
            .iter()
            .map(|r| r.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `PTRACE_TRACEME`, the one ptrace request that lets only the parent trace the caller.
const PTRACE_TRACEME: u64 = 0;

/// Every relaxation, in one place.
pub static RELAXATIONS: &[Relaxation] = &[
    Relaxation {
        name: "ptrace-traceme",
        removes: &["ptrace"],
        instead: &[rule(
            "ptrace",
            Spawn,
            Eperm,
            Added,
            ALWAYS,
            "relaxation ptrace-traceme: every request but PTRACE_TRACEME",
        )
        .with_args(&[ArgCmp {
            arg: Arg::Index(0),
            op: CmpOp::Ne(PTRACE_TRACEME),
        }])],
        why: "a daemon that asks its parent (a debugger, a supervisor) to trace it; only the \
              parent gains access to the caller, and the Landlock domain still refuses access \
              to every process outside it",
    },
    Relaxation {
        name: "io-uring",
        removes: &["io_uring_setup", "io_uring_enter", "io_uring_register"],
        instead: &[],
        why: "a daemon with an io_uring I/O path; reopens ring operations the filter cannot \
              see, and the real-time I/O class for a caller that still holds CAP_SYS_NICE or \
              CAP_SYS_ADMIN",
    },
    Relaxation {
        name: "aio",
        removes: &["io_setup", "io_submit"],
        instead: &[],
        why: "native AIO (QEMU aio=native, databases); reopens the real-time I/O class for a \
              caller that still holds CAP_SYS_NICE or CAP_SYS_ADMIN",
    },
    Relaxation {
        name: "userfaultfd",
        removes: &["userfaultfd"],
        instead: &[],
        why: "QEMU's postcopy migration and user-space page-fault handlers; reopens the \
              classic aid for winning kernel races",
    },
    Relaxation {
        name: "bpf",
        removes: &["bpf"],
        instead: &[],
        why: "a daemon that holds CAP_BPF for its own socket filters or maps; the kernel's \
              capability checks are then the only guard",
    },
    Relaxation {
        name: "perf",
        removes: &["perf_event_open"],
        instead: &[],
        why: "in-process profiling; the kernel's perf_event_paranoid and CAP_PERFMON checks \
              are then the only guard",
    },
];
