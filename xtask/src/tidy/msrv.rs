//! The MSRV rule on a machine with one toolchain.
//!
//! Only one Rust toolchain can be installed here, so the declared `rust-version` is checked in two
//! parts: std APIs newer than the MSRV are caught by clippy's `incompatible_msrv` lint (denied in
//! `[workspace.lints]`; clippy reads `rust-version` from the manifest), and language features newer
//! than the MSRV that the edition already allows on our toolchain are caught here, by scanning the
//! sources. Today that is `let` chains (`if let A = b && c`), stable only from Rust 1.88.

use super::{code_only, read, rust_files, shown};
use crate::workspace::Package;
use std::path::Path;

/// The Rust 1.x release that made `let` chains stable.
const LET_CHAINS: u32 = 88;

/// Fails naming every line (file:line: code) of `packages` with syntax newer than its
/// package's `rust-version`: every `.rs` file of the package, tests and benchmarks included.
pub(super) fn check(root: &Path, packages: &[Package]) -> Result<(), String> {
    let mut findings = Vec::new();
    for package in packages {
        let Some(msrv) = &package.rust_version else {
            continue; // no declared MSRV: any syntax the toolchain accepts
        };
        let minor = minor_version(msrv)
            .ok_or_else(|| format!("{}: rust-version `{msrv}` is not a Rust 1.x", package.name))?;
        if minor >= LET_CHAINS {
            continue;
        }
        for file in rust_files(&package.dir)? {
            let text = read(&file)?;
            let code = code_only(&text);
            for (i, (line, code)) in text.lines().zip(code.lines()).enumerate() {
                if is_let_chain(code) {
                    findings.push(format!(
                        "{}:{}: {} (rust-version {msrv})",
                        shown(root, &file),
                        i + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    if findings.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "syntax newer than the declared rust-version (let chains need 1.{LET_CHAINS}):\n  {}",
            findings.join("\n  ")
        ))
    }
}

/// `1.85` or `1.85.0` -> 85 (every Rust 1.x so far).
fn minor_version(rust_version: &str) -> Option<u32> {
    rust_version
        .strip_prefix("1.")?
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// A line of code (comments and literals blanked) that chains `let` with `&&` in an
/// `if`/`while` condition.
fn is_let_chain(code: &str) -> bool {
    if code.contains("&& let ") {
        return true;
    }
    for head in ["if let ", "while let "] {
        if let Some(pos) = code.find(head) {
            let cond = &code[pos..];
            let cond = cond.split('{').next().unwrap_or(cond);
            if cond.contains(" && ") {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tidy::fabricated;
    use test_support::TempDir;

    #[test]
    fn rust_versions_are_read_as_their_minor_release() {
        assert_eq!(minor_version("1.85"), Some(85));
        assert_eq!(minor_version("1.88.0"), Some(88));
        assert_eq!(minor_version("2.0"), None);
    }

    #[test]
    fn finds_let_chains_and_nothing_else() {
        let is = |line: &str| is_let_chain(&code_only(line));
        assert!(is("    if let Some(x) = a && x > 1 {"));
        assert!(is("    if a && let Some(x) = b {"));
        assert!(is("    while let Some(x) = it.next() && x != 0 {"));
        assert!(!is("    if let Some(x) = a {"));
        assert!(!is("    if a && b {"));
        assert!(!is("    // if let Some(x) = a && b {"));
        assert!(!is("    let ok = a && b;"));
        assert!(!is("    x.contains(\"if let a = b && c {\")"));
    }

    /// The rule as the tidy test runs it, on a fabricated member with a let chain in an
    /// integration test: it fails naming the file and line; with rust-version 1.88 it passes.
    #[test]
    fn the_rule_fails_on_a_fabricated_let_chain() {
        let root = TempDir::new("xtask-msrv");
        let mut member = fabricated(
            &root.join("chained"),
            "chained",
            &[
                ("src/lib.rs", "//! if let Some(x) = a && b {} (a comment)\n"),
                (
                    "tests/t.rs",
                    "fn f(a: Option<u8>) {\n    if let Some(x) = a && x > 1 {}\n}\n",
                ),
                ("target/debug/build/out.rs", "if let Some(x) = a && b {}\n"),
            ],
            &[("lib", "src/lib.rs")],
        );
        let err = check(root.path(), std::slice::from_ref(&member)).unwrap_err();
        assert_eq!(
            err,
            "syntax newer than the declared rust-version (let chains need 1.88):\n  \
             chained/tests/t.rs:2: if let Some(x) = a && x > 1 {} (rust-version 1.85)"
        );
        member.rust_version = Some("1.88".to_owned());
        assert_eq!(check(root.path(), &[member]), Ok(()));
    }
}
