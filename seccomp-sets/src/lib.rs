//! QEMU's `-sandbox` syscall sets as one data table, loaded with libseccomp and exported as
//! BPF, PFC, JSON, OCI and systemd unit lines.
//!
//! A daemon that takes a `--sandbox on,spawn=deny,...` option (QEMU's grammar, parsed by
//! `sandbox-opts` and re-exported here as [`Sandbox`]) needs the filter behind it: this crate
//! holds QEMU's syscall sets as one table, builds a libseccomp filter from it, loads it into a
//! running (multi-threaded) daemon with the steps a filter cannot do alone (a Landlock domain,
//! capability drops, resource limits), and exports the same filter for systemd, OCI runtimes
//! and anything that reads BPF. The README has the threat model, key by key.
//!
//! ```toml
//! [dependencies]
//! seccomp-sets = "0.1"
//! # Until 0.1 is published: { git = "https://github.com/daemon-hardening/daemon-hardening" }
//! ```
//!
//! ```no_run
//! use seccomp_sets::{apply, Applied, Mode};
//!
//! let sandbox = "on,elevateprivileges=children,spawn=deny".parse()?;
//! let applied = apply(&sandbox, Mode::Enforce)?; // does nothing while the sandbox is off
//! for warning in applied.warnings() {
//!     eprintln!("sandbox: {warning}"); // a step this kernel cannot do, and what stays open
//! }
//! if let Applied::Loaded(l) = applied {
//!     eprintln!("seccomp: {} instructions", l.instructions);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The API
//!
//! * Loading: [`apply`] (one call, [`Applied`]); [`prepare`] then [`Prepared::load`] for a
//!   daemon that starts threads between the two (the per-thread steps run single-threaded);
//!   [`Loaded`] says what was done, [`Loaded::steps`] each step ([`StepReport`], [`Step`],
//!   [`StepOutcome`]), [`Loaded::warnings`] / [`Applied::warnings`] what could not be done;
//!   [`landlock_status`] what the kernel offers. [`Error`] for what stops a load.
//! * The filter: [`Filter::new`] for a [`Sandbox`] in a [`Mode`] ([`Effect`], [`KillAction`],
//!   [`ParseModeError`]); [`Filter::builder`] ([`Builder`]) to relax a row, skip a step, make
//!   an unavailable step an error, or cross-build for another [`Arch`]; [`Filter::load`],
//!   [`Filter::prepare`]; [`Filter::planned`] ([`Planned`]).
//! * The table: [`table::TABLE`], every row (syscall, [`Set`], [`table::Action`], argument
//!   comparisons, provenance, and a note on each deviation from QEMU); [`SetSelection`].
//! * Names per ABI: [`Arch::resolve`] (the result types in [`resolve`]); what each set takes
//!   away on an ABI, and which rows do it there when a name does not exist:
//!   [`Arch::coverage`] (the [`capability`] module).
//! * Exports: [`Filter::export_bpf`] (libseccomp's `seccomp_export_bpf`),
//!   [`Filter::export_pfc`], [`Filter::to_systemd`] ([`DEFAULT_SYSTEMD_VERSION`]), and with
//!   the `serde` feature `Filter::to_json` and `Filter::to_oci` (the schema in the `json`
//!   module).
//! * Rules of your own: [`libseccomp`], the bindings this crate builds with.
//!
//! # Features
//!
//! * `serde`: JSON and OCI runtime-spec exports.
//! * `cli`: the `seccomp-sets` command-line tool (`cargo install --path seccomp-sets
//!   --features cli` from a checkout).
//! * `log`: the loader's reports through the `log` facade too: each step beyond seccomp at
//!   info level (a step the kernel cannot do as a warning) and the filter loaded.

#![deny(missing_docs)]
// Unsafe code only in `sys` and `report` (the SIGSYS handler).
#![deny(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod arch;
mod builder;
pub mod capability;
mod confine;
mod error;
mod export;
mod filter;
mod load;
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
pub use filter::{Filter, Planned};
pub use load::{Applied, Loaded, Prepared, apply, prepare};
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
