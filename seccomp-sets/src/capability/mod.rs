//! What each set takes away, per ABI: [`CAPABILITIES`], and [`Arch::coverage`].
//!
//! The table names system calls, and names resolve differently per ABI: aarch64 has no
//! `fork` or `vfork` (its libc forks with `clone`), x86-64 has no `umount`, i386 and arm have
//! 32-bit uid calls the 64-bit ABIs lack. libseccomp drops a name the target does not have,
//! silently, so a set that is right on one ABI could be short on another. A [`Capability`] is
//! one thing a set takes away (create a process, unmount, set the clock) with every row that
//! carries it; [`Arch::coverage`] says, per set and ABI, which of those rows exist there and
//! which names do not. A capability is left open on an ABI when none of its rows resolves
//! there and the missing names are not all calls that ABI never had: that is a table bug, and
//! the tests fail on it for every [`Arch::ALL`].
//!
//! ```
//! use seccomp_sets::{Arch, Set};
//!
//! let arm64 = Arch::Aarch64.coverage();
//! assert!(arm64.open().is_empty());
//! let spawn = arm64.of(Set::Spawn, "create a process").unwrap();
//! assert_eq!(spawn.missing_names(), ["fork", "vfork"]);
//! assert_eq!(spawn.carried_by(), "clone when arg0 & 0x10000 == 0x0, clone3");
//! ```

use std::fmt;

use sandbox_opts::Set;

use crate::Arch;
use crate::resolve::{ResolvedTable, describe_args};
use crate::table::{ArgCmp, IfMissing, Rule};

mod list;
pub use list::CAPABILITIES;

/// A row of the table a [`Capability`] counts: every row of the name, or only the row with
/// exactly these argument comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Call {
    /// The syscall name.
    pub name: &'static str,
    /// `None`: every row of the name in the set; `Some`: the row with these comparisons.
    pub args: Option<&'static [ArgCmp]>,
}

impl Call {
    /// Whether `rule` is one of the rows this call counts.
    pub fn counts(&self, rule: &Rule) -> bool {
        rule.syscall == self.name && self.args.is_none_or(|a| rule.args == a)
    }
}

/// One thing a set takes away, and the rows that carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Capability {
    /// The set that takes it away.
    pub set: Set,
    /// What it is (`create a process`).
    pub name: &'static str,
    /// The rows that carry it, under any name any ABI has.
    pub calls: &'static [Call],
}

impl Capability {
    /// Whether `rule`, brought in by this capability's set, carries it.
    pub fn carries(&self, rule: &Rule) -> bool {
        rule.denied_by(sandbox_opts::SetSelection::EMPTY.with(self.set))
            && self.calls.iter().any(|c| c.counts(rule))
    }

    /// The capabilities of `set` that `rule` carries.
    pub fn of_rule(set: Set, rule: &Rule) -> impl Iterator<Item = &'static Capability> + '_ {
        CAPABILITIES
            .iter()
            .filter(move |c| c.set == set && c.carries(rule))
    }
}

/// One capability on one ABI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Covered {
    /// The capability.
    pub capability: &'static Capability,
    /// Its rows that exist on the ABI, with their numbers, in table order.
    pub rows: Vec<(&'static Rule, i32)>,
    /// Its rows whose names do not exist on the ABI (one per name).
    pub missing: Vec<&'static Rule>,
    /// The ABI.
    pub arch: Arch,
}

impl Covered {
    /// Whether the capability is taken away on the ABI: a row of it exists there, or it does
    /// not exist there at all ([`Covered::absent`]).
    pub fn is_closed(&self) -> bool {
        !self.rows.is_empty() || self.absent()
    }

    /// Whether the ABI lacks the capability itself: no row of it exists there and every
    /// missing name is one that ABI never had ([`IfMissing::Nothing`]); x86 port I/O on
    /// aarch64, say.
    pub fn absent(&self) -> bool {
        self.rows.is_empty()
            && !self.missing.is_empty()
            && self
                .missing
                .iter()
                .all(|r| matches!(r.if_missing, IfMissing::Nothing(_)))
    }

    /// The names of [`Covered::missing`].
    pub fn missing_names(&self) -> Vec<&'static str> {
        self.missing.iter().map(|r| r.syscall).collect()
    }

    /// The rows that carry the capability on the ABI, as `explain` names them: one entry per
    /// name, a row with comparisons with them (`clone when arg0 & 0x10000 == 0x0`), a name
    /// with several rows with their count.
    pub fn carried_by(&self) -> String {
        describe_rows(self.rows.iter().map(|(r, _)| *r), self.arch)
    }
}

