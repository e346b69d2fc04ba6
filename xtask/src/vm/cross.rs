//! The arm64 payload, cross-built on this x86-64 host: the Rust standard library for
//! [`TARGET`] (rustup), Debian's cross linker (apt-get, through [`crate::deps`] and its rules),
//! and arm64 libseccomp taken from Debian's arm64 packages into a private sysroot.
//!
//! The sysroot never touches the machine's dpkg: no architecture is added, nothing is
//! installed. apt-get runs with a configuration of its own (its own sources list naming only
//! arm64, package lists, cache and an empty status file, all under the sysroot's directory),
//! downloads `libseccomp2` and `libseccomp-dev` at the version the host has installed (the
//! same libseccomp release on both sides, so a difference between the x86-64 and the arm64
//! build is the ABI's, not the library's), and `dpkg-deb -x` unpacks them.

use crate::util::{cargo, output, run, target_dir};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Rust target of the arm64 payload.
pub(crate) const TARGET: &str = "aarch64-unknown-linux-gnu";
/// Debian's name of the architecture.
const DEB_ARCH: &str = "arm64";
/// The GNU triplet: the cross tools' prefix and the multiarch library directory.
const TRIPLET: &str = "aarch64-linux-gnu";
/// ELF `e_machine` of aarch64 (`EM_AARCH64`).
pub(crate) const EM_AARCH64: u16 = 183;
/// ELF `e_machine` of x86-64 (`EM_X86_64`).
pub(crate) const EM_X86_64: u16 = 62;
/// The Debian packages unpacked into the sysroot.
const SYSROOT_PACKAGES: [&str; 2] = ["libseccomp2", "libseccomp-dev"];

/// Needed on the host for the cross build besides [`crate::deps::BUILD`] (which gives the
/// host's libseccomp version the sysroot copies).
pub(crate) const NEEDS: &[crate::deps::Need] = &[
    crate::deps::Need {
        why: "linking the arm64 guest binaries",
        probe: "aarch64-linux-gnu-gcc",
        package: "gcc-aarch64-linux-gnu",
    },
    crate::deps::Need {
        why: "the arm64 C library the cross linker links against (crt1.o, libc.so)",
        probe: "/usr/aarch64-linux-gnu/lib/crt1.o",
        package: "libc6-dev-arm64-cross",
    },
];

/// A ready cross toolchain: cargo commands built with it target arm64.
#[derive(Debug, Clone)]
pub(crate) struct Toolchain {
    /// The unpacked packages (`usr/lib/aarch64-linux-gnu/libseccomp.so`, ...).
    pub(crate) sysroot: PathBuf,
}

impl Toolchain {
    /// Installs what is missing (said first, each with why), then returns the toolchain.
    pub(crate) fn ensure() -> Result<Toolchain, String> {
        let target_missing = !rust_target_installed(TARGET)?;
        let version = host_libseccomp_version()?;
        let sysroot = sysroot_dir(&version);
        let sysroot_missing = !sysroot_complete(&sysroot);
        if target_missing || sysroot_missing {
            eprintln!("xtask: the arm64 cross build needs, besides Debian packages:");
            if target_missing {
                eprintln!("    rustup target {TARGET:<28} the Rust standard library for arm64");
            }
            if sysroot_missing {
                eprintln!(
                    "    {} {version} ({DEB_ARCH}) unpacked into {} (a private sysroot: \
                     nothing is installed, no architecture is added to dpkg)",
                    SYSROOT_PACKAGES.join(" and "),
                    sysroot.display()
                );
            }
        }
        crate::deps::ensure(&[crate::deps::BUILD, NEEDS].concat())?;
        if target_missing {
            run(Command::new("rustup").args(["target", "add", TARGET]))?;
        }
        if sysroot_missing {
            fetch_sysroot(&sysroot, &version)?;
        }
        Ok(Toolchain { sysroot })
    }

    /// The sysroot's library directory (`usr/lib/aarch64-linux-gnu`).
    fn libdir(&self) -> PathBuf {
        self.sysroot.join("usr/lib").join(TRIPLET)
    }

