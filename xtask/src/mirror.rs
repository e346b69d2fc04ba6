//! The Debian mirror for a suite, as apt itself reads the machine's sources (one-line `.list`
//! and deb822 `.sources` files alike), or `HARDEN_VM_MIRROR`. Used by the guest image build and
//! by the prerequisite installer (which may need the host suite's backports).

use crate::util::output;
use std::process::Command;

/// A Debian mirror for one suite, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mirror {
    pub(crate) uri: String,
    /// The host's suite, when the machine has no apt source for this suite and the mirror is
    /// the one configured for the host's (a Debian mirror carries every suite).
    pub(crate) borrowed_from: Option<String>,
}

/// The Debian mirror for `suite`: `HARDEN_VM_MIRROR`, else the machine's own apt source for
/// `suite`, else the one for the host's own suite (said on stderr, since it is a guess).
pub(crate) fn for_suite(suite: &str) -> Result<Mirror, String> {
    if let Ok(m) = std::env::var("HARDEN_VM_MIRROR") {
        if !m.is_empty() {
            return Ok(Mirror {
                uri: m,
                borrowed_from: None,
            });
        }
    }
    if let Some(uri) = configured(suite) {
        return Ok(Mirror {
            uri,
            borrowed_from: None,
        });
    }
    let host = host_codename();
    match host.as_deref().and_then(|h| Some((h, configured(h)?))) {
        Some((host, uri)) => {
            eprintln!(
                "xtask: no apt source for Debian `{suite}`; using {uri}, the mirror configured \
                 for the host's suite ({host}) (HARDEN_VM_MIRROR picks another)"
            );
            Ok(Mirror {
                uri,
                borrowed_from: Some(host.to_string()),
            })
        }
        None => Err(format!(
            "no apt source for Debian `{suite}` (main), nor for the host's suite ({}), in \
             /etc/apt/sources.list or /etc/apt/sources.list.d/; set HARDEN_VM_MIRROR to a \
             Debian mirror URL that carries {suite}",
            host.as_deref().unwrap_or("unknown")
        )),
    }
}

/// `VERSION_CODENAME` of /etc/os-release (`bookworm`).
pub(crate) fn host_codename() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|v| v.trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
}

/// The URI of the first enabled apt source (`deb`, component `main`) for `suite`, if the
/// machine's apt configuration has one.
pub(crate) fn configured(suite: &str) -> Option<String> {
    first_source(&mut Command::new("apt-get"), suite)
}

/// `apt-get indextargets` through `apt_get`: the site of the first `deb` source (its `Packages`
/// index) of `suite` with component `main`, in apt's order of its sources. `--no-release-info`:
/// the suite as the sources name it, whether or not `apt-get update` has run.
fn first_source(apt_get: &mut Command, suite: &str) -> Option<String> {
    let sites = output(apt_get.args([
        "indextargets",
        "--no-release-info",
        "--format",
        "$(SITE)",
        "Created-By: Packages",
        &format!("Release: {suite}"),
        "Component: main",
    ]))
    .ok()?;
    sites.lines().next().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// apt reads both formats; disabled, source-only and other suites' entries do not count.
    #[test]
    fn mirrors_are_read_from_both_apt_formats() {
        test_support::require!(
            crate::util::have_command("apt-get"),
            "apt-get not found (Debian package apt)"
        );
        let dir = test_support::TempDir::new("xtask-mirror");
        std::fs::create_dir(dir.join("parts")).unwrap();
        std::fs::write(
            dir.join("sources.list"),
            "# c\ndeb [arch=amd64 signed-by=/x] http://m.example/debian bookworm main contrib\n\
             deb-src http://src.example/debian trixie main\n\
             deb http://s.example/debian-security bookworm-security main\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("parts/x.sources"),
            "Enabled: no\nTypes: deb\nURIs: http://off.example/\nSuites: trixie\nComponents: main\n\n\
             Types: deb deb-src\nURIs: http://m2.example/debian\nSuites: trixie trixie-updates\n\
             Components: contrib main\n",
        )
        .unwrap();
        let source = |suite: &str| {
            let mut apt_get = Command::new("apt-get");
            apt_get
                .arg("-o")
                .arg(format!(
                    "Dir::Etc::SourceList={}",
                    dir.join("sources.list").display()
                ))
                .arg("-o")
                .arg(format!(
                    "Dir::Etc::SourceParts={}",
                    dir.join("parts").display()
                ));
            first_source(&mut apt_get, suite)
        };
        assert_eq!(
            source("bookworm").as_deref(),
            Some("http://m.example/debian")
        );
        assert_eq!(
            source("trixie").as_deref(),
            Some("http://m2.example/debian")
        );
        assert_eq!(
            source("bookworm-security").as_deref(),
            Some("http://s.example/debian-security")
        );
        assert_eq!(source("sid"), None);
    }
}
