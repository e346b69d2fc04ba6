//! The parsed `-sandbox` settings: [`Sandbox`].

use std::fmt;

use crate::key::{Key, parse_bool};
use crate::permission::{ElevatePrivileges, Permission};
use crate::set::{Set, SetSelection};

/// The five settings of QEMU's `-sandbox` option.
///
/// Every combination of the fields is meaningful (48 in all), so the fields are
/// public; the `with_*` methods allow building a value in one expression.
///
/// `Sandbox::default()` is QEMU's state when `-sandbox` is not given: the
/// sandbox is off and every sub-option has its default.
///
/// ```
/// use sandbox_opts::{Permission, Sandbox, Set};
///
/// let s: Sandbox = "on,spawn=deny".parse()?;
/// assert_eq!(s, Sandbox::ON.with_spawn(Permission::Deny));
/// assert_eq!(s.to_string(), "on,spawn=deny");
/// assert_eq!(s.denied_sets().iter().collect::<Vec<_>>(),
///            [Set::Default, Set::Obsolete, Set::Spawn]);
/// # Ok::<(), sandbox_opts::ParseError>(())
/// ```
///
/// # Canonical form (`Display`)
///
/// `on` or `off`, then every sub-option that differs from QEMU's default, in
/// QEMU's order (`obsolete`, `elevateprivileges`, `spawn`, `resourcecontrol`):
/// `on,obsolete=allow,elevateprivileges=children,spawn=deny,resourcecontrol=deny`.
/// A disabled sandbox keeps its sub-options (`off,spawn=deny`), so all 48
/// values round-trip through `Display` and `FromStr`. The alternate form
/// (`{:#}`) spells out all five keys:
/// `enable=on,obsolete=deny,elevateprivileges=allow,spawn=allow,resourcecontrol=allow`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sandbox {
    /// `enable` (the implied first key): whether the sandbox is on.
    pub enabled: bool,
    /// `obsolete=`: QEMU's default is [`Permission::Deny`].
    pub obsolete: Permission,
    /// `elevateprivileges=`: QEMU's default is [`ElevatePrivileges::Allow`].
    pub elevate_privileges: ElevatePrivileges,
    /// `spawn=`: QEMU's default is [`Permission::Allow`].
    pub spawn: Permission,
    /// `resourcecontrol=`: QEMU's default is [`Permission::Allow`].
    pub resource_control: Permission,
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::OFF
    }
}

impl Sandbox {
    /// QEMU's default: sandbox off, every sub-option at its default (`off`).
    pub const OFF: Sandbox = Sandbox {
        enabled: false,
        obsolete: Permission::Deny,
        elevate_privileges: ElevatePrivileges::Allow,
        spawn: Permission::Allow,
        resource_control: Permission::Allow,
    };

    /// `-sandbox on`: sandbox on, every sub-option at its default.
    ///
    /// ```
    /// assert_eq!(sandbox_opts::Sandbox::ON.to_string(), "on");
    /// ```
    pub const ON: Sandbox = Sandbox {
        enabled: true,
        ..Sandbox::OFF
    };

    /// This value with `enable` set to `enabled`.
    ///
    /// ```
    /// use sandbox_opts::Sandbox;
    /// assert_eq!(Sandbox::OFF.with_enabled(true), Sandbox::ON);
    /// ```
    #[must_use]
    pub const fn with_enabled(self, enabled: bool) -> Sandbox {
        Sandbox { enabled, ..self }
    }

    /// This value with `obsolete=` set.
    ///
    /// ```
    /// use sandbox_opts::{Permission, Sandbox};
    /// assert_eq!(Sandbox::ON.with_obsolete(Permission::Allow).to_string(), "on,obsolete=allow");
    /// ```
    #[must_use]
    pub const fn with_obsolete(self, obsolete: Permission) -> Sandbox {
        Sandbox { obsolete, ..self }
    }