    /// `cargo SUBCOMMAND --target aarch64-unknown-linux-gnu`, linking with the cross linker
    /// against the sysroot's libseccomp (libseccomp's build script reads its version with
    /// pkg-config: pointed at the sysroot's `.pc` file, never the host's).
    pub(crate) fn cargo(&self, subcommand: &str) -> Command {
        let mut cmd = cargo();
        cmd.args([subcommand, "--target", TARGET]);
        let libdir = self.libdir();
        let env = TARGET.replace('-', "_");
        cmd.env(
            format!("CARGO_TARGET_{}_LINKER", env.to_uppercase()),
            format!("{TRIPLET}-gcc"),
        )
        .env("LIBSECCOMP_LIB_PATH", &libdir)
        .env(format!("PKG_CONFIG_LIBDIR_{env}"), libdir.join("pkgconfig"))
        .env(format!("PKG_CONFIG_SYSROOT_DIR_{env}"), &self.sysroot)
        .env(format!("PKG_CONFIG_PATH_{env}"), "");
        cmd
    }

    /// Where cargo puts this target's debug build.
    pub(crate) fn debug_dir() -> PathBuf {
        target_dir().join(TARGET).join("debug")
    }
}

/// Whether rustup has the standard library for `target`.
fn rust_target_installed(target: &str) -> Result<bool, String> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    Ok(installed.lines().any(|l| l.trim() == target))
}

/// The installed version of the host's `libseccomp-dev` ([`crate::deps::BUILD`] installs it).
fn host_libseccomp_version() -> Result<String, String> {
    crate::deps::ensure(crate::deps::BUILD)?;
    let v = output(Command::new("dpkg-query").args(["-W", "-f=${Version}", "libseccomp-dev"]))?;
    let v = v.trim();
    if v.is_empty() {
        return Err("dpkg-query names no installed version of libseccomp-dev".into());
    }
    Ok(v.to_string())
}

/// `<target>/cross/arm64-sysroot-<version>`: one per libseccomp version, so a host upgrade
/// makes a new one instead of mixing two.
fn sysroot_dir(version: &str) -> PathBuf {
    target_dir()
        .join("cross")
        .join(format!("{DEB_ARCH}-sysroot-{}", path_safe(version)))
}

