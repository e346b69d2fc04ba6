//! The table: invariants, QEMU provenance, per-ABI resolution snapshots and
//! the PFC of one canonical configuration.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use seccomp_sets::table::{Action, IfMissing, Provenance, TABLE};
use seccomp_sets::{Arch, Filter, KillAction, Mode, Sandbox, Set};

/// QEMU 9.x `denylist[]` names per set (system/qemu-seccomp.c).
const QEMU: &[(Set, &[&str])] = &[
    (
        Set::Default,
        &[
            "reboot",
            "swapon",
            "swapoff",
            "syslog",
            "mount",
            "umount",
            "kexec_load",
            "afs_syscall",
            "break",
            "ftime",
            "getpmsg",
            "gtty",
            "lock",
            "mpx",
            "prof",
            "profil",
            "putpmsg",
            "security",
            "stty",
            "tuxcall",
            "ulimit",
            "vserver",
        ],
    ),
    (
        Set::Obsolete,
        &[
            "readdir",
            "_sysctl",
            "bdflush",
            "create_module",
            "get_kernel_syms",
            "query_module",
            "sgetmask",
            "ssetmask",
            "sysfs",
            "uselib",
            "ustat",
        ],
    ),
    (
        Set::Privileged,
        &[
            "setuid",
            "setgid",
            "setpgid",
            "setsid",
            "setreuid",
            "setregid",
            "setresuid",
            "setresgid",
            "setfsuid",
            "setfsgid",
        ],
    ),
    (
        Set::Spawn,
        &[
            "fork", "vfork", "execve", "clone", "clone3", "execveat", "setns", "unshare",
        ],
    ),
    (
        Set::ResourceControl,
        &[
            "setpriority",
            "sched_setparam",
            "sched_setscheduler",
            "sched_setaffinity",
        ],
    ),
];

#[test]
fn every_qemu_row_is_in_the_same_set() {
    for (set, names) in QEMU {
        for name in *names {
            let rows: Vec<_> = TABLE.iter().filter(|r| r.syscall == *name).collect();
            assert!(!rows.is_empty(), "QEMU's {name} is missing from the table");
            assert!(
                rows.iter().all(|r| r.set == *set),
                "{name} moved out of {set}"
            );
            assert!(
                rows.iter().all(|r| r.provenance != Provenance::Added),
                "{name} is QEMU's, not added"
            );
        }
    }
}

#[test]
fn added_rows_are_not_qemu_names_and_deviations_have_notes() {
    let qemu: BTreeSet<&str> = QEMU.iter().flat_map(|(_, n)| n.iter().copied()).collect();
    for r in TABLE {
        match r.provenance {
            Provenance::Added => {
                assert!(!qemu.contains(r.syscall), "{} is QEMU's", r.syscall);
                assert!(!r.note.is_empty(), "{} added without a note", r.syscall);
            }
            Provenance::Changed => {
                assert!(!r.note.is_empty(), "{} changed without a note", r.syscall)
            }
            Provenance::Qemu => {}
        }
    }
}

