//! What QEMU itself makes of a `-sandbox` string, and where this crate
//! deliberately differs.
//!
//! [`parse_like_qemu`] is a model of QEMU's own parsing (`qemu_opts_parse_noisily`
//! with the implied key `enable`, then `parse_sandbox`): it accepts exactly
//! what QEMU accepts and fails with exactly QEMU's first error line. It is stated for the
//! releases of [`MODEL_RELEASES`] (7.2 to 11.1), and was checked word for word against each
//! release Debian ships: the conformance test (`seccomp-sets/tests/conformance`) runs it, and
//! the crate's own parser, against the real `qemu-system-x86_64` on a corpus of several
//! hundred strings, on the host and in each VM suite's guest (QEMU 7.2.x in bookworm's,
//! 10.0.x in trixie's, 11.1.x in sid's); a QEMU outside that range fails the test until the
//! statement is checked and extended.
//!
//! The crate's parser ([`crate::parse_with_warnings`]) is stricter on purpose.
//! Every way in which it differs is a row of [`DIFFERENCES`], and
//! [`difference`] says which row explains a given input (property-tested:
//! where the two parsers disagree, one row always does). Each row names the QEMU releases it
//! holds for ([`Difference::releases`]); on a release in that range the conformance test fails
//! when the corpus never shows the row (a stale row) and when QEMU and this crate disagree
//! where no row says so.
//!
//! | id | example | QEMU (7.2 to 11.1) | this crate | why |
//! |---|---|---|---|---|
//! | `empty` | `""` | sandbox off | [`ParseError::Empty`] | an empty value is almost always a missing one |
//! | `id` | `on,id=sb0` | accepted (the first `id` must be an identifier) | `Invalid parameter 'id'` | QemuOpts' generic `id` means nothing for a daemon |
//! | `help` | `on,help` | prints the key list, exits 1 | [`ParseError::HelpRequested`] with the grammar | a library must not print; the error carries the help |
//! | `unread-value` | `off,spawn=maybe`, `on,spawn=maybe,spawn=deny` | accepted: QEMU only reads the last value of each key, and none while the sandbox is off | `invalid argument for spawn` | a typo that happens to be overridden today becomes live when the override goes |
//!
//! ```
//! use sandbox_opts::qemu::{difference, parse_like_qemu};
//! use sandbox_opts::Sandbox;
//!
//! // QEMU reads an empty string as "off"; this crate refuses it.
//! assert_eq!(parse_like_qemu(""), Ok(Sandbox::OFF));
//! assert!("".parse::<Sandbox>().is_err());
//! assert_eq!(difference("").map(|d| d.id), Some("empty"));
//!
//! // QEMU's words for a bad value, and no difference.
//! let err = parse_like_qemu("on,spawn=maybe").unwrap_err();
//! assert_eq!(err.to_string(), "invalid argument for spawn");
//! assert!(difference("on,spawn=maybe").is_none());
//! ```

use std::fmt;

use crate::key::{Key, parse_bool};
use crate::parse::{Item, split, split_with};
use crate::release::{CHECKED, QemuReleases};
use crate::{ParseError, Sandbox};

/// The QEMU releases [`parse_like_qemu`] is stated for: it matched QEMU 7.2.x (Debian 12),
/// 10.0.x (Debian 13) and 11.1.x (Debian unstable) word for word on every string of the
/// conformance corpus, in the VM suite's guests and on the host.
pub const MODEL_RELEASES: QemuReleases = CHECKED;

/// One deliberate difference from QEMU (a row of the table above).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Difference {
    /// Short stable name (`empty`, `id`, `help`, `unread-value`).
    pub id: &'static str,
    /// An input that shows it.
    pub example: &'static str,
    /// What QEMU does.
    pub qemu: &'static str,
    /// What this crate does.
    pub ours: &'static str,
    /// Why.
    pub why: &'static str,
    /// The QEMU releases the row holds for (QEMU does what [`Difference::qemu`] says there).
    pub releases: QemuReleases,
}

/// Every deliberate difference from QEMU, in the order of the table above.
pub const DIFFERENCES: &[Difference] = &[
    Difference {
        id: "empty",
        example: "",
        qemu: "sandbox off",
        ours: "ParseError::Empty",
        why: "an empty value is almost always a missing one",
        releases: CHECKED,
    },
    Difference {
        id: "id",
        example: "on,id=sb0",
        qemu: "accepted (the first id must be an identifier)",
        ours: "Invalid parameter 'id'",
        why: "QemuOpts' generic id means nothing for a daemon",
        releases: CHECKED,
    },
    Difference {
        id: "help",
        example: "on,help",
        qemu: "prints the key list, exits 1",
        ours: "ParseError::HelpRequested with the grammar",
        why: "a library must not print; the error carries the help",
        releases: CHECKED,
    },
    Difference {
        id: "unread-value",
        example: "on,spawn=maybe,spawn=deny",
        qemu: "accepted: QEMU only reads the last value of each key, and none while the sandbox \
               is off",
        ours: "invalid argument for spawn",
        why: "a typo that happens to be overridden today becomes live when the override goes",
        releases: CHECKED,
    },
];

fn row(id: &str) -> &'static Difference {
    DIFFERENCES
        .iter()
        .find(|d| d.id == id)
        .expect("ids used here are rows of DIFFERENCES")
}

/// QEMU's error for a `-sandbox` string: its first line, word for word.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct QemuError(String);

