//! [`Warning`]: input QEMU accepts but that probably does not do what was meant.

use std::fmt;

use crate::key::Key;

/// Something accepted (as QEMU accepts it) that a caller should print.
///
/// ```
/// use sandbox_opts::{parse_with_warnings, Key, Warning};
///
/// let (sandbox, warnings) = parse_with_warnings("off,spawn=deny")?;
/// assert!(!sandbox.enabled);
/// assert_eq!(warnings, [Warning::NoEffectWhileOff { option: Key::Spawn, value: "deny" }]);
/// assert_eq!(warnings[0].to_string(), "spawn=deny has no effect while the sandbox is off");
/// # Ok::<(), sandbox_opts::ParseError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Warning {
    /// A sub-option was given while the sandbox is off; QEMU ignores it.
    NoEffectWhileOff {
        /// The sub-option.
        option: Key,
        /// Its (last) value, canonical spelling.
        value: &'static str,
    },
    /// The sandbox is off because `enable` was not given at all, e.g.
    /// `spawn=deny`: QEMU only reads the first item as `enable` when it has
    /// no `=`.
    EnableMissing,
    /// A key was given more than once; the last value wins (as in QEMU).
    Repeated {
        /// The key.
        option: Key,
        /// The value that wins, canonical spelling.
        value: &'static str,
    },
    /// A deprecated short-form boolean (`enable` or `noenable` after the first
    /// item). QEMU accepts it with a deprecation warning.
    ShortFormBoolean {
        /// The item as written.
        item: String,
        /// What to write instead (`enable=on` or `enable=off`).
        replacement: &'static str,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::NoEffectWhileOff { option, value } => {
                write!(f, "{option}={value} has no effect while the sandbox is off")
            }
            Warning::EnableMissing => f.write_str(
                "the sandbox is off because enable is not given; \
                 start the option with on (e.g. on,spawn=deny) to turn it on",
            ),
            Warning::Repeated { option, value } => write!(
                f,
                "{option} is given more than once; the last value, {option}={value}, wins"
            ),
            Warning::ShortFormBoolean { item, replacement } => write!(
                f,
                "short-form boolean option '{item}' is deprecated; write {replacement} instead"
            ),
        }
    }
}
