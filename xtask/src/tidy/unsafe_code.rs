//! The unsafe-code rule: `unsafe` only in the modules [`ALLOWED`] lists. Every crate root of
//! shipped code (libraries, binaries, examples) says `#![deny(unsafe_code)]` when one of its
//! modules is listed (that module then says `#![allow(unsafe_code)]`, or allows it on the items
//! that need it), and `#![forbid(unsafe_code)]` when none is; the compiler then enforces what
//! this rule sees declared. Integration tests and benchmarks are test scaffolding, left out.

use super::{code_only, read, rust_files, shown};
use crate::workspace::Package;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The modules allowed to hold `unsafe` code (paths from the workspace root), and why.
pub(super) const ALLOWED: &[(&str, &str)] = &[
    (
        "stream-pfd/src/sys.rs",
        "claiming inherited fd numbers, borrowing one for read-only checks, getsockopt, \
         pidfd_open, unsetting LISTEN_* while single-threaded",
    ),
    (
        "seccomp-sets/src/sys.rs",
        "the kernel calls libseccomp does not make: seccomp(2) with TSYNC, action probes, \
         PR_SET_NO_NEW_PRIVS, capget/capset",
    ),
    (
        "seccomp-sets/src/report.rs",
        "the SIGSYS handler of report mode (sigaction, siginfo)",
    ),
    (
        "vmtests/echod/src/probes.rs",
        "echod's probes: fork, execve and raw syscalls that a sandbox must stop",
    ),
    (
        "vmtests/src/scenarios/sysexport.rs",
        "the raw syscalls that probe an exported set inside the guest",
    ),
    (
        "test-support/src/fds.rs",
        "placing fds in a child before exec (fcntl, dup2 in a pre_exec hook), for tests",
    ),
    (
        "vmtests/src/scenarios/doors.rs",
        "the attacks the sandbox must stop, inside the guest: ptrace, process_vm_writev, \
         /proc/PID/mem, module and BPF loading, the side doors' raw calls",
    ),
];

/// Fails naming every crate root without its `deny`/`forbid`, every `unsafe` (or allowance of
/// it) outside `allowed`, and every entry of `allowed` that holds no unsafe code.
pub(super) fn check(
    root: &Path,
    packages: &[Package],
    allowed: &[(&str, &str)],
) -> Result<(), String> {
    let listed: Vec<PathBuf> = allowed.iter().map(|(p, _)| root.join(p)).collect();
    let mut found = Vec::new();
    let mut shipped = BTreeSet::new();
    let roots = packages
        .iter()
        .flat_map(|p| &p.targets)
        .filter(|t| matches!(t.kind.as_str(), "lib" | "bin" | "example"));
    for target in roots {
        let files = crate_files(&target.src)?;
        let holders: Vec<String> = files
            .iter()
            .filter(|f| listed.contains(f))
            .map(|f| shown(root, f))
            .collect();
        let (level, why) = if holders.is_empty() {
            (
                "forbid",
                "none of its modules is allowed to hold unsafe code".into(),
            )
        } else {
            (
                "deny",
                format!("only {} may hold unsafe code", holders.join(", ")),
            )
        };
        let declared = code_only(&read(&target.src)?).lines().any(|l| {
            let l = l.trim_start();
            l.starts_with(&format!("#![{level}(")) && has_word(l, "unsafe_code")
        });
        if !declared {
            found.push(format!(
                "{}: a crate root without `#![{level}(unsafe_code)]` ({why})",
                shown(root, &target.src)
            ));
        }
        shipped.extend(files);
    }
    for file in shipped.iter().filter(|f| !listed.contains(f)) {
        for (i, line) in code_only(&read(file)?).lines().enumerate() {
            let at = format!("{}:{}", shown(root, file), i + 1);
            if has_word(line, "unsafe") {
                found.push(format!(
                    "{at}: `unsafe` outside the modules allowed to hold it"
                ));
            }
            if has_word(line, "unsafe_code")
                && (line.contains("allow(") || line.contains("expect("))
            {
                found.push(format!(
                    "{at}: allows unsafe code, but is not a module allowed to hold it"
                ));
            }
        }
    }
    for (path, file) in allowed.iter().map(|(p, _)| p).zip(&listed) {
        match read(file) {
            Err(_) => found.push(format!(
                "{path}: listed as allowed to hold unsafe code, but there is no such file"
            )),
            Ok(text) if !code_only(&text).lines().any(|l| has_word(l, "unsafe")) => {
                found.push(format!(
                    "{path}: listed as allowed to hold unsafe code, but holds none (take it \
                     off the list)"
                ))
            }
            Ok(_) => {}
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "unsafe code where it is not allowed (the modules allowed to hold it are listed in \
             xtask/src/tidy/unsafe_code.rs, each with its reason):\n  {}",
            found.join("\n  ")
        ))
    }
}

/// The files of the crate whose root is `src`: the root and the modules below it. A `lib.rs`
/// or `main.rs` owns its directory except `bin/` (each binary there is a crate of its own);
/// a `main.rs` beside a `lib.rs` is a thin binary over the library and owns only itself; any
/// other root (`src/bin/NAME.rs`, `examples/NAME.rs`) owns the directory of its name.
fn crate_files(src: &Path) -> Result<Vec<PathBuf>, String> {
    let thin_main =
        src.file_name().is_some_and(|n| n == "main.rs") && src.with_file_name("lib.rs").is_file();
    if thin_main {
        return Ok(vec![src.to_path_buf()]);
    }
    let own_dir = src
        .file_name()
        .is_some_and(|n| n == "lib.rs" || n == "main.rs");
    let dir = match src.parent() {
        Some(parent) if own_dir => parent.to_path_buf(),
        _ => src.with_extension(""),
    };
    let mut files = vec![src.to_path_buf()];
    if dir.is_dir() {
        let bins = dir.join("bin");
        files.extend(
            rust_files(&dir)?
                .into_iter()
                .filter(|f| f != src && !(own_dir && f.starts_with(&bins))),
        );
    }
    Ok(files)
}

