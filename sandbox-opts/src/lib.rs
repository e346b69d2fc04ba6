// The crate docs are the README (one text for GitHub, crates.io and docs.rs; its code blocks
// run as doctests).
#![doc = include_str!("../README.md")]
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
