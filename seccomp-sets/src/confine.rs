//! The loader's steps beyond seccomp: [`Step`], what each did ([`StepReport`]), and running
//! them.
//!
//! A system-call filter judges calls; some of what a key means is reached without a call it can
//! tell apart. The loader closes those doors with the kernel's other tools, each step named,
//! reported in [`crate::Loaded::steps`] and `explain`, and skippable by name
//! ([`crate::Builder::skip`]):
//!
//! | step | key | door |
//! |---|---|---|
//! | `rlimits` | resourcecontrol | `RLIMIT_NICE`/`RLIMIT_RTPRIO` let a process raise its own priority (autogroup) without CAP_SYS_NICE |
//! | `permitted-caps` | elevateprivileges | `execve` makes capabilities that are permitted but not effective effective again |
//! | `cap-sys-nice` | resourcecontrol | CAP_SYS_NICE raises priority without `setpriority` (autogroup, AIO/io_uring real-time I/O class) |
//! | `cap-sys-admin` | spawn | CAP_SYS_ADMIN writes a cgroup v1 `release_agent`, which the kernel runs as a new root process |
//! | `cap-sys-ptrace` | spawn | without Landlock: ptrace access (`/proc/PID/mem`) to every process whose capabilities we do not cover |
//! | `landlock` | spawn | `/proc/PID/mem`, ptrace, `process_vm_*`, `pidfd_getfd` into processes outside the domain |
//!
//! Order: `rlimits`, no_new_privs, `landlock`, the capability steps, then the seccomp filter
//! (which kills `capset`, so the capability steps must come before it). Capabilities and the
//! Landlock domain belong to one thread; the filter alone has TSYNC. So the steps must run
//! while the process has one thread, and every thread created afterwards inherits them:
//! [`crate::prepare`] (or [`crate::Filter::prepare`]) does exactly that.

use std::fmt;

use nix::errno::Errno;
use sandbox_opts::{Set, SetSelection};

use crate::{Error, sys};

mod caps;
mod landlock;
use caps::capabilities;
use landlock::enter_landlock;

/// One step of the loader beyond the seccomp filter (see the table in the crate README's
/// threat model).
///
/// ```
/// use seccomp_sets::Step;
/// assert_eq!(Step::from_name("landlock"), Some(Step::Landlock));
/// assert_eq!(Step::Landlock.name(), "landlock");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// `resourcecontrol=deny`: `RLIMIT_NICE` and `RLIMIT_RTPRIO` set to 0 (process-wide).
    Rlimits,
    /// `elevateprivileges=deny|children`: the permitted set lowered to the effective set, the
    /// inheritable and ambient sets cleared, the bounding set reduced to the permitted set
    /// (with CAP_SETPCAP): no `execve` can make a capability effective again.
    PermittedCaps,
    /// `resourcecontrol=deny`: CAP_SYS_NICE dropped.
    CapSysNice,
    /// `spawn=deny`, caller holding CAP_SYS_ADMIN, with no_new_privs: CAP_SYS_ADMIN dropped.
    CapSysAdmin,
    /// `spawn=deny` when the Landlock domain could not be entered: CAP_SYS_PTRACE dropped.
    CapSysPtrace,
    /// `spawn=deny`: a Landlock domain that grants nothing new and takes nothing a daemon
    /// needs, so that ptrace-style access to processes outside it is refused.
    Landlock,
}

impl Step {
    /// Every step, in the order the loader runs them (the capability steps are one `capset`).
    pub const ALL: [Step; 6] = [
        Step::Rlimits,
        Step::Landlock,
        Step::PermittedCaps,
        Step::CapSysNice,
        Step::CapSysAdmin,
        Step::CapSysPtrace,
    ];

