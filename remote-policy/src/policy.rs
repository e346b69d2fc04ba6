//! [`Policy`]: which origins may supply which kinds of remote.

use std::fmt;

use crate::kind::RemoteKind;
use crate::origin::{Origin, OriginSet};
use crate::remote::Remote;

/// The exact rejection text for a `pfd:` remote from anywhere but the command
/// line (the Open vSwitch 4.0 wording).
pub const PFD_COMMAND_LINE_ONLY: &str = "pfd: remotes can only be specified on the command line";

/// Why a [`Policy`] rejects a remote from an origin.
///
/// `Display` is the message given to the user: for `pfd:` it is exactly
/// [`PFD_COMMAND_LINE_ONLY`].
///
/// ```
/// use remote_policy::{Origin, Policy, Reason, Remote};
///
/// let pfd: Remote = "pfd:3".parse().unwrap();
/// let reason = Policy::default().check(&pfd, Origin::ControlSocket).unwrap_err();
/// assert_eq!(reason, Reason::PfdCommandLineOnly);
/// assert_eq!(reason.to_string(), "pfd: remotes can only be specified on the command line");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// A `pfd:` remote from an origin other than the command line. No policy
    /// can allow this.
    PfdCommandLineOnly,
    /// A `db:` remote read from the database itself, which the policy does not
    /// allow (the default).
    DbFromDatabase,
    /// Any other kind/origin pair that the policy does not allow, including a
    /// `pfd:` remote from the command line when a policy forbids `pfd:`
    /// altogether.
    NotAllowed {
        /// The remote's kind.
        kind: RemoteKind,
        /// Where it came from.
        origin: Origin,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::PfdCommandLineOnly => f.write_str(PFD_COMMAND_LINE_ONLY),
            Reason::DbFromDatabase => {
                f.write_str("db: remotes cannot be read from the database itself")
            }
            Reason::NotAllowed { kind, origin } => write!(
                f,
                "{kind}: remotes are not allowed from the {origin} by the remote policy"
            ),
        }
    }
}

impl std::error::Error for Reason {}

impl From<Reason> for std::io::Error {
    fn from(reason: Reason) -> Self {
        std::io::Error::new(std::io::ErrorKind::PermissionDenied, reason)
    }
}

/// Which origins may supply each [`RemoteKind`].
///
/// The default policy allows everything except:
/// - `pfd:` from anywhere but the command line (an invariant: no `Policy`
///   value, whether built in code or loaded from a file, can loosen it; see
///   [`Policy::set_allowed`]);
/// - `db:` from the database itself.
///
/// ```
/// use remote_policy::{Origin, OriginSet, Policy, RemoteKind};
///
/// let mut policy = Policy::default();
/// assert!(policy.check_kind(RemoteKind::Ptcp, Origin::Database).is_ok());
///
/// // Tighten: ptcp: only from the command line and the config file.
/// policy
///     .set_allowed(RemoteKind::Ptcp, [Origin::CommandLine, Origin::ConfigFile].into_iter().collect())
///     .unwrap();
/// assert!(policy.check_kind(RemoteKind::Ptcp, Origin::Database).is_err());
///
/// // pfd: can never be allowed from the database.
/// assert!(policy.set_allowed(RemoteKind::Pfd, OriginSet::ALL).is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Policy {
    allowed: [OriginSet; RemoteKind::ALL.len()],
}

impl Default for Policy {
    fn default() -> Self {
        let mut allowed = [OriginSet::ALL; RemoteKind::ALL.len()];
        allowed[RemoteKind::Pfd as usize] = OriginSet::only(Origin::CommandLine);
        allowed[RemoteKind::Db as usize] = OriginSet::ALL.without(Origin::Database);
        Policy { allowed }
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for kind in RemoteKind::ALL {
            map.entry(&kind, &self.allowed_origins(kind));
        }
        map.finish()
    }
}

impl Policy {
    /// The default policy (same as [`Policy::default`]).
    ///
    /// ```
    /// assert_eq!(remote_policy::Policy::new(), remote_policy::Policy::default());
    /// ```
    pub fn new() -> Self {
        Policy::default()
    }

    /// The origins allowed to supply `kind`.
    ///
    /// ```
    /// use remote_policy::{Origin, OriginSet, Policy, RemoteKind};
    /// assert_eq!(Policy::default().allowed_origins(RemoteKind::Pfd), OriginSet::only(Origin::CommandLine));
    /// ```
    pub fn allowed_origins(&self, kind: RemoteKind) -> OriginSet {
        self.allowed[kind as usize]
    }

    /// Sets the origins allowed to supply `kind`.
    ///
    /// Fails with [`PolicyError::PfdLoosened`] if `kind` is `pfd` and
    /// `origins` holds anything but the command line: `pfd:` remotes can be
    /// restricted further (down to none at all) but never opened to another
    /// origin. The policy is unchanged on error.
    ///
    /// ```
    /// use remote_policy::{Origin, OriginSet, Policy, PolicyError, RemoteKind};
    ///
    /// let mut policy = Policy::default();
    /// policy.set_allowed(RemoteKind::Pfd, OriginSet::EMPTY).unwrap(); // no pfd: at all
    /// let err = policy
    ///     .set_allowed(RemoteKind::Pfd, OriginSet::only(Origin::ControlSocket))
    ///     .unwrap_err();
    /// assert!(matches!(err, PolicyError::PfdLoosened { origin: Origin::ControlSocket }));
    /// ```
    pub fn set_allowed(&mut self, kind: RemoteKind, origins: OriginSet) -> Result<(), PolicyError> {
        if kind == RemoteKind::Pfd {
            if let Some(origin) = origins.without(Origin::CommandLine).iter().next() {
                return Err(PolicyError::PfdLoosened { origin });
            }
        }
        self.allowed[kind as usize] = origins;
        Ok(())
    }

