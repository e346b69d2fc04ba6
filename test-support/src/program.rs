//! The programs the tests run as real peers (systemd-socket-activate, ovs-appctl, runc, QEMU...),
//! found the one way every test finds them.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Where programs are looked for after `PATH`: Debian installs daemons and admin tools
/// (ovsdb-server, runc) in the sbin directories, which are not on an ordinary user's `PATH`.
const SBIN: [&str; 2] = ["/usr/sbin", "/sbin"];

/// The first executable file named `program` in the directories of `PATH`, then in `/usr/sbin`
/// and `/sbin`.
pub fn find_program(program: &str) -> Option<PathBuf> {
    assert!(
        !program.contains('/'),
        "find_program takes a program name, not a path: {program:?}"
    );
    find_in(program, &search_dirs(std::env::var_os("PATH").as_deref()))
}

/// [`find_program`], or else a skip of `test` (see [`crate::skip()`]) naming the Debian `package`
/// that provides `program`; [`require_program!`](crate::require_program!) is the form for tests.
pub fn require_program(test: &str, program: &str, package: &str) -> Option<PathBuf> {
    let found = find_program(program);
    if found.is_none() {
        crate::skip(
            test,
            &format!(
                "`{program}` not found on PATH, in /usr/sbin or /sbin (Debian package {package})"
            ),
        );
    }
    found
}

/// The directories searched, in order: the absolute ones of `path` (an empty or relative entry
/// would depend on the current directory), then [`SBIN`].
fn search_dirs(path: Option<&OsStr>) -> Vec<PathBuf> {
    path.map(std::env::split_paths)
        .into_iter()
        .flatten()
        .filter(|dir| dir.is_absolute())
        .chain(SBIN.map(PathBuf::from))
        .collect()
}

/// The first `DIR/program` of `dirs` that is an executable file.
fn find_in(program: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    dirs.iter()
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_then_sbin_without_relative_entries() {
        assert_eq!(
            search_dirs(Some(OsStr::new("/a::b:/c"))),
            ["/a", "/c", "/usr/sbin", "/sbin"].map(PathBuf::from)
        );
        assert_eq!(search_dirs(None), SBIN.map(PathBuf::from));
    }

    #[test]
    fn the_first_executable_file_wins() {
        let dir = crate::TempDir::new("test-support-program");
        let [not_executable, directory, executable, later] =
            ["1", "2", "3", "4"].map(|d| dir.join(d));
        for d in [&not_executable, &directory, &executable, &later] {
            std::fs::create_dir(d).unwrap();
        }
        for d in [&not_executable, &executable, &later] {
            std::fs::write(d.join("prog"), "#!/bin/sh\n").unwrap();
        }
        std::fs::create_dir(directory.join("prog")).unwrap();
        for d in [&executable, &later] {
            std::fs::set_permissions(d.join("prog"), std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }
        let dirs = [not_executable, directory, executable.clone(), later];
        assert_eq!(find_in("prog", &dirs), Some(executable.join("prog")));
        assert_eq!(find_in("other", &dirs), None);
        assert!(find_program("sh").is_some_and(|sh| sh.is_absolute()));
    }

    #[test]
    #[should_panic(expected = "find_program takes a program name, not a path")]
    fn a_path_is_refused() {
        find_program("/bin/sh");
    }
}
