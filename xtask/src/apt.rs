//! What an `apt-get` run would do, read from its simulation (`apt-get -s`), and where an
//! installed package came from. Functions over apt's text (Debian's version order is dpkg's
//! own): the decisions of [`crate::deps`] are tested here without installing anything.
//!
//! The rule these serve: installing prerequisites never removes or downgrades a package.

use crate::util::show;
use std::process::Command;

/// A package apt would remove or downgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Loss {
    pub(crate) package: String,
    /// The version installed now.
    pub(crate) installed: String,
    /// `None` for a removal, the lower version for a downgrade.
    pub(crate) downgrade_to: Option<String>,
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.downgrade_to {
            None => write!(f, "remove {} ({})", self.package, self.installed),
            Some(to) => write!(
                f,
                "downgrade {} from {} to {to}",
                self.package, self.installed
            ),
        }
    }
}

/// The removals and downgrades in the output of `apt-get -s install ...`.
///
/// apt prints one line per action: `Remv PKG [VERSION]` for a removal, and
/// `Inst PKG [OLD] (NEW SUITE [ARCH])` for an install that replaces `OLD`; it is a downgrade
/// when `NEW` sorts below `OLD` in Debian's version order ([`older`]).
pub(crate) fn losses(simulation: &str) -> Result<Vec<Loss>, String> {
    let mut out = Vec::new();
    for line in simulation.lines() {
        let mut words = line.split_whitespace();
        let (action, package) = (words.next(), words.next());
        // What follows the package name: `[OLD] (NEW ...)`, `[OLD]` or `(NEW ...)`.
        let rest = package.map_or("", |p| {
            line.split_once(p).map_or("", |(_, rest)| rest.trim_start())
        });
        match (action, package) {
            (Some("Remv"), Some(package)) => {
                let installed = bracketed(rest).unwrap_or("?").to_string();
                out.push(Loss {
                    package: package.to_string(),
                    installed,
                    downgrade_to: None,
                });
            }
            (Some("Inst"), Some(package)) => {
                let (Some(old), Some(new)) = (bracketed(rest), parenthesised(rest)) else {
                    continue;
                };
                if older(new, old)? {
                    out.push(Loss {
                        package: package.to_string(),
                        installed: old.to_string(),
                        downgrade_to: Some(new.to_string()),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The downgrades a failed simulation asks for: apt refuses to downgrade on its own, so when a
/// requested package needs an older version of an installed one (`qemu-system-arm` 7.2 next
/// to `qemu-system-common` 10.0 from backports), `apt-get -s install` fails with
/// `PKG : Depends: DEP (= OLD) but NEW is to be installed` (or `... but NEW is installed`).
/// Each such line whose `OLD` sorts below `NEW` is a downgrade the install would need; an
/// unmet dependency of any other kind is not (the caller reports apt's own error then).
pub(crate) fn unmet_downgrades(failure: &str) -> Result<Vec<Loss>, String> {
    let mut out: Vec<Loss> = Vec::new();
    for line in failure.lines() {
        let Some((_, rest)) = line.split_once("Depends: ") else {
            continue;
        };
        let Some((package, rest)) = rest.split_once(" (= ") else {
            continue;
        };
        let Some((wanted, rest)) = rest.split_once(") but ") else {
            continue;
        };
        let Some(installed) = rest
            .strip_suffix(" is to be installed")
            .or_else(|| rest.strip_suffix(" is installed"))
        else {
            continue;
        };
        let (package, wanted, installed) = (package.trim(), wanted.trim(), installed.trim());
        if older(wanted, installed)? && !out.iter().any(|l| l.package == package) {
            out.push(Loss {
                package: package.to_string(),
                installed: installed.to_string(),
                downgrade_to: Some(wanted.to_string()),
            });
        }
    }
    Ok(out)
}

/// The installed version: `[OLD]` right after the package name.
fn bracketed(rest: &str) -> Option<&str> {
    let inner = rest.strip_prefix('[')?;
    inner[..inner.find(']')?].split_whitespace().next()
}

/// The new version: the first word of the `(NEW SUITE [ARCH])` group.
fn parenthesised(rest: &str) -> Option<&str> {
    let start = rest.find('(')? + 1;
    rest[start..].split_whitespace().next()
}

/// Whether Debian version `a` sorts before `b`: `dpkg --compare-versions A lt B`, which exits
/// 0 for yes, 1 for no, and otherwise (a version it cannot read) says why on stderr.
pub(crate) fn older(a: &str, b: &str) -> Result<bool, String> {
    let mut cmd = Command::new("dpkg");
    cmd.args(["--compare-versions", a, "lt", b]);
    let shown = show(&cmd);
    let out = cmd
        .output()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    match out.status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => Err(format!(
            "`{shown}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

/// The suites (`bookworm-backports`, ...) from which `apt-cache policy PKG` says the
/// installed version can be had, other than the dpkg status file itself.
pub(crate) fn installed_version_suites(policy: &str) -> Vec<String> {
    let mut suites: Vec<String> = Vec::new();
    let mut in_installed = false;
    for line in policy.lines() {
        // Version lines: ` *** VERSION PRIO` (the installed one) or `     VERSION PRIO`; each is
        // followed by its sources: `PRIO URI SUITE/COMPONENT ARCH Packages` or `PRIO PATH`.
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["***", _version, _prio] => in_installed = true,
            [_version, prio] if prio.parse::<i32>().is_ok() => in_installed = false,
            [_prio, uri, dist, ..] if in_installed && uri.contains("://") => {
                let suite = dist.split('/').next().unwrap_or(dist);
                if !suites.iter().any(|s| s == suite) {
                    suites.push(suite.to_string());
                }
            }
            _ => {}
        }
    }
    suites
}

/// The suite a version string names by Debian's backports convention: `~bpoNN` is a
/// backport to Debian NN, found in `<codename of NN>-backports`.
pub(crate) fn backports_suite(version: &str) -> Option<String> {
    let at = version.find("~bpo")? + "~bpo".len();
    let digits: String = version[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let codename = match digits.as_str() {
        "10" => "buster",
        "11" => "bullseye",
        "12" => "bookworm",
        "13" => "trixie",
        "14" => "forky",
        "15" => "duke",
        _ => return None,
    };
    Some(format!("{codename}-backports"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `apt-get -s install --no-install-recommends qemu-system-x86` on a bookworm machine with
    /// qemu-utils 10.0 from bookworm-backports (trimmed).
    const REMOVES_QEMU_UTILS: &str = "\
NOTE: This is only a simulation!
The following packages will be REMOVED:
  qemu-utils
The following NEW packages will be installed:
  ipxe-qemu qemu-system-x86
Remv qemu-utils [1:10.0.2+ds-2+deb13u1~bpo12+1]
Inst ipxe-qemu (1.0.0+git-20190125.36a4c85-5.1 Debian:12.15/oldstable [all])
Inst qemu-system-x86 (1:7.2+dfsg-7+deb12u18+b3 Debian:12.15/oldstable [amd64])
Conf ipxe-qemu (1.0.0+git-20190125.36a4c85-5.1 Debian:12.15/oldstable [all])
";

    /// An upgrade of an installed package and a new one: nothing lost.
    const UPGRADES_ONLY: &str = "\
Inst libnss-systemd [252.38-1~deb12u1] (252.39-1~deb12u2 Debian:12.15/oldstable [amd64]) []
Inst debootstrap (1.0.128+nmu2+deb12u2 Debian:12.15/oldstable [all])
Conf debootstrap (1.0.128+nmu2+deb12u2 Debian:12.15/oldstable [all])
";

    /// `apt-get -s install qemu-utils=1:7.2+dfsg-7+deb12u18+b3` (a downgrade).
    const DOWNGRADES: &str = "\
The following packages will be DOWNGRADED:
  qemu-utils
Inst qemu-utils [1:10.0.2+ds-2+deb13u1~bpo12+1] (1:7.2+dfsg-7+deb12u18+b3 Debian:12.15/oldstable [amd64])
Conf qemu-utils (1:7.2+dfsg-7+deb12u18+b3 Debian:12.15/oldstable [amd64])
";

    /// dpkg is on every Debian host, where xtask runs; elsewhere these tests skip (loudly).
    fn have_dpkg() -> bool {
        crate::util::have_command("dpkg")
    }

    #[test]
    fn a_removal_is_found() {
        test_support::require!(have_dpkg(), "dpkg not found (Debian package dpkg)");
        assert_eq!(
            losses(REMOVES_QEMU_UTILS).unwrap(),
            vec![Loss {
                package: "qemu-utils".into(),
                installed: "1:10.0.2+ds-2+deb13u1~bpo12+1".into(),
                downgrade_to: None,
            }]
        );
        assert_eq!(
            losses(REMOVES_QEMU_UTILS).unwrap()[0].to_string(),
            "remove qemu-utils (1:10.0.2+ds-2+deb13u1~bpo12+1)"
        );
    }

    #[test]
    fn upgrades_and_new_packages_lose_nothing() {
        test_support::require!(have_dpkg(), "dpkg not found (Debian package dpkg)");
        assert_eq!(losses(UPGRADES_ONLY), Ok(vec![]));
        assert_eq!(losses(""), Ok(vec![]));
    }

    /// `apt-get -s install --no-install-recommends qemu-system-arm` on a bookworm machine with
    /// QEMU 10.0 from bookworm-backports (apt refuses, exit status 100).
    const NEEDS_AN_OLDER_COMMON: &str = "\
Some packages could not be installed. This may mean that you have
requested an impossible situation or if you are using the unstable
distribution that some required packages have not yet been created
or been moved out of Incoming.
The following information may help to resolve the situation:

The following packages have unmet dependencies:
 qemu-system-arm : Depends: qemu-system-common (= 1:7.2+dfsg-7+deb12u18+b3) but 1:10.0.2+ds-2+deb13u1~bpo12+1 is to be installed
                   Depends: qemu-system-data (>= 1:7.2+dfsg-7+deb12u18+b3~) but it is not going to be installed
 other : Depends: libfoo (= 2.0) but 1.0 is installed
E: Unable to correct problems, you have held broken packages.
";

    #[test]
    fn a_refused_downgrade_is_read_from_the_failed_simulation() {
        test_support::require!(have_dpkg(), "dpkg not found (Debian package dpkg)");
        let found = unmet_downgrades(NEEDS_AN_OLDER_COMMON).unwrap();
        assert_eq!(
            found,
            vec![Loss {
                package: "qemu-system-common".into(),
                installed: "1:10.0.2+ds-2+deb13u1~bpo12+1".into(),
                downgrade_to: Some("1:7.2+dfsg-7+deb12u18+b3".into()),
            }],
            "an upgrade (libfoo 1.0 -> 2.0) and a >= dependency are not downgrades"
        );
        assert_eq!(
            unmet_downgrades("E: Unable to locate package nope\n"),
            Ok(vec![])
        );
    }

    #[test]
    fn a_downgrade_is_found() {
        test_support::require!(have_dpkg(), "dpkg not found (Debian package dpkg)");
        let found = losses(DOWNGRADES).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].to_string(),
            "downgrade qemu-utils from 1:10.0.2+ds-2+deb13u1~bpo12+1 to 1:7.2+dfsg-7+deb12u18+b3"
        );
    }

    /// The order is dpkg's; what is tested here is the asking: the argument order, both
    /// answers, and a version dpkg cannot read, which is an error naming the command.
    #[test]
    fn versions_are_ordered_by_dpkg() {
        test_support::require!(have_dpkg(), "dpkg not found (Debian package dpkg)");
        assert_eq!(
            older("1:7.2+dfsg-7+deb12u18+b3", "1:10.0.2+ds-2+deb13u1~bpo12+1"),
            Ok(true)
        );
        assert_eq!(older("1.0", "1.0~rc1"), Ok(false));
        assert_eq!(older("1.0", "1.0"), Ok(false));
        let err = older("a:1", "1.0").unwrap_err();
        assert!(
            err.starts_with("`dpkg --compare-versions a:1 lt 1.0` failed") && err.contains("epoch"),
            "{err}"
        );
    }

    #[test]
    fn the_suite_of_an_installed_version_is_read_from_apt_cache_policy() {
        let configured = "\
qemu-utils:
  Installed: 1:10.0.2+ds-2+deb13u1~bpo12+1
  Candidate: 1:10.0.2+ds-2+deb13u1~bpo12+1
  Version table:
 *** 1:10.0.2+ds-2+deb13u1~bpo12+1 100
        100 http://deb.debian.org/debian bookworm-backports/main amd64 Packages
        100 /var/lib/dpkg/status
     1:7.2+dfsg-7+deb12u18+b3 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
";
        assert_eq!(
            installed_version_suites(configured),
            vec!["bookworm-backports".to_string()]
        );
        let unconfigured = "\
qemu-utils:
  Installed: 1:10.0.2+ds-2+deb13u1~bpo12+1
  Candidate: 1:10.0.2+ds-2+deb13u1~bpo12+1
  Version table:
 *** 1:10.0.2+ds-2+deb13u1~bpo12+1 100
        100 /var/lib/dpkg/status
     1:7.2+dfsg-7+deb12u18+b3 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
";
        assert_eq!(installed_version_suites(unconfigured), Vec::<String>::new());
    }

    #[test]
    fn backport_versions_name_their_suite() {
        assert_eq!(
            backports_suite("1:10.0.2+ds-2+deb13u1~bpo12+1").as_deref(),
            Some("bookworm-backports")
        );
        assert_eq!(
            backports_suite("6.12.9-1~bpo12+1").as_deref(),
            Some("bookworm-backports")
        );
        assert_eq!(
            backports_suite("1.2-3~bpo13+1").as_deref(),
            Some("trixie-backports")
        );
        assert_eq!(backports_suite("1:7.2+dfsg-7+deb12u18+b3"), None);
        assert_eq!(backports_suite("1.0~bpo99+1"), None);
    }
}
