//! The end-to-end scenarios: each one is a set of systemd units plus assertions, run inside a
//! QEMU guest by the guest runner (`vm-guest`), which `cargo xtask test` boots.
//!
//! A scenario installs its units into `/run/systemd/system`, drives them with `systemctl`, real
//! clients and `ovs-appctl`, and checks what systemd recorded (`systemctl show`) and what the
//! journal holds. Unit names are unique per scenario, so one scenario's leftovers cannot
//! satisfy another's assertions.
//!
//! The guest side talks to the host over a virtio-serial port, one line per event; see
//! [`protocol`].

pub mod conformance;
pub mod ctx;
pub mod demo;
pub mod doors;
mod echod;
mod engines;
mod harness;
mod lifecycle;
pub mod peer;
pub mod protocol;
pub mod sysexport;

use std::time::Duration;

pub use ctx::Ctx;

/// What a scenario needs beyond what every guest has. A guest that lacks it reports the
/// scenario as not applicable (with the reason), never as passed.
#[derive(Debug, Clone, Copy)]
pub enum Need {
    /// systemd at least this version, for the feature named.
    Systemd(u32, &'static str),
    /// A program only some suites' images carry.
    Program(&'static str, &'static str),
    /// Anything else the guest can be asked (what, and the check: `Err(why not)`), such as
    /// the Open vSwitch 4.0 peer, which only sid's image carries.
    Check(&'static str, fn() -> Result<(), String>),
}

impl Need {
    /// Why a guest running systemd `systemd` cannot run the scenario, if it cannot.
    pub fn unmet(&self, systemd: u32) -> Option<String> {
        match *self {
            Need::Systemd(min, what) if systemd < min => Some(format!(
                "{what} needs systemd {min}; this guest has systemd {systemd}"
            )),
            Need::Systemd(..) => None,
            Need::Program(path, what) => (!std::path::Path::new(path).exists())
                .then(|| format!("{what}: {path} is not in this guest's image")),
            Need::Check(what, check) => check().err().map(|why| format!("{what}: {why}")),
        }
    }
}

/// Why `s` does not apply on a guest running systemd `systemd`, if it does not.
pub fn not_applicable(s: &Scenario, systemd: u32) -> Option<String> {
    let reasons: Vec<String> = s.needs.iter().filter_map(|n| n.unmet(systemd)).collect();
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// One end-to-end scenario.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Short kebab-case name, shown in the results table.
    pub name: &'static str,
    /// What it proves, in one sentence.
    pub about: &'static str,
    /// Unit files (`name`, `text`) installed before `check` runs.
    pub units: &'static [(&'static str, &'static str)],
    /// Time limit at KVM speed (the runner scales it for TCG).
    pub timeout: Duration,
    /// What the guest must have for it to apply (empty: every guest).
    pub needs: &'static [Need],
    /// The assertions.
    pub check: fn(&mut Ctx) -> Result<(), String>,
}

/// Every scenario, in the order the suite runs them.
pub fn all() -> Vec<Scenario> {
    let mut v = harness::SCENARIOS.to_vec();
    v.extend_from_slice(echod::SCENARIOS);
    v.extend_from_slice(lifecycle::SCENARIOS);
    v.extend_from_slice(sysexport::SCENARIOS);
    v.extend_from_slice(doors::SCENARIOS);
    v.extend_from_slice(conformance::SCENARIOS);
    v.extend_from_slice(engines::SCENARIOS);
    v.extend_from_slice(peer::SCENARIOS);
    v
}

/// The scenario called `name`.
pub fn find(name: &str) -> Option<Scenario> {
    all().into_iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_kebab_case() {
        let all = all();
        let mut names: Vec<&str> = all.iter().map(|s| s.name).collect();
        for n in &names {
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "scenario name `{n}` is not kebab-case"
            );
        }
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "duplicate scenario names");
    }

    #[test]
    fn unit_names_do_not_collide_between_scenarios() {
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for s in all() {
            for (unit, _) in s.units {
                if let Some((_, other)) = seen.iter().find(|(u, _)| u == unit) {
                    panic!("unit {unit} is used by both {other} and {}", s.name);
                }
                seen.push((unit, s.name));
            }
        }
    }

    #[test]
    fn unit_files_are_well_formed() {
        for s in all() {
            for (unit, text) in s.units {
                let suffix_ok = [".service", ".socket"].iter().any(|x| unit.ends_with(x));
                assert!(
                    suffix_ok,
                    "{}: unit {unit} has an unexpected suffix",
                    s.name
                );
                assert!(
                    text.lines().next().is_some_and(|l| l.starts_with('[')),
                    "{}: unit {unit} does not start with a [Section]",
                    s.name
                );
                if unit.ends_with(".socket") {
                    assert!(
                        text.contains("[Socket]"),
                        "{}: {unit} lacks [Socket]",
                        s.name
                    );
                }
                // SuccessAction= and friends belong in [Unit]; a misplaced one is ignored.
                for key in ["SuccessAction=", "FailureAction="] {
                    if let Some(pos) = text.find(key) {
                        let unit_sec = text.find("[Unit]").unwrap_or(usize::MAX);
                        let svc_sec = text.find("[Service]").unwrap_or(usize::MAX);
                        assert!(
                            unit_sec < pos && pos < svc_sec,
                            "{unit}: {key} outside [Unit]"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn needs_are_checked_against_the_guest() {
        let pidfd = Need::Systemd(258, "LISTEN_PIDFDID");
        assert_eq!(pidfd.unmet(258), None);
        assert_eq!(pidfd.unmet(262), None);
        assert_eq!(
            pidfd.unmet(257).as_deref(),
            Some("LISTEN_PIDFDID needs systemd 258; this guest has systemd 257")
        );
        let peer = Need::Program("/no/such/ovsdb-server", "the OVS peer");
        assert!(
            peer.unmet(999)
                .unwrap()
                .contains("not in this guest's image")
        );
        assert_eq!(Need::Program("/bin/sh", "a shell").unmet(1), None);
        let no = Need::Check("a peer", || Err("not here".into()));
        assert_eq!(no.unmet(999).as_deref(), Some("a peer: not here"));
        assert_eq!(Need::Check("fine", || Ok(())).unmet(1), None);
    }

    #[test]
    fn find_returns_the_named_scenario() {
        for s in all() {
            assert_eq!(find(s.name).map(|f| f.name), Some(s.name));
        }
        assert!(find("no-such-scenario").is_none());
    }
}
