//! seccomp-sets' integration tests but `enforce` and `conformance`, one test binary (each module
//! was a binary of its own; on a 2-core machine linking them was most of the build). The modules
//! that need a feature are compiled only with it, as their inner `cfg`s did.
//!
//! No module loads a seccomp filter into this process (`table` checks that `apply` of an `off`
//! sandbox loads none); filters are loaded in child processes only: `cli` runs the
//! `seccomp-sets` binary; `conformance` (the real QEMU and runc, with a line of their own in
//! `cargo xtask test`) and `enforce` (which runs itself as the probe, no libtest harness) are
//! binaries of their own.

#[path = "../common/bpf.rs"]
mod bpf;
#[path = "../common/qemu.rs"]
mod qemu;

#[cfg(feature = "cli")]
mod cli;
mod coverage;
#[cfg(feature = "serde")]
mod exports;
mod table;
