//! The guest images: one Debian root per suite (bookworm, trixie, sid), built with debootstrap
//! from a recipe (one table, [`Suite::recipe`]), cached under the user's cache directory keyed by
//! the suite and a hash of the recipe, built in a temporary directory and renamed into place so
//! an interrupted build never looks valid.

use super::paths::cache_root;
use crate::util::{find_command, is_root, output, run, seconds, show};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// A Debian release the VM suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Suite {
    /// Debian 12: systemd 252, kernel 6.1.
    Bookworm,
    /// Debian 13: systemd 257, kernel 6.12.
    Trixie,
    /// Debian unstable: the newest systemd and kernel, and Open vSwitch 4.0 (the `pfd:` peer).
    Sid,
    /// Debian 13 on arm64 (cross-built payload, `qemu-system-aarch64 -M virt`, always TCG).
    TrixieArm64,
}

/// A guest's architecture: which kernel, which QEMU, which payload build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GuestArch {
    /// x86-64: the host's own (binaries built for the host run in it).
    Amd64,
    /// arm64: binaries cross-built (`cross::Toolchain`), the image finished in its first boot.
    Arm64,
}

impl GuestArch {
    /// Debian's name of the architecture.
    pub(crate) fn deb(self) -> &'static str {
        match self {
            GuestArch::Amd64 => "amd64",
            GuestArch::Arm64 => "arm64",
        }
    }

    /// The name on this architecture of a package [`BASE`] names for x86-64: the kernel
    /// flavour (both cloud kernels build in all the guest boots from: NVMe, ext4, the PCI
    /// host, virtio-console) and the release's QEMU (scenario qemu-conformance runs it).
    fn package(self, amd64_name: &'static str) -> &'static str {
        match (self, amd64_name) {
            (GuestArch::Arm64, "linux-image-cloud-amd64") => "linux-image-cloud-arm64",
            (GuestArch::Arm64, "qemu-system-x86") => "qemu-system-arm",
            (_, name) => name,
        }
    }
}

impl Suite {
    /// Every suite, the x86-64 ones oldest first, then arm64 (the order of the results
    /// table); `cargo xtask test` runs them all.
    pub(crate) const ALL: [Suite; 4] = [
        Suite::Bookworm,
        Suite::Trixie,
        Suite::Sid,
        Suite::TrixieArm64,
    ];

    /// The suite's name (`--suite NAME`): the Debian code name, with the architecture when it
    /// is not the host's.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Suite::Bookworm => "bookworm",
            Suite::Trixie => "trixie",
            Suite::Sid => "sid",
            Suite::TrixieArm64 => "trixie-arm64",
        }
    }

    /// The Debian code name (what debootstrap and the mirror are asked for).
    pub(crate) fn codename(self) -> &'static str {
        match self {
            Suite::Bookworm => "bookworm",
            Suite::Trixie | Suite::TrixieArm64 => "trixie",
            Suite::Sid => "sid",
        }
    }

    /// The guest's architecture.
    pub(crate) fn arch(self) -> GuestArch {
        match self {
            Suite::TrixieArm64 => GuestArch::Arm64,
            Suite::Bookworm | Suite::Trixie | Suite::Sid => GuestArch::Amd64,
        }
    }

    /// A suite by name (`unstable` is `sid`).
    pub(crate) fn parse(name: &str) -> Result<Suite, String> {
        if name == "unstable" {
            return Ok(Suite::Sid);
        }
        Suite::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Suite::ALL.iter().map(|s| s.name()).collect();
                format!(
                    "unknown suite `{name}`; expected one of {}",
                    names.join(", ")
                )
            })
    }

    /// The suite `demo`, `vm` and `image` use by default: the oldest whose glibc can run this
    /// host's binaries (the host's own suite on a Debian host).
    pub(crate) fn host_default() -> Suite {
        Suite::ALL
            .into_iter()
            .find(|s| s.runs_host_binaries().is_ok())
            .unwrap_or(Suite::Sid)
    }

    /// The glibc this suite ships (major, minor); sid's moves, and is the newest.
    fn glibc(self) -> (u32, u32) {
        match self {
            Suite::Bookworm => (2, 36),
            Suite::Trixie | Suite::TrixieArm64 => (2, 41),
            Suite::Sid => (u32::MAX, u32::MAX),
        }
    }

    /// Whether binaries built on this host run in this suite's guest: the guest's glibc must
    /// be the same or newer than the host's (`getconf GNU_LIBC_VERSION`).
    pub(crate) fn runs_host_binaries(self) -> Result<(), String> {
        self.runs_binaries_built_with(host_glibc())
    }

    /// Whether binaries built against glibc `host` run in this suite's guest.
    fn runs_binaries_built_with(self, host: Option<(u32, u32)>) -> Result<(), String> {
        let Some(host) = host else {
            return Ok(()); // not glibc, or unknown: let the guest say
        };
        if self.glibc() >= host {
            Ok(())
        } else {
            Err(format!(
                "the {} guest has glibc {}.{}, older than this host's {}.{}: binaries built here \
                 cannot run in it",
                self.name(),
                self.glibc().0,
                self.glibc().1,
                host.0,
                host.1
            ))
        }
    }

    /// The scenarios this suite must run: a "not applicable" from its guest is a failure
    /// (say, sid's ovsdb-server lost `pfd:`, or its systemd stopped reporting its version).
    pub(crate) fn must_run(self) -> &'static [&'static str] {
        match self {
            Suite::Bookworm => &[
                "enforce-native",
                "export-equals-native",
                "oci-runc",
                "qemu-conformance",
                "engine-docker",
            ],
            Suite::Trixie | Suite::TrixieArm64 => &[
                "notify-reload",
                "enforce-native",
                "export-equals-native",
                "oci-runc",
                "qemu-conformance",
                "engine-podman",
                "engine-docker",
            ],
            Suite::Sid => &[
                "notify-reload",
                "listen-pidfdid",
                "peer-ovsdb-side-by-side",
                "enforce-native",
                "export-equals-native",
                "oci-runc",
                "qemu-conformance",
                "engine-podman",
                "engine-docker",
            ],
        }
    }

    /// Whether the image is a moving target (sid): its build date is recorded and shown, and
    /// `--rebuild` refreshes it.
    pub(crate) fn moving(self) -> bool {
        self == Suite::Sid
    }

    /// This suite's recipe.
    pub(crate) fn recipe(self) -> Recipe {
        Recipe {
            name: self.name(),
            suite: self.codename(),
            arch: self.arch(),
            disk_size: match self.arch() {
                GuestArch::Amd64 => BASE.disk_size,
                // The first stage's packages stay in the root until the second stage has
                // installed them in the guest's first boot.
                GuestArch::Arm64 => "3G",
            },
            extra_packages: match self {
                // The `pfd:` peer: ovsdb-server, ovs-appctl, ovsdb-tool, ovsdb-client (4.0);
                // Docker's client, its own package since Debian 13 (bookworm's docker.io
                // still carries it).
                Suite::Sid => &[
                    "openvswitch-switch",
                    "openvswitch-common",
                    "docker-cli",
                    "podman",
                ],
                // Podman (scenario engine-podman) from Debian 13 on: bookworm's podman does
                // not install into a fresh root (debootstrap fails to configure its
                // golang-github-containers-common), so the bookworm guest has Docker only.
                Suite::Trixie | Suite::TrixieArm64 => &["docker-cli", "podman"],
                Suite::Bookworm => &[],
            },
            ..BASE
        }
    }
}

