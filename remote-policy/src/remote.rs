//! [`Remote`] and its parts, with their canonical `Display`.
//!
//! Canonical forms (what `Display` prints, and what duplicate detection
//! compares):
//!
//! | kind    | canonical form              | notes                                            |
//! |---------|-----------------------------|--------------------------------------------------|
//! | `unix`  | `unix:PATH`                 | path exactly as given (see [`UnixPath`])         |
//! | `tcp`   | `tcp:HOST:PORT`             | port always written (default 6640)               |
//! | `ssl`   | `ssl:HOST:PORT`             | same as `tcp`                                    |
//! | `punix` | `punix:PATH`                | same as `unix`                                   |
//! | `ptcp`  | `ptcp:PORT:IP`              | port and IP always written (`ptcp:` is `ptcp:6640:0.0.0.0`) |
//! | `pssl`  | `pssl:PORT:IP`              | same as `ptcp`                                   |
//! | `pfd`   | `pfd:FD` / `pfd:NAME`       | as printed by [`stream_pfd::PfdSpec`] (`pfd:03` is `pfd:3`) |
//! | `db`    | `db:DB,TABLE,COLUMN`        |                                                  |
//!
//! Hosts: IPv4 in dotted decimal, IPv6 in brackets in RFC 5952 form with an
//! optional `%scope` (numeric scopes without leading zeros), host names in
//! lowercase.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use crate::kind::RemoteKind;

/// The OVSDB default port (IANA-assigned), used when a `tcp:`, `ssl:`, `ptcp:`
/// or `pssl:` remote gives no port, as Open vSwitch does.
pub const DEFAULT_PORT: u16 = 6640;

/// The longest Unix socket path accepted, in bytes: `sun_path` is 108 bytes on
/// Linux, including the terminating NUL.
pub const MAX_UNIX_PATH_LEN: usize = 107;

/// A parsed remote, e.g. `ptcp:6640:127.0.0.1` or `pfd:3`.
///
/// Build one with [`str::parse`]; `Display` gives the canonical form and
/// parsing it again gives an equal `Remote`.
///
/// ```
/// use remote_policy::{Remote, RemoteKind};
///
/// let r: Remote = "ptcp:".parse().unwrap();
/// assert_eq!(r.kind(), RemoteKind::Ptcp);
/// assert_eq!(r.to_string(), "ptcp:6640:0.0.0.0");
/// assert_eq!(r.to_string().parse::<Remote>().unwrap(), r);
///
/// let r: Remote = "tcp:[::1]".parse().unwrap();
/// assert_eq!(r.to_string(), "tcp:[::1]:6640");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Remote {
    /// `unix:PATH`.
    Unix(UnixPath),
    /// `tcp:HOST:PORT`.
    Tcp(Endpoint),
    /// `ssl:HOST:PORT`.
    Ssl(Endpoint),
    /// `punix:PATH`.
    Punix(UnixPath),
    /// `ptcp:PORT:IP`.
    Ptcp(Listen),
    /// `pssl:PORT:IP`.
    Pssl(Listen),
    /// `pfd:FD` or `pfd:NAME`, parsed by [`stream_pfd`].
    Pfd(stream_pfd::PfdSpec),
    /// `db:DB,TABLE,COLUMN`.
    Db(DbColumn),
}

