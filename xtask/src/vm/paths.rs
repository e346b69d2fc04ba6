//! Where the VM harness keeps things on this machine: the cache directory and QEMU.

use std::path::PathBuf;

/// The user's cache directory for this project: `$XDG_CACHE_HOME` or `~/.cache` (or, with
/// neither set, the workspace's `target/`), then `daemon-hardening/vm`.
pub(crate) fn cache_root() -> Result<PathBuf, String> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(h) => PathBuf::from(h).join(".cache"),
            None => crate::util::project_root().join("target"),
        },
    };
    Ok(base.join("daemon-hardening").join("vm"))
}

/// `qemu-system-x86_64` on PATH (or the bare name, so that the error names it).
pub(crate) fn qemu_binary() -> PathBuf {
    crate::util::find_command("qemu-system-x86_64")
        .unwrap_or_else(|| PathBuf::from("qemu-system-x86_64"))
}