/// This host's glibc version, from `getconf GNU_LIBC_VERSION` (`glibc 2.36`).
fn host_glibc() -> Option<(u32, u32)> {
    let out = output(Command::new("getconf").arg("GNU_LIBC_VERSION")).ok()?;
    parse_glibc(&out)
}

/// `glibc 2.36` -> (2, 36).
fn parse_glibc(text: &str) -> Option<(u32, u32)> {
    let v = text.trim().strip_prefix("glibc ")?;
    let mut it = v.split('.');
    Some((it.next()?.parse().ok()?, it.next()?.trim().parse().ok()?))
}

/// `--suite NAME` options (repeatable) taken out of `args`; the rest is returned.
pub(crate) fn take_suites(args: &[String]) -> Result<(Vec<Suite>, Vec<String>), String> {
    let (mut suites, mut rest) = (Vec::new(), Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let value = if a == "--suite" {
            Some(
                it.next()
                    .ok_or("--suite needs a suite name: bookworm, trixie, sid or trixie-arm64")?
                    .as_str(),
            )
        } else {
            a.strip_prefix("--suite=")
        };
        match value {
            Some(v) => {
                let s = Suite::parse(v)?;
                if !suites.contains(&s) {
                    suites.push(s);
                }
            }
            None => rest.push(a.clone()),
        }
    }
    Ok((suites, rest))
}

/// Everything that determines the image's content. Change anything here and the cache key
/// changes, so the next run builds a new image.
#[derive(Debug)]
pub(crate) struct Recipe {
    /// The suite's name ([`Suite::name`]): the cache key's prefix.
    pub(crate) name: &'static str,
    /// Debian suite (the host's binaries must run in it: same or newer glibc).
    pub(crate) suite: &'static str,
    /// The guest's architecture: its packages ([`GuestArch::package`]) and, when it is not
    /// the host's, a debootstrap `--foreign` finished by the guest's first boot.
    pub(crate) arch: GuestArch,
    /// debootstrap variant.
    pub(crate) variant: &'static str,
    /// Packages on top of the variant, in every suite.
    pub(crate) packages: &'static [&'static str],
    /// Packages on top of those, in this suite only.
    pub(crate) extra_packages: &'static [&'static str],
    /// Files written into the root after debootstrap: (path, mode, content).
    pub(crate) overlay: &'static [(&'static str, u32, &'static str)],
    /// Units masked (linked to /dev/null) to shorten boot: nothing here is needed by a test.
    pub(crate) masked: &'static [&'static str],
    /// Generators masked: systemd runs every generator at boot and at each `daemon-reload`
    /// (which the guest runner does once per run); under TCG each costs ~0.2 s.
    pub(crate) masked_generators: &'static [&'static str],
    /// Units enabled (linked into multi-user.target.wants).
    pub(crate) enabled: &'static [&'static str],
    /// Size of the root image (mkfs.ext4 size argument).
    pub(crate) disk_size: &'static str,
}

