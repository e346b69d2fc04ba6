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
// Off Linux only the `pfd:` grammar is built; the text helpers it shares with the socket code
// are then partly unused.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]
// Unsafe code only in `sys`.
#![deny(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// One small module per concept. Each uses only modules earlier in this order (`sys`, the only
// `unsafe` code, is used from anywhere): text -> addr, spec -> info -> validate -> listener ->
// connection -> registry -> env -> listen_fds -> take -> socket_file -> bind -> fallback ->
// tokio_listener -> axum_listener -> notify (which uses only text and spec: the one fd-name
// rule).
//
// The `pfd:` grammar (`spec`, `text`) is plain Rust and builds for every target, so that a
// crate that only parses remotes (remote-policy) builds anywhere; everything that touches a
// socket is Linux's (`LISTEN_FDS`, `SO_ACCEPTCONN`, `sd_notify`, abstract names).
pub mod spec;
mod text;

#[cfg(target_os = "linux")]
pub mod addr;
#[cfg(all(target_os = "linux", feature = "axum"))]
mod axum_listener;
#[cfg(target_os = "linux")]
mod bind;
#[cfg(target_os = "linux")]
pub mod connection;
#[cfg(target_os = "linux")]
pub mod env;
#[cfg(target_os = "linux")]
mod fallback;
#[cfg(target_os = "linux")]
pub mod info;
#[cfg(target_os = "linux")]
pub mod listen_fds;
#[cfg(target_os = "linux")]
pub mod listener;
#[cfg(all(target_os = "linux", feature = "notify"))]
#[cfg_attr(docsrs, doc(cfg(feature = "notify")))]
pub mod notify;
#[cfg(target_os = "linux")]
mod registry;
#[cfg(target_os = "linux")]
pub mod socket_file;
#[cfg(target_os = "linux")]
mod sys;
#[cfg(target_os = "linux")]
mod take;
#[cfg(all(target_os = "linux", feature = "tokio"))]
mod tokio_listener;
#[cfg(target_os = "linux")]
mod validate;

pub use spec::{ParseError, PfdSpec};

#[cfg(target_os = "linux")]
pub use bind::{BindAddress, BindAddressError};
#[cfg(target_os = "linux")]
pub use connection::{Connection, StdStream};
#[cfg(target_os = "linux")]
pub use env::EnvError;
#[cfg(target_os = "linux")]
pub use fallback::{ListenOrBindError, ListenSource, listen_or_bind};
#[cfg(target_os = "linux")]
pub use info::SocketInfo;
#[cfg(target_os = "linux")]
pub use listen_fds::{ListenFds, ListenFdsBuilder, OnDrop};
#[cfg(target_os = "linux")]
pub use listener::{Listener, StdListener};
#[cfg(target_os = "linux")]
pub use socket_file::{SocketFileError, bind_socket_file};
#[cfg(target_os = "linux")]
pub use take::TakeError;
#[cfg(all(target_os = "linux", feature = "tokio"))]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use tokio_listener::{TokioListener, TokioStream};
#[cfg(target_os = "linux")]
pub use validate::{ConnectionError, ValidateError, validate, validate_connection};

/// The README's examples, compiled as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
