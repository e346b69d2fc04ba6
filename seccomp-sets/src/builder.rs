//! [`Builder`]: configuring a [`Filter`] beyond [`Filter::new`].

use sandbox_opts::{ElevatePrivileges, Sandbox, Set, SetSelection};

use crate::filter::{EXEC_CALLS, Planned};
use crate::memfd::export_via_memfd;
use crate::mode::{KillAction, Mode};
use crate::table::{Relaxation, Rule, TABLE};
use crate::{Arch, Error, Filter, Step};

/// Configures a [`Filter`] beyond [`Filter::new`].
///
/// ```
/// use sandbox_opts::{Set, SetSelection};
/// use seccomp_sets::{Filter, KillAction, Mode};
///
/// let filter = Filter::builder_for_sets(SetSelection::EMPTY.with(Set::Spawn))
///     .mode(Mode::Enforce)
///     .kill_action(KillAction::Trap)
///     .build()?;
/// assert!(filter.planned().iter().all(|p| p.rule.set == Set::Spawn));
/// # Ok::<(), seccomp_sets::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    pub(crate) label: String,
    pub(crate) sets: SetSelection,
    pub(crate) no_new_privs: bool,
    /// `elevateprivileges=children`: no_new_privs cannot be opted out of.
    pub(crate) no_new_privs_required: bool,
    pub(crate) exec_tolerant: bool,
    pub(crate) arch: Arch,
    pub(crate) mode: Mode,
    pub(crate) kill: Option<KillAction>,
    pub(crate) skipped: Vec<Step>,
    pub(crate) relaxed: Vec<&'static Relaxation>,
    pub(crate) strict: bool,
}

impl Builder {
    /// The filter mode (default [`Mode::Enforce`]).
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> Builder {
        self.mode = mode;
        self
    }

    /// Fixes how kill rows kill, instead of asking the kernel (useful for
    /// reproducible exports).
    #[must_use]
    pub fn kill_action(mut self, kill: KillAction) -> Builder {
        self.kill = Some(kill);
        self
    }

    /// Whether [`Filter::load`] sets no_new_privs even when the caller could load without it
    /// (it holds CAP_SYS_ADMIN). The default is the sandbox's own answer,
    /// [`Sandbox::no_new_privileges`](sandbox_opts::Sandbox::no_new_privileges) (on whenever the sandbox is, as in QEMU): once a filter
    /// is loaded, a set-user-ID program or one with file capabilities that the process
    /// executes cannot gain privileges. `no_new_privs(false)` is the opt-out for a privileged
    /// caller that must execute such a program after loading the filter; a caller without
    /// CAP_SYS_ADMIN gets no_new_privs anyway (the kernel requires one of the two), and a
    /// sandbox with `elevateprivileges=children` refuses it ([`Error::NoNewPrivsRequired`]
    /// from [`build`](Builder::build)).
    ///
    /// ```
    /// use seccomp_sets::{Filter, Mode};
    /// let on = Filter::new(&"on".parse()?, Mode::Enforce)?;
    /// assert!(on.requires_no_new_privs());
    /// let opted_out = Filter::builder(&"on".parse()?).no_new_privs(false).build()?;
    /// assert!(!opted_out.requires_no_new_privs());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn no_new_privs(mut self, on: bool) -> Builder {
        self.no_new_privs = on;
        self
    }

    /// Leaves `execve` and `execveat` out of the filter (default: kept), for a filter that a
    /// runtime loads and then executes the workload under (an OCI runtime, systemd): with
    /// `spawn=deny` the workload could not even start. Process creation stays denied (fork,
    /// vfork, clone without thread flags, clone3); only replacing the program is allowed.
    /// The exports say so. No effect without the spawn set.
    ///
    /// ```
    /// use seccomp_sets::Filter;
    /// let f = Filter::builder(&"on,spawn=deny".parse()?).exec_tolerant(true).build()?;
    /// assert!(f.planned().iter().all(|p| !p.rule.syscall.starts_with("execve")));
    /// assert!(f.planned().iter().any(|p| p.rule.syscall == "fork"));
    /// assert!(f.is_exec_tolerant());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn exec_tolerant(mut self, on: bool) -> Builder {
        self.exec_tolerant = on;
        self
    }

    /// The ABI to build for (default [`Arch::native`]). A filter for another ABI is for
    /// exporting (BPF, PFC, JSON, OCI) to a loader on that ABI: its rows are resolved there,
    /// and [`Filter::load`] refuses it.
    ///
    /// ```
    /// use seccomp_sets::{Arch, Filter};
    /// let f = Filter::builder(&"on".parse()?).arch(Arch::Aarch64).build()?;
    /// assert_eq!(f.arch(), Arch::Aarch64);
    /// let reboot = f.planned().iter().find(|p| p.rule.syscall == "reboot").unwrap();
    /// assert_eq!(reboot.nr, 142); // aarch64's number (x86_64's is 169)
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn arch(mut self, arch: Arch) -> Builder {
        self.arch = arch;
        self
    }

    /// Leaves one of the loader's steps beyond seccomp out, by name (`--skip NAME`): what it
    /// closes stays open, and the load outcome, `explain` and the exports say so. For a
    /// daemon that needs what the step takes (CAP_SYS_ADMIN under `spawn=deny`, ...).
    ///
    /// ```
    /// use seccomp_sets::{Filter, Step};
    /// let f = Filter::builder(&"on,spawn=deny".parse()?).skip(Step::Landlock).build()?;
    /// assert_eq!(f.skipped(), [Step::Landlock]);
    /// assert!(!f.steps().contains(&Step::Landlock));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn skip(mut self, step: Step) -> Builder {
        if !self.skipped.contains(&step) {
            self.skipped.push(step);
        }
        self
    }

    /// Leaves every step beyond seccomp out: the filter alone, as the exports carry it.
    #[must_use]
    pub fn filter_only(mut self) -> Builder {
        self.skipped = Step::ALL.to_vec();
        self
    }

    /// Allows the rows of a named [`Relaxation`] (see [`crate::table::RELAXATIONS`]), visibly:
    /// [`Filter::relaxed`], `explain` and every export name it.
    ///
    /// ```
    /// use seccomp_sets::{Filter, table::Relaxation};
    /// let io_uring = Relaxation::find("io-uring").unwrap();
    /// let f = Filter::builder(&"on,elevateprivileges=deny".parse()?).relax(io_uring).build()?;
    /// assert!(f.planned().iter().all(|p| !p.rule.syscall.starts_with("io_uring")));
    /// assert_eq!(f.relaxed()[0].name, "io-uring");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn relax(mut self, relaxation: &'static Relaxation) -> Builder {
        if !self.relaxed.contains(&relaxation) {
            self.relaxed.push(relaxation);
        }
        self
    }

    /// [`Builder::relax`] by name ([`Error::UnknownRelaxation`] otherwise).
    pub fn relax_named(self, name: &str) -> Result<Builder, Error> {
        let r = Relaxation::find(name).ok_or_else(|| Error::UnknownRelaxation {
            name: name.to_owned(),
            known: Relaxation::names(),
        })?;
        Ok(self.relax(r))
    }

    /// Whether a step the kernel cannot do (no Landlock, threads already running) is an error
    /// ([`Error::StepUnavailable`]) instead of a reported [`crate::StepOutcome::Unavailable`].
    /// Default: not strict.
    #[must_use]
    pub fn strict(mut self, on: bool) -> Builder {
        self.strict = on;
        self
    }

    /// Resolves the rows for the ABI and checks that libseccomp accepts them.
    pub fn build(self) -> Result<Filter, Error> {
        Filter::from_builder(self)
    }
}

