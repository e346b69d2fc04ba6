//! Prerequisites: what a fresh Debian machine lacks, installed with apt-get when we are root.

use crate::util::{have_command, is_root, run};
use std::process::Command;

/// Something the tests need, how to detect it, and the Debian package that provides it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Need {
    /// What needs it, for messages.
    pub(crate) why: &'static str,
    /// A command on PATH or an absolute file path whose presence proves the package is installed.
    pub(crate) probe: &'static str,
    /// The Debian package.
    pub(crate) package: &'static str,
}

/// Needed by the host tests besides [`BUILD`]: the real peers from Debian.
pub(crate) const HOST: &[Need] = &[
    Need {
        why: "socket activation peer",
        probe: "systemd-socket-activate",
        package: "systemd",
    },
    Need {
        why: "unixctl peer",
        probe: "ovs-appctl",
        package: "openvswitch-common",
    },
    Need {
        why: "OVSDB client peer",
        probe: "ovsdb-client",
        package: "openvswitch-common",
    },
    Need {
        why: "OCI runtime-spec JSON schema",
        probe: "/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema/defs-linux.json",
        package: "golang-github-opencontainers-specs-dev",
    },
];

/// Needed to build the guest binaries (echod links the system libseccomp).
pub(crate) const BUILD: &[Need] = &[
    Need {
        why: "linking libseccomp",
        probe: "/usr/include/seccomp.h",
        package: "libseccomp-dev",
    },
    Need {
        why: "finding libseccomp",
        probe: "pkg-config",
        package: "pkg-config",
    },
];

/// What every VM command needs: building the guest binaries, the image, and booting it
/// (one apt-get run for all of it).
pub(crate) fn ensure_vm() -> Result<(), String> {
    ensure(&[BUILD, VM].concat())
}

/// What the host tests and benchmarks need: building, and the real peers.
pub(crate) fn ensure_host() -> Result<(), String> {
    ensure(&[BUILD, HOST].concat())
}

/// Needed to build the guest image and boot it.
pub(crate) const VM: &[Need] = &[
    Need {
        why: "booting the guest",
        probe: "qemu-system-x86_64",
        package: "qemu-system-x86",
    },
    Need {
        why: "building the guest root",
        probe: "debootstrap",
        package: "debootstrap",
    },
    Need {
        why: "building the guest disk",
        probe: "mkfs.ext4",
        package: "e2fsprogs",
    },
];

fn present(need: &Need) -> bool {
    // An absolute probe is a file whose existence is checked; any other is a command.
    have_command(need.probe)
}

/// Installs whatever of `needs` is missing (apt-get when root), or fails with the exact command to run.
pub(crate) fn ensure(needs: &[Need]) -> Result<(), String> {
    let mut missing: Vec<&Need> = needs.iter().filter(|n| !present(n)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    missing.dedup_by_key(|n| n.package);
    let mut packages: Vec<&str> = missing.iter().map(|n| n.package).collect();
    packages.sort_unstable();
    packages.dedup();
    for n in &missing {
        eprintln!(
            "xtask: missing {} (for {}), from package {}",
            n.probe, n.why, n.package
        );
    }
    let line = format!(
        "apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    );
    if !is_root() {
        return Err(format!(
            "missing packages; run as root:\n    apt-get update && {line}\nthen run this command again"
        ));
    }
    run(Command::new("apt-get").args(["update", "-q"]))
        .map_err(|e| format!("{e}\n(apt-get update is needed to install: {line})"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    let still: Vec<&str> = missing
        .iter()
        .filter(|n| !present(n))
        .map(|n| n.probe)
        .collect();
    if still.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "installed {} but still missing: {}",
            packages.join(" "),
            still.join(", ")
        ))
    }
}

/// `cargo xtask deps`: install everything the host tests and the VM suite need.
pub(crate) fn deps_command(args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!("`deps` takes no arguments, got `{a}`"));
    }
    ensure(&[BUILD, HOST, VM].concat())?;
    eprintln!("xtask: all prerequisites are installed");
    Ok(())
}
