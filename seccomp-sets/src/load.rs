//! Loading a filter: [`Filter::load`], [`Filter::prepare`], what they return ([`Loaded`],
//! [`Prepared`], [`Applied`]) and the one-call loaders [`prepare`] and [`apply`].

use sandbox_opts::{Sandbox, SetSelection};

use crate::confine::{self, Confined, Plan, StepReport};
use crate::filter::{instruction_count, missing_action};
use crate::mode::Mode;
use crate::{Arch, Error, Filter, report, sys};

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
    pub(crate) filter: Option<Filter>,
    pub(crate) confined: Confined,
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

impl Filter {
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

    pub(crate) fn load_filter(&self, confined: Confined) -> Result<Loaded, Error> {
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
}