/// What every suite's recipe shares ([`Suite::recipe`] sets the suite and its extra packages).
const BASE: Recipe = Recipe {
    name: "",
    suite: "",
    arch: GuestArch::Amd64,
    variant: "minbase",
    packages: &[
        "systemd",
        "systemd-sysv",
        "udev",
        "kmod",
        "linux-image-cloud-amd64",
        "openvswitch-common",
        "libseccomp2",
        "procps",
        // The system bus, so that `systemctl start --wait` and `systemd-run --wait --pipe`
        // work for integrators trying their own units (`cargo xtask vm --copy`).
        "dbus",
        // The release's own QEMU: seccomp-sets' conformance (grammar and installed filters)
        // runs against it in the guest (scenario qemu-conformance).
        "qemu-system-x86",
        // Docker, which reads the docker profile export (scenario engine-docker), and the
        // static busybox its imported rootfs holds; Podman is in the newer suites only.
        "docker.io",
        "busybox-static",
    ],
    extra_packages: &[],
    overlay: &[
        // The guest's own files live in xtask/guest/ (checked by shellcheck and
        // systemd-analyze verify in the host checks).
        (
            "etc/systemd/system/harden-guest.service",
            0o644,
            include_str!("../../guest/harden-guest.service"),
        ),
        (
            "usr/local/sbin/harden-guest",
            0o755,
            include_str!("../../guest/harden-guest"),
        ),
        (
            "etc/systemd/journald.conf.d/harden.conf",
            0o644,
            include_str!("../../guest/journald-harden.conf"),
        ),
        ("etc/hostname", 0o644, "harden-guest\n"),
        (
            "etc/hosts",
            0o644,
            "127.0.0.1 localhost\n127.0.1.1 harden-guest\n::1 localhost\n",
        ),
        (
            "etc/fstab",
            0o644,
            "# root is given on the kernel command line\n",
        ),
    ],
    masked: &[
        "getty@.service",
        "serial-getty@.service",
        "console-getty.service",
        "apt-daily.timer",
        "apt-daily-upgrade.timer",
        "dpkg-db-backup.timer",
        "e2scrub_all.timer",
        "e2scrub_reap.service",
        "fstrim.timer",
        "systemd-tmpfiles-clean.timer",
        "systemd-journal-flush.service",
        "systemd-update-utmp.service",
        "systemd-update-utmp-runlevel.service",
        "systemd-timesyncd.service",
        "systemd-pstore.service",
        "systemd-firstboot.service",
        "systemd-machine-id-commit.service",
        "modprobe@drm.service",
        "sys-kernel-tracing.mount",
        "sys-kernel-debug.mount",
        "sys-kernel-config.mount",
        "sys-fs-fuse-connections.mount",
        "dev-hugepages.mount",
        "dev-mqueue.mount",
        "systemd-binfmt.service",
        "proc-sys-fs-binfmt_misc.automount",
        "proc-sys-fs-binfmt_misc.mount",
        "systemd-random-seed.service",
        "modprobe@dm_mod.service",
        "modprobe@loop.service",
        "modprobe@efi_pstore.service",
        "modprobe@fuse.service",
        "modprobe@configfs.service",
        "kmod-static-nodes.service",
        "systemd-user-sessions.service",
        "systemd-logind.service",
        "ldconfig.service",
        "systemd-hwdb-update.service",
        "systemd-journal-catalog-update.service",
        "systemd-update-done.service",
        "getty-static.service",
        // udev's coldplug loads dozens of modules (kvm, crypto, input...) that no test needs,
        // seconds of CPU under TCG; devtmpfs provides the nodes and harden-guest loads the
        // two modules it needs (virtio_pci, virtio_console).
        "systemd-udevd.service",
        "systemd-udevd-control.socket",
        "systemd-udevd-kernel.socket",
        "systemd-udev-trigger.service",
        "systemd-udev-settle.service",
        "systemd-remount-fs.service",
        // Newer systemd (trixie, sid): TPM, credentials and boot-loader units that have
        // nothing to do on this guest.
        "systemd-tpm2-setup-early.service",
        "systemd-tpm2-setup.service",
        "systemd-pcrmachine.service",
        "systemd-pcrphase.service",
        "systemd-pcrphase-sysinit.service",
        "systemd-pcrextend.socket",
        "systemd-pcrlock.socket",
        "systemd-creds.socket",
        "systemd-bootctl.socket",
        "systemd-sysext.socket",
        "systemd-mountfsd.socket",
        "systemd-nsresourced.socket",
        "systemd-hostnamed.socket",
        "systemd-journald-audit.socket",
        "systemd-network-generator.service",
        "systemd-boot-random-seed.service",
        "systemd-confext.service",
        "systemd-sysext.service",
        "systemd-repart.service",
        "systemd-factory-reset.socket",
        "systemd-sysinstall.socket",
        "systemd-mute-console.socket",
        "systemd-udevd-varlink.socket",
        "systemd-hibernate-clear.service",
        "dracut-shutdown.service",
        // /tmp stays on the root (a throw-away snapshot): mounting a tmpfs costs ~0.5 s
        // under TCG and no scenario needs it.
        "tmp.mount",
        // On the boot's critical path (~0.65 s on sid under TCG) with nothing to do here:
        // the packages' users and groups were created when the image was built, and devtmpfs
        // provides every device node a scenario uses.
        "systemd-sysusers.service",
        "systemd-tmpfiles-setup-dev-early.service",
        "systemd-tmpfiles-setup-dev.service",
        // Open vSwitch's own services (sid image): the scenarios start ovsdb-server
        // themselves, from their own units, exactly as they start echod.
        "openvswitch-switch.service",
        "ovsdb-server.service",
        "ovs-vswitchd.service",
        "ovs-record-hostname.service",
        // The container engines' own services and QEMU's module loader: the engine scenarios
        // start dockerd from their own unit and run podman without a service; no boot needs
        // any of them.
        "docker.service",
        "docker.socket",
        "containerd.service",
        "podman.service",
        "podman.socket",
        "podman-auto-update.service",
        "podman-auto-update.timer",
        "podman-restart.service",
        "podman-clean-transient.service",
        "qemu-kvm.service",
    ],
    masked_generators: &[
        "systemd-cryptsetup-generator",
        "systemd-debug-generator",
        "systemd-getty-generator",
        "systemd-gpt-auto-generator",
        "systemd-hibernate-resume-generator",
        "systemd-integritysetup-generator",
        "systemd-rc-local-generator",
        "systemd-run-generator",
        "systemd-system-update-generator",
        "systemd-sysv-generator",
        "systemd-veritysetup-generator",
        // Newer systemd (trixie, sid).
        "systemd-ssh-generator",
        "systemd-tpm2-generator",
        "systemd-factory-reset-generator",
    ],
    enabled: &["harden-guest.service"],
    disk_size: "2G",
};

