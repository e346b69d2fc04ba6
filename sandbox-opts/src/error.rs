//! [`ParseError`]: why a `-sandbox` string was rejected.

use std::fmt;

use crate::help::GRAMMAR;
use crate::key::{Key, write_alternatives};

/// Why a `-sandbox` string was rejected.
///
/// Each message starts with QEMU's own words (`invalid argument for spawn`,
/// `Invalid parameter 'foo'`, `Parameter 'enable' expects 'on' or 'off'`)
/// and then names the offending value, the whole input and what is accepted.
///
/// ```
/// use sandbox_opts::{Key, ParseError, Sandbox};
///
/// let err = "on,spawn=maybe".parse::<Sandbox>().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     r#"invalid argument for spawn: "maybe" (in "on,spawn=maybe"); expected allow or deny"#
/// );
/// assert!(matches!(err, ParseError::InvalidArgument { option: Key::Spawn, .. }));
/// let io: std::io::Error = err.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The string is empty. QEMU reads an empty `-sandbox ""` as "off"; this
    /// crate rejects it because it is almost always a missing value.
    Empty,
    /// A key QEMU does not know (`Invalid parameter 'foo'`). Keys are
    /// case-sensitive. QEMU's generic `id=` key is rejected too: it means
    /// nothing for a daemon.
    InvalidParameter {
        /// The key as QEMU names it: as written, and for the short boolean form `nofoo`,
        /// `foo`.
        name: String,
        /// The whole input.
        input: String,
    },
    /// `enable` (or the implied first item) is not a boolean
    /// (`Parameter 'enable' expects 'on' or 'off'`).
    EnableExpectsOnOff {
        /// The rejected value (after `,,` unescaping).
        value: String,
        /// The whole input.
        input: String,
    },
    /// A sub-option has a value QEMU rejects (`invalid argument for spawn`).
    InvalidArgument {
        /// The sub-option (never [`Key::Enable`]).
        option: Key,
        /// The rejected value (after `,,` unescaping).
        value: String,
        /// The whole input.
        input: String,
    },
    /// A sub-option was written without `=value` (QEMU's deprecated short
    /// boolean form, `spawn` meaning `spawn=on`), which QEMU rejects with
    /// `invalid argument for spawn`.
    MissingValue {
        /// The sub-option (never [`Key::Enable`]).
        option: Key,
        /// The item as written (`spawn` or `nospawn`).
        item: String,
        /// The whole input.
        input: String,
    },
    /// A bare `help` or `?` item: QEMU prints the option list and exits.
    HelpRequested {
        /// The whole input.
        input: String,
    },
}

impl ParseError {
    /// The whole input that was rejected (`""` for [`ParseError::Empty`]).
    ///
    /// ```
    /// let err = "on,foo=1".parse::<sandbox_opts::Sandbox>().unwrap_err();
    /// assert_eq!(err.input(), "on,foo=1");
    /// ```
    pub fn input(&self) -> &str {
        match self {
            ParseError::Empty => "",
            ParseError::InvalidParameter { input, .. }
            | ParseError::EnableExpectsOnOff { input, .. }
            | ParseError::InvalidArgument { input, .. }
            | ParseError::MissingValue { input, .. }
            | ParseError::HelpRequested { input } => input,
        }
    }
}

/// A value that differs from an accepted one only in ASCII case.
fn case_hint<'a>(given: &str, accepted: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    accepted
        .into_iter()
        .find(|a| *a != given && a.eq_ignore_ascii_case(given))
}

/// Explains a comma inside a value: QemuOpts reads `,,` as a literal comma.
fn comma_hint(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    if value.contains(',') {
        f.write_str(" (',,' is an escaped comma inside a value)")?;
    }
    Ok(())
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => write!(f, "empty sandbox option; expected {GRAMMAR}"),
            ParseError::InvalidParameter { name, input } => {
                write!(f, "Invalid parameter '{name}' (in {input:?}); expected ")?;
                write_alternatives(f, &Key::ALL.map(Key::name))?;
                if let Some(hint) = case_hint(name, Key::ALL.map(Key::name)) {
                    write!(f, " (names are case-sensitive: did you mean {hint}?)")?;
                }
                Ok(())
            }
            ParseError::EnableExpectsOnOff { value, input } => {
                write!(
                    f,
                    "Parameter 'enable' expects 'on' or 'off': {value:?} (in {input:?}); expected "
                )?;
                write_alternatives(f, Key::Enable.accepted_values())?;
                if let Some(hint) = case_hint(value, Key::Enable.accepted_values().iter().copied())
                {
                    write!(f, " (values are case-sensitive: did you mean {hint}?)")?;
                }
                comma_hint(f, value)
            }
            ParseError::InvalidArgument {
                option,
                value,
                input,
            } => {
                write!(
                    f,
                    "invalid argument for {option}: {value:?} (in {input:?}); expected "
                )?;
                write_alternatives(f, option.accepted_values())?;
                if let Some(hint) = case_hint(value, option.accepted_values().iter().copied()) {
                    write!(f, " (values are case-sensitive: did you mean {hint}?)")?;
                }
                comma_hint(f, value)
            }
            ParseError::MissingValue {
                option,
                item,
                input,
            } => {
                write!(
                    f,
                    "invalid argument for {option}: {item:?} has no value (in {input:?}); expected "
                )?;
                let forms: Vec<String> = option
                    .accepted_values()
                    .iter()
                    .map(|v| format!("{option}={v}"))
                    .collect();
                let forms: Vec<&str> = forms.iter().map(String::as_str).collect();
                write_alternatives(f, &forms)
            }
            ParseError::HelpRequested { input } => {
                write!(
                    f,
                    "help requested (in {input:?}); the sandbox option accepts {GRAMMAR}"
                )
            }
        }
    }
}

impl std::error::Error for ParseError {}

impl From<ParseError> for std::io::Error {
    fn from(err: ParseError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, err)
    }
}