/// Every declared difference from QEMU names releases within those checked; `added` rows
/// declare that QEMU allows their calls on every release; the provenance is true for the
/// newest release (a `qemu` row declares differences only before it, a `changed` row at least
/// one on it); and the note of a QEMU row (`qemu` or `changed`) names every range it declares.
#[test]
fn declared_differences_name_releases_and_provenance_is_the_newest_qemus() {
    use sandbox_opts::release::{CHECKED, QemuRelease};
    use seccomp_sets::table::{Calls, QemuDiffers, QemuGives};
    let newest: QemuRelease = CHECKED.last;
    let allows = QemuDiffers {
        releases: CHECKED,
        calls: Calls::Matched,
        qemu: QemuGives::Allow,
    };
    for r in TABLE {
        let what = format!("{} ({}, {})", r.syscall, r.set, r.note);
        for d in r.qemu_differs {
            assert!(
                CHECKED.contains(d.releases.first) && CHECKED.contains(d.releases.last),
                "{what}: declares QEMU {}, outside the releases checked ({CHECKED})",
                d.releases
            );
        }
        let on_newest = r.qemu_differs.iter().any(|d| d.releases.contains(newest));
        match r.provenance {
            Provenance::Added => {
                assert!(r.qemu_differs.contains(&allows), "{what}");
                continue;
            }
            Provenance::Qemu => assert!(
                !on_newest,
                "{what}: a qemu row that differs from QEMU {newest} is changed"
            ),
            Provenance::Changed => assert!(
                on_newest,
                "{what}: a changed row that QEMU {newest} agrees with is qemu (keep the history \
                 in the note)"
            ),
        }
        for d in r.qemu_differs {
            assert!(
                r.note.contains(&d.releases.to_string()),
                "{what}: the note does not name QEMU {} ({:?} {})",
                d.releases,
                d.calls,
                d.qemu.name()
            );
        }
    }
    // The rows the issue named: 11.1 returns EPERM for execveat, setns and unshare, 10.0 for
    // the clone-flag rows, as the table does.
    for name in ["execveat", "setns", "unshare", "fork", "vfork", "execve"] {
        let first = TABLE.iter().find(|r| r.syscall == name).unwrap();
        assert_eq!(first.provenance, Provenance::Qemu, "{name}");
        assert!(!first.qemu_differs.is_empty(), "{name} keeps its history");
    }
}

/// The names QEMU's verdicts go by in the conformance test's messages.
#[test]
fn qemu_verdicts_have_names() {
    use seccomp_sets::table::QemuGives;
    let names: Vec<String> = [
        QemuGives::Allow,
        QemuGives::KillThread,
        QemuGives::Kill,
        QemuGives::Errno(libc::EPERM),
        QemuGives::Errno(libc::ENOSYS),
        QemuGives::Errno(libc::EACCES),
    ]
    .iter()
    .map(|g| g.name())
    .collect();
    assert_eq!(
        names,
        [
            "allow",
            "kill-thread",
            "kill",
            "EPERM",
            "ENOSYS",
            "errno 13"
        ]
    );
}

/// The privileged set's rows for the kernel's own doors that are not killed: EPERM where the
/// kernel itself answers EPERM to a caller without the capability (code that probes them falls
/// back), ENOSYS for io_uring (read as a kernel without it). Kill stays for what no daemon has
/// a reason to try (module loading, set*id, capset).
const PRIVILEGED_EPERM: &[&str] = &[
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "open_by_handle_at",
    "quotactl",
    "quotactl_fd",
    "acct",
    "settimeofday",
    "clock_settime",
    "clock_settime64",
    "stime",
    "iopl",
    "ioperm",
    "vhangup",
];

#[test]
fn actions_follow_the_issue_per_set() {
    for r in TABLE {
        let expected = match (r.set, r.syscall) {
            (Set::Spawn, "clone3") => Action::Enosys,
            (Set::Privileged, s) if s.starts_with("io_uring_") => Action::Enosys,
            (Set::Privileged, s) if PRIVILEGED_EPERM.contains(&s) => Action::Eperm,
            (Set::Default | Set::Obsolete | Set::Privileged, _) => Action::Kill,
            (Set::Spawn | Set::ResourceControl, _) => Action::Eperm,
        };
        assert_eq!(r.action, expected, "{} in {}", r.syscall, r.set);
    }
}

