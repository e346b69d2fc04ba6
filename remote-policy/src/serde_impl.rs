//! Policy files (feature `serde`): `Policy` (de)serialisation and loading.
//! The format is documented in the crate root.

use std::fmt;
use std::path::Path;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::kind::RemoteKind;
use crate::origin::{Origin, OriginSet};
use crate::policy::{Policy, PolicyError};

/// The file shape, before validation: kinds and origins as plain strings, in
/// file order, duplicates kept so that validation can report them.
struct PolicyFile {
    allow: Rules,
}

impl<'de> Deserialize<'de> for PolicyFile {
    /// Only a JSON object with the single optional key `"allow"` (serde's
    /// derive would also accept an array).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FileVisitor;

        impl<'de> Visitor<'de> for FileVisitor {
            type Value = PolicyFile;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a policy object {\"allow\": {KIND: [ORIGIN, ...], ...}}")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PolicyFile, A::Error> {
                let mut allow: Option<Rules> = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != "allow" {
                        return Err(de::Error::unknown_field(&key, &["allow"]));
                    }
                    if allow.is_some() {
                        return Err(de::Error::duplicate_field("allow"));
                    }
                    allow = Some(map.next_value()?);
                }
                Ok(PolicyFile {
                    allow: allow.unwrap_or_default(),
                })
            }
        }

        deserializer.deserialize_map(FileVisitor)
    }
}

#[derive(Default)]
struct Rules(Vec<(String, Vec<String>)>);

impl<'de> Deserialize<'de> for Rules {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RulesVisitor;

        impl<'de> Visitor<'de> for RulesVisitor {
            type Value = Rules;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object mapping remote kinds to lists of origins")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Rules, A::Error> {
                let mut rules = Vec::new();
                while let Some((kind, origins)) = map.next_entry::<String, Vec<String>>()? {
                    rules.push((kind, origins));
                }
                Ok(Rules(rules))
            }
        }

        deserializer.deserialize_map(RulesVisitor)
    }
}

impl TryFrom<PolicyFile> for Policy {
    type Error = PolicyError;

    fn try_from(file: PolicyFile) -> Result<Self, Self::Error> {
        let mut policy = Policy::default();
        let mut seen: Vec<RemoteKind> = Vec::new();
        for (key, origin_names) in file.allow.0 {
            let kind: RemoteKind = key
                .parse()
                .map_err(|_| PolicyError::UnknownKind { key: key.clone() })?;
            if seen.contains(&kind) {
                return Err(PolicyError::DuplicateKind { kind });
            }
            seen.push(kind);
            let mut origins = OriginSet::EMPTY;
            for value in origin_names {
                let origin: Origin = value
                    .parse()
                    .map_err(|_| PolicyError::UnknownOrigin { kind, value })?;
                if !origins.insert(origin) {
                    return Err(PolicyError::DuplicateOrigin { kind, origin });
                }
            }
            policy.set_allowed(kind, origins)?;
        }
        Ok(policy)
    }
}

impl Serialize for Policy {
    /// Writes every kind, in [`RemoteKind::ALL`] order.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Allow<'a>(&'a Policy);

        impl Serialize for Allow<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(RemoteKind::ALL.len()))?;
                for kind in RemoteKind::ALL {
                    let origins: Vec<&str> = self
                        .0
                        .allowed_origins(kind)
                        .iter()
                        .map(Origin::name)
                        .collect();
                    map.serialize_entry(kind.name(), &origins)?;
                }
                map.end()
            }
        }

        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("allow", &Allow(self))?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for Policy {
    /// Validates like [`Policy::from_json_str`]; errors carry the same text.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let file = PolicyFile::deserialize(deserializer)?;
        Policy::try_from(file).map_err(de::Error::custom)
    }
}

impl Policy {
    /// Loads and validates a policy from JSON text.
    ///
    /// ```
    /// use remote_policy::{Origin, Policy, PolicyError, RemoteKind};
    ///
    /// let p = Policy::from_json_str(r#"{"allow": {"ptcp": ["command-line"]}}"#).unwrap();
    /// assert!(p.check_kind(RemoteKind::Ptcp, Origin::Database).is_err());
    /// assert!(p.check_kind(RemoteKind::Tcp, Origin::Database).is_ok()); // default kept
    ///
    /// let err = Policy::from_json_str(r#"{"allow": {"pfd": ["command-line", "database"]}}"#)
    ///     .unwrap_err();
    /// assert!(matches!(err, PolicyError::PfdLoosened { origin: Origin::Database }));
    /// ```
    pub fn from_json_str(json: &str) -> Result<Policy, PolicyError> {
        let file: PolicyFile = serde_json::from_str(json).map_err(PolicyError::Json)?;
        Policy::try_from(file)
    }

    /// Reads, parses and validates a policy file.
    ///
    /// ```
    /// let err = remote_policy::Policy::from_json_file("/nonexistent/policy.json").unwrap_err();
    /// assert!(err.to_string().starts_with("cannot read policy file /nonexistent/policy.json: "));
    /// ```
    pub fn from_json_file(path: impl AsRef<Path>) -> Result<Policy, PolicyError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.to_owned(),
            source,
        })?;
        Policy::from_json_str(&text)
    }

    /// The policy as pretty-printed JSON (every kind listed), which
    /// [`Policy::from_json_str`] reads back to an equal policy.
    ///
    /// ```
    /// let p = remote_policy::Policy::default();
    /// assert_eq!(remote_policy::Policy::from_json_str(&p.to_json_string()).unwrap(), p);
    /// ```
    pub fn to_json_string(&self) -> String {
        // Serialising plain strings and lists into a String cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
