//! What an `apt-get` run would do, read from its simulation (`apt-get -s`), and where an
//! installed package came from. Pure functions over apt's text: the decisions of
//! [`crate::deps`] are tested here without touching the machine.
//!
//! The rule these serve: installing prerequisites never removes or downgrades a package.

use std::cmp::Ordering;

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
/// when `NEW` sorts below `OLD` in Debian's version order.
pub(crate) fn losses(simulation: &str) -> Vec<Loss> {
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
                if compare_versions(new, old) == Ordering::Less {
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
    out
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

/// Debian's version order (`dpkg --compare-versions`): epoch, then upstream version, then
/// revision, each compared as alternating non-digit and digit runs, where `~` sorts before
/// everything (even the end of the string) and letters before other characters.
pub(crate) fn compare_versions(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = split_version(a);
    let (eb, ub, rb) = split_version(b);
    ea.cmp(&eb)
        .then_with(|| compare_part(ua, ub))
        .then_with(|| compare_part(ra, rb))
}

fn split_version(v: &str) -> (u64, &str, &str) {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => {
            (e.parse().unwrap_or(u64::MAX), rest)
        }
        _ => (0, v),
    };
    match rest.rsplit_once('-') {
        Some((upstream, revision)) => (epoch, upstream, revision),
        None => (epoch, rest, ""),
    }
}

/// One character's weight in a non-digit run: `~` lowest, the end next, then letters, then
/// the rest.
fn weight(c: Option<u8>) -> i32 {
    match c {
        Some(b'~') => -1,
        None => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

fn compare_part(mut a: &str, mut b: &str) -> Ordering {
    while !a.is_empty() || !b.is_empty() {
        // Non-digit runs, character by character.
        let na = a.bytes().take_while(|c| !c.is_ascii_digit()).count();
        let nb = b.bytes().take_while(|c| !c.is_ascii_digit()).count();
        let (sa, sb) = (&a.as_bytes()[..na], &b.as_bytes()[..nb]);
        for i in 0..na.max(nb) {
            let order = weight(sa.get(i).copied()).cmp(&weight(sb.get(i).copied()));
            if order != Ordering::Equal {
                return order;
            }
        }
        a = &a[na..];
        b = &b[nb..];
        // Digit runs, as numbers (leading zeros do not count).
        let da = a.bytes().take_while(u8::is_ascii_digit).count();
        let db = b.bytes().take_while(u8::is_ascii_digit).count();
        let (xa, xb) = (
            a[..da].trim_start_matches('0'),
            b[..db].trim_start_matches('0'),
        );
        let order = xa.len().cmp(&xb.len()).then_with(|| xa.cmp(xb));
        if order != Ordering::Equal {
            return order;
        }
        a = &a[da..];
        b = &b[db..];
    }
    Ordering::Equal
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

    #[test]
    fn a_removal_is_found() {
        assert_eq!(
            losses(REMOVES_QEMU_UTILS),
            vec![Loss {
                package: "qemu-utils".into(),
                installed: "1:10.0.2+ds-2+deb13u1~bpo12+1".into(),
                downgrade_to: None,
            }]
        );
        assert_eq!(
            losses(REMOVES_QEMU_UTILS)[0].to_string(),
            "remove qemu-utils (1:10.0.2+ds-2+deb13u1~bpo12+1)"
        );
    }

    #[test]
    fn upgrades_and_new_packages_lose_nothing() {
        assert_eq!(losses(UPGRADES_ONLY), vec![]);
        assert_eq!(losses(""), vec![]);
    }

    #[test]
    fn a_downgrade_is_found() {
        let found = losses(DOWNGRADES);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].to_string(),
            "downgrade qemu-utils from 1:10.0.2+ds-2+deb13u1~bpo12+1 to 1:7.2+dfsg-7+deb12u18+b3"
        );
    }

    #[test]
    fn versions_sort_as_dpkg_sorts_them() {
        use Ordering::*;
        // (a, b, dpkg --compare-versions a ? b)
        let cases = [
            ("1.0", "1.0", Equal),
            ("1.0", "1.1", Less),
            ("1.10", "1.9", Greater),
            ("1.0~rc1", "1.0", Less),
            ("1.0", "1.0+b1", Less),
            ("1.0-1", "1.0-1~bpo12+1", Greater),
            (
                "1:7.2+dfsg-7+deb12u18+b3",
                "1:10.0.2+ds-2+deb13u1~bpo12+1",
                Less,
            ),
            ("2:1.0", "1:9.9", Greater),
            ("252.38-1~deb12u1", "252.39-1~deb12u2", Less),
            ("1.0a", "1.0+", Less),
            ("1.001", "1.1", Equal),
            ("1.0~~", "1.0~", Less),
            ("0:1.0", "1.0", Equal),
        ];
        for (a, b, want) in cases {
            assert_eq!(compare_versions(a, b), want, "{a} vs {b}");
            assert_eq!(compare_versions(b, a), want.reverse(), "{b} vs {a}");
        }
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