/// What issues 30 to 32 decided, per key: each call must be planned when that key alone is
/// denied, and not when the sandbox is only `on` (so a row removed, or moved to another key,
/// fails here). Calls decided as "no row" must never be planned.
#[test]
fn the_threat_model_decisions_hold_per_key() {
    const DENIED: &[(&str, &[&str])] = &[
        (
            "spawn=deny",
            &[
                "ptrace",
                "process_vm_writev",
                "process_vm_readv",
                "pidfd_getfd",
                "request_key",
                "unshare",
                "setns",
                "clone3",
            ],
        ),
        (
            "elevateprivileges=deny",
            &[
                "init_module",
                "finit_module",
                "delete_module",
                "bpf",
                "perf_event_open",
                "userfaultfd",
                "io_uring_setup",
                "io_uring_enter",
                "io_uring_register",
                "open_by_handle_at",
                "quotactl",
                "quotactl_fd",
                "acct",
                "settimeofday",
                "clock_settime",
                "vhangup",
                "unshare",
                "setns",
                "clone3",
                #[cfg(target_arch = "x86_64")]
                "iopl",
                #[cfg(target_arch = "x86_64")]
                "ioperm",
            ],
        ),
        (
            "resourcecontrol=deny",
            &[
                "io_setup",
                "io_submit",
                "io_uring_setup",
                "io_uring_enter",
                "io_uring_register",
                "setrlimit",
                "prlimit64",
            ],
        ),
    ];
    const NO_ROW: &[&str] = &[
        "kcmp",
        "pidfd_open",
        "keyctl",
        "add_key",
        "name_to_handle_at",
        "adjtimex",
        "clock_adjtime",
        "process_madvise",
    ];
    let planned = |s: &str| -> Vec<&'static str> {
        Filter::new(&s.parse().unwrap(), Mode::Enforce)
            .unwrap()
            .planned()
            .iter()
            .map(|p| p.rule.syscall)
            .collect()
    };
    let on = planned("on");
    for (key, calls) in DENIED {
        let with = planned(&format!("on,{key}"));
        for call in *calls {
            assert!(with.contains(call), "{call} is not denied by {key}");
            assert!(!on.contains(call), "{call} is denied by plain `on`");
        }
    }
    let all = planned("on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
    assert!(all.contains(&"lookup_dcookie") && on.contains(&"lookup_dcookie"));
    for call in NO_ROW {
        assert!(!all.contains(call), "{call} was decided as no row");
    }
}

/// A row under two keys is one row: planned once whichever of its keys are denied, with the
/// first denied key as `via`, and `explain`/the exports group it there.
#[test]
fn rows_under_two_keys_are_planned_once() {
    let count = |s: &str, call: &str| {
        let f = Filter::new(&s.parse().unwrap(), Mode::Enforce).unwrap();
        let rows: Vec<_> = f
            .planned()
            .iter()
            .filter(|p| p.rule.syscall == call)
            .map(|p| (p.via, p.rule.args.len()))
            .collect();
        rows
    };
    assert_eq!(
        count("on,elevateprivileges=deny", "clone3"),
        [(Set::Privileged, 0)]
    );
    assert_eq!(
        count("on,elevateprivileges=deny,spawn=deny", "clone3"),
        [(Set::Spawn, 0)]
    );
    assert_eq!(
        count(
            "on,elevateprivileges=deny,resourcecontrol=deny",
            "io_uring_setup"
        ),
        [(Set::Privileged, 0)]
    );
    assert_eq!(
        count("on,resourcecontrol=deny", "io_uring_setup"),
        [(Set::ResourceControl, 0)]
    );
    // Under elevateprivileges alone, only the user-namespace clone row, not fork's.
    assert_eq!(
        count("on,elevateprivileges=deny", "clone"),
        [(Set::Privileged, 1)]
    );
    for r in TABLE.iter().filter(|r| !r.also_in.is_empty()) {
        assert!(
            !r.also_in.contains(&r.set),
            "{}: also_in repeats its set",
            r.syscall
        );
    }
}