    /// The step's name (`--skip NAME`).
    pub const fn name(self) -> &'static str {
        match self {
            Step::Rlimits => "rlimits",
            Step::PermittedCaps => "permitted-caps",
            Step::CapSysNice => "cap-sys-nice",
            Step::CapSysAdmin => "cap-sys-admin",
            Step::CapSysPtrace => "cap-sys-ptrace",
            Step::Landlock => "landlock",
        }
    }

    /// The step called `name`.
    pub fn from_name(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Every name, comma-separated (for messages).
    pub fn names() -> String {
        Step::ALL.map(Step::name).join(", ")
    }

    /// The key (set) whose meaning the step enforces.
    pub const fn set(self) -> Set {
        match self {
            Step::Rlimits | Step::CapSysNice => Set::ResourceControl,
            Step::PermittedCaps => Set::Privileged,
            Step::CapSysAdmin | Step::CapSysPtrace | Step::Landlock => Set::Spawn,
        }
    }

    /// What the step does.
    pub const fn does(self) -> &'static str {
        match self {
            Step::Rlimits => "sets RLIMIT_NICE and RLIMIT_RTPRIO to 0 (process-wide)",
            Step::PermittedCaps => {
                "lowers the permitted set to the effective set, clears the inheritable and \
                 ambient sets, reduces the bounding set to the permitted set (with CAP_SETPCAP)"
            }
            Step::CapSysNice => "drops CAP_SYS_NICE (effective, permitted, bounding)",
            Step::CapSysAdmin => {
                "drops CAP_SYS_ADMIN (effective, permitted, bounding), only with no_new_privs \
                 (the kernel needs one of the two to load the filter)"
            }
            Step::CapSysPtrace => {
                "drops CAP_SYS_PTRACE when the Landlock domain could not be entered"
            }
            Step::Landlock => {
                "enters a Landlock domain handling only block-device creation and cross-directory \
                 renames, both allowed everywhere (grants nothing, takes nothing a daemon uses)"
            }
        }
    }

    /// The door the step closes, which the filter cannot see.
    pub const fn closes(self) -> &'static str {
        match self {
            Step::Rlimits => {
                "a raised priority through the rlimit path (a negative /proc/self/autogroup nice \
                 value) while setpriority is refused"
            }
            Step::PermittedCaps => {
                "execve making capabilities that are permitted but not effective effective again \
                 (no_new_privs does not stop it for root)"
            }
            Step::CapSysNice => {
                "a raised priority without setpriority: /proc/self/autogroup, the real-time I/O \
                 class (with CAP_SYS_ADMIN too)"
            }
            Step::CapSysAdmin => {
                "a cgroup v1 release_agent, which the kernel runs as a new root process with \
                 every capability and no filter (a spawn by proxy)"
            }
            Step::CapSysPtrace => {
                "ptrace access (/proc/PID/mem) to every process whose capabilities this one does \
                 not cover: PID 1 and every full-capability root service"
            }
            Step::Landlock => {
                "a spawn by proxy through /proc/PID/mem, ptrace, process_vm_writev or \
                 pidfd_getfd into an older process outside the domain"
            }
        }
    }

    /// The steps `sets` plans, in [`Step::ALL`] order.
    pub fn planned_for(sets: SetSelection) -> impl Iterator<Item = Step> {
        Step::ALL
            .into_iter()
            .filter(move |s| sets.contains(s.set()))
    }

    /// Whether the step changes one thread only (capabilities, the Landlock domain); the
    /// rlimits belong to the whole process.
    pub const fn per_thread(self) -> bool {
        !matches!(self, Step::Rlimits)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepOutcome {
    /// Done; what changed.
    Applied(String),
    /// Nothing to do here, and why (e.g. the capability is not held).
    NotNeeded(String),
    /// The caller skipped it by name ([`crate::Builder::skip`]).
    Skipped,
    /// The kernel or the process state does not allow it, and what stays open: the CLI and
    /// echod warn once; [`crate::Builder::strict`] makes it an error.
    Unavailable(String),
}

/// A step and what it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepReport {
    /// The step.
    pub step: Step,
    /// What it did.
    pub outcome: StepOutcome,
}

impl StepReport {
    fn new(step: Step, outcome: StepOutcome) -> StepReport {
        StepReport { step, outcome }
    }

    /// Whether the step could not be done.
    pub fn is_unavailable(&self) -> bool {
        matches!(self.outcome, StepOutcome::Unavailable(_))
    }
}

