//! Exports that need no serde: raw BPF, libseccomp PFC and systemd unit lines.

use std::fmt::Write as _;

use sandbox_opts::Set;

use crate::memfd::export_via_memfd;
use crate::resolve::describe_args;
use crate::table::{Action, IfMissing};
use crate::{Effect, Error, Filter, Mode};

mod units;
use units::{BOUNDED_CAPS, UNIT_SETTINGS, UnitSetting, systemd_group, unexpressible_consequence};

impl Filter {
    /// The filter as libseccomp's pseudo filter code (PFC), human-readable.
    ///
    /// ```
    /// let f = seccomp_sets::Filter::new(&"on".parse()?, seccomp_sets::Mode::Enforce)?;
    /// assert!(f.export_pfc()?.contains("reboot"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn export_pfc(&self) -> Result<String, Error> {
        let bytes = export_via_memfd(&self.context()?, "pfc", |ctx, fd| ctx.export_pfc(fd))?;
        String::from_utf8(bytes).map_err(|e| Error::Export {
            format: "pfc",
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })
    }

    /// The closest systemd unit configuration (`[Service]` lines) for systemd
    /// [`DEFAULT_SYSTEMD_VERSION`] (Debian bookworm's 252): see [`Filter::to_systemd_for`].
    ///
    /// ```
    /// let f = seccomp_sets::Filter::new(&"on,spawn=deny".parse()?, seccomp_sets::Mode::Enforce)?;
    /// let unit = f.to_systemd();
    /// assert!(unit.contains("SystemCallArchitectures=native"));
    /// assert!(unit.contains("SystemCallFilter=~"));
    /// assert!(unit.contains("execve:EPERM"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_systemd(&self) -> String {
        self.to_systemd_for(DEFAULT_SYSTEMD_VERSION)
    }

    /// The closest systemd unit configuration (`[Service]` lines) for systemd `version`:
    /// the filter as `SystemCallFilter=` lines, with comments saying what systemd cannot
    /// express (argument rules, the `SCHED_IDLE` exception, report mode), then the unit
    /// settings that close the doors a filter cannot see (cgroupfs and kernel tunables
    /// read-only, namespaces restricted, capabilities bounded, a private PID namespace...),
    /// one comment per line naming the door. A setting newer than `version` is written
    /// commented out, with the version it needs. The loader's own steps (Landlock,
    /// capabilities, rlimits) are not in a unit: these settings stand in for them.
    ///
    /// ```
    /// let f = seccomp_sets::Filter::builder(&"on,spawn=deny".parse()?).exec_tolerant(true).build()?;
    /// assert!(f.to_systemd_for(257).lines().any(|l| l == "PrivatePIDs=yes"));
    /// assert!(f.to_systemd_for(252).lines().any(|l| l == "#PrivatePIDs=yes"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_systemd_for(&self, version: u32) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# seccomp-sets: -sandbox {} ({} mode) for {}, systemd {version}",
            self.label(),
            self.mode(),
            self.arch()
        );
        let _ = writeln!(out, "[Service]");
        if self.is_empty() {
            let _ = writeln!(out, "# the sandbox denies nothing: no system call filter");
            return out;
        }
        if self.bad_arch_effect() == Effect::Log {
            // SystemCallArchitectures= blocks; this filter only logs.
            let _ = writeln!(
                out,
                "# Foreign ABIs (i386 int 0x80, x32) are logged and allowed by this filter; \
                 systemd cannot log them, so SystemCallArchitectures= is left unset."
            );
        } else {
            let _ = writeln!(
                out,
                "# Foreign ABIs (i386 int 0x80, x32) are refused as by our bad-arch action."
            );
            let _ = writeln!(out, "SystemCallArchitectures=native");
        }
        if self.requires_no_new_privs() {
            let _ = writeln!(
                out,
                "# no_new_privs, as loading this filter sets it (QEMU's -sandbox does too)"
            );
            let _ = writeln!(out, "NoNewPrivileges=yes");
        }
        if self.is_exec_tolerant() {
            let _ = writeln!(
                out,
                "# exec-tolerant: execve and execveat are left allowed so that systemd can start \
                 the program; fork, vfork, clone3 and clone without thread flags stay denied"
            );
        }
        for r in self.relaxations_in_effect() {
            let _ = writeln!(
                out,
                "# relaxed by name: {} (allows {}): {}",
                r.name,
                r.removes.join(", "),
                r.why
            );
        }
        match self.mode() {
            Mode::Audit => {
                let _ = writeln!(
                    out,
                    "# audit mode: log the calls instead of blocking them (systemd 247+)."
                );
            }
            Mode::Report => {
                let _ = writeln!(
                    out,
                    "# report mode cannot be expressed: systemd kills with SIGSYS and the \
                     journal records the core dump, but nothing names the call; kill rows \
                     are emitted as in enforce mode."
                );
            }
            Mode::Enforce => {}
        }
        for set in self.sets() {
            let rows: Vec<_> = self.planned().iter().filter(|p| p.via == set).collect();
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "# set {set} (closest systemd group: {})",
                systemd_group(set)
            );
            let mut names: Vec<String> = Vec::new();
            // Rows with argument conditions, one comment per call (clone has 14 of them).
            let mut conditional: Vec<(&str, Vec<String>, Effect)> = Vec::new();
            for p in &rows {
                if !p.rule.args.is_empty() {
                    let when = describe_args(p.rule, self.arch());
                    match conditional
                        .iter_mut()
                        .find(|(c, _, _)| *c == p.rule.syscall)
                    {
                        Some((_, conditions, _)) => conditions.push(when),
                        None => conditional.push((p.rule.syscall, vec![when], p.effect)),
                    }
                    continue;
                }
                let entry = match (self.mode(), p.rule.action) {
                    (Mode::Audit, _) | (_, Action::Kill) => p.rule.syscall.to_owned(),
                    (_, a) => std::format!("{}:{}", p.rule.syscall, a.name()),
                };
                if !names.contains(&entry) {
                    names.push(entry);
                }
            }
            for (call, conditions, effect) in &conditional {
                let _ = writeln!(
                    out,
                    "# cannot express: {call} only when {} ({effect}); {}",
                    conditions.join(", or "),
                    unexpressible_consequence(call, set),
                );
            }
            if names.is_empty() {
                continue;
            }
            let key = if self.mode() == Mode::Audit {
                "SystemCallLog="
            } else {
                "SystemCallFilter=~"
            };
            let _ = writeln!(out, "{key}{}", names.join(" "));
        }
        let missing: Vec<_> = self
            .missing()
            .iter()
            .map(|r| match r.if_missing {
                IfMissing::CoveredBy(subs) => {
                    std::format!("{} (covered by {})", r.syscall, subs.join(", "))
                }
                _ => r.syscall.to_owned(),
            })
            .collect();
        if !missing.is_empty() {
            let _ = writeln!(
                out,
                "# not on {} (systemd ignores them too): {}",
                self.arch(),
                missing.join(" ")
            );
        }
        if self
            .planned()
            .iter()
            .any(|p| p.effect == Effect::KillProcess || p.effect == Effect::Trap)
        {
            let _ = writeln!(
                out,
                "# names without :ERRNO kill the process with SIGSYS, as in this filter."
            );
        }
        if self.mode() != Mode::Audit {
            self.write_unit_settings(&mut out, version);
        }
        out
    }

    /// The unit settings of [`UNIT_SETTINGS`] that the denied sets call for, one comment per
    /// line naming the door; one `CapabilityBoundingSet=~` line, the union of the keys'
    /// capabilities; one `RestrictNamespaces=` line.
    fn write_unit_settings(&self, out: &mut String, version: u32) {
        let sets = self.sets();
        let wanted = |s: &UnitSetting| s.sets.iter().any(|k| sets.contains(*k));
        let settings: Vec<&UnitSetting> = UNIT_SETTINGS.iter().filter(|s| wanted(s)).collect();
        let caps: Vec<(&str, &str)> = BOUNDED_CAPS
            .iter()
            .filter(|(set, _, _)| sets.contains(*set))
            .map(|(_, cap, door)| (*cap, *door))
            .collect();
        if settings.is_empty() && caps.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "# Beyond the filter: what seccomp_sets::apply's loader does in-process (Landlock, \
             capabilities, rlimits) is not carried by a unit; these settings close the doors \
             a system-call filter cannot see, for systemd {version}."
        );
        let namespaces = if sets.contains(Set::Spawn) {
            Some((
                "yes",
                "every namespace flag of clone/unshare/setns (clone3 gets ENOSYS): the spawn \
                 set's namespace rows",
            ))
        } else if sets.contains(Set::Privileged) {
            Some((
                "~user",
                "a new or joined user namespace (uid 0 with every capability inside it): the \
                 elevateprivileges user-namespace rows; other namespaces stay allowed",
            ))
        } else {
            None
        };
        if let Some((value, door)) = namespaces {
            let _ = writeln!(out, "# closes {door}");
            let _ = writeln!(out, "RestrictNamespaces={value}");
        }
        if !caps.is_empty() {
            for (cap, door) in &caps {
                let _ = writeln!(out, "# {cap}: {door}");
            }
            let list: Vec<&str> = caps.iter().map(|(c, _)| *c).collect();
            let _ = writeln!(out, "CapabilityBoundingSet=~{}", list.join(" "));
        }
        for s in settings {
            if s.commented {
                let _ = writeln!(out, "# opt in: closes {}", s.door);
            } else {
                let _ = writeln!(out, "# closes {}", s.door);
            }
            if s.commented {
                let _ = writeln!(out, "#{}", s.line);
            } else if version < s.since {
                let _ = writeln!(
                    out,
                    "# (needs systemd {}; this unit is for {version})",
                    s.since
                );
                let _ = writeln!(out, "#{}", s.line);
                if let Some(fallback) = s.before {
                    let _ = writeln!(out, "{fallback}");
                }
            } else {
                let _ = writeln!(out, "{}", s.line);
            }
        }
    }
}

/// systemd's version when [`Filter::to_systemd`] is given none: Debian bookworm's (252), the
/// oldest the VM suite runs.
pub const DEFAULT_SYSTEMD_VERSION: u32 = 252;
