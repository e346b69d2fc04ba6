//! `echod`: the reference daemon that composes every crate of the workspace (see `echod --help`).
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

mod cli;
mod config;
mod daemon;
mod endpoint;
mod jsonrpc;
mod logging;
mod notify;
mod probes;
mod protocol;
mod server;
mod unixctl;

fn main() -> std::process::ExitCode {
    daemon::main()
}