impl Remote {
    /// The kind of this remote.
    ///
    /// ```
    /// let r: remote_policy::Remote = "db:Open_vSwitch,Open_vSwitch,manager_options".parse().unwrap();
    /// assert_eq!(r.kind(), remote_policy::RemoteKind::Db);
    /// ```
    pub fn kind(&self) -> RemoteKind {
        match self {
            Remote::Unix(_) => RemoteKind::Unix,
            Remote::Tcp(_) => RemoteKind::Tcp,
            Remote::Ssl(_) => RemoteKind::Ssl,
            Remote::Punix(_) => RemoteKind::Punix,
            Remote::Ptcp(_) => RemoteKind::Ptcp,
            Remote::Pssl(_) => RemoteKind::Pssl,
            Remote::Pfd(_) => RemoteKind::Pfd,
            Remote::Db(_) => RemoteKind::Db,
        }
    }
}

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Remote::Unix(p) | Remote::Punix(p) => write!(f, "{}:{p}", self.kind()),
            Remote::Tcp(e) | Remote::Ssl(e) => write!(f, "{}:{e}", self.kind()),
            Remote::Ptcp(l) | Remote::Pssl(l) => write!(f, "{}:{l}", self.kind()),
            Remote::Pfd(spec) => write!(f, "{spec}"),
            Remote::Db(c) => write!(f, "db:{c}"),
        }
    }
}

/// The path of a `unix:` or `punix:` remote, kept exactly as given.
///
/// Open vSwitch resolves a relative path against its run directory; this crate
/// does not (it has no run directory), so `unix:db.sock` and
/// `unix:/run/openvswitch/db.sock` are different remotes here and the caller
/// resolves relative paths when it opens the socket. The path is non-empty, has
/// no NUL byte and is at most [`MAX_UNIX_PATH_LEN`] bytes.
///
/// ```
/// let r: remote_policy::Remote = "punix:/run/app/app.sock".parse().unwrap();
/// if let remote_policy::Remote::Punix(p) = &r {
///     assert_eq!(p.as_str(), "/run/app/app.sock");
///     assert!(p.as_path().is_absolute());
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixPath(pub(crate) String);

impl UnixPath {
    /// The path as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path as a [`Path`].
    pub fn as_path(&self) -> &Path {
        Path::new(&self.0)
    }
}

impl fmt::Display for UnixPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IPv6 scope (zone): an interface index or an interface name.
///
/// ```
/// let r: remote_policy::Remote = "tcp:[fe80::1%eth0]:6640".parse().unwrap();
/// if let remote_policy::Remote::Tcp(e) = &r {
///     if let remote_policy::remote::Host::Ipv6(_, Some(scope)) = e.host() {
///         assert_eq!(scope.interface(), Some("eth0"));
///         assert_eq!(scope.index(), None);
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(pub(crate) ScopeRepr);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum ScopeRepr {
    Index(u32),
    Interface(String),
}

impl Scope {
    /// The numeric scope (interface index), if it was given as a number.
    pub fn index(&self) -> Option<u32> {
        match &self.0 {
            ScopeRepr::Index(i) => Some(*i),
            ScopeRepr::Interface(_) => None,
        }
    }

    /// The interface name, if the scope was given as a name.
    pub fn interface(&self) -> Option<&str> {
        match &self.0 {
            ScopeRepr::Index(_) => None,
            ScopeRepr::Interface(name) => Some(name),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            ScopeRepr::Index(i) => write!(f, "{i}"),
            ScopeRepr::Interface(name) => f.write_str(name),
        }
    }
}

/// A validated DNS host name, stored in lowercase.
///
/// Labels are 1 to 63 letters, digits or hyphens, not starting or ending with
/// a hyphen; the whole name is at most 253 bytes; the last label is not all
/// digits (so that a mistyped IPv4 address such as `10.0.0.256` is an error,
/// not a name to look up).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostName(pub(crate) String);

impl HostName {
    /// The name, in lowercase.
    ///
    /// ```
    /// let r: remote_policy::Remote = "ssl:OVSDB.Example.NET".parse().unwrap();
    /// assert_eq!(r.to_string(), "ssl:ovsdb.example.net:6640");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The host of an active `tcp:` or `ssl:` remote.
///
/// ```
/// use remote_policy::Remote;
/// use remote_policy::remote::Host;
///
/// let r: Remote = "tcp:192.0.2.7:6641".parse().unwrap();
/// match r {
///     Remote::Tcp(e) => assert!(matches!(e.host(), Host::Ipv4(_))),
///     _ => unreachable!(),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Host {
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address with an optional scope (written `[ADDR%SCOPE]`).
    Ipv6(Ipv6Addr, Option<Scope>),
    /// A host name, resolved by DNS when connecting.
    Name(HostName),
}

