//! Per-ABI truth: every capability a set takes away is taken away on every ABI the crate
//! resolves for, whatever names that ABI lacks (`seccomp_sets::capability`).

use seccomp_sets::capability::{CAPABILITIES, Call, Capability, coverage_of};
use seccomp_sets::resolve::{Resolution, ResolvedTable};
use seccomp_sets::table::{Action, Arg, ArgCmp, CmpOp, IfMissing, Provenance, Rule, TABLE};
use seccomp_sets::{Arch, Set, SetSelection};

/// The test the issue asks for: a set left without a rule for one of its capabilities on some
/// supported ABI fails here, naming the ABI, the set, the capability and the missing names.
#[test]
fn every_capability_is_taken_away_on_every_arch() {
    for arch in Arch::ALL {
        let coverage = arch.coverage();
        let open: Vec<String> = coverage
            .open()
            .iter()
            .map(|c| {
                format!(
                    "[{}] {}: {:?}",
                    c.capability.set,
                    c.capability.name,
                    c.missing_names()
                )
            })
            .collect();
        assert!(open.is_empty(), "{arch}: left open: {open:#?}");
    }
}

/// Every row a set brings in carries a capability of that set, so a new row cannot stay
/// outside the capability list (and the coverage test outside it).
#[test]
fn every_row_carries_a_capability_of_each_of_its_sets() {
    for rule in TABLE {
        for set in std::iter::once(rule.set).chain(rule.also_in.iter().copied()) {
            assert!(
                Capability::of_rule(set, rule).next().is_some(),
                "{} ({set} row, {:?}) carries no capability of {set}",
                rule.syscall,
                rule.args
            );
        }
    }
}

/// Every call a capability names is a row its set brings in (no stale name, no comparison
/// that matches no row).
#[test]
fn every_call_names_a_row_of_its_set() {
    for cap in CAPABILITIES {
        for call in cap.calls {
            assert!(
                TABLE
                    .iter()
                    .any(|r| call.counts(r) && r.denied_by(SetSelection::EMPTY.with(cap.set))),
                "[{}] {}: {} {:?} is no row of the set",
                cap.set,
                cap.name,
                call.name,
                call.args
            );
        }
    }
    let mut names: Vec<(Set, &str)> = CAPABILITIES.iter().map(|c| (c.set, c.name)).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(
        before,
        names.len(),
        "a capability name repeats within a set"
    );
}

/// A row's declared substitutes ([`IfMissing::CoveredBy`]) carry the same capability, so the
/// two views of "what covers a missing name" agree.
#[test]
fn declared_substitutes_share_a_capability() {
    for rule in TABLE {
        let IfMissing::CoveredBy(subs) = rule.if_missing else {
            continue;
        };
        for sub in subs {
            let shared = Capability::of_rule(rule.set, rule)
                .any(|c| TABLE.iter().any(|r| r.syscall == *sub && c.carries(r)));
            assert!(
                shared,
                "{} is covered by {sub}, which carries none of its capabilities",
                rule.syscall
            );
        }
    }
}

/// The example: spawn on arm64 is clone without `CLONE_THREAD`, clone3, execve and
/// execveat; fork and vfork do not exist there.
#[test]
fn spawn_on_aarch64() {
    let arm64 = Arch::Aarch64.coverage();
    let process = arm64.of(Set::Spawn, "create a process").unwrap();
    assert_eq!(process.missing_names(), ["fork", "vfork"]);
    assert_eq!(
        process.carried_by(),
        "clone when arg0 & 0x10000 == 0x0, clone3"
    );
    let program = arm64.of(Set::Spawn, "run a program").unwrap();
    assert_eq!(program.carried_by(), "execve, execveat");
    assert!(program.missing.is_empty());
    // x86-64 has all four ways to create a process.
    let x86_64 = Arch::X86_64.coverage();
    let process = x86_64.of(Set::Spawn, "create a process").unwrap();
    assert_eq!(
        process.carried_by(),
        "fork, vfork, clone when arg0 & 0x10000 == 0x0, clone3"
    );
    // s390x reads clone's flags from its second argument.
    let s390x = Arch::S390x.coverage();
    let process = s390x.of(Set::Spawn, "create a process").unwrap();
    assert!(
        process
            .carried_by()
            .contains("clone when arg1 & 0x10000 == 0x0")
    );
}