impl QemuError {
    /// QEMU's message (what follows `qemu-system-x86_64: -sandbox STR: `, or
    /// the first line of the key list for a help request).
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for QemuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for QemuError {}

fn qemu_err(message: impl Into<String>) -> QemuError {
    QemuError(message.into())
}

/// QemuOpts' `id_wellformed`: a letter, then letters, digits, `-`, `.`, `_`.
fn id_wellformed(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

/// An item as QemuOpts names it: the implied first key, `name=value`, or a
/// short-form flag (`name` = `on`, `noname` = `off`).
fn name_value<'a>(item: &'a Item<'a>) -> (&'a str, &'a str) {
    match item {
        Item::Implied(v) => ("enable", v),
        Item::KeyValue(n, v) => (n, v),
        Item::Flag(f) => match f.strip_prefix("no") {
            Some(base) => (base, "off"),
            None => (f, "on"),
        },
    }
}

/// Parses `s` exactly as QEMU does (the releases of [`MODEL_RELEASES`]), with QEMU's error
/// words.
///
/// Order of QEMU's checks: the first `id` (validated before anything else),
/// then each item in turn (a bare `help` or `?` item, unknown keys, the
/// boolean `enable`), then, only when the sandbox is on, the last value of
/// `obsolete`, `elevateprivileges`, `spawn` and `resourcecontrol`.
///
/// ```
/// use sandbox_opts::qemu::parse_like_qemu;
/// use sandbox_opts::Sandbox;
/// // QEMU reads only the last value, and none while off:
/// assert_eq!(parse_like_qemu("off,spawn=maybe"), Ok(Sandbox::OFF));
/// assert_eq!(
///     parse_like_qemu("on,foo=1").unwrap_err().message(),
///     "Invalid parameter 'foo'"
/// );
/// ```
pub fn parse_like_qemu(s: &str) -> Result<Sandbox, QemuError> {
    // opts_parse_id: the first `id` item, the string split without the
    // implied key.
    let without_implied = split_with(s, false);
    let first_id = without_implied
        .iter()
        .map(name_value)
        .find(|(name, _)| *name == "id");
    if let Some((_, id)) = first_id {
        if !id_wellformed(id) {
            return Err(qemu_err("Parameter 'id' expects an identifier"));
        }
    }
    let items = split(s);
    let mut enabled = false;
    let mut last: [Option<&str>; 4] = [None; 4];
    for item in &items {
        if matches!(item, Item::Flag("help" | "?")) {
            return Err(qemu_err("sandbox options:"));
        }
        let (name, value) = name_value(item);
        if name == "id" {
            continue;
        }
        match Key::from_name(name) {
            None => return Err(qemu_err(format!("Invalid parameter '{name}'"))),
            Some(Key::Enable) => {
                enabled = parse_bool(value)
                    .ok_or_else(|| qemu_err("Parameter 'enable' expects 'on' or 'off'"))?;
            }
            Some(key) => {
                let i = Key::SUB_OPTIONS.iter().position(|k| *k == key);
                last[i.expect("every key but enable is a sub-option")] = Some(value);
            }
        }
    }
    let mut sandbox = Sandbox::OFF;
    if !enabled {
        return Ok(sandbox);
    }
    sandbox.enabled = true;
    for (key, value) in Key::SUB_OPTIONS.into_iter().zip(last) {
        if let Some(value) = value {
            if !sandbox.set_value(key, value) {
                return Err(qemu_err(format!("invalid argument for {}", key.name())));
            }
        }
    }
    Ok(sandbox)
}

/// Which row of [`DIFFERENCES`] explains how this crate's parser and QEMU
/// (as [`parse_like_qemu`] models it) treat `s` differently; `None` when
/// they agree (both accept the same settings, or both reject and this
/// crate's message contains QEMU's).
///
/// ```
/// use sandbox_opts::qemu::difference;
/// assert_eq!(difference("on,spawn=maybe,spawn=deny").unwrap().id, "unread-value");
/// assert_eq!(difference("on,id=sb0").unwrap().id, "id");
/// assert_eq!(difference("on,spawn=deny"), None);
/// ```
///
/// That every disagreement has a row is a tested invariant (a property test
/// against [`parse_like_qemu`], which the host checks hold to the real QEMU);
/// should it ever break, this function returns `None` for that input and
/// those tests fail. It never panics.
pub fn difference(s: &str) -> Option<&'static Difference> {
    let ours = crate::parse_with_warnings(s).map(|(sandbox, _)| sandbox);
    let qemu = parse_like_qemu(s);
    // Where both accept, they accept the same settings (property-tested; off is off whatever
    // sub-option values this crate keeps for display), and no row below applies: each needs an
    // error from this crate.
    if let (Err(e), Err(q)) = (&ours, &qemu) {
        if e.to_string().contains(q.message()) {
            return None;
        }
    }
    if s.is_empty() {
        return Some(row("empty"));
    }
    if split_with(s, false)
        .iter()
        .chain(&split(s))
        .any(|i| name_value(i).0 == "id")
    {
        return Some(row("id"));
    }
    // Both parsers look for a bare `help` item in the same place, so QEMU prints its key list
    // exactly when this crate returns HelpRequested.
    if matches!(ours, Err(ParseError::HelpRequested { .. })) {
        return Some(row("help"));
    }
    let unread_key = match &ours {
        Err(
            ParseError::InvalidArgument { option, .. } | ParseError::MissingValue { option, .. },
        ) => Some(*option),
        _ => None,
    }?;
    let off = matches!(qemu, Ok(sb) if !sb.enabled);
    let repeated = split(s)
        .iter()
        .filter(|i| name_value(i).0 == unread_key.name())
        .count()
        > 1;
    (off || repeated).then(|| row("unread-value"))
}