impl Filter {
    /// A [`Builder`] for `sandbox`.
    pub fn builder(sandbox: &Sandbox) -> Builder {
        Builder {
            label: sandbox.to_string(),
            sets: sandbox.denied_sets(),
            no_new_privs: sandbox.no_new_privileges(),
            no_new_privs_required: sandbox.enabled
                && sandbox.elevate_privileges == ElevatePrivileges::Children,
            exec_tolerant: false,
            arch: Arch::native(),
            mode: Mode::Enforce,
            kill: None,
            skipped: Vec::new(),
            relaxed: Vec::new(),
            strict: false,
        }
    }

    /// A [`Builder`] for an explicit selection of sets.
    pub fn builder_for_sets(sets: SetSelection) -> Builder {
        Builder {
            label: std::format!("sets {sets}"),
            sets,
            no_new_privs: true,
            no_new_privs_required: false,
            exec_tolerant: false,
            arch: Arch::native(),
            mode: Mode::Enforce,
            kill: None,
            skipped: Vec::new(),
            relaxed: Vec::new(),
            strict: false,
        }
    }

    /// [`Builder::build`]: resolves the rows and compiles the program once.
    fn from_builder(b: Builder) -> Result<Filter, Error> {
        if b.no_new_privs_required && !b.no_new_privs {
            return Err(Error::NoNewPrivsRequired { sandbox: b.label });
        }
        let arch = b.arch;
        let kill = b.kill.unwrap_or_else(KillAction::detect);
        let mut filter = Filter {
            label: b.label,
            sets: b.sets,
            no_new_privs: b.no_new_privs,
            exec_tolerant: b.exec_tolerant && b.sets.contains(Set::Spawn),
            mode: b.mode,
            kill,
            arch,
            planned: Vec::new(),
            missing: Vec::new(),
            skipped: b.skipped,
            relaxed: b.relaxed,
            strict: b.strict,
            bpf: Vec::new(),
        };
        filter.skipped.sort();
        let exec_dropped = |r: &Rule| filter.exec_tolerant && EXEC_CALLS.contains(&r.syscall);
        let relaxed = |r: &Rule| {
            filter
                .relaxed
                .iter()
                .any(|x| x.removes.contains(&r.syscall))
        };
        // The table's rows, minus what the caller relaxed, plus the narrower rows relaxations
        // put in their place (after the table's rows of the same set).
        let instead: Vec<&'static Rule> = filter
            .relaxed
            .iter()
            .flat_map(|x| x.instead.iter())
            .collect();
        let mut rows: Vec<&'static Rule> = TABLE
            .iter()
            .filter(|r| !exec_dropped(r) && !relaxed(r))
            .collect();
        for extra in instead {
            let at = rows
                .iter()
                .rposition(|r| r.set == extra.set)
                .map_or(rows.len(), |i| i + 1);
            rows.insert(at, extra);
        }
        for rule in rows {
            let Some(via) = rule.via(b.sets) else {
                continue;
            };
            match crate::resolve::number(rule.syscall, arch) {
                Some(nr) => filter.planned.push(Planned {
                    rule,
                    nr,
                    effect: filter.effect(rule.action),
                    via,
                }),
                None => filter.missing.push(rule),
            }
        }
        filter.missing.dedup_by_key(|r| r.syscall);
        // One libseccomp context, compiled once: the program load() loads and export_bpf()
        // returns (building it also checks that libseccomp accepts every row).
        filter.bpf = export_via_memfd(&filter.context()?, "bpf", |ctx, fd| ctx.export_bpf(fd))?;
        Ok(filter)
    }
}
