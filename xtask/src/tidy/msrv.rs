//! The MSRV check on a machine with one toolchain.
//!
//! Only one Rust toolchain can be installed here, so the declared `rust-version` is checked in two
//! parts: std APIs newer than the MSRV are caught by clippy's `incompatible_msrv` lint (denied in
//! `[workspace.lints]`; clippy reads `rust-version` from the manifest), and language features newer
//! than the MSRV that the edition already allows on our toolchain are caught here, by scanning the
//! sources. Today that is `let` chains (`if let A = b && c`), stable only from Rust 1.88.

use crate::util::project_root;
use std::path::Path;

/// Scans every workspace `.rs` file for syntax newer than its package's `rust-version`.
pub(crate) fn check_sources() -> Result<(), String> {
    let root = project_root();
    let mut findings = Vec::new();
    for package in crate::workspace::packages()? {
        let Some(msrv) = package.rust_version else {
            continue; // no declared MSRV: any syntax the toolchain accepts
        };
        let minor = minor_version(&msrv)
            .ok_or_else(|| format!("{}: rust-version `{msrv}` is not a Rust 1.x", package.name))?;
        if minor < LET_CHAINS {
            let mut found = Vec::new();
            scan(&package.dir, &root, &mut found);
            findings.extend(
                found
                    .into_iter()
                    .map(|f| format!("{f} (rust-version {msrv})")),
            );
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

/// The Rust 1.x release that made `let` chains stable.
const LET_CHAINS: u32 = 88;

/// `1.85` or `1.85.0` -> 85 (every Rust 1.x so far).
fn minor_version(rust_version: &str) -> Option<u32> {
    rust_version
        .strip_prefix("1.")?
        .split('.')
        .next()?
        .parse()
        .ok()
}

fn scan(dir: &Path, root: &Path, findings: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            // A nested member (vmtests/echod) is scanned as a package of its own.
            if path.file_name().is_some_and(|n| n != "target") && !path.join("Cargo.toml").exists()
            {
                scan(&path, root, findings);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            for (i, line) in text.lines().enumerate() {
                if is_let_chain(line) {
                    let shown = path.strip_prefix(root).unwrap_or(&path).display();
                    findings.push(format!("{shown}:{}: {}", i + 1, line.trim()));
                }
            }
        }
    }
}

/// A line that chains `let` with `&&` in an `if`/`while` condition.
fn is_let_chain(line: &str) -> bool {
    let code = strip_strings(line);
    let code = code.split("//").next().unwrap_or("");
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

/// The line with the contents of its string literals removed (escapes honoured).
fn strip_strings(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in line.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
                out.push(c);
            }
        } else {
            if c == '"' {
                in_string = true;
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{is_let_chain, minor_version};

    #[test]
    fn rust_versions_are_read_as_their_minor_release() {
        assert_eq!(minor_version("1.85"), Some(85));
        assert_eq!(minor_version("1.88.0"), Some(88));
        assert_eq!(minor_version("2.0"), None);
    }

    #[test]
    fn finds_let_chains_and_nothing_else() {
        assert!(is_let_chain("    if let Some(x) = a && x > 1 {"));
        assert!(is_let_chain("    if a && let Some(x) = b {"));
        assert!(is_let_chain(
            "    while let Some(x) = it.next() && x != 0 {"
        ));
        assert!(!is_let_chain("    if let Some(x) = a {"));
        assert!(!is_let_chain("    if a && b {"));
        assert!(!is_let_chain("    // if let Some(x) = a && b {"));
        assert!(!is_let_chain("    let ok = a && b;"));
        assert!(!is_let_chain("    x.contains(\"if let a = b && c {\")"));
    }
}