impl fmt::Display for StepReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            StepOutcome::Applied(what) => write!(f, "{}: applied: {what}", self.step),
            StepOutcome::NotNeeded(why) => write!(f, "{}: not needed: {why}", self.step),
            StepOutcome::Skipped => write!(
                f,
                "{}: skipped by the caller; open: {}",
                self.step,
                self.step.closes()
            ),
            StepOutcome::Unavailable(why) => write!(f, "{}: UNAVAILABLE: {why}", self.step),
        }
    }
}

/// What the steps need to know about the filter.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan<'a> {
    pub(crate) sets: SetSelection,
    pub(crate) skipped: &'a [Step],
    /// no_new_privs whatever the caller's capabilities (the filter's decision).
    pub(crate) no_new_privs: bool,
    pub(crate) strict: bool,
}

/// What the steps did, before the filter.
#[derive(Clone, Debug, Default)]
pub(crate) struct Confined {
    pub(crate) steps: Vec<StepReport>,
    pub(crate) landlock_abi: Option<u32>,
}

/// Landlock on this kernel, in words: "ABI 7", or why not.
///
/// ```
/// let s = seccomp_sets::landlock_status();
/// assert!(s.starts_with("ABI ") || s.contains("Landlock"), "{s}");
/// ```
pub fn landlock_status() -> String {
    match sys::landlock_abi() {
        Ok(abi) => format!("ABI {abi}"),
        Err(e) => landlock_missing(e),
    }
}

fn landlock_missing(e: Errno) -> String {
    match e {
        Errno::EOPNOTSUPP => "the kernel has Landlock but it is not enabled (not in the lsm= \
                              boot parameter or CONFIG_LSM)"
            .into(),
        Errno::ENOSYS => "the kernel has no Landlock (Linux < 5.13 or CONFIG_SECURITY_LANDLOCK \
                          off)"
            .into(),
        e => format!("landlock_create_ruleset failed: {e}"),
    }
}

/// Runs every step `plan` calls for, in order, with `threads` threads running (every
/// per-thread step is reported unavailable when more than one runs, except Landlock on ABI 8+,
/// which has its own TSYNC); sets no_new_privs as the filter decided. `Err` only for a real
/// failure of a call, or an unavailable step under `strict`.
pub(crate) fn run(plan: Plan<'_>, threads: usize) -> Result<Confined, Error> {
    let planned: Vec<Step> = Step::planned_for(plan.sets).collect();
    let skipped = |s: Step| plan.skipped.contains(&s);
    let mut reports: Vec<StepReport> = Vec::new();
    let landlock_abi = sys::landlock_abi();
    let single = threads <= 1;

    if planned.contains(&Step::Rlimits) {
        reports.push(StepReport::new(
            Step::Rlimits,
            if skipped(Step::Rlimits) {
                StepOutcome::Skipped
            } else {
                for (name, r) in [
                    ("RLIMIT_NICE", libc::RLIMIT_NICE),
                    ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO),
                ] {
                    sys::zero_rlimit(r).map_err(|errno| Error::Step {
                        step: Step::Rlimits.name(),
                        what: name,
                        errno,
                    })?;
                }
                StepOutcome::Applied("RLIMIT_NICE and RLIMIT_RTPRIO are 0".into())
            },
        ));
    }

    // no_new_privs before Landlock and seccomp (both need it or CAP_SYS_ADMIN), and decided
    // before CAP_SYS_ADMIN is dropped.
    if must_set_no_new_privs(plan.no_new_privs, sys::has_cap_sys_admin()) {
        sys::set_no_new_privs()?;
    }
    let nnp = sys::no_new_privs();

    let mut landlock_entered = false;
    if planned.contains(&Step::Landlock) {
        let outcome = if skipped(Step::Landlock) {
            StepOutcome::Skipped
        } else {
            match landlock_abi {
                Err(e) => StepOutcome::Unavailable(format!(
                    "{}; open: {}",
                    landlock_missing(e),
                    Step::Landlock.closes()
                )),
                Ok(abi) if !single && abi < 8 => StepOutcome::Unavailable(format!(
                    "{threads} threads already run and Landlock ABI {abi} applies a domain to \
                     one thread only (ABI 8, Linux 7.0, has TSYNC): call seccomp_sets::prepare \
                     before starting threads; open: {}",
                    Step::Landlock.closes()
                )),
                Ok(abi) => enter_landlock(abi, !single)?,
            }
        };
        landlock_entered = matches!(outcome, StepOutcome::Applied(_));
        reports.push(StepReport::new(Step::Landlock, outcome));
    }

    let cap_steps: Vec<Step> = planned
        .iter()
        .copied()
        .filter(|s| s.per_thread() && *s != Step::Landlock)
        .collect();
    if !cap_steps.is_empty() {
        if single {
            reports.extend(capabilities(&cap_steps, &skipped, nnp, landlock_entered)?);
        } else {
            for step in cap_steps {
                reports.push(StepReport::new(
                    step,
                    if skipped(step) {
                        StepOutcome::Skipped
                    } else {
                        StepOutcome::Unavailable(format!(
                            "{threads} threads already run and capabilities belong to each \
                             thread: call seccomp_sets::prepare before starting threads; \
                             open: {}",
                            step.closes()
                        ))
                    },
                ));
            }
        }
    }
    reports.sort_by_key(|r| Step::ALL.iter().position(|s| *s == r.step));
    if plan.strict {
        if let Some(r) = reports.iter().find(|r| r.is_unavailable()) {
            return Err(Error::StepUnavailable {
                step: r.step.name(),
                why: match &r.outcome {
                    StepOutcome::Unavailable(why) => why.clone(),
                    _ => String::new(),
                },
            });
        }
    }
    #[cfg(feature = "log")]
    for report in &reports {
        if report.is_unavailable() {
            log::warn!("sandbox: {report}");
        } else {
            log::info!("sandbox: {report}");
        }
    }
    Ok(Confined {
        steps: reports,
        landlock_abi: landlock_abi.ok(),
    })
}

