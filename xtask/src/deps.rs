//! Prerequisites: what a fresh Debian machine lacks, installed with apt-get when we are root.

use crate::apt;
use crate::util::{have_command, is_root, output, run};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

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
        why: "OVSDB server peer (echod's peer benchmark)",
        probe: "ovsdb-server",
        package: "openvswitch-common",
    },
    Need {
        why: "a fresh database for the benchmark's ovsdb-server",
        probe: "ovsdb-tool",
        package: "openvswitch-common",
    },
    Need {
        why: "checking the guest's shell script",
        probe: "shellcheck",
        package: "shellcheck",
    },
    Need {
        why: "OCI runtime-spec JSON schema",
        probe: "/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema/defs-linux.json",
        package: "golang-github-opencontainers-specs-dev",
    },
    Need {
        why: "OCI runtime that runs the seccomp-sets OCI export",
        probe: "runc",
        package: "runc",
    },
    Need {
        why: "static busybox inside the runc test containers",
        probe: "/bin/busybox",
        package: "busybox-static",
    },
    Need {
        why: "xtask's own test of the guest disk's partition table",
        probe: "sfdisk",
        package: "fdisk",
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
    Need {
        why: "partitioning the guest disk",
        probe: "sfdisk",
        package: "fdisk",
    },
];

fn present(need: &Need) -> bool {
    // An absolute probe is a file whose existence is checked; any other is a command.
    have_command(need.probe)
}

/// Set by `--no-install` (any command) or `HARDEN_NO_INSTALL=1`: never run apt-get.
static NO_INSTALL: AtomicBool = AtomicBool::new(false);

/// Turns installing off for this run (`--no-install`).
pub(crate) fn forbid_install() {
    NO_INSTALL.store(true, Ordering::Relaxed);
}

fn install_allowed() -> bool {
    !NO_INSTALL.load(Ordering::Relaxed)
        && std::env::var_os("HARDEN_NO_INSTALL").is_none_or(|v| v.is_empty() || v == "0")
}