/// `rows` one entry per name, in order: `name`, `name when ARGS` (one row with comparisons)
/// or `name (N rows)`.
pub(crate) fn describe_rows<'a>(rows: impl Iterator<Item = &'a Rule>, arch: Arch) -> String {
    let mut names: Vec<(&str, Vec<&Rule>)> = Vec::new();
    for r in rows {
        match names.iter_mut().find(|(n, _)| *n == r.syscall) {
            Some((_, v)) => v.push(r),
            None => names.push((r.syscall, vec![r])),
        }
    }
    names
        .iter()
        .map(|(name, rows)| match rows.as_slice() {
            [one] if one.args.is_empty() => (*name).to_owned(),
            [one] => std::format!("{name} when {}", describe_args(one, arch)),
            many => std::format!("{name} ({} rows)", many.len()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every capability resolved on one ABI: [`Arch::coverage`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coverage {
    /// The ABI.
    pub arch: Arch,
    /// One entry per [`CAPABILITIES`] entry, in order.
    pub capabilities: Vec<Covered>,
}

impl Arch {
    /// Every [`CAPABILITIES`] entry on this ABI: the rows that carry it here, and the names
    /// that do not exist here.
    ///
    /// ```
    /// let x86_64 = seccomp_sets::Arch::X86_64.coverage();
    /// let unmount = x86_64.of(seccomp_sets::Set::Default, "unmount").unwrap();
    /// assert_eq!((unmount.carried_by().as_str(), unmount.missing_names()), ("umount2", vec!["umount"]));
    /// ```
    pub fn coverage(self) -> Coverage {
        coverage_of(&self.resolve(), CAPABILITIES)
    }
}

/// `capabilities` over a resolved table (the tests give their own of both).
pub fn coverage_of(table: &ResolvedTable, capabilities: &'static [Capability]) -> Coverage {
    Coverage {
        arch: table.arch,
        capabilities: capabilities
            .iter()
            .map(|capability| {
                let mut rows = Vec::new();
                let mut missing: Vec<&'static Rule> = Vec::new();
                for r in table.rows.iter().filter(|r| capability.carries(r.rule)) {
                    match r.nr {
                        Some(nr) => rows.push((r.rule, nr)),
                        None if missing.iter().any(|m| m.syscall == r.rule.syscall) => {}
                        None => missing.push(r.rule),
                    }
                }
                Covered {
                    capability,
                    rows,
                    missing,
                    arch: table.arch,
                }
            })
            .collect(),
    }
}

impl Coverage {
    /// The capability of `set` called `name`.
    pub fn of(&self, set: Set, name: &str) -> Option<&Covered> {
        self.capabilities
            .iter()
            .find(|c| c.capability.set == set && c.capability.name == name)
    }

    /// The capabilities of `set`.
    pub fn of_set(&self, set: Set) -> impl Iterator<Item = &Covered> + '_ {
        self.capabilities
            .iter()
            .filter(move |c| c.capability.set == set)
    }

    /// Capabilities no row takes away on this ABI although it has them: empty for a correct
    /// table (tested for every [`Arch::ALL`]).
    pub fn open(&self) -> Vec<&Covered> {
        self.capabilities
            .iter()
            .filter(|c| !c.is_closed())
            .collect()
    }
}

impl fmt::Display for Coverage {
    /// Per set, each capability with a name missing on the ABI: the names, and the rows that
    /// take the same capability away there (or why nothing needs to).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "# {}: names that do not exist on this ABI, and what takes the same capability away here",
            self.arch
        )?;
        for set in Set::ALL {
            let short: Vec<&Covered> = self.of_set(set).filter(|c| !c.missing.is_empty()).collect();
            if short.is_empty() {
                writeln!(f, "[{set}] every name exists on {}", self.arch)?;
                continue;
            }
            writeln!(f, "[{set}]")?;
            for c in short {
                writeln!(f, "  {}", c.capability.name)?;
                writeln!(
                    f,
                    "    not on {}: {}",
                    self.arch,
                    c.missing_names().join(", ")
                )?;
                if !c.rows.is_empty() {
                    writeln!(f, "    taken away by: {}", c.carried_by())?;
                } else if c.absent() {
                    let why: Vec<&str> = c
                        .missing
                        .iter()
                        .filter_map(|r| match r.if_missing {
                            IfMissing::Nothing(why) => Some(why),
                            _ => None,
                        })
                        .fold(Vec::new(), |mut v, w| {
                            if !v.contains(&w) {
                                v.push(w);
                            }
                            v
                        });
                    writeln!(f, "    nothing to take away: {}", why.join("; "))?;
                } else {
                    writeln!(f, "    OPEN: no row takes it away here (table bug)")?;
                }
            }
        }
        Ok(())
    }
}

/// What takes a missing row's capabilities away in `filter`, as `explain` says it: for each
/// capability of `set` the row carries, the planned rows that carry it too
/// (`create a process here: clone when arg0 & 0x10000 == 0x0, clone3`), or `NOT COVERED here`
/// when the filter plans none (a relaxation or [`crate::Builder::exec_tolerant`] removed
/// them).
pub fn covered_in(filter: &crate::Filter, rule: &Rule, set: Set) -> String {
    Capability::of_rule(set, rule)
        .map(|cap| {
            let rows = describe_rows(
                filter
                    .planned()
                    .iter()
                    .filter(|p| cap.carries(p.rule))
                    .map(|p| p.rule),
                filter.arch(),
            );
            if rows.is_empty() {
                std::format!("{} NOT COVERED here", cap.name)
            } else {
                std::format!("{} here: {rows}", cap.name)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}