impl Host {
    /// The IP address, unless this is a host name.
    ///
    /// ```
    /// let r: remote_policy::Remote = "tcp:[::1]".parse().unwrap();
    /// if let remote_policy::Remote::Tcp(e) = r {
    ///     assert_eq!(e.host().ip(), Some("::1".parse().unwrap()));
    /// }
    /// ```
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Ipv4(a) => Some(IpAddr::V4(*a)),
            Host::Ipv6(a, _) => Some(IpAddr::V6(*a)),
            Host::Name(_) => None,
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ipv4(a) => write!(f, "{a}"),
            Host::Ipv6(a, None) => write!(f, "[{a}]"),
            Host::Ipv6(a, Some(scope)) => write!(f, "[{a}%{scope}]"),
            Host::Name(n) => write!(f, "{n}"),
        }
    }
}

/// Where an active `tcp:` or `ssl:` remote connects: a host and a port
/// (1..=65535, default [`DEFAULT_PORT`]).
///
/// ```
/// let r: remote_policy::Remote = "ssl:ovsdb.example.net".parse().unwrap();
/// if let remote_policy::Remote::Ssl(e) = r {
///     assert_eq!(e.port(), 6640);
///     assert_eq!(e.host().to_string(), "ovsdb.example.net");
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    pub(crate) host: Host,
    pub(crate) port: u16,
}

impl Endpoint {
    /// The host to connect to.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The port to connect to (never 0).
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Where a passive `ptcp:` or `pssl:` remote listens: a port (0 lets the kernel
/// choose) and a local IP address (default `0.0.0.0`, every IPv4 address, as in
/// Open vSwitch).
///
/// ```
/// let r: remote_policy::Remote = "pssl:0:[::]".parse().unwrap();
/// if let remote_policy::Remote::Pssl(l) = &r {
///     assert_eq!(l.port(), 0);
///     assert_eq!(l.ip(), "::".parse::<std::net::IpAddr>().unwrap());
/// }
/// assert_eq!(r.to_string(), "pssl:0:[::]");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Listen {
    pub(crate) port: u16,
    pub(crate) ip: IpAddr,
    pub(crate) scope: Option<Scope>,
}

impl Listen {
    /// The port to listen on; 0 means the kernel chooses.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The local address to listen on.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// The IPv6 scope, if one was given.
    pub fn scope(&self) -> Option<&Scope> {
        self.scope.as_ref()
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.ip, &self.scope) {
            (IpAddr::V4(a), _) => write!(f, "{}:{a}", self.port),
            (IpAddr::V6(a), None) => write!(f, "{}:[{a}]", self.port),
            (IpAddr::V6(a), Some(s)) => write!(f, "{}:[{a}%{s}]", self.port),
        }
    }
}

/// The column named by a `db:DB,TABLE,COLUMN` remote: three OVSDB identifiers
/// (a letter or `_`, then letters, digits or `_`).
///
/// ```
/// let r: remote_policy::Remote = "db:Open_vSwitch,Open_vSwitch,manager_options".parse().unwrap();
/// if let remote_policy::Remote::Db(c) = r {
///     assert_eq!((c.db(), c.table(), c.column()), ("Open_vSwitch", "Open_vSwitch", "manager_options"));
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DbColumn {
    pub(crate) db: String,
    pub(crate) table: String,
    pub(crate) column: String,
}

impl DbColumn {
    /// The database name.
    pub fn db(&self) -> &str {
        &self.db
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The column name.
    pub fn column(&self) -> &str {
        &self.column
    }
}

impl fmt::Display for DbColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{},{}", self.db, self.table, self.column)
    }
}
