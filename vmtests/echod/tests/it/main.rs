//! echod's host tests but the fault-injection suite, one test binary (each module was a binary
//! of its own; on a 2-core machine linking them was most of the build). Each test drives its own
//! echod processes in its own temporary directory; the one process-wide change, `protocol`'s
//! load test raising this process's soft `RLIMIT_NOFILE` to the hard limit, only gives the
//! other tests (and the echod they start, which raises its own anyway) more room.
//!
//! `echod_faults` stays a binary of its own: it sets every hostile client on one echod at once
//! and checks timeouts and memory while it does, so it must not share the CPUs with the other
//! tests' daemons, and `cargo xtask test` runs it on its own.

#[path = "../common/mod.rs"]
mod common;

mod activation;
mod control;
mod lifecycle;
mod protocol;
mod reload;
mod sandbox;
mod security;
mod sessions;
mod timeouts;
