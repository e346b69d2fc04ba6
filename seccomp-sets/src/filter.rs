//! The filter: [`Filter`] (built by the [`Builder`](crate::Builder)), loading it, and [`apply`] (the modes are
//! in `mode.rs`).

use libseccomp::{ScmpAction, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};
use sandbox_opts::{Sandbox, Set, SetSelection};

use crate::confine::{self, Confined, Plan, StepReport};
use crate::error::scmp;
use crate::mode::{Effect, KillAction, Mode};
use crate::table::{Action, CmpOp, Relaxation, Rule, TABLE};
use crate::{Arch, Error, Step, report, sys};

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
    /// off gives a filter without rules (see [`apply`], which then loads
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

    /// Confines the process as the sandbox says and loads the filter for every thread.
    ///
    /// Steps, each with its own [`Error`]: check the kernel has the actions the mode needs;
    /// in report mode install the SIGSYS handler; the loader's steps beyond seccomp
    /// ([`Filter::steps`]: resource limits, no_new_privs, the Landlock domain, capabilities);
    /// then `seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC)` with exactly the
    /// program [`Filter::export_bpf`] returns, which also covers threads that already run (a
    /// tokio runtime). A TSYNC failure names the thread ([`Error::Tsync`]).
    ///
    /// no_new_privs is set always, unless [`Builder::no_new_privs`](crate::Builder::no_new_privs) opted out and the caller
    /// holds CAP_SYS_ADMIN (the kernel requires one of the two); TSYNC gives it to every
    /// thread.
    ///
    /// **When threads already run**, the per-thread steps cannot cover them: capabilities
    /// belong to each thread, and a Landlock domain too before Landlock ABI 8 (Linux 7.0,
    /// TSYNC). Those steps are then reported as [`crate::StepOutcome::Unavailable`] (an error
    /// under [`Builder::strict`](crate::Builder::strict)) and the filter is still loaded on every thread. A daemon that
    /// starts threads calls [`Filter::prepare`] (or [`crate::prepare`]) first, while it has one
    /// thread, and loads the filter later.
    ///
    /// A loaded filter cannot be removed; this example only loads in a child.
    ///
    /// ```no_run
    /// let filter = seccomp_sets::Filter::new(&"on".parse()?, seccomp_sets::Mode::Enforce)?;
    /// let summary = filter.load()?;
    /// assert!(summary.instructions > 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load(&self) -> Result<Loaded, Error> {
        self.precheck()?;
        let confined = confine::run(self.plan(), sys::thread_count())?;
        self.load_filter(confined)
    }

    /// The loader's steps beyond seccomp now, while the process has one thread, so that every
    /// thread started afterwards inherits them; [`Prepared::load`] loads the filter later
    /// (on every thread, with TSYNC). [`Error::ThreadsRunning`] if threads already run.
    ///
    /// ```no_run
    /// let filter = seccomp_sets::Filter::new(&"on,spawn=deny".parse()?, seccomp_sets::Mode::Enforce)?;
    /// let prepared = filter.prepare()?; // single-threaded: before the runtime
    /// let runtime = tokio::runtime::Runtime::new()?;
    /// let loaded = prepared.load()?; // on every thread
    /// # drop(runtime); let _ = loaded;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prepare(self) -> Result<Prepared, Error> {
        self.precheck()?;
        let threads = sys::thread_count();
        if threads > 1 {
            return Err(Error::ThreadsRunning { count: threads });
        }
        let confined = confine::run(self.plan(), threads)?;
        Ok(Prepared {
            filter: Some(self),
            confined,
        })
    }

    fn plan(&self) -> Plan<'_> {
        Plan {
            sets: self.sets,
            skipped: &self.skipped,
            no_new_privs: self.no_new_privs,
            strict: self.strict,
        }
    }

    /// What must hold before anything changes.
    fn precheck(&self) -> Result<(), Error> {
        if self.arch != Arch::native() {
            return Err(Error::ForeignArch {
                arch: self.arch.name(),
                native: Arch::native().name(),
            });
        }
        if let Some(action) = missing_action(self.mode, sys::log_available()) {
            return Err(Error::ActionUnavailable { action });
        }
        Ok(())
    }

    fn load_filter(&self, confined: Confined) -> Result<Loaded, Error> {
        let bpf = &self.bpf;
        if self.mode == Mode::Report {
            report::install()?;
        }
        sys::load_tsync(bpf)?;
        #[cfg(feature = "log")]
        log::info!(
            "sandbox: {} loaded on every thread: {} BPF instructions, mode {}",
            self.label(),
            instruction_count(bpf),
            self.mode
        );
        Ok(Loaded {
            mode: self.mode,
            sets: self.sets,
            no_new_privs: sys::no_new_privs(),
            instructions: instruction_count(bpf),
            missing: self.missing.iter().map(|r| r.syscall).collect(),
            steps: confined.steps,
            landlock_abi: confined.landlock_abi,
            relaxed: self.relaxed.iter().map(|r| r.name).collect(),
        })
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

/// What [`Filter::load`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// The mode loaded.
    pub mode: Mode,
    /// The sets denied.
    pub sets: SetSelection,
    /// Whether no_new_privs is set after loading.
    pub no_new_privs: bool,
    /// Size of the loaded BPF program.
    pub instructions: usize,
    /// Table names that do not exist on this ABI (covered per the table).
    pub missing: Vec<&'static str>,
    /// What each of the loader's steps beyond seccomp did, in order.
    pub steps: Vec<StepReport>,
    /// The kernel's Landlock ABI, when it has Landlock enabled.
    pub landlock_abi: Option<u32>,
    /// The relaxations in force, by name.
    pub relaxed: Vec<&'static str>,
}

