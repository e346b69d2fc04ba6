//! Conformance with the real peers, one test binary with a line of its own in `cargo xtask
//! test`: the grammar and the installed filters of the real `qemu-system-x86_64`
//! (`qemu_conformance`), the OCI export under the real runc (`runc`), and the export for an ABI
//! against what that ABI's build loads (`native_export`, in the arm64 guest). Every filter is loaded
//! in a child process (QEMU's own, or a container's).

#[path = "../common/bpf.rs"]
mod bpf;
#[path = "../common/qemu.rs"]
mod qemu;

mod native_export;
mod qemu_conformance;
#[cfg(feature = "serde")]
mod runc;