    /// This value with `elevateprivileges=` set.
    ///
    /// ```
    /// use sandbox_opts::{ElevatePrivileges, Sandbox};
    /// let s = Sandbox::ON.with_elevate_privileges(ElevatePrivileges::Children);
    /// assert_eq!(s.to_string(), "on,elevateprivileges=children");
    /// ```
    #[must_use]
    pub const fn with_elevate_privileges(self, elevate_privileges: ElevatePrivileges) -> Sandbox {
        Sandbox {
            elevate_privileges,
            ..self
        }
    }

    /// This value with `spawn=` set.
    ///
    /// ```
    /// use sandbox_opts::{Permission, Sandbox};
    /// assert_eq!(Sandbox::ON.with_spawn(Permission::Deny).to_string(), "on,spawn=deny");
    /// ```
    #[must_use]
    pub const fn with_spawn(self, spawn: Permission) -> Sandbox {
        Sandbox { spawn, ..self }
    }

    /// This value with `resourcecontrol=` set.
    ///
    /// ```
    /// use sandbox_opts::{Permission, Sandbox};
    /// let s = Sandbox::ON.with_resource_control(Permission::Deny);
    /// assert_eq!(s.to_string(), "on,resourcecontrol=deny");
    /// ```
    #[must_use]
    pub const fn with_resource_control(self, resource_control: Permission) -> Sandbox {
        Sandbox {
            resource_control,
            ..self
        }
    }

    /// The sets QEMU denies for these settings, as QEMU's `parse_sandbox`
    /// computes them: `default` always, `obsolete` unless `obsolete=allow`,
    /// `privileged` for `elevateprivileges=deny|children`, `spawn` for
    /// `spawn=deny`, `resourcecontrol` for `resourcecontrol=deny`.
    /// Empty when the sandbox is off.
    ///
    /// ```
    /// use sandbox_opts::{Sandbox, Set};
    ///
    /// let s: Sandbox = "on,obsolete=allow,elevateprivileges=deny".parse()?;
    /// assert_eq!(s.denied_sets().iter().collect::<Vec<_>>(), [Set::Default, Set::Privileged]);
    /// assert!(Sandbox::OFF.denied_sets().is_empty());
    /// # Ok::<(), sandbox_opts::ParseError>(())
    /// ```
    pub const fn denied_sets(&self) -> SetSelection {
        let mut s = SetSelection::EMPTY;
        if !self.enabled {
            return s;
        }
        s = s.with(Set::Default);
        if self.obsolete.is_deny() {
            s = s.with(Set::Obsolete);
        }
        if self.elevate_privileges.denies_privileged() {
            s = s.with(Set::Privileged);
        }
        if self.spawn.is_deny() {
            s = s.with(Set::Spawn);
        }
        if self.resource_control.is_deny() {
            s = s.with(Set::ResourceControl);
        }
        s
    }

    /// Whether loading this sandbox sets no-new-privileges (`PR_SET_NO_NEW_PRIVS`): whenever
    /// it is on. QEMU does the same: `elevateprivileges=children` calls `prctl` by name, and
    /// every other `on` gets it from libseccomp's default (`SCMP_FLTATR_CTL_NNP`) when the
    /// filter is loaded. This is the answer `seccomp-sets` loads by; its builder's opt-out is
    /// for privileged callers that must execute a set-user-ID program afterwards, and is
    /// refused for `elevateprivileges=children`.
    ///
    /// ```
    /// use sandbox_opts::Sandbox;
    /// assert!("on".parse::<Sandbox>()?.no_new_privileges());
    /// assert!("on,elevateprivileges=children".parse::<Sandbox>()?.no_new_privileges());
    /// assert!(!"off,elevateprivileges=children".parse::<Sandbox>()?.no_new_privileges());
    /// # Ok::<(), sandbox_opts::ParseError>(())
    /// ```
    pub const fn no_new_privileges(&self) -> bool {
        self.enabled
    }

