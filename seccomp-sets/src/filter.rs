//! The filter: [`Filter`], built by the [`Builder`](crate::Builder), and what it holds (loading
//! it is in `load.rs`, the modes in `mode.rs`).

use libseccomp::{ScmpAction, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};
use sandbox_opts::{Sandbox, Set, SetSelection};

use crate::error::scmp;
use crate::mode::{Effect, KillAction, Mode};
use crate::table::{Action, CmpOp, Relaxation, Rule, TABLE};
use crate::{Arch, Error, Step};

/// A table row that made it into the filter, with its syscall number on the
/// native ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Planned {
    /// The row.
    pub rule: &'static Rule,
    /// Its syscall number on [`Filter::arch`].
    pub nr: i32,
    /// What it does in this filter.
    pub effect: Effect,
    /// The denied set that brought it in: its own [`Rule::set`] or, when that one is allowed,
    /// one of [`Rule::also_in`].
    pub via: Set,
}

/// A seccomp filter for a [`Sandbox`], ready to export or load.
///
/// The filter allows every call by default and applies the [`TABLE`] rows of
/// the denied sets. Calls from a foreign ABI (i386 `int 0x80` or x32 on
/// x86-64, arm32 on aarch64) hit the *bad-arch* action, which kills the
/// process (trap in report mode, log in audit mode): a denylist cannot be
/// bypassed through another syscall table, and a daemon has no business
/// calling one.
///
/// `Filter` is plain data (`Send + Sync`): the plan and the BPF program compiled from it once;
/// a libseccomp context is built again only for the PFC export or [`Filter::context`].
///
/// ```
/// use seccomp_sets::{Filter, Mode};
///
/// let sandbox = "on,spawn=deny".parse()?;
/// let filter = Filter::new(&sandbox, Mode::Enforce)?;
/// assert!(filter.planned().iter().any(|p| p.rule.syscall == "execve"));
/// assert!(filter.export_pfc()?.contains("execve"));
/// assert_eq!(filter.export_bpf().len() % 8, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub(crate) label: String,
    pub(crate) sets: SetSelection,
    pub(crate) no_new_privs: bool,
    pub(crate) exec_tolerant: bool,
    pub(crate) mode: Mode,
    pub(crate) kill: KillAction,
    pub(crate) arch: Arch,
    pub(crate) planned: Vec<Planned>,
    pub(crate) missing: Vec<&'static Rule>,
    pub(crate) skipped: Vec<Step>,
    pub(crate) relaxed: Vec<&'static Relaxation>,
    pub(crate) strict: bool,
    /// The compiled program (see [`Filter::export_bpf`]).
    pub(crate) bpf: Vec<u8>,
}

impl Filter {
    /// The filter for `sandbox`'s denied sets in `mode`. A sandbox that is
    /// off gives a filter without rules (see [`apply`](crate::apply), which then loads
    /// nothing); its BPF, PFC and JSON exports, and [`Filter::load`], still
    /// carry the bad-arch action.
    pub fn new(sandbox: &Sandbox, mode: Mode) -> Result<Filter, Error> {
        Filter::builder(sandbox).mode(mode).build()
    }

    /// What the filter was made from: the sandbox's canonical string or
    /// `sets …`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The denied sets.
    pub fn sets(&self) -> SetSelection {
        self.sets
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// How kill rows kill.
    pub fn kill_action(&self) -> KillAction {
        self.kill
    }

    /// The ABI the filter is built for (always the native one).
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// Whether loading sets no_new_privs regardless of capabilities (see
    /// [`Builder::no_new_privs`](crate::Builder::no_new_privs)).
    pub fn requires_no_new_privs(&self) -> bool {
        self.no_new_privs
    }

    /// Whether `execve` and `execveat` were left out of the spawn set (see
    /// [`Builder::exec_tolerant`](crate::Builder::exec_tolerant)).
    pub fn is_exec_tolerant(&self) -> bool {
        self.exec_tolerant
    }

    /// Whether the filter has no rows (e.g. the sandbox is off).
    pub fn is_empty(&self) -> bool {
        self.planned.is_empty()
    }

    /// The loader's steps beyond seccomp that [`Filter::load`] runs, in order (those of the
    /// denied sets, minus [`Filter::skipped`]).
    pub fn steps(&self) -> Vec<Step> {
        Step::planned_for(self.sets)
            .filter(|s| !self.skipped.contains(s))
            .collect()
    }

    /// The steps of the denied sets the caller skipped ([`Builder::skip`](crate::Builder::skip)).
    pub fn skipped(&self) -> Vec<Step> {
        Step::planned_for(self.sets)
            .filter(|s| self.skipped.contains(s))
            .collect()
    }

    /// The relaxations in force ([`Builder::relax`](crate::Builder::relax)), in the order given.
    pub fn relaxed(&self) -> &[&'static Relaxation] {
        &self.relaxed
    }

    /// The relaxations that removed a row of a denied set (those the exports must name).
    pub fn relaxations_in_effect(&self) -> Vec<&'static Relaxation> {
        self.relaxed
            .iter()
            .copied()
            .filter(|x| {
                TABLE
                    .iter()
                    .any(|r| x.removes.contains(&r.syscall) && r.denied_by(self.sets))
            })
            .collect()
    }