impl Recipe {
    /// A canonical text form (what the cache key hashes, stored next to the image).
    pub(crate) fn describe(&self) -> String {
        let mut s = format!(
            "format 3\nsuite {}\nvariant {}\ndisk {}\n",
            self.suite, self.variant, self.disk_size
        );
        if self.arch != GuestArch::Amd64 {
            s.push_str(&format!(
                "arch {}\nsecond-stage {:016x}\n",
                self.arch.deb(),
                fnv1a64(SECOND_STAGE.as_bytes())
            ));
        }
        for p in self.all_packages() {
            s.push_str(&format!("package {p}\n"));
        }
        for (path, mode, text) in self.overlay {
            s.push_str(&format!(
                "overlay {path} {mode:o} {:016x}\n",
                fnv1a64(text.as_bytes())
            ));
        }
        for m in self.masked {
            s.push_str(&format!("mask {m}\n"));
        }
        for g in self.masked_generators {
            s.push_str(&format!("mask-generator {g}\n"));
        }
        for e in self.enabled {
            s.push_str(&format!("enable {e}\n"));
        }
        s.push_str("default multi-user.target\n");
        s
    }

    /// Every package debootstrap is asked for, named for the recipe's architecture.
    pub(crate) fn all_packages(&self) -> Vec<&'static str> {
        self.packages
            .iter()
            .chain(self.extra_packages)
            .map(|p| self.arch.package(p))
            .collect()
    }

    /// The cache key: FNV-1a 64 of [`Recipe::describe`].
    pub(crate) fn key(&self) -> String {
        format!("{}-{:016x}", self.name, fnv1a64(self.describe().as_bytes()))
    }
}

/// The init of a foreign-architecture image's first boot: debootstrap's second stage.
const SECOND_STAGE: &str = include_str!("../../guest/second-stage");
/// Where [`SECOND_STAGE`] is in the guest.
const SECOND_STAGE_PATH: &str = "/usr/local/sbin/harden-second-stage";

/// FNV-1a, 64 bits: small, dependency-free, stable across Rust versions (unlike `DefaultHasher`).
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Where the root file system starts on the root disk (1 MiB, in 512-byte sectors).
const PARTITION_START_SECTOR: u64 = 2048;

/// The MBR disk signature of every root image: the kernel finds its root by it
/// (`root=PARTUUID=68617264-01`, see [`ROOT_PARTUUID`]), because device names are not stable:
/// newer kernels scan NVMe namespaces in parallel, so `nvme0n1` may be the payload disk.
const DISK_SIGNATURE: u32 = 0x6861_7264;

/// The kernel's `root=` for the root image: its one partition, by disk signature.
pub(crate) const ROOT_PARTUUID: &str = "68617264-01";

