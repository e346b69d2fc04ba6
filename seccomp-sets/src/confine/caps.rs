//! The capability steps: one `capset`, and bounding-set drops when CAP_SETPCAP is permitted.

use super::{Step, StepOutcome, StepReport};
use crate::{Error, sys};

/// `CAP_SETPCAP`: changes the bounding set.
const CAP_SETPCAP: u32 = 8;
/// `CAP_SYS_PTRACE`.
const CAP_SYS_PTRACE: u32 = 19;
/// `CAP_SYS_ADMIN`.
const CAP_SYS_ADMIN: u32 = 21;
/// `CAP_SYS_NICE`.
const CAP_SYS_NICE: u32 = 23;

const fn bit(cap: u32) -> u64 {
    1 << cap
}

/// The capability steps, as one `capset` (plus bounding-set drops when CAP_SETPCAP is
/// permitted).
pub(super) fn capabilities(
    steps: &[Step],
    skipped: &dyn Fn(Step) -> bool,
    nnp: bool,
    landlock_entered: bool,
) -> Result<Vec<StepReport>, Error> {
    let failed = |step: Step, what: &'static str| {
        move |errno| Error::Step {
            step: step.name(),
            what,
            errno,
        }
    };
    let before = sys::caps().map_err(failed(Step::PermittedCaps, "capget"))?;
    let held = |cap: u32| (before.effective | before.permitted) & bit(cap) != 0;
    let mut reports = Vec::new();
    let mut drop: u64 = 0;
    let mut lower_permitted = false;
    for &step in steps {
        if skipped(step) {
            reports.push(StepReport::new(step, StepOutcome::Skipped));
            continue;
        }
        let cap = match step {
            Step::PermittedCaps => {
                lower_permitted = true;
                continue;
            }
            Step::CapSysNice => CAP_SYS_NICE,
            Step::CapSysAdmin => CAP_SYS_ADMIN,
            Step::CapSysPtrace => CAP_SYS_PTRACE,
            Step::Rlimits | Step::Landlock => continue,
        };
        let outcome = if !held(cap) {
            StepOutcome::NotNeeded("not held".into())
        } else if step == Step::CapSysAdmin && !nnp {
            StepOutcome::Unavailable(format!(
                "kept: no_new_privs is opted out, so loading the filter needs CAP_SYS_ADMIN; \
                 open: {}",
                step.closes()
            ))
        } else if step == Step::CapSysPtrace && landlock_entered {
            StepOutcome::NotNeeded(
                "the Landlock domain already refuses ptrace access to processes outside it".into(),
            )
        } else {
            drop |= bit(cap);
            StepOutcome::Applied(String::new())
        };
        reports.push(StepReport::new(step, outcome));
    }

    let mut target = sys::Caps {
        effective: before.effective & !drop,
        permitted: before.permitted & !drop,
        inheritable: before.inheritable & !drop,
    };
    if lower_permitted {
        target.permitted = before.effective & !drop;
        target.inheritable = 0;
    }
    target.effective &= target.permitted;
    let can_bound = before.permitted & bit(CAP_SETPCAP) != 0;
    let last = sys::last_cap();
    let mut bounding: Vec<u32> = (0..=last.min(63))
        .filter(|&c| sys::in_bounding_set(c))
        .filter(|&c| {
            if lower_permitted {
                target.permitted & bit(c) == 0
            } else {
                drop & bit(c) != 0
            }
        })
        .collect();
    // CAP_SETPCAP itself last: the drops before it need it.
    bounding.sort_by_key(|&c| c == CAP_SETPCAP);
    if can_bound && !bounding.is_empty() {
        if before.effective & bit(CAP_SETPCAP) == 0 {
            sys::set_caps(sys::Caps {
                effective: before.effective | bit(CAP_SETPCAP),
                ..before
            })
            .map_err(failed(
                Step::PermittedCaps,
                "raising CAP_SETPCAP to change the bounding set",
            ))?;
        }
        for &c in &bounding {
            sys::drop_from_bounding_set(c)
                .map_err(failed(Step::PermittedCaps, "PR_CAPBSET_DROP"))?;
        }
    }
    if lower_permitted {
        sys::clear_ambient().map_err(failed(Step::PermittedCaps, "clearing the ambient set"))?;
    }
    sys::set_caps(target).map_err(failed(Step::PermittedCaps, "capset"))?;

    let bounded = if !can_bound {
        "the bounding set is unchanged (CAP_SETPCAP not held; no_new_privs keeps an exec from \
         gaining beyond the permitted set)"
    } else if bounding.is_empty() {
        "the bounding set already matched"
    } else {
        "dropped from the bounding set too"
    };
    for r in &mut reports {
        if let StepOutcome::Applied(detail) = &mut r.outcome {
            *detail = format!("dropped from the effective and permitted sets; {bounded}");
        }
    }
    if lower_permitted {
        let dormant = before.permitted & !before.effective;
        let outcome = if dormant == 0
            && before.inheritable == 0
            && (!can_bound || bounding.is_empty())
        {
            StepOutcome::NotNeeded(
                "every permitted capability is effective, none is inheritable: an exec \
                 restores nothing"
                    .into(),
            )
        } else {
            StepOutcome::Applied(format!(
                "permitted set lowered to the effective set ({} capabilities were permitted but \
                 not effective), inheritable and ambient sets cleared; {bounded}",
                dormant.count_ones()
            ))
        };
        reports.push(StepReport::new(Step::PermittedCaps, outcome));
    }
    Ok(reports)
}
