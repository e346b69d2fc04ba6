//! The table: invariants, QEMU provenance, per-ABI resolution snapshots and
//! the PFC of one canonical configuration.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use seccomp_sets::table::{Action, IfMissing, Provenance, TABLE};
use seccomp_sets::{Arch, Filter, KillAction, Mode, Sandbox, Set, resolve};

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

#[test]
fn actions_follow_the_issue_per_set() {
    for r in TABLE {
        let expected = match (r.set, r.syscall) {
            (Set::Spawn, "clone3") => Action::Enosys,
            (Set::Default | Set::Obsolete | Set::Privileged, _) => Action::Kill,
            (Set::Spawn | Set::ResourceControl, _) => Action::Eperm,
        };
        assert_eq!(r.action, expected, "{} in {}", r.syscall, r.set);
    }
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
fn clone_rows_allow_threads_and_deny_processes() {
    use seccomp_sets::table::clone_flags::*;
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
        CLONE_NEWUSER,
        CLONE_NEWNS,
        CLONE_NEWPID,
        CLONE_NEWNET,
        CLONE_PTRACE,
        CLONE_IO,
    ] {
        assert!(denied(glibc | bad), "{bad:#x}");
    }
}

#[test]
fn every_missing_name_is_covered_on_every_arch() {
    for arch in Arch::ALL {
        let report = resolve(arch);
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
    let report = resolve(Arch::X86_64);
    let missing: Vec<_> = report.unresolved().map(|r| r.syscall).collect();
    for name in ["umount", "break", "readdir", "setuid32"] {
        assert!(missing.contains(&name), "{name} resolves on x86_64?");
    }
    assert!(report.has("umount2") && !report.has("umount"));
    // aarch64 has no fork/vfork: clone's argument rows cover them.
    let arm64 = resolve(Arch::Aarch64);
    assert!(!arm64.has("fork") && arm64.has("clone"));
    // s390x reads clone's flags from argument 1.
    assert!(
        resolve(Arch::S390x)
            .to_string()
            .contains("arg1 & 0x10000 == 0x0")
    );
}

#[test]
fn snapshot_resolved_table_x86_64() {
    insta::assert_snapshot!("resolved_x86_64", resolve(Arch::X86_64).to_string());
}

#[test]
fn snapshot_resolved_table_aarch64() {
    insta::assert_snapshot!("resolved_aarch64", resolve(Arch::Aarch64).to_string());
}

#[test]
fn snapshot_resolved_table_i386() {
    insta::assert_snapshot!("resolved_i386", resolve(Arch::X86).to_string());
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
    let ours = f.export_bpf().unwrap();
    // libseccomp writing the same context to a real file.
    let dir = test_support::TempDir::new("seccomp-sets-bpf");
    let path = dir.join("filter.bpf");
    let file = std::fs::File::create(&path).unwrap();
    f.context().unwrap().export_bpf(&file).unwrap();
    drop(file);
    let theirs = std::fs::read(&path).unwrap();
    assert_eq!(ours, theirs);
    assert_eq!(f.instruction_count().unwrap(), ours.len() / 8);
    // An empty selection still refuses foreign ABIs; every set is bigger.
    let empty = Filter::builder_for_sets(Default::default())
        .build()
        .unwrap();
    assert!(empty.instruction_count().unwrap() < f.instruction_count().unwrap());
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
    for (name, sandbox, mode) in [
        ("systemd_enforce_all", all, Mode::Enforce),
        ("systemd_audit_all", all, Mode::Audit),
        ("systemd_report_all", all, Mode::Report),
        (
            "systemd_children_spawn_resource",
            "on,elevateprivileges=children,spawn=deny,resourcecontrol=deny",
            Mode::Enforce,
        ),
        ("systemd_on", "on", Mode::Enforce),
    ] {
        let s: Sandbox = sandbox.parse().unwrap();
        insta::assert_snapshot!(name, Filter::new(&s, mode).unwrap().to_systemd());
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
}
