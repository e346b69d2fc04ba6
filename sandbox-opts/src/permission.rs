//! The values of the sub-options: [`Permission`] and [`ElevatePrivileges`].

use std::fmt;

/// The value of `obsolete=`, `spawn=` and `resourcecontrol=`: `allow` or `deny`.
///
/// ```
/// use sandbox_opts::Permission;
///
/// assert_eq!(Permission::parse("deny"), Some(Permission::Deny));
/// assert_eq!(Permission::parse("Deny"), None); // QEMU compares case-sensitively
/// assert_eq!(Permission::Allow.to_string(), "allow");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// `allow`: the system calls of the set stay allowed.
    Allow,
    /// `deny`: the system calls of the set are denied.
    Deny,
}

impl Permission {
    /// Both values, in the order QEMU's help text lists them.
    pub const ALL: [Permission; 2] = [Permission::Allow, Permission::Deny];

    /// QEMU's spelling: `allow` or `deny`.
    ///
    /// ```
    /// assert_eq!(sandbox_opts::Permission::Deny.as_str(), "deny");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Permission::Allow => "allow",
            Permission::Deny => "deny",
        }
    }

    /// Parses QEMU's spelling exactly (case-sensitive, no trimming).
    ///
    /// ```
    /// use sandbox_opts::Permission;
    /// assert_eq!(Permission::parse("allow"), Some(Permission::Allow));
    /// assert_eq!(Permission::parse(" allow"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// `true` for [`Permission::Deny`].
    ///
    /// ```
    /// assert!(sandbox_opts::Permission::Deny.is_deny());
    /// ```
    pub const fn is_deny(self) -> bool {
        matches!(self, Permission::Deny)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The value of `elevateprivileges=`: `allow`, `deny` or `children`.
///
/// `deny` and `children` both deny the privileged set; `children` also asks
/// for `PR_SET_NO_NEW_PRIVS` by name. Loading any sandbox that is on sets
/// no_new_privs anyway, as QEMU does through libseccomp's default
/// ([`Sandbox::no_new_privileges`](crate::Sandbox::no_new_privileges) is the one
/// answer), so `deny` and `children` load the same filter.
///
/// ```
/// use sandbox_opts::ElevatePrivileges;
///
/// let e = ElevatePrivileges::parse("children").unwrap();
/// assert!(e.denies_privileged());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ElevatePrivileges {
    /// `allow` (QEMU's default): set*uid/set*gid and friends stay allowed.
    Allow,
    /// `deny`: the privileged set is denied.
    Deny,
    /// `children`: the privileged set is denied and no-new-privileges is set.
    Children,
}

impl ElevatePrivileges {
    /// All values, in the order QEMU's help text lists them.
    pub const ALL: [ElevatePrivileges; 3] = [
        ElevatePrivileges::Allow,
        ElevatePrivileges::Deny,
        ElevatePrivileges::Children,
    ];

    /// QEMU's spelling: `allow`, `deny` or `children`.
    ///
    /// ```
    /// assert_eq!(sandbox_opts::ElevatePrivileges::Children.as_str(), "children");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            ElevatePrivileges::Allow => "allow",
            ElevatePrivileges::Deny => "deny",
            ElevatePrivileges::Children => "children",
        }
    }

    /// Parses QEMU's spelling exactly (case-sensitive, no trimming).
    ///
    /// ```
    /// use sandbox_opts::ElevatePrivileges;
    /// assert_eq!(ElevatePrivileges::parse("deny"), Some(ElevatePrivileges::Deny));
    /// assert_eq!(ElevatePrivileges::parse("child"), None);
    /// ```
    pub fn parse(s: &str) -> Option<ElevatePrivileges> {
        ElevatePrivileges::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// `true` for `deny` and `children`: the privileged set is denied.
    ///
    /// ```
    /// assert!(!sandbox_opts::ElevatePrivileges::Allow.denies_privileged());
    /// ```
    pub const fn denies_privileged(self) -> bool {
        !matches!(self, ElevatePrivileges::Allow)
    }
}

impl fmt::Display for ElevatePrivileges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
