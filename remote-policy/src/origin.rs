//! [`Origin`] (where a remote came from) and [`OriginSet`].

use std::fmt;
use std::str::FromStr;

use crate::kind::join_names;

/// Where a remote came from.
///
/// [`Origin::name`] is the stable key used in policy files
/// (`command-line`, `control-socket`, `database`, `config-file`);
/// `Display` gives the words used in messages (`command line`, `control socket`,
/// `database`, `config file`).
///
/// ```
/// use remote_policy::Origin;
///
/// assert_eq!(Origin::ConfigFile.name(), "config-file");
/// assert_eq!(Origin::ConfigFile.to_string(), "config file");
/// assert_eq!("database".parse::<Origin>().unwrap(), Origin::Database);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// `--remote=` on the daemon's command line (fixed for the process lifetime).
    CommandLine,
    /// The runtime control socket (`ovs-appctl ... add-remote`).
    ControlSocket,
    /// A database row or column (`db:DB,TABLE,COLUMN`, Manager rows).
    Database,
    /// The daemon's `--config-file`, re-read on reload.
    ConfigFile,
}

impl Origin {
    /// Every origin, in the order used by tables.
    pub const ALL: [Origin; 4] = [
        Origin::CommandLine,
        Origin::ControlSocket,
        Origin::Database,
        Origin::ConfigFile,
    ];

    /// The stable key used in policy files.
    ///
    /// ```
    /// assert_eq!(remote_policy::Origin::CommandLine.name(), "command-line");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Origin::CommandLine => "command-line",
            Origin::ControlSocket => "control-socket",
            Origin::Database => "database",
            Origin::ConfigFile => "config-file",
        }
    }

    /// The words used in messages, e.g. `config file`.
    ///
    /// ```
    /// assert_eq!(remote_policy::Origin::ControlSocket.words(), "control socket");
    /// ```
    pub const fn words(self) -> &'static str {
        match self {
            Origin::CommandLine => "command line",
            Origin::ControlSocket => "control socket",
            Origin::Database => "database",
            Origin::ConfigFile => "config file",
        }
    }

    /// Whether a refusal from this origin is reported as a (rate-limited)
    /// warning because nobody is waiting for an answer: the database and the
    /// config file. The command line and the control socket get the error
    /// itself.
    ///
    /// ```
    /// use remote_policy::Origin;
    /// assert!(Origin::Database.is_unattended());
    /// assert!(!Origin::ControlSocket.is_unattended());
    /// ```
    pub const fn is_unattended(self) -> bool {
        matches!(self, Origin::Database | Origin::ConfigFile)
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }

    pub(crate) fn all_names() -> String {
        join_names(Origin::ALL.iter().map(|o| o.name()))
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.words())
    }
}

/// Error returned when a string is not an [`Origin`] name.
///
/// ```
/// let err = "cli".parse::<remote_policy::Origin>().unwrap_err();
/// assert_eq!(err.name(), "cli");
/// assert!(err.to_string().contains("command-line, control-socket, database, config-file"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownOrigin {
    name: String,
}

impl UnknownOrigin {
    /// The name that was not recognised.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for UnknownOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown origin {:?}: expected one of {}",
            self.name,
            Origin::all_names()
        )
    }
}

impl std::error::Error for UnknownOrigin {}

impl From<UnknownOrigin> for std::io::Error {
    fn from(err: UnknownOrigin) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, err)
    }
}

impl FromStr for Origin {
    type Err = UnknownOrigin;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Origin::ALL
            .iter()
            .copied()
            .find(|o| o.name() == s)
            .ok_or_else(|| UnknownOrigin { name: s.to_owned() })
    }
}

/// A set of [`Origin`]s (a small bit set).
///
/// ```
/// use remote_policy::{Origin, OriginSet};
///
/// let mut set = OriginSet::EMPTY;
/// set.insert(Origin::Database);
/// assert!(set.contains(Origin::Database));
/// assert!(!set.contains(Origin::CommandLine));
/// assert_eq!(set.iter().collect::<Vec<_>>(), [Origin::Database]);
/// assert_eq!(OriginSet::ALL.len(), 4);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OriginSet(u8);

impl OriginSet {
    /// No origin.
    pub const EMPTY: OriginSet = OriginSet(0);
    /// Every origin.
    pub const ALL: OriginSet = OriginSet(0b1111);

    /// A set holding exactly `origin`.
    pub const fn only(origin: Origin) -> OriginSet {
        OriginSet(origin.bit())
    }

    /// Whether `origin` is in the set.
    pub const fn contains(self, origin: Origin) -> bool {
        self.0 & origin.bit() != 0
    }

    /// Adds `origin`; returns whether it was not present before.
    pub fn insert(&mut self, origin: Origin) -> bool {
        let fresh = !self.contains(origin);
        self.0 |= origin.bit();
        fresh
    }

    /// Removes `origin`; returns whether it was present.
    pub fn remove(&mut self, origin: Origin) -> bool {
        let present = self.contains(origin);
        self.0 &= !origin.bit();
        present
    }

    /// A copy of the set without `origin`.
    pub const fn without(self, origin: Origin) -> OriginSet {
        OriginSet(self.0 & !origin.bit())
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Number of origins in the set.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The origins in the set, in [`Origin::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Origin> {
        Origin::ALL.into_iter().filter(move |o| self.contains(*o))
    }
}

impl fmt::Debug for OriginSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl FromIterator<Origin> for OriginSet {
    fn from_iter<I: IntoIterator<Item = Origin>>(iter: I) -> Self {
        let mut set = OriginSet::EMPTY;
        for origin in iter {
            set.insert(origin);
        }
        set
    }
}