    /// Whether an unavailable step is an error ([`Builder::strict`](crate::Builder::strict)).
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// The rows in the filter, in table order.
    pub fn planned(&self) -> &[Planned] {
        &self.planned
    }

    /// Rows of the denied sets whose name does not exist on this ABI (one
    /// per name); see [`Rule::if_missing`] for what covers them.
    pub fn missing(&self) -> &[&'static Rule] {
        &self.missing
    }

    /// What a row with `action` does in this filter.
    pub fn effect(&self, action: Action) -> Effect {
        match (self.mode, action) {
            (Mode::Audit, _) => Effect::Log,
            (Mode::Report, Action::Kill) => Effect::Trap,
            (Mode::Enforce, Action::Kill) => match self.kill {
                KillAction::Process => Effect::KillProcess,
                KillAction::Trap => Effect::Trap,
            },
            (_, a) => Effect::Errno(a.errno().unwrap_or(libc::EPERM)),
        }
    }

    /// What a call from a foreign ABI gets.
    pub fn bad_arch_effect(&self) -> Effect {
        self.effect(Action::Kill)
    }

    /// A fresh libseccomp context with every planned row, the bad-arch
    /// action, TSYNC, no libseccomp-managed no_new_privs and the binary-tree
    /// optimizer: what [`Filter::export_bpf`] exports and [`Filter::load`]
    /// loads. Useful to add rules of your own before loading it yourself.
    ///
    /// ```
    /// let f = seccomp_sets::Filter::new(&"on".parse()?, seccomp_sets::Mode::Enforce)?;
    /// let ctx = f.context()?;
    /// assert!(ctx.get_ctl_tsync()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn context(&self) -> Result<ScmpFilterContext, Error> {
        let mut ctx = ScmpFilterContext::new(ScmpAction::Allow)
            .map_err(scmp("creating the filter context"))?;
        ctx.set_act_badarch(self.bad_arch_effect().scmp())
            .map_err(scmp("setting the bad-arch action"))?;
        // We set no_new_privs and TSYNC ourselves in `load`; these only matter
        // if someone loads the context through libseccomp.
        ctx.set_ctl_nnp(false)
            .map_err(scmp("clearing SCMP_FLTATR_CTL_NNP"))?;
        ctx.set_ctl_tsync(true)
            .map_err(scmp("setting SCMP_FLTATR_CTL_TSYNC"))?;
        // Binary-tree dispatch on the syscall number: fewer instructions per
        // call than libseccomp's default linear list.
        ctx.set_ctl_optimize(2)
            .map_err(scmp("setting SCMP_FLTATR_CTL_OPTIMIZE=2"))?;
        let foreign = self.arch != Arch::native();
        if foreign {
            // Only the target ABI. libseccomp reads a rule's number as a native one (or as its
            // pseudo number for a name the native ABI lacks) and translates it by name, so
            // rows are given by their native resolution here.
            // (The native ABI goes first: libseccomp refuses to mix byte orders, as s390x's
            // with x86_64's.)
            ctx.remove_arch(libseccomp::ScmpArch::Native)
                .map_err(scmp("removing the native ABI"))?;
            ctx.add_arch(self.arch.scmp())
                .map_err(scmp(std::format!("adding the {} ABI", self.arch)))?;
        }
        for p in &self.planned {
            let sys = if foreign {
                ScmpSyscall::from_name(p.rule.syscall)
                    .map_err(scmp(std::format!("resolving {}", p.rule.syscall)))?
            } else {
                ScmpSyscall::from_raw_syscall(p.nr)
            };
            let action = p.effect.scmp();
            let rc = if p.rule.args.is_empty() {
                ctx.add_rule_exact(action, sys)
            } else {
                let cmps: Vec<ScmpArgCompare> = p
                    .rule
                    .args
                    .iter()
                    .map(|c| {
                        let index = c.arg.index(self.arch);
                        match c.op {
                            CmpOp::Ne(v) => ScmpArgCompare::new(index, ScmpCompareOp::NotEqual, v),
                            CmpOp::MaskedEq { mask, value } => {
                                ScmpArgCompare::new(index, ScmpCompareOp::MaskedEqual(mask), value)
                            }
                        }
                    })
                    .collect();
                ctx.add_rule_conditional_exact(action, sys, &cmps)
            };
            rc.map_err(scmp(std::format!(
                "adding the {} rule ({} set)",
                p.rule.syscall,
                p.via
            )))?;
        }
        Ok(ctx)
    }

    /// The filter as raw BPF (`struct sock_filter[]`, native byte order),
    /// exactly as libseccomp's `seccomp_export_bpf` writes it. This is the
    /// program [`Filter::load`] loads; it is built once, by the [`Builder`](crate::Builder).
    ///
    /// ```
    /// let f = seccomp_sets::Filter::new(&"on".parse()?, seccomp_sets::Mode::Enforce)?;
    /// let bpf = f.export_bpf();
    /// assert!(!bpf.is_empty() && bpf.len() % 8 == 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn export_bpf(&self) -> Vec<u8> {
        self.bpf.clone()
    }

    /// Number of BPF instructions of the filter.
    pub fn instruction_count(&self) -> usize {
        instruction_count(&self.bpf)
    }
}

