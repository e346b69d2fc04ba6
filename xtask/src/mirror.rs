//! The Debian mirror for a suite, read from the machine's own apt configuration (one-line
//! `.list` files and deb822 `.sources` files), or `HARDEN_VM_MIRROR`. Used by the guest image
//! build and by the prerequisite installer (which may need the host suite's backports).

use std::path::PathBuf;

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
    let mut paths = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
        more.sort();
        paths.extend(more);
    }
    paths.iter().find_map(|path| {
        let parse = match path.extension().and_then(|e| e.to_str()) {
            Some("sources") => mirror_deb822,
            Some("list") => mirror_one_line,
            _ => return None,
        };
        parse(&std::fs::read_to_string(path).ok()?, suite)
    })
}

/// `deb [options] URI SUITE COMPONENT...` lines.
fn mirror_one_line(text: &str, suite: &str) -> Option<String> {
    for l in text.lines() {
        let l = l.split('#').next().unwrap_or("").trim();
        let mut words: Vec<&str> = l.split_whitespace().collect();
        if words.first() != Some(&"deb") {
            continue;
        }
        words.remove(0);
        if words.first().is_some_and(|w| w.starts_with('[')) {
            while let Some(w) = words.first() {
                let end = w.ends_with(']');
                words.remove(0);
                if end {
                    break;
                }
            }
        }
        if words.len() >= 3 && words[1] == suite && words[2..].contains(&"main") {
            return Some(words[0].to_string());
        }
    }
    None
}

/// deb822 stanzas: `Types: deb`, `URIs:`, `Suites:`, `Components:`.
fn mirror_deb822(text: &str, suite: &str) -> Option<String> {
    for stanza in text.split("\n\n") {
        let field = |name: &str| -> Vec<&str> {
            stanza
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    (k.trim().eq_ignore_ascii_case(name)).then(|| v.split_whitespace().collect())
                })
                .unwrap_or_default()
        };
        let enabled = field("Enabled").first().is_none_or(|v| *v != "no");
        if enabled
            && field("Types").contains(&"deb")
            && field("Suites").contains(&suite)
            && field("Components").contains(&"main")
        {
            if let Some(uri) = field("URIs").first() {
                return Some((*uri).to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_are_read_from_both_apt_formats() {
        let one =
            "# c\ndeb [arch=amd64 signed-by=/x] http://m.example/debian bookworm main contrib\n";
        assert_eq!(
            mirror_one_line(one, "bookworm").as_deref(),
            Some("http://m.example/debian")
        );
        assert_eq!(mirror_one_line(one, "trixie"), None);
        let sec = "deb http://s.example/debian-security bookworm-security main\n";
        assert_eq!(mirror_one_line(sec, "bookworm"), None);
        let deb822 = "Types: deb\nURIs: http://s.example/sec\nSuites: bookworm-security\nComponents: main\n\n\
                      Types: deb deb-src\nURIs: http://m.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n";
        assert_eq!(
            mirror_deb822(deb822, "bookworm").as_deref(),
            Some("http://m.example/debian")
        );
        let disabled =
            "Enabled: no\nTypes: deb\nURIs: http://x/\nSuites: bookworm\nComponents: main\n";
        assert_eq!(mirror_deb822(disabled, "bookworm"), None);
    }
}