/// Writes an MBR (the kernel reads it without any initramfs) with one Linux partition from
/// [`PARTITION_START_SECTOR`] to the end, where mkfs.ext4 wrote the file system, and the disk
/// signature that [`ROOT_PARTUUID`] names: sfdisk's work, from a script.
fn write_partition_table(img: &Path) -> Result<(), String> {
    use std::io::Write;
    let script = format!(
        "label: dos\nlabel-id: 0x{DISK_SIGNATURE:08x}\nstart={PARTITION_START_SECTOR}, type=83\n"
    );
    let mut cmd = Command::new(find_command("sfdisk").unwrap_or_else(|| "sfdisk".into()));
    // A file, not a device: no kernel to tell. The file system is already in place: never wipe
    // it (sfdisk still notes "Partition #1 contains a ext4 signature", which is kept quiet).
    cmd.args(["--quiet", "--no-reread", "--no-tell-kernel"])
        .args(["--wipe", "never", "--wipe-partitions", "never"])
        .arg(img)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let shown = show(&cmd);
    eprintln!("$ {shown}");
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| format!("writing the script to `{shown}`: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("waiting for `{shown}`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{shown}` failed ({}) on the script:\n{script}{}",
            out.status,
            crate::util::both_outputs(&out).trim()
        ))
    }
}

/// A built image.
#[derive(Debug, Clone)]
pub(crate) struct Image {
    pub(crate) dir: PathBuf,
    pub(crate) root: PathBuf,
    /// The guest kernel (booted with `-kernel`, no initrd: see `runner::qemu_command`).
    pub(crate) kernel: PathBuf,
}

impl Image {
    fn at(dir: PathBuf) -> Self {
        Image {
            root: dir.join("root.img"),
            kernel: dir.join("vmlinuz"),
            dir,
        }
    }

    pub(crate) fn complete(&self) -> bool {
        self.root.is_file() && self.kernel.is_file() && self.dir.join("recipe.txt").is_file()
    }

    /// How long the cold build took, as recorded when it was built.
    pub(crate) fn build_seconds(&self) -> Option<f64> {
        std::fs::read_to_string(self.dir.join("build-seconds"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    /// When it was built (`YYYYmmdd-HHMMSS` UTC), as recorded then.
    pub(crate) fn built(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.join("built"))
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }
}

/// Where `suite`'s current recipe's image lives (whether or not it is built).
pub(crate) fn location(suite: Suite) -> Result<Image, String> {
    Ok(Image::at(
        cache_root()?.join("images").join(suite.recipe().key()),
    ))
}

/// `suite`'s cached image, built first when missing (or when `rebuild`).
pub(crate) fn ensure(suite: Suite, rebuild: bool) -> Result<Image, String> {
    let image = location(suite)?;
    if image.complete() && !rebuild {
        return Ok(image);
    }
    build(&image, &suite.recipe())?;
    Ok(image)
}

fn build(image: &Image, recipe: &Recipe) -> Result<(), String> {
    if !is_root() {
        // Keep HOME (the cache location) and PATH (cargo) across sudo; the image files are
        // world-readable and QEMU opens them read-only (snapshot=on), so any user can boot them.
        let home = std::env::var("HOME").unwrap_or_else(|_| "$HOME".into());
        return Err(format!(
            "the {} guest image {} is not built, and building it needs root (debootstrap \
             chroots and creates device nodes); build it once as root, into your cache \
             directory:\n    sudo env HOME={home} \"PATH=$PATH\" cargo xtask image --suite {}\n\
             later runs use the cached image as any user",
            recipe.suite,
            image.dir.display(),
            recipe.suite
        ));
    }
    let arch = output(Command::new("dpkg").arg("--print-architecture"))
        .map_err(|e| format!("cannot tell the host architecture: {e}"))?;
    if arch.trim() != "amd64" {
        return Err(format!(
            "the guest image is amd64 (linux-image-cloud-amd64, qemu-system-x86_64) and host \
             binaries run in it, so the host must be amd64 too, not `{}`",
            arch.trim()
        ));
    }
    for tool in ["debootstrap", "mkfs.ext4", "sfdisk", "chroot"] {
        find_command(tool).ok_or_else(|| {
            format!("`{tool}` is not installed; run `cargo xtask deps` (as root) to install it")
        })?;
    }
    let mirror = crate::mirror::for_suite(recipe.suite)?;
    let parent = image
        .dir
        .parent()
        .ok_or("the image directory has no parent")?
        .to_path_buf();
    std::fs::create_dir_all(&parent).map_err(|e| format!("creating {}: {e}", parent.display()))?;
    remove_stale_temporaries(&parent);
    let tmp = parent.join(format!(".{}.tmp-{}", recipe.key(), std::process::id()));
    let rootfs = tmp.join("rootfs");
    std::fs::create_dir_all(&rootfs).map_err(|e| format!("creating {}: {e}", rootfs.display()))?;
    let start = Instant::now();
    eprintln!(
        "xtask: building the {} guest image (Debian {} {}, {} + {} packages) from {}\n\
         xtask: into {} (about {}; progress follows)",
        recipe.name,
        recipe.suite,
        recipe.arch.deb(),
        recipe.variant,
        recipe.packages.len() + recipe.extra_packages.len(),
        mirror.uri,
        tmp.display(),
        match recipe.arch {
            GuestArch::Amd64 => "two minutes",
            GuestArch::Arm64 => "ten minutes: the guest's first boot finishes it under TCG",
        }
    );
    let result = build_into(recipe, &tmp, &rootfs, &mirror.uri, start).and_then(|()| {
        if recipe.arch == GuestArch::Amd64 {
            return Ok(());
        }
        eprintln!(
            "xtask: [5/5] first boot: debootstrap's second stage in the {} guest, under TCG \
             ({:.0} s so far; about 10 minutes)",
            recipe.arch.deb(),
            seconds(start)
        );
        super::foreign::first_boot(
            recipe.arch,
            &tmp.join("vmlinuz"),
            &tmp.join("root.img"),
            &format!("PARTUUID={ROOT_PARTUUID}"),
            SECOND_STAGE_PATH,
            &tmp.join("first-boot-console.log"),
        )?;
        write_stamps(&tmp, start)
    });
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        let hint = match &mirror.borrowed_from {
            Some(host) => format!(
                "\n(the mirror {} is the one configured for the host's suite, {host}; if it \
                 does not carry {}, set HARDEN_VM_MIRROR to a Debian mirror that does)",
                mirror.uri, recipe.suite
            ),
            None => String::new(),
        };
        return Err(format!(
            "building the {} guest image failed: {e}{hint}",
            recipe.suite
        ));
    }
    if image.dir.exists() {
        std::fs::remove_dir_all(&image.dir)
            .map_err(|e| format!("removing the old {}: {e}", image.dir.display()))?;
    }
    std::fs::rename(&tmp, &image.dir)
        .map_err(|e| format!("renaming {} to {}: {e}", tmp.display(), image.dir.display()))?;
    remove_outdated(&parent, &image.dir, recipe.name);
    eprintln!(
        "xtask: {} guest image ready in {} ({:.1} s)",
        recipe.name,
        image.dir.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Masks each of `names` in `dir` (a unit or a generator): a link to /dev/null.
fn mask(dir: &Path, names: &[&str]) -> Result<(), String> {
    for name in names {
        let link = dir.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("/dev/null", &link)
            .map_err(|e| format!("masking {}: {e}", link.display()))?;
    }
    Ok(())
}

/// Images of older recipes of the same suite (each ~800 MB) are removed once the current one
/// is built, but for the most recently built of them: the cache is shared by every checkout on
/// the machine, and two branches with different recipes (a branch that changes the recipe, and
/// main) would otherwise delete and rebuild each other's image at every run. Other suites'
/// images stay.
fn remove_outdated(parent: &Path, current: &Path, suite: &str) {
    let Ok(dir) = std::fs::read_dir(parent) else {
        return;
    };
    let mut others: Vec<(String, PathBuf)> = dir
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_prefix(suite)
                .and_then(|rest| rest.strip_prefix('-'))
                // The key's hash alone: `trixie-` must not take `trixie-arm64-...` for its own.
                .is_some_and(|hash| hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()))
        })
        .map(|e| e.path())
        .filter(|p| p != current && p.join("recipe.txt").is_file())
        // `built` is a UTC stamp (YYYYmmdd-HHMMSS): its text order is its time order.
        .map(|p| (Image::at(p.clone()).built().unwrap_or_default(), p))
        .collect();
    others.sort();
    let _kept = others.pop();
    for (_, p) in others {
        eprintln!("xtask: removing an outdated image: {}", p.display());
        let _ = std::fs::remove_dir_all(&p);
    }
}

/// Leftovers of interrupted builds (by any process) are removed before a new build.
fn remove_stale_temporaries(parent: &Path) {
    if let Ok(dir) = std::fs::read_dir(parent) {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.contains(".tmp-") {
                let pid = name.rsplit("-").next().unwrap_or("");
                if !pid.is_empty() && Path::new("/proc").join(pid).exists() {
                    continue; // another build is running right now
                }
                eprintln!(
                    "xtask: removing an interrupted build: {}",
                    e.path().display()
                );
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

fn build_into(
    recipe: &Recipe,
    tmp: &Path,
    rootfs: &Path,
    mirror: &str,
    start: Instant,
) -> Result<(), String> {
    let foreign = recipe.arch != GuestArch::Amd64;
    let steps = if foreign { 5 } else { 4 };
    if foreign {
        eprintln!(
            "xtask: [1/{steps}] debootstrap --foreign --arch={} (downloads the packages, \
             unpacks the essential ones; the guest's first boot configures them)",
            recipe.arch.deb()
        );
    } else {
        eprintln!("xtask: [1/{steps}] debootstrap (downloads and installs the packages)");
    }
    let mut debootstrap = Command::new(find_command("debootstrap").unwrap_or_default());
    debootstrap
        .arg(format!("--variant={}", recipe.variant))
        .arg(format!("--include={}", recipe.all_packages().join(",")));
    if foreign {
        debootstrap.args(["--foreign", &format!("--arch={}", recipe.arch.deb())]);
    }
    run(debootstrap.arg(recipe.suite).arg(rootfs).arg(mirror))?;
    eprintln!(
        "xtask: [2/{steps}] overlay, masked units ({:.0} s so far)",
        seconds(start)
    );
    let second_stage = [(
        SECOND_STAGE_PATH.trim_start_matches('/'),
        0o755,
        SECOND_STAGE,
    )];
    let overlay = recipe
        .overlay
        .iter()
        .chain(if foreign { &second_stage[..] } else { &[] });
    for (path, mode, text) in overlay {
        let p = rootfs.join(path);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).map_err(|e| format!("creating {}: {e}", d.display()))?;
        }
        std::fs::write(&p, text).map_err(|e| format!("writing {}: {e}", p.display()))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode))
            .map_err(|e| format!("chmod {}: {e}", p.display()))?;
    }
    let etc = rootfs.join("etc/systemd/system");
    mask(&etc, recipe.masked)?;
    let generators = rootfs.join("etc/systemd/system-generators");
    std::fs::create_dir_all(&generators)
        .map_err(|e| format!("creating {}: {e}", generators.display()))?;
    mask(&generators, recipe.masked_generators)?;
    let default = etc.join("default.target");
    let _ = std::fs::remove_file(&default);
    std::os::unix::fs::symlink("/lib/systemd/system/multi-user.target", &default)
        .map_err(|e| format!("setting the default target: {e}"))?;
    let wants = etc.join("multi-user.target.wants");
    std::fs::create_dir_all(&wants).map_err(|e| format!("creating {}: {e}", wants.display()))?;
    for unit in recipe.enabled {
        let link = wants.join(unit);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(format!("/etc/systemd/system/{unit}"), &link)
            .map_err(|e| format!("enabling {unit}: {e}"))?;
    }
    // No machine-id: systemd creates a fresh one in /run at each boot (the root is a snapshot).
    // apt caches are not needed in the guest. A foreign root's second stage does both itself,
    // after it has installed the packages from that cache.
    if !foreign {
        let _ = std::fs::write(rootfs.join("etc/machine-id"), "");
        let _ = std::fs::remove_dir_all(rootfs.join("var/cache/apt/archives"));
        let _ = std::fs::remove_dir_all(rootfs.join("var/lib/apt/lists"));
    }

    eprintln!("xtask: [3/{steps}] kernel ({:.0} s so far)", seconds(start));
    let boot = rootfs.join("boot");
    let pick = |prefix: &str| -> Result<PathBuf, String> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&boot)
            .map_err(|e| format!("reading {}: {e}", boot.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
            })
            .collect();
        found.sort();
        found.pop().ok_or_else(|| {
            format!(
                "no {prefix}* in {} (did the kernel install?)",
                boot.display()
            )
        })
    };
    if foreign {
        super::foreign::kernel_from_debs(rootfs, tmp, &tmp.join("vmlinuz"))?;
    } else {
        let from = pick("vmlinuz-")?;
        std::fs::copy(&from, tmp.join("vmlinuz"))
            .map_err(|e| format!("copying {}: {e}", from.display()))?;
    }

    eprintln!(
        "xtask: [4/{steps}] root disk image ({:.0} s so far)",
        seconds(start)
    );
    let img = tmp.join("root.img");
    let mut mkfs = Command::new(find_command("mkfs.ext4").unwrap_or_default());
    mkfs.args([
        "-q",
        "-F",
        "-L",
        "harden-root",
        "-E",
        &format!("root_owner=0:0,offset={}", PARTITION_START_SECTOR * 512),
        "-d",
    ])
    .arg(rootfs)
    .arg(&img)
    .arg(recipe.disk_size);
    run(&mut mkfs).map_err(|e| format!("{e} ({})", show(&mkfs)))?;
    write_partition_table(&img)?;
    std::fs::remove_dir_all(rootfs).map_err(|e| format!("removing {}: {e}", rootfs.display()))?;
    std::fs::write(tmp.join("recipe.txt"), recipe.describe())
        .map_err(|e| format!("writing recipe.txt: {e}"))?;
    if foreign {
        // Not complete (no stamps) until the first boot has finished it.
        return Ok(());
    }
    write_stamps(tmp, start)
}

/// The build's figures, written last: `build-seconds` and `built` (UTC).
fn write_stamps(tmp: &Path, start: Instant) -> Result<(), String> {
    std::fs::write(
        tmp.join("build-seconds"),
        format!("{:.1}\n", seconds(start)),
    )
    .map_err(|e| format!("writing build-seconds: {e}"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    std::fs::write(
        tmp.join("built"),
        format!("{}\n", crate::util::utc_stamp(now)?),
    )
    .map_err(|e| format!("writing built: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_the_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn the_key_depends_on_the_suite_and_the_recipe() {
        let k = Suite::Bookworm.recipe().key();
        assert!(k.starts_with("bookworm-"));
        assert_eq!(k, Suite::Bookworm.recipe().key());
        let other = Recipe {
            packages: &["systemd"],
            ..Suite::Bookworm.recipe()
        };
        assert_ne!(k, other.key());
        let keys: Vec<String> = Suite::ALL.iter().map(|s| s.recipe().key()).collect();
        for (s, k) in Suite::ALL.iter().zip(&keys) {
            assert!(k.starts_with(&format!("{}-", s.name())), "{k}");
        }
        assert_ne!(
            keys[0][9..],
            keys[1][7..],
            "trixie's hash differs from bookworm's"
        );
        assert_ne!(
            keys[1][7..],
            keys[3][13..],
            "trixie-arm64's differs from trixie's"
        );
    }

    /// The arm64 recipe is trixie's, with the architecture's kernel and QEMU, a foreign
    /// debootstrap finished by the second stage (whose text is in the key); the amd64
    /// recipes say nothing of an architecture (their keys did not move when arm64 came).
    #[test]
    fn the_arm64_recipe_names_its_own_packages() {
        let arm = Suite::TrixieArm64.recipe();
        assert_eq!(
            (arm.suite, arm.name, arm.arch),
            ("trixie", "trixie-arm64", GuestArch::Arm64)
        );
        let packages = arm.all_packages();
        for p in [
            "linux-image-cloud-arm64",
            "qemu-system-arm",
            "podman",
            "docker.io",
        ] {
            assert!(packages.contains(&p), "{p}");
        }
        for p in ["linux-image-cloud-amd64", "qemu-system-x86"] {
            assert!(!packages.contains(&p), "{p}");
        }
        let text = arm.describe();
        assert!(text.contains("\narch arm64\nsecond-stage "), "{text}");
        for s in [Suite::Bookworm, Suite::Trixie, Suite::Sid] {
            assert_eq!(s.arch(), GuestArch::Amd64);
            let text = s.recipe().describe();
            assert!(
                !text.contains("\narch ") && !text.contains("second-stage"),
                "{text}"
            );
            assert!(text.contains("package linux-image-cloud-amd64\n"), "{text}");
        }
        assert_eq!(Suite::parse("trixie-arm64"), Ok(Suite::TrixieArm64));
    }

    #[test]
    fn only_sid_carries_the_ovs_peer_and_every_suite_has_dbus() {
        for s in Suite::ALL {
            let r = s.recipe();
            let all: Vec<&str> = r.packages.iter().chain(r.extra_packages).copied().collect();
            assert!(all.contains(&"dbus"), "{}", s.name());
            assert_eq!(
                all.contains(&"openvswitch-switch"),
                s == Suite::Sid,
                "{}",
                s.name()
            );
        }
    }

    /// Every suite carries its release's QEMU and Docker (and busybox-static for the engines'
    /// image); each engine a suite must run is in its recipe.
    #[test]
    fn the_must_run_scenarios_have_their_packages() {
        for s in Suite::ALL {
            let r = s.recipe();
            let all = r.all_packages();
            for p in ["qemu-system-x86", "docker.io", "busybox-static"] {
                let p = s.arch().package(p);
                assert!(all.contains(&p), "{}: {p}", s.name());
            }
            assert!(s.must_run().contains(&"qemu-conformance"), "{}", s.name());
            for (scenario, package) in [("engine-podman", "podman"), ("engine-docker", "docker.io")]
            {
                if s.must_run().contains(&scenario) {
                    assert!(
                        all.contains(&package),
                        "{}: {scenario} without {package}",
                        s.name()
                    );
                }
            }
        }
        assert!(!Suite::Bookworm.recipe().extra_packages.contains(&"podman"));
    }

    /// The partition table as sfdisk reads it back: the signature that ROOT_PARTUUID names,
    /// one Linux partition from sector 2048 to the end, and nothing written past the MBR.
    #[test]
    fn the_partition_table_is_what_the_kernel_reads() {
        test_support::require!(
            find_command("sfdisk").is_some(),
            "sfdisk not found (Debian package fdisk)"
        );
        let dir = test_support::TempDir::new("xtask-mbr");
        let img = dir.join("root.img");
        let mut disk = vec![0u8; 4 << 20];
        disk[1 << 20..].fill(0xe5); // stands for the file system
        std::fs::write(&img, &disk).unwrap();
        write_partition_table(&img).unwrap();
        let written = std::fs::read(&img).unwrap();
        assert_eq!(written[512..], disk[512..], "sfdisk wrote past the MBR");
        assert_eq!(&written[510..512], &[0x55, 0xaa]);
        assert_eq!(
            format!(
                "{:08x}-01",
                u32::from_le_bytes(written[440..444].try_into().unwrap())
            ),
            ROOT_PARTUUID
        );
        let dump = output(
            Command::new(find_command("sfdisk").unwrap())
                .arg("--dump")
                .arg(&img),
        )
        .unwrap();
        assert!(
            dump.contains("label: dos\nlabel-id: 0x68617264\n"),
            "{dump}"
        );
        assert!(
            dump.contains("root.img1 : start=        2048, size=        6144, type=83\n"),
            "{dump}"
        );
        // Not a disk image at all: the error names the command.
        let err = write_partition_table(&dir.join("missing")).unwrap_err();
        assert!(err.contains("sfdisk --quiet"), "{err}");
    }

    #[test]
    fn host_binaries_need_the_same_or_a_newer_glibc() {
        assert_eq!(parse_glibc("glibc 2.36\n"), Some((2, 36)));
        assert_eq!(parse_glibc("musl"), None);
        assert!(Suite::Bookworm.glibc() < Suite::Trixie.glibc());
        assert!(Suite::Trixie.glibc() < Suite::Sid.glibc());
        // Built on trixie (2.41): not in bookworm (2.36), in trixie and sid.
        let err = Suite::Bookworm
            .runs_binaries_built_with(Some((2, 41)))
            .unwrap_err();
        assert!(
            err.contains("glibc 2.36, older than this host's 2.41"),
            "{err}"
        );
        assert!(
            Suite::Trixie
                .runs_binaries_built_with(Some((2, 41)))
                .is_ok()
        );
        assert!(Suite::Sid.runs_binaries_built_with(Some((2, 43))).is_ok());
        // Built on bookworm: every suite; unknown libc: let the guest say.
        for s in Suite::ALL {
            assert!(s.runs_binaries_built_with(Some((2, 36))).is_ok());
            assert!(s.runs_binaries_built_with(None).is_ok());
        }
        assert!(
            Suite::Trixie
                .runs_binaries_built_with(Some((3, 0)))
                .is_err()
        );
    }

    #[test]
    fn suites_parse_by_name_and_repeat() {
        let args: Vec<String> = [
            "--suite",
            "sid",
            "x",
            "--suite=trixie",
            "--suite",
            "unstable",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (suites, rest) = take_suites(&args).unwrap();
        assert_eq!(suites, vec![Suite::Sid, Suite::Trixie]);
        assert_eq!(rest, vec!["x".to_string()]);
        let err = take_suites(&["--suite".to_string(), "jessie".to_string()]).unwrap_err();
        assert!(err.contains("unknown suite `jessie`"), "{err}");
        assert!(take_suites(&["--suite".to_string()]).is_err());
    }

    #[test]
    fn outdated_images_of_other_suites_are_kept() {
        let dir = std::env::temp_dir().join(format!("xtask-images-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // sid-b was built after sid-a, and sid-c (the current recipe's) after both.
        let [a, b, c] = [
            "sid-000000000000000a",
            "sid-000000000000000b",
            "sid-000000000000000c",
        ];
        let [trixie, trixie_arm] = ["trixie-0000000000000001", "trixie-arm64-0000000000000001"];
        for (name, built) in [
            (a, "20261201-000000"),
            (b, "20261202-000000"),
            (c, "20261203-000000"),
            (trixie, "20261201-000000"),
            (trixie_arm, "20261130-000000"),
            ("sidecar-1", "20261201-000000"),
        ] {
            std::fs::create_dir_all(dir.join(name)).unwrap();
            std::fs::write(dir.join(name).join("recipe.txt"), "x").unwrap();
            std::fs::write(dir.join(name).join("built"), format!("{built}\n")).unwrap();
        }
        let left = || {
            let mut left: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            left.sort();
            left
        };
        remove_outdated(&dir, &dir.join(c), "sid");
        // The newest other recipe's image (another branch's) stays; older ones go.
        assert_eq!(left(), [b, c, "sidecar-1", trixie, trixie_arm]);
        // The other branch builds again: its image becomes current, the newest other stays.
        remove_outdated(&dir, &dir.join(b), "sid");
        assert_eq!(left(), [b, c, "sidecar-1", trixie, trixie_arm]);
        // A new trixie image: trixie-arm64's is another suite's, not an older trixie.
        let newer = "trixie-0000000000000002";
        std::fs::create_dir_all(dir.join(newer)).unwrap();
        remove_outdated(&dir, &dir.join(newer), "trixie");
        assert_eq!(left(), [b, c, "sidecar-1", trixie, newer, trixie_arm]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