#[test]
fn relaxations_are_named_data_that_never_touch_qemu_rows() {
    use seccomp_sets::table::{RELAXATIONS, Relaxation};
    let qemu: BTreeSet<&str> = QEMU.iter().flat_map(|(_, n)| n.iter().copied()).collect();
    let mut names = BTreeSet::new();
    for r in RELAXATIONS {
        assert!(names.insert(r.name), "{} twice", r.name);
        assert!(!r.why.is_empty(), "{}: no reason", r.name);
        assert!(!r.removes.is_empty(), "{} removes nothing", r.name);
        for call in r.removes {
            assert!(!qemu.contains(call), "{} relaxes QEMU's {call}", r.name);
            assert!(
                TABLE
                    .iter()
                    .any(|t| t.syscall == *call && t.provenance == Provenance::Added),
                "{}: {call} is not an added row",
                r.name
            );
        }
        for row in r.instead {
            assert!(
                r.removes.contains(&row.syscall),
                "{}: {}",
                r.name,
                row.syscall
            );
            assert!(
                !row.args.is_empty(),
                "{}: a replacement row must be narrower",
                r.name
            );
        }
        assert_eq!(Relaxation::find(r.name), Some(r));
    }
    // Visible: the filter, its JSON-free text exports and explain name it.
    let io = Relaxation::find("io-uring").unwrap();
    let f = Filter::builder(&"on,elevateprivileges=deny".parse().unwrap())
        .relax(io)
        .build()
        .unwrap();
    assert!(
        f.planned()
            .iter()
            .all(|p| !p.rule.syscall.starts_with("io_uring"))
    );
    assert_eq!(f.relaxations_in_effect(), [io]);
    assert!(f.to_systemd().contains("# relaxed by name: io-uring"));
    // ptrace-traceme keeps every other request denied.
    let f = Filter::builder(&"on,spawn=deny".parse().unwrap())
        .relax(Relaxation::find("ptrace-traceme").unwrap())
        .build()
        .unwrap();
    let ptrace: Vec<_> = f
        .planned()
        .iter()
        .filter(|p| p.rule.syscall == "ptrace")
        .collect();
    assert_eq!(ptrace.len(), 1);
    assert!(!ptrace[0].rule.args[0].matches(0) && ptrace[0].rule.args[0].matches(0x4206));
    assert!(matches!(
        Filter::builder(&"on".parse().unwrap()).relax_named("mount"),
        Err(seccomp_sets::Error::UnknownRelaxation { .. })
    ));
}

#[test]
fn one_set_and_one_action_per_syscall() {
    let mut seen: BTreeMap<&str, (Set, Action)> = BTreeMap::new();
    for r in TABLE {
        let prev = seen.insert(r.syscall, (r.set, r.action));
        if let Some(prev) = prev {
            assert_eq!(
                prev,
                (r.set, r.action),
                "{} has conflicting rows",
                r.syscall
            );
            assert!(
                !r.args.is_empty(),
                "{} repeated without arguments",
                r.syscall
            );
        }
    }
}

#[test]
#[allow(non_snake_case)]
fn clone_rows_allow_threads_and_deny_processes() {
    // clone(2) flag bits (<linux/sched.h>), through u32: CLONE_IO is negative as an i32.
    let f = |flag: libc::c_int| u64::from(flag as u32);
    let (CLONE_VM, CLONE_SIGHAND, CLONE_THREAD, CLONE_VFORK) = (
        f(libc::CLONE_VM),
        f(libc::CLONE_SIGHAND),
        f(libc::CLONE_THREAD),
        f(libc::CLONE_VFORK),
    );
    let clone: Vec<_> = TABLE.iter().filter(|r| r.syscall == "clone").collect();
    let denied = |flags: u64| {
        clone
            .iter()
            .any(|r| r.args.iter().all(|c| c.matches(flags)))
    };
    // glibc pthread_create, and Go's runtime (no SETTLS/…_TID flags).
    let glibc = 0x3d0f00; // VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
    let go = CLONE_VM | 0x200 | 0x400 | CLONE_SIGHAND | 0x40000 | CLONE_THREAD;
    assert!(!denied(glibc) && !denied(go));
    // fork (SIGCHLD|CHILD_SETTID|CHILD_CLEARTID), posix_spawn (VM|VFORK|SIGCHLD), none.
    assert!(denied(17 | 0x0120_0000) && denied(CLONE_VM | CLONE_VFORK | 17) && denied(0));
    for bad in [
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWNS,
        libc::CLONE_NEWPID,
        libc::CLONE_NEWNET,
        libc::CLONE_PTRACE,
        libc::CLONE_IO,
    ]
    .map(f)
    {
        assert!(denied(glibc | bad), "{bad:#x}");
    }
}

