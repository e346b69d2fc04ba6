//! The guest image: a Debian root built with debootstrap from a recipe (one const), cached under
//! the user's cache directory keyed by a hash of the recipe, built in a temporary directory and
//! renamed into place so an interrupted build never looks valid.

use super::paths::cache_root;
use crate::util::{find_command, is_root, output, run, seconds, show};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Everything that determines the image's content. Change anything here and the cache key
/// changes, so the next run builds a new image.
#[derive(Debug)]
pub(crate) struct Recipe {
    /// Debian suite (the host's binaries must run in it: same or newer glibc).
    pub(crate) suite: &'static str,
    /// debootstrap variant.
    pub(crate) variant: &'static str,
    /// Packages on top of the variant.
    pub(crate) packages: &'static [&'static str],
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

/// The one recipe.
pub(crate) const RECIPE: Recipe = Recipe {
    suite: "bookworm",
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
    ],
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
    ],
    enabled: &["harden-guest.service"],
    disk_size: "2G",
};

impl Recipe {
    /// A canonical text form (what the cache key hashes, stored next to the image).
    pub(crate) fn describe(&self) -> String {
        let mut s = format!(
            "format 1\nsuite {}\nvariant {}\ndisk {}\n",
            self.suite, self.variant, self.disk_size
        );
        for p in self.packages {
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

    /// The cache key: FNV-1a 64 of [`Recipe::describe`].
    pub(crate) fn key(&self) -> String {
        format!(
            "{}-{:016x}",
            self.suite,
            fnv1a64(self.describe().as_bytes())
        )
    }
}

/// FNV-1a, 64 bits: small, dependency-free, stable across Rust versions (unlike `DefaultHasher`).
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
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

    fn complete(&self) -> bool {
        self.root.is_file() && self.kernel.is_file() && self.dir.join("recipe.txt").is_file()
    }

    /// How long the cold build took, as recorded when it was built.
    pub(crate) fn build_seconds(&self) -> Option<f64> {
        std::fs::read_to_string(self.dir.join("build-seconds"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }
}

/// Where the current recipe's image lives (whether or not it is built).
pub(crate) fn location() -> Result<Image, String> {
    Ok(Image::at(cache_root()?.join("images").join(RECIPE.key())))
}

/// The cached image, built first when missing (or when `rebuild`).
pub(crate) fn ensure(rebuild: bool) -> Result<Image, String> {
    let image = location()?;
    if image.complete() && !rebuild {
        return Ok(image);
    }
    build(&image)?;
    Ok(image)
}

fn build(image: &Image) -> Result<(), String> {
    let recipe = &RECIPE;
    if !is_root() {
        // Keep HOME (the cache location) and PATH (cargo) across sudo; the image files are
        // world-readable and QEMU opens them read-only (snapshot=on), so any user can boot them.
        let home = std::env::var("HOME").unwrap_or_else(|_| "$HOME".into());
        return Err(format!(
            "the guest image {} is not built, and building it needs root (debootstrap chroots \
             and creates device nodes); build it once as root, into your cache directory:\n    \
             sudo env HOME={home} \"PATH=$PATH\" cargo xtask image\n\
             later runs use the cached image as any user",
            image.dir.display()
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
    for tool in ["debootstrap", "mkfs.ext4", "chroot"] {
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
        "xtask: building the guest image (Debian {}, {} + {} packages) from {mirror}\n\
         xtask: into {} (about a minute; progress follows)",
        recipe.suite,
        recipe.variant,
        recipe.packages.len(),
        tmp.display()
    );
    let result = build_into(&tmp, &rootfs, &mirror, start);
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(format!("building the guest image failed: {e}"));
    }
    if image.dir.exists() {
        std::fs::remove_dir_all(&image.dir)
            .map_err(|e| format!("removing the old {}: {e}", image.dir.display()))?;
    }
    std::fs::rename(&tmp, &image.dir)
        .map_err(|e| format!("renaming {} to {}: {e}", tmp.display(), image.dir.display()))?;
    remove_outdated(&parent, &image.dir);
    eprintln!(
        "xtask: guest image ready in {} ({:.1} s)",
        image.dir.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Images of older recipes (each ~500 MB) are removed once the current one is built.
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

fn remove_outdated(parent: &Path, current: &Path) {
    if let Ok(dir) = std::fs::read_dir(parent) {
        for e in dir.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p != current && !name.starts_with('.') && p.join("recipe.txt").is_file() {
                eprintln!("xtask: removing an outdated image: {}", p.display());
                let _ = std::fs::remove_dir_all(&p);
            }
        }
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

fn build_into(tmp: &Path, rootfs: &Path, mirror: &str, start: Instant) -> Result<(), String> {
    let recipe = &RECIPE;
    eprintln!("xtask: [1/4] debootstrap (downloads and installs the packages)");
    run(
        Command::new(find_command("debootstrap").unwrap_or_default())
            .arg(format!("--variant={}", recipe.variant))
            .arg(format!("--include={}", recipe.packages.join(",")))
            .arg(recipe.suite)
            .arg(rootfs)
            .arg(mirror),
    )?;
    eprintln!(
        "xtask: [2/4] overlay, masked units ({:.0} s so far)",
        seconds(start)
    );
    for (path, mode, text) in recipe.overlay {
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
    let _ = std::fs::write(rootfs.join("etc/machine-id"), "");
    // apt caches are not needed in the guest.
    let _ = std::fs::remove_dir_all(rootfs.join("var/cache/apt/archives"));
    let _ = std::fs::remove_dir_all(rootfs.join("var/lib/apt/lists"));

    eprintln!("xtask: [3/4] kernel ({:.0} s so far)", seconds(start));
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
    let from = pick("vmlinuz-")?;
    std::fs::copy(&from, tmp.join("vmlinuz"))
        .map_err(|e| format!("copying {}: {e}", from.display()))?;

    eprintln!(
        "xtask: [4/4] root disk image ({:.0} s so far)",
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
        "root_owner=0:0",
        "-d",
    ])
    .arg(rootfs)
    .arg(&img)
    .arg(recipe.disk_size);
    run(&mut mkfs).map_err(|e| format!("{e} ({})", show(&mkfs)))?;
    std::fs::remove_dir_all(rootfs).map_err(|e| format!("removing {}: {e}", rootfs.display()))?;
    std::fs::write(tmp.join("recipe.txt"), recipe.describe())
        .map_err(|e| format!("writing recipe.txt: {e}"))?;
    std::fs::write(
        tmp.join("build-seconds"),
        format!("{:.1}\n", seconds(start)),
    )
    .map_err(|e| format!("writing build-seconds: {e}"))?;
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
    fn the_key_depends_on_the_recipe() {
        let k = RECIPE.key();
        assert!(k.starts_with("bookworm-"));
        assert_eq!(k, RECIPE.key());
        let other = Recipe {
            packages: &["systemd"],
            ..RECIPE
        };
        assert_ne!(k, other.key());
    }
}
