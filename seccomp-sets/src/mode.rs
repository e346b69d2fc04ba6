//! How a filter treats blocked calls: [`Mode`] (enforce, audit, report), [`KillAction`] and the
//! resulting [`Effect`] of each row.

use std::fmt;
use std::str::FromStr;

use libseccomp::ScmpAction;

use crate::sys;

/// How blocked calls are treated.
///
/// ```
/// use seccomp_sets::Mode;
/// assert_eq!("audit".parse::<Mode>().unwrap(), Mode::Audit);
/// assert_eq!(Mode::Report.to_string(), "report");
/// assert!("warn".parse::<Mode>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Block: each row's [`Action`](crate::table::Action) (kill, `EPERM`, `ENOSYS`).
    #[default]
    Enforce,
    /// Log instead of block (`SCMP_ACT_LOG`): every row and foreign-ABI call
    /// is allowed and written to the audit log / kernel log, to learn what a
    /// daemon would trip on.
    Audit,
    /// Like enforce, but kill rows TRAP into a SIGSYS handler that prints the
    /// blocked call's name and ABI to stderr, then dies by SIGSYS.
    Report,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 3] = [Mode::Enforce, Mode::Audit, Mode::Report];

    /// `enforce`, `audit` or `report`.
    pub const fn name(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Audit => "audit",
            Mode::Report => "report",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error from parsing a [`Mode`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseModeError(String);

impl fmt::Display for ParseModeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown mode {:?}: expected enforce, audit or report",
            self.0
        )
    }
}

impl std::error::Error for ParseModeError {}

impl From<ParseModeError> for std::io::Error {
    fn from(e: ParseModeError) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
    }
}

impl FromStr for Mode {
    type Err = ParseModeError;
    fn from_str(s: &str) -> Result<Mode, ParseModeError> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| ParseModeError(s.to_owned()))
    }
}

/// How [`Action::Kill`](crate::table::Action::Kill) is carried out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KillAction {
    /// `SCMP_ACT_KILL_PROCESS` (Linux 4.14+).
    Process,
    /// `SCMP_ACT_TRAP`: SIGSYS, which kills unless the program catches it.
    Trap,
}

impl KillAction {
    /// What the running kernel supports, as QEMU decides it: `Process` when
    /// `SECCOMP_GET_ACTION_AVAIL` accepts `SECCOMP_RET_KILL_PROCESS`.
    pub fn detect() -> KillAction {
        if sys::kill_process_available() {
            KillAction::Process
        } else {
            KillAction::Trap
        }
    }
}

/// The libseccomp action a row or the bad-arch case gets in a filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Effect {
    /// `SCMP_ACT_KILL_PROCESS`.
    KillProcess,
    /// `SCMP_ACT_TRAP`.
    Trap,
    /// `SCMP_ACT_ERRNO(n)`.
    Errno(i32),
    /// `SCMP_ACT_LOG`.
    Log,
}

impl Effect {
    /// libseccomp's token, e.g. `SCMP_ACT_KILL_PROCESS` (errno not included).
    pub const fn scmp_name(self) -> &'static str {
        match self {
            Effect::KillProcess => "SCMP_ACT_KILL_PROCESS",
            Effect::Trap => "SCMP_ACT_TRAP",
            Effect::Errno(_) => "SCMP_ACT_ERRNO",
            Effect::Log => "SCMP_ACT_LOG",
        }
    }

    pub(crate) fn scmp(self) -> ScmpAction {
        match self {
            Effect::KillProcess => ScmpAction::KillProcess,
            Effect::Trap => ScmpAction::Trap,
            Effect::Errno(e) => ScmpAction::Errno(e),
            Effect::Log => ScmpAction::Log,
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Effect::KillProcess => f.write_str("kill process"),
            Effect::Trap => f.write_str("trap (SIGSYS)"),
            Effect::Errno(e) => write!(f, "errno {}", nix::errno::Errno::from_raw(*e)),
            Effect::Log => f.write_str("log and allow"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_mode_is_named_with_the_choices() {
        let err = "enforcing".parse::<Mode>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown mode \"enforcing\": expected enforce, audit or report"
        );
    }
}