/// Installs whatever of `needs` is missing (apt-get when root), or fails with the exact command
/// to run. Never removes or downgrades an installed package: see [`install_without_losses`].
pub(crate) fn ensure(needs: &[Need]) -> Result<(), String> {
    let mut missing: Vec<&Need> = needs.iter().filter(|n| !present(n)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    missing.dedup_by_key(|n| n.package);
    let mut packages: Vec<&str> = missing.iter().map(|n| n.package).collect();
    packages.sort_unstable();
    packages.dedup();
    eprintln!("xtask: missing prerequisites (Debian packages):");
    for n in &missing {
        eprintln!(
            "    {:<40} for {} ({} not found)",
            n.package, n.why, n.probe
        );
    }
    let line = format!(
        "apt-get install --no-remove --no-install-recommends {}",
        packages.join(" ")
    );
    if !install_allowed() {
        return Err(format!(
            "missing packages, and installing is turned off (--no-install or HARDEN_NO_INSTALL); \
             install them yourself:\n    apt-get update && {line}\nthen run this command again"
        ));
    }
    if !is_root() {
        return Err(format!(
            "missing packages; run as root:\n    apt-get update && {line}\nthen run this command again \
             (as root, xtask installs them itself; --no-install turns that off)"
        ));
    }
    eprintln!(
        "xtask: installing them with apt-get (never removing or downgrading a package; \
         --no-install or HARDEN_NO_INSTALL=1 turns this off)"
    );
    run(Command::new("apt-get").args(["update", "-q"]))
        .map_err(|e| format!("{e}\n(apt-get update is needed to install: {line})"))?;
    install_without_losses(&packages)?;
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

/// Installs `packages` only through apt runs whose simulation removes and downgrades nothing.
///
/// When the plain install would remove or downgrade something (a package installed from
/// backports that the requested ones conflict with, say), the packages that cause it are
/// installed from the suite the threatened package came from, if apt can reach it: a source
/// of the machine's apt configuration, or the host suite's backports on the host's own
/// mirror, used for that one apt run only. Otherwise it stops and says what to do.
fn install_without_losses(packages: &[&str]) -> Result<(), String> {
    let system = Apt::system();
    if system.losses(packages)?.is_empty() {
        return system.apply(packages);
    }
    // Which of the requested packages cause the losses, and which install cleanly.
    let mut clean = Vec::new();
    let mut troubled: Vec<(&str, Vec<apt::Loss>)> = Vec::new();
    for &p in packages {
        let lost = system.losses(&[p])?;
        if lost.is_empty() {
            clean.push(p);
        } else {
            troubled.push((p, lost));
        }
    }
    if !clean.is_empty() {
        system.install(&clean)?;
    }
    let names: Vec<&str> = troubled.iter().map(|(p, _)| *p).collect();
    let mut lost: Vec<&apt::Loss> = troubled.iter().flat_map(|(_, l)| l).collect();
    lost.sort_by(|a, b| a.package.cmp(&b.package));
    lost.dedup();
    for (p, l) in &troubled {
        let what: Vec<String> = l.iter().map(ToString::to_string).collect();
        eprintln!(
            "xtask: installing {p} as the machine's apt configuration stands would {}; \
             xtask never does that",
            what.join(", ")
        );
    }
    let suites = origin_suites(&lost);
    let mut tried = Vec::new();
    for suite in &suites {
        match Apt::with_suite(suite) {
            Ok(apt) => {
                let still = apt.losses(&names)?;
                if still.is_empty() {
                    eprintln!(
                        "xtask: installing {} from {suite}, where the installed {} came from{}",
                        names.join(" "),
                        package_names(&lost),
                        if apt.temporary.is_some() {
                            " (a source this machine's apt configuration lacks, used for this \
                             one apt run only)"
                        } else {
                            ""
                        }
                    );
                    return apt.apply(&names);
                }
                let what: Vec<String> = still.iter().map(ToString::to_string).collect();
                tried.push(format!("from {suite}, apt would still {}", what.join(", ")));
            }
            Err(e) => tried.push(format!("{suite}: {e}")),
        }
    }
    Err(losses_message(&names, &lost, &suites, &tried))
}

/// The message when no apt run can install `names` without losing `lost`.
fn losses_message(
    names: &[&str],
    lost: &[&apt::Loss],
    suites: &[String],
    tried: &[String],
) -> String {
    let what: Vec<String> = lost.iter().map(ToString::to_string).collect();
    let mut msg = format!(
        "not installing {}: apt would {}, and xtask never removes or downgrades a package.\n",
        names.join(" "),
        what.join(", ")
    );
    for t in tried {
        msg.push_str(&format!("    tried: {t}\n"));
    }
    msg.push_str("To resolve it yourself, either\n");
    match suites.first() {
        Some(suite) => msg.push_str(&format!(
            "  - install the matching version from {suite}, where the installed package came from \
             (add {suite} to your apt sources first):\n        apt-get install -t {suite} --no-remove {}\n",
            names.join(" ")
        )),
        None => msg.push_str(&format!(
            "  - install versions of {} that match the installed {} from the suite it came from \
             (`apt-cache policy {}` shows the candidates)\n",
            names.join(" "),
            package_names(lost),
            package_names(lost),
        )),
    }
    msg.push_str(&format!(
        "  - or accept what apt proposes, knowingly:\n        apt-get install --no-install-recommends {}\n\
         then run this command again.",
        names.join(" ")
    ));
    msg
}

/// The package names of `lost`, space-separated.
fn package_names(lost: &[&apt::Loss]) -> String {
    let names: Vec<&str> = lost.iter().map(|l| l.package.as_str()).collect();
    names.join(" ")
}

/// Where the versions about to be lost came from: a configured source that carries the
/// installed version (`apt-cache policy`), else the backports suite its version names.
fn origin_suites(lost: &[&apt::Loss]) -> Vec<String> {
    let mut suites: Vec<String> = Vec::new();
    for l in lost {
        let policy =
            output(Command::new("apt-cache").args(["policy", &l.package])).unwrap_or_default();
        let mut found = apt::installed_version_suites(&policy);
        if found.is_empty() {
            found.extend(apt::backports_suite(&l.installed));
        }
        for s in found {
            if !suites.contains(&s) {
                suites.push(s);
            }
        }
    }
    suites
}

/// One way of running apt-get: the machine's configuration, optionally with a target release
/// and a temporary extra source (and its own package lists, so the system's stay untouched).
#[derive(Debug)]
struct Apt {
    target: Option<String>,
    temporary: Option<PathBuf>,
}

impl Apt {
    fn system() -> Apt {
        Apt {
            target: None,
            temporary: None,
        }
    }

    /// apt-get with `suite` as the target release. A suite the machine's apt configuration
    /// lacks is added for these runs only, and only the host release's own backports, from
    /// the host's own mirror.
    fn with_suite(suite: &str) -> Result<Apt, String> {
        if crate::mirror::configured(suite).is_some() {
            return Ok(Apt {
                target: Some(suite.to_string()),
                temporary: None,
            });
        }
        let host = crate::mirror::host_codename()
            .ok_or("the host's Debian release is unknown (/etc/os-release)")?;
        if suite != format!("{host}-backports") {
            return Err(format!(
                "not in the machine's apt sources, and only {host}-backports is added automatically"
            ));
        }
        let uri = crate::mirror::configured(&host)
            .ok_or_else(|| format!("no apt source for {host} to take the mirror from"))?;
        // Inside the target directory, not a world-writable /tmp: as root, a sources list in a
        // directory another user could have made would let that user choose our packages.
        let dir = crate::util::target_dir().join(format!("xtask-apt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("lists/partial"))
            .map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let mut list = std::fs::read_to_string("/etc/apt/sources.list").unwrap_or_default();
        let keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
        let signed = if std::path::Path::new(keyring).exists() {
            format!("[signed-by={keyring}] ")
        } else {
            String::new()
        };
        list.push_str(&format!("\ndeb {signed}{uri} {suite} main\n"));
        std::fs::write(dir.join("sources.list"), list)
            .map_err(|e| format!("writing {}: {e}", dir.display()))?;
        let apt = Apt {
            target: Some(suite.to_string()),
            temporary: Some(dir),
        };
        run(apt.command().args(["update", "-q"]))?;
        Ok(apt)
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("apt-get");
        cmd.env("DEBIAN_FRONTEND", "noninteractive");
        if let Some(dir) = &self.temporary {
            cmd.arg("-o")
                .arg(format!(
                    "Dir::Etc::SourceList={}",
                    dir.join("sources.list").display()
                ))
                .arg("-o")
                .arg(format!("Dir::State::Lists={}", dir.join("lists").display()));
        }
        cmd
    }

    fn install_command(&self, packages: &[&str]) -> Command {
        let mut cmd = self.command();
        cmd.args(["install", "-y", "-q", "--no-install-recommends"]);
        if let Some(t) = &self.target {
            cmd.args(["-t", t]);
        }
        cmd.args(packages);
        cmd
    }

    /// What installing `packages` would remove or downgrade (apt-get's simulation).
    fn losses(&self, packages: &[&str]) -> Result<Vec<apt::Loss>, String> {
        let mut cmd = self.install_command(packages);
        cmd.arg("-s").stdin(std::process::Stdio::null());
        let shown = crate::util::show(&cmd);
        let out = cmd
            .output()
            .map_err(|e| format!("could not start `{shown}`: {e}"))?;
        let text = crate::util::both_outputs(&out);
        if out.status.success() {
            return apt::losses(&text);
        }
        // apt refuses a downgrade it was not asked for: the simulation fails, naming it.
        let downgrades = apt::unmet_downgrades(&text)?;
        if downgrades.is_empty() {
            Err(format!(
                "`{shown}` failed ({}): {}",
                out.status,
                text.trim()
            ))
        } else {
            Ok(downgrades)
        }
    }

    /// Installs, after a simulation that shows no loss (see [`Apt::apply`]).
    fn install(&self, packages: &[&str]) -> Result<(), String> {
        let lost = self.losses(packages)?;
        if !lost.is_empty() {
            let what: Vec<String> = lost.iter().map(ToString::to_string).collect();
            return Err(format!(
                "not installing {}: apt would {}",
                packages.join(" "),
                what.join(", ")
            ));
        }
        self.apply(packages)
    }

    /// Installs `packages`, whose simulation the caller has just checked, with `--no-remove` as
    /// a second guard. apt never downgrades unless asked (`--allow-downgrades`), which this
    /// never does.
    fn apply(&self, packages: &[&str]) -> Result<(), String> {
        run(self.install_command(packages).arg("--no-remove"))
    }
}

impl Drop for Apt {
    fn drop(&mut self) {
        if let Some(dir) = &self.temporary {
            let _ = std::fs::remove_dir_all(dir);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_names_the_packages_the_commands_and_the_alternative() {
        let lost = apt::Loss {
            package: "qemu-utils".into(),
            installed: "1:10.0.2+ds-2+deb13u1~bpo12+1".into(),
            downgrade_to: None,
        };
        let msg = losses_message(
            &["qemu-system-x86"],
            &[&lost],
            &["bookworm-backports".to_string()],
            &["bookworm-backports: no apt source for bookworm to take the mirror from".into()],
        );
        assert_eq!(
            msg,
            "not installing qemu-system-x86: apt would remove qemu-utils \
             (1:10.0.2+ds-2+deb13u1~bpo12+1), and xtask never removes or downgrades a package.\n\
             \x20   tried: bookworm-backports: no apt source for bookworm to take the mirror from\n\
             To resolve it yourself, either\n\
             \x20 - install the matching version from bookworm-backports, where the installed \
             package came from (add bookworm-backports to your apt sources first):\n\
             \x20       apt-get install -t bookworm-backports --no-remove qemu-system-x86\n\
             \x20 - or accept what apt proposes, knowingly:\n\
             \x20       apt-get install --no-install-recommends qemu-system-x86\n\
             then run this command again."
        );
        // Without a known origin, the advice points at apt-cache policy instead.
        let msg = losses_message(&["qemu-system-x86"], &[&lost], &[], &[]);
        assert!(
            msg.contains("`apt-cache policy qemu-utils` shows the candidates"),
            "{msg}"
        );
    }
}