/// The calls [`Builder::exec_tolerant`](crate::Builder::exec_tolerant) leaves out.
pub(crate) const EXEC_CALLS: [&str; 2] = ["execve", "execveat"];

/// The seccomp return action that `mode` needs and this kernel lacks, if any (only audit
/// mode needs one beyond the basics: `SECCOMP_RET_LOG`, Linux 4.14).
pub(crate) fn missing_action(mode: Mode, log_available: bool) -> Option<&'static str> {
    (mode == Mode::Audit && !log_available).then_some("SECCOMP_RET_LOG")
}

/// Instructions in a BPF program (`struct sock_filter` is 8 bytes).
pub(crate) fn instruction_count(bpf: &[u8]) -> usize {
    bpf.len() / std::mem::size_of::<libc::sock_filter>()
}

#[cfg(test)]
mod load_decisions {
    use super::*;

    #[test]
    fn only_audit_mode_needs_ret_log() {
        assert_eq!(missing_action(Mode::Audit, false), Some("SECCOMP_RET_LOG"));
        assert_eq!(missing_action(Mode::Audit, true), None);
        assert_eq!(missing_action(Mode::Enforce, false), None);
        assert_eq!(missing_action(Mode::Report, false), None);
    }

    #[test]
    fn children_asks_for_no_new_privs_by_name_and_cannot_opt_out() {
        let deny: Sandbox = "on,elevateprivileges=deny".parse().unwrap();
        let f = Filter::builder(&deny).no_new_privs(false).build().unwrap();
        assert!(!f.requires_no_new_privs());
        let children: Sandbox = "on,elevateprivileges=children".parse().unwrap();
        let err = Filter::builder(&children)
            .no_new_privs(false)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::NoNewPrivsRequired { .. }), "{err:?}");
        assert!(
            Filter::new(&children, Mode::Enforce)
                .unwrap()
                .requires_no_new_privs()
        );
    }

    #[test]
    fn instructions_are_eight_bytes() {
        assert_eq!(instruction_count(&[0; 24]), 3);
        assert_eq!(instruction_count(&[]), 0);
        let f = Filter::new(&"on".parse().unwrap(), Mode::Enforce).unwrap();
        assert_eq!(instruction_count(&f.export_bpf()) * 8, f.export_bpf().len());
    }
}