/// Whether `word` occurs in `line` as a whole word (not inside an identifier).
fn has_word(line: &str, word: &str) -> bool {
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    line.match_indices(word).any(|(at, _)| {
        !ident(line[..at].chars().next_back()) && !ident(line[at + word.len()..].chars().next())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tidy::fabricated;
    use test_support::TempDir;

    const SYS: &str = "#![allow(unsafe_code)]\npub fn pid() -> i32 {\n    // SAFETY: getpid cannot fail.\n    unsafe { libc::getpid() }\n}\n";

    /// A member that keeps the rule: its library denies unsafe code and holds it in `sys.rs`
    /// only; its example holds none and forbids it.
    fn confined(root: &TempDir) -> Package {
        fabricated(
            &root.join("fds"),
            "fds",
            &[
                (
                    "src/lib.rs",
                    "//! All `unsafe` code is in `sys`.\n#![deny(unsafe_code)]\nmod net;\nmod sys;\n",
                ),
                ("src/sys.rs", SYS),
                (
                    "src/net.rs",
                    "pub fn f() -> &'static str {\n    \"unsafe { not code }\"\n}\n",
                ),
                (
                    "src/bin/fdtool.rs",
                    "#![forbid(unsafe_code)]\nfn main() {}\n",
                ),
                (
                    "examples/hello.rs",
                    "#![forbid(unsafe_code)]\nfn main() {}\n",
                ),
                (
                    "tests/t.rs",
                    "#[test]\nfn raw() {\n    unsafe { libc::getpid() };\n}\n",
                ),
            ],
            &[
                ("lib", "src/lib.rs"),
                ("bin", "src/bin/fdtool.rs"),
                ("example", "examples/hello.rs"),
                ("test", "tests/t.rs"),
            ],
        )
    }

    const LIST: &[(&str, &str)] = &[("fds/src/sys.rs", "raw fds")];

    #[test]
    fn a_confined_member_passes() {
        let root = TempDir::new("xtask-unsafe");
        assert_eq!(check(root.path(), &[confined(&root)], LIST), Ok(()));
    }

    /// An `unsafe` block and an `allow` in a module that is not listed fail, naming the file
    /// and line.
    #[test]
    fn the_rule_fails_on_a_fabricated_unconfined_unsafe() {
        let root = TempDir::new("xtask-unsafe");
        let member = confined(&root);
        std::fs::write(
            root.join("fds/src/net.rs"),
            "#[allow(unsafe_code)]\npub fn f() -> i32 {\n    unsafe { libc::getuid() as i32 }\n}\n",
        )
        .unwrap();
        let err = check(root.path(), &[member], LIST).unwrap_err();
        assert!(
            err.starts_with("unsafe code where it is not allowed (the modules allowed to hold it are listed in xtask/src/tidy/unsafe_code.rs"),
            "{err}"
        );
        assert!(
            err.ends_with(
                "\n  fds/src/net.rs:1: allows unsafe code, but is not a module allowed to hold it\
                 \n  fds/src/net.rs:3: `unsafe` outside the modules allowed to hold it"
            ),
            "{err}"
        );
    }

    /// A crate root without its lint level fails: `deny` where a module is listed, `forbid`
    /// where none is (a `deny` there would let any module allow it again).
    #[test]
    fn the_rule_fails_on_a_crate_root_without_its_lint_level() {
        let root = TempDir::new("xtask-unsafe");
        let member = confined(&root);
        std::fs::write(root.join("fds/src/lib.rs"), "mod net;\nmod sys;\n").unwrap();
        std::fs::write(
            root.join("fds/examples/hello.rs"),
            "#![deny(unsafe_code)]\nfn main() {}\n",
        )
        .unwrap();
        let err = check(root.path(), &[member], LIST).unwrap_err();
        let lines: Vec<&str> = err.lines().skip(1).map(str::trim).collect();
        assert_eq!(
            lines,
            [
                "fds/src/lib.rs: a crate root without `#![deny(unsafe_code)]` (only \
                 fds/src/sys.rs may hold unsafe code)",
                "fds/examples/hello.rs: a crate root without `#![forbid(unsafe_code)]` (none \
                 of its modules is allowed to hold unsafe code)",
            ]
        );
    }

    #[test]
    fn a_listed_module_without_unsafe_code_is_reported() {
        let root = TempDir::new("xtask-unsafe");
        let member = confined(&root);
        let list = [
            LIST[0],
            ("fds/src/net.rs", "stale"),
            ("fds/src/gone.rs", "moved"),
        ];
        let err = check(root.path(), &[member], &list).unwrap_err();
        assert!(
            err.contains("fds/src/net.rs: listed as allowed to hold unsafe code, but holds none"),
            "{err}"
        );
        assert!(
            err.contains(
                "fds/src/gone.rs: listed as allowed to hold unsafe code, but there is no such file"
            ),
            "{err}"
        );
    }

    #[test]
    fn words_are_whole() {
        assert!(has_word("unsafe {", "unsafe"));
        assert!(has_word("pub unsafe fn f()", "unsafe"));
        assert!(!has_word("#![forbid(unsafe_code)]", "unsafe"));
        assert!(!has_word("not_unsafe()", "unsafe"));
    }
}