#[test]
fn every_missing_name_is_covered_on_every_arch() {
    for arch in Arch::ALL {
        let report = arch.resolve();
        assert!(
            report.uncovered().is_empty(),
            "{arch}: {:?}",
            report.uncovered()
        );
        for r in report.unresolved() {
            if let IfMissing::CoveredBy(subs) = r.if_missing {
                assert!(
                    subs.iter()
                        .all(|s| TABLE.iter().any(|t| t.syscall == *s && t.set == r.set))
                );
            }
        }
    }
}

#[test]
fn qemu_names_that_x86_64_lacks_are_reported() {
    let report = Arch::X86_64.resolve();
    let missing: Vec<_> = report.unresolved().map(|r| r.syscall).collect();
    for name in ["umount", "break", "readdir", "setuid32"] {
        assert!(missing.contains(&name), "{name} resolves on x86_64?");
    }
    assert!(report.has("umount2") && !report.has("umount"));
    // aarch64 has no fork/vfork: clone's argument rows cover them.
    let arm64 = Arch::Aarch64.resolve();
    assert!(!arm64.has("fork") && arm64.has("clone"));
    // s390x reads clone's flags from argument 1.
    assert!(
        Arch::S390x
            .resolve()
            .to_string()
            .contains("arg1 & 0x10000 == 0x0")
    );
}

#[test]
fn snapshot_resolved_table_x86_64() {
    insta::assert_snapshot!("resolved_x86_64", Arch::X86_64.resolve().to_string());
}

#[test]
fn snapshot_resolved_table_aarch64() {
    insta::assert_snapshot!("resolved_aarch64", Arch::Aarch64.resolve().to_string());
}

#[test]
fn snapshot_resolved_table_i386() {
    insta::assert_snapshot!("resolved_i386", Arch::X86.resolve().to_string());
}

/// Every set denied, kill as KILL_PROCESS; PFC as libseccomp 2.5 writes it.
#[test]
fn snapshot_pfc_of_canonical_configuration() {
    let sandbox: Sandbox = "on,elevateprivileges=children,spawn=deny,resourcecontrol=deny"
        .parse()
        .unwrap();
    let filter = Filter::builder(&sandbox)
        .kill_action(KillAction::Process)
        .build()
        .unwrap();
    let pfc = filter.export_pfc().unwrap();
    insta::assert_snapshot!(std::format!("pfc_all_sets_{}", Arch::native()), pfc);
}

#[test]
fn modes_map_actions() {
    let s: Sandbox = "on,spawn=deny".parse().unwrap();
    for mode in Mode::ALL {
        let f = Filter::builder(&s)
            .mode(mode)
            .kill_action(KillAction::Process)
            .build()
            .unwrap();
        for p in f.planned() {
            let want = match (mode, p.rule.action) {
                (Mode::Audit, _) => seccomp_sets::Effect::Log,
                (Mode::Report, Action::Kill) => seccomp_sets::Effect::Trap,
                (Mode::Enforce, Action::Kill) => seccomp_sets::Effect::KillProcess,
                (_, a) => seccomp_sets::Effect::Errno(a.errno().unwrap()),
            };
            assert_eq!(p.effect, want, "{mode} {}", p.rule.syscall);
        }
    }
}

#[test]
fn exported_bpf_is_what_libseccomp_writes() {
    let s: Sandbox = "on,spawn=deny,resourcecontrol=deny".parse().unwrap();
    let f = Filter::new(&s, Mode::Enforce).unwrap();
    let ours = f.export_bpf();
    // libseccomp writing the same context to a real file.
    let dir = test_support::TempDir::new("seccomp-sets-bpf");
    let path = dir.join("filter.bpf");
    let file = std::fs::File::create(&path).unwrap();
    f.context().unwrap().export_bpf(&file).unwrap();
    drop(file);
    let theirs = std::fs::read(&path).unwrap();
    assert_eq!(ours, theirs);
    assert_eq!(f.instruction_count(), ours.len() / 8);
    // An empty selection still refuses foreign ABIs; every set is bigger.
    let empty = Filter::builder_for_sets(Default::default())
        .build()
        .unwrap();
    assert!(empty.instruction_count() < f.instruction_count());
}

