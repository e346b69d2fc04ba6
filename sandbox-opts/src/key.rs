//! The option names (`enable`, `obsolete`, ...) and the values each accepts.
//!
//! This is the one table of the grammar: names and accepted spellings (QEMU's
//! defaults are [`Sandbox::OFF`](crate::Sandbox::OFF)). The parser, the error messages and the
//! help text read it.

use std::fmt;

/// The boolean spellings QEMU's `qapi_bool_parse` accepts for `enable`
/// (QEMU 9.x): `true` values first, then `false` values.
pub const BOOL_TRUE: [&str; 4] = ["on", "yes", "true", "y"];
/// The spellings that mean `false` for `enable`.
pub const BOOL_FALSE: [&str; 4] = ["off", "no", "false", "n"];

/// One key of the `-sandbox` option.
///
/// ```
/// use sandbox_opts::Key;
///
/// assert_eq!(Key::from_name("resourcecontrol"), Some(Key::ResourceControl));
/// assert_eq!(Key::from_name("Spawn"), None); // names are case-sensitive
/// assert_eq!(Key::Spawn.accepted_values(), ["allow", "deny"]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// `enable`: the implied first key (`on` means `enable=on`); a boolean.
    Enable,
    /// `obsolete=allow|deny` (default `deny`).
    Obsolete,
    /// `elevateprivileges=allow|deny|children` (default `allow`).
    ElevatePrivileges,
    /// `spawn=allow|deny` (default `allow`).
    Spawn,
    /// `resourcecontrol=allow|deny` (default `allow`).
    ResourceControl,
}

impl Key {
    /// All keys, in QEMU's order (the order of its option table and help text).
    pub const ALL: [Key; 5] = [
        Key::Enable,
        Key::Obsolete,
        Key::ElevatePrivileges,
        Key::Spawn,
        Key::ResourceControl,
    ];

    /// The four sub-options (every key but `enable`), in QEMU's order.
    pub const SUB_OPTIONS: [Key; 4] = [
        Key::Obsolete,
        Key::ElevatePrivileges,
        Key::Spawn,
        Key::ResourceControl,
    ];

    /// QEMU's name of the key.
    ///
    /// ```
    /// assert_eq!(sandbox_opts::Key::ElevatePrivileges.name(), "elevateprivileges");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Key::Enable => "enable",
            Key::Obsolete => "obsolete",
            Key::ElevatePrivileges => "elevateprivileges",
            Key::Spawn => "spawn",
            Key::ResourceControl => "resourcecontrol",
        }
    }

    /// Looks a key up by its exact (case-sensitive) QEMU name.
    ///
    /// ```
    /// assert_eq!(sandbox_opts::Key::from_name("enable"), Some(sandbox_opts::Key::Enable));
    /// assert_eq!(sandbox_opts::Key::from_name("id"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Key> {
        Key::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Every spelling the key accepts as its value.
    ///
    /// ```
    /// use sandbox_opts::Key;
    /// assert_eq!(Key::ElevatePrivileges.accepted_values(), ["allow", "deny", "children"]);
    /// assert_eq!(Key::Enable.accepted_values().len(), 8);
    /// ```
    pub const fn accepted_values(self) -> &'static [&'static str] {
        match self {
            Key::Enable => &[
                BOOL_TRUE[0],
                BOOL_TRUE[1],
                BOOL_TRUE[2],
                BOOL_TRUE[3],
                BOOL_FALSE[0],
                BOOL_FALSE[1],
                BOOL_FALSE[2],
                BOOL_FALSE[3],
            ],
            Key::ElevatePrivileges => &["allow", "deny", "children"],
            Key::Obsolete | Key::Spawn | Key::ResourceControl => &["allow", "deny"],
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses a boolean exactly as QEMU 9.x `qapi_bool_parse` does
/// (case-sensitive `on/yes/true/y` and `off/no/false/n`).
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if BOOL_TRUE.contains(&s) {
        Some(true)
    } else if BOOL_FALSE.contains(&s) {
        Some(false)
    } else {
        None
    }
}

/// Writes `a, b or c`.
pub(crate) fn write_alternatives(f: &mut fmt::Formatter<'_>, items: &[&str]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(if i + 1 == items.len() { " or " } else { ", " })?;
        }
        f.write_str(item)?;
    }
    Ok(())
}
