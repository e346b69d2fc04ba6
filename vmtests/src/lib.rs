//! `vmtests`: `echod`, the reference daemon that composes every crate, and the end-to-end scenarios
//! that run it under real systemd inside QEMU VMs.

pub mod echod;
pub mod scenarios;