#[test]
fn off_sandbox_gives_empty_filter_and_apply_does_nothing() {
    let off: Sandbox = "off,spawn=deny".parse().unwrap();
    assert!(Filter::new(&off, Mode::Enforce).unwrap().is_empty());
    assert_eq!(
        seccomp_sets::apply(&off, Mode::Enforce).unwrap(),
        seccomp_sets::Applied::Off
    );
}

#[test]
fn systemd_lines_say_what_cannot_be_expressed() {
    let s: Sandbox = "on,elevateprivileges=children,spawn=deny,resourcecontrol=deny"
        .parse()
        .unwrap();
    let unit = Filter::new(&s, Mode::Enforce).unwrap().to_systemd();
    assert!(unit.contains("SystemCallArchitectures=native"));
    assert!(unit.contains("NoNewPrivileges=yes"));
    assert!(unit.contains("RestrictNamespaces=yes"));
    assert_eq!(
        unit.matches("\nRestrictNamespaces=").count(),
        1,
        "one RestrictNamespaces= line:\n{unit}"
    );
    // elevateprivileges alone restricts user namespaces only.
    let privileged = Filter::new(&"on,elevateprivileges=deny".parse().unwrap(), Mode::Enforce)
        .unwrap()
        .to_systemd();
    assert!(
        privileged.lines().any(|l| l == "RestrictNamespaces=~user")
            && !privileged.lines().any(|l| l == "RestrictNamespaces=yes"),
        "{privileged}"
    );
    assert!(
        !Filter::new(&"on".parse().unwrap(), Mode::Enforce)
            .unwrap()
            .to_systemd()
            .contains("RestrictNamespaces="),
    );
    assert!(unit.contains("# cannot express: clone only when arg0 & 0x10000 == 0x0"));
    assert!(unit.contains("# cannot express: sched_setscheduler only when arg1 != 5"));
    let filter_line = unit.lines().find(|l| l.contains("execve:EPERM")).unwrap();
    assert!(filter_line.starts_with("SystemCallFilter=~"));
    assert!(
        !filter_line.contains("clone "),
        "clone must not be denied outright"
    );
    assert!(
        unit.lines()
            .any(|l| l.starts_with("SystemCallFilter=~reboot "))
    );
    let audit = Filter::new(&s, Mode::Audit).unwrap().to_systemd();
    assert!(audit.contains("SystemCallLog=") && !audit.contains("SystemCallFilter="));
    // Audit mode logs foreign-ABI calls; systemd's SystemCallArchitectures=
    // would block them.
    assert_eq!(
        Filter::new(&s, Mode::Audit).unwrap().bad_arch_effect(),
        seccomp_sets::Effect::Log
    );
    assert!(
        !audit
            .lines()
            .any(|l| l.starts_with("SystemCallArchitectures=")),
        "{audit}"
    );
    assert!(unit.lines().any(|l| l == "SystemCallArchitectures=native"));
}

proptest! {
    #[test]
    fn arch_parser_never_panics_and_round_trips(s in "\\PC{0,12}") {
        if let Ok(arch) = s.parse::<Arch>() {
            prop_assert_eq!(arch.to_string().parse::<Arch>().unwrap(), arch);
        }
    }

    #[test]
    fn mode_parser_never_panics_and_round_trips(s in "[a-z]{0,8}") {
        if let Ok(mode) = s.parse::<Mode>() {
            prop_assert_eq!(mode.to_string(), s);
        }
    }
}

/// The systemd export is a text a reviewer reads: its whole text per mode and sandbox is
/// snapshot-tested (x86_64, where the names and what is missing are fixed).
#[cfg(target_arch = "x86_64")]
#[test]
fn systemd_export_text() {
    let all = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";
    for (name, sandbox, mode, version) in [
        ("systemd_enforce_all", all, Mode::Enforce, 252),
        ("systemd_enforce_all_257", all, Mode::Enforce, 257),
        ("systemd_audit_all", all, Mode::Audit, 252),
        ("systemd_report_all", all, Mode::Report, 252),
        (
            "systemd_children_spawn_resource",
            "on,elevateprivileges=children,spawn=deny,resourcecontrol=deny",
            Mode::Enforce,
            252,
        ),
        (
            "systemd_privileged",
            "on,elevateprivileges=deny",
            Mode::Enforce,
            252,
        ),
        ("systemd_on", "on", Mode::Enforce, 252),
    ] {
        let s: Sandbox = sandbox.parse().unwrap();
        insta::assert_snapshot!(name, Filter::new(&s, mode).unwrap().to_systemd_for(version));
    }
}

