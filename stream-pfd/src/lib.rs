// The crate docs are the README (one text for GitHub, crates.io and docs.rs; its code blocks
// run as doctests).
#![doc = include_str!("../README.md")]
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
// tokio_listener -> accept -> axum_listener, hyper, tonic_incoming -> notify (which uses only
// text and spec: the one fd-name rule).
//
// The `pfd:` grammar (`spec`, `text`) is plain Rust and builds for every target, so that a
// crate that only parses remotes (remote-policy) builds anywhere; everything that touches a
// socket is Linux's (`LISTEN_FDS`, `SO_ACCEPTCONN`, `sd_notify`, abstract names).
pub mod spec;
mod text;

#[cfg(all(
    target_os = "linux",
    any(feature = "axum", feature = "hyper", feature = "tonic")
))]
mod accept;
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
#[cfg(all(target_os = "linux", feature = "hyper"))]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub mod hyper;
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
#[cfg(all(target_os = "linux", feature = "tonic"))]
mod tonic_incoming;
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
pub use fallback::{ListenOrBindError, ListenSource};
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
#[cfg(all(target_os = "linux", feature = "tonic"))]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub use tonic_incoming::Incoming;
#[cfg(target_os = "linux")]
pub use validate::{ConnectionError, ValidateError, validate, validate_connection};

/// The root README's code blocks (the workspace's "Use a crate"), compiled as doctests here,
/// the crate they use, so that they cannot go stale. Only under `cfg(doctest)`: the file is
/// outside the published crate.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct RootReadmeDoctests;

/// The integrator guide's code blocks (`docs/integrating.md`), compiled as doctests here, the
/// crate they use (with the features they need), so that they cannot go stale.
#[cfg(all(doctest, feature = "notify", feature = "tokio"))]
#[doc = include_str!("../../docs/integrating.md")]
pub struct IntegratorGuideDoctests;
