//! The house rules, as tests that `cargo test` runs (rust-analyzer's "tidy" tests), in every
//! member that `cargo metadata` lists:
//!
//! - [`modgraph`]: no module imports a module that imports it back;
//! - [`msrv`]: no syntax newer than the package's `rust-version`;
//! - [`unsafe_code`]: `unsafe` code only in the modules listed as allowed to hold it, and every
//!   crate root denies (or forbids) it elsewhere;
//! - [`architecture`]: ARCHITECTURE.md names only paths that exist, and every member;
//! - [`file_size`]: no library source file over 450 lines of code before its unit tests.
//!
//! Each rule is a function from a workspace root and its members to the violations it finds;
//! the tests below run it on this workspace, and each rule's own tests run it on a fabricated
//! tree that breaks it, so that a rule that can no longer fail is noticed.

mod architecture;
mod file_size;
mod modgraph;
mod msrv;
mod unsafe_code;

use crate::util::project_root;
use crate::workspace::{Package, Target, packages};
use std::path::{Path, PathBuf};

/// Panics with the rule's own message (the test's failure output is that message).
fn holds(rule: Result<(), String>) {
    if let Err(e) = rule {
        panic!("{e}");
    }
}

#[test]
fn architecture_md_names_only_what_exists() {
    holds(architecture::check(&project_root(), &packages().unwrap()));
}

#[test]
fn no_library_file_over_the_size_limit() {
    holds(file_size::check(
        &project_root(),
        &packages().unwrap(),
        file_size::EXEMPT,
    ));
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    holds(modgraph::check(&project_root(), &packages().unwrap()));
}

#[test]
fn no_syntax_newer_than_the_declared_rust_version() {
    holds(msrv::check(&project_root(), &packages().unwrap()));
}

#[test]
fn unsafe_code_only_in_the_modules_allowed_to_hold_it() {
    holds(unsafe_code::check(
        &project_root(),
        &packages().unwrap(),
        unsafe_code::ALLOWED,
    ));
}

/// The `.rs` files under `dir`, sorted, leaving out `target` directories and nested members
/// (a directory with its own `Cargo.toml` is checked as a package of its own).
fn rust_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("reading {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            if !path.ends_with("target") && !path.join("Cargo.toml").exists() {
                out.extend(rust_files(&path)?);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

/// `path` as the messages show it: relative to the workspace root.
fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// `text` with every comment and the contents of every string and character literal blanked
/// (newlines kept, so line numbers still hold): what a text scan may read as code. Without it,
/// a message that quotes `unsafe {` or a doc comment showing a let chain would count.
fn code_only(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let ident = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric() || *c == '_');
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let (c, next) = (b[i], b.get(i + 1).copied());
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            // Block comments nest.
            let mut depth = 0;
            while i < b.len() {
                let pair = (b[i], b.get(i + 1).copied());
                if pair == ('/', Some('*')) || pair == ('*', Some('/')) {
                    depth += if pair.0 == '/' { 1 } else { -1 };
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if (c == 'r' || (c == 'b' && next == Some('r')))
            && !ident(i.checked_sub(1).and_then(|p| b.get(p)))
        {
            // A raw string (`r"..."`, `r#"..."#`, `br"..."`): no escapes; it ends at `"` and as
            // many `#`. The prefix and the quotes stay, as code.
            let start = i + if c == 'b' { 2 } else { 1 };
            let hashes = b[start..].iter().take_while(|h| **h == '#').count();
            if b.get(start + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let body = start + hashes + 1;
            out.extend(&b[i..body]);
            let close: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            let mut j = body;
            while j < b.len() && !b[j..].starts_with(&close) {
                out.push(blank(b[j]));
                j += 1;
            }
            let end = (j + close.len()).min(b.len());
            out.extend(&b[j.min(end)..end]);
            i = end;
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < b.len() && b[i] != '"' {
                let n = if b[i] == '\\' { 2 } else { 1 };
                out.extend(b[i..(i + n).min(b.len())].iter().map(|c| blank(*c)));
                i += n;
            }
            if i < b.len() {
                out.push('"');
                i += 1;
            }
        } else if c == '\'' && (next == Some('\\') || b.get(i + 2) == Some(&'\'')) {
            // A character literal (`'x'`, `'\''`, `'\u{1F600}'`), not a lifetime (`'a`).
            let end = if next == Some('\\') {
                (i + 3..b.len())
                    .find(|k| b[*k] == '\'')
                    .unwrap_or(b.len() - 1)
            } else {
                i + 2
            };
            out.push('\'');
            out.extend((i + 1..end).map(|k| blank(b[k])));
            out.push('\'');
            i = end + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// A fabricated member for the rules' own tests: `files` (path, text) written under `dir`,
/// with a target of `kind` for each crate root listed in `roots`.
#[cfg(test)]
fn fabricated(dir: &Path, name: &str, files: &[(&str, &str)], roots: &[(&str, &str)]) -> Package {
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    Package {
        name: name.to_owned(),
        dir: dir.to_path_buf(),
        published: true,
        rust_version: Some("1.85".to_owned()),
        targets: roots
            .iter()
            .map(|(kind, src)| Target {
                name: Path::new(src)
                    .file_stem()
                    .map_or(String::new(), |s| s.to_string_lossy().into_owned()),
                kind: (*kind).to_owned(),
                src: dir.join(src),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::code_only;

    #[test]
    fn comments_and_literals_are_blanked_and_lines_kept() {
        let text = "let a = \"unsafe { x }\"; // unsafe\n/* unsafe /* nested */ unsafe */ f(b'\"', '\\'', r#\"unsafe \"quoted\"\"#);\nunsafe { g::<'a>() }\n";
        let code = code_only(text);
        assert_eq!(code.chars().count(), text.chars().count(), "{code}");
        assert_eq!(code.lines().count(), 3, "{code}");
        assert!(
            !code.lines().take(2).any(|l| l.contains("unsafe")),
            "{code}"
        );
        assert_eq!(code.lines().nth(2), Some("unsafe { g::<'a>() }"));
        assert!(code.contains("f(b' ', '  ', r#\""), "{code}");
    }
}
