//! `vmtests`: the end-to-end scenarios that run `echod` (the sibling crate `vmtests/echod`)
//! and the library crates under real systemd inside QEMU VMs, and the guest-side runner
//! (`vm-guest`) that executes them and reports to `cargo xtask` over virtio-serial.
// Unsafe code only in `scenarios::sysexport::calls` and `scenarios::doors::calls` (the raw
// calls their probes make).
#![deny(unsafe_code)]

pub mod forge;
pub mod passfd;
pub mod scenarios;