    /// Whether a remote of `kind` may come from `origin`.
    ///
    /// ```
    /// use remote_policy::{Origin, Policy, Reason, RemoteKind};
    /// let policy = Policy::default();
    /// assert_eq!(policy.check_kind(RemoteKind::Db, Origin::Database), Err(Reason::DbFromDatabase));
    /// assert_eq!(policy.check_kind(RemoteKind::Db, Origin::ConfigFile), Ok(()));
    /// ```
    pub fn check_kind(&self, kind: RemoteKind, origin: Origin) -> Result<(), Reason> {
        // The pfd: rule is checked first and independently of the table, so
        // that even a corrupted table could not let one through.
        if kind == RemoteKind::Pfd && origin != Origin::CommandLine {
            return Err(Reason::PfdCommandLineOnly);
        }
        if self.allowed_origins(kind).contains(origin) {
            Ok(())
        } else if kind == RemoteKind::Db && origin == Origin::Database {
            Err(Reason::DbFromDatabase)
        } else {
            Err(Reason::NotAllowed { kind, origin })
        }
    }

    /// Whether `remote` may come from `origin`.
    ///
    /// ```
    /// use remote_policy::{Origin, Policy, Remote};
    /// let policy = Policy::default();
    /// let pfd: Remote = "pfd:3".parse().unwrap();
    /// assert!(policy.check(&pfd, Origin::CommandLine).is_ok());
    /// assert!(policy.check(&pfd, Origin::ConfigFile).is_err());
    /// ```
    pub fn check(&self, remote: &Remote, origin: Origin) -> Result<(), Reason> {
        self.check_kind(remote.kind(), origin)
    }
}

/// Why a policy could not be built or loaded.
///
/// ```
/// use remote_policy::PolicyError;
/// let err = PolicyError::UnknownKind { key: "tcp6".into() };
/// assert_eq!(
///     err.to_string(),
///     "unknown remote kind \"tcp6\" in policy: valid kinds are unix, tcp, ssl, punix, ptcp, pssl, pfd, db",
/// );
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum PolicyError {
    /// A key is not a [`RemoteKind`] name.
    UnknownKind {
        /// The key as written.
        key: String,
    },
    /// An origin is not an [`Origin`] name.
    UnknownOrigin {
        /// The kind whose list holds it.
        kind: RemoteKind,
        /// The origin as written.
        value: String,
    },
    /// A kind is listed twice.
    DuplicateKind {
        /// The kind.
        kind: RemoteKind,
    },
    /// An origin is listed twice for one kind.
    DuplicateOrigin {
        /// The kind.
        kind: RemoteKind,
        /// The origin.
        origin: Origin,
    },
    /// The policy would allow `pfd:` remotes from an origin other than the
    /// command line.
    PfdLoosened {
        /// The origin it tried to allow.
        origin: Origin,
    },
    /// The JSON is malformed or has the wrong shape.
    #[cfg(feature = "serde")]
    Json(serde_json::Error),
    /// The policy file could not be read.
    #[cfg(feature = "serde")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The error from the file system.
        source: std::io::Error,
    },
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::UnknownKind { key } => write!(
                f,
                "unknown remote kind {key:?} in policy: valid kinds are {}",
                RemoteKind::all_names()
            ),
            PolicyError::UnknownOrigin { kind, value } => write!(
                f,
                "unknown origin {value:?} for \"{kind}\" in policy: valid origins are {}",
                Origin::all_names()
            ),
            PolicyError::DuplicateKind { kind } => {
                write!(f, "remote kind \"{kind}\" is listed twice in policy")
            }
            PolicyError::DuplicateOrigin { kind, origin } => write!(
                f,
                "origin \"{}\" is listed twice for \"{kind}\" in policy",
                origin.name()
            ),
            PolicyError::PfdLoosened { origin } => write!(
                f,
                "policy allows pfd: remotes from origin \"{}\", but {PFD_COMMAND_LINE_ONLY} \
                 (a policy may only allow [\"command-line\"] or [] for \"pfd\")",
                origin.name()
            ),
            #[cfg(feature = "serde")]
            PolicyError::Json(e) => write!(f, "invalid policy JSON: {e}"),
            #[cfg(feature = "serde")]
            PolicyError::Io { path, source } => {
                write!(f, "cannot read policy file {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for PolicyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            #[cfg(feature = "serde")]
            PolicyError::Json(e) => Some(e),
            #[cfg(feature = "serde")]
            PolicyError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<PolicyError> for std::io::Error {
    fn from(err: PolicyError) -> Self {
        let kind = match &err {
            #[cfg(feature = "serde")]
            PolicyError::Io { source, .. } => source.kind(),
            _ => std::io::ErrorKind::InvalidData,
        };
        std::io::Error::new(kind, err)
    }
}
