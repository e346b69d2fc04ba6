//! The file-size rule: no source file of a library crate holds more than [`MAX_CODE_LINES`]
//! lines of code before its unit tests, so that a module stays one concept a reader can hold
//! (split it into a directory of smaller modules instead). Lines of code are the lines that are
//! neither blank nor comments (doc comments included); the unit tests start at the first
//! `#[cfg(test)]` at the start of a line. Data tables that read as one table are [`EXEMPT`].

use super::{read, rust_files, shown};
use crate::workspace::Package;
use std::path::Path;

/// The most lines of code a library source file may hold before its unit tests.
pub(super) const MAX_CODE_LINES: usize = 450;

/// Files allowed to be longer (paths from the workspace root), and why.
pub(super) const EXEMPT: &[(&str, &str)] = &[(
    "seccomp-sets/src/table.rs",
    "the one syscall table: one row per line, reviewed as a whole (systemd's seccomp-util.c \
     keeps its sets the same way)",
)];

/// Lines of code in `text` before its unit tests.
fn code_lines(text: &str) -> usize {
    text.lines()
        .take_while(|l| !l.starts_with("#[cfg(test)]"))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .count()
}

/// Fails naming every file of the library crates among `packages` (those published) under
/// `src/` that is over the limit and not exempt, with its count.
pub(super) fn check(
    root: &Path,
    packages: &[Package],
    exempt: &[(&str, &str)],
) -> Result<(), String> {
    let mut findings = Vec::new();
    for package in packages.iter().filter(|p| p.published) {
        for file in rust_files(&package.dir.join("src"))? {
            let name = shown(root, &file);
            if exempt.iter().any(|(path, _)| *path == name) {
                continue;
            }
            let n = code_lines(&read(&file)?);
            if n > MAX_CODE_LINES {
                findings.push(format!("{name}: {n} lines of code"));
            }
        }
    }
    if findings.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "library source files over {MAX_CODE_LINES} lines of code before their unit tests \
             (split each into a directory of smaller modules, one concept each):\n  {}",
            findings.join("\n  ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tidy::fabricated;
    use test_support::TempDir;

    #[test]
    fn comments_blank_lines_and_unit_tests_do_not_count() {
        let text =
            "//! docs\n\n/// doc\nfn a() {}\n    // note\nfn b() {}\n#[cfg(test)]\nmod tests {}\n";
        assert_eq!(code_lines(text), 2);
    }

    /// The rule on a fabricated library with one long file: it fails naming it; exempt, or
    /// in a member that is not published, it passes.
    #[test]
    fn the_rule_fails_on_a_fabricated_long_file() {
        let root = TempDir::new("xtask-file-size");
        let long = "fn f() {}\n".repeat(MAX_CODE_LINES + 1) + "#[cfg(test)]\nmod tests {}\n";
        let short = "fn f() {}\n".repeat(MAX_CODE_LINES) + "#[cfg(test)]\nmod tests {\n}\n";
        let mut member = fabricated(
            &root.join("big"),
            "big",
            &[
                ("src/lib.rs", "mod long;\nmod short;\n"),
                ("src/long.rs", &long),
                ("src/short.rs", &short),
                ("tests/t.rs", &long),
            ],
            &[("lib", "src/lib.rs")],
        );
        let err = check(root.path(), std::slice::from_ref(&member), &[]).unwrap_err();
        assert!(
            err.ends_with("\n  big/src/long.rs: 451 lines of code"),
            "{err}"
        );
        assert_eq!(
            check(
                root.path(),
                std::slice::from_ref(&member),
                &[("big/src/long.rs", "why")]
            ),
            Ok(())
        );
        member.published = false;
        assert_eq!(check(root.path(), &[member], &[]), Ok(()));
    }
}
