//! The syscall sets QEMU's sandbox can deny: [`Set`] and [`SetSelection`].

use std::fmt;

/// One of QEMU's seccomp syscall sets (`QEMU_SECCOMP_SET_*`).
///
/// The order of the variants is the canonical order (QEMU's bit order).
///
/// ```
/// use sandbox_opts::Set;
///
/// assert_eq!(Set::ResourceControl.to_string(), "resourcecontrol");
/// assert_eq!(Set::from_name("privileged"), Some(Set::Privileged));
/// assert_eq!(Set::ALL.len(), 5);
/// assert!(Set::Default < Set::Obsolete);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Set {
    /// `default`: always denied while the sandbox is on.
    Default,
    /// `obsolete`: denied unless `obsolete=allow`.
    Obsolete,
    /// `privileged`: denied for `elevateprivileges=deny|children`.
    Privileged,
    /// `spawn`: denied for `spawn=deny`.
    Spawn,
    /// `resourcecontrol`: denied for `resourcecontrol=deny`.
    ResourceControl,
}

impl Set {
    /// All sets in canonical order.
    pub const ALL: [Set; 5] = [
        Set::Default,
        Set::Obsolete,
        Set::Privileged,
        Set::Spawn,
        Set::ResourceControl,
    ];

    /// QEMU's lowercase name of the set.
    ///
    /// ```
    /// assert_eq!(sandbox_opts::Set::Privileged.name(), "privileged");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Set::Default => "default",
            Set::Obsolete => "obsolete",
            Set::Privileged => "privileged",
            Set::Spawn => "spawn",
            Set::ResourceControl => "resourcecontrol",
        }
    }

    /// Looks a set up by its exact lowercase name.
    ///
    /// ```
    /// assert_eq!(sandbox_opts::Set::from_name("spawn"), Some(sandbox_opts::Set::Spawn));
    /// assert_eq!(sandbox_opts::Set::from_name("Spawn"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Set> {
        Set::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The set's bit in QEMU's `seccomp_opts` mask (`QEMU_SECCOMP_SET_*`).
    ///
    /// ```
    /// assert_eq!(sandbox_opts::Set::Default.qemu_bit(), 1);
    /// assert_eq!(sandbox_opts::Set::ResourceControl.qemu_bit(), 1 << 4);
    /// ```
    pub const fn qemu_bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Set {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A small `Copy` set of [`Set`]s, iterated in canonical order.
///
/// ```
/// use sandbox_opts::{Set, SetSelection};
///
/// let s = SetSelection::EMPTY.with(Set::Spawn).with(Set::Default);
/// assert!(s.contains(Set::Spawn));
/// assert!(!s.contains(Set::Obsolete));
/// assert_eq!(s.iter().collect::<Vec<_>>(), [Set::Default, Set::Spawn]);
/// assert_eq!(s.to_string(), "default,spawn");
/// assert_eq!(SetSelection::EMPTY.to_string(), "none");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SetSelection {
    bits: u8,
}

impl SetSelection {
    /// No set.
    pub const EMPTY: SetSelection = SetSelection { bits: 0 };
    /// Every set.
    pub const ALL: SetSelection = SetSelection { bits: 0b1_1111 };

    /// This selection plus `set`.
    ///
    /// ```
    /// # use sandbox_opts::{Set, SetSelection};
    /// assert_eq!(SetSelection::EMPTY.with(Set::Spawn).len(), 1);
    /// ```
    #[must_use]
    pub const fn with(self, set: Set) -> SetSelection {
        SetSelection {
            bits: self.bits | (1 << set as u8),
        }
    }

    /// This selection minus `set`.
    ///
    /// ```
    /// # use sandbox_opts::{Set, SetSelection};
    /// assert!(!SetSelection::ALL.without(Set::Spawn).contains(Set::Spawn));
    /// ```
    #[must_use]
    pub const fn without(self, set: Set) -> SetSelection {
        SetSelection {
            bits: self.bits & !(1 << set as u8),
        }
    }

    /// Adds `set`; returns whether it was new.
    ///
    /// ```
    /// # use sandbox_opts::{Set, SetSelection};
    /// let mut s = SetSelection::EMPTY;
    /// assert!(s.insert(Set::Obsolete));
    /// assert!(!s.insert(Set::Obsolete));
    /// ```
    pub fn insert(&mut self, set: Set) -> bool {
        let new = !self.contains(set);
        *self = self.with(set);
        new
    }

    /// Removes `set`; returns whether it was present.
    ///
    /// ```
    /// # use sandbox_opts::{Set, SetSelection};
    /// let mut s = SetSelection::ALL;
    /// assert!(s.remove(Set::Default));
    /// assert!(!s.contains(Set::Default));
    /// ```
    pub fn remove(&mut self, set: Set) -> bool {
        let present = self.contains(set);
        *self = self.without(set);
        present
    }

    /// Whether `set` is in the selection.
    ///
    /// ```
    /// # use sandbox_opts::{Set, SetSelection};
    /// assert!(SetSelection::ALL.contains(Set::Privileged));
    /// ```
    pub const fn contains(self, set: Set) -> bool {
        self.bits & (1 << set as u8) != 0
    }

    /// The number of sets in the selection.
    ///
    /// ```
    /// assert_eq!(sandbox_opts::SetSelection::ALL.len(), 5);
    /// ```
    pub const fn len(self) -> usize {
        self.bits.count_ones() as usize
    }

    /// Whether the selection is empty.
    ///
    /// ```
    /// assert!(sandbox_opts::SetSelection::EMPTY.is_empty());
    /// ```
    pub const fn is_empty(self) -> bool {
        self.bits == 0
    }

    /// The selection as QEMU's `seccomp_opts` bit mask (`QEMU_SECCOMP_SET_*`).
    ///
    /// ```
    /// # use sandbox_opts::{Set, SetSelection};
    /// assert_eq!(SetSelection::EMPTY.with(Set::Default).with(Set::Obsolete).qemu_mask(), 0b11);
    /// ```
    pub const fn qemu_mask(self) -> u32 {
        self.bits as u32
    }

    /// The sets in canonical order.
    ///
    /// ```
    /// # use sandbox_opts::{Set, SetSelection};
    /// assert_eq!(SetSelection::ALL.iter().collect::<Vec<_>>(), Set::ALL);
    /// ```
    pub fn iter(self) -> SetIter {
        SetIter {
            selection: self,
            next: 0,
        }
    }
}

impl fmt::Debug for SetSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl fmt::Display for SetSelection {
    /// Comma-separated names in canonical order, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        for (i, set) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(set.name())?;
        }
        Ok(())
    }
}

impl FromIterator<Set> for SetSelection {
    fn from_iter<I: IntoIterator<Item = Set>>(iter: I) -> Self {
        let mut s = SetSelection::EMPTY;
        s.extend(iter);
        s
    }
}

impl Extend<Set> for SetSelection {
    fn extend<I: IntoIterator<Item = Set>>(&mut self, iter: I) {
        for set in iter {
            self.insert(set);
        }
    }
}

impl IntoIterator for SetSelection {
    type Item = Set;
    type IntoIter = SetIter;
    fn into_iter(self) -> SetIter {
        self.iter()
    }
}

/// Iterator over a [`SetSelection`] in canonical order.
#[derive(Clone, Debug)]
pub struct SetIter {
    selection: SetSelection,
    next: usize,
}

impl Iterator for SetIter {
    type Item = Set;
    fn next(&mut self) -> Option<Set> {
        while let Some(&set) = Set::ALL.get(self.next) {
            self.next += 1;
            if self.selection.contains(set) {
                return Some(set);
            }
        }
        None
    }
}
