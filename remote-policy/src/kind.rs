//! [`RemoteKind`]: the eight kinds of remote, with stable lowercase names.

use std::fmt;
use std::str::FromStr;

/// The kind of a remote, named by the prefix before the first `:`.
///
/// The names returned by [`RemoteKind::name`] (`unix`, `tcp`, `ssl`, `punix`,
/// `ptcp`, `pssl`, `pfd`, `db`) are stable: they are the remote prefixes and the
/// keys of a policy file.
///
/// ```
/// use remote_policy::RemoteKind;
///
/// assert_eq!(RemoteKind::Pfd.name(), "pfd");
/// assert_eq!("ptcp".parse::<RemoteKind>().unwrap(), RemoteKind::Ptcp);
/// assert!(RemoteKind::Ptcp.is_passive());
/// assert!("PFD".parse::<RemoteKind>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RemoteKind {
    /// `unix:PATH`: connect to a Unix domain socket.
    Unix,
    /// `tcp:HOST[:PORT]`: connect over TCP.
    Tcp,
    /// `ssl:HOST[:PORT]`: connect over TCP with TLS.
    Ssl,
    /// `punix:PATH`: listen on a Unix domain socket.
    Punix,
    /// `ptcp:[PORT][:IP]`: listen on TCP.
    Ptcp,
    /// `pssl:[PORT][:IP]`: listen on TCP with TLS.
    Pssl,
    /// `pfd:FD` / `pfd:NAME`: accept on an inherited, already listening socket.
    Pfd,
    /// `db:DB,TABLE,COLUMN`: read more remotes from a database column.
    Db,
}

impl RemoteKind {
    /// Every kind, in the order used by tables and policy files.
    pub const ALL: [RemoteKind; 8] = [
        RemoteKind::Unix,
        RemoteKind::Tcp,
        RemoteKind::Ssl,
        RemoteKind::Punix,
        RemoteKind::Ptcp,
        RemoteKind::Pssl,
        RemoteKind::Pfd,
        RemoteKind::Db,
    ];

    /// The stable lowercase name, which is also the remote prefix without `:`.
    ///
    /// ```
    /// assert_eq!(remote_policy::RemoteKind::Db.name(), "db");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            RemoteKind::Unix => "unix",
            RemoteKind::Tcp => "tcp",
            RemoteKind::Ssl => "ssl",
            RemoteKind::Punix => "punix",
            RemoteKind::Ptcp => "ptcp",
            RemoteKind::Pssl => "pssl",
            RemoteKind::Pfd => "pfd",
            RemoteKind::Db => "db",
        }
    }

    /// The accepted form of a remote of this kind, as shown in error messages.
    ///
    /// ```
    /// assert_eq!(remote_policy::RemoteKind::Ptcp.syntax(), "ptcp:[PORT][:IP]");
    /// ```
    pub const fn syntax(self) -> &'static str {
        match self {
            RemoteKind::Unix => "unix:PATH",
            RemoteKind::Tcp => "tcp:HOST[:PORT]",
            RemoteKind::Ssl => "ssl:HOST[:PORT]",
            RemoteKind::Punix => "punix:PATH",
            RemoteKind::Ptcp => "ptcp:[PORT][:IP]",
            RemoteKind::Pssl => "pssl:[PORT][:IP]",
            RemoteKind::Pfd => "pfd:FD or pfd:NAME",
            RemoteKind::Db => "db:DB,TABLE,COLUMN",
        }
    }

    /// Whether the daemon listens (passive, `p*` kinds) rather than connects.
    ///
    /// `db:` is neither: it names a column that holds more remotes, so this
    /// returns `false` for it.
    ///
    /// ```
    /// use remote_policy::RemoteKind;
    /// assert!(RemoteKind::Pfd.is_passive());
    /// assert!(!RemoteKind::Tcp.is_passive());
    /// ```
    pub const fn is_passive(self) -> bool {
        matches!(
            self,
            RemoteKind::Punix | RemoteKind::Ptcp | RemoteKind::Pssl | RemoteKind::Pfd
        )
    }

    /// A comma-separated list of every kind name, for error messages.
    pub(crate) fn all_names() -> String {
        join_names(RemoteKind::ALL.iter().map(|k| k.name()))
    }
}

pub(crate) fn join_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

impl fmt::Display for RemoteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error returned when a string is not a [`RemoteKind`] name.
///
/// ```
/// let err = "PTCP".parse::<remote_policy::RemoteKind>().unwrap_err();
/// assert_eq!(err.name(), "PTCP");
/// assert!(err.to_string().contains("unix, tcp, ssl, punix, ptcp, pssl, pfd, db"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKind {
    name: String,
}

impl UnknownKind {
    pub(crate) fn new(name: &str) -> Self {
        UnknownKind {
            name: name.to_owned(),
        }
    }

    /// The name that was not recognised.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for UnknownKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown remote kind {}: expected one of {}",
            crate::quote::Quoted(&self.name),
            RemoteKind::all_names()
        )?;
        let lower = self.name.trim().to_ascii_lowercase();
        if lower != self.name && RemoteKind::ALL.iter().any(|k| k.name() == lower) {
            write!(
                f,
                " (kind names are lowercase without surrounding spaces: did you mean {lower:?}?)"
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownKind {}

impl From<UnknownKind> for std::io::Error {
    fn from(err: UnknownKind) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, err)
    }
}

impl FromStr for RemoteKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RemoteKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownKind::new(s))
    }
}