/// Whether loading sets no_new_privs first: when the sandbox asks for it, and whenever the
/// caller lacks CAP_SYS_ADMIN (the kernel refuses a filter from such a caller without it).
pub(crate) fn must_set_no_new_privs(required: bool, has_cap_sys_admin: bool) -> bool {
    required || !has_cap_sys_admin
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_steps_follow_their_keys() {
        for s in Step::ALL {
            assert_eq!(Step::from_name(s.name()), Some(s));
        }
        assert_eq!(Step::from_name("seccomp"), None);
        let spawn = SetSelection::EMPTY.with(Set::Spawn);
        assert_eq!(
            Step::planned_for(spawn).collect::<Vec<_>>(),
            [Step::Landlock, Step::CapSysAdmin, Step::CapSysPtrace]
        );
        let all = SetSelection::EMPTY
            .with(Set::Spawn)
            .with(Set::Privileged)
            .with(Set::ResourceControl);
        assert_eq!(Step::planned_for(all).count(), Step::ALL.len());
        assert_eq!(
            Step::planned_for(SetSelection::EMPTY.with(Set::Default)).count(),
            0
        );
    }

    #[test]
    fn no_new_privs_when_asked_or_without_cap_sys_admin() {
        assert!(must_set_no_new_privs(true, true));
        assert!(must_set_no_new_privs(true, false));
        assert!(must_set_no_new_privs(false, false));
        assert!(!must_set_no_new_privs(false, true));
    }

    #[test]
    fn reports_read_as_sentences() {
        let r = StepReport::new(
            Step::Landlock,
            StepOutcome::Unavailable("no Landlock".into()),
        );
        assert!(r.is_unavailable());
        assert_eq!(r.to_string(), "landlock: UNAVAILABLE: no Landlock");
        let r = StepReport::new(Step::CapSysNice, StepOutcome::Skipped);
        assert!(
            r.to_string()
                .starts_with("cap-sys-nice: skipped by the caller; open: ")
        );
    }

    #[test]
    fn landlock_status_agrees_with_the_kernel() {
        let s = landlock_status();
        match sys::landlock_abi() {
            Ok(abi) => assert_eq!(s, format!("ABI {abi}")),
            Err(_) => assert!(s.contains("Landlock"), "{s}"),
        }
    }
}