mod uncovered {
    use seccomp_sets::resolve::{Resolution, ResolvedTable};
    use seccomp_sets::table::{Action, IfMissing, Provenance, Rule};
    use seccomp_sets::{Arch, Set};

    const fn rule(syscall: &'static str, set: Set, if_missing: IfMissing) -> Rule {
        Rule {
            syscall,
            set,
            action: Action::Kill,
            args: &[],
            provenance: Provenance::Added,
            note: "",
            if_missing,
            also_in: &[],
            qemu_differs: &[],
        }
    }

    static GONE: Rule = rule("gone", Set::Default, IfMissing::CoveredBy(&["sub"]));
    static SUB_SAME_SET: Rule = rule("sub", Set::Default, IfMissing::Everywhere);
    static SUB_OTHER_SET: Rule = rule("sub", Set::Obsolete, IfMissing::Everywhere);
    static NOTHING: Rule = rule("nothing", Set::Default, IfMissing::Nothing("no such call"));
    static EVERYWHERE: Rule = rule("everywhere", Set::Default, IfMissing::Everywhere);

    fn table(rows: &[(&'static Rule, Option<i32>)]) -> ResolvedTable {
        ResolvedTable {
            arch: Arch::X86_64,
            rows: rows
                .iter()
                .map(|&(rule, nr)| Resolution { rule, nr })
                .collect(),
        }
    }

    /// A missing row is covered only by a substitute that resolves in the same set; a missing
    /// `Everywhere` row is never covered; a `Nothing` row needs no cover.
    #[test]
    fn uncovered_rows_follow_if_missing() {
        let names =
            |t: &ResolvedTable| -> Vec<&str> { t.uncovered().iter().map(|r| r.syscall).collect() };
        let t = table(&[
            (&GONE, None),
            (&SUB_OTHER_SET, Some(1)),
            (&NOTHING, None),
            (&EVERYWHERE, None),
        ]);
        assert_eq!(names(&t), ["gone", "everywhere"]);
        let t = table(&[(&GONE, None), (&SUB_SAME_SET, Some(1)), (&NOTHING, None)]);
        assert!(names(&t).is_empty(), "{:?}", names(&t));
        let t = table(&[(&GONE, None), (&SUB_SAME_SET, None)]);
        assert_eq!(names(&t), ["gone", "sub"]);
    }
}

/// The JSON export, whole, for every set denied (x86_64): a reviewer sees every change.
#[cfg(all(target_arch = "x86_64", feature = "serde"))]
#[test]
fn json_export_text() {
    let all = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";
    for (name, mode) in [
        ("json_enforce_all", Mode::Enforce),
        ("json_audit_all", Mode::Audit),
    ] {
        let f = Filter::builder(&all.parse().unwrap())
            .mode(mode)
            .kill_action(seccomp_sets::KillAction::Process)
            .build()
            .unwrap();
        insta::assert_snapshot!(name, serde_json::to_string_pretty(&f.to_json()).unwrap());
    }
    let f = Filter::builder(&all.parse().unwrap())
        .kill_action(seccomp_sets::KillAction::Process)
        .build()
        .unwrap();
    insta::assert_snapshot!(
        "oci_enforce_all",
        serde_json::to_string_pretty(&f.to_oci()).unwrap()
    );
    // The container engines' profile, as `export --format docker --exec-tolerant` writes it.
    let f = Filter::builder(&all.parse().unwrap())
        .kill_action(seccomp_sets::KillAction::Process)
        .exec_tolerant(true)
        .build()
        .unwrap();
    insta::assert_snapshot!(
        "docker_enforce_all",
        serde_json::to_string_pretty(&f.to_docker()).unwrap()
    );
}
