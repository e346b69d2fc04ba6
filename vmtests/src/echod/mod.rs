//! `echod`: the reference daemon that composes every crate of the workspace.
//!
//! It serves JSON-RPC 1.0 (OVSDB framing: `echo`, `list_dbs`) on `punix:`, `ptcp:` and `pfd:`
//! remotes and on outgoing `unix:`/`tcp:` connections, takes remotes from four origins through
//! one `remote-policy` set, is driven by the real `ovs-appctl` over an OVS-compatible control
//! socket, and runs under a QEMU-style `-sandbox` seccomp filter (`seccomp-sets`).
//!
//! Modules: [`cli`] (options and `--help`), [`config`] (the two files), [`jsonrpc`] (framing),
//! [`protocol`] (the methods), [`unixctl`] (control protocol), [`probes`] (sandbox probes),
//! [`endpoint`] (opening remotes), [`server`] (serving), [`daemon`] (start-up order, shutdown),
//! [`logging`] and [`notify`].

pub mod cli;
pub mod config;
pub mod daemon;
pub mod endpoint;
pub mod jsonrpc;
pub mod logging;
pub mod notify;
pub mod probes;
pub mod protocol;
pub mod server;
pub mod unixctl;

pub use daemon::main;