/// A name with several rows is counted, not spelled out; `covered_in` reads the filter's
/// planned rows, so a filter that plans none of a capability's rows says so.
#[test]
fn rows_are_described_per_name_and_per_filter() {
    let x86_64 = Arch::X86_64.coverage();
    let ns = x86_64
        .of(
            Set::Spawn,
            "clone with a flag QEMU forbids, or create or join a namespace",
        )
        .unwrap();
    let text = ns.carried_by();
    assert!(text.starts_with("clone ("), "{text}");
    assert!(
        text.contains("clone3, setns (3 rows), unshare (2 rows)"),
        "{text}"
    );
    let fork = TABLE.iter().find(|r| r.syscall == "fork").unwrap();
    let spawn: seccomp_sets::Sandbox = "on,spawn=deny".parse().unwrap();
    let only_default: seccomp_sets::Sandbox = "on".parse().unwrap();
    let build = |s: &seccomp_sets::Sandbox| {
        seccomp_sets::Filter::builder(s)
            .arch(Arch::Aarch64)
            .build()
            .unwrap()
    };
    assert_eq!(
        seccomp_sets::capability::covered_in(&build(&spawn), fork, Set::Spawn),
        "create a process here: clone when arg0 & 0x10000 == 0x0, clone3"
    );
    assert_eq!(
        seccomp_sets::capability::covered_in(&build(&only_default), fork, Set::Spawn),
        "create a process NOT COVERED here"
    );
}

/// What `absent` and `open` decide, on a table of our own: a capability with no resolved row
/// is closed only when every missing name is one the ABI never had.
mod decisions {
    use super::*;

    const fn rule(syscall: &'static str, if_missing: IfMissing) -> Rule {
        Rule {
            syscall,
            set: Set::Default,
            action: Action::Kill,
            args: &[],
            provenance: Provenance::Added,
            note: "",
            if_missing,
            also_in: &[],
            qemu_differs: &[],
        }
    }

    static OLD: Rule = rule("old", IfMissing::CoveredBy(&["new"]));
    static NEW: Rule = rule("new", IfMissing::Everywhere);
    static NEVER: Rule = rule("never", IfMissing::Nothing("never there"));
    /// A second row of `old` (with a comparison): no ABI lacks a name with several rows today.
    static OLD_TOO: Rule = Rule {
        args: &[ArgCmp {
            arg: Arg::Index(0),
            op: CmpOp::Ne(1),
        }],
        ..rule("old", IfMissing::CoveredBy(&["new"]))
    };
    static CAPS: &[Capability] = &[
        Capability {
            set: Set::Default,
            name: "door",
            calls: &[
                Call {
                    name: "old",
                    args: None,
                },
                Call {
                    name: "new",
                    args: None,
                },
            ],
        },
        Capability {
            set: Set::Default,
            name: "ghost",
            calls: &[Call {
                name: "never",
                args: None,
            }],
        },
    ];

    fn table(rows: &[(&'static Rule, Option<i32>)]) -> ResolvedTable {
        ResolvedTable {
            arch: Arch::Aarch64,
            rows: rows
                .iter()
                .map(|&(rule, nr)| Resolution { rule, nr })
                .collect(),
        }
    }

    fn open(rows: &[(&'static Rule, Option<i32>)]) -> Vec<&'static str> {
        coverage_of(&table(rows), CAPS)
            .open()
            .iter()
            .map(|c| c.capability.name)
            .collect()
    }

    #[test]
    fn a_capability_without_a_resolved_row_is_open_unless_the_abi_never_had_it() {
        // The substitute resolves: closed, even though `old` is missing.
        assert!(open(&[(&OLD, None), (&NEW, Some(1)), (&NEVER, None)]).is_empty());
        // Neither resolves: the set would be left without a rule for the door.
        assert_eq!(
            open(&[(&OLD, None), (&NEW, None), (&NEVER, None)]),
            ["door"]
        );
        // A capability whose only name the ABI never had is absent, not open.
        let c = coverage_of(&table(&[(&NEVER, None)]), CAPS);
        let ghost = c.of(Set::Default, "ghost").unwrap();
        assert!(ghost.absent() && ghost.is_closed());
        // A capability none of whose rows is in the table at all is open too.
        assert_eq!(open(&[(&NEVER, None)]), ["door"]);
        // A missing name with several rows is listed once.
        let c = coverage_of(
            &table(&[(&OLD, None), (&OLD_TOO, None), (&NEW, Some(1))]),
            CAPS,
        );
        assert_eq!(c.of(Set::Default, "door").unwrap().missing_names(), ["old"]);
        // The text says so, for a reviewer.
        let text =
            coverage_of(&table(&[(&OLD, None), (&NEW, None), (&NEVER, None)]), CAPS).to_string();
        assert!(
            text.contains(
                "  door\n    not on aarch64: old, new\n    OPEN: no row takes it away here"
            ),
            "{text}"
        );
    }
}

/// The per-ABI view a reviewer reads, whole, for x86_64, aarch64 and i386.
#[test]
fn coverage_text() {
    insta::assert_snapshot!("coverage_x86_64", Arch::X86_64.coverage().to_string());
    insta::assert_snapshot!("coverage_aarch64", Arch::Aarch64.coverage().to_string());
    insta::assert_snapshot!("coverage_i386", Arch::X86.coverage().to_string());
}
