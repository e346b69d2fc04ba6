//! Which table names exist on which ABI: [`Arch::resolve`] and its [`ResolvedTable`].

use std::fmt;

use libseccomp::ScmpSyscall;

use crate::Arch;
use crate::table::{CmpOp, IfMissing, Rule, TABLE};

/// The syscall number of `name` on `arch`, or `None` when libseccomp knows
/// the name only on other ABIs (it then returns a negative pseudo number,
/// which `seccomp_rule_add` silently drops) or not at all.
pub(crate) fn number(name: &str, arch: Arch) -> Option<i32> {
    ScmpSyscall::from_name_by_arch(name, arch.scmp())
        .ok()
        .map(ScmpSyscall::as_raw_syscall)
        .filter(|&nr| nr >= 0)
}

/// One table row resolved on one ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolution {
    /// The row.
    pub rule: &'static Rule,
    /// Its number on the ABI, `None` when the name does not exist there.
    pub nr: Option<i32>,
}

/// The table resolved on one ABI (libseccomp's
/// `ScmpSyscall::from_name_by_arch`).
///
/// ```
/// use seccomp_sets::Arch;
///
/// let x86_64 = Arch::X86_64.resolve();
/// assert!(x86_64.unresolved().any(|r| r.syscall == "umount"));
/// assert!(x86_64.resolved().any(|(r, nr)| r.syscall == "umount2" && nr == 166));
/// assert!(x86_64.uncovered().is_empty());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedTable {
    /// The ABI.
    pub arch: Arch,
    /// Every table row, in table order.
    pub rows: Vec<Resolution>,
}

impl Arch {
    /// Every [`TABLE`] row resolved on this ABI: which names exist here and what covers the
    /// rest.
    ///
    /// ```
    /// let aarch64 = seccomp_sets::Arch::Aarch64.resolve();
    /// assert!(!aarch64.has("fork"));
    /// ```
    pub fn resolve(self) -> ResolvedTable {
        ResolvedTable {
            arch: self,
            rows: TABLE
                .iter()
                .map(|rule| Resolution {
                    rule,
                    nr: number(rule.syscall, self),
                })
                .collect(),
        }
    }
}

impl ResolvedTable {
    /// Rows whose name exists on the ABI, with the number.
    pub fn resolved(&self) -> impl Iterator<Item = (&'static Rule, i32)> + '_ {
        self.rows.iter().filter_map(|r| r.nr.map(|nr| (r.rule, nr)))
    }

    /// Rows whose name does not exist on the ABI (one per name).
    pub fn unresolved(&self) -> impl Iterator<Item = &'static Rule> + '_ {
        let mut last = "";
        self.rows.iter().filter_map(move |r| {
            if r.nr.is_some() || r.rule.syscall == last {
                return None;
            }
            last = r.rule.syscall;
            Some(r.rule)
        })
    }

    /// Whether `name` exists on the ABI.
    pub fn has(&self, name: &str) -> bool {
        number(name, self.arch).is_some()
    }

    /// Unresolved rows whose effect nothing else blocks on this ABI: an
    /// [`IfMissing::Everywhere`] row that is missing, or an
    /// [`IfMissing::CoveredBy`] row none of whose substitutes resolves in
    /// the same set. Empty for a correct table (tested for every
    /// [`Arch::ALL`]).
    pub fn uncovered(&self) -> Vec<&'static Rule> {
        self.unresolved()
            .filter(|rule| match rule.if_missing {
                IfMissing::Everywhere => true,
                IfMissing::Nothing(_) => false,
                IfMissing::CoveredBy(subs) => !subs.iter().any(|s| {
                    self.resolved()
                        .any(|(r, _)| r.syscall == *s && r.set == rule.set)
                }),
            })
            .collect()
    }
}

/// A row's argument comparisons on `arch`, as `explain` and the exports print them
/// (`arg0 & 0x10000 == 0x0 && arg2 != 0`; empty for a row without comparisons).
///
/// ```
/// use seccomp_sets::{Arch, table::TABLE};
/// let sched = TABLE.iter().find(|r| r.syscall == "sched_setscheduler").unwrap();
/// assert_eq!(seccomp_sets::resolve::describe_args(sched, Arch::X86_64), "arg1 != 5");
/// ```
pub fn describe_args(rule: &Rule, arch: Arch) -> String {
    rule.args
        .iter()
        .map(|c| {
            let i = c.arg.index(arch);
            match c.op {
                CmpOp::Ne(v) => std::format!("arg{i} != {v}"),
                CmpOp::MaskedEq { mask, value } => {
                    std::format!("arg{i} & {mask:#x} == {value:#x}")
                }
            }
        })
        .collect::<Vec<_>>()
        .join(" && ")
}

impl fmt::Display for ResolvedTable {
    /// One line per row: set, name, number (or `-`), action, arguments,
    /// provenance; then the missing names with what covers them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# arch {}", self.arch)?;
        for r in &self.rows {
            let nr = r.nr.map_or_else(|| "-".to_owned(), |n| n.to_string());
            let args = describe_args(r.rule, self.arch);
            let also: Vec<&str> = r.rule.also_in.iter().map(|s| s.name()).collect();
            writeln!(
                f,
                "{:<16} {:<18} {:>10} {:<6} {:<8} {}{}",
                r.rule.set.name(),
                r.rule.syscall,
                nr,
                r.rule.action.name(),
                r.rule.provenance.name(),
                if args.is_empty() { "always" } else { &args },
                if also.is_empty() {
                    String::new()
                } else {
                    std::format!(" (also under {})", also.join(", "))
                },
            )?;
        }
        writeln!(f, "# names missing on {}:", self.arch)?;
        for rule in self.unresolved() {
            match rule.if_missing {
                IfMissing::Everywhere => {
                    writeln!(f, "{:<18} NOT COVERED (table bug)", rule.syscall)?
                }
                IfMissing::Nothing(why) => {
                    writeln!(f, "{:<18} nothing to block: {why}", rule.syscall)?
                }
                IfMissing::CoveredBy(subs) => {
                    writeln!(f, "{:<18} covered by {}", rule.syscall, subs.join(", "))?
                }
            }
        }
        Ok(())
    }
}
