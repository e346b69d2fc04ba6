//! The Landlock step: entering a domain that holds the process's own processes only.

use super::{Step, StepOutcome};
use crate::Error;

/// The Landlock domain (see [`Step::Landlock`]); `all_threads` with TSYNC (ABI 8).
pub(super) fn enter_landlock(abi: u32, all_threads: bool) -> Result<StepOutcome, Error> {
    use landlock::{
        AccessFs, PathBeneath, PathFd, RestrictSelfAttr, Ruleset, RulesetAttr, RulesetCreatedAttr,
        RulesetStatus,
    };
    let failed = |what: &'static str| {
        move |e: landlock::RulesetError| Error::Landlock {
            what,
            source: e.to_string(),
        }
    };
    // Both rights are allowed beneath "/": the domain grants nothing and takes nothing. REFER is
    // handled because it is the one right every domain denies unless handled and allowed
    // (cross-directory rename and link); MAKE_BLOCK because ABI 1 kernels need a handled right
    // for a domain to exist at all, and creating block devices needs CAP_MKNOD anyway.
    let rights = AccessFs::Refer | AccessFs::MakeBlock;
    let root = PathFd::new("/").map_err(|e| Error::Landlock {
        what: "opening / for the rule",
        source: e.to_string(),
    })?;
    let mut created = Ruleset::default()
        .handle_access(rights)
        .map_err(failed("handling the rights"))?
        .create()
        .map_err(failed("creating the ruleset"))?
        .add_rule(PathBeneath::new(root, rights))
        .map_err(failed("adding the rule beneath /"))?
        // no_new_privs was decided (and set) before, as the filter says.
        .no_new_privs(false);
    if all_threads {
        created = created
            .all_threads(true)
            .map_err(failed("asking for every thread (TSYNC)"))?;
    }
    let status = created
        .restrict_self()
        .map_err(failed("landlock_restrict_self"))?;
    Ok(match status.ruleset {
        RulesetStatus::NotEnforced => StepOutcome::Unavailable(format!(
            "the kernel did not enforce the domain (ABI {abi}); open: {}",
            Step::Landlock.closes()
        )),
        RulesetStatus::PartiallyEnforced => StepOutcome::Applied(format!(
            "domain entered (ABI {abi}: cross-directory rename and link now fail with EXDEV); \
             ptrace access to processes outside it is refused"
        )),
        RulesetStatus::FullyEnforced => StepOutcome::Applied(format!(
            "domain entered (Landlock ABI {abi}{}): ptrace access to processes outside it is \
             refused",
            if all_threads { ", every thread" } else { "" }
        )),
    })
}
