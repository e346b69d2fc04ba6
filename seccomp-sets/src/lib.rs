//! QEMU's `-sandbox` syscall sets as one data table, loaded with libseccomp
//! and exported as BPF, PFC, JSON, OCI and systemd unit lines.
//!
//! * [`table::TABLE`]: every row (syscall, [`Set`], [`table::Action`], argument
//!   comparisons, provenance and a note on each deviation from QEMU), in the [`table`]
//!   module with the types that describe a row.
//! * [`Filter`]: the filter for a [`Sandbox`] in a [`Mode`] (enforce, audit,
//!   report); [`Filter::load`] uses TSYNC and no_new_privs; [`apply`] is the
//!   one-call version that does nothing while the sandbox is off.
//! * [`Arch::resolve`]: which names exist on which ABI and what covers the rest (the
//!   [`resolve`] module has the result types).
//! * Exports: [`Filter::export_bpf`] (libseccomp's `seccomp_export_bpf`),
//!   [`Filter::export_pfc`], [`Filter::to_systemd`], and with the `serde`
//!   feature `Filter::to_json` and `Filter::to_oci`.
//!
//! ```no_run
//! use seccomp_sets::{apply, Applied, Mode};
//!
//! let sandbox = "on,elevateprivileges=children,spawn=deny".parse()?;
//! match apply(&sandbox, Mode::Enforce)? {
//!     Applied::Off => {}
//!     Applied::Loaded(l) => eprintln!("seccomp: {} instructions", l.instructions),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! * `serde`: JSON and OCI runtime-spec exports.
//! * `cli`: the `seccomp-sets` command-line tool.

#![deny(missing_docs)]
// Unsafe code only in `sys` and `report` (the SIGSYS handler).
#![deny(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod arch;
mod builder;
mod confine;
mod error;
mod export;
mod filter;
mod memfd;
mod mode;
mod report;
pub mod resolve;
mod sys;
pub mod table;

#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
pub mod json;

pub use arch::Arch;
pub use builder::Builder;
pub use confine::{Step, StepOutcome, StepReport, landlock_status};
pub use error::Error;
pub use export::DEFAULT_SYSTEMD_VERSION;
pub use filter::{Applied, Filter, Loaded, Planned, Prepared, apply, prepare};
pub use mode::{Effect, KillAction, Mode, ParseModeError};
pub use sandbox_opts::{Sandbox, Set, SetSelection};

/// The libseccomp bindings this crate builds with, for rules of your own: add them to a
/// context of yours, or load a second filter after [`Filter::load`] (filters stack; a call
/// gets the strictest verdict).
///
/// ```
/// use seccomp_sets::libseccomp::{ScmpAction, ScmpFilterContext, ScmpSyscall};
/// let mut ctx = ScmpFilterContext::new(ScmpAction::Allow)?;
/// ctx.add_rule(ScmpAction::Errno(libc::EPERM), ScmpSyscall::from_name("acct")?)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub use libseccomp;

/// The README's examples, compiled as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