    /// The value of `key` in QEMU's canonical spelling (`on`/`off` for `enable`).
    ///
    /// ```
    /// use sandbox_opts::{Key, Sandbox};
    /// assert_eq!(Sandbox::ON.value_of(Key::Enable), "on");
    /// assert_eq!(Sandbox::ON.value_of(Key::Obsolete), "deny");
    /// ```
    pub const fn value_of(&self, key: Key) -> &'static str {
        match key {
            Key::Enable => {
                if self.enabled {
                    "on"
                } else {
                    "off"
                }
            }
            Key::Obsolete => self.obsolete.as_str(),
            Key::ElevatePrivileges => self.elevate_privileges.as_str(),
            Key::Spawn => self.spawn.as_str(),
            Key::ResourceControl => self.resource_control.as_str(),
        }
    }

    /// Sets `key` from one of its [`Key::accepted_values`]; returns `false`
    /// (and changes nothing) for any other value. The parser and the serde
    /// map form both set values through this.
    pub(crate) fn set_value(&mut self, key: Key, value: &str) -> bool {
        fn put<T>(field: &mut T, parsed: Option<T>) -> bool {
            parsed.map(|v| *field = v).is_some()
        }
        match key {
            Key::Enable => put(&mut self.enabled, parse_bool(value)),
            Key::Obsolete => put(&mut self.obsolete, Permission::parse(value)),
            Key::ElevatePrivileges => put(
                &mut self.elevate_privileges,
                ElevatePrivileges::parse(value),
            ),
            Key::Spawn => put(&mut self.spawn, Permission::parse(value)),
            Key::ResourceControl => put(&mut self.resource_control, Permission::parse(value)),
        }
    }

    /// All 48 distinct values: off before on, then by `obsolete`,
    /// `elevate_privileges`, `spawn`, `resource_control`, QEMU's default value
    /// of each first (so the first value is [`Sandbox::OFF`]).
    ///
    /// ```
    /// use sandbox_opts::Sandbox;
    /// let all: Vec<_> = Sandbox::all().collect();
    /// assert_eq!(all.len(), 48);
    /// assert_eq!(all[0], Sandbox::OFF);
    /// assert_eq!(all[24], Sandbox::ON);
    /// ```
    pub fn all() -> impl Iterator<Item = Sandbox> {
        [false, true].into_iter().flat_map(|enabled| {
            [Permission::Deny, Permission::Allow]
                .into_iter()
                .flat_map(move |obsolete| {
                    ElevatePrivileges::ALL
                        .into_iter()
                        .flat_map(move |elevate_privileges| {
                            Permission::ALL.into_iter().flat_map(move |spawn| {
                                Permission::ALL
                                    .into_iter()
                                    .map(move |resource_control| Sandbox {
                                        enabled,
                                        obsolete,
                                        elevate_privileges,
                                        spawn,
                                        resource_control,
                                    })
                            })
                        })
                })
        })
    }
}

impl fmt::Display for Sandbox {
    /// The canonical form; see [`Sandbox`]. `{:#}` spells out every key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let explicit = f.alternate();
        if explicit {
            write!(f, "enable={}", self.value_of(Key::Enable))?;
        } else {
            f.write_str(self.value_of(Key::Enable))?;
        }
        for key in Key::SUB_OPTIONS {
            let value = self.value_of(key);
            if explicit || value != key.default_value() {
                write!(f, ",{}={}", key.name(), value)?;
            }
        }
        Ok(())
    }
}

/// The defaults live here, beside [`Sandbox::OFF`], which holds them.
impl Key {
    /// QEMU's default value of the key (when it is not given).
    ///
    /// ```
    /// use sandbox_opts::Key;
    /// assert_eq!(Key::Enable.default_value(), "off");
    /// assert_eq!(Key::Obsolete.default_value(), "deny");
    /// assert_eq!(Key::Spawn.default_value(), "allow");
    /// ```
    pub const fn default_value(self) -> &'static str {
        Sandbox::OFF.value_of(self)
    }
}
