//! serde integration (feature `serde`).
//!
//! [`Sandbox`] serialises as its canonical string (`"on,spawn=deny"`) and
//! deserialises from either that string form or a map with QEMU's key names:
//!
//! ```
//! use sandbox_opts::Sandbox;
//!
//! let s: Sandbox = serde_json::from_str(r#""on,spawn=deny""#)?;
//! assert_eq!(serde_json::to_string(&s)?, r#""on,spawn=deny""#);
//!
//! let m: Sandbox = serde_json::from_str(
//!     r#"{ "enable": true, "elevateprivileges": "children", "spawn": "deny" }"#,
//! )?;
//! assert_eq!(m.to_string(), "on,elevateprivileges=children,spawn=deny");
//!
//! let err = serde_json::from_str::<Sandbox>(r#"{ "enable": "on", "spawn": "maybe" }"#).unwrap_err();
//! assert!(err.to_string().starts_with(r#"invalid argument for spawn: "maybe""#));
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! The map form: `enable` is required (a boolean, or a string QEMU accepts
//! for booleans: `"on"`, `"yes"`, ...) because `{ "spawn": "deny" }` quietly
//! meaning "off" would be a trap; `obsolete`, `elevateprivileges`, `spawn`,
//! `resourcecontrol` are optional strings with QEMU's values and defaults.
//! Unknown or repeated keys are rejected. Errors use the messages of
//! [`ParseError`] where one applies; the `input` shown is `key=value`.
//! A [`Sandbox`] drops the parser's warnings; deserialise a [`Parsed`] to keep them.
//!
//! The map form needs a self-describing format (JSON, TOML, YAML, ...). To
//! also *serialise* as a map, use [`as_map`] with `#[serde(with = ...)]`.

use std::fmt;

use ::serde::de::{self, Deserializer, MapAccess, Visitor};
use ::serde::ser::{SerializeMap, Serializer};
use ::serde::{Deserialize, Serialize};

use crate::error::ParseError;
use crate::key::{Key, parse_bool, write_alternatives};
use crate::parse::{Parsed, parse_with_warnings};
use crate::sandbox::Sandbox;

impl Serialize for Sandbox {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Sandbox {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SandboxVisitor)
    }
}

/// [`Parsed`] deserialises like [`Sandbox`] and keeps the parser's warnings of the string
/// form (the map form has none), so a config file needs to be read only once.
///
/// ```
/// let p: sandbox_opts::Parsed = serde_json::from_str(r#""off,spawn=deny""#)?;
/// assert!(!p.sandbox.enabled); // "spawn=deny" does nothing while off: a warning says so
/// assert_eq!(p.warnings.len(), 1);
/// let m: sandbox_opts::Parsed = serde_json::from_str(r#"{"enable": true}"#)?;
/// assert!(m.sandbox.enabled && m.warnings.is_empty());
/// # Ok::<(), serde_json::Error>(())
/// ```
impl<'de> Deserialize<'de> for Parsed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ParsedVisitor)
    }
}

/// The string form through the parser (with its warnings); the map form as [`Sandbox`]'s.
struct ParsedVisitor;

impl<'de> Visitor<'de> for ParsedVisitor {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        SandboxVisitor.expecting(f)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Parsed, E> {
        let (sandbox, warnings) = parse_with_warnings(v).map_err(E::custom)?;
        Ok(Parsed { sandbox, warnings })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Parsed, A::Error> {
        Ok(Parsed {
            sandbox: SandboxVisitor.visit_map(map)?,
            warnings: Vec::new(),
        })
    }
}

/// `#[serde(with = "sandbox_opts::serde::as_map")]`: serialise as a map with
/// all five keys (`enable` as a boolean); deserialise from either form.
///
/// ```
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Config {
///     #[serde(with = "sandbox_opts::serde::as_map")]
///     sandbox: sandbox_opts::Sandbox,
/// }
///
/// let c = Config { sandbox: "on,spawn=deny".parse().unwrap() };
/// let json = serde_json::to_string(&c)?;
/// assert_eq!(json, r#"{"sandbox":{"enable":true,"obsolete":"deny","elevateprivileges":"allow","spawn":"deny","resourcecontrol":"allow"}}"#);
/// let back: Config = serde_json::from_str(&json)?;
/// assert_eq!(back.sandbox, c.sandbox);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub mod as_map {
    use super::*;

    /// Serialises `sandbox` as a map with all five keys.
    pub fn serialize<S: Serializer>(sandbox: &Sandbox, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(Key::ALL.len()))?;
        map.serialize_entry(Key::Enable.name(), &sandbox.enabled)?;
        for key in Key::SUB_OPTIONS {
            map.serialize_entry(key.name(), sandbox.value_of(key))?;
        }
        map.end()
    }

    /// Deserialises from the string form or the map form.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Sandbox, D::Error> {
        Sandbox::deserialize(deserializer)
    }
}

struct SandboxVisitor;

impl<'de> Visitor<'de> for SandboxVisitor {
    type Value = Sandbox;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sandbox option string such as \"on,spawn=deny\" or a map with the keys ")?;
        write_alternatives(f, &Key::ALL.map(Key::name))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Sandbox, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Sandbox, A::Error> {
        let mut seen = [false; 5];
        let mut sandbox = Sandbox::OFF;
        while let Some(name) = map.next_key::<String>()? {
            let Some(key) = Key::from_name(&name) else {
                return Err(de::Error::custom(ParseError::InvalidParameter {
                    input: name.clone(),
                    name,
                }));
            };
            let index = key as usize;
            if std::mem::replace(&mut seen[index], true) {
                return Err(de::Error::duplicate_field(key.name()));
            }
            match key {
                Key::Enable => sandbox.enabled = map.next_value::<EnableValue>()?.0,
                _ => {
                    let value: String = map.next_value()?;
                    if !sandbox.set_value(key, &value) {
                        return Err(de::Error::custom(ParseError::InvalidArgument {
                            option: key,
                            input: format!("{key}={value}"),
                            value,
                        }));
                    }
                }
            }
        }
        if !seen[Key::Enable as usize] {
            return Err(de::Error::missing_field(Key::Enable.name()));
        }
        Ok(sandbox)
    }
}

/// `enable` in the map form: a boolean or one of QEMU's boolean strings.
struct EnableValue(bool);

impl<'de> Deserialize<'de> for EnableValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = EnableValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean or one of ")?;
                write_alternatives(f, Key::Enable.accepted_values())
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<EnableValue, E> {
                Ok(EnableValue(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<EnableValue, E> {
                parse_bool(v).map(EnableValue).ok_or_else(|| {
                    E::custom(ParseError::EnableExpectsOnOff {
                        value: v.to_owned(),
                        input: format!("enable={v}"),
                    })
                })
            }
        }
        deserializer.deserialize_any(V)
    }
}