/// A Debian version as part of a directory name: `:` and `~` (and anything else but
/// letters, digits, `.`, `+` and `-`) become `_`.
pub(crate) fn path_safe(version: &str) -> String {
    version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The file the unpacking writes last: a sysroot with it is complete.
fn sysroot_complete(sysroot: &Path) -> bool {
    sysroot.join(".complete").is_file()
}

/// The apt-get options of the private configuration under `dir`: its own sources list (`arch`
/// only), lists, cache and an empty dpkg status, nothing of the machine's state read or
/// written; `APT::Architecture` makes `arch` the native architecture of these runs only.
fn private_apt_options(dir: &Path, arch: &str) -> Vec<String> {
    let p = |sub: &str| dir.join(sub).display().to_string();
    vec![
        format!("Dir::Etc::SourceList={}", p("sources.list")),
        format!("Dir::Etc::SourceParts={}", p("sources.list.d")),
        format!("Dir::Etc::Preferences={}", p("preferences")),
        format!("Dir::Etc::PreferencesParts={}", p("preferences.d")),
        format!("Dir::State::Lists={}", p("lists")),
        format!("Dir::State::status={}", p("status")),
        format!("Dir::Cache={}", p("cache")),
        format!("APT::Architecture={arch}"),
        format!("APT::Architectures::={arch}"),
        // Only the package lists: no translations or AppStream metadata.
        "Acquire::Languages=none".into(),
        "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false".into(),
        "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false".into(),
        "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false".into(),
        // Our own directory, nobody else's lock to respect.
        "Debug::NoLocking=1".into(),
    ]
}

/// The sources list of the private configuration: the host release's own Debian sources
/// (the release, its updates and security suites where the machine has them), `arch` only.
pub(crate) fn sources_list(codename: &str, arch: &str, sources: &[(String, String)]) -> String {
    let keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
    let signed = if Path::new(keyring).exists() {
        format!(" signed-by={keyring}")
    } else {
        String::new()
    };
    let mut list = format!("# {arch} packages for the {codename} host, unpacked by xtask\n");
    for (uri, suite) in sources {
        list.push_str(&format!("deb [arch={arch}{signed}] {uri} {suite} main\n"));
    }
    list
}

/// Downloads `SYSROOT_PACKAGES` at `version` for arm64 and unpacks them into `sysroot`.
fn fetch_sysroot(sysroot: &Path, version: &str) -> Result<(), String> {
    let wanted: Vec<(&str, &str)> = SYSROOT_PACKAGES.iter().map(|p| (*p, version)).collect();
    unpack_debs(sysroot, DEB_ARCH, &host_sources(false)?, &wanted).map_err(|e| {
        format!(
            "{e}\n(the arm64 libseccomp must be the host's version, {version}, so that both \
             builds use the same libseccomp)"
        )
    })?;
    let lib = sysroot.join("usr/lib").join(TRIPLET).join("libseccomp.so");
    if !lib.exists() {
        return Err(format!("{} is missing after unpacking", lib.display()));
    }
    std::fs::write(sysroot.join(".complete"), format!("{version}\n"))
        .map_err(|e| format!("writing {}: {e}", sysroot.display()))
}

/// The host release's Debian sources as (URI, suite): the release, its updates and security
/// suites where the machine has them (and its backports with `backports`, from the release's
/// mirror when the machine does not list them); the release's mirror alone when it has none.
pub(crate) fn host_sources(backports: bool) -> Result<(String, Vec<(String, String)>), String> {
    let codename = crate::mirror::host_codename()
        .ok_or("the host's Debian release is unknown (/etc/os-release)")?;
    let mut sources: Vec<(String, String)> = [
        codename.clone(),
        format!("{codename}-updates"),
        format!("{codename}-security"),
    ]
    .into_iter()
    .filter_map(|suite| Some((crate::mirror::configured(&suite)?, suite)))
    .collect();
    let release_mirror = match sources.first() {
        Some((uri, suite)) if *suite == codename => uri.clone(),
        _ => crate::mirror::for_suite(&codename)?.uri,
    };
    if sources.is_empty() {
        sources.push((release_mirror.clone(), codename.clone()));
    }
    if backports {
        let suite = format!("{codename}-backports");
        let uri = crate::mirror::configured(&suite).unwrap_or(release_mirror);
        if !sources.iter().any(|(_, s)| *s == suite) {
            sources.push((uri, suite));
        }
    }
    Ok((codename, sources))
}

/// Downloads each (package, version) of `wanted` for `arch` from `sources` (the host's
/// codename and its (URI, suite) list) with a private apt configuration, and unpacks them
/// into `dest` with `dpkg-deb -x`: nothing is installed, the machine's dpkg never sees them.
pub(crate) fn unpack_debs(
    dest: &Path,
    arch: &str,
    (codename, sources): &(String, Vec<(String, String)>),
    wanted: &[(&str, &str)],
) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dest);
    let mut apt_name = dest.file_name().unwrap_or_default().to_os_string();
    apt_name.push(".apt");
    let apt_dir = dest.with_file_name(apt_name);
    let _ = std::fs::remove_dir_all(&apt_dir);
    for sub in [
        "sources.list.d",
        "preferences.d",
        "lists/partial",
        "cache/archives/partial",
        "debs",
    ] {
        std::fs::create_dir_all(apt_dir.join(sub))
            .map_err(|e| format!("creating {}: {e}", apt_dir.join(sub).display()))?;
    }
    let write = |name: &str, text: &str| {
        std::fs::write(apt_dir.join(name), text)
            .map_err(|e| format!("writing {}: {e}", apt_dir.join(name).display()))
    };
    write("sources.list", &sources_list(codename, arch, sources))?;
    write("status", "")?;
    let apt = |args: &[&str]| {
        let mut cmd = Command::new("apt-get");
        for o in private_apt_options(&apt_dir, arch) {
            cmd.arg("-o").arg(o);
        }
        if crate::util::is_root() {
            // The download directory is ours; apt's `_apt` user could not write there.
            cmd.args(["-o", "APT::Sandbox::User=root"]);
        }
        cmd.args(["-q"])
            .args(args)
            .current_dir(apt_dir.join("debs"));
        cmd
    };
    run(&mut apt(&["update"]))?;
    let mut download = apt(&["download"]);
    download.args(wanted.iter().map(|(p, v)| format!("{p}={v}")));
    run(&mut download).map_err(|e| {
        let names: Vec<String> = wanted.iter().map(|(p, v)| format!("{p} {v}")).collect();
        format!(
            "{e}\n(wanted {} for {arch} from {})",
            names.join(", "),
            sources
                .iter()
                .map(|(_, s)| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    std::fs::create_dir_all(dest).map_err(|e| format!("creating {}: {e}", dest.display()))?;
    let debs: Vec<PathBuf> = std::fs::read_dir(apt_dir.join("debs"))
        .map_err(|e| format!("reading {}: {e}", apt_dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    for (p, _) in wanted {
        let deb = debs
            .iter()
            .find(|f| {
                f.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.starts_with(&format!("{p}_")) && n.ends_with(&format!("_{arch}.deb"))
                })
            })
            .ok_or_else(|| format!("apt-get download left no {p} {arch} package"))?;
        run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(dest))?;
    }
    let _ = std::fs::remove_dir_all(&apt_dir);
    Ok(())
}

/// The ELF `e_machine` of a file's header, or why it is not a 64-bit little-endian ELF file.
pub(crate) fn elf_machine(header: &[u8]) -> Result<u16, String> {
    match header {
        [0x7f, b'E', b'L', b'F', 2, 1, ..] if header.len() >= 20 => {
            Ok(u16::from_le_bytes([header[18], header[19]]))
        }
        [0x7f, b'E', b'L', b'F', ..] => Err("an ELF file, but not 64-bit little-endian".into()),
        _ => Err("not an ELF file".into()),
    }
}

/// Fails unless every file of `bins` is an ELF executable for `machine`.
pub(crate) fn check_machine(bins: &[PathBuf], machine: u16) -> Result<(), String> {
    for bin in bins {
        let mut header = [0u8; 20];
        let mut f = std::fs::File::open(bin).map_err(|e| format!("{}: {e}", bin.display()))?;
        let n = std::io::Read::read(&mut f, &mut header)
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        let found = elf_machine(&header[..n]).map_err(|e| format!("{}: {e}", bin.display()))?;
        if found != machine {
            return Err(format!(
                "{} is an ELF file for machine {found}, not {machine}",
                bin.display()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_elf_machine_is_read_from_the_header() {
        let mut h = [0u8; 20];
        h[..6].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1]);
        h[18..20].copy_from_slice(&EM_AARCH64.to_le_bytes());
        assert_eq!(elf_machine(&h), Ok(EM_AARCH64));
        assert!(elf_machine(b"#!/bin/sh\n").is_err());
        h[4] = 1;
        assert!(elf_machine(&h).is_err(), "32-bit");
        assert!(elf_machine(&h[..10]).is_err(), "short");
        // This test binary is the host's own.
        let me = std::env::current_exe().unwrap();
        if cfg!(target_arch = "x86_64") {
            assert_eq!(check_machine(std::slice::from_ref(&me), EM_X86_64), Ok(()));
        }
        assert!(check_machine(&[me], EM_AARCH64).is_err() == cfg!(target_arch = "x86_64"));
    }

    #[test]
    fn versions_become_directory_names() {
        assert_eq!(
            path_safe("1:10.0.2+ds-2+deb13u1~bpo12+1"),
            "1_10.0.2+ds-2+deb13u1_bpo12+1"
        );
        assert_eq!(path_safe("2.5.4-1+b3"), "2.5.4-1+b3");
    }

    #[test]
    fn the_private_sources_name_arm64_only() {
        let list = sources_list(
            "bookworm",
            DEB_ARCH,
            &[
                ("http://deb.debian.org/debian".into(), "bookworm".into()),
                (
                    "http://deb.debian.org/debian-security".into(),
                    "bookworm-security".into(),
                ),
            ],
        );
        let debs: Vec<&str> = list.lines().filter(|l| l.starts_with("deb ")).collect();
        assert_eq!(debs.len(), 2);
        assert!(
            debs.iter().all(|l| l.starts_with("deb [arch=arm64")),
            "{list}"
        );
        assert!(debs[1].ends_with("http://deb.debian.org/debian-security bookworm-security main"));
    }

    #[test]
    fn the_private_apt_state_stays_in_its_directory() {
        let dir = Path::new("/x/apt");
        for o in private_apt_options(dir, DEB_ARCH) {
            if o.starts_with("Dir::") {
                assert!(o.contains("=/x/apt/"), "{o}");
            }
        }
        assert!(
            private_apt_options(dir, DEB_ARCH).contains(&"APT::Architectures::=arm64".to_string())
        );
    }
}
