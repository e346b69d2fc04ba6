//! The parser: QEMU's QemuOpts tokenisation plus `parse_sandbox`'s checks.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;
use crate::key::{Key, parse_bool};
use crate::sandbox::Sandbox;
use crate::warning::Warning;

/// One comma-separated item, as QEMU's `get_opt_name_value` splits it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Item<'a> {
    /// The first item without `=`: the value of the implied key `enable`.
    Implied(Cow<'a, str>),
    /// `name=value`.
    KeyValue(&'a str, Cow<'a, str>),
    /// A later item without `=`: QEMU's short-form boolean (`name` or `noname`).
    Flag(&'a str),
}

/// Reads a value up to the next single `,` (a `,,` is a literal comma).
/// Returns the value and the number of bytes consumed (up to the delimiter).
fn take_value(s: &str) -> (Cow<'_, str>, usize) {
    let mut owned: Option<String> = None;
    let mut start = 0;
    loop {
        let Some(off) = s[start..].find(',') else {
            return match owned {
                None => (Cow::Borrowed(s), s.len()),
                Some(mut o) => {
                    o.push_str(&s[start..]);
                    (Cow::Owned(o), s.len())
                }
            };
        };
        let comma = start + off;
        if s.as_bytes().get(comma + 1) == Some(&b',') {
            owned
                .get_or_insert_with(String::new)
                .push_str(&s[start..=comma]);
            start = comma + 2;
        } else {
            return match owned {
                None => (Cow::Borrowed(&s[..comma]), comma),
                Some(mut o) => {
                    o.push_str(&s[start..comma]);
                    (Cow::Owned(o), comma)
                }
            };
        }
    }
}

/// Splits `s` into items exactly as QEMU's `opts_do_parse` with the implied
/// first key does.
pub(crate) fn split(s: &str) -> Vec<Item<'_>> {
    split_with(s, true)
}

/// Splits `s` as QEMU's `get_opt_name_value` does, with or without an
/// implied first key (QemuOpts looks for `id` without one).
pub(crate) fn split_with(s: &str, implied: bool) -> Vec<Item<'_>> {
    let mut items = Vec::new();
    let mut pos = 0;
    while pos < s.len() {
        let rest = &s[pos..];
        let name_len = rest.find([',', '=']).unwrap_or(rest.len());
        let (item, used) = if rest.as_bytes().get(name_len) == Some(&b'=') {
            let (value, used) = take_value(&rest[name_len + 1..]);
            (
                Item::KeyValue(&rest[..name_len], value),
                name_len + 1 + used,
            )
        } else if implied && items.is_empty() {
            let (value, used) = take_value(rest);
            (Item::Implied(value), used)
        } else {
            (Item::Flag(&rest[..name_len]), name_len)
        };
        items.push(item);
        // `pos + used` is at a single ',' or at the end: step over the ',' (past the end, the
        // loop is over all the same).
        pos += used + 1;
    }
    items
}

