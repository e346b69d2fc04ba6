//! QEMU's `-sandbox` option grammar for daemons.
//!
//! ```text
//! on|off[,obsolete=allow|deny][,elevateprivileges=allow|deny|children][,spawn=allow|deny][,resourcecontrol=allow|deny]
//! ```
//!
//! The parser accepts what QEMU accepts (`qemu_opts_parse_noisily` with the
//! implied key `enable`, then `parse_sandbox` in `system/qemu-seccomp.c`),
//! rejects the rest with QEMU's own words plus the offending input and the
//! accepted values, and says which syscall [`Set`]s are denied. Where it is
//! stricter than QEMU on purpose, the `qemu` module (feature `qemu-model`) lists how and why in one
//! table; the host checks compare both with the real `qemu-system-x86_64`
//! (QEMU 7.2 and 10.0 checked) on several hundred strings:
//!
//! ```
//! use sandbox_opts::{parse_with_warnings, Sandbox, Set};
//!
//! let sandbox: Sandbox = "on,elevateprivileges=children,spawn=deny".parse()?;
//! assert_eq!(
//!     sandbox.denied_sets().iter().collect::<Vec<_>>(),
//!     [Set::Default, Set::Obsolete, Set::Privileged, Set::Spawn]
//! );
//! assert!(sandbox.no_new_privileges());
//! assert_eq!(sandbox.to_string(), "on,elevateprivileges=children,spawn=deny");
//!
//! let err = "on,spawn=maybe".parse::<Sandbox>().unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     r#"invalid argument for spawn: "maybe" (in "on,spawn=maybe"); expected allow or deny"#
//! );
//!
//! let (_, warnings) = parse_with_warnings("off,spawn=deny")?;
//! assert_eq!(warnings[0].to_string(), "spawn=deny has no effect while the sandbox is off");
//! # Ok::<(), sandbox_opts::ParseError>(())
//! ```
//!
//! See [`parse_with_warnings`] for the exact grammar and where this crate is
//! deliberately stricter than QEMU, and [`Sandbox`] for the canonical form.
//!
//! # Features
//!
//! * `clap`: `clap::value_parser` and help texts for `--sandbox` (the `clap` module).
//! * `serde`: `Sandbox` (de)serialises as its canonical string; it also
//!   deserialises from a map (the `serde` module).
//!
//! Without features the crate has no dependencies.

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
pub mod help;
pub mod key;
mod parse;
mod permission;
#[cfg(feature = "qemu-model")]
#[cfg_attr(docsrs, doc(cfg(feature = "qemu-model")))]
pub mod qemu;
pub mod release;
mod sandbox;
pub mod set;
mod warning;

#[cfg(feature = "clap")]
#[cfg_attr(docsrs, doc(cfg(feature = "clap")))]
pub mod clap;
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
pub mod serde;

pub use error::ParseError;
pub use key::Key;
pub use parse::{Parsed, parse_with_warnings};
pub use permission::{ElevatePrivileges, Permission};
pub use sandbox::Sandbox;
pub use set::{Set, SetSelection};
pub use warning::Warning;

/// The README's examples, compiled and run as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
