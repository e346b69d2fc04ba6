//! The 48 combinations: canonical form, denied sets, no-new-privileges, and
//! round-trips.

use std::collections::HashSet;
use std::fmt::Write as _;

use sandbox_opts::{
    ElevatePrivileges, Key, Permission, Sandbox, Set, SetSelection, Warning, parse_with_warnings,
};

/// An independent statement of QEMU's `parse_sandbox` set computation.
fn expected_sets(s: &Sandbox) -> Vec<Set> {
    let mut v = Vec::new();
    if !s.enabled {
        return v;
    }
    v.push(Set::Default);
    if s.obsolete == Permission::Deny {
        v.push(Set::Obsolete);
    }
    if matches!(
        s.elevate_privileges,
        ElevatePrivileges::Deny | ElevatePrivileges::Children
    ) {
        v.push(Set::Privileged);
    }
    if s.spawn == Permission::Deny {
        v.push(Set::Spawn);
    }
    if s.resource_control == Permission::Deny {
        v.push(Set::ResourceControl);
    }
    v
}

#[test]
fn all_48_combinations_are_distinct() {
    let all: Vec<Sandbox> = Sandbox::all().collect();
    assert_eq!(all.len(), 48);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 48);
    let shown: HashSet<String> = all.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 48, "canonical forms must differ");
}

#[test]
fn all_48_round_trip_through_display() {
    for s in Sandbox::all() {
        let canonical = s.to_string();
        let (back, warnings) = parse_with_warnings(&canonical).unwrap();
        assert_eq!(back, s, "{canonical}");
        let explicit = format!("{s:#}");
        assert_eq!(explicit.parse::<Sandbox>().unwrap(), s, "{explicit}");
        // Warnings only for sub-options given while off.
        let non_default: Vec<Key> = Key::SUB_OPTIONS
            .into_iter()
            .filter(|k| s.value_of(*k) != k.default_value())
            .collect();
        let expected: Vec<Warning> = if s.enabled {
            vec![]
        } else {
            non_default
                .iter()
                .map(|&option| Warning::NoEffectWhileOff {
                    option,
                    value: s.value_of(option),
                })
                .collect()
        };
        assert_eq!(warnings, expected, "{canonical}");
    }
}

#[test]
fn denied_sets_follow_qemu() {
    for s in Sandbox::all() {
        let got: Vec<Set> = s.denied_sets().iter().collect();
        assert_eq!(got, expected_sets(&s), "{s}");
        let mask: u32 = got.iter().map(|set| set.qemu_bit()).sum();
        assert_eq!(s.denied_sets().qemu_mask(), mask);
        // The loader's answer: whenever a filter is loaded (QEMU's, through libseccomp).
        assert_eq!(s.no_new_privileges(), s.enabled);
    }
    assert_eq!(Sandbox::default(), Sandbox::OFF);
    assert_eq!(Sandbox::default().denied_sets(), SetSelection::EMPTY);
}

#[test]
fn table_snapshot() {
    let mut out = String::new();
    writeln!(
        out,
        "{:<78} | {:<50} | nnp",
        "canonical form", "denied sets"
    )
    .unwrap();
    for s in Sandbox::all() {
        writeln!(
            out,
            "{:<78} | {:<50} | {}",
            s.to_string(),
            s.denied_sets().to_string(),
            if s.no_new_privileges() { "yes" } else { "no" }
        )
        .unwrap();
    }
    insta::assert_snapshot!("sandbox_table", out);
}

#[test]
fn set_names_and_order() {
    let names: Vec<String> = Set::ALL.iter().map(ToString::to_string).collect();
    assert_eq!(
        names,
        [
            "default",
            "obsolete",
            "privileged",
            "spawn",
            "resourcecontrol"
        ]
    );
    let mut sorted = Set::ALL;
    sorted.reverse();
    sorted.sort();
    assert_eq!(sorted, Set::ALL);
    for set in Set::ALL {
        assert_eq!(Set::from_name(set.name()), Some(set));
    }
    let sel: SetSelection = [Set::Spawn, Set::Default, Set::Spawn].into_iter().collect();
    assert_eq!(sel.len(), 2);
    assert_eq!(format!("{sel:?}"), "{Default, Spawn}");
}

/// The deliberate differences from QEMU: one table, snapshot-tested, and every
/// row also in the module docs' table.
#[cfg(feature = "qemu-model")]
#[test]
fn qemu_differences_snapshot() {
    use sandbox_opts::qemu::{DIFFERENCES, difference};
    let docs = include_str!("../../src/qemu.rs");
    let mut out = String::new();
    for d in DIFFERENCES {
        out.push_str(&format!(
            "{}: {:?}\n    QEMU {}: {}\n    here: {}\n    why:  {}\n",
            d.id, d.example, d.releases, d.qemu, d.ours, d.why
        ));
        assert!(
            docs.contains(&format!("//! | `{}` |", d.id)),
            "the table in src/qemu.rs lacks a row for {}",
            d.id
        );
        assert_eq!(
            difference(d.example).map(|x| x.id),
            Some(d.id),
            "the example of {} does not show it",
            d.id
        );
    }
    insta::assert_snapshot!("qemu_differences", out);
}
