//! Validated, take-once listening sockets from systemd socket activation (`LISTEN_FDS`) and
//! Open vSwitch-style `pfd:FD` remotes.
//!
//! * [`PfdSpec`] parses `pfd:3` / `pfd:NAME` strictly (decimal only, no sign or whitespace,
//!   systemd's name rules); its `Display` is the canonical form. Only valid specs exist:
//!   [`PfdSpec::from_number`] and [`PfdSpec::from_name`] check like the parser.
//! * [`validate`] checks, read-only and in a fixed order, that an fd is a listening stream
//!   socket of a supported family (`AF_UNIX` path/abstract, `AF_INET`, `AF_INET6`), with one
//!   [`ValidateError`] variant per failure (including the `Accept=yes` connected-socket case).
//! * [`ListenFds`] reads the `LISTEN_*` variables (pid and pidfd checks, counts, names),
//!   resolves specs, and hands out each socket once as a non-blocking, close-on-exec
//!   [`Listener`] (then `OwnedFd`, std listeners, or tokio listeners with the `tokio` feature).
//! * `notify` (feature `notify`) speaks the other half of the protocol, `sd_notify(3)`:
//!   readiness, reloads, status, the watchdog, and the fd store that hands sockets back on the
//!   next start (as `pfd:NAME`).
//!
//! ```no_run
//! // no_run: needs to be started by systemd (or systemd-socket-activate) with a socket.
//! use stream_pfd::{ListenFds, PfdSpec};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let remote: PfdSpec = "pfd:web".parse()?;
//!     let mut fds = ListenFds::builder().unset_env(true).build()?;
//!     let listener = fds.take(&remote)?;
//!     eprintln!("serving on {}", listener.info());
//!     for unused in fds.unclaimed() {
//!         eprintln!("warning: {unused}");
//!     }
//!     let tcp = listener.into_tcp_listener()?;
//!     # let _ = tcp;
//!     Ok(())
//! }
//! ```
//!
//! All `unsafe` code is in one private module: the ownership claim of an inherited fd number
//! (after the open, identity and take-once checks), a scoped borrow of an fd number for the
//! read-only checks, `getsockopt`, `pidfd_open` and unsetting the environment in a
//! single-threaded process.
#![deny(missing_docs)]
// Unsafe code only in `sys`.
#![deny(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// One small module per concept. Each uses only modules earlier in this order (`sys`, the only
// `unsafe` code, is used from anywhere): text -> addr, spec -> info -> validate -> listener ->
// connection -> registry -> env -> listen_fds -> take -> bind -> fallback -> tokio_listener ->
// axum_listener -> notify (which uses only text and spec: the one fd-name rule).
pub mod addr;
#[cfg(feature = "axum")]
mod axum_listener;
mod bind;
pub mod connection;
pub mod env;
mod fallback;
pub mod info;
pub mod listen_fds;
pub mod listener;
#[cfg(feature = "notify")]
#[cfg_attr(docsrs, doc(cfg(feature = "notify")))]
pub mod notify;
mod registry;
pub mod spec;
mod sys;
mod take;
mod text;
#[cfg(feature = "tokio")]
mod tokio_listener;
mod validate;

pub use bind::{BindAddress, BindAddressError};
pub use connection::{Connection, StdStream};
pub use env::EnvError;
pub use fallback::{ListenOrBindError, Origin, listen_or_bind};
pub use info::SocketInfo;
pub use listen_fds::{ListenFds, ListenFdsBuilder, OnDrop};
pub use listener::{Listener, StdListener};
pub use spec::{ParseError, PfdSpec};
pub use take::TakeError;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use tokio_listener::{TokioListener, TokioStream};
pub use validate::{ConnectionError, ValidateError, validate, validate_connection};

/// The README's examples, compiled as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
