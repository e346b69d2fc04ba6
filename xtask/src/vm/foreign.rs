//! Guests of another architecture than the host's (trixie-arm64): the QEMU that boots them,
//! the kernel taken from the packages debootstrap's first stage downloaded, and the image's
//! first boot, which runs debootstrap's second stage natively in the guest (this container
//! has no binfmt_misc, and qemu-user does not emulate seccomp(2), so no host emulation
//! stands in anywhere).
//!
//! QEMU for aarch64 is Debian's `qemu-system-arm`. When it is not installed (installing it
//! could mean a downgrade: a machine with a backported `qemu-system-x86` has a newer
//! `qemu-system-common` than its release's `qemu-system-arm` depends on), the package at the
//! version of the installed `qemu-system-common` is unpacked into the cache with a private apt
//! configuration, as the arm64 sysroot is: nothing is installed, dpkg never sees it, and it
//! shares the installed `qemu-system-data` and libraries.

use super::image::GuestArch;
use super::paths::cache_root;
use crate::util::{find_command, output, show};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `qemu-system-aarch64`: the installed one, or Debian's unpacked into the cache (fetched on
/// first use, said first).
pub(crate) fn qemu_aarch64() -> Result<PathBuf, String> {
    if let Some(q) = find_command("qemu-system-aarch64") {
        return Ok(q);
    }
    let version = output(Command::new("dpkg-query").args([
        "-W",
        "-f=${Version}",
        "qemu-system-common",
    ]))
    .map_err(|e| {
        format!(
            "{e}\n(qemu-system-common is installed with qemu-system-x86: run `cargo xtask deps`)"
        )
    })?;
    let version = version.trim().to_string();
    let dir = cache_root()?.join("tools").join(format!(
        "qemu-system-arm-{}",
        super::cross::path_safe(&version)
    ));
    let bin = dir.join("usr/bin/qemu-system-aarch64");
    if dir.join(".complete").is_file() && bin.is_file() {
        return Ok(bin);
    }
    eprintln!(
        "xtask: the arm64 guest needs qemu-system-aarch64, which is not installed; unpacking \
         Debian's qemu-system-arm {version} (the installed qemu-system-common's version) into \
         {} (a private copy: nothing is installed, dpkg never sees it)",
        dir.display()
    );
    let sources = super::cross::host_sources(version.contains("~bpo"))?;
    super::cross::unpack_debs(&dir, "amd64", &sources, &[("qemu-system-arm", &version)])?;
    if !bin.is_file() {
        return Err(format!("{} is missing after unpacking", bin.display()));
    }
    std::fs::write(dir.join(".complete"), format!("{version}\n"))
        .map_err(|e| format!("writing {}: {e}", dir.display()))?;
    Ok(bin)
}

/// The QEMU binary for `arch`.
pub(crate) fn qemu_for(arch: GuestArch) -> Result<PathBuf, String> {
    match arch {
        GuestArch::Amd64 => Ok(super::paths::qemu_binary()),
        GuestArch::Arm64 => qemu_aarch64(),
    }
}

/// Copies the kernel out of the versioned `linux-image-*` package the first stage left in
/// `rootfs`'s apt cache (the meta-package only depends on it) to `dest`.
pub(crate) fn kernel_from_debs(rootfs: &Path, work: &Path, dest: &Path) -> Result<(), String> {
    let archives = rootfs.join("var/cache/apt/archives");
    let mut debs: Vec<PathBuf> = std::fs::read_dir(&archives)
        .map_err(|e| format!("reading {}: {e}", archives.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("linux-image-"))
                // `linux-image-6.12.117+deb13-cloud-arm64_...`, not `linux-image-cloud-arm64_`.
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    debs.sort();
    let deb = debs
        .pop()
        .ok_or_else(|| format!("no linux-image-<version> package in {}", archives.display()))?;
    let unpacked = work.join("kernel-package");
    let _ = std::fs::remove_dir_all(&unpacked);
    crate::util::run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked))?;
    let boot = unpacked.join("boot");
    let kernel = std::fs::read_dir(&boot)
        .map_err(|e| format!("reading {}: {e}", boot.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })
        .ok_or_else(|| format!("{} holds no boot/vmlinuz-*", deb.display()))?;
    std::fs::copy(&kernel, dest).map_err(|e| format!("copying {}: {e}", kernel.display()))?;
    std::fs::remove_dir_all(&unpacked).map_err(|e| format!("removing {}: {e}", unpacked.display()))
}

/// How long the first boot may take before it is killed: the second stage configures every
/// package under TCG (about 10 minutes on 2 CPUs; the goal is a cold image in 15).
const FIRST_BOOT_LIMIT: Duration = Duration::from_secs(45 * 60);

/// The image's first boot: the kernel runs `init` (the second stage) on the writable root
/// image `img`, which powers off when done. Succeeds when the console says
/// `harden-second-stage: ok`; otherwise the error carries the console's end.
pub(crate) fn first_boot(
    arch: GuestArch,
    kernel: &Path,
    img: &Path,
    root: &str,
    init: &str,
    console_log: &Path,
) -> Result<(), String> {
    let accel = match arch {
        GuestArch::Amd64 => super::accel::Accel::Tcg,
        GuestArch::Arm64 => super::accel::Accel::TcgArm64,
    };
    let mut cmd = Command::new(qemu_for(arch)?);
    cmd.args(accel.qemu_args())
        .args(["-m", "2048", "-smp", "2"])
        .args([
            "-nodefaults",
            "-no-user-config",
            "-no-reboot",
            "-display",
            "none",
        ])
        .arg("-kernel")
        .arg(kernel)
        .arg("-append")
        .arg(format!(
            "root={root} rootwait rw rootfstype=ext4 console={} panic=-1 init={init}",
            accel.console()
        ))
        .arg("-drive")
        .arg(format!(
            "file={},format=raw,if=none,id=root,discard=unmap,cache=unsafe",
            img.display()
        ))
        .args(["-device", "nvme,id=nvme0,serial=harden"])
        .args(["-device", "nvme-ns,drive=root,bus=nvme0,nsid=1"])
        .arg("-serial")
        .arg(format!("file:{}", console_log.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let shown = show(&cmd);
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("{shown}: {e}"))?;
    let mut said = 0usize;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| format!("waiting for QEMU: {e}"))?
        {
            break status;
        }
        if start.elapsed() > FIRST_BOOT_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "the first boot (debootstrap's second stage) did not finish in {} min; the \
                 console's end:\n{}",
                FIRST_BOOT_LIMIT.as_secs() / 60,
                console_tail(console_log)
            ));
        }
        // Progress: debootstrap's `I:` lines, as the host-side first stage prints them.
        let text = std::fs::read_to_string(console_log).unwrap_or_default();
        for line in text.lines().skip(said) {
            if line.starts_with("I: ") || line.starts_with("harden-second-stage:") {
                eprintln!("xtask:   guest: {line}");
            }
            said += 1;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    let text = std::fs::read_to_string(console_log).unwrap_or_default();
    if text
        .lines()
        .any(|l| l.trim_end() == "harden-second-stage: ok")
    {
        return Ok(());
    }
    Err(format!(
        "the first boot (debootstrap's second stage) did not succeed (QEMU {status}{}); the \
         console's end:\n{}",
        if stderr.trim().is_empty() {
            String::new()
        } else {
            format!(", saying: {}", stderr.trim())
        },
        console_tail(console_log)
    ))
}

/// The last 40 lines of the console log.
fn console_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