/// A sub-option occurrence, checked after all keys (as QEMU checks them in
/// `parse_sandbox`, after QemuOpts accepted the keys).
enum SubValue<'a> {
    Value(Cow<'a, str>),
    Flag(&'a str),
}

/// Parses a `-sandbox` string and reports [`Warning`]s for input QEMU accepts
/// but that probably does not do what was meant.
///
/// Grammar and semantics follow QEMU (`qemu_opts_parse_noisily` with the
/// implied key `enable`, then `parse_sandbox`; checked against QEMU 7.2 and
/// 10.0):
///
/// * items are separated by `,`; inside a value `,,` is a literal comma;
///   a single trailing `,` is ignored;
/// * the first item may omit its key when it has no `=` (`on` = `enable=on`);
/// * `enable` accepts `on/yes/true/y` and `off/no/false/n`; keys and values
///   are case-sensitive and not trimmed;
/// * after the first item, QEMU's deprecated short booleans `enable` and
///   `noenable` are accepted with a [`Warning::ShortFormBoolean`];
/// * a repeated key takes its last value ([`Warning::Repeated`]);
/// * sub-options given while the sandbox is off are accepted and ignored
///   ([`Warning::NoEffectWhileOff`]).
///
/// Stricter than QEMU, on purpose (each would silently accept a mistake):
/// the empty string ([`ParseError::Empty`]), QEMU's generic `id=` key, and a
/// bad sub-option value that QEMU would not look at (because a later
/// repetition overrides it or because the sandbox is off) are rejected; a
/// `help` item is an error that carries the grammar. The
/// `qemu` module (feature `qemu-model`) has these as a table.
///
/// ```
/// use sandbox_opts::{parse_with_warnings, Sandbox, Warning, Key};
///
/// let (s, w) = parse_with_warnings("enable=yes,spawn=deny,spawn=allow")?;
/// assert_eq!(s, Sandbox::ON);
/// assert_eq!(w, [Warning::Repeated { option: Key::Spawn, value: "allow" }]);
/// # Ok::<(), sandbox_opts::ParseError>(())
/// ```
pub fn parse_with_warnings(s: &str) -> Result<(Sandbox, Vec<Warning>), ParseError> {
    if s.is_empty() {
        return Err(ParseError::Empty);
    }
    let input = || s.to_owned();
    let parse_enable = |value: Cow<'_, str>| {
        parse_bool(&value).ok_or_else(|| ParseError::EnableExpectsOnOff {
            value: value.into_owned(),
            input: input(),
        })
    };
    let mut warnings = Vec::new();
    let mut enable: Vec<bool> = Vec::new();
    let mut subs: [Vec<SubValue<'_>>; 4] = Default::default();
    let sub_index = |key: Key| Key::SUB_OPTIONS.iter().position(|k| *k == key);

    // Pass 1, in input order: names and the boolean `enable` (QemuOpts).
    for item in split(s) {
        match item {
            Item::Implied(value) => enable.push(parse_enable(value)?),
            Item::KeyValue(name, value) => match Key::from_name(name) {
                None => {
                    return Err(ParseError::InvalidParameter {
                        name: name.to_owned(),
                        input: input(),
                    });
                }
                Some(Key::Enable) => enable.push(parse_enable(value)?),
                Some(key) => {
                    if let Some(i) = sub_index(key) {
                        subs[i].push(SubValue::Value(value));
                    }
                }
            },
            Item::Flag(name) => {
                if name == "help" || name == "?" {
                    return Err(ParseError::HelpRequested { input: input() });
                }
                let (base, on) = match name.strip_prefix("no") {
                    Some(base) => (base, false),
                    None => (name, true),
                };
                match Key::from_name(base) {
                    None => {
                        // QEMU names the key without the `no` of the short form
                        // (`on,nofoo`: `Invalid parameter 'foo'`).
                        return Err(ParseError::InvalidParameter {
                            name: base.to_owned(),
                            input: input(),
                        });
                    }
                    Some(Key::Enable) => {
                        enable.push(on);
                        warnings.push(Warning::ShortFormBoolean {
                            item: name.to_owned(),
                            replacement: if on { "enable=on" } else { "enable=off" },
                        });
                    }
                    Some(key) => {
                        if let Some(i) = sub_index(key) {
                            subs[i].push(SubValue::Flag(name));
                        }
                    }
                }
            }
        }
    }

    // Pass 2, in QEMU's key order: the sub-option values (parse_sandbox);
    // each key's last value wins.
    let mut sandbox = Sandbox::OFF;
    if let Some(&b) = enable.last() {
        sandbox.enabled = b;
    }
    for (key, values) in Key::SUB_OPTIONS.into_iter().zip(&subs) {
        for v in values {
            match v {
                SubValue::Flag(item) => {
                    return Err(ParseError::MissingValue {
                        option: key,
                        item: (*item).to_owned(),
                        input: input(),
                    });
                }
                SubValue::Value(value) => {
                    if !sandbox.set_value(key, value) {
                        return Err(ParseError::InvalidArgument {
                            option: key,
                            value: value.clone().into_owned(),
                            input: input(),
                        });
                    }
                }
            }
        }
    }

    if enable.len() > 1 {
        warnings.push(Warning::Repeated {
            option: Key::Enable,
            value: sandbox.value_of(Key::Enable),
        });
    }
    for (key, values) in Key::SUB_OPTIONS.into_iter().zip(&subs) {
        if values.len() > 1 {
            warnings.push(Warning::Repeated {
                option: key,
                value: sandbox.value_of(key),
            });
        }
    }
    if !sandbox.enabled {
        if enable.is_empty() {
            warnings.push(Warning::EnableMissing);
        }
        for (key, values) in Key::SUB_OPTIONS.into_iter().zip(&subs) {
            if !values.is_empty() {
                warnings.push(Warning::NoEffectWhileOff {
                    option: key,
                    value: sandbox.value_of(key),
                });
            }
        }
    }
    Ok((sandbox, warnings))
}

impl FromStr for Sandbox {
    type Err = ParseError;

    /// Parses like [`parse_with_warnings`] and drops the warnings.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_with_warnings(s).map(|(sandbox, _)| sandbox)
    }
}

/// A parsed value together with its [`Warning`]s (what the `clap` feature's
/// `parsed_value_parser()` yields).
///
/// ```
/// let p: sandbox_opts::Parsed = "off,spawn=deny".parse()?;
/// assert!(!p.sandbox.enabled);
/// assert_eq!(p.warnings.len(), 1);
/// assert_eq!(p.to_string(), "off,spawn=deny");
/// # Ok::<(), sandbox_opts::ParseError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Parsed {
    /// The settings.
    pub sandbox: Sandbox,
    /// What to tell the user (empty for clean input).
    pub warnings: Vec<Warning>,
}

impl FromStr for Parsed {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_with_warnings(s).map(|(sandbox, warnings)| Parsed { sandbox, warnings })
    }
}

impl fmt::Display for Parsed {
    /// The canonical form of [`Parsed::sandbox`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.sandbox, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Cow<'_, str> {
        Cow::Borrowed(s)
    }

    #[test]
    fn split_mirrors_qemu_tokenisation() {
        assert_eq!(split("on"), [Item::Implied(b("on"))]);
        assert_eq!(split("on,"), [Item::Implied(b("on"))]);
        assert_eq!(split("on,,"), [Item::Implied(b("on,"))]);
        assert_eq!(split(",on"), [Item::Implied(b("")), Item::Flag("on")]);
        assert_eq!(
            split("on,spawn=de,,ny,x"),
            [
                Item::Implied(b("on")),
                Item::KeyValue("spawn", b("de,ny")),
                Item::Flag("x")
            ]
        );
        assert_eq!(
            split("spawn=deny=x"),
            [Item::KeyValue("spawn", b("deny=x"))]
        );
        assert_eq!(split("=x"), [Item::KeyValue("", b("x"))]);
        assert_eq!(
            split("on,spawn,,x"),
            [
                Item::Implied(b("on")),
                Item::Flag("spawn"),
                Item::Flag(""),
                Item::Flag("x")
            ]
        );
        assert_eq!(split("a,,,b"), [Item::Implied(b("a,")), Item::Flag("b")]);
        assert_eq!(
            split("é,=ü"),
            [Item::Implied(b("é")), Item::KeyValue("", b("ü"))]
        );
    }
}
