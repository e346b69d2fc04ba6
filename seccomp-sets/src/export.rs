//! Exports that need no serde: raw BPF, libseccomp PFC and systemd unit lines.

use std::fmt::Write as _;

use sandbox_opts::Set;

use crate::memfd::export_via_memfd;
use crate::resolve::describe_args;
use crate::table::{Action, IfMissing};
use crate::{Effect, Error, Filter, Mode};

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

    /// The closest systemd unit configuration (`[Service]` lines), with
    /// comments saying what systemd cannot express (argument rules, the
    /// `SCHED_IDLE` exception, report mode).
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
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# seccomp-sets: -sandbox {} ({} mode) for {}",
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
            let rows: Vec<_> = self
                .planned()
                .iter()
                .filter(|p| p.rule.set == set)
                .collect();
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
                    unexpressible_consequence(call),
                );
            }
            if self.mode() != Mode::Audit && rows.iter().any(|p| p.rule.syscall == "clone") {
                let _ = writeln!(
                    out,
                    "# clone's namespace flags: RestrictNamespaces=yes refuses them (EPERM)."
                );
                let _ = writeln!(out, "RestrictNamespaces=yes");
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
        out
    }
}

fn systemd_group(set: Set) -> &'static str {
    match set {
        Set::Default => "@mount @reboot @swap plus syslog and never-implemented calls",
        Set::Obsolete => "@obsolete",
        Set::Privileged => "@setuid plus capset",
        Set::Spawn => "part of @process",
        Set::ResourceControl => "part of @resources",
    }
}

fn unexpressible_consequence(syscall: &str) -> &'static str {
    match syscall {
        "clone" => {
            "systemd has no argument filters: denying clone would also deny threads, so it is \
             left allowed and fork()/posix_spawn() through clone stay possible under systemd"
        }
        "sched_setscheduler" => {
            "systemd has no argument filters: sched_setscheduler is left allowed (denying it \
             would also deny SCHED_IDLE)"
        }
        _ => "systemd has no argument filters: the call is left allowed",
    }
}
