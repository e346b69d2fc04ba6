//! seccomp-sets' integration tests but `enforce`, one test binary (each module was a binary of
//! its own; on a 2-core machine linking them was most of the build). The modules that need a
//! feature are compiled only with it, as their inner `cfg`s did.
//!
//! No module loads a seccomp filter into this process (`table` checks that `apply` of an `off`
//! sandbox loads none); filters are loaded in child processes only: `cli` runs the
//! `seccomp-sets` binary, `runc` containers, `qemu_conformance` QEMU, and `enforce` stays a
//! binary of its own that runs itself as the probe (no libtest harness).

#[path = "../common/bpf.rs"]
mod bpf;
#[path = "../common/qemu.rs"]
mod qemu;

#[cfg(feature = "cli")]
mod cli;
#[cfg(feature = "serde")]
mod exports;
mod qemu_conformance;
#[cfg(feature = "serde")]
mod runc;
mod table;
