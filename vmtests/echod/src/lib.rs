//! `echod`: the reference daemon that composes every crate of the workspace (see `echod --help`).
//!
//! It serves JSON-RPC 1.0 (OVSDB framing: `echo`, `list_dbs`) on `punix:`, `ptcp:` and `pfd:`
//! remotes and on outgoing `unix:`/`tcp:` connections, takes remotes from four origins through
//! one `remote-policy` set, is driven by the real `ovs-appctl` over an OVS-compatible control
//! socket, and runs under a QEMU-style `-sandbox` seccomp filter (`seccomp-sets`).
//!
//! A library with a thin `main.rs`, so that its benchmarks use its modules rather than compile
//! its files again. The start-up order integrators copy is [`daemon`]'s: read it first.
//!
//! Modules, each using only those listed before it:
//! - [`text`]: escaping what users wrote (log lines, replies);
//! - [`jsonrpc`]: OVSDB framing;
//! - [`protocol`]: the methods;
//! - [`unixctl`]: the control protocol;
//! - [`probes`]: the sandbox probes;
//! - [`cli`]: options and `--help`;
//! - [`config`]: the config file and the remotes file;
//! - [`logging`];
//! - [`endpoint`]: opening remotes (bind, adopt a taken `pfd:` listener); spawns nothing;
//! - [`sessions`]: handing sessions to systemd's fd store at exit and taking them back;
//! - [`transport`]: the streams the data plane serves, and how a request is read off each;
//! - [`shards`]: the data plane's threads (single-threaded runtimes, four per CPU by default,
//!   more of them taking connections as connections grow);
//! - [`plane`]: what every data-plane task shares (limits, counters, shutdown, warnings);
//! - [`serve`]: the data plane (accept, connect, serve a connection);
//! - [`supervise`]: the remote set and its open endpoints (spawns the `serve` tasks);
//! - [`control`]: the control socket and its commands;
//! - [`daemon`]: the start-up order and shutdown.

// The module list above is read in the source or with `--document-private-items`: the modules
// are private so that the compiler reports dead code.
#![allow(rustdoc::private_intra_doc_links)]
// Unsafe code only in `probes` (the raw calls its probes make).
#![deny(unsafe_code)]

mod cli;
mod config;
mod control;
mod daemon;
mod endpoint;
pub mod jsonrpc;
mod logging;
mod plane;
mod probes;
mod protocol;
mod serve;
mod sessions;
mod shards;
mod supervise;
mod text;
mod transport;
mod unixctl;

pub use daemon::main;