impl Loaded {
    /// The steps the kernel or the process state did not allow: one warning line each, which
    /// the CLI and echod print once.
    ///
    /// ```
    /// let loaded = seccomp_sets::Loaded {
    ///     mode: seccomp_sets::Mode::Enforce,
    ///     sets: Default::default(),
    ///     no_new_privs: true,
    ///     instructions: 1,
    ///     missing: vec![],
    ///     steps: vec![],
    ///     landlock_abi: None,
    ///     relaxed: vec![],
    /// };
    /// assert!(loaded.warnings().is_empty());
    /// ```
    pub fn warnings(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter(|r| r.is_unavailable())
            .map(|r| r.to_string())
            .collect()
    }
}

/// The loader's steps done, the filter not loaded yet ([`Filter::prepare`], [`prepare`]).
#[derive(Debug)]
pub struct Prepared {
    /// `None`: the sandbox is off.
    filter: Option<Filter>,
    confined: Confined,
}

impl Prepared {
    /// What each step did.
    pub fn steps(&self) -> &[StepReport] {
        &self.confined.steps
    }

    /// The filter that [`Prepared::load`] loads (`None` when the sandbox is off).
    pub fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    /// Loads the filter on every thread (TSYNC); [`Applied::Off`] when the sandbox is off.
    pub fn load(self) -> Result<Applied, Error> {
        match &self.filter {
            None => Ok(Applied::Off),
            Some(f) => f.load_filter(self.confined).map(Applied::Loaded),
        }
    }
}

/// [`Filter::prepare`] for `sandbox` in `mode`, which does nothing while the sandbox is off:
/// the single-threaded half of [`apply`], for a daemon that starts threads before its
/// sandbox can be loaded (echod calls it before building its tokio runtime).
///
/// ```no_run
/// use seccomp_sets::{prepare, Applied, Mode};
/// let prepared = prepare(&"on,spawn=deny".parse()?, Mode::Enforce)?;
/// for step in prepared.steps() {
///     eprintln!("sandbox: {step}");
/// }
/// // ... start threads, open sockets ...
/// if let Applied::Loaded(l) = prepared.load()? {
///     eprintln!("seccomp: {} instructions", l.instructions);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn prepare(sandbox: &Sandbox, mode: Mode) -> Result<Prepared, Error> {
    if sandbox.denied_sets().is_empty() {
        return Ok(Prepared {
            filter: None,
            confined: Confined::default(),
        });
    }
    Filter::new(sandbox, mode)?.prepare()
}

/// What [`apply`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The sandbox is off: nothing was loaded.
    Off,
    /// The filter was loaded.
    Loaded(Loaded),
}

impl Applied {
    /// The steps the kernel or the process state did not allow ([`Loaded::warnings`]); none
    /// when the sandbox is off. One line each, for the daemon to print or log.
    ///
    /// ```
    /// assert!(seccomp_sets::Applied::Off.warnings().is_empty());
    /// ```
    pub fn warnings(&self) -> Vec<String> {
        match self {
            Applied::Off => Vec::new(),
            Applied::Loaded(loaded) => loaded.warnings(),
        }
    }
}

/// Builds the filter for `sandbox`, confines the process and loads the filter
/// ([`Filter::load`]); does nothing when the sandbox is off.
///
/// For a simple caller: called while the process has one thread, it does everything
/// [`prepare`] and [`Prepared::load`] do. Called when threads already run, the filter still
/// covers every thread, but the per-thread steps (capabilities, and the Landlock domain before
/// Landlock ABI 8) are reported unavailable in [`Loaded::steps`]: call [`prepare`] before
/// starting threads to have them.
///
/// ```
/// use seccomp_sets::{apply, Applied, Mode};
/// assert_eq!(apply(&"off".parse()?, Mode::Enforce)?, Applied::Off);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn apply(sandbox: &Sandbox, mode: Mode) -> Result<Applied, Error> {
    // `denied_sets` is empty exactly when the sandbox is off.
    if sandbox.denied_sets().is_empty() {
        return Ok(Applied::Off);
    }
    Filter::new(sandbox, mode)?.load().map(Applied::Loaded)
}

/// The calls [`Builder::exec_tolerant`](crate::Builder::exec_tolerant) leaves out.
pub(crate) const EXEC_CALLS: [&str; 2] = ["execve", "execveat"];

/// The seccomp return action that `mode` needs and this kernel lacks, if any (only audit
/// mode needs one beyond the basics: `SECCOMP_RET_LOG`, Linux 4.14).
fn missing_action(mode: Mode, log_available: bool) -> Option<&'static str> {
    (mode == Mode::Audit && !log_available).then_some("SECCOMP_RET_LOG")
}

/// Instructions in a BPF program (`struct sock_filter` is 8 bytes).
fn instruction_count(bpf: &[u8]) -> usize {
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
