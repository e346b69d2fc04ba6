//! What [`RemoteSet`](super::RemoteSet) operations return: the added, removed and refused
//! remotes and the warnings to log.

use std::fmt;

use crate::origin::{Origin, OriginSet};
use crate::parse::ParseError;
use crate::policy::Reason;
use crate::ratelimit::RateLimitedWarning;
use crate::remote::Remote;

/// A remote string that did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRemote {
    /// The string as given.
    pub input: String,
    /// Where it came from.
    pub origin: Origin,
    /// The parser's error.
    pub error: ParseError,
    /// The rate-limited warning to log, for the database and the config file
    /// (`None` for other origins or when the rate limiter suppressed it).
    pub warning: Option<RateLimitedWarning>,
}

impl fmt::Display for InvalidRemote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)
    }
}

impl std::error::Error for InvalidRemote {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// A parsed remote that the policy rejects from its origin.
///
/// `Display` is the reason alone; for `pfd:` that is exactly
/// `pfd: remotes can only be specified on the command line`, the reply for the
/// control socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The string as given.
    pub input: String,
    /// Where it came from.
    pub origin: Origin,
    /// The parsed remote.
    pub remote: Remote,
    /// Why it is rejected.
    pub reason: Reason,
    /// The rate-limited warning to log, for the database and the config file
    /// (`None` for other origins or when the rate limiter suppressed it).
    pub warning: Option<RateLimitedWarning>,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.reason)
    }
}

impl std::error::Error for Rejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.reason)
    }
}

/// Why [`RemoteSet::add`](super::RemoteSet::add) refused a remote.
///
/// ```
/// use remote_policy::{Origin, Policy, RemoteSet};
/// use remote_policy::set::Refusal;
///
/// let mut set = RemoteSet::new(Policy::default());
/// let err = set.add(Origin::ControlSocket, "pfd:3").unwrap_err();
/// assert!(matches!(err, Refusal::Rejected(_)));
/// assert_eq!(err.to_string(), "pfd: remotes can only be specified on the command line");
/// assert_eq!(std::io::Error::from(err).kind(), std::io::ErrorKind::PermissionDenied);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The string is not a remote.
    Invalid(Box<InvalidRemote>),
    /// The policy rejects the remote from this origin.
    Rejected(Box<Rejection>),
}

impl Refusal {
    /// The rate-limited warning to log, if any (database and config file
    /// origins only).
    pub fn warning(&self) -> Option<&RateLimitedWarning> {
        match self {
            Refusal::Invalid(i) => i.warning.as_ref(),
            Refusal::Rejected(r) => r.warning.as_ref(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Invalid(i) => write!(f, "{i}"),
            Refusal::Rejected(r) => write!(f, "{r}"),
        }
    }
}

impl std::error::Error for Refusal {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Refusal::Invalid(i) => Some(&i.error),
            Refusal::Rejected(r) => Some(&r.reason),
        }
    }
}

impl From<Refusal> for std::io::Error {
    fn from(err: Refusal) -> Self {
        let kind = match &err {
            Refusal::Invalid(_) => std::io::ErrorKind::InvalidInput,
            Refusal::Rejected(_) => std::io::ErrorKind::PermissionDenied,
        };
        std::io::Error::new(kind, err)
    }
}

/// What [`RemoteSet::add`](super::RemoteSet::add) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// The remote was not in the set: open it.
    New(Remote),
    /// The remote was already in the set from other origins; this origin now
    /// holds it too. Nothing to open.
    NewOrigin(Remote),
    /// This origin already held the remote (same canonical form). Nothing
    /// changed.
    Duplicate(Remote),
}

impl Added {
    /// The remote, in any case.
    pub fn remote(&self) -> &Remote {
        match self {
            Added::New(r) | Added::NewOrigin(r) | Added::Duplicate(r) => r,
        }
    }
}

/// What [`RemoteSet::remove`](super::RemoteSet::remove) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    /// No origin holds the remote any more: close it.
    Gone(Remote),
    /// The origin let go, but other origins still hold the remote.
    StillHeld {
        /// The remote.
        remote: Remote,
        /// The origins that still hold it.
        by: OriginSet,
    },
}

/// Why [`RemoteSet::remove`](super::RemoteSet::remove) failed.
///
/// ```
/// use remote_policy::{Origin, Policy, RemoteSet};
/// use remote_policy::set::RemoveError;
///
/// let mut set = RemoteSet::new(Policy::default());
/// let err = set.remove(Origin::ControlSocket, "ptcp:6641").unwrap_err();
/// assert!(matches!(err, RemoveError::NotFound { .. }));
/// assert_eq!(err.to_string(), "remote ptcp:6641:0.0.0.0 was not added from the control socket");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemoveError {
    /// The string is not a remote.
    Invalid {
        /// The string as given.
        input: String,
        /// The parser's error.
        error: ParseError,
    },
    /// The origin does not hold this remote.
    NotFound {
        /// The parsed remote.
        remote: Remote,
        /// The origin that tried to remove it.
        origin: Origin,
    },
}

impl fmt::Display for RemoveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoveError::Invalid { error, .. } => write!(f, "{error}"),
            RemoveError::NotFound { remote, origin } => {
                write!(f, "remote {remote} was not added from the {origin}")
            }
        }
    }
}

impl std::error::Error for RemoveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RemoveError::Invalid { error, .. } => Some(error),
            RemoveError::NotFound { .. } => None,
        }
    }
}

impl From<RemoveError> for std::io::Error {
    fn from(err: RemoveError) -> Self {
        let kind = match &err {
            RemoveError::Invalid { .. } => std::io::ErrorKind::InvalidInput,
            RemoveError::NotFound { .. } => std::io::ErrorKind::NotFound,
        };
        std::io::Error::new(kind, err)
    }
}

/// The result of [`RemoteSet::reconcile`](super::RemoteSet::reconcile) (or [`RemoteSet::set_policy`](super::RemoteSet::set_policy)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciliation {
    /// Remotes that were not in the set and now are: open them.
    pub added: Vec<Remote>,
    /// Remotes that no origin holds any more: close them.
    pub removed: Vec<Remote>,
    /// Entries the policy rejects, with the reason.
    pub rejected: Vec<Rejection>,
    /// Entries that are not remotes.
    pub parse_errors: Vec<InvalidRemote>,
}

impl Reconciliation {
    /// Whether the set of remotes changed (something to open or close).
    pub fn changed(&self) -> bool {
        !(self.added.is_empty() && self.removed.is_empty())
    }

    /// The warnings to log (those the rate limiter let through): parse errors
    /// first, then rejections, each in input order.
    pub fn warnings(&self) -> impl Iterator<Item = &RateLimitedWarning> {
        self.parse_errors
            .iter()
            .filter_map(|e| e.warning.as_ref())
            .chain(self.rejected.iter().filter_map(|r| r.warning.as_ref()))
    }
}
