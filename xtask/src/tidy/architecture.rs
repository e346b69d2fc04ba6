//! ARCHITECTURE.md names only what exists: every path it writes in backticks (`dir/`,
//! `file.rs`, `sub/file.rs`) is found from the workspace root, from the crate whose section
//! (`### `crate/``) it is in, or from that crate's `src/`; and every workspace member has a
//! section. A renamed module or a new crate fails `cargo test` until the page says so.

use super::read;
use crate::workspace::Package;
use std::path::Path;

/// Fails naming every path of `ARCHITECTURE.md` under `root` that does not exist and every
/// member without a section.
pub(super) fn check(root: &Path, packages: &[Package]) -> Result<(), String> {
    let text = read(&root.join("ARCHITECTURE.md"))?;
    let mut problems = Vec::new();
    let mut section: Option<String> = None;
    let mut sections = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if let Some(heading) = line.strip_prefix("### `") {
            let dir = heading
                .split('`')
                .next()
                .unwrap_or("")
                .trim_end_matches('/');
            section = Some(dir.to_owned());
            sections.push(dir.to_owned());
        }
        for name in line.split('`').skip(1).step_by(2) {
            if !looks_like_a_path(name) {
                continue;
            }
            let rel = name.trim_end_matches('/');
            let mut bases = vec![root.to_path_buf()];
            if let Some(s) = &section {
                bases.push(root.join(s));
                bases.push(root.join(s).join("src"));
            }
            if !bases.iter().any(|b| b.join(rel).exists()) {
                problems.push(format!(
                    "ARCHITECTURE.md:{}: `{name}` does not exist{}",
                    n + 1,
                    section
                        .as_deref()
                        .map(|s| format!(" (looked from the root, {s}/ and {s}/src/)"))
                        .unwrap_or_default()
                ));
            }
        }
    }
    for p in packages {
        let dir = super::shown(root, &p.dir);
        if !sections.contains(&dir) {
            problems.push(format!(
                "ARCHITECTURE.md: the member {} ({dir}/) has no section (### `{dir}/`)",
                p.name
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "ARCHITECTURE.md names what does not exist:\n  {}",
            problems.join("\n  ")
        ))
    }
}

/// A repository path as the page writes one: a file with an extension of the tree's, or a
/// directory ending in `/`, without spaces, options or placeholders.
fn looks_like_a_path(name: &str) -> bool {
    let plain = !name.is_empty()
        && !name.contains([' ', '*', '<', '>', '=', '(', ')', '$', ':'])
        && !name.starts_with('-')
        && !name.starts_with('/');
    plain
        && (name.ends_with('/')
            || [".rs", ".md", ".toml", ".sh", ".service"]
                .iter()
                .any(|e| name.ends_with(e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tidy::fabricated;
    use test_support::TempDir;

    #[test]
    fn a_missing_path_and_a_member_without_a_section_fail() {
        let dir = TempDir::new("xtask-arch");
        let root = dir.path();
        let packages = [
            fabricated(&root.join("fds"), "fds", &[("src/lib.rs", "")], &[]),
            fabricated(&root.join("bus"), "bus", &[("src/lib.rs", "")], &[]),
        ];
        std::fs::write(
            root.join("ARCHITECTURE.md"),
            "# A\n\n### `fds/` (a crate)\n`src/lib.rs`, `lib.rs`, `net.rs`, `gone/`.\n",
        )
        .unwrap();
        let err = check(root, &packages).unwrap_err();
        assert!(
            err.contains("ARCHITECTURE.md:4: `net.rs` does not exist"),
            "{err}"
        );
        assert!(
            err.contains("ARCHITECTURE.md:4: `gone/` does not exist"),
            "{err}"
        );
        assert!(
            err.contains("the member bus (bus/) has no section"),
            "{err}"
        );
        assert!(!err.contains("`lib.rs`"), "{err}");
    }

    #[test]
    fn only_path_shaped_names_are_checked() {
        assert!(looks_like_a_path("vm/image.rs"));
        assert!(looks_like_a_path("tests/it/"));
        assert!(!looks_like_a_path("cargo xtask test"));
        assert!(!looks_like_a_path("--max-connections"));
        assert!(!looks_like_a_path("pfd:"));
        assert!(!looks_like_a_path("/run/echod.sock"));
    }
}
