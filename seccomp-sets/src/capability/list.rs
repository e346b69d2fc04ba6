//! The list of capabilities, set by set: one data table, reviewed as a whole.

use sandbox_opts::Set;

use super::{Call, Capability};
use crate::table::{
    ANY_NSTYPE, ArgCmp, NEWUSER_CLONE_FLAG, NEWUSER_NSTYPE, NEWUSER_UNSHARE_FLAG, NOT_A_THREAD,
};

/// Every row of the name.
const fn all(name: &'static str) -> Call {
    Call { name, args: None }
}

/// Only the row of the name with exactly these comparisons.
const fn only(name: &'static str, args: &'static [ArgCmp]) -> Call {
    Call {
        name,
        args: Some(args),
    }
}

/// Shorthand: a capability of `set`.
const fn cap(set: Set, name: &'static str, calls: &'static [Call]) -> Capability {
    Capability { set, name, calls }
}

use Set::{Default as Dflt, Obsolete, Privileged, ResourceControl, Spawn};

/// Every capability, per set in canonical order. Every row a set brings in carries at least
/// one capability of that set (tested), so a new row cannot stay outside this list.
pub static CAPABILITIES: &[Capability] = &[
    // ---- default ----
    cap(Dflt, "restart or halt the machine", &[all("reboot")]),
    cap(
        Dflt,
        "turn swap on or off",
        &[all("swapon"), all("swapoff")],
    ),
    cap(Dflt, "read or clear the kernel log", &[all("syslog")]),
    cap(
        Dflt,
        "change the mount table",
        &[
            all("mount"),
            all("fsopen"),
            all("fsconfig"),
            all("fsmount"),
            all("fspick"),
            all("move_mount"),
            all("open_tree"),
            all("mount_setattr"),
            all("pivot_root"),
        ],
    ),
    cap(Dflt, "unmount", &[all("umount"), all("umount2")]),
    cap(
        Dflt,
        "load a new kernel",
        &[all("kexec_load"), all("kexec_file_load")],
    ),
    cap(
        Dflt,
        "call a syscall Linux never implemented",
        &[
            all("afs_syscall"),
            all("break"),
            all("ftime"),
            all("getpmsg"),
            all("gtty"),
            all("lock"),
            all("mpx"),
            all("prof"),
            all("profil"),
            all("putpmsg"),
            all("security"),
            all("stty"),
            all("tuxcall"),
            all("ulimit"),
            all("vserver"),
        ],
    ),
    // ---- obsolete ----
    cap(
        Obsolete,
        "use an obsolete interface",
        &[
            all("readdir"),
            all("_sysctl"),
            all("bdflush"),
            all("create_module"),
            all("get_kernel_syms"),
            all("query_module"),
            all("sgetmask"),
            all("ssetmask"),
            all("sysfs"),
            all("uselib"),
            all("ustat"),
        ],
    ),
    cap(
        Obsolete,
        "look up a dcookie (oprofile)",
        &[all("lookup_dcookie")],
    ),
    // ---- privileged ----
    cap(
        Privileged,
        "change the user ids",
        &[
            all("setuid"),
            all("setreuid"),
            all("setresuid"),
            all("setfsuid"),
            all("setuid32"),
            all("setreuid32"),
            all("setresuid32"),
            all("setfsuid32"),
        ],
    ),
    cap(
        Privileged,
        "change the group ids",
        &[
            all("setgid"),
            all("setregid"),
            all("setresgid"),
            all("setfsgid"),
            all("setgroups"),
            all("setgid32"),
            all("setregid32"),
            all("setresgid32"),
            all("setfsgid32"),
            all("setgroups32"),
        ],
    ),
    cap(
        Privileged,
        "leave the process group or session",
        &[all("setpgid"), all("setsid")],
    ),
    cap(Privileged, "raise capabilities", &[all("capset")]),
    cap(
        Privileged,
        "load or unload kernel modules",
        &[
            all("init_module"),
            all("finit_module"),
            all("delete_module"),
        ],
    ),
    cap(Privileged, "load BPF programs", &[all("bpf")]),
    cap(
        Privileged,
        "trace with perf events",
        &[all("perf_event_open")],
    ),
    cap(
        Privileged,
        "handle page faults in user space",
        &[all("userfaultfd")],
    ),
    cap(
        Privileged,
        "run io_uring operations",
        &[
            all("io_uring_setup"),
            all("io_uring_enter"),
            all("io_uring_register"),
        ],
    ),
    cap(
        Privileged,
        "open a file by its handle",
        &[all("open_by_handle_at")],
    ),
    cap(
        Privileged,
        "change disk quotas",
        &[all("quotactl"), all("quotactl_fd")],
    ),
    cap(Privileged, "turn process accounting on", &[all("acct")]),
    cap(
        Privileged,
        "set the system clock",
        &[
            all("settimeofday"),
            all("clock_settime"),
            all("clock_settime64"),
            all("stime"),
        ],
    ),
    cap(
        Privileged,
        "reach x86 I/O ports",
        &[all("iopl"), all("ioperm")],
    ),
    cap(Privileged, "hang up the terminal", &[all("vhangup")]),
    cap(
        Privileged,
        "create or join a user namespace",
        &[
            only("clone", NEWUSER_CLONE_FLAG),
            all("clone3"),
            only("unshare", NEWUSER_UNSHARE_FLAG),
            only("setns", NEWUSER_NSTYPE),
            only("setns", ANY_NSTYPE),
        ],
    ),
    // ---- spawn ----
    cap(
        Spawn,
        "create a process",
        &[
            all("fork"),
            all("vfork"),
            only("clone", NOT_A_THREAD),
            all("clone3"),
        ],
    ),
    cap(Spawn, "run a program", &[all("execve"), all("execveat")]),
    cap(
        Spawn,
        "clone with a flag QEMU forbids, or create or join a namespace",
        &[all("clone"), all("clone3"), all("unshare"), all("setns")],
    ),
    cap(
        Spawn,
        "reach into another process",
        &[
            all("ptrace"),
            all("process_vm_writev"),
            all("process_vm_readv"),
            all("pidfd_getfd"),
        ],
    ),
    cap(
        Spawn,
        "make the kernel start a helper program",
        &[all("request_key")],
    ),
    // ---- resourcecontrol ----
    cap(
        ResourceControl,
        "raise the scheduling priority or policy",
        &[
            all("setpriority"),
            all("nice"),
            all("sched_setparam"),
            all("sched_setscheduler"),
            all("sched_setattr"),
        ],
    ),
    cap(ResourceControl, "pin to CPUs", &[all("sched_setaffinity")]),
    cap(
        ResourceControl,
        "raise the I/O priority",
        &[
            all("ioprio_set"),
            all("io_setup"),
            all("io_submit"),
            all("io_uring_setup"),
            all("io_uring_enter"),
            all("io_uring_register"),
        ],
    ),
    cap(
        ResourceControl,
        "raise the nice or real-time limit",
        &[all("setrlimit"), all("prlimit64")],
    ),
];
