//! Binaries that tests spawn, claimed out of cargo's shared target directory.
//!
//! Cargo puts a built binary at a shared path (`target/debug/echod`,
//! `target/debug/examples/pfd-info`) and, at the end of every build (even a no-op one), removes
//! that name and links it again; a build with other features links a different binary there.
//! A test that spawns the shared path while another cargo run works in the same target
//! directory can find it missing, or built with other features. [`claim`] links the binary under
//! a path of its own (`.../claimed/NAME-INODE-MTIME-LEN/NAME`) once, retrying while the shared name is
//! missing; the claimed inode never changes afterwards, because cargo and the linker replace
//! files instead of rewriting them.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Claims the cargo-built binary at `built` and returns the path of the claimed copy (a hard
/// link, or a copy where linking is not possible). Panics, naming `built`, if it does not
/// appear within [`crate::wait::TIMEOUT`].
pub fn claim(built: &Path) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = built
        .file_name()
        .unwrap_or_else(|| panic!("{} has no file name", built.display()))
        .to_string_lossy()
        .into_owned();
    let dir = built
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("claimed");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    let temp = dir.join(format!(
        ".{name}.{}.{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    crate::wait::until(
        &format!("the cargo-built binary {} (link or copy)", built.display()),
        || {
            let _ = std::fs::remove_file(&temp);
            std::fs::hard_link(built, &temp).or_else(|_| std::fs::copy(built, &temp).map(|_| ()))
        },
    );
    // Name the claimed file after the inode it holds, so that each build is claimed once and
    // reused by later claims of the same build.
    let meta = std::fs::metadata(&temp).unwrap_or_else(|e| panic!("{}: {e}", temp.display()));
    // The file keeps its name (programs print it as argv[0]) in a directory named after it.
    let home = dir.join(format!(
        "{name}-{:x}-{:x}.{:x}-{:x}",
        meta.ino(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.len()
    ));
    let claimed = home.join(&name);
    if claimed.exists() {
        let _ = std::fs::remove_file(&temp);
    } else {
        std::fs::create_dir_all(&home)
            .unwrap_or_else(|e| panic!("creating {}: {e}", home.display()));
        std::fs::rename(&temp, &claimed).unwrap_or_else(|e| {
            panic!("renaming {} to {}: {e}", temp.display(), claimed.display())
        });
    }
    claimed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claimed_binary_survives_the_shared_name_being_replaced() {
        let dir = crate::TempDir::new("test-support-bin");
        let built = dir.join("prog");
        std::fs::write(&built, "first build").unwrap();
        let first = claim(&built);
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "first build");
        assert_eq!(first.file_name().unwrap(), "prog", "argv[0] keeps the name");
        // The same build claimed again: the same claimed file.
        assert_eq!(claim(&built), first);
        // Cargo replaces the shared name (remove, then a new file): the claim is unchanged, and
        // a new claim gets the new build.
        std::fs::remove_file(&built).unwrap();
        std::fs::write(&built, "second build").unwrap();
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "first build");
        let second = claim(&built);
        assert_ne!(second, first);
        assert_eq!(std::fs::read_to_string(&second).unwrap(), "second build");
    }
}
